/* Differential test: loads Debian's libmosquitto and ours side by side with
 * dlopen() and feeds both the same generated inputs through the pure functions.
 * Every answer must be the same.
 *
 * Usage: differential <debian libmosquitto.so.1> <our libmosquitto.so.1> [seed]
 *
 * Deliberate differences, and so not compared here:
 * - mosquitto_lib_version: we report 2.0.20, Debian's package is older.
 * - Inputs on which Debian's library crashes: mosquitto_string_to_command(NULL),
 *   mosquitto_message_copy() with a NULL topic, mosquitto_property_add_binary()
 *   with a NULL value and a non-zero length. We return MOSQ_ERR_INVAL.
 * - mosquitto_topic_matches_sub2 with lengths shorter than the strings: Debian
 *   ignores the lengths; we honour them. Only true lengths are compared.
 * - *result of mosquitto_topic_matches_sub on error: Debian writes false, we
 *   leave it alone (out-parameters are written only on success).
 * - mosquitto_sub_topic_tokens_free: we also set *topics to NULL.
 * - mosquitto_property_copy_all(&dest, NULL): we set dest to NULL, Debian leaves
 *   it as it was. Debian's copy_all also crashes on a string property that was
 *   added as NULL or "", so such lists are not copied.
 * - mosquitto_validate_utf8 on a multi-byte sequence cut short at the end: Debian
 *   reads past the given length, so the inputs are followed by a NUL. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

struct library {
	const char *name;
	int (*topic_matches_sub)(const char *, const char *, bool *);
	int (*topic_matches_sub2)(const char *, size_t, const char *, size_t, bool *);
	int (*pub_topic_check)(const char *);
	int (*pub_topic_check2)(const char *, size_t);
	int (*sub_topic_check)(const char *);
	int (*sub_topic_check2)(const char *, size_t);
	int (*sub_topic_tokenise)(const char *, char ***, int *);
	int (*sub_topic_tokens_free)(char ***, int);
	int (*validate_utf8)(const char *, int);
	const char *(*strerror)(int);
	const char *(*connack_string)(int);
	const char *(*reason_string)(int);
	int (*string_to_command)(const char *, int *);
	int (*add_byte)(mosquitto_property **, int, uint8_t);
	int (*add_int16)(mosquitto_property **, int, uint16_t);
	int (*add_int32)(mosquitto_property **, int, uint32_t);
	int (*add_varint)(mosquitto_property **, int, uint32_t);
	int (*add_binary)(mosquitto_property **, int, const void *, uint16_t);
	int (*add_string)(mosquitto_property **, int, const char *);
	int (*add_string_pair)(mosquitto_property **, int, const char *, const char *);
	const mosquitto_property *(*read_byte)(const mosquitto_property *, int, uint8_t *, bool);
	const mosquitto_property *(*read_int16)(const mosquitto_property *, int, uint16_t *, bool);
	const mosquitto_property *(*read_int32)(const mosquitto_property *, int, uint32_t *, bool);
	const mosquitto_property *(*read_varint)(const mosquitto_property *, int, uint32_t *, bool);
	const mosquitto_property *(*read_binary)(const mosquitto_property *, int, void **, uint16_t *, bool);
	const mosquitto_property *(*read_string)(const mosquitto_property *, int, char **, bool);
	const mosquitto_property *(*read_string_pair)(const mosquitto_property *, int, char **, char **, bool);
	int (*identifier)(const mosquitto_property *);
	const mosquitto_property *(*next)(const mosquitto_property *);
	void (*free_all)(mosquitto_property **);
	int (*copy_all)(mosquitto_property **, const mosquitto_property *);
	int (*check_command)(int, int);
	int (*check_all)(int, const mosquitto_property *);
	const char *(*identifier_to_string)(int);
	int (*string_to_property_info)(const char *, int *, int *);
};

static struct library debian, ours;
static long comparisons, mismatches;

#define LOAD(lib, handle, field, symbol)                                           \
	do {                                                                       \
		*(void **)(&(lib)->field) = dlsym(handle, symbol);                 \
		if ((lib)->field == NULL) {                                        \
			fprintf(stderr, "%s lacks %s\n", (lib)->name, symbol);     \
			exit(2);                                                   \
		}                                                                  \
	} while (0)

static void load(struct library *lib, const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
		exit(2);
	}
	lib->name = path;
	LOAD(lib, h, topic_matches_sub, "mosquitto_topic_matches_sub");
	LOAD(lib, h, topic_matches_sub2, "mosquitto_topic_matches_sub2");
	LOAD(lib, h, pub_topic_check, "mosquitto_pub_topic_check");
	LOAD(lib, h, pub_topic_check2, "mosquitto_pub_topic_check2");
	LOAD(lib, h, sub_topic_check, "mosquitto_sub_topic_check");
	LOAD(lib, h, sub_topic_check2, "mosquitto_sub_topic_check2");
	LOAD(lib, h, sub_topic_tokenise, "mosquitto_sub_topic_tokenise");
	LOAD(lib, h, sub_topic_tokens_free, "mosquitto_sub_topic_tokens_free");
	LOAD(lib, h, validate_utf8, "mosquitto_validate_utf8");
	LOAD(lib, h, strerror, "mosquitto_strerror");
	LOAD(lib, h, connack_string, "mosquitto_connack_string");
	LOAD(lib, h, reason_string, "mosquitto_reason_string");
	LOAD(lib, h, string_to_command, "mosquitto_string_to_command");
	LOAD(lib, h, add_byte, "mosquitto_property_add_byte");
	LOAD(lib, h, add_int16, "mosquitto_property_add_int16");
	LOAD(lib, h, add_int32, "mosquitto_property_add_int32");
	LOAD(lib, h, add_varint, "mosquitto_property_add_varint");
	LOAD(lib, h, add_binary, "mosquitto_property_add_binary");
	LOAD(lib, h, add_string, "mosquitto_property_add_string");
	LOAD(lib, h, add_string_pair, "mosquitto_property_add_string_pair");
	LOAD(lib, h, read_byte, "mosquitto_property_read_byte");
	LOAD(lib, h, read_int16, "mosquitto_property_read_int16");
	LOAD(lib, h, read_int32, "mosquitto_property_read_int32");
	LOAD(lib, h, read_varint, "mosquitto_property_read_varint");
	LOAD(lib, h, read_binary, "mosquitto_property_read_binary");
	LOAD(lib, h, read_string, "mosquitto_property_read_string");
	LOAD(lib, h, read_string_pair, "mosquitto_property_read_string_pair");
	LOAD(lib, h, identifier, "mosquitto_property_identifier");
	LOAD(lib, h, next, "mosquitto_property_next");
	LOAD(lib, h, free_all, "mosquitto_property_free_all");
	LOAD(lib, h, copy_all, "mosquitto_property_copy_all");
	LOAD(lib, h, check_command, "mosquitto_property_check_command");
	LOAD(lib, h, check_all, "mosquitto_property_check_all");
	LOAD(lib, h, identifier_to_string, "mosquitto_property_identifier_to_string");
	LOAD(lib, h, string_to_property_info, "mosquitto_string_to_property_info");
}

/* Records one comparison; prints the first few differences. */
static void same(long expected, long got, const char *what, const char *input)
{
	comparisons++;
	if (expected == got) {
		return;
	}
	if (++mismatches <= 30) {
		fprintf(stderr, "%s(\"%s\"): debian %ld, ours %ld\n", what, input, expected, got);
	}
}

