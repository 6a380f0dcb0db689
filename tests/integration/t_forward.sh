# t_forward.sh -- forwarding to upstream groups: routing (default, privatelink
# catalogue, admin rules), TC -> TCP, TCP clients, failover on timeout,
# SERVFAIL/REFUSED and ICMP, the query budget, reply validation (ID,
# question), empty groups and source-port randomisation.
#
# Upstreams are real servers on loopback: NSD (default group), Knot (azure
# group), ldns-testns (scripted TC and wrong-ID replies) and responder.py
# (peers/forward/), a scripted server that logs every query it receives with
# its transport and source port.
. "$(dirname "$0")/lib.sh"

PEERS=$LIBDIR/peers/forward
# The defaults.  A shorter upstream-timeout made a python responder that a
# loaded machine held back for half a second look like a dead server; the
# query budget stays three attempts, under dig's 5 s
UP_TIMEOUT=1000
Q_TIMEOUT=3000

# start_responder NAME ADDR MODE [ARGS...]  responder.py on ADDR port 5301;
# the queries it sees go to $T/NAME-queries.log.
start_responder() { local n=$1 a=$2 m=$3; shift 3; spawn_responder "$n" "$a" --mode "$m" "$@"; }

# queries NAME [PROTO]  number of queries responder NAME received (over PROTO)
queries() {
	[ -f "$T/$1-queries.log" ] || { echo 0; return; }
	grep -c "^${2:-}" "$T/$1-queries.log"
}

# asked NAME QNAME  how many times responder NAME got QNAME (any case: the
# daemon may randomise the case of what it sends upstream)
asked() {
	[ -f "$T/$1-queries.log" ] || { echo 0; return; }
	awk -v n="${2%.}." 'tolower($3) == tolower(n) { c++ } END { print c + 0 }' "$T/$1-queries.log"
}

# most_asked NAME  the most times responder NAME got one and the same name
most_asked() {
	[ -f "$T/$1-queries.log" ] || { echo 0; return; }
	awk '{ c[tolower($3)]++ } END { m = 0; for (n in c) if (c[n] > m) m = c[n]; print m }' "$T/$1-queries.log"
}

# srv COUNTER ADDR  a per-server counter of the daemon (/metrics), 0 when the
# server has not been used yet: sent, answered (any rcode), failed (no
# usable reply: timeout or error), timeouts
srv() {
	local v
	v=$(metric_value "plinkfwd_upstream_server_$1_total{server=\"$2@5301\"}")
	echo "${v:-0}"
}

# group_failures GROUP  queries of GROUP for which every server failed (SERVFAIL)
group_failures() {
	local v
	v=$(metric_value "plinkfwd_upstream_failures_total{group=\"$1\"}")
	echo "${v:-0}"
}

# ------------------------------------------------------------ peers
ok "NSD (default group) starts" start_nsd 127.0.0.11@5301 \
	public.test="$PEERS/public.test.zone" \
	privatelink.blob.core.windows.net="$PEERS/privatelink.blob.core.windows.net.public.zone"
ok "Knot (azure group) starts" start_knot 127.0.0.12@5301 \
	privatelink.blob.core.windows.net="$PEERS/privatelink.blob.core.windows.net.zone"
# Started by hand (not start_testns) for a line-buffered -v log to inspect.
spawn testns-tc stdbuf -oL ldns-testns -v -p 5302 "$PEERS/tc.testns"
ok "ldns-testns TC server starts" wait_port 5302 udp 5
TESTNS_TC_LOG=$T/testns-tc.log
ok "ldns-testns wrong-ID server starts" start_testns 5303 "$PEERS/noid.testns"
ok "responder onprem starts" start_responder onprem 127.0.0.13 answer --addr 198.51.100.33
ok "responder good starts" start_responder good 127.0.0.14 answer --addr 192.0.2.14
ok "responder silent starts" start_responder silent 127.0.0.15 silent
ok "responder servfail starts" start_responder servfail 127.0.0.16 servfail
ok "responder refused starts" start_responder refused 127.0.0.17 refused
ok "responder silent2 starts" start_responder silent2 127.0.0.18 silent
ok "responder silent3 starts" start_responder silent3 127.0.0.22 silent
ok "responder silent4 starts" start_responder silent4 127.0.0.23 silent
ok "responder badfirst starts" start_responder badfirst 127.0.0.19 badfirst --addr 192.0.2.19
ok "responder bigtc starts" start_responder bigtc 127.0.0.20 tc --addr 192.0.2.120 --records 40
if [ "$HAVE_IPV6" = 1 ]; then
	ok "responder v6 starts" start_responder v6 ::1 answer --addr 192.0.2.66
