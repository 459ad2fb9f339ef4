#!/usr/bin/env bash
# Build (once, cached) a Debian sid root holding Asterisk 22 from Debian's own package.
# Debian 12 has no asterisk package; see ../shared/docs/asterisk-on-debian.md.
# Usage: scripts/asterisk-root.sh [ROOT]   (default: $HOTLINE_ASTERISK_ROOT or the machine cache)
set -euo pipefail
ASTERISK_VERSION="${HOTLINE_ASTERISK_VERSION:-1:22.10.1+dfsg+~cs6.17.60671434-1}"
CACHE="${HOTLINE_CACHE_DIR:-/var/cache/hotline-96010}"
ROOT="${1:-${HOTLINE_ASTERISK_ROOT:-$CACHE/asterisk-root}}"
MIRROR="${HOTLINE_DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  # The mirror the machine's apt sources already use.
  MIRROR=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null \
    | grep -m1 -vE "security" | awk "{print \$2}" || true)
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi
stamp="$ROOT/.hotline-asterisk-version"
if [ -x "$ROOT/usr/sbin/asterisk" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$ASTERISK_VERSION" ]; then
  echo "asterisk root ready: $ROOT"
  exit 0
fi
command -v mmdebstrap >/dev/null || { apt-get install -y mmdebstrap >/dev/null; }
mkdir -p "$(dirname "$ROOT")"
tmp="$ROOT.tmp.$$"
rm -rf "$tmp"
trap 'umount "$tmp/proc" 2>/dev/null || true; rm -rf "$tmp"' EXIT
mmdebstrap --variant=minbase \
  --include="asterisk=$ASTERISK_VERSION,asterisk-core-sounds-en" \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  sid "$tmp" "$MIRROR"
echo "$ASTERISK_VERSION" > "$tmp/.hotline-asterisk-version"
rm -rf "$ROOT"
mv "$tmp" "$ROOT"
trap - EXIT
echo "asterisk root built: $ROOT"
