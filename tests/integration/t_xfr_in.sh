#!/bin/bash
# t_xfr_in.sh -- secondary zones: plinkfwd transferring zones from primaries.
#
# Knot (knotd) is the primary of sec.test: the first transfer is an AXFR, a
# change of its zone file with knotc zone-reload gives a real IXFR out of
# Knot's journal, and Knot's NOTIFY starts the check.  A scripted primary
# (xfr_in_primary.py) of bad.test produces the transfers that must be
# rejected -- truncated, no closing SOA, a serial that went backwards, a
# record outside the zone, a wrong question, an error rcode -- while the last
# good copy keeps serving; it also plays the primary of exp.test, whose
# short SOA expire makes the copy expire once the primary is gone.
# Everything is asserted on answers, counters and log lines, never on time.
. "$(dirname "$0")/lib.sh"

command -v knotd >/dev/null || { echo "1..0 # SKIP knotd not installed"; exit 0; }

KN=127.0.0.2
KP=5301
BAD=127.0.0.3
BP=5301
EXP=127.0.0.4
mkdir -p "$T/state" "$T/run" "$T/knot"

# ---------------------------------------------------------------- Knot, the primary of sec.test
sec_zone() { # SERIAL WWW-ADDR [EXTRA-RR]
	cat >"$T/knot/sec.test.zone" <<EOF
\$ORIGIN sec.test.
\$TTL 300
@    IN SOA ns.sec.test. hostmaster.sec.test. $1 3600 600 1209600 60
@    IN NS  ns
ns   IN A   192.0.2.53
www  IN A   $2
$3
EOF
}
sec_zone 1 192.0.2.1
# tsig.test: the same primary, transfers and NOTIFY signed with xfr.test.
# (hmac-sha256); refresh 1 s so that a changed key is tried soon
tsig_zone() { # SERIAL WWW-ADDR
	cat >"$T/knot/tsig.test.zone" <<EOF
\$ORIGIN tsig.test.
\$TTL 300
@    IN SOA ns.tsig.test. hostmaster.tsig.test. $1 1 1 1209600 60
@    IN NS  ns
ns   IN A   192.0.2.53
www  IN A   $2
EOF
}
tsig_zone 1 192.0.2.31
SECRET=$(openssl rand -base64 32)
printf '%s\n' "$SECRET" >"$T/xfr.key"
cat >"$T/knot/knot.conf" <<EOF
server:
    rundir: "$T/knot"
    listen: $KN@$KP
log:
  - target: stderr
    any: info
database:
    storage: "$T/knot"
key:
  - id: xfr.test
    algorithm: hmac-sha256
    secret: $SECRET
remote:
  - id: plinkfwd
    address: 127.0.0.1@$PORT
    via: $KN
  - id: plinkfwd-tsig
    address: 127.0.0.1@$PORT
    via: $KN
    key: xfr.test
acl:
  - id: transfer
    address: 127.0.0.0/8
    action: transfer
  - id: transfer-tsig
    address: 127.0.0.0/8
    key: xfr.test
    action: transfer
template:
  - id: default
    storage: "$T/knot"
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    semantic-checks: off
    notify: plinkfwd
    acl: transfer
zone:
  - domain: sec.test
    file: "$T/knot/sec.test.zone"
  - domain: tsig.test
    file: "$T/knot/tsig.test.zone"
    notify: plinkfwd-tsig
    acl: transfer-tsig
EOF
spawn knot knotd -c "$T/knot/knot.conf"
KNOT_PID=$LAST_PID
ok "knotd starts" wait_dns "$KN" "$KP" 5

# ---------------------------------------------------------------- the scripted primary of bad.test
echo "good 10" >"$T/bad.mode"
spawn badprimary python3 "$LIBDIR/xfr_in_primary.py" "$BAD" "$BP" bad.test "$T/bad.mode" "$T/bad-queries.log"
ok "the scripted primary listens" wait_until bash -c "exec 3<>/dev/tcp/$BAD/$BP"

cat >"$T/xfr.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
    state-dir: $T/state
    control-socket: $T/run/control.sock
    http-listen: 127.0.0.1@$((PORT + 1000))
zone: sec.test
    primary: $KN@$KP
zone: bad.test
    primary: $BAD@$BP
key: xfr.test
    algorithm: hmac-sha256
    secret-file: $T/xfr.key
zone: tsig.test
    primary: $KN@$KP key xfr.test
EOF
ok "the configuration checks" quiet "$PLINKFWD" -t -c "$T/xfr.conf"

