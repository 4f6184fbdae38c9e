/* pub.c: connect, publish a few messages at QoS 1, wait until the broker has
 * acknowledged each one, then disconnect.
 *
 *   cc pub.c -lmosquitto -o pub && ./pub localhost 1883 demo/hello "hi there" 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>

static int acknowledged = 0;

/* Called from mosquitto_loop_forever() once the broker answers CONNACK. */
static void on_connect(struct mosquitto *mosq, void *userdata, int result)
{
	(void)mosq;
	(void)userdata;
	if(result != 0){
		fprintf(stderr, "pub: connection refused: %s\n", mosquitto_connack_string(result));
	}
}

/* Called when a QoS 1 message has been acknowledged by the broker. */
static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	int *total = userdata;
	(void)mid;
	acknowledged++;
	if(acknowledged == *total){
		mosquitto_disconnect(mosq);
	}
}

int main(int argc, char *argv[])
{
	if(argc != 6){
		fprintf(stderr, "usage: %s host port topic message count\n", argv[0]);
		return 2;
	}
	const char *host = argv[1];
	int port = atoi(argv[2]);
	const char *topic = argv[3];
	const char *text = argv[4];
	int total = atoi(argv[5]);

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(NULL, true, &total);
	if(!mosq){
		perror("pub: mosquitto_new");
		return 1;
	}
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_publish_callback_set(mosq, on_publish);

	int rc = mosquitto_connect(mosq, host, port, 60);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "pub: cannot connect: %s\n", mosquitto_strerror(rc));
		return 1;
	}
	for(int i = 0; i < total; i++){
		char payload[256];
		snprintf(payload, sizeof(payload), "%s #%d", text, i + 1);
		rc = mosquitto_publish(mosq, NULL, topic, (int)strlen(payload), payload, 1, false);
		if(rc != MOSQ_ERR_SUCCESS){
			fprintf(stderr, "pub: publish failed: %s\n", mosquitto_strerror(rc));
			return 1;
		}
	}
	/* Runs until on_publish calls mosquitto_disconnect(). */
	rc = mosquitto_loop_forever(mosq, -1, 1);

	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return rc == MOSQ_ERR_SUCCESS ? 0 : 1;
}
