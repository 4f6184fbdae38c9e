/* skeeter: check leaks */
/* libmosquitto 2.1's pure additions, used as a program would: the topic helpers
 * with %c/%u patterns and ACL coverage, and reading any property by its type
 * with the *_value accessors, then removing nodes from a list. Debian's 2.0.11
 * has none of these, so this program runs on our library only. */
#include <mqtt_protocol.h>
#include "skeeter_test.h"
#include "property_text.h"

static bool matches_with_pattern(const char *sub, const char *topic, const char *id, const char *user)
{
	bool result = false;
	CHECK(mosquitto_topic_matches_sub_with_pattern(sub, topic, id, user, &result) == MOSQ_ERR_SUCCESS);
	return result;
}

static bool covers(const char *acl, const char *sub)
{
	bool result = false;
	CHECK(mosquitto_sub_matches_acl(acl, sub, &result) == MOSQ_ERR_SUCCESS);
	return result;
}

static bool covers_with_pattern(const char *acl, const char *sub, const char *id, const char *user)
{
	bool result = false;
	CHECK(mosquitto_sub_matches_acl_with_pattern(acl, sub, id, user, &result) == MOSQ_ERR_SUCCESS);
	return result;
}

static void topic_helpers(void)
{
	bool result = true;

	CHECK(matches_with_pattern("sensors/%c/temperature", "sensors/kitchen/temperature", "kitchen", NULL));
	CHECK(!matches_with_pattern("sensors/%c/temperature", "sensors/bathroom/temperature", "kitchen", NULL));
	CHECK(matches_with_pattern("%c/%c/%u/%u", "kitchen/kitchen/bathroom/bathroom", "kitchen", "bathroom"));
	CHECK(matches_with_pattern("users/%u/#", "users/ann/inbox/1", "id", "ann"));
	CHECK(!matches_with_pattern("users/%u/#", "users/bob/inbox", "id", "ann"));
	CHECK(matches_with_pattern("a/%count", "a/%count", "kitchen", NULL));
	CHECK(!matches_with_pattern("a/%count", "a/kitchenount", "kitchen", NULL));
	/* No usable id: a pattern level matches nothing. */
	CHECK(!matches_with_pattern("sensors/%c", "sensors/x", NULL, NULL));
	CHECK(!matches_with_pattern("sensors/%c", "sensors/", "", NULL));
	CHECK(!matches_with_pattern("sensors/%u/#", "sensors/x", "x", "#"));
	CHECK(!matches_with_pattern("sensors/%u", "sensors/x", "x", "+"));
	CHECK(!matches_with_pattern("%c/#", "$SYS/x", "$SYS", NULL));

	CHECK(covers("$SYS/#", "$SYS/broker/#"));
	CHECK(!covers("$SYS/broker/uptime", "$SYS/broker/#"));
	CHECK(covers("a/+", "a/b"));
	CHECK(!covers("a/b", "a/+"));
	CHECK(covers("a/#", "a/+/c"));
	CHECK(!covers("a/+", "a/#"));
	CHECK(!covers("#", "$SYS/x"));
	CHECK(covers_with_pattern("sensors/%c/+", "sensors/kitchen/temperature", "kitchen", NULL));
	CHECK(!covers_with_pattern("sensors/%c/+", "sensors/+/temperature", "kitchen", NULL));
	CHECK(!covers_with_pattern("sensors/%c/+", "sensors/kitchen/temperature", NULL, NULL));

	/* Bad arguments: MOSQ_ERR_INVAL and *result untouched. */
	CHECK(mosquitto_topic_matches_sub_with_pattern("", "a", "c", "u", &result) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_topic_matches_sub_with_pattern("a", NULL, "c", "u", &result) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_topic_matches_sub_with_pattern("a", "a/+", "c", "u", &result) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_topic_matches_sub_with_pattern("a", "a", "c", "u", NULL) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_sub_matches_acl("a/#/b", "a", &result) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_sub_matches_acl("a", "", &result) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_sub_matches_acl_with_pattern(NULL, "a", "c", "u", &result) == MOSQ_ERR_INVAL);
	CHECK(result == true);
}

