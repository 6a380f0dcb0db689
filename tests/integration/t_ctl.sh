# t_ctl.sh -- plinkfwd-ctl against a running daemon: every command, text and
# --json output, exit codes, reload with a bad config (file:line, old config
# keeps serving), explain for a local, a forwarded, a catalogue, a fallback
# and an ARM-synced name, sync and zones with the fake ARM server, and the
# control socket's permissions and life cycle.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

CTL=${PLINKFWD_CTL:-$BUILDDIR/plinkfwd-ctl}
SOCK=$T/run/control.sock
mkdir -p "$T/run"
UPSTREAM=127.0.0.2@5301

# ctl ARGS...  runs plinkfwd-ctl on $SOCK; CTL_OUT, CTL_ERR, CTL_RC
ctl() {
	CTL_OUT=$("$CTL" -s "$SOCK" "$@" 2>"$T/ctl.err")
	CTL_RC=$?
	CTL_ERR=$(cat "$T/ctl.err")
}

# json EXPR  evaluates a python expression over j = the last --json answer
json() {
	printf '%s' "$CTL_OUT" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.80
EOF

cat >"$T/fb.test.zone" <<'EOF'
$ORIGIN fb.test.
$TTL 300
@       IN SOA  ns.fb.test. hostmaster.fb.test. 7 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
here    IN A    192.0.2.7
EOF

write_conf() { # FILE [EXTRA-SERVER-LINE...]
	local f=$1 l
	shift
	{
		echo "server:"
		echo "    listen: 127.0.0.1@$PORT"
		echo "    workers: 2"
		echo "    control-socket: $SOCK"
		for l in "$@"; do echo "    $l"; done
		echo "upstream: lab"
		echo "    server: $UPSTREAM"
		echo "upstream: default"
		echo "    server: $UPSTREAM"
		echo "forward: lab.test"
		echo "    to: lab"
		echo "zone: privatelink.openai.azure.com"
		echo "    file: $SRCDIR/zones/privatelink.openai.azure.com.zone"
		echo "zone: fb.test"
		echo "    file: $T/fb.test.zone"
		echo "    fallback: public"
	} >"$f"
}

ok "NSD upstream starts" start_nsd "$UPSTREAM" lab.test="$T/lab.test.zone"
write_conf "$T/plinkfwd.conf"
ok "plinkfwd starts with a control socket" start_plinkfwd "$T/plinkfwd.conf"

# ------------------------------------------------------------ socket
is "$(stat -c %a "$SOCK")" 600 "control socket has mode 0600"
is "$(stat -c %F "$SOCK")" socket "control socket is a socket"

# ------------------------------------------------------------ status
ctl status
is "$CTL_RC" 0 "status: exit 0"
like "$CTL_OUT" '^version +plinkfwd [0-9]' "status: version"
like "$CTL_OUT" '^workers +2$' "status: workers"
like "$CTL_OUT" "^listen +127\\.0\\.0\\.1@$PORT\$" "status: listeners"
like "$CTL_OUT" "^config +$T/plinkfwd.conf " "status: config file"
like "$CTL_OUT" '^zones +2 from files, 0 synced$' "status: zones"
like "$CTL_OUT" '^health +ok$' "status: health"
like "$CTL_OUT" '^uptime +[0-9]+s' "status: uptime"
ctl --json status
is "$CTL_RC" 0 "status --json: exit 0"
is "$(json 'j["ok"] and j["workers"]')" 2 "status --json: ok, workers 2"
is "$(json 'j["reload"]["ok"], j["reload"]["failed"], j["reload"]["last_error"]')" "(0, 0, None)" \
	"status --json: no reload yet"
is "$(json 'j["pid"]')" "$PLINKFWD_PID" "status --json: pid is the daemon's"

# ------------------------------------------------------------ stats
ctl --json stats
base_local=$(json 'j["answers"]["udp"]["local"]["NOERROR"]')
base_nx=$(json 'j["answers"]["udp"]["local"]["NXDOMAIN"]')
for i in 1 2 3 4 5 6 7; do q contoso-foundry.privatelink.openai.azure.com A; done
for i in 1 2 3; do q nosuch.privatelink.openai.azure.com A; done
q www.lab.test A
q ns.lab.test A
q contoso-foundry.privatelink.openai.azure.com A +tcp
ctl --json stats
is "$CTL_RC" 0 "stats: exit 0"
is "$(json 'j["answers"]["udp"]["local"]["NOERROR"]')" $((base_local + 7)) "stats: 7 local NOERROR answers over UDP"
is "$(json 'j["answers"]["udp"]["local"]["NXDOMAIN"]')" $((base_nx + 3)) "stats: 3 local NXDOMAIN answers"
is "$(json 'j["answers"]["tcp"]["local"]["NOERROR"]')" 1 "stats: 1 local answer over TCP"
is "$(json 'j["answers"]["udp"]["upstream"]["NOERROR"]')" 2 "stats: 2 upstream answers"
is "$(json 'j["upstream"]["lab"]["answered"]')" 2 "stats: group lab answered 2"
ctl stats
like "$CTL_OUT" '^answers\.udp\.local\.NOERROR [0-9]+$' "stats text: flat key value lines"
like "$CTL_OUT" '^upstream\.lab\.answered 2$' "stats text: per-group line"

# ------------------------------------------------------------ zones
ctl zones
is "$CTL_RC" 0 "zones: exit 0"
like "$CTL_OUT" '^privatelink\.openai\.azure\.com\. +file +6 +1 ' "zones: demo zone, file, 6 records, serial 1"
like "$CTL_OUT" "^fb\\.test\\. +file +4 +7 .*$T/fb\\.test\\.zone\$" "zones: fb.test with its file"
ctl --json zones
is "$(json '[z["name"] for z in j["zones"]]')" "['privatelink.openai.azure.com.', 'fb.test.']" "zones --json: names"
is "$(json 'j["zones"][1]["fallback"]')" public "zones --json: fallback"

# ------------------------------------------------------------ explain
ctl explain contoso-openai-prod.privatelink.openai.azure.com A
is "$CTL_RC" 0 "explain local: exit 0"
like "$CTL_OUT" '^1\. route: matches privatelink\.openai\.azure\.com\. \(zone-file\)' "explain local: the zone matched"
like "$CTL_OUT" "from $SRCDIR/zones/privatelink\\.openai\\.azure\\.com\\.zone \\($T/plinkfwd.conf:1[0-9]\\)" \
	"explain local: zone file and config line"
like "$CTL_OUT" 'CNAME[[:space:]]+contoso-foundry\.privatelink\.openai\.azure\.com\.' "explain local: the CNAME step"
like "$CTL_OUT" 'IN[[:space:]]+A[[:space:]]+10\.0\.1\.5' "explain local: the private address"
like "$CTL_OUT" '^answered by: local$' "explain local: answered by local"

ctl explain nothing-asked.lab.test
like "$CTL_OUT" '^1\. route: matches lab\.test\. \(forward-rule, .*plinkfwd\.conf:[0-9]+\)' "explain forwarded: the rule and its line"
like "$CTL_OUT" '^2\. cache: miss$' "explain forwarded: not in the cache"
like "$CTL_OUT" '^3\. forward to group lab: an admin forward: rule' "explain forwarded: the group"
like "$CTL_OUT" "servers: 127\\.0\\.0\\.2@5301 \\(up, srtt [0-9.]+ ms\\)" "explain forwarded: the server that would be asked, and its health"
like "$CTL_OUT" '^answered by: upstream$' "explain forwarded: answered by upstream"

ctl explain www.lab.test
like "$CTL_OUT" '^2\. cache: hit \(NOERROR\)$' "explain cached: a cache hit"
like "$CTL_OUT" 'www\.lab\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.80' "explain cached: the cached record"
like "$CTL_OUT" '^ +from upstream group lab$' "explain cached: where the record came from"
like "$CTL_OUT" '^answered by: cache$' "explain cached: answered by the cache"
ctl flush lab.test
is "$CTL_RC" 0 "flush NAME: exit 0"
like "$CTL_OUT" '^removed [1-9][0-9]* cache entr(y|ies) at and below lab\.test$' "flush NAME: entries removed"
ctl explain www.lab.test
like "$CTL_OUT" '^2\. cache: miss$' "explain after flush: a miss"

ctl explain acct.privatelink.blob.core.windows.net AAAA
like "$CTL_OUT" '^acct\.privatelink\.blob\.core\.windows\.net\. AAAA$' "explain: name and type echoed"
like "$CTL_OUT" 'matches privatelink\.blob\.core\.windows\.net\. \(catalogue, cloud AzureCloud\)' "explain catalogue: the pattern"
like "$CTL_OUT" 'REFUSED: the group has no server' "explain catalogue: empty azure group refuses"

ctl explain missing.fb.test
like "$CTL_OUT" '^2\. zone answer: NXDOMAIN' "explain fallback: NXDOMAIN in the zone"
like "$CTL_OUT" '^[34]\. forward to group default: fallback: public' "explain fallback: forwarded to default"

ctl --json explain www.example.com TXT
is "$(json '[s["action"] for s in j["steps"]]')" "['route', 'cache', 'forward']" "explain --json: steps"
is "$(json 'j["steps"][0]["origin"], j["type"]')" "('default', 'TXT')" "explain --json: default route, type"

ctl explain "bad..name"
is "$CTL_RC" 1 "explain a malformed name: exit 1"
like "$CTL_ERR" 'not a valid domain name' "explain a malformed name: says why"
ctl explain www.lab.test NOSUCHTYPE
is "$CTL_RC" 1 "explain an unknown type: exit 1"

# ------------------------------------------------------------ reload
write_conf "$T/plinkfwd.conf"
printf 'zone: lab2.test\n    file: %s\n' "$T/fb.test.zone" >>"$T/plinkfwd.conf"
# lab2.test served from a file whose origin is fb.test: a zone file error
ctl reload
is "$CTL_RC" 1 "reload with a bad zone file: exit 1"
like "$CTL_ERR" 'reload failed: .*fb\.test\.zone(:[0-9]+)?: ' "reload with a bad zone file: file in the message"

write_conf "$T/plinkfwd.conf" "bogus-key: 1"
ctl reload
is "$CTL_RC" 1 "reload with a bad config: exit 1"
like "$CTL_ERR" "reload failed: $T/plinkfwd\\.conf:5: unknown key 'bogus-key'" "reload with a bad config: file:line: message"
q contoso-foundry.privatelink.openai.azure.com A
like "$Q_ANSWER" 'IN A 10\.0\.1\.5$' "the old configuration keeps serving"
ctl --json status
is "$(json 'j["reload"]["failed"]')" 2 "status: two failed reloads"
like "$(json 'j["reload"]["last_error"]')" "plinkfwd\\.conf:5: unknown key" "status: the last reload error"
ok "daemon alive after failed reloads" plinkfwd_alive

write_conf "$T/plinkfwd.conf"
printf 'zone: lab.test\n    file: %s\n' "$T/lab.test.zone" >>"$T/plinkfwd.conf"
ctl reload
is "$CTL_RC" 0 "reload with a good config: exit 0"
like "$CTL_OUT" '^reloaded: generation [0-9]+, 3 zones$' "reload: new generation and zone count"
q www.lab.test A
ok "reloaded zone answers authoritatively" q_flag aa
ctl --json status
is "$(json 'j["reload"]["ok"], j["reload"]["last_error"]')" "(1, None)" "status: reload ok clears the error"

# ------------------------------------------------------------ flush, sync
ctl flush
is "$CTL_RC" 0 "flush: exit 0"
like "$CTL_OUT" '^removed [0-9]+ cache entr' "flush: says how many entries went"
ctl --json stats
is "$(json 'j["cache"]["entries"]')" 0 "flush: the cache is empty"
ctl flush "a..b"
is "$CTL_RC" 1 "flush a malformed name: exit 1"
ctl sync
is "$CTL_RC" 1 "sync without arm: exit 1"
like "$CTL_ERR" 'no arm: clause' "sync without arm: says why"

# ------------------------------------------------------------ errors, exit codes
ctl frobnicate
is "$CTL_RC" 1 "unknown command: exit 1"
like "$CTL_ERR" "unknown command 'frobnicate'" "unknown command: named"
ctl status extra
is "$CTL_RC" 1 "wrong argument count: exit 1"
"$CTL" -s "$SOCK" >/dev/null 2>&1
is "$?" 2 "no command: exit 2 (usage)"
"$CTL" -s "$T/run/nothere.sock" status >/dev/null 2>"$T/ctl.err"
is "$?" 3 "no daemon on the socket: exit 3"
like "$(cat "$T/ctl.err")" 'cannot connect' "no daemon: says so"
quiet "$CTL" -c "$T/plinkfwd.conf" status
is "$?" 0 "-c CONFIG finds the socket through control-socket:"
long=$(head -c 5000 /dev/zero | tr '\0' a)
resp=$(printf '%s\n' "$long" | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.makefile().read())' "$SOCK")
like "$resp" '"ok":false.*too long' "a request line over 4 KiB is refused"

# ------------------------------------------------------------ life cycle
spawn second "$PLINKFWD" -f -c "$T/plinkfwd.conf"
second=$LAST_PID
for i in $(seq 50); do kill -0 "$second" 2>/dev/null || break; sleep 0.1; done
wait "$second" 2>/dev/null
isnt "$?" 0 "a second daemon on the same socket exits non-zero"
like "$(cat "$T/second.log")" 'another process is serving it' "second daemon: the socket is in use"
ok "the first daemon still answers on its socket" quiet "$CTL" -s "$SOCK" status
stop_plinkfwd
ok "socket removed on a clean exit" test ! -e "$SOCK"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
ok "plinkfwd starts over a stale socket file" start_plinkfwd "$T/plinkfwd.conf"
ok "and serves control on it" quiet "$CTL" -s "$SOCK" status
stop_plinkfwd
: >"$SOCK.txt"
write_conf "$T/notsock.conf"
sed -i "s|control-socket: .*|control-socket: $SOCK.txt|" "$T/notsock.conf"
not_ok "a control-socket path that is a regular file is not replaced" start_plinkfwd "$T/notsock.conf"
ok "the regular file is still there" test -f "$SOCK.txt"

# ------------------------------------------------------------ ARM: sync, zones, explain synced
if ! command -v openssl >/dev/null 2>&1; then
	skip "ARM sync through the control socket" "openssl missing (fake ARM needs a CA)"
	done_testing
fi
ok "fake ARM server starts" arm_start_fake
ok "add a synced zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-net","zone":"privatelink.blob.core.windows.net","a":{"mystorage":"10.1.2.3"},"ttl":300}'
arm_conf "$T/arm.conf" "@control-socket: $SOCK" "interval: 3600"
mark=$(log_mark)
ok "plinkfwd starts with an arm: clause" start_plinkfwd "$T/arm.conf"
ok "first sync completes" arm_wait_sync "$mark"
ctl zones
like "$CTL_OUT" '^privatelink\.blob\.core\.windows\.net\. +arm +[0-9]+ +[0-9]+ +[0-9]{4}-[0-9]{2}-[0-9]{2}T' "zones: synced zone with its last sync"
like "$CTL_OUT" '^arm sync: idle, last success [0-9]{4}-' "zones: ARM summary line"
ctl explain mystorage.privatelink.blob.core.windows.net
like "$CTL_OUT" 'matches privatelink\.blob\.core\.windows\.net\. \(arm\)' "explain synced: ARM zone matched"
like "$CTL_OUT" 'synced from ARM' "explain synced: source"
like "$CTL_OUT" 'IN[[:space:]]+A[[:space:]]+10\.1\.2\.3' "explain synced: the record"
like "$CTL_OUT" '^answered by: synced$' "explain synced: answered by synced"

ok "change the record in ARM" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.blob.core.windows.net","name":"mystorage","ip":"10.1.2.99","ttl":300}'
mark=$(log_mark)
ctl sync privatelink.blob.core.windows.net
is "$CTL_RC" 0 "sync ZONE: exit 0"
ok "the triggered sync completes" arm_wait_sync "$mark"
q mystorage.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.1\.2\.99$' "sync: the changed record is served"
ctl --json status
is "$(json 'j["zones"]["synced"], j["arm"]["rounds"] >= 2')" "(1, True)" "status: synced zone and rounds"
ctl sync "a..b"
is "$CTL_RC" 1 "sync with a malformed zone name: exit 1"

done_testing
