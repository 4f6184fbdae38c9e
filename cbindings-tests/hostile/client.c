/* A client that meets a hostile broker (tests/client_hostile.rs plays the broker).
 *
 * It connects, runs mosquitto_loop until the connection ends, and reports every
 * answer the library gives, one line each, for the test to check:
 *
 *   loaded: <file>                    the libmosquitto the loader chose
 *   arg OPTION                        each option, as given
 *   connect rc N                      mosquitto_connect*'s return code
 *   connect errno N TEXT              the errno of a connect that returned MOSQ_ERR_ERRNO
 *   on_connect rc N flags F           and on_connect_v5 rc N flags F
 *   on_disconnect rc N                and on_disconnect_v5 rc N reason_string S
 *   on_message topic T qos Q mid M payloadlen L
 *   on_publish mid M reason R         (on_publish_v5)
 *   on_subscribe mid M count C granted Q...
 *   publish rc N mid M
 *   log LEVEL message                 the log callback, every level
 *   loop rc N (text)                  the first mosquitto_loop return code other than 0
 *   deadline                          the time limit passed first
 *   disconnect rc N                   mosquitto_disconnect, when the client ends it
 *   elapsed S                         seconds from connect to the end
 *   maxrss_kb N                       peak resident memory (VmHWM; getrusage's
 *                                     ru_maxrss counts the parent's before exec)
 *   done
 *
 * Options, after the port:
 *   v=31|311|5        protocol version (default 311)
 *   keepalive=N       (default 60)
 *   seconds=N         time limit for the whole run (default 10)
 *   maxpacket=N       MQTT 5 CONNECT property Maximum Packet Size
 *   aliasmax=N        MQTT 5 CONNECT property Topic Alias Maximum
 *   sub=N             after CONNACK, subscribe to N topics in one SUBSCRIBE
 *   pub=Q:R:S:C       after CONNACK, publish C messages of S bytes at QoS Q, retain R
 *   until=end|connect|message|published
 *                     end (default): run until the library ends the connection;
 *                     otherwise until that happened, then linger, then disconnect
 *   linger=S          seconds to keep looping after `until` (default 0)
 *   limit_memory      cap the address space at its size now plus 192 MiB, so that a
 *                     library allocating a length it read from the network fails
 *   resilient         skeeter.h's extensions on (our library only): a server list
 *                     holding the broker, re-subscribe, a bounded offline queue
 *                     keeping QoS 0, QoS downgrade to the broker's maximum, a 1 MiB
 *                     cap on incoming packets, a 1 s connect timeout, ±20 %
 *                     jitter, and with sub=N a handler on hostile/# (one SUBSCRIBE
 *                     more); prints "handler topic T" and, at the end,
 *                     "stats queued Q out O in I dropped D reconnects R index X"
 *   reconnects=N      after a loop error, call mosquitto_reconnect up to N times
 *                     ("reconnect rc N" each) and go on looping
 *
 *   client PORT [OPTION...]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#if __has_include(<skeeter.h>)
#include <skeeter.h>
#define HAVE_SKEETER 1
#endif

#include "../client/check.h"

static int connects = 0, connect_rc = -1, disconnects = 0;
static int messages = 0;

static const char *level_name(int level)
{
	switch(level){
		case MOSQ_LOG_INFO: return "INFO";
		case MOSQ_LOG_NOTICE: return "NOTICE";
		case MOSQ_LOG_WARNING: return "WARNING";
		case MOSQ_LOG_ERR: return "ERR";
		case MOSQ_LOG_DEBUG: return "DEBUG";
		default: return "OTHER";
	}
}

static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *str)
{
	(void)mosq; (void)userdata;
	printf("log %s %s\n", level_name(level), str ? str : "(null)");
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	printf("on_connect rc %d\n", rc);
}

static void on_connect_v5(struct mosquitto *mosq, void *userdata, int rc, int flags,
		const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)props;
	printf("on_connect_v5 rc %d flags %d\n", rc, flags);
	connect_rc = rc;
	connects++;
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	(void)mosq; (void)userdata;
	printf("on_disconnect rc %d\n", rc);
}

static void on_disconnect_v5(struct mosquitto *mosq, void *userdata, int rc,
		const mosquitto_property *props)
{
	char *reason = NULL;

	(void)mosq; (void)userdata;
	mosquitto_property_read_string(props, MQTT_PROP_REASON_STRING, &reason, false);
	printf("on_disconnect_v5 rc %d reason_string %s\n", rc, reason ? reason : "(none)");
	free(reason);
	disconnects++;
}

static void on_message_v5(struct mosquitto *mosq, void *userdata,
		const struct mosquitto_message *msg, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)props;
	printf("on_message topic %s qos %d mid %d payloadlen %d\n",
			msg->topic ? msg->topic : "(null)", msg->qos, msg->mid, msg->payloadlen);
	messages++;
}

static void on_publish_v5(struct mosquitto *mosq, void *userdata, int mid, int reason,
		const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)props;
	printf("on_publish mid %d reason %d\n", mid, reason);
	published++;
}

static void on_subscribe_v5(struct mosquitto *mosq, void *userdata, int mid, int count,
		const int *granted, const mosquitto_property *props)
{
	(void)mosq; (void)userdata; (void)props;
	printf("on_subscribe mid %d count %d granted", mid, count);
	for(int i = 0; i < count; i++) printf(" %d", granted[i]);
	printf("\n");
}

/* A "Name: N kB" line of /proc/self/status; -1 if missing. */
static long status_kb(const char *name)
{
	FILE *status = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	size_t len = strlen(name);

	if(!status) return -1;
	while(fgets(line, sizeof(line), status)){
		if(!strncmp(line, name, len)){
			kb = atol(line + len);
			break;
		}
	}
	fclose(status);
	return kb;
}

