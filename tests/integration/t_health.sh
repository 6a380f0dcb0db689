# t_health.sh -- upstream health, caps and coalescing (docs/upstream.md):
# a dead server is avoided once marked down and re-admitted after it comes
# back; the server with the lower smoothed RTT gets most queries; the
# per-server caps on queries per second and queries outstanding hold under a
# burst (also with two workers, which share the caps); 100 identical
# concurrent queries make one upstream query and 100 answers, each with its
# own ID and question case.  Then the forwarding engine is driven directly
# by tests/unit/test_upstream (when built) against the same kind of servers.
#
# Upstreams are peers/forward/responder.py: a scripted server that answers
# after a delay (concurrently), or never, and logs every query it receives
# with a timestamp (--timestamps); peers/health/burst.py fires many queries
# at once.
. "$(dirname "$0")/lib.sh"

PEERS=$LIBDIR/peers/health
RESPONDER="python3 $LIBDIR/peers/forward/responder.py --timestamps"
BURST="python3 $PEERS/burst.py"
# Generous, so that a responder slowed down by a busy machine is not taken
# for a dead one; "without waiting" is then anything well below it.
UP_TIMEOUT=1500
# Long while the dead server must be avoided (a probe is a query that waits);
# shortened by a reload when it is time to see it re-admitted.
PROBE=60000
PROBE_SHORT=1000

# start_responder NAME ADDR [ARGS...]  responder.py on ADDR port 5301; the
# queries it sees go to $T/NAME-queries.log, its counters to $T/NAME.stats.
start_responder() { spawn_responder "$@" --stats "$T/$1.stats"; }

# queries NAME  number of queries responder NAME received (over all its lives)
queries() {
	[ -f "$T/$1-queries.log" ] || { echo 0; return; }
	wc -l <"$T/$1-queries.log" | tr -d ' '
}

# stat NAME KEY  a counter of responder NAME's current life
stat() { awk -v k="$2" '$1 == k { print $2 }' "$T/$1.stats" 2>/dev/null; }

# max_per_second NAME  most queries responder NAME received within one second
max_per_second() {
	awk '{ n[int($1 / 1000)]++ } END { m = 0; for (s in n) if (n[s] > m) m = n[s]; print m }' \
		"$T/$1-queries.log" 2>/dev/null
}

# srv COUNTER ADDR  a per-server counter of the daemon (/metrics), 0 when
# the server has not been used yet (sent, answered, failed, timeouts)
srv() {
	local v
	v=$(metric_value "plinkfwd_upstream_server_$1_total{server=\"$2@5301\"}")
	echo "${v:-0}"
}

# burst_get KEY  a line of the last burst.py output
burst_get() { printf '%s\n' "$BURST_OUT" | awk -v k="$1" '$1 == k { print $2 }'; }

# ------------------------------------------------------------ peers
ok "responder dead (silent) starts" start_responder dead 127.0.0.41 --mode silent
ok "responder live starts" start_responder live 127.0.0.42 --addr 192.0.2.42
ok "responder slow (200 ms) starts" start_responder slow 127.0.0.43 --addr 192.0.2.43 --delay 200
ok "responder fast starts" start_responder fast 127.0.0.44 --addr 192.0.2.44
ok "responder coal (500 ms) starts" start_responder coal 127.0.0.47 --addr 192.0.2.47 --delay 500

cat >"$T/health.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    upstream-timeout: $UP_TIMEOUT
    query-timeout: 4000
    upstream-down-after: 3
    upstream-probe-interval: $PROBE
    http-listen: 127.0.0.1@$((PORT + 1000))
upstream: pair
    server: 127.0.0.41@5301
    server: 127.0.0.42@5301
upstream: srtt
    server: 127.0.0.43@5301
    server: 127.0.0.44@5301
upstream: coal
    server: 127.0.0.47@5301
forward: pair.test
    to: pair
forward: srtt.test
    to: srtt
forward: coal.test
    to: coal
EOF
ok "plinkfwd starts with the health config" start_plinkfwd "$T/health.conf"

# ------------------------------------------------------------ a dead server
# Neither server is measured yet, so queries at once go to both: those that
# reach the silent one fail over after upstream-timeout, and it is marked down.
mark=$(log_mark)
BURST_OUT=$($BURST --port "$PORT" --name pair.test --unique --count 20 --addr 192.0.2.42 --timeout 15)
is "$(burst_get addr_ok)" 20 "20 queries at once, some to a silent server: all answered by the live one"
ok "the silent server was asked ($(queries dead) queries)" test "$(queries dead)" -ge 3
ok "the silent server is marked down" wait_log 'upstream 127\.0\.0\.41@5301 failed [0-9]+ times in a row: marked down' 2 "$mark"
dead_before=$(queries dead)
timeouts_before=$(srv timeouts 127.0.0.41)
live_before=$(srv answered 127.0.0.42)
answered=0
for n in $(seq 1 15); do
	q "after$n.pair.test" A
	[ "$Q_STATUS/$Q_ANSWER" = "NOERROR/after$n.pair.test. 300 IN A 192.0.2.42" ] && answered=$((answered + 1))
