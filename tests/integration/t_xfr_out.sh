# t_xfr_out.sh -- plinkfwd as a primary: NSD, Knot and BIND are secondaries
# of a zone file and of a zone synced from (a fake) ARM, with TSIG.  After a
# reload that changes the file and an ARM sync round that changes, adds and
# deletes records, every secondary serves the new data once plinkfwd's
# NOTIFY has done its work (a diff of dig answers), and the serials went up.
# A client outside allow-transfer, a wrong secret and an unknown key are
# refused.  Which kind of transfer was served is read from plinkfwd's
# counters, never from timing.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

for b in nsd knotd named kdig; do
	if ! command -v "$b" >/dev/null 2>&1; then
		echo "1..0 # SKIP $b not installed"
		exit 0
	fi
done

KEY=xfr.test.
SECRET=$(openssl rand -base64 32)
printf '%s\n' "$SECRET" >"$T/xfr.key"
chmod 600 "$T/xfr.key"
NSD_AT=127.0.0.1@$((PORT + 11))
KNOT_AT=127.0.0.1@$((PORT + 12))
NAMED_AT=127.0.0.1@$((PORT + 13))
ZONE=lab.test
SYNCED=privatelink.xfr.test

write_zone() { # SERIAL then "name type rdata" lines
	local serial=$1
	shift
	{
		echo "\$ORIGIN $ZONE."
		echo "\$TTL 300"
		echo "@ IN SOA ns.$ZONE. hostmaster.$ZONE. $serial 60 30 3600 30"
		echo "@ IN NS ns"
		echo "ns IN A 10.0.0.53"
		printf '%s\n' "$@"
	} >"$T/$ZONE.zone"
}
write_zone 10 "www IN A 10.0.0.1" "mail IN A 10.0.0.2" "old IN A 10.0.0.3" 'txt IN TXT "version one"'

ok "fake ARM server starts" arm_start_fake
ok "synced zone in ARM" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-dns","zone":"'$SYNCED'","a":{"app":"10.1.0.1","db":"10.1.0.2","gone":"10.1.0.3"},"ttl":300}'

arm_conf "$T/p.conf" "interval: 3600" "zone-filter: $SYNCED" \
	"allow-transfer: 127.0.0.1 key $KEY" \
	"notify: $NSD_AT key $KEY" "notify: $KNOT_AT key $KEY" "notify: $NAMED_AT key $KEY" \
	"@control-socket: $T/run/control.sock" "@http-listen: 127.0.0.1@$((PORT + 1000))"
cat >>"$T/p.conf" <<EOF
zone: $ZONE
    file: $T/$ZONE.zone
    allow-transfer: 127.0.0.1 key $KEY
    allow-transfer: 127.0.0.7
    notify: $NSD_AT key $KEY
    notify: $KNOT_AT key $KEY
    notify: $NAMED_AT key $KEY
key: $KEY
    algorithm: hmac-sha256
    secret-file: $T/xfr.key
EOF
mkdir -p "$T/run"
ok "plinkfwd -t accepts the configuration" quiet "$PLINKFWD" -t -c "$T/p.conf"
mark=$(log_mark)
ok "plinkfwd starts" start_plinkfwd "$T/p.conf"
ok "first sync completes" arm_wait_sync "$mark"
unlike "$(cat "$PLINKFWD_LOG")" "$(printf '%s' "$SECRET" | sed 's/[+/=]/./g')" "the secret is never logged"

KS="hmac-sha256:$KEY:$SECRET"
ok "NSD secondary starts" start_nsd_secondary "$NSD_AT" "127.0.0.1@$PORT" "$KEY:hmac-sha256:$SECRET" $ZONE $SYNCED
ok "Knot secondary starts" start_knot_secondary "$KNOT_AT" "127.0.0.1@$PORT" "$KEY:hmac-sha256:$SECRET" $ZONE $SYNCED
ok "BIND secondary starts" start_named_secondary "$NAMED_AT" "127.0.0.1@$PORT" "$KEY:hmac-sha256:$SECRET" $ZONE $SYNCED

serial_at() { # ADDR@PORT ZONE -> the SOA serial it serves (empty: none)
	split_listen "$1"
	dig @"$L_ADDR" -p "$L_PORT" +norec +time=2 +tries=1 +short "$2" SOA 2>/dev/null | awk '{ print $3 }'
}
has_serial() { [ "$(serial_at "$1" "$2")" = "$3" ]; }

# The answers a client gets for a list of questions (one dig run asking them
# all), sorted so that record order does not matter.  TYPES: the types asked.
answers() { # ADDR@PORT ZONE
	split_listen "$1"
	local n t args=()
	for n in @ www mail old new txt ns app db gone added; do
		for t in ${TYPES:-A TXT SOA NS}; do
			if [ "$n" = @ ]; then args+=("$2" "$t"); else args+=("$n.$2" "$t"); fi
		done
	done
	dig @"$L_ADDR" -p "$L_PORT" +norec +time=2 +tries=1 +noall +answer +nottlid "${args[@]}" 2>/dev/null |
		tr -s ' \t' '  ' | sort
}

