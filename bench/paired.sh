#!/usr/bin/env bash
# Paired comparison of two h2kit builds, for a change that must not cost throughput:
# - server: h2load -c10 -m100 against `h2kit serve` of each build (server on CPU 1, h2load on
#   CPU 0);
# - client: `h2kit load -c10 -m100` of each build against the same nghttpd (CPU 1).
# Runs alternate in ABBA order (A B, B A, ...) so that a drift over the run weighs on both
# alike; prints every run, then the medians and the ratio new/base.
#
# Also reports the server's CPU time per request (user+system, from /proc). Extra arguments
# for either build's `serve` go in BASE_SERVE_ARGS and NEW_SERVE_ARGS (e.g. the same build
# with and without `--metrics-listen`, to price what recording costs).
#
# Usage: BASE=/path/to/old/h2kit bench/paired.sh [NEW=target/release/h2kit] (PAIRS=4, N=400000)
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-4}
N=${N:-400000}
BASE=${BASE:?BASE=/path/to/the/baseline/h2kit}
NEW=${NEW:-target/release/h2kit}
# shellcheck source=bench/nghttpd.sh
. bench/nghttpd.sh 18196
RAW=$(mktemp)

TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# "REQ/S CPU-µs-PER-REQUEST" of one server run.
serve_rps() {
  local bin=$1 pid rps before after
  # shellcheck disable=SC2086 # the extra arguments split on purpose
  taskset -c 1 "$bin" serve --listen 127.0.0.1:18197 --threads 1 --log error $2 > /dev/null &
  pid=$!
  until (exec 3<>/dev/tcp/127.0.0.1/18197) 2>/dev/null; do sleep 0.1; done
  before=$(cpu_ticks "$pid")
  rps=$(taskset -c 0 h2load -c10 -m100 -n"$N" http://127.0.0.1:18197/ |
    grep -oP 'finished in [0-9.]+m?s, \K[0-9.]+')
  after=$(cpu_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$rps $(python3 -c "print(($after - $before) / $TICK / $N * 1e6)")"
}

load_rps() {
  taskset -c 0 "$1" load --threads 1 -c 10 -m 100 -n "$N" --json "$URL" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["requests_per_second"])'
}

for i in $(seq "$PAIRS"); do
  if [ $((i % 2)) = 1 ]; then order="base new"; else order="new base"; fi
  for which in $order; do
    bin=$BASE
    args=${BASE_SERVE_ARGS:-}
    [ "$which" = new ] && bin=$NEW && args=${NEW_SERVE_ARGS:-}
    s=$(serve_rps "$bin" "$args")
    c=$(load_rps "$bin")
    echo "$which server $s client $c" | tee -a "$RAW"
  done
done

python3 - "$RAW" <<'EOF'
import statistics, sys
runs = {w: {"server": [], "server CPU µs/req": [], "client": []} for w in ("base", "new")}
for line in open(sys.argv[1]):
    which, _, s, cpu, _, c = line.split()
    runs[which]["server"].append(float(s))
    runs[which]["server CPU µs/req"].append(float(cpu))
    runs[which]["client"].append(float(c))
print("\n| medians | base | new | new/base |\n|---|---|---|---|")
for side in ("server", "server CPU µs/req", "client"):
    b = statistics.median(runs["base"][side])
    n = statistics.median(runs["new"][side])
    spread = max(runs["base"][side]) / min(runs["base"][side]) - 1
    f = "{:,.3f}" if "CPU" in side else "{:,.0f}"
    print(f"| {side} | {f.format(b)} | {f.format(n)} | {n / b:.3f} (base spread {spread:.1%}) |")
EOF
rm -f "$RAW"
