/* Prints every line the log callback receives, and the connect, disconnect and
 * message callbacks, for a test that plays a fake broker script against it:
 *
 *   log_lines PORT PROTOCOL     PROTOCOL: 311 or 5
 *
 * Connects as "logger" (keepalive 60); on the CONNACK subscribes to "a/#" at QoS 1
 * and publishes "hi" to "t" at QoS 1; then runs mosquitto_loop until the
 * connection ends (or 10 s pass). Output lines:
 *   LOG <level> <text>
 *   CONNECT <rc>
 *   MESSAGE <topic> <payload>
 *   DISCONNECT <rc>
 *   LOOP <rc>            the first error mosquitto_loop returned
 */
#include "check.h"

#include <mqtt_protocol.h>

static int disconnected = 0;

static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *text)
{
	(void)mosq; (void)userdata;
	printf("LOG %d %s\n", level, text);
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	printf("CONNECT %d\n", rc);
	if(rc == 0){
		CHECK_RC(mosquitto_subscribe(mosq, NULL, "a/#", 1), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_publish(mosq, NULL, "t", 2, "hi", 1, false), MOSQ_ERR_SUCCESS);
	}
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata;
	printf("MESSAGE %s %.*s\n", msg->topic, msg->payloadlen, (char *)msg->payload);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	printf("DISCONNECT %d\n", rc);
	bump(&disconnected);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	int port, protocol, rc;
	double deadline;

	print_loaded();
	if(argc != 3) return 2;
	port = atoi(argv[1]);
	protocol = !strcmp(argv[2], "5") ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
	mosquitto_lib_init();
	mosq = mosquitto_new("logger", true, NULL);
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, protocol), MOSQ_ERR_SUCCESS);
	mosquitto_log_callback_set(mosq, on_log);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_message_callback_set(mosq, on_message);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	if(protocol == MQTT_PROTOCOL_V5){
		/* Extended authentication: libmosquitto 2.0 only sends the method and data. */
		mosquitto_property *props = NULL;
		CHECK_RC(mosquitto_property_add_string(&props, MQTT_PROP_AUTHENTICATION_METHOD, "X-TEST"), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_property_add_binary(&props, MQTT_PROP_AUTHENTICATION_DATA, "ab", 2), MOSQ_ERR_SUCCESS);
		CHECK_RC(mosquitto_connect_bind_v5(mosq, "127.0.0.1", port, 60, NULL, props), MOSQ_ERR_SUCCESS);
		mosquitto_property_free_all(&props);
	}else{
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	}
	deadline = now() + 10;
	while(!get(&disconnected) && now() < deadline){
		rc = mosquitto_loop(mosq, 100, 1);
		if(rc != MOSQ_ERR_SUCCESS){
			printf("LOOP %d\n", rc);
			break;
		}
	}
	CHECK(get(&disconnected) == 1, "on_disconnect called %d times", get(&disconnected));
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
