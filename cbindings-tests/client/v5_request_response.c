/* MQTT 5 request/response with properties: the requester publishes with two user
 * properties, a content type, a response topic and correlation data; the responder
 * reads them in on_message_v5 with mosquitto_property_read_* and answers on the
 * response topic with the same correlation data.
 *
 *   v5_request_response PORT
 */
#include <mqtt_protocol.h>

#include "check.h"

static char request_topic[64], response_topic[64];
static int requests = 0, responses = 0;
static const char correlation[] = {'i', 'd', 0, 7};  /* binary, with a NUL inside */

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)flags; (void)props;
	CHECK(rc == 0, "on_connect_v5 rc %d", rc);
	bump(&connected);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)mid; (void)props;
	CHECK(count == 1 && granted[0] == 1, "granted %d", granted[0]);
	bump(&subscribed);
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid, int reason, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)mid; (void)props;
	/* 16: no matching subscribers, for a QoS 1 message nobody wanted. */
	CHECK(reason == 0, "on_publish_v5 reason %d", reason);
	bump(&published);
}

/* The responder. */
static void on_request(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg, const mosquitto_property *props)
{
	char *content_type = NULL, *name = NULL, *value = NULL, *reply_to = NULL;
	void *data = NULL;
	uint16_t data_len = 0;
	const mosquitto_property *p;
	mosquitto_property *reply = NULL;
	(void)userdata;

	CHECK(!strcmp(msg->topic, request_topic), "request on %s", msg->topic);
	CHECK(msg->payloadlen == 8 && !memcmp(msg->payload, "question", 8), "request payload");

	p = mosquitto_property_read_string(props, MQTT_PROP_CONTENT_TYPE, &content_type, false);
	CHECK(p != NULL && content_type && !strcmp(content_type, "text/x-question"), "content type %s", content_type ? content_type : "(none)");

	p = mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, &name, &value, false);
	CHECK(p != NULL && name && value && !strcmp(name, "colour") && !strcmp(value, "blue"),
			"first user property %s=%s", name ? name : "-", value ? value : "-");
	free(name); free(value); name = value = NULL;
	if(p){
		p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, true);
		CHECK(p != NULL && name && value && !strcmp(name, "colour") && !strcmp(value, "green"),
				"second user property %s=%s", name ? name : "-", value ? value : "-");
		free(name); free(value);
	}

	p = mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &reply_to, false);
	CHECK(p != NULL && reply_to && !strcmp(reply_to, response_topic), "response topic %s", reply_to ? reply_to : "(none)");
	p = mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &data_len, false);
	CHECK(p != NULL && data_len == sizeof(correlation) && !memcmp(data, correlation, sizeof(correlation)),
			"correlation data of %d bytes", data_len);

	if(reply_to && data){
		CHECK_RC(mosquitto_property_add_binary(&reply, MQTT_PROP_CORRELATION_DATA, data, data_len), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_property_add_string_pair(&reply, MQTT_PROP_USER_PROPERTY, "answered-by", "responder"), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_publish_v5(mosq, NULL, reply_to, 6, "answer", 1, false, reply), MOSQ_ERR_SUCCESS);
		mosquitto_property_free_all(&reply);
	}
	free(content_type);
	free(reply_to);
	free(data);
	bump(&requests);
}

/* The requester. */
static void on_response(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg, const mosquitto_property *props)
{
	void *data = NULL;
	uint16_t data_len = 0;
	char *name = NULL, *value = NULL;
	(void)mosq; (void)userdata;

	CHECK(!strcmp(msg->topic, response_topic), "response on %s", msg->topic);
	CHECK(msg->payloadlen == 6 && !memcmp(msg->payload, "answer", 6), "response payload");
	CHECK(mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &data_len, false) != NULL
			&& data_len == sizeof(correlation) && !memcmp(data, correlation, sizeof(correlation)),
			"correlation data in the response");
	CHECK(mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, &name, &value, false) != NULL
			&& !strcmp(name, "answered-by") && !strcmp(value, "responder"), "user property in the response");
	free(data); free(name); free(value);
	bump(&responses);
}

static struct mosquitto *client(int port, void (*on_message)(struct mosquitto *, void *, const struct mosquitto_message *, const mosquitto_property *))
{
	struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), MOSQ_ERR_SUCCESS);
	mosquitto_connect_v5_callback_set(mosq, on_connect);
	mosquitto_subscribe_v5_callback_set(mosq, on_subscribe);
	mosquitto_publish_v5_callback_set(mosq, on_publish);
	mosquitto_message_v5_callback_set(mosq, on_message);
	CHECK_RC(mosquitto_connect_bind_v5(mosq, "127.0.0.1", port, 60, NULL, NULL), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
	return mosq;
}

int main(int argc, char *argv[])
{
	struct mosquitto *responder, *requester;
	mosquitto_property *props = NULL;
	int port;

	print_loaded();
	if(argc != 2) return 2;
	port = atoi(argv[1]);
	snprintf(request_topic, sizeof(request_topic), "skeeter/request/%d", (int)getpid());
	snprintf(response_topic, sizeof(response_topic), "skeeter/response/%d", (int)getpid());
	mosquitto_lib_init();

	responder = client(port, on_request);
	requester = client(port, on_response);
	CHECK(wait_for(&connected, 2, 20), "not connected");
	CHECK_RC(mosquitto_subscribe_v5(responder, NULL, request_topic, 1, 0, NULL), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_subscribe_v5(requester, NULL, response_topic, 1, 0, NULL), MOSQ_ERR_SUCCESS);
	CHECK(wait_for(&subscribed, 2, 20), "not subscribed");

	CHECK_RC(mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "colour", "blue"), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "colour", "green"), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, "text/x-question"), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, response_topic), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, correlation, sizeof(correlation)), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_publish_v5(requester, NULL, request_topic, 8, "question", 1, false, props), MOSQ_ERR_SUCCESS);
	mosquitto_property_free_all(&props);

	/* A property that is not allowed on PUBLISH is refused before anything is sent. */
	CHECK_RC(mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 5), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_publish_v5(requester, NULL, request_topic, 1, "x", 1, false, props), MOSQ_ERR_PROTOCOL);
	mosquitto_property_free_all(&props);

	CHECK(wait_for(&responses, 1, 20), "no response");
	CHECK(get(&requests) == 1, "%d requests", get(&requests));
	CHECK(wait_for(&published, 2, 20), "on_publish_v5 called %d times", get(&published));

	mosquitto_disconnect(responder);
	mosquitto_disconnect(requester);
	mosquitto_loop_stop(responder, false);
	mosquitto_loop_stop(requester, false);
	mosquitto_destroy(responder);
	mosquitto_destroy(requester);
	mosquitto_lib_cleanup();
	return finish();
}
