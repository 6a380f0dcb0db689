# t_fault_upstreams.sh -- the fault matrix, upstream side (docs/bad-input.md):
# an upstream that sends broken replies must never reach a client through
# plinkfwd.  Real peers: the scripted responder (peers/forward/responder.py)
# in its hostile modes, next to a well-behaved one in the same group.
# Assertions are on events: which responder was asked (their query logs),
# the daemon's counters, the answers -- never on durations.
. "$(dirname "$0")/lib.sh"

CTL=${PLINKFWD_CTL:-$BUILDDIR/plinkfwd-ctl}

ok "malformed responder on 127.0.0.11" spawn_responder bad 127.0.0.11 --mode malformed
ok "TC-over-TCP responder on 127.0.0.12" spawn_responder tctcp 127.0.0.12 --mode tctcp
ok "20-step CNAME chain responder on 127.0.0.13" spawn_responder deep 127.0.0.13 --mode deepchain
ok "a good responder on 127.0.0.14" spawn_responder good 127.0.0.14 --mode answer --addr 192.0.2.44

# Groups with only a broken server show that its replies never reach a
# client (SERVFAIL instead); the mixed group shows the client getting the
# good server's answer.  Which server of a group is asked first is the
# health module's choice, so that order is left to test_query (virtual
# time).  upstream-down-after is high: the broken servers stay in service.
cat >"$T/plinkfwd.conf" <<CONF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    control-socket: $T/control.sock
    upstream-down-after: 1000
upstream: broken
    server: 127.0.0.11@5301
upstream: mixed
    server: 127.0.0.11@5301
    server: 127.0.0.14@5301
upstream: truncating
    server: 127.0.0.12@5301
upstream: deep
    server: 127.0.0.13@5301
forward: broken.test
    to: broken
forward: mixed.test
    to: mixed
forward: tc.test
    to: truncating
forward: deep.test
    to: deep
CONF
ok "plinkfwd starts" start_plinkfwd "$T/plinkfwd.conf"
counter() { "$CTL" -s "$T/control.sock" stats | awk -v k="$1" '$1 == k { print $2 }'; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# ------------------------------------------------------------ malformed replies
# three names: ANCOUNT 65535 with one record, a pointer loop, RDLENGTH past the end
for n in 1 2 3; do
	q m$n.broken.test A +time=5
	is "$Q_STATUS/$Q_ANCOUNT" SERVFAIL/0 "malformed reply $n: SERVFAIL, never the broken bytes"
done
is "$(lines "$T/bad-queries.log")" 3 "the broken server was asked each time"
is "$(counter upstream_attempts.malformed)" 3 "three malformed replies counted"
ok "logged with the reason" grep -q 'malformed reply for m1.broken.test' "$PLINKFWD_LOG"
bad0=$(lines "$T/bad-queries.log")
q x.mixed.test A +time=5
is "$Q_STATUS/$(q_rrs ANSWER | awk '{print $5}')" NOERROR/192.0.2.44 "broken and good server in a group: the good answer"
is "$(counter upstream_attempts.malformed)" $((3 + $(lines "$T/bad-queries.log") - bad0)) \
	"...every reply of the broken server counted malformed"

# ------------------------------------------------------------ TC over TCP
m0=$(counter upstream_attempts.malformed)
q big.tc.test A +time=5
is "$Q_STATUS" SERVFAIL "TC over TCP: a failure, SERVFAIL (no other server in the group)"
like "$(cat "$T/tctcp-queries.log")" '^udp .*big\.tc\.test' "the truncating server was asked over UDP"
like "$(cat "$T/tctcp-queries.log")" 'tcp .*big\.tc\.test' "...then over TCP"
is "$(counter upstream_attempts.malformed)" $((m0 + 1)) "TC over TCP counted as a failed attempt"

# ------------------------------------------------------------ a 20-step CNAME chain
q c.deep.test A +time=5 +bufsize=4096
is "$Q_STATUS" NOERROR "20-step chain: relayed as it came"
is "$Q_ANCOUNT" 20 "...all 20 CNAMEs"
is "$(counter splice_too_deep)" 1 "...counted as too deep to splice"
ok "...and logged" grep -q 'CNAME chain of c.deep.test. is longer than 16 steps' "$PLINKFWD_LOG"

# ------------------------------------------------------------ afterwards
q ok.mixed.test A +time=5
is "$Q_STATUS/$(q_rrs ANSWER | awk '{print $5}')" NOERROR/192.0.2.44 "a correct query afterwards gets a correct answer"
ok "plinkfwd still runs" plinkfwd_alive
done_testing
