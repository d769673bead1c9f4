#!/usr/bin/env bash
# Installs what is missing (wrk, nginx-light), builds release, runs perf/run.py and prints its table.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT="$(scripts/bootstrap | tail -n 1)"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq "${missing[@]}" >&2; else sudo apt-get install -y -qq "${missing[@]}" >&2; fi
fi
"$SWIFT" build -c release --product foghorn >&2
exec python3 perf/run.py "$@"
