/* A program that disconnects from inside on_publish and then leaves its loop,
 * as many do: it publishes from on_connect, calls mosquitto_disconnect() in
 * on_publish, and stops looping once on_publish has run. The DISCONNECT goes
 * out in that same loop call and on_disconnect(0) runs, so the broker does not
 * publish the client's will. A watcher client checks both.
 *
 *   disconnect_in_callback PORT loop|own-poll
 */
#include "check.h"

static char data_topic[64], will_topic[64];
static int run = 1, disconnected = 0, disconnect_rc = -1, data_seen = 0, will_seen = 0;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	CHECK_RC(mosquitto_publish(mosq, NULL, data_topic, 5, "hello", 0, false), MOSQ_ERR_SUCCESS);
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)userdata; (void)mid;
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	run = 0;
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	disconnect_rc = rc;
	bump(&disconnected);
}

static void on_watch(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata;
	if(!strcmp(msg->topic, will_topic)) bump(&will_seen);
	if(!strcmp(msg->topic, data_topic)) bump(&data_seen);
}

/* The program's own poll loop, one round: loop_read, loop_write, loop_misc. */
static int own_poll_once(struct mosquitto *mosq)
{
	struct pollfd pfd = { .fd = mosquitto_socket(mosq), .events = POLLIN };
	int rc = MOSQ_ERR_SUCCESS;
	if(pfd.fd < 0) return MOSQ_ERR_NO_CONN;
	if(mosquitto_want_write(mosq)) pfd.events |= POLLOUT;
	if(poll(&pfd, 1, 100) < 0) return MOSQ_ERR_ERRNO;
	if(pfd.revents & (POLLIN | POLLHUP | POLLERR)) rc = mosquitto_loop_read(mosq, 1);
	if(rc == MOSQ_ERR_SUCCESS && (pfd.revents & POLLOUT)) rc = mosquitto_loop_write(mosq, 1);
	if(rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(mosq);
	return rc;
}

int main(int argc, char *argv[])
{
	struct mosquitto *watcher, *mosq;
	int port;
	double deadline;

	print_loaded();
	if(argc != 3) return 2;
	port = atoi(argv[1]);
	snprintf(data_topic, sizeof(data_topic), "skeeter/dic/%d/data", (int)getpid());
	snprintf(will_topic, sizeof(will_topic), "skeeter/dic/%d/will", (int)getpid());
	mosquitto_lib_init();

	watcher = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(watcher, count_connect);
	mosquitto_subscribe_callback_set(watcher, count_subscribe);
	mosquitto_message_callback_set(watcher, on_watch);
	CHECK_RC(mosquitto_connect(watcher, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(watcher), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&connected, 1, 20), "the watcher did not connect");
	CHECK_RC(mosquitto_subscribe(watcher, NULL, "skeeter/dic/#", 0), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&subscribed, 1, 20), "the watcher did not subscribe");

	mosq = mosquitto_new(NULL, true, NULL);
	CHECK_RC(mosquitto_will_set(mosq, will_topic, 4, "gone", 0, false), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_publish_callback_set(mosq, on_publish);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	deadline = now() + 20;
	while(run && now() < deadline){
		int rc = strcmp(argv[2], "own-poll") ? mosquitto_loop(mosq, 100, 1) : own_poll_once(mosq);
		/* loop_misc after the DISCONNECT went out finds no connection. */
		if(rc == MOSQ_ERR_NO_CONN && !run) break;
		CHECK(rc == MOSQ_ERR_SUCCESS, "loop %d (%s)", rc, mosquitto_strerror(rc));
		if(rc != MOSQ_ERR_SUCCESS) break;
	}
	CHECK(!run, "on_publish was not called");
	/* The program leaves its loop here: no more loop calls. */
	CHECK(get(&disconnected) == 1, "on_disconnect ran %d times before the loop call returned", get(&disconnected));
	CHECK(disconnect_rc == 0, "on_disconnect rc %d", disconnect_rc);
	mosquitto_destroy(mosq);

	CHECK(wait_for(&data_seen, 1, 10), "the message did not arrive");
	usleep(1000 * 1000); /* a will would arrive by now */
	CHECK(get(&will_seen) == 0, "the broker published the will: the client closed without DISCONNECT");
	mosquitto_disconnect(watcher);
	mosquitto_loop_stop(watcher, false);
	mosquitto_destroy(watcher);
	mosquitto_lib_cleanup();
	return finish();
}
