/* bench: the client side of skeeter's benchmark, written against mosquitto.h only,
 * so the same binary runs on any libmosquitto.so.1 the loader picks (the runner
 * swaps libraries with LD_LIBRARY_PATH).
 *
 *   bench pub  -p PORT -q QOS -s SIZE -n COUNT -m loop|start [-w WINDOW] [-c CAP] [-b BATCH]
 *   bench recv -p PORT -s SIZE -n COUNT          (against benches/source)
 *   bench rtt  -p PORT -q QOS -n COUNT           (against a real broker)
 *   bench idle -p PORT -n CLIENTS                (against benches/sink)
 *   bench floor -p PORT -s SIZE -n COUNT         (no library: one write() per message)
 *   bench conn -p PORT -n COUNT                  (connect, CONNACK, disconnect, COUNT times)
 *   bench which                                  (only report the library)
 * Common: -H HOST (127.0.0.1), -T TIMEOUT_SECONDS (60), -V 5 (MQTT v5; default v3.1.1),
 *         -N 0|1 TCP_NODELAY (default: on for rtt and conn, the library's default elsewhere),
 *         -W PATH (MQTT over WebSockets with that upgrade path: libmosquitto 2.1's
 *         MOSQ_OPT_TRANSPORT, which 2.0 refuses),
 *         -P DIR (skeeter_persistence_set on the publisher; skeeter only)
 * TLS:    -A CAFILE (TLS on, broker verified against it), -e CERT -k KEY (client
 *         certificate), -t tlsv1.2|tlsv1.3 (mosquitto_tls_opts_set's version)
 *
 * It first prints which library it really loaded (dladdr on a libmosquitto symbol)
 * and exits 3 if BENCH_EXPECT_LIB names a different file. On success it prints one
 * line "RESULT key=value ..." on stdout and exits 0; any failure of the library
 * exits non-zero with the reason on stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "wire.h"

#include <mosquitto.h>

struct opts {
	const char *cmd, *host;
	int port, qos, size, window, batch, timeout, proto;
	int nodelay;     /* -1: scenario default; rtt disables Nagle, throughput keeps it */
	long count, cap; /* cap < 0: pick a default; 0: no limit */
	int start;       /* 1: loop_start (library thread), 0: mosquitto_loop from main */
	const char *ws_path; /* WebSockets with this path; NULL: plain MQTT */
	const char *cafile, *certfile, *keyfile, *tls_version; /* TLS when cafile is set */
	const char *persist_dir; /* skeeter_persistence_set(DIR) (skeeter only); NULL: none */
};

/* libmosquitto 2.1's values, by number: the 2.0 header this is built against has
 * no names for them. */
#define BENCH_OPT_TRANSPORT 15
#define BENCH_OPT_HTTP_PATH 16
#define BENCH_T_WEBSOCKETS 2

/* State shared between the library's callbacks and the main thread. Counters are
 * atomics because in loop_start mode the callbacks run on the library's thread. */
struct state {
	atomic_int connected;       /* 0 waiting, 1 CONNACK ok, -1 refused */
	atomic_int lost;            /* on_disconnect seen before we asked */
	atomic_int disconnected;    /* on_disconnect seen, whatever the reason */
	atomic_int subscribed;
	atomic_ulong done;          /* on_publish count */
	atomic_ulong received;      /* on_message count */
	atomic_ulong bad;           /* messages with an unexpected payload size */
	atomic_long last_seq;       /* rtt: sequence number of the latest response */
	atomic_int waiting;         /* main sleeps on cv until done >= wake_at */
	atomic_ulong wake_at;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long expect_size;
	unsigned long target;       /* recv: count at which to stamp the end time */
	struct timespec t_sub;      /* recv: the first SUBACK's arrival, the start time */
	struct timespec t_end;
	const char *resp_topic;     /* rtt responder: where to answer */
	int qos;
};

static double deadline;

static long vmrss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

