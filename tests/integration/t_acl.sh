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

# Non-loopback sources are needed to exercise "not loopback and not allowed".
# They are addresses of the benchmarking ranges (198.18.0.0/15, RFC 2544;
# 2001:2::/48, RFC 5180) put on lo *inside this private namespace*: the
# packets go from lo to lo and nothing can leave the namespace.
ip addr add 198.18.0.10/32 dev lo
ip addr add 198.18.0.11/32 dev lo
ip addr add 198.18.0.12/32 dev lo
ip addr add 198.19.0.7/32 dev lo
if [ "$HAVE_IPV6" = 1 ]; then
	ip -6 addr add 2001:2::10/128 dev lo nodad
	ip -6 addr add 2001:2::11/128 dev lo nodad
fi

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
from 198.18.0.10; is "$Q_STATUS" REFUSED "default: a non-loopback source is REFUSED"
from 198.18.0.10 +tcp; is "$Q_STATUS" REFUSED "default: a non-loopback source is REFUSED over TCP"
q www.lab.test A -b 198.18.0.10
is "$Q_ANCOUNT" 0 "REFUSED carries no answer"
if [ "$HAVE_IPV6" = 1 ]; then
	Q_SERVER=::1
	from ::1; is "$Q_STATUS" NOERROR "default: ::1 served"
	from 2001:2::10; is "$Q_STATUS" REFUSED "default: a non-loopback IPv6 source is REFUSED"
	Q_SERVER=127.0.0.1
else
	skip "default: ::1 served" "no IPv6"
	skip "default: non-loopback IPv6 REFUSED" "no IPv6"
fi
stop_plinkfwd

# ------------------------------------------------------------ allow / deny
cat >"$T/acl.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
    allow: 198.18.0.10/32        # one host
    allow: 198.18.0.0/24         # ... and its network,
    deny: 198.18.0.11/32         # except this host: deny beats allow
    allow: 198.18.0.12/32
    deny: 198.18.0.12            # same host in both lists: deny wins
    deny: 127.0.0.1/32          # loopback can be denied too
zone: lab.test
    file: $T/lab.test.zone
EOF
if [ "$HAVE_IPV6" = 1 ]; then
	sed -i "/^server:/a\\    listen: ::1@$PORT\\n    allow: 2001:2::/64\\n    deny: 2001:2::11/128\\n    deny: ::1" "$T/acl.conf"
fi
ok "plinkfwd starts (allow:/deny:)" start_plinkfwd "$T/acl.conf"
from 198.18.0.10; is "$Q_STATUS" NOERROR "allow /32: 198.18.0.10 served"
from 198.18.0.10 +tcp; is "$Q_STATUS" NOERROR "allow /32: 198.18.0.10 served over TCP"
from 198.18.0.11; is "$Q_STATUS" REFUSED "deny /32 inside an allowed /24: REFUSED"
from 198.18.0.11 +tcp; is "$Q_STATUS" REFUSED "deny /32 inside an allowed /24: REFUSED over TCP"
from 198.18.0.12; is "$Q_STATUS" REFUSED "same host allowed and denied: deny wins"
from 198.19.0.7; is "$Q_STATUS" REFUSED "source outside every allow: REFUSED"
from 127.0.0.1; is "$Q_STATUS" REFUSED "deny 127.0.0.1/32: 127.0.0.1 REFUSED"
from 127.0.0.1 +tcp; is "$Q_STATUS" REFUSED "deny 127.0.0.1/32: REFUSED over TCP"
from 127.0.0.2; is "$Q_STATUS" NOERROR "deny 127.0.0.1/32: 127.0.0.2 still served (implicit loopback)"
if [ "$HAVE_IPV6" = 1 ]; then
	Q_SERVER=::1
	from ::1; is "$Q_STATUS" REFUSED "deny ::1: REFUSED"
	from ::1 +tcp; is "$Q_STATUS" REFUSED "deny ::1: REFUSED over TCP"
	from 2001:2::10; is "$Q_STATUS" NOERROR "allow 2001:2::/64: served"
	from 2001:2::11; is "$Q_STATUS" REFUSED "deny 2001:2::11 inside the allowed /64: REFUSED"
	Q_SERVER=127.0.0.1
else
	for d in "deny ::1" "deny ::1 TCP" "allow v6 /64" "deny v6 /128"; do skip "$d" "no IPv6"; done
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
for i in $(seq 1 50); do
	from 127.0.0.2
	got=$Q_STATUS
	[ "$got" = REFUSED ] && break
	sleep 0.1
done
is "$got" REFUSED "after SIGHUP with a new deny: 127.0.0.2 REFUSED"
from 127.0.0.3; is "$Q_STATUS" NOERROR "after SIGHUP: 127.0.0.3 still served"
stop_plinkfwd

done_testing
