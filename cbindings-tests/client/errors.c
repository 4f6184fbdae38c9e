/* The return codes of bad calls, as libmosquitto 2.0 gives them.
 *
 *   errors CLOSED_PORT
 *
 * CLOSED_PORT is a port on 127.0.0.1 where nothing listens.
 */
#include <mqtt_protocol.h>

#include "check.h"

int main(int argc, char *argv[])
{
	struct mosquitto *mosq, *fresh;
	char long_topic[65537];
	int closed_port, rc;

	print_loaded();
	if(argc != 2) return 2;
	closed_port = atoi(argv[1]);
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);

	/* A client that was never connected. */
	fresh = mosquitto_new(NULL, true, NULL);
	CHECK_RC(mosquitto_publish(fresh, NULL, "a", 1, "x", 0, false), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_publish(fresh, NULL, "a", 1, "x", 1, false), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_subscribe(fresh, NULL, "a", 0), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_unsubscribe(fresh, NULL, "a"), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_disconnect(fresh), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_reconnect(fresh), MOSQ_ERR_INVAL);  /* no host yet */
	CHECK_RC(mosquitto_loop(fresh, 10, 1), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_loop_misc(fresh), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_loop_stop(fresh, false), MOSQ_ERR_INVAL);  /* no thread */
	CHECK(mosquitto_socket(fresh) == -1, "socket %d", mosquitto_socket(fresh));
	CHECK(!mosquitto_want_write(fresh), "want_write");
	/* An unresolvable bind address. (libmosquitto keeps a bind address for later
	 * connect calls on the same handle, so this one gets its own.) */
	CHECK_RC(mosquitto_connect_bind(fresh, "127.0.0.1", closed_port, 60, "nonexistent.invalid"), MOSQ_ERR_EAI);
	mosquitto_destroy(fresh);

	/* Connect arguments. */
	CHECK_RC(mosquitto_connect(mosq, "nonexistent.invalid", 1883, 60), MOSQ_ERR_EAI);
	CHECK_RC(mosquitto_connect_async(mosq, "nonexistent.invalid", 1883, 60), MOSQ_ERR_EAI);
	CHECK(!strcmp(mosquitto_strerror(MOSQ_ERR_EAI), "Lookup error."), "%s", mosquitto_strerror(MOSQ_ERR_EAI));
	CHECK_RC(mosquitto_connect(mosq, NULL, 1883, 60), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", -1, 60), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", 65536, 60), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", closed_port, 4), MOSQ_ERR_INVAL);  /* keepalive 1..4 */
	/* Port 0 means a Unix socket at the path given as host: here, no such file. */
	errno = 0;
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", 0, 60), MOSQ_ERR_ERRNO);
	CHECK(errno == ENOENT, "errno %d (%s) after port 0", errno, strerror(errno));

	/* Nothing listening: MOSQ_ERR_ERRNO, errno says why, strerror tells it. */
	errno = 0;
	rc = mosquitto_connect(mosq, "127.0.0.1", closed_port, 60);
	CHECK(rc == MOSQ_ERR_ERRNO, "connect to a closed port: %d", rc);
	CHECK(errno == ECONNREFUSED, "errno %d (%s)", errno, strerror(errno));
	CHECK(!strcmp(mosquitto_strerror(rc), strerror(ECONNREFUSED)), "mosquitto_strerror: %s", mosquitto_strerror(rc));
	errno = 0;
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", closed_port, 0), MOSQ_ERR_ERRNO);  /* keepalive 0 is allowed */
	CHECK(errno == ECONNREFUSED, "errno %d (%s)", errno, strerror(errno));
	errno = 0;
	CHECK_RC(mosquitto_connect_async(mosq, "127.0.0.1", closed_port, 60), MOSQ_ERR_ERRNO);
	CHECK(errno == ECONNREFUSED, "errno %d (%s) from connect_async", errno, strerror(errno));

	/* Publish arguments are checked before the connection. */
	CHECK_RC(mosquitto_publish(mosq, NULL, "a/+", 1, "x", 1, false), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_publish(mosq, NULL, "a/#", 1, "x", 1, false), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_publish(mosq, NULL, "", 1, "x", 1, false), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_publish(mosq, NULL, NULL, 1, "x", 1, false), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_publish(mosq, NULL, "a\xff", 1, "x", 1, false), MOSQ_ERR_MALFORMED_UTF8);
	CHECK_RC(mosquitto_publish(mosq, NULL, "a", 1, "x", 3, false), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_publish(mosq, NULL, "a", 1, "x", -1, false), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_publish(mosq, NULL, "a", -1, "x", 1, false), MOSQ_ERR_PAYLOAD_SIZE);
	CHECK_RC(mosquitto_publish(mosq, NULL, "a", MQTT_MAX_PAYLOAD + 1, "x", 1, false), MOSQ_ERR_PAYLOAD_SIZE);
	memset(long_topic, 'a', sizeof(long_topic));
	long_topic[65536] = '\0';  /* 65536 bytes: longer than an MQTT string can be */
	CHECK_RC(mosquitto_publish(mosq, NULL, long_topic, 1, "x", 1, false), MOSQ_ERR_INVAL);
	long_topic[65535] = '\0';  /* 65535 bytes: valid, so the missing connection is next */
	CHECK_RC(mosquitto_publish(mosq, NULL, long_topic, 1, "x", 1, false), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_publish(mosq, NULL, "a", 1, "x", 1, false), MOSQ_ERR_NO_CONN);

	/* subscribe checks the connection first, then the arguments. */
	CHECK_RC(mosquitto_subscribe(mosq, NULL, "a/#/b", 1), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_subscribe(mosq, NULL, "a", 3), MOSQ_ERR_INVAL);

	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
