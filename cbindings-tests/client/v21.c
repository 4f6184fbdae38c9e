/* libmosquitto 2.1's callbacks and property accessors against a real broker.
 * Debian's 2.0.11 lacks them, so this runs on our library only.
 *
 *   v21 PORT pre-connect forever|start|reconnect 311|5
 *       The broker knows alice/s3cret. on_pre_connect sets the password before
 *       every attempt, a wrong one first: the first attempt is refused, the
 *       reconnect (automatic in loop_forever and on the loop_start thread,
 *       mosquitto_reconnect in "reconnect") is accepted. It runs on the
 *       connecting thread, with no socket open, and may call the API.
 *   v21 PORT pre-connect-exit
 *       pthread_exit in on_pre_connect ends the thread calling mosquitto_connect;
 *       the process goes on and the client connects afterwards.
 *   v21 PORT unsubscribe 311|5
 *       on_unsubscribe2_v5 after on_unsubscribe and on_unsubscribe_v5, with one
 *       reason code per filter over MQTT 5 and none (NULL) over 3.1.1.
 *   v21 PORT received
 *       The accessors on the properties of a received MQTT 5 message, and
 *       mosquitto_property_remove on a copy of them.
 */
#include <pthread.h>
#include <mqtt_protocol.h>

#include "check.h"
#include "../property_text.h"

static bool v5;

static int protocol_of(const char *arg)
{
	v5 = !strcmp(arg, "5");
	return v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
}

/* ------------------------------------------------------------------------- */
/* on_pre_connect */

static int pre_connects = 0, connects = 0, disconnects = 0;
static int connect_rcs[4] = {-1, -1, -1, -1};
static pthread_t main_thread, pre_connect_threads[4];
static bool stop_after_accept = true;

static void on_pre_connect(struct mosquitto *mosq, void *userdata)
{
	int n = get(&pre_connects);

	CHECK(userdata == &pre_connects, "on_pre_connect userdata %p", userdata);
	/* The old connection is closed before, the new one opened after. */
	CHECK(mosquitto_socket(mosq) == -1, "a socket is open in on_pre_connect");
	if(n < 4) pre_connect_threads[n] = pthread_self();
	/* A wrong password for the first attempt, the right one after: an API
	 * call, so no client lock may be held here. */
	CHECK_RC(mosquitto_username_pw_set(mosq, "alice", n == 0 ? "wrong" : "s3cret"), MOSQ_ERR_SUCCESS);
	bump(&pre_connects);
}

static void on_connect_recording(struct mosquitto *mosq, void *userdata, int rc)
{
	int n = get(&connects);

	(void)userdata;
	if(n < 4) connect_rcs[n] = rc;
	if(rc == 0 && stop_after_accept) mosquitto_disconnect(mosq);
	/* Refused again: the password did not change; end loop_forever's retries. */
	if(rc != 0 && n > 0) mosquitto_disconnect(mosq);
	bump(&connects);
}

static void on_disconnect_counting(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata; (void)rc;
	bump(&disconnects);
}

/* mosquitto_loop until *value >= at_least, errors included (a refusal ends
 * the connection: the loop reports it, then NO_CONN until a reconnect). */
static bool loop_through_errors(struct mosquitto *mosq, const int *value, int at_least)
{
	double deadline = now() + 20;
	while(get(value) < at_least){
		if(mosquitto_loop(mosq, 100, 1) == MOSQ_ERR_NO_CONN) usleep(10000);
		if(now() > deadline) return false;
	}
	return true;
}

static void check_refused_then_accepted(void)
{
	int refused = v5 ? MQTT_RC_NOT_AUTHORIZED : 5;
	CHECK(get(&connect_rcs[0]) == refused, "first attempt rc %d", get(&connect_rcs[0]));
	CHECK(get(&connect_rcs[1]) == 0, "second attempt rc %d", get(&connect_rcs[1]));
}

