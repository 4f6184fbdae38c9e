/* A publisher that can be killed at any moment (tests/persistence.rs).
 *
 *   publisher PORT N DIR PROGRESS TAG PAYLOAD_BYTES WINDOW [TRACE]
 *
 * Publishes messages 0 .. 2N-1 (even ones QoS 1 to .../q1, odd ones QoS 2 to
 * .../q2; the payload starts with the index, padded to PAYLOAD_BYTES) with
 * skeeter_persistence_set(DIR), clean session false, client id "persist-TAG".
 * After each publish the library accepted, the next index goes into PROGRESS (one
 * pwrite of a fixed width), so a program started again after a SIGKILL goes on
 * from there: it publishes only what it had not yet handed to the library, and
 * the library sends again what it had been handed and not finished. At most
 * WINDOW messages are unfinished at once (skeeter_stats; also the send maximum),
 * which the broker must take in flight: mosquitto answers an MQTT 3.1.1 PUBLISH
 * beyond its max_inflight_messages with a plain PUBACK or PUBREC and drops it
 * (then closes the connection), so the library would take a lost message for a
 * delivered one. Prints "running" once
 * connected, and "done" once every message is published and acknowledged.
 * With TRACE, each accepted publish appends "PID published INDEX MID" to that
 * file and each on_publish "PID done -1 MID" (one write each, so a kill loses
 * none), to follow a message to the broker and back.
 */
#include <fcntl.h>

#include "../client/check.h"
#include <skeeter.h>

#define SECONDS 300.0

static unsigned long window = 0;

static int completed = 0;
static int trace = -1;

static void trace_line(const char *what, long index, int mid)
{
	if(trace >= 0){
		char line[64];
		int n = snprintf(line, sizeof(line), "%d %s %ld %d\n", (int)getpid(), what, index, mid);
		if(write(trace, line, (size_t)n) != n){
			perror("trace");
		}
	}
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata;
	bump(&completed);
	trace_line("done", -1, mid);
}

static long read_progress(int fd)
{
	char text[32] = {0};
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	return n > 0 ? strtol(text, NULL, 10) : 0;
}

static void write_progress(int fd, long next)
{
	char text[17];
	snprintf(text, sizeof(text), "%016ld", next);
	if(pwrite(fd, text, 16, 0) != 16){
		perror("progress");
		exit(2);
	}
}

static unsigned long unfinished(struct mosquitto *mosq)
{
	struct skeeter_stats stats;
	if(skeeter_stats(mosq, &stats, sizeof(stats)) != MOSQ_ERR_SUCCESS){
		return window;
	}
	return stats.messages_queued + stats.messages_in_flight_out;
}

int main(int argc, char *argv[])
{
	if(argc != 8 && argc != 9){
		fprintf(stderr, "usage: publisher PORT N DIR PROGRESS TAG PAYLOAD_BYTES WINDOW [TRACE]\n");
		return 2;
	}
	print_loaded();
	int port = atoi(argv[1]);
	long n = atol(argv[2]);
	const char *dir = argv[3];
	int progress = open(argv[4], O_RDWR | O_CREAT, 0644);
	size_t payload_bytes = (size_t)atol(argv[6]);
	window = strtoul(argv[7], NULL, 10);
	trace = argc == 9 ? open(argv[8], O_WRONLY | O_APPEND | O_CREAT, 0644) : -1;
	char id[64], topic[2][96];
	snprintf(id, sizeof(id), "persist-%s", argv[5]);
	snprintf(topic[0], sizeof(topic[0]), "skeeter/persist/%s/q1", argv[5]);
	snprintf(topic[1], sizeof(topic[1]), "skeeter/persist/%s/q2", argv[5]);
	if(progress < 0 || payload_bytes < 16 || window < 1 || window > 65535){
		fprintf(stderr, "bad progress file, payload size or window\n");
		return 2;
	}
	char *payload = calloc(1, payload_bytes);

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(id, false, NULL);
	CHECK(mosq != NULL, "mosquitto_new");
	CHECK_RC(skeeter_persistence_set(mosq, dir), MOSQ_ERR_SUCCESS);
	mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, (int)window);
	mosquitto_publish_callback_set(mosq, on_publish);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	double started = now();
	printf("running\n");

	double deadline = now() + SECONDS;
	for(long i = read_progress(progress); i < 2 * n && now() < deadline;){
		if(unfinished(mosq) >= window){
			usleep(200);
			continue;
		}
		memset(payload, '.', payload_bytes);
		int len = snprintf(payload, payload_bytes, "%ld", i);
		payload[len] = ' ';
		int qos = 1 + (int)(i % 2);
		int mid = 0;
		int rc = mosquitto_publish(mosq, &mid, topic[i % 2], (int)payload_bytes, payload, qos, false);
		if(rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN){
			trace_line("published", i, mid);
			i++;
			write_progress(progress, i);
		}else{
			printf("publish %ld: %s\n", i, mosquitto_strerror(rc));
			usleep(1000);
		}
	}
	printf("handed over all after %.2f s\n", now() - started);
	while(unfinished(mosq) > 0 && now() < deadline){
		usleep(1000);
	}
	CHECK(unfinished(mosq) == 0, "messages still unfinished at the deadline");
	printf("done, %d completed by this process\n", get(&completed));
	mosquitto_disconnect(mosq);
	mosquitto_loop_stop(mosq, false);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	free(payload);
	close(progress);
	return finish();
}
