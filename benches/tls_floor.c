/* tls_floor: the floor under the bench's TLS rows: what TLS costs with no MQTT
 * library at all, against the same tls_peer, so the table shows how close each
 * library comes to it (the plain `floor` row's counterpart over TLS).
 *
 *   tls_floor pub  -p PORT -A CAFILE -s SIZE -n COUNT   one SSL_write per pre-encoded
 *                                                       QoS 0 PUBLISH (one record, one
 *                                                       write() each: loop mode's minimum)
 *   tls_floor recv -p PORT -A CAFILE -s SIZE -n COUNT   SUBSCRIBE bench/recv/COUNT/SIZE to
 *                                                       tls_peer's source, then SSL_read
 *                                                       into a large buffer and discard
 * Common: -H HOST (127.0.0.1), -T TIMEOUT_SECONDS (60).
 *
 * OpenSSL 3 client with its defaults (the peer prints which cipher suites it
 * negotiated, for this program and both libraries), the server verified against
 * CAFILE, MQTT 3.1.1 CONNECT, CONNACK and SUBSCRIBE written by hand, Nagle left on
 * as the libraries leave it. recv reads ahead into a 256 KiB buffer (one read() for
 * many records) and checks only the byte count. Timing as in bench.c: pub from the
 * first SSL_write to the last; recv from the SUBACK's arrival (after the peer has
 * encrypted its flood) to the last byte; cpu is this process's, per message. Prints
 * "RESULT cmd=... msgs= secs= rate= cpu_us= maxrss_kb= cipher=" and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "wire.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#define READ_AHEAD (256 * 1024)
#define IN_CAP (64 * 1024) /* one SSL_read returns one record (<= 16 KiB) */

struct opts {
	const char *cmd, *host, *cafile;
	int port, size, timeout;
	long count;
};

static double deadline;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "tls_floor: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void check_deadline(const char *what)
{
	if (now() > deadline)
		die("timed out %s", what);
}

static void write_all(SSL *ssl, const void *b, size_t n)
{
	if (SSL_write(ssl, b, (int)n) != (int)n)
		die("SSL_write failed");
}

/* Exactly n plaintext bytes (the handshake's replies: CONNACK). */
static void read_exact(SSL *ssl, unsigned char *b, size_t n)
{
	for (size_t got = 0; got < n;) {
		int r = SSL_read(ssl, b + got, (int)(n - got));
		if (r <= 0)
			die("connection closed");
		got += (size_t)r;
	}
}

/* TCP connect, TLS handshake, MQTT CONNECT and CONNACK. */
static SSL *open_session(const struct opts *o, SSL_CTX **ctx_out)
{
	static const unsigned char connect_packet[] = {
		0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 't', 'l', 's', 'f'};
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	unsigned char connack[4];
	char port[16];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	int fd;

	if (!ctx || SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1)
		die("cannot load %s", o->cafile);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, READ_AHEAD);
	snprintf(port, sizeof port, "%d", o->port);
	if (getaddrinfo(o->host, port, &hints, &ai))
		die("cannot resolve %s", o->host);
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen))
		die("connect: %s", strerror(errno));
	freeaddrinfo(ai);
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set1_host(ssl, o->host) || SSL_connect(ssl) != 1)
		die("TLS handshake failed");
	write_all(ssl, connect_packet, sizeof connect_packet);
	read_exact(ssl, connack, sizeof connack);
	if (connack[0] != 0x20 || connack[3] != 0)
		die("no CONNACK");
	*ctx_out = ctx;
	return ssl;
}

static void close_session(SSL *ssl, SSL_CTX *ctx)
{
	static const unsigned char disconnect[] = {0xe0, 0};
	int fd = SSL_get_fd(ssl);
	SSL_write(ssl, disconnect, sizeof disconnect);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
}

