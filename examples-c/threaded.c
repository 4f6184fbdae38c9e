/* threaded.c: run the network loop on its own thread with mosquitto_loop_start()
 * and publish from the main thread. Publishing never blocks on the socket: the
 * message is queued and the loop thread writes it.
 *
 *   cc threaded.c -lmosquitto -o threaded && ./threaded localhost 1883 demo/count 10
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <mosquitto.h>

static volatile int connected = 0;
static volatile int acknowledged = 0;

/* Callbacks run on the loop thread. */
static void on_connect(struct mosquitto *mosq, void *userdata, int result)
{
	(void)mosq;
	(void)userdata;
	if(result == 0){
		connected = 1;
	}else{
		fprintf(stderr, "threaded: connection refused: %s\n", mosquitto_connack_string(result));
	}
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq;
	(void)userdata;
	(void)mid;
	acknowledged++;
}

int main(int argc, char *argv[])
{
	if(argc != 5){
		fprintf(stderr, "usage: %s host port topic count\n", argv[0]);
		return 2;
	}
	const char *host = argv[1];
	int port = atoi(argv[2]);
	const char *topic = argv[3];
	int total = atoi(argv[4]);

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
	if(!mosq){
		perror("threaded: mosquitto_new");
		return 1;
	}
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_publish_callback_set(mosq, on_publish);

	/* connect_async returns at once; the loop thread finishes connecting (and
	 * keeps reconnecting if the broker goes away). */
	int rc = mosquitto_connect_async(mosq, host, port, 60);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "threaded: cannot connect: %s\n", mosquitto_strerror(rc));
		return 1;
	}
	mosquitto_loop_start(mosq);

	for(int i = 0; i < 50 && !connected; i++){
		usleep(100 * 1000);
	}
	if(!connected){
		fprintf(stderr, "threaded: no CONNACK\n");
		return 1;
	}

	/* Publishing from this thread while the loop thread runs is safe. */
	for(int i = 0; i < total; i++){
		char text[32];
		int len = snprintf(text, sizeof(text), "message %d", i);
		mosquitto_publish(mosq, NULL, topic, len, text, 1, false);
	}
	for(int i = 0; i < 50 && acknowledged < total; i++){
		usleep(100 * 1000);
	}
	printf("threaded: %d of %d messages acknowledged\n", acknowledged, total);

	/* Disconnect, then stop the thread: the DISCONNECT goes out first. */
	mosquitto_disconnect(mosq);
	mosquitto_loop_stop(mosq, false);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return acknowledged == total ? 0 : 1;
}
