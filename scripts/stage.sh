# Sourced by the scripts that run C programs on our library against a private broker
# (demo.sh, valgrind.sh, tsan.sh).
#
#   stage_library LIB  a new temporary directory, $stage, holding LIB as
#                      libmosquitto.so.1 (the soname the loader looks for) and a
#                      libmosquitto.so link for -lmosquitto; removed on exit
#   start_broker       a mosquitto broker on a free loopback port, $port (pid
#                      $broker), waited for until it accepts; stopped on exit

stage_library() {
  stage=$(mktemp -d)
  broker=""
  trap stop_stage EXIT
  cp "$1" "$stage/libmosquitto.so.1"
  ln -s libmosquitto.so.1 "$stage/libmosquitto.so"
}

stop_stage() {
  [ -n "$broker" ] && kill "$broker" 2>/dev/null
  rm -rf "$stage"
}

start_broker() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$stage/broker.conf"
  [ "$(id -u)" = 0 ] && echo "user root" >> "$stage/broker.conf"
  /usr/sbin/mosquitto -c "$stage/broker.conf" > "$stage/broker.log" 2>&1 &
  broker=$!
  for _ in $(seq 50); do
    (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
    sleep 0.1
  done
}
