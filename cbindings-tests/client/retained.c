/* A retained message is delivered to a later subscriber with the retain flag set;
 * the same message live to a subscriber that was already there has it clear; an
 * empty retained message clears it.
 *
 *   retained PORT
 */
#include "check.h"

static int received = 0;
static int last_retain = -1;
static char last_payload[64];

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata;
	snprintf(last_payload, sizeof(last_payload), "%.*s", msg->payloadlen, (char *)msg->payload);
	set(&last_retain, msg->retain);
	bump(&received);
}

int main(int argc, char *argv[])
{
	struct mosquitto *pub, *sub;
	char topic[64];
	int port;

	print_loaded();
	if(argc != 2) return 2;
	port = atoi(argv[1]);
	snprintf(topic, sizeof(topic), "skeeter/retained/%d", (int)getpid());
	mosquitto_lib_init();

	pub = start_client(port, on_message);
	CHECK(wait_for(&connected, 1, 20), "publisher not connected");
	CHECK_RC(mosquitto_publish(pub, NULL, topic, 4, "kept", 1, true), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&published, 1, 20), "no on_publish for the retained message");

	/* A new subscriber gets it at once, flagged retained. */
	sub = start_client(port, on_message);
	CHECK(wait_for(&connected, 2, 20), "subscriber not connected");
	CHECK_RC(mosquitto_subscribe(sub, NULL, topic, 1), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&received, 1, 20), "no retained message");
	CHECK(get(&last_retain) == 1, "retain flag %d on the stored message", get(&last_retain));
	CHECK(!strcmp(last_payload, "kept"), "payload %s", last_payload);
	CHECK(wait_for(&subscribed, 1, 20), "no on_subscribe");

	/* Published while subscribed: delivered live, retain clear (MQTT 3.1.1 3.3.1.3). */
	CHECK_RC(mosquitto_publish(pub, NULL, topic, 4, "live", 1, true), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&received, 2, 20), "no live message");
	CHECK(get(&last_retain) == 0, "retain flag %d on a live message", get(&last_retain));
	CHECK(!strcmp(last_payload, "live"), "payload %s", last_payload);

	/* An empty retained message clears the topic: a new subscription gets nothing. */
	CHECK_RC(mosquitto_publish(pub, NULL, topic, 0, NULL, 1, true), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&received, 3, 20), "the empty message was not delivered");
	CHECK(last_payload[0] == '\0', "payload %s", last_payload);
	CHECK_RC(mosquitto_unsubscribe(sub, NULL, topic), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_subscribe(sub, NULL, topic, 1), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&subscribed, 2, 20), "no second on_subscribe");
	usleep(300 * 1000);
	CHECK(get(&received) == 3, "a cleared retained message was delivered");

	mosquitto_disconnect(pub);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(pub, false);
	mosquitto_loop_stop(sub, false);
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	return finish();
}
