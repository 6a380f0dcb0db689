# t_local.sh -- local zones answered authoritatively, EDNS, truncation,
# listeners, and the public fallback through a real NSD upstream.
. "$(dirname "$0")/lib.sh"

# ------------------------------------------------------------ test data
cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 2024010101 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.1
www     IN AAAA 2001:db8::1
alias   IN CNAME www
chain1  IN CNAME chain2
chain2  IN CNAME www
*.wild  IN A    192.0.2.50
text    IN TXT  "hello"
EOF
# 40 A records for one name: 12 + 18 + 40 * 16 = 670 bytes, over the 512 of plain DNS.
for i in $(seq 1 40); do
	echo "many    IN A    192.0.2.$((100 + i))" >>"$T/lab.test.zone"
done

# A local zone with fallback: public; names it lacks go to the default group.
cat >"$T/fb.test.zone" <<'EOF'
$ORIGIN fb.test.
$TTL 300
@       IN SOA  ns.fb.test. hostmaster.fb.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
private IN A    10.9.9.9
EOF
# The "public" copy of that zone, served by NSD as the default upstream.
cat >"$T/fb.test.public.zone" <<'EOF'
$ORIGIN fb.test.
$TTL 300
@       IN SOA  ns.fb.test. hostmaster.fb.test. 7 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
private IN A    198.51.100.1
other   IN A    198.51.100.99
EOF

cat >"$T/local.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    listen: 127.0.0.2@$((PORT + 1))
    workers: 2
    cloud: none
zone: lab.test
    file: $T/lab.test.zone
EOF
if [ "$HAVE_IPV6" = 1 ]; then
	sed -i "/^server:/a\\    listen: ::1@$PORT" "$T/local.conf"
fi

# ------------------------------------------------------------ basic answers
ok "plinkfwd starts with the test config" start_plinkfwd "$T/local.conf"

q www.lab.test A
is "$Q_STATUS" NOERROR "A: status NOERROR"
ok "A: AA set" q_flag aa
ok "A: QR set" q_flag qr
not_ok "A: TC clear" q_flag tc
like "$Q_ANSWER" '^www\.lab\.test\. 300 IN A 192\.0\.2\.1$' "A: the zone's record"
is "$Q_ANCOUNT" 1 "A: exactly one answer"

q www.lab.test AAAA
like "$Q_ANSWER" '^www\.lab\.test\. 300 IN AAAA 2001:db8::1$' "AAAA: the zone's record"
ok "AAAA: AA set" q_flag aa

q alias.lab.test A
like "$Q_ANSWER" '^alias\.lab\.test\. 300 IN CNAME www\.lab\.test\.$' "CNAME: the alias"
like "$Q_ANSWER" '^www\.lab\.test\. 300 IN A 192\.0\.2\.1$' "CNAME: target followed in the zone"
is "$Q_ANCOUNT" 2 "CNAME: two answer records"

q chain1.lab.test A
like "$Q_ANSWER" '^chain1\.lab\.test\. 300 IN CNAME chain2\.lab\.test\.$' "chain: first link"
like "$Q_ANSWER" '^chain2\.lab\.test\. 300 IN CNAME www\.lab\.test\.$' "chain: second link"
like "$Q_ANSWER" '^www\.lab\.test\. 300 IN A 192\.0\.2\.1$' "chain: final A"
is "$Q_ANCOUNT" 3 "chain: three answer records"
ok "chain: AA set" q_flag aa

q alias.lab.test CNAME
is "$Q_ANSWER" "alias.lab.test. 300 IN CNAME www.lab.test." "CNAME query: only the CNAME itself"

q host1.wild.lab.test A
is "$Q_ANSWER" "host1.wild.lab.test. 300 IN A 192.0.2.50" "wildcard: synthesised with the query name"
ok "wildcard: AA set" q_flag aa
q a.b.wild.lab.test A
is "$Q_ANSWER" "a.b.wild.lab.test. 300 IN A 192.0.2.50" "wildcard: covers deeper names"
q host1.wild.lab.test AAAA
is "$Q_STATUS/$Q_ANCOUNT" "NOERROR/0" "wildcard: other type is NODATA"
q wild.lab.test A
is "$Q_STATUS/$Q_ANCOUNT" "NOERROR/0" "wildcard parent (empty non-terminal) is NODATA, not NXDOMAIN"

q nope.lab.test A
is "$Q_STATUS" NXDOMAIN "NXDOMAIN for a missing name"
ok "NXDOMAIN: AA set" q_flag aa
is "$Q_ANCOUNT" 0 "NXDOMAIN: empty answer"
like "$Q_AUTHORITY" '^lab\.test\. [0-9]+ IN SOA ns\.lab\.test\. hostmaster\.lab\.test\. 2024010101 ' \
	"NXDOMAIN: zone SOA in authority"

