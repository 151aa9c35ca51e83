#!/usr/bin/env bash
# Runs a command with the machine's date faked to a given day, to show that nothing depends on
# today's date: `scripts/faked-date.sh '2029-06-16 03:00:00' npm test`. Time starts at that instant
# and then runs at normal speed; monotonic clocks (timers) are left alone. Uses libfaketime from
# Debian's `faketime` package, installed on first use when running as root.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 'YYYY-MM-DD HH:MM:SS' command [args...]" >&2
  exit 2
fi
start=$1
shift
if ! command -v faketime >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y faketime >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y faketime >/dev/null; }
  else
    echo "$0: faketime is not installed (Debian: apt-get install faketime)" >&2
    exit 1
  fi
fi
export FAKETIME_DONT_FAKE_MONOTONIC=1
exec faketime -f "@$start" "$@"
