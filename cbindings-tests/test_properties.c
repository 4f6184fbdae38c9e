/* skeeter: check leaks */
/* Building, reading, copying, checking and freeing MQTT 5 property lists. */
#include <mqtt_protocol.h>
#include "skeeter_test.h"

static void build_publish_properties(mosquitto_property **list)
{
	CHECK(mosquitto_property_add_byte(list, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_int32(list, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 3600) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_string(list, MQTT_PROP_CONTENT_TYPE, "text/plain") == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_binary(list, MQTT_PROP_CORRELATION_DATA, "\x01\x02\x00", 3) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_string_pair(list, MQTT_PROP_USER_PROPERTY, "room", "kitchen") == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_string_pair(list, MQTT_PROP_USER_PROPERTY, "floor", "1") == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_int16(list, MQTT_PROP_TOPIC_ALIAS, 3) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_varint(list, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, 268435455) == MOSQ_ERR_SUCCESS);
}

static void read_them_back(const mosquitto_property *list)
{
	uint8_t format;
	uint16_t alias, length;
	uint32_t expiry, subscription_id;
	char *content_type, *name, *value;
	void *data;
	const mosquitto_property *found;

	CHECK(mosquitto_property_read_byte(list, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, &format, false) == list);
	CHECK(format == 1);
	CHECK(mosquitto_property_read_int32(list, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, &expiry, false));
	CHECK(expiry == 3600);
	CHECK(mosquitto_property_read_int16(list, MQTT_PROP_TOPIC_ALIAS, &alias, false) && alias == 3);
	CHECK(mosquitto_property_read_varint(list, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &subscription_id, false));
	CHECK(subscription_id == 268435455);

	CHECK(mosquitto_property_read_string(list, MQTT_PROP_CONTENT_TYPE, &content_type, false));
	CHECK(strcmp(content_type, "text/plain") == 0);
	free(content_type);

	CHECK(mosquitto_property_read_binary(list, MQTT_PROP_CORRELATION_DATA, &data, &length, false));
	CHECK(length == 3 && memcmp(data, "\x01\x02\x00", 3) == 0);
	free(data);

	/* Walk every user property: pass the found node back with skip_first. */
	found = mosquitto_property_read_string_pair(list, MQTT_PROP_USER_PROPERTY, &name, &value, false);
	CHECK(found && strcmp(name, "room") == 0 && strcmp(value, "kitchen") == 0);
	free(name);
	free(value);
	found = mosquitto_property_read_string_pair(found, MQTT_PROP_USER_PROPERTY, &name, &value, true);
	CHECK(found && strcmp(name, "floor") == 0 && strcmp(value, "1") == 0);
	free(name);
	free(value);
	CHECK(mosquitto_property_read_string_pair(found, MQTT_PROP_USER_PROPERTY, NULL, NULL, true) == NULL);

	/* Absent, or asked for with the wrong type. */
	CHECK(mosquitto_property_read_int16(list, MQTT_PROP_RECEIVE_MAXIMUM, &alias, false) == NULL);
	CHECK(mosquitto_property_read_byte(list, MQTT_PROP_CONTENT_TYPE, &format, false) == NULL);
}

int main(void)
{
	mosquitto_property *list = NULL, *copy = NULL, *bad = NULL;
	const mosquitto_property *node;
	int count = 0, identifier, type;

	check_library_is_ours();

	build_publish_properties(&list);
	read_them_back(list);
	for (node = list; node; node = mosquitto_property_next(node)) {
		count++;
	}
	CHECK(count == 8);
	CHECK(mosquitto_property_identifier(list) == MQTT_PROP_PAYLOAD_FORMAT_INDICATOR);
	CHECK(mosquitto_property_check_all(CMD_PUBLISH, list) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_check_all(CMD_CONNECT, list) == MOSQ_ERR_PROTOCOL);

	CHECK(mosquitto_property_copy_all(&copy, list) == MOSQ_ERR_SUCCESS);
	mosquitto_property_free_all(&list);
	CHECK(list == NULL);
	read_them_back(copy);
	mosquitto_property_free_all(&copy);
	CHECK(copy == NULL);
	mosquitto_property_free_all(&copy);
	mosquitto_property_free_all(NULL);

	/* Wrong type for the identifier, bad UTF-8, out of range. */
	CHECK(mosquitto_property_add_byte(&bad, MQTT_PROP_CONTENT_TYPE, 1) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_property_add_string(&bad, MQTT_PROP_CONTENT_TYPE, "\xff") == MOSQ_ERR_MALFORMED_UTF8);
	CHECK(mosquitto_property_add_varint(&bad, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, 268435456) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_property_add_byte(NULL, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1) == MOSQ_ERR_INVAL);
	CHECK(bad == NULL);

	/* Rules for a whole list. */
	CHECK(mosquitto_property_add_int32(&bad, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 60) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_int32(&bad, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 60) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_check_all(CMD_CONNECT, bad) == MOSQ_ERR_DUPLICATE_PROPERTY);
	mosquitto_property_free_all(&bad);
	CHECK(mosquitto_property_add_byte(&bad, MQTT_PROP_MAXIMUM_QOS, 2) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_check_all(CMD_CONNACK, bad) == MOSQ_ERR_PROTOCOL);
	mosquitto_property_free_all(&bad);

	CHECK(mosquitto_property_check_command(CMD_WILL, MQTT_PROP_WILL_DELAY_INTERVAL) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_check_command(CMD_PUBLISH, MQTT_PROP_WILL_DELAY_INTERVAL) == MOSQ_ERR_PROTOCOL);

	CHECK(strcmp(mosquitto_property_identifier_to_string(MQTT_PROP_CONTENT_TYPE), "content-type") == 0);
	CHECK(mosquitto_property_identifier_to_string(0) == NULL);
	CHECK(mosquitto_string_to_property_info("receive-maximum", &identifier, &type) == MOSQ_ERR_SUCCESS);
	CHECK(identifier == MQTT_PROP_RECEIVE_MAXIMUM && type == MQTT_PROP_TYPE_INT16);
	CHECK(mosquitto_string_to_property_info("no-such-thing", &identifier, &type) == MOSQ_ERR_INVAL);
	return 0;
}
