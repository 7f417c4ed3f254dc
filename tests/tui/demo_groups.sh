#!/usr/bin/env bash
# `make demo` on a terminal (tmux): the TUI opens on Flows grouped by remote host with the demo's
# three client addresses, v steps through the services and processes, q leaves nothing behind.
set -u
TEST_NAME=tui-demo-groups
. "$(dirname "$0")/lib.sh"

tui_require
require_cmd curl
cleanup_init
make_tmpdir
TUI_SOCK="${PL_PREFIX}tui"
cleanup_add_cmd "tmux -L '$TUI_SOCK' kill-server"
tmux -L "$TUI_SOCK" -f /dev/null new-session -d -s main -x 150 -y 40 \
	"env LANG=C.UTF-8 TERM=screen-256color PKTLENS=$PKTLENS DEMO_MAX_SECONDS=120 $PL_ROOT/scripts/demo.sh 2>$TMP/stderr; echo \$? >$TMP/rc; echo PKTLENS-EXITED; sleep 600" ||
	fail "cannot start tmux"

tui_wait "REMOTE HOST" 20
tui_wait "by remote host"
for a in 10.210.0.2 10.210.0.3 10.210.0.4; do tui_wait_re "^$a +[1-9]" 20; done
tui_keys v
tui_wait "SERVICE"
tui_wait_re "^tcp/8080 +[1-9]"
tui_wait_re "^udp/9000 +1 "
tui_keys v
tui_wait "by process"
tui_wait_re "^python3/[0-9]+ +[1-9]"
tui_keys v
tui_wait "LOCAL"
tui_keys q
wait_for 30 test -s "$TMP/rc" || fail "the demo did not end on q"
[ "$(cat "$TMP/rc")" = 0 ] || fail "the demo exited $(cat "$TMP/rc"): $(tail -3 "$TMP/stderr")"
# the demo's own namespaces, as it named them (other demos may be running on this machine)
mine=$(grep -oE 'namespace pl-demo-[0-9]+-[ab][0-9]+' "$TMP/stderr" | cut -d' ' -f2)
[ -n "$mine" ] || fail "the demo did not name its namespaces: $(cat "$TMP/stderr")"
for ns in $mine; do
	ip netns list | grep -qE "^$ns( |$)" && fail "the demo left $ns behind"
done
log "ok"
exit 0