fi

# Nothing listens on 127.0.0.21@5301: a query there draws ICMP port unreachable.
# http-listen: the per-server counters on /metrics tell what each upstream
# attempt ended in (answer, timeout, error).
# workers: 1 so that the per-worker rotation and log rate limit are the whole story.
# cache-size: 0: every query here must reach the forwarding engine (the cache
# has its own tests in t_cache.sh).  upstream-socket-reuse: 1: a fresh random
# source port for every query, which the source-port checks below assert
# (pooled sockets have their own tests in t_health.sh).
cat >"$T/forward.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cache-size: 0
    upstream-socket-reuse: 1
    cloud: AzureCloud
    upstream-timeout: $UP_TIMEOUT
    query-timeout: $Q_TIMEOUT
    http-listen: 127.0.0.1@$((PORT + 1000))
upstream: azure
    server: 127.0.0.12@5301
upstream: default
    server: 127.0.0.11@5301
upstream: onprem
    server: 127.0.0.13@5301
upstream: tc
    server: 127.0.0.1@5302
upstream: noid
    server: 127.0.0.1@5303
    server: 127.0.0.14@5301
upstream: flaky
    server: 127.0.0.15@5301
    server: 127.0.0.14@5301
upstream: lame
    server: 127.0.0.16@5301
    server: 127.0.0.17@5301
    server: 127.0.0.14@5301
upstream: icmp
    server: 127.0.0.21@5301
    server: 127.0.0.14@5301
upstream: dead
    server: 127.0.0.16@5301
    server: 127.0.0.17@5301
upstream: black
    server: 127.0.0.15@5301
    server: 127.0.0.18@5301
    server: 127.0.0.22@5301
    server: 127.0.0.23@5301
upstream: bad
    server: 127.0.0.19@5301
upstream: big
    server: 127.0.0.20@5301
upstream: v6
    server: [::1]@5301
upstream: empty
forward: corp.test
    to: onprem
forward: testns.test
    to: tc
forward: noid.testns.test
    to: noid
forward: flaky.test
    to: flaky
forward: lame.test
    to: lame
forward: icmp.test
    to: icmp
forward: dead.test
    to: dead
forward: black.test
    to: black
forward: bad.test
    to: bad
forward: big.test
    to: big
forward: v6.test
    to: v6
forward: empty.test
    to: empty
EOF
[ "$HAVE_IPV6" = 1 ] || sed -i '/^upstream: v6/,/^upstream: empty/{/server:/d}' "$T/forward.conf"
ok "plinkfwd starts with the forwarding config" start_plinkfwd "$T/forward.conf"

# ------------------------------------------------------------ routing
q www.public.test A
is "$Q_STATUS" NOERROR "default group: answered"
is "$Q_ANSWER" "www.public.test. 300 IN A 192.0.2.11" "default group: NSD's record"
not_ok "default group: AA from the upstream is not relayed (forwarded data is not authoritative here)" q_flag aa
q nope.public.test A
is "$Q_STATUS" NXDOMAIN "default group: NXDOMAIN passed on"
like "$Q_AUTHORITY" '^public\.test\. [0-9]+ IN SOA ns1\.public\.test\. ' "default group: NXDOMAIN with the upstream SOA"
q alias.public.test A
like "$Q_ANSWER" '^alias\.public\.test\. [0-9]+ IN CNAME www\.public\.test\.$' "default group: CNAME passed on"
# NSD echoes the question's case (and compresses the owner to it).
q WwW.PuBlIc.TeSt A
is "$Q_ANSWER" "WwW.PuBlIc.TeSt. 300 IN A 192.0.2.11" "mixed-case query forwarded and accepted"

# The same privatelink name has a public copy on NSD and the private one on
# Knot; the catalogue must send it to the azure group.
R=$(dig @127.0.0.11 -p 5301 +short +norec myacct.privatelink.blob.core.windows.net A)
is "$R" "192.0.2.200" "(the default group's server would answer 192.0.2.200)"
q myacct.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "myacct.privatelink.blob.core.windows.net. 10 IN A 10.1.2.3" \
	"catalogue: privatelink.blob.core.windows.net goes to the azure group (Knot's data)"
q MyAcct.PrivateLink.Blob.Core.Windows.Net A
like "$Q_ANSWER" ' IN A 10\.1\.2\.3$' "catalogue: matched case-insensitively"

q host.corp.test A
is "$Q_ANSWER" "host.corp.test. 300 IN A 198.51.100.33" "admin forward rule: its group answers"
is "$(queries onprem udp)" 1 "admin forward rule: one UDP query reached the onprem server"

