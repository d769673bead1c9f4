#!/usr/bin/env bash
# Closed-loop load against a running Foghorn; prints wrk's numbers with the commit.
set -euo pipefail
URL="${1:-http://127.0.0.1:18009/livez}"
SECONDS_TO_RUN="${2:-10}"
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)" >&2; exit 1; }
echo "commit $(git -C "$(dirname "$0")/.." rev-parse --short HEAD) — wrk -t2 -c64 -d${SECONDS_TO_RUN}s --latency $URL"
exec wrk -t2 -c64 -d"${SECONDS_TO_RUN}s" --latency "$URL"
