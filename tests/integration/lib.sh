# lib.sh -- shared harness for the integration tests (bash; sourced, not run).
#
# A test starts with
#     . "$(dirname "$0")/lib.sh"
# and ends with
#     done_testing
#
# Sourcing this file:
#   * re-executes the test under bash inside a private network namespace
#     (unshare -n, plus a PID namespace when possible so that every process
#     dies with the test) so that no packet can leave the machine, brings lo
#     up, and prints "1..0 # SKIP" when a namespace cannot be created (not root);
#   * creates the per-test directory $T (removed on exit; set
#     PLINKFWD_KEEP_TMP=1 to keep it) and a trap that kills every process
#     started through spawn / start_*;
#   * sets PLINKFWD (the binary), SRCDIR (top_srcdir), PORT (5300, the port
#     test configs give plinkfwd), HAVE_IPV6 (1 when ::1 works).
#
# Interface (kept stable; other tests depend on it):
#   TAP      pass DESC | fail DESC [DIAG...] | ok DESC CMD... | not_ok DESC CMD...
#            is GOT WANT DESC | isnt GOT UNWANTED DESC | like TEXT ERE DESC | unlike TEXT ERE DESC
#            skip DESC REASON | diag TEXT... | done_testing (prints the plan, exits)
#   query    q NAME [TYPE] [dig-args...]  -> Q_RC Q_STATUS Q_FLAGS Q_ID Q_QUESTION Q_ANSWER
#            Q_AUTHORITY Q_ADDITIONAL Q_OPT(yes|no) Q_EDNS Q_ANCOUNT Q_OUT
#            (dig @$Q_SERVER -p $Q_PORT +norec +time=5 +tries=1; defaults 127.0.0.1 / $PORT)
#            q_flag FLAG            true if FLAG (aa, tc, ra, ...) is in Q_FLAGS
#            q_rrs SECTION          Q_ANSWER etc. as "owner ttl class type rdata", one per line
#   daemon   start_plinkfwd CONF [ARGS...]  (waits for its first listen: address to answer)
#            stop_plinkfwd (sets PLINKFWD_RC) | sighup_plinkfwd | plinkfwd_alive
#            PLINKFWD_PID, PLINKFWD_LOG ($T/plinkfwd.log, appended across restarts)
#            copy_conf SRC DST [LISTEN...]  copy a config, make its file: paths absolute,
#            replace its listen: lines (default 127.0.0.1@$PORT) and move run-time paths into $T
#   peers    start_nsd ADDR@PORT ZONE=FILE...      start_knot ADDR@PORT ZONE=FILE...
#            start_nsd_secondary / start_knot_secondary / start_named_secondary
#            ADDR@PORT PRIMARY-ADDR@PORT KEYNAME:ALG:SECRET ZONE...  secondaries of the
#            primary (zone transfers and NOTIFY signed with the key)
#            spawn_responder NAME ADDR [ARGS...]   the scripted upstream peers/forward/responder.py
#            on ADDR port 5301 (log $T/NAME-queries.log; $RESPONDER overrides the command)
#            start_unbound ADDR@PORT [EXTRA-CONFIG-TEXT]   start_testns PORT DATAFILE
#            each sets LAST_PID and logs to $T/<name>.log
#   misc     quiet CMD... (output to $T/quiet.log, e.g. ok "x" quiet cmd)
#            spawn NAME CMD... (background, logged, killed on exit) | stop_pid PID
#            wait_dns ADDR PORT [SECONDS] | wait_port PORT [udp|tcp] [SECONDS]
#            wait_log REGEX [SECONDS] (waits for REGEX in $PLINKFWD_LOG) | log_since MARK
#            wait_until CMD...  (polls CMD until it succeeds, at most WAIT_FLOOR seconds)
#   counters ctl_stat KEY   a value of `plinkfwd-ctl stats` (control-socket $T/run/control.sock)
#            metric_value 'NAME{LABELS}'   a sample of /metrics (http-listen 127.0.0.1@$PORT+1000)
#
# Time: no assertion here or in a test depends on how long something took
# (docs/testing.md).  Every wait is a bound on waiting, never a verdict on
# speed: it ends as soon as its event happens, and no bound is below
# WAIT_FLOOR seconds (default 10), so that a busy machine only makes a run
# slower, never red.

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# ------------------------------------------------------------ network namespace
# With a PID namespace as well, the test shell is its init: when it ends, by
# any means, the kernel kills every server it started -- nothing outlives a
# test even when the harness is killed with SIGKILL.
if [ "${PLINKFWD_IN_NETNS:-}" != 1 ]; then
	if unshare -n -p -f --kill-child --mount-proc true 2>/dev/null; then
		# --mount-proc makes a mount namespace too (private propagation):
		# a test may mount there (PLINKFWD_OWN_MNTNS=1), and it goes with it
		PLINKFWD_IN_NETNS=1 PLINKFWD_OWN_MNTNS=1 exec unshare -n -p -f --kill-child --mount-proc -- bash "$0" "$@"
	fi
	if unshare -n true 2>/dev/null; then
		PLINKFWD_IN_NETNS=1 exec unshare -n -- bash "$0" "$@"
	fi
	echo "1..0 # SKIP cannot create a private network namespace (unshare -n needs root)"
	exit 0
