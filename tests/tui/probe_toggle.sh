#!/usr/bin/env bash
# TUI probe toggling under tmux: detach tc-ingress (state changes, run count stops), attach it again (resumes).
set -u
TEST_NAME=tui-probe-toggle
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/tcx.sh"

tui_require
cleanup_init
make_tmpdir
build_tcxtool
netns_pair 203
tui_traffic 100
tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5

tui_keys 2
tui_wait "tc-ingress"
tui_keys f
tui_type "tc-ingress:$IF_A"
tui_keys Enter
tui_wait_re "^tc-ingress +$IF_A +attached"

# RUNS, the fourth column of the probe's row
runs() {
	tui_line "tc-ingress    $IF_A" | awk '{print $4}'
}

tui_keys Space
tui_wait_re "^tc-ingress +$IF_A +detached" 5
sleep 1
a=$(runs)
sleep 2
b=$(runs)
[ "$a" = "$b" ] || fail "run count moved while detached ($a -> $b)"
[ "$(pktlens_progs "$NS_A" "$IF_A" ingress)" = 0 ] ||
	fail "tc ingress program (tcx or filter) still present while detached"

tui_keys Space
tui_wait_re "^tc-ingress +$IF_A +attached" 5
[ "$(pktlens_progs "$NS_A" "$IF_A" ingress)" = 1 ] ||
	fail "tc ingress program (tcx or filter) missing after re-attach"
sleep 2
c=$(runs)
[ "$c" != "$b" ] || fail "run count did not resume after attach ($b -> $c)"

tui_quit
log "ok (runs $a = $b while detached, $c after)"
exit 0
