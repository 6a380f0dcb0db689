# t_onprem.sh -- the on-premises recipes of docs/onprem-recipes.md, end to
# end on loopback: real unbound, BIND and dnsmasq instances play the
# on-prem DNS server with a conditional forwarder for the PUBLIC zone
# (openai.azure.com) to plinkfwd, and a client asking them for the public
# name of an account with a private endpoint gets the private address.
#
# Two shapes of the public side are played, both as plinkfwd's default group:
#  1. an authoritative server for openai.azure.com (NSD): its answer stops at
#     the CNAME into privatelink.openai.azure.com;
#  2. a public recursive resolver (ldns-testns): its answer carries the whole
#     public chain down to the public address.
# plinkfwd serves privatelink.openai.azure.com from the demo zone file.
# Also shown: why the forwarder must be for the public zone -- forwarding
# only privatelink.openai.azure.com while everything else goes to a public
# resolver hands clients the public address.
. "$(dirname "$0")/lib.sh"

PEERS=$LIBDIR/peers/onprem
PRIVATE=10.0.1.5          # contoso-foundry in zones/privatelink.openai.azure.com.zone
PUBLIC=198.51.100.80      # the public chain's address
NAME=contoso-foundry.openai.azure.com

plinkfwd_conf() { # FILE DEFAULT-UPSTREAM
	cat >"$1" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: AzureCloud
    control-socket: $T/control.sock
upstream: default
    server: $2
zone: privatelink.openai.azure.com
    file: $SRCDIR/zones/privatelink.openai.azure.com.zone
EOF
}

# ask SERVER PORT NAME  -> A records of the answer, sorted, one line
ask() {
	dig @"$1" -p "$2" +time=3 +tries=1 "$3" A 2>&1 | awk '$4 == "A" { print $5 }' | sort | tr '\n' ' ' | sed 's/ $//'
}

start_named() { # ADDR PORT
	peer_dir named
	local d=$PEER_DIR
	cat >"$d/named.conf" <<EOF
options {
    directory "$d";
    pid-file "$d/named.pid";
    listen-on port $2 { $1; };
    listen-on-v6 { none; };
    recursion yes;
    allow-query { any; };
    allow-recursion { any; };
    dnssec-validation no;
    notify no;
};
controls { };
// the recipe: a conditional forwarder for the public zone to plinkfwd
zone "openai.azure.com" {
    type forward;
    forward only;
    forwarders { 127.0.0.1 port $PORT; };
};
EOF
	spawn "named$PEER_N" named -g -c "$d/named.conf"
	# (not wait_dns: with no root server reachable, named does not answer
	# the probe's ". SOA" in time)
	wait_port "$2" udp 10 || { diag "named on $1@$2 did not start"; return 1; }
}

start_dnsmasq() { # ADDR PORT
	peer_dir dnsmasq
	local d=$PEER_DIR
	# the recipe: server=/openai.azure.com/<plinkfwd>
	spawn "dnsmasq$PEER_N" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--bind-interfaces --listen-address="$1" --port="$2" --user=root --pid-file="$d/dnsmasq.pid" \
		--log-facility=- --server="/openai.azure.com/127.0.0.1#$PORT"
	wait_port "$2" udp 5 || { diag "dnsmasq on $1@$2 did not start"; return 1; }
}

UNBOUND_FWD="forward-zone:
    name: \"openai.azure.com\"
    forward-addr: 127.0.0.1@$PORT"

# ------------------------------------------------------------ 1: authoritative public side
ok "NSD serves the public zone openai.azure.com" start_nsd 127.0.0.31@5301 \
	openai.azure.com="$PEERS/openai.azure.com.zone"
plinkfwd_conf "$T/auth.conf" 127.0.0.31@5301
ok "plinkfwd starts (default group: the authoritative server)" start_plinkfwd "$T/auth.conf"

ok "unbound (on-prem) with a forward-zone for openai.azure.com" start_unbound 127.0.0.41@5310 "$UNBOUND_FWD"
is "$(ask 127.0.0.41 5310 "$NAME")" "$PRIVATE" "unbound: the public name resolves to the private endpoint"
is "$(ask 127.0.0.41 5310 fabrikam-public.openai.azure.com)" 198.51.100.90 \
	"unbound: an account without a private endpoint still resolves publicly"
is "$(ask 127.0.0.41 5310 contoso-foundry.privatelink.openai.azure.com)" "$PRIVATE" \
	"unbound: the privatelink name itself (under the forwarded zone) too"

