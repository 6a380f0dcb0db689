# replay.sh -- replay every file under tests/fuzz/corpus/ through the query
# path (tests/fuzz/fuzz_replay, built by make check).  One TAP point per
# file; each file runs in its own process so that a crash names its input
# and the remaining files still run.  Run by automake as `$(SHELL) replay.sh`
# with top_srcdir / top_builddir set; standalone from the source tree too.

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$(pwd)}
replay=${FUZZ_REPLAY:-$builddir/tests/fuzz/fuzz_replay}
corpus=${FUZZ_CORPUS:-$srcdir/tests/fuzz/corpus}

if [ ! -x "$replay" ]; then
	echo "Bail out! $replay not built (make check builds it)"
	exit 1
fi
if [ ! -d "$corpus" ]; then
	echo "Bail out! no corpus at $corpus"
	exit 1
fi

out=$(mktemp "${TMPDIR:-/tmp}/plinkfwd-replay.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

n=0
failed=0
# find | sort keeps the numbering stable; names in the corpus have no newlines.
for f in $(find "$corpus" -type f ! -name '.*' | LC_ALL=C sort); do
	n=$((n + 1))
	rel=${f#"$corpus"/}
	"$replay" "$f" >"$out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - $rel"
	else
		failed=$((failed + 1))
		if [ "$rc" -gt 128 ]; then
			echo "not ok $n - $rel (killed by signal $((rc - 128)))"
		else
			echo "not ok $n - $rel (exit $rc)"
		fi
		sed 's/^/#   /' "$out" | tail -n 30
	fi
done

if [ "$n" -eq 0 ]; then
	echo "1..0 # SKIP empty corpus"
	exit 0
fi
echo "1..$n"
[ "$failed" -eq 0 ]
