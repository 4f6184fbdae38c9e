"""What the Python test programs share.

check_loaded() tells which libmosquitto this process loaded, from
/proc/self/maps: it prints "loaded: <file>" (as the C test programs do) and exits
1 unless the one libmosquitto mapped is SKEETER_EXPECTED_LIB, the file the test
staged, so a test cannot pass on a library it did not mean.
"""
import os
import sys
import threading

from pymosquitto.client import Mosquitto
from pymosquitto.constants import ConnackCode, ProtocolVersion

HOST = "127.0.0.1"


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


def connected_client(port):
    """A v5 client connected to the broker, its network loop on its own thread."""
    done = threading.Event()
    client = Mosquitto(protocol=ProtocolVersion.MQTTv5)
    client.on_connect = lambda c, u, rc: rc == ConnackCode.ACCEPTED and done.set()
    client.connect(HOST, port)
    client.loop_start()
    assert done.wait(10), "no CONNACK"
    client.on_connect = None
    return client
