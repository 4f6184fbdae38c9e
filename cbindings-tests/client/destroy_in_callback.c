/* A program that destroys its client from inside on_message, while more
 * messages for it are already on the way, as a binding may do when its garbage
 * collector runs a finalizer on the loop thread (pymosquitto's __del__ calls
 * mosquitto_destroy). No callback may run after mosquitto_destroy, and the loop
 * that called back must end without touching the freed client.
 *
 *   destroy_in_callback PORT loop-start|forever
 */
#include "check.h"

#define MESSAGES 200

static char topic[64];
static int destroyed = 0, after_destroy = 0, forever_rc = -1;

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)userdata; (void)msg;
	if(get(&destroyed)){
		bump(&after_destroy);
		return;
	}
	mosquitto_destroy(mosq);
	set(&destroyed, 1);
}

static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *line)
{
	(void)userdata; (void)level; (void)line;
	if(get(&destroyed)){
		bump(&after_destroy);
		return;
	}
	mosquitto_destroy(mosq);
	set(&destroyed, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata; (void)rc;
	if(get(&destroyed)) bump(&after_destroy);
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata; (void)mid;
	if(get(&destroyed)) bump(&after_destroy);
}

/* Fills the subscription so that many messages are in flight to the client. */
static void publish_burst(int port)
{
	struct mosquitto *pub = mosquitto_new(NULL, true, NULL);
	int i;
	CHECK_RC(mosquitto_connect(pub, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	for(i = 0; i < MESSAGES; i++){
		CHECK_RC(mosquitto_publish(pub, NULL, topic, 5, "hello", 0, false), MOSQ_ERR_SUCCESS);
	}
	CHECK_RC(mosquitto_disconnect(pub), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_forever(pub, 100, 1), MOSQ_ERR_SUCCESS);
	mosquitto_destroy(pub);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	int port, forever, disconnect;

	print_loaded();
	if(argc != 3) return 2;
	port = atoi(argv[1]);
	forever = !strcmp(argv[2], "forever");
	disconnect = !strcmp(argv[2], "disconnect");
	snprintf(topic, sizeof(topic), "skeeter/destroy/%d", (int)getpid());
	mosquitto_lib_init();

	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, count_connect);
	mosquitto_subscribe_callback_set(mosq, count_subscribe);
	mosquitto_message_callback_set(mosq, on_message);
	mosquitto_publish_callback_set(mosq, on_publish);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_subscribe(mosq, NULL, topic, 0), MOSQ_ERR_SUCCESS);
	while(get(&subscribed) < 1 && mosquitto_loop(mosq, 100, 1) == MOSQ_ERR_SUCCESS);
	CHECK(get(&subscribed) == 1, "no SUBACK");

	if(disconnect){
		mosquitto_disconnect_callback_set(mosq, on_disconnect);
		mosquitto_log_callback_set(mosq, on_log);
		mosquitto_disconnect(mosq);
		CHECK(get(&destroyed), "no log line from mosquitto_disconnect");
		CHECK(get(&after_destroy) == 0, "%d callbacks after mosquitto_destroy", get(&after_destroy));
		mosquitto_lib_cleanup();
		if(check_failures == 0) printf("no callback after mosquitto_destroy\n");
		return check_failures ? 1 : 0;
	}
	/* Messages for the client wait in its socket before its loop reads them. */
	publish_burst(port);
	if(forever){
		forever_rc = mosquitto_loop_forever(mosq, 1000, 1);
		CHECK(get(&destroyed), "loop_forever returned %d before on_message", forever_rc);
	}else{
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&destroyed, 1, 20), "no on_message");
		/* Time for a loop that went on to call back or crash. */
		usleep(300 * 1000);
	}
	CHECK(get(&after_destroy) == 0, "%d callbacks after mosquitto_destroy", get(&after_destroy));
	mosquitto_lib_cleanup();
	if(check_failures == 0) printf("no callback after mosquitto_destroy\n");
	return check_failures ? 1 : 0;
}
