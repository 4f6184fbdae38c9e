/* Many clients in one process, each on mosquitto_loop_start (scripts/bench.sh,
 * "many clients" rows). Written against mosquitto.h only, so one binary runs on
 * both libraries; with skeeter, SKEETER_LOOP_THREADS=N in the environment puts
 * the clients on the shared loop's pool of N threads instead of a thread each.
 *
 *   many_clients -p PORT -n CLIENTS -d SECONDS [-r THREADS] [-P PROCESSES]
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
 * With -P PROCESSES, the clients are split over that many child processes
 * that start their traffic together, and the line adds up all of them
 * (threads and RSS growth of every process, CPU of every process per message
 * received by any): libmosquitto 2.0's loop waits with select(), which aborts
 * for descriptors past 1024, so 10,000 of its clients need 34 processes of at
 * most 300. The messages keep the same spread over the second, and the
 * processes take turns on the TICK_S grid, so the harness wakes as often in
 * all of them together as in one process.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

/* ---- one process's share of the clients ---- */

/* What one process measured (with -P, each child sends its own to the parent). */
struct share_result {
	int clients;
	long threads, rss_growth_kb, vcsw, ivcsw;
	double cpu_s, user_s, connect_s;
	long long sent, received, failed, latency_count;
};

/* With -P, the processes' meeting point (a shared anonymous mapping): each child
 * counts itself in once its clients are subscribed, and the parent then sets the
 * traffic's start time for all. */
struct meeting {
	int ready;
	long long start_ns;
};
static struct meeting *meeting;

/* This process's clients are the global indices first, first + stride, ... of
 * total: their messages fall due at the same spread over the second as in one
 * process, and each process wakes on a grid of TICK_S * stride shifted by first *
 * TICK_S, so all processes together still wake once per TICK_S. */
static int first, stride = 1, total;

static int global_index(int i)
{
	return first + i * stride;
}

static void sleep_until_ns(long long at)
{
	struct timespec ts = {.tv_sec = at / 1000000000LL, .tv_nsec = at % 1000000000LL};
	while(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR){
	}
}

/* Waits for this process's turn on the tick grid after `now`. */
static void sleep_one_tick(long long start_ns)
{
	long long tick = (long long)(TICK_S * 1e9) * stride;
	long long phase = start_ns + (long long)first * (long long)(TICK_S * 1e9);
	long long now = now_ns();
	long long next = now < phase ? phase : phase + ((now - phase) / tick + 1) * tick;
	sleep_until_ns(next);
}

/* Waits until every process's clients are subscribed; returns the traffic's
 * start time (at once with one process). */
static long long traffic_start(void)
{
	if(!meeting) return now_ns();
	__atomic_add_fetch(&meeting->ready, 1, __ATOMIC_SEQ_CST);
	while(!__atomic_load_n(&meeting->start_ns, __ATOMIC_SEQ_CST)) usleep(2000);
	long long start = __atomic_load_n(&meeting->start_ns, __ATOMIC_SEQ_CST);
	sleep_until_ns(start);
	return start;
}

