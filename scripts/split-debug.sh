#!/usr/bin/env bash
# Strips a shared library and keeps its debug information in a separate file,
# laid out as Debian's -dbgsym packages do: <debug-root>/.build-id/xx/yyyy.debug,
# named by the library's GNU build-id, which gdb and debuginfod look up.
#
# Usage: scripts/split-debug.sh LIBRARY STRIPPED DEBUG_ROOT
#   LIBRARY     the unstripped library (left as it is)
#   STRIPPED    where the stripped copy is written
#   DEBUG_ROOT  e.g. $(LIBDIR)/debug; prints the .debug file's path
# CROSS_PREFIX (e.g. aarch64-linux-gnu-) picks the target's objcopy and strip.
set -euo pipefail

library=$1 stripped=$2 debug_root=$3
objcopy=${CROSS_PREFIX:-}objcopy
strip=${CROSS_PREFIX:-}strip
readelf=${CROSS_PREFIX:-}readelf

# Without a build-id the debug file could not be found again: refuse.
build_id=$("$readelf" -n "$library" | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p')
if [ -z "$build_id" ]; then
    echo "split-debug: $library has no GNU build-id note" >&2
    exit 1
fi
debug_file="$debug_root/.build-id/${build_id:0:2}/${build_id:2}.debug"
mkdir -p "$(dirname "$debug_file")" "$(dirname "$stripped")"

"$objcopy" --only-keep-debug --compress-debug-sections "$library" "$debug_file"
chmod 0644 "$debug_file"
# --strip-unneeded keeps .dynsym and the version sections, so every export keeps
# its MOSQ_1.x node; .comment only names the compilers.
"$strip" --strip-unneeded --remove-section=.comment -o "$stripped" "$library"
# The link holds the debug file's name and CRC, for debuggers that do not use build-ids.
"$objcopy" --add-gnu-debuglink="$debug_file" "$stripped"
echo "$debug_file"
