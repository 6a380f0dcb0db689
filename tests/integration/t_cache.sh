# t_cache.sh -- the answer cache: hits without an upstream query, TTLs that
# decrease, the client's own case and ID, EDNS and the DO bit, TCP, negative
# caching (RFC 2308), cache-min-ttl / cache-max-ttl / cache-negative-max-ttl,
# SERVFAIL never cached, eviction under a tiny cache-size, cache-size 0, and
# the flush on SIGHUP.
#
# Upstreams: NSD serving peers/splice/cache.test.zone, and responder.py
# (peers/forward/) which logs every query it receives -- the way to see
# whether an answer came from the cache or from upstream.
. "$(dirname "$0")/lib.sh"

PEERS=$LIBDIR/peers/splice

# start_responder NAME ADDR MODE [ARGS...]  (queries logged to $T/NAME-queries.log)
start_responder() { local n=$1 a=$2 m=$3; shift 3; spawn_responder "$n" "$a" --mode "$m" "$@"; }

# asked NAME QNAME  how many queries for QNAME (case-insensitive) responder NAME got
asked() {
	[ -f "$T/$1-queries.log" ] || { echo 0; return; }
	awk -v n="${2%.}." 'tolower($3) == tolower(n) { c++ } END { print c + 0 }' "$T/$1-queries.log"
}

# ttl_of TYPE  the TTL of the first answer record of TYPE in the last reply
ttl_of() { q_rrs ANSWER | awk -v t="$1" '$4 == t { print $2; exit }'; }

# hits  answers the daemon served from its cache (NSD keeps no query log)
hits() { ctl_stat cache.hits; }

ok "NSD (cache.test) starts" start_nsd 127.0.0.11@5301 cache.test="$PEERS/cache.test.zone"
NSD_PID=$LAST_PID
ok "responder good starts" start_responder good 127.0.0.14 answer --addr 192.0.2.14
ok "responder servfail starts" start_responder sf 127.0.0.16 servfail

# cache-min-ttl 60 and cache-max-ttl 200: every entry checked below outlives
# the test by far, so "still cached" never races its expiry.
mkdir -p "$T/run"
cat >"$T/cache.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    upstream-timeout: 1000
    query-timeout: 3000
    control-socket: $T/run/control.sock
    cache-min-ttl: 60
    cache-max-ttl: 200
    cache-negative-max-ttl: 40
upstream: default
    server: 127.0.0.11@5301
upstream: good
    server: 127.0.0.14@5301
upstream: sf
    server: 127.0.0.16@5301
forward: count.test
    to: good
forward: sf.test
    to: sf
EOF
ok "plinkfwd starts" start_plinkfwd "$T/cache.conf"

# ------------------------------------------------------------ a hit is not asked upstream
q a.count.test A
is "$Q_ANSWER" "a.count.test. 300 IN A 192.0.2.14" "miss: the upstream answer as it came"
q a.count.test A
is "$(asked good a.count.test)" 1 "hit: the upstream was asked once for two queries"
like "$Q_ANSWER" '^a\.count\.test\. [0-9]+ IN A 192\.0\.2\.14$' "hit: the same record"
ok "hit: TTL capped by cache-max-ttl 200 ($(ttl_of A))" test "$(ttl_of A)" -le 200
ok "hit: RA set" q_flag ra
not_ok "hit: AA clear (cached data is not authoritative)" q_flag aa
ok "hit: dig accepted the ID (the client's own)" test "$Q_STATUS" = NOERROR

# ------------------------------------------------------------ TTLs decrease
# Sleeping only makes sure time passed: how much more passed on a busy
# machine does not matter, the entry lives 200 s.
q www.cache.test A
q www.cache.test A
t1=$(ttl_of A)
h=$(hits)
sleep 2
q www.cache.test A
t2=$(ttl_of A)
is "$(hits)" $((h + 1)) "TTL decreases: the later answer came from the cache"
ok "TTL decreases in the cache ($t1, then $t2 after a sleep of 2 s)" test "$t2" -lt "$t1" -a "$t2" -gt 0

# ------------------------------------------------------------ the client's own case, EDNS, DO, TCP
q A.CoUnT.tEsT A
like "$Q_QUESTION" '^A\.CoUnT\.tEsT\. IN A$' "0x20: the question echoed in the client's case"
like "$Q_ANSWER" '^A\.CoUnT\.tEsT\. [0-9]+ IN A 192\.0\.2\.14$' "0x20: the owner (a pointer to the question) too"
is "$(asked good a.count.test)" 1 "0x20: served from the cache (names match case-insensitively)"

q a.count.test A +noedns
is "$Q_OPT" no "hit for a client without EDNS: no OPT record"
is "$Q_STATUS" NOERROR "hit for a client without EDNS: answered"
q a.count.test A +bufsize=1400
like "$Q_EDNS" 'udp: 1232' "hit for an EDNS client: our OPT record"

