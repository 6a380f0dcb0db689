# t_tcp.sh -- DNS over TCP per RFC 7766: pipelining, idle timeout, the
# connection cap, bad length prefixes and slow clients.
. "$(dirname "$0")/lib.sh"

SENDRAW="python3 $LIBDIR/sendraw.py"
IDLE_MS=1500
CAP=4

cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.1
alias   IN CNAME www
*.wild  IN A    192.0.2.50
EOF
# workers: 1 so that the per-worker connection cap is the whole cap.
cat >"$T/tcp.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    tcp-idle-timeout: $IDLE_MS
    tcp-max-connections: $CAP
zone: lab.test
    file: $T/lab.test.zone
EOF

ok "plinkfwd starts" start_plinkfwd "$T/tcp.conf"

# closed_ms RESULT  the milliseconds of a "closed ms=N" result, empty otherwise
closed_ms() { printf '%s' "$1" | sed -n 's/^closed ms=\([0-9]*\).*/\1/p'; }

# ------------------------------------------------------------ several queries per connection
R=$($SENDRAW tcp-pipeline 127.0.0.1 "$PORT" www.lab.test alias.lab.test a.wild.lab.test nope.lab.test b.wild.lab.test)
like "$R" '^sent=5 answered=5 ' "pipeline: 5 queries in one write, 5 answers"
like "$R" ' ids=ok ' "pipeline: answer IDs match the query IDs"
like "$R" ' questions=ok ' "pipeline: each answer carries its own question"
like "$R" 'rcodes=.*NXDOMAIN' "pipeline: the NXDOMAIN one is among them"
R=$($SENDRAW tcp-sequential 127.0.0.1 "$PORT" 20 www.lab.test)
is "$R" "answered=20" "20 query/answer round trips on one connection"

# A larger pipeline (more than the default per-connection in-flight count of many servers).
names=""
for i in $(seq 1 50); do names="$names n$i.wild.lab.test"; done
R=$($SENDRAW tcp-pipeline 127.0.0.1 "$PORT" $names)
like "$R" '^sent=50 answered=50 ids=ok questions=ok' "pipeline: 50 queries in one write all answered"

# ------------------------------------------------------------ idle timeout
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "" 5)
like "$R" '^closed ms=' "idle connection closed by the server"
ms=$(closed_ms "$R")
ok "idle close not before tcp-idle-timeout ($IDLE_MS ms): ${ms}ms" test "${ms:-0}" -ge $((IDLE_MS - 200))
ok "idle close within tcp-idle-timeout + 1 s: ${ms}ms" test "${ms:-99999}" -le $((IDLE_MS + 1000))
# After an answer, the connection idles and is closed the same way.
Q=$($SENDRAW build www.lab.test A --id 77)
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "001e $Q" 5)
like "$R" '^reply id=77 rcode=NOERROR ' "query on a fresh connection answered"
py_after_answer() {
	python3 - "$PORT" "$Q" <<'EOF'
import socket, struct, sys, time, select
port, q = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=2)
s.sendall(struct.pack(">H", len(q)) + q)
t0 = time.time()
buf = b""
while True:
    r, _, _ = select.select([s], [], [], 5)
    if not r:
        print("open"); break
    c = s.recv(4096)
    if not c:
        print("closed ms=%d got=%d" % ((time.time() - t0) * 1000, len(buf))); break
    buf += c
EOF
}
R=$(py_after_answer)
like "$R" '^closed ms=' "connection closed after answering and then idling"
ms=$(closed_ms "$R")
ok "close after the answer waits for the idle timeout: ${ms}ms" test "${ms:-0}" -ge $((IDLE_MS - 200))
like "$R" 'got=(3[0-9]|[4-9][0-9])$' "the answer arrived before the close"

# ------------------------------------------------------------ bad length prefixes
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "0000" 3)
like "$R" '^closed ms=' "length prefix 0: connection closed"
ms=$(closed_ms "$R")
ok "length prefix 0: closed promptly, not by the idle timer (${ms}ms)" test "${ms:-99999}" -lt $((IDLE_MS - 500))
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "0005 0102030405" 3)
like "$R" '^closed ms=' "length prefix 5 (< 12): connection closed"
ms=$(closed_ms "$R")
ok "length prefix 5: closed promptly (${ms}ms)" test "${ms:-99999}" -lt $((IDLE_MS - 500))
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "000b 0102 0000 0001 0000 0000 00" 3)
like "$R" '^closed ms=' "length prefix 11: connection closed"
# An oversized announcement that never completes: closed by the idle timer.
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "ffff 0102 0000 0001 0000 0000 0000 $Q" 5)
like "$R" '^closed ms=' "length prefix 65535 with a short body: connection closed"
ms=$(closed_ms "$R")
ok "unfinished message closed within tcp-idle-timeout + 1 s (${ms}ms)" test "${ms:-99999}" -le $((IDLE_MS + 1000))

# ------------------------------------------------------------ slow client
# One client sends half a message and stalls; others must be served meanwhile.
half=$(printf '%s' "001e $Q" | tr -d ' ' | cut -c1-30)
$SENDRAW tcp-hold 127.0.0.1 "$PORT" "$half" 5 >"$T/slow.out" 2>&1 &
slow=$!
sleep 0.3
t0=$(now_ms)
q www.lab.test A +tcp
t1=$(now_ms)
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "TCP query answered while a slow client stalls"
ok "...and promptly ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 900
q www.lab.test A
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "UDP query answered while a slow client stalls"
R=$($SENDRAW tcp-pipeline 127.0.0.1 "$PORT" www.lab.test alias.lab.test)
like "$R" '^sent=2 answered=2 ids=ok' "pipelined TCP client served while a slow client stalls"
wait "$slow"
like "$(cat "$T/slow.out")" '^closed ms=' "the stalled client is eventually closed"

# A client that sends one byte at a time still gets its answer.
R=$(python3 - "$PORT" "$Q" <<'EOF'
import socket, struct, sys, time
port, q = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=3)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for b in struct.pack(">H", len(q)) + q:
    s.send(bytes([b])); time.sleep(0.01)
try:
    h = s.recv(2)
    print("reply len=%d" % struct.unpack(">H", h)[0] if len(h) == 2 else "closed")
except OSError:
    print("timeout")
EOF
)
like "$R" '^reply len=' "byte-at-a-time client answered"

# ------------------------------------------------------------ connection cap
R=$($SENDRAW tcp-cap 127.0.0.1 "$PORT" $((CAP + 3)) www.lab.test)
diag "cap $CAP, $((CAP + 3)) connections: $R"
first=$(echo "$R" | cut -d' ' -f1-$CAP)
rest=$(echo "$R" | cut -d' ' -f$((CAP + 1))-)
is "$first" "$(printf 'A%.0s ' $(seq 1 $CAP) | sed 's/ $//')" "cap: the first $CAP connections are served"
unlike "$rest" 'A' "cap: connections beyond tcp-max-connections are not served"
sleep 0.3
q www.lab.test A +tcp
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "cap: after they close, a new TCP connection is served"
q www.lab.test A
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "cap: UDP unaffected"

ok "plinkfwd alive" plinkfwd_alive
unlike "$(cat "$PLINKFWD_LOG")" 'AddressSanitizer|runtime error|Segmentation' "no crash report in the log"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

done_testing
