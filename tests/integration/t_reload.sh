# t_reload.sh -- plinkfwd -t, and SIGHUP reload: a good config takes effect,
# a bad config or zone file is reported with file:line and the old state keeps
# serving, and no query in flight is lost while reloading.
. "$(dirname "$0")/lib.sh"

UPSTREAM=127.0.0.3@5301

write_lab_zone() { # SERIAL WWW-ADDRESS [EXTRA-LINE]
	cat >"$T/lab.test.zone" <<EOF
\$ORIGIN lab.test.
\$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. $1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    $2
*.wild  IN A    192.0.2.50
${3:-}
EOF
}
write_lab_zone 1 192.0.2.1

cat >"$T/two.test.zone" <<'EOF'
$ORIGIN two.test.
$TTL 300
@       IN SOA  ns.two.test. hostmaster.two.test. 1 3600 600 86400 60
@       IN NS   ns.lab.test.
www     IN A    192.0.2.222
EOF

cat >"$T/up.test.zone" <<'EOF'
$ORIGIN up.test.
$TTL 300
@       IN SOA  ns.up.test. hostmaster.up.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    198.51.100.10
*.any   IN A    198.51.100.20
EOF

good_conf() { # FILE [with-two]
	cat >"$1" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 2
    cloud: none
    upstream-max-qps: 0     # the dnsperf runs below are not about the upstream cap
upstream: default
    server: $UPSTREAM
zone: lab.test
    file: $T/lab.test.zone
EOF
	if [ "${2:-}" = with-two ]; then
		printf 'zone: two.test\n    file: %s\n' "$T/two.test.zone" >>"$1"
	fi
}

# ------------------------------------------------------------ plinkfwd -t
good_conf "$T/good.conf"
"$PLINKFWD" -t -c "$T/good.conf" >"$T/t-good.out" 2>&1
is "$?" 0 "-t on a good config: exit 0"

# Line 4 carries the error.
cat >"$T/bad.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
    workers: many
zone: lab.test
    file: $T/lab.test.zone
EOF
"$PLINKFWD" -t -c "$T/bad.conf" >"$T/t-bad.out" 2>"$T/t-bad.err"
is "$?" 1 "-t on a bad value: exit 1"
like "$(cat "$T/t-bad.err")" "bad\\.conf:4:" "-t on a bad value: stderr names bad.conf:4:"

cat >"$T/bad2.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    no-such-key: 1
EOF
"$PLINKFWD" -t -c "$T/bad2.conf" >/dev/null 2>"$T/t-bad2.err"
is "$?" 1 "-t on an unknown key: exit 1"
like "$(cat "$T/t-bad2.err")" "bad2\\.conf:3:" "-t on an unknown key: stderr names bad2.conf:3:"

# A zone file broken on line 7 (a record with an unparsable address).
cp "$T/lab.test.zone" "$T/broken.zone"
sed -i '7s/.*/broken  IN A    999.1.2.3/' "$T/broken.zone"
cat >"$T/badzone.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
zone: lab.test
    file: $T/broken.zone
EOF
"$PLINKFWD" -t -c "$T/badzone.conf" >/dev/null 2>"$T/t-badzone.err"
is "$?" 1 "-t on a broken zone file: exit 1"
like "$(cat "$T/t-badzone.err")" "broken\\.zone:7:" "-t on a broken zone file: stderr names broken.zone:7:"

cat >"$T/missingzone.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
zone: lab.test
    file: $T/does-not-exist.zone
EOF
"$PLINKFWD" -t -c "$T/missingzone.conf" >/dev/null 2>"$T/t-missing.err"
is "$?" 1 "-t on a missing zone file: exit 1"
like "$(cat "$T/t-missing.err")" "missingzone\\.conf:5:|does-not-exist\\.zone" "-t on a missing zone file: says which"

# ------------------------------------------------------------ SIGHUP with a good config
ok "NSD upstream starts" start_nsd "$UPSTREAM" up.test="$T/up.test.zone"
good_conf "$T/live.conf"
ok "plinkfwd starts" start_plinkfwd "$T/live.conf"
q www.lab.test A
is "$Q_ANSWER" "www.lab.test. 300 IN A 192.0.2.1" "before reload: the first answer"
q www.up.test A
like "$Q_ANSWER" '^www\.up\.test\. [0-9]+ IN A 198\.51\.100\.10$' "before reload: forwarded answer"
q www.two.test A
unlike "$Q_ANSWER" '192\.0\.2\.222' "before reload: two.test is not served locally"