/* A library under test may return NULL here; never hand NULL to printf. */
static const char *errstr(int rc)
{
	const char *s = mosquitto_strerror(rc);
	return s ? s : "no error text";
}

static void check(int rc, const char *what)
{
	if (rc != MOSQ_ERR_SUCCESS)
		die(1, "%s: %s (rc=%d)", what, errstr(rc), rc);
}

static void check_deadline(const char *what)
{
	if (now() > deadline)
		die(4, "timed out %s", what);
}

/* ---- which library did the loader pick? ---- */

static void report_library(void)
{
	Dl_info info;
	char real[PATH_MAX], want[PATH_MAX];
	int maj = 0, min = 0, rev = 0;
	/* dlsym finds the definition inside the loaded library, never a PLT stub of ours. */
	void *sym = dlsym(RTLD_DEFAULT, "mosquitto_lib_version");
	const char *expect = getenv("BENCH_EXPECT_LIB");

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		die(3, "cannot tell which libmosquitto is loaded");
	if (!realpath(info.dli_fname, real))
		snprintf(real, sizeof real, "%s", info.dli_fname);
	mosquitto_lib_version(&maj, &min, &rev);
	fprintf(stderr, "bench: library %s (%s), reports version %d.%d.%d\n", info.dli_fname, real,
		maj, min, rev);
	if (expect && *expect) {
		if (!realpath(expect, want))
			snprintf(want, sizeof want, "%s", expect);
		if (strcmp(want, real))
			die(3, "loaded %s but the runner expected %s", real, want);
	}
}

/* ---- callbacks ---- */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct state *st = obj;
	(void)m;
	atomic_store(&st->connected, rc == 0 ? 1 : -1);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct state *st = obj;
	(void)m;
	if (rc != 0)
		atomic_store(&st->lost, 1);
	atomic_store(&st->disconnected, 1);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct state *st = obj;
	(void)m;
	(void)mid;
	(void)n;
	(void)granted;
	if (!atomic_load(&st->subscribed))
		clock_gettime(CLOCK_MONOTONIC, &st->t_sub);
	atomic_store(&st->subscribed, 1);
}

/* Called once per QoS 0 message written, per PUBACK (QoS 1), per PUBCOMP (QoS 2). */
static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	struct state *st = obj;
	unsigned long d = atomic_fetch_add(&st->done, 1) + 1;
	(void)m;
	(void)mid;
	/* Wake the publisher only when it is asleep and its target is reached, so the
	 * common path costs one atomic add. */
	if (atomic_load(&st->waiting) && d >= atomic_load(&st->wake_at)) {
		pthread_mutex_lock(&st->mu);
		pthread_cond_signal(&st->cv);
		pthread_mutex_unlock(&st->mu);
	}
}

static void on_message_count(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct state *st = obj;
	(void)m;
	if (msg->payloadlen != st->expect_size)
		atomic_fetch_add(&st->bad, 1);
	if (atomic_fetch_add(&st->received, 1) + 1 == st->target)
		clock_gettime(CLOCK_MONOTONIC, &st->t_end);
}

static void on_message_request(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct state *st = obj;
	/* Echo the request back: the requester matches it by sequence number. */
	mosquitto_publish(m, NULL, st->resp_topic, msg->payloadlen, msg->payload, st->qos, false);
}

static void on_message_response(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct state *st = obj;
	long seq;
	(void)m;
	if (msg->payloadlen >= (int)sizeof seq) {
		memcpy(&seq, msg->payload, sizeof seq);
		atomic_store(&st->last_seq, seq);
	}
}

/* ---- helpers ---- */

static void state_init(struct state *st)
{
	memset(st, 0, sizeof *st);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	atomic_store(&st->last_seq, -1);
}

/* TLS settings of the command line, the same calls for either library. */
static void apply_tls(struct mosquitto *m, const struct opts *o)
{
	if (!o->cafile)
		return;
	check(mosquitto_tls_set(m, o->cafile, NULL, o->certfile, o->keyfile, NULL), "mosquitto_tls_set");
	if (o->tls_version)
		check(mosquitto_tls_opts_set(m, 1, o->tls_version, NULL), "mosquitto_tls_opts_set");
}

