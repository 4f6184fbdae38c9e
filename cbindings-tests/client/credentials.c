/* Username and password: on_connect reports the broker's verdict, 0 when accepted;
 * refused: 5 (not authorised) over MQTT 3.1.1, 135 (not authorized) over MQTT 5.
 * A refused client is disconnected: on_disconnect follows (libmosquitto 2.0.11 gives
 * it rc 5 over 3.1.1, and MOSQ_ERR_PROTOCOL, 2, over MQTT 5), and loop_start's thread
 * then retries (3.1.1) or stops (5), so it is stopped with loop_stop(force = true).
 *
 *   credentials PORT 311|5 USERNAME PASSWORD EXPECTED_RC
 */
#include <mqtt_protocol.h>

#include "check.h"

static int connects = 0, connect_rc = -1, disconnects = 0, disconnect_rc = -1;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	set(&connect_rc, rc);
	bump(&connects);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	if(get(&disconnects) == 0) set(&disconnect_rc, rc);
	bump(&disconnects);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	int expected;

	print_loaded();
	if(argc != 6) return 2;
	expected = atoi(argv[5]);
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION,
				!strcmp(argv[2], "5") ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_username_pw_set(mosq, argv[3], argv[4]), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&connects, 1, 20), "no on_connect");
	CHECK(get(&connect_rc) == expected, "on_connect rc %d (%s), wanted %d", get(&connect_rc),
			mosquitto_connack_string(get(&connect_rc)), expected);
	printf("connack string: %s\n", mosquitto_connack_string(get(&connect_rc)));
	if(expected == 0){
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&disconnects, 1, 20), "no on_disconnect");
		CHECK(get(&disconnect_rc) == 0, "on_disconnect rc %d", get(&disconnect_rc));
		CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
		CHECK(get(&connects) == 1, "on_connect called %d times", get(&connects));
	}else{
		/* Refused: the connection ends and on_disconnect follows. */
		CHECK(wait_for(&disconnects, 1, 20), "no on_disconnect");
		printf("on_disconnect rc: %d\n", get(&disconnect_rc));
		CHECK_RC(mosquitto_loop_stop(mosq, true), MOSQ_ERR_SUCCESS);
	}
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
