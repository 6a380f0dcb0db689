# tests/soak/run.sh DURATION -- a long run under mixed load that shows
# whether memory, descriptors and answers stay flat.  Run by hand (root,
# like the integration tests), never by `make check`:
#
#     bash tests/soak/run.sh 3600            # one hour; DURATION in seconds
#     SOAK_OUT=/tmp/soak bash tests/soak/run.sh 600
#
# For DURATION seconds, in a private network namespace (loopback only):
#   - dnsperf at about half of the capacity measured first, over UDP and
#     TCP, mixing local answers, cached forwarded answers, spliced answers
#     (a public CNAME into an ARM-synced privatelink zone) and cache misses
#     (unique names under an NSD wildcard with TTL 1);
#   - a SIGHUP every 10 s; every minute a broken config is put in place and
#     reloaded (it must fail) and then the good one (it must take);
#   - an ARM sync every 15 s (arm: interval) against tests/arm/fake_arm.py,
#     with a fault injected every 30 s (500, 429 with Retry-After, a hang,
#     malformed JSON, a body cut short, in turn);
#   - a TCP churner opening, using and closing connections all the time;
#   - every 10 s a sample: RSS, open descriptors, cache entries and bytes,
#     answers by rcode, reloads.
# Output in SOAK_OUT (default tests/soak/out): samples.csv, soak.png (RSS and
# descriptors over time, gnuplot), summary.md, the dnsperf reports.
# Verdicts (TAP): RSS after the first 5 minutes within +-5% of its mean over
# that span, descriptors flat, no query lost, no SERVFAIL (the upstreams here
# never fail), every broken reload failed and every good one took.
. "$(dirname "$0")/../integration/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

DURATION=${1:-3600}
OUT=${SOAK_OUT:-$SRCDIR/tests/soak/out}
mkdir -p "$OUT" "$T/run"
SOCK=$T/run/control.sock
command -v dnsperf >/dev/null || { echo "Bail out! dnsperf is needed"; exit 1; }
command -v gnuplot >/dev/null || echo "# gnuplot not found (apt-get install gnuplot-nox): no soak.png"

# ------------------------------------------------------------ data
cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@    SOA ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 300
@    NS  ns
ns   A   192.0.2.53
EOF
for i in $(seq 1 50); do echo "h$i A 192.0.2.$i" >>"$T/lab.test.zone"; done

# the public side: names answered from the cache after the first ask, CNAMEs
# into the privatelink zone ARM serves, and a wildcard with TTL 1 for misses
cat >"$T/public.test.zone" <<'EOF'
$ORIGIN public.test.
$TTL 3600
@    SOA ns.public.test. hostmaster.public.test. 1 3600 600 86400 300
@    NS  ns
ns   A   198.51.100.53
*.miss 1 A 198.51.100.99
EOF
for i in $(seq 1 200); do echo "w$i A 198.51.100.$((i % 250 + 1))" >>"$T/public.test.zone"; done
cat >"$T/blob.zone" <<'EOF'
$ORIGIN blob.core.windows.net.
$TTL 3600
@    SOA ns.blob.core.windows.net. hostmaster.blob.core.windows.net. 1 3600 600 86400 300
@    NS  ns
ns   A   198.51.100.54
EOF
for i in $(seq 1 50); do echo "sa$i CNAME sa$i.privatelink.blob.core.windows.net." >>"$T/blob.zone"; done

# NSD's response rate limiting (200/s per answer kind) would drop the misses
NSD_SERVER_EXTRA=$'    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0' \
	ok "NSD (the public side) starts" start_nsd 127.0.0.2@53 public.test="$T/public.test.zone" \
	blob.core.windows.net="$T/blob.zone"
ok "fake ARM server starts" arm_start_fake
a=$(for i in $(seq 1 50); do printf '"sa%d":"10.1.0.%d",' "$i" "$i"; done)
ok "ARM has privatelink.blob.core.windows.net with 50 records" \
	arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg1","zone":"privatelink.blob.core.windows.net","a":{'"${a%,}"'}}'

