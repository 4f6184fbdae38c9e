#!/usr/bin/env bash
# Installs what skeeter's tests, demo and benchmarks need from Debian's packages.
# As root it runs apt-get; otherwise it prints the exact command and exits 1.
# Usage: scripts/install-deps.sh [test|demo|deb|cross]   (default: test)
#   deb:   what make deb needs (dpkg-dev)
#   cross: the ARM cross compilers, their C libraries and qemu-user (make cross)
set -euo pipefail

what=${1:-test}

# package:file-that-proves-it-is-installed
test_packages=(
  "gcc:/usr/bin/gcc"
  "g++:/usr/bin/g++"
  "make:/usr/bin/make"
  "pkg-config:/usr/bin/pkg-config"
  "mosquitto:/usr/sbin/mosquitto"
  "mosquitto-clients:/usr/bin/mosquitto_pub"
  "libmosquitto-dev:/usr/include/mosquitto.h"
  "libmosquittopp-dev:/usr/include/mosquittopp.h"
  "chicken-bin:/usr/bin/csc"
  "microsocks:/usr/bin/microsocks"
  "openssl:/usr/bin/openssl"
  # OpenSSL's headers: benches/tls_peer.c, the TLS peer of make bench.
  "libssl-dev:/usr/include/openssl/ssl.h"
  "valgrind:/usr/bin/valgrind"
  "binutils:/usr/bin/nm"
  "python3-venv:/usr/share/doc/python3-venv"
  "dpkg-dev:/usr/bin/dpkg-shlibdeps"
  "lintian:/usr/bin/lintian"
  # RabbitMQ with its web_mqtt plugin: the WebSocket broker of tests/websockets.rs.
  "rabbitmq-server:/usr/lib/rabbitmq/bin/rabbitmq-server"
  # paho.mqtt.c's MQTTAsync with file persistence: the bench's comparison for
  # skeeter_persistence_set (benches/paho_persist.c).
  "libpaho-mqtt-dev:/usr/include/MQTTAsync.h"
)
deb_packages=(
  "make:/usr/bin/make"
  "binutils:/usr/bin/objcopy"
  "dpkg-dev:/usr/bin/dpkg-shlibdeps"
)
cross_packages=(
  "gcc-aarch64-linux-gnu:/usr/bin/aarch64-linux-gnu-gcc"
  "libc6-dev-arm64-cross:/usr/aarch64-linux-gnu/include/stdio.h"
  "gcc-arm-linux-gnueabihf:/usr/bin/arm-linux-gnueabihf-gcc"
  "libc6-dev-armhf-cross:/usr/arm-linux-gnueabihf/include/stdio.h"
  "qemu-user:/usr/bin/qemu-aarch64"
  "mosquitto:/usr/sbin/mosquitto"
)
demo_packages=(
  "gcc:/usr/bin/gcc"
  "make:/usr/bin/make"
  "mosquitto:/usr/sbin/mosquitto"
)

case "$what" in
  test) wanted=("${test_packages[@]}") ;;
  demo) wanted=("${demo_packages[@]}") ;;
  deb) wanted=("${deb_packages[@]}") ;;
  cross) wanted=("${cross_packages[@]}") ;;
  *) echo "usage: $0 [test|demo|deb|cross]" >&2; exit 2 ;;
esac

missing=()
for entry in "${wanted[@]}"; do
  package=${entry%%:*}
  file=${entry#*:}
  [ -e "$file" ] || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root:  sudo sh -c '$command'" >&2
  exit 1
fi
