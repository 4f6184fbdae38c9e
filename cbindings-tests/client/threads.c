/* Many threads publish through one client while loop_start's thread runs it: every
 * message arrives, each thread's messages in the order it published them, and
 * on_publish is called once per message.
 *
 *   threads PORT
 */
#include <pthread.h>

#include "check.h"

#define THREADS 8
#define PER_THREAD 500

static struct mosquitto *pub;
static char topic[64];
static int received = 0;
static int next_seq[THREADS];

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	int thread = -1, seq = -1;
	(void)mosq; (void)userdata;
	if(sscanf(msg->payload, "%d:%d", &thread, &seq) != 2 || thread < 0 || thread >= THREADS){
		CHECK(0, "payload %.*s", msg->payloadlen, (char *)msg->payload);
		return;
	}
	CHECK(seq == next_seq[thread], "thread %d: message %d, expected %d", thread, seq, next_seq[thread]);
	next_seq[thread] = seq + 1;
	bump(&received);
}

static void *publisher(void *arg)
{
	int thread = (int)(long)arg;
	for(int i = 0; i < PER_THREAD; i++){
		char payload[32];
		int len = snprintf(payload, sizeof(payload), "%d:%d", thread, i);
		int rc = mosquitto_publish(pub, NULL, topic, len, payload, 1, false);
		CHECK(rc == MOSQ_ERR_SUCCESS, "thread %d message %d: %s", thread, i, mosquitto_strerror(rc));
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	struct mosquitto *sub;
	pthread_t threads[THREADS];
	int port;

	print_loaded();
	if(argc != 2) return 2;
	port = atoi(argv[1]);
	snprintf(topic, sizeof(topic), "skeeter/threads/%d", (int)getpid());
	mosquitto_lib_init();
	sub = start_client(port, on_message);
	pub = start_client(port, on_message);
	CHECK(wait_for(&connected, 2, 20), "not connected");
	CHECK_RC(mosquitto_subscribe(sub, NULL, topic, 1), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&subscribed, 1, 20), "not subscribed");

	for(long i = 0; i < THREADS; i++){
		pthread_create(&threads[i], NULL, publisher, (void *)i);
	}
	for(int i = 0; i < THREADS; i++){
		pthread_join(threads[i], NULL);
	}
	CHECK(wait_for(&received, THREADS * PER_THREAD, 30), "received %d of %d", get(&received), THREADS * PER_THREAD);
	CHECK(wait_for(&published, THREADS * PER_THREAD, 10), "on_publish called %d times for %d", get(&published), THREADS * PER_THREAD);
	usleep(100 * 1000);
	CHECK(get(&received) == THREADS * PER_THREAD, "received %d, more than sent", get(&received));

	mosquitto_disconnect(pub);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(pub, false);
	mosquitto_loop_stop(sub, false);
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	return finish();
}
