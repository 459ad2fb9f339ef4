#!/bin/sh
# Entrypoint of the 96010 Asterisk image: credentials from the environment (optional), refuse
# placeholder credentials, then Asterisk in the foreground as the asterisk user.
set -eu
conf=/etc/asterisk
/usr/local/bin/fill-secrets.sh "$conf"
/usr/local/bin/check-secrets.sh "$conf"
install -d -o asterisk -g asterisk /var/lib/hotline-96010/spool /var/run/asterisk
exec /usr/sbin/asterisk -f -U asterisk -G asterisk -C "$conf/asterisk.conf" "$@"
