/* Callbacks may call the API: publish, subscribe, unsubscribe and disconnect from
 * inside callbacks (mode "api"), and the *_callback_set functions (mode "setters"),
 * on loop_start's thread, without deadlocking.
 *
 *   reenter PORT api|setters
 *
 * libmosquitto 2.0.11 holds a lock while calling a callback that *_callback_set
 * takes too, so "setters" deadlocks there (debian_known_bug). A failed wait exits
 * at once: a deadlocked thread cannot be stopped.
 */
#include "check.h"

static char topic[64];
static int received = 0, second_handler = 0, disconnected = 0, replaced_disconnect = 0;

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	CHECK(rc == 0, "on_disconnect rc %d", rc);
	bump(&disconnected);
}

static void on_disconnect_replaced(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata; (void)rc;
	bump(&replaced_disconnect);
	bump(&disconnected);
}

static void on_message_second(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)userdata; (void)msg;
	bump(&second_handler);
	mosquitto_disconnect_callback_set(mosq, on_disconnect_replaced);
	mosquitto_message_callback_set(mosq, NULL);
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	const char *mode = userdata;
	int n = bump(&received);
	(void)msg;
	if(!strcmp(mode, "setters")){
		/* Replace this very callback from inside it. */
		mosquitto_message_callback_set(mosq, on_message_second);
		CHECK_RC(mosquitto_publish(mosq, NULL, topic, 6, "second", 1, false), MOSQ_ERR_SUCCESS);
		return;
	}
	if(n < 3){
		CHECK_RC(mosquitto_publish(mosq, NULL, topic, 5, "again", 1, false), MOSQ_ERR_SUCCESS);
	}else{
		CHECK_RC(mosquitto_unsubscribe(mosq, NULL, topic), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	}
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)userdata; (void)mid; (void)count; (void)granted;
	bump(&subscribed);
	CHECK_RC(mosquitto_publish(mosq, NULL, topic, 5, "first", 1, false), MOSQ_ERR_SUCCESS);
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	const char *mode = userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	bump(&connected);
	if(!strcmp(mode, "setters")){
		mosquitto_subscribe_callback_set(mosq, on_subscribe);
		mosquitto_message_callback_set(mosq, on_message);
	}
	CHECK_RC(mosquitto_subscribe(mosq, NULL, topic, 1), MOSQ_ERR_SUCCESS);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	const char *mode;

	print_loaded();
	if(argc != 3) return 2;
	mode = argv[2];
	snprintf(topic, sizeof(topic), "skeeter/reenter/%d", (int)getpid());
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, (void *)mode);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	if(strcmp(mode, "setters")){
		mosquitto_subscribe_callback_set(mosq, on_subscribe);
		mosquitto_message_callback_set(mosq, on_message);
	}
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	if(!wait_for(&disconnected, 1, 20)){
		printf("FAIL: no disconnect within 20 s (connected %d, subscribed %d, received %d, second handler %d): deadlocked?\n",
				get(&connected), get(&subscribed), get(&received), get(&second_handler));
		fflush(stdout);
		_exit(1);
	}
	CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
	if(!strcmp(mode, "setters")){
		CHECK(get(&received) == 1 && get(&second_handler) == 1, "received %d by the first handler, %d by the second", get(&received), get(&second_handler));
		CHECK(get(&replaced_disconnect) == 1, "the replaced on_disconnect was not called");
	}else{
		CHECK(get(&received) == 3, "received %d", get(&received));
	}
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
