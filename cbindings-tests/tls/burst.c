/* A burst of messages to ourselves over TLS, received in the program's own poll()
 * loop. mosquitto sends each message as a TLS record of its own, so one read from
 * the socket can complete a large record and bring small ones after it, more
 * plaintext than the library takes in one read; poll() does not see what was
 * decrypted and not yet taken, so mosquitto_loop_read must take it too.
 *
 *   burst poll HOST PORT --cafile F
 */
#include "args.h"

/* Groups of one message of almost a whole TLS record and a few small ones. */
#define GROUPS 200
#define SMALL_PER_GROUP 8
#define LARGE 15000
#define SMALL 500
#define MESSAGES (GROUPS * (1 + SMALL_PER_GROUP))

static char topic[64];
static int received = 0;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	CHECK_RC(mosquitto_subscribe(mosq, NULL, topic, 0), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	static char payload[LARGE];
	(void)userdata; (void)mid; (void)count; (void)granted;
	memset(payload, 'b', sizeof(payload));
	for(int g = 0; g < GROUPS; g++){
		CHECK_RC(mosquitto_publish(mosq, NULL, topic, LARGE, payload, 0, false), MOSQ_ERR_SUCCESS);
		for(int i = 0; i < SMALL_PER_GROUP; i++){
			CHECK_RC(mosquitto_publish(mosq, NULL, topic, SMALL, payload, 0, false), MOSQ_ERR_SUCCESS);
		}
	}
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata;
	CHECK(msg->payloadlen == LARGE || msg->payloadlen == SMALL, "payload of %d bytes", msg->payloadlen);
	bump(&received);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	struct tls_args args;

	print_loaded();
	if(!parse_tls_args(argc, argv, &args) || strcmp(args.mode, "poll")) return 2;
	snprintf(topic, sizeof(topic), "skeeter/burst/%d", (int)getpid());

	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_callback_set(mosq, on_message);
	apply_tls_args(mosq, &args);
	CHECK_RC(mosquitto_connect(mosq, args.host, args.port, 60), MOSQ_ERR_SUCCESS);

	CHECK(own_poll_until(mosq, &received, MESSAGES, 20), "received %d of %d", get(&received), MESSAGES);
	mosquitto_disconnect(mosq);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
