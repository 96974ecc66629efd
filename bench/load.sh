#!/usr/bin/env bash
# Load-generator benchmark: `h2kit load` (as it is by default, and with `--busy-poll`)
# against `h2load`, all loading the same `nghttpd --no-tls` (pinned to CPU 1) from CPU 0, in
# the same run, rotating the order, REPS repetitions, medians. Also the client's CPU time per
# request (user+system, from /usr/bin/time): `--busy-poll` keeps its CPU busy by design, so
# its figure is the run's wall time rather than its work.
#
# Usage: bench/load.sh          (REPS=3 by default; needs nghttp2-client, nghttp2-server)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
OUT=bench/results
mkdir -p "$OUT"
RAW="$OUT/load-raw.txt"
: > "$RAW"

# shellcheck source=bench/nghttpd.sh
. bench/nghttpd.sh 18192

PROFILES=(
  "c1-m100|1|100|400000"
  "c10-m100|10|100|800000"
)

# Runs a command pinned to CPU 0; prints "req/s cpu_seconds".
measure() {
  local tool=$1 c=$2 m=$3 n=$4 out
  if [ "$tool" = h2load ]; then
    out=$( { /usr/bin/time -f 'cpu %U %S' taskset -c 0 h2load -c"$c" -m"$m" -n"$n" "$URL"; } 2>&1)
    rps=$(grep -oP 'finished in [0-9.]+m?s, \K[0-9.]+(?= req/s)' <<< "$out")
  else
    local poll=()
    [ "$tool" = h2kit-bp ] && poll=(--busy-poll)
    out=$( { /usr/bin/time -f 'cpu %U %S' taskset -c 0 target/release/h2kit load --threads 1 \
      -c "$c" -m "$m" -n "$n" "${poll[@]}" --json "$URL"; } 2>&1)
    rps=$(grep -oP '"requests_per_second":\K[0-9.]+' <<< "$out")
  fi
  cpu=$(grep -oP '^cpu \K.*' <<< "$out" | awk '{print $1 + $2}')
  echo "$rps $cpu"
}

for rep in $(seq 1 "$REPS"); do
  for prof in "${PROFILES[@]}"; do
    IFS='|' read -r name c m n <<< "$prof"
    order=(h2load h2kit h2kit-bp)
    case $((rep % 3)) in
      2) order=(h2kit h2kit-bp h2load) ;;
      0) order=(h2kit-bp h2load h2kit) ;;
    esac
    for tool in "${order[@]}"; do
      read -r rps cpu <<< "$(measure "$tool" "$c" "$m" "$n")"
      echo "$tool $name $rep $rps $cpu $n" | tee -a "$RAW"
    done
  done
done

python3 - "$RAW" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
profiles = list(dict.fromkeys(r[1] for r in rows))
def med(tool, prof, i):
    return statistics.median(float(r[i]) for r in rows if r[0] == tool and r[1] == prof)
def cpu_us(tool, prof):
    return statistics.median(float(r[4]) / float(r[5]) * 1e6 for r in rows if r[0] == tool and r[1] == prof)
print()
print("| profile | h2kit load req/s | `--busy-poll` | h2load | h2kit / h2load | `--busy-poll` / h2load | CPU µs/req: h2kit / `--busy-poll` / h2load |")
print("|---|---|---|---|---|---|---|")
for p in profiles:
    a, bp, b = med("h2kit", p, 3), med("h2kit-bp", p, 3), med("h2load", p, 3)
    cpu = " / ".join(f"{cpu_us(t, p):.2f}" for t in ("h2kit", "h2kit-bp", "h2load"))
    print(f"| {p} | {a:,.0f} | {bp:,.0f} | {b:,.0f} | {a / b:.2f}× | {bp / b:.2f}× | {cpu} |")
PY