static void same_text(const char *expected, const char *got, const char *what, const char *input)
{
	int equal = (expected == NULL || got == NULL) ? expected == got : strcmp(expected, got) == 0;
	same(1, equal, what, input);
	if (!equal && mismatches <= 30) {
		fprintf(stderr, "    debian \"%s\", ours \"%s\"\n", expected ? expected : "(null)",
			got ? got : "(null)");
	}
}

/* A small, fixed pseudo-random generator, so that a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t next_random(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void random_topic(char *out, size_t max)
{
	static const char alphabet[] = "ab/+#$";
	size_t len = next_random() % max;
	for (size_t i = 0; i < len; i++) {
		out[i] = alphabet[next_random() % (sizeof alphabet - 1)];
	}
	out[len] = '\0';
}

static void compare_topics(int rounds)
{
	char filter[16], topic[16];
	for (int i = 0; i < rounds; i++) {
		bool expected = false, got = false;
		int rc_expected, rc_got;
		char both[40];

		random_topic(filter, 10);
		random_topic(topic, 10);
		snprintf(both, sizeof both, "%s\", \"%s", filter, topic);

		rc_expected = debian.topic_matches_sub(filter, topic, &expected);
		rc_got = ours.topic_matches_sub(filter, topic, &got);
		same(rc_expected, rc_got, "topic_matches_sub", both);
		if (rc_expected == MOSQ_ERR_SUCCESS && rc_got == MOSQ_ERR_SUCCESS) {
			same(expected, got, "topic_matches_sub result", both);
		}
		rc_expected = debian.topic_matches_sub2(filter, strlen(filter), topic, strlen(topic), &expected);
		rc_got = ours.topic_matches_sub2(filter, strlen(filter), topic, strlen(topic), &got);
		same(rc_expected, rc_got, "topic_matches_sub2", both);
		if (rc_expected == MOSQ_ERR_SUCCESS && rc_got == MOSQ_ERR_SUCCESS) {
			same(expected, got, "topic_matches_sub2 result", both);
		}

		same(debian.pub_topic_check(filter), ours.pub_topic_check(filter), "pub_topic_check", filter);
		same(debian.sub_topic_check(filter), ours.sub_topic_check(filter), "sub_topic_check", filter);
		size_t cut = strlen(filter) / 2;
		same(debian.pub_topic_check2(filter, cut), ours.pub_topic_check2(filter, cut), "pub_topic_check2", filter);
		same(debian.sub_topic_check2(filter, cut), ours.sub_topic_check2(filter, cut), "sub_topic_check2", filter);
	}
}

static void compare_tokenise(int rounds)
{
	char topic[16];
	for (int i = 0; i < rounds; i++) {
		char **expected = NULL, **got = NULL;
		int count_expected = -1, count_got = -1;

		random_topic(topic, 12);
		same(debian.sub_topic_tokenise(topic, &expected, &count_expected),
		     ours.sub_topic_tokenise(topic, &got, &count_got), "sub_topic_tokenise", topic);
		same(count_expected, count_got, "sub_topic_tokenise count", topic);
		for (int level = 0; level < count_expected && level < count_got; level++) {
			same_text(expected[level], got[level], "sub_topic_tokenise level", topic);
		}
		debian.sub_topic_tokens_free(&expected, count_expected);
		ours.sub_topic_tokens_free(&got, count_got);
	}
}

/* Encodes a code point the way UTF-8 would, even where UTF-8 forbids it
 * (surrogates), so both libraries are asked about every code point. */
