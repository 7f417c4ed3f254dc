#!/usr/bin/env bash
# Saved settings under tmux: columns chosen with the column chooser, the sort and the theme survive
# a restart through $XDG_CONFIG_HOME/pktlens/pktlensrc; a malformed file gives a one-line warning
# and the defaults (and is kept as pktlensrc.bad); --no-config neither reads nor writes it.
set -u
TEST_NAME=tui-settings
. "$(dirname "$0")/lib.sh"

tui_require
cleanup_init
make_tmpdir
netns_pair 233
tui_traffic 20
RC=$TMP/config/pktlens/pktlensrc
header() { tui_cap | sed -n 3p; }

tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "$ADDR_A:$TUI_PORT" 8
header | grep -q "^PROTO LOCAL" || fail "default columns: $(header)"

# the column chooser: hide PROTO, then walk to PROCESS and move it to the front
tui_keys c
tui_wait "Columns of the flows list"
tui_keys Space
tui_wait "[ ] PROTO"
for _ in 1 2 3 4 5 6 7; do tui_keys Down; done
for _ in 1 2 3 4 5 6 7; do tui_keys Left; done
tui_keys Enter
tui_wait_gone "Columns of the flows list"
wait_for 3 bash -c "tmux -L '$TUI_SOCK' capture-pane -p -t main | sed -n 3p | grep -q '^PROCESS *LOCAL'" ||
	fail "after the chooser: $(header)"
header | grep -q PROTO && fail "PROTO still shown: $(header)"
tui_wait "python3/"
# a sort and a theme to keep as well
tui_keys s
tui_wait "Sort the flows list by"
tui_type "rx pps"
tui_keys Enter
tui_wait "sort RX PPS ▼"
tui_keys t
tui_wait_re "theme [a-z-]+"
theme=$(tui_cap | grep -oE 'theme [a-z-]+' | head -1 | cut -d' ' -f2)
# the refresh interval, and the Flows grouping
tui_keys +
tui_wait "every 1s"
tui_keys v
tui_wait "by remote host"
tui_quit

# written on quit, htoprc style
[ -f "$RC" ] || fail "no settings file at $RC"
grep -qx "flows.columns=process,local,remote,rx_pps,rx_bps,tx_pps,tx_bps,state,rx_history,iface,packets,rx_bytes,tx_bytes,flags,srtt,cwnd,retrans,drops,total_bps" "$RC" ||
	fail "flows.columns not saved as chosen: $(grep flows.columns "$RC")"
grep -qx "flows.sort=rx_pps" "$RC" || fail "sort not saved: $(grep 'flows.sort=' "$RC")"
grep -qx "theme=$theme" "$RC" || fail "theme $theme not saved: $(grep theme "$RC")"
grep -qx "interval=1" "$RC" || fail "interval not saved: $(grep interval "$RC")"
grep -qx "flows.group=remote" "$RC" || fail "grouping not saved: $(grep flows.group= "$RC")"
[ "$(stat -c %a "$RC")" = 600 ] || fail "the settings file is mode $(stat -c %a "$RC")"

# a restart reads it back (no --interval: the saved one counts); tall enough for the whole help
tui_start 120 48 -n "$NS_A" -i "$IF_A"
tui_wait "by remote host"
tui_wait "every 1s"
tui_keys v v v
tui_wait "$ADDR_A:$TUI_PORT" 8
header | grep -q "^PROCESS *LOCAL" || fail "columns not restored: $(header)"
header | grep -q PROTO && fail "PROTO back after the restart: $(header)"
tui_wait "sort RX PPS ▼"
tui_keys '?'
tui_wait " theme: $theme "
tui_keys Escape
tui_quit
cp "$RC" "$TMP/good"

# malformed: one line warning, the defaults, and the file kept for its owner
printf 'flows.columns=proto,bogus\nflows.sort=rx_pps\n' >"$RC"
tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "pktlensrc:1: no flows column named 'bogus'; using the defaults"
tui_wait "$ADDR_A:$TUI_PORT" 8
header | grep -q "^PROTO LOCAL" || fail "not the default columns after a bad file: $(header)"
tui_wait "RX b/s▼"
tui_quit
grep -qx "flows.columns=proto,bogus" "$RC.bad" || fail "the bad file was not kept as pktlensrc.bad"
grep -q "^flows.columns=proto,local," "$RC" || fail "defaults not written after a bad file"

# --no-config: the file is neither read nor written
cp "$TMP/good" "$RC"
tui_start 120 40 -n "$NS_A" -i "$IF_A" --interval 0.5 --no-config
tui_wait "$ADDR_A:$TUI_PORT" 8
header | grep -q "^PROTO LOCAL" || fail "--no-config read the file: $(header)"
tui_keys r
tui_wait "sort RX b/s ▲"
tui_quit
cmp -s "$RC" "$TMP/good" || fail "--no-config changed the settings file"

log "ok (theme $theme)"
exit 0
