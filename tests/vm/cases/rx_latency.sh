# Built-in receive-path latency (kprobes ip_rcv -> tcp_v4_rcv): one hit per TCP segment received,
# as the kernel's InSegs counter says, and every one of them timed in the histogram.
. /tests/lib.sh
in_segs() { awk '/^Tcp:/ { getline; print $11; exit }' /proc/net/snmp; }
P=kprobe:tcp_v4_rcv
pl_start /tmp/rx.json --probes "none,$P"
s0=$(in_segs)
"$BIN/pl-target" reset 5 || fail "the helper failed"
s1=$(in_segs)
sleep 1.2
pl_stop
n=$((s1 - s0))
[ "$n" -gt 0 ] || fail "no TCP segments received"
expect_eq "$P state" "$(probe_field /tmp/rx.json $P .state)" attached
expect_eq "$P mode" "$(probe_field /tmp/rx.json $P .mode)" "latency from ip_rcv"
expect_eq "$P hits = InSegs delta" "$(probe_field /tmp/rx.json $P .hits)" "$n"
expect_eq "timed segments" "$(probe_field /tmp/rx.json $P .latency_us.count)" "$n"
expect_eq "bucket sum" "$(probe_field /tmp/rx.json $P '[.latency_us.buckets[].count] | add')" "$n"