/* Caps the address space (RLIMIT_AS) at its size now plus 192 MiB. */
static void limit_memory(void)
{
	long vm_kb = status_kb("VmSize:");
	struct rlimit limit;

	if(vm_kb < 0) return;
	limit.rlim_cur = limit.rlim_max = (rlim_t)(vm_kb + 192 * 1024) * 1024;
	if(setrlimit(RLIMIT_AS, &limit) == 0){
		printf("address space limited to %ld MiB\n", vm_kb / 1024 + 192);
	}
}

/* The first loop error, 0 while none. */
static int loop_error = 0;
/* reconnects=N: how many more mosquitto_reconnect calls a loop error may make. */
static int reconnects_left = 0;

/* After a loop error: reconnects while reconnects= allows. True if connected
 * again (the loop goes on). */
static bool reconnect_after_error(struct mosquitto *mosq)
{
	while(reconnects_left > 0){
		int rc;
		reconnects_left--;
		rc = mosquitto_reconnect(mosq);
		printf("reconnect rc %d\n", rc);
		if(rc == MOSQ_ERR_SUCCESS) return true;
	}
	return false;
}

/* One mosquitto_loop call; false on an error the client could not reconnect
 * after. The first error is reported and kept. */
static bool loop_once(struct mosquitto *mosq)
{
	int rc = mosquitto_loop(mosq, 100, 1);
	if(rc == MOSQ_ERR_SUCCESS) return true;
	printf("loop rc %d (%s)\n", rc, mosquitto_strerror(rc));
	if(!loop_error) loop_error = rc;
	return reconnect_after_error(mosq);
}

/* Runs mosquitto_loop until *value >= at_least (never, with value NULL), a loop
 * error, or the deadline. Returns false on error or deadline. */
static bool loop_to_deadline(struct mosquitto *mosq, const int *value, int at_least, double deadline)
{
	while(!value || *value < at_least){
		if(now() > deadline){
			printf("deadline\n");
			return false;
		}
		if(!loop_once(mosq)) return false;
	}
	return true;
}

static bool loop_for(struct mosquitto *mosq, double seconds, double deadline)
{
	double end = now() + seconds;
	if(end > deadline) end = deadline;
	while(now() < end){
		if(!loop_once(mosq)) return false;
	}
	return true;
}

