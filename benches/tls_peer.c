/* tls_peer: the benchmark's discard sink and frame source behind TLS (OpenSSL).
 *
 * One thread per client, blocking I/O on an OpenSSL server session. After CONNECT
 * it answers CONNACK and then behaves like benches/sink.c (drops PUBLISH, answers
 * PUBACK / PUBREC+PUBCOMP, SUBACK, UNSUBACK, PINGRESP; all replies for what one
 * burst of reads brought are written in one SSL_write), except that a SUBSCRIBE to
 * "bench/recv/<count>/<size>" turns it into benches/source.c: SUBACK, then <count>
 * pre-encoded QoS 0 PUBLISH frames in 256 KiB writes as fast as TLS takes them.
 * Sessions are never resumed (no tickets, no cache), so every connection is a full
 * handshake for both client libraries.
 *
 * Usage: tls_peer -c CERT -k KEY [-C CLIENT_CA] [-v 1.2|1.3] [-p port] [-t max_seconds]
 *   -C   require a client certificate signed by CLIENT_CA
 *   -v   only this TLS version (default: 1.2 and 1.3)
 * Prints "PORT <n>" once listening; on SIGTERM/SIGINT (or after max_seconds) prints
 * its counters on stderr: connections, handshakes per version, resumed, failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "wire.h"

#define IN_CAP (64 * 1024)      /* an SSL_read returns one record (<= 16 KiB) at most */
#define OUT_FLUSH (16 * 1024)   /* write replies when this many are queued, or input pauses */
#define CHUNK (256 * 1024)      /* bytes of frames per SSL_write in source mode */
#define IO_TIMEOUT_S 10

static volatile sig_atomic_t stop;
static atomic_ulong n_conn, n_tls12, n_tls13, n_resumed, n_failed, n_publish;
static SSL_CTX *ctx;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct peer {
	SSL *ssl;
	int fd, level;
	uint8_t in[IN_CAP];
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_cap;
};

static int put(struct peer *c, const uint8_t *b, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		while (cap < c->out_len + n)
			cap *= 2;
		uint8_t *p = realloc(c->out, cap);
		if (!p)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, b, n);
	c->out_len += n;
	return 0;
}

static int ack(struct peer *c, uint8_t first, uint16_t id)
{
	uint8_t a[4] = {first, 2, (uint8_t)(id >> 8), (uint8_t)id};
	return put(c, a, sizeof a);
}

static int write_all(struct peer *c, const uint8_t *b, size_t n)
{
	while (n) {
		int w = SSL_write(c->ssl, b, n > (1u << 30) ? 1 << 30 : (int)n);
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int flush(struct peer *c)
{
	if (c->out_len && write_all(c, c->out, c->out_len))
		return -1;
	c->out_len = 0;
	return 0;
}

/* Source mode: count frames of size-byte payloads on topic, then read until EOF. */
static int flood(struct peer *c, const char *topic, unsigned long count, unsigned long size)
{
	size_t tl = strlen(topic), body = 2 + tl + (c->level == 5) + size, fh = 0;
	uint8_t hdr[8];
	hdr[fh++] = 0x30;
	fh += wire_put_len(hdr + fh, body);
	size_t flen = fh + body, per = CHUNK / flen ? CHUNK / flen : 1;
	uint8_t *chunk = malloc(per * flen);
	if (!chunk)
		return -1;
	for (size_t i = 0; i < per; i++) {
		uint8_t *f = chunk + i * flen;
		memcpy(f, hdr, fh);
		f += fh;
		*f++ = (uint8_t)(tl >> 8);
		*f++ = (uint8_t)tl;
		memcpy(f, topic, tl);
		f += tl;
		if (c->level == 5)
			*f++ = 0;
		memset(f, 'r', size);
	}
	for (unsigned long sent = 0; sent < count && !stop;) {
		size_t k = count - sent < per ? count - sent : per;
		if (write_all(c, chunk, k * flen)) {
			free(chunk);
			return -1;
		}
		sent += k;
	}
	free(chunk);
	return 0;
}

/* SUBACK (granting what was asked) or UNSUBACK; may switch to source mode. */
static int subscribe(struct peer *c, const struct pkt *p, int unsub)
{
	uint8_t codes[256], hdr[8];
	size_t nc = 0, pos = 2, h = 0, prop = 0, used;
	char first_topic[256] = "";
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
		if (pos + 2 + tl > p->len)
			return -1;
		if (nc == 0 && tl < sizeof first_topic) {
			memcpy(first_topic, p->body + pos + 2, tl);
			first_topic[tl] = 0;
		}
		pos += 2 + tl;
		if (unsub) {
			codes[nc++] = 0;
		} else {
			if (pos >= p->len)
				break;
			codes[nc++] = p->body[pos++] & 3;
		}
	}
	if (unsub && c->level != 5)
		return ack(c, 0xb0, wire_u16(p->body));
	hdr[h++] = unsub ? 0xb0 : 0x90;
	h += wire_put_len(hdr + h, 2 + (c->level == 5) + nc);
	hdr[h++] = p->body[0];
	hdr[h++] = p->body[1];
	if (c->level == 5)
		hdr[h++] = 0;
	if (put(c, hdr, h) || put(c, codes, nc))
		return -1;
	unsigned long count, size;
	if (!unsub && sscanf(first_topic, "bench/recv/%lu/%lu", &count, &size) == 2 &&
	    size <= 16 * 1024 * 1024) {
		if (nc)
			c->out[c->out_len - nc] = 0; /* the source grants QoS 0 */
		if (flush(c))
			return -1;
		return flood(c, first_topic, count, size);
	}
	return 0;
}

/* Handle every whole packet buffered; -1 ends the session. */
static int process(struct peer *c)
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
			atomic_fetch_add_explicit(&n_publish, 1, memory_order_relaxed);
			if (qos) {
				if (p.len < 2)
					return -1;
				size_t tl = wire_u16(p.body);
				if (p.len < 2 + tl + 2 || ack(c, qos == 1 ? 0x40 : 0x50, wire_u16(p.body + 2 + tl)))
					return -1;
			}
			break;
		}
		case PKT_PUBREL:
			if (p.len < 2 || ack(c, 0x70, wire_u16(p.body)))
				return -1;
			break;
		case PKT_SUBSCRIBE:
		case PKT_UNSUBSCRIBE:
			if (subscribe(c, &p, type == PKT_UNSUBSCRIBE))
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
			break;
		}
	}
	if (r < 0)
		return -1;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	if (c->in_len == sizeof c->in)
		return -1; /* a packet larger than this peer takes */
	return 0;
}

