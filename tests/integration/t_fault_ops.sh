# t_fault_ops.sh -- the fault matrix, operations side (issue: "prove it
# survives"; policy in docs/bad-input.md, "Operations"):
#   - garbage on the control socket: binary bytes, broken lines, a half
#     request then a close, a client that never finishes its line;
#   - 100 control clients at once, every one answered; 200, each answered
#     or told that there are too many;
#   - a reload storm: 100 SIGHUPs within a second while a client asks
#     question after question: no answer lost, no reload failed;
#   - a zone file deleted under a reload: the reload fails with the reason,
#     the old zone keeps serving, the next good reload takes;
#   - SIGUSR1 during an ARM sync: one more round afterwards, not one per
#     signal, and no overlapping rounds;
#   - ARM: a body cut short, a token that expires in the middle of paging
#     (once: a new token and the page again; twice: the listing fails and the
#     zone keeps its last copy);
#   - the state directory read-only, then full: a clear error per zone, the
#     zone keeps serving from memory, the last good zone file stays.
# After each case: the daemon is alive and a correct query gets a correct
# answer.  Nothing here depends on how long anything took.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

SOCK=$T/run/control.sock
mkdir -p "$T/run"

cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@    SOA ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 300
@    NS  ns
ns   A   192.0.2.53
www  A   192.0.2.1
EOF
cp "$T/lab.test.zone" "$T/lab.test.zone.good"

cat >"$T/plinkfwd.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    cloud: none
    control-socket: $SOCK
zone: lab.test
    file: $T/lab.test.zone
EOF

answer() { q www.lab.test A; printf '%s' "$Q_STATUS/$(q_rrs ANSWER | awk '{print $5}')"; }
cstat() { ctl_stat "$1" "$SOCK"; }
# above KEY N: true once the counter KEY is above N (for wait_until)
above() { [ "$(cstat "$1")" -gt "$2" ]; }

ok "plinkfwd starts" start_plinkfwd "$T/plinkfwd.conf"

# ------------------------------------------------------------ garbage on the control socket
# Each case gets either an {"ok":false,...} line or a closed connection;
# the daemon goes on answering DNS and control requests.
resp=$(python3 - "$SOCK" <<'EOF'
import os, socket, sys
path = sys.argv[1]
out = []
def ask(data, close_write=True):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    s.sendall(data)
    if close_write:
        s.shutdown(socket.SHUT_WR)
    buf = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    except (ConnectionResetError, socket.timeout) as e:
        buf += ("<%s>" % type(e).__name__).encode()
    s.close()
    return buf.decode("utf-8", "replace").strip()
out.append("binary=" + ask(bytes(range(256)) + b"\n"))
out.append("nul=" + ask(b"status\x00stats\n"))
out.append("json=" + ask(b'{"cmd": "status"}\n'))
out.append("halfline=" + ask(b"stat"))
out.append("empty=" + ask(b"\n"))
out.append("blanks=" + ask(b"   \t  \n"))
out.append("crlf=" + ask(b"status\r\n"))
out.append("random=" + ask(os.urandom(3000).replace(b"\n", b"x") + b"\n"))
print("\n".join(out))
EOF
)
diag "$resp"
like "$(printf '%s\n' "$resp" | grep '^binary=')" '"ok":false' "control: 256 binary bytes get an error line"
like "$(printf '%s\n' "$resp" | grep '^nul=')" '"ok":false' "control: a NUL inside the line gets an error line"
like "$(printf '%s\n' "$resp" | grep '^json=')" '"ok":false' "control: JSON instead of a command gets an error line"
like "$(printf '%s\n' "$resp" | grep '^random=')" '"ok":false' "control: 3000 random bytes get an error line"
like "$(printf '%s\n' "$resp" | grep '^empty=')" '^empty=(\{"ok":false.*)?$' "control: an empty line: an error or a close"
like "$(printf '%s\n' "$resp" | grep '^halfline=')" '^halfline=(\{"ok":false.*)?$' "control: half a line then EOF: an error or a close"
ok "control: the daemon still runs" plinkfwd_alive
ok "control: plinkfwd-ctl status still works" quiet "$CTL" -s "$SOCK" status
like "$(printf '%s\n' "$resp" | grep '^crlf=')" '"ok":true' "control: a CRLF line is a command like any other"
is "$(answer)" "NOERROR/192.0.2.1" "control: DNS answers are unaffected"

