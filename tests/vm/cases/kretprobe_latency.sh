# A kprobe + kretprobe pair on getppid: both count every call and the latency histogram has N samples.
. /tests/lib.sh
N=500
F=__x64_sys_getppid
pl_start /tmp/kr.json --probes "none,kprobe:$F,kretprobe:$F"
"$BIN/pl-target" getppid "$N"
pl_stop
expect_eq "kprobe hits" "$(probe_field /tmp/kr.json "kprobe:$F" .hits)" "$N"
expect_eq "kretprobe hits" "$(probe_field /tmp/kr.json "kretprobe:$F" .hits)" "$N"
expect_eq "latency samples" "$(probe_field /tmp/kr.json "kretprobe:$F" .latency_us.count)" "$N"
sum=$(probe_field /tmp/kr.json "kretprobe:$F" '[.latency_us.buckets[].count] | add')
expect_eq "latency bucket sum" "$sum" "$N"
# kernel functions are not split by process
expect_eq "latency_pids" "$(probe_field /tmp/kr.json "kretprobe:$F" '.latency_pids | length')" 0
