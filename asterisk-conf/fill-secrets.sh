#!/bin/sh
# Put credentials from the environment in place of the placeholders (optional step before
# check-secrets.sh). Usage: fill-secrets.sh [CONFIG_DIR]   (default /etc/asterisk)
#   ASTERISK_AMI_SECRET   replaces `secret = changeme` in manager.conf
#   ASTERISK_ARI_PASSWORD replaces `password = changeme` in ari.conf
set -eu
conf="${1:-/etc/asterisk}"

replace() {  # replace FILE KEY ENVVAR
  [ -f "$1" ] || return 0
  [ -n "$(printenv "$3" || true)" ] || return 0
  tmp=$(mktemp)
  awk -v key="$2" -v var="$3" '
    { line = $0; k = $0; sub(/[ \t]*=.*/, "", k); gsub(/[ \t]/, "", k) }
    k == key && line ~ /=[ \t>]*changeme[ \t]*$/ { print key " = " ENVIRON[var]; next }
    { print line }' "$1" > "$tmp"
  cat "$tmp" > "$1"
  rm -f "$tmp"
}

replace "$conf/manager.conf" secret ASTERISK_AMI_SECRET
replace "$conf/ari.conf" password ASTERISK_ARI_PASSWORD
