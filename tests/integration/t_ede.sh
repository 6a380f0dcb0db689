# t_ede.sh -- answers that explain themselves, seen by dig:
#   - Extended DNS Errors (RFC 8914, docs/edns.md): 3 Stale Answer, 14 Not
#     Ready, 18 Prohibited, 22 No Reachable Authority (timeouts, an empty
#     group), 23 Network Error, and an upstream's own EDE passed on;
#   - resolver.arpa (RFC 9462) answered by plinkfwd itself, never forwarded:
#     the default group's server logs every query it gets, and none of them
#     is under resolver.arpa;
#   - ANY (RFC 8482) over UDP: one RRset of a local zone; over TCP: all.
# Upstreams are the scripted responder (peers/forward/responder.py) on
# 127.0.0.x:5301; a dead server is an address where nothing listens.
. "$(dirname "$0")/lib.sh"

ok "default upstream (answers, logs every query)" spawn_responder default 127.0.0.11 --addr 192.0.2.7
ok "two silent upstreams" spawn_responder silent1 127.0.0.12 --mode silent
ok "...second one" spawn_responder silent2 127.0.0.13 --mode silent
ok "an upstream that adds an EDE of its own" spawn_responder edeup 127.0.0.14 --ede "17:filtered upstream"
ok "an upstream for the stale answer" spawn_responder flaky 127.0.0.15 --addr 192.0.2.15

cat >"$T/lab.test.zone" <<'ZONE'
$TTL 300
@ IN SOA ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@ IN NS ns.lab.test.
ns IN A 192.0.2.53
www IN A 192.0.2.80
www IN AAAA 2001:db8::80
www IN TXT "web"
ZONE

cat >"$T/plinkfwd.conf" <<CONF
server:
    listen: 127.0.0.1@$PORT
    deny: 127.0.0.2/32
    cloud: AzureCloud
    control-socket: $T/run/control.sock
    upstream-timeout: 1000
    query-timeout: 3000
    cache-max-ttl: 1
    serve-stale: 3600
upstream: azure
upstream: default
    server: 127.0.0.11@5301
upstream: slow
    server: 127.0.0.12@5301
    server: 127.0.0.13@5301
upstream: dead
    server: 127.0.0.33@5399
upstream: empty
upstream: edeup
    server: 127.0.0.14@5301
upstream: flaky
    server: 127.0.0.15@5301
forward: slow.test
    to: slow
forward: dead.test
    to: dead
forward: none.test
    to: empty
forward: ede.test
    to: edeup
forward: flaky.test
    to: flaky
forward: resolver.arpa
    to: default
zone: lab.test
    file: $T/lab.test.zone
arm:
    subscription: 00000000-0000-0000-0000-000000000000
    arm-endpoint: https://127.0.0.1:9
    login-endpoint: https://127.0.0.1:9
    imds-endpoint: http://127.0.0.1:9
    interval: 3600
CONF
mkdir -p "$T/run"
ok "plinkfwd starts" start_plinkfwd "$T/plinkfwd.conf"

# ------------------------------------------------------------ EDE
q x.slow.test A +time=10
is "$Q_STATUS" SERVFAIL "22: both servers of a group silent: SERVFAIL"
like "$Q_OUT" 'EDE: 22 \(No Reachable Authority\): \(slow group: 2 servers timed out\)' \
	"22: dig shows No Reachable Authority, the group and what happened"
unlike "$Q_OUT" '127\.0\.0\.1[23]' "22: no server address in the answer"

q x.dead.test A +time=10
is "$Q_STATUS" SERVFAIL "23: an unreachable server: SERVFAIL"
like "$Q_OUT" 'EDE: 23 \(Network Error\): \(dead group: 1 server unreachable\)' "23: dig shows Network Error"

q x.none.test A
is "$Q_STATUS" REFUSED "a group without servers: REFUSED"
like "$Q_OUT" 'EDE: 22 \(No Reachable Authority\): \(empty group: no server configured\)' \
	"a group without servers: 22 with the reason"
q x.none.test A +noedns
is "$Q_OPT" no "a client without EDNS gets no OPT, so no EDE"

r=$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.2 +time=5 +tries=1 www.lab.test A 2>&1)
like "$r" 'status: REFUSED' "18: a denied source: REFUSED"
like "$r" 'EDE: 18 \(Prohibited\)' "18: dig shows Prohibited"

