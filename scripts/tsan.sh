#!/usr/bin/env bash
# make test-tsan: cbindings-tests/stress/threads.c under ThreadSanitizer, with the
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

start_broker

export TSAN_OPTIONS="exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export SKEETER_EXPECTED_LIB="$stage/libmosquitto.so.1"
status=0
timeout 600 "$stage/threads" "$port" "$seconds" > "$stage/out.txt" 2> "$stage/err.txt" || status=$?
cat "$stage/out.txt"
if [ "$status" != 0 ] || grep -q "ThreadSanitizer" "$stage/err.txt"; then
    cat "$stage/err.txt" >&2
    echo "== ThreadSanitizer: failed (exit $status)" >&2
    exit 1
fi
echo "== ThreadSanitizer: no reports"