static void result(const struct opts *o, SSL *ssl, double secs, double cpu)
{
	printf("RESULT cmd=%s msgs=%ld secs=%.6f rate=%.1f cpu_us=%.4f maxrss_kb=%ld cipher=%s\n", o->cmd,
	       o->count, secs, (double)o->count / secs, cpu * 1e6 / (double)o->count, maxrss_kb(),
	       SSL_get_cipher_name(ssl));
	fflush(stdout);
}

/* One SSL_write per message: what loop mode must do (each publish written at once). */
static void run_pub(const struct opts *o)
{
	const char *topic = "bench/pub";
	size_t flen;
	unsigned char *frame;
	SSL_CTX *ctx;
	SSL *ssl = open_session(o, &ctx);
	double t0, c0;

	frame = wire_publish_q0(topic, (size_t)o->size, &flen);
	if (!frame)
		die("out of memory");

	t0 = now();
	c0 = cpu_seconds();
	for (long i = 0; i < o->count; i++) {
		write_all(ssl, frame, flen);
		if ((i & 1023) == 0)
			check_deadline("writing");
	}
	result(o, ssl, now() - t0, cpu_seconds() - c0);
	close_session(ssl, ctx);
	free(frame);
}

/* Decrypt the source's flood and discard it: the least a TLS receiver does. */
static void run_recv(const struct opts *o)
{
	char topic[96];
	unsigned char sub[128], *in = malloc(IN_CAP);
	SSL_CTX *ctx;
	SSL *ssl = open_session(o, &ctx);
	size_t tlen = (size_t)snprintf(topic, sizeof topic, "bench/recv/%ld/%d", o->count, o->size);
	size_t body = 2 + tlen + (size_t)o->size, flen = 1 + body, n = 0;
	double t0, c0;

	if (!in)
		die("out of memory");
	for (size_t rest = body; rest; rest >>= 7)
		flen++;
	/* SUBSCRIBE, packet id 1, QoS 0; the SUBACK is 5 bytes. */
	sub[n++] = 0x82;
	sub[n++] = (unsigned char)(2 + 2 + tlen + 1);
	sub[n++] = 0;
	sub[n++] = 1;
	sub[n++] = (unsigned char)(tlen >> 8);
	sub[n++] = (unsigned char)tlen;
	memcpy(sub + n, topic, tlen);
	n += tlen;
	sub[n++] = 0;

	c0 = cpu_seconds();
	write_all(ssl, sub, n);
	unsigned long long want = 5 + (unsigned long long)o->count * flen, got = 0;
	int r = SSL_read(ssl, in, IN_CAP);
	if (r < 5 || in[0] != 0x90)
		die("no SUBACK");
	t0 = now();
	for (got = (unsigned long long)r; got < want; got += (unsigned long long)r) {
		r = SSL_read(ssl, in, IN_CAP);
		if (r <= 0)
			die("connection closed after %llu of %llu bytes", got, want);
		if ((got & 0xfffff) < (unsigned long long)r)
			check_deadline("reading");
	}
	if (got != want)
		die("%llu bytes, expected %llu", got, want);
	result(o, ssl, now() - t0, cpu_seconds() - c0);
	close_session(ssl, ctx);
	free(in);
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_floor pub|recv -p PORT -A CAFILE [-H HOST] [-s SIZE] [-n COUNT] [-T SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {.host = "127.0.0.1", .size = 16, .count = 100000, .timeout = 60};

	if (argc < 2)
		usage();
	o.cmd = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (a[0] != '-' || !a[1] || a[2])
			usage();
		switch (a[1]) {
		case 'H': o.host = v; break;
		case 'p': o.port = atoi(v); break;
		case 'A': o.cafile = v; break;
		case 's': o.size = atoi(v); break;
		case 'n': o.count = atol(v); break;
		case 'T': o.timeout = atoi(v); break;
		default: usage();
		}
	}
	if (argc % 2 || o.port <= 0 || !o.cafile || o.count <= 0 || o.size < 0)
		usage();
	deadline = now() + o.timeout;
	if (!strcmp(o.cmd, "pub"))
		run_pub(&o);
	else if (!strcmp(o.cmd, "recv"))
		run_recv(&o);
	else
		usage();
	return 0;
}
