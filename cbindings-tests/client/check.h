/* Small helpers shared by the client test programs.
 *
 * Each program prints "loaded: <file>" (the libmosquitto the loader chose), one
 * "FAIL ..." line per failed check, and exits 0 only when every check passed.
 * Callbacks may run on another thread (loop_start), so the counters they bump are
 * read and written with the __atomic builtins, and waits poll them with a deadline:
 * a library that never calls back fails the check instead of hanging the test.
 */
#ifndef SKEETER_CLIENT_CHECK_H
#define SKEETER_CLIENT_CHECK_H

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

static int check_failures = 0;

#define CHECK(cond, ...) \
	do{ \
		if(!(cond)){ \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__); \
			printf("\n"); \
			fflush(stdout); \
			__atomic_add_fetch(&check_failures, 1, __ATOMIC_SEQ_CST); \
		} \
	}while(0)

/* Checks a call's return code, printing the code's name when it differs. */
#define CHECK_RC(call, want) \
	do{ \
		int rc_ = (call); \
		if(rc_ != (want)){ \
			printf("FAIL %s:%d: %s returned %d (%s), wanted %d (%s)\n", \
					__FILE__, __LINE__, #call, rc_, mosquitto_strerror(rc_), \
					(want), mosquitto_strerror(want)); \
			fflush(stdout); \
			__atomic_add_fetch(&check_failures, 1, __ATOMIC_SEQ_CST); \
		} \
	}while(0)

static inline int get(const int *value)
{
	return __atomic_load_n(value, __ATOMIC_SEQ_CST);
}

static inline void set(int *value, int to)
{
	__atomic_store_n(value, to, __ATOMIC_SEQ_CST);
}

static inline int bump(int *value)
{
	return __atomic_add_fetch(value, 1, __ATOMIC_SEQ_CST);
}

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints the library the loader chose, and makes stdout line buffered so the test
 * sees each line as it is printed. Call first. */
static inline void print_loaded(void)
{
	Dl_info info;
	char path[PATH_MAX];
	void *symbol = dlsym(RTLD_DEFAULT, "mosquitto_lib_version");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(!symbol || !dladdr(symbol, &info) || !info.dli_fname){
		printf("loaded: (no libmosquitto found)\n");
		return;
	}
	if(!realpath(info.dli_fname, path)){
		snprintf(path, sizeof(path), "%s", info.dli_fname);
	}
	printf("loaded: %s\n", path);
}

/* Waits until *value >= at_least (set by callbacks on the loop_start thread). */
static inline bool wait_for(const int *value, int at_least, double seconds)
{
	double deadline = now() + seconds;
	while(get(value) < at_least){
		if(now() > deadline) return false;
		usleep(1000);
	}
	return true;
}

/* The program's own poll() loop: wait on mosquitto_socket (for writing too while
 * mosquitto_want_write), then mosquitto_loop_read, _write and _misc, until
 * *value >= at_least. False on timeout, a loop error, or a socket gone first. */
static inline bool own_poll_until(struct mosquitto *mosq, const int *value, int at_least, double seconds)
{
	double deadline = now() + seconds;
	while(get(value) < at_least){
		struct pollfd pfd;
		int rc;

		if(now() > deadline) return false;
		pfd.fd = mosquitto_socket(mosq);
		if(pfd.fd < 0) break;
		pfd.events = POLLIN;
		if(mosquitto_want_write(mosq)) pfd.events |= POLLOUT;
		if(poll(&pfd, 1, 100) < 0){
			printf("poll: %s\n", strerror(errno));
			return false;
		}
		rc = MOSQ_ERR_SUCCESS;
		if(pfd.revents & (POLLIN | POLLHUP | POLLERR)) rc = mosquitto_loop_read(mosq, 1);
		if(rc == MOSQ_ERR_SUCCESS && (pfd.revents & POLLOUT)) rc = mosquitto_loop_write(mosq, 1);
		if(rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(mosq);
		if(rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) break;
		if(rc != MOSQ_ERR_SUCCESS){
			printf("own poll loop: %d (%s)\n", rc, mosquitto_strerror(rc));
			return false;
		}
	}
	return get(value) >= at_least;
}

/* The loop of a program with work of its own: mosquitto_loop(mosq, 0, 1), which
 * never waits, between pieces of that work, until *value >= at_least. NO_CONN
 * (once the client has disconnected) is no error; false on timeout or another. */
static inline bool busy_loop_until(struct mosquitto *mosq, const int *value, int at_least, double seconds)
{
	double deadline = now() + seconds;
	while(get(value) < at_least){
		int rc = mosquitto_loop(mosq, 0, 1);
		if(rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN){
			printf("mosquitto_loop: %d (%s)\n", rc, mosquitto_strerror(rc));
			return false;
		}
		if(now() > deadline) return false;
		usleep(100); /* the program's own work */
	}
	return true;
}

/* Runs mosquitto_loop until *value >= at_least; false on timeout or a loop error. */
static inline bool loop_until(struct mosquitto *mosq, const int *value, int at_least, double seconds)
{
	double deadline = now() + seconds;
	while(get(value) < at_least){
		int rc = mosquitto_loop(mosq, 100, 1);
		if(rc != MOSQ_ERR_SUCCESS){
			printf("mosquitto_loop: %d (%s)\n", rc, mosquitto_strerror(rc));
			return false;
		}
		if(now() > deadline) return false;
	}
	return true;
}

/* The counters most programs wait on, and the callbacks that bump them. A program
 * that needs more from a callback writes its own and bumps the same counter. */
__attribute__((unused)) static int connected = 0, subscribed = 0, published = 0;

/* on_connect: a refused connection fails the check; counts CONNACKs in `connected`. */
__attribute__((unused)) static void count_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	bump(&connected);
}

/* on_subscribe: counts SUBACKs in `subscribed`. */
__attribute__((unused)) static void count_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)mosq; (void)userdata; (void)mid; (void)count; (void)granted;
	bump(&subscribed);
}

/* on_publish: counts completed publishes in `published`. */
__attribute__((unused)) static void count_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata; (void)mid;
	bump(&published);
}

/* A clean-session client on 127.0.0.1:port with the counting callbacks and
 * on_message, connected (keepalive 60) and running under loop_start. */
__attribute__((unused)) static struct mosquitto *start_client(int port,
		void (*on_message)(struct mosquitto *, void *, const struct mosquitto_message *))
{
	struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, count_connect);
	mosquitto_subscribe_callback_set(mosq, count_subscribe);
	mosquitto_publish_callback_set(mosq, count_publish);
	mosquitto_message_callback_set(mosq, on_message);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	return mosq;
}

/* Prints the verdict and returns the exit status. */
static inline int finish(void)
{
	int failures = get(&check_failures);
	if(failures){
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}

#endif
