# Helper for the ground-truth tests (not a test): how often the kernel skipped one of a
# process' BPF programs.
# shellcheck shell=bash
#
# A tracepoint program is not run (the kernel counts a recursion miss instead) when a BPF
# tracing program is already running on that CPU, e.g. one in process context interrupted by
# a softirq. Every pktlens instance on the machine runs its programs for every event in every
# namespace, so under concurrent load a few events can be lost this way; an exact comparison
# is only meaningful when this count is zero.

# prog_misses PID NAME: recursion_misses of the BPF program NAME that process PID holds open.
prog_misses() {
	local f id m total=0
	command -v bpftool >/dev/null 2>&1 || {
		echo 0
		return
	}
	for f in /proc/"$1"/fdinfo/*; do
		id=$(sed -nE 's/^prog_id:\s+([0-9]+)/\1/p' "$f" 2>/dev/null)
		[ -n "$id" ] || continue
		bpftool prog show id "$id" 2>/dev/null | grep -q " name $2 " || continue
		m=$(sed -nE 's/^recursion_misses:\s+([0-9]+)/\1/p' "$f" 2>/dev/null)
		total=$((total + ${m:-0}))
	done
	echo "$total"
}
