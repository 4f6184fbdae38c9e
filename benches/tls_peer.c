/* tls_peer: the benchmark's discard sink and frame source behind TLS (OpenSSL).
 *
 * One thread per client, blocking I/O on an OpenSSL server session. After CONNECT
 * it answers CONNACK and then behaves like benches/sink.c (drops PUBLISH, answers
 * PUBACK / PUBREC+PUBCOMP, SUBACK, UNSUBACK, PINGRESP; all replies for what one
 * burst of reads brought are written in one SSL_write), except that a SUBSCRIBE to
 * "bench/recv/<count>/<size>" turns it into benches/source.c: SUBACK, then <count>
 * pre-encoded QoS 0 PUBLISH frames in 16 KiB records.
 *
 * The peer must not be what a row measures. Reading: OpenSSL without read-ahead
 * makes two read() calls per record (its 5-byte header, then its body), and a
 * client in loop mode sends one small record per message, so the peer reads ahead
 * into a 256 KiB buffer (one read() for many records, as the plain sink reads) and
 * polls only when it has replies to decide about. Source mode: the SUBACK and the
 * whole flood are encrypted into memory first (up to PREENCRYPT_MAX), then sent
 * with plain write() calls, so while the client decrypts this peer spends no
 * AES-GCM on the same two cores; the bench's receive clock starts at the SUBACK,
 * after the encryption.
 * Discard mode (-d 1), for the QoS 0 publish rows: after the CONNACK the peer drops
 * ciphertext as it comes, undecrypted, as the plain sink drops frames; otherwise the
 * sink's AES-GCM (as much work per byte as the client's) is what a 1 KiB row measures.
 * A QoS 0 publisher expects no reply, so nothing is lost; DISCONNECT is seen as EOF.
 * Sessions are never resumed (no tickets, no cache), so every connection is a full
 * handshake for both client libraries.
 *
 * Usage: tls_peer -c CERT -k KEY [-C CLIENT_CA] [-v 1.2|1.3] [-d 1] [-p port] [-t max_seconds]
 *   -C   require a client certificate signed by CLIENT_CA
 *   -v   only this TLS version (default: 1.2 and 1.3)
 *   -d   discard mode (above)
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

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "wire.h"

#define IN_CAP (64 * 1024)      /* an SSL_read returns one record (<= 16 KiB) at most */
#define OUT_FLUSH (16 * 1024)   /* write replies when this many are queued, or input pauses */
#define CHUNK (256 * 1024)      /* bytes of frames per SSL_write, of ciphertext per write() */
#define READ_AHEAD (256 * 1024) /* OpenSSL's read buffer: one read() for many records */
#define PREENCRYPT_MAX (1ul << 30) /* a larger flood is encrypted while it is sent */
#define CIPHERS_MAX 8
#define IO_TIMEOUT_S 10

static volatile sig_atomic_t stop;
static int discard;
static atomic_ulong n_conn, n_tls12, n_tls13, n_resumed, n_failed, n_publish, n_discarded;
static SSL_CTX *ctx;
/* Which cipher suites were negotiated (printed at exit): the floor and both libraries
 * must be measured on the same one. */
static pthread_mutex_t cipher_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *cipher_name[CIPHERS_MAX];
static unsigned long cipher_count[CIPHERS_MAX];

static void count_cipher(const char *name)
{
	pthread_mutex_lock(&cipher_mu);
	for (int i = 0; i < CIPHERS_MAX && name; i++) {
		if (!cipher_name[i])
			cipher_name[i] = name; /* OpenSSL's static string */
		if (!strcmp(cipher_name[i], name)) {
			cipher_count[i]++;
			break;
		}
	}
	pthread_mutex_unlock(&cipher_mu);
}

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

/* Plain write() of ciphertext made beforehand. */
static int send_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n < CHUNK ? n : CHUNK);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The queued replies (the SUBACK) and count frames (per of them in chunk), encrypted
 * into a memory BIO that stands in for the socket, then sent as they are. */
