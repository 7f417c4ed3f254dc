#!/usr/bin/env bash
# TUI drill-down under tmux: Enter on a live TCP flow shows its counters and a packet list that grows; Esc goes back.
set -u
TEST_NAME=tui-drilldown
. "$(dirname "$0")/lib.sh"

tui_require
cleanup_init
make_tmpdir
netns_pair 202
tui_traffic 20
tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5

tui_wait "$ADDR_A:$TUI_PORT" 8
# filter down to the test's flow so that it is the selected row
tui_keys / # search: the rows that say it
tui_type "$ADDR_B"
tui_type ":"
tui_keys Enter
tui_wait_re " 1/[0-9]+ flows"
tui_keys Enter
tui_wait "Flow tcp on $IF_A: $ADDR_A:$TUI_PORT <-> $ADDR_B:"
tui_wait "rx (in)"
tui_wait "Recent packets"

count() {
	tui_cap | sed -nE 's/.*Recent packets: ([0-9]+) captured.*/\1/p'
}
wait_for 5 _tui_has_re "Recent packets: [1-9][0-9]* captured" || fail "no packets captured"
first=$(count)
sleep 2
second=$(count)
[ "$second" -gt "$first" ] || fail "packet list did not grow ($first -> $second)"
tui_wait_re " (in|out) +tc +[0-9]+"

tui_keys Escape
tui_wait "RX b/s"
tui_wait_gone "Recent packets"
tui_quit
log "ok ($first -> $second packets)"
exit 0