/* Connects and subscribes this process's clients, runs the traffic, measures. */
static int run_share(int port, int seconds, int raw, struct share_result *r)
{
	if(!raw) mosquitto_lib_init();
	members = calloc((size_t)clients, sizeof(*members));
	latency_cap = (long long)clients * (seconds + 1);
	latencies = calloc((size_t)latency_cap, sizeof(double));
	if(!members || !latencies) return 2;
	/* Touched now, so the harness's own array is not counted as clients' memory
	 * (a store of each, which the compiler cannot drop as it would a memset). */
	for(long long i = 0; i < latency_cap; i++) latencies[i] = -1;

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
	r->clients = clients;
	r->connect_s = now_s() - started;

	long long start_ns = traffic_start();
	long invol_start, vol_start = switches(&invol_start);
	double user_start, cpu_start = cpu_s(&user_start);
	__atomic_store_n(&traffic_start_ns, start_ns, __ATOMIC_SEQ_CST);
	for(int s = 0; s < seconds; s++){
		for(int i = 0; i < clients; i++){
			/* Due at an even spread over the second, published in ticks of
			 * TICK_S: the harness's own sleeps stay few, for both libraries. */
			long long due = start_ns + s * 1000000000LL
				+ (long long)global_index(i) * 1000000000LL / total;
			while(due > now_ns()) sleep_one_tick(start_ns);
			char payload[32];
			int len = snprintf(payload, sizeof(payload), "%lld", now_ns());
			int rc = raw ? raw_publish(&members[i], payload, len)
				: mosquitto_publish(members[i].mosq, NULL, members[i].topic, len, payload, 1, false);
			if(rc == MOSQ_ERR_SUCCESS) r->sent++; else r->failed++;
		}
		if(s == seconds / 2) r->threads = status_field("Threads");
	}
	deadline = now_s() + 20;
	while(__atomic_load_n(&received_total, __ATOMIC_SEQ_CST) < r->sent && now_s() < deadline){
		usleep(1000);
	}
	double user_end;
	r->cpu_s = cpu_s(&user_end) - cpu_start;
	r->user_s = user_end - user_start;
	long invol_end;
	r->vcsw = switches(&invol_end) - vol_start;
	r->ivcsw = invol_end - invol_start;
	r->rss_growth_kb = status_field("VmRSS") - rss_before;
	r->received = __atomic_load_n(&received_total, __ATOMIC_SEQ_CST);
	r->latency_count = r->received < latency_cap ? r->received : latency_cap;
	return 0;
}

static void stop_share(int raw)
{
	if(raw) return; /* the epoll threads end with the process */
	for(int i = 0; i < clients; i++){
		mosquitto_loop_stop(members[i].mosq, true);
		mosquitto_destroy(members[i].mosq);
	}
	mosquitto_lib_cleanup();
}

