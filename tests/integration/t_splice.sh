# t_splice.sh -- CNAME splicing: a public answer whose chain enters a name
# plinkfwd owns is cut there and completed with the private answer.
#
# Peers (tests/integration/peers/splice/): NSD as the "default" group serves
# the public view -- openai.azure.com, blob.core.windows.net and contoso.test
# CNAME into privatelink names, whose public copies CNAME on to cloudapp.net /
# store.core.windows.net with public addresses (192.0.2.x).  Knot as the
# "azure" group serves privatelink.openai.azure.com with private addresses
# (10.x, data only) and, for an admin forward: rule, privatelink.contoso.test.
# plinkfwd itself serves privatelink.blob.core.windows.net as a zone: file,
# and in the last part as a zone synced from a fake ARM (tests/arm/).
# Nothing public (no 192.0.2.x, no cloudapp.net, no store.core.windows.net)
# may reach the client when the private side has the name.
. "$(dirname "$0")/lib.sh"

PEERS=$LIBDIR/peers/splice

. "$LIBDIR/peers/splice/peers.sh"
start_splice_peers

R=$(dig @127.0.0.11 -p 5301 +short +norec acct.openai.azure.com A | tr '\n' ' ')
is "$R" "acct.privatelink.openai.azure.com. x.cloudapp.net. 192.0.2.10 " \
	"(the public server answers the whole public chain)"

spawn silent python3 "$LIBDIR/peers/forward/responder.py" --listen 127.0.0.15 --port 5301 --mode silent \
	--pidfile "$T/silent.pid" --log "$T/silent-queries.log"
ok "a silent server starts" wait_port 5301 udp 5

mkdir -p "$T/run"
cat >"$T/splice.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: AzureCloud
    control-socket: $T/run/control.sock
    upstream-timeout: 1000
    query-timeout: 3000
upstream: azure
    server: 127.0.0.12@5301
upstream: default
    server: 127.0.0.11@5301
upstream: corp
    server: 127.0.0.12@5301
upstream: silent
    server: 127.0.0.15@5301
forward: privatelink.contoso.test
    to: corp
forward: privatelink.silent.test
    to: silent
zone: privatelink.blob.core.windows.net
    file: $PEERS/privatelink.blob.core.windows.net.local.zone
EOF
ok "plinkfwd starts" start_plinkfwd "$T/splice.conf"

# no_public TEXT DESC  nothing of the public tail in TEXT
no_public() {
	unlike "$1" '192\.0\.2\.|2001:db8:|cloudapp\.net|store\.core\.windows\.net' "$2"
}

# ------------------------------------------------------------ forwarded private data (catalogue -> azure)
q acct.openai.azure.com A
is "$Q_STATUS" NOERROR "forwarded: NOERROR"
is "$Q_ANSWER" "acct.openai.azure.com. 10 IN CNAME acct.privatelink.openai.azure.com.
acct.privatelink.openai.azure.com. 10 IN A 10.0.0.5" \
	"forwarded: the chain up to the privatelink name, then the private A (TTL = min of the parts)"
no_public "$Q_OUT" "forwarded: no public record"
ok "forwarded: RA set" q_flag ra
not_ok "forwarded: AA clear (a spliced answer is not authoritative)" q_flag aa

q acct.openai.azure.com AAAA
is "$Q_ANSWER" "acct.openai.azure.com. 10 IN CNAME acct.privatelink.openai.azure.com.
acct.privatelink.openai.azure.com. 10 IN AAAA fd00::5" "forwarded AAAA: the private AAAA"
no_public "$Q_OUT" "forwarded AAAA: no public record"

q acct.openai.azure.com A +tcp
like "$Q_ANSWER" '^acct\.privatelink\.openai\.azure\.com\. [0-9]+ IN A 10\.0\.0\.5$' "forwarded over TCP: the private A"
no_public "$Q_OUT" "forwarded over TCP: no public record"

q multi.openai.azure.com A +tcp
is "$Q_ANSWER" "multi.openai.azure.com. 10 IN CNAME hop.openai.azure.com.
hop.openai.azure.com. 10 IN CNAME acct2.privatelink.openai.azure.com.
acct2.privatelink.openai.azure.com. 10 IN A 10.0.0.6" \
	"multi-CNAME chain over TCP (first query: spliced, not cached): both public CNAMEs, then the private A"
no_public "$Q_OUT" "multi-CNAME chain: no public record"

q MuLtI.OpenAI.Azure.COM A
like "$Q_ANSWER" '^MuLtI\.OpenAI\.Azure\.COM\. [0-9]+ IN CNAME hop\.openai\.azure\.com\.$' \
	"mixed-case question: echoed in the chain's first owner"
like "$Q_QUESTION" '^MuLtI\.OpenAI\.Azure\.COM\. IN A$' "mixed-case question echoed"
like "$Q_ANSWER" ' IN A 10\.0\.0\.6$' "mixed-case question: spliced answer (from the cache)"

# ------------------------------------------------------------ local zone data
q sa1.blob.core.windows.net A
is "$Q_STATUS" NOERROR "local zone: NOERROR"
is "$Q_ANSWER" "sa1.blob.core.windows.net. 60 IN CNAME sa1.privatelink.blob.core.windows.net.
sa1.privatelink.blob.core.windows.net. 60 IN A 10.1.0.4" \
	"local zone: chain then the zone's A (TTL = min(300, 60))"
no_public "$Q_OUT" "local zone: no public record"

q sa1.blob.core.windows.net AAAA +tcp
is "$Q_ANSWER" "sa1.blob.core.windows.net. 60 IN CNAME sa1.privatelink.blob.core.windows.net.
sa1.privatelink.blob.core.windows.net. 60 IN AAAA fd00:1::4" "local zone AAAA over TCP"
no_public "$Q_OUT" "local zone AAAA: no public record"

