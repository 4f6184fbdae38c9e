/* A thread with a cancel pending publishes: the cancel must not act inside the
 * library. The thread (deferred cancellation, the default) cancels itself, then
 * makes QoS 0 publishes in loop mode, each written at once and reported by
 * on_publish before the call returns; every call returns MOSQ_ERR_SUCCESS, and
 * the cancel acts at the thread's next cancellation point, its own
 * pthread_testcancel. The client stays whole: the messages arrive, and the main
 * thread publishes again.
 *
 *   publish_cancel PORT
 */
#include <pthread.h>

#include "check.h"

#define COUNT 3

static char topic[64];
static int received = 0;
static int results[COUNT];
static int published_before_cancel = -1;

static void count_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata; (void)msg;
	bump(&received);
}

/* No output here before the cancel acts: printf may be a cancellation point. */
static void *publish_cancelled(void *arg)
{
	struct mosquitto *mosq = arg;

	if(pthread_cancel(pthread_self()) != 0) return NULL;
	for(int i = 0; i < COUNT; i++){
		results[i] = mosquitto_publish(mosq, NULL, topic, 5, "hello", 0, false);
	}
	set(&published_before_cancel, get(&published));
	pthread_testcancel();
	return NULL; /* not cancelled: main sees NULL, not PTHREAD_CANCELED */
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	pthread_t thread;
	void *thread_result = NULL;

	print_loaded();
	if(argc != 2) return 2;
	snprintf(topic, sizeof(topic), "skeeter/publish_cancel/%d", (int)getpid());
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, count_connect);
	mosquitto_subscribe_callback_set(mosq, count_subscribe);
	mosquitto_publish_callback_set(mosq, count_publish);
	mosquitto_message_callback_set(mosq, count_message);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &connected, 1, 20), "no CONNACK");
	CHECK_RC(mosquitto_subscribe(mosq, NULL, topic, 0), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &subscribed, 1, 20), "no SUBACK");

	for(int i = 0; i < COUNT; i++) results[i] = -1;
	CHECK(pthread_create(&thread, NULL, publish_cancelled, mosq) == 0, "pthread_create");
	CHECK(pthread_join(thread, &thread_result) == 0, "pthread_join");
	CHECK(thread_result == PTHREAD_CANCELED, "the thread ended with %p, not cancelled", thread_result);
	for(int i = 0; i < COUNT; i++){
		CHECK(results[i] == MOSQ_ERR_SUCCESS, "publish %d returned %d", i, results[i]);
	}
	CHECK(get(&published_before_cancel) == COUNT, "%d on_publish before the cancel, not %d",
			get(&published_before_cancel), COUNT);

	CHECK(loop_until(mosq, &received, COUNT, 20), "%d of %d messages arrived", get(&received), COUNT);
	CHECK_RC(mosquitto_publish(mosq, NULL, topic, 5, "again", 0, false), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &received, COUNT + 1, 20), "the main thread's message did not arrive");
	mosquitto_disconnect(mosq);
	mosquitto_loop(mosq, 10, 1);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
