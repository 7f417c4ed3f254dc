#!/usr/bin/env bash
# Drops pane under tmux: UDP to a closed port shows NO_SOCKET with its place and flow; Enter drills in.
# A server that closes first frees each peer's queued FIN with its socket: that shows on its own
# "discarded at close" line, never in the reasons table.
set -u
TEST_NAME=tui-drops
. "$(dirname "$0")/lib.sh"

CLOSED_PORT=45999
SRC_PORT=41000

tui_require
cleanup_init
make_tmpdir
netns_pair 212
# a steady trickle of datagrams to a port nobody listens on: every one is a NO_SOCKET drop in A
bg_start "$TMP/udp.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[2])))
while True:
    s.sendto(b"d" * 32, (sys.argv[1], int(sys.argv[3])))
    time.sleep(0.1)
' "$ADDR_A" "$SRC_PORT" "$CLOSED_PORT"
# a server in A that answers and closes first, and a client in B that keeps connecting
bg_start "$TMP/close-srv.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(16)
while True:
    c, _ = l.accept()
    c.sendall(b"bye")
    c.close()
' "$ADDR_A" 46050
bg_start "$TMP/close-cli.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
while True:
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        while s.recv(100):
            pass
        s.close()
    except OSError:
        pass
    time.sleep(0.2)
' "$ADDR_A" 46050
# pktlens attaches tcx links where the kernel has them and then creates no clsact: the test adds one
# so that the QDISC section has a clsact to show either way (the namespace takes it away)
ip netns exec "$NS_A" tc qdisc add dev "$IF_A" clsact 2>/dev/null
tui_start 140 45 -n "$NS_A" -i "$IF_A" --interval 0.5

tui_wait "1 Flows"
tui_wait_re "[0-9] Drops"
tab=$(tui_cap | grep -oE '[0-9] Drops' | head -1 | cut -c1)
tui_keys "$tab"
tui_wait "REASON"
tui_wait "NO_SOCKET" 8
tui_wait "LOCATION"
tui_wait "__udp4_lib_rcv"
tui_wait "SOFTNET CPU"
tui_wait "QDISC"
tui_wait "clsact"
tui_wait_re "vethA +udp +[0-9]+"
tui_wait "udp $ADDR_A:$CLOSED_PORT <> $ADDR_B:$SRC_PORT"
tui_wait_re "[0-9]+ reasons  [0-9]+ drops"
tui_wait_re "discarded at close \(not network drops\) [1-9][0-9]* .*QUEUE_PURGE [1-9][0-9]* +mostly at sk_stream_kill_queues" 8
# the reasons table and the places are the network's drops only
if tui_cap | grep -qE '^ (QUEUE_PURGE|sk_stream_kill_queues)'; then
	tui_cap >&2
	fail "the queue freed at close is listed as a drop"
fi

# Enter drills into the selected reason; walk down the table until it is NO_SOCKET
tui_keys Home
found=0
for _ in 1 2 3 4 5 6 7 8; do
	tui_keys Enter
	tui_wait "Drops with reason"
	if tui_cap | grep -q "Drops with reason NO_SOCKET"; then
		found=1
		break
	fi
	tui_keys Escape
	tui_wait "LOCATION"
	tui_keys Down
done
[ "$found" = 1 ] || fail "no row of the reasons table drills into NO_SOCKET"
tui_wait "FLOWS"
tui_wait_re "udp $ADDR_A:$CLOSED_PORT <> $ADDR_B:$SRC_PORT [a-zA-Z0-9]+ +[0-9]+"
tui_wait "Recent dropped packets"
# time, flow, length (32 bytes of payload + 8 UDP header as the skb holds it), location
tui_wait_re "[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} +udp $ADDR_A:$CLOSED_PORT <> $ADDR_B:$SRC_PORT.* [0-9]+ +__udp4_lib_rcv"
tui_keys Escape
tui_wait "LOCATION"
tui_wait_gone "Drops with reason"

# the flow's drops: a column in Flows and the reasons in its drill-down
tui_keys 1
tui_wait "RX b/s"
tui_keys /
tui_type ":$CLOSED_PORT"
tui_keys Enter
tui_wait_re " 1/[0-9]+ flows"
tui_keys Right Right Right Right Right Right Right Right
tui_wait "DROPS"
tui_wait_re "CWND +RETR +DROPS"
tui_keys Enter
tui_wait "Flow udp on $IF_A"
tui_wait_re "drops by reason: NO_SOCKET [1-9][0-9]*"
tui_keys Escape
tui_keys Escape
tui_keys "$tab"
tui_wait "LOCATION"

# narrow terminals still draw the pane
tui_resize 80 24
tui_wait "REASON"
tui_resize 140 45
tui_wait "SOFTNET CPU"

tui_quit
log "ok"
exit 0
