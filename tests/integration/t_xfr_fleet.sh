# t_xfr_fleet.sh -- the fleet of docs/admin-guide.md: one plinkfwd syncs a
# privatelink zone from (a fake) ARM and is the primary, with allow-transfer,
# NOTIFY and a TSIG key, of two secondary plinkfwd instances, each with its
# own state-dir.  Both secondaries serve the primary's records and serial;
# an ARM change reaches them by NOTIFY and IXFR (the primary's and the
# secondaries' counters say so, a diff of answers proves it); with the
# primary stopped they keep serving, and one restarted then serves its copy
# from disk; the primary back (same state-dir) keeps its serial, and a new
# change reaches them.  A secondary with a wrong secret is refused (NOTAUTH
# at the primary, counted) and keeps its last copy.  Asserted on answers,
# counters and log lines only, never on time.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

KEY=fleet.test.
SECRET=$(openssl rand -base64 32)
printf '%s\n' "$SECRET" >"$T/fleet.key"
openssl rand -base64 32 >"$T/wrong.key"
chmod 600 "$T/fleet.key" "$T/wrong.key"
SYNCED=privatelink.fleet.test
P_AT=127.0.0.1@$PORT
S1_PORT=$((PORT + 21))
S2_PORT=$((PORT + 22))
S3_PORT=$((PORT + 23))
mkdir -p "$T/run" "$T/s1" "$T/s2" "$T/s3"

# ---------------------------------------------------------------- the primary
ok "fake ARM server starts" arm_start_fake
ok "the zone in ARM" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-dns","zone":"'$SYNCED'","a":{"app":"10.1.0.1","db":"10.1.0.2","gone":"10.1.0.3"},"ttl":300}'
arm_conf "$T/p.conf" "interval: 3600" "zone-filter: $SYNCED" \
	"allow-transfer: 127.0.0.1 key $KEY" \
	"notify: 127.0.0.1@$S1_PORT key $KEY" "notify: 127.0.0.1@$S2_PORT key $KEY" \
	"@control-socket: $T/run/p.sock" "@http-listen: 127.0.0.1@$((PORT + 1000))"
cat >>"$T/p.conf" <<EOF
key: $KEY
    algorithm: hmac-sha256
    secret-file: $T/fleet.key
EOF
ok "the primary's configuration checks" quiet "$PLINKFWD" -t -c "$T/p.conf"
mark=$(log_mark)
ok "the primary starts" start_plinkfwd "$T/p.conf"
ok "its first sync completes" arm_wait_sync "$mark"
P_LOG=$PLINKFWD_LOG

# ---------------------------------------------------------------- the secondaries
sec_conf() { # N PORT SECRET-FILE
	cat >"$T/s$1.conf" <<EOF
server:
    listen: 127.0.0.1@$2
    cloud: none
    state-dir: $T/s$1
    control-socket: $T/run/s$1.sock
    http-listen: 127.0.0.1@$(($2 + 1000))
zone: $SYNCED
    primary: $P_AT key $KEY
key: $KEY
    algorithm: hmac-sha256
    secret-file: $3
EOF
}
# start_sec N PORT  (SEC_PID[N] is its process; its log is $T/sN.log)
declare -A SEC_PID
start_sec() {
	spawn "s$1" "$PLINKFWD" -f -c "$T/s$1.conf"
	SEC_PID[$1]=$LAST_PID
	wait_dns 127.0.0.1 "$2" 10
}
stop_sec() { stop_pid "${SEC_PID[$1]}" >/dev/null; SEC_PID[$1]=; }
sec_conf 1 $S1_PORT "$T/fleet.key"
sec_conf 2 $S2_PORT "$T/fleet.key"
sec_conf 3 $S3_PORT "$T/wrong.key"
ok "a secondary's configuration checks" quiet "$PLINKFWD" -t -c "$T/s1.conf"
ok "secondary 1 starts" start_sec 1 $S1_PORT
ok "secondary 2 starts" start_sec 2 $S2_PORT

# the log of secondary N after byte MARK has a line matching ERE
sec_log() { # N ERE [MARK]
	tail -c +$((${3:-0} + 1)) "$T/s$1.log" 2>/dev/null | grep -Eq -- "$2"
}
sec_mark() { stat -c %s "$T/s$1.log" 2>/dev/null || echo 0; }
p_metric() { metric_value "$1"; }
s_metric() { metric_value "$2" $(($3 + 1000)); } # N NAME PORT
# ge N CMD...: the number CMD prints is at least N
ge() { local n=$1 v; shift; v=$("$@"); [ -n "$v" ] && [ "$v" -ge "$n" ]; }

