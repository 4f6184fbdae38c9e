#!/usr/bin/env bash
# make test-cross TARGET=<rust target>: builds the library for the target (as
# make cross does), and runs on its stripped copy, under qemu-user with the cross
# libc (-L /usr/<gnu triple>):
#   - every cbindings-tests/test_*.c, built with the cross gcc against include/
#   - cbindings-tests/client/roundtrip.c in each way of driving the loop and at each
#     protocol version, against a local mosquitto broker
#   - examples-c/sub.c receiving what examples-c/pub.c publishes, two processes
# and first compares its exported symbols and their versions with Debian's library
# (installed for the tests, libmosquitto-dev).
# Each program must load the staged library (it prints or checks it with dladdr).
# Prints "test-cross <target>: N passed, M failed"; exits 1 when any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cross.sh
. scripts/stage.sh

target=${1:?usage: scripts/test-cross.sh TARGET}
cross_env "$target"
case "$gnu" in
    aarch64-linux-gnu) qemu="qemu-aarch64" ;;
    arm-linux-gnueabihf) qemu="qemu-arm" ;;
esac
command -v "$qemu" > /dev/null || { echo "test-cross: no $qemu: scripts/install-deps.sh cross" >&2; exit 1; }
cross_build

stage_library "$stripped"
start_broker
lib="$stage/libmosquitto.so.1"
passed=0 failed=0

compile() { # source output
    "$gnu-gcc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I"$(dirname "$1")" -Iinclude \
        "$1" -o "$2" -L"$stage" -lmosquitto -lpthread -ldl
}
# The cross libc first, then our library; the test programs compare the file they
# loaded with SKEETER_EXPECTED_LIB.
on_target() {
    timeout 120 "$qemu" -L "/usr/$gnu" -E LD_LIBRARY_PATH="$stage" -E SKEETER_EXPECTED_LIB="$lib" "$@"
}
result() { # name status [output file]
    if [ "$2" = 0 ]; then
        passed=$((passed + 1)); echo "ok   $1"
    else
        failed=$((failed + 1)); echo "FAIL $1 (exit $2)"
        [ -z "${3:-}" ] || sed 's/^/    /' "$3"
    fi
}

# The stripped library exports what Debian's x86_64 one does, each symbol with the
# same version node.
symbols() { "$1" -D --with-symbol-versions --defined-only "$2" | awk '{ print $2, $3 }'; }
status=0
symbols "$gnu-nm" "$lib" > "$stage/ours.sym"
symbols nm "$(gcc -print-file-name=libmosquitto.so.1)" > "$stage/debian.sym"
diff "$stage/debian.sym" "$stage/ours.sym" > "$stage/symbols.diff" || status=$?
[ "$(wc -l < "$stage/ours.sym")" = 115 ] || status=1
result "symbols and versions as Debian's" "$status" "$stage/symbols.diff"

for source in cbindings-tests/test_*.c; do
    name=$(basename "$source" .c)
    compile "$source" "$stage/$name"
    status=0
    on_target "$stage/$name" > "$stage/$name.out" 2>&1 || status=$?
    result "$name" "$status" "$stage/$name.out"
done

compile cbindings-tests/client/roundtrip.c "$stage/roundtrip"
for args in "forever" "loop" "start" "busy" "forever 31" "forever 311" "forever 5"; do
    status=0
    # shellcheck disable=SC2086 # the mode and protocol are two words
    on_target "$stage/roundtrip" "$port" $args > "$stage/roundtrip.out" 2>&1 || status=$?
    if [ "$status" = 0 ] && { grep -q '^FAIL' "$stage/roundtrip.out" ||
        ! grep -qx "loaded: $lib" "$stage/roundtrip.out"; }; then
        status=1
    fi
    result "roundtrip $args" "$status" "$stage/roundtrip.out"
done

# Two processes: the subscriber waits for one message; the publisher sends until
# it arrives (the subscription may not be in place for the first one).
compile examples-c/sub.c "$stage/sub"
compile examples-c/pub.c "$stage/pub"
on_target "$stage/sub" 127.0.0.1 "$port" skeeter/cross 1 > "$stage/sub.out" 2>&1 &
sub=$!
for _ in $(seq 40); do
    kill -0 "$sub" 2>/dev/null || break
    on_target "$stage/pub" 127.0.0.1 "$port" skeeter/cross "from $target" 1 > /dev/null 2>&1 || true
    sleep 0.5
done
status=0
wait "$sub" || status=$?
grep -q "from $target" "$stage/sub.out" || status=1
result "pub.c to sub.c" "$status" "$stage/sub.out"

echo "test-cross $target: $passed passed, $failed failed"
[ "$failed" = 0 ]
