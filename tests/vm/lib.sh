# Helpers for tests/vm/cases/*.sh, sourced inside the VM (busybox sh): pktlens runs, JSON fields, checks.
PKTLENS=${PKTLENS:-/bin/pktlens}
BIN=/tests/bin

fail() {
	echo "FAIL: $*"
	exit 1
}

# skip_kernel FEATURE: the only reason a case may skip. The host (scripts/vmtest.sh) accepts a
# skip only when its reason starts with "kernel lacks "; any other skip fails the run.
skip_kernel() {
	echo "SKIP: kernel lacks $*"
	exit 77
}

# pl_start OUT ARGS...: runs pktlens --json in the background (pid in PL_PID) until its first line.
pl_start() {
	out=$1
	shift
	: >"$out"
	"$PKTLENS" --json --interval 1 "$@" >"$out" 2>"$out.err" &
	PL_PID=$!
	i=0
	while [ ! -s "$out" ]; do
		kill -0 "$PL_PID" 2>/dev/null || { cat "$out.err"; fail "pktlens $* exited early"; }
		i=$((i + 1))
		[ "$i" -lt 600 ] || fail "pktlens $* printed nothing in 60 s"
		sleep 0.1
	done
}

# pl_stop: SIGINT, wait; the last line of the output is the final snapshot.
pl_stop() {
	kill -INT "$PL_PID"
	wait "$PL_PID"
	rc=$?
	[ "$rc" -eq 0 ] || { cat "$out.err"; fail "pktlens exited with $rc"; }
}

# probes_json OUT: the "probes" array of the last snapshot, cut out of the line so that a
# defect elsewhere in the snapshot does not hide what these tests measure (smoke.sh checks the
# whole line).
probes_json() {
	tail -n 1 "$1" | sed -n 's/^.*"probes":\[/[/; s/\],"flows":.*$/]/p'
}

# probe_field OUT ID JQEXPR: JQEXPR applied to the probe with that id in the last snapshot.
probe_field() {
	probes_json "$1" | jq -r --arg id "$2" ".[] | select(.id == \$id) | $3"
}

# dummy_add NAME: a dummy interface; the kernel lacks them only when no dummy.ko came along
# (VMTEST_KERNEL boots without modules) and none are built in.
dummy_add() {
	ip link add "$1" type dummy && return 0
	ls /lib/modules/dummy.ko* >/dev/null 2>&1 && fail "dummy.ko is loaded but ip link add $1 type dummy failed"
	skip_kernel "dummy interfaces (CONFIG_DUMMY)"
}

expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected $3, got '$2'"
	echo "ok: $1 = $3"
}