/* Is more input ready without blocking (decrypted, or bytes on the socket)? */
static int more_ready(struct peer *c)
{
	struct pollfd pf = {.fd = c->fd, .events = POLLIN};
	return SSL_pending(c->ssl) > 0 || poll(&pf, 1, 0) > 0;
}

static void *serve(void *arg)
{
	struct peer *c = arg;
	atomic_fetch_add(&n_conn, 1);
	if (SSL_accept(c->ssl) != 1) {
		atomic_fetch_add(&n_failed, 1);
		goto out;
	}
	atomic_fetch_add(SSL_version(c->ssl) == TLS1_3_VERSION ? &n_tls13 : &n_tls12, 1);
	if (SSL_session_reused(c->ssl))
		atomic_fetch_add(&n_resumed, 1);
	while (!stop) {
		int n = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));
		if (n <= 0)
			break;
		c->in_len += (size_t)n;
		if (process(c))
			break;
		/* Batch the replies to everything that arrived together, as the sink does. */
		if ((c->out_len >= OUT_FLUSH || !more_ready(c)) && flush(c))
			break;
	}
	flush(c);
out:
	SSL_free(c->ssl);
	close(c->fd);
	free(c->out);
	free(c);
	return NULL;
}

static SSL_CTX *make_ctx(const char *cert, const char *key, const char *client_ca, const char *ver)
{
	SSL_CTX *x = SSL_CTX_new(TLS_server_method());
	if (!x)
		return NULL;
	SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
	if (ver && !strcmp(ver, "1.2"))
		SSL_CTX_set_max_proto_version(x, TLS1_2_VERSION);
	else if (ver && !strcmp(ver, "1.3"))
		SSL_CTX_set_min_proto_version(x, TLS1_3_VERSION);
	/* Full handshakes only: no stateless tickets, no server-side cache. */
	SSL_CTX_set_options(x, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(x, 0);
	SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(x, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(x) != 1) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(x);
		return NULL;
	}
	if (client_ca) {
		if (SSL_CTX_load_verify_locations(x, client_ca, NULL) != 1) {
			ERR_print_errors_fp(stderr);
			SSL_CTX_free(x);
			return NULL;
		}
		SSL_CTX_set_verify(x, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return x;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *client_ca = NULL, *ver = NULL;
	int port = 0, one = 1, lfd;
	long max_secs = 3600;
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	struct sigaction sa;
	struct rlimit rl;
	pthread_attr_t attr;
	time_t start = time(NULL);

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-c")) cert = argv[i + 1];
		else if (!strcmp(argv[i], "-k")) key = argv[i + 1];
		else if (!strcmp(argv[i], "-C")) client_ca = argv[i + 1];
		else if (!strcmp(argv[i], "-v")) ver = argv[i + 1];
		else if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-t")) max_secs = atol(argv[i + 1]);
		else cert = NULL, i = argc;
	}
	if (!cert || !key || argc % 2 == 0) {
		fprintf(stderr, "usage: tls_peer -c CERT -k KEY [-C CLIENT_CA] [-v 1.2|1.3] [-p port] "
				"[-t max_seconds]\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max; /* the idle scenario holds 1,000 connections */
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ctx = make_ctx(cert, key, client_ca, ver);
	if (!ctx)
		return 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al)) {
		perror("tls_peer: listen");
		return 1;
	}
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	while (!stop && time(NULL) - start < max_secs) {
		struct pollfd pf = {.fd = lfd, .events = POLLIN};
		if (poll(&pf, 1, 500) <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/* A client that stops reading or writing must not hold a thread forever. */
		struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		struct peer *c = calloc(1, sizeof *c);
		pthread_t t;
		if (c)
			c->fd = fd;
		if (!c || !(c->ssl = SSL_new(ctx)) || !SSL_set_fd(c->ssl, fd) ||
		    pthread_create(&t, &attr, serve, c)) {
			if (c && c->ssl)
				SSL_free(c->ssl);
			free(c);
			close(fd);
			atomic_fetch_add(&n_failed, 1);
		}
	}
	fprintf(stderr, "tls_peer: %lu connections, %lu TLS1.2, %lu TLS1.3, %lu resumed, %lu failed, %lu PUBLISH\n",
		atomic_load(&n_conn), atomic_load(&n_tls12), atomic_load(&n_tls13), atomic_load(&n_resumed),
		atomic_load(&n_failed), atomic_load(&n_publish));
	return 0;
}