same_answers() { # ZONE: every secondary answers as plinkfwd does
	local want got s rc=0
	want=$(answers "127.0.0.1@$PORT" "$1")
	for s in "$NSD_AT" "$KNOT_AT" "$NAMED_AT"; do
		got=$(answers "$s" "$1")
		if [ "$got" != "$want" ]; then
			rc=1
			diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed "s/^/# $s: /" | head -n 8 >>"$T/diffs.log"
		fi
	done
	return $rc
}

P_FILE_SERIAL=$(serial_at "127.0.0.1@$PORT" $ZONE)
P_SYNC_SERIAL=$(serial_at "127.0.0.1@$PORT" $SYNCED)
is "$P_FILE_SERIAL" 10 "the zone file's serial is served as written"
ok "the synced zone has a serial of plinkfwd's own ($P_SYNC_SERIAL)" test "${P_SYNC_SERIAL:-0}" -gt 1
for s in "$NSD_AT" "$KNOT_AT" "$NAMED_AT"; do
	ok "$s: transferred $ZONE serial 10" wait_until has_serial "$s" $ZONE 10
	ok "$s: transferred $SYNCED serial $P_SYNC_SERIAL" wait_until has_serial "$s" $SYNCED "$P_SYNC_SERIAL"
done
ok "every secondary answers $ZONE as plinkfwd does" same_answers $ZONE
# no NS: Azure's zones have none, transfers add one (BIND needs it)
TYPES="A TXT SOA" ok "every secondary answers $SYNCED as plinkfwd does" same_answers $SYNCED
Q_SERVER=127.0.0.1 Q_PORT=$((PORT + 13)) q $SYNCED NS
like "$Q_ANSWER" 'IN NS azureprivatedns\.net\.$' "a synced zone reaches the secondaries with an NS record (the SOA's MNAME)"
axfr0=$(metric_value 'plinkfwd_xfr_requests_total{outcome="axfr"}')
ok "full transfers (AXFR) were served (${axfr0:-none})" test "${axfr0:-0}" -ge 1

# ------------------------------------------------------------ a reload changes the file
notified() { [ "$(metric_value 'plinkfwd_notify_total{result="answered"}')" -ge "$1" ]; }
n0=$(metric_value 'plinkfwd_notify_total{result="answered"}')
write_zone 11 "www IN A 10.0.0.11" "mail IN A 10.0.0.2" "new IN A 10.0.0.4" 'txt IN TXT "version two"'
mark=$(log_mark)
sighup_plinkfwd
ok "reload logged" wait_log 'reload' 10 "$mark"
ok "the secondaries acknowledged the NOTIFYs of serial 11" wait_until notified $((n0 + 3))
for s in "$NSD_AT" "$KNOT_AT" "$NAMED_AT"; do
	ok "$s: serial 11 after NOTIFY" wait_until has_serial "$s" $ZONE 11
done
ok "after the reload every secondary answers $ZONE as plinkfwd does" same_answers $ZONE
q www.$ZONE A
like "$Q_ANSWER" '10\.0\.0\.11$' "plinkfwd itself serves the changed record"

# ------------------------------------------------------------ an ARM round changes, adds, deletes
ok "ARM: change app" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"'$SYNCED'","name":"app","ip":"10.1.0.11","ttl":300}'
ok "ARM: add added" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"'$SYNCED'","name":"added","ip":"10.1.0.4","ttl":300}'
ok "ARM: delete gone" arm_ctl '{"op":"delete_set","sub":"'$ARM_SUB'","zone":"'$SYNCED'","name":"gone","type":"A"}'
n1=$(metric_value 'plinkfwd_notify_total{result="answered"}')
mark=$(log_mark)
arm_sigusr1
ok "the sync round after the change completes" arm_wait_sync "$mark"
P_SYNC_SERIAL2=$(serial_at "127.0.0.1@$PORT" $SYNCED)
ok "the synced zone's serial went up ($P_SYNC_SERIAL -> $P_SYNC_SERIAL2)" test "${P_SYNC_SERIAL2:-0}" -gt "$P_SYNC_SERIAL"
ok "the secondaries acknowledged the NOTIFYs of the new version" wait_until notified $((n1 + 3))
for s in "$NSD_AT" "$KNOT_AT" "$NAMED_AT"; do
	ok "$s: serial $P_SYNC_SERIAL2 after NOTIFY" wait_until has_serial "$s" $SYNCED "$P_SYNC_SERIAL2"
done
TYPES="A TXT SOA" ok "after the sync every secondary answers $SYNCED as plinkfwd does" same_answers $SYNCED
q gone.$SYNCED A
is "$Q_STATUS" NXDOMAIN "the deleted record is gone from plinkfwd"
Q_SERVER=127.0.0.1 Q_PORT=$((PORT + 13)) q added.$SYNCED A
like "$Q_ANSWER" '10\.1\.0\.4$' "BIND serves the added record"
ixfr=$(metric_value 'plinkfwd_xfr_requests_total{outcome="ixfr_full"}')
ixfr2=$(metric_value 'plinkfwd_xfr_requests_total{outcome="ixfr"}')
ok "IXFR requests were answered from the journal (${ixfr2:-0}; ${ixfr:-0} with the whole zone)" \
	test "${ixfr2:-0}" -ge 1
