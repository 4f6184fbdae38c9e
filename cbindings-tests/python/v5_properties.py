"""pymosquitto over MQTT 5: one client publishes messages with user properties,
correlation data, a content type and a response topic; another, under
loop_start, reads them in on_message_v5 through pymosquitto's property objects,
which walk the library's list by its memory (libmosquitto's private node).

    python v5_properties.py PORT
"""
import ctypes as C
import sys
import threading

from pymosquitto.bindings import libmosq
from pymosquitto.constants import MQTT5PropertyID

from support import check_loaded, connected_client

MESSAGES = 3


def request_properties(i):
    """A list built with the add functions, as a C program builds one."""
    props = C.c_void_p(None)
    correlation = b"id\x00" + bytes([i])
    for rc in (
        libmosq.mosquitto_property_add_string_pair(C.byref(props), MQTT5PropertyID.USER_PROPERTY, b"colour", b"blue"),
        libmosq.mosquitto_property_add_string_pair(C.byref(props), MQTT5PropertyID.USER_PROPERTY, b"n", str(i).encode()),
        libmosq.mosquitto_property_add_binary(C.byref(props), MQTT5PropertyID.CORRELATION_DATA, correlation, len(correlation)),
        libmosq.mosquitto_property_add_string(C.byref(props), MQTT5PropertyID.CONTENT_TYPE, b"text/plain"),
        libmosq.mosquitto_property_add_string(C.byref(props), MQTT5PropertyID.RESPONSE_TOPIC, b"py/reply"),
    ):
        assert rc == 0, f"property_add: {rc}"
    return props


def read(msg, props):
    """What on_message_v5 saw, through pymosquitto's own property API."""
    users = []
    node = props
    while node:
        if node.identifier == MQTT5PropertyID.USER_PROPERTY:
            users.append((node.name, node.value.s))
        node = node.next
    return {
        "payload": msg.payload,
        "users": users,
        "correlation": props.find(MQTT5PropertyID.CORRELATION_DATA).value.bin,
        "content_type": props.find(MQTT5PropertyID.CONTENT_TYPE).value.s,
        "response_topic": props.find(MQTT5PropertyID.RESPONSE_TOPIC).value.s,
        "flags": {n.client_generated for n in walk(props)},
    }


def walk(props):
    while props:
        yield props
        props = props.next


def main():
    port = int(sys.argv[1])
    check_loaded()
    seen, errors = [], []
    subscribed, all_received = threading.Event(), threading.Event()

    def on_message(client, userdata, msg, props):
        try:
            seen.append(read(msg, props))
        except Exception as error:  # the loop thread would only print it
            errors.append(repr(error))
        if len(seen) + len(errors) == MESSAGES:
            all_received.set()

    subscriber = connected_client(port)
    subscriber.on_subscribe_v5 = lambda *args: subscribed.set()
    subscriber.on_message_v5 = on_message
    subscriber.subscribe("py/props", 1)
    assert subscribed.wait(10), "no SUBACK"

    publisher = connected_client(port)
    for i in range(MESSAGES):
        props = request_properties(i)
        publisher.publish("py/props", f"message {i}", qos=1, props=props)
        libmosq.mosquitto_property_free_all(C.byref(props))

    assert all_received.wait(10), f"received {len(seen)} of {MESSAGES}"
    assert not errors, errors
    for i, got in enumerate(seen):
        assert got["payload"] == f"message {i}".encode(), got
        assert got["users"] == [("colour", "blue"), ("n", str(i))], got
        assert got["correlation"] == b"id\x00" + bytes([i]), got
        assert got["content_type"] == "text/plain", got
        assert got["response_topic"] == "py/reply", got
        assert got["flags"] == {False}, f"received nodes marked client_generated: {got}"
    print(f"received {len(seen)} messages with their properties", flush=True)

    for client in (publisher, subscriber):
        client.disconnect()
        client.loop_stop(False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
