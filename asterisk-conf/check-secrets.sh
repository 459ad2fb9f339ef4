#!/bin/sh
# Refuse to start Asterisk while a manager (AMI) or ARI credential is still a placeholder.
# Usage: check-secrets.sh [CONFIG_DIR]   (default /etc/asterisk); exit 0 = ok, 1 = refused.
# A placeholder is an empty value or one of: changeme change-me secret password test example
# (the same list the gateway refuses for HOTLINE_AMI_SECRET), compared case-insensitively.
set -eu
dir="${1:-/etc/asterisk}"
status=0
for file in "$dir/manager.conf" "$dir/ari.conf"; do
  [ -f "$file" ] || continue
  # key = value lines whose key is secret or password (comments after ';' removed)
  bad=$(sed -e 's/;.*$//' "$file" | awk -F= '
    { key = $1; gsub(/[ \t]/, "", key); key = tolower(key) }
    key == "secret" || key == "password" {
      value = substr($0, index($0, "=") + 1); gsub(/^[ \t>]+|[ \t]+$/, "", value)
      v = tolower(value)
      if (v == "" || v == "changeme" || v == "change-me" || v == "secret" || v == "password" \
          || v == "test" || v == "example") print NR
    }')
  if [ -n "$bad" ]; then
    echo "check-secrets: $file has a placeholder secret/password on line(s): $(echo $bad)" >&2
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "check-secrets: set real credentials (see docs/asterisk.md) before starting Asterisk" >&2
fi
exit "$status"
