# tmux helpers for the TUI tests: start pktlens in a detached tmux, send keys, wait for text on screen.
#
# Each test gets its own tmux server (-L socket), so it never touches a developer's sessions,
# and the server is killed on exit by the netns.sh cleanup.

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

TUI_PORT=${TUI_PORT:-5001}

tui_require() {
	require_root
	require_cmd tmux ip "$PYTHON"
	require_pktlens
}

# tui_traffic PPS: one TCP connection from B to A:TUI_PORT sending 100 bytes PPS times a second.
tui_traffic() {
	local pps=${1:-20}
	bg_start "$TMP/server.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept()
while c.recv(65536):
    pass
' "$TUI_PORT"
	sleep 0.3
	bg_start "$TMP/client.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
gap = 1.0 / float(sys.argv[3])
while True:
    c.send(b"x" * 100)
    time.sleep(gap)
' "$ADDR_A" "$TUI_PORT" "$pps"
}

# tui_start COLS ROWS ARGS...: pktlens in a fresh tmux server; its exit code lands in $TMP/rc.
tui_start() {
	local cols=$1 rows=$2
	shift 2
	TUI_SOCK="${PL_PREFIX}tui"
	cleanup_add_cmd "tmux -L '$TUI_SOCK' kill-server"
	# the shell stays after pktlens exits, so the restored screen can be inspected
	tmux -L "$TUI_SOCK" -f /dev/null new-session -d -s main -x "$cols" -y "$rows" \
		"env LANG=C.UTF-8 TERM=screen-256color $PKTLENS $* 2>$TMP/stderr; echo \$? >$TMP/rc; echo PKTLENS-EXITED; sleep 600" ||
		fail "cannot start tmux"
	tmux -L "$TUI_SOCK" set-option -t main -g window-size manual >/dev/null 2>&1
}

tui_cap() {
	tmux -L "$TUI_SOCK" capture-pane -p -t main
}

tui_keys() {
	tmux -L "$TUI_SOCK" send-keys -t main "$@"
}

# tui_type TEXT: literal text (no key-name lookup).
tui_type() {
	tmux -L "$TUI_SOCK" send-keys -t main -l "$1"
}

tui_resize() {
	tmux -L "$TUI_SOCK" resize-window -t main -x "$1" -y "$2"
}

_tui_has() {
	tui_cap | grep -qF -- "$1"
}

_tui_has_re() {
	tui_cap | grep -qE -- "$1"
}

# tui_wait TEXT [TIMEOUT]: until TEXT is on screen; fails the test with the screen otherwise.
tui_wait() {
	wait_for "${2:-5}" _tui_has "$1" && return 0
	tui_cap >&2
	fail "'$1' did not appear on the screen"
}

tui_wait_re() {
	wait_for "${2:-5}" _tui_has_re "$1" && return 0
	tui_cap >&2
	fail "nothing matching /$1/ appeared on the screen"
}

tui_wait_gone() {
	local deadline=$((SECONDS + ${2:-5}))
	while _tui_has "$1"; do
		[ "$SECONDS" -lt "$deadline" ] || {
			tui_cap >&2
			fail "'$1' stayed on the screen"
		}
		sleep 0.1
	done
}

# tui_line TEXT: the first screen line containing TEXT.
tui_line() {
	tui_cap | grep -F -m1 -- "$1"
}

# tui_quit: q, then exit code 0, the normal screen back, and nothing left on the interface.
tui_quit() {
	tui_keys q
	wait_for 5 test -s "$TMP/rc" || fail "pktlens did not exit on q"
	[ "$(cat "$TMP/rc")" = 0 ] || fail "pktlens exited with $(cat "$TMP/rc"): $(cat "$TMP/stderr")"
	[ "$(tmux -L "$TUI_SOCK" display -p -t main '#{alternate_on}')" = 0 ] ||
		fail "terminal left in the alternate screen"
	tui_wait PKTLENS-EXITED 2
	local d
	for d in ingress egress; do
		ip netns exec "$NS_A" tc filter show dev "$IF_A" "$d" 2>/dev/null | grep -q bpf &&
			fail "a tc $d filter is left on $IF_A"
	done
	ip -n "$NS_A" -d link show dev "$IF_A" | grep -q 'prog/xdp' && fail "an XDP program is left on $IF_A"
	return 0
}