/* skeeter's persistence, looked up at run time: this program is built against
 * Debian's mosquitto.h, and Debian's library has no such function. */
static void persist(struct mosquitto *m, const char *dir)
{
	int (*set)(struct mosquitto *, const char *) =
		(int (*)(struct mosquitto *, const char *))dlsym(RTLD_DEFAULT, "skeeter_persistence_set");
	if (!set)
		die(1, "-P: this library has no skeeter_persistence_set");
	check(set(m, dir), "skeeter_persistence_set");
}

static struct mosquitto *client(const struct opts *o, const char *role, int idx, struct state *st)
{
	char id[64];
	struct mosquitto *m;
	snprintf(id, sizeof id, "bench-%s-%d-%d", role, (int)getpid(), idx);
	m = mosquitto_new(id, true, st);
	if (!m)
		die(1, "mosquitto_new failed (errno %d)", errno);
	if (o->proto == 5)
		check(mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5),
		      "mosquitto_int_option(PROTOCOL_VERSION)");
	if (o->nodelay > 0)
		check(mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1), "mosquitto_int_option(TCP_NODELAY)");
	if (o->ws_path) {
		check(mosquitto_int_option(m, BENCH_OPT_TRANSPORT, BENCH_T_WEBSOCKETS),
		      "mosquitto_int_option(TRANSPORT)");
		check(mosquitto_string_option(m, BENCH_OPT_HTTP_PATH, o->ws_path),
		      "mosquitto_string_option(HTTP_PATH)");
	}
	apply_tls(m, o);
	if (o->persist_dir && idx == 0 && !strcmp(role, "pub"))
		persist(m, o->persist_dir);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_disconnect_callback_set(m, on_disconnect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_publish_callback_set(m, on_publish);
	return m;
}

/* Drive the connection until flag becomes nonzero: from main in loop mode, by
 * sleeping in small steps while the library's thread works in loop_start mode. */
static void wait_flag(struct mosquitto *m, int threaded, atomic_int *flag, const char *what,
		      struct state *st)
{
	while (!atomic_load(flag)) {
		if (threaded) {
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		} else {
			check(mosquitto_loop(m, 100, 1), "mosquitto_loop");
		}
		if (atomic_load(&st->lost))
			die(1, "connection lost %s", what);
		check_deadline(what);
	}
	if (atomic_load(flag) < 0)
		die(1, "%s: refused", what);
}

/* Block until at least target publishes have completed (bounded by the deadline). */
static void wait_done(struct mosquitto *m, const struct opts *o, struct state *st,
		      unsigned long target)
{
	while (atomic_load(&st->done) < target) {
		if (o->start) {
			struct timespec ts;
			pthread_mutex_lock(&st->mu);
			atomic_store(&st->wake_at, target);
			atomic_store(&st->waiting, 1);
			if (atomic_load(&st->done) < target) {
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 50000000; /* re-check at least every 50 ms */
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&st->cv, &st->mu, &ts);
			}
			atomic_store(&st->waiting, 0);
			pthread_mutex_unlock(&st->mu);
		} else {
			check(mosquitto_loop(m, 10, 1), "mosquitto_loop");
		}
		if (atomic_load(&st->lost))
			die(1, "connection lost while publishing (%lu of %lu done)",
			    (unsigned long)atomic_load(&st->done), target);
		check_deadline("waiting for publishes to complete");
	}
}

static void finish(struct mosquitto *m, int threaded)
{
	mosquitto_disconnect(m);
	if (threaded)
		check(mosquitto_loop_stop(m, false), "mosquitto_loop_stop");
	else
		mosquitto_loop(m, 10, 1); /* lets the DISCONNECT out; NO_CONN afterwards is fine */
	mosquitto_destroy(m);
}

