# resolve.sh -- dnsperf benchmark of the cache and splicing paths, plinkfwd
# against unbound doing the same job (make bench-resolve).
#
# Workloads, each against plinkfwd (workers: 1) and unbound (num-threads: 1),
# both forwarding to one NSD on loopback:
#   cache-hit     1000 names under a wildcard zone, answered from the cache
#                 (the 2 s warm-up fetches each name once);
#   splice-hit    1000 Azure-style names whose public answer
#                 (saN.blob.core.windows.net CNAME saN.privatelink.blob...)
#                 enters privatelink.blob.core.windows.net, whose private
#                 data a second NSD serves (plinkfwd: the catalogue sends
#                 it to the azure group; unbound: a forward-zone), answered
#                 from the cache as spliced answers.  The public NSD serves
#                 only the first CNAME (and a delegation): unbound takes a
#                 forwarder's complete chain as it is and would not splice
#                 it, so both servers must chase the target;
#   cache-miss    every query a new name (uN.wild.test, never asked before),
#                 so every answer costs one upstream round trip.
# Server CPU time is utime + stime of the server process from /proc/PID/stat
# around the measured dnsperf run, divided by the queries completed.
# dnsperf runs on CPU 0 (with NSD), the server under test on CPU 1.
#
# Environment: top_srcdir, top_builddir or PLINKFWD, BENCH_SECONDS (default
# 10), BENCH_CLIENTS (default 4), BENCH_OUT (default
# $top_builddir/tests/bench/out), BENCH_MISS_NAMES (unique names generated
# per cache-miss run, default 1500000).  Results: markdown on stdout and in
# $BENCH_OUT/resolve.md.  Everything stays on loopback, in a private network
# namespace when one can be created.

set -u
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

if [ "${PLINKFWD_IN_NETNS:-}" != 1 ] && unshare -n true 2>/dev/null; then
	PLINKFWD_IN_NETNS=1 exec unshare -n -- bash "$0" "$@"
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
MISS_NAMES=${BENCH_MISS_NAMES:-1500000}
PORT=5300
NSD_ADDR=127.0.0.2
NSD2_ADDR=127.0.0.3
NSD_PORT=5301
NACCT=1000
export PATH="$PATH:/usr/sbin:/sbin"

for tool in dnsperf unbound nsd taskset; do
	command -v "$tool" >/dev/null || { echo "resolve.sh: $tool not found" >&2; exit 1; }
done
[ -x "$PLINKFWD" ] || { echo "resolve.sh: no plinkfwd at $PLINKFWD" >&2; exit 1; }

NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
	PIN_CLIENT="taskset -c 0"
	PIN_SERVER="taskset -c 1"
	PINNING="dnsperf and NSD on CPU 0, server on CPU 1"
else
	PIN_CLIENT=""
	PIN_SERVER=""
	PINNING="none (1 CPU)"
fi
CLK_TCK=$(getconf CLK_TCK)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

W=$(mktemp -d "${TMPDIR:-/tmp}/plinkfwd-bench-resolve.XXXXXX")
mkdir -p "$OUT"
PIDS=()
SERVER_PID=
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

wait_dns() { # ADDR PORT
	local i
	for i in $(seq 1 50); do
		dig @"$1" -p "$2" +time=1 +tries=1 +noedns . SOA >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "resolve.sh: nothing answers on $1 port $2" >&2
	return 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# ------------------------------------------------------------ zones and query files
SOA='@ IN SOA ns1.bench.test. hostmaster.bench.test. 1 3600 600 86400 300
@ IN NS ns1.bench.test.'
{
	echo "\$ORIGIN wild.test."
	echo "\$TTL 3600"
	echo "$SOA"
	echo "* IN A 192.0.2.1"
} >"$W/wild.test.zone"
{
	echo "\$ORIGIN blob.core.windows.net."
	echo "\$TTL 3600"
	echo "$SOA"
	echo "privatelink IN NS ns1.bench.test."
	awk -v n=$NACCT 'BEGIN { for (i = 1; i <= n; i++) printf "sa%d IN CNAME sa%d.privatelink.blob.core.windows.net.\n", i, i }'
} >"$W/blob.zone"
# the private side, on a second NSD (the "azure" group)
{
	echo "\$ORIGIN privatelink.blob.core.windows.net."
	echo "\$TTL 3600"
	echo "$SOA"
	awk -v n=$NACCT 'BEGIN { for (i = 1; i <= n; i++) printf "sa%d IN A 10.1.%d.%d\n", i, int(i / 250), i % 250 + 1 }'
} >"$W/privatelink-private.zone"

awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "h%d.wild.test A\n", i }' >"$W/hit.queries"
awk -v n=$NACCT 'BEGIN { for (i = 1; i <= n; i++) printf "sa%d.blob.core.windows.net A\n", i }' >"$W/splice.queries"
# miss_file PREFIX  unique names, never asked before in this run
miss_file() {
	awk -v p="$1" -v n="$MISS_NAMES" 'BEGIN { for (i = 1; i <= n; i++) printf "%s%d.wild.test A\n", p, i }' >"$W/$1.queries"
	echo "$W/$1.queries"
}

