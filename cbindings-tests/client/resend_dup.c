/* A QoS 1 message in flight when the connection is lost goes again after the
 * reconnect marked DUP, also when the broker kept no session (clean session).
 * The fake broker checks the bytes.
 *
 *   resend_dup PORT
 */
#include "check.h"

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	int mid = 0, rc = MOSQ_ERR_SUCCESS;
	double deadline;

	print_loaded();
	if(argc != 2) return 2;
	mosquitto_lib_init();
	mosq = mosquitto_new("c1", true, NULL);
	mosquitto_connect_callback_set(mosq, count_connect);
	mosquitto_publish_callback_set(mosq, count_publish);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &connected, 1, 10), "no CONNACK");
	CHECK_RC(mosquitto_publish(mosq, &mid, "t", 2, "hi", 1, false), MOSQ_ERR_SUCCESS);
	/* The broker reads the PUBLISH and closes the connection without PUBACK. */
	deadline = now() + 10;
	while(rc == MOSQ_ERR_SUCCESS && now() < deadline) rc = mosquitto_loop(mosq, 100, 1);
	CHECK(rc == MOSQ_ERR_CONN_LOST, "the loop ended with %d, wanted the lost connection", rc);
	CHECK_RC(mosquitto_reconnect(mosq), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &published, 1, 10), "the message was not acknowledged after the reconnect");
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
