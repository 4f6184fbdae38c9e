/* failover.c: stay subscribed across several brokers. The client connects to
 * the first server of its list; when that broker goes away it moves on to the
 * next one, subscribes there again, and keeps to whichever works. skeeter
 * only (skeeter.h).
 *
 *   cc failover.c -lmosquitto -o failover
 *   ./failover 'demo/#' 10 mqtt://broker-a:1883 mqtt://broker-b:1883
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <mosquitto.h>
#include <skeeter.h>

struct state {
	const char *topic;
	char **servers;
	int wanted;
	int received;
	bool subscribed;
};

/* skeeter_server_index says which server of the list answered. */
static void on_connect(struct mosquitto *mosq, void *userdata, int result)
{
	struct state *state = userdata;
	int index = skeeter_server_index(mosq);
	if(result == 0){
		printf("connected to server %d (%s)\n", index, state->servers[index]);
		fflush(stdout);
		/* Subscribe once: with re-subscribe on, the library makes the
		 * subscription again on any broker that does not know it. */
		if(!state->subscribed){
			mosquitto_subscribe(mosq, NULL, state->topic, 1);
			state->subscribed = true;
		}
	}else{
		fprintf(stderr, "failover: server %d refused: %s\n", index, mosquitto_connack_string(result));
	}
}

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
	if(argc < 4){
		fprintf(stderr, "usage: %s topic count uri...\n", argv[0]);
		return 2;
	}
	struct state state = { argv[1], argv + 3, atoi(argv[2]), 0, false };

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(NULL, true, &state);
	if(!mosq){
		perror("failover: mosquitto_new");
		return 1;
	}
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_message_callback_set(mosq, on_message);

	/* Retry after 1, 2 then 3 seconds; once the wait reaches its maximum
	 * (3 s), the next server is tried, from a 1 s wait again. */
	mosquitto_reconnect_delay_set(mosq, 1, 3, false);
	skeeter_resubscribe_set(mosq, true);
	int rc = skeeter_servers_set(mosq, (const char *const *)state.servers, argc - 3);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "failover: bad server list: %s\n", mosquitto_strerror(rc));
		return 1;
	}
	/* With a list, the host and port are ignored: the list's first server is
	 * used. If it does not answer, loop_forever goes on down the list. */
	rc = mosquitto_connect_async(mosq, NULL, 0, 60);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "failover: cannot connect: %s\n", mosquitto_strerror(rc));
	}
	/* Runs until on_message calls mosquitto_disconnect(), reconnecting meanwhile. */
	rc = mosquitto_loop_forever(mosq, -1, 1);

	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return rc == MOSQ_ERR_SUCCESS ? 0 : 1;
}
