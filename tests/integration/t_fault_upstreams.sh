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
ok "garbage responder on 127.0.0.15" spawn_responder garbage 127.0.0.15 --mode garbage
ok "spoofing responder on 127.0.0.16" spawn_responder spoof 127.0.0.16 --mode spoof --addr 192.0.2.46
ok "65,535-byte TCP responder on 127.0.0.17" spawn_responder big 127.0.0.17 --mode bigtcp
ok "resetting TCP responder on 127.0.0.18" spawn_responder reset 127.0.0.18 --mode tcpreset
ok "dripping TCP responder on 127.0.0.19" spawn_responder drip 127.0.0.19 --mode tcpdrip
ok "CNAME-loop responder on 127.0.0.20" spawn_responder loop 127.0.0.20 --mode cnameloop

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
upstream: garbage
    server: 127.0.0.15@5301
upstream: spoofed
    server: 127.0.0.16@5301
upstream: big
    server: 127.0.0.17@5301
upstream: resetting
    server: 127.0.0.18@5301
upstream: dripping
    server: 127.0.0.19@5301
upstream: looping
    server: 127.0.0.20@5301
# nothing listens on these two until the test starts them
upstream: gone
    server: 127.0.0.21@5301
    server: 127.0.0.22@5301
forward: garbage.test
    to: garbage
forward: spoof.test
    to: spoofed
forward: big.test
    to: big
forward: reset.test
    to: resetting
forward: drip.test
    to: dripping
forward: loop.test
    to: looping
forward: gone.test
    to: gone
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

# ------------------------------------------------------------ garbage, spoofed source
# Neither is a reply to the query: ignored, so the attempt ends on its timer.
t0=$(counter upstream_attempts.timeouts)
q g.garbage.test A +time=5
is "$Q_STATUS" SERVFAIL "garbage bytes from the only server: SERVFAIL, the bytes never relayed"
is "$(lines "$T/garbage-queries.log")" 1 "...the garbage server was asked once"
is "$(counter upstream_attempts.timeouts)" $((t0 + 1)) "...its attempt ended as a timeout (garbage ignored)"
q s.spoof.test A +time=5
is "$Q_STATUS/$Q_ANCOUNT" SERVFAIL/0 "the right answer from a spoofed source port: not accepted"
is "$(lines "$T/spoof-queries.log")" 1 "...the spoofing server was asked once"
is "$(counter upstream_attempts.timeouts)" $((t0 + 2)) "...its attempt ended as a timeout"

# ------------------------------------------------------------ a 65,535-byte TCP reply
# One RRset of 4,094 A records filling a whole TCP message: relayed whole to a
# client without EDNS; with EDNS, plinkfwd's own OPT record no longer fits in
# 65,535 bytes and an RRset is never split (RFC 2181 9), so the answer is TC
# with the question only.
q a.big.test A +time=5 +tcp +noedns
is "$Q_STATUS" NOERROR "a 65,535-byte reply over TCP: a valid message, relayed"
is "$Q_ANCOUNT" 4094 "...with all 4,094 records ((65,535 - 12 - 16) / 16)"
like "$(cat "$T/big-queries.log")" '^tcp .*a\.big\.test' "...asked over TCP, as the client asked"
q a.big.test A +time=5 +tcp
is "$Q_STATUS/$Q_ANCOUNT" NOERROR/0 "...to an EDNS client over TCP: no room for the OPT record, the RRset not split"
ok "...so TC is set" q_flag tc
q a.big.test A +time=5 +bufsize=1232 +ignore
is "$Q_STATUS/$Q_ANCOUNT" NOERROR/0 "...to an EDNS client over UDP: TC with the question only"
ok "...TC set" q_flag tc
like "$(cat "$T/big-queries.log")" 'udp .*a\.big\.test' "...that query went upstream over UDP"

# ------------------------------------------------------------ reset, slow drip
e0=$(counter upstream_attempts.errors)
q r.reset.test A +time=5
is "$Q_STATUS" SERVFAIL "a reset in place of the TCP reply: SERVFAIL"
like "$(cat "$T/reset-queries.log")" 'tcp .*r\.reset\.test' "...the server got the query over TCP"
is "$(counter upstream_attempts.errors)" $((e0 + 1)) "...counted as a failed attempt (error)"
t0=$(counter upstream_attempts.timeouts)
q d.drip.test A +time=8
is "$Q_STATUS" SERVFAIL "a TCP reply dripping one byte at a time: SERVFAIL"
like "$(cat "$T/drip-queries.log")" 'tcp .*d\.drip\.test' "...the server got the query over TCP"
is "$(counter upstream_attempts.timeouts)" $((t0 + 1)) "...the drip did not extend the attempt: a timeout"

# ------------------------------------------------------------ a CNAME loop
q x.loop.test A +time=5
is "$Q_STATUS/$Q_ANCOUNT" NOERROR/2 "a CNAME loop from upstream: relayed as it came (the client's resolver sees the loop)"
ok "plinkfwd still runs after the loop" plinkfwd_alive

# ------------------------------------------------------------ every server down, then back
e0=$(counter upstream_attempts.errors)
q a.gone.test A +time=5
is "$Q_STATUS" SERVFAIL "every server of a group down: SERVFAIL"
ok "...each refused attempt counted as an error" test "$(counter upstream_attempts.errors)" -ge $((e0 + 2))
like "$Q_OUT" 'EDE: 2[23]' "...with the reason as an Extended DNS Error"
ok "the first server comes back" spawn_responder gone1 127.0.0.21 --mode answer --addr 192.0.2.21
ok "the second server comes back" spawn_responder gone2 127.0.0.22 --mode answer --addr 192.0.2.22
q b.gone.test A +time=5
is "$Q_STATUS" NOERROR "back: answered again"
like "$(q_rrs ANSWER | awk '{print $5}')" '^192\.0\.2\.2[12]$' "...by one of the servers that came back"

# ------------------------------------------------------------ afterwards
q ok.mixed.test A +time=5
is "$Q_STATUS/$(q_rrs ANSWER | awk '{print $5}')" NOERROR/192.0.2.44 "a correct query afterwards gets a correct answer"
ok "plinkfwd still runs" plinkfwd_alive
done_testing