static int encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static void compare_utf8(int rounds)
{
	static const unsigned char edges[] = {0x00, 0x01, 0x1F, 0x20, 0x41, 0x7E, 0x7F, 0x80, 0x8F,
		0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xF8, 0xFF};
	char text[16], label[64];
	static char big[65538];

	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		int len = encode(cp, text);
		snprintf(label, sizeof label, "U+%04X", cp);
		same(debian.validate_utf8(text, len), ours.validate_utf8(text, len), "validate_utf8", label);
	}
	for (int i = 0; i < rounds; i++) {
		int len = (int)(next_random() % 9);
		/* Debian reads past `len` when a multi-byte sequence is cut short at the
		 * end (it answers from whatever follows); a NUL after the input makes that
		 * read see a non-continuation byte, which is the honest answer. */
		memset(text, 0, sizeof text);
		for (int b = 0; b < len; b++) {
			uint32_t pick = next_random();
			text[b] = (pick & 1) ? (char)edges[(pick >> 1) % sizeof edges] : (char)(pick >> 8);
		}
		label[0] = '\0';
		for (int b = 0; b < len; b++) {
			snprintf(label + strlen(label), sizeof label - strlen(label), "\\x%02x", (unsigned char)text[b]);
		}
		same(debian.validate_utf8(text, len), ours.validate_utf8(text, len), "validate_utf8", label);
	}
	memset(big, 'a', sizeof big);
	for (int len = 65534; len <= 65537; len++) {
		same(debian.validate_utf8(big, len), ours.validate_utf8(big, len), "validate_utf8 long", "aaa...");
	}
	same(debian.validate_utf8("a", -1), ours.validate_utf8("a", -1), "validate_utf8 negative", "a");
	same(debian.validate_utf8(NULL, 0), ours.validate_utf8(NULL, 0), "validate_utf8", "NULL");
}

