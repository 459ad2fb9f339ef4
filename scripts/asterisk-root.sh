#!/usr/bin/env bash
# Build (once, cached) a Debian sid root holding Asterisk 22 from Debian's own package.
# Debian 12 has no asterisk package; docs/asterisk.md ("The Asterisk root", "A PBX for make run")
# says how the root is built and used by the tests and by `make run` (hotline pbx).
# Usage: scripts/asterisk-root.sh [ROOT]   (default: $HOTLINE_ASTERISK_ROOT or the machine cache)
#
# Versions: the package version the project was last tested with is asked for first
# (HOTLINE_ASTERISK_VERSION overrides it). Debian sid moves every day and drops old versions,
# so when that one is gone the root takes whatever sid has now, and then REFUSES it unless
# `asterisk -V` says 22.x: the tests never run against a different major version unnoticed.
# What the root was built with (`asterisk -V` and the package version) is recorded in
# ROOT/.hotline-asterisk-version; the test session prints it in its header.
set -euo pipefail
PINNED="${HOTLINE_ASTERISK_VERSION:-1:22.10.1+dfsg+~cs6.17.60671434-1}"
MAJOR=22
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
mkdir -p "$(dirname "$ROOT")"
# One builder at a time (parallel test sessions, make run beside make test).
exec 9>"$(dirname "$ROOT")/.$(basename "$ROOT").lock"
flock 9

# "Asterisk 22.10.1~dfsg+~cs6.17.60671434-1" → 22
major_of() { sed -nE 's/^Asterisk ([0-9]+)\..*/\1/p' <<<"$1" | head -n1; }

if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -s "$stamp" ]; then
  built=$(head -n1 "$stamp")
  if [ "$(major_of "$built")" = "$MAJOR" ]; then
    echo "asterisk root ready: $ROOT ($built)"
    exit 0
  fi
  echo "asterisk root $ROOT holds '$built', not Asterisk $MAJOR.x: rebuilding it" >&2
fi
command -v mmdebstrap >/dev/null || { apt-get install -y mmdebstrap >/dev/null; }
tmp="$ROOT.tmp.$$"
trap 'umount "$tmp/proc" 2>/dev/null || true; rm -rf "$tmp"' EXIT

build() {  # build <asterisk package spec>
  rm -rf "$tmp"
  echo "building the Asterisk root from Debian sid ($1; about a minute, once; progress below)" >&2
  mmdebstrap --variant=minbase \
    --include="$1,asterisk-core-sounds-en" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    sid "$tmp" "$MIRROR"
}
if ! build "asterisk=$PINNED"; then
  echo "Debian sid no longer has asterisk $PINNED; taking the version sid has now" >&2
  build asterisk
fi
version=$(chroot "$tmp" /usr/sbin/asterisk -V 2>/dev/null || true)
package=$(chroot "$tmp" dpkg-query -W -f='${Version}' asterisk 2>/dev/null || true)
if [ "$(major_of "$version")" != "$MAJOR" ]; then
  echo "error: Debian sid's asterisk is '${version:-unknown}' (package ${package:-?}), not" \
       "Asterisk $MAJOR.x; the gateway is tested on $MAJOR only. Point HOTLINE_DEBIAN_MIRROR at a" \
       "snapshot that has it (https://snapshot.debian.org) or set HOTLINE_ASTERISK_VERSION." >&2
  exit 1
fi
printf '%s\npackage %s\n' "$version" "$package" > "$tmp/.hotline-asterisk-version"
rm -rf "$ROOT"
mv "$tmp" "$ROOT"
trap - EXIT
echo "asterisk root built: $ROOT ($version, package $package)"
