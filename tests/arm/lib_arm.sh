# lib_arm.sh -- helpers for the ARM sync integration tests (bash; sourced
# after tests/integration/lib.sh, which provides $T, spawn, TAP and q).
#
#   arm_start_fake [--dataset SPEC]... [--set KEY=JSON]...
#                       CA + server certificate in $T/ca, fake ARM/IMDS/Entra
#                       server on a free loopback port.  Sets ARM_URL, ARM_PORT,
#                       ARM_CA, ARM_REQLOG, ARM_FAKE_PID.
#   arm_stop_fake       stop it (ARM "unreachable" from then on)
#   arm_ctl JSON        POST a control request; fails unless {"ok": true}
#   arm_state           GET /_state (JSON on stdout)
#   arm_conf FILE [KEY: VALUE]...
#                       a daemon config: listen 127.0.0.1@$PORT, cloud none,
#                       state-dir $T/state, and an arm: clause pointed at the
#                       fake server (managed identity unless keys say else);
#                       "@KEY: VALUE" goes to server:, "-KEY" drops a default
#                       arm: key
#   arm_wait_sync [MARK] [SECONDS]
#                       wait for the end of a sync round logged after MARK
#   arm_reqs FILTER     python expression over r (a request log record):
#                       prints the matching records as "t status kind path"
#   arm_sigusr1         ask the daemon for a sync now

ARM_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARM_FIXTURES=$SRCDIR/tests/fixtures/arm
ARM_SUB=00000000-0000-0000-0000-00000000aaaa

arm_start_fake() {
	ARM_CA=$T/ca/ca.pem
	if [ ! -f "$ARM_CA" ]; then
		sh "$ARM_LIBDIR/gen-ca.sh" "$T/ca" || return 1
	fi
	ARM_REQLOG=$T/fake_arm.jsonl
	rm -f "$T/fake_arm.port"
	spawn fake_arm python3 "$ARM_LIBDIR/fake_arm.py" --cert "$T/ca/server.pem" --key "$T/ca/server.key" \
		--fixtures "$ARM_FIXTURES" --port-file "$T/fake_arm.port" --log "$ARM_REQLOG" "$@"
	ARM_FAKE_PID=$LAST_PID
	local i
	# a bound on waiting (the CA is made, python starts): WAIT_FLOOR seconds
	for ((i = 0; i < WAIT_FLOOR * 20; i++)); do
		[ -s "$T/fake_arm.port" ] && break
		sleep 0.05
	done
	[ -s "$T/fake_arm.port" ] || { diag "fake ARM server did not start"; return 1; }
	ARM_PORT=$(cat "$T/fake_arm.port")
	ARM_URL=https://127.0.0.1:$ARM_PORT
}

arm_stop_fake() {
	[ -n "${ARM_FAKE_PID:-}" ] && stop_pid "$ARM_FAKE_PID"
	ARM_FAKE_PID=
	return 0
}

arm_ctl() {
	local out
	out=$(curl -sS --max-time "$WAIT_FLOOR" --cacert "$ARM_CA" -X POST --data "$1" "$ARM_URL/_control" 2>&1)
	case $out in
	*'"ok": true'*) return 0 ;;
	*) diag "control request failed: $1" "$out"; return 1 ;;
	esac
}

arm_state() {
	curl -sS --max-time "$WAIT_FLOOR" --cacert "$ARM_CA" "$ARM_URL/_state"
}

arm_conf() {
	local f=$1 kv
	shift
	{
		echo "server:"
		echo "    listen: 127.0.0.1@$PORT"
		echo "    cloud: none"
		echo "    state-dir: $T/state"
		for kv in "$@"; do
			[[ $kv == @* ]] && echo "    ${kv#@}"
		done
		echo "arm:"
		echo "    arm-cloud: AzureCloud"
		echo "    arm-endpoint: $ARM_URL"
		echo "    imds-endpoint: $ARM_URL"
		echo "    login-endpoint: $ARM_URL"
		echo "    ca-file: $ARM_CA"
		echo "    subscription: $ARM_SUB"
		for kv in "$@"; do
			[[ $kv == [@-]* ]] || echo "    $kv"
		done
	} >"$f"
	for kv in "$@"; do
		[[ $kv == -* ]] && sed -i "/^    ${kv#-}:/d" "$f"
	done
	mkdir -p "$T/state"
}

arm_wait_sync() {
	wait_log 'arm: sync (done|finished with errors) in' "${2:-20}" "${1:-0}"
}

arm_reqs() {
	python3 - "$ARM_REQLOG" "$1" <<'EOF'
import json, sys
flt = sys.argv[2]
for line in open(sys.argv[1]):
    r = json.loads(line)
    if eval(flt, {}, {"r": r}):
        print("%.3f %s %s %s" % (r["t"], r["status"], r["kind"], r["path"]))
EOF
}

arm_sigusr1() { kill -USR1 "$PLINKFWD_PID"; }