# the private name asked directly is the zone's answer, as before
q sa1.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa1.privatelink.blob.core.windows.net. 60 IN A 10.1.0.4" "local zone asked directly"

# ------------------------------------------------------------ admin privatelink rule
q app.contoso.test A
is "$Q_ANSWER" "app.contoso.test. 20 IN CNAME app.privatelink.contoso.test.
app.privatelink.contoso.test. 20 IN A 10.2.0.7" \
	"admin forward rule for a privatelink.* suffix: spliced with its group's answer"
no_public "$Q_OUT" "admin rule: no public record"

# ------------------------------------------------------------ nothing owned
q plain.openai.azure.com A
is "$Q_ANSWER" "plain.openai.azure.com. 300 IN A 192.0.2.1" "no chain: the public answer as it is"

# ------------------------------------------------------------ DNSSEC OK bit: its own cache key, still spliced
q acct.openai.azure.com A +dnssec
like "$Q_ANSWER" 'acct\.privatelink\.openai\.azure\.com\. [0-9]+ IN A 10\.0\.0\.5$' "DO bit: spliced too"
like "$Q_EDNS" 'flags: do' "DO bit: echoed in the OPT record"

# ------------------------------------------------------------ spliced answers are cached
# A hit is the daemon's cache.hits growing; the sleep only makes sure some
# time passed.  The chain into the local zone (TTL 60) is fetched afresh
# (the DO bit makes it a new cache key) right before, so no entry is near
# its expiry when the test looks (the forwarded chains, TTL 10, may be).
h=$(ctl_stat cache.hits)
q sa1.blob.core.windows.net A +dnssec
t1=$(q_rrs ANSWER | awk '$4 == "A" { print $2 }')
is "$t1/$(ctl_stat cache.hits)" "60/$h" "splice with the DO bit: made afresh (TTL 60), not from the cache"
sleep 2
q sa1.blob.core.windows.net A +dnssec
like "$Q_ANSWER" '^sa1\.privatelink\.blob\.core\.windows\.net\. [0-9]+ IN A 10\.1\.0\.4$' \
	"cached splice: the private A"
is "$(ctl_stat cache.hits)" $((h + 1)) "cached splice: served from the cache"
ttl=$(q_rrs ANSWER | awk '$4 == "A" { print $2 }')
ok "cached splice: TTL decreased by the time spent in the cache ($t1, then $ttl)" test "$ttl" -lt "$t1" -a "$ttl" -gt 0

# ------------------------------------------------------------ the private side fails
q hang.contoso.test A +time=4
is "$Q_STATUS" SERVFAIL "private group silent: SERVFAIL after the query budget"
no_public "$Q_OUT" "private group silent: never the public answer"

ok "plinkfwd still running" plinkfwd_alive
# a splice waiting for its private half when the daemon stops: nothing
# leaks (the sanitizer build turns a leak into a non-zero exit status)
silent_before=$(wc -l <"$T/silent-queries.log")
dig @127.0.0.1 -p "$PORT" +time=3 +tries=1 hang2.contoso.test A >/dev/null 2>&1 &
dpid=$!
dig @127.0.0.1 -p "$PORT" +time=3 +tries=1 +tcp hang.contoso.test AAAA >/dev/null 2>&1 &
dpid2=$!
private_halves_sent() { [ "$(wc -l <"$T/silent-queries.log")" -ge $((silent_before + 2)) ]; }
ok "both splices wait for their private half (the silent server got both)" wait_until private_halves_sent
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit with splices in flight"
wait "$dpid" "$dpid2"

# ------------------------------------------------------------ zones synced from ARM
# The same chain, with privatelink.blob.core.windows.net synced from a fake
# ARM instead of a zone: file.  A record changed in ARM shows in the spliced
# answer after the next sync, cache or not: spliced entries are tied to the
# zones they were made from.
. "$SRCDIR/tests/arm/lib_arm.sh"
ok "fake ARM server starts" arm_start_fake
ok "ARM has privatelink.blob.core.windows.net" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-net","zone":"privatelink.blob.core.windows.net","a":{"sa1":"10.3.0.4"},"ttl":300}'
arm_conf "$T/arm.conf" "interval: 3600" "zone-filter: privatelink.*" "@workers: 1"
cat >>"$T/arm.conf" <<EOF
upstream: default
    server: 127.0.0.11@5301
EOF
mark=$(log_mark)
ok "plinkfwd starts with an arm: clause" start_plinkfwd "$T/arm.conf"
ok "first sync completes" arm_wait_sync "$mark"
q sa1.blob.core.windows.net A
is "$Q_ANSWER" "sa1.blob.core.windows.net. 300 IN CNAME sa1.privatelink.blob.core.windows.net.
sa1.privatelink.blob.core.windows.net. 300 IN A 10.3.0.4" "synced zone: the chain, then the synced A"
no_public "$Q_OUT" "synced zone: no public record"
q sa1.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.3\.0\.4$' "synced zone: the same from the cache"
ok "ARM record changed" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.blob.core.windows.net","name":"sa1","ip":"10.3.0.5","ttl":300}'
mark=$(log_mark)
arm_sigusr1
ok "second sync completes" arm_wait_sync "$mark"
q sa1.blob.core.windows.net A
like "$Q_ANSWER" '^sa1\.privatelink\.blob\.core\.windows\.net\. [0-9]+ IN A 10\.3\.0\.5$' \
	"synced zone changed: the spliced answer follows at once (cached entry tied to the old zones)"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit (ARM)"

done_testing
