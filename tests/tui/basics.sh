#!/usr/bin/env bash
# TUI basics under tmux: panes, sort, reverse, search/filter, help, themes, pause, resize, quit.
set -u
TEST_NAME=tui-basics
. "$(dirname "$0")/lib.sh"

tui_require
cleanup_init
make_tmpdir
netns_pair 201
tui_traffic 20
tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5

tui_wait "1 Flows"
tui_wait "RX BPS"
# the test's own TCP connection, local side is A
tui_wait "$ADDR_A:$TUI_PORT" 8
tui_wait "sort rx bps"

# panes by number and by Tab
tui_keys 2
tui_wait "tc-ingress"
tui_wait "STATE"
# Tab and Shift-Tab step between neighbours whatever the number of panes
tui_keys 1 BTab Tab
tui_wait "RX BPS"
tui_keys Tab
tui_wait "AVG NS"
tui_keys BTab
tui_wait "RX BPS"

# sort cycles and is shown with an arrow; r flips the arrow
tui_keys s
tui_wait "sort tx bps ▼"
tui_wait "TX BPS▼"
tui_keys r
tui_wait "sort tx bps ▲"
tui_keys r F6
tui_wait "sort rx pps ▼"

# incremental search filters as you type; Esc restores; f sets a filter that stays
tui_keys /
tui_wait "search:"
tui_type "no-such-flow"
tui_wait "no flows match"
tui_keys Escape
tui_wait_gone "no flows match"
tui_keys f
tui_type ":$TUI_PORT"
tui_keys Enter
tui_wait "filter ':$TUI_PORT'"
tui_wait_re " 1/[0-9]+ flows"
tui_wait "$ADDR_A:$TUI_PORT"
tui_keys Escape
tui_wait_gone "filter ':$TUI_PORT'"

# mouse: press+release on the "2 Probes" tab (x 12, y 1), X10 encoding as screen-256color reports it
tui_type $'\e[M -"'
tui_type $'\e[M#-"'
tui_wait "AVG NS"
tui_keys 1
tui_wait "RX BPS"

# help lists the bindings from the key table
tui_keys '?'
tui_wait "KEYS"
tui_wait "quit"
tui_wait "next colour theme"
tui_keys Escape
tui_wait "RX BPS"

# themes cycle live
tui_keys t
tui_wait_re "theme [a-z-]+"

# pause freezes the screen
tui_keys p
tui_wait "[PAUSED]"
tui_keys p
tui_wait_gone "[PAUSED]"

# interval
tui_keys +
tui_wait "every 1s"
tui_keys -
tui_wait "every 0.5s"

# resize at any time
tui_resize 80 24
tui_wait "1 Flows"
tui_wait "Help"
tui_resize 40 12
tui_wait "pktlens"
tui_resize 30 8
tui_wait "terminal too small"
tui_resize 120 40
tui_wait "RX BPS"

tui_quit
log "ok"
exit 0
