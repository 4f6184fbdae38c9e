/* Many clients in one process, each on mosquitto_loop_start (scripts/bench.sh,
 * "many clients" rows). Written against mosquitto.h only, so one binary runs on
 * both libraries; with skeeter, SKEETER_LOOP_THREADS=N in the environment puts
 * the clients on the shared loop's pool of N threads instead of a thread each.
 *
 *   many_clients -p PORT -n CLIENTS -d SECONDS [-r THREADS]
 *
 * Each client connects to 127.0.0.1:PORT, subscribes (QoS 1) to a topic of its
 * own, and then the main thread publishes, for SECONDS, one QoS 1 message per
 * second on each client's topic, spread evenly over the second (in bursts
 * every 5 ms, so the harness's own sleeps cost both libraries little); the payload
 * carries the publish time, so on_message measures publish-to-receipt latency.
 * Printed on one line:
 *   RESULT clients=N threads=T rss_per_client_kb=R cpu_us_per_msg=C sent=S
 *          received=V lost=L p50_ms=.. p99_ms=.. connect_s=.. vcsw_per_msg=..
 *          ivcsw_per_msg=.. user_us_per_msg=..
 * threads: the process's threads while the messages flow (from /proc); RSS per
 * client: VmRSS at the end of the traffic minus VmRSS before the first client,
 * divided by CLIENTS; CPU: user + system time of the whole process during the
 * traffic phase (until the last message arrived) per message received; lost:
 * messages published (MOSQ_ERR_SUCCESS) that never arrived within 20 s after
 * the last publish; vcsw/ivcsw: the process's voluntary (a thread went to
 * sleep) and involuntary (a thread was preempted) context switches during the
 * traffic phase, per message received; user: the user-time part of CPU.
 *
 * With -r THREADS, no MQTT library at all: the same traffic over raw sockets
 * speaking just enough MQTT 3.1.1, THREADS epoll threads reading them and
 * answering each PUBLISH with a PUBACK, the main thread writing each PUBLISH
 * itself. What the kernel and this harness cost per message with nothing
 * between them: the floor under any library's figure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
	/* Raw mode (-r): the socket, its write lock, the last packet id, and
	 * what was read and not yet handled. */
	int fd;
	pthread_mutex_t lock;
	unsigned short mid;
	int have;
	unsigned char *in;
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

/* Context switches of the whole process so far: voluntary (a thread slept) and
 * involuntary (a thread was preempted). */
static long switches(long *involuntary)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*involuntary = ru.ru_nivcsw;
	return ru.ru_nvcsw;
}

/* The whole process's CPU time so far (user + system), and its user part. */
static double cpu_s(double *user)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	return *user + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
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

/* A message arrived for `m`: its latency noted. */
static void note_message(struct member *m, const void *payload, int payloadlen)
{
	char text[32];
	int len = payloadlen < 31 ? payloadlen : 31;
	memcpy(text, payload, (size_t)len);
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

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	(void)mosq;
	note_message(obj, msg->payload, msg->payloadlen);
}

/* ---- raw mode (-r): the traffic without a library ---- */
#define RAW_IN 4096

static int put_string(unsigned char *p, const char *s, int len)
{
	p[0] = (unsigned char)(len >> 8);
	p[1] = (unsigned char)len;
	memcpy(p + 2, s, (size_t)len);
	return len + 2;
}

/* Sends all of `len` bytes (blocking socket). */
static int send_all(int fd, const unsigned char *p, int len)
{
	while(len > 0){
		ssize_t n = send(fd, p, (size_t)len, MSG_NOSIGNAL);
		if(n <= 0) return -1;
		p += n;
		len -= (int)n;
	}
	return 0;
}

static int recv_exactly(int fd, int len)
{
	unsigned char b[64];
	while(len > 0){
		ssize_t n = recv(fd, b, len > 64 ? 64 : (size_t)len, 0);
		if(n <= 0) return -1;
		len -= (int)n;
	}
	return 0;
}

/* Connects, subscribes (QoS 1) and waits for CONNACK and SUBACK (assumed
 * successful: the broker allows anonymous clients). */
