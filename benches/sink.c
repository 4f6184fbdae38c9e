/* sink: a discard "broker" for the publish benchmarks.
 *
 * It accepts any number of MQTT clients on 127.0.0.1, answers CONNECT with a
 * successful CONNACK, SUBSCRIBE/UNSUBSCRIBE/PINGREQ with their acks, and reads
 * and drops every PUBLISH, acknowledging QoS 1 (PUBACK) and QoS 2 (PUBREC, then
 * PUBCOMP on PUBREL). It forwards nothing, so a publishing client is the only
 * bottleneck: the sink reads in large chunks and sends all acks for one read
 * with a single write.
 *
 * Usage: sink [-p port] [-t max_seconds]
 *        sink --pick-port      print a free 127.0.0.1 port and exit
 * Prints "PORT <n>" on stdout once listening (port 0 = chosen by the kernel).
 * Stops on SIGTERM/SIGINT or after max_seconds (default 3600), whichever first.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define RBUF_MIN (256 * 1024)
#define MAX_PACKET (64u * 1024 * 1024) /* refuse absurd packets instead of growing forever */

struct conn {
	int fd;
	int level;            /* protocol level from CONNECT; 5 changes ack layout */
	uint8_t *in;          /* unparsed input */
	size_t in_len, in_cap;
	uint8_t *out;         /* replies not yet written */
	size_t out_len, out_off, out_cap;
	int want_out;         /* EPOLLOUT registered: stop reading until drained */
};

static volatile sig_atomic_t stop;
static unsigned long long n_publish, n_conn;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_on(int port, int *bound)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

static int out_reserve(struct conn *c, size_t more)
{
	if (c->out_len + more <= c->out_cap)
		return 0;
	size_t cap = c->out_cap ? c->out_cap : 4096;
	while (cap < c->out_len + more)
		cap *= 2;
	uint8_t *n = realloc(c->out, cap);
	if (!n)
		return -1;
	c->out = n;
	c->out_cap = cap;
	return 0;
}

/* Queue a 2-byte-id ack (PUBACK/PUBREC/PUBCOMP/UNSUBACK-v3). v5 allows the same
 * short form (reason code 0 and no properties may be omitted). */
static int ack(struct conn *c, uint8_t first, uint16_t id)
{
	if (out_reserve(c, 4))
		return -1;
	uint8_t *o = c->out + c->out_len;
	o[0] = first;
	o[1] = 2;
	o[2] = (uint8_t)(id >> 8);
	o[3] = (uint8_t)id;
	c->out_len += 4;
	return 0;
}

static int put(struct conn *c, const uint8_t *b, size_t n)
{
	if (out_reserve(c, n))
		return -1;
	memcpy(c->out + c->out_len, b, n);
	c->out_len += n;
	return 0;
}

/* SUBACK/UNSUBACK with one reason code per topic filter. */
static int sub_ack(struct conn *c, const struct pkt *p, int unsub)
{
	uint8_t codes[256], hdr[8];
	size_t nc = 0, pos = 2, h = 0, prop = 0, used;
	if (p->len < 2)
		return -1;
	if (c->level == 5) {
		used = wire_varint(p->body + 2, p->len - 2, &prop);
		if (!used)
			return -1;
		pos += used + prop;
	}
	while (pos + 2 <= p->len && nc < sizeof codes) {
		size_t tl = wire_u16(p->body + pos);
		pos += 2 + tl;
		if (unsub) {
			codes[nc++] = 0;
		} else {
			if (pos >= p->len)
				break;
			codes[nc++] = p->body[pos++] & 3; /* grant the QoS asked for */
		}
	}
	if (unsub && c->level != 5)
		return ack(c, 0xb0, wire_u16(p->body));
	hdr[h++] = unsub ? 0xb0 : 0x90;
	h += wire_put_len(hdr + h, 2 + (c->level == 5) + nc);
	hdr[h++] = p->body[0];
	hdr[h++] = p->body[1];
	if (c->level == 5)
		hdr[h++] = 0; /* no properties */
	if (put(c, hdr, h) || put(c, codes, nc))
		return -1;
	return 0;
}