# wait_answer NAME TYPE WANT  poll (at most WAIT_FLOOR x 10 tries) until the single answer line is WANT
wait_answer() {
	local i
	for i in $(seq 1 $((WAIT_FLOOR * 10))); do
		q "$1" "$2"
		[ "$Q_ANSWER" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

write_lab_zone 2 192.0.2.2 "new     IN A    192.0.2.77"
good_conf "$T/live.conf" with-two
mark=$(log_mark)
sighup_plinkfwd
ok "after SIGHUP: the changed record is served" wait_answer www.lab.test A "www.lab.test. 300 IN A 192.0.2.2"
q new.lab.test A
is "$Q_ANSWER" "new.lab.test. 300 IN A 192.0.2.77" "after SIGHUP: the added record is served"
q lab.test SOA
like "$Q_ANSWER" ' SOA ns\.lab\.test\. hostmaster\.lab\.test\. 2 ' "after SIGHUP: the new serial"
q www.two.test A
is "$Q_ANSWER" "www.two.test. 300 IN A 192.0.2.222" "after SIGHUP: a zone added to the config is served"
ok "after SIGHUP: AA on the new zone" q_flag aa
ok "plinkfwd alive after the good reload" plinkfwd_alive

# ------------------------------------------------------------ SIGHUP with a bad config
cp "$T/live.conf" "$T/live.good"
cat >"$T/live.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 2
    cloud: none
    allow: 192.0.2.0/33
zone: lab.test
    file: $T/lab.test.zone
EOF
write_lab_zone 3 192.0.2.3
mark=$(log_mark)
sighup_plinkfwd
ok "bad config on SIGHUP: the log names live.conf:5:" wait_log 'live\.conf:5:' 5 "$mark"
sleep 0.3
ok "bad config on SIGHUP: plinkfwd still running" plinkfwd_alive
q www.lab.test A
is "$Q_ANSWER" "www.lab.test. 300 IN A 192.0.2.2" "bad config on SIGHUP: the old zone data still served"
q www.two.test A
is "$Q_ANSWER" "www.two.test. 300 IN A 192.0.2.222" "bad config on SIGHUP: the old zone list still served"
q www.up.test A
like "$Q_ANSWER" '198\.51\.100\.10$' "bad config on SIGHUP: forwarding still works"

# ------------------------------------------------------------ SIGHUP with a broken zone file
cp "$T/live.good" "$T/live.conf"
write_lab_zone 4 192.0.2.4
sed -i '6s/.*/www     IN A    192.0.2/' "$T/lab.test.zone"
mark=$(log_mark)
sighup_plinkfwd
ok "broken zone on SIGHUP: the log names lab.test.zone:6:" wait_log 'lab\.test\.zone:6:' 5 "$mark"
sleep 0.3
ok "broken zone on SIGHUP: plinkfwd still running" plinkfwd_alive
q www.lab.test A
is "$Q_ANSWER" "www.lab.test. 300 IN A 192.0.2.2" "broken zone on SIGHUP: the last good data still served"

# ------------------------------------------------------------ and back to good
write_lab_zone 5 192.0.2.5
sighup_plinkfwd
ok "fixed zone on SIGHUP: new data served" wait_answer www.lab.test A "www.lab.test. 300 IN A 192.0.2.5"

# ------------------------------------------------------------ nothing lost in flight
cat >"$T/queries" <<'EOF'
www.lab.test A
new.lab.test A
x.wild.lab.test A
nope.lab.test A
lab.test SOA
www.two.test A
www.up.test A
a.any.up.test A
nothere.up.test A
EOF
write_lab_zone 6 192.0.2.6 "new     IN A    192.0.2.77"

# run_with_reloads MODE  dnsperf for 3 s at up to 2000 qps while SIGHUPs arrive
# every 0.2 s.  What counts is that no query is lost and none fails, not how
# many a busy machine gets through (-t 5: how long dnsperf waits before it
# calls a query lost, a bound).
run_with_reloads() {
	dnsperf -m "$1" -s 127.0.0.1 -p "$PORT" -d "$T/queries" -l 3 -c 4 -Q 2000 -t 5 \
		>"$T/dnsperf-$1.out" 2>&1 &
	local perf=$! i
	sleep 0.3
	for i in $(seq 1 12); do
		sighup_plinkfwd
		sleep 0.2
	done
	wait "$perf"
}
run_with_reloads udp
out=$(cat "$T/dnsperf-udp.out")
completed=$(printf '%s\n' "$out" | sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p')
lost=$(printf '%s\n' "$out" | sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p')
ok "UDP under 12 reloads: dnsperf completed queries ($completed)" test "${completed:-0}" -ge 1
is "$lost" 0 "UDP under 12 reloads: Queries lost: 0"
like "$out" 'NOERROR [0-9]+' "UDP under reloads: answers are NOERROR..."
unlike "$out" 'SERVFAIL|REFUSED' "UDP under reloads: ...with no SERVFAIL or REFUSED"

run_with_reloads tcp
out=$(cat "$T/dnsperf-tcp.out")
completed=$(printf '%s\n' "$out" | sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p')
lost=$(printf '%s\n' "$out" | sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p')
ok "TCP under 12 reloads: dnsperf completed queries ($completed)" test "${completed:-0}" -ge 1
is "$lost" 0 "TCP under 12 reloads: Queries lost: 0"
unlike "$out" 'SERVFAIL|REFUSED' "TCP under reloads: no SERVFAIL or REFUSED"

# A TCP connection opened before a reload keeps working after it.
R=$(PYTHONDONTWRITEBYTECODE=1 LIBDIR=$LIBDIR PLINKFWD_PID=$PLINKFWD_PID python3 - "$PORT" <<'EOF'
import socket, struct, sys, os, signal, time
port = int(sys.argv[1])
sys.path.insert(0, os.environ["LIBDIR"])
from sendraw import build_query, recv_msg
s = socket.create_connection(("127.0.0.1", port), timeout=10)
res = []
for i in range(2):
    m = build_query("www.lab.test", "A", 500 + i)
    s.sendall(struct.pack(">H", len(m)) + m)
    r = recv_msg(s, time.time() + 10)
    res.append("ok" if r is not None and struct.unpack(">H", r[:2])[0] == 500 + i else "lost")
    if i == 0:
        os.kill(int(os.environ["PLINKFWD_PID"]), signal.SIGHUP)
        time.sleep(0.5)
print(" ".join(res))
EOF
)
is "$R" "ok ok" "a TCP connection survives a reload between two queries"
ok "plinkfwd alive after all reloads" plinkfwd_alive
unlike "$(cat "$PLINKFWD_LOG")" 'AddressSanitizer|runtime error|Segmentation' "no crash report in the log"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit after reloads"

done_testing
