/* Minimal MQTT framing shared by the benchmark's fake peers (sink.c, source.c).
 * Only what a peer needs to answer a client: split the byte stream into packets
 * and build the few fixed replies. Written for this benchmark, not a full codec. */
#ifndef BENCH_WIRE_H
#define BENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
	PKT_CONNECT = 1, PKT_CONNACK, PKT_PUBLISH, PKT_PUBACK, PKT_PUBREC, PKT_PUBREL,
	PKT_PUBCOMP, PKT_SUBSCRIBE, PKT_SUBACK, PKT_UNSUBSCRIBE, PKT_UNSUBACK,
	PKT_PINGREQ, PKT_PINGRESP, PKT_DISCONNECT, PKT_AUTH
};

/* A packet found in a buffer: first byte, body (variable header + payload). */
struct pkt {
	uint8_t first;
	const uint8_t *body;
	size_t len;
	size_t total; /* bytes the whole packet occupies in the buffer */
};

/* Parse one packet at buf. Returns 1 and fills p when a whole packet is there,
 * 0 when more bytes are needed, -1 when the length field is malformed. */
static inline int wire_next(const uint8_t *buf, size_t avail, struct pkt *p)
{
	size_t len = 0, mult = 1, i = 1;
	if (avail < 2)
		return 0;
	for (;;) {
		if (i >= avail)
			return 0;
		if (i > 4)
			return -1; /* remaining length is at most four bytes */
		len += (size_t)(buf[i] & 0x7f) * mult;
		mult *= 128;
		if (!(buf[i++] & 0x80))
			break;
	}
	if (avail - i < len)
		return 0;
	p->first = buf[0];
	p->body = buf + i;
	p->len = len;
	p->total = i + len;
	return 1;
}

/* Write a remaining-length field; returns the number of bytes used (1..4). */
static inline size_t wire_put_len(uint8_t *out, size_t len)
{
	size_t n = 0;
	do {
		uint8_t b = len % 128;
		len /= 128;
		out[n++] = (uint8_t)(len ? b | 0x80 : b);
	} while (len && n < 4);
	return n;
}

static inline uint16_t wire_u16(const uint8_t *b)
{
	return (uint16_t)((b[0] << 8) | b[1]);
}

/* Length of a variable byte integer at b (for v5 property lengths), value in *v.
 * Returns 0 if it does not fit in n bytes. */
static inline size_t wire_varint(const uint8_t *b, size_t n, size_t *v)
{
	size_t val = 0, mult = 1, i = 0;
	while (i < n && i < 4) {
		val += (size_t)(b[i] & 0x7f) * mult;
		mult *= 128;
		if (!(b[i++] & 0x80)) {
			*v = val;
			return i;
		}
	}
	return 0;
}

/* A QoS 0 PUBLISH of size bytes of 'x' to topic, malloc'd; its length in *len. */
static inline uint8_t *wire_publish_q0(const char *topic, size_t size, size_t *len)
{
	size_t tlen = strlen(topic), body = 2 + tlen + size, hdr = 1;
	uint8_t *frame;

	for (size_t rest = body; rest; rest >>= 7)
		hdr++;
	frame = malloc(hdr + body);
	if (!frame)
		return NULL;
	frame[0] = 0x30;
	wire_put_len(frame + 1, body);
	frame[hdr] = (uint8_t)(tlen >> 8);
	frame[hdr + 1] = (uint8_t)tlen;
	memcpy(frame + hdr + 2, topic, tlen);
	memset(frame + hdr + 2 + tlen, 'x', size);
	*len = hdr + body;
	return frame;
}

/* Protocol level from a CONNECT body (3 = v3.1, 4 = v3.1.1, 5 = v5). */
static inline int wire_connect_level(const struct pkt *p)
{
	size_t nl;
	if (p->len < 2)
		return 4;
	nl = wire_u16(p->body);
	if (p->len < 2 + nl + 1)
		return 4;
	return p->body[2 + nl];
}

#endif
