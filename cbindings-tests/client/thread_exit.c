/* A callback may end its thread: pthread_exit() inside on_message, or a
 * pthread_cancel() that finds the thread inside a callback (or waiting in the
 * loop). The thread ends, the process goes on, and the client can still be
 * stopped and destroyed. Python does this to a thread that calls back into the
 * interpreter while it shuts down.
 *
 *   thread_exit PORT MODE
 *
 * MODE: loop-start-exit   pthread_exit in on_message on the loop_start thread
 *       forever-exit      pthread_exit in on_message, in loop_forever on our thread
 *       loop-exit         pthread_exit in on_message, in mosquitto_loop on our thread
 *       forever-cancel    pthread_cancel while on_message sleeps, in loop_forever
 *       idle-cancel       pthread_cancel while loop_forever waits for traffic
 *       loop-start-again  (skeeter) loop-start-exit, then loop_start again and
 *                         another message arrives
 */
#include <pthread.h>

#include "check.h"

static char topic[64];
static int received = 0, exiting = 0, subscribed_now = 0;
static const char *mode;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	CHECK_RC(mosquitto_subscribe(mosq, NULL, topic, 1), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)mosq; (void)userdata; (void)mid; (void)count; (void)granted;
	bump(&subscribed_now);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata; (void)msg;
	if(bump(&received) > 1) return; /* after loop_start again */
	set(&exiting, 1);
	if(strstr(mode, "cancel")){
		sleep(30); /* a cancellation point: the cancel ends the thread here */
		CHECK(0, "the cancel did not end the thread");
		return;
	}
	pthread_exit(NULL);
}

static void *run_loop_forever(void *arg)
{
	mosquitto_loop_forever(arg, -1, 1);
	CHECK(0, "loop_forever returned: the thread should have ended inside it");
	return NULL;
}

static void *run_loop(void *arg)
{
	for(;;){
		int rc = mosquitto_loop(arg, 100, 1);
		CHECK(rc == MOSQ_ERR_SUCCESS, "mosquitto_loop %d", rc);
		if(rc != MOSQ_ERR_SUCCESS) return NULL;
	}
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	pthread_t thread;
	void *thread_result = NULL;
	bool own_thread;

	print_loaded();
	if(argc != 3) return 2;
	mode = argv[2];
	own_thread = strncmp(mode, "loop-start", 10) != 0;
	snprintf(topic, sizeof(topic), "skeeter/thread_exit/%d", (int)getpid());
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_callback_set(mosq, on_message);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	if(own_thread){
		void *(*body)(void *) = strcmp(mode, "loop-exit") ? run_loop_forever : run_loop;
		CHECK(pthread_create(&thread, NULL, body, mosq) == 0, "pthread_create");
	}else{
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	}
	CHECK(wait_for(&subscribed_now, 1, 20), "no SUBACK");

	if(!strcmp(mode, "idle-cancel")){
		usleep(200 * 1000); /* the thread now waits in the loop for traffic */
		CHECK(pthread_cancel(thread) == 0, "pthread_cancel");
		CHECK(pthread_join(thread, &thread_result) == 0, "pthread_join");
		CHECK(thread_result == PTHREAD_CANCELED, "the thread was not cancelled");
	}else{
		/* A second client sends the message that ends the thread. */
		struct mosquitto *sender = mosquitto_new(NULL, true, NULL);
		mosquitto_connect_callback_set(sender, count_connect);
		CHECK_RC(mosquitto_connect(sender, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
		CHECK(loop_until(sender, &connected, 1, 20), "the sender did not connect");
		CHECK_RC(mosquitto_publish(sender, NULL, topic, 3, "end", 1, false), MOSQ_ERR_SUCCESS);
		CHECK(loop_until(sender, &exiting, 1, 20), "no message");
		if(!strcmp(mode, "forever-cancel")){
			CHECK(pthread_cancel(thread) == 0, "pthread_cancel");
		}
		if(own_thread){
			void *want = strstr(mode, "cancel") ? PTHREAD_CANCELED : NULL;
			thread_result = (void *)1;
			CHECK(pthread_join(thread, &thread_result) == 0, "pthread_join");
			CHECK(thread_result == want, "the thread ended with %p, not %p", thread_result, want);
		}else{
			usleep(200 * 1000); /* the loop_start thread ends */
		}
		if(!strcmp(mode, "loop-start-again")){
			/* The client is whole: its loop starts again and calls back. */
			CHECK_RC(mosquitto_loop_stop(mosq, true), MOSQ_ERR_SUCCESS);
			CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
			CHECK_RC(mosquitto_publish(sender, NULL, topic, 5, "again", 1, false), MOSQ_ERR_SUCCESS);
			CHECK(loop_until(sender, &received, 2, 20), "no message after loop_start again");
		}
		mosquitto_loop(sender, 10, 1);
		mosquitto_destroy(sender);
	}
	if(!own_thread){
		CHECK_RC(mosquitto_loop_stop(mosq, true), MOSQ_ERR_SUCCESS);
	}
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	printf("the process goes on\n");
	return finish();
}
