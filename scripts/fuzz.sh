#!/usr/bin/env bash
# Runs each fuzz target for $FUZZ_SECONDS seconds (default 60), starting from the
# checked-in seeds in fuzz/seeds/; exits non-zero on the first crash, whose input
# cargo fuzz leaves in fuzz/artifacts/<target>/.
#
# cargo fuzz needs nightly rustc flags: with a nightly toolchain installed it is
# used; without one, RUSTC_BOOTSTRAP=1 lets the stable compiler accept them.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
targets=(decode_packet property_list session_stream)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi

for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s"
    mkdir -p "fuzz/corpus/$target" "fuzz/seeds/$target"
    cargo "${toolchain[@]}" fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1
done
echo "== no crashes"
