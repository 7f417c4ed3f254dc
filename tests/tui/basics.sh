#!/usr/bin/env bash
# TUI basics under tmux: three flows at known, distinct rates come out in the right order for each
# sort key both ways (sort menu, r, header clicks); pause freezes the screen; t changes the colours
# the terminal gets; panes, search/filter, help, footers, interval, resize, quit.
set -u
TEST_NAME=tui-basics
. "$(dirname "$0")/lib.sh"

SLOW=5101 MID=5102 FAST=5103 # 5, 25 and 100 segments of 100 bytes a second

tui_require
cleanup_init
make_tmpdir
netns_pair 201
# No IPv6 on this pair: the link's own chatter (MLD reports, router solicitations every 4 s from
# 25-character fe80:: addresses) makes ICMPv6 flows whose addresses widen LOCAL and REMOTE past
# 120 columns (seen in a CI run: three idle icmp6 rows, PROCESS pushed off the screen).
for ns_if in "$NS_A:$IF_A" "$NS_B:$IF_B"; do
	ip netns exec "${ns_if%%:*}" sysctl -qw "net.ipv6.conf.${ns_if#*:}.disable_ipv6=1" ||
		fail "cannot turn IPv6 off on ${ns_if#*:}"
done
tui_flows "$SLOW:5" "$MID:25" "$FAST:100"
tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5

tui_wait "1 Flows"
tui_wait "RX b/s"
for p in $SLOW $MID $FAST; do tui_wait "$ADDR_A:$p" 8; done
tui_wait "sort RX b/s ▼"
# 120 columns show the process of each flow without scrolling
has_process() { tui_cap | sed -n 3p | grep -q " PROCESS"; }
wait_for 20 has_process || {
	tui_cap >&2
	fail "no PROCESS column at 120 columns: $(tui_cap | sed -n 3p)"
}
tui_wait_re "$ADDR_A:$FAST .* python3/[0-9]+"

# the order of the test's three flows on screen, by local port
ports() { tui_order "$ADDR_A:51(01|02|03)" | sed "s/$ADDR_A://g"; }
order_is() { [ "$(ports)" = "$1" ]; }
expect_order() {
	wait_for 5 order_is "$1" || {
		tui_cap >&2
		fail "$2: rows in order '$(ports)', expected '$1'"
	}
}
DESC="$FAST $MID $SLOW" ASC="$SLOW $MID $FAST"

# rates: the default sort (RX b/s, biggest first), reversed with r
expect_order "$DESC" "RX b/s descending"
tui_keys r
tui_wait "sort RX b/s ▲"
tui_wait "RX b/s▲"
expect_order "$ASC" "RX b/s ascending"
tui_keys r

# the sort menu: type the start of a title, Enter
sort_by() {
	tui_keys s
	tui_wait "Sort the flows list by"
	tui_type "$1"
	tui_keys Enter
	tui_wait_gone "Sort the flows list by"
}
sort_by "rx pps"
tui_wait "sort RX PPS ▼"
tui_wait "RX PPS▼"
expect_order "$DESC" "RX PPS descending"
tui_keys r
tui_wait "sort RX PPS ▲"
expect_order "$ASC" "RX PPS ascending"
# Enter on the current column in the menu reverses it too
sort_by "rx pps"
tui_wait "sort RX PPS ▼"
expect_order "$DESC" "RX PPS descending again"
sort_by "pkts"
tui_wait "sort PKTS ▼"
expect_order "$DESC" "PKTS descending"
tui_keys r
expect_order "$ASC" "PKTS ascending"
sort_by "tx pps"
tui_wait "sort TX PPS ▼"
sort_by "total"
tui_wait "sort TOTAL b/s ▼"
expect_order "$DESC" "TOTAL b/s descending"