q www.ede.test A
is "$Q_STATUS" NOERROR "an upstream answer with an EDE of its own"
like "$Q_OUT" 'EDE: 17 \(Filtered\): \(filtered upstream\)' "the upstream's EDE is passed on to the client"

q acct.privatelink.blob.core.windows.net A
is "$Q_STATUS" REFUSED "14: a privatelink name before any ARM zone synced, azure empty: REFUSED"
like "$Q_OUT" 'EDE: 14 \(Not Ready\): \(arm: no zone synced yet\)' "14: dig shows Not Ready"
like "$Q_OUT" 'EDE: 22 .*azure group: no server configured' "14: and why the group could not answer"

q www.flaky.test A
is "$Q_STATUS" NOERROR "stale: answered while the server is up"
like "$Q_ANSWER" 'IN A 192\.0\.2\.15$' "stale: its address"
pid=$(cat "$T/flaky.pid")
stop_pid "$pid"
# cache-max-ttl 1: the entry has certainly expired two seconds later, and
# serve-stale 3600 keeps it far longer than this run
sleep 2
q www.flaky.test A +time=10
is "$Q_STATUS" NOERROR "3: the server gone, the expired answer is served"
like "$Q_ANSWER" ' 30 IN A 192\.0\.2\.15$' "3: with TTL 30"
like "$Q_OUT" 'EDE: 3 \(Stale Answer\): \(flaky group: 1 server unreachable\)' \
	"3: dig shows Stale Answer, and why the group failed"
q_flag aa && fail "3: no AA on a stale answer" "$Q_FLAGS" || pass "3: no AA on a stale answer"

# ------------------------------------------------------------ DDR
n0=$(wc -l <"$T/default-queries.log")
q _dns.resolver.arpa SVCB
is "$Q_STATUS" NOERROR "DDR: _dns.resolver.arpa SVCB: NOERROR"
is "$Q_ANCOUNT" 0 "DDR: NODATA (no encrypted listener to designate)"
ok "DDR: authoritative" q_flag aa
like "$Q_AUTHORITY" '^resolver\.arpa\. 300 IN SOA resolver\.arpa\. nobody\.invalid\. 1 3600 1200 604800 300$' \
	"DDR: the SOA of resolver.arpa in the authority section"
unlike "$Q_OUT" 'EDE:' "DDR: nothing degraded, no EDE"
q _dns.resolver.arpa SVCB +tcp
is "$Q_STATUS/$Q_ANCOUNT" NOERROR/0 "DDR over TCP: the same"
for n in resolver.arpa/SOA x.resolver.arpa/A _dns.RESOLVER.arpa/HTTPS resolver.arpa/ANY; do
	q "${n%/*}" "${n#*/}"
	is "$Q_STATUS" NOERROR "DDR: ${n%/*} ${n#*/}: NOERROR"
done
q www.lab.test A
q probe.example A
is "$Q_STATUS" NOERROR "a name of the default group is forwarded"
ok "the default server logged it" wait_until grep -q 'probe\.example\.' "$T/default-queries.log"
n1=$(wc -l <"$T/default-queries.log")
ok "the default server got only that query meanwhile ($n0 -> $n1)" test "$n1" -eq $((n0 + 1))
unlike "$(cat "$T/default-queries.log")" 'resolver\.arpa' \
	"no resolver.arpa question ever reached the upstream, although a forward rule names it"

# ------------------------------------------------------------ minimal ANY
q www.lab.test ANY +notcp
is "$Q_STATUS" NOERROR "ANY over UDP: NOERROR"
is "$Q_ANCOUNT" 1 "ANY over UDP: one RRset (RFC 8482)"
like "$Q_ANSWER" '^www\.lab\.test\. 300 IN A 192\.0\.2\.80$' "ANY over UDP: the A set"
ok "ANY over UDP: AA, no TC" bash -c "[[ ' $Q_FLAGS ' == *' aa '* && ' $Q_FLAGS ' != *' tc '* ]]"
q www.lab.test ANY +tcp
is "$Q_ANCOUNT" 3 "ANY over TCP: every RRset (A, AAAA, TXT)"
q probe2.example ANY +notcp
like "$(tail -n 1 "$T/default-queries.log")" 'probe2\.example\. 255 ' "ANY for a forwarded name goes upstream as ANY"

ok "plinkfwd still runs" plinkfwd_alive
done_testing