q www.lab.test TXT
is "$Q_STATUS" NOERROR "NODATA: status NOERROR"
is "$Q_ANCOUNT" 0 "NODATA: empty answer"
ok "NODATA: AA set" q_flag aa
like "$Q_AUTHORITY" '^lab\.test\. [0-9]+ IN SOA ns\.lab\.test\. ' "NODATA: zone SOA in authority"

q lab.test SOA
like "$Q_ANSWER" '^lab\.test\. 300 IN SOA ns\.lab\.test\. hostmaster\.lab\.test\. 2024010101 3600 600 86400 60$' \
	"apex SOA"
q lab.test NS
like "$Q_ANSWER" '^lab\.test\. 300 IN NS ns\.lab\.test\.$' "apex NS"

q text.lab.test TXT
like "$Q_ANSWER" '^text\.lab\.test\. 300 IN TXT "hello"$' "TXT record"

q WwW.LaB.TeSt A
is "$Q_STATUS" NOERROR "mixed case: answered"
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "mixed case: same data"
is "$Q_QUESTION" "WwW.LaB.TeSt. IN A" "mixed case: question echoed in the original case"
q NOPE.LAB.TEST A
is "$Q_STATUS" NXDOMAIN "upper case NXDOMAIN"

# ------------------------------------------------------------ EDNS
q www.lab.test A
is "$Q_OPT" yes "EDNS query: answer carries OPT"
like "$Q_EDNS" 'version: 0' "EDNS: version 0"
like "$Q_EDNS" 'udp: 1232' "EDNS: our UDP size is 1232"
q www.lab.test A +noedns
is "$Q_OPT" no "no EDNS in query: no OPT in answer"
is "$Q_STATUS" NOERROR "no EDNS: still answered"
q www.lab.test A +edns=1 +noednsnegotiation
is "$Q_STATUS" BADVERS "EDNS version 1: BADVERS"
is "$Q_OPT" yes "BADVERS: carries OPT"
like "$Q_EDNS" 'version: 0' "BADVERS: OPT says version 0"
is "$Q_ANCOUNT" 0 "BADVERS: no answer records"

# ------------------------------------------------------------ truncation
q many.lab.test A +noedns +ignore
ok "40 A over UDP without EDNS: TC set" q_flag tc
is "$Q_OPT" no "TC answer without EDNS carries no OPT"
q many.lab.test A +bufsize=512 +ignore
ok "40 A over UDP with EDNS bufsize 512: TC set" q_flag tc
is "$Q_OPT" yes "TC answer with EDNS carries OPT"
q many.lab.test A +ignore
not_ok "40 A over UDP with EDNS 1232: TC clear" q_flag tc
is "$Q_ANCOUNT" 40 "40 A with EDNS 1232: all records"
q many.lab.test A +noedns +tcp
not_ok "40 A over TCP: TC clear" q_flag tc
is "$Q_ANCOUNT" 40 "40 A over TCP: all records"
is "$(printf '%s\n' "$Q_ANSWER" | grep -c ' IN A 192\.0\.2\.1[0-4][0-9]$')" 40 "40 A over TCP: every address present"
q www.lab.test A +tcp
like "$Q_ANSWER" '^www\.lab\.test\. 300 IN A 192\.0\.2\.1$' "TCP: plain answer"
ok "TCP: AA set" q_flag aa

# ------------------------------------------------------------ no upstream
q www.example.com A
is "$Q_STATUS" REFUSED "name needing the default group with no servers: REFUSED"
not_ok "REFUSED: AA clear" q_flag aa
q www.example.com A +tcp
is "$Q_STATUS" REFUSED "same over TCP: REFUSED"

# ------------------------------------------------------------ listeners and workers
Q_SERVER=127.0.0.2 Q_PORT=$((PORT + 1)) q www.lab.test A
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "second listen address answers (UDP)"
Q_SERVER=127.0.0.2 Q_PORT=$((PORT + 1)) q www.lab.test A +tcp
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "second listen address answers (TCP)"
if [ "$HAVE_IPV6" = 1 ]; then
	Q_SERVER=::1 q www.lab.test AAAA
	like "$Q_ANSWER" ' IN AAAA 2001:db8::1$' "IPv6 listener answers (UDP)"
	Q_SERVER=::1 q www.lab.test AAAA +tcp
	like "$Q_ANSWER" ' IN AAAA 2001:db8::1$' "IPv6 listener answers (TCP)"
else
	skip "IPv6 listener answers (UDP)" "no ::1 in this namespace"
	skip "IPv6 listener answers (TCP)" "no ::1 in this namespace"
fi

