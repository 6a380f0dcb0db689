# replay.sh -- replay the fuzz corpora (tests/fuzz/corpus/TARGET/) through
# their targets, without libFuzzer: tests/fuzz/replay_TARGET (replay_main.c
# linked with fuzz_TARGET.c), built by make check.
#
#   replay.sh                 every target that has a corpus directory
#   replay.sh TARGET...       only these (query, reply, config, ...)
#
# One TAP point per file, named TARGET/FILE.  A target's files go through
# one process; when an input crashes it, that input is reported with the
# end of the output and the remaining files run in a new process, so a
# crash names its input and the other files still run.  Run by automake as
# `$(SHELL) replay.sh` with top_srcdir / top_builddir set; standalone from
# the source tree too.  FUZZ_CORPUS (corpus root) and FUZZ_REPLAY_DIR
# (where the replay_* programs are) override the defaults.

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$(pwd)}
bindir=${FUZZ_REPLAY_DIR:-$builddir/tests/fuzz}
corpus=${FUZZ_CORPUS:-$srcdir/tests/fuzz/corpus}

if [ ! -d "$corpus" ]; then
	echo "Bail out! no corpus at $corpus"
	exit 1
fi
if [ $# -eq 0 ]; then
	set -- $(cd "$corpus" && for d in *; do [ -d "$d" ] && echo "$d"; done | LC_ALL=C sort)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/plinkfwd-replay.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
for t in "$@"; do
	prog=$bindir/replay_$t
	if [ ! -x "$prog" ]; then
		n=$((n + 1))
		failed=$((failed + 1))
		echo "not ok $n - $t: $prog not built (make check builds it)"
		continue
	fi
	# names in the corpus have no blanks or newlines (seed-*, sha1 sums)
	find "$corpus/$t" -type f ! -name '.*' | LC_ALL=C sort >"$tmp/files"
	while [ -s "$tmp/files" ]; do
		# shellcheck disable=SC2046
		"$prog" $(cat "$tmp/files") >"$tmp/out" 2>"$tmp/err"
		rc=$?
		# the files the program finished, in order
		grep -E '^(not )?ok ' "$tmp/out" >"$tmp/done"
		ndone=$(wc -l <"$tmp/done")
		while read -r status rest; do
			n=$((n + 1))
			if [ "$status" = ok ]; then
				echo "ok $n - $t/${rest#"$corpus/$t/"}"
			else
				failed=$((failed + 1))
				rest=${rest#ok }
				echo "not ok $n - $t/${rest#"$corpus/$t/"}"
			fi
		done <"$tmp/done"
		total=$(wc -l <"$tmp/files")
		if [ "$ndone" -ge "$total" ]; then
			break
		fi
		# the program died in the file after the last one it reported
		n=$((n + 1))
		failed=$((failed + 1))
		bad=$(sed -n "$((ndone + 1))p" "$tmp/files")
		if [ "$rc" -gt 128 ]; then
			echo "not ok $n - $t/${bad#"$corpus/$t/"} (killed by signal $((rc - 128)))"
		else
			echo "not ok $n - $t/${bad#"$corpus/$t/"} (exit $rc)"
		fi
		tail -n 30 "$tmp/err" | sed 's/^/#   /'
		sed -n "$((ndone + 2)),\$p" "$tmp/files" >"$tmp/rest"
		mv "$tmp/rest" "$tmp/files"
	done
done

if [ "$n" -eq 0 ]; then
	echo "1..0 # SKIP empty corpus"
	exit 0
fi
echo "1..$n"
[ "$failed" -eq 0 ]
