# pktlens first on an empty XDP hook, on a kernel that runs libxdp's dispatcher (issue 17), seen in
# the TUI's Probes pane (tmux): its XDP goes in through a dispatcher of its own (the attach method
# and the dispatcher shown on the pane's last line), Space takes it out and the hook is empty again
# (libxdp detaches a dispatcher with no programs and unpins it), Space puts it back; xdp-filter
# (xdp-tools) loaded afterwards joins the same dispatcher behind pktlens' program, which stays (same
# id), and the pane lists xdp-filter; q leaves xdp-filter alone in the dispatcher and filtering
# (its own hit counter, ping's replies). A headless pktlens alone in a dispatcher and killed with
# kill -9 leaves its program pinned there; the next pktlens, even one without XDP, takes it out
# and the hook and the BPF filesystem are empty again. --list-probes names the method and the
# programs of the hook. The chain as xdp-loader (xdp-tools) lists it is the ground truth.
. /tests/lib.sh
p1= peer=
IF=pl8
A=10.98.0.1
PASS=10.98.0.2
DENY=10.98.0.3
S="tmux -L plxdp"

cleanup() {
	$S kill-server 2>/dev/null
	kill -9 $p1 2>/dev/null
	xdp-filter unload "$IF" >/dev/null 2>&1
	xdp-loader unload "$IF" --all >/dev/null 2>&1
	ip link del "$IF" 2>/dev/null
	[ -n "$peer" ] && kill -9 "$peer" 2>/dev/null
}
trap cleanup EXIT

command -v tmux >/dev/null || fail "tmux is not in the initramfs"
"$PKTLENS" --list-probes >/tmp/xf0.txt 2>&1 || { cat /tmp/xf0.txt; fail "--list-probes failed"; }
if ! grep -q "^xdp: chained through libxdp's dispatcher" /tmp/xf0.txt; then
	grep "^xdp:" /tmp/xf0.txt
	grep -q "refuses freplace" /tmp/xf0.txt && skip_kernel "freplace programs (libxdp's dispatcher)"
	fail "pktlens does not chain XDP through libxdp's dispatcher here"
fi
mountpoint -q /dev/pts 2>/dev/null || { mkdir -p /dev/pts && mount -t devpts devpts /dev/pts; } ||
	fail "no /dev/pts for tmux"

# The peer: a namespace held by a process, with the far end of a veth pair and two addresses.
unshare -n sleep 600 &
peer=$!
sleep 0.2
ip link add "$IF" type veth || skip_kernel "veth interfaces"
pif=$(ip -o link show | sed -n "s/^[0-9]*: \(veth[0-9]*\)@$IF:.*/\1/p")
[ -n "$pif" ] || fail "cannot find the peer of $IF"
ip link set "$pif" netns "$peer" || fail "cannot move $pif into the peer namespace"
in_peer() { nsenter -t "$peer" -n "$@"; }
in_peer ip link set "$pif" name pl8p
in_peer ip link set lo up
in_peer ip addr add "$PASS/24" dev pl8p
in_peer ip addr add "$DENY/24" dev pl8p
in_peer ip link set pl8p up
ip addr add "$A/24" dev "$IF"
ip link set "$IF" up

pings() {
	in_peer ping -c "$2" -i 0.2 -W 1 -I "$1" "$A" 2>/dev/null |
		sed -n 's/.* \([0-9]*\) packets received.*/\1/p'
}
hits() {
	xdp-filter status 2>/dev/null | awk -v ip="$DENY" '$1 == ip { print $3 }'
}
# chain: the dispatcher's programs as xdp-loader lists them, "PRIO NAME ID" each.
chain() {
	xdp-loader status "$IF" 2>/dev/null | awk '$1 == "=>" { print $2, $3, $4 }'
}
# hook: the id of the program on the XDP hook (a dispatcher), as xdp-loader shows it; empty for none.
hook() {
	xdp-loader status "$IF" 2>/dev/null | awk -v i="$IF" '$1 == i && $2 !~ /^</ { print $(NF-1) }'
}
# pins: libxdp's dispatcher directories on the BPF filesystem (LIBXDP_BPFFS is not set here).
pins() {
	ls -d /sys/fs/bpf/xdp/dispatch-* 2>/dev/null | wc -l
}
cap() { $S capture-pane -p -t m; }
# until CMD...: retries CMD for up to T seconds (wall clock: a capture takes long under emulation).
until_t() {
	t=$1
	shift
	end=$(($(date +%s) + t))
	while ! "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
on_screen() { cap | grep -qF -- "$1"; }
wait_screen() {
	until_t "$2" on_screen "$1" || { cap; fail "'$1' did not appear on the screen"; }
}
hook_is() { [ "$(hook)" = "$1" ]; }
# wait_hook ID SECONDS: until the hook's program is ID ("" for none).
wait_hook() {
	until_t "$2" hook_is "$1" || fail "the XDP hook of $IF holds '$(hook)', expected '$1'"
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
wait_hook "" 10
expect_eq "dispatcher directories pinned after Space" "$(pins)" 0
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
wait_hook "" 10
expect_eq "dispatcher directories pinned after xdp-filter unload" "$(pins)" 0

# --- kill -9 of a pktlens alone in a dispatcher: the next pktlens, without XDP, takes it out ---
pl_start /tmp/xk.json -i "$IF" --probes xdp
p1=$PL_PID
expect_eq "the killed one's attach method" "$(probe_field /tmp/xk.json "xdp:$IF" .mode)" \
	"native, libxdp dispatcher prio 5"
pk=$(chain | awk '$2 == "xdp_flows" { print $3 }')
[ -n "$pk" ] || fail "pktlens' program is not in the dispatcher"
kill -9 "$p1"
wait "$p1" 2>/dev/null
p1=
expect_eq "the dead pktlens' program still in the dispatcher" "$(chain)" "5 xdp_flows $pk"
"$PKTLENS" -i "$IF" --json --duration 1 >/tmp/xn.json 2>/tmp/xn.err || { cat /tmp/xn.err; fail "pktlens without XDP failed"; }
cat /tmp/xn.err
wait_hook "" 10
expect_eq "dispatcher directories pinned after the sweep" "$(pins)" 0
expect_eq "/run/pktlens entries left" "$(ls /run/pktlens 2>/dev/null | wc -l)" 0
ip link del "$IF"
