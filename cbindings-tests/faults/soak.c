/* Soak: publish and receive without pause for SECONDS while the test cuts the
 * connections and restarts the broker (tests/faults.rs, soak), which samples this
 * process's memory meanwhile.
 *
 *   soak PORT SECONDS
 *
 * Two publishers and one subscriber (clean_session false, automatic reconnect,
 * loop_start): one publishes QoS 1 and 2 in turn, at most WINDOW unacknowledged,
 * the other one QoS 0 message for each of those; payloads of 1 to 1,000 bytes. Prints "stats ..." every 10 s and "result ..."
 * at the end; fails if nothing at all arrived in any 60 s stretch.
 */
#include "../client/check.h"

#define WINDOW 500

static char topic[64], pub_id[64], pub0_id[64], sub_id[64];
static int sent = 0, acked = 0, received = 0, connects = 0, refused = 0, sent0 = 0;
static int pub_marker = 1, pub0_marker = 0, sub_marker = 2;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	if(rc != 0) return;
	bump(&connects);
	if(userdata == &sub_marker){
		/* The subscriber. */
		int src = mosquitto_subscribe(mosq, NULL, topic, 2);
		CHECK(src == MOSQ_ERR_SUCCESS || src == MOSQ_ERR_NO_CONN, "subscribe: %d", src);
	}
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)mid;
	if(userdata == &pub_marker) bump(&acked);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata; (void)msg;
	bump(&received);
}

static struct mosquitto *client(const char *id, void *userdata, int port)
{
	struct mosquitto *mosq = mosquitto_new(id, false, userdata);
	mosquitto_reconnect_delay_set(mosq, 1, 1, false);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_publish_callback_set(mosq, on_publish);
	mosquitto_message_callback_set(mosq, on_message);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 10), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	return mosq;
}

int main(int argc, char *argv[])
{
	static char payload[1000];
	struct mosquitto *pub, *pub0, *sub;
	double started, end, next_stats, last_progress;
	int port, last_received = 0, seq = 0;

	print_loaded();
	if(argc != 3) return 2;
	port = atoi(argv[1]);
	snprintf(topic, sizeof(topic), "skeeter/soak/%d", (int)getpid());
	snprintf(pub_id, sizeof(pub_id), "skeeter-soak-pub-%d", (int)getpid());
	snprintf(pub0_id, sizeof(pub0_id), "skeeter-soak-pub0-%d", (int)getpid());
	snprintf(sub_id, sizeof(sub_id), "skeeter-soak-sub-%d", (int)getpid());
	memset(payload, 'x', sizeof(payload));
	mosquitto_lib_init();
	sub = client(sub_id, &sub_marker, port);
	pub = client(pub_id, &pub_marker, port);
	pub0 = client(pub0_id, &pub0_marker, port);
	started = last_progress = now();
	end = started + atof(argv[2]);
	next_stats = started + 10;
	while(now() < end){
		if(get(&sent) - get(&acked) >= WINDOW){
			usleep(500);
		}else{
			int len = 1 + (seq * 37) % (int)sizeof(payload);
			/* Queued while the connection is down: MOSQ_ERR_NO_CONN. */
			int rc = mosquitto_publish(pub, NULL, topic, len, payload, 1 + seq % 2, false);
			CHECK(rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN, "publish: %d (%s)", rc, mosquitto_strerror(rc));
			bump(&sent);
			/* Not queued while down. */
			rc = mosquitto_publish(pub0, NULL, topic, len, payload, 0, false);
			if(rc == MOSQ_ERR_SUCCESS) bump(&sent0);
			else if(rc == MOSQ_ERR_NO_CONN) bump(&refused);
			else CHECK(0, "publish at QoS 0: %d (%s)", rc, mosquitto_strerror(rc));
			seq++;
		}
		if(now() >= next_stats){
			printf("stats t=%.0f sent=%d acked=%d sent_qos0=%d received=%d connects=%d qos0_refused=%d\n",
					now() - started, get(&sent), get(&acked), get(&sent0), get(&received), get(&connects), get(&refused));
			next_stats += 10;
		}
		if(get(&received) != last_received){
			last_received = get(&received);
			last_progress = now();
		}else if(now() - last_progress > 60){
			CHECK(0, "nothing arrived for 60 s");
			break;
		}
	}
	mosquitto_disconnect(pub);
	mosquitto_disconnect(pub0);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(pub, false);
	mosquitto_loop_stop(pub0, false);
	mosquitto_loop_stop(sub, false);
	mosquitto_destroy(pub);
	mosquitto_destroy(pub0);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	printf("result sent=%d acked=%d sent_qos0=%d received=%d connects=%d qos0_refused=%d seconds=%.0f\n",
			get(&sent), get(&acked), get(&sent0), get(&received), get(&connects), get(&refused), now() - started);
	return finish();
}