static void compare_strings(void)
{
	static const char *commands[] = {"connect", "CONNECT", "Connack", "publish", "puback", "pubrec",
		"pubrel", "pubcomp", "subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp",
		"disconnect", "auth", "will", "WILL", "", "publishx", "pub"};
	char label[16];
	for (int code = -10; code <= 300; code++) {
		snprintf(label, sizeof label, "%d", code);
		same_text(debian.strerror(code), ours.strerror(code), "strerror", label);
		same_text(debian.connack_string(code), ours.connack_string(code), "connack_string", label);
		same_text(debian.reason_string(code), ours.reason_string(code), "reason_string", label);
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		int expected = -1, got = -1;
		same(debian.string_to_command(commands[i], &expected), ours.string_to_command(commands[i], &got),
		     "string_to_command", commands[i]);
		same(expected, got, "string_to_command value", commands[i]);
	}
}

enum kind { BYTE, INT16, INT32, VARINT, BINARY, STRING, PAIR, KINDS };

/* Adds one property of `kind` with a value chosen by `choice`, to both lists. */
/* Set when a string property was added as NULL or "": Debian's copy_all crashes
 * on such a list, so it is not copied. */
static bool added_null_text;

static void add_both(mosquitto_property **a, mosquitto_property **b, int id, enum kind kind,
		     uint32_t choice, const char *label)
{
	static const uint32_t numbers[] = {0, 1, 2, 3, 255, 65535, 268435455, 268435456, 0xFFFFFFFF};
	static const char *texts[] = {"", "text/plain", "\xff", "a\x01", NULL, "caf\xc3\xa9"};
	uint32_t n = numbers[choice % (sizeof numbers / sizeof numbers[0])];
	const char *s = texts[choice % (sizeof texts / sizeof texts[0])];
	const char *s2 = texts[(choice / 7) % (sizeof texts / sizeof texts[0])];

	if ((kind == STRING && (s == NULL || !*s)) || (kind == PAIR && (s == NULL || !*s || s2 == NULL || !*s2))) {
		added_null_text = true;
	}
	switch (kind) {
	case BYTE: same(debian.add_byte(a, id, (uint8_t)n), ours.add_byte(b, id, (uint8_t)n), "add_byte", label); break;
	case INT16: same(debian.add_int16(a, id, (uint16_t)n), ours.add_int16(b, id, (uint16_t)n), "add_int16", label); break;
	case INT32: same(debian.add_int32(a, id, n), ours.add_int32(b, id, n), "add_int32", label); break;
	case VARINT: same(debian.add_varint(a, id, n), ours.add_varint(b, id, n), "add_varint", label); break;
	case BINARY: same(debian.add_binary(a, id, "\x00\x01\x02", (uint16_t)(n % 4)),
			  ours.add_binary(b, id, "\x00\x01\x02", (uint16_t)(n % 4)), "add_binary", label); break;
	case STRING: same(debian.add_string(a, id, s), ours.add_string(b, id, s), "add_string", label); break;
	default: same(debian.add_string_pair(a, id, s, s2), ours.add_string_pair(b, id, s, s2), "add_string_pair", label); break;
	}
}