static int pre_connect(int port, const char *mode, const char *protocol)
{
	struct mosquitto *mosq = mosquitto_new(NULL, true, &pre_connects);

	main_thread = pthread_self();
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, protocol_of(protocol)), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_reconnect_delay_set(mosq, 1, 1, false), MOSQ_ERR_SUCCESS);
	mosquitto_pre_connect_callback_set(mosq, on_pre_connect);
	mosquitto_connect_callback_set(mosq, on_connect_recording);
	mosquitto_disconnect_callback_set(mosq, on_disconnect_counting);

	if(!strcmp(mode, "forever")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		/* Refused, reconnected after a second, accepted, disconnected. */
		CHECK_RC(mosquitto_loop_forever(mosq, -1, 1), MOSQ_ERR_SUCCESS);
		CHECK(get(&pre_connects) == 2, "on_pre_connect called %d times", get(&pre_connects));
		CHECK(pthread_equal(pre_connect_threads[1], main_thread), "the reconnect's on_pre_connect ran elsewhere");
		check_refused_then_accepted();
	}else if(!strcmp(mode, "start")){
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK(get(&pre_connects) == 1, "connect called on_pre_connect %d times", get(&pre_connects));
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&connects, 2, 20), "%d CONNACKs", get(&connects));
		CHECK(wait_for(&disconnects, 2, 20), "%d disconnects", get(&disconnects));
		CHECK_RC(mosquitto_loop_stop(mosq, false), MOSQ_ERR_SUCCESS);
		CHECK(get(&pre_connects) == 2, "on_pre_connect called %d times", get(&pre_connects));
		/* The reconnect is the loop thread's. */
		CHECK(!pthread_equal(pre_connect_threads[1], main_thread), "the reconnect's on_pre_connect ran on the main thread");
		check_refused_then_accepted();
	}else{
		stop_after_accept = false;
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK(loop_through_errors(mosq, &connects, 1), "no CONNACK");
		CHECK_RC(mosquitto_reconnect(mosq), MOSQ_ERR_SUCCESS);
		CHECK(get(&pre_connects) == 2, "on_pre_connect called %d times", get(&pre_connects));
		CHECK(loop_through_errors(mosq, &connects, 2), "no second CONNACK");
		check_refused_then_accepted();
		/* While connected: on_pre_connect still finds the socket closed. */
		CHECK_RC(mosquitto_reconnect_async(mosq), MOSQ_ERR_SUCCESS);
		CHECK(get(&pre_connects) == 3, "on_pre_connect called %d times", get(&pre_connects));
		CHECK(loop_through_errors(mosq, &connects, 3), "no third CONNACK");
		CHECK(get(&connect_rcs[2]) == 0, "third attempt rc %d", get(&connect_rcs[2]));
		for(int i = 0; i < 3; i++){
			CHECK(pthread_equal(pre_connect_threads[i], main_thread), "on_pre_connect %d ran elsewhere", i);
		}
		CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
		CHECK(loop_through_errors(mosq, &disconnects, 2), "no on_disconnect");
	}
	mosquitto_destroy(mosq);
	return finish();
}

/* on_pre_connect may end its thread (pthread_exit): the unwind passes through
 * the connect call, no lock stays held, and the client connects afterwards. */

static int exits = 0;

static void on_pre_connect_exiting_once(struct mosquitto *mosq, void *userdata)
{
	(void)userdata;
	if(bump(&exits) == 1) pthread_exit(NULL);
	CHECK_RC(mosquitto_username_pw_set(mosq, "alice", "s3cret"), MOSQ_ERR_SUCCESS);
}

struct connect_args {
	struct mosquitto *mosq;
	int port;
};

static void *connect_on_a_thread(void *arg)
{
	struct connect_args *args = arg;
	mosquitto_connect(args->mosq, "127.0.0.1", args->port, 60);
	printf("FAIL mosquitto_connect returned after pthread_exit in on_pre_connect\n");
	bump(&check_failures);
	return NULL;
}

static int pre_connect_exit(int port)
{
	struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
	struct connect_args args = {mosq, port};
	pthread_t thread;

	stop_after_accept = true;
	mosquitto_pre_connect_callback_set(mosq, on_pre_connect_exiting_once);
	mosquitto_connect_callback_set(mosq, on_connect_recording);
	mosquitto_disconnect_callback_set(mosq, on_disconnect_counting);
	CHECK(pthread_create(&thread, NULL, connect_on_a_thread, &args) == 0, "pthread_create");
	CHECK(pthread_join(thread, NULL) == 0, "pthread_join");
	printf("the process goes on\n");
	CHECK(get(&exits) == 1, "on_pre_connect called %d times", get(&exits));
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK(loop_through_errors(mosq, &disconnects, 1), "no connection and disconnect");
	CHECK(get(&connect_rcs[0]) == 0, "rc %d after pthread_exit", get(&connect_rcs[0]));
	mosquitto_destroy(mosq);
	return finish();
}

/* ------------------------------------------------------------------------- */
/* on_unsubscribe2_v5 */