serial_at() { # PORT -> the SOA serial served for the zone
	dig @127.0.0.1 -p "$1" +norec +time=2 +tries=1 +short $SYNCED SOA 2>/dev/null | awk '{ print $3 }'
}
has_serial() { [ "$(serial_at "$1")" = "$2" ]; }
# the serial plinkfwd-ctl -j zones reports for the zone on control socket S
ctl_serial() { # SOCKET
	"$CTL" -s "$1" -j zones 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
for z in d.get("zones", []):
    if z.get("name") == sys.argv[1] and z.get("serial") is not None:
        print(z["serial"])
' "$SYNCED."
}

# The answers to a list of questions, sorted (record order does not matter).
answers() { # PORT
	local n t args=()
	for n in @ app db gone added web; do
		for t in A TXT SOA; do
			if [ "$n" = @ ]; then args+=("$SYNCED" "$t"); else args+=("$n.$SYNCED" "$t"); fi
		done
	done
	dig @127.0.0.1 -p "$1" +norec +time=2 +tries=1 +noall +answer +nottlid "${args[@]}" 2>/dev/null |
		tr -s ' \t' '  ' | sort
}
same_answers() { # PORT...: each answers as the primary does
	local want got s rc=0
	want=$(answers "$PORT")
	[ -n "$want" ] || return 1
	for s in "$@"; do
		got=$(answers "$s")
		if [ "$got" != "$want" ]; then
			rc=1
			diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed "s/^/# $s: /" | head -n 8 >>"$T/diffs.log"
		fi
	done
	return $rc
}
# answers the same as a saved list (the primary being down)
answers_are() { # PORT FILE
	[ "$(answers "$1")" = "$(cat "$2")" ]
}

P_SERIAL=$(serial_at "$PORT")
ok "the primary serves the synced zone with a serial of its own ($P_SERIAL)" test "${P_SERIAL:-0}" -gt 1
for s in 1 2; do
	port=$((PORT + 20 + s))
	ok "secondary $s: transferred serial $P_SERIAL" wait_until has_serial $port "$P_SERIAL"
	ok "secondary $s: the first copy came by AXFR" sec_log $s "xfr: zone $SYNCED\\.: serial $P_SERIAL by AXFR from 127\\.0\\.0\\.1@$PORT"
	is "$(ctl_serial "$T/run/s$s.sock")" "$P_SERIAL" "secondary $s: plinkfwd-ctl -j zones shows serial $P_SERIAL"
done
is "$(ctl_serial "$T/run/p.sock")" "$P_SERIAL" "the primary: plinkfwd-ctl -j zones shows the same serial"
ok "both secondaries answer as the primary does" same_answers $S1_PORT $S2_PORT
Q_SERVER=127.0.0.1 Q_PORT=$S1_PORT q app.$SYNCED A
ok "secondary 1 answers authoritatively" q_flag aa
like "$Q_ANSWER" '^app\.privatelink\.fleet\.test\. 300 IN A 10\.1\.0\.1$' "secondary 1 serves the ARM record"
ok "the AXFRs were served by the primary" ge 2 p_metric 'plinkfwd_xfr_requests_total{outcome="axfr"}'

# ---------------------------------------------------------------- an ARM change: NOTIFY, IXFR
ixfr0=$(p_metric 'plinkfwd_xfr_requests_total{outcome="ixfr"}')
full0=$(p_metric 'plinkfwd_xfr_requests_total{outcome="ixfr_full"}')
axfr0=$(p_metric 'plinkfwd_xfr_requests_total{outcome="axfr"}')
n0=$(p_metric 'plinkfwd_notify_total{result="answered"}')
ok "ARM: change app" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"'$SYNCED'","name":"app","ip":"10.1.0.11","ttl":300}'
ok "ARM: add added" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"'$SYNCED'","name":"added","ip":"10.1.0.4","ttl":300}'
ok "ARM: delete gone" arm_ctl '{"op":"delete_set","sub":"'$ARM_SUB'","zone":"'$SYNCED'","name":"gone","type":"A"}'
m1=$(sec_mark 1)
m2=$(sec_mark 2)
mark=$(log_mark)
arm_sigusr1
ok "the primary's sync round completes" arm_wait_sync "$mark"
P_SERIAL2=$(serial_at "$PORT")
ok "the primary's serial went up ($P_SERIAL -> $P_SERIAL2)" test "${P_SERIAL2:-0}" -gt "$P_SERIAL"
ok "both secondaries acknowledged the NOTIFY" wait_until ge $((${n0:-0} + 2)) p_metric 'plinkfwd_notify_total{result="answered"}'
for s in 1 2; do
	port=$((PORT + 20 + s))
	ok "secondary $s: serial $P_SERIAL2" wait_until has_serial $port "$P_SERIAL2"
	ok "secondary $s: the NOTIFY started the check" sec_log $s "xfr: zone $SYNCED\\.: NOTIFY from a primary" "$(eval echo \$m$s)"
	ok "secondary $s: by IXFR" sec_log $s "xfr: zone $SYNCED\\.: serial $P_SERIAL -> $P_SERIAL2 by IXFR" "$(eval echo \$m$s)"
	is "$(s_metric $s "plinkfwd_secondary_transfers_total{zone=\"$SYNCED.\",type=\"ixfr\"}" $port)" 1 "secondary $s: one IXFR counted"
	is "$(s_metric $s "plinkfwd_secondary_transfers_total{zone=\"$SYNCED.\",type=\"axfr\"}" $port)" 1 "secondary $s: still one AXFR counted"