/* Reads identifier `id` from both lists with every read function. */
static void read_both(const mosquitto_property *a, const mosquitto_property *b, int id, bool skip, const char *label)
{
	uint8_t u8a = 0, u8b = 0;
	uint16_t u16a = 0, u16b = 0;
	uint32_t u32a = 0, u32b = 0;
	void *binary_a = NULL, *binary_b = NULL;
	char *sa = NULL, *sb = NULL, *va = NULL, *vb = NULL;

	same(debian.read_byte(a, id, &u8a, skip) != NULL, ours.read_byte(b, id, &u8b, skip) != NULL, "read_byte", label);
	same(u8a, u8b, "read_byte value", label);
	same(debian.read_int16(a, id, &u16a, skip) != NULL, ours.read_int16(b, id, &u16b, skip) != NULL, "read_int16", label);
	same(u16a, u16b, "read_int16 value", label);
	same(debian.read_int32(a, id, &u32a, skip) != NULL, ours.read_int32(b, id, &u32b, skip) != NULL, "read_int32", label);
	same(u32a, u32b, "read_int32 value", label);
	u32a = u32b = 0;
	same(debian.read_varint(a, id, &u32a, skip) != NULL, ours.read_varint(b, id, &u32b, skip) != NULL, "read_varint", label);
	same(u32a, u32b, "read_varint value", label);
	u16a = u16b = 0;
	same(debian.read_binary(a, id, &binary_a, &u16a, skip) != NULL, ours.read_binary(b, id, &binary_b, &u16b, skip) != NULL,
	     "read_binary", label);
	same(u16a, u16b, "read_binary length", label);
	if (binary_a && binary_b) {
		same(0, memcmp(binary_a, binary_b, u16a), "read_binary data", label);
	}
	free(binary_a);
	free(binary_b);
	same(debian.read_string(a, id, &sa, skip) != NULL, ours.read_string(b, id, &sb, skip) != NULL, "read_string", label);
	same_text(sa, sb, "read_string value", label);
	free(sa);
	free(sb);
	sa = sb = NULL;
	same(debian.read_string_pair(a, id, &sa, &va, skip) != NULL, ours.read_string_pair(b, id, &sb, &vb, skip) != NULL,
	     "read_string_pair", label);
	same_text(sa, sb, "read_string_pair name", label);
	same_text(va, vb, "read_string_pair value", label);
	free(sa);
	free(sb);
	free(va);
	free(vb);
}

static const int commands_to_check[] = {0, 5, CMD_CONNECT, CMD_CONNACK, CMD_PUBLISH, CMD_PUBACK,
	CMD_PUBREC, CMD_PUBREL, CMD_PUBCOMP, CMD_SUBSCRIBE, CMD_SUBACK, CMD_UNSUBSCRIBE, CMD_UNSUBACK,
	CMD_PINGREQ, CMD_PINGRESP, CMD_DISCONNECT, CMD_AUTH, CMD_WILL, 0x110};

static void compare_property_lists(const mosquitto_property *a, const mosquitto_property *b, const char *label)
{
	const mosquitto_property *na = a, *nb = b;
	for (; na && nb; na = debian.next(na), nb = ours.next(nb)) {
		same(debian.identifier(na), ours.identifier(nb), "identifier", label);
	}
	same(na == NULL, nb == NULL, "list length", label);
	for (size_t c = 0; c < sizeof commands_to_check / sizeof commands_to_check[0]; c++) {
		same(debian.check_all(commands_to_check[c], a), ours.check_all(commands_to_check[c], b), "check_all", label);
	}
}