arm_conf "$T/good.conf" "interval: 15" "timeout: 3" "max-retries: 1" \
	"@control-socket: $SOCK" "@serve-stale: 0"
cat >>"$T/good.conf" <<EOF
upstream: default
    server: 127.0.0.2@53
zone: lab.test
    file: $T/lab.test.zone
EOF
sed 's/^zone: lab.test$/zone lab.test/' "$T/good.conf" >"$T/broken.conf"
cp "$T/good.conf" "$T/plinkfwd.conf"

# ------------------------------------------------------------ queries
{
	for i in $(seq 1 50); do echo "h$i.lab.test A"; done            # local
	for i in $(seq 1 200); do echo "w$i.public.test A"; done        # cached
	for i in $(seq 1 50); do echo "sa$i.blob.core.windows.net A"; done # spliced
} >"$T/base.queries"
# misses: unique names; one in five queries of the mix
python3 - "$T/base.queries" "$T/mix.queries" <<'EOF'
import random, sys
base = open(sys.argv[1]).read().split("\n")[:-1]
random.seed(7)
with open(sys.argv[2], "w") as f:
    for i in range(400000):
        if i % 5 == 4:
            f.write("m%d-%d.miss.public.test A\n" % (i, random.randrange(1 << 30)))
        else:
            f.write(random.choice(base) + "\n")
EOF

mark=$(log_mark)
ok "plinkfwd starts" start_plinkfwd "$T/plinkfwd.conf"
ok "first ARM sync" arm_wait_sync "$mark" 30
q sa1.blob.core.windows.net A
like "$Q_ANSWER" 'sa1\.privatelink\.blob\.core\.windows\.net\. [0-9]+ IN A 10\.1\.0\.1$' "spliced answer"

fds() { ls "/proc/$PLINKFWD_PID/fd" | wc -l; }
fd_idle0=$(fds)

# capacity: 10 s unthrottled over UDP; the soak runs at half of it
dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/mix.queries" -l 10 -c 4 >"$OUT/dnsperf-capacity.txt" 2>&1
cap=$(awk '/Queries per second:/ {printf "%d", $4}' "$OUT/dnsperf-capacity.txt")
ok "capacity measured: $cap qps" test "${cap:-0}" -gt 0
udp_qps=$((cap * 2 / 5))
tcp_qps=$((cap / 10))
diag "soak for $DURATION s: UDP $udp_qps qps, TCP $tcp_qps qps"

# ------------------------------------------------------------ background load
spawn perf_udp dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/mix.queries" -l "$DURATION" -c 4 -Q "$udp_qps"
perf_udp=$LAST_PID
spawn perf_tcp dnsperf -s 127.0.0.1 -p "$PORT" -m tcp -d "$T/mix.queries" -l "$DURATION" -c 8 -Q "$tcp_qps"
perf_tcp=$LAST_PID
cat >"$T/churn.py" <<'EOF'
import socket, struct, sys, time
port, end = int(sys.argv[1]), time.time() + float(sys.argv[2])
q = b"\x02h1\x03lab\x04test\x00\x00\x01\x00\x01"
n = bad = 0
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        for i in range(3):
            m = struct.pack("!HHHHHH", i, 0, 1, 0, 0, 0) + q
            s.sendall(struct.pack("!H", len(m)) + m)
            l = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
            r = s.recv(l, socket.MSG_WAITALL)
            bad += len(r) != l or (r[3] & 0xF) != 0
        s.close()
        n += 1
    except OSError:
        bad += 1
    time.sleep(0.02)
print("connections=%d bad=%d" % (n, bad))
EOF
spawn churn python3 "$T/churn.py" "$PORT" "$DURATION"
churn=$LAST_PID

