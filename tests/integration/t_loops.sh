# t_loops.sh -- forwarding loops with on-prem servers (docs/onprem-recipes.md,
# "Loops"), end to end on loopback with real unbound and BIND.
#
# The fragile hybrid set-up: an on-prem server forwards Azure zones to
# plinkfwd, and plinkfwd's "default" group is that same on-prem server.  Four
# cases: unbound and BIND, each forwarding the privatelink zones and, in a
# second case, all of azure.com to plinkfwd.  In each:
#   - the start-up probe finds the looping route (a zone with fallback:
#     public, whose missing names go through "default") and reports it in
#     the log, /metrics, status and /healthz;
#   - a question that goes round answers SERVFAIL with EDE 22 "forwarding
#     loop via group default", is counted per group and logged; plinkfwd
#     sends ONE upstream query per client query however often the on-prem
#     server sends it back (counted on plinkfwd's per-server counters);
#   - a name that does not loop still resolves through the same server;
#   - explain shows the loops of the group.
# Then -t: an upstream that is plinkfwd's own listener is an error, a
# forward rule whose server is an allowed client a warning.
# The on-prem servers get addresses of their own (127.0.0.41, 127.0.0.42)
# and send from them, as a real server does; plinkfwd knows them by that.
# Nothing here measures time: every wait ends at its event.
. "$(dirname "$0")/lib.sh"

HPORT=$((PORT + 1000))
ip addr add 127.0.0.41/32 dev lo 2>/dev/null
ip addr add 127.0.0.42/32 dev lo 2>/dev/null
mkdir -p "$T/run"

# plinkfwd_conf FILE ONPREM-ADDR@PORT [EXTRA-SERVER-LINES]
plinkfwd_conf() {
	cat >"$1" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
    control-socket: $T/run/control.sock
    http-listen: 127.0.0.1@$HPORT
    loop-probe: yes
    upstream-timeout: 3000
    query-timeout: 9000
$3
upstream: default
    server: $2
zone: privatelink.openai.azure.com
    file: $SRCDIR/zones/privatelink.openai.azure.com.zone
    fallback: public
EOF
}

# the on-prem side's own data: a name that never loops
cat >"$T/corp.example.zone" <<'EOF'
$TTL 300
@        IN SOA ns.corp.example. hostmaster.corp.example. 1 3600 600 86400 300
@        IN NS  ns.corp.example.
ns       IN A   10.9.9.1
intranet IN A   10.9.9.9
EOF

start_onprem_unbound() { # ZONES...
	local z fwd=""
	for z in "$@"; do
		fwd="$fwd
forward-zone:
    name: \"$z\"
    forward-addr: 127.0.0.1@$PORT"
	done
	start_unbound 127.0.0.41@5310 "server:
    outgoing-interface: 127.0.0.41
    local-zone: \"corp.example.\" static
    local-data: \"intranet.corp.example. 300 IN A 10.9.9.9\"
$fwd"
}

start_onprem_named() { # ZONES...
	local z d
	peer_dir named
	d=$PEER_DIR
	cat >"$d/named.conf" <<EOF
options {
    directory "$d";
    pid-file "$d/named.pid";
    listen-on port 5311 { 127.0.0.42; };
    listen-on-v6 { none; };
    query-source address 127.0.0.42;
    recursion yes;
    allow-query { any; };
    allow-recursion { any; };
    dnssec-validation no;
    notify no;
};
controls { };
zone "corp.example" { type primary; file "$T/corp.example.zone"; };
EOF
	for z in "$@"; do
		printf 'zone "%s" { type forward; forward only; forwarders { 127.0.0.1 port %s; }; };\n' "$z" "$PORT" \
			>>"$d/named.conf"
	done
	spawn "named$PEER_N" named -g -c "$d/named.conf"
	wait_port 5311 udp 10 || { diag "named on 127.0.0.42@5311 did not start"; return 1; }
}

status_json() { "$CTL" -s "$T/run/control.sock" -j status 2>/dev/null; }
probe_state() { # ZONE -> the probe result of (ZONE, default) in status
	status_json | python3 -c '
import json, sys
o = json.load(sys.stdin)
for r in (o.get("loops") or {}).get("routes", []):
    if r["zone"] == sys.argv[1] and r["group"] == "default":
        print(r["probe"])' "$1"
}
healthz() { curl -sS --max-time "$WAIT_FLOOR" "http://127.0.0.1:$HPORT/$1" 2>/dev/null; }
ready_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "$WAIT_FLOOR" "http://127.0.0.1:$HPORT/readyz"; }

