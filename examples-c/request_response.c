/* request_response.c: MQTT 5 request/response. The client subscribes to its own
 * reply topic, then publishes a request carrying a Response Topic and
 * Correlation Data. A responder (here the same client, answering its own
 * request topic) replies to the response topic with the same correlation data.
 *
 *   cc request_response.c -lmosquitto -o request_response
 *   ./request_response localhost 1883
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#define REQUEST_TOPIC "demo/service/time"
#define REPLY_TOPIC "demo/replies/rr-example"

static int done = 0;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags,
		const mosquitto_property *props)
{
	(void)userdata; (void)flags; (void)props;
	if(rc != 0){
		fprintf(stderr, "rr: refused: %s\n", mosquitto_reason_string(rc));
		mosquitto_disconnect(mosq);
		return;
	}
	/* Listen for requests (as the responder) and for our replies. */
	mosquitto_subscribe(mosq, NULL, REQUEST_TOPIC, 1);
	mosquitto_subscribe(mosq, NULL, REPLY_TOPIC, 1);
}

/* Once both subscriptions are granted, send the request. */
static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count,
		const int *granted)
{
	(void)userdata; (void)count; (void)granted;
	if(mid != 2){
		return;
	}
	mosquitto_property *props = NULL;
	mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, REPLY_TOPIC);
	mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, "req-1", 5);
	mosquitto_publish_v5(mosq, NULL, REQUEST_TOPIC, 4, "now?", 1, false, props);
	mosquitto_property_free_all(&props); /* the library copied what it needs */
}

static void on_message(struct mosquitto *mosq, void *userdata,
		const struct mosquitto_message *msg, const mosquitto_property *props)
{
	(void)userdata;
	char *response_topic = NULL;
	void *correlation = NULL;
	uint16_t correlation_len = 0;

	mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA,
			&correlation, &correlation_len, false);

	if(!strcmp(msg->topic, REQUEST_TOPIC)){
		/* Responder: answer on the topic the request names, echoing the data. */
		if(mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC,
				&response_topic, false)){
			mosquitto_property *reply = NULL;
			if(correlation){
				mosquitto_property_add_binary(&reply, MQTT_PROP_CORRELATION_DATA,
						correlation, correlation_len);
			}
			mosquitto_publish_v5(mosq, NULL, response_topic, 8, "it's now", 1, false, reply);
			mosquitto_property_free_all(&reply);
			free(response_topic);
		}
	}else{
		/* Requester: the reply arrived; the correlation data says to what. */
		printf("rr: reply '%.*s' to request '%.*s'\n", msg->payloadlen, (char *)msg->payload,
				(int)correlation_len, correlation ? (char *)correlation : "");
		done = 1;
		mosquitto_disconnect(mosq);
	}
	free(correlation); /* read_* results are the caller's to free */
}

int main(int argc, char *argv[])
{
	if(argc != 3){
		fprintf(stderr, "usage: %s host port\n", argv[0]);
		return 2;
	}
	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
	/* Properties need MQTT 5, chosen before connecting. */
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_v5_callback_set(mosq, on_message);

	int rc = mosquitto_connect_bind_v5(mosq, argv[1], atoi(argv[2]), 60, NULL, NULL);
	if(rc != MOSQ_ERR_SUCCESS){
		fprintf(stderr, "rr: cannot connect: %s\n", mosquitto_strerror(rc));
		return 1;
	}
	/* Runs until on_message calls mosquitto_disconnect(). */
	mosquitto_loop_forever(mosq, -1, 1);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return done ? 0 : 1;
}