# ------------------------------------------------------------ the run
echo "t,rss_kb,fds,cache_entries,cache_bytes,noerror,nxdomain,servfail,reloads_ok,reloads_failed" >"$OUT/samples.csv"
sample() {
	local t=$1 rss fds st
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$PLINKFWD_PID/status")
	fds=$(ls "/proc/$PLINKFWD_PID/fd" | wc -l)
	st=$("$CTL" -s "$SOCK" stats 2>/dev/null)
	get() { printf '%s\n' "$st" | awk -v k="$1" '$1 == k {print $2; exit}'; }
	# answers.TRANSPORT.SOURCE.RCODE, summed over transports and sources
	rc() { printf '%s\n' "$st" | awk -v r="$1" '$1 ~ /^answers\./ && $1 ~ ("\\." r "$") {s += $2} END {print s + 0}'; }
	local noerr nx sf
	noerr=$(rc NOERROR)
	nx=$(rc NXDOMAIN)
	sf=$(rc SERVFAIL)
	echo "$t,$rss,$fds,$(get cache.entries),$(get cache.bytes),$noerr,$nx,$sf,$(get reloads.ok),$(get reloads.failed)" >>"$OUT/samples.csv"
}
faults=('{"op":"fail","match":"/ALL","status":500,"count":1}'
	'{"op":"fail","match":"privateDnsZones?","status":429,"retry_after":2,"count":1}'
	'{"op":"fail","match":"/ALL","hang":4,"count":1}'
	'{"op":"fail","match":"/ALL","malformed":true,"count":1}'
	'{"op":"fail","match":"/ALL","truncate":true,"count":1}')
broken_tried=0 broken_failed=0 good_tried=0 good_took=0 nfault=0
start=$(date +%s)
next=$start
while :; do
	now=$(date +%s)
	el=$((now - start))
	[ "$el" -ge "$DURATION" ] && break
	if [ "$now" -ge "$next" ]; then
		sample "$el"
		if [ $((el % 60)) -lt 10 ] && [ "$el" -ge 60 ]; then
			# a broken config, reloaded: it must fail; then the good one
			f0=$(ctl_stat reloads.failed "$SOCK")
			cp "$T/broken.conf" "$T/plinkfwd.conf"
			"$CTL" -s "$SOCK" reload >/dev/null 2>&1
			broken_tried=$((broken_tried + 1))
			[ "$(ctl_stat reloads.failed "$SOCK")" -gt "$f0" ] && broken_failed=$((broken_failed + 1))
			o0=$(ctl_stat reloads.ok "$SOCK")
			cp "$T/good.conf" "$T/plinkfwd.conf"
			"$CTL" -s "$SOCK" reload >/dev/null 2>&1
			good_tried=$((good_tried + 1))
			[ "$(ctl_stat reloads.ok "$SOCK")" -gt "$o0" ] && good_took=$((good_took + 1))
		else
			kill -HUP "$PLINKFWD_PID"
		fi
		if [ $((el % 30)) -lt 10 ]; then
			arm_ctl "${faults[$((nfault % ${#faults[@]}))]}" >/dev/null
			nfault=$((nfault + 1))
		fi
		next=$((next + 10))
	fi
	sleep 1
done
wait "$perf_udp"
wait "$perf_tcp"
wait "$churn"
sample "$DURATION"