static int raw_connect(struct member *m, int port, int index)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if(m->fd < 0 || setsockopt(m->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
			|| connect(m->fd, (struct sockaddr *)&sa, sizeof(sa))) return -1;
	unsigned char p[160];
	char id[48];
	int idlen = snprintf(id, sizeof(id), "many-raw-%d-%d", (int)getpid(), index);
	int k = 2;
	k += put_string(p + k, "MQTT", 4);
	p[k++] = 4;  /* 3.1.1 */
	p[k++] = 2;  /* clean session */
	p[k++] = 0;
	p[k++] = 60; /* keepalive */
	k += put_string(p + k, id, idlen);
	p[0] = 0x10;
	p[1] = (unsigned char)(k - 2);
	if(send_all(m->fd, p, k) || recv_exactly(m->fd, 4)) return -1;
	int tlen = (int)strlen(m->topic);
	k = 2;
	p[k++] = 0;
	p[k++] = 1;
	k += put_string(p + k, m->topic, tlen);
	p[k++] = 1;
	p[0] = 0x82;
	p[1] = (unsigned char)(k - 2);
	if(send_all(m->fd, p, k) || recv_exactly(m->fd, 5)) return -1;
	pthread_mutex_init(&m->lock, NULL);
	m->in = malloc(RAW_IN);
	return m->in ? 0 : -1;
}

static int raw_publish(struct member *m, const char *payload, int len)
{
	unsigned char p[128];
	int tlen = (int)strlen(m->topic), k = 2;
	k += put_string(p + k, m->topic, tlen);
	pthread_mutex_lock(&m->lock);
	m->mid = (unsigned short)(m->mid % 65535 + 1);
	p[k++] = (unsigned char)(m->mid >> 8);
	p[k++] = (unsigned char)m->mid;
	memcpy(p + k, payload, (size_t)len);
	k += len;
	p[0] = 0x32; /* PUBLISH, QoS 1 */
	p[1] = (unsigned char)(k - 2);
	int rc = send_all(m->fd, p, k);
	pthread_mutex_unlock(&m->lock);
	return rc ? MOSQ_ERR_CONN_LOST : MOSQ_ERR_SUCCESS;
}

/* Handles the whole packets read for `m`: a PUBLISH is answered with its
 * PUBACK and noted; anything else (PUBACK) is dropped. */
static void raw_handle(struct member *m)
{
	int at = 0;
	for(;;){
		int len = 0, mul = 1, i = 1;
		for(;; i++){
			if(at + i >= m->have) goto done;
			len += (m->in[at + i] & 127) * mul;
			mul *= 128;
			if(!(m->in[at + i] & 128)) break;
		}
		int head = i + 1;
		if(m->have - at < head + len) break;
		const unsigned char *v = m->in + at + head;
		if(m->in[at] >> 4 == 3){
			int tlen = (v[0] << 8) | v[1];
			unsigned char ack[4] = {0x40, 2, v[2 + tlen], v[3 + tlen]};
			pthread_mutex_lock(&m->lock);
			send_all(m->fd, ack, 4);
			pthread_mutex_unlock(&m->lock);
			note_message(m, v + 4 + tlen, len - 4 - tlen);
		}
		at += head + len;
	}
done:
	memmove(m->in, m->in + at, (size_t)(m->have - at));
	m->have -= at;
}

static void *raw_loop(void *arg)
{
	int ep = (int)(long)arg;
	struct epoll_event events[512];
	for(;;){
		int n = epoll_wait(ep, events, 512, -1);
		for(int i = 0; i < n; i++){
			struct member *m = &members[events[i].data.u64];
			ssize_t got = recv(m->fd, m->in + m->have, (size_t)(RAW_IN - m->have), 0);
			if(got > 0){
				m->have += (int)got;
				raw_handle(m);
			}
		}
	}
	return NULL;
}

