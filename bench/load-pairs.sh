#!/usr/bin/env bash
# Paired comparison at `-c10 -m100`, for when one run of `bench/load.sh` is inside the
# machine's drift: `h2kit load` (as it is, then with `--busy-poll`) against `h2load`, in ABBA
# order (A B, B A, A B, ...) so that a drift over the run weighs on both alike, PAIRS pairs
# each. For every run it also reads what nghttpd (CPU 1) spent: its CPU time per request
# (/proc/PID/schedstat, ns) and CPU 1's softirq share (/proc/stat), where the cost of waking
# a sleeping client shows.
#
# Usage: bench/load-pairs.sh     (PAIRS=10, N=800000 requests per run by default)
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-10}
N=${N:-800000}
# shellcheck source=bench/nghttpd.sh
. bench/nghttpd.sh 18192
RAW=$(mktemp)

run() {
  local label=$1 rps s0 s1 c0 c1
  s0=$(awk '{print $1}' "/proc/$NGHTTPD/schedstat")
  c0=$(grep '^cpu1 ' /proc/stat)
  case $label in
    h2load) rps=$(taskset -c 0 h2load -c10 -m100 -n"$N" "$URL" |
      grep -oP 'finished in [0-9.]+m?s, \K[0-9.]+') ;;
    h2kit) rps=$(taskset -c 0 target/release/h2kit load --threads 1 -c 10 -m 100 -n "$N" \
      --json "$URL" | grep -oP '"requests_per_second":\K[0-9.]+') ;;
    h2kit-bp) rps=$(taskset -c 0 target/release/h2kit load --threads 1 -c 10 -m 100 -n "$N" \
      --busy-poll --json "$URL" | grep -oP '"requests_per_second":\K[0-9.]+') ;;
  esac
  s1=$(awk '{print $1}' "/proc/$NGHTTPD/schedstat")
  c1=$(grep '^cpu1 ' /proc/stat)
  # softirq share of CPU 1's ticks over the run
  softirq=$(python3 -c "a='$c0'.split()[1:9]; b='$c1'.split()[1:9]
d=[int(y)-int(x) for x,y in zip(a,b)]; print(round(100*d[6]/max(sum(d),1),1))")
  echo "$2 $label $rps $(( (s1 - s0) / N )) $softirq" | tee -a "$RAW"
}

for a in h2kit h2kit-bp; do
  for i in $(seq 1 "$PAIRS"); do
    if [ $((i % 2)) -eq 1 ]; then run "$a" "$a:$i"; run h2load "$a:$i"
    else run h2load "$a:$i"; run "$a" "$a:$i"; fi
  done
done

python3 - "$RAW" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    pair, label, rps, ns, softirq = line.split()
    runs[pair][label] = (float(rps), float(ns), float(softirq))
print()
print("| client | req/s | h2load req/s | client / h2load, per pair | pairs won | nghttpd ns/req (client, h2load) | CPU 1 softirq (client, h2load) |")
print("|---|---|---|---|---|---|---|")
for a in ("h2kit", "h2kit-bp"):
    pairs = [v for k, v in runs.items() if k.split(":")[0] == a and len(v) == 2]
    med = lambda who, i: statistics.median(p[who][i] for p in pairs)
    ratios = sorted(p[a][0] / p["h2load"][0] for p in pairs)
    wins = sum(r > 1 for r in ratios)
    print(f"| {a} | {med(a, 0):,.0f} | {med('h2load', 0):,.0f} | {statistics.median(ratios):.3f}× "
          f"({ratios[0]:.2f}–{ratios[-1]:.2f}) | {wins}/{len(ratios)} | {med(a, 1):,.0f}, "
          f"{med('h2load', 1):,.0f} | {med(a, 2):.1f}%, {med('h2load', 2):.1f}% |")
PY
rm -f "$RAW"
