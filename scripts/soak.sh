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
export CLUSTER_SECONDS="${CLUSTER_SECONDS:-300}"
cargo test --test faults soak -- --ignored --nocapture --test-threads 1
cargo test --test cluster soak_ -- --ignored --nocapture --test-threads 1
