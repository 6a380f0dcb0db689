# t_wildcard.sh -- listening on the wildcard address: answers leave from the
# address each query was sent to (IP_PKTINFO / IPV6_PKTINFO), for local and
# forwarded answers.  dig rejects a reply from any other source ("reply from
# unexpected source"), so getting the answer at all proves the source.
. "$(dirname "$0")/lib.sh"

ip addr add 127.0.0.5/8 dev lo 2>/dev/null || true
ip addr add 127.0.0.6/8 dev lo 2>/dev/null || true

cat > "$T/public.test.zone" <<'ZONE'
$TTL 60
@    IN SOA ns.public.test. host.public.test. 1 3600 300 86400 60
@    IN NS  ns.public.test.
www  IN A   192.0.2.80
ZONE
start_nsd 127.0.0.2@5301 public.test="$T/public.test.zone"

cat > "$T/wild.conf" <<CONF
server:
  listen: 0.0.0.0@$PORT
  listen: ::@$PORT
upstream: default
  server: 127.0.0.2@5301
zone: privatelink.openai.azure.com
  file: $SRCDIR/zones/privatelink.openai.azure.com.zone
CONF
start_plinkfwd "$T/wild.conf"

for addr in 127.0.0.1 127.0.0.5 127.0.0.6; do
	Q_SERVER=$addr q contoso-foundry.privatelink.openai.azure.com A
	is "$Q_STATUS" NOERROR "local answer via $addr"
	like "$Q_ANSWER" '10\.0\.1\.5' "local answer via $addr has the private address"
	Q_SERVER=$addr q www.public.test A
	like "$Q_ANSWER" '192\.0\.2\.80' "forwarded answer via $addr comes back from $addr"
done
if [ "${HAVE_IPV6:-0}" = 1 ]; then
	Q_SERVER=::1 q contoso-foundry.privatelink.openai.azure.com AAAA
	like "$Q_ANSWER" 'fd00:10:0:1::5' "local answer over IPv6 wildcard"
else
	skip "IPv6 wildcard" "no ::1 in this namespace"
fi
done_testing
