/* Checking, matching and splitting topics. */
#include "skeeter_test.h"

static int matches(const char *filter, const char *topic)
{
	bool result = false;
	CHECK(mosquitto_topic_matches_sub(filter, topic, &result) == MOSQ_ERR_SUCCESS);
	return result;
}

int main(void)
{
	char **levels;
	int count;
	bool result;

	check_library_is_ours();

	CHECK(mosquitto_pub_topic_check("sensors/kitchen/temperature") == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_pub_topic_check("sensors/+/temperature") == MOSQ_ERR_INVAL);
	CHECK(mosquitto_pub_topic_check("sensors/#") == MOSQ_ERR_INVAL);
	CHECK(mosquitto_pub_topic_check(NULL) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_pub_topic_check2("a/b+", 3) == MOSQ_ERR_SUCCESS);

	CHECK(mosquitto_sub_topic_check("sensors/+/temperature") == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_sub_topic_check("sensors/#") == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_sub_topic_check("sensors/#/temperature") == MOSQ_ERR_INVAL);
	CHECK(mosquitto_sub_topic_check("sensors/kitchen+") == MOSQ_ERR_INVAL);
	CHECK(mosquitto_sub_topic_check2("a/#/b", 3) == MOSQ_ERR_SUCCESS);

	CHECK(matches("sensors/+/temperature", "sensors/kitchen/temperature"));
	CHECK(matches("sensors/#", "sensors"));
	CHECK(matches("sensors/#", "sensors/kitchen/temperature"));
	CHECK(!matches("sensors/+", "sensors/kitchen/temperature"));
	CHECK(!matches("#", "$SYS/broker/uptime"));
	CHECK(matches("$SYS/#", "$SYS/broker/uptime"));
	CHECK(mosquitto_topic_matches_sub2("a/+", 3, "a/b", 3, &result) == MOSQ_ERR_SUCCESS && result);
	CHECK(mosquitto_topic_matches_sub("a/#/b", "a/c", &result) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_topic_matches_sub("a", "a", NULL) == MOSQ_ERR_INVAL);

	/* Empty levels come back as NULL entries. */
	CHECK(mosquitto_sub_topic_tokenise("/sensors//temperature", &levels, &count) == MOSQ_ERR_SUCCESS);
	CHECK(count == 4);
	CHECK(levels[0] == NULL);
	CHECK(strcmp(levels[1], "sensors") == 0);
	CHECK(levels[2] == NULL);
	CHECK(strcmp(levels[3], "temperature") == 0);
	CHECK(mosquitto_sub_topic_tokens_free(&levels, count) == MOSQ_ERR_SUCCESS);
	CHECK(levels == NULL);
	CHECK(mosquitto_sub_topic_tokens_free(&levels, count) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_sub_topic_tokenise(NULL, &levels, &count) == MOSQ_ERR_INVAL);
	return 0;
}
