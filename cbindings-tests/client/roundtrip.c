/* Publish to ourselves at QoS 0, 1 and 2 and receive every message, in order, with
 * on_publish reporting each mid mosquitto_publish returned, exactly once.
 * Everything after connecting happens in callbacks, so the same code runs in each
 * way of driving the client:
 *
 *   roundtrip PORT|SOCKET_PATH forever|loop|busy|start [31|311|5]
 *
 * A path (starting with '/') connects over a Unix domain socket: host = the path,
 * port = 0.
 *
 * forever: mosquitto_loop_forever on this thread, returning after the disconnect;
 * loop:    mosquitto_loop called by hand; start: mosquitto_loop_start's thread;
 * busy:    mosquitto_connect_async, then mosquitto_loop(mosq, 0, 1) between
 *          pieces of the program's own work, never waiting in the library.
 */
#include <mqtt_protocol.h>

#include "check.h"

#define PER_QOS 20
#define TOTAL (3 * PER_QOS)

static char base[64];
static int sent_mids[TOTAL];
static int published_mids[TOTAL];
static int sent = 0, received = 0;
static int next_for_qos[3] = {0, 0, 0};
static int disconnected = 0, disconnect_rc = -1;

static int index_of_mid(int mid)
{
	for(int i = 0; i < get(&sent); i++){
		if(sent_mids[i] == mid) return i;
	}
	return -1;
}

static void maybe_done(struct mosquitto *mosq)
{
	if(get(&received) == TOTAL && get(&published) == TOTAL){
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	}
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	char filter[80];
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	bump(&connected);
	snprintf(filter, sizeof(filter), "%s/#", base);
	CHECK_RC(mosquitto_subscribe(mosq, NULL, filter, 2), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int qos_count, const int *granted_qos)
{
	(void)userdata; (void)mid;
	CHECK(qos_count == 1 && granted_qos[0] == 2, "granted %d qos, first %d", qos_count, granted_qos[0]);
	for(int qos = 0; qos <= 2; qos++){
		char topic[80];
		snprintf(topic, sizeof(topic), "%s/q%d", base, qos);
		for(int i = 0; i < PER_QOS; i++){
			char payload[32];
			int mid = -1;
			int len = snprintf(payload, sizeof(payload), "q%d-%d", qos, i);
			int rc = mosquitto_publish(mosq, &mid, topic, len, payload, qos, false);
			CHECK(rc == MOSQ_ERR_SUCCESS, "publish: %s", mosquitto_strerror(rc));
			CHECK(mid > 0, "mid %d", mid);
			CHECK(index_of_mid(mid) == -1, "mid %d returned twice", mid);
			sent_mids[get(&sent)] = mid;
			bump(&sent);
		}
	}
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)userdata;
	/* Matched with sent_mids at the end: on_publish for a QoS 0 message may come
	 * before mosquitto_publish has returned its mid. */
	int n = get(&published);
	if(n < TOTAL) published_mids[n] = mid;
	bump(&published);
	maybe_done(mosq);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	int qos = -1, n = -1;
	char want_topic[80];
	(void)userdata;
	CHECK(sscanf(msg->payload, "q%d-%d", &qos, &n) == 2 && qos >= 0 && qos <= 2,
			"payload %.*s", msg->payloadlen, (char *)msg->payload);
	if(qos < 0 || qos > 2) return;
	snprintf(want_topic, sizeof(want_topic), "%s/q%d", base, qos);
	CHECK(strcmp(msg->topic, want_topic) == 0, "topic %s", msg->topic);
	CHECK(msg->qos == qos, "message qos %d, sent at %d", msg->qos, qos);
	CHECK(!msg->retain, "retain set on a live message");
	CHECK(n == next_for_qos[qos], "QoS %d: got message %d, expected %d", qos, n, next_for_qos[qos]);
	next_for_qos[qos] = n + 1;
	bump(&received);
	maybe_done(mosq);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	set(&disconnect_rc, rc);
	bump(&disconnected);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	const char *mode;
	int version = MQTT_PROTOCOL_V311;
	const char *host = "127.0.0.1";
	int port;

	print_loaded();
	if(argc < 3) return 2;
	mode = argv[2];
	if(argv[1][0] == '/'){
		host = argv[1];
		port = 0;
	}else{
		port = atoi(argv[1]);
	}
	if(argc > 3){
		if(!strcmp(argv[3], "31")) version = MQTT_PROTOCOL_V31;
		else if(!strcmp(argv[3], "5")) version = MQTT_PROTOCOL_V5;
	}
	snprintf(base, sizeof(base), "skeeter/roundtrip/%d", (int)getpid());

	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, version), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_publish_callback_set(mosq, on_publish);
	mosquitto_message_callback_set(mosq, on_message);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);

	if(!strcmp(mode, "forever")){
		CHECK_RC(mosquitto_connect(mosq, host, port, 60), MOSQ_ERR_SUCCESS);
		/* Returns once the client disconnected (from on_message/on_publish). */
		CHECK_RC(mosquitto_loop_forever(mosq, -1, 1), MOSQ_ERR_SUCCESS);
	}else if(!strcmp(mode, "loop")){
		CHECK_RC(mosquitto_connect(mosq, host, port, 60), MOSQ_ERR_SUCCESS);
		double deadline = now() + 20;
		while(!get(&disconnected) && now() < deadline){
			int rc = mosquitto_loop(mosq, 100, 1);
			if(rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN){
				CHECK(0, "mosquitto_loop: %s", mosquitto_strerror(rc));
				break;
			}
		}
	}else if(!strcmp(mode, "busy")){
		CHECK_RC(mosquitto_connect_async(mosq, host, port, 60), MOSQ_ERR_SUCCESS);
		CHECK(busy_loop_until(mosq, &disconnected, 1, 20), "not disconnected after 20 s");
	}else if(!strcmp(mode, "start")){
		CHECK_RC(mosquitto_connect(mosq, host, port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&disconnected, 1, 20), "not disconnected after 20 s");
		/* The thread ends by itself after a client-initiated disconnect. */
		CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
	}else{
		return 2;
	}

	CHECK(get(&connected) == 1, "on_connect called %d times", get(&connected));
	CHECK(get(&disconnected) == 1, "on_disconnect called %d times", get(&disconnected));
	CHECK(get(&disconnect_rc) == 0, "on_disconnect rc %d", get(&disconnect_rc));
	CHECK(get(&sent) == TOTAL, "published %d of %d", get(&sent), TOTAL);
	CHECK(get(&published) == TOTAL, "on_publish called %d times for %d messages", get(&published), TOTAL);
	CHECK(get(&received) == TOTAL, "received %d of %d", get(&received), TOTAL);
	for(int i = 0; i < get(&sent); i++){
		int times = 0;
		for(int j = 0; j < get(&published) && j < TOTAL; j++){
			if(published_mids[j] == sent_mids[i]) times++;
		}
		CHECK(times == 1, "mid %d: on_publish called %d times", sent_mids[i], times);
	}
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