#ifdef HAVE_SKEETER
static void on_handler(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
	(void)mosq; (void)userdata;
	printf("handler topic %s\n", msg->topic ? msg->topic : "(null)");
}

/* Every extension on, with the broker at `port` as the only server. */
static void set_resilient(struct mosquitto *mosq, int port)
{
	char uri[64];
	const char *uris[1] = {uri};
	snprintf(uri, sizeof(uri), "mqtt://127.0.0.1:%d", port);
	CHECK_RC(skeeter_servers_set(mosq, uris, 1), MOSQ_ERR_SUCCESS);
	CHECK_RC(skeeter_resubscribe_set(mosq, true), MOSQ_ERR_SUCCESS);
	CHECK_RC(skeeter_offline_queue_set(mosq, 16, 65536, SKEETER_DROP_OLDEST | SKEETER_KEEP_QOS0), MOSQ_ERR_SUCCESS);
	CHECK_RC(skeeter_max_qos_set(mosq, SKEETER_MAX_QOS_FROM_BROKER), MOSQ_ERR_SUCCESS);
	CHECK_RC(skeeter_max_incoming_packet_set(mosq, 1024 * 1024), MOSQ_ERR_SUCCESS);
	CHECK_RC(skeeter_connect_timeout_set(mosq, 1000), MOSQ_ERR_SUCCESS);
	CHECK_RC(skeeter_reconnect_jitter_set(mosq, 20), MOSQ_ERR_SUCCESS);
}

static void print_stats(struct mosquitto *mosq)
{
	struct skeeter_stats stats;
	CHECK_RC(skeeter_stats(mosq, &stats, sizeof(stats)), MOSQ_ERR_SUCCESS);
	printf("stats queued %llu out %llu in %llu dropped %llu reconnects %llu index %d\n",
			(unsigned long long)stats.messages_queued,
			(unsigned long long)stats.messages_in_flight_out,
			(unsigned long long)stats.messages_in_flight_in,
			(unsigned long long)stats.messages_dropped,
			(unsigned long long)stats.reconnects, stats.server_index);
}
#endif

