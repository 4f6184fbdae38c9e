/* The one-call helpers: mosquitto_subscribe_simple returns the first N messages,
 * mosquitto_subscribe_callback calls a function for each until it returns 1. Both
 * are fed retained messages that a plain client published first; with
 * want_retained false, subscribe_simple skips them and returns a live message.
 * Argument checks and error codes are libmosquitto 2.0.11's.
 *
 *   helpers PORT
 */
#include "check.h"

#include <pthread.h>

static int calls = 0, live_done = 0;
static struct mosquitto *live_pub;
static char live_topic[80];

/* Publishes a live message every 100 ms until subscribe_simple has returned: the
 * first one after its subscription is made is the one it returns. */
static void *publish_live(void *arg)
{
	(void)arg;
	for(int i = 0; i < 200 && !get(&live_done); i++){
		mosquitto_publish(live_pub, NULL, live_topic, 4, "live", 1, false);
		usleep(100 * 1000);
	}
	return NULL;
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
	mosquitto_publish_callback_set(pub, count_publish);
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
	/* Retained messages skipped: the one message is the live one. */
	{
		pthread_t thread;
		snprintf(live_topic, sizeof(live_topic), "%s/live", base);
		live_pub = pub;
		CHECK_RC(mosquitto_loop_start(pub), MOSQ_ERR_SUCCESS);
		pthread_create(&thread, NULL, publish_live, NULL);
		msgs = NULL;
		CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, false, filter, 1, "127.0.0.1", port, "skeeter-helper", 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
		set(&live_done, 1);
		pthread_join(thread, NULL);
		CHECK_RC(mosquitto_loop_stop(pub, true), MOSQ_ERR_SUCCESS);  /* libmosquitto's false would wait for a disconnect */
		CHECK(msgs != NULL, "no live message");
		if(msgs){
			CHECK(!msgs[0].retain, "retained message returned");
			CHECK(!strcmp(msgs[0].topic, live_topic), "topic %s", msgs[0].topic);
			CHECK(msgs[0].payloadlen == 4 && !memcmp(msgs[0].payload, "live", 4), "payload");
			mosquitto_message_free_contents(&msgs[0]);
			free(msgs);
		}
	}

	/* Bad arguments: *messages is left alone by the argument checks... */
	msgs = (struct mosquitto_message *)&calls;
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 0, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_subscribe_simple(&msgs, -1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, NULL, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK(msgs == (struct mosquitto_message *)&calls, "*messages changed by an argument check");
	CHECK_RC(mosquitto_subscribe_simple(NULL, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_subscribe_callback(NULL, NULL, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_subscribe_callback(on_each, base, NULL, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	/* ...and set to NULL by any later failure. */
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, NULL, port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK(msgs == NULL, "*messages not NULL after a failure");
	/* mosquitto_new's refusals are reported as out of memory, as libmosquitto does. */
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, false, NULL, NULL, NULL, NULL), MOSQ_ERR_NOMEM);
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, "", 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_NOMEM);
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, NULL, 3, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", -1, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_INVAL);
	CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "nonexistent.invalid", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_EAI);
	/* The will, credentials and TLS settings go through will_set, username_pw_set,
	 * tls_set and tls_opts_set, with their checks. */
	{
		struct libmosquitto_will will = {0};
		struct libmosquitto_tls tls = {0};
		CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, &will, NULL), MOSQ_ERR_INVAL);
		will.topic = "will/#";
		CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, &will, NULL), MOSQ_ERR_INVAL);
		will.topic = "will";
		will.payloadlen = -1;
		CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, &will, NULL), MOSQ_ERR_PAYLOAD_SIZE);
		CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, "\xff", NULL, NULL, NULL), MOSQ_ERR_MALFORMED_UTF8);
		CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, &tls), MOSQ_ERR_INVAL);
		tls.cafile = "/nonexistent/ca.crt";
		CHECK_RC(mosquitto_subscribe_simple(&msgs, 1, true, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, &tls), MOSQ_ERR_INVAL);
		CHECK(msgs == NULL, "*messages not NULL after a failure");
	}

	CHECK_RC(mosquitto_subscribe_callback(on_each, base, filter, 1, "127.0.0.1", port, NULL, 60, true, NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
	CHECK(get(&calls) == 3, "callback called %d times", get(&calls));

	/* Clear the retained messages. */
	int before = get(&published);
	for(int i = 0; i < 3; i++){
		snprintf(topic, sizeof(topic), "%s/%d", base, i);
		mosquitto_publish(pub, NULL, topic, 0, NULL, 1, true);
	}
	loop_until(pub, &published, before + 3, 20);
	mosquitto_disconnect(pub);
	mosquitto_destroy(pub);
	mosquitto_lib_cleanup();
	return finish();
}
