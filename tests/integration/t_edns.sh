# t_edns.sh -- EDNS is hop by hop (docs/edns.md), shown with real BIND on
# both sides of plinkfwd:
#
#   dig -> BIND 9 (forwarder, "forward only") -> plinkfwd -> BIND 9 (authoritative
#                                                             for cookie.test, with
#                                                             cookies and server-id)
#
# A BIND forwarder remembers the server cookie of each server it asks.  If
# plinkfwd relayed the upstream's cookie on a cache miss and sent none from
# its cache, BIND would log "missing expected cookie" and repeat every cache
# hit over TCP.  Asserted here on events only: BIND's own log, the query
# log of the upstream BIND, and plinkfwd's per-transport counters.
. "$(dirname "$0")/lib.sh"

PEERS=$LIBDIR/peers/edns
CTL=${PLINKFWD_CTL:-$BUILDDIR/plinkfwd-ctl}
if ! command -v named >/dev/null 2>&1; then
	skip "EDNS with BIND on both sides" "named not installed (Debian package bind9)"
	done_testing
fi

# named_conf DIR ADDR PORT EXTRA-OPTIONS ZONES
named_conf() {
	cat >"$1/named.conf" <<CONF
options {
    directory "$1";
    pid-file "$1/named.pid";
    listen-on port $3 { $2; };
    listen-on-v6 { none; };
    allow-query { any; };
    dnssec-validation no;
    notify no;
    $4
};
controls { };
logging {
    channel all { file "$1/named.log"; severity info; print-category yes; };
    category default { all; };
    category queries { all; };
    category lame-servers { all; };
};
$5
CONF
}

# the upstream: authoritative, AA on every answer, its own cookie and NSID
peer_dir upstream-named
UP=$PEER_DIR
cp "$PEERS/cookie.test.zone" "$UP/"
named_conf "$UP" 127.0.0.1 5320 'recursion no; server-id "upstream-nsid"; querylog yes;' \
	"zone \"cookie.test\" { type primary; file \"$UP/cookie.test.zone\"; };"
spawn upstream-named named -f -c "$UP/named.conf"
ok "upstream BIND (authoritative, cookies, server-id) on 127.0.0.1@5320" wait_dns 127.0.0.1 5320 10

cat >"$T/plinkfwd.conf" <<CONF
server:
    listen: 127.0.0.1@$PORT
    deny: 127.0.0.2/32
    control-socket: $T/control.sock
    nsid: plinkfwd-test
    upstream-timeout: 1000
    query-timeout: 3000
upstream: default
    server: 127.0.0.1@5320
upstream: dead
    server: 127.0.0.33@5399
forward: dead.test
    to: dead
CONF
ok "plinkfwd starts in front of it" start_plinkfwd "$T/plinkfwd.conf"

# the front: a BIND forwarder, everything to plinkfwd
peer_dir front-named
FRONT=$PEER_DIR
named_conf "$FRONT" 127.0.0.1 5311 "recursion yes; allow-recursion { any; }; forward only; forwarders { 127.0.0.1 port $PORT; };" ""
spawn front-named named -f -c "$FRONT/named.conf"
ok "front BIND forwarding to plinkfwd on 127.0.0.1@5311" wait_port 5311 udp 10

stat_tcp() { "$CTL" -s "$T/control.sock" stats | awk '$1 == "queries.tcp" { print $2 }'; }

# ------------------------------------------------------------ directly, with dig
q www.cookie.test A +cookie +nsid +subnet=198.51.100.0/24
is "$Q_STATUS" NOERROR "dig -> plinkfwd (miss): NOERROR"
q_flag aa && fail "miss: no AA on a forwarded answer (the upstream is authoritative)" "$Q_FLAGS" ||
	pass "miss: no AA on a forwarded answer although the upstream set it"
like "$Q_OUT" '; COOKIE: [0-9a-f]{16}[0-9a-f]{32} \(good\)' "miss: plinkfwd's own server cookie, verified by dig"
like "$Q_OUT" '; NSID: .*\("plinkfwd-test"\)' "miss: plinkfwd's NSID"
unlike "$Q_OUT" 'upstream-nsid' "miss: never the upstream's NSID"
unlike "$Q_OUT" 'CLIENT-SUBNET' "miss: no client subnet in the answer"
q www.cookie.test A +cookie +nsid
like "$Q_OUT" '; COOKIE: [0-9a-f]{48} \(good\)' "hit: the same kind of cookie as the miss"
like "$Q_OUT" '; NSID: .*\("plinkfwd-test"\)' "hit: plinkfwd's NSID"
q_flag aa && fail "hit: no AA" "$Q_FLAGS" || pass "hit: no AA"

up_log=$UP/named.log
ok "the upstream saw plinkfwd's query for www.cookie.test" grep -q 'query: www.cookie.test IN A' "$up_log"
# BIND's query log marks a query with a cookie K (or V when valid) in its
# flags, a client subnet with S: plinkfwd sends neither upstream
unlike "$(grep 'query: www.cookie.test IN A' "$up_log")" '\+E\([0-9]\)[A-Z]*[KVS]' \
	"upstream query: an OPT of plinkfwd's own, no client cookie, no subnet"

# ------------------------------------------------------------ through BIND
tcp0=$(stat_tcp)
# a miss at plinkfwd: BIND learns plinkfwd's server cookie
r=$(dig @127.0.0.1 -p 5311 +time=3 +tries=1 +short www2.cookie.test A)
is "$r" 192.0.2.11 "BIND -> plinkfwd -> BIND: a miss is answered"
# put www3/www4 in plinkfwd's cache, not in BIND's (the cache key has the
# DO bit, and a BIND forwarder may set it: both)
for n in www3 www4; do
	q $n.cookie.test A
	q $n.cookie.test A +dnssec
