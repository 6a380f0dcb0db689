# t_fallback.sh -- fallback to public resolution (Azure's NxDomainRedirect)
# for forwarded privatelink zones (catalogue and admin rules), for local
# zones, and for spliced chains whose private side has no record; and the
# same questions without fallback.
#
# Same peers as t_splice.sh: NSD has the public view of every name, Knot
# (the azure group, and the "corp" group of the admin rule) the private
# zones, where these names are missing.
. "$(dirname "$0")/lib.sh"

PEERS=$LIBDIR/peers/splice

. "$LIBDIR/peers/splice/peers.sh"
start_splice_peers

# write_conf FILE FALLBACK(public|none)
write_conf() {
	cat >"$1" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: AzureCloud
    upstream-timeout: 1000
    query-timeout: 3000
$([ "$2" = public ] && echo "    privatelink-fallback: public")
upstream: azure
    server: 127.0.0.12@5301
upstream: default
    server: 127.0.0.11@5301
upstream: corp
    server: 127.0.0.12@5301
# no fallback: line: a privatelink.* rule follows privatelink-fallback
forward: privatelink.contoso.test
    to: corp
zone: privatelink.blob.core.windows.net
    file: $PEERS/privatelink.blob.core.windows.net.local.zone
    fallback: $2
EOF
}

# ------------------------------------------------------------ fallback: public
write_conf "$T/on.conf" public
ok "plinkfwd starts (fallback public)" start_plinkfwd "$T/on.conf"

q direct.privatelink.openai.azure.com A
is "$Q_STATUS" NOERROR "catalogue zone, name missing in azure: NOERROR from the public path"
is "$Q_ANSWER" "direct.privatelink.openai.azure.com. 300 IN CNAME x.cloudapp.net.
x.cloudapp.net. 300 IN A 192.0.2.10" "catalogue zone: the public answer"

q gone.privatelink.contoso.test A +tcp
is "$Q_ANSWER" "gone.privatelink.contoso.test. 300 IN A 192.0.2.31" \
	"admin privatelink rule (inherits privatelink-fallback), TCP: the public answer"

q acct.privatelink.openai.azure.com A
is "$Q_ANSWER" "acct.privatelink.openai.azure.com. 10 IN A 10.0.0.5" \
	"a name the private zone has: still the private answer"

q missing.openai.azure.com A
is "$Q_STATUS" NOERROR "spliced chain, private NXDOMAIN: NOERROR"
is "$Q_ANSWER" "missing.openai.azure.com. 300 IN CNAME missing.privatelink.openai.azure.com.
missing.privatelink.openai.azure.com. 300 IN CNAME x.cloudapp.net.
x.cloudapp.net. 300 IN A 192.0.2.10" "spliced chain, private NXDOMAIN: the public answer kept"

q nope.blob.core.windows.net A
is "$Q_ANSWER" "nope.blob.core.windows.net. 300 IN CNAME nope.privatelink.blob.core.windows.net.
nope.privatelink.blob.core.windows.net. 300 IN CNAME blob.xyz.store.core.windows.net.
blob.xyz.store.core.windows.net. 300 IN A 192.0.2.20" \
	"chain into a local zone without the name (zone fallback: public): the public answer"

q nope.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'blob\.xyz\.store\.core\.windows\.net\. [0-9]+ IN A 192\.0\.2\.20$' \
	"local zone asked directly for a missing name: the public answer"
stop_plinkfwd

# ------------------------------------------------------------ fallback: none
write_conf "$T/off.conf" none
ok "plinkfwd starts (no fallback)" start_plinkfwd "$T/off.conf"

q direct.privatelink.openai.azure.com A
is "$Q_STATUS" NXDOMAIN "catalogue zone without fallback: NXDOMAIN"
like "$Q_AUTHORITY" '^privatelink\.openai\.azure\.com\. [0-9]+ IN SOA ns1\.azure\.test\. ' \
	"catalogue zone without fallback: the private zone's SOA"

q gone.privatelink.contoso.test A +tcp
is "$Q_STATUS" NXDOMAIN "admin privatelink rule without fallback, TCP: NXDOMAIN"

q missing.openai.azure.com A
is "$Q_STATUS" NXDOMAIN "spliced chain without fallback: NXDOMAIN"
is "$Q_ANSWER" "missing.openai.azure.com. 10 IN CNAME missing.privatelink.openai.azure.com." \
	"spliced chain without fallback: the chain up to the private name, nothing public"
like "$Q_AUTHORITY" '^privatelink\.openai\.azure\.com\. 10 IN SOA ns1\.azure\.test\. ' \
	"spliced chain without fallback: the private SOA (for negative caching)"

q nope.blob.core.windows.net AAAA
is "$Q_STATUS" NXDOMAIN "chain into a local zone without the name: NXDOMAIN"
is "$Q_ANSWER" "nope.blob.core.windows.net. 30 IN CNAME nope.privatelink.blob.core.windows.net." \
	"chain into a local zone without the name: the chain, TTL = the zone's negative TTL"
like "$Q_AUTHORITY" '^privatelink\.blob\.core\.windows\.net\. 30 IN SOA ns1\.plinkfwd\.test\. ' \
	"chain into a local zone without the name: the zone's SOA"

q nope.privatelink.blob.core.windows.net A
is "$Q_STATUS" NXDOMAIN "local zone asked directly without fallback: NXDOMAIN"

# NODATA is not NXDOMAIN: no fallback even when it is on (Azure does the same)
stop_plinkfwd
ok "plinkfwd restarts (fallback public)" start_plinkfwd "$T/on.conf"
q acct2.privatelink.openai.azure.com AAAA
is "$Q_STATUS/$Q_ANCOUNT" "NOERROR/0" "NODATA from the private zone: no fallback"
like "$Q_AUTHORITY" 'IN SOA ns1\.azure\.test\. ' "NODATA from the private zone: its SOA"
q sa1.blob.core.windows.net TXT
is "$Q_STATUS" NOERROR "chain into a local zone, type missing: NODATA"
is "$Q_ANSWER" "sa1.blob.core.windows.net. 30 IN CNAME sa1.privatelink.blob.core.windows.net." \
	"chain into a local zone, type missing: the chain only, nothing public"

ok "plinkfwd still running" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

done_testing
