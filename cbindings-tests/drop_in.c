/* Built against Debian's libmosquitto headers and library, then run on ours with
 * LD_LIBRARY_PATH: the loader must accept our library without a word (every
 * symbol version this binary asks for must exist) and the calls must work. */
#include <mqtt_protocol.h>
#include "skeeter_test.h"

int main(void)
{
	mosquitto_property *properties = NULL;
	bool matched = false;
	int major, minor, revision;

	check_library_is_ours();

	CHECK(mosquitto_lib_init() == MOSQ_ERR_SUCCESS);
	mosquitto_lib_version(&major, &minor, &revision);
	CHECK(major == 2 && minor == 0);
	CHECK(strcmp(mosquitto_strerror(MOSQ_ERR_NOMEM), "Out of memory.") == 0);
	CHECK(mosquitto_topic_matches_sub("a/#", "a/b", &matched) == MOSQ_ERR_SUCCESS && matched);
	CHECK(mosquitto_property_add_string_pair(&properties, MQTT_PROP_USER_PROPERTY, "k", "v") == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_check_all(CMD_PUBLISH, properties) == MOSQ_ERR_SUCCESS);
	mosquitto_property_free_all(&properties);
	CHECK(mosquitto_lib_cleanup() == MOSQ_ERR_SUCCESS);
	return 0;
}
