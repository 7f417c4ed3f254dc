#!/usr/bin/env bash
# TUI Processes pane under tmux: the test's server shows with its pid and sockets; sort, filter, Enter drill-down, Esc; Flows shows the pid.
set -u
TEST_NAME=tui-procs-pane
. "$(dirname "$0")/lib.sh"

tui_require
cleanup_init
make_tmpdir
netns_pair 204
tui_traffic 20
# the server (in A, reading the client's bytes) is the process pktlens must find
# `ip netns exec` shows under its own name until it has exec'd python3: wait for the name
server_pid() {
	local pid
	SRV_PID=
	for pid in $(ip netns pids "$NS_A"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = python3 ] && SRV_PID=$pid
	done
	[ -n "$SRV_PID" ]
}
wait_for 5 server_pid || fail "cannot find the server's pid in $NS_A"
tui_start 200 40 -n "$NS_A" -i "$IF_A" --interval 0.5

tui_wait "1 Flows"
# the tab's number depends on the pane table's order: read it from the tab row
tab=$(tui_cap | grep -oE '[0-9] Processes' | head -1 | cut -c1)
[ -n "$tab" ] || fail "no Processes tab: $(tui_cap | head -3)"
tui_keys "$tab"
tui_wait "CONN/S"
tui_wait "processes ("
tui_wait_re " +$SRV_PID python3 .* live " 8
# the server accepted one connection: it has a listener and an established socket
# 100 bytes 20 times a second read by the server: about 16K bit/s in READ b/s once a rate exists
tui_wait_re " +$SRV_PID python3 +1[0-9]\.[0-9]K " 8
line=$(tui_cap | grep -E " +$SRV_PID python3 " | head -1)
log "row: $line"

# the sort menu (s) picks the column, r reverses; the status line names both
tui_wait "sort READ b/s ▼"
tui_keys s
tui_wait "Sort the processes list by"
tui_type "write b"
tui_keys Enter
tui_wait "sort WRITE b/s ▼"
tui_wait "WRITE b/s▼"
tui_keys r
tui_wait "sort WRITE b/s ▲"
tui_keys r

# filter narrows the list to the server
tui_keys f
tui_type "$SRV_PID"
tui_keys Enter
tui_wait_re " 1/[0-9]+ processes"

# Enter: its sockets (listener and the accepted connection) and its flow
tui_keys Enter
tui_wait "Process python3/$SRV_PID"
tui_wait "Sockets:"
tui_wait "LISTEN"
tui_wait "ESTABLISHED"
tui_wait "Flows of this process"
tui_wait_re "$IF_A +tcp +$ADDR_A:$TUI_PORT +$ADDR_B:"
tui_keys Escape
tui_wait_gone "Flows of this process"
tui_wait "CONN/S"
tui_keys Escape

# short-lived processes: once exited, the ones of one name fold into one row, e lists them
SHORT=4
for i in $(seq "$SHORT"); do
	ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"short-lived", (sys.argv[1], 9))
' "$ADDR_B" || fail "short-lived process $i failed"
done
tui_keys f
tui_type "exited"
tui_keys Enter
tui_wait_re "^ +${SHORT}x python3 .* exited +\($SHORT exited processes of this name" 10
tui_wait_re " 1/[0-9]+ processes \($SHORT exited, 1 names folded\)"
tui_keys Home e
tui_wait "exited python3 processes listed one by one"
tui_wait_re " $SHORT/[0-9]+ processes \($SHORT exited, 0 names folded\)"
[ "$(tui_cap | grep -cE '^ +[0-9]+ python3 .* exited ')" = "$SHORT" ] ||
	fail "e did not list the $SHORT exited processes"
tui_keys e
tui_wait_re "^ +${SHORT}x python3 "
tui_keys Escape

# the Flows pane names the process of the test's flow
tui_keys 1
tui_wait "RX b/s"
tui_wait "python3/$SRV_PID" 5
tui_quit
log "ok (server pid $SRV_PID, tab $tab)"
