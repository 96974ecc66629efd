#!/usr/bin/env bash
# Legitimate throughput under attack: h2load (-c1 -m100, CPU 0) against `h2kit serve`
# (CPU 1), alone and while each attacker (crates/h2kit/examples/attacker.rs, CPU 0) floods
# the same server from its own connections. REPS repetitions, medians; the attacker's
# connections and frames show how hard it pushed.
#
# Usage: bench/attack.sh        (REPS=3, SECS=5; needs nghttp2-client)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
SECS=${SECS:-5}
OUT=bench/results
mkdir -p "$OUT"
RAW="$OUT/attack-raw.txt"
: > "$RAW"

cargo build --release -q -p h2kit-cli
cargo build --release -q -p h2kit --example attacker
taskset -c 1 target/release/h2kit serve --listen 127.0.0.1:18281 --log error > /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1
ADDR=127.0.0.1:18281

ATTACKS=(none rapid-reset made-you-reset empty-data ping-flood priority slow-read)
for rep in $(seq 1 "$REPS"); do
  for attack in "${ATTACKS[@]}"; do
    pid=""
    note=""
    if [ "$attack" != none ]; then
      taskset -c 0 target/release/examples/attacker "$attack" "$ADDR" $((SECS + 1)) > /tmp/attacker.out &
      pid=$!
      sleep 0.3
    fi
    out=$(taskset -c 0 h2load -c1 -m100 -D "$SECS" "http://$ADDR/" 2>&1)
    if [ -n "$pid" ]; then
      wait "$pid"
      note=$(cat /tmp/attacker.out)
    fi
    rps=$(grep -oP 'finished in [0-9.]+m?s, \K[0-9.]+(?= req/s)' <<< "$out")
    failed=$(grep -oP '[0-9]+(?= failed)' <<< "$out")
    echo "$attack $rep $rps $failed | $note" | tee -a "$RAW"
  done
done

python3 - "$RAW" <<'PY'
import statistics, sys
rows = [l.split("|")[0].split() + [l.split("|")[1].strip()] for l in open(sys.argv[1]) if l.strip()]
attacks = list(dict.fromkeys(r[0] for r in rows))
base = statistics.median(float(r[2]) for r in rows if r[0] == "none")
print()
print("| attack | legitimate req/s | vs baseline | legitimate failures | attacker (last run) |")
print("|---|---|---|---|---|")
for a in attacks:
    rps = statistics.median(float(r[2]) for r in rows if r[0] == a)
    failed = sum(int(r[3]) for r in rows if r[0] == a)
    last = [r[4] for r in rows if r[0] == a][-1]
    print(f"| {a} | {rps:,.0f} | {rps / base:.0%} | {failed} | {last} |")
PY
