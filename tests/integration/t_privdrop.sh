# t_privdrop.sh -- user: drops root after binding port 53: the process runs
# as that user with no capability left, still answers on port 53, its
# control socket and query log belong to the user, reload and log rotation
# keep working; a missing user, or a user: a non-root start cannot become,
# is fatal.
. "$(dirname "$0")/lib.sh"

CTL=${PLINKFWD_CTL:-$BUILDDIR/plinkfwd-ctl}
if [ "$(id -u)" != 0 ]; then
	skip "privilege drop" "needs root"
	done_testing
fi
if ! id nobody >/dev/null 2>&1; then
	skip "privilege drop" "no user nobody on this system"
	done_testing
fi
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

# the daemon must read its config as nobody after the drop (reload), and
# write its query log directory (rotation)
chmod 0755 "$T"
mkdir -p "$T/run" "$T/log"
chown nobody "$T/log"

conf() { # FILE PORT USER
	cat >"$1" <<EOF
server:
    listen: 127.0.0.1@$2
    workers: 2
    user: $3
    control-socket: $T/run/control.sock
    pidfile: $T/run/plinkfwd.pid
    query-log: $T/log/queries.log
zone: privatelink.openai.azure.com
    file: $SRCDIR/zones/privatelink.openai.azure.com.zone
EOF
	chmod 0644 "$1"
}

# status_field PID FIELD  the values of a /proc/PID/status line, blanks squeezed
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

conf "$T/plinkfwd.conf" 53 nobody
ok "plinkfwd starts as root with user: nobody on port 53" start_plinkfwd "$T/plinkfwd.conf"
PID=$PLINKFWD_PID
is "$(status_field "$PID" Uid | tr -s ' \t' ' ')" "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" \
	"real, effective, saved and fs uid are nobody's"
is "$(status_field "$PID" Gid | tr -s ' \t' ' ')" "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" \
	"every gid is nobody's group"
is "$(status_field "$PID" Groups | tr -s ' \t' ' ' | sed 's/ $//')" "$NOBODY_GID" "no supplementary group but its own"
is "$(status_field "$PID" CapEff)" 0000000000000000 "no effective capability left"
is "$(status_field "$PID" CapPrm)" 0000000000000000 "no permitted capability left"
for task in /proc/"$PID"/task/*; do
	tid=${task##*/}
	[ "$(status_field "$tid" Uid | awk '{print $2}')" = "$NOBODY_UID" ] || fail "thread $tid still has another uid"
done
pass "every thread runs as nobody"
like "$(cat "$PLINKFWD_LOG")" "running as user nobody \\(uid $NOBODY_UID" "the drop is logged"

Q_PORT=53 q contoso-foundry.privatelink.openai.azure.com A
like "$Q_ANSWER" 'IN A 10\.0\.1\.5$' "answers on port 53 after the drop"
# so-rcvbuf (default 1 MiB) is set as root, before the drop, whatever
# net.core.rmem_max says; Linux reports it doubled
rbs=$(ss -uamn 'sport = :53' | grep -o 'rb[0-9]*' | sort -u | tr '\n' ' ')
is "$rbs" "rb2097152 " "every UDP listening socket has the 1 MiB receive buffer of so-rcvbuf"
printf 'server:\n    so-rcvbuf: 2g\n' >"$T/big-rcvbuf.conf"
out=$("$PLINKFWD" -t -c "$T/big-rcvbuf.conf" 2>&1)
is "$?" 1 "-t: so-rcvbuf beyond 1g is an error"
like "$out" "so-rcvbuf: '2g' is larger than 1073741824 bytes" "...that says so"

is "$(stat -c %U "$T/run/control.sock")" nobody "control socket belongs to nobody"
is "$(stat -c %a "$T/run/control.sock")" 600 "control socket mode 0600"
ok "root can use the control socket" quiet "$CTL" -s "$T/run/control.sock" status
ok "nobody can use the control socket" quiet setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
	"$CTL" -s "$T/run/control.sock" status
is "$(stat -c %U "$T/log/queries.log")" nobody "query log belongs to nobody"
is "$(cat "$T/run/plinkfwd.pid")" "$PID" "pidfile written"

# reload and rotation run with the user's rights now
mark=$(log_mark)
sighup_plinkfwd
ok "SIGHUP reload after the drop" wait_log 'reloaded ' 5 "$mark"
mv "$T/log/queries.log" "$T/log/queries.log.1"
mark=$(log_mark)
kill -USR2 "$PID"
ok "query log reopened as nobody" wait_log 'query log .* reopened' 5 "$mark"
is "$(stat -c %U "$T/log/queries.log")" nobody "the new query log belongs to nobody"
stop_plinkfwd

# ------------------------------------------------------------ failures
conf "$T/nouser.conf" 53 no-such-user-plinkfwd
"$PLINKFWD" -f -c "$T/nouser.conf" >"$T/nouser.out" 2>&1
is "$?" 1 "an unknown user: is fatal"
like "$(cat "$T/nouser.out")" 'user: no-such-user-plinkfwd: no such user' "and says so"
ok "nothing left on port 53" sh -c "! ss -Hlnu 'sport = :53' | grep -q ."

# a non-root start cannot switch to another user: it must not run at all
conf "$T/other.conf" "$PORT" daemon
rm -f "$T/run/control.sock"
chown nobody "$T/run"
setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
	"$PLINKFWD" -f -c "$T/other.conf" >"$T/other.out" 2>&1
is "$?" 1 "started as nobody with user: daemon: exit 1"
like "$(cat "$T/other.out")" 'user: daemon: cannot switch to it: not started as root' "and says so"

# started as the user already (as systemd's User= does): nothing to drop
conf "$T/same.conf" "$PORT" nobody
# the first daemon, as nobody, could not remove root's pidfile from the
# root-owned run directory
rm -f "$T/run/control.sock" "$T/log/queries.log" "$T/run/plinkfwd.pid"
spawn plinkfwd setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
	"$PLINKFWD" -f -c "$T/same.conf"
PLINKFWD_PID=$LAST_PID
ok "started as nobody with user: nobody: serves" wait_dns 127.0.0.1 "$PORT" 5
q contoso-foundry.privatelink.openai.azure.com A
like "$Q_ANSWER" 'IN A 10\.0\.1\.5$' "and answers"
stop_plinkfwd

done_testing
