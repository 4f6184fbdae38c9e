/* Delivery through faults: N QoS 1 and N QoS 2 messages from one client to another,
 * both with clean_session false and automatic reconnect, while the test cuts the
 * connections and restarts the broker under them (tests/faults.rs).
 *
 *   delivery PORT N MODE MILESTONES KEEPALIVE DONE_FILE
 *
 * MODE is "forever" (a thread per client in mosquitto_loop_forever) or "start"
 * (mosquitto_loop_start). Prints "ready" once the subscriber is subscribed, then
 * "milestone K reached" each time the count of distinct messages received passes
 * K * 2N / (MILESTONES + 2): the test injects its K-th fault there. Ends when every
 * message was acknowledged to the publisher and received and the test has made
 * DONE_FILE (its faults are over), and prints "result ..." with the counts.
 *
 * Checked here: each QoS 1 message arrives at least once, each QoS 2 message at
 * least once. Each QoS 2 duplicate is printed ("duplicate QoS 2 message SEQ mid
 * MID") for the test to hold against the broker's log, and messages whose first
 * arrival is out of order are counted: see tests/faults.rs for why both are
 * mosquitto 2.0.11's doing.
 */
#include <pthread.h>

#include "../client/check.h"

#define WINDOW 400
/* Give up after this long without progress. */
#define STALL_SECONDS 120.0

static int port, total, milestones, keepalive;
static const char *mode;
static char topic1[96], topic2[96], filter[96];
static char pub_id[64], sub_id[64];
static struct mosquitto *pub, *sub;

/* Subscriber state, touched only on the subscriber's loop thread. */
static unsigned char *seen[3];
static int next_first[3];
/* Shared counters (atomics). */
static int received[3], duplicates[3], out_of_order[3], wrong_qos = 0;
static int distinct = 0, milestone = 0, acked = 0;
static int pub_connects = 0, sub_connects = 0, sub_ready = 0;
static int pub_disconnects = 0, sub_disconnects = 0, publish_errors = 0;
/* 1 while connected (set by on_connect, cleared by on_disconnect). */
static int pub_up = 0, sub_up = 0;

static void on_sub_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	if(rc != 0){
		printf("subscriber connect refused: %d\n", rc);
		return;
	}
	bump(&sub_connects);
	set(&sub_up, 1);
	/* The session keeps the subscription; subscribing again does no harm. */
	CHECK_RC(mosquitto_subscribe(mosq, NULL, filter, 2), MOSQ_ERR_SUCCESS);
}

static void on_sub_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)mosq; (void)userdata; (void)mid;
	CHECK(count == 1 && granted[0] == 2, "granted %d", count ? granted[0] : -1);
	if(!get(&sub_ready)){
		set(&sub_ready, 1);
		printf("ready\n");
	}
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata; (void)rc;
	set(mosq == pub ? &pub_up : &sub_up, 0);
	bump(mosq == pub ? &pub_disconnects : &sub_disconnects);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	int qos, seq;
	char digits[16];
	(void)mosq; (void)userdata;
	if(!strcmp(msg->topic, topic1)) qos = 1;
	else if(!strcmp(msg->topic, topic2)) qos = 2;
	else { CHECK(0, "unexpected topic %s", msg->topic); return; }
	if(msg->qos != qos) bump(&wrong_qos);
	if(msg->payloadlen <= 0 || msg->payloadlen >= (int)sizeof(digits)){
		CHECK(0, "payload length %d", msg->payloadlen);
		return;
	}
	memcpy(digits, msg->payload, (size_t)msg->payloadlen);
	digits[msg->payloadlen] = '\0';
	seq = atoi(digits);
	if(seq < 0 || seq >= total){
		CHECK(0, "sequence %d", seq);
		return;
	}
	bump(&received[qos]);
	if(seen[qos][seq]){
		bump(&duplicates[qos]);
		if(qos == 2){
			/* The test holds each against the broker's log. */
			printf("duplicate QoS 2 message %d mid %d\n", seq, msg->mid);
		}
		return;
	}
	seen[qos][seq] = 1;
	if(seq != next_first[qos]){
		if(bump(&out_of_order[qos]) <= 5){
			printf("QoS %d: message %d (mid %d) arrived first where %d was next\n", qos, seq, msg->mid, next_first[qos]);
		}
	}
	next_first[qos] = seq + 1;
	int d = bump(&distinct);
	int m = get(&milestone);
	if(m < milestones && d >= (long)(m + 1) * 2 * total / (milestones + 2)){
		set(&milestone, m + 1);
		printf("milestone %d reached\n", m + 1);
	}
}