m() { metric_value "$1"; }
# m_ge 'NAME{LABELS}' N  the sample is at least N (for wait_until)
m_ge() { local v; v=$(metric_value "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
ok "plinkfwd starts" start_plinkfwd "$T/xfr.conf"

# ---------------------------------------------------------------- AXFR from Knot
ok "sec.test: the first copy comes by AXFR" wait_log 'xfr: zone sec\.test\.: serial 1 by AXFR from 127\.0\.0\.2@5301' 10
q www.sec.test A
is "$Q_STATUS" NOERROR "www.sec.test answered"
ok "authoritative" q_flag aa
like "$Q_ANSWER" '^www\.sec\.test\. 300 IN A 192\.0\.2\.1$' "the primary's record"
q nope.sec.test A
is "$Q_STATUS" NXDOMAIN "a name the primary does not have: NXDOMAIN"
like "$Q_AUTHORITY" 'sec\.test\. 60 IN SOA ns\.sec\.test\. hostmaster\.sec\.test\. 1 ' "with the zone's SOA"
is "$(m 'plinkfwd_secondary_transfers_total{zone="sec.test.",type="axfr"}')" 1 "one AXFR counted"
is "$(m 'plinkfwd_secondary_zone_serial{zone="sec.test."}')" 1 "/metrics: serial 1"
curl -sS --max-time "$WAIT_FLOOR" "http://127.0.0.1:$((PORT + 1000))/metrics" >"$T/metrics.txt" 2>/dev/null
if command -v promtool >/dev/null 2>&1; then
	out=$(promtool check metrics <"$T/metrics.txt" 2>&1)
	is "$?:$out" "0:" "promtool check metrics: the secondary zone families pass"
else
	skip "promtool check metrics" "promtool not installed (Debian package prometheus)"
fi
ok "the copy is saved in state-dir" grep -q '^www\.sec\.test\.[[:space:]].*192\.0\.2\.1' "$T/state/sec.test.secondary.zone"
ZJ=$("$CTL" -s "$T/run/control.sock" -j zones 2>/dev/null)
like "$ZJ" '"name":[[:space:]]*"sec\.test\."' "plinkfwd-ctl -j zones lists sec.test"
like "$ZJ" '"source":[[:space:]]*"secondary"' "... as a secondary zone"
like "$ZJ" '"expires_in_s":[[:space:]]*[0-9]' "... with its time to expiry"
like "$("$CTL" -s "$T/run/control.sock" zones 2>/dev/null)" 'sec\.test\..*secondary' "plinkfwd-ctl zones shows it"

# ---------------------------------------------------------------- IXFR out of Knot's journal, started by NOTIFY
MARK=$(log_mark)
sec_zone 2 192.0.2.2 "new  IN A   192.0.2.7"
ok "knotc zone-reload" quiet knotc -c "$T/knot/knot.conf" zone-reload sec.test
ok "Knot's NOTIFY starts a check" wait_log 'xfr: zone sec\.test\.: NOTIFY from a primary' 10 "$MARK"
ok "serial 2 comes by IXFR" wait_log 'xfr: zone sec\.test\.: serial 1 -> 2 by IXFR' 10 "$MARK"
q www.sec.test A
like "$Q_ANSWER" '^www\.sec\.test\. 300 IN A 192\.0\.2\.2$' "the changed record"
q new.sec.test A
like "$Q_ANSWER" '^new\.sec\.test\. 300 IN A 192\.0\.2\.7$' "the added record"
is "$(m 'plinkfwd_secondary_transfers_total{zone="sec.test.",type="ixfr"}')" 1 "one IXFR counted"
ok "NOTIFY counted" m_ge 'plinkfwd_secondary_notifies_total{zone="sec.test."}' 1
ok "the saved copy follows" grep -q '^new\.sec\.test\.' "$T/state/sec.test.secondary.zone"

# ---------------------------------------------------------------- NOTIFY: only from a primary
dig @127.0.0.1 -p "$PORT" -b 127.0.0.9 +opcode=notify +norec +time=5 +tries=1 sec.test SOA >"$T/notify-other.txt" 2>&1
like "$(cat "$T/notify-other.txt")" 'status: REFUSED' "a NOTIFY from an address that is no primary: REFUSED"
ok "... logged" wait_log 'NOTIFY for sec\.test\. from 127\.0\.0\.9 refused' 5
MARK=$(log_mark)
dig @127.0.0.1 -p "$PORT" -b "$KN" +opcode=notify +norec +time=5 +tries=1 sec.test SOA >"$T/notify-primary.txt" 2>&1
like "$(cat "$T/notify-primary.txt")" 'opcode: NOTIFY, status: NOERROR' "a NOTIFY from the primary: NOERROR"
like "$(cat "$T/notify-primary.txt")" 'flags: qr aa' "... authoritative, a response"
ok "... and a check follows" wait_log 'xfr: zone sec\.test\.: NOTIFY from a primary, checking now' 5 "$MARK"
ok "... which finds the copy current" wait_until m_ge 'plinkfwd_secondary_checks_total{zone="sec.test.",result="uptodate"}' 1

# ---------------------------------------------------------------- TSIG
ok "tsig.test: transferred with the key" wait_log 'xfr: zone tsig\.test\.: serial 1 by AXFR' 10
q www.tsig.test A
like "$Q_ANSWER" '^www\.tsig\.test\. 300 IN A 192\.0\.2\.31$' "tsig.test serves"
MARK=$(log_mark)
tsig_zone 2 192.0.2.32
ok "knotc zone-reload tsig.test" quiet knotc -c "$T/knot/knot.conf" zone-reload tsig.test
ok "Knot's signed NOTIFY is accepted" wait_log 'xfr: zone tsig\.test\.: NOTIFY from a primary' 10 "$MARK"
ok "serial 2 by IXFR, every message verified" wait_log 'xfr: zone tsig\.test\.: serial 1 -> 2 by IXFR' 10 "$MARK"
dig @127.0.0.1 -p "$PORT" -b "$KN" +opcode=notify +norec +time=5 +tries=1 tsig.test SOA >"$T/notify-unsigned.txt" 2>&1
like "$(cat "$T/notify-unsigned.txt")" 'status: REFUSED' "an unsigned NOTIFY for a zone with a key: REFUSED"
q www.tsig.test A
like "$Q_ANSWER" 'IN A 192\.0\.2\.32$' "tsig.test serves serial 2"
# a wrong secret under the same key name: the primary's answers no longer verify
MARK=$(log_mark)
openssl rand -base64 32 >"$T/xfr.key"
sighup_plinkfwd
ok "with a wrong key the transfer is rejected" wait_log 'xfr: zone tsig\.test\.: SOA answer from 127\.0\.0\.2@5301 rejected \(tsig\).*serial 2 keeps serving' 15 "$MARK"
ok "... counted" wait_until m_ge 'plinkfwd_secondary_rejected_total{zone="tsig.test.",reason="tsig"}' 1
q www.tsig.test A
like "$Q_ANSWER" 'IN A 192\.0\.2\.32$' "the old data keeps serving"
before=$(m 'plinkfwd_secondary_checks_total{zone="tsig.test.",result="uptodate"}')
printf '%s\n' "$SECRET" >"$T/xfr.key"
sighup_plinkfwd
ok "the right key again: checks succeed" wait_until m_ge 'plinkfwd_secondary_checks_total{zone="tsig.test.",result="uptodate"}' $((before + 1))

# ---------------------------------------------------------------- bad transfers keep the good copy
ok "bad.test: the good copy, serial 10" wait_log 'xfr: zone bad\.test\.: serial 10 by AXFR' 10
q www.bad.test A
like "$Q_ANSWER" 'IN A 192\.0\.2\.10$' "bad.test serves serial 10's data"

# bad MODE SERIAL REASON  one transfer of that kind is rejected, serial 10 serves on
bad() {
	local mode=$1 serial=$2 reason=$3 before mark
	before=$(m "plinkfwd_secondary_rejected_total{zone=\"bad.test.\",reason=\"$reason\"}")
	mark=$(log_mark)
	echo "$mode $serial" >"$T/bad.mode"
	dig @127.0.0.1 -p "$PORT" -b "$BAD" +opcode=notify +norec +time=5 +tries=1 bad.test SOA >/dev/null 2>&1
	ok "$mode: rejected with a log line" wait_log "xfr: zone bad\\.test\\.: .* rejected \\($reason\\).*serial 10 keeps serving" 10 "$mark"
	ok "$mode: counted as $reason" wait_until m_ge "plinkfwd_secondary_rejected_total{zone=\"bad.test.\",reason=\"$reason\"}" $((${before:-0} + 1))
	q www.bad.test A
	like "$Q_ANSWER" 'IN A 192\.0\.2\.10$' "$mode: serial 10 keeps serving"
	is "$(m 'plinkfwd_secondary_zone_serial{zone="bad.test."}')" 10 "$mode: the serial stays 10"
}
bad truncated 11 truncated
bad noclosing 11 no_closing_soa
bad good 9 serial_backwards
bad outofzone 11 out_of_zone
bad question 11 wrong_question
bad rcode 11 rcode
ok "the saved copy is still serial 10" grep -q 'www\.bad\.test\..*192\.0\.2\.10$' "$T/state/bad.test.secondary.zone"
MARK=$(log_mark)
echo "good 12" >"$T/bad.mode"
dig @127.0.0.1 -p "$PORT" -b "$BAD" +opcode=notify +norec +time=5 +tries=1 bad.test SOA >/dev/null 2>&1
ok "a good transfer after the bad ones is applied" wait_log 'xfr: zone bad\.test\.: serial 10 -> 12 by' 10 "$MARK"

# ---------------------------------------------------------------- the primary dies; restart with it down
stop_pid "$KNOT_PID" >/dev/null
MARK=$(log_mark)
dig @127.0.0.1 -p "$PORT" -b "$KN" +opcode=notify +norec +time=5 +tries=1 sec.test SOA >/dev/null 2>&1
ok "with Knot gone the check fails" wait_log 'xfr: zone sec\.test\.: no primary could be checked .*serial 2 keeps serving' 10 "$MARK"
q www.sec.test A
like "$Q_ANSWER" 'IN A 192\.0\.2\.2$' "the zone keeps serving"
stop_plinkfwd
ok "plinkfwd restarts with the primary down" start_plinkfwd "$T/xfr.conf"
ok "it serves the saved copy" wait_log 'xfr: zone sec\.test\.: serving the saved copy, serial 2' 5
q new.sec.test A
is "$Q_STATUS" NOERROR "served from disk"
like "$Q_ANSWER" '^new\.sec\.test\. 300 IN A 192\.0\.2\.7$' "... the IXFR'd data"

# ---------------------------------------------------------------- reload keeps the copies
MARK=$(log_mark)
ax_before=$(m 'plinkfwd_secondary_checks_total{zone="bad.test.",result="started"}')
sighup_plinkfwd
ok "reloaded" wait_log 'reloaded ' 10 "$MARK"
is "$(m 'plinkfwd_secondary_checks_total{zone="bad.test.",result="started"}')" "$ax_before" "the reload started no check of bad.test (its counters kept)"
q www.bad.test A
like "$Q_ANSWER" 'IN A 192\.0\.2\.12$' "bad.test serves on after the reload"
ok "no copy was read again from disk on reload" sh -c "! (tail -c +$((MARK + 1)) '$PLINKFWD_LOG' | grep -q 'serving the saved copy')"
stop_plinkfwd

# ---------------------------------------------------------------- expiry
echo "good 20 3" >"$T/exp.mode"
spawn expprimary python3 "$LIBDIR/xfr_in_primary.py" "$EXP" "$BP" exp.test "$T/exp.mode" "$T/exp-queries.log"
ok "exp.test's primary listens" wait_until bash -c "exec 3<>/dev/tcp/$EXP/$BP"
cat >"$T/exp.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
    state-dir: $T/state
    control-socket: $T/run/control.sock
    http-listen: 127.0.0.1@$((PORT + 1000))
zone: exp.test
    primary: $EXP@$BP
zone: never.test
    primary: 127.0.0.5@$BP
EOF
ok "plinkfwd starts with exp.test" start_plinkfwd "$T/exp.conf"
ok "exp.test arrives (SOA expire 3 s)" wait_log 'xfr: zone exp\.test\.: serial 20 by AXFR' 10
q www.exp.test A
is "$Q_STATUS" NOERROR "exp.test serves"
q www.never.test A
is "$Q_STATUS" SERVFAIL "a secondary zone whose primary never answered: SERVFAIL"
like "$Q_OUT" 'EDE: 14' "... with EDE 14 (Not Ready)"
echo "dead 20" >"$T/exp.mode"
ok "with its primary gone it expires" wait_log 'xfr: zone exp\.test\.: expired' 15
q www.exp.test A
is "$Q_STATUS" SERVFAIL "an expired zone answers SERVFAIL"
like "$Q_OUT" 'EDE: 22' "... with EDE 22 (No Reachable Authority)"
is "$(m 'plinkfwd_secondary_zone_expired{zone="exp.test."}')" 1 "/metrics: expired"
is "$(m 'plinkfwd_secondary_zone_expires_in_seconds{zone="exp.test."}')" 0 "/metrics: 0 s to expiry"
MARK=$(log_mark)
echo "good 20 3" >"$T/exp.mode"
ok "the primary back: serving again" wait_log 'xfr: zone exp\.test\.: a primary confirmed serial 20; serving again' 15 "$MARK"
q www.exp.test A
is "$Q_STATUS" NOERROR "exp.test answers again"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "plinkfwd exits cleanly"
done_testing
