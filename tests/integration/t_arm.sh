# t_arm.sh -- ARM sync end to end: zones listed from a fake ARM (published
# examples + recordings), every record type served over DNS, paging across
# several pages with nextLink followed verbatim, updates, zone filters, a
# zone deleted in ARM, and the zone files kept in state-dir.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

ok "fake ARM server starts" arm_start_fake --dataset "examples:$ARM_SUB:rg-dns" --set zone_page=1
ok "add privatelink zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-net","zone":"privatelink.blob.core.windows.net","a":{"mystorage":"10.1.2.3"},"ttl":300}'
# paged.test: 10 A record sets + SOA, listed 3 per page ($top) = 4 pages.
ok "add paged zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-dns","zone":"paged.test","a":{"h0":"10.0.0.10","h1":"10.0.0.11","h2":"10.0.0.12","h3":"10.0.0.13","h4":"10.0.0.14","h5":"10.0.0.15","h6":"10.0.0.16","h7":"10.0.0.17","h8":"10.0.0.18","h9":"10.0.0.19"}}'
ok "add a zone the filters leave out" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-dns","zone":"filtered.example","a":{"www":"10.9.9.9"}}'

arm_conf "$T/arm.conf" "page-size: 3" "interval: 3600" \
	"zone-filter: privatelink.*" "zone-filter: privatezone1.com" "zone-filter: paged.test" \
	"zone-filter: scenario_privatezone.com"
mark=$(log_mark)
ok "plinkfwd starts with an arm: clause" start_plinkfwd "$T/arm.conf"
ok "first sync completes" arm_wait_sync "$mark"
like "$(log_since "$mark")" 'arm: sync done in [0-9]+ ms: 4 zones served \(4 added' "four zones added in the first round"

# ------------------------------------------------------------ answers
q mystorage.privatelink.blob.core.windows.net A
is "$Q_STATUS" NOERROR "privatelink A: NOERROR"
ok "privatelink A: authoritative" q_flag aa
like "$Q_ANSWER" '^mystorage\.privatelink\.blob\.core\.windows\.net\. 300 IN A 10\.1\.2\.3$' "privatelink A record with ARM's TTL"

q recorda1.privatezone1.com A
like "$Q_ANSWER" 'recorda1\.privatezone1\.com\. 3600 IN A 1\.2\.3\.4$' "A from the published example"
q recorda2.privatezone1.com A
like "$Q_ANSWER" 'IN A 5\.6\.7\.8$' "second A record set"
q recordaaaa1.privatezone1.com AAAA
like "$Q_ANSWER" 'IN AAAA ::1$' "AAAA"
q recordcname.privatezone1.com CNAME
like "$Q_ANSWER" 'IN CNAME contoso\.com\.$' "CNAME (target made absolute)"
q recordmx1.privatezone1.com MX
like "$Q_ANSWER" 'IN MX 0 mail\.contoso1\.com\.$' "MX"
q 1.privatezone1.com PTR
like "$Q_ANSWER" 'IN PTR localhost\.$' "PTR"
q recordsrv.privatezone1.com SRV
like "$Q_ANSWER" 'IN SRV 0 10 80 contoso\.com\.$' "SRV"
q recordtxt.privatezone1.com TXT
like "$Q_ANSWER" 'IN TXT "string1" "string2"$' "TXT with two strings"
q privatezone1.com SOA
# the serial is plinkfwd's own (docs/admin-guide.md, "Serials"): Azure keeps
# its serial while records change, so a synced zone's serial is never ARM's 1
like "$Q_ANSWER" 'IN SOA azureprivatedns\.net\. azureprivatedns-hostmaster\.microsoft\.com\. [0-9]+ 3600 300 2419200 300$' "SOA from the SOA record set"
unlike "$Q_ANSWER" 'microsoft\.com\. 1 3600' "... with a serial of plinkfwd's own, not ARM's 1"
q nothere.privatezone1.com A
is "$Q_STATUS" NXDOMAIN "absent name: NXDOMAIN"
like "$Q_AUTHORITY" 'IN SOA azureprivatedns\.net\.' "NXDOMAIN carries the zone SOA"
q scenario_recordset.scenario_privatezone.com A
like "$Q_ANSWER" 'IN A 1\.2\.3\.4$' "zone from the Go SDK recording"

# ------------------------------------------------------------ paging
for i in 0 5 9; do
	q "h$i.paged.test" A
	like "$Q_ANSWER" "IN A 10\\.0\\.0\\.1$i\$" "paged zone record h$i"
