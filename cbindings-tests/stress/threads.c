/* Threads racing on one client while loop_start's thread runs it, then destroy
 * racing with the loop thread (tests/threads_stress.rs; also built with
 * -fsanitize=thread by scripts/tsan.sh).
 *
 *   threads PORT SECONDS
 *
 * Phase 1, for SECONDS: WORKERS threads publish at QoS 0, 1 and 2, subscribe and
 * unsubscribe, and swap every callback (to another function, or NULL), while one
 * more thread disconnects and reconnects (disconnect, loop_stop, reconnect,
 * loop_start; or a forced loop_stop and reconnect) over and over. No call may
 * return anything but success or "not connected" (or INVAL for loop_start/stop
 * racing each other), and the client must still work afterwards: a final round
 * trip is checked.
 *
 * Phase 2: DESTROYS times, a client is made, connected, started, given messages to
 * deliver to a callback that dawdles, and destroyed without loop_stop while its
 * thread is busy.
 */
#include <pthread.h>

#include "../client/check.h"

#define WORKERS 6
#define DESTROYS 30

static int port, stop_workers = 0;
static char topic[64], filter[64];
static struct mosquitto *mosq;
static int messages_a = 0, messages_b = 0, connects = 0, subacks = 0, publishes = 0;
static int calls = 0, final_received = 0;

static void on_message_a(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
	(void)m; (void)u;
	if(msg->payloadlen == 5 && !memcmp(msg->payload, "final", 5)) bump(&final_received);
	bump(&messages_a);
}

static void on_message_b(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
	(void)m; (void)u;
	if(msg->payloadlen == 5 && !memcmp(msg->payload, "final", 5)) bump(&final_received);
	bump(&messages_b);
}

static void on_connect(struct mosquitto *m, void *u, int rc)
{
	(void)u;
	if(rc == 0){
		bump(&connects);
		/* A callback may call the API: subscribe from the loop thread. The
		 * workers may have taken every packet identifier (see below). */
		int src = mosquitto_subscribe(m, NULL, filter, 1);
		CHECK(src == MOSQ_ERR_SUCCESS || src == MOSQ_ERR_NO_CONN || src == MOSQ_ERR_NOMEM,
		      "subscribe in on_connect: %d", src);
	}
}

static void on_subscribe(struct mosquitto *m, void *u, int mid, int count, const int *granted)
{
	(void)m; (void)u; (void)mid; (void)count; (void)granted;
	bump(&subacks);
}

static void on_publish(struct mosquitto *m, void *u, int mid)
{
	(void)m; (void)u; (void)mid;
	bump(&publishes);
}

static void on_log(struct mosquitto *m, void *u, int level, const char *str)
{
	(void)m; (void)u; (void)level;
	CHECK(str != NULL, "log with NULL text");
}

#define ALLOWED(rc) ((rc) == MOSQ_ERR_SUCCESS || (rc) == MOSQ_ERR_NO_CONN)

/* Workers publish faster than the broker answers, and queue while the link is
 * down: once all 65,535 packet identifiers are taken, publish, subscribe and
 * unsubscribe (QoS 0 too: its mid must not be one in use) say MOSQ_ERR_NOMEM
 * until answers free some. */
static int out_of_ids = 0;

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(long)arg * 7919u + 1;
	char payload[32];
	while(!get(&stop_workers)){
		int op = (int)(rand_r(&seed) % 10), rc = MOSQ_ERR_SUCCESS;
		int len = snprintf(payload, sizeof(payload), "w%ld:%d", (long)arg, op);
		switch(op){
			case 0: case 1: case 2: case 3:
				rc = mosquitto_publish(mosq, NULL, topic, len, payload, op % 3, false);
				break;
			case 4:
				rc = mosquitto_subscribe(mosq, NULL, filter, (int)(seed % 3));
				break;
			case 5:
				rc = mosquitto_unsubscribe(mosq, NULL, "skeeter/stress/none");
				break;
			case 6:
				mosquitto_message_callback_set(mosq, (seed & 1) ? on_message_a : on_message_b);
				break;
			case 7:
				mosquitto_connect_callback_set(mosq, (seed & 1) ? on_connect : NULL);
				mosquitto_publish_callback_set(mosq, (seed & 2) ? on_publish : NULL);
				break;
			case 8:
				mosquitto_subscribe_callback_set(mosq, (seed & 1) ? on_subscribe : NULL);
				mosquitto_log_callback_set(mosq, (seed & 2) ? on_log : NULL);
				break;
			default:
				rc = mosquitto_publish(mosq, NULL, topic, 0, NULL, 1, false);
				break;
		}
		if(rc == MOSQ_ERR_NOMEM){
			bump(&out_of_ids);
			usleep(1000);
			continue;
		}
		CHECK(ALLOWED(rc), "worker op %d: %d (%s)", op, rc, mosquitto_strerror(rc));
		bump(&calls);
		if(op == 9) usleep(100);
	}
	return NULL;
}