/* ---- scenarios ---- */

static int run_pub(const struct opts *o)
{
	struct state st;
	struct mosquitto *m;
	char *payload = malloc((size_t)o->size + 1);
	long cap = o->cap, win;
	double t0, c0, t1, c1;

	if (!payload)
		die(1, "out of memory");
	memset(payload, 'x', (size_t)o->size + 1);
	state_init(&st);
	m = client(o, "pub", 0, &st);
	if (o->window > 0)
		check(mosquitto_max_inflight_messages_set(m, (unsigned)o->window),
		      "mosquitto_max_inflight_messages_set");
	win = o->window > 0 ? o->window : 20; /* libmosquitto's documented default */
	/* How far the publisher may run ahead of completions. QoS 0: a bound on queued
	 * bytes, not a protocol limit. QoS 1/2: twice the window, so the library always
	 * has the next messages queued when an ack frees a slot. */
	if (cap < 0)
		cap = o->qos ? 2 * win : 10000;

	check(mosquitto_connect(m, o->host, o->port, 60), "mosquitto_connect");
	if (o->start)
		check(mosquitto_loop_start(m), "mosquitto_loop_start");
	wait_flag(m, o->start, &st.connected, "waiting for CONNACK", &st);

	t0 = now();
	c0 = cpu_seconds();
	for (long i = 0; i < o->count; i++) {
		if (cap && i - (long)atomic_load(&st.done) >= cap)
			/* Full: wait for half the outstanding ones (threaded) or any progress. */
			wait_done(m, o, &st, o->start ? (unsigned long)(i - cap / 2) : (unsigned long)(i - cap + 1));
		int rc = mosquitto_publish(m, NULL, "bench/pub", o->size, payload, o->qos, false);
		if (rc != MOSQ_ERR_SUCCESS)
			die(1, "mosquitto_publish #%ld: %s (rc=%d)", i, errstr(rc), rc);
		if (!o->start && (i + 1) % o->batch == 0)
			check(mosquitto_loop(m, 0, 1), "mosquitto_loop");
		if ((i & 1023) == 0)
			check_deadline("publishing");
	}
	wait_done(m, o, &st, (unsigned long)o->count);
	t1 = now();
	c1 = cpu_seconds();

	printf("RESULT cmd=pub msgs=%ld secs=%.6f rate=%.1f cpu_us=%.4f maxrss_kb=%ld\n", o->count,
	       t1 - t0, (double)o->count / (t1 - t0), (c1 - c0) * 1e6 / (double)o->count, maxrss_kb());
	fflush(stdout);
	finish(m, o->start);
	free(payload);
	return 0;
}