done
pages=$(arm_reqs 'r["kind"] == "arm" and "paged.test/ALL" in r["path"] and r["status"] == 200' | wc -l)
ok "paged zone listed across >= 3 pages ($pages requests)" test "$pages" -ge 3
first=$(arm_reqs '"paged.test/ALL" in r["path"]' | sed -n 1p)
like "$first" 'paged\.test/ALL\?api-version=2024-06-01&\$top=3$' "first page asks with \$top"
like "$(arm_reqs '"paged.test/ALL" in r["path"]')" 'ALL\?api-version=2024-06-01&\$top=3&\$skipToken=[A-Za-z0-9=]+$' \
	"nextLink followed verbatim (\$top carried, \$skipToken, no api-version added twice)"
zpages=$(arm_reqs 'r["kind"] == "arm" and r["path"].lower().split("?")[0].endswith("/privatednszones")' | wc -l)
ok "zone list paged too ($zpages pages of one zone)" test "$zpages" -ge 4

# ------------------------------------------------------------ filters
q www.filtered.example A
ok "zone outside zone-filter is not served" test "$Q_STATUS" != NOERROR
unlike "$(arm_reqs '"filtered.example" in r["path"]')" . "filtered zone's record sets never requested"

# ------------------------------------------------------------ state-dir
ok "zone file saved in state-dir" test -f "$T/state/privatelink.blob.core.windows.net.zone"
like "$(cat "$T/state/privatelink.blob.core.windows.net.zone")" '^\$ORIGIN privatelink\.blob\.core\.windows\.net\.$' "saved file is an RFC 1035 zone"
checkzone() { nsd-checkzone "$1" "$2" >"$T/checkzone.out" 2>&1; }
ok "saved zone file passes nsd-checkzone" checkzone privatezone1.com "$T/state/privatezone1.com.zone"
unlike "$(ls "$T/state")" '\.tmp\.' "no temp files left behind"

# ------------------------------------------------------------ update, delete
ok "change an A record in ARM" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.blob.core.windows.net","name":"mystorage","ip":"10.1.2.99","ttl":60}'
ok "remove paged.test from ARM" arm_ctl '{"op":"delete_zone","sub":"'$ARM_SUB'","zone":"paged.test"}'
mark=$(log_mark)
arm_sigusr1
ok "SIGUSR1 sync completes" arm_wait_sync "$mark"
like "$(log_since "$mark")" '1 updated, 1 removed' "one zone updated, one removed"
q mystorage.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.1\.2\.99$' "updated address served after the sync"
like "$Q_ANSWER" ' 60 IN A' "updated TTL served"
q h1.paged.test A
ok "deleted zone no longer answered authoritatively" test "$Q_STATUS" != NOERROR
ok "deleted zone's file removed from state-dir" test ! -e "$T/state/paged.test.zone"

# A reload keeps the synced zones serving (they are in no file).
mark=$(log_mark)
sighup_plinkfwd
ok "reload done" wait_log 'reloaded ' 5 "$mark"
q mystorage.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.1\.2\.99$' "synced zone still served right after a reload"
ok "sync after the reload completes" arm_wait_sync "$mark"

# An unchanged round publishes nothing new.
mark=$(log_mark)
arm_sigusr1
ok "quiet sync completes" arm_wait_sync "$mark"
like "$(log_since "$mark")" '0 added, 0 updated, 0 removed, 3 unchanged' "unchanged zones are not rebuilt"

ok "daemon still running" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean shutdown during idle sync"

# ------------------------------------------------------------ one zone in two subscriptions
SUB2=00000000-0000-0000-0000-00000000bbbb
ok "same zone in a second subscription" arm_ctl '{"op":"add_zone","sub":"'$SUB2'","rg":"rg-other","zone":"privatelink.blob.core.windows.net","a":{"mystorage":"10.7.7.7","other":"10.7.7.8"}}'
arm_conf "$T/two.conf" "subscription: $SUB2" "interval: 3600" "zone-filter: privatelink.*"
mark=$(log_mark)
ok "plinkfwd starts with two subscriptions" start_plinkfwd "$T/two.conf"
ok "merged sync completes" arm_wait_sync "$mark"
log=$(log_since "$mark")
like "$log" "record set 'mystorage' \(type 1\) from /subscriptions/$SUB2/.* conflicts with an earlier subscription's; dropped" "conflict logged"
q mystorage.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.1\.2\.99$' "the subscription listed first wins a conflict"
is "$(printf '%s\n' "$Q_ANSWER" | grep -c ' IN A ')" 1 "no mix of both subscriptions' addresses"
q other.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.7\.7\.8$' "record sets only in the second subscription are served too"
like "$(cat "$T/state/privatelink.blob.core.windows.net.zone")" "^; source: /subscriptions/$SUB2/" "saved file names both sources"
stop_plinkfwd
done_testing