/* Connects every member and starts `threads` epoll threads over them. */
static int raw_start(int port, int threads)
{
	int eps[64];
	if(threads < 1 || threads > 64) return -1;
	for(int t = 0; t < threads; t++){
		eps[t] = epoll_create1(EPOLL_CLOEXEC);
		if(eps[t] < 0) return -1;
	}
	for(int i = 0; i < clients; i++){
		if(raw_connect(&members[i], port, i)){
			fprintf(stderr, "many_clients: raw client %d: %s\n", i, strerror(errno));
			return -1;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (unsigned long long)i};
		if(epoll_ctl(eps[i % threads], EPOLL_CTL_ADD, members[i].fd, &ev)) return -1;
		members[i].subscribed = 1;
		subscribed_total++;
	}
	for(int t = 0; t < threads; t++){
		pthread_t thread;
		if(pthread_create(&thread, NULL, raw_loop, (void *)(long)eps[t])) return -1;
		pthread_detach(thread);
	}
	return 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char *argv[])
{
	int port = 1883, seconds = 60, raw = 0, opt;
	clients = 100;
	while((opt = getopt(argc, argv, "p:n:d:r:")) != -1){
		switch(opt){
			case 'p': port = atoi(optarg); break;
			case 'n': clients = atoi(optarg); break;
			case 'd': seconds = atoi(optarg); break;
			case 'r': raw = atoi(optarg); break;
			default: return 2;
		}
	}
	struct rlimit lim;
	if(getrlimit(RLIMIT_NOFILE, &lim) == 0){
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if(!raw) mosquitto_lib_init();
	members = calloc((size_t)clients, sizeof(*members));
	latency_cap = (long long)clients * (seconds + 1);
	latencies = calloc((size_t)latency_cap, sizeof(double));
	if(!members || !latencies) return 2;

	long rss_before = status_field("VmRSS");
	double started = now_s();
	for(int i = 0; i < clients; i++){
		snprintf(members[i].topic, sizeof(members[i].topic), "many/%d/%d", (int)getpid(), i);
	}
	if(raw && raw_start(port, raw)) return 1;
	for(int i = 0; i < clients && !raw; i++){
		struct member *m = &members[i];
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

	long invol_start, vol_start = switches(&invol_start);
	double user_start, cpu_start = cpu_s(&user_start);
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
			int rc = raw ? raw_publish(&members[i], payload, len)
				: mosquitto_publish(members[i].mosq, NULL, members[i].topic, len, payload, 1, false);
			if(rc == MOSQ_ERR_SUCCESS) sent++; else failed++;
		}
		if(s == seconds / 2) threads = status_field("Threads");
	}
	deadline = now_s() + 20;
	while(__atomic_load_n(&received_total, __ATOMIC_SEQ_CST) < sent && now_s() < deadline){
		usleep(1000);
	}
	double user_end, cpu = cpu_s(&user_end) - cpu_start;
	double user = user_end - user_start;
	long invol_end, vol_end = switches(&invol_end);
	long rss_after = status_field("VmRSS");
	long long received = __atomic_load_n(&received_total, __ATOMIC_SEQ_CST);
	long long count = received < latency_cap ? received : latency_cap;
	qsort(latencies, (size_t)count, sizeof(double), by_value);
	double p50 = count ? latencies[count / 2] : 0, p99 = count ? latencies[(count * 99) / 100] : 0;

	fprintf(stderr, "many_clients: worst latency (ms) of each second's messages:");
	for(int i = 0; i < seconds && i < MAX_SECONDS; i++) fprintf(stderr, " %.0f", worst[i]);
	fprintf(stderr, "\n");
	printf("RESULT clients=%d threads=%ld rss_per_client_kb=%.2f cpu_us_per_msg=%.1f sent=%lld "
			"received=%lld lost=%lld failed=%lld p50_ms=%.3f p99_ms=%.3f connect_s=%.1f "
			"vcsw_per_msg=%.2f ivcsw_per_msg=%.2f user_us_per_msg=%.1f\n",
			clients, threads, (double)(rss_after - rss_before) / clients,
			received ? cpu * 1e6 / (double)received : 0, sent, received,
			sent > received ? sent - received : 0, failed, p50, p99, connect_s,
			received ? (double)(vol_end - vol_start) / (double)received : 0,
			received ? (double)(invol_end - invol_start) / (double)received : 0,
			received ? user * 1e6 / (double)received : 0);

	if(raw) return 0; /* the epoll threads end with the process */
	for(int i = 0; i < clients; i++){
		mosquitto_loop_stop(members[i].mosq, true);
		mosquitto_destroy(members[i].mosq);
	}
	mosquitto_lib_cleanup();
	return 0;
}
