/* A line of text for any MQTT 5 property, read by its type with libmosquitto
 * 2.1's accessors (mosquitto_property_type and the *_value calls), as a program
 * printing properties would. Shared by test_mosq21.c and client/v21.c. */
#ifndef SKEETER_PROPERTY_TEXT_H
#define SKEETER_PROPERTY_TEXT_H

#include <stdio.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

/* "<identifier> <type> <value>"; binary data is shown by its length. */
static inline void property_text(const mosquitto_property *prop, char *out, size_t size)
{
	int id = mosquitto_property_identifier(prop);

	switch(mosquitto_property_type(prop)){
		case MQTT_PROP_TYPE_BYTE:
			snprintf(out, size, "%d byte %u", id, mosquitto_property_byte_value(prop));
			break;
		case MQTT_PROP_TYPE_INT16:
			snprintf(out, size, "%d int16 %u", id, mosquitto_property_int16_value(prop));
			break;
		case MQTT_PROP_TYPE_INT32:
			snprintf(out, size, "%d int32 %u", id, mosquitto_property_int32_value(prop));
			break;
		case MQTT_PROP_TYPE_VARINT:
			snprintf(out, size, "%d varint %u", id, mosquitto_property_varint_value(prop));
			break;
		case MQTT_PROP_TYPE_BINARY:
			snprintf(out, size, "%d binary %u", id, mosquitto_property_binary_value_length(prop));
			break;
		case MQTT_PROP_TYPE_STRING:
			snprintf(out, size, "%d string %.*s", id, mosquitto_property_string_value_length(prop),
					mosquitto_property_string_value(prop));
			break;
		case MQTT_PROP_TYPE_STRING_PAIR:
			snprintf(out, size, "%d pair %.*s=%.*s", id,
					mosquitto_property_string_name_length(prop), mosquitto_property_string_name(prop),
					mosquitto_property_string_value_length(prop), mosquitto_property_string_value(prop));
			break;
		default:
			snprintf(out, size, "%d unknown", id);
	}
}

/* Every property of `list`, one line each; false when `out` was too small. */
static inline bool property_list_text(const mosquitto_property *list, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for(const mosquitto_property *p = list; p; p = mosquitto_property_next(p)){
		char line[128];
		property_text(p, line, sizeof(line));
		used += (size_t)snprintf(out + used, size - used, "%s\n", line);
		if(used >= size) return false;
	}
	return true;
}

#endif
