"""The interpreter exits while a loop_start thread is still delivering
messages into Python callbacks: the process must still exit with the main
thread's status (0), not abort. The test keeps QoS 0 messages coming to
"py/flood" from outside, so some arrive after the interpreter began to exit.

    python exit_while_receiving.py PORT
"""
import sys
import threading

from pymosquitto.constants import MQTT5PropertyID

from support import check_loaded, connected_client

TOPIC = "py/flood"


def main():
    port = int(sys.argv[1])
    check_loaded()
    received = 0
    many = threading.Event()
    subscribed = threading.Event()

    def on_message(client, userdata, msg, props):
        nonlocal received
        received += 1
        if props is not None:
            props.find(MQTT5PropertyID.USER_PROPERTY)
        if received >= 200:
            many.set()

    subscriber = connected_client(port)
    subscriber.on_subscribe_v5 = lambda *args: subscribed.set()
    subscriber.on_message_v5 = on_message
    subscriber.subscribe(TOPIC, 0)
    assert subscribed.wait(10), "no SUBACK"

    assert many.wait(20), f"received only {received}"
    print(f"exiting after {received} messages, with more arriving", flush=True)
    # No loop_stop, no disconnect: the loop threads are still calling back.
    return 0


if __name__ == "__main__":
    sys.exit(main())
