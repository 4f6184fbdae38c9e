/* The one-call helpers: mosquitto_subscribe_simple returns the first N messages,
 * mosquitto_subscribe_callback calls a function for each until it returns 1. Both
 * are fed retained messages that a plain client published first.
 *
 *   helpers PORT
 */
#include "check.h"

static int published = 0, calls = 0;

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata; (void)mid;
	bump(&published);
}

static int on_each(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	const char *want = userdata;
	(void)mosq;
	CHECK(msg->retain, "not retained");
	CHECK(!strncmp(msg->topic, want, strlen(want)), "topic %s", msg->topic);
	return bump(&calls) == 3 ? 1 : 0;  /* 1: stop */
}

int main(int argc, char *argv[])
{
	struct mosquitto *pub;
	struct mosquitto_message *msgs = NULL;
	char base[64], topic[80], filter[80];
	int port;

	print_loaded();
	if(argc != 2) return 2;
	port = atoi(argv[1]);
	snprintf(base, sizeof(base), "skeeter/helpers/%d", (int)getpid());
	snprintf(filter, sizeof(filter), "%s/#", base);
	mosquitto_lib_init();

	pub = mosquitto_new(NULL, true, NULL);
	mosquitto_publish_callback_set(pub, on_publish);
	CHECK_RC(mosquitto_connect(pub, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	for(int i = 0; i < 3; i++){
		snprintf(topic, sizeof(topic), "%s/%d", base, i);
		CHECK_RC(mosquitto_publish(pub, NULL, topic, 5, "saved", 1, true), MOSQ_ERR_SUCCESS);
	}
	CHECK(loop_until(pub, &published, 3, 20), "retained messages not published");

	CHECK_RC(mosquitto_subscribe_simple(&msgs, 2, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
	CHECK(msgs != NULL, "no messages");
	if(msgs){
		for(int i = 0; i < 2; i++){
			CHECK(msgs[i].retain, "message %d not retained", i);
			CHECK(msgs[i].payloadlen == 5 && !memcmp(msgs[i].payload, "saved", 5), "payload %d", i);
			CHECK(!strncmp(msgs[i].topic, base, strlen(base)), "topic %s", msgs[i].topic);
			mosquitto_message_free_contents(&msgs[i]);
		}
		free(msgs);
	}
	/* Bad arguments. */
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 0, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_subscribe_simple(NULL, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);

	CHECK_RC(mosquitto_subscribe_callback(on_each, base, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
	CHECK(get(&calls) == 3, "callback called %d times", get(&calls));

	/* Clear the retained messages. */
	for(int i = 0; i < 3; i++){
		snprintf(topic, sizeof(topic), "%s/%d", base, i);
		mosquitto_publish(pub, NULL, topic, 0, NULL, 1, true);
	}
	loop_until(pub, &published, 6, 20);
	mosquitto_disconnect(pub);
	mosquitto_destroy(pub);
	mosquitto_lib_cleanup();
	return finish();
}
