# XDP through libxdp's dispatcher (issue 17) beside xdp-filter (xdp-tools), on a kernel that runs
# freplace programs: xdp-filter loaded first and dropping one source; pktlens' XDP joins the
# dispatcher at priority 5, before xdp-filter's 10, so it counts every packet, also those
# xdp-filter then drops (xdp-filter's own hit counter and ping's replies are the ground truth);
# two pktlens through one dispatcher count exactly; a kill -9 leaves the dead one's program pinned
# in the dispatcher until the next pktlens takes it out (by its claim in /run/pktlens, never by
# name); when pktlens stops, xdp-filter is still attached and filtering and nothing of pktlens is
# left. xdp_dispatcher_first.sh: pktlens first on the hook, in the TUI; xdp_dispatcher_legacy.sh:
# a program without the dispatcher, and a killed pktlens alone in one.
. /tests/lib.sh
p1= p2= p3=
IF=pl9
A=10.99.0.1
PASS=10.99.0.2
DENY=10.99.0.3

cleanup() {
	kill -9 $p1 $p2 $p3 2>/dev/null
	xdp_cleanup
}
trap cleanup EXIT

xdp_require_chain
xdp_veth

# rx OUT FROM: ICMP packets pktlens counted from FROM on IF in the last snapshot of OUT.
rx() {
	tail -n 1 "$1" | jq --arg r "$2" --arg i "$IF" \
		'[.flows[] | select(.iface == $i and .proto == "icmp" and .remote == $r) | .rx_packets] | add // 0'
}