# a click on a header sorts by it (names A first), a second click reverses
y=$(tui_header_y "RX PPS")
x=$(tui_header_x "LOCAL")
tui_click "$y" "$((x + 1))"
tui_wait "sort LOCAL ▲"
tui_wait "LOCAL▲"
expect_order "$ASC" "LOCAL ascending (by port)"
tui_click "$y" "$((x + 1))"
tui_wait "sort LOCAL ▼"
expect_order "$DESC" "LOCAL descending"
x=$(tui_header_x "RX b/s")
tui_click "$y" "$((x + 1))"
tui_wait "sort RX b/s ▼"
expect_order "$DESC" "RX b/s after a click"

# pause: the screen is frozen (two captures 2 s apart are the same), counting goes on
frozen() { tui_cap | head -n 38; } # all but the status and footer lines
tui_keys p
tui_wait "[PAUSED]"
sleep 0.5
frozen >"$TMP/pause1"
sleep 2
frozen >"$TMP/pause2"
cmp -s "$TMP/pause1" "$TMP/pause2" || {
	diff "$TMP/pause1" "$TMP/pause2" >&2
	fail "the screen changed while paused"
}
tui_keys p
tui_wait_gone "[PAUSED]"
changed() { frozen | cmp -s - "$TMP/pause2" && return 1 || return 0; }
wait_for 4 changed || fail "the screen did not change after resuming"

# colours: t changes the attributes the terminal receives
sgr() { tmux -L "$TUI_SOCK" capture-pane -p -e -t main | grep -ao $'\e\[[0-9;]*m' | sort -u; }
sgr >"$TMP/sgr1"
[ -s "$TMP/sgr1" ] || fail "no colour or attribute codes on the screen"
tui_keys t
tui_wait_re "theme [a-z-]+"
theme=$(tui_cap | grep -oE 'theme [a-z-]+' | head -1)
sgr >"$TMP/sgr2"
cmp -s "$TMP/sgr1" "$TMP/sgr2" && fail "'$theme' sent the same colour codes as the theme before"
log "$theme: $(wc -l <"$TMP/sgr1") -> $(wc -l <"$TMP/sgr2") distinct codes"

# panes by number and by Tab
tui_keys 2
tui_wait "tc-ingress"
tui_wait "AVG NS"
# footers say what each pane's keys do: Space and a on Probes, v on Flows, not the other way
tui_wait "Space Attach/detach"
tui_cap | tail -1 | grep -q " v Group" && fail "the Probes footer offers v Group"
tui_keys 1 BTab Tab
tui_wait "RX b/s"
tui_cap | tail -1 | grep -q "v Group" || fail "the Flows footer lacks v Group"
tui_cap | tail -1 | grep -q "Attach" && fail "the Flows footer offers Attach"
tui_keys Tab
tui_wait "AVG NS"
tui_keys BTab
tui_wait "RX b/s"

# incremental search filters as you type; Esc restores; f sets a (tcpdump) filter that stays
tui_keys /
tui_wait "search:"
tui_type "no-such-flow"
tui_wait "no flows match"
tui_keys Escape
tui_wait_gone "no flows match"
tui_keys f
tui_type "tcp port $MID"
tui_keys Enter
tui_wait "tcpdump 'tcp port $MID'"
tui_wait_re " 1/[0-9]+ flows"
tui_wait "$ADDR_A:$MID"
[ "$(ports)" = "$MID" ] || fail "the filter left '$(ports)'"
tui_keys Escape
tui_wait_gone "tcpdump 'tcp port $MID'"

# mouse: a click on the "2 Probes" tab
tui_click 1 12
tui_wait "AVG NS"
tui_keys 1
tui_wait "RX b/s"

# help lists the bindings of the pane it is asked from, and the global ones
tui_keys '?'
tui_wait "KEYS"
tui_wait "Everywhere"
tui_wait "view: flows by connection"
tui_wait "next colour theme"
tui_wait "1-9 0"
tui_keys Escape
tui_wait "RX b/s"

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
# the names fit, no number does: the list says so rather than show names alone
tui_wait "too narrow: 40 columns show no numbers"
tui_resize 30 8
tui_wait "terminal too small"
tui_resize 120 40
tui_wait "RX b/s"

tui_quit
log "ok"
exit 0
