# t_tcp.sh -- DNS over TCP per RFC 7766: pipelining, idle timeout, the
# connection cap, bad length prefixes and slow clients.
#
# Nothing here depends on how long something took.  A close is proven by the
# client seeing EOF, its reason by the daemon's debug log ("tcp: message
# length N, closing" for a bad prefix, nothing for the idle timer), open
# connections by the daemon's own count (plinkfwd-ctl stats:
# tcp_connections), and "others are served while a client stalls" by the
# order of events, under an idle timeout so long that the stalled client is
# still connected whenever the test looks.  How long tcp-idle-timeout waits
# is not asserted: the listener takes its timers from libevent, not from a
# clock a test can drive (docs/testing.md).
. "$(dirname "$0")/lib.sh"

SENDRAW="python3 $LIBDIR/sendraw.py"
IDLE_MS=1500
# the second half: no connection closes by itself while the test looks at it
IDLE_LONG_MS=600000
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
# log-level: debug for the line that tells why a connection was closed.
# tcp_conf FILE IDLE_MS
tcp_conf() {
	mkdir -p "$T/run"
	cat >"$1" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    log-level: debug
    control-socket: $T/run/control.sock
    tcp-idle-timeout: $2
    tcp-max-connections: $CAP
zone: lab.test
    file: $T/lab.test.zone
EOF
}
tcp_conf "$T/tcp.conf" "$IDLE_MS"
ok "plinkfwd starts" start_plinkfwd "$T/tcp.conf"

# closed_ms RESULT  the milliseconds of a "closed ms=N" result (for a diag line)
closed_ms() { printf '%s' "$1" | sed -n 's/^closed ms=\([0-9]*\).*/\1/p'; }

# conns  TCP connections the daemon holds open (its own count)
conns() { ctl_stat tcp_connections; }
no_conns() { [ "$(conns)" = 0 ]; }
has_conn() { [ "$(conns)" -ge 1 ] 2>/dev/null; }

# bad_length_lines MARK  "tcp: message length N, closing" lines logged after MARK
bad_length_lines() { log_since "$1" | grep -c 'tcp: message length [0-9]*, closing'; }

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
ok "the clients left: the daemon holds no connection" wait_until no_conns

# ------------------------------------------------------------ idle timeout
# (a wait of 60 s is a bound: it ends when the server closes, after IDLE_MS)
mark=$(log_mark)
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "" 60)
like "$R" '^closed ms=' "idle connection closed by the server"
diag "idle close after $(closed_ms "$R") ms (tcp-idle-timeout $IDLE_MS; not asserted)"
is "$(bad_length_lines "$mark")" 0 "idle close: by the idle timer, not for a bad message"
# After an answer, the connection idles and is closed the same way.
Q=$($SENDRAW build www.lab.test A --id 77)
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "001e $Q" 60)
like "$R" '^reply id=77 rcode=NOERROR ' "query on a fresh connection answered"
py_after_answer() {
	python3 - "$PORT" "$Q" <<'EOF'
import socket, struct, sys, time, select
port, q = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(struct.pack(">H", len(q)) + q)
t0 = time.time()
buf = b""
while True:
    r, _, _ = select.select([s], [], [], 60)
    if not r:
        print("open"); break
    c = s.recv(4096)
    if not c:
        print("closed ms=%d got=%d" % ((time.time() - t0) * 1000, len(buf))); break
    buf += c
EOF
}
mark=$(log_mark)
R=$(py_after_answer)
like "$R" '^closed ms=' "connection closed after answering and then idling"
like "$R" 'got=(3[0-9]|[4-9][0-9])$' "the answer arrived before the close"
is "$(bad_length_lines "$mark")" 0 "close after the answer: by the idle timer, not for a bad message"
ok "idle closes: the daemon holds no connection afterwards" wait_until no_conns

