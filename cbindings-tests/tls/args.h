/* The command line both TLS programs take, and the client settings it asks for:
 *
 *   PROGRAM MODE HOST PORT [--insecure] [--cafile F] [--capath D]
 *                          [--cert F --key F [--key-password P]]
 *                          [--socks PORT [--socks-user U --socks-pass P]]
 *
 * --key-password gives mosquitto_tls_set a pw_callback that answers P.
 */
#ifndef SKEETER_TLS_ARGS_H
#define SKEETER_TLS_ARGS_H

#include "../client/check.h"

struct tls_args {
	const char *mode, *host, *cafile, *capath, *cert, *key, *key_password;
	const char *socks_user, *socks_pass;
	int port, socks_port;
	bool insecure;
};

/* Reads argv into *args; false for a command line it does not know. */
static inline bool parse_tls_args(int argc, char *argv[], struct tls_args *args)
{
	memset(args, 0, sizeof(*args));
	if(argc < 4) return false;
	args->mode = argv[1];
	args->host = argv[2];
	args->port = atoi(argv[3]);
	for(int i = 4; i < argc; i++){
		if(!strcmp(argv[i], "--insecure")){ args->insecure = true; continue; }
		if(i + 1 >= argc) return false;
		if(!strcmp(argv[i], "--cafile")) args->cafile = argv[++i];
		else if(!strcmp(argv[i], "--capath")) args->capath = argv[++i];
		else if(!strcmp(argv[i], "--key-password")) args->key_password = argv[++i];
		else if(!strcmp(argv[i], "--cert")) args->cert = argv[++i];
		else if(!strcmp(argv[i], "--key")) args->key = argv[++i];
		else if(!strcmp(argv[i], "--socks")) args->socks_port = atoi(argv[++i]);
		else if(!strcmp(argv[i], "--socks-user")) args->socks_user = argv[++i];
		else if(!strcmp(argv[i], "--socks-pass")) args->socks_pass = argv[++i];
		else return false;
	}
	return true;
}

static const char *key_password;

/* The pw_callback: copies --key-password into OpenSSL's buffer, as programs do. */
static inline int answer_key_password(char *buf, int size, int rwflag, void *userdata)
{
	(void)rwflag; (void)userdata;
	int len = (int)strlen(key_password);
	if(len >= size) return 0;
	memcpy(buf, key_password, (size_t)len + 1);
	return len;
}

/* The TLS and SOCKS settings the command line asked for, each call checked. */
static inline void apply_tls_args(struct mosquitto *mosq, const struct tls_args *args)
{
	if(args->cafile || args->capath){
		key_password = args->key_password;
		CHECK_RC(mosquitto_tls_set(mosq, args->cafile, args->capath, args->cert, args->key,
					key_password ? answer_key_password : NULL), MOSQ_ERR_SUCCESS);
		if(args->insecure) CHECK_RC(mosquitto_tls_insecure_set(mosq, true), MOSQ_ERR_SUCCESS);
	}
	if(args->socks_port){
		CHECK_RC(mosquitto_socks5_set(mosq, "127.0.0.1", args->socks_port, args->socks_user, args->socks_pass),
				MOSQ_ERR_SUCCESS);
	}
}

#endif
