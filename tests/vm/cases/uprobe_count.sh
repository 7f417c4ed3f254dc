# A uprobe + uretprobe pair on a test binary's function called N times: N hits, N timed calls, its pid.
. /tests/lib.sh
N=200
T=$BIN/pl-target
rm -f /tmp/go
"$T" call "$N" /tmp/go >/tmp/target.pid &
tpid=$!
pl_start /tmp/up.json --probes "none,uprobe:$T:pl_target_func,uretprobe:$T:pl_target_func"
touch /tmp/go
wait "$tpid"
pl_stop
expect_eq "pid printed" "$(cat /tmp/target.pid)" "$tpid"
expect_eq "uprobe hits" "$(probe_field /tmp/up.json "uprobe:$T:pl_target_func" .hits)" "$N"
expect_eq "uretprobe hits" "$(probe_field /tmp/up.json "uretprobe:$T:pl_target_func" .hits)" "$N"
expect_eq "latency samples" "$(probe_field /tmp/up.json "uretprobe:$T:pl_target_func" .latency_us.count)" "$N"
expect_eq "latency pid" "$(probe_field /tmp/up.json "uretprobe:$T:pl_target_func" '.latency_pids[0].pid')" "$tpid"
expect_eq "latency pid calls" "$(probe_field /tmp/up.json "uretprobe:$T:pl_target_func" '.latency_pids[0].count')" "$N"
# each call sleeps 100 us: nothing can land below the 64-128 us bucket
low=$(probe_field /tmp/up.json "uretprobe:$T:pl_target_func" '[.latency_us.buckets[] | select(.le_us <= 64) | .count] | add // 0')
expect_eq "calls faster than their own sleep" "$low" 0
