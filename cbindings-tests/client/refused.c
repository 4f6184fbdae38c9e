/* A broker refuses the connection (a wrong password, a version it does not
 * speak, a banned id). on_connect hears of it while the connection is still
 * open, so a program that disconnects there, as mosquitto_sub, _pub and _rr
 * do, gets MOSQ_ERR_SUCCESS, sends DISCONNECT and sees on_disconnect(0); one
 * that does not sees the refusal's code in on_disconnect and from the loop.
 *
 *   refused PORT 311|5 loop|forever|start disconnect|stay
 *
 * Prints "CONNECT <rc>", "DISCONNECT-CALL <rc>" (disconnect mode),
 * "ON-DISCONNECT <rc>" and "LOOP <rc>" (loop and forever modes).
 */
#include "check.h"

static int done = 0, disconnect_from_on_connect;

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	printf("CONNECT %d\n", rc);
	if(disconnect_from_on_connect){
		printf("DISCONNECT-CALL %d\n", mosquitto_disconnect(mosq));
	}
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)userdata;
	printf("ON-DISCONNECT %d\n", rc);
	set(&done, 1);
	/* loop_forever and loop_start would reconnect after a refusal. */
	if(!disconnect_from_on_connect) mosquitto_disconnect(mosq);
}

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	const char *loop;
	int rc = MOSQ_ERR_SUCCESS;
	double deadline;

	print_loaded();
	if(argc != 5) return 2;
	loop = argv[3];
	disconnect_from_on_connect = !strcmp(argv[4], "disconnect");
	mosquitto_lib_init();
	mosq = mosquitto_new("refused", true, NULL);
	if(!strcmp(argv[2], "5")){
		mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	}
	mosquitto_username_pw_set(mosq, "nobody", "wrong");
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", atoi(argv[1]), 60), MOSQ_ERR_SUCCESS);
	if(!strcmp(loop, "loop")){
		deadline = now() + 20;
		while(!get(&done) && now() < deadline){
			rc = mosquitto_loop(mosq, 100, 1);
			if(rc != MOSQ_ERR_SUCCESS) break;
		}
		printf("LOOP %d\n", rc);
	}else if(!strcmp(loop, "forever")){
		printf("LOOP %d\n", mosquitto_loop_forever(mosq, -1, 1));
	}else{
		CHECK_RC(mosquitto_loop_start(mosq), MOSQ_ERR_SUCCESS);
		CHECK(wait_for(&done, 1, 20), "no on_disconnect");
		usleep(100 * 1000);
		CHECK_RC(mosquitto_loop_stop(mosq, true), MOSQ_ERR_SUCCESS);
	}
	CHECK(get(&done), "no on_disconnect");
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
