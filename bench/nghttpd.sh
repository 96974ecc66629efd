# Sourced by the load benchmarks: builds h2kit, and starts `nghttpd --no-tls` on CPU 1 serving
# a 17-byte page on port $1 (stopped when the script exits). Sets NGHTTPD (its pid) and URL.
cargo build --release -q -p h2kit-cli
WWW=$(mktemp -d)
printf 'hello from h2kit\n' > "$WWW/index.html"
taskset -c 1 nghttpd --no-tls -d "$WWW" "$1" > /dev/null 2>&1 &
NGHTTPD=$!
# shellcheck disable=SC2064 # expanded now, on purpose: the scripts reuse the names
trap "kill $NGHTTPD 2>/dev/null || true; rm -rf '$WWW'" EXIT
sleep 1
URL=http://127.0.0.1:$1/