# workers: 2 means two UDP sockets sharing the port (SO_REUSEPORT).
nsock=$(ss -Hlnu "( sport = :$PORT )" | grep -c '127\.0\.0\.1:')
is "$nsock" 2 "workers: 2 -> two UDP sockets on 127.0.0.1@$PORT"
nsock=$(ss -Hlnt "( sport = :$PORT )" | grep -c '127\.0\.0\.1:')
ok "workers: 2 -> at least one TCP listener on 127.0.0.1@$PORT" test "$nsock" -ge 1
# Many source ports spread over both workers; every query must be answered.
answered=0
for i in $(seq 1 40); do
	q "h$i.wild.lab.test" A
	[ "$Q_ANSWER" = "h$i.wild.lab.test. 300 IN A 192.0.2.50" ] && answered=$((answered + 1))
done
is "$answered" 40 "workers: 2 -> 40 queries from 40 source ports all answered"

ok "plinkfwd still running" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "SIGTERM: clean exit status 0"

# ------------------------------------------------------------ fallback: public
ok "NSD public upstream starts" start_nsd 127.0.0.3@5301 fb.test="$T/fb.test.public.zone"
cat >"$T/fallback.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
upstream: default
    server: 127.0.0.3@5301
zone: fb.test
    file: $T/fb.test.zone
    fallback: public
zone: lab.test
    file: $T/lab.test.zone
EOF
ok "plinkfwd starts with the fallback config" start_plinkfwd "$T/fallback.conf"
q private.fb.test A
is "$Q_ANSWER" "private.fb.test. 300 IN A 10.9.9.9" "fallback zone: own record answered locally"
ok "fallback zone: own record is AA" q_flag aa
q other.fb.test A
is "$Q_STATUS" NOERROR "fallback: missing name resolved publicly"
like "$Q_ANSWER" '^other\.fb\.test\. [0-9]+ IN A 198\.51\.100\.99$' "fallback: answer comes from the NSD data"
q nothere.fb.test A
is "$Q_STATUS" NXDOMAIN "fallback: NXDOMAIN upstream is passed on"
like "$Q_AUTHORITY" 'IN SOA ns\.fb\.test\. hostmaster\.fb\.test\. 7 ' "fallback: NXDOMAIN carries the public SOA"
q nope.lab.test A
is "$Q_STATUS" NXDOMAIN "zone without fallback: still NXDOMAIN locally"
like "$Q_AUTHORITY" 'IN SOA ns\.lab\.test\. ' "zone without fallback: local SOA"
q www.lab.test A
ok "zone without fallback: AA" q_flag aa
stop_plinkfwd

# ------------------------------------------------------------ the shipped config
shipped=$SRCDIR/conf/plinkfwd.conf
if [ -f "$shipped" ]; then
	copy_conf "$shipped" "$T/shipped.conf"
	ok "shipped config: plinkfwd -t accepts it" quiet "$PLINKFWD" -t -c "$T/shipped.conf"
	ok "plinkfwd starts with the shipped config" start_plinkfwd "$T/shipped.conf"
	# For each zone of the shipped config, ask for its SOA and for one A record
	# taken from the zone file itself, so the test follows the demo data.
	nz=0
	while read -r zone file; do
		nz=$((nz + 1))
		q "$zone" SOA
		like "$Q_ANSWER" "^${zone//./\\.}\.? [0-9]+ IN SOA " "shipped $zone: SOA"
		ok "shipped $zone: AA" q_flag aa
		rr=$({ echo "\$ORIGIN $zone"; cat "$file"; } | ldns-read-zone -E A /dev/stdin 2>/dev/null |
			grep -v '^\*' | awk '$4 == "A" { print $1, $5; exit }')
		if [ -n "$rr" ]; then
			q "${rr% *}" A
			like "$Q_ANSWER" " IN A ${rr#* }$" "shipped $zone: ${rr% *} A ${rr#* }"
		fi
		q "no-such-name-xyz.$zone" A
		like "$Q_STATUS" '^(NXDOMAIN|REFUSED)$' \
			"shipped $zone: missing name is NXDOMAIN (or REFUSED when it falls back with no upstream)"
	done < <(awk '
		/^[ \t]*zone:/ { z = $2; sub(/\.$/, "", z) }
		/^[ \t]*file:/ && z != "" { print z, $2; z = "" }' "$T/shipped.conf")
	ok "shipped config serves at least one zone" test "$nz" -ge 1
	q www.example.com A
	is "$Q_STATUS" REFUSED "shipped config: no upstream servers, so a public name is REFUSED"
	stop_plinkfwd
	is "$PLINKFWD_RC" 0 "shipped config: clean exit"
else
	skip "shipped config" "conf/plinkfwd.conf not present"
fi

done_testing
