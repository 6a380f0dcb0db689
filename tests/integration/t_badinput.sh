# t_badinput.sh -- the bad-input policy for UDP (and a little TCP):
#   shorter than 12 bytes or QR=1  -> dropped, no reply
#   opcode other than QUERY        -> NOTIMP
#   QDCOUNT != 1, malformed question or OPT -> FORMERR
#   a flood of garbage             -> nothing crashes, service continues
. "$(dirname "$0")/lib.sh"

SENDRAW="python3 $LIBDIR/sendraw.py"

cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.1
*.wild  IN A    192.0.2.50
EOF
for i in $(seq 1 40); do echo "many IN A 192.0.2.$((100 + i))" >>"$T/lab.test.zone"; done
cat >"$T/bad.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
zone: lab.test
    file: $T/lab.test.zone
EOF

ok "plinkfwd starts" start_plinkfwd "$T/bad.conf"

# raw HEX [SECONDS] -> reply summary line in R.  5 s bounds the wait for a
# reply that must come; a packet that must go unanswered is given 1 s (a
# busy machine can only make a wrong reply miss it, never fail a right one).
raw() { R=$($SENDRAW udp 127.0.0.1 "$PORT" "$1" --timeout "${2:-5}"); }

# Pieces (hex).  Header: id flags qdcount ancount nscount arcount.
QNAME="03777777036c61620474657374 00"    # www.lab.test.
QTAIL="00010001"                            # type A, class IN
OPT="0000290200000000000000"                # root owner, OPT, 512, v0, no flags, rdlen 0
Q="$QNAME$QTAIL"

# A well-formed query in raw form, to prove the tool and the path work.
raw "abcd 0000 0001 0000 0000 0000 $Q"
like "$R" '^id=43981 rcode=NOERROR .*flags=qr,aa(,ra)? .*an=1 ' "raw well-formed query: answered"
raw "abcd 0000 0001 0000 0000 0001 $Q $OPT"
like "$R" '^id=43981 rcode=NOERROR .*opt=yes' "raw query with OPT: answered with OPT"

# Dropped silently.
raw "" 1
is "$R" noreply "empty datagram: no reply"
raw "abcd 0000 0001 0000 0000" 1
is "$R" noreply "10-byte datagram: no reply"
raw "abcd 0000 0001 0000 0000 00" 1
is "$R" noreply "11-byte datagram: no reply"
raw "abcd 8000 0001 0000 0000 0000 $Q" 1
is "$R" noreply "QR=1 (a response): no reply"
raw "abcd 8400 0001 0001 0000 0000 $Q c00c 0001 0001 0000012c 0004 c0000201" 1
is "$R" noreply "QR=1 full answer packet: no reply"

# NOTIMP for other opcodes.
raw "0102 1000 0001 0000 0000 0000 $Q"
like "$R" '^id=258 rcode=NOTIMP opcode=2 flags=qr' "opcode 2 (STATUS): NOTIMP, id and opcode echoed"
raw "0103 2000 0001 0000 0000 0000 $Q"
like "$R" '^id=259 rcode=NOTIMP opcode=4 flags=qr' "opcode 4 (NOTIFY): NOTIMP"
raw "0104 2800 0001 0000 0000 0000 $Q"
like "$R" '^id=260 rcode=NOTIMP opcode=5 flags=qr' "opcode 5 (UPDATE): NOTIMP"
raw "0105 0800 0001 0000 0000 0000 $Q"
like "$R" '^id=261 rcode=NOTIMP opcode=1 flags=qr' "opcode 1 (IQUERY): NOTIMP"
raw "0106 7800 0001 0000 0000 0000 $Q"
like "$R" '^id=262 rcode=NOTIMP opcode=15 flags=qr' "opcode 15: NOTIMP"