/* ---- -P: the clients split over child processes ---- */

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while(len > 0){
		ssize_t n = write(fd, c, len);
		if(n < 0 && errno == EINTR) continue;
		if(n <= 0) return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t len)
{
	char *c = p;
	while(len > 0){
		ssize_t n = read(fd, c, len);
		if(n < 0 && errno == EINTR) continue;
		if(n <= 0) return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A child: its share of the clients, its measurements and latencies sent up. */
static int child_main(int port, int seconds, int raw, int out)
{
	struct share_result r = {0};
	int rc = run_share(port, seconds, raw, &r);
	if(rc) return rc;
	if(write_all(out, &r, sizeof(r)) || write_all(out, worst, sizeof(worst))
			|| write_all(out, latencies, (size_t)r.latency_count * sizeof(double))) return 1;
	close(out);
	stop_share(raw);
	return 0;
}

static void kill_children(const pid_t *pids, int procs)
{
	for(int c = 0; c < procs; c++) if(pids[c] > 0) kill(pids[c], SIGKILL);
}

/* Forks `procs` children, starts their traffic together once all are subscribed,
 * and adds up what they measured (latencies into this process's array). */
static int run_split(int port, int seconds, int raw, int procs, struct share_result *sum)
{
	int fds[procs];
	pid_t pids[procs];
	meeting = mmap(NULL, sizeof(*meeting), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if(meeting == MAP_FAILED) return 2;
	latency_cap = (long long)total * (seconds + 1);
	latencies = calloc((size_t)latency_cap, sizeof(double));
	if(!latencies) return 2;
	for(int c = 0; c < procs; c++){
		int p[2];
		if(pipe(p)) return 2;
		pids[c] = fork();
		if(pids[c] < 0) return 2;
		if(pids[c] == 0){
			close(p[0]);
			free(latencies);
			first = c;
			stride = procs;
			clients = (total - c + procs - 1) / procs;
			_exit(child_main(port, seconds, raw, p[1]));
		}
		close(p[1]);
		fds[c] = p[0];
	}
	double deadline = now_s() + 300;
	while(__atomic_load_n(&meeting->ready, __ATOMIC_SEQ_CST) < procs){
		if(now_s() > deadline || waitpid(-1, NULL, WNOHANG) > 0){
			fprintf(stderr, "many_clients: a child process failed before the traffic\n");
			kill_children(pids, procs);
			return 1;
		}
		usleep(10000);
	}
	__atomic_store_n(&meeting->start_ns, now_ns() + 100000000LL, __ATOMIC_SEQ_CST);
	for(int c = 0; c < procs; c++){
		struct share_result r;
		double child_worst[MAX_SECONDS];
		if(read_all(fds[c], &r, sizeof(r)) || read_all(fds[c], child_worst, sizeof(child_worst))
				|| sum->latency_count + r.latency_count > latency_cap
				|| read_all(fds[c], latencies + sum->latency_count,
					(size_t)r.latency_count * sizeof(double))){
			fprintf(stderr, "many_clients: child process %d sent no result\n", c);
			kill_children(pids, procs);
			return 1;
		}
		close(fds[c]);
		for(int i = 0; i < MAX_SECONDS; i++) if(child_worst[i] > worst[i]) worst[i] = child_worst[i];
		sum->clients += r.clients;
		sum->threads += r.threads;
		sum->rss_growth_kb += r.rss_growth_kb;
		sum->vcsw += r.vcsw;
		sum->ivcsw += r.ivcsw;
		sum->cpu_s += r.cpu_s;
		sum->user_s += r.user_s;
		if(r.connect_s > sum->connect_s) sum->connect_s = r.connect_s;
		sum->sent += r.sent;
		sum->received += r.received;
		sum->failed += r.failed;
		sum->latency_count += r.latency_count;
	}
	sum->threads += status_field("Threads");
	int failed = 0;
	for(int c = 0; c < procs; c++){
		int status;
		if(waitpid(pids[c], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) failed = 1;
	}
	return failed;
}

int main(int argc, char *argv[])
{
	int port = 1883, seconds = 60, raw = 0, procs = 1, opt;
	total = 100;
	while((opt = getopt(argc, argv, "p:n:d:r:P:")) != -1){
		switch(opt){
			case 'p': port = atoi(optarg); break;
			case 'n': total = atoi(optarg); break;
			case 'd': seconds = atoi(optarg); break;
			case 'r': raw = atoi(optarg); break;
			case 'P': procs = atoi(optarg); break;
			default: return 2;
		}
	}
	if(total < 1 || procs < 1 || procs > total || seconds < 1 || seconds > MAX_SECONDS) return 2;
	struct rlimit lim;
	if(getrlimit(RLIMIT_NOFILE, &lim) == 0){
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct share_result r = {0};
	int rc;
	if(procs == 1){
		clients = total;
		rc = run_share(port, seconds, raw, &r);
	}else{
		rc = run_split(port, seconds, raw, procs, &r);
	}
	if(rc) return rc;
	fprintf(stderr, "many_clients: %d clients subscribed in %.1f s\n", r.clients, r.connect_s);

	long long count = r.latency_count;
	qsort(latencies, (size_t)count, sizeof(double), by_value);
	double p50 = count ? latencies[count / 2] : 0, p99 = count ? latencies[(count * 99) / 100] : 0;
	double per_msg = r.received ? 1e6 / (double)r.received : 0;

	fprintf(stderr, "many_clients: worst latency (ms) of each second's messages:");
	for(int i = 0; i < seconds; i++) fprintf(stderr, " %.0f", worst[i]);
	fprintf(stderr, "\n");
	printf("RESULT clients=%d processes=%d threads=%ld rss_per_client_kb=%.2f cpu_us_per_msg=%.1f "
			"sent=%lld received=%lld lost=%lld failed=%lld p50_ms=%.3f p99_ms=%.3f connect_s=%.1f "
			"vcsw_per_msg=%.2f ivcsw_per_msg=%.2f user_us_per_msg=%.1f\n",
			r.clients, procs, r.threads, (double)r.rss_growth_kb / r.clients, r.cpu_s * per_msg,
			r.sent, r.received, r.sent > r.received ? r.sent - r.received : 0, r.failed, p50, p99,
			r.connect_s, (double)r.vcsw * per_msg / 1e6, (double)r.ivcsw * per_msg / 1e6,
			r.user_s * per_msg);

	if(procs == 1) stop_share(raw);
	return 0;
}
