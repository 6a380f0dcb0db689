# lib.sh -- shared set-up of the dnsperf benchmarks (bash; sourced, not run).
#
# run.sh and resolve.sh start with
#     if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#     bench_init NAME "PINNING TEXT" TOOL...
# arm_bench.sh (which runs on tests/integration/lib.sh) sources it only for
# bench_dnsperf_parse: every name here starts with bench_ or BENCH_, or is
# set by bench_init alone, so that nothing of the integration harness is
# replaced.
#
#   bench_init NAME PINNING TOOL...
#            re-executes the script (which takes no arguments) in a private
#            network namespace when one can be created (brings lo up; NETNS says which); sets BENCH_DIR,
#            SRCDIR, BUILDDIR, PLINKFWD, SECS, CLIENTS, OUT, PORT (5300),
#            NSD_ADDR (127.0.0.2), NSD_PORT (5301); checks that every TOOL
#            and plinkfwd are there; chooses PIN_CLIENT / PIN_SERVER (dnsperf
#            on CPU 0, the server on CPU 1; PINNING says so, or "none (1 CPU)");
#            sets NCPU, CLK_TCK, LOAD0 and the work directory W (removed on
#            exit, with every process in PIDS killed)
#   bench_wait_dns ADDR PORT        until something answers (5 s at most)
#   bench_cpu_ticks PID             utime + stime of PID, clock ticks
#   bench_nsd_conf DIR ADDR [LINE...]  the server: and remote-control: parts
#            of an NSD config listening on ADDR@NSD_PORT with its files in
#            DIR, LINEs added to server: (zones are the caller's)
#   bench_start_nsd NAME DIR ADDR   NSD on DIR/nsd.conf, on CPU 0 with dnsperf
#   bench_start_plinkfwd CONF       the server under test -> SERVER_PID
#   bench_start_unbound EXTRA       unbound with the common settings, EXTRA
#            appended (further server:, auth-zone:, forward-zone: clauses)
#   bench_stop_server
#   bench_dnsperf WARMFILE QUERYFILE LABEL SERVER
#            2 s of warm-up on WARMFILE, then SECS s measured on QUERYFILE;
#            the output goes to $OUT/dnsperf-LABEL-SERVER.txt and DP_OUT, its
#            numbers to DP_COMPLETED DP_LOST DP_QPS DP_LAT, the server's CPU
#            ticks over the measured run to DP_TICKS
#   bench_dnsperf_parse TEXT        DP_COMPLETED DP_LOST DP_QPS DP_LAT of a
#            dnsperf output (empty when missing)
#   bench_local_queries             ZONES (the zones of conf/plinkfwd.conf, as
#            "name absolute-path" lines) and W/local.queries: every (owner,
#            type) in those zones plus one missing name per nine, shuffled
#            with a fixed seed so that runs are comparable
#   bench_header TITLE [EXTRA-VERSIONS]  the report's title and its lines
#            on date, machine, versions, namespace, pinning, load, run length
#            (BENCH_TRANSPORT names the transport when it is not UDP)

bench_init() {
	BENCH_NAME=$1
	local pinning=$2 tool
	shift 2
	if [ "${PLINKFWD_IN_NETNS:-}" != 1 ] && unshare -n true 2>/dev/null; then
		PLINKFWD_IN_NETNS=1 exec unshare -n -- bash "$0"
	fi
	if [ "${PLINKFWD_IN_NETNS:-}" = 1 ]; then
		ip link set lo up
		NETNS="yes (unshare -n)"
	else
		NETNS="no (not root: host loopback)"
	fi

	BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	SRCDIR=${top_srcdir:-$(cd "$BENCH_DIR/../.." && pwd)}
	BUILDDIR=${top_builddir:-$(pwd)}
	PLINKFWD=${PLINKFWD:-$BUILDDIR/plinkfwd}
	SECS=${BENCH_SECONDS:-10}
	CLIENTS=${BENCH_CLIENTS:-4}
	OUT=${BENCH_OUT:-$BUILDDIR/tests/bench/out}
	PORT=5300
	NSD_ADDR=127.0.0.2
	NSD_PORT=5301
	export PATH="$PATH:/usr/sbin:/sbin"

	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "$BENCH_NAME: $tool not found" >&2; exit 1; }
	done
	[ -x "$PLINKFWD" ] || { echo "$BENCH_NAME: no plinkfwd at $PLINKFWD" >&2; exit 1; }

	NCPU=$(nproc)
	if [ "$NCPU" -ge 2 ]; then
		PIN_CLIENT="taskset -c 0"
		PIN_SERVER="taskset -c 1"
		PINNING=$pinning
	else
		PIN_CLIENT=""
		PIN_SERVER=""
		PINNING="none (1 CPU)"
	fi
	CLK_TCK=$(getconf CLK_TCK)
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

	W=$(mktemp -d "${TMPDIR:-/tmp}/plinkfwd-bench-${BENCH_NAME%.sh}.XXXXXX")
	mkdir -p "$OUT"
	PIDS=()
	SERVER_PID=
	trap bench_cleanup EXIT
}

bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}

bench_wait_dns() { # ADDR PORT
	local i
	for i in $(seq 1 50); do
		dig @"$1" -p "$2" +time=1 +tries=1 +noedns . SOA >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "$BENCH_NAME: nothing answers on $1 port $2" >&2
	return 1
}

# fields 14 and 15 of /proc/PID/stat; the comm field has no spaces here
bench_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

