/* source: a fake broker that floods one subscriber with QoS 0 PUBLISH frames.
 *
 * Serves one client at a time on 127.0.0.1. After CONNECT it sends CONNACK; after
 * the first SUBSCRIBE it sends SUBACK and then writes pre-encoded PUBLISH frames
 * as fast as the socket takes them, so the client's receive path is the only
 * bottleneck. The subscription topic carries the job: "bench/recv/<count>/<size>"
 * asks for <count> messages with <size>-byte payloads on that same topic. Then it
 * waits for the client to disconnect and accepts the next one.
 *
 * Usage: source [-p port] [-t max_seconds]
 * Prints "PORT <n>" on stdout once listening. Stops on SIGTERM/SIGINT or after
 * max_seconds (default 3600).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define CHUNK (256 * 1024) /* bytes of frames handed to each write */
#define IO_TIMEOUT_MS 10000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Read until one whole packet is buffered. buf keeps leftover bytes across calls.
 * Returns 1 with *p set, 0 on EOF/timeout/error. */
static int read_packet(int fd, uint8_t *buf, size_t cap, size_t *have, struct pkt *p)
{
	for (int tries = 0; tries < 1000 && !stop; tries++) {
		int r = wire_next(buf, *have, p);
		if (r < 0)
			return 0;
		if (r == 1)
			return 1;
		if (*have == cap)
			return 0; /* larger than anything a subscriber should send here */
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
			return 0;
		ssize_t n = recv(fd, buf + *have, cap - *have, 0);
		if (n <= 0)
			return 0;
		*have += (size_t)n;
	}
	return 0;
}

static void consume(uint8_t *buf, size_t *have, const struct pkt *p)
{
	memmove(buf, buf + p->total, *have - p->total);
	*have -= p->total;
}

static int send_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pf = {.fd = fd, .events = POLLOUT};
				if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
					return -1;
				continue;
			}
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Serve one client; every failure just ends this client's session. */
static void serve(int fd)
{
	static uint8_t in[64 * 1024];
	size_t have = 0, tl, pos, prop = 0;
	struct pkt p;
	int level;
	char topic[256];
	unsigned long count = 0, size = 0;

	if (!read_packet(fd, in, sizeof in, &have, &p) || (p.first >> 4) != PKT_CONNECT)
		return;
	level = wire_connect_level(&p);
	consume(in, &have, &p);
	{
		static const uint8_t v3[] = {0x20, 2, 0, 0}, v5[] = {0x20, 3, 0, 0, 0};
		if (level == 5 ? send_all(fd, v5, sizeof v5) : send_all(fd, v3, sizeof v3))
			return;
	}
	/* Skip anything before the SUBSCRIBE (a client may ping). */
	for (;;) {
		if (!read_packet(fd, in, sizeof in, &have, &p))
			return;
		if ((p.first >> 4) == PKT_SUBSCRIBE)
			break;
		consume(in, &have, &p);
	}
	pos = 2;
	if (level == 5)
		pos += wire_varint(p.body + 2, p.len - 2, &prop) + prop;
	if (pos + 2 > p.len)
		return;
	tl = wire_u16(p.body + pos);
	if (tl >= sizeof topic || pos + 2 + tl > p.len)
		return;
	memcpy(topic, p.body + pos + 2, tl);
	topic[tl] = 0;
	if (sscanf(topic, "bench/recv/%lu/%lu", &count, &size) != 2 || size > 16 * 1024 * 1024) {
		fprintf(stderr, "source: unexpected topic '%s'\n", topic);
		return;
	}
	{
		uint8_t sa[8];
		size_t h = 0;
		sa[h++] = 0x90;
		sa[h++] = level == 5 ? 4 : 3;
		sa[h++] = p.body[0];
		sa[h++] = p.body[1];
		if (level == 5)
			sa[h++] = 0;
		sa[h++] = 0; /* granted QoS 0 */
		consume(in, &have, &p);
		if (send_all(fd, sa, h))
			return;
	}

	/* Encode one frame, then repeat it to fill a chunk; writes reuse the chunk. */
	uint8_t frame_hdr[8];
	size_t body = 2 + tl + (level == 5) + size;
	size_t fh = 0;
	frame_hdr[fh++] = 0x30;
	fh += wire_put_len(frame_hdr + fh, body);
	size_t flen = fh + body;
	size_t per = CHUNK / flen ? CHUNK / flen : 1;
	uint8_t *chunk = malloc(per * flen);
	if (!chunk)
		return;
	for (size_t i = 0; i < per; i++) {
		uint8_t *f = chunk + i * flen;
		memcpy(f, frame_hdr, fh);
		f += fh;
		*f++ = (uint8_t)(tl >> 8);
		*f++ = (uint8_t)tl;
		memcpy(f, topic, tl);
		f += tl;
		if (level == 5)
			*f++ = 0; /* no properties */
		memset(f, 'r', size);
	}
	unsigned long sent = 0;
	while (sent < count && !stop) {
		size_t k = count - sent < per ? count - sent : per;
		if (send_all(fd, chunk, k * flen))
			break;
		sent += k;
	}
	free(chunk);
	/* Wait (bounded) for the client to leave, ignoring what it sends. */
	for (int i = 0; i < 100 && !stop; i++) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 100) < 0)
			break;
		if (pf.revents) {
			ssize_t n = recv(fd, in, sizeof in, 0);
			if (n <= 0)
				break;
		}
	}
}

int main(int argc, char **argv)
{
	int port = 0, one = 1, lfd;
	long max_secs = 3600;
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	struct sigaction sa;
	time_t start = time(NULL);

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			port = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			max_secs = atol(argv[++i]);
		} else {
			fprintf(stderr, "usage: source [-p port] [-t max_seconds]\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll/accept return EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al)) {
		perror("source: listen");
		return 1;
	}
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);

	unsigned long served = 0;
	while (!stop && time(NULL) - start < max_secs) {
		struct pollfd pf = {.fd = lfd, .events = POLLIN};
		if (poll(&pf, 1, 500) <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/* A client that stops reading must not hang the source forever. */
		struct timeval tv = {.tv_sec = IO_TIMEOUT_MS / 1000};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		serve(fd);
		close(fd);
		served++;
	}
	fprintf(stderr, "source: served %lu clients\n", served);
	return 0;
}