done
is "$answered" 15 "marked down: 15 queries answered by the live server"
is "$(queries dead)" "$dead_before" "marked down: no query reached the dead server"
is "$(srv timeouts 127.0.0.41)" "$timeouts_before" "marked down: no query waited for the dead one (no new timeout)"
is "$(($(srv answered 127.0.0.42) - live_before))" 15 "marked down: the live server answered each of them once"

# ------------------------------------------------------------ re-admitted
stop_pid "$(cat "$T/dead.pid")"
ok "the dead server comes back (answering)" start_responder dead 127.0.0.41 --addr 192.0.2.41
back_before=$(queries dead)
mark=$(log_mark)
sed -i "s/upstream-probe-interval: $PROBE\$/upstream-probe-interval: $PROBE_SHORT/" "$T/health.conf"
sighup_plinkfwd
ok "reload with upstream-probe-interval: $PROBE_SHORT" wait_log 'reloaded ' 5 "$mark"
sleep $((PROBE_SHORT / 1000 + 1))
for n in $(seq 1 20); do
	q "back$n.pair.test" A
done
ok "after the (new) probe interval: probed and back in service" \
	wait_log 'upstream 127\.0\.0\.41@5301 answers again: back in service' 2 "$mark"
# How many of the 20 it gets after that depends on its smoothed RTT
# against the live server's, measured on this machine as it is: only the
# events are asserted -- it was asked and answered again, and it is no
# longer marked down, so it is a candidate like any other.
back=$(($(queries dead) - back_before))
ok "re-admitted: it was asked again ($back of 20)" test "$back" -ge 1
ok "re-admitted: it answered again" test "$(srv answered 127.0.0.41)" -ge 1
is "$(metric_value 'plinkfwd_upstream_server_down{server="127.0.0.41@5301"}')" 0 "re-admitted: no longer marked down"
like "$Q_ANSWER" "^back20\.pair\.test\. 300 IN A 192\.0\.2\.4[12]$" "re-admitted: answers keep coming"

# ------------------------------------------------------------ smoothed RTT
slow_before=$(queries slow)
fast_before=$(queries fast)
fast_answers=0
for n in $(seq 1 30); do
	q "r$n.srtt.test" A
	[ "$Q_ANSWER" = "r$n.srtt.test. 300 IN A 192.0.2.44" ] && fast_answers=$((fast_answers + 1))
done
slow_n=$(($(queries slow) - slow_before))
fast_n=$(($(queries fast) - fast_before))
ok "SRTT: the 200 ms server got few of 30 queries ($slow_n; the fast one $fast_n)" \
	test "$slow_n" -ge 1 -a "$slow_n" -le 7 -a "$fast_n" -ge 23
ok "SRTT: most answers are the fast server's ($fast_answers of 30)" test "$fast_answers" -ge 23

# ------------------------------------------------------------ coalescing
BURST_OUT=$($BURST --port "$PORT" --name www.coal.test --count 100 --mixcase --addr 192.0.2.47)
is "$(queries coal)" 1 "100 identical concurrent queries: one upstream query"
is "$(burst_get answered)" 100 "100 identical concurrent queries: 100 answers"
is "$(burst_get id_ok)" 100 "... each with its own ID"
is "$(burst_get case_ok)" 100 "... each with its own question case"
is "$(burst_get addr_ok)" 100 "... each with the upstream's answer"
diag "100 coalesced answers, the slowest after $(burst_get max_ms) ms (not asserted)"
before=$(queries coal)
BURST_OUT=$($BURST --port "$PORT" --name big.coal.test --count 300 --tcp 2 --batch 100 --addr 192.0.2.47)
is "$(burst_get addr_ok)" 302 "300 UDP + 2 TCP identical queries: all answered"
is "$(burst_get id_ok)" 302 "... each with its own ID"
is "$(($(queries coal) - before))" 3 "... with 3 upstream queries (256 waiters at most per query; TCP apart)"
is "$(grep -c '^[0-9]* tcp .* big\.coal\.test\. ' "$T/coal-queries.log")" 1 "... one of them over TCP"
ok "plinkfwd still running" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

# ------------------------------------------------------------ caps
ok "responder capq starts" start_responder capq 127.0.0.45 --addr 192.0.2.45
ok "responder capo (300 ms) starts" start_responder capo 127.0.0.46 --addr 192.0.2.46 --delay 300

caps_conf() { # WORKERS
	cat >"$T/caps$1.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: $1
    cloud: none
    upstream-max-qps: 100
    upstream-max-outstanding: 5
    http-listen: 127.0.0.1@$((PORT + 1000))
upstream: capq
    server: 127.0.0.45@5301
upstream: capo
    server: 127.0.0.46@5301
forward: capq.test
    to: capq
forward: capo.test
    to: capo
EOF
}

