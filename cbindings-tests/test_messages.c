/* skeeter: check leaks */
/* Copying and freeing messages. */
#include "skeeter_test.h"

int main(void)
{
	struct mosquitto_message original = {0}, copy;
	struct mosquitto_message *heap_copy;

	check_library_is_ours();

	original.mid = 7;
	original.topic = "sensors/kitchen";
	original.payload = "21.5";
	original.payloadlen = 4;
	original.qos = 1;
	original.retain = true;

	CHECK(mosquitto_message_copy(&copy, &original) == MOSQ_ERR_SUCCESS);
	CHECK(copy.mid == 7 && copy.qos == 1 && copy.retain && copy.payloadlen == 4);
	CHECK(copy.topic != original.topic && strcmp(copy.topic, "sensors/kitchen") == 0);
	/* The payload copy ends with a NUL, so text payloads are C strings. */
	CHECK(strcmp(copy.payload, "21.5") == 0);
	mosquitto_message_free_contents(&copy);
	CHECK(copy.topic == NULL && copy.payload == NULL);

	/* A message on the heap, as subscribe_simple hands them out. */
	heap_copy = malloc(sizeof *heap_copy);
	CHECK(heap_copy != NULL);
	original.payload = NULL;
	original.payloadlen = 0;
	CHECK(mosquitto_message_copy(heap_copy, &original) == MOSQ_ERR_SUCCESS);
	CHECK(heap_copy->payload == NULL);
	mosquitto_message_free(&heap_copy);
	CHECK(heap_copy == NULL);
	mosquitto_message_free(&heap_copy);
	mosquitto_message_free(NULL);

	original.topic = NULL;
	CHECK(mosquitto_message_copy(&copy, &original) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_message_copy(NULL, &original) == MOSQ_ERR_INVAL);
	return 0;
}
