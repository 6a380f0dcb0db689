# arm_bench.sh -- ARM sync benchmark against the fake ARM server (tests/arm).
#
#   1. one zone of 25,000 record sets (ARM's per-zone limit; 1,000 per page):
#      time from sync start to published, peak RSS;
#   2. 100 zones x 100 record sets: the same;
#   3. 1,000,000 A records (40 zones x 25,000): time, RSS once published and
#      peak RSS;
#   4. DNS while a sync runs: dnsperf against a synced name, idle and then
#      during a sync that rebuilds all 1,000,000 records; queries per second
#      and CPU per query of the DNS worker threads (every thread but the
#      main one, from /proc/PID/task/*/stat), both runs the same length.
#
# Environment: as tests/bench/run.sh (top_srcdir, top_builddir or PLINKFWD,
# BENCH_SECONDS default 10, BENCH_OUT).  Results: markdown on stdout and in
# $BENCH_OUT/arm_results.md.  Loopback only, in a private network namespace.
export PLINKFWD_KEEP_TMP=${PLINKFWD_KEEP_TMP:-0}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export top_srcdir
. "$top_srcdir/tests/integration/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"
. "$SRCDIR/tests/bench/lib.sh"

SECS=${BENCH_SECONDS:-10}
OUT=${BENCH_OUT:-$BUILDDIR/tests/bench/out}
mkdir -p "$OUT"
RES=$OUT/arm_results.md

rss_kb() { sed -n "s/^$2:[[:space:]]*\\([0-9]*\\) kB/\\1/p" "/proc/$1/status"; }

# utime + stime (clock ticks) of every thread but the main one.
worker_ticks() {
	local pid=$1 t sum=0 f
	for t in /proc/"$pid"/task/*; do
		[ "${t##*/}" = "$pid" ] && continue
		f=$(sed 's/^.*) //' "$t/stat")
		set -- $f
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}

sync_ms() { log_since "$1" | sed -n 's/.*arm: sync done in \([0-9]*\) ms.*/\1/p' | tail -n 1; }

run_case() { # NAME DATASET...
	local name=$1 mark ms
	shift
	arm_start_fake "$@" || exit 1
	arm_conf "$T/bench.conf" "interval: 3600" "@workers: 1"
	rm -rf "$T/state"
	mkdir -p "$T/state"
	mark=$(log_mark)
	start_plinkfwd "$T/bench.conf" || exit 1
	arm_wait_sync "$mark" 600 || { echo "sync did not finish for $name" >&2; exit 1; }
	ms=$(sync_ms "$mark")
	printf '| %s | %s | %s | %s |\n' "$name" "$ms" "$(($(rss_kb "$PLINKFWD_PID" VmRSS) / 1024))" \
		"$(($(rss_kb "$PLINKFWD_PID" VmHWM) / 1024))" >>"$RES"
}

{
	echo "## ARM sync benchmark"
	echo
	echo "$(nproc) CPUs, $(uname -r); fake ARM over HTTPS on loopback; page size 1,000."
	echo
	echo "| dataset | sync start to published (ms) | RSS after (MiB) | peak RSS (MiB) |"
	echo "|---|---|---|---|"
} >"$RES"

run_case "1 zone x 25,000 record sets" --dataset "big:$ARM_SUB:rg:big.test:25000"
stop_plinkfwd
arm_stop_fake
run_case "100 zones x 100 record sets" --dataset "many:$ARM_SUB:rg:100:100"
stop_plinkfwd
arm_stop_fake
run_case "40 zones x 25,000 (1,000,000 A records)" --dataset "many:$ARM_SUB:rg:40:25000"

# ------------------------------------------------------------ DNS during a sync
for z in 0 7 19 33; do
	for h in 5 500 5000 20000; do
		echo "host$h.zone$z.many.test A"
	done
done >"$T/queries"
perf_run() {
	local t0 t1
	t0=$(worker_ticks "$PLINKFWD_PID")
	dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/queries" -l "$SECS" -c 4 -t 1 >"$T/perf.out" 2>&1
	t1=$(worker_ticks "$PLINKFWD_PID")
	bench_dnsperf_parse "$(cat "$T/perf.out")"
	PERF_QPS=$DP_QPS
	PERF_DONE=$DP_COMPLETED
	PERF_LOST=$DP_LOST
	PERF_US=$(awk -v d=$((t1 - t0)) -v q="$PERF_DONE" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", q ? d / hz * 1e6 / q : 0 }')
}
perf_run
idle="| idle | $PERF_QPS | $PERF_US | $PERF_LOST |"
arm_ctl '{"op":"set","gen_epoch":1}' || exit 1
mark=$(log_mark)
arm_sigusr1
sleep 0.2
perf_run
busy="| during a 1,000,000-record sync | $PERF_QPS | $PERF_US | $PERF_LOST |"
arm_wait_sync "$mark" 600
busy_ms=$(sync_ms "$mark")
{
	echo
	echo "DNS during the sync (dnsperf, ${SECS} s each, 4 clients, unlimited rate; CPU of the worker thread only):"
	echo
	echo "| state | queries/s | worker CPU per query (us) | lost |"
	echo "|---|---|---|---|"
	echo "$idle"
	echo "$busy"
	echo
	echo "The measured resync of 1,000,000 records took ${busy_ms:-?} ms (the dnsperf run covers its start)."
} >>"$RES"
stop_plinkfwd
cat "$RES"
