# Legacy tracefs kprobe events: with the kprobe PMU hidden, libbpf names its events libbpf_PID_...;
# a pktlens killed with SIGKILL leaves them, the next pktlens removes them, and an event of a dead
# process that was not pktlens stays.
. /tests/lib.sh
F=__x64_sys_getppid
KE=/sys/kernel/tracing/kprobe_events
PMU=/sys/bus/event_source/devices/kprobe
[ -w "$KE" ] || skip_kernel "kprobe_events in tracefs (CONFIG_KPROBE_EVENTS)"
if [ -e "$PMU/type" ]; then
	mount -t tmpfs tmpfs "$PMU" || fail "cannot hide the kprobe PMU"
	trap 'umount "$PMU"' EXIT
fi
pl_start /tmp/lg.json --probes "none,kprobe:$F"
old=$PL_PID
grep "libbpf_${old}_" "$KE" || { cat "$KE"; fail "libbpf did not create a legacy event"; }
"$BIN/pl-target" getppid 100
sleep 1.2
kill -9 "$old"
wait "$old" 2>/dev/null
expect_eq "hits through the legacy event" "$(probe_field /tmp/lg.json "kprobe:$F" .hits)" 100
grep -q "libbpf_${old}_" "$KE" || fail "the killed pktlens' event vanished by itself"
[ -e "/run/pktlens/$old" ] || fail "pktlens did not mark its pid"

# a libbpf-style event of another dead program: a pid that no process has
dead=99999
while kill -0 "$dead" 2>/dev/null; do dead=$((dead - 1)); done
echo "p:kprobes/libbpf_${dead}_${F}_0x0_0 $F" >>"$KE" || fail "cannot add a foreign event"
pl_start /tmp/lg2.json --probes none
pl_stop
cat "$KE"
foreign=$(grep -c "libbpf_${dead}_" "$KE")
echo "-:kprobes/libbpf_${dead}_${F}_0x0_0" >>"$KE"
grep -q "libbpf_${old}_" "$KE" && fail "the stale event of the dead pktlens is still there"
[ -e "/run/pktlens/$old" ] && fail "the dead pktlens' mark is still there"
expect_eq "foreign events kept" "$foreign" 1