# ------------------------------------------------------------ source ports and IDs
q a1.corp.test A
q a2.corp.test A
q a3.corp.test A
ports=$(awk '{ print $2 }' "$T/onprem-queries.log" | sort -u | wc -l)
is "$ports" 4 "four forwarded queries came from four different source ports"
ids=$(awk '{ print $5 }' "$T/onprem-queries.log" | sort -u | wc -l)
ok "upstream query IDs vary ($ids distinct of 4)" test "$ids" -ge 3
q a4.corp.test A
is "$Q_ANSWER" "a4.corp.test. 300 IN A 198.51.100.33" "client gets its answer whatever ID went upstream"
last_id=$(tail -n 1 "$T/onprem-queries.log" | awk '{ print $5 }')
diag "client ID $Q_ID, upstream ID $last_id"

# ------------------------------------------------------------ TCP
mark=$(wc -l <"$TESTNS_TC_LOG")
q tc.testns.test A
is "$Q_STATUS" NOERROR "TC from upstream: answered"
is "$Q_ANSWER" "tc.testns.test. 3600 IN A 192.0.2.77" "TC from upstream: the TCP answer (only TCP has the record)"
not_ok "TC from upstream: client's answer has TC clear" q_flag tc
tail -n +"$((mark + 1))" "$TESTNS_TC_LOG" >"$T/tc-since.txt"
like "$(grep -E '^query [0-9]+: id [0-9]+: (UDP|TCP)' "$T/tc-since.txt" | awk '{ print $5 }' | tr '\n' ' ')" \
	'^UDP TCP $' "TC from upstream: ldns-testns saw UDP, then TCP"

q b1.big.test A +ignore
is "$Q_STATUS" NOERROR "TC, 670-byte TCP answer: answered"
is "$Q_ANCOUNT" 40 "TC, 670-byte TCP answer: 40 records fit EDNS 1232"
q b2.big.test A +noedns +ignore
ok "TC, 670-byte answer to a client without EDNS: TC set for the client" q_flag tc
q b3.big.test A +noedns +tcp
is "$Q_ANCOUNT" 40 "same over TCP from the client: all 40 records"
is "$(queries bigtc tcp)/$(queries bigtc udp)" "3/2" "bigtc: 2 UDP queries then TCP retries, the TCP client over TCP only"

before_udp=$(queries onprem udp)
q tcpclient.corp.test A +tcp
is "$Q_ANSWER" "tcpclient.corp.test. 300 IN A 198.51.100.33" "TCP client: answered"
is "$(queries onprem tcp)" 1 "TCP client: forwarded over TCP"
is "$(queries onprem udp)" "$before_udp" "TCP client: no UDP query upstream"
q www.public.test A +tcp
is "$Q_ANSWER" "www.public.test. 300 IN A 192.0.2.11" "TCP client to NSD over TCP"

# ------------------------------------------------------------ failover
# What happened upstream is read from the servers' query logs (who was
# asked, how often) and from the daemon's per-server counters (what each
# attempt ended in), never from how long a query took.  The timing itself --
# nobody else is asked 1 ms before upstream-timeout, the next server at
# upstream-timeout, SERVFAIL when the query budget runs out -- is asserted in
# virtual time by tests/unit/test_query.c.
#
# flaky: silent + good.  A server never measured is asked first, so of two
# queries at least one starts at the silent server, times out there and
# fails over to the good one.
q one.flaky.test A
st1=$Q_STATUS/$Q_ANSWER
q two.flaky.test A
is "$st1" "NOERROR/one.flaky.test. 300 IN A 192.0.2.14" "timeout failover: first query answered by the second server"
is "$Q_STATUS/$Q_ANSWER" "NOERROR/two.flaky.test. 300 IN A 192.0.2.14" "timeout failover: second query answered"
silent_n=$(queries silent udp)
ok "timeout failover: the silent server was asked ($silent_n)" test "$silent_n" -ge 1
is "$(srv timeouts 127.0.0.15)" "$silent_n" "timeout failover: each attempt to the silent server counted as a timeout"
is "$(srv answered 127.0.0.15)" 0 "timeout failover: nothing accepted from the silent server"
is "$(most_asked silent)" 1 "timeout failover: the silent server never got the same query twice"
moved=0
for n in $(awk '{ print tolower($3) }' "$T/silent-queries.log"); do
	[ "$(asked good "$n")" = 1 ] && moved=$((moved + 1))
done
is "$moved" "$silent_n" "timeout failover: what the silent server got went on to the good server"
is "$(srv answered 127.0.0.14)" 2 "timeout failover: the good server answered both"

