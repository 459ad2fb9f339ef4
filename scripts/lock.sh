#!/usr/bin/env bash
# Refresh requirements.lock from pyproject.toml (`make lock`: keep every pin that still fits,
# add and drop what pyproject.toml changed; `make upgrade`: move every pin to the newest release).
# A refreshed lock is a change like any other: commit it only after `make test` passes with it.
# Usage: scripts/lock.sh [--upgrade]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
LOCK=requirements.lock
INDEX="${HOTLINE_PIP_INDEX_URL:-https://pypi.org/simple}"
if [ ! -x "$VENV/bin/uv" ]; then
  # Bootstrap the locker itself from the lock: the uv pin and its hashes, nothing else.
  test -x "$VENV/bin/python" || python3 -m venv "$VENV"
  awk '/^uv==/{p=1} p{print} p&&!/\\$/{exit}' "$LOCK" > "$VENV/uv.req"
  env -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    "$VENV/bin/pip" install --no-deps --require-hashes \
    --index-url "$INDEX" -r "$VENV/uv.req"
fi
# --python-version: the lock is for CPython 3.11 (Debian 12's), whatever runs this script.
# --generate-hashes: every file of every pinned release, so `pip --require-hashes` refuses a
# file that is not byte-identical to the one locked.
UV_NO_CONFIG=1 "$VENV/bin/uv" pip compile pyproject.toml --all-extras --group build \
  --generate-hashes --python-version 3.11 --index-url "$INDEX" \
  --custom-compile-command "make lock" --quiet "$@" -o "$LOCK"
if "$VENV/bin/python" -c "import packaging" 2>/dev/null; then "$VENV/bin/python" scripts/check_lock.py; fi
echo "$LOCK refreshed; run \`make test\` before committing it"
