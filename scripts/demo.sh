#!/usr/bin/env bash
# make demo: build the library and the C examples, start a private mosquitto broker
# on a free loopback port, run the subscriber and the publisher against it, and stop
# the broker by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/stage.sh

cargo build --release
stage_library target/release/libmosquitto.so

for example in pub sub; do
  gcc -Wall -O2 -Iinclude "examples-c/$example.c" -L"$stage" -lmosquitto \
      -Wl,-rpath,"$stage" -o "$stage/$example"
done

start_broker

echo "demo: broker on 127.0.0.1:$port (pid $broker)"
"$stage/sub" 127.0.0.1 "$port" demo/hello 3 > "$stage/received.txt" &
sub=$!
sleep 0.5
"$stage/pub" 127.0.0.1 "$port" demo/hello "hello from skeeter" 3
wait "$sub"
echo "demo: the subscriber received:"
cat "$stage/received.txt"