static int unsubscribes = 0;
static char order[64];
static int unsub_mid = -1, code_count = -1, codes[4] = {-1, -1, -1, -1};
static bool codes_null = false, props_null = false;

static void note(const char *what)
{
	strncat(order, what, sizeof(order) - strlen(order) - 1);
}

static void on_unsubscribe(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata; (void)mid;
	note("1");
}

static void on_unsubscribe_v5(struct mosquitto *mosq, void *userdata, int mid, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)mid; (void)props;
	note("v5");
}

static void on_unsubscribe2_v5(struct mosquitto *mosq, void *userdata, int mid,
		int count, const int *reason_codes, const mosquitto_property *props)
{
	(void)mosq; (void)userdata;
	note("2v5");
	unsub_mid = mid;
	code_count = count;
	codes_null = reason_codes == NULL;
	for(int i = 0; i < count && i < 4; i++) codes[i] = reason_codes[i];
	props_null = props == NULL;
	bump(&unsubscribes);
}

static int unsubscribe(int port, const char *protocol)
{
	char subscribed_topic[64], never_subscribed[64];
	char *topics[2] = {subscribed_topic, never_subscribed};
	struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
	int mid;

	snprintf(subscribed_topic, sizeof(subscribed_topic), "skeeter/v21/%d/a", (int)getpid());
	snprintf(never_subscribed, sizeof(never_subscribed), "skeeter/v21/%d/b", (int)getpid());
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, protocol_of(protocol)), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(mosq, count_connect);
	mosquitto_subscribe_callback_set(mosq, count_subscribe);
	mosquitto_unsubscribe2_v5_callback_set(mosq, on_unsubscribe2_v5);
	mosquitto_unsubscribe_v5_callback_set(mosq, on_unsubscribe_v5);
	mosquitto_unsubscribe_callback_set(mosq, on_unsubscribe);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &connected, 1, 20), "not connected");
	CHECK_RC(mosquitto_subscribe(mosq, NULL, subscribed_topic, 1), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &subscribed, 1, 20), "no SUBACK");
	CHECK_RC(mosquitto_unsubscribe_multiple(mosq, &mid, 2, topics, NULL), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &unsubscribes, 1, 20), "no on_unsubscribe2_v5");
	CHECK(!strcmp(order, "1v52v5"), "callback order %s", order);
	CHECK(unsub_mid == mid, "mid %d, unsubscribe returned %d", unsub_mid, mid);
	if(v5){
		CHECK(code_count == 2 && !codes_null, "%d reason codes (NULL: %d)", code_count, codes_null);
		CHECK(codes[0] == MQTT_RC_SUCCESS && codes[1] == MQTT_RC_NO_SUBSCRIPTION_EXISTED,
				"reason codes %d %d", codes[0], codes[1]);
	}else{
		CHECK(code_count == 0 && codes_null, "%d reason codes (NULL: %d)", code_count, codes_null);
		CHECK(props_null, "properties over MQTT 3.1.1");
	}
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	mosquitto_loop(mosq, 100, 1);
	mosquitto_destroy(mosq);
	return finish();
}

/* ------------------------------------------------------------------------- */
/* Accessors on received properties */

static int received = 0;
static char received_text[1024], after_remove_text[1024];
static unsigned correlation[3];
static uint32_t expiry = 0;

static void on_message_v5(struct mosquitto *mosq, void *userdata,
		const struct mosquitto_message *msg, const mosquitto_property *props)
{
	mosquitto_property *copy = NULL, *removed;
	const mosquitto_property *expiry_node, *data_node;
	const unsigned char *data;

	(void)mosq; (void)userdata; (void)msg;
	/* Message expiry counts down at the broker: read it alone, then skip it. */
	expiry_node = mosquitto_property_read_int32(props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, NULL, false);
	expiry = mosquitto_property_int32_value(expiry_node);
	data_node = mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, NULL, NULL, false);
	data = mosquitto_property_binary_value(data_node);
	CHECK(data && mosquitto_property_binary_value_length(data_node) == 3, "no correlation data");
	if(data){
		for(int i = 0; i < 3; i++) correlation[i] = data[i];
	}

	CHECK(mosquitto_property_copy_all(&copy, props) == MOSQ_ERR_SUCCESS, "copy_all");
	removed = (mosquitto_property *)mosquitto_property_read_int32(copy, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, NULL, false);
	CHECK_RC(mosquitto_property_remove(&copy, removed), MOSQ_ERR_SUCCESS);
	CHECK(mosquitto_property_int32_value(removed) == expiry, "the removed node changed");
	mosquitto_property_free_all(&removed);
	CHECK_RC(mosquitto_property_remove(&copy, expiry_node), MOSQ_ERR_NOT_FOUND);
	CHECK(property_list_text(copy, received_text, sizeof(received_text)), "text too long");

	/* The user property goes too: what is left. */
	removed = (mosquitto_property *)mosquitto_property_read_string_pair(copy, MQTT_PROP_USER_PROPERTY, NULL, NULL, false);
	CHECK_RC(mosquitto_property_remove(&copy, removed), MOSQ_ERR_SUCCESS);
	mosquitto_property_free_all(&removed);
	CHECK(property_list_text(copy, after_remove_text, sizeof(after_remove_text)), "text too long");
	mosquitto_property_free_all(&copy);
	bump(&received);
}

