# t_fault_clients.sh -- the fault matrix, client side (docs/bad-input.md):
# hostile TCP clients must not take the service away from allowed ones.
# Every case ends with a correct query getting a correct answer, and the
# assertions are on events: the daemon's own counters of what it closed and
# why, and what the hostile client saw -- never on how long anything took.
. "$(dirname "$0")/lib.sh"

ABUSE="python3 $LIBDIR/tcpabuse.py"
CTL=${PLINKFWD_CTL:-$BUILDDIR/plinkfwd-ctl}
IDLE_MS=60000   # first: idle connections stay while the limits are counted

cat >"$T/lab.test.zone" <<'ZONE'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.1
ZONE
# one worker: the connection limits below are then the whole limits
cat >"$T/plinkfwd.conf" <<CONF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    deny: 127.0.0.9/32
    control-socket: $T/control.sock
    tcp-idle-timeout: $IDLE_MS
    tcp-max-connections: 16
    tcp-max-connections-per-client: 4
zone: lab.test
    file: $T/lab.test.zone
CONF
ok "plinkfwd starts" start_plinkfwd "$T/plinkfwd.conf"

counter() { "$CTL" -s "$T/control.sock" stats | awk -v k="$1" '$1 == k { print $2 }'; }
# wait_counter KEY MIN  -- until the counter reaches MIN (bounded wait, not an assertion)
wait_counter() {
	local i
	for i in $(seq 1 200); do
		[ "$(counter "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
tcp_ok() { # a correct TCP query from an allowed client gets the correct answer
	local r
	r=$(dig @127.0.0.1 -p "$PORT" +tcp +time=5 +tries=1 +short www.lab.test A 2>&1)
	[ "$r" = 192.0.2.1 ]
}

# ------------------------------------------------------------ denied sources get no slot
spawn squat-denied $ABUSE squat 127.0.0.9 127.0.0.1 "$PORT" 300 30
ok "300 connections from a denied address are closed at accept" wait_counter tcp_closed.denied 300
is "$(counter tcp_closed.denied)" 300 "...each counted once as denied"
is "$(counter tcp_closed.over_limit)" 0 "...none of them took a slot or hit a limit"
ok "an allowed client still gets a TCP answer" tcp_ok

# ------------------------------------------------------------ per-client limit
spawn squat-one $ABUSE squat 127.0.0.5 127.0.0.1 "$PORT" 10 30
ok "10 connections from one address: 6 over the per-client limit of 4" wait_counter tcp_closed.over_limit 6
is "$(counter tcp_closed.over_limit)" 6 "...exactly 6 closed, 4 held"
ok "another allowed client still gets a TCP answer" tcp_ok
spawn squat-two $ABUSE squat 127.0.0.6 127.0.0.1 "$PORT" 4 30
spawn squat-three $ABUSE squat 127.0.0.7 127.0.0.1 "$PORT" 4 30
ok "two more addresses hold 4 each" wait_counter tcp_connections 12
is "$(counter tcp_connections)" 12 "...12 of 16 slots held, 4 per address"
ok "...and a fourth address still gets a TCP answer" tcp_ok

# ------------------------------------------------------------ 1,000 idle connections (slowloris)
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PLINKFWD_PID/status"; }
fds() { ls "/proc/$PLINKFWD_PID/fd" | wc -l; }
stop_plinkfwd
ok "plinkfwd restarts (every slot free)" start_plinkfwd "$T/plinkfwd.conf"
rss0=$(rss)
fd0=$(fds)
for a in 21 22 23 24 25 26 27 28 29 30; do
	spawn squat-$a $ABUSE squat 127.0.0.$a 127.0.0.1 "$PORT" 100 30
done
ok "1,000 idle connections from 10 addresses: all but 16 closed at once" wait_counter tcp_closed.over_limit 984
is "$(counter tcp_closed.over_limit)" 984 "...exactly 984 over the limits"
is "$(counter tcp_connections)" 16 "...16 slots held, the cap"
r=$(dig @127.0.0.1 -p "$PORT" +time=5 +tries=1 +short www.lab.test A 2>&1)
is "$r" 192.0.2.1 "UDP service is untouched meanwhile"
ok "memory bounded: RSS grew less than 16 MB ($rss0 -> $(rss) kB)" test $(($(rss) - rss0)) -lt 16384
ok "file descriptors bounded: 16 connections more at most ($fd0 -> $(fds))" test "$(fds)" -le $((fd0 + 16))
stop_plinkfwd
ok "plinkfwd restarts" start_plinkfwd "$T/plinkfwd.conf"

# ------------------------------------------------------------ 200 pipelined queries and a half-close
R=$($ABUSE halfclose 127.0.0.1 "$PORT" 200 www.lab.test)
is "$R" "answered=200 ids=ok" "200 pipelined queries then a half-close: 200 answers, then the close"

# ------------------------------------------------------------ a reset in the middle of a message
is "$($ABUSE reset 127.0.0.1 "$PORT")" reset "a client resets in the middle of a message"
ok "...plinkfwd answers the next TCP client" tcp_ok

# ------------------------------------------------------------ a drip cannot extend a message
stop_plinkfwd
IDLE_MS=1500
sed -i "s/tcp-idle-timeout: .*/tcp-idle-timeout: $IDLE_MS/" "$T/plinkfwd.conf"
ok "plinkfwd restarts with tcp-idle-timeout $IDLE_MS" start_plinkfwd "$T/plinkfwd.conf"
# one byte every 0.5 s keeps the idle timer (1.5 s) from ever firing; the
# message deadline closes the connection before the query is complete
R=$($ABUSE drip 127.0.0.1 "$PORT" www.lab.test 0.5 60)
like "$R" '^closed after [0-9]+ of 32 bytes$' "drip: closed before the message was complete ($R)"
is "$(counter tcp_closed.deadline)" 1 "drip: counted as a message deadline"
ok "after the drip an allowed client gets a TCP answer" tcp_ok

# ------------------------------------------------------------ 65,535-byte prefix, then a stall
d0=$(counter tcp_closed.deadline)
R=$(python3 "$LIBDIR/sendraw.py" tcp-hold 127.0.0.1 "$PORT" "ffff 0102030405060708090a" 60)
like "$R" '^closed' "a 65,535-byte length prefix and a stall: closed"
is "$(counter tcp_closed.deadline)" $((d0 + 1)) "...by the message deadline"
ok "plinkfwd still answers over TCP" tcp_ok
ok "plinkfwd still runs" plinkfwd_alive
done_testing
