#!/usr/bin/env bash
# Bulk download: 1 GiB from `h2kit serve` (/bytes/1073741824), fetched by `h2kit get` (to
# stdout redirected to /dev/null, and with -o FILE) and by curl, over h2c and over TLS, in the
# same run; medians of REPS runs of wall time and of the client's CPU time (user+sys). Also
# the client's write and brk syscalls for one h2c download (strace -c), when strace exists.
#
# Usage: bench/bulk.sh   (REPS=5 by default; needs curl)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
cargo build --release -q -p h2kit-cli
B=${H2KIT:-target/release/h2kit}
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
$B serve --listen 127.0.0.1:18191 --log error > /dev/null &
$B serve --listen 127.0.0.1:18192 --log error --tls-self-signed --tls-cert-out "$DIR/c.pem" > /dev/null &
sleep 1
N=1073741824
H2C=http://127.0.0.1:18191/bytes/$N
TLS=https://localhost:18192/bytes/$N

# Prints "wall cpu" in seconds for one run of the command.
measure() {
    /usr/bin/env time -f '%e %U %S' -o "$DIR/t" "$@" > /dev/null 2>&1
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$DIR/t"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A CMD=(
  [h2kit-get-h2c-stdout]="sh -c '$B get $H2C > /dev/null'"
  [h2kit-get-h2c-o]="$B get -o $DIR/out $H2C"
  [curl-h2c]="curl -s --http2-prior-knowledge -o /dev/null $H2C"
  [curl-h2c-o]="curl -s --http2-prior-knowledge -o $DIR/out $H2C"
  [h2kit-get-tls-stdout]="sh -c '$B get --cacert $DIR/c.pem $TLS > /dev/null'"
  [curl-tls]="curl -s --cacert $DIR/c.pem -o /dev/null $TLS"
)
NAMES=(h2kit-get-h2c-stdout curl-h2c h2kit-get-h2c-o curl-h2c-o h2kit-get-tls-stdout curl-tls)
for rep in $(seq 1 "$REPS"); do
  for name in "${NAMES[@]}"; do
    echo "$name $(eval measure ${CMD[$name]})" >> "$DIR/raw"
  done
done
printf '%-22s %8s %8s\n' client "wall s" "cpu s"
for name in "${NAMES[@]}"; do
  wall=$(awk -v n="$name" '$1 == n {print $2}' "$DIR/raw" | median)
  cpu=$(awk -v n="$name" '$1 == n {print $3}' "$DIR/raw" | median)
  printf '%-22s %8s %8s\n' "$name" "$wall" "$cpu"
done
if command -v strace > /dev/null; then
  echo "syscalls of one h2c download (h2kit get > /dev/null):"
  strace -f -c -e trace=write,writev,brk -o "$DIR/strace" sh -c "$B get $H2C > /dev/null"
  grep -E 'write|brk' "$DIR/strace" | awk '{print "  " $NF ": " $4}'
fi
