#!/usr/bin/env bash
# make test-tsan: cbindings-tests/stress/threads.c (on loop_start threads, then
# again on the shared loop's pool with SKEETER_LOOP_THREADS=2) and
# cbindings-tests/stress/shared_loop.c (many clients on the pool, with a TLS
# broker) under ThreadSanitizer, with the
# whole process instrumented: our library built by nightly rustc with
# -Zsanitizer=thread and an instrumented std (-Zbuild-std, needs the rust-src
# component), the program by gcc -fsanitize=thread. Fails on any report.
#
# gcc 12's libtsan lacks three entry points LLVM's instrumentation calls
# (__tsan_memcpy, __tsan_memmove, __tsan_memset): cbindings-tests/stress/tsan_shim.c
# supplies them. SKEETER_STRESS_SECONDS (default 5) sets the racing phase.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/stage.sh

seconds="${SKEETER_STRESS_SECONDS:-5}"
target=x86_64-unknown-linux-gnu
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "test-tsan needs a nightly toolchain: rustup toolchain install nightly --component rust-src" >&2
    exit 1
fi
rustup component list --toolchain nightly --installed | grep -q '^rust-src' ||
    rustup component add rust-src --toolchain nightly

RUSTFLAGS="-Zsanitizer=thread" cargo +nightly build -Zbuild-std --target "$target" \
    --target-dir target/tsan

stage_library "target/tsan/$target/debug/libmosquitto.so"
gcc -std=c11 -D_GNU_SOURCE -g -fsanitize=thread -Iinclude \
    cbindings-tests/stress/threads.c cbindings-tests/stress/tsan_shim.c \
    -L"$stage" -lmosquitto -lpthread -ldl -Wl,-rpath,"$stage" -o "$stage/threads"

# The shared loop's stress program (issue 19).
gcc -std=c11 -D_GNU_SOURCE -g -fsanitize=thread -Iinclude \
    cbindings-tests/stress/shared_loop.c cbindings-tests/stress/tsan_shim.c \
    -L"$stage" -lmosquitto -lpthread -ldl -Wl,-rpath,"$stage" -o "$stage/shared_loop"

start_broker

# A second broker with a TLS listener, for the shared loop's TLS client: a CA
# and a certificate for localhost made here.
(
    cd "$stage"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj /CN=skeeter-tsan-ca 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
        -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -out server.pem -days 2 -extfile server.ext 2>/dev/null
)
tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\ncafile %s\ncertfile %s\nkeyfile %s\n' \
    "$tls_port" "$stage/ca.pem" "$stage/server.pem" "$stage/server.key" > "$stage/tls.conf"
[ "$(id -u)" = 0 ] && echo "user root" >> "$stage/tls.conf"
/usr/sbin/mosquitto -c "$stage/tls.conf" > "$stage/tls.log" 2>&1 &
tls_broker=$!
trap 'kill "$tls_broker" 2>/dev/null; stop_stage' EXIT
for _ in $(seq 50); do
    (echo > /dev/tcp/127.0.0.1/"$tls_port") 2>/dev/null && break
    sleep 0.1
done

export TSAN_OPTIONS="exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export SKEETER_EXPECTED_LIB="$stage/libmosquitto.so.1"

# run_tsan NAME COMMAND...: runs one program, failing on any report.
run_tsan() {
    local name=$1 status=0
    shift
    timeout 600 "$@" > "$stage/out.txt" 2> "$stage/err.txt" || status=$?
    cat "$stage/out.txt"
    if [ "$status" != 0 ] || grep -q "ThreadSanitizer" "$stage/err.txt"; then
        cat "$stage/err.txt" >&2
        echo "== ThreadSanitizer: $name failed (exit $status)" >&2
        exit 1
    fi
}

run_tsan threads "$stage/threads" "$port" "$seconds"
run_tsan "threads on the shared loop" env SKEETER_LOOP_THREADS=2 "$stage/threads" "$port" "$seconds"
run_tsan shared_loop "$stage/shared_loop" "$port" "$seconds" "$tls_port" "$stage/ca.pem"
echo "== ThreadSanitizer: no reports"