/* A resumed session is what this test is about: count the connections that
 * did not resume one (after the first). */
static int fresh_sessions = 0;

static void on_connect_flags(struct mosquitto *mosq, void *userdata, int rc, int flags)
{
	(void)userdata;
	if(rc == 0 && !(flags & 1) && get(mosq == pub ? &pub_connects : &sub_connects) > 1){
		if(bump(&fresh_sessions) <= 5){
			printf("%s: the broker did not resume the session\n", mosq == pub ? "publisher" : "subscriber");
		}
	}
}

static void on_pub_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	if(rc == 0){
		bump(&pub_connects);
		set(&pub_up, 1);
	}
	else printf("publisher connect refused: %d\n", rc);
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata; (void)mid;
	bump(&acked);
}

static void *run_forever(void *arg)
{
	struct mosquitto *mosq = arg;
	int rc = mosquitto_loop_forever(mosq, -1, 1);
	CHECK(rc == MOSQ_ERR_SUCCESS, "loop_forever: %d (%s)", rc, mosquitto_strerror(rc));
	return NULL;
}

static struct mosquitto *client(const char *id)
{
	struct mosquitto *mosq = mosquitto_new(id, false, NULL);
	CHECK(mosq != NULL, "mosquitto_new");
	CHECK_RC(mosquitto_reconnect_delay_set(mosq, 1, 1, false), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_max_inflight_messages_set(mosq, 100), MOSQ_ERR_SUCCESS);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_connect_with_flags_callback_set(mosq, on_connect_flags);
	return mosq;
}

static void start(struct mosquitto *mosq, pthread_t *thread)
{
	/* The first connect may meet a cut too: retry it. */
	double deadline = now() + 30;
	int rc;
	while((rc = mosquitto_connect(mosq, "127.0.0.1", port, keepalive)) != MOSQ_ERR_SUCCESS){
		if(now() > deadline){
			CHECK(0, "connect: %d (%s)", rc, mosquitto_strerror(rc));
			exit(finish());
		}
		usleep(100000);
	}
	if(!strcmp(mode, "forever")){
		CHECK(pthread_create(thread, NULL, run_forever, mosq) == 0, "pthread_create");
	}else{
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	}
}

static void stop(struct mosquitto *mosq, pthread_t thread)
{
	/* The last fault may still be healing: wait for the reconnection. (A
	 * disconnect while the link is down would end loop_forever for good.) */
	CHECK(wait_for(mosq == pub ? &pub_up : &sub_up, 1, 30), "not connected at the end");
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	if(!strcmp(mode, "forever")){
		pthread_join(thread, NULL);
	}else{
		CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
	}
}

static void publish_one(const char *topic, int qos, int seq)
{
	char payload[16];
	int len = snprintf(payload, sizeof(payload), "%d", seq);
	int rc = mosquitto_publish(pub, NULL, topic, len, payload, qos, false);
	/* While the connection is down the message is queued and the call says
	 * MOSQ_ERR_NO_CONN, as libmosquitto's does. */
	if(rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN){
		if(bump(&publish_errors) <= 5){
			printf("FAIL publish %d at QoS %d: %d (%s)\n", seq, qos, rc, mosquitto_strerror(rc));
		}
	}
	bump(&published);
}

