/* MQTT over WebSockets (MOSQ_OPT_TRANSPORT = MOSQ_T_WEBSOCKETS) against a real
 * broker: subscribe to our own topic at QoS 1, publish messages at QoS 0 and 1,
 * receive each of them in order, then disconnect.
 *
 *   ws_client PORT forever|loop|start|own [--path P] [--cafile F] [--socks PORT]
 *             [--payload BYTES] [--count N] [--drop COMMAND] [--protocol 31|311]
 *
 * forever: mosquitto_loop_forever; loop: mosquitto_loop by hand; start:
 * mosquitto_loop_start's thread; own: the program's own poll() loop
 * (mosquitto_socket, want_write, loop_read/write/misc).
 * --cafile: TLS with that CA (wss); --socks: through a SOCKS5 proxy on 127.0.0.1;
 * --payload: each message's size (at least 16); --drop: once every message
 * arrived, run COMMAND (which makes the broker drop the connection), expect the
 * library to reconnect, and do it all again (forever and start only: the others
 * do not reconnect by themselves). --protocol 31: MQTT 3.1, whose upgrade asks
 * for the subprotocol mqttv3.1.
 */
#include <pthread.h>

#include "../client/check.h"

static char base[64];
static int count = 10;
static int payload_size = 16;
static const char *drop_command = NULL;
static int rounds_wanted = 1;
static int round_done = 0, received = 0, disconnected = 0, disconnect_rc = -1;
static int next_for_qos[2];

static void publish_round(struct mosquitto *mosq)
{
	char *payload = calloc(1, (size_t)payload_size);
	char topic[96];
	next_for_qos[0] = next_for_qos[1] = 0;
	for(int qos = 0; qos <= 1; qos++){
		snprintf(topic, sizeof(topic), "%s/q%d", base, qos);
		for(int i = 0; i < count; i++){
			memset(payload, 'x', (size_t)payload_size);
			int len = snprintf(payload, 16, "q%d-%d", qos, i);
			payload[len] = ' ';
			CHECK_RC(mosquitto_publish(mosq, NULL, topic, payload_size, payload, qos, false), MOSQ_ERR_SUCCESS);
		}
	}
	free(payload);
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	char filter[96];
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	bump(&connected);
	snprintf(filter, sizeof(filter), "%s/#", base);
	CHECK_RC(mosquitto_subscribe(mosq, NULL, filter, 1), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int qos_count, const int *granted)
{
	(void)userdata; (void)mid;
	CHECK(qos_count == 1 && granted[0] == 1, "granted %d qos, first %d", qos_count, granted[0]);
	publish_round(mosq);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	int qos = -1, n = -1;
	(void)userdata;
	CHECK(msg->payloadlen == payload_size, "payload of %d bytes, sent %d", msg->payloadlen, payload_size);
	CHECK(sscanf(msg->payload, "q%d-%d", &qos, &n) == 2 && (qos == 0 || qos == 1),
			"payload %.16s", (char *)msg->payload);
	if(qos != 0 && qos != 1) return;
	const char *bytes = msg->payload;
	CHECK(bytes[msg->payloadlen - 1] == 'x', "the payload's last byte is %d", bytes[msg->payloadlen - 1]);
	CHECK(msg->qos == qos, "message qos %d, sent at %d", msg->qos, qos);
	CHECK(n == next_for_qos[qos], "QoS %d: got message %d, expected %d", qos, n, next_for_qos[qos]);
	next_for_qos[qos] = n + 1;
	if(bump(&received) == 2 * count * (get(&round_done) + 1)){
		if(bump(&round_done) == rounds_wanted){
			CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
		}
	}
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	set(&disconnect_rc, rc);
	bump(&disconnected);
}

static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *line)
{
	(void)mosq; (void)userdata;
	if(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) printf("log: %s\n", line);
}

/* Makes the broker drop the connection once the first round is complete. */
static void *dropper(void *arg)
{
	(void)arg;
	if(!wait_for(&round_done, 1, 30)) return NULL;
	CHECK(system(drop_command) == 0, "%s failed", drop_command);
	return NULL;
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	const char *path = NULL, *cafile = NULL, *mode;
	int socks_port = 0, port, version = MQTT_PROTOCOL_V311;
	pthread_t drop_thread;

	print_loaded();
	if(argc < 3) return 2;
	port = atoi(argv[1]);
	mode = argv[2];
	for(int i = 3; i + 1 < argc; i += 2){
		if(!strcmp(argv[i], "--path")) path = argv[i + 1];
		else if(!strcmp(argv[i], "--cafile")) cafile = argv[i + 1];
		else if(!strcmp(argv[i], "--socks")) socks_port = atoi(argv[i + 1]);
		else if(!strcmp(argv[i], "--payload")) payload_size = atoi(argv[i + 1]);
		else if(!strcmp(argv[i], "--count")) count = atoi(argv[i + 1]);
		else if(!strcmp(argv[i], "--drop")) drop_command = argv[i + 1];
		else if(!strcmp(argv[i], "--protocol")) version = strcmp(argv[i + 1], "31") ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V31;
		else return 2;
	}
	if(payload_size < 16) return 2;
	if(drop_command) rounds_wanted = 2;
	snprintf(base, sizeof(base), "skeeter/ws/%d", (int)getpid());

	mosquitto_lib_init();
	/* MQTT 3.1 wants a client id; 3.1.1 may leave it to the broker. */
	char id[32];
	snprintf(id, sizeof(id), "skeeter-ws-%d", (int)getpid());
	mosq = mosquitto_new(version == MQTT_PROTOCOL_V31 ? id : NULL, true, NULL);
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, version), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_TRANSPORT, MOSQ_T_WEBSOCKETS), MOSQ_ERR_SUCCESS);
	if(path) CHECK_RC(mosquitto_string_option(mosq, MOSQ_OPT_HTTP_PATH, path), MOSQ_ERR_SUCCESS);
	if(cafile) CHECK_RC(mosquitto_tls_set(mosq, cafile, NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
	if(socks_port) CHECK_RC(mosquitto_socks5_set(mosq, "127.0.0.1", socks_port, NULL, NULL), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_callback_set(mosq, on_message);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_log_callback_set(mosq, on_log);
	if(drop_command) pthread_create(&drop_thread, NULL, dropper, NULL);

	if(!strcmp(mode, "forever")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		/* Reconnects after a drop; returns after the client's own disconnect. */
		CHECK_RC(mosquitto_loop_forever(mosq, -1, 1), MOSQ_ERR_SUCCESS);
	}else if(!strcmp(mode, "loop")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK(loop_until(mosq, &disconnected, 1, 30), "not disconnected after 30 s");
	}else if(!strcmp(mode, "start")){
		CHECK_RC(mosquitto_connect_async(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		/* One on_disconnect per round: the drop's, then our own. */
		CHECK(wait_for(&disconnected, rounds_wanted, 30), "not disconnected after 30 s");
		CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
	}else if(!strcmp(mode, "own")){
		CHECK_RC(mosquitto_connect_async(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK(own_poll_until(mosq, &disconnected, 1, 30), "not disconnected after 30 s");
	}else{
		return 2;
	}
	if(drop_command) pthread_join(drop_thread, NULL);

	CHECK(get(&connected) == rounds_wanted, "on_connect called %d times", get(&connected));
	CHECK(get(&round_done) == rounds_wanted, "%d of %d rounds done", get(&round_done), rounds_wanted);
	CHECK(get(&disconnect_rc) == 0, "the last on_disconnect rc %d", get(&disconnect_rc));
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
