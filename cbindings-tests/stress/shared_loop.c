/* Many clients on the shared loop's pool while threads race on its lifecycle
 * (tests/skeeter_shared_loop.rs; also built with -fsanitize=thread by
 * scripts/tsan.sh).
 *
 *   shared_loop PORT SECONDS [TLS_PORT CA_FILE]
 *
 * With skeeter_shared_loop_set(POOL), for SECONDS:
 * - STEADY clients, each subscribed (from on_connect) to its own topic, are
 *   fed QoS 1 messages by a feeder thread; every tenth message the client's
 *   on_message publishes an echo to its own topic (a callback calling the
 *   API). Afterwards every message fed and every echo must have arrived.
 * - one client connects to a listener of this program that accepts and
 *   closes every connection at once, so it runs its reconnect loop (delays as
 *   timers on the pool) all along while the others carry traffic;
 * - RACERS threads make clients, start them on the pool before or after
 *   connecting, publish, and stop (forced or not), restart or destroy them
 *   at random moments;
 * - a client disconnects and calls loop_stop from its own on_message;
 * - with TLS_PORT, a TLS client on the pool makes round trips too.
 * Callbacks must run on at most POOL threads, never the program's own.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "../client/check.h"
#include <skeeter.h>

#define POOL 3
#define STEADY 16
#define RACERS 4
#define MAX_SEEN 64

static int port, stop_all = 0;

/* The distinct threads callbacks ran on. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t seen[MAX_SEEN];
static int seen_count = 0;

static void note_thread(void)
{
	pthread_t self = pthread_self();
	pthread_mutex_lock(&seen_lock);
	int known = 0;
	for(int i = 0; i < seen_count; i++){
		if(pthread_equal(seen[i], self)) known = 1;
	}
	if(!known && seen_count < MAX_SEEN) seen[seen_count++] = self;
	pthread_mutex_unlock(&seen_lock);
}

struct steady {
	struct mosquitto *mosq;
	char topic[64];
	int fed, received, echoes, inside, overlapped;
};

static struct steady steady[STEADY];

static void enter(struct steady *s)
{
	note_thread();
	if(bump(&s->inside) != 1) set(&s->overlapped, 1);
}

static void leave(struct steady *s)
{
	__atomic_sub_fetch(&s->inside, 1, __ATOMIC_SEQ_CST);
}

static void steady_connect(struct mosquitto *m, void *u, int rc)
{
	struct steady *s = u;
	enter(s);
	if(rc == 0){
		int src = mosquitto_subscribe(m, NULL, s->topic, 1);
		CHECK(src == MOSQ_ERR_SUCCESS, "subscribe in on_connect: %d", src);
	}
	leave(s);
}

static void steady_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
	struct steady *s = u;
	enter(s);
	if(msg->payloadlen == 4 && !memcmp(msg->payload, "echo", 4)){
		bump(&s->echoes);
	}else if(bump(&s->received) % 10 == 0){
		int rc = mosquitto_publish(m, NULL, s->topic, 4, "echo", 1, false);
		CHECK(rc == MOSQ_ERR_SUCCESS, "publish from on_message: %d", rc);
	}
	leave(s);
}

static int subscribed_count = 0;

static void steady_subscribe(struct mosquitto *m, void *u, int mid, int n, const int *granted)
{
	(void)m; (void)mid; (void)n; (void)granted;
	enter(u);
	bump(&subscribed_count);
	leave(u);
}

static void *feeder(void *arg)
{
	(void)arg;
	while(!get(&stop_all)){
		for(int i = 0; i < STEADY; i++){
			int rc = mosquitto_publish(steady[i].mosq, NULL, steady[i].topic, 3, "msg", 1, false);
			CHECK(rc == MOSQ_ERR_SUCCESS, "feeding client %d: %d", i, rc);
			if(rc == MOSQ_ERR_SUCCESS) bump(&steady[i].fed);
		}
		usleep(5000);
	}
	return NULL;
}

/* A listener that accepts and closes each connection: a broker that drops us. */
static int dropper_fd, dropper_port, dropped = 0;

static void *dropper(void *arg)
{
	(void)arg;
	while(!get(&stop_all)){
		struct pollfd pfd = { .fd = dropper_fd, .events = POLLIN };
		if(poll(&pfd, 1, 50) > 0){
			int c = accept(dropper_fd, NULL, NULL);
			if(c >= 0){
				bump(&dropped);
				close(c);
			}
		}
	}
	return NULL;
}

