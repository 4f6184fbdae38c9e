#!/usr/bin/env bash
# Benchmark runner: the same C client (benches/bench.c) on skeeter's library and on
# Debian's libmosquitto, alternating, several repetitions, medians and a ratio table.
#
#   scripts/bench.sh                 full run (a few minutes)
#   BENCH_QUICK=1 scripts/bench.sh   smoke run (under ~2 minutes)
#
# Environment:
#   BENCH_QUICK=1        fewer messages and repetitions
#   BENCH_REPS=N         repetitions per scenario and library (quick 3, full 5)
#   BENCH_ONLY=REGEX     only scenarios whose name matches (grep -E)
#   BENCH_LIBS="ours debian"   which libraries to run (default both)
#   BENCH_NO_CARGO=1     do not run cargo build --release first
#   BENCH_OUR_LIB=PATH   our library (default target/release/libmosquitto.so)
#   BENCH_DEBIAN_LIB=PATH  Debian's (default /usr/lib/x86_64-linux-gnu/libmosquitto.so.1)
#   BENCH_BROKER=PATH    mosquitto broker (default /usr/sbin/mosquitto)
#   BENCH_RUN_TIMEOUT=S  seconds before one run is killed as hung (quick 12, full 120)
#
# With Debian's rabbitmq-server installed, two more rows publish through RabbitMQ
# (started on first use, ~11 s): over TCP, and over WebSockets (ours only: 2.0 has
# no WebSockets), so the WebSocket layer's cost shows against TCP on the same broker.
#
# Exit status: 0 when every run on Debian's library succeeded (our library's failures
# are shown as FAILED in the table and do not fail the run), 1 when a Debian run
# failed, 2 when the setup itself failed (compiler, broker, sink, source).
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/target/bench"
BIN="$OUT/bin"
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=""
if [ -n "$QUICK" ]; then REPS=${BENCH_REPS:-3}; RUN_TIMEOUT=12; else REPS=${BENCH_REPS:-5}; RUN_TIMEOUT=120; fi
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-$RUN_TIMEOUT}
[ "$RUN_TIMEOUT" -ge 10 ] 2>/dev/null || RUN_TIMEOUT=10
ONLY=${BENCH_ONLY:-}
LIBS=${BENCH_LIBS:-ours debian}
OUR_LIB=${BENCH_OUR_LIB:-$ROOT/target/release/libmosquitto.so}
DEBIAN_LIB=${BENCH_DEBIAN_LIB:-/usr/lib/x86_64-linux-gnu/libmosquitto.so.1}
BROKER=${BENCH_BROKER:-/usr/sbin/mosquitto}
CC=${CC:-gcc}

say() { printf '%s\n' "$*" >&2; }
fatal() { say "bench: $*"; exit 2; }

mkdir -p "$BIN" || fatal "cannot create $BIN"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/skeeter-bench.XXXXXX") || fatal "mktemp failed"

