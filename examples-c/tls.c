/* tls.c: a verified TLS connection. The broker's certificate must chain to the CA
 * file given and name the host we connect to; then we subscribe, publish one message
 * to ourselves over the encrypted connection, print it, and disconnect.
 *
 *   cc tls.c -lmosquitto -o tls && ./tls broker.example.com 8883 ca.pem
 *
 * For a broker that wants a client certificate, add its files to mosquitto_tls_set:
 *   mosquitto_tls_set(mosq, cafile, NULL, "client.pem", "client-key.pem", NULL);
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>

static const char *topic = "demo/tls";

/* Errors such as "unknown issuer" or "host name mismatch" arrive here. */
static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *text)
{
	(void)mosq;
	(void)userdata;
	if(level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING){
		fprintf(stderr, "tls: %s\n", text);
	}
}

static void on_connect(struct mosquitto *mosq, void *userdata, int result)
{
	(void)userdata;
	if(result != 0){
		fprintf(stderr, "tls: connection refused: %s\n", mosquitto_connack_string(result));
		mosquitto_disconnect(mosq);
		return;
	}
	mosquitto_subscribe(mosq, NULL, topic, 1);
}

/* Once the broker has granted the subscription, send ourselves a message. */
static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)userdata;
	(void)mid;
	(void)count;
	(void)granted;
	const char *text = "hello over TLS";
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
		fprintf(stderr, "usage: %s host port cafile\n", argv[0]);
		return 2;
	}
	int received = 0;

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(NULL, true, &received);
	if(!mosq){
		perror("tls: mosquitto_new");
		return 1;
	}
	mosquitto_log_callback_set(mosq, on_log);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_callback_set(mosq, on_message);

	/* Verify the broker against this CA. Verification is on by default: the
	 * certificate must chain to the CA and carry the host name (or IP address). */
	int rc = mosquitto_tls_set(mosq, argv[3], NULL, NULL, NULL, NULL);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "tls: cannot use %s: %s\n", argv[3], mosquitto_strerror(rc));
		return 1;
	}
	/* Refuse anything older than TLS 1.2 (the default; shown for completeness). */
	mosquitto_tls_opts_set(mosq, 1, "tlsv1.2", NULL);

	rc = mosquitto_connect(mosq, argv[1], atoi(argv[2]), 60);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "tls: cannot connect: %s\n", mosquitto_strerror(rc));
		return 1;
	}
	/* The handshake, the subscription and the message all happen in here; a failed
	 * verification ends the loop with MOSQ_ERR_TLS. */
	rc = mosquitto_loop_forever(mosq, -1, 1);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "tls: %s\n", mosquitto_strerror(rc));
	}

	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return received ? 0 : 1;
}