static void open_dropper(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dropper_fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind(dropper_fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	CHECK(listen(dropper_fd, 16) == 0, "listen");
	getsockname(dropper_fd, (struct sockaddr *)&a, &len);
	dropper_port = ntohs(a.sin_port);
}

static void racer_callback(struct mosquitto *m, void *u, int rc)
{
	(void)m; (void)u; (void)rc;
	note_thread();
}

static void *racer(void *arg)
{
	unsigned seed = (unsigned)(long)arg * 2654435761u + 3;
	int rounds = 0;
	while(!get(&stop_all)){
		struct mosquitto *m = mosquitto_new(NULL, true, NULL);
		int op = (int)(rand_r(&seed) % 6);
		mosquitto_connect_callback_set(m, racer_callback);
		mosquitto_publish_callback_set(m, racer_callback);
		if(op % 2){
			CHECK_RC(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
			CHECK_RC(mosquitto_connect_async(m, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		}else{
			CHECK_RC(mosquitto_connect_async(m, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
			CHECK_RC(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
		}
		int rc = mosquitto_publish(m, NULL, "skeeter/race", 1, "r", 1, false);
		CHECK(rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN, "racer publish: %d", rc);
		usleep(rand_r(&seed) % 8000);
		switch(op){
			case 0: CHECK_RC(mosquitto_loop_stop(m, true), MOSQ_ERR_SUCCESS); break;
			case 1: CHECK_RC(mosquitto_loop_stop(m, false), MOSQ_ERR_SUCCESS); break;
			case 2:
				CHECK_RC(mosquitto_loop_stop(m, true), MOSQ_ERR_SUCCESS);
				CHECK_RC(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
				usleep(rand_r(&seed) % 3000);
				break;
			case 3:
				mosquitto_disconnect(m);
				CHECK_RC(mosquitto_loop_stop(m, false), MOSQ_ERR_SUCCESS);
				break;
			default: break; /* destroy stops it */
		}
		mosquitto_destroy(m);
		rounds++;
	}
	return (void *)(long)rounds;
}

/* A client that disconnects and stops its loop from its own on_message. */
static int quitter_done = 0, quitter_disconnects = 0;

static void quitter_connect(struct mosquitto *m, void *u, int rc)
{
	(void)u;
	note_thread();
	if(rc == 0){
		mosquitto_subscribe(m, NULL, "skeeter/quit/#", 1);
		mosquitto_publish(m, NULL, "skeeter/quit/now", 3, "bye", 1, false);
	}
}

static void quitter_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
	(void)u; (void)msg;
	note_thread();
	CHECK_RC(mosquitto_disconnect(m), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_stop(m, false), MOSQ_ERR_SUCCESS);
	set(&quitter_done, 1);
}

static void quitter_disconnect(struct mosquitto *m, void *u, int rc)
{
	(void)m; (void)u;
	note_thread();
	CHECK(rc == 0, "quitter disconnect rc %d", rc);
	bump(&quitter_disconnects);
}

/* TLS round trips. */
static int tls_received = 0, tls_connected = 0;

static void tls_connect(struct mosquitto *m, void *u, int rc)
{
	(void)u;
	note_thread();
	if(rc == 0){
		mosquitto_subscribe(m, NULL, "skeeter/tls", 1);
	}
}

static void tls_subscribe(struct mosquitto *m, void *u, int mid, int n, const int *granted)
{
	(void)m; (void)u; (void)mid; (void)n; (void)granted;
	set(&tls_connected, 1);
}

static void tls_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
	(void)m; (void)u; (void)msg;
	note_thread();
	bump(&tls_received);
}

int main(int argc, char *argv[])
{
	print_loaded();
	if(argc != 3 && argc != 5) return 2;
	port = atoi(argv[1]);
	double seconds = atof(argv[2]);
	mosquitto_lib_init();

	CHECK_RC(skeeter_shared_loop_set(-1), MOSQ_ERR_INVAL);
	CHECK_RC(skeeter_shared_loop_set(POOL), MOSQ_ERR_SUCCESS);

	for(int i = 0; i < STEADY; i++){
		struct steady *s = &steady[i];
		snprintf(s->topic, sizeof(s->topic), "skeeter/pool/%d/%d", (int)getpid(), i);
		s->mosq = mosquitto_new(NULL, true, s);
		mosquitto_connect_callback_set(s->mosq, steady_connect);
		mosquitto_message_callback_set(s->mosq, steady_message);
		mosquitto_subscribe_callback_set(s->mosq, steady_subscribe);
		CHECK_RC(mosquitto_connect_async(s->mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(s->mosq), MOSQ_ERR_SUCCESS);
	}
	CHECK_RC(skeeter_shared_loop_set(POOL), MOSQ_ERR_ALREADY_EXISTS);
	CHECK(wait_for(&subscribed_count, STEADY, 20), "not every client subscribed");

	open_dropper();
	struct mosquitto *lonely = mosquitto_new(NULL, true, NULL);
	mosquitto_reconnect_delay_set(lonely, 1, 1, false);
	CHECK_RC(mosquitto_connect_async(lonely, "127.0.0.1", dropper_port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(lonely), MOSQ_ERR_SUCCESS);

	struct mosquitto *quitter = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(quitter, quitter_connect);
	mosquitto_message_callback_set(quitter, quitter_message);
	mosquitto_disconnect_callback_set(quitter, quitter_disconnect);
	CHECK_RC(mosquitto_connect_async(quitter, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(quitter), MOSQ_ERR_SUCCESS);

	struct mosquitto *tls = NULL;
	if(argc == 5){
		tls = mosquitto_new(NULL, true, NULL);
		CHECK_RC(mosquitto_tls_set(tls, argv[4], NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
		mosquitto_connect_callback_set(tls, tls_connect);
		mosquitto_subscribe_callback_set(tls, tls_subscribe);
		mosquitto_message_callback_set(tls, tls_message);
		CHECK_RC(mosquitto_connect_async(tls, "localhost", atoi(argv[3]), 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(tls), MOSQ_ERR_SUCCESS);
	}

	pthread_t feed, drop, racers[RACERS];
	pthread_create(&feed, NULL, feeder, NULL);
	pthread_create(&drop, NULL, dropper, NULL);
	for(long i = 0; i < RACERS; i++) pthread_create(&racers[i], NULL, racer, (void *)i);

	int tls_sent = 0;
	double until = now() + seconds;
	while(now() < until){
		if(tls && get(&tls_connected)){
			CHECK_RC(mosquitto_publish(tls, NULL, "skeeter/tls", 4, "tls!", 1, false), MOSQ_ERR_SUCCESS);
			tls_sent++;
		}
		usleep(20000);
	}
	set(&stop_all, 1);
	pthread_join(feed, NULL);
	pthread_join(drop, NULL);
	long rounds = 0;
	for(int i = 0; i < RACERS; i++){
		void *r;
		pthread_join(racers[i], &r);
		rounds += (long)r;
	}

	/* Nothing lost: every message fed and every echo arrives. */
	int fed = 0, received = 0;
	for(int i = 0; i < STEADY; i++){
		struct steady *s = &steady[i];
		CHECK(wait_for(&s->received, get(&s->fed), 30), "client %d: %d of %d arrived", i,
				get(&s->received), get(&s->fed));
		CHECK(wait_for(&s->echoes, get(&s->fed) / 10, 30), "client %d: %d of %d echoes", i,
				get(&s->echoes), get(&s->fed) / 10);
		CHECK(!get(&s->overlapped), "client %d: callbacks overlapped", i);
		fed += get(&s->fed);
		received += get(&s->received);
	}
	CHECK(get(&dropped) >= (int)seconds - 1 && get(&dropped) >= 1,
			"the dropped client reconnected %d times in %.0f s", get(&dropped), seconds);
	CHECK(wait_for(&quitter_done, 1, 10), "the quitter never got its message");
	CHECK(wait_for(&quitter_disconnects, 1, 10), "the quitter never disconnected");
	if(tls){
		CHECK(tls_sent > 0, "the TLS client never subscribed");
		CHECK(wait_for(&tls_received, tls_sent, 20), "TLS: %d of %d arrived",
				get(&tls_received), tls_sent);
	}

	pthread_mutex_lock(&seen_lock);
	int threads = seen_count;
	int on_main = 0;
	for(int i = 0; i < seen_count; i++){
		if(pthread_equal(seen[i], pthread_self())) on_main = 1;
	}
	pthread_mutex_unlock(&seen_lock);
	CHECK(threads <= POOL, "callbacks ran on %d threads", threads);
	CHECK(!on_main, "a callback ran on the program's thread");

	for(int i = 0; i < STEADY; i++){
		CHECK_RC(mosquitto_loop_stop(steady[i].mosq, true), MOSQ_ERR_SUCCESS);
		mosquitto_destroy(steady[i].mosq);
	}
	CHECK_RC(mosquitto_loop_stop(lonely, true), MOSQ_ERR_SUCCESS);
	mosquitto_destroy(lonely);
	/* The quitter's loop ended itself: stopping it finds it ended. */
	CHECK_RC(mosquitto_loop_stop(quitter, true), MOSQ_ERR_SUCCESS);
	mosquitto_destroy(quitter);
	if(tls){
		CHECK_RC(mosquitto_loop_stop(tls, false), MOSQ_ERR_SUCCESS);
		mosquitto_destroy(tls);
	}
	close(dropper_fd);
	printf("shared loop: %d clients fed %d messages, %d arrived; %ld racer rounds; "
			"%d drops; %d TLS messages; callbacks on %d threads\n",
			STEADY, fed, received, rounds, get(&dropped), get(&tls_received), threads);
	mosquitto_lib_cleanup();
	return finish();
}