# ------------------------------------------------------------ verdicts
# where a lost datagram went: the kernel counts what a full socket buffer
# dropped (this namespace's counters: only our sockets)
udp_drops=$(awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp)
diag "kernel: UDP datagrams dropped on a full receive buffer: $udp_drops"
ok "the daemon still runs" plinkfwd_alive
lost() { awk '/Queries lost:/ {print $3; exit}' "$1"; }
sent() { awk '/Queries sent:/ {print $3; exit}' "$1"; }
servfail() { sed -n 's/.*SERVFAIL \([0-9]*\).*/\1/p' "$1" | head -n 1; }
cp "$T/perf_udp.log" "$OUT/dnsperf-udp.txt"
cp "$T/perf_tcp.log" "$OUT/dnsperf-tcp.txt"
is "$(lost "$OUT/dnsperf-udp.txt")" 0 "UDP: no query lost of $(sent "$OUT/dnsperf-udp.txt")"
is "$(lost "$OUT/dnsperf-tcp.txt")" 0 "TCP: no query lost of $(sent "$OUT/dnsperf-tcp.txt")"
is "$(servfail "$OUT/dnsperf-udp.txt")" "" "UDP: no SERVFAIL"
is "$(servfail "$OUT/dnsperf-tcp.txt")" "" "TCP: no SERVFAIL"
like "$(cat "$T/churn.log")" 'bad=0$' "TCP churn: every connection answered ($(cat "$T/churn.log"))"
is "$broken_failed/$good_took" "$broken_tried/$good_tried" "every broken reload failed, every good one took"
verdict=$(python3 - "$OUT/samples.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
# the last row is taken after the load stopped: not part of the span
rows = rows[:-1]
late = [r for r in rows if int(r["t"]) >= 300] or rows
rss = [int(r["rss_kb"]) for r in late]
fds = [int(r["fds"]) for r in late]
mean = sum(rss) / len(rss)
dev = max(abs(x - mean) for x in rss) / mean * 100
print("rss_mean_kb=%d rss_dev_pct=%.2f rss_min=%d rss_max=%d fds_min=%d fds_max=%d samples=%d"
      % (mean, dev, min(rss), max(rss), min(fds), max(fds), len(late)))
EOF
)
diag "$verdict"
dev=$(printf '%s' "$verdict" | sed 's/.*rss_dev_pct=\([0-9.]*\).*/\1/')
ok "RSS after the first 5 minutes within +-5% of its mean ($verdict)" \
	python3 -c "import sys; sys.exit(0 if float('$dev') <= 5.0 else 1)"
fmin=$(printf '%s' "$verdict" | sed 's/.*fds_min=\([0-9]*\).*/\1/')
fmax=$(printf '%s' "$verdict" | sed 's/.*fds_max=\([0-9]*\).*/\1/')
# Under load the count moves with the queries in flight (pooled upstream
# sockets, client TCP connections); a leak shows once the load is gone: the
# idle daemon must come back to what it held idle before the run.
fd_back() { [ "$(fds)" -le "$fd_idle0" ]; }
wait_until fd_back
ok "descriptors flat: idle $fd_idle0 before, $(fds) after (under load $fmin..$fmax)" fd_back
sf0=$(sed -n 2p "$OUT/samples.csv" | cut -d, -f8)
sf=$(tail -n 1 "$OUT/samples.csv" | cut -d, -f8)
is "$((sf - sf0))" 0 "the daemon's own count: no SERVFAIL answered during the soak"

if command -v gnuplot >/dev/null; then
	gnuplot <<EOF
set terminal pngcairo size 1000,500
set output "$OUT/soak.png"
set datafile separator ","
set key top left
set xlabel "seconds"
set ylabel "RSS (MiB)"
set y2label "open descriptors"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set title "plinkfwd soak: $DURATION s, UDP $udp_qps qps + TCP $tcp_qps qps, a reload every 10 s, ARM sync every 15 s"
plot "$OUT/samples.csv" using 1:(\$2/1024) with lines lw 2 title "RSS", \
     "$OUT/samples.csv" using 1:3 axes x1y2 with lines lw 2 title "descriptors"
EOF
	ok "plot written" test -s "$OUT/soak.png"
fi
{
	echo "## Soak: $(date -u '+%Y-%m-%d %H:%M') UTC, $DURATION s, commit $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null)"
	echo
	echo "- load: UDP $udp_qps qps + TCP $tcp_qps qps (capacity measured first: $cap qps), TCP churn"
	echo "- $verdict"
	echo "- UDP: $(sent "$OUT/dnsperf-udp.txt") sent, $(lost "$OUT/dnsperf-udp.txt") lost; TCP: $(sent "$OUT/dnsperf-tcp.txt") sent, $(lost "$OUT/dnsperf-tcp.txt") lost; churn: $(cat "$T/churn.log")"
	echo "- reloads: $(tail -n 1 "$OUT/samples.csv" | cut -d, -f9) ok, $(tail -n 1 "$OUT/samples.csv" | cut -d, -f10) failed (broken configs: $broken_tried tried, $broken_failed failed as they must)"
	echo "- ARM faults injected: $nfault"
	echo "- UDP datagrams the kernel dropped on a full receive buffer (daemon's or dnsperf's): $udp_drops"
} >"$OUT/summary.md"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean shutdown"
done_testing
