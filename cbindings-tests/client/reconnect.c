/* loop_forever reconnects after the broker restarts (reconnect_delay_set 1..2 s),
 * and a QoS 1 message published while the connection is down is sent after the
 * reconnection.
 *
 *   reconnect PORT
 *
 * Prints "ready" once connected and subscribed: the test then restarts the broker.
 * The message published while down is retained, so the restarted broker keeps it
 * for the new subscription. (libmosquitto 2.0.11 returns MOSQ_ERR_NO_CONN for it,
 * yet queues and sends it: the code is printed, not checked.)
 */
#include "check.h"

static char topic[64], offline_topic[64], filter[64];
static int connects = 0, disconnects = 0, got_live = 0, got_offline = 0;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	bump(&connects);
	printf("connected %d\n", get(&connects));
	CHECK_RC(mosquitto_subscribe(mosq, NULL, filter, 1), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)userdata; (void)mid; (void)count; (void)granted;
	if(get(&connects) == 1){
		printf("ready\n");
	}else{
		CHECK_RC(mosquitto_publish(mosq, NULL, topic, 4, "live", 1, false), MOSQ_ERR_SUCCESS);
	}
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	int mid = 0;
	(void)userdata;
	bump(&disconnects);
	printf("disconnected rc %d\n", rc);
	if(get(&disconnects) == 1){
		CHECK(rc != 0, "on_disconnect rc 0 for a connection the broker dropped");
		rc = mosquitto_publish(mosq, &mid, offline_topic, 6, "queued", 1, true);
		printf("publish while down: %d (%s), mid %d\n", rc, mosquitto_strerror(rc), mid);
		CHECK(rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN, "publish while down: %d", rc);
	}else{
		CHECK(rc == 0, "on_disconnect rc %d after mosquitto_disconnect", rc);
	}
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)userdata;
	if(!strcmp(msg->topic, topic)) set(&got_live, 1);
	if(!strcmp(msg->topic, offline_topic)){
		CHECK(msg->payloadlen == 6 && !memcmp(msg->payload, "queued", 6), "offline payload");
		set(&got_offline, 1);
	}
	if(get(&got_live) && get(&got_offline)){
		/* Clear the retained message, then leave. */
		mosquitto_publish(mosq, NULL, offline_topic, 0, NULL, 1, true);
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	}
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;

	print_loaded();
	if(argc != 2) return 2;
	snprintf(filter, sizeof(filter), "skeeter/reconnect/%d/#", (int)getpid());
	snprintf(topic, sizeof(topic), "skeeter/reconnect/%d/live", (int)getpid());
	snprintf(offline_topic, sizeof(offline_topic), "skeeter/reconnect/%d/offline", (int)getpid());
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	CHECK_RC(mosquitto_reconnect_delay_set(mosq, 1, 2, false), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_message_callback_set(mosq, on_message);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	/* Returns only after the disconnect in on_message. */
	CHECK_RC(mosquitto_loop_forever(mosq, -1, 1), MOSQ_ERR_SUCCESS);
	CHECK(get(&connects) == 2, "connected %d times", get(&connects));
	CHECK(get(&disconnects) == 2, "disconnected %d times", get(&disconnects));
	CHECK(get(&got_offline), "the message published while down never arrived");
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
