#!/usr/bin/env bash
# make demo: build the library and the C examples, start a private mosquitto broker
# on a free loopback port, run the subscriber and the publisher against it, and stop
# the broker by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp target/release/libmosquitto.so "$stage/libmosquitto.so.1"
ln -s libmosquitto.so.1 "$stage/libmosquitto.so"

for example in pub sub; do
  gcc -Wall -O2 -Iinclude "examples-c/$example.c" -L"$stage" -lmosquitto \
      -Wl,-rpath,"$stage" -o "$stage/$example"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$stage/broker.conf"
/usr/sbin/mosquitto -c "$stage/broker.conf" > "$stage/broker.log" 2>&1 &
broker=$!
trap 'kill "$broker" 2>/dev/null || true; rm -rf "$stage"' EXIT
for _ in $(seq 50); do
  (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.1
done

echo "demo: broker on 127.0.0.1:$port (pid $broker)"
"$stage/sub" 127.0.0.1 "$port" demo/hello 3 > "$stage/received.txt" &
sub=$!
sleep 0.5
"$stage/pub" 127.0.0.1 "$port" demo/hello "hello from skeeter" 3
wait "$sub"
echo "demo: the subscriber received:"
cat "$stage/received.txt"
