/* Walks property lists the library built by reading the nodes' memory, as
 * bindings such as Python's pymosquitto do: mosquitto_property is opaque in
 * mosquitto.h, so this program declares libmosquitto 2.0's private node itself
 * (x86_64: next at 0, value at 8, name at 24, identifier at 40,
 * client_generated at 44; 48 bytes). It checks a list made with
 * mosquitto_property_add_*, its mosquitto_property_copy_all copy, and the
 * properties of a message received in on_message_v5 from a real broker.
 *
 *   v5_property_layout PORT
 */
#include <stddef.h>
#include <stdint.h>

#include <mqtt_protocol.h>

#include "check.h"

struct layout_string {
	char *v;
	uint16_t len;
};

struct layout_node {
	struct layout_node *next;
	union {
		uint8_t i8;
		uint16_t i16;
		uint32_t i32;
		uint32_t varint;
		struct layout_string bin;
		struct layout_string s;
	} value;
	struct layout_string name;
	int32_t identifier;
	bool client_generated;
};

_Static_assert(offsetof(struct layout_node, value) == 8, "value at 8");
_Static_assert(offsetof(struct layout_node, name) == 24, "name at 24");
_Static_assert(offsetof(struct layout_node, identifier) == 40, "identifier at 40");
_Static_assert(offsetof(struct layout_node, client_generated) == 44, "client_generated at 44");
_Static_assert(sizeof(struct layout_node) == 48, "48 bytes");

static const char correlation[] = {'i', 'd', 0, 7};  /* binary, with a NUL inside */
static int received = 0;

/* Whether `string` holds `want` (of `len` bytes) with a NUL after it. */
static bool holds(struct layout_string string, const char *want, uint16_t len)
{
	return string.v && string.len == len && !memcmp(string.v, want, len) && string.v[len] == 0;
}

/* What a walk of a list found. */
struct seen {
	int nodes, flagged, byte, int16, varint, content_type, correlation, colour_blue, colour_green;
};

/* Walks `list` by its `next` fields, checking each node it knows against the
 * values both lists carry, and that mosquitto_property_next and _identifier
 * agree with the memory. */
static struct seen walk(const mosquitto_property *list)
{
	struct seen seen = {0};
	const struct layout_node *node;
	const mosquitto_property *api = list;

	for(node = (const struct layout_node *)list; node; node = node->next){
		CHECK((const void *)node == (const void *)api, "next field and mosquitto_property_next agree");
		CHECK(node->identifier == mosquitto_property_identifier(api), "identifier %d", node->identifier);
		api = mosquitto_property_next(api);
		seen.nodes++;
		if(node->client_generated) seen.flagged++;
		switch(node->identifier){
			case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:
				CHECK(node->value.i8 == 1, "payload format %d", node->value.i8);
				seen.byte++;
				break;
			case MQTT_PROP_RECEIVE_MAXIMUM:
				CHECK(node->value.i16 == 300, "receive maximum %d", node->value.i16);
				seen.int16++;
				break;
			case MQTT_PROP_SUBSCRIPTION_IDENTIFIER:
				CHECK(node->value.varint == 200000, "subscription identifier %u", node->value.varint);
				seen.varint++;
				break;
			case MQTT_PROP_CONTENT_TYPE:
				CHECK(holds(node->value.s, "text/plain", 10), "content type");
				CHECK(node->name.v == NULL, "a string has no name");
				seen.content_type++;
				break;
			case MQTT_PROP_CORRELATION_DATA:
				CHECK(holds(node->value.bin, correlation, sizeof(correlation)), "correlation data of %d bytes", node->value.bin.len);
				seen.correlation++;
				break;
			case MQTT_PROP_USER_PROPERTY:
				CHECK(holds(node->name, "colour", 6), "user property name");
				if(holds(node->value.s, "blue", 4)) seen.colour_blue++;
				else if(holds(node->value.s, "green", 5)) seen.colour_green++;
				else CHECK(false, "user property value %.*s", node->value.s.len, node->value.s.v);
				break;
			default:
				break;
		}
	}
	CHECK(api == NULL, "mosquitto_property_next ends with the walk");
	return seen;
}