# run_case LABEL KIND SERVER@PORT LOOPNAME-SUFFIX ZONES...
#   KIND unbound|named; LOOPNAME-SUFFIX: where an unserved name that loops lives
run_case() {
	local label=$1 kind=$2 server=$3 suffix=$4 i
	shift 4
	local saddr=${server%@*} sport=${server#*@}
	if [ "$kind" = unbound ]; then
		ok "$label: unbound forwards $* to plinkfwd" start_onprem_unbound "$@" || return
	else
		ok "$label: BIND forwards $* to plinkfwd" start_onprem_named "$@" || return
	fi
	local onprem_pid=$LAST_PID
	plinkfwd_conf "$T/$label.conf" "$server"
	local mark
	mark=$(log_mark)
	ok "$label: plinkfwd starts, its default group is the on-prem server" start_plinkfwd "$T/$label.conf"

	# ---- the start-up probe
	ok "$label: the probe of privatelink.openai.azure.com. through default came back" \
		wait_until test "$(probe_state privatelink.openai.azure.com.)" = loops
	ok "$label: ... and the log says so loudly" wait_log \
		"loop probe: the probe for zone privatelink\\.openai\\.azure\\.com\\. sent through group default came back to plinkfwd from $saddr" \
		10 "$mark"
	is "$(metric_value 'plinkfwd_loop_route_looping{group="default",zone="privatelink.openai.azure.com."}')" 1 \
		"$label: /metrics: the route loops"
	like "$(healthz healthz)" "forwarding loop: zone privatelink\\.openai\\.azure\\.com\\. through group default comes back \\(from $saddr" \
		"$label: /healthz reports the looping route"
	is "$(ready_code)" 200 "$label: /readyz stays ready (loop-ready-fail: no)"
	like "$("$CTL" -s "$T/run/control.sock" status)" \
		"probe zone privatelink\\.openai\\.azure\\.com\\. through group default: loops \\(came back from $saddr\\): this route LOOPS" \
		"$label: plinkfwd-ctl status shows the looping route"

	# ---- loops while they happen: the client asks plinkfwd
	local sent0 loops0 sent1 loops1 n=4
	sent0=$(metric_value "plinkfwd_upstream_server_sent_total{server=\"$server\"}")
	loops0=$(metric_value 'plinkfwd_forwarding_loops_total{group="default"}')
	mark=$(log_mark)
	for i in $(seq 1 $n); do
		q "acct$i.$suffix" A +rec +tries=1 +time=30
		is "$Q_STATUS" SERVFAIL "$label: acct$i.$suffix goes round: SERVFAIL"
		like "$Q_OUT" 'EDE: 22 \(No Reachable Authority\): \(forwarding loop via group default\)' \
			"$label: ... with EDE 22 'forwarding loop via group default'"
	done
	sent1=$(metric_value "plinkfwd_upstream_server_sent_total{server=\"$server\"}")
	loops1=$(metric_value 'plinkfwd_forwarding_loops_total{group="default"}')
	is "$((sent1 - sent0))" "$n" "$label: one upstream query per client query, however often it came back"
	ok "$label: every one of them was counted as a loop (default: $loops0 -> $loops1)" \
		test "$((loops1 - loops0))" -ge "$n"
	diag "$label: $((loops1 - loops0)) loops answered for $n client queries (the on-prem server's retries)"
	ok "$label: the loop is logged with the group, the name and the server" wait_log \
		"forwarding loop via group default: acct[0-9]\\.${suffix//./\\.}\\. came back from $saddr, a server of that group" \
		10 "$mark"

	# ---- the client asks the on-prem server: the same loop, seen from there
	loops0=$(metric_value 'plinkfwd_forwarding_loops_total{group="default"}')
	sent0=$(metric_value "plinkfwd_upstream_server_sent_total{server=\"$server\"}")
	Q_SERVER=$saddr Q_PORT=$sport q "viaonprem.$suffix" A +rec +tries=1 +time=30
	is "$Q_STATUS" SERVFAIL "$label: asked through the on-prem server: SERVFAIL"
	sent1=$(metric_value "plinkfwd_upstream_server_sent_total{server=\"$server\"}")
	ok "$label: ... and plinkfwd sent it to the on-prem server once at most ($sent0 -> $sent1)" \
		test "$((sent1 - sent0))" -le 1

	# ---- what does not loop still resolves through the same server
	q intranet.corp.example A +rec +tries=1
	is "$Q_STATUS/$(q_rrs ANSWER | awk '$4 == "A" { print $5 }')" NOERROR/10.9.9.9 \
		"$label: the on-prem server's own name resolves through plinkfwd's default group"
	Q_SERVER=$saddr Q_PORT=$sport q contoso-foundry.privatelink.openai.azure.com A +rec +tries=1
	is "$Q_STATUS/$(q_rrs ANSWER | awk '$4 == "A" { print $5 }')" NOERROR/10.0.1.5 \
		"$label: a private name plinkfwd serves resolves through the on-prem server"

	# ---- explain
	like "$("$CTL" -s "$T/run/control.sock" explain "acct1.$suffix" A)" \
		'forwarding loops via group default: [1-9][0-9]*' "$label: explain shows the group's loops"
	like "$("$CTL" -s "$T/run/control.sock" explain nothere.privatelink.openai.azure.com A)" \
		'the probe of privatelink\.openai\.azure\.com\. came back from' \
		"$label: explain of a fallback name shows the probe of its route"

	stop_plinkfwd
	stop_pid "$onprem_pid"
}

run_case unbound-privatelink unbound 127.0.0.41@5310 privatelink.blob.core.windows.net \
	privatelink.openai.azure.com privatelink.blob.core.windows.net
run_case unbound-azure unbound 127.0.0.41@5310 www.azure.com azure.com
if command -v named >/dev/null 2>&1; then
	run_case bind-privatelink named 127.0.0.42@5311 privatelink.blob.core.windows.net \
		privatelink.openai.azure.com privatelink.blob.core.windows.net
	run_case bind-azure named 127.0.0.42@5311 www.azure.com azure.com
else
	skip "BIND cases" "named not installed (Debian package bind9)"
fi

# ------------------------------------------------------------ loop-ready-fail
ok "readyz: unbound forwards privatelink.openai.azure.com to plinkfwd" \
	start_onprem_unbound privatelink.openai.azure.com
onprem=$LAST_PID
plinkfwd_conf "$T/ready.conf" 127.0.0.41@5310 "    loop-ready-fail: yes"
ok "readyz: plinkfwd starts with loop-ready-fail: yes" start_plinkfwd "$T/ready.conf"
ok "readyz: the probe came back" wait_until test "$(probe_state privatelink.openai.azure.com.)" = loops
is "$(ready_code)" 503 "readyz: 503 while a probed route loops"
like "$(healthz readyz)" 'forwarding loop: zone privatelink\.openai\.azure\.com\. through group default' \
	"readyz: the text names the route"
probes=$(status_json | python3 -c 'import json,sys; print(sum(r["probes"] for r in json.load(sys.stdin)["loops"]["routes"]))')
sighup_plinkfwd
ok "readyz: reloaded" wait_log 'reloaded .*ready\.conf' 10
probes2=$(status_json | python3 -c 'import json,sys; print(sum(r["probes"] for r in json.load(sys.stdin)["loops"]["routes"]))')
is "$probes2" "$probes" "readyz: a reload within loop-probe-interval sends no probe again"
is "$(ready_code)" 503 "readyz: still not ready after the reload (the route still loops)"
stop_plinkfwd
stop_pid "$onprem"

# ------------------------------------------------------------ -t
cat >"$T/self.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
upstream: default
    server: 127.0.0.1@$PORT
EOF
out=$("$PLINKFWD" -t -c "$T/self.conf" 2>&1)
is "$?" 1 "-t: an upstream that is plinkfwd's own listener is an error"
like "$out" "self\\.conf:4: upstream default: server 127\\.0\\.0\\.1@$PORT is plinkfwd's own listen: 127\\.0\\.0\\.1@$PORT \\(line 2\\)" \
	"-t: ... with the server's line and the listener's"
cat >"$T/wild.conf" <<EOF
server:
    listen: 0.0.0.0@$PORT
upstream: onprem
    server: 127.0.0.9@$PORT
EOF
out=$("$PLINKFWD" -t -c "$T/wild.conf" 2>&1)
is "$?" 1 "-t: a loopback upstream on the port of a wildcard listener is an error"
like "$out" "wild\\.conf:4: upstream onprem: server 127\\.0\\.0\\.9@$PORT is plinkfwd's own listen: 0\\.0\\.0\\.0@$PORT" \
	"-t: ... naming the wildcard listener"
cat >"$T/warn.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    allow: 127.20.0.0/16
upstream: onprem
    server: 127.20.1.53
forward: corp.example
    to: onprem
EOF
out=$("$PLINKFWD" -t -c "$T/warn.conf" 2>&1)
is "$?" 0 "-t: a forward rule whose server is an allowed client passes"
like "$out" "warn\\.conf:6: warning: forward: corp\\.example\\. sends to group onprem, whose server 127\\.20\\.1\\.53@53 may also query plinkfwd \\(allow: 127\\.20\\.0\\.0/16, line 3\\)" \
	"-t: ... with a warning that says why"

done_testing
