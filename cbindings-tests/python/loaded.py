"""Which libmosquitto this process loaded, from /proc/self/maps.

Import it after pymosquitto: it prints "loaded: <file>" (as the C test programs
do) and exits 1 unless the one libmosquitto mapped is SKEETER_EXPECTED_LIB, the
file the test staged, so a test cannot pass on a library it did not mean.
"""
import os
import sys


def mapped_libmosquitto():
    """The real paths of every libmosquitto file mapped into this process."""
    with open("/proc/self/maps") as maps:
        paths = {line.split(None, 5)[5].strip() for line in maps if len(line.split(None, 5)) == 6}
    return {os.path.realpath(p) for p in paths if os.path.basename(p).startswith("libmosquitto.so")}


def check_loaded():
    mapped = mapped_libmosquitto()
    for path in sorted(mapped):
        print(f"loaded: {path}", flush=True)
    expected = os.path.realpath(os.environ["SKEETER_EXPECTED_LIB"])
    if mapped != {expected}:
        print(f"FAIL: loaded {sorted(mapped)}, expected {expected}", flush=True)
        sys.exit(1)