# Everything we start is recorded here and stopped by PID on exit.
SINK_PID="" SOURCE_PID="" BROKER_PID="" RABBIT_PID="" EPMD_PID=""
stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
cleanup() {
	stop_pid "$SINK_PID"; stop_pid "$SOURCE_PID"; stop_pid "$BROKER_PID"
	declare -F tls_stop_all >/dev/null && tls_stop_all # the TLS block's peers and broker
	stop_pid "${MANY_BROKER_PID:-}"
	# The node's whole session (setsid made the server its leader), then its epmd.
	[ -n "$RABBIT_PID" ] && kill -9 -- "-$RABBIT_PID" 2>/dev/null
	stop_pid "$RABBIT_PID"; stop_pid "$EPMD_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build ---------------------------------------------------------------------
# Build against the installed mosquitto.h and Debian's libmosquitto.so.1, like any
# existing program; the loader then swaps the library under it.
CFLAGS="-O2 -std=c11 -Wall -Wextra"
HDR=""
[ -f /usr/include/mosquitto.h ] || HDR="-I$ROOT/include"
[ -e "$DEBIAN_LIB" ] || fatal "Debian's library not found at $DEBIAN_LIB"
$CC $CFLAGS $HDR -o "$BIN/bench" "$ROOT/benches/bench.c" "$DEBIAN_LIB" -pthread || fatal "building bench failed"
$CC $CFLAGS -o "$BIN/sink" "$ROOT/benches/sink.c" || fatal "building sink failed"
$CC $CFLAGS -o "$BIN/source" "$ROOT/benches/source.c" || fatal "building source failed"
# paho.mqtt.c's MQTTAsync with file persistence, for the persistence rows.
PAHO=""
if [ -f /usr/include/MQTTAsync.h ]; then
	$CC $CFLAGS -o "$BIN/paho_persist" "$ROOT/benches/paho_persist.c" -lpaho-mqtt3as &&
		PAHO=1 || say "bench: building paho_persist failed; its rows are skipped"
fi

OURS_BROKEN=""
if [[ " $LIBS " == *" ours "* ]]; then
	if [ -z "${BENCH_NO_CARGO:-}" ] && [ -z "${BENCH_OUR_LIB:-}" ]; then
		say "bench: cargo build --release (log: $OUT/cargo.log)"
		(cd "$ROOT" && cargo build --release) >"$OUT/cargo.log" 2>&1 ||
			OURS_BROKEN="cargo build --release failed (see $OUT/cargo.log)"
	fi
	[ -z "$OURS_BROKEN" ] && [ ! -f "$OUR_LIB" ] && OURS_BROKEN="$OUR_LIB does not exist"
fi

# Stage each library as libmosquitto.so.1 in its own directory for LD_LIBRARY_PATH.
mkdir -p "$TMP/ours" "$TMP/debian"
[ -z "$OURS_BROKEN" ] && [ -f "$OUR_LIB" ] && cp "$OUR_LIB" "$TMP/ours/libmosquitto.so.1"
ln -s "$(readlink -f "$DEBIAN_LIB")" "$TMP/debian/libmosquitto.so.1"

# ---- peers: sink, source, broker ----------------------------------------------------
wait_port_line() { # file -> port printed as "PORT n"
	local f=$1 p=""
	for _ in $(seq 1 50); do
		p=$(awk '/^PORT /{print $2; exit}' "$f" 2>/dev/null)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
	done
	return 1
}
start_sink() {
	"$BIN/sink" -t 7200 >"$TMP/sink.out" 2>"$TMP/sink.err" &
	SINK_PID=$!
	SINK_PORT=$(wait_port_line "$TMP/sink.out") || fatal "sink did not start"
}
start_source() {
	"$BIN/source" -t 7200 >"$TMP/source.out" 2>"$TMP/source.err" &
	SOURCE_PID=$!
	SOURCE_PORT=$(wait_port_line "$TMP/source.out") || fatal "source did not start"
}
start_broker() {
	[ -x "$BROKER" ] || fatal "broker $BROKER not found"
	BROKER_PORT=$("$BIN/sink" --pick-port) || fatal "no free port"
	# Nagle off so the round-trip figures measure the clients, not delayed ACKs.
	cat >"$TMP/mosquitto.conf" <<-EOF
		listener $BROKER_PORT 127.0.0.1
		allow_anonymous true
		persistence false
		set_tcp_nodelay true
		log_dest none
	EOF
	"$BROKER" -c "$TMP/mosquitto.conf" >"$TMP/broker.log" 2>&1 &
	BROKER_PID=$!
	for _ in $(seq 1 50); do
		kill -0 "$BROKER_PID" 2>/dev/null || fatal "broker exited: $(cat "$TMP/broker.log")"
		(exec 3<>"/dev/tcp/127.0.0.1/$BROKER_PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	fatal "broker did not open port $BROKER_PORT"
}
# A peer that died (say, on a client's malformed bytes) is restarted for the next run.
ensure_peers() {
	kill -0 "$SINK_PID" 2>/dev/null || { say "bench: sink died, restarting"; start_sink; }
	kill -0 "$SOURCE_PID" 2>/dev/null || { say "bench: source died, restarting"; start_source; }
	kill -0 "$BROKER_PID" 2>/dev/null || { say "bench: broker died, restarting"; start_broker; }
}
RABBIT=/usr/lib/rabbitmq/bin
start_rabbitmq() { # a node with the MQTT and Web MQTT plugins (WebSocket path /ws)
	local dir="$TMP/rabbitmq" amqp dist epmd_port node="skeeterbench$$@localhost"
	mkdir -p "$dir"
	amqp=$("$BIN/sink" --pick-port) && dist=$("$BIN/sink" --pick-port) &&
		epmd_port=$("$BIN/sink" --pick-port) && RABBIT_MQTT_PORT=$("$BIN/sink" --pick-port) &&
		RABBIT_WS_PORT=$("$BIN/sink" --pick-port) || fatal "no free port"
	cat >"$dir/rabbitmq.conf" <<-EOF
		listeners.tcp.default = 127.0.0.1:$amqp
		loopback_users = none
		mqtt.listeners.tcp.default = 127.0.0.1:$RABBIT_MQTT_PORT
		mqtt.allow_anonymous = true
		mqtt.default_user = guest
		mqtt.default_pass = guest
		web_mqtt.tcp.ip = 127.0.0.1
		web_mqtt.tcp.port = $RABBIT_WS_PORT
	EOF
	echo "[rabbitmq_mqtt,rabbitmq_web_mqtt]." >"$dir/enabled_plugins"
	local env=(RABBITMQ_NODENAME="$node" RABBITMQ_USE_LONGNAME=false HOME="$dir"
		RABBITMQ_PID_FILE="$dir/pid" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port"
		RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
	/usr/bin/epmd -port "$epmd_port" -address 127.0.0.1 >/dev/null 2>&1 &
	EPMD_PID=$!
	env "${env[@]}" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$amqp" \
		RABBITMQ_DIST_PORT="$dist" RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_MNESIA_BASE="$dir/mnesia" \
		RABBITMQ_LOG_BASE="$dir/log" \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
		setsid "$RABBIT/rabbitmq-server" >"$dir/server.log" 2>&1 &
	RABBIT_PID=$!
	env "${env[@]}" "$RABBIT/rabbitmqctl" -n "$node" wait --timeout 120 "$dir/pid" >/dev/null 2>&1 ||
		fatal "rabbitmq did not start (see $dir/server.log)"
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$RABBIT_WS_PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	fatal "rabbitmq did not open port $RABBIT_WS_PORT"
}
start_sink
start_source
start_broker

# ---- scenarios ------------------------------------------------------------------
# name | bench arguments (@SINK@ @BROKER@ @SOURCE@ become ports) | metrics
# metric = key:label:unit:better(hi|lo)[:scale]; scale divides the raw value.
if [ -n "$QUICK" ]; then
	N0=200000 N0K=100000 N1=30000 N2=15000 NR=300000 NRK=150000 NRTT=3000 NPEAK=200000
else
	N0=1000000 N0K=500000 N1=200000 N2=100000 NR=2000000 NRK=1000000 NRTT=20000 NPEAK=1000000
fi
RATE="rate:throughput:msg/s:hi"
SCEN=()
add() { SCEN+=("$1|$2|$3"); }
for tgt in sink broker; do
	for sz in 16 1024; do
		n=$N0; [ $sz = 1024 ] && n=$N0K
		lbl=${sz}B; [ $sz = 1024 ] && lbl=1KiB
		add "pub q0 $lbl $tgt loop" "pub -p @${tgt^^}@ -q 0 -s $sz -n $n -m loop" "$RATE"
		[ $tgt = sink ] &&
			add "pub q0 $lbl $tgt loop each" "pub -p @SINK@ -q 0 -s $sz -n $n -m loop -b 1" "$RATE"
		add "pub q0 $lbl $tgt loop_start" "pub -p @${tgt^^}@ -q 0 -s $sz -n $n -m start" "$RATE"
	done
	for q in 1 2; do
		n=$N1; [ $q = 2 ] && n=$N2
		add "pub q$q 16B $tgt window 20" "pub -p @${tgt^^}@ -q $q -s 16 -n $n -m loop" "$RATE"
		add "pub q$q 16B $tgt window 1000" "pub -p @${tgt^^}@ -q $q -s 16 -n $n -m loop -w 1000" "$RATE"
	done
done
# skeeter_persistence_set (ours only; -P makes a fresh directory per run) against
# the rows above without it, and paho.mqtt.c's MQTTAsync with its file persistence
# (MQTTCLIENT_PERSISTENCE_DEFAULT, maxInflight 1000), whose figure is shown in the
# "ours" column. paho is slow enough that it sends fewer messages.
if [ -n "$QUICK" ]; then NPAHO=1000; else NPAHO=10000; fi
for tgt in sink broker; do
	for q in 1 2; do
		n=$N1; [ $q = 2 ] && n=$N2
		add "pub q$q 16B $tgt window 1000 persist (ours only)" \
			"pub -p @${tgt^^}@ -q $q -s 16 -n $n -m loop -w 1000 -P @PERSIST@" "$RATE"
		# With loop_start the sync runs with the lock released and publishes
		# gather behind it: the group commit at its best.
		add "pub q$q 16B $tgt window 1000 loop_start" \
			"pub -p @${tgt^^}@ -q $q -s 16 -n $n -m start -w 1000" "$RATE"
		add "pub q$q 16B $tgt window 1000 loop_start persist (ours only)" \
			"pub -p @${tgt^^}@ -q $q -s 16 -n $n -m start -w 1000 -P @PERSIST@" "$RATE"
		[ -n "$PAHO" ] && add "paho persist q$q 16B $tgt window 1000 (paho only)" \
			"paho pub -p @${tgt^^}@ -q $q -s 16 -n $NPAHO -w 1000 -P @PERSIST@" "$RATE"
	done
done
add "floor: write() per q0 16B, no library" "floor -p @SINK@ -s 16 -n $N0" "$RATE"
add "recv q0 16B source" "recv -p @SOURCE@ -s 16 -n $NR" "$RATE"
add "recv q0 1KiB source" "recv -p @SOURCE@ -s 1024 -n $NRK" "$RATE"
add "rtt q0 broker" "rtt -p @BROKER@ -q 0 -n $NRTT" "p50_us:p50:us:lo p99_us:p99:us:lo"
add "rtt q1 broker" "rtt -p @BROKER@ -q 1 -n $NRTT" "p50_us:p50:us:lo p99_us:p99:us:lo"
add "idle 1000 clients sink" "idle -p @SINK@ -n 1000" "per_client_kb:RSS/client:KiB:lo per_client_cold_kb:cold-RSS/client:KiB:lo"
add "peak RSS q0 1KiB x$NPEAK loop_start sink" "pub -p @SINK@ -q 0 -s 1024 -n $NPEAK -m start -c 0" \
	"maxrss_kb:peak-RSS:MiB:lo:1024 $RATE"
if [ -x "$RABBIT/rabbitmq-server" ]; then
	add "pub q0 16B rabbitmq tcp loop" "pub -p @RABBIT_MQTT@ -q 0 -s 16 -n $N1 -m loop" "$RATE"
	add "pub q0 16B rabbitmq ws loop (ours only)" \
		"pub -p @RABBIT_WS@ -W /ws -q 0 -s 16 -n $N1 -m loop" "$RATE"
fi

# ---- TLS, latency and connections (issue 20) --------------------------------------
# Kept in one block: the TLS peers (benches/tls_peer.c: the sink and the source behind
# OpenSSL), the certificates they and a TLS mosquitto use (made here with openssl at
# run time), a TLS broker, the rows, and the latency rows' repetition count. Hooks
# elsewhere: tls_args (run_one), tls_stop_all (cleanup), tls_footer (table).
#   BENCH_RTT_REPS=N   repetitions of the rtt rows (default 3 × BENCH_REPS)
declare -A REPS_OF TIMEOUT_OF TLS_PEER_PID TLS_PEER_PORT
TLS_OK="" TLS_BROKER_PID="" TLS_BROKER_PORT="" CERTS="$TMP/certs"
if $CC $CFLAGS -o "$BIN/tls_peer" "$ROOT/benches/tls_peer.c" -lssl -lcrypto -pthread 2>"$OUT/tls_peer.log" &&
	$CC $CFLAGS -o "$BIN/tls_floor" "$ROOT/benches/tls_floor.c" -lssl -lcrypto 2>>"$OUT/tls_peer.log"; then
	TLS_OK=1
else
	say "bench: building tls_peer failed (libssl-dev missing?), no TLS rows: see $OUT/tls_peer.log"
fi

make_certs() { # dir: ECDSA P-256 and RSA 2048 CAs, server certificates for 127.0.0.1, a client's
	local d=$1 kind
	mkdir -p "$d" || return 1
	printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment \
		extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost >"$d/server.ext"
	printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature \
		extendedKeyUsage=clientAuth >"$d/client.ext"
	for kind in ecdsa rsa; do
		local alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
		[ $kind = rsa ] && alg=(-newkey rsa:2048)
		openssl req -x509 "${alg[@]}" -nodes -days 2 -subj "/CN=skeeter bench $kind CA" \
			-keyout "$d/$kind-ca.key" -out "$d/$kind-ca.pem" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
			openssl req "${alg[@]}" -nodes -subj "/CN=127.0.0.1" -keyout "$d/$kind-server.key" \
				-out "$d/$kind-server.csr" &&
			openssl x509 -req -in "$d/$kind-server.csr" -CA "$d/$kind-ca.pem" -CAkey "$d/$kind-ca.key" \
				-CAcreateserial -days 2 -sha256 -extfile "$d/server.ext" -out "$d/$kind-server.pem" ||
			return 1
	done
	# The client's certificate is ECDSA P-256, signed by the ECDSA CA.
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench client" \
		-keyout "$d/client.key" -out "$d/client.csr" &&
		openssl x509 -req -in "$d/client.csr" -CA "$d/ecdsa-ca.pem" -CAkey "$d/ecdsa-ca.key" \
			-CAcreateserial -days 2 -sha256 -extfile "$d/client.ext" -out "$d/client.pem"
}
if [ -n "$TLS_OK" ] && ! make_certs "$CERTS" >"$OUT/certs.log" 2>&1; then
	say "bench: making certificates with openssl failed (see $OUT/certs.log), no TLS rows"
	TLS_OK=""
fi

start_tls_peer() { # key cert_version_clientcert[_d], e.g. ecdsa_any_0, rsa_1.2_1, ecdsa_any_0_d
	local key=$1 cert ver cc mode a
	IFS=_ read -r cert ver cc mode <<<"$key"
	a=(-c "$CERTS/$cert-server.pem" -k "$CERTS/$cert-server.key" -t 7200)
	[ "$ver" != any ] && a+=(-v "$ver")
	[ "$cc" = 1 ] && a+=(-C "$CERTS/ecdsa-ca.pem")
	[ "$mode" = d ] && a+=(-d 1) # drops ciphertext after the CONNACK (QoS 0 publish rows)
	"$BIN/tls_peer" "${a[@]}" >"$TMP/tls-$key.out" 2>"$TMP/tls-$key.err" &
	TLS_PEER_PID[$key]=$!
	TLS_PEER_PORT[$key]=$(wait_port_line "$TMP/tls-$key.out") || fatal "tls_peer $key did not start"
}
start_tls_broker() { # mosquitto with one TLS listener (ECDSA certificate), started on first use
	TLS_BROKER_PORT=$("$BIN/sink" --pick-port) || fatal "no free port"
	# user: as root, mosquitto would drop to its own user, which cannot read $TMP.
	cat >"$TMP/mosquitto-tls.conf" <<-EOF
		listener $TLS_BROKER_PORT 127.0.0.1
		certfile $CERTS/ecdsa-server.pem
		keyfile $CERTS/ecdsa-server.key
		allow_anonymous true
		persistence false
		set_tcp_nodelay true
		log_dest none
		user $(id -un)
	EOF
	"$BROKER" -c "$TMP/mosquitto-tls.conf" >"$TMP/broker-tls.log" 2>&1 &
	TLS_BROKER_PID=$!
	for _ in $(seq 1 50); do
		kill -0 "$TLS_BROKER_PID" 2>/dev/null || fatal "TLS broker exited: $(cat "$TMP/broker-tls.log")"
		(exec 3<>"/dev/tcp/127.0.0.1/$TLS_BROKER_PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	fatal "TLS broker did not open port $TLS_BROKER_PORT"
}
tls_args() { # expands run_one's $args: @TLS_key@ (a peer's port), @TLSBROKER@, @CERTS@
	local key
	while [[ $args =~ @TLS_([a-z]+_[0-9a-z.]+_[01](_d)?)@ ]]; do
		key=${BASH_REMATCH[1]}
		kill -0 "${TLS_PEER_PID[$key]:-}" 2>/dev/null || start_tls_peer "$key"
		args=${args//@TLS_${key}@/${TLS_PEER_PORT[$key]}}
	done
	if [[ $args == *@TLSBROKER@* ]]; then
		kill -0 "$TLS_BROKER_PID" 2>/dev/null || start_tls_broker
		args=${args//@TLSBROKER@/$TLS_BROKER_PORT}
	fi
	args=${args//@CERTS@/$CERTS}
}
tls_stop_all() {
	local key
	for key in "${!TLS_PEER_PID[@]}"; do stop_pid "${TLS_PEER_PID[$key]}"; done
	stop_pid "$TLS_BROKER_PID"
}
tls_footer() { # what the conn rows' cpu means; the peers' own counts (all full handshakes?)
	local key i
	for i in "${SEL[@]}"; do
		[[ ${SCEN[$i]} == *"|conn "* ]] || continue
		echo "conn rows: rate in connections/s, cpu per connection (connect, CONNACK, disconnect)."
		break
	done
	[ ${#TLS_PEER_PID[@]} = 0 ] && return 0
	for key in $(printf '%s\n' "${!TLS_PEER_PID[@]}" | sort); do
		stop_pid "${TLS_PEER_PID[$key]}"
		echo "tls peer $key: $(sed -n 's/^tls_peer: //p' "$TMP/tls-$key.err")"
	done
	TLS_PEER_PID=()
}

if [ -n "$QUICK" ]; then
	T0=50000 T0K=30000 TR=200000 TRK=100000 T1=20000 TCONN=100 TPEAK=200000 NCONN=2000
else
	T0=300000 T0K=150000 TR=1000000 TRK=300000 T1=100000 TCONN=300 TPEAK=1000000 NCONN=5000
fi
CONNRATE="rate:rate:conn/s:hi"
if [ -n "$TLS_OK" ]; then
	# Default TLS: ECDSA P-256 server certificate, TLS 1.3 (both libraries' choice).
	E="-A @CERTS@/ecdsa-ca.pem"
	for sz in 16 1024; do
		n=$T0; lbl=16B; [ $sz = 1024 ] && n=$T0K lbl=1KiB
		# The QoS 0 rows' sink drops the ciphertext undecrypted (the _d peer): decrypting
		# costs the sink as much as encrypting costs the client, and made it the bottleneck.
		add "tls pub q0 $lbl sink loop" "pub -p @TLS_ecdsa_any_0_d@ $E -q 0 -s $sz -n $n -m loop" "$RATE"
		# benches/tls_floor.c, no library: one SSL_write (a record and a write()) per message.
		add "tls floor: SSL_write per q0 $lbl, no library" "tlsfloor pub -p @TLS_ecdsa_any_0_d@ $E -s $sz -n $n" "$RATE"
		add "tls pub q0 $lbl sink loop_start" "pub -p @TLS_ecdsa_any_0_d@ $E -q 0 -s $sz -n $n -m start" "$RATE"
	done
	add "tls recv q0 16B source" "recv -p @TLS_ecdsa_any_0@ $E -s 16 -n $TR" "$RATE"
	add "tls floor: SSL_read from source 16B, no library" "tlsfloor recv -p @TLS_ecdsa_any_0@ $E -s 16 -n $TR" "$RATE"
	add "tls recv q0 1KiB source" "recv -p @TLS_ecdsa_any_0@ $E -s 1024 -n $TRK" "$RATE"
	add "tls floor: SSL_read from source 1KiB, no library" "tlsfloor recv -p @TLS_ecdsa_any_0@ $E -s 1024 -n $TRK" "$RATE"
	add "tls pub q1 16B sink window 1000" "pub -p @TLS_ecdsa_any_0@ $E -q 1 -s 16 -n $T1 -m loop -w 1000" "$RATE"
	add "tls pub q0 16B broker loop" "pub -p @TLSBROKER@ $E -q 0 -s 16 -n $T1 -m loop" "$RATE"
	add "tls pub q0 16B broker loop_start" "pub -p @TLSBROKER@ $E -q 0 -s 16 -n $T1 -m start" "$RATE"
	add "tls pub q1 16B broker window 20" "pub -p @TLSBROKER@ $E -q 1 -s 16 -n $T1 -m loop" "$RATE"
	add "tls pub q1 16B broker window 1000" "pub -p @TLSBROKER@ $E -q 1 -s 16 -n $T1 -m loop -w 1000" "$RATE"
	for ver in 1.3 1.2; do
		for cert in ecdsa rsa; do
			for cc in 0 1; do
				a="conn -p @TLS_${cert}_${ver}_${cc}@ -A @CERTS@/$cert-ca.pem -t tlsv$ver -n $TCONN"
				[ $cc = 1 ] && a+=" -e @CERTS@/client.pem -k @CERTS@/client.key"
				add "tls conn TLS$ver ${cert^^}$([ $cc = 1 ] && echo " + client cert")" "$a" "$CONNRATE"
			done
		done
	done
	add "tls idle 1000 clients sink" "idle -p @TLS_ecdsa_any_0@ $E -n 1000" "per_client_kb:RSS/client:KiB:lo per_client_cold_kb:cold-RSS/client:KiB:lo"
	# 1,000 full handshakes take libmosquitto several seconds on a loaded machine.
	[ "$RUN_TIMEOUT" -lt 60 ] && TIMEOUT_OF["tls idle 1000 clients sink"]=60
	add "tls peak RSS q0 1KiB x$TPEAK loop_start sink" \
		"pub -p @TLS_ecdsa_any_0_d@ $E -q 0 -s 1024 -n $TPEAK -m start -c 0" "maxrss_kb:peak-RSS:MiB:lo:1024 $RATE"
fi
# Latency: the rtt rows above, repeated more often (each run's p50/p99 is one sample).
RTT_REPS=${BENCH_RTT_REPS:-$((3 * REPS))}
REPS_OF["rtt q0 broker"]=$RTT_REPS
REPS_OF["rtt q1 broker"]=$RTT_REPS
add "conn tcp sink" "conn -p @SINK@ -n $NCONN" "$CONNRATE"

# ---- running ----------------------------------------------------------------------
declare -A VALS CPU FAIL NOTE
RAW="$OUT/raw.csv"
echo "scenario,lib,rep,status,result" >"$RAW"
DEBIAN_FAILED=0

field() { # key line -> value
	tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2; exit }'
}

run_one() { # scenario-index lib rep
	local idx=$1 lib=$2 rep=$3 name args metrics line rc reason
	IFS='|' read -r name args metrics <<<"${SCEN[$idx]}"
	args=${args//@SINK@/$SINK_PORT}
	args=${args//@BROKER@/$BROKER_PORT}
	args=${args//@SOURCE@/$SOURCE_PORT}
	[[ $args == *@TLS* || $args == *@CERTS@* ]] && tls_args # TLS block: peers, certificates
	local key="$name|$lib"
	[ -n "${FAIL[$key]:-}" ] && return 0 # one failure is enough: skip the rest
	[ "$lib" = debian ] && [[ $name == *"(ours only)"* || $name == *"(paho only)"* ]] && return 0
	local program="$BIN/bench" persist_dir="$TMP/persist-$idx-$lib-$rep"
	if [[ $args == paho\ * ]]; then program="$BIN/paho_persist"; args=${args#paho }; fi
	if [[ $args == tlsfloor\ * ]]; then program="$BIN/tls_floor"; args=${args#tlsfloor }; fi
	args=${args//@PERSIST@/$persist_dir}
	rm -rf "$persist_dir"
	if [[ $args == *@RABBIT_* ]]; then
		[ -n "$RABBIT_PID" ] || { say "bench: starting rabbitmq"; start_rabbitmq; }
		args=${args//@RABBIT_MQTT@/$RABBIT_MQTT_PORT}
		args=${args//@RABBIT_WS@/$RABBIT_WS_PORT}
	fi
	if [ "$lib" = ours ] && [ -n "$OURS_BROKEN" ]; then
		FAIL[$key]=1; NOTE[$key]="$OURS_BROKEN"; return 0
	fi
	ensure_peers
	local tmo=${TIMEOUT_OF[$name]:-$RUN_TIMEOUT} # TIMEOUT_OF: a scenario's own limit
	# shellcheck disable=SC2086 # args is a word list on purpose
	LD_LIBRARY_PATH="$TMP/$lib" BENCH_EXPECT_LIB="$TMP/$lib/libmosquitto.so.1" \
		timeout -k 5 "$tmo" "$program" $args -T $((tmo - 5)) \
		>"$TMP/run.out" 2>"$TMP/run.err"
	rc=$?
	rm -rf "$persist_dir"
	line=$(grep -m1 '^RESULT ' "$TMP/run.out")
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		case $rc in
		124|137) reason="killed after ${tmo}s (hang)" ;;
		0) reason="no RESULT line" ;;
		*) if [ $rc -gt 128 ]; then reason="died of signal $((rc - 128))"; else reason="exit $rc"; fi ;;
		esac
		local last
		last=$(grep -v '^bench: library ' "$TMP/run.err" | tail -n 1)
		[ -n "$last" ] && reason="$reason: $last"
		FAIL[$key]=1
		NOTE[$key]="$reason"
		echo "\"$name\",$lib,$rep,FAILED,\"${reason//\"/\'}\"" >>"$RAW"
		say "    $lib: FAILED ($reason)"
		[ "$lib" = debian ] && DEBIAN_FAILED=1
		return 0
	fi
	echo "\"$name\",$lib,$rep,ok,\"$line\"" >>"$RAW"
	local m k
	for m in $metrics; do
		k=${m%%:*}
		VALS["$name|$lib|$k"]+="$(field "$k" "$line") "
	done
	CPU["$name|$lib"]+="$(field cpu_us "$line") "
	say "    $lib: ${line#RESULT }"
}

median() { # values... -> median (mean of the middle two for an even count)
	printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A LIBINFO
for lib in $LIBS; do
	if [ "$lib" = ours ] && [ -n "$OURS_BROKEN" ]; then
		LIBINFO[$lib]="unavailable ($OURS_BROKEN)"
	else
		LIBINFO[$lib]=$(LD_LIBRARY_PATH="$TMP/$lib" BENCH_EXPECT_LIB="$TMP/$lib/libmosquitto.so.1" \
			"$BIN/bench" which 2>&1 | sed 's/^bench: //' | tail -n 1)
	fi
	say "bench: $lib: ${LIBINFO[$lib]}"
done
say "bench: sink :$SINK_PORT  source :$SOURCE_PORT  broker :$BROKER_PORT  reps $REPS${QUICK:+  (quick)}"

START=$(date +%s)
SEL=()
for i in "${!SCEN[@]}"; do
	name=${SCEN[$i]%%|*}
	[ -n "$ONLY" ] && ! grep -Eq -- "$ONLY" <<<"$name" && continue
	SEL+=("$i")
done
for j in "${!SEL[@]}"; do
	i=${SEL[$j]}
	name=${SCEN[$i]%%|*}
	say "[$((j + 1))/${#SEL[@]}] $name"
	for rep in $(seq 1 "${REPS_OF[$name]:-$REPS}"); do # REPS_OF: a scenario's own count
		# Alternate which library goes first so drift on a shared machine evens out.
		order=$LIBS
		[ $((rep % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$LIBS" | tac | tr '\n' ' ')
		for lib in $order; do run_one "$i" "$lib" "$rep"; done
	done
done

# ---- table and CSV ------------------------------------------------------------------
STAMP=$(date +%Y%m%d-%H%M%S)
CSV="$OUT/results-$STAMP.csv"
echo "scenario,metric,unit,better,lib,status,median,cpu_us_per_msg,values" >"$CSV"
fmt() { # number unit -> printable
	awk -v v="$1" -v u="$2" 'BEGIN {
		if (u == "msg/s") { if (v >= 1e6) printf "%.3fM", v / 1e6; else printf "%.1fk", v / 1e3 }
		else if (u == "conn/s" && v >= 1e4) printf "%.1fk", v / 1e3
		else if (v >= 100) printf "%.0f", v; else printf "%.2f", v }'
}
{
	printf '%-44s %-13s %11s %11s %7s   %9s %9s\n' scenario metric ours debian gain \
		"cpu ours" "cpu deb"
	printf '%-44s %-13s %11s %11s %7s   %9s %9s\n' "" "" "" "" "" "us/msg" "us/msg"
	for i in "${SEL[@]}"; do
		IFS='|' read -r name args metrics <<<"${SCEN[$i]}"
		first=1
		for m in $metrics; do
			IFS=: read -r k label unit better scale <<<"$m"
			declare -A med=() shown=()
			cpus=()
			for lib in ours debian; do
				if [[ " $LIBS " != *" $lib "* ]] || { [ $lib = debian ] && [[ $name == *"(ours only)"* || $name == *"(paho only)"* ]]; }; then
					shown[$lib]="-"; med[$lib]=""; cpus+=("-"); continue
				fi
				if [ -n "${FAIL[$name|$lib]:-}" ]; then
					shown[$lib]=FAILED; med[$lib]=""; cpus+=("-")
					echo "\"$name\",$label,$unit,$better,$lib,FAILED,,,\"${NOTE[$name|$lib]//\"/\'}\"" >>"$CSV"
					continue
				fi
				# shellcheck disable=SC2086
				v=$(median ${VALS[$name|$lib|$k]:-})
				[ -n "${scale:-}" ] && [ -n "$v" ] && v=$(awk -v v="$v" -v s="$scale" 'BEGIN { print v / s }')
				med[$lib]=$v
				shown[$lib]=$( [ -n "$v" ] && fmt "$v" "$unit" || echo "-")
				# shellcheck disable=SC2086
				c=$(median ${CPU[$name|$lib]:-})
				if [ "$first" = 1 ] && [ -n "$c" ]; then cpus+=("$(awk -v c="$c" 'BEGIN { printf "%.3f", c }')"); else cpus+=("-"); fi
				echo "\"$name\",$label,$unit,$better,$lib,ok,$v,$c,${VALS[$name|$lib|$k]% }" >>"$CSV"
			done
			gain="-"
			if [ -n "${med[ours]}" ] && [ -n "${med[debian]}" ]; then
				# gain > 1 means ours is better, whichever direction the metric runs.
				gain=$(awk -v o="${med[ours]}" -v d="${med[debian]}" -v b="$better" 'BEGIN {
					if (o <= 0 || d <= 0) { print "-"; exit }
					printf "%.2fx", (b == "hi") ? o / d : d / o }')
			fi
			printf '%-44s %-13s %11s %11s %7s   %9s %9s\n' "$([ $first = 1 ] && echo "$name")" \
				"$label $unit" "${shown[ours]}" "${shown[debian]}" "$gain" "${cpus[0]}" "${cpus[1]}"
			first=0
		done
	done
	echo
	echo "gain = ours vs debian, >1.00x means ours is better (faster, or less time/memory)."
	echo "cpu = client CPU time (user + system, whole process) per message / round trip."
	declare -F tls_footer >/dev/null && tls_footer
	echo "(paho only) rows: paho.mqtt.c's MQTTAsync with file persistence, in the ours column."
	for lib in $LIBS; do echo "$lib: ${LIBINFO[$lib]}"; done
	for lib in ours debian; do
		for i in "${SEL[@]}"; do
			name=${SCEN[$i]%%|*}
			[ -n "${FAIL[$name|$lib]:-}" ] && echo "FAILED $lib: $name: ${NOTE[$name|$lib]}"
		done
	done
	echo "$(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), reps $REPS${QUICK:+ (quick)}, $(($(date +%s) - START))s"
} | tee "$OUT/table-$STAMP.txt"
cp "$CSV" "$OUT/results-latest.csv"
cp "$OUT/table-$STAMP.txt" "$OUT/table-latest.txt"
say "bench: CSV $CSV, per-run results $RAW"

# ---- many clients (issue 19) ----------------------------------------------------------
# benches/many_clients.c: N clients in one process, each subscribed to a topic of its
# own and sent one QoS 1 message per second for 60 s (BENCH_QUICK: 10 s) by the main
# thread, all through one mosquitto. Ours on the shared loop (SKEETER_LOOP_THREADS=4,
# same binary) against libmosquitto with a loop_start thread per client, in the same
# run, and the same traffic with no library (raw sockets, 4 epoll threads: the
# kernel's and the harness's share, the floor under both), and at 300 ours with a
# loop_start thread per client too, as libmosquitto (the pool off): at 300 clients in one
# process, then at BENCH_MANY_CLIENTS (default 10,000). libmosquitto 2.0.11's loop
# waits with select(), which aborts for descriptors past FD_SETSIZE (1024), and each
# of its clients holds three, so one process of it cannot go much past 340 clients:
# at 10,000 its clients are split over processes of at most 300 (`many_clients -P`,
# the traffic's shape kept), ours and the raw client stay in one.
# One run per row (they are long); BENCH_ONLY='many' runs only these.
MANY_BROKER_PID=""
many_clients_rows() {
	[ -n "$ONLY" ] && ! grep -Eq -- "$ONLY" <<<"many clients" && return 0
	$CC $CFLAGS $HDR -o "$BIN/many_clients" "$ROOT/benches/many_clients.c" "$DEBIAN_LIB" -pthread ||
		{ say "bench: building many_clients failed"; return 0; }
	local secs=60 big=${BENCH_MANY_CLIENTS:-10000} port conf="$TMP/many.conf"
	[ -n "$QUICK" ] && secs=10
	# A descriptor per client in our process (the socket; a client on the pool has no
	# wake-up descriptor), three in libmosquitto's, one per client in the broker's.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	port=$("$BIN/sink" --pick-port) || { say "bench: no free port"; return 0; }
	cat >"$conf" <<-EOF
		listener $port 127.0.0.1
		max_connections -1
		allow_anonymous true
		persistence false
		set_tcp_nodelay true
		max_queued_messages 10000
		log_dest none
	EOF
	"$BROKER" -c "$conf" >"$TMP/many-broker.log" 2>&1 &
	MANY_BROKER_PID=$!
	for _ in $(seq 1 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	# lib|clients|pool or epoll threads|processes
	local split=$(((big + 299) / 300))
	local rows=("ours|300|4|1" "debian|300||1" "ours|300||1" "raw|300|4|1"
		"ours|$big|4|1" "debian|$big||$split" "raw|$big|4|1") row lib n pool procs line
	{
		echo
		echo "many clients: each subscribed to its own topic, 1 QoS 1 message/s each for ${secs} s, one mosquitto"
		printf '%-8s %7s %-30s %8s %11s %10s %6s %9s %9s\n' lib clients loop threads "RSS/client" \
			"cpu/msg" lost "p50" "p99"
		printf '%-8s %7s %-30s %8s %11s %10s %6s %9s %9s\n' "" "" "" "" KiB us "" ms ms
	} | tee "$OUT/many-latest.txt"
	for row in "${rows[@]}"; do
		IFS='|' read -r lib n pool procs <<<"$row"
		[ "$lib" = raw ] || [[ " $LIBS " == *" $lib "* ]] || continue
		[ "$lib" = ours ] && [ -n "$OURS_BROKEN" ] && continue
		say "bench: many clients: $lib, $n clients${pool:+, $pool pool threads}"
		# raw: no library is used, the binary still loads Debian's.
		local libdir="$TMP/$lib" env_pool="$pool" raw_threads=() how="loop_start threads"
		[ -n "$pool" ] && how="shared loop, $pool threads"
		if [ "$lib" = raw ]; then
			libdir="$TMP/debian" env_pool="" raw_threads=(-r "$pool") how="raw sockets, $pool epoll"
		fi
		[ "$procs" -gt 1 ] && how="$how, $procs procs"
		LD_LIBRARY_PATH="$libdir" SKEETER_LOOP_THREADS="$env_pool" \
			timeout -k 5 $((secs + 300)) "$BIN/many_clients" -p "$port" -n "$n" -d "$secs" \
			-P "$procs" "${raw_threads[@]}" >"$TMP/many.out" 2>"$TMP/many.err"
		line=$(grep -m1 '^RESULT ' "$TMP/many.out")
		if [ -z "$line" ]; then
			printf '%-8s %7s %-30s FAILED: %s\n' "$lib" "$n" "$how" "$(tail -n 1 "$TMP/many.err")" |
				tee -a "$OUT/many-latest.txt"
			continue
		fi
		echo "\"many clients $n $how\",$lib,1,ok,\"$line\"" >>"$RAW"
		printf '%-8s %7s %-30s %8s %11s %10s %6s %9s %9s\n' "$lib" "$n" "$how" \
			"$(field threads "$line")" "$(field rss_per_client_kb "$line")" \
			"$(field cpu_us_per_msg "$line")" "$(field lost "$line")" \
			"$(field p50_ms "$line")" "$(field p99_ms "$line")" | tee -a "$OUT/many-latest.txt"
	done
	stop_pid "$MANY_BROKER_PID"
	MANY_BROKER_PID=""
	cat "$OUT/many-latest.txt" >>"$OUT/table-latest.txt"
}
many_clients_rows

[ "$DEBIAN_FAILED" = 0 ] || { say "bench: a run on Debian's libmosquitto failed"; exit 1; }
exit 0
