#!/usr/bin/env bash
# User-space instructions per request, counted by callgrind: `h2kit load` and `h2load`
# against the same `nghttpd --no-tls` (CPU 1), each pinned to CPU 0. Each tool runs twice, with
# N and 3N requests, and the difference divided by 2N removes start-up and shutdown, so the
# figure is the steady per-request cost. Unlike req/s on this shared 2-core machine, it
# repeats to within a few percent (run to run, the only variation is how responses happen
# to batch), which makes it the measure to compare one client change with another. It leaves
# out the kernel's share (the loopback writes and reads) and the cost of cache misses.
#
# Usage: bench/instructions.sh        (N=20000, C=10, M=100; needs valgrind, nghttp2)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
C=${C:-10}
M=${M:-100}

# shellcheck source=bench/nghttpd.sh
. bench/nghttpd.sh 18193
OUT=$(mktemp -d)
trap "kill $NGHTTPD 2>/dev/null || true; rm -rf '$WWW' '$OUT'" EXIT

# Instructions of one run of "$@" under callgrind.
count() {
  taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" "$@" 2>&1 \
    | grep -oP 'Collected : \K[0-9]+'
}

per_request() {
  local small large
  small=$(count "$@" "$N")
  large=$(count "$@" $((3 * N)))
  echo $(((large - small) / (2 * N)))
}

k=$(per_request target/release/h2kit load --threads 1 -c "$C" -m "$M" "$URL" -n)
h=$(per_request h2load -c"$C" -m"$M" "$URL" -n)
echo
echo "| -c$C -m$M | instructions per request |"
echo "|---|---|"
echo "| h2kit load | $k |"
echo "| h2load | $h |"
python3 -c "print(f'| ratio | {$k / $h:.2f}x |')"
