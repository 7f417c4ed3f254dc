#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz: a smoke pass for `make test`, timed runs for `make fuzz`, corpus merges.
#
# Usage: tests/fuzz/run.sh smoke|run|merge [TARGET]...      (TARGET: parse, http, dns, ... ; default all)
#   smoke  each target over its seed corpus (tests/fuzz/corpus/TARGET), then FUZZ_SMOKE_TIME
#          seconds (default 3) of mutation into a scratch corpus: nothing is written to the tree
#   run    each target FUZZ_TIME seconds (default 60) at nice FUZZ_NICE (default 19); the corpus
#          grows in $BUILD/fuzz/corpus/TARGET across runs, crashes land in $BUILD/fuzz/artifacts,
#          one line per run is appended to $BUILD/fuzz/runs.tsv (seconds, execs, coverage, corpus)
#   merge  copies into tests/fuzz/corpus/TARGET only the inputs of $BUILD/fuzz/corpus/TARGET that
#          add coverage (libFuzzer -merge=1), so the tree keeps a small, minimal corpus
# Environment: BUILD (default build). Exit status: 0 when no target crashed or broke an invariant.
set -u
# libFuzzer reports through stderr into the logs below; `make test SANITIZE=1` sends other
# programs' reports to files, which these binaries must not inherit.
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
MODE=${1:-}
shift || true
FUZZ_TIME=${FUZZ_TIME:-60}
FUZZ_SMOKE_TIME=${FUZZ_SMOKE_TIME:-3}
FUZZ_NICE=${FUZZ_NICE:-19}
SEEDS=$ROOT/tests/fuzz/corpus
BIN=$BUILD/fuzz

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
		t=$(basename "$f" .c)
		targets+=("${t#fuzz_}")
	done
fi

# Per-target libFuzzer options: the longest input worth trying, and a dictionary when one exists.
opts() {
	local t=$1 o=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
	case "$t" in
	l7model) o+=(-max_len=8192) ;;
	parse) o+=(-max_len=2048) ;;
	*) o+=(-max_len=4096) ;;
	esac
	[ -f "$ROOT/tests/fuzz/dict/$t.dict" ] && o+=("-dict=$ROOT/tests/fuzz/dict/$t.dict")
	printf '%s\n' "${o[@]}"
}

# stat LOG NAME: one of libFuzzer's final "stat::NAME: N" figures.
stat() { sed -nE "s/^stat::$2: *([0-9]+).*/\1/p" "$1" | tail -n 1; }
# last LOG FIELD: the last progress line's "FIELD: N" (cov, ft).
last() { grep -E '^#[0-9]+' "$1" | grep -oE "$2: [0-9]+" | tail -n 1 | grep -oE '[0-9]+'; }

# report T LOG RC SECONDS CORPUS: one summary line; on a failure the finding and how to replay it.
report() {
	local t=$1 logf=$2 rc=$3 secs=$4 corpus=$5 execs cov ft files bytes art
	execs=$(stat "$logf" number_of_executed_units)
	cov=$(last "$logf" cov)
	ft=$(last "$logf" ft)
	files=$(find "$corpus" -type f | wc -l)
	bytes=$(du -sb "$corpus" | cut -f1)
	printf '%-5s %-8s %6ss %10s execs  cov %4s  ft %5s  corpus %4s files %7s bytes\n' \
		"$([ "$rc" -eq 0 ] && echo PASS || echo FAIL)" "$t" "$secs" "${execs:-?}" "${cov:-?}" \
		"${ft:-?}" "$files" "$bytes"
	if [ "$rc" -ne 0 ]; then
		grep -E 'invariant failed|ERROR: (AddressSanitizer|libFuzzer)|runtime error|SUMMARY' \
			"$logf" | head -n 5 | sed 's/^/      /'
		art=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$logf" | tail -n 1)
		if [ -n "$art" ]; then
			echo "      input: $art"
			echo "      replay: $BIN/fuzz_$t $art"
		fi
		echo "      log: $logf"
	fi
	if [ "$MODE" = run ]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -Is)" "$t" "$secs" "${execs:-0}" \
			"${cov:-0}" "${ft:-0}" "$files" "$bytes" "$rc" >>"$BUILD/fuzz/runs.tsv"
	fi
}

run_one() {
	local t=$1 bin=$BIN/fuzz_$1 work logf rc start secs
	local -a o
	mapfile -t o < <(opts "$t")
	if [ ! -x "$bin" ]; then
		echo "FAIL  $t: $bin is not built (make fuzz-build)"
		return 1
	fi
	mkdir -p "$BUILD/fuzz/logs" "$BUILD/fuzz/artifacts"
	logf=$BUILD/fuzz/logs/$t.$MODE.log
	start=$SECONDS
	case "$MODE" in
	smoke)
		work=$(mktemp -d "${TMPDIR:-/tmp}/pktlens-fuzz-$t.XXXXXX")
		"$bin" "${o[@]}" -max_total_time="$FUZZ_SMOKE_TIME" \
			-artifact_prefix="$BUILD/fuzz/artifacts/$t-" "$work" "$SEEDS/$t" >"$logf" 2>&1
		rc=$?
		report "$t" "$logf" "$rc" $((SECONDS - start)) "$work"
		rm -rf "$work"
		;;
	run)
		work=$BUILD/fuzz/corpus/$t
		mkdir -p "$work"
		nice -n "$FUZZ_NICE" "$bin" "${o[@]}" -max_total_time="$FUZZ_TIME" \
			-artifact_prefix="$BUILD/fuzz/artifacts/$t-" "$work" "$SEEDS/$t" >"$logf" 2>&1
		rc=$?
		report "$t" "$logf" "$rc" $((SECONDS - start)) "$work"
		;;
	merge)
		work=$BUILD/fuzz/corpus/$t
		[ -d "$work" ] || { echo "SKIP  $t: no corpus in $work (run make fuzz first)"; return 0; }
		local before after
		before=$(find "$SEEDS/$t" -type f | wc -l)
		nice -n "$FUZZ_NICE" "$bin" "${o[@]}" -merge=1 "$SEEDS/$t" "$work" >"$logf" 2>&1
		rc=$?
		after=$(find "$SEEDS/$t" -type f | wc -l)
		printf '%-5s %-8s seeds %d -> %d files, %s bytes\n' \
			"$([ "$rc" -eq 0 ] && echo PASS || echo FAIL)" "$t" "$before" "$after" \
			"$(du -sb "$SEEDS/$t" | cut -f1)"
		;;
	*)
		echo "usage: $0 smoke|run|merge [TARGET]..." >&2
		exit 2
		;;
	esac
	return "$rc"
}

failed=0
for t in "${targets[@]}"; do
	run_one "$t" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || echo "$failed of ${#targets[@]} fuzz targets failed"
[ "$failed" -eq 0 ]
