#!/usr/bin/env bash
# Retransmissions pane under tmux: a lossy connection shows up in the top flows and in the
# recent events, with the totals line; Space moves between the lists, Enter opens the flow.
# Then the receiver's view of the same connection: the peer's retransmissions received, and a
# reset flow with no socket whose unknown TCP values read "-", not 0.
set -u
TEST_NAME=tui-retrans
. "$(dirname "$0")/lib.sh"

PORT=46201
NFT_TABLE=pktlens_test

tui_require
require_cmd nft
cleanup_init
make_tmpdir
netns_pair 219

# receiver-side loss of every 7th data segment: the sender in B retransmits
ip netns exec "$NS_A" nft -f - <<NFT || fail "cannot add the nftables loss rule"
table inet $NFT_TABLE {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport $PORT meta length > 200 numgen inc mod 7 == 0 drop
	}
}
NFT
cleanup_add_cmd "ip netns exec '$NS_A' nft delete table inet $NFT_TABLE"
bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
c, _ = s.accept()
while c.recv(1 << 20):
    pass
' "$ADDR_A" "$PORT"
wait_for 5 sh -c "ip netns exec '$NS_A' ss -Hltn 'sport = :$PORT' | grep -q LISTEN" ||
	fail "the sink is not listening"

tui_start 140 45 -n "$NS_B" -i "$IF_B" --interval 0.5
tui_wait "1 Flows"
# the connection opens while pktlens watches: it sees the handshake and the state
sleep 1
bg_start "$TMP/client.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
while True:
    c.sendall(b"x" * 20000)
    time.sleep(0.05)
' "$ADDR_A" "$PORT"
tui_wait_re "[0-9] Retrans"
tab=$(tui_cap | grep -oE '[0-9] Retrans' | head -1 | cut -c1)
tui_keys "$tab"
tui_wait "TOP FLOWS BY RETRANSMISSIONS"
tui_wait_re "retransmitted [1-9][0-9]* segs"
tui_wait "connections 1"
# local <> remote, state, a count: the lossy connection as seen by its sender
tui_wait_re "$ADDR_B:[0-9]+ <> $ADDR_A:$PORT +ESTABLISHED +[1-9][0-9]* " 10
tui_wait "RECENT EVENTS"
tui_wait_re "[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} +retrans +ESTABLISHED .*$ADDR_A:$PORT.* [0-9]+ +[0-9]+"
tui_wait_re "1 flows retransmitting  [1-9][0-9]* events"

# Enter on the top flow opens its drill-down
tui_keys Home Enter
tui_wait "Flow tcp on $IF_B"
# the drill-down's TCP part: windows and counters, the state timeline, srtt/cwnd history
tui_wait_re "TCP  opened by this host  handshake [0-9.]+[um]?s .* ssthresh ([0-9]+|inf) "
tui_wait_re "states SYN_SENT \+0ms > ESTABLISHED \+[0-9]+ms"
tui_wait "srtt (max"
tui_wait "cwnd (max"
tui_wait "kernel rx latency"
tui_cap >"$TMP/detail.txt"
[ -n "${TUI_SHOT:-}" ] && cp "$TMP/detail.txt" "$TUI_SHOT"
tui_keys Escape
tui_wait "TOP FLOWS BY RETRANSMISSIONS"
# Space moves to the events; Enter on an event opens the same flow
tui_keys Space Home Enter
tui_wait "Flow tcp on $IF_B"
tui_wait "$ADDR_A:$PORT"
tui_keys Escape
tui_wait "RECENT EVENTS"

tui_resize 80 24
tui_wait "TOP FLOWS"
tui_resize 140 45
tui_wait "RECENT EVENTS"

tui_quit

# ---- the receiver's view: A retransmits nothing, but receives B's retransmissions ----
tmux -L "$TUI_SOCK" kill-server 2>/dev/null
rm -f "$TMP/rc"
tui_start 140 45 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "1 Flows"
tui_keys "$tab"
tui_wait "TOP FLOWS BY RETRANSMISSIONS"
tui_wait_re "retransmitted 0 segs .* received [1-9][0-9]* \(the peers'\)" 10
# the flow (opened before this pktlens: state "-"): RETRANS 0 (its own), RECEIVED > 0 (the peer's)
tui_wait_re "$ADDR_A:$PORT <> $ADDR_B:[0-9]+ +[-A-Z_]+ +0 +[-0-9.A-Za-z]+ +[1-9][0-9]* " 10
tui_keys Home Enter
tui_wait "Flow tcp on $IF_A"
tui_wait_re "retrans 0 \(received [1-9][0-9]*\)"
tui_wait_re "ooo [0-9]+  dup [1-9][0-9]*"
tui_keys Escape
tui_wait "TOP FLOWS BY RETRANSMISSIONS"
# a SYN to a closed port: A resets it without any socket, so nothing of TCP's is known
ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.connect((sys.argv[1], 45999))
except OSError:
    pass
' "$ADDR_A"
tui_wait_re "rst-out +- +tcp $ADDR_A:45999" 10
tui_keys Space Home Enter
tui_wait "Flow tcp on $IF_A"
tui_wait "$ADDR_A:45999"
tui_wait_re " state - +srtt - +cwnd - +retrans 0 "
tui_wait_re "ssthresh - +snd wnd - +rcv wnd - "
tui_keys Escape
tui_wait "RECENT EVENTS"

tui_quit
log "ok"
exit 0