int main(int argc, char *argv[])
{
	struct mosquitto *mosq;
	mosquitto_property *props = NULL;
	int port, version = MQTT_PROTOCOL_V311, keepalive = 60, subs = 0;
	int pub_qos = 0, pub_retain = 0, pub_size = 0, pub_count = 0, published_ok = 0;
	double seconds = 10, linger = 0, start, deadline;
	const char *until = "end";
	bool resilient = false;
	int rc;

	print_loaded();
	if(argc < 2) return 2;
	port = atoi(argv[1]);
	mosquitto_lib_init();

	for(int i = 2; i < argc; i++){
		const char *arg = argv[i];
		printf("arg %s\n", arg);
		if(!strcmp(arg, "v=31")) version = MQTT_PROTOCOL_V31;
		else if(!strcmp(arg, "v=311")) version = MQTT_PROTOCOL_V311;
		else if(!strcmp(arg, "v=5")) version = MQTT_PROTOCOL_V5;
		else if(!strncmp(arg, "keepalive=", 10)) keepalive = atoi(arg + 10);
		else if(!strncmp(arg, "seconds=", 8)) seconds = atof(arg + 8);
		else if(!strncmp(arg, "linger=", 7)) linger = atof(arg + 7);
		else if(!strncmp(arg, "until=", 6)) until = arg + 6;
		else if(!strncmp(arg, "sub=", 4)) subs = atoi(arg + 4);
		else if(!strncmp(arg, "pub=", 4)){
			if(sscanf(arg + 4, "%d:%d:%d:%d", &pub_qos, &pub_retain, &pub_size, &pub_count) != 4) return 2;
		}else if(!strncmp(arg, "maxpacket=", 10)){
			mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, (uint32_t)atol(arg + 10));
		}else if(!strncmp(arg, "aliasmax=", 9)){
			mosquitto_property_add_int16(&props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM, (uint16_t)atoi(arg + 9));
		}else if(!strcmp(arg, "limit_memory")) limit_memory();
		else if(!strcmp(arg, "resilient")) resilient = true;
		else if(!strncmp(arg, "reconnects=", 11)) reconnects_left = atoi(arg + 11);
		else{
			printf("unknown option %s\n", arg);
			return 2;
		}
	}

	mosq = mosquitto_new("skeeter-hostile", true, NULL);
	if(!mosq){
		printf("mosquitto_new failed\n");
		return 1;
	}
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, version);
	mosquitto_log_callback_set(mosq, on_log);
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_connect_v5_callback_set(mosq, on_connect_v5);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_disconnect_v5_callback_set(mosq, on_disconnect_v5);
	mosquitto_message_v5_callback_set(mosq, on_message_v5);
	mosquitto_publish_v5_callback_set(mosq, on_publish_v5);
	mosquitto_subscribe_v5_callback_set(mosq, on_subscribe_v5);
	if(resilient){
#ifdef HAVE_SKEETER
		set_resilient(mosq, port);
#else
		printf("resilient needs skeeter.h\n");
		return 2;
#endif
	}

	start = now();
	deadline = start + seconds;
	rc = mosquitto_connect_bind_v5(mosq, "127.0.0.1", port, keepalive, NULL, props);
	int connect_errno = errno;
	mosquitto_property_free_all(&props);
	printf("connect rc %d\n", rc);
	if(rc == MOSQ_ERR_ERRNO) printf("connect errno %d %s\n", connect_errno, strerror(connect_errno));
	if(rc != MOSQ_ERR_SUCCESS) goto end;

	if(!strcmp(until, "end")){
		loop_to_deadline(mosq, NULL, 0, deadline);
		goto end;
	}

	/* Connected: subscribe and publish as asked. */
	if(!loop_to_deadline(mosq, &connects, 1, deadline)) goto end;
	if(subs > 0){
		char *topics[8] = {"hostile/0", "hostile/1", "hostile/2", "hostile/3",
			"hostile/4", "hostile/5", "hostile/6", "hostile/7"};
		int mid = -1;
		if(subs > 8) subs = 8;
		rc = mosquitto_subscribe_multiple(mosq, &mid, subs, topics, 1, 0, NULL);
		printf("subscribe rc %d mid %d\n", rc, mid);
#ifdef HAVE_SKEETER
		if(resilient){
			rc = skeeter_subscribe_handler(mosq, &mid, "hostile/#", 1, on_handler, NULL);
			printf("subscribe_handler rc %d mid %d\n", rc, mid);
		}
#endif
	}
	if(pub_count > 0){
		char *payload = calloc(1, (size_t)pub_size + 1);
		memset(payload, 'x', (size_t)pub_size);
		for(int i = 0; i < pub_count; i++){
			int mid = -1;
			rc = mosquitto_publish(mosq, &mid, "hostile/pub", pub_size, payload, pub_qos, pub_retain != 0);
			printf("publish rc %d mid %d\n", rc, mid);
			if(rc == MOSQ_ERR_SUCCESS) published_ok++;
		}
		free(payload);
	}

	if(!strcmp(until, "message")){
		if(!loop_to_deadline(mosq, &messages, 1, deadline)) goto end;
	}else if(!strcmp(until, "published")){
		if(!loop_to_deadline(mosq, &published, published_ok, deadline)) goto end;
	}
	if(!loop_for(mosq, linger, deadline)) goto end;

	/* The client ends the connection. */
	rc = mosquitto_disconnect(mosq);
	printf("disconnect rc %d\n", rc);
	loop_to_deadline(mosq, &disconnects, 1, now() + 5);

end:
#ifdef HAVE_SKEETER
	if(resilient) print_stats(mosq);
#endif
	printf("elapsed %.2f\n", now() - start);
	printf("maxrss_kb %ld\n", status_kb("VmHWM:"));
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	printf("done\n");
	(void)connect_rc;
	return check_failures ? 1 : 0;
}
