/* skeeter's handlers per subscription, from C, against a real broker (skeeter
 * only: skeeter.h).
 *
 *   skeeter_handlers PORT
 *
 * Handlers on "<base>/a/#" (tag A), "$share/g/<base>/s/+" (tag S) and
 * "<base>/b" (tag B); each message must reach on_message and then exactly the
 * matching handlers. B removes itself with skeeter_unsubscribe_handler, so
 * the second "b" (published once that UNSUBSCRIBE is answered) reaches no one.
 * Prints "ready";
 * the test then restarts the broker, which forgets every subscription: with
 * re-subscribe on, the library makes A's and S's again in one SUBSCRIBE, and
 * the handlers get the messages published after that.
 */
#include "check.h"
#include <skeeter.h>

static char base[64], log_text[4096];
static int connects = 0, subacks = 0, renewed = 0, after = 0;
static const char *tag_a = "A", *tag_s = "S", *tag_b = "B";
static struct mosquitto *client;

/* The topic without "<base>/". */
static const char *suffix(const char *topic)
{
	size_t n = strlen(base);
	return strncmp(topic, base, n) == 0 && topic[n] == '/' ? topic + n + 1 : topic;
}

static void note(const char *who, const char *topic)
{
	size_t used = strlen(log_text);
	snprintf(log_text + used, sizeof(log_text) - used, "%s:%s ", who, suffix(topic));
}

static void publish(const char *sub_topic)
{
	char topic[128];
	snprintf(topic, sizeof(topic), "%s/%s", base, sub_topic);
	CHECK_RC(mosquitto_publish(client, NULL, topic, 1, "x", 1, false), MOSQ_ERR_SUCCESS);
}

static void handler(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	char filter[128];
	CHECK(mosq == client, "the handler got another handle");
	note(userdata, msg->topic);
	if(userdata == tag_b){
		/* A handler may remove itself: B is not called again. */
		snprintf(filter, sizeof(filter), "%s/b", base);
		CHECK_RC(skeeter_unsubscribe_handler(mosq, NULL, filter), MOSQ_ERR_SUCCESS);
	}
	if(get(&connects) == 2 && userdata != tag_b && bump(&after) == 2){
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	}
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	char filter[128];
	(void)userdata;
	CHECK(rc == 0, "on_connect rc %d", rc);
	if(bump(&connects) > 1){
		return; /* re-subscribe makes the subscriptions again */
	}
	snprintf(filter, sizeof(filter), "%s/a/#", base);
	CHECK_RC(skeeter_subscribe_handler(mosq, NULL, filter, 1, handler, (void *)tag_a), MOSQ_ERR_SUCCESS);
	snprintf(filter, sizeof(filter), "$share/g/%s/s/+", base);
	CHECK_RC(skeeter_subscribe_handler(mosq, NULL, filter, 1, handler, (void *)tag_s), MOSQ_ERR_SUCCESS);
	snprintf(filter, sizeof(filter), "%s/b", base);
	CHECK_RC(skeeter_subscribe_handler(mosq, NULL, filter, 1, handler, (void *)tag_b), MOSQ_ERR_SUCCESS);
	/* The same handler again for the same filter replaces it: still one call. */
	CHECK_RC(skeeter_subscribe_handler(mosq, NULL, filter, 1, handler, (void *)tag_b), MOSQ_ERR_SUCCESS);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted)
{
	(void)mosq; (void)userdata; (void)mid; (void)granted;
	if(get(&connects) == 1){
		if(bump(&subacks) == 4){
			publish("a/x");
			publish("s/y");
			publish("b");
		}
	}else{
		CHECK(count == 2, "the renewal carried %d filters, wanted both in one SUBSCRIBE", count);
		bump(&renewed);
		publish("a/after");
		publish("s/after");
	}
}

static void on_unsubscribe(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata; (void)mid;
	publish("b");
	publish("a/last");
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata;
	note("M", msg->topic);
	if(!strcmp(suffix(msg->topic), "a/last")){
		printf("ready\n");
		fflush(stdout);
	}
}

int main(int argc, char *argv[])
{
	print_loaded();
	if(argc != 2) return 2;
	snprintf(base, sizeof(base), "skeeter/handlers/%d", (int)getpid());
	mosquitto_lib_init();
	client = mosquitto_new(NULL, true, NULL);
	CHECK_RC(mosquitto_reconnect_delay_set(client, 1, 1, false), MOSQ_ERR_SUCCESS);
	CHECK_RC(skeeter_resubscribe_set(client, true), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(client, on_connect);
	mosquitto_subscribe_callback_set(client, on_subscribe);
	mosquitto_unsubscribe_callback_set(client, on_unsubscribe);
	mosquitto_message_callback_set(client, on_message);
	CHECK_RC(mosquitto_connect(client, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	/* Returns after the disconnect in the handler, once both messages after the
	 * restart were handled. */
	CHECK_RC(mosquitto_loop_forever(client, -1, 1), MOSQ_ERR_SUCCESS);

	printf("log: %s\n", log_text);
	/* Each message, then exactly its handlers (messages may come in any order). */
	const char *wanted[] = {
		"M:a/x A:a/x ", "M:s/y S:s/y ", "M:b B:b ", "M:a/last A:a/last ",
		"M:a/after A:a/after ", "M:s/after S:s/after ",
	};
	size_t total = 0;
	for(size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++){
		CHECK(strstr(log_text, wanted[i]) != NULL, "no \"%s\" in the log", wanted[i]);
		total += strlen(wanted[i]);
	}
	CHECK(strlen(log_text) == total, "more calls than wanted (B after its removal, a repeat)");
	CHECK(get(&renewed) == 1, "%d renewals, wanted 1", get(&renewed));
	mosquitto_destroy(client);
	mosquitto_lib_cleanup();
	return finish();
}