if command -v named >/dev/null 2>&1; then
	# named listens only on addresses of interfaces: 127.0.0.1, its own port
	ok "BIND (on-prem) with a forward zone for openai.azure.com" start_named 127.0.0.1 5311
	is "$(ask 127.0.0.1 5311 "$NAME")" "$PRIVATE" "BIND: the public name resolves to the private endpoint"
	is "$(ask 127.0.0.1 5311 fabrikam-public.openai.azure.com)" 198.51.100.90 "BIND: a public-only account"
else
	skip "BIND recipe" "named not installed (Debian package bind9)"
fi

if command -v dnsmasq >/dev/null 2>&1; then
	ok "dnsmasq (on-prem) with server=/openai.azure.com/plinkfwd" start_dnsmasq 127.0.0.43 5312
	# dnsmasq relays answers without following CNAMEs: the private
	# address reaches the client only because plinkfwd completes the chain
	is "$(ask 127.0.0.43 5312 "$NAME")" "$PRIVATE" "dnsmasq: the public name resolves to the private endpoint"
else
	skip "dnsmasq recipe" "dnsmasq not installed (Debian package dnsmasq-base)"
fi
stop_plinkfwd

# ------------------------------------------------------------ 2: public recursive resolver side
ok "a public recursive resolver (ldns-testns) on port 5302" start_testns 5302 "$PEERS/public-resolver.testns"
plinkfwd_conf "$T/recursive.conf" 127.0.0.1@5302
ok "plinkfwd starts (default group: the public resolver)" start_plinkfwd "$T/recursive.conf"
is "$(ask 127.0.0.1 5302 "$NAME")" "$PUBLIC" "the public resolver alone gives the public address"
is "$(ask 127.0.0.1 "$PORT" "$NAME")" "$PRIVATE" "plinkfwd replaces the public tail with the private address"
# the spliced answer, as explain shows it: each record and where it came from
ex=$("${PLINKFWD_CTL:-$BUILDDIR/plinkfwd-ctl}" -s "$T/control.sock" explain "$NAME" 2>&1)
like "$ex" '^2\. cache: hit \(NOERROR\)$' "explain spliced: the completed answer is cached"
like "$ex" "^   $NAME\\. [0-9]+ IN CNAME contoso-foundry\\.privatelink\\.openai\\.azure\\.com\\.\$" "explain spliced: the public CNAME"
like "$ex" '^      from upstream group default$' "explain spliced: the CNAME came from the public side"
like "$ex" "^   contoso-foundry\\.privatelink\\.openai\\.azure\\.com\\. [0-9]+ IN A 10\\.0\\.1\\.5\$" "explain spliced: the private record"
like "$ex" '^      from zone privatelink\.openai\.azure\.com\. \(zone file\)$' "explain spliced: the record came from the zone file"
unlike "$ex" "$PUBLIC" "explain spliced: no trace of the public address"
is "$(ask 127.0.0.41 5310 "$NAME")" "$PRIVATE" "unbound -> plinkfwd -> public resolver: the private address"
if command -v dnsmasq >/dev/null 2>&1; then
	is "$(ask 127.0.0.43 5312 "$NAME")" "$PRIVATE" "dnsmasq -> plinkfwd -> public resolver: the private address"
fi

# ------------------------------------------------------------ why the public zone
# The tempting setup: forward only privatelink.openai.azure.com to plinkfwd
# and everything else to the usual public resolver.  The client asks for the
# public name; the public resolver answers it with the whole chain, public
# address included, and a server that relays that answer (dnsmasq) never
# consults the privatelink forwarder.  (unbound happens to re-resolve the
# CNAME target itself and gets it right; the recipe must not depend on that.)
if command -v dnsmasq >/dev/null 2>&1; then
	peer_dir dnsmasq
	spawn "dnsmasq$PEER_N" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--bind-interfaces --listen-address=127.0.0.44 --port=5313 --user=root --pid-file="$PEER_DIR/pid" \
		--log-facility=- --server="/privatelink.openai.azure.com/127.0.0.1#$PORT" --server="127.0.0.1#5302"
	ok "dnsmasq with privatelink-only forwarding, the rest to the public resolver" wait_port 5313 udp 5
	is "$(ask 127.0.0.44 5313 "$NAME")" "$PUBLIC" \
		"privatelink-only forwarding: the client gets the PUBLIC address (the reason for the recipe)"
else
	skip "privatelink-only forwarding" "dnsmasq not installed (Debian package dnsmasq-base)"
fi

done_testing