static int run_recv(const struct opts *o)
{
	struct state st;
	struct mosquitto *m;
	char topic[96];
	double t0, c0, c1;

	state_init(&st);
	st.expect_size = o->size;
	st.target = (unsigned long)o->count;
	m = client(o, "recv", 0, &st);
	mosquitto_message_callback_set(m, on_message_count);
	check(mosquitto_connect(m, o->host, o->port, 60), "mosquitto_connect");
	if (o->start)
		check(mosquitto_loop_start(m), "mosquitto_loop_start");
	wait_flag(m, o->start, &st.connected, "waiting for CONNACK", &st);

	/* The topic tells benches/source how many messages of what size to send. The
	 * clock starts at the SUBACK, which the source sends just before its flood: the
	 * TLS source encrypts the whole flood first, and that is the peer's time. */
	snprintf(topic, sizeof topic, "bench/recv/%ld/%d", o->count, o->size);
	t0 = now();
	c0 = cpu_seconds();
	check(mosquitto_subscribe(m, NULL, topic, 0), "mosquitto_subscribe");
	while (atomic_load(&st.received) < (unsigned long)o->count) {
		if (o->start) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		} else {
			check(mosquitto_loop(m, 100, 1), "mosquitto_loop");
		}
		if (atomic_load(&st.lost))
			die(1, "connection lost after %lu messages", (unsigned long)atomic_load(&st.received));
		check_deadline("receiving");
	}
	c1 = cpu_seconds();
	double t1 = (double)st.t_end.tv_sec + (double)st.t_end.tv_nsec * 1e-9;
	if (atomic_load(&st.subscribed))
		t0 = (double)st.t_sub.tv_sec + (double)st.t_sub.tv_nsec * 1e-9;
	if (atomic_load(&st.bad))
		die(1, "%lu messages had the wrong payload size", (unsigned long)atomic_load(&st.bad));

	printf("RESULT cmd=recv msgs=%ld secs=%.6f rate=%.1f cpu_us=%.4f maxrss_kb=%ld\n", o->count,
	       t1 - t0, (double)o->count / (t1 - t0), (c1 - c0) * 1e6 / (double)o->count, maxrss_kb());
	fflush(stdout);
	finish(m, o->start);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int run_rtt(const struct opts *oin)
{
	/* Latency: without TCP_NODELAY a PUBACK followed by the next PUBLISH waits
	 * for a delayed ACK (~40 ms) under Nagle, which measures the kernel, not us. */
	struct opts oo = *oin, *o = &oo;
	struct state rs, qs; /* responder, requester */
	struct mosquitto *resp, *req;
	char req_topic[64], resp_topic[64];
	if (o->nodelay < 0)
		o->nodelay = 1;
	long warm = o->count / 10 < 100 ? 100 : o->count / 10;
	double *lat = malloc(sizeof(double) * (size_t)o->count), c0, c1;
	char payload[16];

	if (!lat)
		die(1, "out of memory");
	snprintf(req_topic, sizeof req_topic, "bench/rr/%d/req", (int)getpid());
	snprintf(resp_topic, sizeof resp_topic, "bench/rr/%d/resp", (int)getpid());
	memset(payload, 'q', sizeof payload);

	/* Responder: library thread, answers from its message callback. */
	state_init(&rs);
	rs.resp_topic = resp_topic;
	rs.qos = o->qos;
	resp = client(o, "resp", 0, &rs);
	mosquitto_message_callback_set(resp, on_message_request);
	check(mosquitto_connect(resp, o->host, o->port, 60), "mosquitto_connect (responder)");
	check(mosquitto_loop_start(resp), "mosquitto_loop_start");
	wait_flag(resp, 1, &rs.connected, "waiting for the responder's CONNACK", &rs);
	check(mosquitto_subscribe(resp, NULL, req_topic, o->qos), "mosquitto_subscribe (responder)");
	wait_flag(resp, 1, &rs.subscribed, "waiting for the responder's SUBACK", &rs);

	/* Requester: main thread drives mosquitto_loop, as a synchronous client would. */
	state_init(&qs);
	req = client(o, "req", 0, &qs);
	mosquitto_message_callback_set(req, on_message_response);
	check(mosquitto_connect(req, o->host, o->port, 60), "mosquitto_connect (requester)");
	wait_flag(req, 0, &qs.connected, "waiting for the requester's CONNACK", &qs);
	check(mosquitto_subscribe(req, NULL, resp_topic, o->qos), "mosquitto_subscribe (requester)");
	wait_flag(req, 0, &qs.subscribed, "waiting for the requester's SUBACK", &qs);

	c0 = cpu_seconds();
	for (long i = 0; i < warm + o->count; i++) {
		double t = now();
		memcpy(payload, &i, sizeof i);
		check(mosquitto_publish(req, NULL, req_topic, sizeof payload, payload, o->qos, false),
		      "mosquitto_publish (request)");
		while (atomic_load(&qs.last_seq) != i) {
			check(mosquitto_loop(req, 100, 1), "mosquitto_loop");
			if (atomic_load(&qs.lost) || atomic_load(&rs.lost))
				die(1, "connection lost at request %ld", i);
			check_deadline("waiting for a response");
		}
		if (i >= warm)
			lat[i - warm] = (now() - t) * 1e6;
		if (i == warm - 1)
			c0 = cpu_seconds();
	}
	c1 = cpu_seconds();
	qsort(lat, (size_t)o->count, sizeof *lat, cmp_double);
	printf("RESULT cmd=rtt msgs=%ld p50_us=%.2f p99_us=%.2f cpu_us=%.4f maxrss_kb=%ld\n", o->count,
	       lat[(o->count - 1) / 2], lat[(o->count * 99 - 1) / 100],
	       (c1 - c0) * 1e6 / (double)o->count, maxrss_kb());
	fflush(stdout);
	finish(req, 0);
	finish(resp, 1);
	free(lat);
	return 0;
}

