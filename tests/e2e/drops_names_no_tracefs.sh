#!/usr/bin/env bash
# The drop-reason name test (tests/unit/test_drops_names) on a machine where nobody has mounted
# tracefs yet, as in CI before any pktlens ran: it must mount tracefs itself and run, not skip.
# Runs in a private mount namespace where tracefs is unmounted; the host's mounts are untouched.
set -u
TEST_NAME=${TEST_NAME:-drops_names_no_tracefs}
. "$(dirname "$0")/../lib/common.sh"

BIN=${BUILD:-$PL_ROOT/build}/tests/test_drops_names
case "$BIN" in /*) ;; *) BIN=$PL_ROOT/$BIN ;; esac

require_root
require_cmd unshare
[ -x "$BIN" ] || skip "$BIN is not built (run make unit)"

out=$(unshare -m --propagation private sh -c '
	while mountpoint -q /sys/kernel/tracing; do umount /sys/kernel/tracing || exit 3; done
	if [ -e /sys/kernel/tracing/events ]; then echo "tracefs still mounted"; exit 3; fi
	CMOCKA_MESSAGE_OUTPUT=STDOUT "$1"
	rc=$?
	# the test mounted tracefs in a mount namespace of its own, not in this one
	if mountpoint -q /sys/kernel/tracing; then echo "LEFT MOUNTED"; exit 4; fi
	exit $rc
' _ "$BIN" 2>&1)
rc=$?
printf '%s\n' "$out" >&2
[ "$rc" -ne 3 ] || fail "could not unmount tracefs in a private mount namespace"
[ "$rc" -ne 4 ] || fail "test_drops_names left tracefs mounted"
[ "$rc" -eq 0 ] || fail "test_drops_names failed without tracefs mounted (exit $rc)"
if printf '%s\n' "$out" | grep -q SKIPPED; then
	fail "test_drops_names skipped although only the tracefs mount was missing"
fi
printf '%s\n' "$out" | grep -qE '^\[  PASSED  \] 4 test' || fail "test_drops_names did not run its 4 tests"
log "ok: 4 tests ran with tracefs unmounted"
exit 0