ok "the incremental transfers are logged" wait_log 'xfr: IXFR of .* \(incremental\)' 10
axfr1=$(metric_value 'plinkfwd_xfr_requests_total{outcome="axfr"}')
ok "and AXFR requests (${axfr1:-0})" test "${axfr1:-0}" -ge 1
is "$(metric_value 'plinkfwd_xfr_aborted_total')" 0 "no transfer was cut short"

# ------------------------------------------------------------ refusals
rcode_of() { # kdig args: the rcode of the (first) answer
	kdig "$@" 2>&1 | sed -n 's/.*status: \([A-Z]*\).*/\1/p; s/.*;; ERROR: .*\(REFUSED\|NOTAUTH\).*/\1/p' | head -n 1
}
mark=$(log_mark)
r0=$(metric_value 'plinkfwd_xfr_requests_total{outcome="refused"}')
out=$(kdig @127.0.0.1 -p "$PORT" -b 127.0.0.5 -y "$KS" AXFR $ZONE 2>&1)
like "$out" 'REFUSED' "a client outside allow-transfer is refused (even with the key)"
out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.1 AXFR $ZONE 2>&1)
like "$out" 'Transfer failed' "an unsigned request from an address that needs the key is refused"
r1=$(metric_value 'plinkfwd_xfr_requests_total{outcome="refused"}')
is "$r1" $((${r0:-0} + 2)) "both counted as refused"
ok "the refusals are logged" wait_log 'xfr: AXFR of lab\.test\. from 127\.0\.0\.5 refused: no allow-transfer line' 10 "$mark"

a0=$(metric_value 'plinkfwd_xfr_requests_total{outcome="notauth"}')
out=$(kdig @127.0.0.1 -p "$PORT" -y "hmac-sha256:$KEY:c2VjcmV0LXRoYXQtaXMtbm90LXRoZS1rZXk=" AXFR $ZONE 2>&1)
like "$out" 'NOTAUTH|BADSIG' "a wrong secret gets NOTAUTH (BADSIG)"
out=$(kdig @127.0.0.1 -p "$PORT" -y "hmac-sha256:unknown.test.:$SECRET" AXFR $ZONE 2>&1)
like "$out" 'NOTAUTH|BADKEY' "an unknown key gets NOTAUTH (BADKEY)"
out=$(kdig @127.0.0.1 -p "$PORT" -y "hmac-sha512:$KEY:$SECRET" AXFR $ZONE 2>&1)
like "$out" 'NOTAUTH|BADKEY' "the right name with another algorithm gets NOTAUTH (BADKEY)"
is "$(metric_value 'plinkfwd_xfr_requests_total{outcome="notauth"}')" $((${a0:-0} + 3)) "three counted as notauth"
ok "BADSIG logged" wait_log 'refused: TSIG BADSIG' 10 "$mark"
ok "BADKEY logged" wait_log 'refused: TSIG BADKEY' 10 "$mark"
unlike "$(log_since "$mark")" "$(printf '%s' "$SECRET" | sed 's/[+/=]/./g')" "no secret in the log lines"

out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.7 AXFR $ZONE 2>&1)
like "$out" 'XFR size: [0-9]+ records' "a line without a key admits an unsigned transfer from its address"
out=$(kdig @127.0.0.1 -p "$PORT" -b 127.0.0.7 AXFR nothere.test 2>&1)
like "$out" 'NOTAUTH' "a zone not served here: NOTAUTH"
out=$(kdig @127.0.0.1 -p "$PORT" -y "$KS" +notcp IXFR=11 $ZONE 2>&1)
like "$out" "$ZONE\\..*SOA.* 11 " "IXFR over UDP from the current serial: the SOA alone"
out=$(kdig @127.0.0.1 -p "$PORT" -y "$KS" IXFR=11 $ZONE 2>&1)
like "$out" '1 records' "IXFR over TCP from the current serial: the SOA alone"
# the control socket: the counters, and the serial each zone is served with
ok "plinkfwd-ctl stats counts the transfers (xfr.axfr ${axfr1:-0})" test "$(ctl_stat xfr.axfr)" = "$(metric_value 'plinkfwd_xfr_requests_total{outcome="axfr"}')"
ok "plinkfwd-ctl stats counts the NOTIFYs (notify.answered)" test "$(ctl_stat notify.answered)" -ge 6
like "$("$CTL" -s "$T/run/control.sock" zones 2>&1)" "$SYNCED\. .* $P_SYNC_SERIAL2" "plinkfwd-ctl zones shows the synced zone's serial"
ok "plinkfwd still runs" plinkfwd_alive
done_testing