static void on_connect_idle(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	atomic_fetch_add((atomic_long *)obj, rc == 0 ? 1 : 1000000000L);
}

/* Connects ms[0..n) to the sink and drives them with an external poll loop
 * (poll has no FD_SETSIZE limit) until every CONNACK is in. */
static void idle_connect(const struct opts *o, struct mosquitto **ms, struct pollfd *pf, long n,
			 const char *role)
{
	atomic_long connected = 0;

	for (long i = 0; i < n; i++) {
		char id[64];
		snprintf(id, sizeof id, "bench-%s-%d-%ld", role, (int)getpid(), i);
		ms[i] = mosquitto_new(id, true, &connected);
		if (!ms[i])
			die(1, "mosquitto_new #%ld failed (errno %d)", i, errno);
		apply_tls(ms[i], o);
		mosquitto_connect_callback_set(ms[i], on_connect_idle);
		int rc = mosquitto_connect(ms[i], o->host, o->port, 60);
		if (rc != MOSQ_ERR_SUCCESS)
			die(1, "mosquitto_connect #%ld: %s (rc=%d)", i, errstr(rc), rc);
		if ((i & 63) == 0)
			check_deadline("connecting clients");
	}
	while (atomic_load(&connected) < n) {
		for (long i = 0; i < n; i++) {
			pf[i].fd = mosquitto_socket(ms[i]);
			pf[i].events = POLLIN | (mosquitto_want_write(ms[i]) ? POLLOUT : 0);
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)n, 100) < 0 && errno != EINTR)
			die(1, "poll: %s", strerror(errno));
		for (long i = 0; i < n; i++) {
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
				check(mosquitto_loop_read(ms[i], 1), "mosquitto_loop_read");
			if (pf[i].revents & POLLOUT)
				check(mosquitto_loop_write(ms[i], 1), "mosquitto_loop_write");
		}
		check_deadline("waiting for CONNACKs");
	}
	if (atomic_load(&connected) != n)
		die(1, "%ld connections refused", (long)(atomic_load(&connected) / 1000000000L));
}

/* RSS per idle client, measured from two baselines: "cold", before any client
 * existed, and after one warm-up client has connected and been destroyed, so
 * the code and data each library pages in once (its connect path, the C
 * library's name lookup) are not divided among the clients. Both libraries run
 * the same warm-up. */
static int run_idle(const struct opts *o)
{
	long n = o->count, cold, before, after;
	struct mosquitto **ms = calloc((size_t)n, sizeof *ms);
	struct pollfd *pf = calloc((size_t)n, sizeof *pf);
	struct rlimit rl;

	if (!ms || !pf)
		die(1, "out of memory");
	/* Each client holds a socket (libmosquitto also a wake-up socket pair). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(pf, 0, sizeof *pf * (size_t)n); /* touch the arrays before the baseline */
	memset(ms, 0, sizeof *ms * (size_t)n);
	cold = vmrss_kb();

	idle_connect(o, ms, pf, 1, "idle-warm-up");
	mosquitto_disconnect(ms[0]);
	mosquitto_destroy(ms[0]);
	ms[0] = NULL;
	before = vmrss_kb();

	idle_connect(o, ms, pf, n, "idle");
	after = vmrss_kb();

	printf("RESULT cmd=idle clients=%ld rss_cold_kb=%ld rss_before_kb=%ld rss_after_kb=%ld "
	       "per_client_kb=%.2f per_client_cold_kb=%.2f maxrss_kb=%ld\n",
	       n, cold, before, after, (double)(after - before) / (double)n,
	       (double)(after - cold) / (double)n, maxrss_kb());
	fflush(stdout);
	for (long i = 0; i < n; i++) {
		mosquitto_disconnect(ms[i]);
		mosquitto_destroy(ms[i]);
	}
	free(ms);
	free(pf);
	return 0;
}

