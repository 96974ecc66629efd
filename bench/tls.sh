#!/usr/bin/env bash
# Over TLS (1.3, TLS_AES_128_GCM_SHA256), 10 connections × 100 streams, same machine, same run:
#   server: h2load against `h2kit serve`, nghttpd and h2o (each single-threaded on CPU 1,
#           h2load on CPU 0): requests/s and server CPU µs per request;
#   client: `h2kit load` and h2load (each single-threaded on CPU 0) against h2o (CPU 1).
# Implementations alternate within each repetition; medians of REPS.
#
# Usage: bench/tls.sh   (REPS=3; needs nghttp2-client, nghttp2-server, h2o, openssl)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
N=${N:-400000}
cargo build --release -q -p h2kit-cli
B=${H2KIT:-target/release/h2kit}
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$DIR/k.pem" \
  -out "$DIR/c.pem" -days 30 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
mkdir -p "$DIR/www"; printf 'hello from h2kit\n' > "$DIR/www/index.html"
cat > "$DIR/h2o.conf" <<CONF
listen:
  port: 18283
  ssl:
    certificate-file: $DIR/c.pem
    key-file: $DIR/k.pem
    cipher-preference: server
num-threads: 1
error-log: $DIR/h2o.err
hosts:
  default:
    paths:
      /:
        file.dir: $DIR/www
CONF
taskset -c 1 $B serve --listen 127.0.0.1:18281 --threads 1 --log error --tls-cert "$DIR/c.pem" --tls-key "$DIR/k.pem" > /dev/null &
H2KIT=$!
taskset -c 1 nghttpd -d "$DIR/www" 18282 "$DIR/k.pem" "$DIR/c.pem" > /dev/null 2>&1 &
NGHTTPD=$!
taskset -c 1 h2o -c "$DIR/h2o.conf" > /dev/null 2>&1 &
H2O=$!
sleep 1.5
declare -A PORT=([h2kit]=18281 [nghttpd]=18282 [h2o]=18283)
declare -A PID=([h2kit]=$H2KIT [nghttpd]=$NGHTTPD [h2o]=$H2O)
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# h2o may run helper processes: count the CPU of the server and its children.
group_ticks() {
  local s=0 t
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$(cpu_ticks "$p" 2>/dev/null || echo 0)
    s=$((s + t))
  done
  echo "$s"
}
ARGS="-c10 -m100 -n $N --tls13-ciphers=TLS_AES_128_GCM_SHA256"
for rep in $(seq 1 "$REPS"); do
  for impl in h2kit nghttpd h2o; do
    before=$(group_ticks "${PID[$impl]}")
    out=$(taskset -c 0 h2load $ARGS "https://localhost:${PORT[$impl]}/")
    after=$(group_ticks "${PID[$impl]}")
    rps=$(echo "$out" | awk '/^finished in/ {gsub(",", ""); print $4}')
    us=$(awk -v t=$((after - before)) -v k="$TICK" -v n="$N" 'BEGIN {printf "%.2f", t / k * 1e6 / n}')
    echo "server $impl $rps $us" >> "$DIR/raw"
  done
  # Clients against h2o.
  out=$(taskset -c 0 h2load $ARGS "https://localhost:18283/")
  echo "client h2load $(echo "$out" | awk '/^finished in/ {gsub(",", ""); print $4}') -" >> "$DIR/raw"
  out=$(taskset -c 0 $B load --threads 1 -c 10 -m 100 -n "$N" --json --cacert "$DIR/c.pem" https://localhost:18283/)
  echo "client h2kit-load $(echo "$out" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["requests_per_second"]))') -" >> "$DIR/raw"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-8s %-12s %10s %14s\n' role impl "req/s" "server CPU µs/req"
for key in "server h2kit" "server nghttpd" "server h2o" "client h2kit-load" "client h2load"; do
  set -- $key
  rps=$(awk -v r="$1" -v i="$2" '$1 == r && $2 == i {print $3}' "$DIR/raw" | median)
  us=$(awk -v r="$1" -v i="$2" '$1 == r && $2 == i {print $4}' "$DIR/raw" | median)
  printf '%-8s %-12s %10s %14s\n' "$1" "$2" "$rps" "$us"
done
