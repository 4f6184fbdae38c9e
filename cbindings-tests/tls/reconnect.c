/* Reconnecting over TLS (and through a SOCKS5 proxy): mosquitto_loop_start keeps
 * the connection, the test restarts the broker, and the thread connects again
 * with a new TLS session (and proxy handshake), then a message goes round.
 *
 *   reconnect HOST PORT CAFILE [SOCKS_PORT]
 *
 * Prints "connected 1" once connected; the test then restarts the broker.
 */
#include "../client/check.h"

static char topic[64];
static int received = 0;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	printf("connected %d\n", bump(&connected));
	CHECK_RC(mosquitto_subscribe(mosq, NULL, topic, 1), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)userdata; (void)mid; (void)count; (void)granted;
	if(get(&connected) >= 2){
		CHECK_RC(mosquitto_publish(mosq, NULL, topic, 5, "again", 1, false), MOSQ_ERR_SUCCESS);
	}
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata; (void)msg;
	bump(&received);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;

	print_loaded();
	if(argc < 4) return 2;
	snprintf(topic, sizeof(topic), "skeeter/tls-reconnect/%d", (int)getpid());
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_callback_set(mosq, on_message);
	mosquitto_reconnect_delay_set(mosq, 1, 1, false);
	CHECK_RC(mosquitto_tls_set(mosq, argv[3], NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
	if(argc > 4){
		CHECK_RC(mosquitto_socks5_set(mosq, "127.0.0.1", atoi(argv[4]), NULL, NULL), MOSQ_ERR_SUCCESS);
	}
	CHECK_RC(mosquitto_connect_async(mosq, argv[1], atoi(argv[2]), 60), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&connected, 2, 30), "connected %d times, wanted 2", get(&connected));
	CHECK(wait_for(&received, 1, 10), "no message after the reconnect");
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
