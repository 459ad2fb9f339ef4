#!/bin/sh
# Put credentials from the environment in place of the placeholders (optional step before
# check-secrets.sh). Usage: fill-secrets.sh [CONFIG_DIR]   (default /etc/asterisk)
#   ASTERISK_AMI_SECRET   replaces `secret = changeme` in manager.conf
#   ASTERISK_ARI_PASSWORD replaces `password = changeme` in ari.conf
# and, for a gateway in a container reaching AMI over a Docker bridge (docker-compose.yml):
#   ASTERISK_AMI_BINDADDR replaces `bindaddr = 127.0.0.1` in manager.conf
#   ASTERISK_AMI_PERMIT   adds `permit = NET/MASK` lines (space-separated) after the loopback one
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

network() {  # network FILE: the AMI address and the networks allowed to log in
  [ -f "$1" ] || return 0
  [ -n "${ASTERISK_AMI_BINDADDR:-}${ASTERISK_AMI_PERMIT:-}" ] || return 0
  tmp=$(mktemp)
  awk '
    { line = $0; k = $0; sub(/[ \t]*=.*/, "", k); gsub(/[ \t]/, "", k) }
    k == "bindaddr" && ENVIRON["ASTERISK_AMI_BINDADDR"] != "" {
      print "bindaddr = " ENVIRON["ASTERISK_AMI_BINDADDR"]; next }
    k == "permit" && line ~ /127\.0\.0\.1\/255\.255\.255\.255/ {
      print line
      n = split(ENVIRON["ASTERISK_AMI_PERMIT"], nets, " ")
      for (i = 1; i <= n; i++) print "permit = " nets[i]
      next }
    { print line }' "$1" > "$tmp"
  cat "$tmp" > "$1"
  rm -f "$tmp"
}

replace "$conf/manager.conf" secret ASTERISK_AMI_SECRET
network "$conf/manager.conf"
replace "$conf/ari.conf" password ASTERISK_ARI_PASSWORD
