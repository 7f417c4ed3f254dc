# Attach and detach kprobe and uprobe pairs 50 times in one engine: fds return to where they were.
. /tests/lib.sh
"$BIN/pl-cycle" kprobe:__x64_sys_getppid kretprobe:__x64_sys_getppid 50 || fail "kprobe pair cycle"
"$BIN/pl-cycle" "uprobe:$BIN/pl-target:pl_target_func" "uretprobe:$BIN/pl-target:pl_target_func" 50 ||
	fail "uprobe pair cycle"
# perf-based probes leave nothing in tracefs; legacy ones would be named pktlens_*
if grep -q pktlens /sys/kernel/tracing/kprobe_events /sys/kernel/tracing/uprobe_events 2>/dev/null; then
	fail "probe events left in tracefs"
fi
echo ok
