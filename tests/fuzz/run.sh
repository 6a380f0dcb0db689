# run.sh -- fuzz every target in turn (make fuzz-run FUZZ_SECONDS=N).
#
#   FUZZ_SECONDS=N sh tests/fuzz/run.sh [TARGET...]   (default: every corpus)
#
# Each target (tests/fuzz/fuzz_TARGET, built by make fuzz) runs for N
# seconds at nice 19 (the machine is shared) on a working copy of its
# corpus in $FUZZ_WORK/TARGET (default tests/fuzz/work), with crash
# reproducers in $FUZZ_WORK/artifacts/TARGET/.  The committed corpus is
# never written to: to keep what a run found, merge it afterwards --
#   tests/fuzz/fuzz_T -merge=1 tests/fuzz/corpus/T tests/fuzz/work/T
# -- which adds only inputs that reach new coverage.  A summary line per
# target (executions, coverage, corpus size, crashes) goes to stdout and
# to $FUZZ_WORK/summary.txt; each target's whole log to
# $FUZZ_WORK/TARGET.log.  FUZZ_FLAGS adds libFuzzer flags.

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$(pwd)}
seconds=${FUZZ_SECONDS:-60}
work=${FUZZ_WORK:-$builddir/tests/fuzz/work}

if [ $# -eq 0 ]; then
	set -- $(cd "$srcdir/tests/fuzz/corpus" && for d in *; do [ -d "$d" ] && echo "$d"; done | LC_ALL=C sort)
fi
mkdir -p "$work" || exit 1
rc=0
for t in "$@"; do
	bin=$builddir/tests/fuzz/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "$t: $bin not built (make fuzz)" >&2
		rc=1
		continue
	fi
	mkdir -p "$work/$t" "$work/artifacts/$t"
	# the whole corpus, found/ included (libFuzzer reads it recursively)
	cp -Rn "$srcdir/tests/fuzz/corpus/$t/." "$work/$t/" 2>/dev/null
	# -close_fd_mask=2: the daemon's own log lines stay out of the way;
	# libFuzzer and the sanitizers still report on the real stderr
	# shellcheck disable=SC2086
	nice -n 19 "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
		-rss_limit_mb=4096 -close_fd_mask=2 -artifact_prefix="$work/artifacts/$t/" \
		$FUZZ_FLAGS "$work/$t" >"$work/$t.log" 2>&1
	status=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$work/$t.log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	crashes=$(find "$work/artifacts/$t" -type f | wc -l)
	line="$t: execs ${execs:-?} cov ${cov:-?} ft ${ft:-?} corpus ${corp:-?} artifacts $crashes exit $status"
	echo "$line"
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $line" >>"$work/summary.txt"
	[ "$status" -eq 0 ] || rc=1
done
exit $rc
