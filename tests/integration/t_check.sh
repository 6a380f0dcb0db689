# t_check.sh -- plinkfwd-ctl check NAME [--connect PORT] [--json]: the
# daemon is asked over DNS through its own policy (here: a private endpoint
# zone from the test ARM server, and NSD as the public "default" group for
# the CNAME splice), then explains the chain; --connect opens TCP to each
# final address.  The endpoints point at loopback addresses (127.0.0.2x),
# served because they come from a synced zone; a listener the test starts
# answers on one, nothing listens on another, and a third never accepts.
# Exit codes: 0 private (and reachable), 4 public, 5 does not resolve,
# 6 private but unreachable.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

. "$LIBDIR/peers/splice/peers.sh"
start_splice_peers

# the listener: logs every connection it accepts
cat >"$T/listener.py" <<'EOF'
import socket, sys
addr, port, log, backlog_full = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "full"
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
if backlog_full:
    # never accepts: once its queue is full a new SYN is dropped (timed out)
    s.listen(0)
    fill = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex((addr, port))
        fill.append(c)
    open(log, "a").write("full\n")
    while True:
        socket.socket().close()
        import time; time.sleep(3600)
s.listen(16)
while True:
    c, peer = s.accept()
    with open(log, "a") as f:
        f.write("accepted %s\n" % peer[0])
    c.close()
EOF
spawn listener python3 "$T/listener.py" 127.0.0.21 8443 "$T/accepted.log" open
ok "a TCP listener on 127.0.0.21:8443" wait_port 8443 tcp 5
spawn blackhole python3 "$T/listener.py" 127.0.0.23 8443 "$T/blackhole.log" full
ok "a listener that never accepts on 127.0.0.23:8443" wait_until test -s "$T/blackhole.log"

ok "fake ARM server starts" arm_start_fake
ok "endpoint acct (public spelling) -> 127.0.0.21" arm_ctl '{"op":"add_pe","sub":"'$ARM_SUB'","rg":"rg-ai","name":"pe-foundry","fqdns":{"acct.openai.azure.com":["127.0.0.21"]}}'
ok "endpoint closed -> 127.0.0.22" arm_ctl '{"op":"add_pe","sub":"'$ARM_SUB'","rg":"rg-ai","name":"pe-closed","fqdns":{"closed.privatelink.openai.azure.com":["127.0.0.22"]}}'
ok "endpoint stuck -> 127.0.0.23" arm_ctl '{"op":"add_pe","sub":"'$ARM_SUB'","rg":"rg-ai","name":"pe-stuck","fqdns":{"stuck.privatelink.openai.azure.com":["127.0.0.23"]}}'
ok "Pending endpoint acct2" arm_ctl '{"op":"add_pe","sub":"'$ARM_SUB'","rg":"rg-ai","name":"pe-waiting","manual":true,"status":"Pending","fqdns":{"acct2.openai.azure.com":["127.0.0.24"]}}'

mkdir -p "$T/run"
arm_conf "$T/arm.conf" "interval: 3600" "private-endpoints: yes" "@control-socket: $T/run/control.sock" "@workers: 1"
cat >>"$T/arm.conf" <<EOF
upstream: default
    server: 127.0.0.11@5301
EOF
mark=$(log_mark)
ok "plinkfwd starts" start_plinkfwd "$T/arm.conf"
ok "first sync completes" arm_wait_sync "$mark"

check() {
	CHECK_OUT=$("$CTL" -s "$T/run/control.sock" check "$@" 2>"$T/check.err")
	CHECK_RC=$?
	CHECK_ERR=$(cat "$T/check.err")
}

# ------------------------------------------------------------ private and reachable, through the splice
check acct.openai.azure.com --connect 8443
is "$CHECK_RC" 0 "public name of an Approved endpoint, listener up: exit 0"
like "$CHECK_OUT" 'acct\.openai\.azure\.com\. [0-9]+ IN CNAME acct\.privatelink\.openai\.azure\.com\.' "the chain: the public CNAME"
like "$CHECK_OUT" 'from upstream group default' "... and where it came from"
like "$CHECK_OUT" 'acct\.privatelink\.openai\.azure\.com\. [0-9]+ IN A 127\.0\.0\.21' "the chain: the endpoint's address"
like "$CHECK_OUT" "from private endpoint /subscriptions/$ARM_SUB/resourceGroups/rg-ai/providers/Microsoft\\.Network/privateEndpoints/pe-foundry \\(connection Approved\\)" \
	"... named by its private endpoint"
like "$CHECK_OUT" '127\.0\.0\.21  private \(synced record\)  tcp/8443: connected' "private (a synced record), connected"
like "$CHECK_OUT" 'result: private and reachable \(exit 0\)' "the result line"
ok "the listener saw the connection" grep -q 'accepted 127\.0\.0\.' "$T/accepted.log"

# ------------------------------------------------------------ JSON
check acct.openai.azure.com --connect 8443 --json
is "$CHECK_RC" 0 "--json: the same exit"
ok "--json: one JSON object with the result, the address and the connection" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["ok"] and o["result"] == "private" and o["exit"] == 0
assert o["addresses"][0] == {"address": "127.0.0.21", "private": True, "why": "synced record"}, o["addresses"]
assert o["connect"][0]["result"] == "connected"
assert any(c["rr"].startswith("acct.openai.azure.com.") for c in o["chain"])
' "$CHECK_OUT"

# ------------------------------------------------------------ unreachable
check closed.privatelink.openai.azure.com --connect 8443
is "$CHECK_RC" 6 "nothing listens on the address: exit 6"
like "$CHECK_OUT" '127\.0\.0\.22  private \(synced record\)  tcp/8443: refused' "refused"
check stuck.privatelink.openai.azure.com --connect 8443
is "$CHECK_RC" 6 "a listener that never accepts: exit 6"
like "$CHECK_OUT" '127\.0\.0\.23  private \(synced record\)  tcp/8443: timed out' "timed out"
check closed.privatelink.openai.azure.com
is "$CHECK_RC" 0 "without --connect the address is only classified: exit 0"

# ------------------------------------------------------------ public, unresolved, not Approved
check plain.openai.azure.com
is "$CHECK_RC" 4 "a public answer: exit 4"
like "$CHECK_OUT" '192\.0\.2\.1  PUBLIC' "the address is shown as public"
check nothere.privatelink.openai.azure.com
is "$CHECK_RC" 5 "a name the zone does not have: exit 5"
like "$CHECK_OUT" 'result: does not resolve' "does not resolve"
check acct2.privatelink.openai.azure.com
is "$CHECK_RC" 5 "a Pending endpoint's name: exit 5"
like "$CHECK_OUT" "acct2\\.openai\\.azure\\.com: private endpoint pe-waiting \\(subscription $ARM_SUB, resource group rg-ai\\) is Pending approval: not served" \
	"the reason it is not served"

# ------------------------------------------------------------ usage
check acct.openai.azure.com --connect 0
is "$CHECK_RC" 2 "--connect 0: usage error"
"$CTL" -s "$T/run/control.sock" status --connect 443 >/dev/null 2>&1
is "$?" 2 "--connect with another command: usage error"

stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"
done_testing
