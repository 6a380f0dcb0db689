# t_arm_load.sh -- the saved zones: a restart with ARM unreachable serves the
# last synced copy at once; damaged or foreign files in state-dir are
# skipped; zones no longer wanted by the config are not loaded.  Then a
# 25,000-record-set zone (ARM's limit, 1,000 per page): published whole, its
# publish time reported (not asserted: that is for make bench), and DNS
# answers measured with dnsperf while it syncs -- none may be lost.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

ok "fake ARM server starts" arm_start_fake
ok "add openai zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg1","zone":"privatelink.openai.azure.com","a":{"myacct":"10.3.0.7"}}'
ok "add vault zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg1","zone":"privatelink.vaultcore.azure.net","a":{"kv1":"10.3.0.9"}}'
arm_conf "$T/arm.conf" "interval: 3600" "max-retries: 1" "timeout: 2"
mark=$(log_mark)
ok "plinkfwd starts" start_plinkfwd "$T/arm.conf"
ok "sync completes" arm_wait_sync "$mark"
stop_plinkfwd
ok "zones saved" test -f "$T/state/privatelink.openai.azure.com.zone" -a -f "$T/state/privatelink.vaultcore.azure.net.zone"

# ------------------------------------------------------------ restart, ARM down
arm_stop_fake
# A damaged saved zone and a file that is not ours.
sed -i 's/IN\tA\t10\.3\.0\.9/IN\tA\tnot-an-address/' "$T/state/privatelink.vaultcore.azure.net.zone"
printf '$ORIGIN foreign.test.\n@ 60 IN SOA a. b. 1 1 1 1 1\nx 60 IN A 10.9.9.9\n' >"$T/state/foreign.test.zone"
mark=$(log_mark)
ok "plinkfwd restarts with ARM unreachable" start_plinkfwd "$T/arm.conf"
q myacct.privatelink.openai.azure.com A
like "$Q_ANSWER" 'IN A 10\.3\.0\.7$' "saved zone answered right after the restart"
ok "answer is authoritative" q_flag aa
log=$(log_since "$mark")
like "$log" 'arm: loaded saved zone privatelink\.openai\.azure\.com' "load logged"
like "$log" 'saved zone .*privatelink\.vaultcore\.azure\.net\.zone does not load' "damaged file logged and skipped"
q x.foreign.test A
ok "file not written by plinkfwd is left alone" test "$Q_STATUS" != NOERROR
ok "the failing sync ends" arm_wait_sync "$mark" 30
like "$(log_since "$mark")" 'sync finished with errors.*0 removed' "unreachable ARM removes nothing"
q myacct.privatelink.openai.azure.com A
like "$Q_ANSWER" 'IN A 10\.3\.0\.7$' "saved zone still served after the failed sync"
stop_plinkfwd

arm_conf "$T/filtered.conf" "interval: 3600" "max-retries: 0" "zone-filter: privatelink.vaultcore.*"
mark=$(log_mark)
ok "plinkfwd starts with a narrower zone-filter" start_plinkfwd "$T/filtered.conf"
q myacct.privatelink.openai.azure.com A
ok "saved zone outside the new filter is not served" test "$Q_STATUS" != NOERROR
stop_plinkfwd
rm -f "$T/state/foreign.test.zone"

# ------------------------------------------------------------ 25,000 record sets
ok "fake ARM restarts with a 25,000-record-set zone and 20 small ones" \
	arm_start_fake --dataset "big:$ARM_SUB:rg-big:big.test:25000" --dataset "many:$ARM_SUB:rg-many:20:50"
ok "add openai zone again" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg1","zone":"privatelink.openai.azure.com","a":{"myacct":"10.3.0.7"}}'
arm_conf "$T/big.conf" "interval: 3600" "@workers: 2" "max-inflight: 2"
mark=$(log_mark)
ok "plinkfwd starts" start_plinkfwd "$T/big.conf"
ok "big sync completes" arm_wait_sync "$mark" 60
log=$(log_since "$mark")
like "$log" 'zone big\.test added: 25000 record sets, 25000 records' "all 25,000 record sets published"
ms=$(printf '%s\n' "$log" | sed -n 's/.*arm: sync done in \([0-9]*\) ms.*/\1/p' | tail -n 1)
# The time is a measurement for make bench (docs/performance.md), not a
# verdict here: a busy machine takes longer and publishes the same zone.
diag "25,000-record-set zone: sync start to published in ${ms:-?} ms (not asserted)"
ok "the sync reported its duration" test -n "$ms"
pages=$(arm_reqs '"big.test/ALL" in r["path"]' | wc -l)
is "$pages" 25 "listed in 25 pages of 1,000"
q host24998.big.test A
is "$Q_STATUS" NOERROR "last record set answered"
q host48.zone19.many.test A
is "$Q_STATUS" NOERROR "small zones answered too"

printf 'myacct.privatelink.openai.azure.com A\n' >"$T/queries"
perf() {
	dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/queries" -l "$1" -Q 3000 -t 5 -c 4 2>&1
}
field() { printf '%s\n' "$2" | sed -n "s/.*$1: *\\([0-9.]*\\).*/\\1/p" | head -n 1; }

idle=$(perf 2)
idle_qps=$(field 'Queries per second' "$idle")
# Make the big zone change so the next round rebuilds it, then measure
# while that round runs.
ok "one record of the big zone changes" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"big.test","name":"host7","ip":"10.200.0.7"}'
mark=$(log_mark)
perf 4 >"$T/perf.out" &
perf_pid=$!
sleep 0.5
arm_sigusr1
wait "$perf_pid"
busy=$(cat "$T/perf.out")
ok "the measured sync completed during the run" arm_wait_sync "$mark" 30
like "$(log_since "$mark")" 'zone big\.test updated' "big zone rebuilt while queries ran"
sent=$(field 'Queries sent' "$busy")
done_n=$(field 'Queries completed' "$busy")
lost=$(field 'Queries lost' "$busy")
busy_qps=$(field 'Queries per second' "$busy")
diag "dnsperf idle: ${idle_qps:-?} qps; during the big sync: ${busy_qps:-?} qps, sent ${sent:-?}, completed ${done_n:-?}, lost ${lost:-?}"
is "${lost:-x}" 0 "no query lost during the sync"
ok "queries answered during the sync (${done_n:-0})" test "${done_n:-0}" -ge 1
q host7.big.test A
like "$Q_ANSWER" 'IN A 10\.200\.0\.7$' "changed record served after the sync"

# ------------------------------------------------------------ bounded requests in flight
# Slow answers for the 20 small zones, so that requests overlap if allowed to.
ok "small zones answer slowly" arm_ctl '{"op":"fail","match":"many.test/ALL","delay":0.2,"count":-1}'
first_line=$(($(wc -l <"$ARM_REQLOG") + 1))
mark=$(log_mark)
arm_sigusr1
ok "slow sync completes" arm_wait_sync "$mark" 60
conc=$(tail -n +"$first_line" "$ARM_REQLOG" | python3 -c '
import json, sys
ev = []
for l in sys.stdin:
    r = json.loads(l)
    if r["kind"] == "arm":
        ev += [(r["t0"], 1), (r["t"], -1)]
cur = peak = 0
for _, d in sorted(ev):
    cur += d
    peak = max(peak, cur)
print(peak)')
is "$conc" 2 "ARM requests in flight at once: max-inflight (2), never more"

ok "daemon still running" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean shutdown"
done_testing
