# t_stale.sh -- serve-stale (RFC 8767): when every server of a group fails,
# an answer that expired less than serve-stale seconds ago is served with
# TTL 30; past the window, or with serve-stale off, the client gets SERVFAIL.
#
# NSD serves peers/splice/cache.test.zone; cache-max-ttl 1 and
# cache-negative-max-ttl 1 make entries expire after a second.
#
# An entry is made to expire by a condition, never by racing a window: the
# test sleeps until the TTL (and, for "past the window", the window too) has
# certainly passed -- a busy machine only makes more time pass, which no
# check here minds -- and then counts what the daemon did (plinkfwd-ctl
# stats: cache.stale).  That an answer is served right up to the end of the
# window and not a moment later is asserted in virtual time by
# tests/unit/test_query.c.
. "$(dirname "$0")/lib.sh"

PEERS=$LIBDIR/peers/splice

# stale  answers served stale so far
stale() { ctl_stat cache.stale; }

# write_conf FILE SERVE_STALE
write_conf() {
	mkdir -p "$T/run"
	cat >"$1" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    upstream-timeout: 1000
    query-timeout: 3000
    cache-max-ttl: 1
    cache-negative-max-ttl: 1
    serve-stale: $2
    control-socket: $T/run/control.sock
upstream: default
    server: 127.0.0.11@5301
    server: 127.0.0.13@5301
EOF
}

# every_ttl_is N  true when every answer and authority record has TTL N
every_ttl_is() {
	local ttls
	ttls=$({ q_rrs ANSWER; q_rrs AUTHORITY; } | awk 'NF { print $2 }' | sort -u | tr '\n' ' ')
	[ "$ttls" = "$1 " ]
}

# fill  the answers that later go stale
fill() {
	q www.cache.test A
	q www.cache.test AAAA +tcp
	q nope.cache.test A
}

ok "NSD (cache.test) starts" start_nsd 127.0.0.11@5301 cache.test="$PEERS/cache.test.zone"
NSD_PID=$LAST_PID
ok "second NSD (same zone, the group's other server) starts" start_nsd 127.0.0.13@5301 \
	cache.test="$PEERS/cache.test.zone"
NSD2_PID=$LAST_PID

write_conf "$T/stale.conf" 60
ok "plinkfwd starts (serve-stale 60)" start_plinkfwd "$T/stale.conf"
fill
is "$Q_STATUS" NXDOMAIN "(NXDOMAIN fetched)"

# ------------------------------------------------------------ upstream alive: no stale answers
sleep 1.5
q www.cache.test A
is "$Q_ANSWER" "www.cache.test. 300 IN A 192.0.2.11" "expired entry, upstream alive: a fresh upstream answer"

stop_pid "$NSD_PID"
stop_pid "$NSD2_PID"
not_ok "every server of the group is stopped" quiet dig @127.0.0.13 -p 5301 +time=1 +tries=1 www.cache.test A
sleep 1.5

# ------------------------------------------------------------ all upstreams down
s0=$(stale)
q www.cache.test A
is "$Q_STATUS" NOERROR "all servers down, expired entry: answered"
is "$Q_ANSWER" "www.cache.test. 30 IN A 192.0.2.11" "stale answer: the old record with TTL 30"
q www.cache.test AAAA +tcp
is "$Q_ANSWER" "www.cache.test. 30 IN AAAA 2001:db8::11" "stale answer over TCP: TTL 30"
q nope.cache.test A
is "$Q_STATUS" NXDOMAIN "stale negative answer: NXDOMAIN"
ok "stale negative answer: every TTL 30" every_ttl_is 30
q WWW.Cache.Test A
like "$Q_QUESTION" '^WWW\.Cache\.Test\. IN A$' "stale answer: the client's case"
is "$(stale)" $((s0 + 4)) "four stale answers counted"
q never.cache.test A
is "$Q_STATUS" SERVFAIL "all servers down, nothing cached: SERVFAIL"
is "$(stale)" $((s0 + 4)) "SERVFAIL for an uncached name: no stale answer counted"
stop_plinkfwd

# ------------------------------------------------------------ window and off
# the stale entries are gone with the process; refill with a new NSD.
# serve-stale 2: an entry expires 1 s after the fill and may be served stale
# 2 s more; after sleeping 4 s that window has certainly closed.  (Within the
# window, the serve-stale 60 part above got its stale answers.)
ok "NSD starts again" start_nsd 127.0.0.11@5301 cache.test="$PEERS/cache.test.zone"
NSD_PID=$LAST_PID
write_conf "$T/short.conf" 2
ok "plinkfwd starts (serve-stale 2)" start_plinkfwd "$T/short.conf"
fill
is "$(stale)" 0 "(filled from upstream, nothing stale)"
stop_pid "$NSD_PID"
sleep 4
q www.cache.test A
is "$Q_STATUS" SERVFAIL "past the window: SERVFAIL"
is "$(stale)" 0 "past the window: no stale answer served"
stop_plinkfwd

ok "NSD starts again" start_nsd 127.0.0.11@5301 cache.test="$PEERS/cache.test.zone"
NSD_PID=$LAST_PID
write_conf "$T/off.conf" 0
ok "plinkfwd starts (serve-stale 0)" start_plinkfwd "$T/off.conf"
fill
stop_pid "$NSD_PID"
sleep 1.5
q www.cache.test A
is "$Q_STATUS" SERVFAIL "serve-stale 0: an expired entry is not served"
is "$(stale)" 0 "serve-stale 0: no stale answer counted"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

done_testing