# ------------------------------------------------------------ bad length prefixes
# Closed on reading the prefix, not by the idle timer: the daemon logs why.
mark=$(log_mark)
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "0000" 60)
like "$R" '^closed ms=' "length prefix 0: connection closed"
ok "length prefix 0: closed for its length, not by the idle timer" wait_log 'tcp: message length 0, closing' 5 "$mark"
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "0005 0102030405" 60)
like "$R" '^closed ms=' "length prefix 5 (< 12): connection closed"
ok "length prefix 5: closed for its length" wait_log 'tcp: message length 5, closing' 5 "$mark"
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "000b 0102 0000 0001 0000 0000 00" 60)
like "$R" '^closed ms=' "length prefix 11: connection closed"
ok "length prefix 11: closed for its length" wait_log 'tcp: message length 11, closing' 5 "$mark"
# An oversized announcement that never completes: closed by the idle timer.
mark=$(log_mark)
R=$($SENDRAW tcp-hold 127.0.0.1 "$PORT" "ffff 0102 0000 0001 0000 0000 0000 $Q" 60)
like "$R" '^closed ms=' "length prefix 65535 with a short body: connection closed"
is "$(bad_length_lines "$mark")" 0 "unfinished message: closed by the idle timer (not for its length)"
ok "bad prefixes: the daemon holds no connection afterwards" wait_until no_conns
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit (short idle timeout)"

# ------------------------------------------------------------ slow client
# From here on a long idle timeout: no connection closes by itself.
tcp_conf "$T/tcp-long.conf" "$IDLE_LONG_MS"
ok "plinkfwd starts again (tcp-idle-timeout $IDLE_LONG_MS)" start_plinkfwd "$T/tcp-long.conf"
# One client sends half a message and stalls; others must be served
# meanwhile: its connection is open in the daemon before the other queries
# and still open, unanswered, after them.  (An unfinished message closed by
# the idle timer is checked above.)
half=$(printf '%s' "001e $Q" | tr -d ' ' | cut -c1-30)
$SENDRAW tcp-hold 127.0.0.1 "$PORT" "$half" 600 >"$T/slow.out" 2>&1 &
slow=$!
ok "the stalled connection is open in the daemon" wait_until has_conn
q www.lab.test A +tcp
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "TCP query answered while a slow client stalls"
q www.lab.test A
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "UDP query answered while a slow client stalls"
R=$($SENDRAW tcp-pipeline 127.0.0.1 "$PORT" www.lab.test alias.lab.test)
like "$R" '^sent=2 answered=2 ids=ok' "pipelined TCP client served while a slow client stalls"
ok "... and the slow client was stalled all along (still connected, nothing received)" \
	test "$(conns)" -ge 1 -a ! -s "$T/slow.out"
kill "$slow" 2>/dev/null
wait "$slow" 2>/dev/null
ok "the stalled connection is closed once its client leaves" wait_until no_conns

# A client that sends one byte at a time still gets its answer.
R=$(python3 - "$PORT" "$Q" <<'EOF'
import socket, struct, sys, time
port, q = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=30)
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
ok "the byte-at-a-time client left: the daemon holds no connection" wait_until no_conns

# ------------------------------------------------------------ connection cap
R=$($SENDRAW tcp-cap 127.0.0.1 "$PORT" $((CAP + 3)) www.lab.test)
diag "cap $CAP, $((CAP + 3)) connections: $R"
first=$(echo "$R" | cut -d' ' -f1-$CAP)
rest=$(echo "$R" | cut -d' ' -f$((CAP + 1))-)
is "$first" "$(printf 'A%.0s ' $(seq 1 $CAP) | sed 's/ $//')" "cap: the first $CAP connections are served"
unlike "$rest" 'A' "cap: connections beyond tcp-max-connections are not served"
ok "cap: the client closed them all, so did the daemon" wait_until no_conns
q www.lab.test A +tcp
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "cap: after they close, a new TCP connection is served"
q www.lab.test A
like "$Q_ANSWER" ' IN A 192\.0\.2\.1$' "cap: UDP unaffected"

ok "plinkfwd alive" plinkfwd_alive
unlike "$(cat "$PLINKFWD_LOG")" 'AddressSanitizer|runtime error|Segmentation' "no crash report in the log"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

done_testing