static int received_properties(int port)
{
	char topic[64];
	struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
	mosquitto_property *sub_props = NULL, *pub_props = NULL;

	snprintf(topic, sizeof(topic), "skeeter/v21/%d/props", (int)getpid());
	CHECK_RC(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, protocol_of("5")), MOSQ_ERR_SUCCESS);
	mosquitto_connect_callback_set(mosq, count_connect);
	mosquitto_subscribe_callback_set(mosq, count_subscribe);
	mosquitto_message_v5_callback_set(mosq, on_message_v5);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &connected, 1, 20), "not connected");

	CHECK_RC(mosquitto_property_add_varint(&sub_props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, 42), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_subscribe_v5(mosq, NULL, topic, 1, 0, sub_props), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &subscribed, 1, 20), "no SUBACK");

	CHECK_RC(mosquitto_property_add_byte(&pub_props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_int32(&pub_props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 3600), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_string(&pub_props, MQTT_PROP_CONTENT_TYPE, "text/plain"), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_binary(&pub_props, MQTT_PROP_CORRELATION_DATA, "\x07\x00\x09", 3), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_property_add_string_pair(&pub_props, MQTT_PROP_USER_PROPERTY, "room", "kitchen"), MOSQ_ERR_SUCCESS);
	CHECK_RC(mosquitto_publish_v5(mosq, NULL, topic, 2, "hi", 1, false, pub_props), MOSQ_ERR_SUCCESS);
	CHECK(loop_until(mosq, &received, 1, 20), "no message");

	CHECK(expiry > 3500 && expiry <= 3600, "message expiry %u", expiry);
	CHECK(correlation[0] == 7 && correlation[1] == 0 && correlation[2] == 9,
			"correlation data %u %u %u", correlation[0], correlation[1], correlation[2]);
	printf("received:\n%s", received_text);
	/* mosquitto 2.0 sends them in its own order; each is there once. */
	CHECK(strstr(received_text, "1 byte 1\n"), "payload format indicator");
	CHECK(strstr(received_text, "3 string text/plain\n"), "content type");
	CHECK(strstr(received_text, "9 binary 3\n"), "correlation data");
	CHECK(strstr(received_text, "38 pair room=kitchen\n"), "user property");
	CHECK(strstr(received_text, "11 varint 42\n"), "subscription identifier");
	CHECK(!strstr(received_text, "2 int32"), "message expiry not removed");
	CHECK(!strstr(after_remove_text, "38 pair"), "user property not removed");
	CHECK(strstr(after_remove_text, "3 string text/plain\n"), "content type gone too");

	mosquitto_property_free_all(&sub_props);
	mosquitto_property_free_all(&pub_props);
	CHECK_RC(mosquitto_disconnect(mosq), MOSQ_ERR_SUCCESS);
	mosquitto_loop(mosq, 100, 1);
	mosquitto_destroy(mosq);
	return finish();
}

int main(int argc, char *argv[])
{
	int port, rc = 2;

	print_loaded();
	if(argc < 3) return 2;
	port = atoi(argv[1]);
	mosquitto_lib_init();
	if(!strcmp(argv[2], "pre-connect") && argc == 5){
		rc = pre_connect(port, argv[3], argv[4]);
	}else if(!strcmp(argv[2], "pre-connect-exit") && argc == 3){
		rc = pre_connect_exit(port);
	}else if(!strcmp(argv[2], "unsubscribe") && argc == 4){
		rc = unsubscribe(port, argv[3]);
	}else if(!strcmp(argv[2], "received") && argc == 3){
		rc = received_properties(port);
	}
	mosquitto_lib_cleanup();
	return rc;
}