/* Connections per second: one client object connects, waits for CONNACK,
 * disconnects and waits for on_disconnect, count times (after one warm-up
 * connection, which loads the CA file and certificates a library may keep). Over
 * TLS each is a full handshake (the TLS peer never resumes sessions). CPU per
 * connection is the whole process's, from getrusage. */
static int one_connection(struct mosquitto *m, const struct opts *o, struct state *st, long i)
{
	atomic_store(&st->connected, 0);
	atomic_store(&st->disconnected, 0);
	int rc = mosquitto_connect(m, o->host, o->port, 60);
	if (rc != MOSQ_ERR_SUCCESS)
		die(1, "mosquitto_connect #%ld: %s (rc=%d)", i, errstr(rc), rc);
	while (!atomic_load(&st->connected)) {
		rc = mosquitto_loop(m, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			die(1, "mosquitto_loop before CONNACK #%ld: %s (rc=%d)", i, errstr(rc), rc);
		check_deadline("waiting for CONNACK");
	}
	if (atomic_load(&st->connected) < 0)
		die(1, "connection #%ld refused", i);
	check(mosquitto_disconnect(m), "mosquitto_disconnect");
	while (!atomic_load(&st->disconnected)) {
		rc = mosquitto_loop(m, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
			die(1, "mosquitto_loop after DISCONNECT #%ld: %s (rc=%d)", i, errstr(rc), rc);
		check_deadline("waiting for on_disconnect");
	}
	return 0;
}

static int run_conn(const struct opts *o)
{
	struct state st;
	struct mosquitto *m;
	struct opts oo = *o;
	double t0, c0, t1, c1;

	/* Nagle off, as for rtt: otherwise CONNECT written right after the TLS Finished
	 * waits for the peer's delayed ACK (40 ms), which measures the kernel. */
	if (oo.nodelay < 0)
		oo.nodelay = 1;
	o = &oo;
	state_init(&st);
	m = client(o, "conn", 0, &st);
	one_connection(m, o, &st, -1);
	t0 = now();
	c0 = cpu_seconds();
	for (long i = 0; i < o->count; i++)
		one_connection(m, o, &st, i);
	t1 = now();
	c1 = cpu_seconds();
	printf("RESULT cmd=conn conns=%ld secs=%.6f rate=%.1f cpu_us=%.4f maxrss_kb=%ld\n", o->count,
	       t1 - t0, (double)o->count / (t1 - t0), (c1 - c0) * 1e6 / (double)o->count, maxrss_kb());
	fflush(stdout);
	mosquitto_destroy(m);
	return 0;
}

/* The floor for publishing "written at once": no library, one write() per
 * pre-encoded QoS 0 PUBLISH to the sink, as fast as the socket takes them. A
 * library that writes each message at once cannot beat this; the table shows it
 * for scale (both columns run this same code). */
static int run_floor(const struct opts *o)
{
	static const unsigned char connect_packet[] = {
		0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 'f', 'l', 'o', 'r'};
	const char *topic = "bench/pub";
	size_t flen;
	unsigned char *frame, connack[4];
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	char port[16];
	double t0, c0, t1, c1;
	int fd;

	frame = wire_publish_q0(topic, (size_t)o->size, &flen);
	if (!frame)
		die(1, "out of memory");

	snprintf(port, sizeof port, "%d", o->port);
	if (getaddrinfo(o->host, port, &hints, &ai))
		die(1, "cannot resolve %s", o->host);
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen))
		die(1, "connect: %s", strerror(errno));
	freeaddrinfo(ai);
	if (write(fd, connect_packet, sizeof connect_packet) != (ssize_t)sizeof connect_packet ||
	    read(fd, connack, sizeof connack) != (ssize_t)sizeof connack)
		die(1, "no CONNACK");

	t0 = now();
	c0 = cpu_seconds();
	for (long i = 0; i < o->count; i++) {
		if (write(fd, frame, flen) != (ssize_t)(flen))
			die(1, "write: %s", strerror(errno));
		if ((i & 1023) == 0)
			check_deadline("writing");
	}
	t1 = now();
	c1 = cpu_seconds();
	printf("RESULT cmd=floor msgs=%ld secs=%.6f rate=%.1f cpu_us=%.4f maxrss_kb=%ld\n", o->count,
	       t1 - t0, (double)o->count / (t1 - t0), (c1 - c0) * 1e6 / (double)o->count, maxrss_kb());
	fflush(stdout);
	close(fd);
	free(frame);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench pub|recv|rtt|idle|conn|floor -p PORT [-H HOST] [-q QOS] [-s SIZE] [-n COUNT]\n"
		"             [-m loop|start] [-w WINDOW] [-c CAP] [-b BATCH] [-T SECONDS] [-V 5] [-N 0|1]\n"
		"             [-W WEBSOCKET_PATH] [-P PERSISTENCE_DIR] [-A CAFILE [-e CERT -k KEY] [-t tlsv1.2|tlsv1.3]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {.host = "127.0.0.1", .size = 16, .count = 100000, .cap = -1, .batch = 100,
			 .timeout = 60, .proto = 4, .nodelay = -1};
	int rc;

	if (argc < 2)
		usage();
	o.cmd = argv[1];
	if (!strcmp(o.cmd, "which")) {
		/* Just say which library the loader picked (the runner logs it). */
		check(mosquitto_lib_init(), "mosquitto_lib_init");
		report_library();
		mosquitto_lib_cleanup();
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v || a[0] != '-' || !a[1] || a[2])
			usage();
		i++;
		switch (a[1]) {
		case 'H': o.host = v; break;
		case 'p': o.port = atoi(v); break;
		case 'q': o.qos = atoi(v); break;
		case 's': o.size = atoi(v); break;
		case 'n': o.count = atol(v); break;
		case 'm': o.start = !strcmp(v, "start"); break;
		case 'w': o.window = atoi(v); break;
		case 'c': o.cap = atol(v); break;
		case 'b': o.batch = atoi(v); break;
		case 'T': o.timeout = atoi(v); break;
		case 'V': o.proto = atoi(v); break;
		case 'N': o.nodelay = atoi(v); break;
		case 'W': o.ws_path = v; break;
		case 'A': o.cafile = v; break;
		case 'e': o.certfile = v; break;
		case 'k': o.keyfile = v; break;
		case 't': o.tls_version = v; break;
		case 'P': o.persist_dir = v; break;
		default: usage();
		}
	}
	if (o.port <= 0 || o.count <= 0 || o.size < 0 || o.qos < 0 || o.qos > 2 || o.batch <= 0)
		usage();

	check(mosquitto_lib_init(), "mosquitto_lib_init");
	report_library();
	deadline = now() + o.timeout;

	if (!strcmp(o.cmd, "pub"))
		rc = run_pub(&o);
	else if (!strcmp(o.cmd, "recv"))
		rc = run_recv(&o);
	else if (!strcmp(o.cmd, "rtt"))
		rc = run_rtt(&o);
	else if (!strcmp(o.cmd, "idle"))
		rc = run_idle(&o);
	else if (!strcmp(o.cmd, "conn"))
		rc = run_conn(&o);
	else if (!strcmp(o.cmd, "floor"))
		rc = run_floor(&o);
	else
		usage();
	mosquitto_lib_cleanup();
	return rc;
}