/* The properties both lists carry (receive maximum only in the built one). */
static mosquitto_property *message_properties(void)
{
	mosquitto_property *props = NULL;
	CHECK_RC(mosquitto_property_add_byte(&props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, "text/plain"), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, correlation, sizeof(correlation)), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "colour", "blue"), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "colour", "green"), MOSQ_ERR_SUCCESS);
	return props;
}

static void check_common(struct seen seen, const char *which)
{
	CHECK(seen.byte == 1 && seen.content_type == 1 && seen.correlation == 1,
			"%s: byte %d, content type %d, correlation %d", which, seen.byte, seen.content_type, seen.correlation);
	CHECK(seen.colour_blue == 1 && seen.colour_green == 1,
			"%s: user properties blue %d, green %d", which, seen.colour_blue, seen.colour_green);
}

static void check_built_lists(void)
{
	mosquitto_property *props = message_properties(), *copy = NULL;
	struct seen seen;

	CHECK_RC(mosquitto_property_add_int16(&props, MQTT_PROP_RECEIVE_MAXIMUM, 300), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_varint(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, 200000), MOSQ_ERR_SUCCESS);
	seen = walk(props);
	check_common(seen, "built");
	CHECK(seen.nodes == 7 && seen.int16 == 1 && seen.varint == 1, "built: %d nodes", seen.nodes);
	CHECK(seen.flagged == 7, "built: %d of 7 nodes client_generated", seen.flagged);

	/* libmosquitto 2.0 leaves client_generated unset in a copy. */
	CHECK_RC(mosquitto_property_copy_all(&copy, props), MOSQ_ERR_SUCCESS);
	seen = walk(copy);
	check_common(seen, "copy");
	CHECK(seen.nodes == 7 && seen.flagged == 0, "copy: %d nodes, %d client_generated", seen.nodes, seen.flagged);
	mosquitto_property_free_all(&copy);
	mosquitto_property_free_all(&props);
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)flags; (void)props;
	CHECK(rc == 0, "on_connect_v5 rc %d", rc);
	bump(&connected);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)mid; (void)count; (void)granted; (void)props;
	bump(&subscribed);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg, const mosquitto_property *props)
{
	struct seen seen = walk(props);
	(void)mosq; (void)userdata; (void)msg;

	check_common(seen, "received");
	CHECK(seen.varint == 1, "received: subscription identifier %d", seen.varint);
	CHECK(seen.nodes > 0 && seen.flagged == 0, "received: %d of %d nodes client_generated", seen.flagged, seen.nodes);
	bump(&received);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	mosquitto_property *sub_props = NULL, *props;
	char topic[64];

	print_loaded();
	if(argc != 2){
		printf("usage: v5_property_layout PORT\n");
		return 2;
	}
	mosquitto_lib_init();
	check_built_lists();

	snprintf(topic, sizeof(topic), "layout/%d", (int)getpid());
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(mosq, on_connect);
	mosquitto_subscribe_v5_callback_set(mosq, on_subscribe);
	mosquitto_message_v5_callback_set(mosq, on_message);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&connected, 1, 10), "connected");

	CHECK_RC(mosquitto_property_add_varint(&sub_props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, 200000), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_subscribe_v5(mosq, NULL, topic, 1, 0, sub_props), MOSQ_ERR_SUCCESS);
	mosquitto_property_free_all(&sub_props);
	CHECK(wait_for(&subscribed, 1, 10), "subscribed");

	props = message_properties();
	CHECK_RC(mosquitto_publish_v5(mosq, NULL, topic, 5, "hello", 1, false, props), MOSQ_ERR_SUCCESS);
	mosquitto_property_free_all(&props);
	CHECK(wait_for(&received, 1, 10), "received the message");

	mosquitto_disconnect(mosq);
	mosquitto_loop_stop(mosq, false);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return check_failures ? 1 : 0;
}