# FORMERR for a malformed question section.
raw "0201 0000 0000 0000 0000 0000"
like "$R" '^id=513 rcode=FORMERR .*flags=qr' "QDCOUNT=0: FORMERR"
raw "0202 0000 0002 0000 0000 0000 $Q $Q"
like "$R" '^id=514 rcode=FORMERR .*flags=qr' "QDCOUNT=2: FORMERR"
raw "0203 0000 0001 0000 0000 0000"
like "$R" '^id=515 rcode=FORMERR ' "QDCOUNT=1 but no question (12 bytes): FORMERR"
raw "0204 0000 0001 0000 0000 0000 03777777036c6162"
like "$R" '^id=516 rcode=FORMERR ' "name cut in the middle: FORMERR"
raw "0205 0000 0001 0000 0000 0000 $QNAME 0001"
like "$R" '^id=517 rcode=FORMERR ' "type present, class missing: FORMERR"
raw "0206 0000 0001 0000 0000 0000 03777777 c00c $QTAIL"
like "$R" '^id=518 rcode=FORMERR ' "compression pointer in the question: FORMERR"
raw "0207 0000 0001 0000 0000 0000 c000 $QTAIL"
like "$R" '^id=519 rcode=FORMERR ' "question name that is only a pointer (loop): FORMERR"
raw "0208 0000 0001 0000 0000 0000 40$(printf '61%.0s' $(seq 1 64)) 00 $QTAIL"
like "$R" '^id=520 rcode=FORMERR ' "label of 64 bytes: FORMERR"
long=""
for i in $(seq 1 5); do long="${long}3f$(printf '61%.0s' $(seq 1 63))"; done
raw "0209 0000 0001 0000 0000 0000 $long 00 $QTAIL"
like "$R" '^id=521 rcode=FORMERR ' "name longer than 255 bytes: FORMERR"
raw "020a 0000 0001 0000 0000 0000 $QNAME 000100"
like "$R" '^id=522 rcode=FORMERR ' "three bytes after the name: FORMERR"

# FORMERR for a malformed OPT record.
raw "0301 0000 0001 0000 0000 0002 $Q $OPT $OPT"
like "$R" '^id=769 rcode=FORMERR ' "two OPT records: FORMERR"
raw "0302 0000 0001 0000 0000 0001 $Q 03777777 00 0029 0200 00000000 0000"
like "$R" '^id=770 rcode=FORMERR ' "OPT with a non-root owner: FORMERR"
raw "0303 0000 0001 0000 0000 0001 $Q 00 0029 0200 00000000 0008 000a"
like "$R" '^id=771 rcode=FORMERR ' "OPT whose RDLENGTH runs past the end: FORMERR"
raw "0304 0000 0001 0000 0000 0001 $Q 00 0029"
like "$R" '^id=772 rcode=FORMERR ' "OPT record cut short: FORMERR"
raw "0305 0000 0001 0000 0000 0001 $Q"
like "$R" '^id=773 rcode=FORMERR ' "ARCOUNT=1 with no record present: FORMERR"

# Well-formed but not served: class other than IN, zone transfers.
raw "0401 0000 0001 0000 0000 0000 0776657273696f6e0462696e6400 0010 0003"
like "$R" '^id=1025 rcode=REFUSED .*flags=qr' "class CH (version.bind): REFUSED"
raw "0402 0000 0001 0000 0000 0000 $QNAME 0001 00ff"
like "$R" '^id=1026 rcode=REFUSED ' "class ANY: REFUSED"
raw "$($SENDRAW build lab.test TYPE252 --id 1027)"
like "$R" '^id=1027 rcode=NOTIMP ' "AXFR over UDP: NOTIMP"
# the zone has no allow-transfer: line: transfers are refused (t_xfr_out.sh
# has the ones that are served)
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "001a $($SENDRAW build lab.test TYPE252 --id 1028)" 10)
like "$R" '^reply id=1028 rcode=REFUSED ' "AXFR over TCP, no allow-transfer: REFUSED"
raw "$($SENDRAW build lab.test TYPE251 --id 1029)"
like "$R" '^id=1029 rcode=REFUSED ' "IXFR over UDP, no allow-transfer: REFUSED"

ok "plinkfwd alive after the malformed set" plinkfwd_alive
q www.lab.test A
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "normal query answered after the malformed set"

# Same shapes over TCP: the message is framed, the policy is the same.
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "000c 0501 0000 0000 0000 0000 0000" 10)
like "$R" '^reply id=1281 rcode=FORMERR ' "TCP: QDCOUNT=0: FORMERR"
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "001e 0502 2000 0001 0000 0000 0000 $Q" 10)
like "$R" '^reply id=1282 rcode=NOTIMP ' "TCP: NOTIFY: NOTIMP"

# Garbage flood (random and mutated packets, UDP and TCP).
mark=$(log_mark)
R=$($SENDRAW garbage 127.0.0.1 "$PORT" 1000 4242)
like "$R" '^sent=1000 ' "1000 garbage datagrams sent"
ok "plinkfwd alive after the garbage" plinkfwd_alive
q www.lab.test A
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "normal UDP query answered after the garbage"
q many.lab.test A +tcp
is "$Q_ANCOUNT" 40 "normal TCP query answered after the garbage"
R=$($SENDRAW garbage 127.0.0.1 "$PORT" 1000 777)
ok "plinkfwd alive after a second flood" plinkfwd_alive
q www.lab.test A
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "normal query answered after a second flood"
unlike "$(log_since "$mark")" 'AddressSanitizer|runtime error|Segmentation|Aborted|assert|panic|fatal' \
	"log after the garbage: no crash, sanitizer or assertion report"

stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit after the bad input"

done_testing
