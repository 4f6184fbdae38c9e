/* The thread rules of the API, each in one mode:
 *
 *   thread_rules PORT stop-in-callback [strict]
 *       on_connect, on the loop_start thread, calls mosquitto_loop_stop(false): it
 *       returns MOSQ_ERR_SUCCESS at once, and loop_start works again afterwards.
 *       With "strict", also checks that the thread really ended once the callback
 *       returned (nothing is sent until loop_start runs again); libmosquitto
 *       leaves the thread running, so the test passes "strict" only to skeeter.
 *   thread_rules PORT disconnect-from-thread
 *       loop_forever runs on the main thread; another thread calls
 *       mosquitto_disconnect, and loop_forever returns MOSQ_ERR_SUCCESS promptly.
 *       The program says it uses threads (threaded_set), as libmosquitto requires:
 *       without it, libmosquitto writes from both threads at once.
 *   thread_rules PORT own-thread-loop
 *       threaded_set(true); a thread of the program's own drives mosquitto_loop
 *       while the main thread publishes QoS 1 messages to itself, which all arrive.
 */
#include <pthread.h>

#include "check.h"

#define MESSAGES 200

static struct mosquitto *mosq;
static char topic[64];
static int disconnected = 0, disconnect_rc = -1;
static int received = 0, stop_rc = -1, stop_called = 0, quit = 0;

static void on_connect(struct mosquitto *m, void *userdata, int rc)
{
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	if(bump(&connected) == 1 && get(&stop_called) == 0 && !strcmp((char *)userdata, "stop-in-callback")){
		set(&stop_rc, mosquitto_loop_stop(m, false));
		set(&stop_called, 1);
	}
}

static void on_disconnect(struct mosquitto *m, void *userdata, int rc)
{
	(void)m; (void)userdata;
	set(&disconnect_rc, rc);
	bump(&disconnected);
}

static void on_publish(struct mosquitto *m, void *userdata, int mid)
{
	(void)m; (void)userdata; (void)mid;
	bump(&published);
}

static void on_subscribe(struct mosquitto *m, void *userdata, int mid, int count, const int *granted)
{
	(void)m; (void)userdata; (void)mid; (void)count; (void)granted;
	bump(&subscribed);
}

static void on_message(struct mosquitto *m, void *userdata, const struct mosquitto_message *msg)
{
	(void)m; (void)userdata; (void)msg;
	bump(&received);
}

static void *disconnect_later(void *arg)
{
	double *when = arg;
	CHECK(wait_for(&connected, 1, 20), "not connected");
	usleep(100 * 1000);
	*when = now();
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	return NULL;
}

static void *drive_loop(void *arg)
{
	(void)arg;
	while(!get(&quit)){
		int rc = mosquitto_loop(mosq, 50, 1);
		if(rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN){
			printf("mosquitto_loop: %s\n", mosquitto_strerror(rc));
		}
		if(rc == MOSQ_ERR_NO_CONN){
			usleep(10 * 1000);
		}
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	const char *mode;
	int port;
	bool strict;

	print_loaded();
	if(argc < 3) return 2;
	port = atoi(argv[1]);
	mode = argv[2];
	strict = argc > 3 && !strcmp(argv[3], "strict");
	snprintf(topic, sizeof(topic), "skeeter/thread_rules/%d", (int)getpid());
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, (void *)mode);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_publish_callback_set(mosq, on_publish);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_callback_set(mosq, on_message);

	if(!strcmp(mode, "stop-in-callback")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&stop_called, 1, 20), "on_connect did not return from loop_stop");
		CHECK(get(&stop_rc) == MOSQ_ERR_SUCCESS, "loop_stop in the callback: %d", get(&stop_rc));
		if(strict){
			usleep(200 * 1000);
			CHECK_RC(mosquitto_publish(mosq, NULL, topic, 1, "x", 1, false), MOSQ_ERR_SUCCESS);
			usleep(500 * 1000);
			CHECK(get(&published) == 0, "the loop thread still runs: a message was acknowledged");
			CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
			CHECK(wait_for(&published, 1, 20), "no on_publish after loop_start again");
		}else{
			/* libmosquitto's thread keeps running; just use it. */
			CHECK_RC(mosquitto_publish(mosq, NULL, topic, 1, "x", 1, false), MOSQ_ERR_SUCCESS);
			CHECK(wait_for(&published, 1, 20), "no on_publish");
		}
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&disconnected, 1, 20), "no on_disconnect");
		mosquitto_loop_stop(mosq, true);
	}else if(!strcmp(mode, "disconnect-from-thread")){
		pthread_t thread;
		double asked = 0;
		int rc;
		CHECK_RC(mosquitto_threaded_set(mosq, true), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		pthread_create(&thread, NULL, disconnect_later, &asked);
		rc = mosquitto_loop_forever(mosq, -1, 1);
		CHECK(rc == MOSQ_ERR_SUCCESS, "loop_forever returned %d (%s)", rc, mosquitto_strerror(rc));
		CHECK(asked > 0 && now() - asked < 5, "loop_forever returned %.1f s after the disconnect", now() - asked);
		pthread_join(thread, NULL);
		CHECK(get(&disconnected) == 1, "on_disconnect called %d times", get(&disconnected));
		CHECK(get(&disconnect_rc) == 0, "on_disconnect rc %d", get(&disconnect_rc));
	}else if(!strcmp(mode, "own-thread-loop")){
		pthread_t thread;
		CHECK_RC(mosquitto_threaded_set(mosq, true), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		pthread_create(&thread, NULL, drive_loop, NULL);
		CHECK(wait_for(&connected, 1, 20), "not connected");
		CHECK_RC(mosquitto_subscribe(mosq, NULL, topic, 1), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&subscribed, 1, 20), "not subscribed");
		for(int i = 0; i < MESSAGES; i++){
			char payload[16];
			int len = snprintf(payload, sizeof(payload), "%d", i);
			CHECK_RC(mosquitto_publish(mosq, NULL, topic, len, payload, 1, false), MOSQ_ERR_SUCCESS);
		}
		CHECK(wait_for(&published, MESSAGES, 30), "%d of %d published", get(&published), MESSAGES);
		CHECK(wait_for(&received, MESSAGES, 30), "%d of %d received", get(&received), MESSAGES);
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&disconnected, 1, 20), "no on_disconnect");
		set(&quit, 1);
		pthread_join(thread, NULL);
	}else{
		return 2;
	}
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