done
is "$(p_metric 'plinkfwd_xfr_requests_total{outcome="ixfr"}')" $((${ixfr0:-0} + 2)) "the primary served two incremental IXFRs"
is "$(p_metric 'plinkfwd_xfr_requests_total{outcome="ixfr_full"}')" "${full0:-0}" "... and no IXFR with the whole zone"
is "$(p_metric 'plinkfwd_xfr_requests_total{outcome="axfr"}')" "${axfr0:-0}" "... and no AXFR"
ok "after the change both secondaries answer as the primary does" same_answers $S1_PORT $S2_PORT
Q_SERVER=127.0.0.1 Q_PORT=$S2_PORT q gone.$SYNCED A
is "$Q_STATUS" NXDOMAIN "secondary 2: the deleted record is gone"
Q_SERVER=127.0.0.1 Q_PORT=$S1_PORT q added.$SYNCED A
like "$Q_ANSWER" '10\.1\.0\.4$' "secondary 1: the added record"
Q_SERVER=127.0.0.1 Q_PORT=$S2_PORT q app.$SYNCED A
like "$Q_ANSWER" '10\.1\.0\.11$' "secondary 2: the changed record"

# ---------------------------------------------------------------- the wrong key
nauth0=$(p_metric 'plinkfwd_xfr_requests_total{outcome="notauth"}')
ok "secondary 3 (a wrong secret) starts" start_sec 3 $S3_PORT
ok "the primary answers its request NOTAUTH" wait_until ge $((${nauth0:-0} + 1)) p_metric 'plinkfwd_xfr_requests_total{outcome="notauth"}'
ok "... and logs the refusal" wait_log "xfr: signed query for $SYNCED\\. from 127\\.0\\.0\\.1 refused: TSIG BADSIG" 10
ok "secondary 3 rejects the answer" wait_until sec_log 3 "xfr: zone $SYNCED\\.: .* rejected"
Q_SERVER=127.0.0.1 Q_PORT=$S3_PORT q app.$SYNCED A
is "$Q_STATUS" SERVFAIL "secondary 3 has no copy to serve: SERVFAIL"
stop_sec 3
# give secondary 3 a copy (the right key), then the wrong key again
sec_conf 3 $S3_PORT "$T/fleet.key"
ok "secondary 3 with the right key starts" start_sec 3 $S3_PORT
ok "secondary 3 transfers serial $P_SERIAL2" wait_until has_serial $S3_PORT "$P_SERIAL2"
printf '%s\n' "$(cat "$T/wrong.key")" >"$T/s3.secret"
sed -i "s|secret-file: .*|secret-file: $T/s3.secret|" "$T/s3.conf"
nauth1=$(p_metric 'plinkfwd_xfr_requests_total{outcome="notauth"}')
m3=$(sec_mark 3)
kill -HUP "${SEC_PID[3]}"
ok "secondary 3 reloaded with the wrong secret" wait_until sec_log 3 'reloaded ' "$m3"
# a NOTIFY from the primary's address, signed with the secret secondary 3
# now has, starts a check at once (the primary's own NOTIFYs carry the right
# secret, which secondary 3 refuses now)
dig @127.0.0.1 -p $S3_PORT -y "hmac-sha256:$KEY:$(cat "$T/wrong.key")" +opcode=notify +norec +time=5 +tries=1 \
	$SYNCED SOA >"$T/notify3.txt" 2>&1