done
hits0=$("$CTL" -s "$T/control.sock" stats | awk '$1 == "cache.hits" { print $2 }')
for n in www3=192.0.2.12 www4=192.0.2.13; do
	r=$(dig @127.0.0.1 -p 5311 +time=3 +tries=1 +short ${n%%=*}.cookie.test A)
	is "$r" "${n#*=}" "BIND -> plinkfwd (cache hit): ${n%%=*} answered"
done
hits1=$("$CTL" -s "$T/control.sock" stats | awk '$1 == "cache.hits" { print $2 }')
ok "both were cache hits at plinkfwd ($hits0 -> $hits1)" test "$hits1" -ge $((hits0 + 2))
ok "front BIND logs to its own file" test -s "$FRONT/named.log"
unlike "$(cat "$FRONT/named.log")" 'missing expected cookie' "BIND never logs 'missing expected cookie' for plinkfwd"
is "$(stat_tcp)" "$tcp0" "BIND did not repeat any query over TCP"
ok "front BIND's query log has the hits" grep -q 'query: www4.cookie.test IN A' "$FRONT/named.log"

# ------------------------------------------------------------ errors explain themselves
q host.dead.test A +time=5
is "$Q_STATUS" SERVFAIL "dead group: SERVFAIL"
like "$Q_OUT" 'EDE: 23 \(Network Error\): \(dead group: 1 server unreachable\)' \
	"dead group (nothing listens there): EDE 23 naming the group"
r=$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.2 +time=2 +tries=1 www.cookie.test A 2>&1)
like "$r" 'status: REFUSED' "a denied source: REFUSED"
like "$r" 'EDE: 18 \(Prohibited\)' "a denied source: EDE 18 (Prohibited)"
r=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 +opcode=5 +rec +cdflag www.cookie.test A 2>&1)
like "$r" 'status: NOTIMP' "opcode UPDATE: NOTIMP"
like "$r" 'flags: qr;' "NOTIMP: no request flag echoed, no RA"
r=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 +cookie=0011223344556677aa www.cookie.test A 2>&1)
like "$r" 'status: FORMERR' "a 9-byte cookie: FORMERR"

# ------------------------------------------------------------ the EDNS compliance probes
# The probes of ISC's DNS compliance tester (genreport -R for forwarded
# names, plain for local ones), sent with dig: what a forwarder in front
# must see is clean DNS.  www.cookie.test is forwarded; lab.local is ours.
cat >"$T/local.zone" <<ZONE
\$TTL 300
@ IN SOA ns.lab.local. hostmaster.lab.local. 1 3600 600 86400 60
@ IN NS ns.lab.local.
ns IN A 127.0.0.1
www IN A 192.0.2.50
ZONE
printf 'zone: lab.local\n    file: %s\n' "$T/local.zone" >>"$T/plinkfwd.conf"
sighup_plinkfwd
wait_log 'reload' 10
probe() { PROBE=$(dig @127.0.0.1 -p "$PORT" +time=3 +tries=1 "$@" 2>&1); }
for n in www.cookie.test www.lab.local; do
	kind=forwarded
	[ "$n" = www.lab.local ] && kind=local
	probe "$n" A +norec
	if [ $kind = local ]; then
		like "$PROBE" 'flags: qr aa ra;' "$kind: AA on plinkfwd's own zone, RD not invented"
	else
		like "$PROBE" 'flags: qr ra;' "$kind: no AA on forwarded data"
	fi
	probe "$n" A +zflag
	unlike "$PROBE" 'MBZ' "$kind zflag: the Z bit is not echoed"
	probe "$n" A +ednsflags=0x80
	like "$PROBE" 'EDNS: version: 0, flags:;' "$kind ednsflags: an unknown EDNS flag is not echoed"
	probe "$n" A +ednsopt=100:abcd
	unlike "$PROBE" 'OPT=100' "$kind ednsopt: an unknown option is not echoed"
	like "$PROBE" 'status: NOERROR' "$kind ednsopt: answered"
	probe "$n" A +edns=1 +noednsneg
	like "$PROBE" 'status: BADVERS' "$kind edns1: BADVERS"
	like "$PROBE" 'EDNS: version: 0' "$kind edns1: answered with version 0"
	like "$PROBE" 'ANSWER: 0' "$kind edns1: no answer"
	probe "$n" A +cdflag
	like "$PROBE" 'flags: qr (aa )?rd ra cd;' "$kind cd: CD echoed"
	probe "$n" A +opcode=15 +rec
	like "$PROBE" 'status: NOTIMP' "$kind opcode 15: NOTIMP"
	like "$PROBE" 'flags: qr;' "$kind opcode 15: no flag echoed"
	probe "$n" A +nsid +expire +subnet=192.0.2.0/24 +cookie
	unlike "$PROBE" 'EXPIRE|CLIENT-SUBNET' "$kind optlist: no EXPIRE, no client subnet back"
	like "$PROBE" 'NSID: .*plinkfwd-test' "$kind optlist: plinkfwd's NSID"
	like "$PROBE" 'COOKIE: [0-9a-f]{48} \(good\)' "$kind optlist: a good server cookie"
done

ok "plinkfwd still runs" plinkfwd_alive
done_testing
