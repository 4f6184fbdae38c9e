/* Many clients in one process, each on mosquitto_loop_start (scripts/bench.sh,
 * "many clients" rows). Written against mosquitto.h only, so one binary runs on
 * both libraries; with skeeter, SKEETER_LOOP_THREADS=N in the environment puts
 * the clients on the shared loop's pool of N threads instead of a thread each.
 *
 *   many_clients -p PORT -n CLIENTS -d SECONDS
 *
 * Each client connects to 127.0.0.1:PORT, subscribes (QoS 1) to a topic of its
 * own, and then the main thread publishes, for SECONDS, one QoS 1 message per
 * second on each client's topic, spread evenly over the second (in bursts
 * every 5 ms, so the harness's own sleeps cost both libraries little); the payload
 * carries the publish time, so on_message measures publish-to-receipt latency.
 * Printed on one line:
 *   RESULT clients=N threads=T rss_per_client_kb=R cpu_us_per_msg=C sent=S
 *          received=V lost=L p50_ms=.. p99_ms=.. connect_s=..
 * threads: the process's threads while the messages flow (from /proc); RSS per
 * client: VmRSS at the end of the traffic minus VmRSS before the first client,
 * divided by CLIENTS; CPU: user + system time of the whole process during the
 * traffic phase (until the last message arrived) per message received; lost:
 * messages published (MOSQ_ERR_SUCCESS) that never arrived within 20 s after
 * the last publish.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

/* The publishing thread's sleep between bursts of due messages. */
#define TICK_S 0.005

struct member {
	struct mosquitto *mosq;
	char topic[48];
	int subscribed;
	int received;
};