int main(int argc, char *argv[])
{
	pthread_t pub_thread = 0, sub_thread = 0;
	double started, last_progress;
	int last_acked = -1, last_distinct = -1;

	print_loaded();
	if(argc != 7) return 2;
	port = atoi(argv[1]);
	total = atoi(argv[2]);
	mode = argv[3];
	milestones = atoi(argv[4]);
	keepalive = atoi(argv[5]);
	seen[1] = calloc((size_t)total, 1);
	seen[2] = calloc((size_t)total, 1);
	snprintf(topic1, sizeof(topic1), "skeeter/faults/%d/q1", (int)getpid());
	snprintf(topic2, sizeof(topic2), "skeeter/faults/%d/q2", (int)getpid());
	snprintf(filter, sizeof(filter), "skeeter/faults/%d/+", (int)getpid());
	snprintf(pub_id, sizeof(pub_id), "skeeter-faults-pub-%d", (int)getpid());
	snprintf(sub_id, sizeof(sub_id), "skeeter-faults-sub-%d", (int)getpid());

	mosquitto_lib_init();
	sub = client(sub_id);
	mosquitto_connect_callback_set(sub, on_sub_connect);
	mosquitto_subscribe_callback_set(sub, on_sub_subscribe);
	mosquitto_message_callback_set(sub, on_message);
	start(sub, &sub_thread);
	if(!wait_for(&sub_ready, 1, 30)){
		CHECK(0, "the subscriber never subscribed");
		return finish();
	}

	pub = client(pub_id);
	mosquitto_connect_callback_set(pub, on_pub_connect);
	mosquitto_publish_callback_set(pub, on_publish);
	start(pub, &pub_thread);

	started = last_progress = now();
	for(int seq = 0; seq < total; seq++){
		while(get(&published) - get(&acked) >= WINDOW) usleep(200);
		publish_one(topic1, 1, seq);
		publish_one(topic2, 2, seq);
	}
	/* Wait for every acknowledgement and every message, while there is progress. */
	while(get(&acked) < 2 * total || get(&distinct) < 2 * total){
		if(get(&acked) != last_acked || get(&distinct) != last_distinct){
			last_acked = get(&acked);
			last_distinct = get(&distinct);
			last_progress = now();
		}else if(now() - last_progress > STALL_SECONDS){
			CHECK(0, "no progress for %.0f s: acked %d, received %d of %d", STALL_SECONDS,
					get(&acked), get(&distinct), 2 * total);
			break;
		}
		usleep(10000);
	}
	while(access(argv[6], F_OK) != 0) usleep(10000);
	/* Late duplicates would arrive now. */
	usleep(300000);
	stop(pub, pub_thread);
	stop(sub, sub_thread);

	/* QoS 2 duplicates are checked by the test against the broker's log, and the
	 * order is only reported (see tests/faults.rs). */
	CHECK(get(&wrong_qos) == 0, "%d messages at the wrong QoS", get(&wrong_qos));
	CHECK(get(&acked) == 2 * total, "acknowledged %d of %d", get(&acked), 2 * total);
	for(int qos = 1; qos <= 2; qos++){
		int missing = 0, first = -1;
		for(int seq = 0; seq < total; seq++){
			if(!seen[qos][seq]){
				if(first < 0) first = seq;
				missing++;
			}
		}
		CHECK(missing == 0, "QoS %d: %d messages never arrived (the first: %d)", qos, missing, first);
	}
	printf("result sent_q1=%d sent_q2=%d acked=%d received_q1=%d received_q2=%d "
			"duplicates_q1=%d duplicates_q2=%d out_of_order_q1=%d out_of_order_q2=%d publisher_connects=%d "
			"subscriber_connects=%d publisher_disconnects=%d subscriber_disconnects=%d seconds=%.1f\n",
			total, total, get(&acked), get(&received[1]), get(&received[2]),
			get(&duplicates[1]), get(&duplicates[2]), get(&out_of_order[1]), get(&out_of_order[2]),
			get(&pub_connects), get(&sub_connects), get(&pub_disconnects),
			get(&sub_disconnects), now() - started);
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	free(seen[1]);
	free(seen[2]);
	return finish();
}
