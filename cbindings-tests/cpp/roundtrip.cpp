// roundtrip.cpp: Debian's C++ wrapper (mosqpp::mosquittopp, libmosquittopp.so.1) on
// whichever libmosquitto.so.1 the loader picks; run by tests/ecosystem.rs.
//
//   skeeter-cpp-test load                 print the library loaded, call lib_version
//   skeeter-cpp-test round-trip PORT      connect, subscribe, publish, receive, disconnect
//   skeeter-cpp-test throw PORT           on_message throws; main catches it around
//                                         loop_forever
//   skeeter-cpp-test throw-then-loop PORT the same, then loops on and disconnects
//
// The program links only -lmosquittopp: the wrapper is libmosquitto's user, so the
// library it loads is found with dlsym(RTLD_DEFAULT) and reported as "loaded: <file>".
// Prints one "ok ..." or "FAIL ..." line per check and exits 0 when all passed.

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include <mosquittopp.h>

namespace {

int failures = 0;

void check(bool ok, const std::string &what)
{
	std::printf("%s %s\n", ok ? "ok" : "FAIL", what.c_str());
	if(!ok) failures++;
}

std::string loaded_library()
{
	void *symbol = dlsym(RTLD_DEFAULT, "mosquitto_connect");
	Dl_info info;
	if(!symbol || !dladdr(symbol, &info) || !info.dli_fname) return "(no libmosquitto found)";
	char path[PATH_MAX];
	if(!realpath(info.dli_fname, path)) return info.dli_fname;
	return path;
}

const char payload[] = "hello\0from mosquittopp";  // with a NUL inside

class Client : public mosqpp::mosquittopp {
public:
	Client(const char *id, std::string topic) : mosqpp::mosquittopp(id, true), topic_(topic) {}

	bool done = false;
	bool throwing = false;
	int messages = 0;

	void on_connect(int rc) override
	{
		check(rc == 0, "CONNACK " + std::to_string(rc));
		check(subscribe(nullptr, topic_.c_str(), 1) == MOSQ_ERR_SUCCESS, "subscribe");
	}

	void on_subscribe(int, int qos_count, const int *granted_qos) override
	{
		check(qos_count == 1 && granted_qos[0] == 1, "granted QoS 1");
		check(publish(nullptr, topic_.c_str(), sizeof payload, payload, 1, false) == MOSQ_ERR_SUCCESS,
				"publish");
	}

	void on_message(const struct mosquitto_message *message) override
	{
		messages++;
		check(std::strcmp(message->topic, topic_.c_str()) == 0, "topic");
		check(message->payloadlen == (int)sizeof payload
				&& std::memcmp(message->payload, payload, sizeof payload) == 0, "payload");
		check(message->qos == 1, "qos");
		check(!message->retain, "not retained");
		if(throwing) throw std::runtime_error("thrown from on_message");
		check(disconnect() == MOSQ_ERR_SUCCESS, "disconnect");
	}

	void on_disconnect(int rc) override
	{
		check(rc == 0, "on_disconnect " + std::to_string(rc));
		done = true;
	}

private:
	std::string topic_;
};

int round_trip(int port)
{
	check(mosqpp::lib_init() == MOSQ_ERR_SUCCESS, "lib_init");
	std::string id = "skeeter-cpp-" + std::to_string(getpid());
	{
		Client client(id.c_str(), "skeeter/cpp/" + std::to_string(getpid()));
		check(client.connect("127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS, "connect");
		for(int i = 0; i < 200 && !client.done; i++){
			client.loop(100, 1);
		}
		check(client.done, "disconnected within 20 s");
		check(client.messages == 1, "one message received: " + std::to_string(client.messages));
	}
	check(mosqpp::lib_cleanup() == MOSQ_ERR_SUCCESS, "lib_cleanup");
	return failures == 0 ? 0 : 1;
}

// An exception thrown from a callback passes through the library to the
// program's handler; the client is still usable afterwards.
int throw_through(int port, bool loop_after)
{
	check(mosqpp::lib_init() == MOSQ_ERR_SUCCESS, "lib_init");
	std::string id = "skeeter-cpp-" + std::to_string(getpid());
	{
		Client client(id.c_str(), "skeeter/cpp/throw/" + std::to_string(getpid()));
		client.throwing = true;
		check(client.connect("127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS, "connect");
		try{
			client.loop_forever();
			check(false, "loop_forever returned without the exception");
		}catch(const std::runtime_error &e){
			check(std::strcmp(e.what(), "thrown from on_message") == 0, "caught the exception");
		}
		check(client.messages == 1, "one message received: " + std::to_string(client.messages));
		if(loop_after){
			check(client.disconnect() == MOSQ_ERR_SUCCESS, "disconnect after the exception");
			for(int i = 0; i < 200 && !client.done; i++){
				client.loop(100, 1);
			}
			check(client.done, "disconnected within 20 s");
		}
	}
	check(mosqpp::lib_cleanup() == MOSQ_ERR_SUCCESS, "lib_cleanup");
	return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char *argv[])
{
	setvbuf(stdout, nullptr, _IOLBF, 0);  // each line reaches the test as printed
	std::printf("loaded: %s\n", loaded_library().c_str());
	if(argc == 2 && std::strcmp(argv[1], "load") == 0){
		int major = 0, minor = 0, revision = 0;
		int number = mosqpp::lib_version(&major, &minor, &revision);
		std::printf("mosqpp::lib_version: %d (%d.%d.%d)\n", number, major, minor, revision);
		return 0;
	}
	if(argc == 3 && std::strcmp(argv[1], "round-trip") == 0){
		return round_trip(std::atoi(argv[2]));
	}
	if(argc == 3 && std::strcmp(argv[1], "throw") == 0){
		return throw_through(std::atoi(argv[2]), false);
	}
	if(argc == 3 && std::strcmp(argv[1], "throw-then-loop") == 0){
		return throw_through(std::atoi(argv[2]), true);
	}
	std::fprintf(stderr, "usage: %s load | round-trip PORT\n", argv[0]);
	return 2;
}
