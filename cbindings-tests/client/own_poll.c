/* Driving the client from the program's own poll() loop: mosquitto_socket,
 * mosquitto_want_write, mosquitto_loop_read, mosquitto_loop_write and
 * mosquitto_loop_misc, for a QoS 0/1/2 round trip to ourselves.
 *
 *   own_poll PORT
 */
#include "check.h"

static char topic[64];
static int received = 0, disconnected = 0;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	bump(&connected);
	CHECK_RC(mosquitto_subscribe(mosq, NULL, topic, 2), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)userdata; (void)mid; (void)count; (void)granted;
	bump(&subscribed);
	for(int qos = 0; qos <= 2; qos++){
		char payload[8];
		int len = snprintf(payload, sizeof(payload), "q%d", qos);
		CHECK_RC(mosquitto_publish(mosq, NULL, topic, len, payload, qos, false), MOSQ_ERR_SUCCESS);
	}
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)userdata; (void)msg;
	if(bump(&received) == 3){
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	}
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	CHECK(rc == 0, "on_disconnect rc %d", rc);
	bump(&disconnected);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;

	print_loaded();
	if(argc != 2) return 2;
	snprintf(topic, sizeof(topic), "skeeter/poll/%d", (int)getpid());
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_publish_callback_set(mosq, count_publish);
	mosquitto_message_callback_set(mosq, on_message);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);

	CHECK(own_poll_until(mosq, &disconnected, 1, 20), "no disconnect within 20 s");
	CHECK(get(&received) == 3, "received %d of 3", get(&received));
	CHECK(get(&published) == 3, "on_publish called %d times", get(&published));
	CHECK(get(&disconnected) == 1, "on_disconnect called %d times", get(&disconnected));
	CHECK(mosquitto_socket(mosq) == -1, "socket %d after the disconnect", mosquitto_socket(mosq));
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
