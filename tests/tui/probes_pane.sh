#!/usr/bin/env bash
# Probes pane under tmux: Enter opens a probe's details, Space toggles; attaching XDP asks once and
# says what it costs; with tc-ingress detached the Flows pane says its rx counts stopped; the
# TARGET column is as wide as the terminal allows.
set -u
TEST_NAME=tui-probes-pane
. "$(dirname "$0")/lib.sh"

tui_require
cleanup_init
make_tmpdir
netns_pair 235
tui_traffic 20
probes=default
[ -e /sys/bus/event_source/devices/uprobe/type ] && ls /lib/x86_64-linux-gnu/libssl.so.3 >/dev/null 2>&1 &&
	probes=default,ssl
tui_start 200 45 -n "$NS_A" -i "$IF_A" --interval 0.5 --probes "$probes"
tui_wait "$ADDR_A:$TUI_PORT" 8
tui_keys 2
tui_wait "TARGET"

# the long uprobe targets are whole on 200 columns
if [ "$probes" = default,ssl ]; then
	tui_wait_re "^uprobe +/lib/x86_64-linux-gnu/libssl.so.3:SSL_write_ex "
	tui_cap | awk '$1 == "uprobe" { print $2 }' | grep -q "…" && fail "a uprobe target cut at 200 columns"
fi

row() { tui_cap | grep -E "^$1 +$IF_A "; }
state() { row "$1" | awk '{ print $3 }'; }

# XDP costs on every packet: Space asks first and says why; any key but y does not attach
tui_keys f
tui_type "xdp:$IF_A"
tui_keys Enter
tui_wait_re "^xdp +$IF_A +detached"
tui_keys Space
tui_wait "attach xdp:$IF_A? y attaches"
tui_wait "XDP runs on every packet"
tui_wait "GRO off"
tui_keys n
tui_wait_gone "attach xdp:$IF_A?"
sleep 1
[ "$(state xdp)" = detached ] || fail "n attached XDP"
ip -n "$NS_A" -d link show dev "$IF_A" | grep -q 'prog/xdp' && fail "an XDP program is on $IF_A after n"
# asked again until answered yes
tui_keys Space
tui_wait "attach xdp:$IF_A?"
tui_keys y
tui_wait "attached xdp:$IF_A"
tui_wait_re "^xdp +$IF_A +attached"
ip -n "$NS_A" -d link show dev "$IF_A" | grep -q 'prog/xdp' || fail "no XDP program on $IF_A after y"
# asked once: detaching and attaching again go straight through
tui_keys Space
tui_wait_re "^xdp +$IF_A +detached"
tui_keys Space
tui_wait_re "^xdp +$IF_A +attached"
tui_cap | grep -q "attach xdp:$IF_A?" && fail "XDP asked a second time"
tui_keys Space
tui_wait_re "^xdp +$IF_A +detached"

# Enter: the probe's details
tui_keys Escape
tui_keys f
tui_type "tc-ingress:$IF_A"
tui_keys Enter
tui_wait_re "^tc-ingress +$IF_A +attached"
tui_keys Enter
tui_wait "Probe tc-ingress:$IF_A"
tui_wait_re "^ runs +[1-9][0-9]* +average [0-9.]+K? ns a run"
tui_wait_re "^ hits +[0-9]+ events"
tui_wait_re "^ state +attached +attached as "
tui_wait "cost     only when its event happens"
tui_cap | tail -1 | grep -q "Esc Back" || fail "the details' footer: $(tui_cap | tail -1)"
tui_keys Escape
tui_wait_gone "Probe tc-ingress"

# detaching tc-ingress: the Flows pane says rx stopped instead of showing zeros
tui_keys Space
tui_wait_re "^tc-ingress +$IF_A +detached"
tui_keys 1
tui_wait "$IF_A: rx counts stopped (tc-ingress and xdp detached)"
tui_keys 2
tui_keys Space
tui_wait_re "^tc-ingress +$IF_A +attached"
tui_keys 1
tui_wait_gone "rx counts stopped"

# help in Probes: its keys
tui_keys 2
tui_keys '?'
tui_wait "attach or detach the selected probe (a costly one asks first)"
tui_wait "the probe's details"
tui_keys Escape

tui_quit
log "ok ($probes)"
exit 0