# lame: SERVFAIL, REFUSED, good.  Whatever the start, the next server is
# asked on the reply, not after a timeout.
for n in 1 2 3; do
	q "l$n.lame.test" A
	is "$Q_STATUS/$Q_ANSWER" "NOERROR/l$n.lame.test. 300 IN A 192.0.2.14" "SERVFAIL/REFUSED: next server (query $n)"
done
lame_n=$(($(queries servfail) + $(queries refused)))
ok "SERVFAIL/REFUSED: the lame servers were asked ($lame_n)" test "$lame_n" -ge 1
is "$(srv timeouts 127.0.0.16)/$(srv timeouts 127.0.0.17)" "0/0" \
	"SERVFAIL/REFUSED: failover without waiting (no attempt to either server timed out)"
is "$(srv answered 127.0.0.16)/$(srv answered 127.0.0.17)" "$(queries servfail)/$(queries refused)" \
	"SERVFAIL/REFUSED: every attempt ended with the server's reply"
is "$(most_asked servfail)/$(most_asked refused)" "$(($(queries servfail) > 0))/$(($(queries refused) > 0))" \
	"SERVFAIL/REFUSED: each server asked at most once per query"
is "$(srv answered 127.0.0.14)" 5 "SERVFAIL/REFUSED: the good server answered all three"

for n in 1 2; do
	q "i$n.icmp.test" A
	is "$Q_STATUS/$Q_ANSWER" "NOERROR/i$n.icmp.test. 300 IN A 192.0.2.14" "port unreachable: next server (query $n)"
done
icmp_n=$(srv sent 127.0.0.21)
ok "port unreachable: the closed port was tried ($icmp_n)" test "$icmp_n" -ge 1
is "$(srv timeouts 127.0.0.21)" 0 "port unreachable: failover without waiting (no timeout counted)"
is "$(srv failed 127.0.0.21)" "$icmp_n" "port unreachable: every attempt there failed (ICMP error)"
is "$(srv answered 127.0.0.14)" 7 "port unreachable: the good server answered both"

# ------------------------------------------------------------ all servers fail
q x.dead.test A
is "$Q_STATUS" SERVFAIL "every server SERVFAIL/REFUSED: SERVFAIL"
is "$(asked servfail x.dead.test)/$(asked refused x.dead.test)" "1/1" "every server SERVFAIL/REFUSED: each asked once"
is "$(srv timeouts 127.0.0.16)/$(srv timeouts 127.0.0.17)" "0/0" \
	"every server SERVFAIL/REFUSED: SERVFAIL at once (no attempt timed out)"
is "$(group_failures dead)" 1 "every server SERVFAIL/REFUSED: counted as the group's failure"
like "$Q_QUESTION" '^x\.dead\.test\. IN A$' "SERVFAIL echoes the question"

# black: four silent servers x 500 ms > the 1500 ms budget
black_timeouts() {
	echo $(($(srv timeouts 127.0.0.15) + $(srv timeouts 127.0.0.18) + $(srv timeouts 127.0.0.22) + $(srv timeouts 127.0.0.23)))
}
black_asked() {
	echo $(($(asked silent "$1") + $(asked silent2 "$1") + $(asked silent3 "$1") + $(asked silent4 "$1")))
}
mark=$(log_mark)
t0=$(black_timeouts)
q y.black.test A
is "$Q_STATUS" SERVFAIL "all servers silent: SERVFAIL"
n=$(black_asked y.black.test)
ok "all servers silent: sent upstream ($n attempts)" test "$n" -ge 1 -a "$n" -le 4
is "$(($(black_timeouts) - t0))" "$n" "all servers silent: every attempt timed out"
is "$(most_asked silent)$(most_asked silent2)$(most_asked silent3)$(most_asked silent4)" \
	"$(($(queries silent) > 0))$(($(queries silent2) > 0))$(($(queries silent3) > 0))$(($(queries silent4) > 0))" \
	"all servers silent: no server asked twice"
is "$(group_failures black)" 1 "all servers silent: counted as the group's failure"
ok "all servers silent: logged" wait_log 'every server of upstream group black failed for y\.black\.test' 2 "$mark"
q y.black.test A +tcp
is "$Q_STATUS" SERVFAIL "all servers silent, TCP client: SERVFAIL"
is "$(group_failures black)" 2 "all servers silent, TCP client: counted as the group's failure"