static struct member *members;
static int clients, subscribed_total;
static long long received_total;
static double *latencies; /* ms, one per message received */
static long long latency_cap, latency_count;
/* The worst latency of the messages published in each second (on stderr). */
#define MAX_SECONDS 3600
static double worst[MAX_SECONDS];
static long long traffic_start_ns;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long status_field(const char *name)
{
	char line[256];
	long value = -1;
	size_t len = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");
	if(!f) return -1;
	while(fgets(line, sizeof(line), f)){
		if(!strncmp(line, name, len) && line[len] == ':'){
			value = atol(line + len + 1);
			break;
		}
	}
	fclose(f);
	return value;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
		+ (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct member *m = obj;
	if(rc == 0) mosquitto_subscribe(mosq, NULL, m->topic, 1);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count, const int *granted)
{
	struct member *m = obj;
	(void)mosq; (void)mid; (void)count; (void)granted;
	if(!__atomic_exchange_n(&m->subscribed, 1, __ATOMIC_SEQ_CST)){
		__atomic_add_fetch(&subscribed_total, 1, __ATOMIC_SEQ_CST);
	}
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct member *m = obj;
	char text[32];
	(void)mosq;
	int len = msg->payloadlen < 31 ? msg->payloadlen : 31;
	memcpy(text, msg->payload, (size_t)len);
	text[len] = 0;
	long long sent_ns = atoll(text);
	double ms = (double)(now_ns() - sent_ns) / 1e6;
	long long second = (sent_ns - __atomic_load_n(&traffic_start_ns, __ATOMIC_SEQ_CST)) / 1000000000LL;
	if(second >= 0 && second < MAX_SECONDS && ms > worst[second]) worst[second] = ms;
	long long at = __atomic_fetch_add(&latency_count, 1, __ATOMIC_SEQ_CST);
	if(at < latency_cap) latencies[at] = ms;
	__atomic_add_fetch(&m->received, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&received_total, 1, __ATOMIC_SEQ_CST);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char *argv[])
{
	int port = 1883, seconds = 60, opt;
	clients = 100;
	while((opt = getopt(argc, argv, "p:n:d:")) != -1){
		switch(opt){
			case 'p': port = atoi(optarg); break;
			case 'n': clients = atoi(optarg); break;
			case 'd': seconds = atoi(optarg); break;
			default: return 2;
		}
	}
	struct rlimit lim;
	if(getrlimit(RLIMIT_NOFILE, &lim) == 0){
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	mosquitto_lib_init();
	members = calloc((size_t)clients, sizeof(*members));
	latency_cap = (long long)clients * (seconds + 1);
	latencies = calloc((size_t)latency_cap, sizeof(double));
	if(!members || !latencies) return 2;

	long rss_before = status_field("VmRSS");
	double started = now_s();
	for(int i = 0; i < clients; i++){
		struct member *m = &members[i];
		snprintf(m->topic, sizeof(m->topic), "many/%d/%d", (int)getpid(), i);
		m->mosq = mosquitto_new(NULL, true, m);
		if(!m->mosq){
			fprintf(stderr, "many_clients: mosquitto_new failed at %d\n", i);
			return 1;
		}
		mosquitto_connect_callback_set(m->mosq, on_connect);
		mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
		mosquitto_message_callback_set(m->mosq, on_message);
		int rc = mosquitto_connect_async(m->mosq, "127.0.0.1", port, 60);
		if(rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(m->mosq);
		if(rc != MOSQ_ERR_SUCCESS){
			fprintf(stderr, "many_clients: client %d: %s (%s)\n", i, mosquitto_strerror(rc),
					strerror(errno));
			return 1;
		}
		/* Paced, so the broker's listen backlog is not overrun. */
		if(i % 200 == 199) usleep(20000);
	}
	double deadline = now_s() + 120;
	while(__atomic_load_n(&subscribed_total, __ATOMIC_SEQ_CST) < clients){
		if(now_s() > deadline){
			fprintf(stderr, "many_clients: only %d of %d subscribed\n",
					__atomic_load_n(&subscribed_total, __ATOMIC_SEQ_CST), clients);
			return 1;
		}
		usleep(10000);
	}
	double connect_s = now_s() - started;
	fprintf(stderr, "many_clients: %d clients subscribed in %.1f s\n", clients, connect_s);

	double cpu_start = cpu_s();
	long long sent = 0, failed = 0;
	long threads = 0;
	double t0 = now_s();
	__atomic_store_n(&traffic_start_ns, now_ns(), __ATOMIC_SEQ_CST);
	for(int s = 0; s < seconds; s++){
		for(int i = 0; i < clients; i++){
			/* Due at an even spread over the second, published in ticks of
			 * TICK_S: the harness's own sleeps stay few, for both libraries. */
			double due = t0 + s + (double)i / clients;
			while(due - now_s() > 0) usleep((useconds_t)(TICK_S * 1e6));
			char payload[32];
			int len = snprintf(payload, sizeof(payload), "%lld", now_ns());
			int rc = mosquitto_publish(members[i].mosq, NULL, members[i].topic, len, payload, 1, false);
			if(rc == MOSQ_ERR_SUCCESS) sent++; else failed++;
		}
		if(s == seconds / 2) threads = status_field("Threads");
	}
	deadline = now_s() + 20;
	while(__atomic_load_n(&received_total, __ATOMIC_SEQ_CST) < sent && now_s() < deadline){
		usleep(1000);
	}
	double cpu = cpu_s() - cpu_start;
	long rss_after = status_field("VmRSS");
	long long received = __atomic_load_n(&received_total, __ATOMIC_SEQ_CST);
	long long count = received < latency_cap ? received : latency_cap;
	qsort(latencies, (size_t)count, sizeof(double), by_value);
	double p50 = count ? latencies[count / 2] : 0, p99 = count ? latencies[(count * 99) / 100] : 0;

	fprintf(stderr, "many_clients: worst latency (ms) of each second's messages:");
	for(int i = 0; i < seconds && i < MAX_SECONDS; i++) fprintf(stderr, " %.0f", worst[i]);
	fprintf(stderr, "\n");
	printf("RESULT clients=%d threads=%ld rss_per_client_kb=%.2f cpu_us_per_msg=%.1f sent=%lld "
			"received=%lld lost=%lld failed=%lld p50_ms=%.3f p99_ms=%.3f connect_s=%.1f\n",
			clients, threads, (double)(rss_after - rss_before) / clients,
			received ? cpu * 1e6 / (double)received : 0, sent, received,
			sent > received ? sent - received : 0, failed, p50, p99, connect_s);

	for(int i = 0; i < clients; i++){
		mosquitto_loop_stop(members[i].mosq, true);
		mosquitto_destroy(members[i].mosq);
	}
	mosquitto_lib_cleanup();
	return 0;
}
