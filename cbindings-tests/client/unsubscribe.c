/* subscribe_multiple to three topics, then unsubscribe from two (one call with
 * unsubscribe_multiple, one with unsubscribe or unsubscribe_v5): only the third still
 * delivers. on_subscribe reports one granted QoS per topic and on_unsubscribe the mids
 * the calls returned.
 *
 *   unsubscribe PORT 311|5
 */
#include <mqtt_protocol.h>

#include "check.h"

static int unsubscribed = 0, received = 0;
/* The mids the callbacks saw, compared with the returned ones once both are known:
 * on loop_start's thread a callback may run before the call that sent the packet has
 * returned. */
static int subscribe_mid_seen = -1, unsubscribe_mids_seen[2] = {-1, -1};
static int granted_count = -1, granted[3] = {-1, -1, -1};
static char last_topic[128];

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *qos)
{
	(void)mosq; (void)userdata;
	set(&subscribe_mid_seen, mid);
	granted_count = count;
	for(int i = 0; i < count && i < 3; i++) granted[i] = qos[i];
	bump(&subscribed);
}

static void on_unsubscribe(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata;
	int n = get(&unsubscribed);
	if(n < 2) set(&unsubscribe_mids_seen[n], mid);
	bump(&unsubscribed);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata;
	snprintf(last_topic, sizeof(last_topic), "%s", msg->topic);
	bump(&received);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	char a[64], b[64], c[64];
	char *topics[3] = {a, b, c};
	bool v5;
	int mid, unsubscribe_mids[2];

	print_loaded();
	if(argc != 3) return 2;
	v5 = !strcmp(argv[2], "5");
	snprintf(a, sizeof(a), "skeeter/unsub/%d/a", (int)getpid());
	snprintf(b, sizeof(b), "skeeter/unsub/%d/b", (int)getpid());
	snprintf(c, sizeof(c), "skeeter/unsub/%d/c", (int)getpid());
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(mosq, count_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_unsubscribe_callback_set(mosq, on_unsubscribe);
	mosquitto_message_callback_set(mosq, on_message);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&connected, 1, 20), "not connected");

	/* Bad arguments first: nothing is sent. */
	CHECK_RC(mosquitto_subscribe_multiple(mosq, &mid, 0, topics, 1, 0, NULL), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_subscribe_multiple(mosq, &mid, 3, topics, 3, 0, NULL), MOSQ_ERR_INVAL);

	CHECK_RC(mosquitto_subscribe_multiple(mosq, &mid, 3, topics, 1, 0, NULL), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&subscribed, 1, 20), "no on_subscribe");
	CHECK(get(&subscribe_mid_seen) == mid, "on_subscribe mid %d, subscribe_multiple returned %d", get(&subscribe_mid_seen), mid);
	CHECK(granted_count == 3 && granted[0] == 1 && granted[1] == 1 && granted[2] == 1,
			"granted %d QoS: %d %d %d", granted_count, granted[0], granted[1], granted[2]);

	for(int i = 0; i < 3; i++){
		CHECK_RC(mosquitto_publish(mosq, NULL, topics[i], 1, "x", 1, false), MOSQ_ERR_SUCCESS);
	}
	CHECK(wait_for(&received, 3, 20), "received %d of 3 while subscribed", get(&received));

	CHECK_RC(mosquitto_unsubscribe_multiple(mosq, &mid, 1, topics, NULL), MOSQ_ERR_SUCCESS);
	unsubscribe_mids[0] = mid;
	if(v5){
		CHECK_RC(mosquitto_unsubscribe_v5(mosq, &mid, b, NULL), MOSQ_ERR_SUCCESS);
	}else{
		CHECK_RC(mosquitto_unsubscribe(mosq, &mid, b), MOSQ_ERR_SUCCESS);
	}
	unsubscribe_mids[1] = mid;
	CHECK(unsubscribe_mids[0] != unsubscribe_mids[1], "the same mid twice");
	CHECK(wait_for(&unsubscribed, 2, 20), "on_unsubscribe called %d times", get(&unsubscribed));
	CHECK(get(&unsubscribe_mids_seen[0]) == unsubscribe_mids[0] && get(&unsubscribe_mids_seen[1]) == unsubscribe_mids[1],
			"on_unsubscribe mids %d, %d; the calls returned %d, %d", get(&unsubscribe_mids_seen[0]),
			get(&unsubscribe_mids_seen[1]), unsubscribe_mids[0], unsubscribe_mids[1]);

	for(int i = 0; i < 3; i++){
		CHECK_RC(mosquitto_publish(mosq, NULL, topics[i], 1, "y", 1, false), MOSQ_ERR_SUCCESS);
	}
	CHECK(wait_for(&received, 4, 20), "the subscription that is left delivered nothing");
	usleep(300 * 1000);
	CHECK(get(&received) == 4, "received %d, expected 4: an unsubscribed topic delivered", get(&received));
	CHECK(!strcmp(last_topic, c), "last message on %s", last_topic);

	mosquitto_disconnect(mosq);
	mosquitto_loop_stop(mosq, false);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
