#!/usr/bin/env bash
# The TUI under tmux ended by Ctrl-\ (SIGQUIT in cbreak mode), SIGUSR1 and a crash (SIGSEGV): the
# terminal comes back as it was (termios, normal screen, cursor, mouse off), nothing stays attached
# (tcx links or classic tc filters), and pktlens dies of the signal.
set -u
TEST_NAME=tui-fatal-signals
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/tcx.sh"

tui_require
require_cmd stty
cleanup_init
make_tmpdir
netns_pair 209
TUI_SOCK="${PL_PREFIX}tui"
cleanup_add_cmd "tmux -L '$TUI_SOCK' kill-server"
ERRORS=0

check() {
	local what=$1
	shift
	if "$@" >/dev/null; then
		log "ok: $what"
	else
		log "NOT OK: $what"
		ERRORS=$((ERRORS + 1))
	fi
}

nothing_attached() {
	local d
	for d in ingress egress; do
		[ "$(pktlens_progs "$NS_A" "$IF_A" "$d")" = 0 ] || return 1
	done
	! ip netns exec "$NS_A" tc qdisc show dev "$IF_A" | grep -q clsact
}

attached() {
	[ "$(pktlens_progs "$NS_A" "$IF_A" ingress)" = 1 ]
}

# run_case LABEL HOW: start the TUI in a pane whose shell records the terminal before and after.
run_case() {
	local label=$1 how=$2 pid want
	rm -f "$TMP/rc" "$TMP/stty.before" "$TMP/stty.after"
	# settings go under $TMP/config, not the user's ~/.config (SIGUSR1 quits cleanly and writes them)
	# sh, not an interactive shell: nothing but pktlens touches the terminal between the two stty;
	# the trap (a handler, reset to the default in pktlens) keeps Ctrl-\\ from ending sh as well
	tmux -L "$TUI_SOCK" -f /dev/null new-session -d -s "$label" -x 120 -y 40 \
		"sh -c 'trap : QUIT; stty -a >$TMP/stty.before; echo \$\$ >$TMP/sh.pid; env LANG=C.UTF-8 TERM=screen-256color XDG_CONFIG_HOME=$TMP/config $PKTLENS -n $NS_A -i $IF_A --interval 0.5 2>$TMP/stderr; echo \$? >$TMP/rc; stty -a >$TMP/stty.after; echo PKTLENS-EXITED; sleep 600'" ||
		fail "cannot start tmux"
	wait_for 20 bash -c "tmux -L '$TUI_SOCK' capture-pane -p -t '$label' | grep -q Flows" ||
		fail "$label: the TUI did not start: $(cat "$TMP/stderr")"
	wait_for 20 attached || fail "$label: pktlens never attached its tc program"
	[ "$(tmux -L "$TUI_SOCK" display -p -t "$label" '#{alternate_on}')" = 1 ] ||
		log "$label: the TUI is not on the alternate screen?"
	case "$how" in
	keys) tmux -L "$TUI_SOCK" send-keys -t "$label" 'C-\' ;;
	*)
		pid=$(pgrep -P "$(cat "$TMP/sh.pid")" -f "$PKTLENS" | head -n 1)
		[ -n "$pid" ] || pid=$(pgrep -f -- "-n $NS_A -i $IF_A --interval 0.5" | head -n 1)
		kill "-$how" "$pid"
		;;
	esac
	wait_for 30 test -s "$TMP/stty.after" || fail "$label: pktlens did not end"
	want=$2
	[ "$how" = keys ] && want=QUIT
	check "$label: pktlens died of SIG$want (status $(cat "$TMP/rc"))" \
		test "$(cat "$TMP/rc")" -eq $((128 + $(kill -l "$want")))
	check "$label: the terminal modes are as before ($(diff "$TMP/stty.before" "$TMP/stty.after" | tr '\n' ' ' | head -c 300))" \
		cmp -s "$TMP/stty.before" "$TMP/stty.after"
	check "$label: back on the normal screen" \
		test "$(tmux -L "$TUI_SOCK" display -p -t "$label" '#{alternate_on}')" = 0
	check "$label: cursor visible" \
		test "$(tmux -L "$TUI_SOCK" display -p -t "$label" '#{cursor_flag}')" = 1
	check "$label: mouse reporting off" \
		test "$(tmux -L "$TUI_SOCK" display -p -t "$label" '#{mouse_any_flag}')" = 0
	check "$label: no tc filter or clsact left on $IF_A" nothing_attached
	tmux -L "$TUI_SOCK" kill-session -t "$label"
}

build_tcxtool
# tcx where the kernel has it (links die with the process), then classic tc filters, which only
# pktlens' own cleanup removes: the crash path's prepared netlink messages are tested there
run_case ctrl-backslash keys
run_case usr1 USR1
run_case crash SEGV
export PKTLENS_TC=classic
run_case classic-ctrl-backslash keys
run_case classic-crash SEGV

[ "$ERRORS" -eq 0 ] || fail "$ERRORS checks failed"
log "PASS"
