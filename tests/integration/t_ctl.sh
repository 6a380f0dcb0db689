# t_ctl.sh -- plinkfwd-ctl against a running daemon: every command, text and
# --json output, exit codes, options before and after the command, reload
# with a bad config (file:line, old config keeps serving; found through -c
# even when the config no longer parses; status and /metrics record it), explain for a local, a forwarded, a catalogue, a fallback,
# a spliced and an ARM-synced name (every record with where it came from:
# file and line, ARM record-set id, upstream group), sync and zones with the
# fake ARM server (per-zone last error), and the control socket's
# permissions and life cycle.
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

# follows TEXT ERE1 ERE2 DESC  passes when a line of TEXT matching ERE1 is
# directly followed by a line matching ERE2 (a record and its origin)
follows() {
	if printf '%s\n' "$1" | A=$2 B=$3 awk 'p && $0 ~ ENVIRON["B"] { f = 1 } { p = $0 ~ ENVIRON["A"] } END { exit !f }'; then
		pass "$4"
	else
		fail "$4" "no line matching: $2" "followed by one matching: $3" "in:" "$1"
	fi
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
; public aliases into names plinkfwd serves: a zone file, and a synced zone
alias   IN CNAME contoso-foundry.privatelink.openai.azure.com.
salias  IN CNAME mystorage.privatelink.blob.core.windows.net.
EOF

cat >"$T/fb.test.zone" <<'EOF'
$ORIGIN fb.test.
$TTL 300
@       IN SOA  ns.fb.test. hostmaster.fb.test. 7 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
here    IN A    192.0.2.7
*.wild  IN A    192.0.2.9
EOF

write_conf() { # FILE [EXTRA-SERVER-LINE...]
	local f=$1 l
	shift
	{
		echo "server:"
		echo "    listen: 127.0.0.1@$PORT"
		echo "    workers: 2"
		echo "    control-socket: $SOCK"
		echo "    http-listen: 127.0.0.1@$((PORT + 1000))"
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

# the public view of fb.test, which plinkfwd serves with fallback: public
cat >"$T/fb.test.public.zone" <<'EOF'
$ORIGIN fb.test.
$TTL 300
@       IN SOA  ns.fb.test. hostmaster.fb.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
public  IN A    192.0.2.77
EOF

ok "NSD upstream starts" start_nsd "$UPSTREAM" lab.test="$T/lab.test.zone" fb.test="$T/fb.test.public.zone"
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
like "$CTL_OUT" '^cache\.evictions 0$' "stats text: cache evictions (none in a 64 MiB cache)"

# ------------------------------------------------------------ zones
ctl zones
is "$CTL_RC" 0 "zones: exit 0"
like "$CTL_OUT" '^privatelink\.openai\.azure\.com\. +file +6 +1 ' "zones: demo zone, file, 6 records, serial 1"
like "$CTL_OUT" "^fb\\.test\\. +file +5 +7 .*$T/fb\\.test\\.zone\$" "zones: fb.test with its file"
ctl --json zones
is "$(json '[z["name"] for z in j["zones"]]')" "['privatelink.openai.azure.com.', 'fb.test.']" "zones --json: names"
is "$(json 'j["zones"][1]["fallback"]')" public "zones --json: fallback"

# ------------------------------------------------------------ explain
ctl explain _dns.Resolver.ARPA SVCB
is "$CTL_RC" 0 "explain resolver.arpa: exit 0"
like "$CTL_OUT" '^1\. resolver\.arpa: .*never forwarded \(RFC 9462\)' "explain resolver.arpa: answered here, never forwarded (any case)"
like "$CTL_OUT" '^answered by: local$' "explain resolver.arpa: answered by local"
unlike "$CTL_OUT" '^[0-9]+\. (route|forward)' "explain resolver.arpa: no route or forwarding step"
ctl explain contoso-openai-prod.privatelink.openai.azure.com A
is "$CTL_RC" 0 "explain local: exit 0"
like "$CTL_OUT" '^1\. route: matches privatelink\.openai\.azure\.com\. \(zone-file\)' "explain local: the zone matched"
like "$CTL_OUT" "from $SRCDIR/zones/privatelink\\.openai\\.azure\\.com\\.zone \\($T/plinkfwd.conf:1[0-9]\\)" \
	"explain local: zone file and config line"
like "$CTL_OUT" 'CNAME[[:space:]]+contoso-foundry\.privatelink\.openai\.azure\.com\.' "explain local: the CNAME step"
like "$CTL_OUT" 'IN[[:space:]]+A[[:space:]]+10\.0\.1\.5' "explain local: the private address"
like "$CTL_OUT" '^answered by: local$' "explain local: answered by local"
# in the demo zone file the CNAME is on line 29 and the address on line 23
ZF=$SRCDIR/zones/privatelink.openai.azure.com.zone
follows "$CTL_OUT" 'IN CNAME contoso-foundry\.privatelink\.openai\.azure\.com\.$' "^ +from $ZF:29\$" \
	"explain local: the CNAME with its file and line"
follows "$CTL_OUT" 'IN A 10\.0\.1\.5$' "^ +from $ZF:23\$" "explain local: the address with its file and line"
ctl --json explain contoso-foundry.privatelink.openai.azure.com TXT
is "$(json '[(o["source"], o["line"]) for o in j["steps"][1]["origins"]]')" "[('zone-file', 25)]" \
	"explain --json: origins[] gives the source and line of each record"
is "$(json 'j["steps"][1]["origins"][0]["file"]')" "$ZF" "explain --json: the zone file"

# A spliced answer: the public CNAME from the lab group, the address from
# the zone file.  Every step of the chain says where it came from.
q alias.lab.test A
like "$Q_ANSWER" 'IN A 10\.0\.1\.5$' "spliced: the public alias gets the private address"
ctl explain alias.lab.test
like "$CTL_OUT" '^2\. cache: hit \(NOERROR\)$' "explain spliced: the completed answer is cached"
follows "$CTL_OUT" '^   alias\.lab\.test\. [0-9]+ IN CNAME contoso-foundry\.privatelink\.openai\.azure\.com\.$' \
	'^ +from upstream group lab$' "explain spliced: the CNAME came from the lab group"
follows "$CTL_OUT" '^ +from upstream group lab$' '^ +servers of the group: 127\.0\.0\.2@5301$' \
	"explain spliced: ... and its server"
follows "$CTL_OUT" '^   contoso-foundry\.privatelink\.openai\.azure\.com\. [0-9]+ IN A 10\.0\.1\.5$' \
	'^ +from zone privatelink\.openai\.azure\.com\. \(zone file\)$' "explain spliced: the address came from the zone"
follows "$CTL_OUT" '^ +from zone privatelink\.openai\.azure\.com\. \(zone file\)$' "^ +at $ZF:23\$" \
	"explain spliced: ... file and line"
ctl --json explain alias.lab.test
is "$(json '[(r["origin"]["source"], r["origin"].get("line")) for r in j["steps"][1]["records"]]')" \
	"[('upstream', None), ('zone-file', 23)]" "explain spliced --json: one origin per step of the chain"

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

ctl explain any.wild.fb.test
follows "$CTL_OUT" '^   any\.wild\.fb\.test\. [0-9]+ IN A 192\.0\.2\.9$' "^ +from $T/fb\\.test\\.zone:7\$" \
	"explain a wildcard answer: the wildcard's line"
like "$CTL_OUT" '^ +\(synthesized from the wildcard \*\.wild\.fb\.test\.\)$' "explain a wildcard answer: says so"

ctl explain missing.fb.test
like "$CTL_OUT" '^2\. zone answer: NXDOMAIN' "explain fallback: NXDOMAIN in the zone"
like "$CTL_OUT" '^[34]\. forward to group default: fallback: public' "explain fallback: forwarded to default"
q public.fb.test A
like "$Q_ANSWER" 'IN A 192\.0\.2\.77$' "fallback: a name the zone lacks gets the public answer"
ctl explain public.fb.test
follows "$CTL_OUT" '^   public\.fb\.test\. [0-9]+ IN A 192\.0\.2\.77$' '^ +from upstream group default \(fallback: public\)$' \
	"explain a fallback answer: the record came from the default group, not from the zone"

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
like "$CTL_ERR" "reload failed: $T/plinkfwd\\.conf:6: unknown key 'bogus-key'" "reload with a bad config: file:line: message"
q contoso-foundry.privatelink.openai.azure.com A
like "$Q_ANSWER" 'IN A 10\.0\.1\.5$' "the old configuration keeps serving"
ctl --json status
is "$(json 'j["reload"]["failed"]')" 2 "status: two failed reloads"
like "$(json 'j["reload"]["last_error"]')" "plinkfwd\\.conf:6: unknown key" "status: the last reload error"
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

# ------------------------------------------------------------ reload through -c with a config that does not parse
# An admin breaks the file the daemon runs with, above its control-socket:
# line.  plinkfwd-ctl -c still finds the socket (a scan of the server:
# clause, not a parse), so the daemon is asked and reports the error itself.
ctlc() { # like ctl, through -c CONFIG instead of -s SOCKET
	CTL_OUT=$("$CTL" -c "$T/plinkfwd.conf" "$@" 2>"$T/ctl.err")
	CTL_RC=$?
	CTL_ERR=$(cat "$T/ctl.err")
}
ctlc --json status
failed_before=$(json 'j["reload"]["failed"]')
write_conf "$T/plinkfwd.conf"
sed -i '2i\    workers 4' "$T/plinkfwd.conf" # no colon: a syntax error on line 2
not_ok "the broken config does not parse" quiet "$PLINKFWD" -t -c "$T/plinkfwd.conf"
ctlc reload
is "$CTL_RC" 1 "reload -c with a syntax error: exit 1 (the daemon was reached and said no)"
like "$CTL_ERR" "^plinkfwd-ctl: reload failed: $T/plinkfwd\\.conf:2: expected 'key: value'" \
	"reload -c with a syntax error: the daemon's file:line: message"
ctlc status
is "$CTL_RC" 0 "status -c with a broken config: exit 0"
like "$CTL_OUT" "^reloads +[0-9]+ ok, $((failed_before + 1)) failed; the last one \\([0-9]{4}-[0-9-]+T[0-9:]+Z\\) failed: $T/plinkfwd\\.conf:2: expected 'key: value'\$" \
	"status -c: the failed reload, when, and why"
ctlc --json status
is "$(json 'j["reload"]["last_result"], j["reload"]["failed"], j["reload"]["last_time"] > 0')" \
	"('failed', $((failed_before + 1)), True)" "status --json: last_result failed, counted, with its time"
is "$(metric_value 'plinkfwd_config_last_reload_successful')" 0 "metrics: last reload not successful"
is "$(metric_value 'plinkfwd_reloads_total{result="failed"}')" $((failed_before + 1)) "metrics: the failed reload counted"
q contoso-foundry.privatelink.openai.azure.com A
like "$Q_ANSWER" 'IN A 10\.0\.1\.5$' "broken config: the running one keeps serving"
write_conf "$T/plinkfwd.conf"
printf 'zone: lab.test\n    file: %s\n' "$T/lab.test.zone" >>"$T/plinkfwd.conf"
ctlc reload
is "$CTL_RC" 0 "reload -c once fixed: exit 0"
ctlc status
like "$CTL_OUT" '^reloads +[0-9]+ ok, [0-9]+ failed; the last one \([0-9]{4}-[0-9-]+T[0-9:]+Z\) succeeded$' \
	"status: the last reload succeeded"
is "$(metric_value 'plinkfwd_config_last_reload_successful')" 1 "metrics: last reload successful again"
sed "s|^    control-socket: .*|    # control-socket: $SOCK|" "$T/plinkfwd.conf" >"$T/nosock.conf"
"$CTL" -c "$T/nosock.conf" status >/dev/null 2>"$T/ctl.err"
is "$?" 3 "-c with a config naming no control socket: exit 3"
like "$(cat "$T/ctl.err")" "nosock\\.conf has no control-socket: in its server: clause \\(or use -s\\)" \
	"-c with no control-socket: says so"
"$CTL" -c "$T/no-such.conf" status >/dev/null 2>"$T/ctl.err"
is "$?" 3 "-c with a missing config: exit 3"
like "$(cat "$T/ctl.err")" "no-such\\.conf: cannot open: No such file" "-c with a missing config: names the file"

# ------------------------------------------------------------ options before and after the command
ctl status -j
is "$CTL_RC" 0 "status -j: exit 0"
is "$(json 'j["ok"], j["pid"]')" "(True, $PLINKFWD_PID)" "status -j: the JSON answer"
ctl -j status
is "$(json 'j["ok"], j["pid"]')" "(True, $PLINKFWD_PID)" "-j status: the same answer"
CTL_OUT=$("$CTL" status --socket "$SOCK" --json 2>"$T/ctl.err")
is "$(json 'j["ok"]')" True "status --socket PATH --json: long options after the command"
ctl explain www.lab.test -j TXT
is "$(json 'j["name"], j["type"]')" "('www.lab.test.', 'TXT')" "explain NAME -j TYPE: an option between arguments"
ctl status -x
is "$CTL_RC" 2 "an unknown option after the command: exit 2"
like "$CTL_ERR" "^plinkfwd-ctl: unknown option '-x' \\(options: " "an unknown option: named"
ctl --frobnicate status
is "$CTL_RC" 2 "an unknown long option: exit 2"
like "$CTL_ERR" "unknown option '--frobnicate'" "an unknown long option: named"
ctl status -t
is "$CTL_RC" 2 "an option missing its value: exit 2"
like "$CTL_ERR" "option -t needs a value" "an option missing its value: says so"
ctl status --json=yes
is "$CTL_RC" 2 "a value given to a flag: exit 2"
like "$CTL_ERR" "option --json takes no value" "a value given to a flag: says so"
ctl -- status -j
is "$CTL_RC" 1 "after '--', -j is an argument the daemon refuses: exit 1"
like "$CTL_ERR" "'status' takes no argument, not '-j', which looks like an option" \
	"after '--': the daemon names the stray word"
ctl explain
is "$CTL_RC" 1 "explain without a name: exit 1"
like "$CTL_ERR" "'explain' needs an argument \\(usage: explain NAME \\[TYPE\\]\\)" "explain without a name: the usage"

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
like "$CTL_ERR" "'status' takes no argument, not 'extra' \\(usage: status\\)" "wrong argument count: says which word"
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
ok "add a second synced zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-kv","zone":"privatelink.vaultcore.azure.net","a":{"kv1":"10.1.3.4"},"ttl":300}'
arm_conf "$T/arm.conf" "@control-socket: $SOCK" "interval: 3600" "max-retries: 0"
# the public side for a spliced name: lab.test's alias into the synced zone
printf 'upstream: lab\n    server: %s\nforward: lab.test\n    to: lab\n' "$UPSTREAM" >>"$T/arm.conf"
ZID=/subscriptions/$ARM_SUB/resourceGroups/rg-net/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net
mark=$(log_mark)
ok "plinkfwd starts with an arm: clause" start_plinkfwd "$T/arm.conf"
ok "first sync completes" arm_wait_sync "$mark"
ctl zones
like "$CTL_OUT" '^privatelink\.blob\.core\.windows\.net\. +arm +[0-9]+ +[0-9]+ +[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ +[0-9]+s +-$' \
	"zones: synced zone with its last sync and no error"
like "$CTL_OUT" '^ +subscription 00000000-0000-0000-0000-00000000aaaa, resource group rg-net$' \
	"zones: the subscription and resource group of a synced zone"
like "$CTL_OUT" '^arm sync: idle, last success [0-9]{4}-' "zones: ARM summary line"
ctl --json zones
is "$(json '[(z["name"], z["served"], z["last_error"], z["record_sets"]) for z in j["zones"]]')" \
	"[('privatelink.blob.core.windows.net.', True, None, 2), ('privatelink.vaultcore.azure.net.', True, None, 2)]" \
	"zones --json: per-zone state (SOA and A record sets)"
is "$(json 'j["zones"][0]["sources"][0]["id"]')" "$ZID" "zones --json: the zone's ARM resource id"
is "$(json 'j["zones"][0]["sources"][0]["resource_group"], j["zones"][0]["last_sync"] == j["zones"][0]["last_attempt"]')" \
	"('rg-net', True)" "zones --json: resource group, last sync = last attempt"

ctl explain mystorage.privatelink.blob.core.windows.net
like "$CTL_OUT" 'matches privatelink\.blob\.core\.windows\.net\. \(arm\)' "explain synced: ARM zone matched"
like "$CTL_OUT" 'synced from ARM' "explain synced: source"
like "$CTL_OUT" 'IN[[:space:]]+A[[:space:]]+10\.1\.2\.3' "explain synced: the record"
follows "$CTL_OUT" 'IN A 10\.1\.2\.3$' "^ +from ARM record set $ZID/A/mystorage\$" "explain synced: the ARM record-set id"
like "$CTL_OUT" '^answered by: synced$' "explain synced: answered by synced"
ctl --json explain privatelink.blob.core.windows.net SOA
is "$(json 'j["steps"][1]["origins"][0]["arm_id"]')" "$ZID/SOA/@" "explain synced --json: the SOA's record set"
like "$(json 'j["steps"][1]["origins"][0]["file"]')" "/state/privatelink\\.blob\\.core\\.windows\\.net\\.zone\$" \
	"explain synced --json: read from the saved zone file"

q salias.lab.test A
like "$Q_ANSWER" 'IN A 10\.1\.2\.3$' "spliced into a synced zone: the private address"
ctl explain salias.lab.test
follows "$CTL_OUT" '^   salias\.lab\.test\. [0-9]+ IN CNAME mystorage\.privatelink\.blob\.core\.windows\.net\.$' \
	'^ +from upstream group lab$' "explain spliced (synced): the CNAME came from the lab group"
follows "$CTL_OUT" '^   mystorage\.privatelink\.blob\.core\.windows\.net\. [0-9]+ IN A 10\.1\.2\.3$' \
	'^ +from zone privatelink\.blob\.core\.windows\.net\. \(synced from ARM\)$' "explain spliced (synced): the address from the synced zone"
follows "$CTL_OUT" '^ +from zone privatelink\.blob\.core\.windows\.net\. \(synced from ARM\)$' \
	"^ +ARM record set $ZID/A/mystorage\$" "explain spliced (synced): ... and its ARM record set"

ok "change the record in ARM" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.blob.core.windows.net","name":"mystorage","ip":"10.1.2.99","ttl":300}'
mark=$(log_mark)
ctl sync privatelink.blob.core.windows.net
is "$CTL_RC" 0 "sync ZONE: exit 0"
ok "the triggered sync completes" arm_wait_sync "$mark"
q mystorage.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.1\.2\.99$' "sync: the changed record is served"
ctl explain mystorage.privatelink.blob.core.windows.net
follows "$CTL_OUT" 'IN A 10\.1\.2\.99$' "^ +from ARM record set $ZID/A/mystorage\$" "explain after a resync: the record set id"
ctl --json status
is "$(json 'j["zones"]["synced"], j["arm"]["rounds"] >= 2')" "(2, True)" "status: synced zones and rounds"
ctl sync "a..b"
is "$CTL_RC" 1 "sync with a malformed zone name: exit 1"

# ------------------------------------------------------------ ARM: per-zone errors in zones
# One zone's record listing turns into malformed JSON, a new zone is denied
# (403): each shows its own last error; the other zone stays clean.
ok "ARM sends malformed JSON for one zone" arm_ctl '{"op":"fail","match":"privatelink.vaultcore.azure.net/ALL","count":-1,"malformed":true}'
ok "a new zone in ARM" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-q","zone":"privatelink.queue.core.windows.net","a":{"q1":"10.1.4.5"},"ttl":300}'
ok "ARM denies its record listing" arm_ctl '{"op":"fail","match":"privatelink.queue.core.windows.net/ALL","count":-1,"status":403}'
mark=$(log_mark)
ctl sync
ok "the sync round ends (with errors)" arm_wait_sync "$mark"
ctl zones
like "$CTL_OUT" '^privatelink\.vaultcore\.azure\.net\. +arm +[0-9]+ .*malformed JSON from ARM \(page 1, [0-9]+ bytes\)$' \
	"zones: the zone with malformed JSON shows it as its last error"
like "$CTL_OUT" '^privatelink\.blob\.core\.windows\.net\. +arm .* -$' "zones: the other zone has no error"
like "$CTL_OUT" '^privatelink\.queue\.core\.windows\.net\. +arm +0 +- +never .*HTTP 403 AuthorizationFailed' \
	"zones: a zone never served, with its 403"
like "$CTL_OUT" '^ +not served: no listing of it has succeeded yet$' "zones: says it is not served"
like "$CTL_OUT" '^arm sync: the last round failed: listing record sets of zone ' "zones: the round's first error"
ctl --json zones
is "$(json '[(z["name"], z["served"], z["consecutive_failures"]) for z in j["zones"]]')" \
	"[('privatelink.blob.core.windows.net.', True, 0), ('privatelink.vaultcore.azure.net.', True, 1), ('privatelink.queue.core.windows.net.', False, 1)]" \
	"zones --json: failures per zone, and the unserved zone listed"
is "$(json 'j["zones"][1]["last_sync"] < j["zones"][1]["last_attempt"] and j["zones"][1]["last_sync"] > 0')" True \
	"zones --json: the failed zone's last success is older than its last attempt"
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.1\.3\.4$' "the failed zone keeps serving its last good copy"
ctl explain kv1.privatelink.vaultcore.azure.net
like "$CTL_OUT" '^   its last listing failed \(the copy of [0-9-]+T[0-9:]+Z is served\): malformed JSON' \
	"explain: the zone's last error"

ok "ARM recovers" arm_ctl '{"op":"clear_faults"}'
mark=$(log_mark)
ctl sync
ok "the next round completes" arm_wait_sync "$mark"
ctl --json zones
is "$(json '[(z["last_error"], z["consecutive_failures"], z["served"]) for z in j["zones"]]')" \
	"[(None, 0, True), (None, 0, True), (None, 0, True)]" "zones --json: errors cleared by a good listing"

done_testing
