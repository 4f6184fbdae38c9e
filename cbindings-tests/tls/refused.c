/* A connection that TLS or the proxy refuses: a CA that did not sign the broker's
 * certificate, a broker certificate for another name, a wrong proxy password.
 * Prints what a program sees, for the test to compare:
 *
 *   connect: RC            mosquitto_connect's (or connect_async's) result
 *   failed: RC errno E     the first failing loop call's result (and errno)
 *   disconnect: RC         on_disconnect's rc, if it was called
 *   log: LINE              each line logged at MOSQ_LOG_ERR
 *
 *   refused MODE HOST PORT [--cafile F] [--capath D] [--insecure]
 *                          [--cert F --key F [--key-password P]]
 *                          [--socks PORT [--socks-user U --socks-pass P]]
 *
 * MODE: "loop" (mosquitto_loop until it fails), "forever" (mosquitto_loop_forever
 * returns the error) or "start" (mosquitto_connect_async and mosquitto_loop_start;
 * the thread ends on the error, seen through on_disconnect or the log). Exits 0
 * once a failure was seen and on_connect was never called.
 */
#include "args.h"

static int disconnected = 0, disconnect_rc = -1, errors_logged = 0;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata; (void)rc;
	bump(&connected);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	set(&disconnect_rc, rc);
	bump(&disconnected);
}

static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *line)
{
	(void)mosq; (void)userdata;
	if(level == MOSQ_LOG_ERR){
		printf("log: %s\n", line);
		bump(&errors_logged);
	}
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	struct tls_args args;
	int rc = MOSQ_ERR_SUCCESS, err = 0;
	double deadline;

	print_loaded();
	if(!parse_tls_args(argc, argv, &args)) return 2;

	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_log_callback_set(mosq, on_log);
	apply_tls_args(mosq, &args);

	if(!strcmp(args.mode, "start")){
		rc = mosquitto_connect_async(mosq, args.host, args.port, 60);
		printf("connect: %d\n", rc);
		if(rc == MOSQ_ERR_SUCCESS){
			CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
			double until = now() + 10;
			while(!get(&disconnected) && !get(&errors_logged) && now() < until) usleep(1000);
			usleep(100000); /* what else the thread reports */
			mosquitto_loop_stop(mosq, true);
		}
	}else{
		rc = mosquitto_connect(mosq, args.host, args.port, 60);
		printf("connect: %d\n", rc);
		if(rc == MOSQ_ERR_SUCCESS && !strcmp(args.mode, "forever")){
			rc = mosquitto_loop_forever(mosq, 100, 1);
			err = errno;
		}else if(rc == MOSQ_ERR_SUCCESS){
			deadline = now() + 10;
			while(rc == MOSQ_ERR_SUCCESS && now() < deadline){
				rc = mosquitto_loop(mosq, 100, 1);
				err = errno;
			}
		}
		if(rc != MOSQ_ERR_SUCCESS){
			printf("failed: %d errno %d (%s)\n", rc, rc == MOSQ_ERR_ERRNO ? err : 0,
					rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc));
		}
	}
	if(get(&disconnected)) printf("disconnect: %d\n", get(&disconnect_rc));
	CHECK(get(&connected) == 0, "on_connect was called");
	CHECK(rc != MOSQ_ERR_SUCCESS || get(&disconnected) || get(&errors_logged), "no failure seen");
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
