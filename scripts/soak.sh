#!/usr/bin/env bash
# make soak: publish and receive without pause for SOAK_SECONDS (default 600)
# through a proxy that cuts the connections every 10 s, with a broker restart
# every minute, sampling the client process's RSS every 5 s; fails when, after the
# warm-up, RSS grows more than SOAK_RSS_GROWTH_KB (default 2048) over the
# warm-up's peak, or when messages stop arriving. See tests/faults.rs, `soak`.
#
# Then the cluster runs of tests/cluster.rs for CLUSTER_SECONDS each (default
# 300): QoS 1 at a steady rate through a three-node RabbitMQ quorum cluster and
# through two bridged mosquitto brokers, killing the publisher's node again and
# again; the RabbitMQ run fails on any missing message.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECONDS="${SOAK_SECONDS:-600}"
# First, skeeter's persistence at the issue's size (tests/persistence.rs): a
# publisher of 100,000 QoS 1 and 100,000 QoS 2 messages killed with SIGKILL at 20
# random points. SOAK_PERSIST=0 skips it; SKEETER_PERSIST_MESSAGES and
# SKEETER_PERSIST_KILLS change its size, SKEETER_PERSIST_SEED repeats a run.
if [ "${SOAK_PERSIST:-1}" != 0 ]; then
    SKEETER_PERSIST_MESSAGES="${SKEETER_PERSIST_MESSAGES:-100000}" \
    SKEETER_PERSIST_KILLS="${SKEETER_PERSIST_KILLS:-20}" \
        cargo test --test persistence a_publisher_killed -- --nocapture --test-threads 1
fi
export CLUSTER_SECONDS="${CLUSTER_SECONDS:-300}"
cargo test --test faults soak -- --ignored --nocapture --test-threads 1
cargo test --test cluster soak_ -- --ignored --nocapture --test-threads 1
