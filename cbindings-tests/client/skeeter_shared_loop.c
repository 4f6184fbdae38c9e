/* skeeter_shared_loop_set from C (tests/skeeter_shared_loop.rs):
 *
 *   skeeter_shared_loop PORT
 *
 * Its return codes before and after the pool starts; CLIENTS clients on a pool
 * of two threads, each publishing to its own topic and receiving it; a
 * callback of one client stopping another client's loop, and then its own
 * (both return at once); destroy without loop_stop. Callbacks run on at most
 * two threads, none of them the program's, and a client on the pool holds one
 * descriptor (its socket: no wake-up descriptor of its own).
 */
#include <dirent.h>
#include <pthread.h>

#include "check.h"
#include <skeeter.h>

#define CLIENTS 8

static struct mosquitto *clients[CLIENTS];
static int received[CLIENTS], subscribed_n = 0, stopped = 0;
static pthread_t main_thread;
static pthread_t threads[2 * CLIENTS];
static int thread_count = 0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The process's open descriptors. */
static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if(!d) return -1;
	while(readdir(d)) n++;
	closedir(d);
	return n;
}

static void note_thread(void)
{
	pthread_mutex_lock(&lock);
	int known = 0;
	for(int i = 0; i < thread_count; i++) known |= pthread_equal(threads[i], pthread_self());
	if(!known && thread_count < 2 * CLIENTS) threads[thread_count++] = pthread_self();
	pthread_mutex_unlock(&lock);
	CHECK(!pthread_equal(pthread_self(), main_thread), "a callback on the program's thread");
}

static void on_connect(struct mosquitto *m, void *u, int rc)
{
	char topic[32];
	note_thread();
	snprintf(topic, sizeof(topic), "pool/%d/%ld", (int)getpid(), (long)u - 1);
	CHECK(rc == 0, "connect rc %d", rc);
	CHECK_RC(mosquitto_subscribe(m, NULL, topic, 1), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *m, void *u, int mid, int n, const int *g)
{
	(void)m; (void)u; (void)mid; (void)n; (void)g;
	note_thread();
	bump(&subscribed_n);
}

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
	long me = (long)u - 1;
	note_thread();
	bump(&received[me]);
	if(me == 0 && msg->payloadlen == 4 && !memcmp(msg->payload, "stop", 4)){
		/* Client 0 stops client 1's loop, then its own: both return at once,
		 * even when client 1 shares this pool thread. */
		CHECK_RC(mosquitto_loop_stop(clients[1], true), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_stop(m, false), MOSQ_ERR_SUCCESS);
		set(&stopped, 1);
	}
}

int main(int argc, char *argv[])
{
	print_loaded();
	if(argc != 2) return 2;
	int port = atoi(argv[1]);
	main_thread = pthread_self();
	mosquitto_lib_init();

	CHECK_RC(skeeter_shared_loop_set(-1), MOSQ_ERR_INVAL);
	CHECK_RC(skeeter_shared_loop_set(257), MOSQ_ERR_INVAL);
	CHECK_RC(skeeter_shared_loop_set(5), MOSQ_ERR_SUCCESS);
	/* Changed again before the pool starts: the last call counts. */
	CHECK_RC(skeeter_shared_loop_set(2), MOSQ_ERR_SUCCESS);

	int fds_before = open_fds();
	for(long i = 0; i < CLIENTS; i++){
		/* Userdata is the index + 1: NULL would stand for the handle. */
		clients[i] = mosquitto_new(NULL, true, (void *)(i + 1));
		mosquitto_connect_callback_set(clients[i], on_connect);
		mosquitto_subscribe_callback_set(clients[i], on_subscribe);
		mosquitto_message_callback_set(clients[i], on_message);
		CHECK_RC(mosquitto_connect(clients[i], "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(clients[i]), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(clients[i]), MOSQ_ERR_INVAL);
	}
	CHECK_RC(skeeter_shared_loop_set(2), MOSQ_ERR_ALREADY_EXISTS);
	CHECK(wait_for(&subscribed_n, CLIENTS, 10), "%d of %d subscribed", get(&subscribed_n), CLIENTS);
	/* A socket per client, and an epoll and an eventfd per pool thread. */
	int fds_added = open_fds() - fds_before;
	CHECK(fds_added <= CLIENTS + 2 * 2, "%d clients on the pool opened %d descriptors", CLIENTS, fds_added);

	for(long i = 0; i < CLIENTS; i++){
		char topic[32];
		snprintf(topic, sizeof(topic), "pool/%d/%ld", (int)getpid(), i);
		CHECK_RC(mosquitto_publish(clients[i], NULL, topic, 4, "ping", 1, false), MOSQ_ERR_SUCCESS);
	}
	for(int i = 0; i < CLIENTS; i++){
		CHECK(wait_for(&received[i], 1, 10), "client %d received nothing", i);
	}
	char topic0[32];
	snprintf(topic0, sizeof(topic0), "pool/%d/0", (int)getpid());
	CHECK_RC(mosquitto_publish(clients[0], NULL, topic0, 4, "stop", 1, false), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&stopped, 1, 10), "client 0 never stopped the loops");
	/* Client 1's loop was stopped (and joined, from another pool thread) or
	 * is ending (from the same one): a later stop says which. */
	int rc = mosquitto_loop_stop(clients[1], true);
	CHECK(rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_INVAL, "loop_stop: %d", rc);
	CHECK_RC(mosquitto_loop_stop(clients[1], true), MOSQ_ERR_INVAL);
	/* Client 0's own ends once its callback has returned. */
	CHECK_RC(mosquitto_loop_stop(clients[0], true), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_stop(clients[0], true), MOSQ_ERR_INVAL);

	pthread_mutex_lock(&lock);
	CHECK(thread_count <= 2, "callbacks ran on %d threads", thread_count);
	pthread_mutex_unlock(&lock);
	for(int i = 0; i < CLIENTS; i++){
		/* The running ones are stopped by destroy. */
		mosquitto_destroy(clients[i]);
	}
	mosquitto_lib_cleanup();
	return finish();
}
