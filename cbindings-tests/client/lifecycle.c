/* Stopping and destroying in every state returns promptly (within 5 s):
 *
 *   lifecycle PORT destroy-connected       destroy a connected client, no loop thread
 *   lifecycle PORT destroy-loop-start      destroy while loop_start's thread runs
 *   lifecycle PORT stop-after-disconnect   loop_stop(false) after mosquitto_disconnect
 *   lifecycle PORT stop-connected          loop_stop(true) while connected
 *   lifecycle PORT stop-never-connected    loop_start, never connect, loop_stop(true)
 *   lifecycle PORT stop-reconnecting       prints "connected"; the test stops the
 *                                          broker; loop_stop(true) while reconnecting
 *   lifecycle PORT stop-false-connected    loop_stop(false) while connected
 *   lifecycle PORT stop-false-never-connected
 *   lifecycle PORT stop-false-reconnecting as stop-reconnecting, with loop_stop(false)
 *   lifecycle PORT reinit-connected        mosquitto_reinitialise with a connection open
 *   lifecycle PORT reinit-loop-start       mosquitto_reinitialise while loop_start runs
 *
 * The stop-false modes hang on libmosquitto, whose loop_stop(false) waits for a
 * disconnect (see the README's differences).
 */
#include "check.h"

static int disconnected = 0;

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata; (void)rc;
	bump(&disconnected);
}

#define PROMPTLY(call, want) \
	do{ \
		double start_ = now(); \
		CHECK_RC(call, want); \
		CHECK(now() - start_ < 5, "%s took %.1f s", #call, now() - start_); \
	}while(0)

static void destroy_promptly(struct mosquitto *mosq)
{
	double start = now();
	mosquitto_destroy(mosq);
	CHECK(now() - start < 5, "mosquitto_destroy took %.1f s", now() - start);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	const char *mode;
	int port;

	print_loaded();
	if(argc != 3) return 2;
	port = atoi(argv[1]);
	mode = argv[2];
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, count_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	CHECK_RC(mosquitto_reconnect_delay_set(mosq, 1, 1, false), MOSQ_ERR_SUCCESS);

	if(!strcmp(mode, "destroy-connected")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK(loop_until(mosq, &connected, 1, 20), "not connected");
		destroy_promptly(mosq);
	}else if(!strcmp(mode, "destroy-loop-start")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&connected, 1, 20), "not connected");
		destroy_promptly(mosq);
	}else if(!strcmp(mode, "stop-after-disconnect")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_INVAL);  /* already running */
		CHECK(wait_for(&connected, 1, 20), "not connected");
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
		PROMPTLY(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
		CHECK(get(&disconnected) == 1, "on_disconnect called %d times", get(&disconnected));
		CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_INVAL);  /* no thread now */
		destroy_promptly(mosq);
	}else if(!strcmp(mode, "stop-connected")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&connected, 1, 20), "not connected");
		PROMPTLY(mosquitto_loop_stop(mosq, true), MOSQ_ERR_SUCCESS);
		/* Still connected, and usable with the caller's own loop calls. */
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
		CHECK(loop_until(mosq, &disconnected, 1, 20) || get(&disconnected) == 1, "no on_disconnect");
		destroy_promptly(mosq);
	}else if(!strcmp(mode, "stop-never-connected")){
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		usleep(200 * 1000);
		PROMPTLY(mosquitto_loop_stop(mosq, true), MOSQ_ERR_SUCCESS);
		destroy_promptly(mosq);
	}else if(!strcmp(mode, "stop-reconnecting") || !strcmp(mode, "stop-false-reconnecting")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&connected, 1, 20), "not connected");
		printf("connected\n");
		CHECK(wait_for(&disconnected, 1, 20), "no on_disconnect after the broker stopped");
		usleep(1500 * 1000);  /* into the reconnect attempts */
		PROMPTLY(mosquitto_loop_stop(mosq, !strcmp(mode, "stop-reconnecting")), MOSQ_ERR_SUCCESS);
		destroy_promptly(mosq);
	}else if(!strcmp(mode, "stop-false-connected")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&connected, 1, 20), "not connected");
		PROMPTLY(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
		CHECK(get(&disconnected) == 0, "on_disconnect called");
		/* The connection stays; the caller's own loop calls take over. */
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
		CHECK(loop_until(mosq, &disconnected, 1, 20) || get(&disconnected) == 1, "no on_disconnect");
		destroy_promptly(mosq);
	}else if(!strcmp(mode, "stop-false-never-connected")){
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		usleep(200 * 1000);
		PROMPTLY(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_INVAL);
		destroy_promptly(mosq);
	}else if(!strcmp(mode, "reinit-connected") || !strcmp(mode, "reinit-loop-start")){
		bool threaded = !strcmp(mode, "reinit-loop-start");
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		if(threaded){
			CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
			CHECK(wait_for(&connected, 1, 20), "not connected");
		}else{
			CHECK(loop_until(mosq, &connected, 1, 20), "not connected");
		}
		CHECK(mosquitto_socket(mosq) >= 0, "no socket while connected");
		PROMPTLY(mosquitto_reinitialise(mosq, "skeeter-reinit", true, NULL), MOSQ_ERR_SUCCESS);
		/* The thread is gone and the socket closed, without a DISCONNECT callback. */
		CHECK(mosquitto_socket(mosq) == -1, "socket %d still open", mosquitto_socket(mosq));
		CHECK(get(&disconnected) == 0, "on_disconnect called %d times", get(&disconnected));
		CHECK_RC(mosquitto_loop_stop(mosq, true), MOSQ_ERR_INVAL);  /* no thread */
		CHECK_RC(mosquitto_loop(mosq, 10, 1), MOSQ_ERR_NO_CONN);
		/* The handle works as a new one: callbacks were cleared, so set them again. */
		mosquitto_connect_callback_set(mosq, count_connect);
		mosquitto_disconnect_callback_set(mosq, on_disconnect);
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		if(threaded){
			CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
			CHECK(wait_for(&connected, 2, 20), "not connected again");
			CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
			CHECK(wait_for(&disconnected, 1, 20), "no on_disconnect");
			PROMPTLY(mosquitto_loop_stop(mosq, true), MOSQ_ERR_SUCCESS);
		}else{
			CHECK(loop_until(mosq, &connected, 2, 20), "not connected again");
			CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
			CHECK(loop_until(mosq, &disconnected, 1, 20) || get(&disconnected) == 1, "no on_disconnect");
		}
		destroy_promptly(mosq);
	}else{
		return 2;
	}
	mosquitto_lib_cleanup();
	return finish();
}
