#!/usr/bin/env bash
# make soak: publish and receive without pause for SOAK_SECONDS (default 600)
# through a proxy that cuts the connections every 10 s, with a broker restart
# every minute, sampling the client process's RSS every 5 s; fails when, after the
# warm-up, RSS grows more than SOAK_RSS_GROWTH_KB (default 2048) over the
# warm-up's peak, or when messages stop arriving. See tests/faults.rs, `soak`.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECONDS="${SOAK_SECONDS:-600}"
exec cargo test --test faults soak -- --ignored --nocapture --test-threads 1
