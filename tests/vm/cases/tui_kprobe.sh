# The TUI itself in tmux on a kernel with kprobes: a kprobe and a kretprobe added from the Probes
# pane's prompt (after pktlens dropped its privileges) count hits, Space detaches each and its hits
# stop; q leaves nothing behind.
. /tests/lib.sh

command -v tmux >/dev/null || fail "tmux is not in the initramfs"
"$PKTLENS" --list-probes >/tmp/tk.txt 2>&1 || fail "--list-probes failed"
grep -q 'kprobes yes' /tmp/tk.txt || skip_kernel "FEATURE kprobes"
mountpoint -q /dev/pts 2>/dev/null || { mkdir -p /dev/pts && mount -t devpts devpts /dev/pts; } ||
	fail "no /dev/pts for tmux"

FUNC=do_sys_openat2
S="tmux -L pltui"
cap() { $S capture-pane -p -t m; }
# wait_screen TEXT SECONDS
wait_screen() {
	i=0
	while ! cap | grep -q -- "$1"; do
		i=$((i + 1))
		[ "$i" -lt $(($2 * 10)) ] || { cap; fail "'$1' did not appear on the screen"; }
		sleep 0.1
	done
}
# hits KIND: the HITS column (6th field) of the probe's row
hits() { cap | awk -v k="$1" -v f="$FUNC" '$1 == k && $2 == f { print $6; exit }'; }
# opens: some openat calls, so that the probes fire
opens() {
	n=0
	while [ "$n" -lt 50 ]; do
		cat /proc/version >/dev/null
		n=$((n + 1))
	done
	sleep 2
}

trap '$S kill-server 2>/dev/null' EXIT
# tmux wants a UTF-8 locale; the initramfs has glibc's C.UTF-8
export LANG=C.UTF-8
$S -f /dev/null new-session -d -s m -x 150 -y 45 \
	"TERM=screen $PKTLENS -i lo --probes none --interval 0.5 2>/tmp/tui.err; echo \$? >/tmp/tui.rc; sleep 600" ||
	fail "cannot start tmux"
wait_screen "Flows" 60
$S send-keys -t m 2
wait_screen "KIND" 20
for spec in "kprobe:$FUNC" "kretprobe:$FUNC"; do
	$S send-keys -t m a
	wait_screen "add probe" 10
	$S send-keys -t m -l "$spec"
	$S send-keys -t m Enter
	wait_screen "added $spec" 20
done
# only the two rows: the filter keeps them on screen whatever the order
$S send-keys -t m f
$S send-keys -t m -l "$FUNC"
$S send-keys -t m Enter
opens
h1=$(hits kprobe)
r1=$(hits kretprobe)
opens
h2=$(hits kprobe)
r2=$(hits kretprobe)
cap
echo "kprobe hits $h1 -> $h2, kretprobe hits $r1 -> $r2"
[ -n "$h2" ] && [ "$h2" != 0 ] && [ "$h2" != "$h1" ] || fail "kprobe hits do not move ($h1 -> $h2)"
[ -n "$r2" ] && [ "$r2" != 0 ] && [ "$r2" != "$r1" ] || fail "kretprobe hits do not move ($r1 -> $r2)"
echo "ok: kprobe and kretprobe added from the prompt count hits"

# Space on the selected (first) row, then the next one
$S send-keys -t m Space
wait_screen "kprobe  *$FUNC  *detached" 10
$S send-keys -t m Down Space
wait_screen "kretprobe  *$FUNC  *detached" 10
opens
h3=$(hits kprobe)
r3=$(hits kretprobe)
opens
h4=$(hits kprobe)
r4=$(hits kretprobe)
echo "detached: kprobe hits $h3 -> $h4, kretprobe hits $r3 -> $r4"
[ "$h3" = "$h4" ] || fail "kprobe hits move while detached ($h3 -> $h4)"
[ "$r3" = "$r4" ] || fail "kretprobe hits move while detached ($r3 -> $r4)"
echo "ok: Space detached both; their hits stopped"

$S send-keys -t m q
i=0
while [ ! -s /tmp/tui.rc ]; do
	i=$((i + 1))
	[ "$i" -lt 200 ] || fail "pktlens did not exit on q"
	sleep 0.1
done
expect_eq "TUI exit status" "$(cat /tmp/tui.rc)" 0
grep -q "$FUNC" /sys/kernel/tracing/kprobe_events 2>/dev/null && fail "a kprobe event is left"
$S kill-server
echo "ok: q exits 0, nothing left"
