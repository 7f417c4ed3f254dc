#!/usr/bin/env bash
# Ad-hoc uprobe + uretprobe on a test program's function called N times: pktlens counts N hits on
# each, N timed calls in the latency histogram, all for the program's pid (the program's own count).
set -u
TEST_NAME=uprobe_adhoc
. "$(dirname "$0")/../lib/common.sh"

N=300
tmp=
pl_pid=
t_pid=

cleanup() {
	[ -n "$pl_pid" ] && kill -INT "$pl_pid" 2>/dev/null && wait "$pl_pid" 2>/dev/null
	[ -n "$t_pid" ] && kill "$t_pid" 2>/dev/null && wait "$t_pid" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT

require_root
require_pktlens
require_cmd cc jq
[ -e /sys/bus/event_source/devices/uprobe/type ] || [ -e /sys/kernel/tracing/uprobe_events ] ||
	skip "kernel built without uprobes"

tmp=$(mktemp -d /tmp/pl-uprobe.XXXXXX)
T=$tmp/pl-target
cc -O2 -g -o "$T" "$PL_ROOT/tests/vm/target.c" || fail "building tests/vm/target.c"
"$T" call "$N" "$tmp/go" >"$tmp/target.pid" &
t_pid=$!

"$PKTLENS" --json --interval 1 --probes "none,uprobe:$T:pl_target_func,uretprobe:$T:pl_target_func" \
	>"$tmp/out.json" 2>"$tmp/err" &
pl_pid=$!
wait_for 20 test -s "$tmp/out.json" || { cat "$tmp/err" >&2; fail "pktlens printed no snapshot"; }
touch "$tmp/go"
wait_pid_exit "$t_pid" 30 || fail "the target did not finish"
wait "$t_pid" 2>/dev/null
t_pid_real=$t_pid
t_pid=
kill -INT "$pl_pid"
wait "$pl_pid"
rc=$?
pl_pid=
[ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "pktlens exited with $rc"; }

# The probes array of the last snapshot (cut out: other sections are other tests' business).
probes=$(tail -n 1 "$tmp/out.json" | sed -n 's/^.*"probes":\[/[/; s/\],"flows":.*$/]/p')
field() { jq -r --arg id "$1" ".[] | select(.id == \$id) | $2" <<<"$probes"; }
ERR=0
expect() {
	if [ "$2" = "$3" ]; then
		log "ok: $1 = $3"
	else
		log "NOT OK: $1: expected $3, got '$2'"
		ERR=$((ERR + 1))
	fi
}
U="uprobe:$T:pl_target_func"
R="uretprobe:$T:pl_target_func"
expect "target pid" "$(cat "$tmp/target.pid")" "$t_pid_real"
expect "$U state" "$(field "$U" .state)" attached
expect "$U hits" "$(field "$U" .hits)" "$N"
expect "$R hits" "$(field "$R" .hits)" "$N"
expect "latency samples" "$(field "$R" .latency_us.count)" "$N"
expect "latency pid" "$(field "$R" '.latency_pids[0].pid')" "$t_pid_real"
expect "latency pid calls" "$(field "$R" '.latency_pids[0].count')" "$N"
# every call sleeps 100 us, so no call can be timed in a bucket ending at or below 64 us
expect "calls faster than their sleep" \
	"$(field "$R" '[.latency_us.buckets[] | select(.le_us <= 64) | .count] | add // 0')" 0

# A symbol the binary lacks: an explicit probe that cannot attach is an error sentence, exit 1.
"$PKTLENS" --json --duration 1 --probes "none,uprobe:$T:no_such_function" >/dev/null 2>"$tmp/err2"
rc=$?
expect "exit for a missing symbol" "$rc" 1
grep -q "no_such_function" "$tmp/err2" || { cat "$tmp/err2" >&2; ERR=$((ERR + 1)); }
[ "$ERR" -eq 0 ] || fail "$ERR checks failed"
log "pass"
