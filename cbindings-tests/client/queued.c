/* QoS 1 and 2 messages published after connect_async, before the connection is
 * made (no loop has run yet), are sent once it is, and on_publish reports them.
 *
 *   queued PORT
 */
#include "check.h"

static int received = 0;

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata;
	static int next[3] = {0, 0, 1};  /* QoS 1: m0, m2, ...; QoS 2: m1, m3, ... */
	int n = -1;
	/* MQTT orders messages within one QoS level, not across them. */
	CHECK(sscanf(msg->payload, "m%d", &n) == 1 && msg->qos >= 1 && msg->qos <= 2 && n == next[msg->qos],
			"QoS %d: got %.*s out of order", msg->qos, msg->payloadlen, (char *)msg->payload);
	if(msg->qos >= 1 && msg->qos <= 2) next[msg->qos] = n + 2;
	bump(&received);
}

int main(int argc, char *argv[])
{
	struct mosquitto *sub, *pub;
	char topic[64];
	int port;

	print_loaded();
	if(argc != 2) return 2;
	port = atoi(argv[1]);
	snprintf(topic, sizeof(topic), "skeeter/queued/%d", (int)getpid());
	mosquitto_lib_init();

	sub = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(sub, count_connect);
	mosquitto_subscribe_callback_set(sub, count_subscribe);
	mosquitto_message_callback_set(sub, on_message);
	CHECK_RC(mosquitto_connect(sub, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_subscribe(sub, NULL, topic, 2), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(sub), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&subscribed, 1, 20), "subscriber not ready");

	pub = mosquitto_new(NULL, true, NULL);
	mosquitto_publish_callback_set(pub, count_publish);
	CHECK_RC(mosquitto_connect_async(pub, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	for(int i = 0; i < 10; i++){
		char payload[8];
		int len = snprintf(payload, sizeof(payload), "m%d", i);
		CHECK_RC(mosquitto_publish(pub, NULL, topic, len, payload, 1 + i % 2, false), MOSQ_ERR_SUCCESS);
	}
	CHECK_RC(mosquitto_loop_start(pub), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&received, 10, 20), "received %d of 10 queued messages", get(&received));
	CHECK(wait_for(&published, 10, 20), "on_publish called %d times for 10", get(&published));

	mosquitto_disconnect(pub);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(pub, false);
	mosquitto_loop_stop(sub, false);
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	return finish();
}