# ------------------------------------------------------------ reply validation
# badfirst sends, before the right reply: wrong ID, wrong name, wrong type,
# wrong class, QR clear, a 5-byte packet.  All must be ignored.  The right
# reply echoes the question in swapped case: names match case-insensitively.
q check.bad.test A
is "$Q_STATUS/$Q_ANSWER" "NOERROR/CHECK.BAD.TEST. 300 IN A 192.0.2.19" "bad replies ignored, the right one (in other case) accepted"
is "$(queries badfirst)" 1 "bad replies: the only server was asked once"
is "$(srv timeouts 127.0.0.19)/$(srv answered 127.0.0.19)" "0/1" \
	"bad replies ignored without waiting for a timeout (the attempt ended with the right reply)"
# ldns-testns without copy_id answers with ID 0: never accepted.
q noid.testns.test A
a1=$Q_ANSWER
q noid.testns.test A
is "$a1" "noid.testns.test. 300 IN A 192.0.2.14" "wrong-ID reply ignored: answer from the other server (1)"
is "$Q_ANSWER" "noid.testns.test. 300 IN A 192.0.2.14" "wrong-ID reply ignored: answer from the other server (2)"
unlike "$a1
$Q_ANSWER" '192\.0\.2\.66' "the wrong-ID reply's data never reaches the client"

# ------------------------------------------------------------ IPv6 upstream
if [ "$HAVE_IPV6" = 1 ]; then
	q x.v6.test A
	is "$Q_ANSWER" "x.v6.test. 300 IN A 192.0.2.66" "IPv6 upstream server"
else
	skip "IPv6 upstream server" "no ::1 in this namespace"
fi

# ------------------------------------------------------------ empty group
mark=$(log_mark)
q a.empty.test A
is "$Q_STATUS" REFUSED "group with no server: REFUSED"
like "$Q_QUESTION" '^a\.empty\.test\. IN A$' "REFUSED echoes the question"
ok "group with no server: logged" wait_log 'no server in upstream group empty for a\.empty\.test' 2 "$mark"
# five more in one dig run, back to back.  The warning is limited to one a
# second per group: fewer lines than queries.  The exact schedule (one line,
# still one 999 ms later, the next one a second later) is asserted in
# virtual time by tests/unit/test_query.c.
Q_OUT=$(dig @127.0.0.1 -p "$PORT" +norec +time=5 +tries=1 b1.empty.test b2.empty.test b3.empty.test \
	b4.empty.test b5.empty.test 2>&1)
is "$(printf '%s\n' "$Q_OUT" | grep -c 'status: REFUSED')" 5 "group with no server: still REFUSED"
n=$(log_since "$mark" | grep -c 'no server in upstream group empty')
ok "group with no server: warning rate-limited ($n lines for 6 queries)" test "$n" -ge 1 -a "$n" -lt 6
q c.empty.test A +tcp
is "$Q_STATUS" REFUSED "group with no server, TCP client: REFUSED"

# ------------------------------------------------------------ still healthy
q www.public.test A
is "$Q_ANSWER" "www.public.test. 300 IN A 192.0.2.11" "still forwarding after all of the above"
ok "plinkfwd still running" plinkfwd_alive

# ------------------------------------------------------------ in flight across reload and stop
# A pending query holds the snapshot it started with: a reload in the middle
# must not free the config its server list lives in.
# black_reached NAME N  true once the black group's servers got NAME N times
black_reached() { [ "$(black_asked "$1")" -ge "$2" ]; }
dig @127.0.0.1 -p "$PORT" +norec +time=5 +tries=1 z.black.test A >"$T/inflight1.txt" 2>&1 &
dpid=$!
ok "query in flight: it reached an upstream server" wait_until black_reached z.black.test 1
mark=$(log_mark)
sighup_plinkfwd
wait "$dpid"
like "$(cat "$T/inflight1.txt")" 'status: SERVFAIL' "query in flight across a reload: completed (SERVFAIL after its budget)"
ok "reload with a query in flight: still running" plinkfwd_alive
q www.public.test A
is "$Q_ANSWER" "www.public.test. 300 IN A 192.0.2.11" "after the reload: still forwarding"

# Stopping with queries in flight: they get no answer, nothing leaks (the
# sanitizer build turns a leak into a non-zero exit status).
dig @127.0.0.1 -p "$PORT" +norec +time=3 +tries=1 w.black.test A >/dev/null 2>&1 &
dpid=$!
dig @127.0.0.1 -p "$PORT" +norec +time=3 +tries=1 +tcp w.black.test A >/dev/null 2>&1 &
dpid2=$!
ok "queries in flight (UDP and TCP): they reached upstream servers" wait_until black_reached w.black.test 2
stop_plinkfwd
is "$PLINKFWD_RC" 0 "stop with queries in flight: clean exit"
# only these two: a bare wait would also wait for every peer
wait "$dpid" "$dpid2"

done_testing
