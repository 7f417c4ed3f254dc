# A kprobe on the getppid syscall counts exactly the calls a helper makes.
. /tests/lib.sh
N=1000
F=__x64_sys_getppid
grep -q " $F\$" /proc/kallsyms || skip_kernel "the function $F"
pl_start /tmp/kp.json --probes "none,kprobe:$F"
"$BIN/pl-target" getppid "$N"
pl_stop
expect_eq "kprobe:$F state" "$(probe_field /tmp/kp.json "kprobe:$F" .state)" attached
expect_eq "kprobe:$F hits" "$(probe_field /tmp/kp.json "kprobe:$F" .hits)" "$N"