q a.count.test A +dnssec
is "$(asked good a.count.test)" 2 "DO bit set: another cache key, asked upstream"
q a.count.test A +dnssec
is "$(asked good a.count.test)" 2 "DO bit set again: a hit"
like "$Q_EDNS" 'flags: do' "hit with DO: DO echoed in our OPT record"

q a.count.test A +tcp
is "$(asked good a.count.test)" 2 "TCP client: served from the cache"
like "$Q_ANSWER" '^a\.count\.test\. [0-9]+ IN A 192\.0\.2\.14$' "TCP client: the cached record"

q b.count.test A +tcp
q b.count.test A
is "$(asked good b.count.test)" 1 "an answer fetched over TCP serves UDP clients too"

# ------------------------------------------------------------ cache-min-ttl
# The record's own TTL is 1 s: once that has certainly passed, the answer
# still comes from the cache, with a TTL below cache-min-ttl 60.
q short.cache.test A
h=$(hits)
sleep 1.5
q short.cache.test A
t=$(ttl_of A)
is "$(hits)" $((h + 1)) "TTL 1 raised by cache-min-ttl 60: still cached after its own TTL passed"
ok "TTL 1 raised by cache-min-ttl 60: the TTL counts down from 60 (TTL $t)" test "$t" -gt 1 -a "$t" -lt 60

# ------------------------------------------------------------ negative caching
q nope.cache.test A
is "$Q_STATUS" NXDOMAIN "NXDOMAIN from upstream"
q nodata.cache.test TXT
q www.cache.test TXT
is "$Q_STATUS/$Q_ANCOUNT" "NOERROR/0" "NODATA from upstream"
q alias.cache.test A
stop_pid "$NSD_PID"
not_ok "NSD stopped" quiet dig @127.0.0.11 -p 5301 +time=1 +tries=1 www.cache.test A
q nope.cache.test A
is "$Q_STATUS" NXDOMAIN "NSD stopped: NXDOMAIN still answered (cached)"
soa_ttl=$(q_rrs AUTHORITY | awk '$4 == "SOA" { print $2 }')
ok "negative TTL = min(SOA TTL 300, MINIMUM 60) capped by cache-negative-max-ttl 40 ($soa_ttl)" \
	test -n "$soa_ttl" -a "${soa_ttl:-99}" -le 40
q www.cache.test TXT
is "$Q_STATUS/$Q_ANCOUNT" "NOERROR/0" "NSD stopped: NODATA still answered (cached)"
q www.cache.test A
like "$Q_ANSWER" 'IN A 192\.0\.2\.11$' "NSD stopped: positive answer still answered"
q alias.cache.test A
like "$Q_ANSWER" '^alias\.cache\.test\. [0-9]+ IN CNAME www\.cache\.test\.$' "NSD stopped: CNAME answer still answered"
q never.cache.test A
is "$Q_STATUS" SERVFAIL "NSD stopped: an uncached name gets SERVFAIL"

# ------------------------------------------------------------ SERVFAIL is not cached
q x.sf.test A
is "$Q_STATUS" SERVFAIL "SERVFAIL from the only server"
q x.sf.test A
is "$(asked sf x.sf.test)" 2 "SERVFAIL is not cached: asked again"

# ------------------------------------------------------------ flush on SIGHUP
q c.count.test A
q c.count.test A
is "$(asked good c.count.test)" 1 "before SIGHUP: cached"
mark=$(log_mark)
sighup_plinkfwd
ok "SIGHUP: reloaded" wait_log 'reloaded ' 5 "$mark"
ok "SIGHUP: cache flushed (logged)" wait_log 'cache: flushed every entry' 5 "$mark"
q c.count.test A
is "$(asked good c.count.test)" 2 "after SIGHUP: asked upstream again"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

# ------------------------------------------------------------ eviction under a tiny cache-size
# About 170 bytes an entry: 1k holds a handful, twenty names push the first ones out.
sed -e 's/cache-min-ttl: 60/cache-size: 1k/' "$T/cache.conf" >"$T/tiny.conf"
ok "plinkfwd starts with cache-size 1k" start_plinkfwd "$T/tiny.conf"
for i in $(seq 1 20); do q "e$i.count.test" A; done
q e20.count.test A
is "$(asked good e20.count.test)" 1 "tiny cache: the latest entry is a hit"
q e1.count.test A
is "$(asked good e1.count.test)" 2 "tiny cache: the first entry was evicted (asked again)"
stop_plinkfwd

sed -e 's/cache-min-ttl: 60/cache-size: 0/' "$T/cache.conf" >"$T/off.conf"
ok "plinkfwd starts with cache-size 0" start_plinkfwd "$T/off.conf"
q f.count.test A
q f.count.test A
is "$(asked good f.count.test)" 2 "cache-size 0: every query goes upstream"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

done_testing
