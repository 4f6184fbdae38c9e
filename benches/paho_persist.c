/* paho_persist: paho.mqtt.c's MQTTAsync publishing with its file persistence, the
 * comparison for skeeter_persistence_set in scripts/bench.sh.
 *
 *   paho_persist pub -p PORT -q QOS -s SIZE -n COUNT -w WINDOW -P DIR [-T TIMEOUT]
 *
 * Publishes COUNT messages of SIZE bytes to bench/pub at QOS with at most WINDOW in
 * flight (paho's maxInflight), MQTTCLIENT_PERSISTENCE_DEFAULT in DIR, and prints
 * the same "RESULT ..." line as bench.c: rate, CPU per message, peak RSS.
 * Built against Debian's libpaho-mqtt-dev (libpaho-mqtt3as).
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

static atomic_int connected, lost;
static atomic_long done;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "paho_persist: %s: %d\n", what, rc);
	exit(1);
}

static void on_connect(void *context, MQTTAsync_successData *response)
{
	(void)context; (void)response;
	atomic_store(&connected, 1);
}

static void on_connect_failure(void *context, MQTTAsync_failureData *response)
{
	(void)context;
	fprintf(stderr, "paho_persist: connect failed: %d\n", response ? response->code : 0);
	atomic_store(&connected, -1);
}

static void on_sent(void *context, MQTTAsync_successData *response)
{
	(void)context; (void)response;
	atomic_fetch_add(&done, 1);
}

static void on_lost(void *context, char *cause)
{
	(void)context; (void)cause;
	atomic_store(&lost, 1);
}

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *message)
{
	(void)context; (void)topic_len;
	MQTTAsync_freeMessage(&message);
	MQTTAsync_free(topic);
	return 1;
}

static void pause_a_moment(void)
{
	struct timespec ts = {0, 50000};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int port = 0, qos = 1, size = 16, window = 1000, timeout = 60;
	long count = 10000;
	const char *dir = NULL;
	if (argc < 2 || strcmp(argv[1], "pub"))
		die("usage: paho_persist pub -p PORT -q QOS -s SIZE -n COUNT -w WINDOW -P DIR", 2);
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *v = argv[i + 1];
		switch (argv[i][1]) {
		case 'p': port = atoi(v); break;
		case 'q': qos = atoi(v); break;
		case 's': size = atoi(v); break;
		case 'n': count = atol(v); break;
		case 'w': window = atoi(v); break;
		case 'P': dir = v; break;
		case 'T': timeout = atoi(v); break;
		default: break;
		}
	}
	if (!port || !dir || window <= 0)
		die("missing -p, -P or -w", 2);
	char uri[64], id[64];
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
	snprintf(id, sizeof(id), "paho-bench-%d", (int)getpid());
	char *payload = malloc((size_t)size + 1);
	memset(payload, 'x', (size_t)size + 1);

	MQTTAsync client;
	int rc = MQTTAsync_create(&client, uri, id, MQTTCLIENT_PERSISTENCE_DEFAULT, (void *)dir);
	if (rc != MQTTASYNC_SUCCESS)
		die("MQTTAsync_create", rc);
	MQTTAsync_setCallbacks(client, NULL, on_lost, on_message, NULL);
	MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
	conn.keepAliveInterval = 60;
	conn.cleansession = 1;
	conn.maxInflight = window;
	conn.onSuccess = on_connect;
	conn.onFailure = on_connect_failure;
	if ((rc = MQTTAsync_connect(client, &conn)) != MQTTASYNC_SUCCESS)
		die("MQTTAsync_connect", rc);
	double deadline = now() + timeout;
	while (atomic_load(&connected) == 0 && now() < deadline)
		pause_a_moment();
	if (atomic_load(&connected) != 1)
		die("no CONNACK", 1);

	double t0 = now(), c0 = cpu_seconds();
	for (long i = 0; i < count;) {
		if (atomic_load(&lost))
			die("connection lost", 1);
		if (now() > deadline)
			die("timed out publishing", 1);
		if (i - atomic_load(&done) >= window) {
			pause_a_moment();
			continue;
		}
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		ro.onSuccess = on_sent;
		rc = MQTTAsync_send(client, "bench/pub", size, payload, qos, 0, &ro);
		if (rc == MQTTASYNC_MAX_MESSAGES_INFLIGHT) {
			pause_a_moment();
			continue;
		}
		if (rc != MQTTASYNC_SUCCESS)
			die("MQTTAsync_send", rc);
		i++;
	}
	while (atomic_load(&done) < count) {
		if (now() > deadline)
			die("timed out waiting for acknowledgements", 1);
		pause_a_moment();
	}
	double t1 = now(), c1 = cpu_seconds();
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("RESULT cmd=pub msgs=%ld secs=%.6f rate=%.1f cpu_us=%.4f maxrss_kb=%ld\n", count,
	       t1 - t0, (double)count / (t1 - t0), (c1 - c0) * 1e6 / (double)count, ru.ru_maxrss);
	fflush(stdout);
	MQTTAsync_disconnectOptions disc = MQTTAsync_disconnectOptions_initializer;
	MQTTAsync_disconnect(client, &disc);
	usleep(100000);
	MQTTAsync_destroy(&client);
	free(payload);
	return 0;
}
