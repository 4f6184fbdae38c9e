/* Error, CONNACK and reason code texts, command names and the version. */
#include <errno.h>
#include <mqtt_protocol.h>
#include "skeeter_test.h"

int main(void)
{
	int major, minor, revision, command;

	check_library_is_ours();

	CHECK(mosquitto_lib_init() == MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_lib_version(&major, &minor, &revision) == LIBMOSQUITTO_VERSION_NUMBER);
	CHECK(major == LIBMOSQUITTO_MAJOR && minor == LIBMOSQUITTO_MINOR && revision == LIBMOSQUITTO_REVISION);
	CHECK(mosquitto_lib_version(NULL, NULL, NULL) == LIBMOSQUITTO_VERSION_NUMBER);

	CHECK(strcmp(mosquitto_strerror(MOSQ_ERR_SUCCESS), "No error.") == 0);
	CHECK(strcmp(mosquitto_strerror(MOSQ_ERR_INVAL), "Invalid function arguments provided.") == 0);
	CHECK(strcmp(mosquitto_strerror(MOSQ_ERR_MALFORMED_UTF8), "Malformed UTF-8") == 0);
	CHECK(strcmp(mosquitto_strerror(12345), "Unknown error.") == 0);
	/* MOSQ_ERR_ERRNO means "look at errno". */
	errno = ENOENT;
	CHECK(strcmp(mosquitto_strerror(MOSQ_ERR_ERRNO), strerror(ENOENT)) == 0);

	CHECK(strcmp(mosquitto_connack_string(CONNACK_ACCEPTED), "Connection Accepted.") == 0);
	CHECK(strcmp(mosquitto_connack_string(CONNACK_REFUSED_NOT_AUTHORIZED),
		     "Connection Refused: not authorised.") == 0);
	CHECK(strcmp(mosquitto_connack_string(99), "Connection Refused: unknown reason.") == 0);

	CHECK(strcmp(mosquitto_reason_string(MQTT_RC_NOT_AUTHORIZED), "Not authorized") == 0);
	CHECK(strcmp(mosquitto_reason_string(MQTT_RC_WILDCARD_SUBS_NOT_SUPPORTED),
		     "Wildcard Subscriptions not supported") == 0);
	CHECK(strcmp(mosquitto_reason_string(3), "Unknown reason") == 0);

	CHECK(mosquitto_string_to_command("publish", &command) == MOSQ_ERR_SUCCESS && command == CMD_PUBLISH);
	CHECK(mosquitto_string_to_command("Will", &command) == MOSQ_ERR_SUCCESS && command == CMD_WILL);
	command = -1;
	CHECK(mosquitto_string_to_command("nonsense", &command) == MOSQ_ERR_INVAL && command == -1);
	CHECK(mosquitto_string_to_command(NULL, &command) == MOSQ_ERR_INVAL);

	CHECK(mosquitto_lib_cleanup() == MOSQ_ERR_SUCCESS);
	return 0;
}