# ------------------------------------------------------------ many control clients at once
# N clients connect before any sends; then each sends "stats" and reads its
# own answer.  Up to 128 are served at once (docs/bad-input.md); beyond
# that a client gets an {"ok":false,...} line saying so, never a bare EOF.
cat >"$T/ctlmany.py" <<'EOF'
import json, socket, sys
socks = []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(60)
    socks.append(s)
for s in socks:
    try:
        s.sendall(b"stats\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused already: its line is waiting to be read
good = busy = other = 0
for s in socks:
    line = s.makefile("rb").readline()
    try:
        j = json.loads(line)
    except ValueError:
        j = {}
    if j.get("ok") is True:
        good += 1
    elif "too many control connections" in j.get("error", ""):
        busy += 1
    else:
        other += 1
    s.close()
print("good=%d busy=%d other=%d" % (good, busy, other))
EOF
is "$(python3 "$T/ctlmany.py" "$SOCK" 100)" "good=100 busy=0 other=0" "100 concurrent control clients: 100 complete answers"
r=$(python3 "$T/ctlmany.py" "$SOCK" 200)
like "$r" 'other=0$' "200 concurrent control clients: each gets an answer or 'too many' ($r)"
good=$(printf '%s' "$r" | sed 's/good=\([0-9]*\).*/\1/')
ok "...at least 128 of them served" test "$good" -ge 128
ok "...the daemon still runs" plinkfwd_alive
is "$(answer)" "NOERROR/192.0.2.1" "...and answers DNS"

# ------------------------------------------------------------ reload storm
# A client asks 400 questions one after another (each waits for its answer)
# while 100 SIGHUPs arrive within about a second.  Signals of one kind
# coalesce in the kernel, so the number of reloads is between 1 and 100;
# what must hold is that none failed and no question went unanswered.
ok0=$(cstat reloads.ok)
cat >"$T/asker.py" <<'EOF'
import random, socket, struct, sys
addr, port, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
q = b"\x03www\x03lab\x04test\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
good = lost = bad = 0
for i in range(n):
    qid = random.randrange(65536)
    s.sendto(struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + q, (addr, port))
    while True:
        try:
            r, _ = s.recvfrom(4096)
        except socket.timeout:
            lost += 1
            break
        if struct.unpack("!H", r[:2])[0] != qid:
            continue
        if (r[3] & 0xF) == 0 and r.endswith(bytes([192, 0, 2, 1])):
            good += 1
        else:
            bad += 1
        break
open(out, "w").write("good=%d lost=%d bad=%d\n" % (good, lost, bad))
EOF
spawn asker python3 "$T/asker.py" 127.0.0.1 "$PORT" 400 "$T/asker.out"
asker=$LAST_PID
for i in $(seq 100); do
	kill -HUP "$PLINKFWD_PID"
	sleep 0.01
done
wait "$asker"
is "$(cat "$T/asker.out" 2>/dev/null)" "good=400 lost=0 bad=0" "reload storm: 400 questions during 100 SIGHUPs, 400 correct answers"
ok "reload storm: the daemon still runs" plinkfwd_alive
wait_until above reloads.ok "$ok0"
ok "reload storm: reloads took effect ($ok0 -> $(cstat reloads.ok))" test "$(cstat reloads.ok)" -gt "$ok0"
is "$(cstat reloads.failed)" 0 "reload storm: no reload failed"
is "$(answer)" "NOERROR/192.0.2.1" "reload storm: correct answer afterwards"

# ------------------------------------------------------------ a zone file deleted under a reload
f0=$(cstat reloads.failed)
mark=$(log_mark)
rm -f "$T/lab.test.zone"
sighup_plinkfwd
ok "zone file deleted: the reload fails" wait_until above reloads.failed "$f0"
like "$(log_since "$mark")" "lab\.test\.zone.*(No such file|cannot open|cannot read)" "...and the log names the file and the reason"
is "$(answer)" "NOERROR/192.0.2.1" "...the old zone keeps serving"
ok1=$(cstat reloads.ok)
cp "$T/lab.test.zone.good" "$T/lab.test.zone"
sed -i 's/192\.0\.2\.1$/192.0.2.2/' "$T/lab.test.zone"
sighup_plinkfwd
ok "file back: the next reload takes" wait_until above reloads.ok "$ok1"
is "$(answer)" "NOERROR/192.0.2.2" "...with the new data"
ok "the daemon still runs" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean shutdown"

# ------------------------------------------------------------ SIGUSR1 during a sync
ok "fake ARM server starts" arm_start_fake
ok "add vault zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg1","zone":"privatelink.vaultcore.azure.net","a":{"kv1":"10.2.0.4"}}'
arm_conf "$T/arm.conf" "interval: 3600" "timeout: 30" "max-retries: 0" "@control-socket: $SOCK" "@log-level: debug"
mark=$(log_mark)
ok "plinkfwd starts with arm:" start_plinkfwd "$T/arm.conf"
ok "first sync completes" arm_wait_sync "$mark" 30
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.4$' "synced record served"