static void property_accessors(void)
{
	mosquitto_property *list = NULL, *removed;
	const mosquitto_property *alias, *content_type, *correlation;
	const unsigned char *data;
	char text[1024];

	CHECK(mosquitto_property_add_byte(&list, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_int16(&list, MQTT_PROP_TOPIC_ALIAS, 3) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_int32(&list, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 3600) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_varint(&list, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, 268435455) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_binary(&list, MQTT_PROP_CORRELATION_DATA, "\x01\x00\x02", 3) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_string(&list, MQTT_PROP_CONTENT_TYPE, "text/plain") == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_add_string_pair(&list, MQTT_PROP_USER_PROPERTY, "room", "kitchen") == MOSQ_ERR_SUCCESS);
	CHECK(property_list_text(list, text, sizeof(text)));
	CHECK(strcmp(text,
			"1 byte 1\n35 int16 3\n2 int32 3600\n11 varint 268435455\n"
			"9 binary 3\n3 string text/plain\n38 pair room=kitchen\n") == 0);

	correlation = mosquitto_property_read_binary(list, MQTT_PROP_CORRELATION_DATA, NULL, NULL, false);
	data = mosquitto_property_binary_value(correlation);
	CHECK(data && memcmp(data, "\x01\x00\x02", 3) == 0);
	/* Strings point into the node and end with a NUL. */
	content_type = mosquitto_property_read_string(list, MQTT_PROP_CONTENT_TYPE, NULL, false);
	CHECK(strcmp(mosquitto_property_string_value(content_type), "text/plain") == 0);

	/* The wrong accessor, or NULL, gives 0 or NULL. */
	CHECK(mosquitto_property_byte_value(content_type) == 0);
	CHECK(mosquitto_property_int32_value(correlation) == 0);
	CHECK(mosquitto_property_binary_value(content_type) == NULL);
	CHECK(mosquitto_property_string_name(content_type) == NULL);
	CHECK(mosquitto_property_string_value(correlation) == NULL);
	CHECK(mosquitto_property_type(NULL) == 0);
	CHECK(mosquitto_property_varint_value(NULL) == 0);
	CHECK(mosquitto_property_string_name_length(NULL) == 0);

	/* Remove the topic alias (no longer wanted) and the first node; free them alone. */
	alias = mosquitto_property_read_int16(list, MQTT_PROP_TOPIC_ALIAS, NULL, false);
	CHECK(mosquitto_property_remove(&list, alias) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_remove(&list, alias) == MOSQ_ERR_NOT_FOUND);
	removed = (mosquitto_property *)alias;
	CHECK(mosquitto_property_int16_value(removed) == 3);
	mosquitto_property_free_all(&removed);
	removed = list;
	CHECK(mosquitto_property_remove(&list, removed) == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_next(removed) == NULL);
	mosquitto_property_free_all(&removed);
	CHECK(property_list_text(list, text, sizeof(text)));
	CHECK(strcmp(text,
			"2 int32 3600\n11 varint 268435455\n"
			"9 binary 3\n3 string text/plain\n38 pair room=kitchen\n") == 0);
	CHECK(mosquitto_property_remove(NULL, list) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_property_remove(&list, NULL) == MOSQ_ERR_INVAL);
	/* The shortened list is still whole for the rest of the API. */
	CHECK(mosquitto_property_copy_all(&removed, list) == MOSQ_ERR_SUCCESS);
	CHECK(property_list_text(removed, text, sizeof(text)));
	CHECK(strcmp(text,
			"2 int32 3600\n11 varint 268435455\n"
			"9 binary 3\n3 string text/plain\n38 pair room=kitchen\n") == 0);
	mosquitto_property_free_all(&removed);
	mosquitto_property_free_all(&list);
}

int main(void)
{
	check_library_is_ours();
	topic_helpers();
	property_accessors();
	return 0;
}
