# pktlens first on an empty XDP hook, on a kernel that runs libxdp's dispatcher (issue 17), seen in
# the TUI's Probes pane (tmux): its XDP goes in through a dispatcher of its own (the attach method
# and the dispatcher shown on the pane's last line), Space takes it out and the hook is empty again
# (libxdp detaches a dispatcher with no programs and unpins it), Space puts it back; xdp-filter
# (xdp-tools) loaded afterwards joins the same dispatcher behind pktlens' program, which stays (same
# id), and the pane lists xdp-filter; q leaves xdp-filter alone in the dispatcher and filtering
# (its own hit counter, ping's replies). --list-probes names the method and the programs of the
# hook. The chain as xdp-loader (xdp-tools) lists it is the ground truth.
. /tests/lib.sh
IF=pl8
A=10.98.0.1
PASS=10.98.0.2
DENY=10.98.0.3
S="tmux -L plxdp"

cleanup() {
	$S kill-server 2>/dev/null
	xdp_cleanup
}
trap cleanup EXIT

command -v tmux >/dev/null || fail "tmux is not in the initramfs"
xdp_require_chain
mountpoint -q /dev/pts 2>/dev/null || { mkdir -p /dev/pts && mount -t devpts devpts /dev/pts; } ||
	fail "no /dev/pts for tmux"
xdp_veth

cap() { $S capture-pane -p -t m; }
on_screen() { cap | grep -qF -- "$1"; }
wait_screen() {
	until_t "$2" on_screen "$1" || { cap; fail "'$1' did not appear on the screen"; }
}

# --- --list-probes on the empty hook: the method it would use, nobody else there ---
"$PKTLENS" -i "$IF" --list-probes >/tmp/xf1.txt 2>&1 || fail "--list-probes -i $IF failed"
grep "^xdp:$IF " /tmp/xf1.txt
grep -qE "^xdp:$IF +xdp +detached +\[libxdp dispatcher prio 5\]\$" /tmp/xf1.txt ||
	fail "--list-probes does not show the XDP method on an empty hook"

# --- the TUI attaches XDP: a dispatcher of its own, shown in the Probes pane ---
export LANG=C.UTF-8
$S -f /dev/null new-session -d -s m -x 200 -y 40 \
	"TERM=screen $PKTLENS -i $IF --probes xdp --interval 0.5 2>/tmp/xf.err; echo \$? >/tmp/xf.rc; sleep 600" ||
	fail "cannot start tmux"
wait_screen "Flows" 60
$S send-keys -t m 2
wait_screen "KIND" 20
$S send-keys -t m f
$S send-keys -t m -l "xdp:$IF"
$S send-keys -t m Enter
chain >/tmp/xc1.txt
cat /tmp/xc1.txt
expect_eq "programs in the dispatcher" "$(wc -l </tmp/xc1.txt)" 1
expect_eq "pktlens' program at priority 5" "$(cut -d' ' -f1,2 /tmp/xc1.txt)" "5 xdp_flows"
d1=$(hook)
[ -n "$d1" ] || fail "no dispatcher on $IF"
wait_screen " xdp:$IF: attached [native, libxdp dispatcher prio 5]  also here: dispatcher xdp_dispatcher id $d1" 20
echo "ok: the Probes pane shows the method and the dispatcher (id $d1)"
expect_eq "pings from $PASS answered" "$(pings "$PASS" 2)" 2

# Space: out of the dispatcher, which libxdp then takes off (no programs left), and unpinned
$S send-keys -t m Space
wait_screen " xdp:$IF: detached [libxdp dispatcher prio 5]" 20
wait_xdp "XDP on $IF after Space" 10 "" hook
wait_xdp "dispatcher directories of $IF pinned after Space" 10 0 pins
echo "ok: Space took pktlens' XDP out; the hook is empty"
# Space again (asked once, as for any XDP attach from the pane): a new dispatcher
$S send-keys -t m Space
wait_screen "attach xdp:$IF?" 10
$S send-keys -t m y
wait_screen " xdp:$IF: attached [native, libxdp dispatcher prio 5]  also here: dispatcher" 20
pid1=$(chain | awk '$2 == "xdp_flows" { print $3 }')
[ -n "$pid1" ] || fail "pktlens' program is not in the dispatcher after Space"

# --- xdp-filter joins pktlens' dispatcher: it runs behind pktlens, which keeps its program ---
xdp-filter load "$IF" >/tmp/xf.log 2>&1 || { cat /tmp/xf.log; fail "xdp-filter load failed"; }
xdp-filter ip "$DENY" -m src || fail "xdp-filter ip $DENY failed"
chain >/tmp/xc2.txt
cat /tmp/xc2.txt
expect_eq "pktlens first, then xdp-filter" "$(cut -d' ' -f1,2 /tmp/xc2.txt | tr '\n' ,)" \
	"5 xdp_flows,10 xdpfilt_alw_all,"
expect_eq "pktlens' program, the same one" "$(head -n 1 /tmp/xc2.txt | cut -d' ' -f3)" "$pid1"
fid=$(awk '$2 == "xdpfilt_alw_all" { print $3 }' /tmp/xc2.txt)
d2=$(hook)
[ -n "$d2" ] && [ "$d2" != "$d1" ] || fail "no new dispatcher on $IF ($d1 -> '$d2')"
wait_screen " xdp:$IF: attached [native, libxdp dispatcher prio 5]  also here: dispatcher xdp_dispatcher id $d2, xdp prio 10 xdpfilt_alw_all id $fid" 20
echo "ok: the Probes pane shows xdp-filter behind pktlens in dispatcher $d2"
"$PKTLENS" -i "$IF" --list-probes >/tmp/xf2.txt 2>&1 || fail "--list-probes -i $IF failed"
grep "^xdp:$IF " /tmp/xf2.txt
grep -qE "^xdp:$IF +xdp +detached +\[libxdp dispatcher prio 5\] also here: dispatcher xdp_dispatcher id $d2, xdp prio 5 xdp_flows id $pid1, xdp prio 10 xdpfilt_alw_all id $fid\$" /tmp/xf2.txt ||
	fail "--list-probes does not show the whole chain"
expect_eq "pings from $DENY answered" "$(pings "$DENY" 3)" 0
expect_eq "xdp-filter's hits" "$(hits)" 3

$S send-keys -t m q
until_t 30 test -s /tmp/xf.rc || fail "pktlens did not exit on q"
expect_eq "TUI exit status" "$(cat /tmp/xf.rc)" 0
cat /tmp/xf.err
[ -s /tmp/xf.err ] && fail "the TUI wrote on stderr"
$S kill-server
expect_eq "the dispatcher after q" "$(chain)" "10 xdpfilt_alw_all $fid"
expect_eq "pings from $DENY answered" "$(pings "$DENY" 2)" 0
expect_eq "xdp-filter's hits (3 + 2)" "$(hits)" 5
expect_eq "pings from $PASS answered" "$(pings "$PASS" 2)" 2
xdp-filter unload "$IF" || fail "xdp-filter unload failed"
wait_xdp "XDP on $IF after xdp-filter unload" 10 "" hook
expect_eq "dispatcher directories of $IF pinned" "$(pins)" 0
ip link del "$IF"
