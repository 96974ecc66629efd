#!/usr/bin/env bash
# User-space instructions per request, counted by callgrind, on both sides of a connection:
#
# - client: `h2kit load` and `h2load` against the same `nghttpd --no-tls` (CPU 1), each pinned
#   to CPU 0;
# - server: `h2kit serve` and `nghttpd --no-tls` (CPU 1) under the same `h2load` (CPU 0), for
#   GETs and for POSTs of 1 KiB that the handler answers without reading (h2kit drains such
#   bodies: `Connection::discard_incoming`).
#
# Each program runs twice, with N and 3N requests, and the difference divided by 2N removes
# start-up and shutdown, so the figure is the steady per-request cost. Unlike req/s on this
# shared 2-core machine, it repeats to within a few percent (run to run, the only variation is
# how responses happen to batch), which makes it the measure to compare one change with
# another. It leaves out the kernel's share (the loopback writes and reads) and the cost of
# cache misses.
#
# Usage: bench/instructions.sh        (N=20000, C=10, M=100; needs valgrind, nghttp2)
#        H2KIT=/path/to/other/h2kit bench/instructions.sh   (another build, e.g. a baseline,
#                                                            measured beside this one)
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

H2KIT=${H2KIT:-target/release/h2kit}
k=$(per_request "$H2KIT" load --threads 1 -c "$C" -m "$M" "$URL" -n)
h=$(per_request h2load -c"$C" -m"$M" "$URL" -n)

# Instructions of a server (the command after the port and request count) over one h2load
# run of N requests; it is stopped with SIGTERM, which both servers handle.
served() {
  local port=$1 n=$2 log="$OUT/server.log"
  shift 2
  taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$OUT/server.out" "$@" \
    > "$log" 2>&1 &
  local pid=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.2; done
  taskset -c 0 h2load -c"$C" -m"$M" -n "$n" $BODY "http://127.0.0.1:$port/" > /dev/null
  kill -TERM "$pid"
  wait "$pid" || true
  grep -oP 'Collected : \K[0-9]+' "$log"
}

server_per_request() {
  local port=$1 small large
  shift
  small=$(served "$port" "$N" "$@")
  large=$(served "$port" $((3 * N)) "$@")
  echo $(((large - small) / (2 * N)))
}

head -c 1024 /dev/zero > "$OUT/body"
declare -A SERVER
for load in GET POST; do
  BODY=""
  [ "$load" = POST ] && BODY="-d $OUT/body"
  SERVER[h2kit-$load]=$(server_per_request 18194 "$H2KIT" serve --listen 127.0.0.1:18194 \
    --threads 1 --log error)
  SERVER[nghttpd-$load]=$(server_per_request 18195 nghttpd --no-tls -d "$WWW" 18195)
done

echo
echo "| client, -c$C -m$M | instructions per request |"
echo "|---|---|"
echo "| h2kit load | $k |"
echo "| h2load | $h |"
python3 -c "print(f'| ratio | {$k / $h:.2f}x |')"
echo
echo "| server, h2load -c$C -m$M | GET | POST 1 KiB, body not read |"
echo "|---|---|---|"
echo "| h2kit serve | ${SERVER[h2kit-GET]} | ${SERVER[h2kit-POST]} |"
echo "| nghttpd | ${SERVER[nghttpd-GET]} | ${SERVER[nghttpd-POST]} |"
python3 -c "print(f'| ratio | {${SERVER[h2kit-GET]} / ${SERVER[nghttpd-GET]}:.2f}x | {${SERVER[h2kit-POST]} / ${SERVER[nghttpd-POST]}:.2f}x |')"
