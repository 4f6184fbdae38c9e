/* MQTT's UTF-8 rules. */
#include "skeeter_test.h"

static int valid(const char *text, int len)
{
	return mosquitto_validate_utf8(text, len) == MOSQ_ERR_SUCCESS;
}

int main(void)
{
	static char long_text[65537];

	check_library_is_ours();

	CHECK(valid("", 0));
	CHECK(valid("temperature", 11));
	CHECK(valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
	CHECK(!valid("a\0b", 3));            /* NUL */
	CHECK(!valid("tab\there", 8));       /* control character */
	CHECK(!valid("\xc2\x85", 2));        /* C1 control character */
	CHECK(!valid("\xef\xbf\xbf", 3));    /* non-character U+FFFF */
	CHECK(!valid("\xed\xa0\x80", 3));    /* surrogate U+D800 */
	CHECK(!valid("\xc0\xaf", 2));        /* overlong '/' */
	CHECK(!valid("\xe2\x82", 2));        /* cut short */
	CHECK(mosquitto_validate_utf8("\xff", 1) == MOSQ_ERR_MALFORMED_UTF8);

	CHECK(mosquitto_validate_utf8(NULL, 0) == MOSQ_ERR_INVAL);
	CHECK(mosquitto_validate_utf8("a", -1) == MOSQ_ERR_INVAL);
	memset(long_text, 'a', sizeof long_text);
	CHECK(valid(long_text, 65536));
	CHECK(mosquitto_validate_utf8(long_text, 65537) == MOSQ_ERR_INVAL);
	return 0;
}
