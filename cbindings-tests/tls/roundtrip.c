/* A QoS 0/1/2 round trip to ourselves over TLS, through a SOCKS5 proxy, or both,
 * the way a program sets them up: mosquitto_tls_set (CA file, optional client
 * certificate and key), mosquitto_tls_insecure_set, mosquitto_socks5_set.
 *
 *   roundtrip MODE HOST PORT [--cafile F] [--capath D] [--insecure]
 *                            [--cert F --key F [--key-password P]]
 *                            [--socks PORT [--socks-user U --socks-pass P]]
 *
 * MODE is how the loop runs: "forever" (mosquitto_loop_forever), "loop"
 * (mosquitto_loop), "start" (mosquitto_connect_async and mosquitto_loop_start),
 * "poll" (the program's own poll() with mosquitto_loop_read, _write, _misc and
 * mosquitto_want_write) or "busy" (mosquitto_connect_async, then
 * mosquitto_loop(mosq, 0, 1) between pieces of the program's own work, so the
 * handshake advances only in calls that never wait).
 */
#include "args.h"

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
	for(int qos = 0; qos <= 2; qos++){
		char payload[16];
		int len = snprintf(payload, sizeof(payload), "secret q%d", qos);
		CHECK_RC(mosquitto_publish(mosq, NULL, topic, len, payload, qos, false), MOSQ_ERR_SUCCESS);
	}
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata; (void)mid;
	bump(&published);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)userdata;
	CHECK(msg->payloadlen == 9 && !memcmp(msg->payload, "secret q", 8), "payload %.*s",
			msg->payloadlen, (const char *)msg->payload);
	if(bump(&received) == 3){
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	}
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	CHECK(rc == 0, "on_disconnect rc %d (%s)", rc, mosquitto_strerror(rc));
	bump(&disconnected);
}

static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *line)
{
	(void)mosq; (void)userdata;
	if(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) printf("log %d: %s\n", level, line);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	struct tls_args args;

	print_loaded();
	if(!parse_tls_args(argc, argv, &args)) return 2;
	snprintf(topic, sizeof(topic), "skeeter/tls/%d", (int)getpid());

	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_publish_callback_set(mosq, on_publish);
	mosquitto_message_callback_set(mosq, on_message);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_log_callback_set(mosq, on_log);
	apply_tls_args(mosq, &args);

	if(!strcmp(args.mode, "start")){
		CHECK_RC(mosquitto_connect_async(mosq, args.host, args.port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&disconnected, 1, 20), "no disconnect within 20 s");
		CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
	}else if(!strcmp(args.mode, "busy")){
		CHECK_RC(mosquitto_connect_async(mosq, args.host, args.port, 60), MOSQ_ERR_SUCCESS);
		CHECK(busy_loop_until(mosq, &disconnected, 1, 20), "no disconnect within 20 s");
	}else{
		CHECK_RC(mosquitto_connect(mosq, args.host, args.port, 60), MOSQ_ERR_SUCCESS);
		if(!strcmp(args.mode, "forever")){
			CHECK_RC(mosquitto_loop_forever(mosq, -1, 1), MOSQ_ERR_SUCCESS);
		}else if(!strcmp(args.mode, "loop")){
			CHECK(loop_until(mosq, &disconnected, 1, 20), "no disconnect within 20 s");
		}else if(!strcmp(args.mode, "poll")){
			CHECK(own_poll_until(mosq, &disconnected, 1, 20), "no disconnect within 20 s");
		}else{
			return 2;
		}
	}

	CHECK(get(&connected) == 1, "on_connect called %d times", get(&connected));
	CHECK(get(&received) == 3, "received %d of 3", get(&received));
	CHECK(get(&published) == 3, "on_publish called %d times", get(&published));
	CHECK(get(&disconnected) == 1, "on_disconnect called %d times", get(&disconnected));
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
