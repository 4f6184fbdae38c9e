/* A responder that passes nodes of a received property list straight back to
 * the library, as MQTT 5 request/response code does: the Correlation Data node
 * that mosquitto_property_read_binary returned goes to mosquitto_publish_v5, and
 * the User Property node that read_string_pair returned goes to subscribe_v5,
 * unsubscribe_v5 and disconnect_v5. Each call must send that one property, not
 * the rest of the request's list after it. The test's fake broker sends the
 * request (Correlation Data, User Property, Content Type, in that order) and
 * checks the bytes of each packet.
 *
 *   v5_received_node PORT
 */
#include <mqtt_protocol.h>

#include "check.h"

static int answered = 0, disconnected = 0;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)flags; (void)props;
	CHECK(rc == 0, "on_connect_v5 rc %d", rc);
	bump(&connected);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata; (void)rc;
	bump(&disconnected);
}

static void on_request(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg, const mosquitto_property *props)
{
	const mosquitto_property *correlation, *user;
	(void)userdata; (void)msg;

	correlation = mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, NULL, NULL, false);
	user = mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, NULL, NULL, false);
	CHECK(correlation == props, "correlation data is the first node");
	CHECK(user != NULL && user == mosquitto_property_next(props), "user property is the second node");
	if(!correlation || !user){
		mosquitto_disconnect(mosq);
		return;
	}
	CHECK_RC(mosquitto_publish_v5(mosq, NULL, "resp", 5, "reply", 0, false, correlation), MOSQ_ERR_SUCCESS);
	/* Content Type, the node after this one, may not be in these packets: sent
	 * along, it would make the calls fail their property check. */
	CHECK_RC(mosquitto_subscribe_v5(mosq, NULL, "s", 0, 0, user), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_unsubscribe_v5(mosq, NULL, "s", user), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_disconnect_v5(mosq, 0, user), MOSQ_ERR_SUCCESS);
	bump(&answered);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	double deadline;

	print_loaded();
	if(argc != 2){
		printf("usage: v5_received_node PORT\n");
		return 2;
	}
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(mosq, on_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_message_v5_callback_set(mosq, on_request);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);

	deadline = now() + 10;
	while(!get(&disconnected) && now() < deadline){
		int rc = mosquitto_loop(mosq, 100, 1);
		if(rc != MOSQ_ERR_SUCCESS) break;
	}
	CHECK(get(&connected) == 1, "connected %d times", get(&connected));
	CHECK(get(&answered) == 1, "answered %d requests", get(&answered));
	CHECK(get(&disconnected) == 1, "disconnected %d times", get(&disconnected));

	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return check_failures ? 1 : 0;
}