# The zone listing answers only after 10 s: the round is surely running
# when the signals arrive (sent as soon as the round's start is logged).
ok "the zone listing is delayed 10 s, once" arm_ctl '{"op":"fail","match":"privateDnsZones?","delay":10,"count":1}'
lists() { arm_reqs 'r["kind"] == "arm" and "/privateDnsZones?" in r["path"]' | wc -l; }
l0=$(lists)
mark=$(log_mark)
arm_sigusr1
ok "a sync round is under way" wait_log 'arm: sync started' "$WAIT_FLOOR" "$mark"
for i in 1 2 3 4 5; do arm_sigusr1; done
# syncs_done MARK N TRIES: true once N rounds ended since MARK, looked for
# TRIES times 10 (a bound on waiting, not a verdict on speed)
syncs_done() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(log_since "$1" | grep -cE 'arm: sync (done|finished with errors) in')" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
ok "the delayed round completes, then one more round runs" syncs_done "$mark" 2 60
ok "the daemon still runs" plinkfwd_alive
# Both rounds are done; nothing else is scheduled for an hour.  Every
# round lists the subscription's zones exactly once.
is "$(($(lists) - l0))" 2 "six SIGUSR1 (one before, five during a round): two rounds, not six"
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.4$' "synced record still served"

# ------------------------------------------------------------ a truncated body; 401 in the middle of paging
ok "ARM changes the record" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.vaultcore.azure.net","name":"kv1","ip":"10.2.0.5"}'
ok "the record-set listing is cut short, once" arm_ctl '{"op":"fail","match":"vaultcore.azure.net/ALL","truncate":true,"count":1}'
mark=$(log_mark)
arm_sigusr1
ok "sync with a truncated body ends" arm_wait_sync "$mark" 30
# max-retries: 0 here, so the listing fails at once (retries: t_arm_faults)
like "$(log_since "$mark")" "listing record sets of zone privatelink\.vaultcore\.azure\.net.*failed: transfer closed with [0-9]+ bytes remaining" "truncated body: a transfer error, named"
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.4$' "truncated body: the zone keeps its last complete copy"
mark=$(log_mark)
arm_sigusr1
ok "the next sync completes" arm_wait_sync "$mark" 30
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.5$' "...and serves the new data"

# A zone of 5 record-set pages (page size 2); the token "expires" on the
# third page: a new token, that page again, the round completes.
ok "small pages" arm_ctl '{"op":"set","record_page":2}'
ok "8 more record sets in the vault zone" sh -c 'for i in 1 2 3 4 5 6 7 8; do
	curl -sS --cacert "$1" -X POST --data "{\"op\":\"set_a\",\"sub\":\"$2\",\"zone\":\"privatelink.vaultcore.azure.net\",\"name\":\"p$i\",\"ip\":\"10.2.1.$i\"}" "$3/_control" | grep -q "\"ok\": true" || exit 1; done' _ "$ARM_CA" "$ARM_SUB" "$ARM_URL"
