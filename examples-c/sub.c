/* sub.c: subscribe to a topic, print each message as it arrives, and stop after
 * a given number of messages.
 *
 *   cc sub.c -lmosquitto -o sub && ./sub localhost 1883 'demo/#' 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <mosquitto.h>

struct state {
	const char *topic;
	int wanted;
	int received;
};

/* Subscribe in the connect callback, so the subscription is renewed after a reconnect. */
static void on_connect(struct mosquitto *mosq, void *userdata, int result)
{
	struct state *state = userdata;
	if(result == 0){
		mosquitto_subscribe(mosq, NULL, state->topic, 1);
	}else{
		fprintf(stderr, "sub: connection refused: %s\n", mosquitto_connack_string(result));
		mosquitto_disconnect(mosq);
	}
}

/* The payload is always followed by a NUL byte, so text can be printed directly. */
static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	struct state *state = userdata;
	printf("%s %s\n", msg->topic, (const char *)msg->payload);
	fflush(stdout);
	state->received++;
	if(state->received == state->wanted){
		mosquitto_disconnect(mosq);
	}
}

int main(int argc, char *argv[])
{
	if(argc != 5){
		fprintf(stderr, "usage: %s host port topic count\n", argv[0]);
		return 2;
	}
	struct state state = { argv[3], atoi(argv[4]), 0 };

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(NULL, true, &state);
	if(!mosq){
		perror("sub: mosquitto_new");
		return 1;
	}
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_message_callback_set(mosq, on_message);

	int rc = mosquitto_connect(mosq, argv[1], atoi(argv[2]), 60);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "sub: cannot connect: %s\n", mosquitto_strerror(rc));
		return 1;
	}
	/* Runs until on_message calls mosquitto_disconnect(). */
	rc = mosquitto_loop_forever(mosq, -1, 1);

	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return rc == MOSQ_ERR_SUCCESS ? 0 : 1;
}
