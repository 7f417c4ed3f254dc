#!/usr/bin/env bash
# The one test runner (`make test`): unit and BPF test binaries, then e2e, tui and vm scripts.
#
# Usage: tests/run.sh [PATTERN]...   run only tests whose name contains one of the PATTERNs
# Environment: TEST_TIMEOUT (seconds per test, default 300; a script may ask for more with a
#              "# test-timeout: SECONDS" line near its top), VERBOSE=1 (print every script's log),
#              BUILD (build folder, default build), SANITIZE=1 (the build has ASan/UBSan: every
#              report an instrumented program writes fails the test it ran in; `make test SANITIZE=1`).
# Script exit codes: 0 pass, 77 skip (reason: the last line starting with "SKIP:"), else fail.
# Scripts named lib.sh, *-lib.sh or _*.sh are helpers, not tests, and are not run.
# The last line printed is always "N passed, N failed, N skipped".
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
LIMIT=$TEST_TIMEOUT
VERBOSE=${VERBOSE:-0}
LOG_DIR=$BUILD/test-logs
PATTERNS=("$@")
SANITIZE=${SANITIZE:-0}
# Scripts find pktlens through PKTLENS (tests/lib/common.sh): the one of this build.
export PKTLENS=${PKTLENS:-$BUILD/pktlens}

# Sanitizer reports go to files (a program the test runs in the background, in a namespace or
# under tmux has no stderr anyone reads); after each test the runner looks for new ones.
SAN_DIR=$LOG_DIR/sanitizer
if [ "$SANITIZE" = 1 ]; then
	rm -rf "$SAN_DIR"
	mkdir -p "$SAN_DIR/new"
	export ASAN_OPTIONS="log_path=$SAN_DIR/new/asan:detect_leaks=1:check_initialization_order=1"
	export UBSAN_OPTIONS="log_path=$SAN_DIR/new/ubsan:print_stacktrace=1:halt_on_error=0"
	[ -f "$ROOT/tests/lsan.supp" ] && export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp"
fi

