/* A will is published when its client vanishes without a DISCONNECT: a child process
 * connects with a will and is killed with SIGKILL; the parent, subscribed to the will
 * topic, receives it with its payload, QoS and properties.
 *
 *   will PORT 311|5
 */
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <mqtt_protocol.h>

#include "check.h"

static int received = 0;
static char will_topic[64];
static char got_payload[64];
static int got_qos = -1;
static char got_user_value[64];

static void child_connected(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq;
	if(rc == 0){
		int fd = *(int *)userdata;
		if(write(fd, "c", 1) != 1) _exit(3);
	}
}

/* The doomed client: connects with a will, reports, and waits to be killed. */
static void run_child(int port, bool v5, int ready_fd)
{
	struct mosquitto *mosq;
	mosquitto_property *props = NULL;

	prctl(PR_SET_PDEATHSIG, SIGKILL);  /* never outlive the test */
	mosquitto_lib_init();
	mosq = mosquitto_new("skeeter-will-child", true, &ready_fd);
	if(v5){
		mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
		mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "why", "killed");
		if(mosquitto_will_set_v5(mosq, will_topic, 7, "goodbye", 1, false, props) != MOSQ_ERR_SUCCESS) _exit(4);
	}else{
		if(mosquitto_will_set(mosq, will_topic, 7, "goodbye", 1, false) != MOSQ_ERR_SUCCESS) _exit(4);
	}
	mosquitto_connect_callback_set(mosq, child_connected);
	if(mosquitto_connect(mosq, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) _exit(5);
	mosquitto_loop_forever(mosq, -1, 1);
	_exit(6);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg, const mosquitto_property *props)
{
	char *name = NULL, *value = NULL;
	(void)mosq; (void)userdata;
	snprintf(got_payload, sizeof(got_payload), "%.*s", msg->payloadlen, (char *)msg->payload);
	got_qos = msg->qos;
	if(mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, &name, &value, false)){
		snprintf(got_user_value, sizeof(got_user_value), "%s=%s", name, value);
	}
	free(name); free(value);
	bump(&received);
}

int main(int argc, char *argv[])
{
	struct mosquitto *watcher;
	int port, pipefd[2], status;
	bool v5;
	pid_t child;
	struct pollfd pfd;
	char byte;

	print_loaded();
	if(argc != 3) return 2;
	port = atoi(argv[1]);
	v5 = !strcmp(argv[2], "5");
	snprintf(will_topic, sizeof(will_topic), "skeeter/will/%d", (int)getpid());

	/* Fork first, before any thread exists. */
	if(pipe(pipefd)) return 2;
	child = fork();
	if(child == 0){
		close(pipefd[0]);
		run_child(port, v5, pipefd[1]);
	}
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 20000) == 1 && read(pipefd[0], &byte, 1) == 1, "the will client did not connect");

	mosquitto_lib_init();
	watcher = mosquitto_new(NULL, true, NULL);
	mosquitto_int_option(watcher, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_callback_set(watcher, count_connect);
	mosquitto_subscribe_callback_set(watcher, count_subscribe);
	mosquitto_message_v5_callback_set(watcher, on_message);
	CHECK_RC(mosquitto_connect(watcher, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(watcher), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&connected, 1, 20), "watcher not connected");
	CHECK_RC(mosquitto_subscribe(watcher, NULL, will_topic, 2), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&subscribed, 1, 20), "watcher not subscribed");
	usleep(100 * 1000);
	CHECK(get(&received) == 0, "the will came while its client was alive");

	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	CHECK(wait_for(&received, 1, 20), "no will after the client was killed");
	CHECK(!strcmp(got_payload, "goodbye"), "will payload %s", got_payload);
	CHECK(got_qos == 1, "will QoS %d", got_qos);
	if(v5){
		CHECK(!strcmp(got_user_value, "why=killed"), "will user property %s", got_user_value);
	}

	mosquitto_disconnect(watcher);
	mosquitto_loop_stop(watcher, false);
	mosquitto_destroy(watcher);
	mosquitto_lib_cleanup();
	return finish();
}