mkdir -p "$W/nsd"
cat >"$W/nsd/nsd.conf" <<EOF
server:
    ip-address: $NSD_ADDR@$NSD_PORT
    username: ""
    chroot: ""
    zonesdir: "$W/nsd"
    database: ""
    pidfile: "$W/nsd/nsd.pid"
    xfrdfile: "$W/nsd/xfrd.state"
    zonelistfile: "$W/nsd/zone.list"
    xfrdir: "$W/nsd"
    server-count: 1
    verbosity: 0
    # Debian builds NSD with response rate limiting: off, or the unique
    # names of cache-miss (all one wildcard) are limited to 200 a second
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: wild.test
    zonefile: "$W/wild.test.zone"
zone:
    name: blob.core.windows.net
    zonefile: "$W/blob.zone"
EOF
$PIN_CLIENT nsd -d -c "$W/nsd/nsd.conf" >>"$W/nsd.log" 2>&1 &
PIDS+=("$!")
wait_dns "$NSD_ADDR" "$NSD_PORT" || exit 1
mkdir -p "$W/nsd2"
sed -n '/^zone:/q;p' "$W/nsd/nsd.conf" | sed -e "s/$NSD_ADDR@/$NSD2_ADDR@/" -e "s|$W/nsd|$W/nsd2|g" >"$W/nsd2/nsd.conf"
printf 'zone:\n    name: privatelink.blob.core.windows.net\n    zonefile: "%s"\n' "$W/privatelink-private.zone" >>"$W/nsd2/nsd.conf"
$PIN_CLIENT nsd -d -c "$W/nsd2/nsd.conf" >>"$W/nsd2.log" 2>&1 &
PIDS+=("$!")
wait_dns "$NSD2_ADDR" "$NSD_PORT" || exit 1

# ------------------------------------------------------------ servers
start_plinkfwd() {
	cat >"$W/plinkfwd.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: AzureCloud
    log-level: warning
    max-pending: 8192
    # no caps: NSD on loopback is not 168.63.129.16
    upstream-max-qps: 0
    upstream-max-outstanding: 0
upstream: default
    server: $NSD_ADDR@$NSD_PORT
upstream: azure
    server: $NSD2_ADDR@$NSD_PORT
EOF
	$PIN_SERVER "$PLINKFWD" -f -c "$W/plinkfwd.conf" >>"$W/plinkfwd.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	wait_dns 127.0.0.1 "$PORT"
}