# dnsperf_cap WORKERS  a 3-second burst at up to 1000 qps, then the checks.
# What is counted, never timed: queries that reached the server and queries
# the cap refused, the daemon's capped counter against the SERVFAIL answers.  The bucket itself (burst, refill, exact
# count over 1.5 s) is asserted on a test clock in tests/unit/test_upstream.
dnsperf_cap() {
	local w=$1 out servfail noerror lost got capped0 capped
	# names never asked before: nothing can come from a cache
	awk -v w="$w" 'BEGIN { for (i = 0; i < 20000; i++) printf "w%s-%d.capq.test A\n", w, i }' >"$T/capq$w.queries"
	: >"$T/capq-queries.log"
	capped0=$(metric_value plinkfwd_upstream_capped_total)
	out=$(dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/capq$w.queries" -l 3 -Q 1000 -c 8 -t 5 2>&1)
	printf '%s\n' "$out" >"$T/dnsperf-$w.txt"
	noerror=$(printf '%s\n' "$out" | sed -n 's/.*NOERROR \([0-9]*\).*/\1/p')
	servfail=$(printf '%s\n' "$out" | sed -n 's/.*SERVFAIL \([0-9]*\).*/\1/p')
	lost=$(printf '%s\n' "$out" | sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p')
	capped=$(($(metric_value plinkfwd_upstream_capped_total) - ${capped0:-0}))
	got=$(queries capq)
	diag "$w worker(s): $got queries reached the server (max $(max_per_second capq) in one second by its clock)"
	# the rate itself is asserted on a test clock (tests/unit/test_upstream);
	# here the events: some queries passed the cap, and the cap refused others
	ok "$w worker(s), cap 100 qps: queries reached the server ($got) and others were capped ($capped)" \
		test "$got" -ge 1 -a "$capped" -ge 1
	ok "$w worker(s): the rest were refused at the cap (capped $capped, SERVFAIL ${servfail:-0}, NOERROR ${noerror:-0}, lost ${lost:-?})" \
		test "${servfail:-0}" -ge 1 -a "$capped" -ge "${servfail:-0}" -a "${lost:-1}" -le 10
	ok "$w worker(s): the server saw no more than the answers ($got queries, ${noerror:-0} NOERROR)" \
		test "$got" -le $((${noerror:-0} + 5))
}

caps_conf 1
ok "plinkfwd starts with caps (1 worker)" start_plinkfwd "$T/caps1.conf"
mark=$(log_mark)
dnsperf_cap 1
ok "capped queries are logged (rate-limited)" wait_log 'every server of upstream group capq is at its query cap' 2 "$mark"

capped0=$(metric_value plinkfwd_upstream_capped_total)
BURST_OUT=$($BURST --port "$PORT" --name capo.test --unique --count 40 --addr 192.0.2.46)
capped=$(($(metric_value plinkfwd_upstream_capped_total) - ${capped0:-0}))
is "$(burst_get answered)" 40 "40 distinct queries at once to a 300 ms server: all answered"
ok "outstanding cap 5: the server never had more than 5 queries at once (max $(stat capo max_pending))" \
	test "$(stat capo max_pending)" -le 5 -a "$(stat capo max_pending)" -ge 1
# 5 NOERROR and 35 SERVFAIL when the 40 arrive together; a burst that a busy
# machine spreads out lets more through, never more than 5 at once
ok "outstanding cap 5: the rest refused at the cap (NOERROR $(burst_get rcode_NOERROR), SERVFAIL $(burst_get rcode_SERVFAIL), capped $capped)" \
	test "$(burst_get rcode_NOERROR)" -ge 5 -a "$(burst_get rcode_SERVFAIL)" -ge 1 \
	-a "$(($(burst_get rcode_NOERROR) + $(burst_get rcode_SERVFAIL)))" = 40 -a "$capped" = "$(burst_get rcode_SERVFAIL)"
is "$(queries capo)" "$(burst_get rcode_NOERROR)" "outstanding cap 5: the server got exactly the queries it answered"
stop_plinkfwd

caps_conf 2
ok "plinkfwd starts with caps (2 workers share them)" start_plinkfwd "$T/caps2.conf"
dnsperf_cap 2
stop_plinkfwd

# ------------------------------------------------------------ the engine itself
DRIVER=$BUILDDIR/tests/unit/test_upstream
if [ -x "$DRIVER" ]; then
	ok "responder good starts" start_responder good 127.0.0.31 --addr 192.0.2.31
	ok "responder slow300 starts" start_responder slow300 127.0.0.32 --delay 300
	ok "responder silent starts" start_responder silent 127.0.0.33 --mode silent
	ok "responder slow100 starts" start_responder slow100 127.0.0.34 --delay 100
	ok "responder good2 starts" start_responder good2 127.0.0.35 --addr 192.0.2.35
	mkdir -p "$T/engine"
	for n in good slow300 silent slow100 good2; do
		ln -sf "$T/$n-queries.log" "$T/engine/$n.log"
	done
	# its TAP lines become ours, prefixed
	"$DRIVER" "$T/engine" >"$T/engine.tap" 2>"$T/engine.err"
	drc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "engine: ${line#ok * - }" ;;
		"not ok "*) fail "engine: ${line#not ok * - }" ;;
		"#"*) diag "${line#\# }" ;;
		esac
	done <"$T/engine.tap"
	ok "engine test program exited 0 (status $drc)" test "$drc" = 0
else
	skip "engine test program" "$DRIVER not built (make check builds it)"
fi

done_testing