like "$(cat "$T/notify3.txt")" 'opcode: NOTIFY, status: NOERROR' "secondary 3 accepts a NOTIFY signed with its secret"
ok "its next check is answered NOTAUTH by the primary" wait_until ge $((${nauth1:-0} + 1)) p_metric 'plinkfwd_xfr_requests_total{outcome="notauth"}'
ok "secondary 3 rejects it and keeps its copy" wait_until sec_log 3 "xfr: zone $SYNCED\\.: .* rejected .*serial $P_SERIAL2 keeps serving" "$m3"
Q_SERVER=127.0.0.1 Q_PORT=$S3_PORT q added.$SYNCED A
like "$Q_ANSWER" '10\.1\.0\.4$' "secondary 3 keeps serving its last copy"
stop_sec 3

# ---------------------------------------------------------------- the primary stops
answers "$PORT" >"$T/before-stop.txt"
stop_plinkfwd
ok "the primary is down" sh -c "! dig @127.0.0.1 -p $PORT +time=1 +tries=1 $SYNCED SOA >/dev/null 2>&1"
for s in 1 2; do
	ok "secondary $s keeps serving with the primary down" answers_are $((PORT + 20 + s)) "$T/before-stop.txt"
done
m1=$(sec_mark 1)
# a signed NOTIFY (as the primary would send) makes secondary 1 check now
dig @127.0.0.1 -p $S1_PORT -y "hmac-sha256:$KEY:$SECRET" +opcode=notify +norec +time=5 +tries=1 $SYNCED SOA >/dev/null 2>&1
ok "secondary 1's check fails" wait_until sec_log 1 "xfr: zone $SYNCED\\.: no primary could be checked .*serial $P_SERIAL2 keeps serving" "$m1"
ok "secondary 1 still serves" answers_are $S1_PORT "$T/before-stop.txt"
stop_sec 2
m2=$(sec_mark 2)
ok "secondary 2 restarts with the primary down" start_sec 2 $S2_PORT
ok "it serves the saved copy" wait_until sec_log 2 "xfr: zone $SYNCED\\.: serving the saved copy, serial $P_SERIAL2" "$m2"
ok "secondary 2 answers from its state-dir as before" answers_are $S2_PORT "$T/before-stop.txt"
is "$(ctl_serial "$T/run/s2.sock")" "$P_SERIAL2" "secondary 2: plinkfwd-ctl -j zones shows serial $P_SERIAL2"

# ---------------------------------------------------------------- the primary comes back
ok "ARM: change db while the primary is down" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"'$SYNCED'","name":"db","ip":"10.1.0.22","ttl":300}'
ok "ARM: add web" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"'$SYNCED'","name":"web","ip":"10.1.0.5","ttl":300}'
mark=$(log_mark)
ok "the primary starts again (same state-dir)" start_plinkfwd "$T/p.conf"
P_SERIAL_BACK=$(serial_at "$PORT")
ok "its serial did not go backwards ($P_SERIAL2 -> $P_SERIAL_BACK)" test "${P_SERIAL_BACK:-0}" -ge "$P_SERIAL2"
ok "its sync completes" arm_wait_sync "$mark"
P_SERIAL3=$(serial_at "$PORT")
ok "the new change gave a new serial ($P_SERIAL2 -> $P_SERIAL3)" test "${P_SERIAL3:-0}" -gt "$P_SERIAL2"
for s in 1 2; do
	port=$((PORT + 20 + s))
	ok "secondary $s: serial $P_SERIAL3" wait_until has_serial $port "$P_SERIAL3"
	is "$(ctl_serial "$T/run/s$s.sock")" "$P_SERIAL3" "secondary $s: plinkfwd-ctl -j zones shows serial $P_SERIAL3"
done
ok "both secondaries answer as the restarted primary does" same_answers $S1_PORT $S2_PORT
Q_SERVER=127.0.0.1 Q_PORT=$S2_PORT q web.$SYNCED A
like "$Q_ANSWER" '10\.1\.0\.5$' "secondary 2 (restarted from disk) serves the new record"
is "$(p_metric 'plinkfwd_xfr_aborted_total')" 0 "no transfer was cut short"
ok "the secondaries acknowledged the restarted primary's NOTIFYs" ge 2 p_metric 'plinkfwd_notify_total{result="answered"}'
is "$(p_metric 'plinkfwd_notify_total{result="unverified"}')" 0 "every NOTIFY answer carried a TSIG that verified"
ok "the primary still runs" plinkfwd_alive
for s in 1 2; do
	ok "secondary $s still runs" kill -0 "${SEC_PID[$s]}"
done
unlike "$(cat "$P_LOG" "$T/s1.log" "$T/s2.log" "$T/s3.log")" "$(printf '%s' "$SECRET" | sed 's/[+/=]/./g')" "the secret is in no log"
done_testing