fi
if ! ip link set lo up 2>/dev/null; then
	echo "Bail out! cannot bring lo up inside the network namespace"
	exit 1
fi
HAVE_IPV6=0
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
	HAVE_IPV6=1
fi

# ------------------------------------------------------------ locations
LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=${top_srcdir:-$(cd "$LIBDIR/../.." && pwd)}
if [ -z "${top_builddir:-}" ]; then
	if [ -x ./plinkfwd ]; then top_builddir=$(pwd); else top_builddir=$SRCDIR; fi
fi
BUILDDIR=$top_builddir
PLINKFWD=${PLINKFWD:-$BUILDDIR/plinkfwd}
PORT=${PORT:-5300}
WAIT_FLOOR=${PLINKFWD_WAIT_FLOOR:-10}
CTL=${PLINKFWD_CTL:-$BUILDDIR/plinkfwd-ctl}
# A --enable-tsan build: a data race ends the daemon with exit 66, so the
# test that provoked it fails ("plinkfwd still runs", clean exit) instead of
# leaving a report nobody reads in the log
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 exitcode=66 second_deadlock_stack=1}
export PATH="$PATH:/usr/sbin:/sbin"

if [ ! -x "$PLINKFWD" ]; then
	echo "Bail out! plinkfwd binary not found at $PLINKFWD (set top_builddir or PLINKFWD)"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/plinkfwd-$(basename "$0" .sh).XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
PLINKFWD_LOG=$T/plinkfwd.log
PLINKFWD_PID=
PLINKFWD_RC=
LAST_PID=
PIDS=()
TAP_N=0
TAP_FAILED=0
PEER_N=0

# ------------------------------------------------------------ cleanup
lib_cleanup() {
	local rc=$? pid i
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		local alive=0
		for pid in "${PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$rc" != 0 ] || [ "$TAP_FAILED" != 0 ]; then
		dump_logs
	fi
	if [ "${PLINKFWD_KEEP_TMP:-}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Print the tail of every log under $T as TAP diagnostics.
dump_logs() {
	local f
	for f in $(find "$T" -name '*.log' -type f 2>/dev/null | sort); do
		echo "# ---- ${f#"$T"/} (last 40 lines)"
		tail -n 40 "$f" | sed 's/^/#   /'
	done
}

# ------------------------------------------------------------ TAP
diag() {
	local l
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/# /'
	done
}

# A '#' in a description would start a TAP directive.
tap_desc() { printf '%s' "$*" | tr '#\n' '  '; }

pass() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $(tap_desc "$1")"
}

fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $(tap_desc "$1")"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}

# ok DESC CMD...      passes when CMD exits 0
ok() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc" "command failed: $*"; fi
}

# quiet CMD...  run CMD with its output kept out of the TAP stream (in $T/quiet.log)
quiet() { "$@" >>"$T/quiet.log" 2>&1; }