static void *chaos(void *arg)
{
	int round = 0;
	(void)arg;
	while(!get(&stop_workers)){
		int rc;
		usleep(20000);
		if(round++ % 2 == 0){
			rc = mosquitto_disconnect(mosq);
			CHECK(ALLOWED(rc), "disconnect: %d", rc);
			rc = mosquitto_loop_stop(mosq, false);
			CHECK(rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_INVAL, "loop_stop: %d", rc);
		}else{
			rc = mosquitto_loop_stop(mosq, true);
			CHECK(rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_INVAL, "loop_stop(force): %d", rc);
		}
		rc = mosquitto_reconnect(mosq);
		CHECK(rc == MOSQ_ERR_SUCCESS, "reconnect: %d (%s)", rc, mosquitto_strerror(rc));
		rc = mosquitto_loop_start(mosq);
		CHECK(rc == MOSQ_ERR_SUCCESS, "loop_start: %d", rc);
	}
	return NULL;
}

static void phase_races(double seconds)
{
	pthread_t workers[WORKERS], chaos_thread;
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_message_callback_set(mosq, on_message_a);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	for(long i = 0; i < WORKERS; i++){
		pthread_create(&workers[i], NULL, worker, (void *)i);
	}
	pthread_create(&chaos_thread, NULL, chaos, NULL);
	usleep((useconds_t)(seconds * 1e6));
	set(&stop_workers, 1);
	for(int i = 0; i < WORKERS; i++){
		pthread_join(workers[i], NULL);
	}
	pthread_join(chaos_thread, NULL);

	/* The client still works: a round trip with settled callbacks. */
	mosquitto_message_callback_set(mosq, on_message_a);
	mosquitto_connect_callback_set(mosq, on_connect);
	int before = get(&subacks);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	double deadline = now() + 20;
	int rc;
	while(((rc = mosquitto_subscribe(mosq, NULL, filter, 1)) == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_NOMEM)
			&& now() < deadline){
		usleep(10000);
	}
	CHECK_RC(rc, MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&subacks, before + 1, 20), "no SUBACK after the races");
	CHECK_RC(mosquitto_publish(mosq, NULL, topic, 5, "final", 1, false), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&final_received, 1, 20), "the final message never arrived");
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
	mosquitto_destroy(mosq);
	printf("races: %d calls, %d connects, %d messages, %d on_publish, %d out of packet ids\n",
			get(&calls), get(&connects), get(&messages_a) + get(&messages_b), get(&publishes),
			get(&out_of_ids));
}

static int slow_messages = 0;

static void on_message_slow(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
	(void)m; (void)u; (void)msg;
	bump(&slow_messages);
	usleep(2000);
}

static void phase_destroy(void)
{
	for(int i = 0; i < DESTROYS; i++){
		struct mosquitto *m = mosquitto_new(NULL, true, NULL);
		mosquitto_message_callback_set(m, on_message_slow);
		mosquitto_connect_callback_set(m, on_connect);
		CHECK_RC(mosquitto_connect(m, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
		for(int j = 0; j < 20; j++){
			mosquitto_publish(m, NULL, topic, 4, "busy", j % 3, false);
		}
		/* Destroy at a different moment each time: at once, or while the loop
		 * thread delivers to the slow callback. */
		usleep((useconds_t)(i % 5) * 3000);
		mosquitto_destroy(m);
	}
	printf("destroys: %d, %d slow deliveries\n", DESTROYS, get(&slow_messages));
}

int main(int argc, char *argv[])
{
	print_loaded();
	if(argc != 3) return 2;
	port = atoi(argv[1]);
	snprintf(topic, sizeof(topic), "skeeter/stress/%d", (int)getpid());
	snprintf(filter, sizeof(filter), "skeeter/stress/%d", (int)getpid());
	mosquitto_lib_init();
	phase_races(atof(argv[2]));
	phase_destroy();
	mosquitto_lib_cleanup();
	return finish();
}
