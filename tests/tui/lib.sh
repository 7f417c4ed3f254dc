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

# tui_listening NS PORT: a TCP listener on PORT in namespace NS.
tui_listening() {
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q LISTEN
}

# tui_traffic PPS: one TCP connection from B to A:TUI_PORT sending 100 bytes PPS times a second.
tui_traffic() {
	tui_flows "$TUI_PORT:${1:-20}"
}

# tui_flows PORT:PPS...: one TCP connection from B to A:PORT per argument, each sending 100 bytes
# PPS times a second; the server in A reads them all. Returns once every connection is up.
tui_flows() {
	local ports=() spec
	for spec in "$@"; do ports+=("${spec%%:*}"); done
	bg_start "$TMP/server.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(1)
    c, _ = s.accept()
    while c.recv(65536):
        pass
ts = [threading.Thread(target=serve, args=(int(p),)) for p in sys.argv[1:]]
for t in ts: t.start()
for t in ts: t.join()
' "${ports[@]}"
	for spec in "${ports[@]}"; do
		wait_for 10 tui_listening "$NS_A" "$spec" || fail "the test server is not listening on $spec"
	done
	bg_start "$TMP/client.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
flows = []
for spec in sys.argv[2:]:
    port, pps = spec.split(":")
    flows.append([socket.create_connection((sys.argv[1], int(port))), 1.0 / float(pps), 0.0])
start = time.monotonic()
for f in flows:
    f[2] = start
while True:
    now = time.monotonic()
    for f in flows:
        if now >= f[2]:
            f[0].send(b"x" * 100)
            f[2] += f[1]
    time.sleep(max(0.0, min(f[2] for f in flows) - time.monotonic()))
' "$ADDR_A" "$@"
}

# tui_start COLS ROWS ARGS...: pktlens in a fresh tmux server; its exit code lands in $TMP/rc.
# Its saved settings live in $TUI_CONFIG (the test's own folder), never in the user's.
tui_start() {
	local cols=$1 rows=$2
	shift 2
	TUI_CONFIG=${TUI_CONFIG:-$TMP/config}
	rm -f "$TMP/rc"
	# a server of its own for every start: a restart in one test never races the old one's exit
	[ -n "${TUI_SOCK:-}" ] && tmux -L "$TUI_SOCK" kill-server 2>/dev/null
	TUI_STARTS=$((${TUI_STARTS:-0} + 1))
	TUI_SOCK="${PL_PREFIX}tui$TUI_STARTS"
	cleanup_add_cmd "tmux -L '$TUI_SOCK' kill-server"
	# the shell stays after pktlens exits, so the restored screen can be inspected
	tmux -L "$TUI_SOCK" -f /dev/null new-session -d -s main -x "$cols" -y "$rows" \
		"env LANG=C.UTF-8 TERM=screen-256color XDG_CONFIG_HOME=$TUI_CONFIG $PKTLENS $* 2>$TMP/stderr; echo \$? >$TMP/rc; echo PKTLENS-EXITED; sleep 600" ||
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
	# detaching waits for the kernel (tens of ms per tracepoint link, seconds under load)
	wait_for 30 test -s "$TMP/rc" || fail "pktlens did not exit on q within 30 s"
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

# tui_click Y X: a left click at screen row Y, column X (0-based), as xterm's X10 mouse encoding
# (one byte per coordinate: keep X and Y below 95 so the bytes stay printable ASCII).
tui_click() {
	local b
	for b in 32 35; do # press button 1, release
		tui_type "$("$PYTHON" -c 'import sys; b, y, x = map(int, sys.argv[1:])
sys.stdout.write("\x1b[M%c%c%c" % (b, x + 33, y + 33))' "$b" "$1" "$2")"
	done
}

# tui_header_x TITLE: the screen column where TITLE starts on the first line that has it.
tui_header_x() {
	tui_cap | "$PYTHON" -c '
import sys
t = sys.argv[1]
for line in sys.stdin.read().splitlines():
    i = line.find(t)
    if i >= 0:
        print(i)
        break
' "$1"
}

# tui_header_y TITLE: the screen row of the first line that has TITLE.
tui_header_y() {
	tui_cap | grep -n -m1 -F -- "$1" | cut -d: -f1 | awk '{ print $1 - 1 }'
}

# tui_order PATTERN: the matches of the extended regex PATTERN on the screen, top to bottom,
# one per line (e.g. the ports of the test's flows in the order their rows are shown).
tui_order() {
	tui_cap | grep -oE -- "$1" | tr '\n' ' ' | sed 's/ $//'
}
