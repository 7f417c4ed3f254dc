#!/usr/bin/env bash
# Flows controls under tmux: f takes tcpdump syntax (errors shown in the prompt, filters a flow
# cannot answer refused with the reason, also as -f), / stays a substring search; closed and idle
# flows are hidden by default with the count shown, i shows them; the selection stays at the top
# of the sort as the order changes, F makes it follow its flow.
set -u
TEST_NAME=tui-flows-filter
. "$(dirname "$0")/lib.sh"

A=5201 B=5202 # two flows whose rates trade places when $TMP/flip exists
CLOSED=5210   # short connections that open and close
N_CLOSED=3

tui_require
cleanup_init
make_tmpdir

# -f with a filter a flow cannot answer: refused before anything is attached, with the reason
"$PKTLENS" -f 'tcp[13] & 2 != 0' --json --duration 1 >"$TMP/f.out" 2>"$TMP/f.err"
rc=$?
[ "$rc" -ne 0 ] || fail "-f 'tcp[13] & 2 != 0' was accepted"
grep -q "reads byte 13 of the TCP header, which a flow does not keep" "$TMP/f.err" ||
	fail "-f refusal does not say why: $(cat "$TMP/f.err")"
[ "$(wc -l <"$TMP/f.err")" = 1 ] || fail "-f refusal is not one line: $(cat "$TMP/f.err")"

netns_pair 234
# a server for the short connections; shutdown before close, as many servers do, makes the
# kernel report FIN_WAIT1 twice (tcp_close_state maps FIN_WAIT1 to itself)
bg_start "$TMP/closed.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.recv(100); c.shutdown(socket.SHUT_WR); c.close()
' "$CLOSED"
wait_for 10 tui_listening "$NS_A" "$CLOSED" || fail "no listener on $CLOSED"
# the two steady flows: A fast and B slow, swapped while $TMP/flip exists
for p in $A $B; do
	bg_start "$TMP/srv$p.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept()
while c.recv(65536):
    pass
' "$p"
	wait_for 10 tui_listening "$NS_A" "$p" || fail "no listener on $p"
done
bg_start "$TMP/client.log" ip netns exec "$NS_B" "$PYTHON" -c '
import os, socket, sys, time
a = socket.create_connection((sys.argv[1], int(sys.argv[2])))
b = socket.create_connection((sys.argv[1], int(sys.argv[3])))
t = 0
while True:
    fast, slow = (b, a) if os.path.exists(sys.argv[4]) else (a, b)
    fast.send(b"x" * 100)
    if t % 20 == 0:
        slow.send(b"x" * 100)
    t += 1
    time.sleep(0.01)
' "$ADDR_A" "$A" "$B" "$TMP/flip"

tui_start 140 40 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "$ADDR_A:$A" 8
tui_wait "$ADDR_A:$B"

# f: tcpdump syntax; a syntax error stays in the prompt with libpcap's reason
tui_keys f
tui_wait "tcpdump filter"
tui_type "tcp and prot $A"
tui_keys Enter
tui_wait "bad filter 'tcp and prot $A'"
tui_wait "tcpdump filter"
# a filter a flow cannot answer: the reason, the prompt stays
tui_keys C-u
tui_type "tcp[13] & 2 != 0"
tui_keys Enter
tui_wait "reads byte 13 of the TCP header, which a flow does not keep"
tui_keys C-u
tui_type "tcp and dst port $B"
tui_keys Enter
tui_wait_gone "tcpdump filter"
tui_wait "tcpdump 'tcp and dst port $B'"
tui_wait_re " 1/[0-9]+ flows"
ports() { tui_order "$ADDR_A:52(01|02|10)" | sed "s/$ADDR_A://g"; }
[ "$(ports)" = "$B" ] || fail "'tcp and dst port $B' shows '$(ports)'"
# / is the quick substring search over what the rows say, under the tcpdump filter
tui_keys Escape
tui_wait_gone "tcpdump '"
tui_keys /
tui_type "$ADDR_A:520"
tui_keys Enter
tui_wait_re " 2/[0-9]+ flows"
tui_keys Escape
tui_wait_gone "filter '$ADDR_A:520'"

# closed connections: hidden by default, counted; i shows them
for _ in $(seq "$N_CLOSED"); do
	ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2]))); c.send(b"hi"); c.recv(10); c.close()
' "$ADDR_A" "$CLOSED" || fail "a short connection failed"
done
tui_keys f
tui_type "tcp port $CLOSED"
tui_keys Enter
tui_wait "tcpdump 'tcp port $CLOSED'"
tui_wait "$N_CLOSED idle/closed hidden (i)" 10
tui_wait "$N_CLOSED idle or closed flows hidden (i shows them)"
tui_keys i
tui_wait "idle and closed flows shown"
tui_wait_re " $N_CLOSED/[0-9]+ flows"
[ "$(tui_cap | grep -c "$ADDR_A:$CLOSED ")" = "$N_CLOSED" ] || fail "i does not show the closed flows"
# a closed connection's drill-down: each state transition once, in order
tui_keys Home Enter
tui_wait "Flow tcp on $IF_A: $ADDR_A:$CLOSED"
tui_wait_re "^ states SYN_RECV \+[0-9]+ms > ESTABLISHED "
states=$(tui_cap | grep -E "^ states ")
echo "$states" | grep -qE "([A-Z_0-9]+) \+[0-9]+ms > \1 " && fail "a state shown twice: $states"
log "closed connection: $states"
tui_keys Escape
tui_wait_gone "Flow tcp on"
tui_keys i
tui_wait_re " 0/[0-9]+ flows"
tui_keys Escape
tui_wait_gone "tcpdump '"

# the selection stays at the top of the sort while the flows trade places...
sel_flow() { # the flow the selection is on, as its drill-down names it
	tui_keys Enter
	tui_wait "Flow tcp on $IF_A"
	tui_cap | grep -oE "Flow tcp on $IF_A: $ADDR_A:52(01|02)" | grep -oE '52(01|02)$'
	tui_keys Escape
	tui_wait_gone "Flow tcp on"
}
top_is() { [ "$(ports | cut -d' ' -f1)" = "$1" ]; }
wait_for 5 top_is "$A" || fail "$A is not on top: $(ports)"
tui_keys Home
[ "$(sel_flow)" = "$A" ] || fail "Home does not select the top flow"
touch "$TMP/flip"
wait_for 10 top_is "$B" || fail "$B did not go on top: $(ports)"
[ "$(sel_flow)" = "$B" ] || fail "the selection did not stay at the top of the sort"
# ...and with F it follows its flow down
tui_keys F
tui_wait "[follow]"
rm "$TMP/flip"
wait_for 10 top_is "$A" || fail "$A did not go back on top: $(ports)"
[ "$(sel_flow)" = "$B" ] || fail "F: the selection did not follow its flow"
tui_keys F
tui_wait_gone "[follow]"

tui_quit
log "ok"
exit 0
