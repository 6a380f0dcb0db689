# t_querylog.sh -- the query log: one line per answer with client, name,
# type, rcode, source and latency, written by two workers; rotation by
# rename + SIGUSR2 (the new file gets the new lines, the old one nothing
# more, no descriptor left on the old file); errors at start-up.
. "$(dirname "$0")/lib.sh"

UPSTREAM=127.0.0.2@5301
QLOG=$T/log/queries.log
mkdir -p "$T/log"

cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.80
EOF

# lines FILE  number of lines (0 when the file is missing)
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# wait_lines FILE N  until FILE has at least N lines (the writers flush
# at least once a second; the wait is bounded by WAIT_FLOOR, not by that)
wait_lines() {
	local i
	for ((i = 0; i < WAIT_FLOOR * 10; i++)); do
		[ "$(lines "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	diag "$1 has $(lines "$1") lines, expected $2"
	return 1
}

ok "NSD upstream starts" start_nsd "$UPSTREAM" lab.test="$T/lab.test.zone"
cat >"$T/plinkfwd.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 2
    query-log: $QLOG
upstream: lab
    server: $UPSTREAM
forward: lab.test
    to: lab
zone: privatelink.openai.azure.com
    file: $SRCDIR/zones/privatelink.openai.azure.com.zone
EOF
ok "plinkfwd starts with query-log" start_plinkfwd "$T/plinkfwd.conf"
ok "the query log exists from the start" test -f "$QLOG"
is "$(stat -c %a "$QLOG")" 640 "the query log is created with mode 0640"
ok "start-up probe logged" wait_lines "$QLOG" 1
base=$(lines "$QLOG")

# ------------------------------------------------------------ line format
q contoso-foundry.privatelink.openai.azure.com A
q nothere.privatelink.openai.azure.com AAAA
q www.lab.test A
q contoso-foundry.privatelink.openai.azure.com TXT +tcp
q www.example.com A
ok "five answers, five lines" wait_lines "$QLOG" $((base + 5))
new=$(tail -n +$((base + 1)) "$QLOG")
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
CL='127\.0\.0\.1#[0-9]+'
like "$new" "^$TS $CL udp contoso-foundry\\.privatelink\\.openai\\.azure\\.com\\. A NOERROR local [0-9]+\$" "local answer line"
like "$new" "^$TS $CL udp nothere\\.privatelink\\.openai\\.azure\\.com\\. AAAA NXDOMAIN local [0-9]+\$" "NXDOMAIN line"
like "$new" "^$TS $CL udp www\\.lab\\.test\\. A NOERROR upstream:lab [0-9]+\$" "forwarded line names the group"
like "$new" "^$TS $CL tcp contoso-foundry\\.privatelink\\.openai\\.azure\\.com\\. TXT NOERROR local [0-9]+\$" "TCP line"
like "$new" "^$TS $CL udp www\\.example\\.com\\. A REFUSED error [0-9]+\$" "an error plinkfwd made itself"
is "$(printf '%s\n' "$new" | awk '{print NF}' | sort -u)" 8 "every line has 8 fields"
ok "every line ends with a newline" test "$(tail -c 1 "$QLOG" | od -An -c | tr -d ' ')" = '\n'

# ------------------------------------------------------------ rotation
# many source ports, so that both workers (SO_REUSEPORT) answer some
for i in $(seq 1 40); do q "h$i.privatelink.openai.azure.com" A; done
ok "40 more lines" wait_lines "$QLOG" $((base + 45))
before=$(lines "$QLOG")
mv "$QLOG" "$QLOG.1"
mark=$(log_mark)
kill -USR2 "$PLINKFWD_PID"
ok "SIGUSR2 logged" wait_log 'query log .* reopened' 5 "$mark"
ok "a new file exists right after SIGUSR2" test -f "$QLOG"
for i in $(seq 1 30); do q "r$i.privatelink.openai.azure.com" A; done
ok "30 lines in the new file" wait_lines "$QLOG" 30
is "$(lines "$QLOG")" 30 "the new file has exactly the new lines"
is "$(lines "$QLOG.1")" "$before" "the old file got nothing after the rotation"
like "$(cat "$QLOG")" 'r30\.privatelink\.openai\.azure\.com\. A NXDOMAIN local' "new lines are the new queries"
# every writer lets go of the old file at its next tick (once a second):
# wait for that event instead of sleeping past it
open_old() { ls -l /proc/"$PLINKFWD_PID"/fd 2>/dev/null | grep -c "queries.log.1"; }
no_open_old() { [ "$(open_old)" = 0 ]; }
ok "no descriptor left on the rotated file" wait_until no_open_old
ok "plinkfwd alive after the rotation" plinkfwd_alive

# a rotation that cannot reopen (a directory took the file's name): the
# error is logged and the old file keeps getting the lines
mv "$QLOG" "$QLOG.2"
mkdir "$QLOG"
mark=$(log_mark)
kill -USR2 "$PLINKFWD_PID"
ok "a failed reopen is reported" wait_log 'cannot reopen, still writing to the old file' 5 "$mark"
q contoso-foundry.privatelink.openai.azure.com A
ok "the line goes to the old file" wait_lines "$QLOG.2" 31
rmdir "$QLOG"
q contoso-foundry.privatelink.openai.azure.com A
ok "queries still answered" test "$Q_STATUS" = NOERROR

stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

# ------------------------------------------------------------ start-up errors
sed "s|query-log: .*|query-log: $T/nodir/queries.log|" "$T/plinkfwd.conf" >"$T/bad.conf"
"$PLINKFWD" -f -c "$T/bad.conf" >"$T/bad.out" 2>&1
is "$?" 1 "an unopenable query log stops the start-up"
like "$(cat "$T/bad.out")" "query log $T/nodir/queries\\.log: cannot open" "and says why"

grep -v query-log "$T/plinkfwd.conf" >"$T/nolog.conf"
ok "plinkfwd starts without a query log" start_plinkfwd "$T/nolog.conf"
mark=$(log_mark)
kill -USR2 "$PLINKFWD_PID"
ok "SIGUSR2 without a query log is only logged" wait_log 'no query-log configured' 5 "$mark"
ok "and the daemon goes on" plinkfwd_alive

done_testing
