#!/usr/bin/env bash
# make cross TARGET=<rust target>: the release library for an ARM Linux target,
# stripped, in target/<target>/release/stripped/ (debug file beside it).
#
# The C parts (ring) are compiled and the library linked by Debian's cross gcc
# against the cross libc. gcc's own linker (GNU ld) rejects our symbol versioning
# ("anonymous version tag cannot be combined with other version tags": rustc's
# version script and build.rs's), so gcc is told to link with rust-lld, as rustc
# does on x86_64 Linux: -fuse-ld=lld, with -B pointing at rustc's gcc-ld wrappers.
#
# The target's standard library comes from rustup (`rustup target add`); where
# rustup cannot download it, from nightly with -Zbuild-std (needs rust-src).
# Sourced by scripts/test-cross.sh for the same settings (cross_env TARGET).
set -euo pipefail

cross_env() {
    target=$1
    case "$target" in
        aarch64-unknown-linux-gnu) gnu=aarch64-linux-gnu ;;
        armv7-unknown-linux-gnueabihf) gnu=arm-linux-gnueabihf ;;
        *) echo "cross: unknown TARGET $target (aarch64-unknown-linux-gnu or armv7-unknown-linux-gnueabihf)" >&2
           return 2 ;;
    esac
    command -v "$gnu-gcc" > /dev/null || {
        echo "cross: no $gnu-gcc: run scripts/install-deps.sh cross" >&2; return 1; }
    local upper sysroot
    upper=$(echo "$target" | tr 'a-z-' 'A-Z_')
    sysroot=$(rustc --print sysroot)
    export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
    export "CARGO_TARGET_${upper}_RUSTFLAGS=-Clink-arg=-fuse-ld=lld -Clink-arg=-B$sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld"
    export "CC_${target//-/_}=$gnu-gcc" "AR_${target//-/_}=$gnu-ar"
    export CROSS_PREFIX="$gnu-"
    # The standard library for the target: rustup's, else nightly's built from source
    # (CROSS_BUILD_STD=1 takes that way even where rustup's would do).
    toolchain=() build_std=() target_dir=target
    if [ "${CROSS_BUILD_STD:-0}" = 1 ] ||
        ! { rustup target list --installed | grep -qx "$target" || rustup target add "$target"; }; then
        echo "cross: building $target's std with nightly -Zbuild-std" >&2
        rustup component list --toolchain nightly --installed | grep -q '^rust-src' ||
            rustup component add rust-src --toolchain nightly
        # Apart from the stable build, which another compiler's artifacts would replace.
        toolchain=(+nightly) build_std=(-Zbuild-std) target_dir=target/build-std
        sysroot=$(rustc +nightly --print sysroot)
        export "CARGO_TARGET_${upper}_RUSTFLAGS=-Clink-arg=-fuse-ld=lld -Clink-arg=-B$sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld"
    fi
    cross_lib="$target_dir/$target/release/libmosquitto.so"
}

cross_build() {
    cargo "${toolchain[@]}" build --release --lib --target "$target" --target-dir "$target_dir" \
        "${build_std[@]}"
    # The soname and the symbol versions are what the loader checks: fail here if the
    # link lost them.
    "${gnu}-readelf" -d "$cross_lib" | grep -q 'Library soname: \[libmosquitto.so.1\]' || {
        echo "cross: $cross_lib has no soname libmosquitto.so.1" >&2; return 1; }
    local nodes
    nodes=$("${gnu}-readelf" -V "$cross_lib" | grep -c 'Name: MOSQ_1\.[0-7]$' || true)
    [ "$nodes" = 8 ] || {
        echo "cross: $cross_lib defines $nodes of the 8 MOSQ_1.x version nodes" >&2; return 1; }
    local out="$target_dir/$target/release/stripped"
    mkdir -p "$out"
    stripped="$out/libmosquitto.so.1"
    scripts/split-debug.sh "$cross_lib" "$stripped" "$out/debug" > /dev/null
    echo "cross: $stripped ($(stat -c %s "$stripped") bytes stripped, $(stat -c %s "$cross_lib") as built)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    cd "$(dirname "$0")/.."
    cross_env "${1:?usage: scripts/cross.sh TARGET}"
    cross_build
fi