/* Handle every whole packet in the input buffer; returns -1 to drop the client. */
static int process(struct conn *c)
{
	size_t off = 0;
	struct pkt p;
	int r;
	while ((r = wire_next(c->in + off, c->in_len - off, &p)) == 1) {
		int type = p.first >> 4;
		off += p.total;
		switch (type) {
		case PKT_CONNECT: {
			static const uint8_t v3[] = {0x20, 2, 0, 0}, v5[] = {0x20, 3, 0, 0, 0};
			c->level = wire_connect_level(&p);
			if (c->level == 5 ? put(c, v5, sizeof v5) : put(c, v3, sizeof v3))
				return -1;
			break;
		}
		case PKT_PUBLISH: {
			int qos = (p.first >> 1) & 3;
			n_publish++;
			if (qos) {
				size_t tl;
				if (p.len < 2)
					return -1;
				tl = wire_u16(p.body);
				if (p.len < 2 + tl + 2)
					return -1;
				if (ack(c, qos == 1 ? 0x40 : 0x50, wire_u16(p.body + 2 + tl)))
					return -1;
			}
			break;
		}
		case PKT_PUBREL:
			if (p.len < 2 || ack(c, 0x70, wire_u16(p.body)))
				return -1;
			break;
		case PKT_PUBREC: /* only if a client misbehaves; complete its flow anyway */
			if (p.len < 2 || ack(c, 0x62, wire_u16(p.body)))
				return -1;
			break;
		case PKT_SUBSCRIBE:
		case PKT_UNSUBSCRIBE:
			if (sub_ack(c, &p, type == PKT_UNSUBSCRIBE))
				return -1;
			break;
		case PKT_PINGREQ: {
			static const uint8_t pr[] = {0xd0, 0};
			if (put(c, pr, sizeof pr))
				return -1;
			break;
		}
		case PKT_DISCONNECT:
			return -1;
		default:
			break; /* PUBACK, PUBCOMP, AUTH: nothing to answer */
		}
	}
	if (r < 0)
		return -1;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

static void drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Write pending replies; returns -1 on a dead socket. Switches the connection to
 * write-wait (and stops reading it) while the kernel buffer is full, so a client
 * that never reads cannot make the sink buffer without limit. */
static int flush(int ep, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			if (!c->want_out) {
				struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->want_out = 1;
			}
			return 0;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->want_out) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = 0;
	}
	return 0;
}

/* Read what is there (bounded per wakeup so one client cannot starve others). */
static int on_readable(struct conn *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		if (c->in_cap - c->in_len < RBUF_MIN / 4) {
			size_t cap = c->in_cap * 2;
			if (cap > MAX_PACKET * 2)
				return -1;
			uint8_t *n = realloc(c->in, cap);
			if (!n)
				return -1;
			c->in = n;
			c->in_cap = cap;
		}
		size_t space = c->in_cap - c->in_len;
		ssize_t n = recv(c->fd, c->in + c->in_len, space, 0);
		if (n == 0)
			return -1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		c->in_len += (size_t)n;
		if (process(c))
			return -1;
		/* Shrink back after a large packet so idle clients stay small. */
		if (c->in_len == 0 && c->in_cap > RBUF_MIN) {
			uint8_t *s = realloc(c->in, RBUF_MIN);
			if (s) {
				c->in = s;
				c->in_cap = RBUF_MIN;
			}
		}
		if ((size_t)n < space)
			return 0; /* short read: the socket is drained */
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	int port = 0, bound, lfd, ep;
	long max_secs = 3600;
	struct sigaction sa;
	struct epoll_event ev, evs[256];
	time_t start = time(NULL);

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pick-port")) {
			/* For the runner's real broker: bind port 0, report, release. */
			int fd = listen_on(0, &bound);
			if (fd < 0)
				return 1;
			close(fd);
			printf("%d\n", bound);
			return 0;
		} else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			port = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			max_secs = atol(argv[++i]);
		} else {
			fprintf(stderr, "usage: sink [-p port] [-t max_seconds] | --pick-port\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(); /* the idle-client scenario holds 1,000 connections here */

	lfd = listen_on(port, &bound);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0) {
		perror("sink: listen");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* NULL marks the listening socket */
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("PORT %d\n", bound);
	fflush(stdout);

	while (!stop && time(NULL) - start < max_secs) {
		int n = epoll_wait(ep, evs, 256, 500);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				/* Accept a bounded batch; the rest stay in the backlog. */
				for (int k = 0; k < 256; k++) {
					int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					c = calloc(1, sizeof *c);
					if (!c || !(c->in = malloc(RBUF_MIN))) {
						free(c);
						close(fd);
						continue;
					}
					c->fd = fd;
					c->level = 4;
					c->in_cap = RBUF_MIN;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
					n_conn++;
				}
				continue;
			}
			if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
				drop(ep, c);
				continue;
			}
			if (c->want_out) {
				if (flush(ep, c))
					drop(ep, c);
				continue;
			}
			if (on_readable(c) || flush(ep, c))
				drop(ep, c);
		}
	}
	fprintf(stderr, "sink: %llu connections, %llu PUBLISH packets\n", n_conn, n_publish);
	return 0;
}
