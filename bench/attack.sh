#!/usr/bin/env bash
# Legitimate throughput under attack: h2load (-c1 -m100, CPU 0) against `h2kit serve`
# (CPU 1), alone and while each attacker (crates/h2kit/examples/attacker.rs, CPU 0) floods
# the same server from its own connections. REPS repetitions, medians; the attacker's
# connections and frames show how hard it pushed.
#
# The machine has two cores, so the attacker has to share one with someone. Each attack runs
# twice: with the attacker at the legitimate client's priority (it then takes CPU 0 from
# h2load, which measures the client machine as much as the server), and at `nice 19`, where
# it still pushes as many frames (see its counts) but h2load runs whenever it is ready, as it
# would on its own machine. A busy CPU 0 by itself makes h2load faster (no idle-state wake-up
# latency), and some attackers keep it busy while others sleep or block, so every nice-19 run
# also has a plain busy loop at nice 19 on CPU 0; those rows are compared with that busy loop
# alone ("busy"), and the nice-0 rows with the idle baseline ("none"). Each attack run
# connects from its own loopback address, so that no run inherits an earlier run's penalty.
# The server's CPU (share of its core) during each run is shown too.
#
# Usage: bench/attack.sh        (REPS=5, SECS=4; needs nghttp2-client)
#        H2KIT=/path/to/other/h2kit bench/attack.sh   (the server from another build)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
SECS=${SECS:-4}
OUT=bench/results
mkdir -p "$OUT"
RAW="$OUT/attack-raw.txt"
: > "$RAW"

cargo build --release -q -p h2kit-cli
cargo build --release -q -p h2kit --example attacker
H2KIT=${H2KIT:-target/release/h2kit}
taskset -c 1 "$H2KIT" serve --listen 127.0.0.1:18281 --log error > /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1
ADDR=127.0.0.1:18281

ATTACKS=(${ATTACKS:-none busy rapid-reset made-you-reset empty-data ping-flood priority slow-read})
# The server's user + system CPU, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
HZ=$(getconf CLK_TCK)
runs=0
for rep in $(seq 1 "$REPS"); do
  for attack in "${ATTACKS[@]}"; do
    for nice in 0 19; do
      case "$attack" in none) [ "$nice" = 0 ] || continue ;; busy) [ "$nice" = 19 ] || continue ;; esac
      pid=""
      spin=""
      note=""
      source=127.0.$rep.$((++runs % 250 + 2))
      if [ "$nice" = 19 ]; then
        taskset -c 0 nice -n 19 timeout $((SECS + 1)) sh -c 'while :; do :; done' &
        spin=$!
      fi
      if [ "$attack" != none ] && [ "$attack" != busy ]; then
        taskset -c 0 nice -n "$nice" target/release/examples/attacker "$attack" "$ADDR" $((SECS + 1)) "$source" > /tmp/attacker.out &
        pid=$!
        sleep 0.3
      fi
      t0=$(ticks)
      out=$(taskset -c 0 h2load -c1 -m100 -D "$SECS" "http://$ADDR/" 2>&1)
      cpu=$(python3 -c "print(f'{($(ticks) - $t0) / $HZ / $SECS:.0%}')")
      [ -z "$spin" ] || wait "$spin" || true
      if [ -n "$pid" ]; then
        wait "$pid"
        note=$(cat /tmp/attacker.out)
      fi
      rps=$(grep -oP 'finished in [0-9.]+m?s, \K[0-9.]+(?= req/s)' <<< "$out")
      failed=$(grep -oP '[0-9]+(?= failed)' <<< "$out")
      echo "$attack $nice $rep $rps $failed $cpu | $note" | tee -a "$RAW"
    done
  done
done

# Each attack run is compared with the baseline of its own repetition (the machine drifts by
# up to 10% between repetitions); the table gives the medians of those ratios.
python3 - "$RAW" <<'PY'
import statistics, sys
rows = [l.split("|")[0].split() + [l.split("|")[1].strip()] for l in open(sys.argv[1]) if l.strip()]
attacks = [a for a in dict.fromkeys(r[0] for r in rows) if a not in ("none", "busy")]
def runs(a, n):
    return {r[2]: r for r in rows if r[0] == a and r[1] == n}
def med(a, n, i):
    return statistics.median(float(r[i].rstrip("%")) for r in runs(a, n).values())
def ratio(a, n, base, bn):
    b = runs(base, bn)
    return statistics.median(float(r[3]) / float(b[rep][3]) for rep, r in runs(a, n).items())
print()
print("| attack | legitimate req/s, attacker at nice 0 | vs idle baseline | legitimate req/s, attacker at nice 19 | vs busy baseline | server CPU (nice 0 / 19) | legitimate failures | attacker (last run, nice 19) |")
print("|---|---|---|---|---|---|---|---|")
print(f"| none (idle) | {med('none', '0', 3):,.0f} | 100% | | | {med('none', '0', 5):.0f}% | | |")
print(f"| none (busy loop at nice 19) | | | {med('busy', '19', 3):,.0f} | 100% | {med('busy', '19', 5):.0f}% | | |")
for a in attacks:
    failed = sum(int(r[4]) for r in rows if r[0] == a)
    last = [r[6] for r in rows if r[0] == a and r[1] == "19"][-1]
    print(f"| {a} | {med(a, '0', 3):,.0f} | {ratio(a, '0', 'none', '0'):.0%} | {med(a, '19', 3):,.0f} | {ratio(a, '19', 'busy', '19'):.0%} | {med(a, '0', 5):.0f}% / {med(a, '19', 5):.0f}% | {failed} | {last} |")
PY