# san_reports NAME: 0 when no sanitizer report appeared since the last call; else prints them,
# moves them to $SAN_DIR/NAME and returns 1.
san_reports() {
	local name=${1//\//_} f found=1
	[ "$SANITIZE" = 1 ] || return 0
	for f in "$SAN_DIR"/new/*; do
		[ -f "$f" ] || continue
		found=0
		mkdir -p "$SAN_DIR/$name"
		echo "----- sanitizer report during $1: ${f##*/} (kept in ${SAN_DIR#"$ROOT"/}/$name)"
		head -n 40 "$f"
		mv "$f" "$SAN_DIR/$name/"
	done
	[ "$found" = 1 ]
}

passed=0
failed=0
skipped=0
failed_names=()

selected() {
	local name=$1 p
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	for p in "${PATTERNS[@]}"; do
		case "$name" in *"$p"*) return 0 ;; esac
	done
	return 1
}

# run_timed LOG CMD...: run CMD with the per-test timeout, all output to LOG; returns its status.
# timeout(1) puts the test in its own process group and signals the whole group, so a test's
# traps get TERM first and KILL only 15 s later.
run_timed() {
	local logf=$1
	shift
	(cd "$ROOT" && exec timeout --kill-after=15 "$LIMIT" "$@") </dev/null >"$logf" 2>&1
}

# script_limit SCRIPT: TEST_TIMEOUT, or the script's own "# test-timeout: N" when that is longer.
script_limit() {
	local own
	own=$(sed -n '1,20s/^# test-timeout: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1)
	if [ -n "$own" ] && [ "$own" -gt "$TEST_TIMEOUT" ]; then
		echo "$own"
	else
		echo "$TEST_TIMEOUT"
	fi
}

result() {
	printf '%-5s %s%s\n' "$1" "$2" "${3:+  ($3)}"
}

# cmocka_count LOG KIND: sum of cmocka's "[  KIND  ] N test(s)" summary lines in LOG.
cmocka_count() {
	sed -nE "s/^\[ *$2 *\] ([0-9]+) test\(s\).*/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'
}

run_binary() {
	local bin=$1 name logf rc np nf ns
	name=$(basename "$bin")
	logf=$LOG_DIR/$name.log
	LIMIT=$TEST_TIMEOUT
	CMOCKA_MESSAGE_OUTPUT=STDOUT run_timed "$logf" "$bin"
	rc=$?
	san_reports "$name" >>"$logf" || case "$rc" in 0 | 77) rc=1 ;; esac
	cat "$logf"
	np=$(cmocka_count "$logf" PASSED)
	nf=$(cmocka_count "$logf" FAILED)
	ns=$(cmocka_count "$logf" SKIPPED)
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		result SKIP "$name" "$(skip_reason "$logf")"
		return
	fi
	if [ $((np + nf + ns)) -eq 0 ]; then
		# No cmocka summary (crash, or not a cmocka binary): the binary counts as one test.
		if [ "$rc" -eq 0 ]; then
			np=1
		else
			nf=1
		fi
	elif [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
		# cmocka reported no failure but the binary failed (crash after the summary, timeout...).
		nf=1
	fi
	passed=$((passed + np))
	failed=$((failed + nf))
	skipped=$((skipped + ns))
	if [ "$nf" -gt 0 ]; then
		failed_names+=("$name")
		result FAIL "$name" "$np passed, $nf failed, $ns skipped, exit $rc$(timeout_note "$rc")"
	else
		if [ "$ns" -gt 0 ]; then
			result PASS "$name" "$np passed, $ns skipped"
		else
			result PASS "$name" "$np passed"
		fi
	fi
}

skip_reason() {
	local r
	r=$(grep -E '^SKIP:' "$1" | tail -n 1 | sed -E 's/^SKIP: *//')
	[ -n "$r" ] || r=$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)
	printf '%s' "${r:-no reason given}"
}

timeout_note() {
	case "$1" in
	124 | 137) printf ', timed out after %ss' "$LIMIT" ;;
	esac
}

run_script() {
	local script=$1 name logf rc
	name=${script#"$ROOT"/tests/}
	logf=$LOG_DIR/${name//\//_}.log
	LIMIT=$(script_limit "$script")
	run_timed "$logf" bash "$script"
	rc=$?
	san_reports "$name" >>"$logf" || case "$rc" in 0 | 77) rc=1 ;; esac
	[ "$VERBOSE" = 1 ] && cat "$logf"
	case "$rc" in
	0)
		passed=$((passed + 1))
		result PASS "$name"
		;;
	77)
		skipped=$((skipped + 1))
		result SKIP "$name" "$(skip_reason "$logf")"
		;;
	*)
		failed=$((failed + 1))
		failed_names+=("$name")
		if [ "$VERBOSE" != 1 ]; then
			echo "----- $name (last 60 lines of $logf)"
			tail -n 60 "$logf"
			echo "-----"
		fi
		result FAIL "$name" "exit $rc$(timeout_note "$rc")"
		;;
	esac
}

main() {
	local f
	mkdir -p "$LOG_DIR"
	shopt -s nullglob
	for f in "$BUILD"/tests/test_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		selected "$(basename "$f")" && run_binary "$f"
	done
	# tests/vm holds scripts that run inside the VM; tests/e2e/vmtest.sh drives them.
	for f in "$ROOT"/tests/e2e/*.sh "$ROOT"/tests/tui/*.sh; do
		# Sourced helpers are not tests: lib.sh, *-lib.sh, _*.sh (shared ones live in tests/lib/).
		case "$(basename "$f")" in lib.sh | *-lib.sh | _*.sh) continue ;; esac
		selected "${f#"$ROOT"/tests/}" && run_script "$f"
	done
	if [ ${#failed_names[@]} -gt 0 ]; then
		echo "failed: ${failed_names[*]} (logs in ${LOG_DIR#"$ROOT"/})"
	fi
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

main