# not_ok DESC CMD...  passes when CMD exits non-zero
not_ok() {
	local desc=$1
	shift
	if "$@"; then fail "$desc" "command unexpectedly succeeded: $*"; else pass "$desc"; fi
}

is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got:  '$1'" "want: '$2'"; fi
}

isnt() {
	if [ "$1" != "$2" ]; then pass "$3"; else fail "$3" "got unwanted: '$1'"; fi
}

# like TEXT ERE DESC  passes when some line of TEXT matches the extended regex
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		pass "$3"
	else
		fail "$3" "no line matches: $2" "in:" "$1"
	fi
}

unlike() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		fail "$3" "a line matches: $2" "in:" "$1"
	else
		pass "$3"
	fi
}

skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $(tap_desc "$1") # SKIP $(tap_desc "$2")"
}

done_testing() {
	echo "1..$TAP_N"
	if [ "$TAP_FAILED" -ne 0 ]; then
		echo "# $TAP_FAILED of $TAP_N failed"
		exit 1
	fi
	exit 0
}

# ------------------------------------------------------------ processes
# spawn NAME CMD...  run CMD in the background, output appended to $T/NAME.log
spawn() {
	local name=$1
	shift
	"$@" >>"$T/$name.log" 2>&1 </dev/null &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# stop_pid PID  TERM, wait up to 5 s, then KILL; returns the exit status
stop_pid() {
	local pid=$1 i rc
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	local keep=() p
	for p in "${PIDS[@]}"; do
		[ "$p" != "$pid" ] && keep+=("$p")
	done
	PIDS=("${keep[@]}")
	return $rc
}

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# wait_bound SECONDS  the bound a wait uses: SECONDS, but never below WAIT_FLOOR
wait_bound() {
	local s=${1:-0}
	s=${s%%.*}
	[ "${s:-0}" -lt "$WAIT_FLOOR" ] && s=$WAIT_FLOOR
	echo "$s"
}

# split_listen "ADDR@PORT" -> L_ADDR L_PORT (IPv6 may be bracketed; no @ -> 53)
split_listen() {
	local s=$1
	if [[ $s == *@* ]]; then
		L_ADDR=${s%@*}
		L_PORT=${s##*@}
	else
		L_ADDR=$s
		L_PORT=53
	fi
	L_ADDR=${L_ADDR#[}
	L_ADDR=${L_ADDR%]}
}

# wait_dns ADDR PORT [SECONDS]  true once something answers a query there
wait_dns() {
	local addr=$1 port=$2 secs end
	secs=$(wait_bound "${3:-5}")
	end=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		if dig @"$addr" -p "$port" +norec +time=1 +tries=1 +noedns . SOA >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# wait_port PORT [udp|tcp] [SECONDS]  true once a socket listens on PORT
wait_port() {
	local port=$1 proto=${2:-udp} secs end opt=-Hlnu
	secs=$(wait_bound "${3:-5}")
	[ "$proto" = tcp ] && opt=-Hlnt
	end=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		if [ -n "$(ss $opt "( sport = :$port )" 2>/dev/null)" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# wait_until CMD...  true once CMD succeeds (polled every 0.1 s, at most
# WAIT_FLOOR seconds): waiting for an event instead of sleeping "long enough"
wait_until() {
	local end=$(($(now_ms) + WAIT_FLOOR * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------ plinkfwd
# conf_listens CONF  prints the listen: values of a config, one per line
conf_listens() {
	sed -n 's/^[[:space:]]*listen:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$1"
}

# start_plinkfwd CONF [ARGS...]  start in the foreground mode, in the background;
# waits (at most 2 x WAIT_FLOOR seconds) until the first listen: address answers.
start_plinkfwd() {
	local conf=$1 first
	shift
	spawn plinkfwd "$PLINKFWD" -f -c "$conf" "$@"
	PLINKFWD_PID=$LAST_PID
	first=$(conf_listens "$conf" | head -n 1)
	split_listen "${first:-127.0.0.1@53}"
	local secs=$((2 * WAIT_FLOOR))
	local end=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		if ! kill -0 "$PLINKFWD_PID" 2>/dev/null; then
			wait "$PLINKFWD_PID" 2>/dev/null
			PLINKFWD_RC=$?
			diag "plinkfwd exited with status $PLINKFWD_RC during start-up"
			tail -n 20 "$PLINKFWD_LOG" | sed 's/^/#   /'
			return 1
		fi
		if dig @"$L_ADDR" -p "$L_PORT" +norec +time=1 +tries=1 +noedns . SOA >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	diag "plinkfwd did not answer on $L_ADDR port $L_PORT within $secs s"
	return 1
}

# stop_plinkfwd  SIGTERM and wait; PLINKFWD_RC holds the exit status
stop_plinkfwd() {
	[ -n "$PLINKFWD_PID" ] || return 0
	stop_pid "$PLINKFWD_PID"
	PLINKFWD_RC=$?
	PLINKFWD_PID=
	return "$PLINKFWD_RC"
}

sighup_plinkfwd() { kill -HUP "$PLINKFWD_PID"; }
plinkfwd_alive() { [ -n "$PLINKFWD_PID" ] && kill -0 "$PLINKFWD_PID" 2>/dev/null; }

# log_mark  prints the current size of the log; log_since MARK prints what came after
log_mark() { stat -c %s "$PLINKFWD_LOG" 2>/dev/null || echo 0; }
log_since() { tail -c +$(($1 + 1)) "$PLINKFWD_LOG" 2>/dev/null; }

# wait_log ERE [SECONDS] [MARK]  true once the log (after MARK) has a matching line
wait_log() {
	local re=$1 secs mark=${3:-0} end
	secs=$(wait_bound "${2:-5}")
	end=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		log_since "$mark" | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	return 1
}

# copy_conf SRC DST [LISTEN...]
# Copies a config for a test: relative file: paths become absolute (relative
# to SRC's directory, as the daemon resolves them), every listen: line is
# replaced by the given ones (default 127.0.0.1@$PORT), and state-dir,
# control-socket, pidfile and http-listen are moved into $T / a test port.
copy_conf() {
	local src=$1 dst=$2 srcdir
	shift 2
	[ $# -eq 0 ] && set -- "127.0.0.1@$PORT"
	srcdir=$(cd "$(dirname "$src")" && pwd)
	local listen_block="" l
	for l in "$@"; do
		listen_block="$listen_block    listen: $l\n"
	done
	mkdir -p "$T/state" "$T/run"
	awk -v dir="$srcdir" -v listens="$listen_block" -v tdir="$T" -v hport="$((PORT + 1000))" '
	function indent(s) { match(s, /^[ \t]*/); return substr(s, 1, RLENGTH) }
	/^[ \t]*listen:/ { next }
	/^[ \t]*file:[ \t]*[^\/ \t#]/ {
		ind = indent($0); v = $0; sub(/^[ \t]*file:[ \t]*/, "", v)
		print ind "file: " dir "/" v; next
	}
	/^[ \t]*state-dir:/      { print indent($0) "state-dir: " tdir "/state"; next }
	/^[ \t]*control-socket:/ { print indent($0) "control-socket: " tdir "/run/control.sock"; next }
	/^[ \t]*pidfile:/        { print indent($0) "pidfile: " tdir "/run/plinkfwd.pid"; next }
	/^[ \t]*http-listen:/    { print indent($0) "http-listen: 127.0.0.1@" hport; next }
	/^[ \t]*user:/           { next }
	{ print }
	/^server:/ { printf "%s", listens; seen = 1 }
	END { if (!seen) printf "server:\n%s", listens }
	' "$src" >"$dst"
}

# ------------------------------------------------------------ queries
# q NAME [TYPE] [dig-args...]  (+time=5 is how long dig waits for an answer,
# not a verdict on speed: an answer that comes at all comes well before)
q() {
	local name=$1 type=A
	shift
	if [ $# -gt 0 ] && [[ $1 != [-+@]* ]]; then
		type=$1
		shift
	fi
	Q_OUT=$(dig @"${Q_SERVER:-127.0.0.1}" -p "${Q_PORT:-$PORT}" +norec +time=5 +tries=1 \
		"$@" "$name" "$type" 2>&1)
	Q_RC=$?
	q_parse
	return 0
}

q_parse() {
	local hdr
	hdr=$(printf '%s\n' "$Q_OUT" | grep -m1 -- '->>HEADER<<-')
	Q_STATUS=$(printf '%s\n' "$hdr" | sed -n 's/.*status: \([A-Z0-9]*\).*/\1/p')
	Q_ID=$(printf '%s\n' "$hdr" | sed -n 's/.*id: \([0-9]*\).*/\1/p')
	[ -n "$Q_STATUS" ] || Q_STATUS=NOREPLY
	Q_FLAGS=$(printf '%s\n' "$Q_OUT" | sed -n 's/^;; flags: *\([a-z ]*\);.*/\1/p' | head -n 1)
	Q_FLAGS=$(echo $Q_FLAGS)
	Q_ANCOUNT=$(printf '%s\n' "$Q_OUT" | sed -n 's/.* ANSWER: \([0-9]*\),.*/\1/p' | head -n 1)
	Q_QUESTION=$(q_section QUESTION | sed 's/^;//')
	Q_ANSWER=$(q_section ANSWER)
	Q_AUTHORITY=$(q_section AUTHORITY)
	Q_ADDITIONAL=$(q_section ADDITIONAL)
	if printf '%s\n' "$Q_OUT" | grep -q '^;; OPT PSEUDOSECTION:'; then
		Q_OPT=yes
		Q_EDNS=$(printf '%s\n' "$Q_OUT" | grep -m1 '^; EDNS:')
	else
		Q_OPT=no
		Q_EDNS=
	fi
}

# q_section NAME  the lines of a dig section, whitespace squeezed to one space
q_section() {
	printf '%s\n' "$Q_OUT" | awk -v s=";; $1 SECTION:" '
		$0 == s { on = 1; next }
		on && /^$/ { exit }
		on { print }' | tr -s ' \t' '  '
}

q_flag() { [[ " $Q_FLAGS " == *" $1 "* ]]; }

# q_rrs SECTION  e.g. q_rrs ANSWER | grep ...
q_rrs() { q_section "$1"; }

# ------------------------------------------------------------ counters
# The daemon's own counters are how a test tells what happened upstream
# (which server was asked, which attempt timed out) without a stopwatch.

# ctl_stat KEY [SOCKET]  one value of `plinkfwd-ctl stats` (flat "key value"
# lines, e.g. servers.127.0.0.15@5301.sent); empty when absent.  The config
# needs control-socket: $T/run/control.sock (or pass SOCKET).
ctl_stat() {
	"$CTL" -s "${2:-$T/run/control.sock}" stats 2>/dev/null | awk -v k="$1" '$1 == k { print $2; exit }'
}

# metric_value 'NAME{LABELS}' [PORT]  one sample of /metrics, e.g.
# 'plinkfwd_upstream_server_timeouts_total{server="127.0.0.15@5301"}'; empty
# when absent.  The config needs http-listen: 127.0.0.1@$((PORT + 1000)).
metric_value() {
	curl -sS --max-time "$WAIT_FLOOR" "http://127.0.0.1:${2:-$((PORT + 1000))}/metrics" 2>/dev/null |
		awk -v k="$1" 'index($0, k " ") == 1 { print $2; exit }'
}

# ------------------------------------------------------------ peers
peer_dir() {
	PEER_N=$((PEER_N + 1))
	PEER_DIR=$T/$1$PEER_N
	mkdir -p "$PEER_DIR"
}

# start_nsd ADDR@PORT ZONE=FILE...   NSD serving the given zone files
# (NSD_SERVER_EXTRA: more lines for its server: clause, e.g. to turn off
# response rate limiting under load)
start_nsd() {
	split_listen "$1"
	shift
	peer_dir nsd
	local d=$PEER_DIR zf
	cat >"$d/nsd.conf" <<EOF
server:
    ip-address: $L_ADDR
    port: $L_PORT
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    pidfile: "$d/nsd.pid"
    xfrdfile: "$d/xfrd.state"
    zonelistfile: "$d/zone.list"
    xfrdir: "$d"
    logfile: "$d/nsd.log"
    server-count: 1
    verbosity: 1
${NSD_SERVER_EXTRA:-}
remote-control:
    control-enable: no
EOF
	for zf in "$@"; do
		printf 'zone:\n    name: "%s"\n    zonefile: "%s"\n' "${zf%%=*}" "$(abspath "${zf#*=}")" >>"$d/nsd.conf"
	done
	spawn "nsd$PEER_N" nsd -d -c "$d/nsd.conf"
	wait_dns "$L_ADDR" "$L_PORT" 5 || { diag "nsd on $L_ADDR@$L_PORT did not start"; return 1; }
}

# start_knot ADDR@PORT ZONE=FILE...  Knot DNS serving the given zone files
start_knot() {
	split_listen "$1"
	shift
	peer_dir knot
	local d=$PEER_DIR zf
	cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d"
    listen: $L_ADDR@$L_PORT
log:
  - target: stderr
    any: info
database:
    storage: "$d"
template:
  - id: default
    storage: "$d"
    zonefile-sync: -1
    journal-content: none
zone:
EOF
	for zf in "$@"; do
		printf '  - domain: "%s"\n    file: "%s"\n' "${zf%%=*}" "$(abspath "${zf#*=}")" >>"$d/knot.conf"
	done
	spawn "knot$PEER_N" knotd -c "$d/knot.conf"
	wait_dns "$L_ADDR" "$L_PORT" 5 || { diag "knotd on $L_ADDR@$L_PORT did not start"; return 1; }
}

# Secondaries of a primary (zone transfers, TSIG).  Each takes
#   ADDR@PORT PRIMARY-ADDR@PORT KEYNAME:ALGORITHM:SECRET ZONE...
# and serves the zones transferred from PRIMARY, accepting NOTIFY from its
# address; transfers and NOTIFY are signed with the key.  The log of each
# is $T/<name>N.log (NSD: its logfile), in NSD_LOG, KNOT_LOG, NAMED_LOG.
start_nsd_secondary() {
	split_listen "$1"
	local addr=$L_ADDR port=$L_PORT primary=$2 key=$3 z
	shift 3
	peer_dir nsd
	local d=$PEER_DIR kname=${key%%:*} rest=${key#*:}
	local alg=${rest%%:*} secret=${rest#*:}
	split_listen "$primary"
	cat >"$d/nsd.conf" <<EOF
server:
    ip-address: $addr
    port: $port
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    pidfile: "$d/nsd.pid"
    xfrdfile: "$d/xfrd.state"
    zonelistfile: "$d/zone.list"
    xfrdir: "$d"
    logfile: "$d/nsd.log"
    server-count: 1
    verbosity: 2
remote-control:
    control-enable: no
key:
    name: "$kname"
    algorithm: $alg
    secret: "$secret"
EOF
	for z in "$@"; do
		printf 'zone:\n    name: "%s"\n    zonefile: "%s/%s.zone"\n    request-xfr: %s@%s %s\n    allow-notify: %s %s\n' \
			"$z" "$d" "$z" "$L_ADDR" "$L_PORT" "$kname" "$L_ADDR" "$kname" >>"$d/nsd.conf"
	done
	spawn "nsd$PEER_N" nsd -d -c "$d/nsd.conf"
	NSD_LOG=$d/nsd.log
	wait_port "$port" udp 5 || { diag "nsd secondary on $addr@$port did not start"; return 1; }
}

start_knot_secondary() {
	split_listen "$1"
	local addr=$L_ADDR port=$L_PORT primary=$2 key=$3 z
	shift 3
	peer_dir knot
	local d=$PEER_DIR kname=${key%%:*} rest=${key#*:}
	local alg=${rest%%:*} secret=${rest#*:}
	split_listen "$primary"
	cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d"
    listen: $addr@$port
log:
  - target: stderr
    any: info
database:
    storage: "$d"
key:
  - id: $kname
    algorithm: $alg
    secret: $secret
remote:
  - id: primary
    address: $L_ADDR@$L_PORT
    key: $kname
acl:
  - id: notify_from_primary
    address: $L_ADDR
    key: $kname
    action: notify
template:
  - id: default
    storage: "$d"
    zonefile-sync: -1
zone:
EOF
	for z in "$@"; do
		printf '  - domain: "%s"\n    master: primary\n    acl: notify_from_primary\n' "$z" >>"$d/knot.conf"
	done
	spawn "knot$PEER_N" knotd -c "$d/knot.conf"
	KNOT_LOG=$T/knot$PEER_N.log
	wait_port "$port" udp 5 || { diag "knotd secondary on $addr@$port did not start"; return 1; }
}

start_named_secondary() {
	split_listen "$1"
	local addr=$L_ADDR port=$L_PORT primary=$2 key=$3 z
	shift 3
	peer_dir named
	local d=$PEER_DIR kname=${key%%:*} rest=${key#*:}
	local alg=${rest%%:*} secret=${rest#*:}
	split_listen "$primary"
	cat >"$d/named.conf" <<EOF
options {
    directory "$d";
    pid-file "$d/named.pid";
    listen-on port $port { $addr; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
};
controls { };
key "$kname" { algorithm $alg; secret "$secret"; };
EOF
	for z in "$@"; do
		printf 'zone "%s" { type secondary; file "%s/%s.bak"; primaries port %s { %s key "%s"; }; allow-notify { %s; }; };\n' \
			"$z" "$d" "$z" "$L_PORT" "$L_ADDR" "$kname" "$L_ADDR" >>"$d/named.conf"
	done
	spawn "named$PEER_N" named -g -c "$d/named.conf"
	NAMED_LOG=$T/named$PEER_N.log
	wait_port "$port" udp 5 || { diag "named secondary on $addr@$port did not start"; return 1; }
}

# start_unbound ADDR@PORT [EXTRA]   unbound with EXTRA appended to its config
# (EXTRA is config text; begin it with a clause such as "server:" or "forward-zone:")
start_unbound() {
	split_listen "$1"
	local extra=${2:-}
	peer_dir unbound
	local d=$PEER_DIR
	cat >"$d/unbound.conf" <<EOF
server:
    interface: $L_ADDR@$L_PORT
    port: $L_PORT
    interface-automatic: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    access-control: ::1 allow
    do-not-query-localhost: no
    local-zone: "test." nodefault   # RFC 6761 names are test data here
remote-control:
    control-enable: no
$extra
EOF
	spawn "unbound$PEER_N" unbound -d -c "$d/unbound.conf"
	wait_dns "$L_ADDR" "$L_PORT" 5 || { diag "unbound on $L_ADDR@$L_PORT did not start"; return 1; }
}

# spawn_responder NAME ADDR [ARGS...]  the scripted upstream (peers/forward/
# responder.py) on ADDR port 5301, logging every query it gets to
# $T/NAME-queries.log; waits until it has written its pid file.
spawn_responder() {
	local name=$1 addr=$2 i
	shift 2
	rm -f "$T/$name.pid"
	spawn "$name" ${RESPONDER:-python3 $LIBDIR/peers/forward/responder.py} --listen "$addr" --port 5301 \
		--log "$T/$name-queries.log" --pidfile "$T/$name.pid" "$@"
	for ((i = 0; i < WAIT_FLOOR * 20; i++)); do
		[ -s "$T/$name.pid" ] && return 0
		sleep 0.1
	done
	diag "responder $name on $addr did not start"
	return 1
}

# start_testns PORT DATAFILE   ldns-testns with scripted answers (binds 0.0.0.0:PORT)
start_testns() {
	local port=$1 data
	data=$(abspath "$2")
	peer_dir testns
	spawn "testns$PEER_N" ldns-testns -p "$port" -v "$data"
	wait_port "$port" udp 5 || { diag "ldns-testns on port $port did not start"; return 1; }
}

abspath() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")" ;;
	esac
}