ok "401 on a later page, once" arm_ctl '{"op":"fail","match":"skipToken","status":401,"count":1}'
tok0=$(arm_reqs 'r["kind"] == "imds" and r["status"] == 200' | wc -l)
mark=$(log_mark)
arm_sigusr1
ok "sync with a 401 while paging ends" arm_wait_sync "$mark" 30
log=$(log_since "$mark")
like "$log" 'HTTP 401 .*getting a new token and retrying once' "401 while paging: a new token, the page again"
like "$log" 'arm: sync done' "...and the round completes"
is "$(($(arm_reqs 'r["kind"] == "imds" and r["status"] == 200' | wc -l) - tok0))" 1 "...with exactly one new token"
q p8.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.1\.8$' "...every page's records are served"

ok "401 on a later page, twice" arm_ctl '{"op":"fail","match":"skipToken","status":401,"count":2}'
ok "ARM changes a record" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.vaultcore.azure.net","name":"p1","ip":"10.2.2.1"}'
mark=$(log_mark)
arm_sigusr1
ok "sync with two 401s ends" arm_wait_sync "$mark" 30
like "$(log_since "$mark")" 'HTTP 401 .*again with a fresh token' "a second 401 with a fresh token: the listing fails, says so"
q p1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.1\.1$' "...and the zone keeps its last complete copy"
ok "page size back" arm_ctl '{"op":"set","record_page":1000}'
ok "the daemon still runs" plinkfwd_alive
stop_plinkfwd

# ------------------------------------------------------------ the state directory read-only, then full
# Needs a mount namespace of our own (lib.sh makes one with its PID
# namespace); as root, file modes alone do not stop a write.
if [ "${PLINKFWD_OWN_MNTNS:-}" = 1 ]; then
	mount -t tmpfs -o size=64k tmpfs "$T/state" 2>/dev/null
fi
if mountpoint -q "$T/state"; then
	mark=$(log_mark)
	ok "plinkfwd starts with its state-dir on a 64 KiB tmpfs" start_plinkfwd "$T/arm.conf"
	ok "first sync writes the zone file" arm_wait_sync "$mark" 30
	zf=$(ls "$T/state"/*vaultcore* 2>/dev/null | head -n 1)
	ok "...the zone file exists" test -s "$zf"
	cp "$zf" "$T/vault.saved"

	mount -o remount,ro "$T/state"
	ok "ARM changes the record" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.vaultcore.azure.net","name":"kv1","ip":"10.2.0.40"}'
	mark=$(log_mark)
	arm_sigusr1
	ok "sync with a read-only state-dir ends" arm_wait_sync "$mark" 30
	like "$(log_since "$mark")" "arm: cannot write .*vaultcore.*Read-only file system" "read-only: a clear error naming the file"
	q kv1.privatelink.vaultcore.azure.net A
	like "$Q_ANSWER" 'IN A 10\.2\.0\.40$' "read-only: the new data is served from memory"
	ok "read-only: the last good zone file is kept" cmp -s "$zf" "$T/vault.saved"

	mount -o remount,rw "$T/state"
	# fill the file system up, leaving no room for the next copy
	dd if=/dev/zero of="$T/state/filler" bs=1k count=1024 2>/dev/null
	ok "ARM changes the record again" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.vaultcore.azure.net","name":"kv1","ip":"10.2.0.41"}'
	mark=$(log_mark)
	arm_sigusr1
	ok "sync with a full state-dir ends" arm_wait_sync "$mark" 30
	like "$(log_since "$mark")" "arm: cannot write .*vaultcore.*No space left on device" "full: a clear error naming the file"
	q kv1.privatelink.vaultcore.azure.net A
	like "$Q_ANSWER" 'IN A 10\.2\.0\.41$' "full: the new data is served from memory"
	ok "full: the last good zone file is kept" cmp -s "$zf" "$T/vault.saved"
	is "$(ls "$T/state" | grep -c '\.tmp\.')" 0 "full: no temporary file left behind"
	ok "the daemon still runs" plinkfwd_alive
	stop_plinkfwd
	is "$PLINKFWD_RC" 0 "clean shutdown"
	umount "$T/state" 2>/dev/null
else
	skip "state-dir read-only and full" "no mount namespace of our own (needs unshare -p --mount-proc)"
fi

done_testing