bench_nsd_conf() { # DIR ADDR [LINE...]
	local dir=$1 addr=$2 line
	shift 2
	cat <<EOF
server:
    ip-address: $addr@$NSD_PORT
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    pidfile: "$dir/nsd.pid"
    xfrdfile: "$dir/xfrd.state"
    zonelistfile: "$dir/zone.list"
    xfrdir: "$dir"
    server-count: 1
    verbosity: 0
EOF
	for line in "$@"; do printf '    %s\n' "$line"; done
	printf 'remote-control:\n    control-enable: no\n'
}

bench_start_nsd() { # NAME DIR ADDR
	$PIN_CLIENT nsd -d -c "$2/nsd.conf" >>"$W/$1.log" 2>&1 &
	PIDS+=("$!")
	bench_wait_dns "$3" "$NSD_PORT"
}

bench_start_plinkfwd() { # CONF
	$PIN_SERVER "$PLINKFWD" -f -c "$1" >>"$W/plinkfwd.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	bench_wait_dns 127.0.0.1 "$PORT"
}

bench_start_unbound() { # EXTRA-CONFIG
	cat >"$W/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$PORT
    port: $PORT
    interface-automatic: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$W"
    pidfile: "$W/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    num-threads: 1
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    local-zone: "test." nodefault   # RFC 6761 names are test data here
    qname-minimisation: no
    minimal-responses: yes
    module-config: "iterator"
remote-control:
    control-enable: no
$1
EOF
	$PIN_SERVER unbound -d -c "$W/unbound.conf" >>"$W/unbound.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	bench_wait_dns 127.0.0.1 "$PORT"
}

bench_stop_server() {
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

bench_dnsperf_parse() { # TEXT
	DP_COMPLETED=$(printf '%s\n' "$1" | sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p')
	DP_LOST=$(printf '%s\n' "$1" | sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p')
	DP_QPS=$(printf '%s\n' "$1" | sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p')
	DP_LAT=$(printf '%s\n' "$1" | sed -n 's/.*Average Latency (s): *\([0-9.]*\).*/\1/p')
}

bench_dnsperf() { # WARMFILE QUERYFILE LABEL SERVER
	local t0 t1
	# warm-up: fills caches, faults pages in, settles the CPU frequency
	$PIN_CLIENT dnsperf -s 127.0.0.1 -p "$PORT" -d "$1" -l 2 -c "$CLIENTS" >/dev/null 2>&1
	t0=$(bench_cpu_ticks "$SERVER_PID")
	DP_NS0=$(date +%s%N) # the measured window, for work counted beside it
	# DP_ARGS: more dnsperf options for the measured run (e.g. -Q RATE)
	# shellcheck disable=SC2086
	DP_OUT=$($PIN_CLIENT dnsperf -s 127.0.0.1 -p "$PORT" -d "$2" -l "$SECS" -c "$CLIENTS" ${DP_ARGS:-} 2>&1)
	DP_NS1=$(date +%s%N)
	t1=$(bench_cpu_ticks "$SERVER_PID")
	DP_TICKS=$((t1 - t0))
	printf '%s\n' "$DP_OUT" >"$OUT/dnsperf-$3-$4.txt"
	bench_dnsperf_parse "$DP_OUT"
}

bench_local_queries() {
	local n z f k
	ZONES=$(awk -v dir="$SRCDIR/conf" '
		/^[ \t]*zone:/ { z = $2; sub(/\.$/, "", z) }
		/^[ \t]*file:/ && z != "" { f = $2; if (f !~ /^\//) f = dir "/" f; print z, f; z = "" }
	' "$SRCDIR/conf/plinkfwd.conf")
	[ -n "$ZONES" ] || { echo "$BENCH_NAME: no zone: in conf/plinkfwd.conf" >&2; return 1; }
	: >"$W/local.raw"
	while read -r z f; do
		{ echo "\$ORIGIN $z."; cat "$f"; } | ldns-read-zone /dev/stdin 2>/dev/null |
			awk '$4 != "RRSIG" && $4 != "NSEC" {
				# clients ask for addresses: a CNAME owner is asked for A (the chain is
				# followed), a wildcard owner through a name it synthesises
				t = ($4 == "CNAME") ? "A" : $4
				n = $1; sub(/^\*\./, "any-host.", n)
				print n, t
			}' | sort -u >>"$W/local.raw"
	done <<<"$ZONES"
	n=$(wc -l <"$W/local.raw")
	while read -r z f; do
		for k in $(seq 1 $(((n / 9) / $(echo "$ZONES" | wc -l) + 1))); do
			echo "missing-$k.$z. A" >>"$W/local.raw"
		done
	done <<<"$ZONES"
	awk 'BEGIN { srand(42) } { print rand() "\t" $0 }' "$W/local.raw" | sort -n | cut -f2- >"$W/local.queries"
}

bench_header() { # TITLE [EXTRA-VERSIONS]
	echo "## $1"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $NCPU CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
	echo "- plinkfwd: $(timeout 5 "$PLINKFWD" --version 2>&1 | head -n 1); unbound $(unbound -V 2>/dev/null | sed -n '1s/^Version //p'); NSD $(nsd -v 2>&1 | sed -n 's/^NSD version //p')${2:-}"
	echo "- network namespace: $NETNS; pinning: $PINNING"
	echo "- load average when the run started: $LOAD0"
	echo "- each row: ${SECS} s of dnsperf -c $CLIENTS (after a 2 s warm-up), ${BENCH_TRANSPORT:-UDP}, one server thread"
}