start_unbound() {
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
    outgoing-range: 8192
    num-queries-per-thread: 4096
    msg-cache-size: 64m
    rrset-cache-size: 64m
remote-control:
    control-enable: no
forward-zone:
    name: "privatelink.blob.core.windows.net"
    forward-addr: $NSD2_ADDR@$NSD_PORT
forward-zone:
    name: "."
    forward-addr: $NSD_ADDR@$NSD_PORT
EOF
	$PIN_SERVER unbound -d -c "$W/unbound.conf" >>"$W/unbound.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	wait_dns 127.0.0.1 "$PORT"
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

# measure LABEL SERVER WARMFILE QUERYFILE  -> a row in $W/rows
measure() {
	local label=$1 server=$2 warm=$3 qf=$4 out t0 t1
	# warm-up: fills the cache, faults pages in, settles the CPU frequency
	$PIN_CLIENT dnsperf -s 127.0.0.1 -p "$PORT" -d "$warm" -l 2 -c "$CLIENTS" >/dev/null 2>&1
	t0=$(cpu_ticks "$SERVER_PID")
	out=$($PIN_CLIENT dnsperf -s 127.0.0.1 -p "$PORT" -d "$qf" -l "$SECS" -c "$CLIENTS" 2>&1)
	t1=$(cpu_ticks "$SERVER_PID")
	printf '%s\n' "$out" >"$OUT/dnsperf-$label-$server.txt"
	local completed lost qps lat
	completed=$(printf '%s\n' "$out" | sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p')
	lost=$(printf '%s\n' "$out" | sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p')
	qps=$(printf '%s\n' "$out" | sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p')
	lat=$(printf '%s\n' "$out" | sed -n 's/.*Average Latency (s): *\([0-9.]*\).*/\1/p')
	awk -v l="$label" -v s="$server" -v c="${completed:-0}" -v lo="${lost:-?}" -v q="${qps:-0}" \
		-v lat="${lat:-0}" -v d="$((t1 - t0))" -v hz="$CLK_TCK" -v secs="$SECS" 'BEGIN {
		cpu = (c > 0) ? d / hz / c * 1e6 : 0
		printf "%s\t%s\t%.0f\t%.1f\t%.2f\t%d\t%s\t%.0f%%\n", l, s, q, lat * 1e6, cpu, c, lo, d / hz / secs * 100
	}' >>"$W/rows"
}

# check SERVER  one spliced answer, to be sure both do the same job
check_splice() {
	local a
	a=$(dig @127.0.0.1 -p "$PORT" +short sa7.blob.core.windows.net A | tr '\n' ' ')
	echo "- $1 answers sa7.blob.core.windows.net A with: $a" >>"$W/notes"
}

: >"$W/rows"
: >"$W/notes"
for server in plinkfwd unbound; do
	"start_$server" || exit 1
	check_splice "$server"
	measure cache-hit "$server" "$W/hit.queries" "$W/hit.queries"
	measure splice-hit "$server" "$W/splice.queries" "$W/splice.queries"
	measure cache-miss "$server" "$(miss_file "w$server")" "$(miss_file "m$server")"
	rm -f "$W/w$server.queries" "$W/m$server.queries"
	stop_server
done

# ------------------------------------------------------------ report
{
	echo "## plinkfwd vs unbound: cache, splice and miss paths (dnsperf on loopback)"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $NCPU CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
	echo "- plinkfwd: $(timeout 5 "$PLINKFWD" --version 2>&1 | head -n 1); unbound $(unbound -V 2>/dev/null | sed -n '1s/^Version //p'); NSD $(nsd -v 2>&1 | sed -n 's/^NSD version //p')"
	echo "- network namespace: $NETNS; pinning: $PINNING"
	echo "- load average when the run started: $LOAD0"
	echo "- each row: ${SECS} s of dnsperf -c $CLIENTS (after a 2 s warm-up), UDP, one server thread"
	cat "$W/notes"
	echo
	echo "| workload | server | QPS | avg latency (µs) | server CPU per answer (µs) | completed | lost | server CPU busy |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$W/rows"
	echo
	echo "| workload | plinkfwd / unbound CPU per answer | target |"
	echo "|---|---:|---:|"
	awk -F'\t' '
		{ cpu[$1 "/" $2] = $5 }
		END {
			n = split("cache-hit:0.8 splice-hit:0.8 cache-miss:0.4", w, " ")
			for (i = 1; i <= n; i++) {
				split(w[i], p, ":")
				a = p[1] "/plinkfwd"; b = p[1] "/unbound"
				if (!(a in cpu) || !(b in cpu) || cpu[b] == 0) continue
				r = cpu[a] / cpu[b]
				printf "| %s | %.2f | <= %s %s |\n", p[1], r, p[2], (r <= p[2] + 0 ? "(met)" : "(missed)")
			}
		}' "$W/rows"
} | tee "$OUT/resolve.md"
