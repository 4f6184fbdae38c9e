/* Connect, then disconnect: on_connect reports rc 0, on_disconnect rc 0 (the client
 * asked), in that order, once each; then the calls that need a connection say so.
 *
 *   connect PORT
 */
#include "check.h"

static int connects = 0, disconnects = 0;
static int connect_rc = -1, disconnect_rc = -1;
static int order_ok = 1;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	set(&connect_rc, rc);
	if(get(&disconnects) != 0) set(&order_ok, 0);
	bump(&connects);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	set(&disconnect_rc, rc);
	if(get(&connects) != 1) set(&order_ok, 0);
	bump(&disconnects);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	int port;

	print_loaded();
	if(argc != 2) return 2;
	port = atoi(argv[1]);

	mosquitto_lib_init();
	mosq = mosquitto_new("skeeter-connect", true, NULL);
	CHECK(mosq != NULL, "mosquitto_new");
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);

	/* Not connected yet. */
	CHECK(mosquitto_socket(mosq) == -1, "socket before connect: %d", mosquitto_socket(mosq));
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_NO_CONN);

	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_socket(mosq) >= 0, "socket after connect: %d", mosquitto_socket(mosq));
	CHECK(loop_until(mosq, &connects, 1, 20), "no on_connect");
	CHECK(get(&connect_rc) == 0, "on_connect rc %d", get(&connect_rc));

	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	/* The DISCONNECT goes out and the socket is closed by the next loop call, which
	 * reports the end of the connection as MOSQ_ERR_NO_CONN... */
	{
		double deadline = now() + 20;
		while(get(&disconnects) < 1 && now() < deadline){
			int rc = mosquitto_loop(mosq, 100, 1);
			if(rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN){
				CHECK(0, "mosquitto_loop after disconnect: %d (%s)", rc, mosquitto_strerror(rc));
				break;
			}
		}
	}
	CHECK(get(&disconnects) == 1, "on_disconnect called %d times", get(&disconnects));
	CHECK(get(&disconnect_rc) == 0, "on_disconnect rc %d, wanted 0 for a client-initiated disconnect", get(&disconnect_rc));
	CHECK(get(&order_ok), "callbacks out of order");
	/* ...and every later loop call too, without calling on_disconnect again. */
	CHECK_RC(mosquitto_loop(mosq, 10, 1), MOSQ_ERR_NO_CONN);
	CHECK(get(&disconnects) == 1, "on_disconnect called again");
	CHECK(get(&connects) == 1, "on_connect called %d times", get(&connects));
	CHECK(mosquitto_socket(mosq) == -1, "socket after disconnect: %d", mosquitto_socket(mosq));
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_NO_CONN);
	CHECK_RC(mosquitto_publish(mosq, NULL, "skeeter/offline", 1, "x", 0, false), MOSQ_ERR_NO_CONN);

	/* Reconnecting the same handle works. */
	CHECK_RC(mosquitto_reconnect(mosq), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &connects, 2, 20), "no on_connect after reconnect");
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_loop(mosq, 100, 1) != MOSQ_ERR_SUCCESS || mosquitto_loop(mosq, 100, 1) == MOSQ_ERR_NO_CONN, "still connected");
	CHECK(get(&disconnects) == 2, "on_disconnect after the second disconnect: %d", get(&disconnects));

	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
