#!/usr/bin/env bash
# TUI probe toggling under tmux: detach tc-ingress (state, its program gone from the hook, RUNS
# frozen while packets arrive), attach it again (exactly one program on the hook, tcx link or
# classic filter; RUNS grows by exactly the packets the interface received, as its own counter
# says, and by the sender's count within 10%).
set -u
TEST_NAME=tui-probe-toggle
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib/tcx.sh
. "$(dirname "$0")/../lib/tcx.sh"

PORT=5003
BURST=250 # segments per burst, 100 a second: RUNS stays below 1000 and prints exactly

tui_require
cleanup_init
make_tmpdir
build_tcxtool
netns_pair 203

# A sink in A; bursts from B, one connection each, TCP_NODELAY: one segment per send.
bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
def drain(c):
    while c.recv(65536):
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
' "$PORT"
wait_port "$NS_A" tcp "$PORT"

# burst N: N sends of 100 bytes at 100 a second; prints the segments the sender's kernel sent
# on that connection (tcpi_segs_out: data, SYN, FIN and ACKs).
burst() {
	ip netns exec "$NS_B" "$PYTHON" -c '
import socket, struct, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t0 = time.monotonic()
for i in range(int(sys.argv[3])):
    c.send(b"x" * 100)
    time.sleep(max(0, t0 + (i + 1) * 0.01 - time.monotonic()))
c.shutdown(socket.SHUT_WR)
c.recv(1)
# struct tcp_info: tcpi_segs_out is the u32 at byte 136
info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
print(struct.unpack_from("I", info, 136)[0])
' "$ADDR_A" "$PORT" "$1"
}

rx_packets() {
	ip -n "$NS_A" -s -j link show dev "$IF_A" | "$PYTHON" -c \
		'import json, sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'
}

# pktlens' programs on the ingress hook, as the kernel lists them (tcx links or cls_bpf filters)
tc_filters() {
	pktlens_progs "$NS_A" "$IF_A" ingress
}

tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5

tui_keys 2
tui_wait "tc-ingress"
tui_keys f
tui_type "tc-ingress:$IF_A"
tui_keys Enter
tui_wait_re "^tc-ingress +$IF_A +attached"

# RUNS, the fourth column of the probe's row
runs() {
	tui_cap | awk -v ifc="$IF_A" '$1 == "tc-ingress" && $2 == ifc { print $4; exit }'
}

# runs_settled: RUNS and the interface's rx_packets once neither has moved for three refreshes
# (1.5 s), bounded by 20 s; in $RUNS and $RX. Both from the same quiet spell: read apart, a
# stray packet (a neighbour probe) between the two readings counted in one and not the other
# (a clean-clone run: RUNS +256 for rx_packets +255).
runs_settled() {
	local prev cur rxp rxc same=0 deadline=$((SECONDS + 20))
	prev=$(runs)
	rxp=$(rx_packets)
	while [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.5
		cur=$(runs)
		rxc=$(rx_packets)
		if [ "$cur" = "$prev" ] && [ "$rxc" = "$rxp" ]; then
			same=$((same + 1))
			[ "$same" -ge 3 ] && break
		else
			same=0
		fi
		prev=$cur
		rxp=$rxc
	done
	[ "$same" -ge 3 ] || fail "RUNS or rx_packets kept moving without traffic (last $cur, $rxc)"
	case "$cur" in '' | *[!0-9]*) fail "RUNS '$cur' is not an exact count" ;; esac
	RUNS=$cur
	RX=$rxc
}

[ "$(tc_filters)" = 1 ] || fail "$(tc_filters) ingress programs on $IF_A while attached, expected 1"

tui_keys Space
tui_wait_re "^tc-ingress +$IF_A +detached" 5
[ "$(tc_filters)" = 0 ] || fail "the ingress program is still on $IF_A while detached"
runs_settled
a=$RUNS
rx0=$RX
burst 100 >/dev/null || fail "the first burst failed"
runs_settled
b=$RUNS
rx1=$RX
[ "$((rx1 - rx0))" -ge 100 ] || fail "$IF_A received only $((rx1 - rx0)) packets in the first burst"
[ "$a" = "$b" ] || fail "RUNS moved while detached ($a -> $b, $((rx1 - rx0)) packets arrived)"

tui_keys Space
tui_wait_re "^tc-ingress +$IF_A +attached" 5
[ "$(tc_filters)" = 1 ] || fail "$(tc_filters) ingress programs on $IF_A after re-attach, expected 1"
runs_settled
c=$RUNS
rx2=$RX
sent=$(burst "$BURST") || fail "the second burst failed"
runs_settled
d=$RUNS
rx3=$RX
got=$((d - c))
arrived=$((rx3 - rx2))
log "attached: RUNS $c -> $d (+$got), $IF_A rx_packets +$arrived, the sender's segments $sent"
[ "$got" = "$arrived" ] ||
	fail "RUNS grew by $got, $IF_A received $arrived packets (each runs the ingress program once)"
# the sender's own count: every segment it sent arrives once (10% for stray ARP/ND in the window)
[ "$((got * 10))" -ge "$((sent * 9))" ] && [ "$((got * 10))" -le "$((sent * 11))" ] ||
	fail "RUNS grew by $got, the sender sent $sent segments"

tui_quit
log "ok (runs $a = $b while detached, +$got for $arrived packets after re-attach)"
exit 0