# rx_is OUT FROM N: waits (bounded) for pktlens' count to reach N, then checks it.
rx_is() {
	i=0
	while [ "$(rx "$1" "$2")" != "$3" ] && [ "$i" -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	expect_eq "$4" "$(rx "$1" "$2")" "$3"
}

# xdp_state OUT JQEXPR: JQEXPR of the xdp probe on IF in the last snapshot of OUT.
xdp_state() {
	probe_field "$1" "xdp:$IF" "$2"
}

# --- xdp-filter first, dropping DENY's packets ---
xdp-filter load "$IF" >/tmp/xf.log 2>&1 || { cat /tmp/xf.log; fail "xdp-filter load failed"; }
xdp-filter ip "$DENY" -m src || fail "xdp-filter ip $DENY failed"
chain >/tmp/chain0.txt
cat /tmp/chain0.txt
expect_eq "xdp-filter alone in the dispatcher" "$(wc -l </tmp/chain0.txt)" 1
fid=$(awk '$2 == "xdpfilt_alw_all" { print $3 }' /tmp/chain0.txt)
[ -n "$fid" ] || fail "xdp-filter's program is not in the dispatcher"
expect_eq "pings from $DENY answered while xdp-filter drops them" "$(pings "$DENY" 4)" 0
expect_eq "xdp-filter's hits" "$(hits)" 4

# --- pktlens joins the dispatcher at priority 5 ---
pl_start /tmp/x1.json -i "$IF" --probes xdp
p1=$PL_PID
expect_eq "pktlens 1's xdp probe" "$(xdp_state /tmp/x1.json .state)" attached
expect_eq "pktlens 1's attach method" "$(xdp_state /tmp/x1.json .mode)" "native, libxdp dispatcher prio 5"
cat /tmp/x1.json.err
[ -s /tmp/x1.json.err ] && fail "pktlens printed something on stderr with the dispatcher working"
chain >/tmp/chain1.txt
cat /tmp/chain1.txt
expect_eq "programs in the dispatcher" "$(wc -l </tmp/chain1.txt)" 2
expect_eq "first in the chain" "$(head -n 1 /tmp/chain1.txt | cut -d' ' -f1,2)" "5 xdp_flows"
expect_eq "then xdp-filter, same program" "$(sed -n 2p /tmp/chain1.txt)" "10 xdpfilt_alw_all $fid"
pid1=$(head -n 1 /tmp/chain1.txt | cut -d' ' -f3)
sleep 1.2 # a snapshot after the chain changed lists it
expect_eq "pktlens 1 shows xdp-filter after itself" \
	"$(xdp_state /tmp/x1.json '[.others[] | select(.how == "xdp prio 10") | .name + " " + (.id | tostring)] | join(",")')" \
	"xdpfilt_alw_all $fid"
expect_eq "pktlens 1 shows the dispatcher" \
	"$(xdp_state /tmp/x1.json '[.others[] | select(.how == "dispatcher") | .name] | join(",")')" xdp_dispatcher

expect_eq "pings from $PASS answered" "$(pings "$PASS" 5)" 5
expect_eq "pings from $DENY answered" "$(pings "$DENY" 5)" 0
rx_is /tmp/x1.json "$PASS" 5 "pktlens 1 counts the 5 from $PASS"
rx_is /tmp/x1.json "$DENY" 5 "pktlens 1 counts the 5 from $DENY that xdp-filter then drops"
expect_eq "xdp-filter's hits (4 + 5)" "$(hits)" 9

# --- a second pktlens in the same dispatcher ---
pl_start /tmp/x2.json -i "$IF" --probes xdp
p2=$PL_PID
expect_eq "pktlens 2's attach method" "$(xdp_state /tmp/x2.json .mode)" "native, libxdp dispatcher prio 5"
chain >/tmp/chain2.txt
cat /tmp/chain2.txt
expect_eq "programs in the dispatcher" "$(wc -l </tmp/chain2.txt)" 3
expect_eq "pktlens' two run before xdp-filter" "$(cut -d' ' -f1,2 /tmp/chain2.txt | tr '\n' ,)" \
	"5 xdp_flows,5 xdp_flows,10 xdpfilt_alw_all,"
pid2=$(awk -v a="$pid1" '$2 == "xdp_flows" && $3 != a { print $3 }' /tmp/chain2.txt)
expect_eq "pings from $PASS answered" "$(pings "$PASS" 3)" 3
rx_is /tmp/x1.json "$PASS" 8 "pktlens 1 counts 8 from $PASS"
rx_is /tmp/x2.json "$PASS" 3 "pktlens 2 counts its 3"

# --- kill -9: the dead one's program stays pinned until the next pktlens takes it out ---
kill -9 "$p1"
wait "$p1" 2>/dev/null
chain | grep -q " $pid1\$" || fail "the killed pktlens' program $pid1 left the dispatcher by itself?"
[ -e "/run/pktlens/$p1" ] || fail "the dead pktlens' file (its claim on program $pid1) is gone"
expect_eq "pings from $PASS answered" "$(pings "$PASS" 2)" 2
rx_is /tmp/x2.json "$PASS" 5 "pktlens 2 counts 5 after the kill"

pl_start /tmp/x3.json -i "$IF" --probes xdp
p3=$PL_PID
chain >/tmp/chain3.txt
cat /tmp/chain3.txt
chain | grep -q " $pid1\$" && fail "the dead pktlens' program $pid1 is still in the dispatcher"
chain | grep -q " $pid2\$" || fail "pktlens 2's program $pid2 was taken out"
expect_eq "programs in the dispatcher: pktlens 2 and 3, xdp-filter" "$(wc -l </tmp/chain3.txt)" 3
expect_eq "xdp-filter still there" "$(tail -n 1 /tmp/chain3.txt)" "10 xdpfilt_alw_all $fid"
[ -e "/run/pktlens/$p1" ] && fail "the dead pktlens' file stayed after its program went"
expect_eq "pings from $PASS answered" "$(pings "$PASS" 4)" 4
rx_is /tmp/x2.json "$PASS" 9 "pktlens 2 counts 9"
rx_is /tmp/x3.json "$PASS" 4 "pktlens 3 counts its 4"
expect_eq "pings from $DENY answered" "$(pings "$DENY" 2)" 0
rx_is /tmp/x3.json "$DENY" 2 "pktlens 3 counts the 2 from $DENY"
expect_eq "xdp-filter's hits (9 + 2)" "$(hits)" 11

# --- both stop: xdp-filter is still attached and filtering ---
PL_PID=$p2
pl_stop
p2=
PL_PID=$p3
pl_stop
p3=
chain >/tmp/chain4.txt
cat /tmp/chain4.txt
expect_eq "the dispatcher after pktlens left" "$(cat /tmp/chain4.txt)" "10 xdpfilt_alw_all $fid"
expect_eq "pings from $DENY answered" "$(pings "$DENY" 3)" 0
expect_eq "xdp-filter's hits (11 + 3)" "$(hits)" 14
expect_eq "pings from $PASS answered" "$(pings "$PASS" 2)" 2
expect_eq "/run/pktlens entries left" "$(ls /run/pktlens 2>/dev/null | wc -l)" 0

xdp-filter unload "$IF" || fail "xdp-filter unload failed"
wait_xdp "XDP on $IF after xdp-filter unload" 10 "" hook
expect_eq "dispatcher directories of $IF pinned" "$(pins)" 0