static void compare_properties(int rounds)
{
	char label[64];
	const char *name;

	/* Every identifier with every value type, then read back every way. */
	for (int id = -1; id <= 45; id++) {
		for (int kind = 0; kind < KINDS; kind++) {
			for (uint32_t choice = 0; choice < 12; choice++) {
				mosquitto_property *a = NULL, *b = NULL, *copy_a = NULL, *copy_b = NULL;
				added_null_text = false;
				snprintf(label, sizeof label, "id %d kind %d choice %u", id, kind, choice);
				add_both(&a, &b, id, (enum kind)kind, choice, label);
				add_both(&a, &b, id, (enum kind)kind, choice + 1, label);
				read_both(a, b, id, false, label);
				read_both(a, b, id, true, label);
				compare_property_lists(a, b, label);
				if (!added_null_text) {
					same(debian.copy_all(&copy_a, a), ours.copy_all(&copy_b, b), "copy_all", label);
					compare_property_lists(copy_a, copy_b, label);
				}
				debian.free_all(&a);
				debian.free_all(&copy_a);
				ours.free_all(&b);
				ours.free_all(&copy_b);
			}
		}
	}

	/* Random lists of well-typed properties against every packet type. */
	for (int i = 0; i < rounds; i++) {
		mosquitto_property *a = NULL, *b = NULL;
		int length = 1 + (int)(next_random() % 4);
		label[0] = '\0';
		for (int p = 0; p < length; p++) {
			int id = 1 + (int)(next_random() % 42);
			int type = 0;
			name = debian.identifier_to_string(id);
			if (name == NULL || debian.string_to_property_info(name, &id, &type) != MOSQ_ERR_SUCCESS) {
				continue;
			}
			snprintf(label + strlen(label), sizeof label - strlen(label), "%d ", id);
			add_both(&a, &b, id, (enum kind)(type - MQTT_PROP_TYPE_BYTE), next_random() % 4, label);
		}
		compare_property_lists(a, b, label);
		debian.free_all(&a);
		ours.free_all(&b);
	}

	for (int command = -2; command <= 0x300; command++) {
		for (int id = -2; id <= 300; id += (id < 50 ? 1 : 37)) {
			snprintf(label, sizeof label, "command %d id %d", command, id);
			same(debian.check_command(command, id), ours.check_command(command, id), "check_command", label);
		}
	}

	for (int id = -5; id <= 300; id++) {
		int id_a = -1, id_b = -1, type_a = -1, type_b = -1;
		char upper[64];
		snprintf(label, sizeof label, "%d", id);
		name = debian.identifier_to_string(id);
		same_text(name, ours.identifier_to_string(id), "identifier_to_string", label);
		if (name == NULL) {
			continue;
		}
		same(debian.string_to_property_info(name, &id_a, &type_a), ours.string_to_property_info(name, &id_b, &type_b),
		     "string_to_property_info", name);
		same(id_a, id_b, "string_to_property_info id", name);
		same(type_a, type_b, "string_to_property_info type", name);
		for (size_t c = 0; c <= strlen(name); c++) {
			upper[c] = (name[c] >= 'a' && name[c] <= 'z') ? (char)(name[c] - 32) : name[c];
		}
		same(debian.string_to_property_info(upper, &id_a, &type_a), ours.string_to_property_info(upper, &id_b, &type_b),
		     "string_to_property_info", upper);
		upper[strlen(upper) - 1] = '\0';
		same(debian.string_to_property_info(upper, &id_a, &type_a), ours.string_to_property_info(upper, &id_b, &type_b),
		     "string_to_property_info", upper);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s <debian library> <our library> [seed]\n", argv[0]);
		return 2;
	}
	if (argc > 3) {
		rng_state = strtoull(argv[3], NULL, 0) | 1;
	}
	load(&debian, argv[1]);
	load(&ours, argv[2]);
	if (debian.strerror == ours.strerror) {
		fprintf(stderr, "both paths loaded the same library\n");
		return 2;
	}

	compare_strings();
	compare_topics(200000);
	compare_tokenise(20000);
	compare_utf8(300000);
	compare_properties(20000);

	printf("%ld comparisons, %ld differences\n", comparisons, mismatches);
	return mismatches == 0 ? 0 : 1;
}
