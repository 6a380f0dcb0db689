# t_acl.sh -- allow:/deny: lists.  Policy: a source matched by a deny: entry
# is REFUSED; otherwise it is served when an allow: entry matches or when it
# is a loopback address (127.0.0.0/8, ::1).  Everything else is REFUSED.
. "$(dirname "$0")/lib.sh"

cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.1
EOF

# Every source here is a loopback address (127.0.0.0/8, ::1): no test sends
# from or to anything else.  "Not loopback and not allowed -> REFUSED" is
# covered by tests/unit/test_acl.c, which checks acl_allowed() on addresses
# without sending packets.

# from SRC [dig-args]  ask for www.lab.test from source address SRC (sets Q_*)
from() {
	local src=$1
	shift
	q www.lab.test A -b "$src" "$@"
}

# ------------------------------------------------------------ defaults
cat >"$T/default.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
zone: lab.test
    file: $T/lab.test.zone
EOF
[ "$HAVE_IPV6" = 1 ] && sed -i "/^server:/a\\    listen: ::1@$PORT" "$T/default.conf"
ok "plinkfwd starts (no allow:/deny:)" start_plinkfwd "$T/default.conf"
from 127.0.0.1; is "$Q_STATUS" NOERROR "default: 127.0.0.1 served"
ok "default: the answer is the zone's" test "$Q_ANSWER" = "www.lab.test. 300 IN A 192.0.2.1"
from 127.0.0.2; is "$Q_STATUS" NOERROR "default: 127.0.0.2 served (all of 127/8)"
from 127.255.0.9; is "$Q_STATUS" NOERROR "default: 127.255.0.9 served"
if [ "$HAVE_IPV6" = 1 ]; then
	Q_SERVER=::1
	from ::1; is "$Q_STATUS" NOERROR "default: ::1 served"
	Q_SERVER=127.0.0.1
else
	skip "default: ::1 served" "no IPv6"
fi
stop_plinkfwd

# ------------------------------------------------------------ allow / deny
mkdir -p "$T/run"
cat >"$T/acl.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
    deny: 127.0.1.0/24           # a loopback network denied,
    allow: 127.0.1.10/32         # a host inside it allowed too: deny beats allow
    allow: 127.0.2.12/32
    deny: 127.0.2.12             # same host in both lists: deny wins
    deny: 127.0.0.1/32           # loopback can be denied host by host
    control-socket: $T/run/control.sock
zone: lab.test
    file: $T/lab.test.zone
EOF
if [ "$HAVE_IPV6" = 1 ]; then
	sed -i "/^server:/a\\    listen: ::1@$PORT\\n    deny: ::1" "$T/acl.conf"
fi
ok "plinkfwd starts (allow:/deny:)" start_plinkfwd "$T/acl.conf"
from 127.0.1.10; is "$Q_STATUS" REFUSED "allow /32 inside a denied /24: deny wins"
# TCP: a denied source is closed at accept, before it can take a slot
# (docs/bad-input.md), so it sees no reply at all; the counter proves why
from 127.0.1.10 +tcp; is "$Q_STATUS" NOREPLY "allow /32 inside a denied /24: TCP closed at accept"
is "$(ctl_stat tcp_closed.denied)" 1 "...counted tcp_closed.denied"
q www.lab.test A -b 127.0.1.10
is "$Q_ANCOUNT" 0 "REFUSED carries no answer"
from 127.0.1.200; is "$Q_STATUS" REFUSED "deny /24: another host of it REFUSED"
from 127.0.2.12; is "$Q_STATUS" REFUSED "same host allowed and denied: deny wins"
from 127.0.2.13; is "$Q_STATUS" NOERROR "next host, in no list: served (loopback)"
from 127.0.2.13 +tcp; is "$Q_STATUS" NOERROR "next host served over TCP"
from 127.0.0.1; is "$Q_STATUS" REFUSED "deny 127.0.0.1/32: 127.0.0.1 REFUSED"
from 127.0.0.1 +tcp; is "$Q_STATUS" NOREPLY "deny 127.0.0.1/32: TCP closed at accept"
from 127.0.0.2; is "$Q_STATUS" NOERROR "deny 127.0.0.1/32: 127.0.0.2 still served (implicit loopback)"
if [ "$HAVE_IPV6" = 1 ]; then
	Q_SERVER=::1
	from ::1; is "$Q_STATUS" REFUSED "deny ::1: REFUSED"
	from ::1 +tcp; is "$Q_STATUS" NOREPLY "deny ::1: TCP closed at accept"
	Q_SERVER=127.0.0.1
else
	for d in "deny ::1" "deny ::1 TCP"; do skip "$d" "no IPv6"; done
fi
ok "plinkfwd alive" plinkfwd_alive
stop_plinkfwd

# ------------------------------------------------------------ wide deny
cat >"$T/denyall.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
    deny: 0.0.0.0/0
    allow: 127.0.0.0/8
zone: lab.test
    file: $T/lab.test.zone
EOF
ok "plinkfwd starts (deny 0.0.0.0/0)" start_plinkfwd "$T/denyall.conf"
from 127.0.0.2; is "$Q_STATUS" REFUSED "deny 0.0.0.0/0 beats allow 127.0.0.0/8"
stop_plinkfwd

# ------------------------------------------------------------ ACL follows a reload
cp "$T/default.conf" "$T/live.conf"
ok "plinkfwd starts (live config)" start_plinkfwd "$T/live.conf"
from 127.0.0.2; is "$Q_STATUS" NOERROR "before reload: 127.0.0.2 served"
sed -i "/^server:/a\\    deny: 127.0.0.2/32" "$T/live.conf"
sighup_plinkfwd
got=
for i in $(seq 1 $((WAIT_FLOOR * 10))); do
	from 127.0.0.2
	got=$Q_STATUS
	[ "$got" = REFUSED ] && break
	sleep 0.1
done
is "$got" REFUSED "after SIGHUP with a new deny: 127.0.0.2 REFUSED"
from 127.0.0.3; is "$Q_STATUS" NOERROR "after SIGHUP: 127.0.0.3 still served"
stop_plinkfwd

done_testing
