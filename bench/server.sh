#!/usr/bin/env bash
# Server benchmark: h2load against `h2kit serve --h2c`, `nghttpd --no-tls` and a minimal
# hyper 1.x h2c server (bench/hyper-h2c, current-thread runtime), in the same run.
# The load generator is pinned to CPU 0 and the servers to CPU 1 (each server single-threaded),
# implementations alternate within each repetition, and medians of REPS repetitions are
# reported: requests/s, and server CPU time per request (the server process's user+system CPU
# seconds over the requests it served, read from /proc).
#
# Usage: bench/server.sh            (REPS=3 by default; needs nghttp2-client, nghttp2-server)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
OUT=bench/results
mkdir -p "$OUT"
RAW="$OUT/server-raw.txt"
: > "$RAW"

cargo build --release -q -p h2kit-cli
(cd bench/hyper-h2c && cargo build --release -q)

WWW=$(mktemp -d)
printf 'hello from h2kit\n' > "$WWW/index.html"
cp "$WWW/index.html" "$WWW/sink"
head -c 1024 /dev/urandom > "$WWW/../post-1k.bin"
POST="$WWW/../post-1k.bin"

taskset -c 1 target/release/h2kit serve --listen 127.0.0.1:18181 --threads 1 --log error > /dev/null &
H2KIT=$!
taskset -c 1 nghttpd --no-tls -d "$WWW" 18182 > /dev/null 2>&1 &
NGHTTPD=$!
taskset -c 1 bench/hyper-h2c/target/release/hyper-h2c-bench 127.0.0.1:18183 > /dev/null &
HYPER=$!
trap 'kill $H2KIT $NGHTTPD $HYPER 2>/dev/null || true' EXIT
sleep 1

declare -A PORT=([h2kit]=18181 [nghttpd]=18182 [hyper]=18183)
declare -A PID=([h2kit]=$H2KIT [nghttpd]=$NGHTTPD [hyper]=$HYPER)
TICK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

PROFILES=(
  "c1-m1|-c1 -m1 -n 20000|/"
  "c1-m100|-c1 -m100 -n 400000|/"
  "c10-m100|-c10 -m100 -n 800000|/"
  "post1k-c1-m100|-c1 -m100 -n 200000 -d $POST|/sink"
)
IMPLS=(h2kit nghttpd hyper)

for rep in $(seq 1 "$REPS"); do
  for prof in "${PROFILES[@]}"; do
    IFS='|' read -r name args path <<< "$prof"
    # Rotate the order every repetition so no implementation always runs first.
    for i in 0 1 2; do
      impl=${IMPLS[$(( (i + rep) % 3 ))]}
      before=$(cpu_ticks "${PID[$impl]}")
      # shellcheck disable=SC2086
      out=$(taskset -c 0 h2load $args "http://127.0.0.1:${PORT[$impl]}$path" 2>&1)
      after=$(cpu_ticks "${PID[$impl]}")
      rps=$(grep -oP 'finished in [0-9.]+m?s, \K[0-9.]+(?= req/s)' <<< "$out")
      ok=$(grep -oP '[0-9]+(?= succeeded)' <<< "$out")
      failed=$(grep -oP '[0-9]+(?= failed)' <<< "$out")
      echo "$impl $name $rep $rps $ok $failed $(( after - before ))" | tee -a "$RAW"
    done
  done
done

python3 - "$RAW" "$TICK" <<'PY'
import statistics, sys
raw, tick = sys.argv[1], int(sys.argv[2])
rows = [l.split() for l in open(raw) if l.strip()]
impls = ["h2kit", "nghttpd", "hyper"]
profiles = list(dict.fromkeys(r[1] for r in rows))
def med(impl, prof, f):
    return statistics.median(f(r) for r in rows if r[0] == impl and r[1] == prof)
print()
print("| profile | " + " | ".join(f"{i} req/s" for i in impls) + " | " + " | ".join(f"{i} CPU µs/req" for i in impls) + " | failed |")
print("|---" * (2 * len(impls) + 2) + "|")
for p in profiles:
    rps = [med(i, p, lambda r: float(r[3])) for i in impls]
    cpu = [med(i, p, lambda r: int(r[6]) / tick / max(int(r[4]), 1) * 1e6) for i in impls]
    failed = sum(int(r[5]) for r in rows if r[1] == p)
    print(f"| {p} | " + " | ".join(f"{x:,.0f}" for x in rps) + " | " + " | ".join(f"{x:.2f}" for x in cpu) + f" | {failed} |")
PY
