/* Opens a persistence directory whose log a test damaged (tests/persistence.rs).
 *
 *   damaged PORT DIR CLIENT_ID EXPECTED_RC EXPECTED_RESTORED
 *
 * skeeter_persistence_set must return EXPECTED_RC (0, or 3 for MOSQ_ERR_INVAL)
 * without crashing. When it succeeded, the client connects (clean session false)
 * and must complete exactly EXPECTED_RESTORED messages it never published itself:
 * the intact records before the damage, sent again.
 */
#include "../client/check.h"
#include <skeeter.h>

static int completed = 0;

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	(void)mosq; (void)userdata; (void)mid;
	bump(&completed);
}

int main(int argc, char *argv[])
{
	if(argc != 6){
		fprintf(stderr, "usage: damaged PORT DIR CLIENT_ID EXPECTED_RC EXPECTED_RESTORED\n");
		return 2;
	}
	print_loaded();
	int port = atoi(argv[1]);
	int expected_rc = atoi(argv[4]);
	int expected = atoi(argv[5]);
	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(argv[3], false, NULL);
	CHECK(mosq != NULL, "mosquitto_new");
	CHECK_RC(skeeter_persistence_set(mosq, argv[2]), expected_rc);
	if(expected_rc == MOSQ_ERR_SUCCESS){
		mosquitto_publish_callback_set(mosq, on_publish);
		CHECK_RC(mosquitto_connect(mosq, "127.0.0.1", port, 60), MOSQ_ERR_SUCCESS);
		CHECK(loop_until(mosq, &completed, expected, 10.0), "%d of %d restored messages completed", get(&completed), expected);
		/* None beyond them. */
		double until = now() + 0.5;
		while(now() < until){
			mosquitto_loop(mosq, 50, 1);
		}
		CHECK(get(&completed) == expected, "%d completed, wanted %d", get(&completed), expected);
		mosquitto_disconnect(mosq);
	}
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	return finish();
}