static int flood_preencrypted(struct peer *c, const uint8_t *chunk, size_t per, size_t flen,
			      unsigned long count)
{
	size_t total = c->out_len + count * flen;
	BIO *sock = SSL_get_wbio(c->ssl), *mem = BIO_new(BIO_s_mem());
	BUF_MEM *bm = BUF_MEM_new();
	char *data;
	int rc = 0;

	/* Sized for the records' overhead, so the BIO does not grow by copying. */
	if (!mem || !bm || !BUF_MEM_grow(bm, total + (total / 16384 + 2) * 64)) {
		BIO_free(mem);
		BUF_MEM_free(bm);
		return -1;
	}
	bm->length = 0;
	BIO_set_mem_buf(mem, bm, BIO_CLOSE);
	BIO_up_ref(sock);
	SSL_set0_wbio(c->ssl, mem);
	rc = flush(c);
	for (unsigned long sent = 0; sent < count && !rc && !stop;) {
		size_t k = count - sent < per ? count - sent : per;
		rc = write_all(c, chunk, k * flen);
		sent += k;
	}
	long len = BIO_get_mem_data(mem, &data);
	if (!rc)
		rc = send_all(c->fd, data, (size_t)len);
	SSL_set0_wbio(c->ssl, sock); /* frees mem and its buffer */
	return rc;
}

/* Source mode: after the queued SUBACK, count frames of size-byte payloads on topic;
 * then read until EOF. */
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
	if (count <= PREENCRYPT_MAX / flen) {
		int rc = flood_preencrypted(c, chunk, per, flen, count);
		free(chunk);
		return rc;
	}
	if (flush(c)) {
		free(chunk);
		return -1;
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

/* Is more input ready without blocking (read ahead by OpenSSL, or on the socket)? */
static int more_ready(struct peer *c)
{
	struct pollfd pf = {.fd = c->fd, .events = POLLIN};
	return SSL_has_pending(c->ssl) || poll(&pf, 1, 0) > 0;
}

/* Discard mode: everything after the CONNECT, read and dropped as ciphertext. Without
 * read-ahead OpenSSL has read no further than the CONNECT's record. */
static void drop_ciphertext(struct peer *c)
{
	uint8_t *buf;
	ssize_t n;
	if (flush(c) || c->in_len || SSL_has_pending(c->ssl) || !(buf = malloc(CHUNK)))
		return; /* a client that sent more before its CONNACK: end the session */
	while (!stop && ((n = read(c->fd, buf, CHUNK)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			atomic_fetch_add_explicit(&n_discarded, (unsigned long)n, memory_order_relaxed);
	free(buf);
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
	count_cipher(SSL_get_cipher_name(c->ssl));
	if (SSL_session_reused(c->ssl))
		atomic_fetch_add(&n_resumed, 1);
	while (!stop) {
		int n = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));
		if (n <= 0)
			break;
		c->in_len += (size_t)n;
		if (process(c))
			break;
		if (discard && c->level) {
			drop_ciphertext(c);
			break;
		}
		/* Batch the replies to everything that arrived together, as the sink does;
		 * with none queued (QoS 0) there is nothing to decide, and no poll. */
		if (c->out_len && (c->out_len >= OUT_FLUSH || !more_ready(c)) && flush(c))
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
	if (!discard) {
		SSL_CTX_set_read_ahead(x, 1);
		SSL_CTX_set_default_read_buffer_len(x, READ_AHEAD);
	}
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
		else if (!strcmp(argv[i], "-d")) discard = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-t")) max_secs = atol(argv[i + 1]);
		else cert = NULL, i = argc;
	}
	if (!cert || !key || argc % 2 == 0) {
		fprintf(stderr, "usage: tls_peer -c CERT -k KEY [-C CLIENT_CA] [-v 1.2|1.3] [-d 1] [-p port] "
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
	fprintf(stderr, "tls_peer: %lu connections, %lu TLS1.2, %lu TLS1.3, %lu resumed, %lu failed, %lu PUBLISH,",
		atomic_load(&n_conn), atomic_load(&n_tls12), atomic_load(&n_tls13), atomic_load(&n_resumed),
		atomic_load(&n_failed), atomic_load(&n_publish));
	if (discard)
		fprintf(stderr, " %lu bytes dropped undecrypted,", atomic_load(&n_discarded));
	pthread_mutex_lock(&cipher_mu);
	for (int i = 0; i < CIPHERS_MAX && cipher_name[i]; i++)
		fprintf(stderr, " %s %lu", cipher_name[i], cipher_count[i]);
	pthread_mutex_unlock(&cipher_mu);
	fputc('\n', stderr);
	return 0;
}
