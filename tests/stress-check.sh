#!/usr/bin/env bash
# tests/stress-check.sh N -- does the suite tell the truth on a busy machine?
#
# Runs the README's test command (the same string .ci/run checks against the
# README) N times in this source tree while stress-ng keeps every core busy,
# and prints one line per run and "K of N passed".  Exit 0 only when every
# run passed.  Not part of `make check`: it takes N full suite runs.
#
#   sudo tests/stress-check.sh 5          # the figure docs/testing.md records
#   STRESS_ARGS="--cpu 0 --io 2" tests/stress-check.sh 1
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-5}
STRESS_ARGS=${STRESS_ARGS:---cpu 0 --cpu-load 100}
TEST_CMD=$(sed -n "s/^TEST_CMD='\(.*\)'\$/\1/p" .ci/run)
[ -n "$TEST_CMD" ] || { echo "stress-check: no TEST_CMD in .ci/run" >&2; exit 2; }
grep -qF -- "$TEST_CMD" README.md || { echo "stress-check: README and .ci/run differ" >&2; exit 2; }

command -v stress-ng >/dev/null || apt-get install -y stress-ng >/dev/null
LOGDIR=${STRESS_LOGDIR:-/tmp/plinkfwd-stress-check}
mkdir -p "$LOGDIR"
# shellcheck disable=SC2086
stress-ng $STRESS_ARGS --timeout 0 >"$LOGDIR/stress-ng.log" 2>&1 &
BURNER=$!
trap 'kill $BURNER 2>/dev/null; wait $BURNER 2>/dev/null' EXIT
echo "stress-check: $N run(s) of the README's test command with 'stress-ng $STRESS_ARGS' on $(nproc) core(s)"

passed=0
for i in $(seq 1 "$N"); do
	start=$(date +%s)
	bash -c "$TEST_CMD" >"$LOGDIR/run$i.log" 2>&1
	rc=$?
	summary=$(awk '/^# (TOTAL|PASS|FAIL|ERROR):/ { printf "%s %s ", $2, $3 }' test-suite.log 2>/dev/null)
	[ -f test-suite.log ] && cp test-suite.log "$LOGDIR/run$i-test-suite.log"
	if [ $rc = 0 ]; then
		passed=$((passed + 1))
		echo "run $i: pass  ($summary$(($(date +%s) - start)) s)"
	else
		echo "run $i: FAIL  ($summary$(($(date +%s) - start)) s; $LOGDIR/run$i.log)"
		grep -E '^(FAIL|ERROR):' "$LOGDIR/run$i.log" | head -20
	fi
done
echo "stress-check: $passed of $N passed"
[ "$passed" = "$N" ]
