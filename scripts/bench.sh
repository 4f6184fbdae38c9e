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
add "idle 1000 clients sink" "idle -p @SINK@ -n 1000" "per_client_kb:RSS/client:KiB:lo"
add "peak RSS q0 1KiB x$NPEAK loop_start sink" "pub -p @SINK@ -q 0 -s 1024 -n $NPEAK -m start -c 0" \
	"maxrss_kb:peak-RSS:MiB:lo:1024 $RATE"
if [ -x "$RABBIT/rabbitmq-server" ]; then
	add "pub q0 16B rabbitmq tcp loop" "pub -p @RABBIT_MQTT@ -q 0 -s 16 -n $N1 -m loop" "$RATE"
	add "pub q0 16B rabbitmq ws loop (ours only)" \
		"pub -p @RABBIT_WS@ -W /ws -q 0 -s 16 -n $N1 -m loop" "$RATE"
fi

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
	local key="$name|$lib"
	[ -n "${FAIL[$key]:-}" ] && return 0 # one failure is enough: skip the rest
	[ "$lib" = debian ] && [[ $name == *"(ours only)"* || $name == *"(paho only)"* ]] && return 0
	local program="$BIN/bench" persist_dir="$TMP/persist-$idx-$lib-$rep"
	if [[ $args == paho\ * ]]; then program="$BIN/paho_persist"; args=${args#paho }; fi
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
	# shellcheck disable=SC2086 # args is a word list on purpose
	LD_LIBRARY_PATH="$TMP/$lib" BENCH_EXPECT_LIB="$TMP/$lib/libmosquitto.so.1" \
		timeout -k 5 "$RUN_TIMEOUT" "$program" $args -T $((RUN_TIMEOUT - 5)) \
		>"$TMP/run.out" 2>"$TMP/run.err"
	rc=$?
	rm -rf "$persist_dir"
	line=$(grep -m1 '^RESULT ' "$TMP/run.out")
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		case $rc in
		124|137) reason="killed after ${RUN_TIMEOUT}s (hang)" ;;
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
	say "[$((j + 1))/${#SEL[@]}] ${SCEN[$i]%%|*}"
	for rep in $(seq 1 "$REPS"); do
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

[ "$DEBIAN_FAILED" = 0 ] || { say "bench: a run on Debian's libmosquitto failed"; exit 1; }
exit 0
