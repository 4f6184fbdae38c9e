/* websockets.c: MQTT over WebSockets (libmosquitto 2.1's MOSQ_OPT_TRANSPORT).
 * Connects with an HTTP upgrade to the broker's WebSocket listener, subscribes,
 * publishes one message to itself, prints it when it comes back, and
 * disconnects. Everything after the options is the same as over plain TCP.
 *
 *   cc websockets.c -lmosquitto -o websockets && ./websockets localhost 8080 /mqtt
 *
 * The path is the broker's: mosquitto's websockets listener takes any path,
 * RabbitMQ's Web MQTT plugin wants /ws. For wss (WebSockets inside TLS), add
 * mosquitto_tls_set as in tls.c: the TLS handshake comes first, then the upgrade.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>

static const char *topic = "demo/websockets";

/* A refused upgrade (a wrong path: "HTTP/1.1 404 Not Found") is logged here. */
static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *text)
{
	(void)mosq;
	(void)userdata;
	if(level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING){
		fprintf(stderr, "websockets: %s\n", text);
	}
}

static void on_connect(struct mosquitto *mosq, void *userdata, int result)
{
	(void)userdata;
	if(result != 0){
		fprintf(stderr, "websockets: connection refused: %s\n", mosquitto_connack_string(result));
		mosquitto_disconnect(mosq);
		return;
	}
	mosquitto_subscribe(mosq, NULL, topic, 1);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)userdata;
	(void)mid;
	(void)count;
	(void)granted;
	const char *text = "hello over WebSockets";
	mosquitto_publish(mosq, NULL, topic, (int)strlen(text), text, 1, false);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	int *received = userdata;
	printf("%s %s\n", msg->topic, (const char *)msg->payload);
	*received = 1;
	mosquitto_disconnect(mosq);
}

int main(int argc, char *argv[])
{
	if(argc != 4){
		fprintf(stderr, "usage: %s host port path\n", argv[0]);
		return 2;
	}
	int received = 0;

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(NULL, true, &received);
	if(!mosq){
		perror("websockets: mosquitto_new");
		return 1;
	}
	mosquitto_log_callback_set(mosq, on_log);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_callback_set(mosq, on_message);

	/* WebSockets instead of plain TCP, and the path of the upgrade request
	 * (the default is "/mqtt"). Both take effect at the next connect. */
	int rc = mosquitto_int_option(mosq, MOSQ_OPT_TRANSPORT, MOSQ_T_WEBSOCKETS);
	if(rc == MOSQ_ERR_SUCCESS){
		rc = mosquitto_string_option(mosq, MOSQ_OPT_HTTP_PATH, argv[3]);
	}
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "websockets: %s\n", mosquitto_strerror(rc));
		return 1;
	}

	rc = mosquitto_connect(mosq, argv[1], atoi(argv[2]), 60);
	if(rc == MOSQ_ERR_SUCCESS){
		/* The upgrade runs inside the loop; a refusal ends it with an error. */
		rc = mosquitto_loop_forever(mosq, -1, 1);
	}
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "websockets: %s\n", mosquitto_strerror(rc));
	}
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return received ? 0 : 1;
}
