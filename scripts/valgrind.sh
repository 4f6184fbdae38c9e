#!/usr/bin/env bash
# make test-valgrind: every C program the tests run on our library, and the C
# examples, under valgrind (tests/support/stage.rs, Subject::valgrind): no invalid
# access, no uninitialised use, no definite or indirect leak, or the run fails.
#
# The tests that build and run C programs do it as usual with SKEETER_VALGRIND=1,
# which wraps each run on our library in valgrind; the fault and stress programs
# run shorter (SKEETER_FAULT_MESSAGES, SKEETER_STRESS_SECONDS). Suppressions, if
# ever needed, go in scripts/valgrind.supp, each with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/stage.sh

command -v valgrind >/dev/null || { echo "valgrind is missing: scripts/install-deps.sh test" >&2; exit 1; }

export SKEETER_VALGRIND=1
export SKEETER_FAULT_MESSAGES="${SKEETER_FAULT_MESSAGES:-300}"
export SKEETER_STRESS_SECONDS="${SKEETER_STRESS_SECONDS:-2}"

echo "== C test programs under valgrind"
cargo test --test c_programs --test client_broker --test threads_stress --test faults \
    --test skeeter_handlers -- --test-threads 2
# skeeter.h's C programs: the failover example (its other tests drive the Rust API).
cargo test --test skeeter_failover -- the_failover_example

echo "== C examples under valgrind"
cargo build
stage_library target/debug/libmosquitto.so
for example in pub sub threaded request_response failover; do
  gcc -Wall -g -Iinclude "examples-c/$example.c" -L"$stage" -lmosquitto -lpthread \
      -Wl,-rpath,"$stage" -o "$stage/$example"
done
start_broker
vg=(valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=3 -q)
[ -f scripts/valgrind.supp ] && vg+=(--suppressions=scripts/valgrind.supp)

"${vg[@]}" "$stage/sub" 127.0.0.1 "$port" valgrind/demo 3 > "$stage/sub.out" &
sub=$!
sleep 3
"${vg[@]}" "$stage/pub" 127.0.0.1 "$port" valgrind/demo "hello under valgrind" 3
wait "$sub"
echo "sub: ok"
echo "pub: ok"
"${vg[@]}" "$stage/threaded" 127.0.0.1 "$port" valgrind/threaded 50 > /dev/null
echo "threaded: ok"
"${vg[@]}" "$stage/request_response" 127.0.0.1 "$port" > /dev/null
echo "request_response: ok"
# failover: the first server is down; it moves to the broker and hears 3 messages.
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${vg[@]}" "$stage/failover" 'valgrind/failover/#' 3 "mqtt://127.0.0.1:$dead" \
    "mqtt://127.0.0.1:$port" > "$stage/failover.out" &
failover=$!
for _ in $(seq 120); do
  grep -q "connected to server 1" "$stage/failover.out" && break
  sleep 0.5
done
sleep 1
"${vg[@]}" "$stage/pub" 127.0.0.1 "$port" valgrind/failover/x "after failover" 3
wait "$failover"
grep -q "valgrind/failover/x after failover" "$stage/failover.out"
echo "failover: ok"
echo "== valgrind: clean"
