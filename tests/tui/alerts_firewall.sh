#!/usr/bin/env bash
# Alerts and Firewall panes under tmux: an nmap SYN scan shows as a port_scan row naming the
# scanner, the ports and nmap's count of closed ports, the status line counts it; Enter lists the
# scanner's flows; b on the alert opens the rule prompt with the scanner's address, Enter adds
# the rule, XDP goes on the interface, and the Firewall pane counts exactly the datagrams the
# scanner then sends (the receiver gets none); d removes the rule and XDP goes off. A rule over
# this session's SSH peer asks first, and n leaves it out.
set -u
TEST_NAME=tui-alerts-firewall
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/security.sh"

PORT=9002

tui_require
require_cmd nmap
cleanup_init
make_tmpdir
netns_pair 245
xdp_on() { ip -n "$NS_A" -d link show dev "$IF_A" 2>/dev/null | grep -q 'prog/xdp'; }

udp_sink_start "$NS_A" "$ADDR_A" $PORT "$TMP/sink.count"
# the operator's SSH session comes from the scanner's neighbour, 10.245.0.9
SSH_CONNECTION="${ADDR_B%.*}.9 50022 $ADDR_A 22" tui_start 200 40 -n "$NS_A" -i "$IF_A" \
	--interval 0.5
tui_wait "1 Flows"
tui_wait_re "alerts 0"
tab=$(tui_cap | grep -oE '[0-9] Alerts' | head -1 | cut -c1)
[ -n "$tab" ] || fail "no Alerts pane in the tab bar: $(tui_cap | head -3)"
tui_keys "$tab"
tui_wait "no alerts:"

ns_b nmap -sS -n -Pn -p 1-300 "$ADDR_A" >"$TMP/nmap.out" 2>&1 || fail "nmap: $(cat "$TMP/nmap.out")"
closed=$(grep -oE '[0-9]+ closed tcp ports' "$TMP/nmap.out" | awk '{print $1}')
[ "$closed" = 300 ] || fail "nmap: $(cat "$TMP/nmap.out")"
tui_wait_re "port_scan +$ADDR_B +$ADDR_A +1-300 +300 " 10
tui_wait "300 ports in"
tui_wait "0 open, 300 refused"
tui_wait_re "alerts 1"
tui_cap >"$TMP/alerts.txt"
[ -n "${TUI_SHOT:-}" ] && cp "$TMP/alerts.txt" "$TUI_SHOT"

# Enter: the scanner's flows in this snapshot
tui_keys Home Enter
tui_wait "Alert 1: port_scan from $ADDR_B to $ADDR_A port 1-300, count 300"
# one SYN in, one reset out on each: nmap's closed ports
tui_wait_re "tcp $ADDR_A:[0-9]+ <> $ADDR_B:[0-9]+ +1 +[^ ]+ +1 "
tui_keys Escape
tui_wait "port_scan"

# b: the rule prompt holds the scanner's address; Enter adds it and XDP goes on
tui_keys Home b
tui_wait "firewall rule (deny CIDR | limit CIDR:PPS): deny $ADDR_B/32"
tui_keys Enter
tui_wait "firewall rule 1: deny $ADDR_B/32"
wait_for 5 xdp_on || fail "no XDP program on $IF_A after the block"
fw=$(tui_cap | grep -oE '[0-9]+ Firewall' | head -1 | awk '{print $1 % 10}') # pane 10 is key 0
tui_keys "$fw"
tui_wait_re "1 +deny $ADDR_B/32 +0 "
sent=$(udp_send "$NS_B" "$ADDR_A" $PORT 400)
tui_wait_re "1 +deny $ADDR_B/32 +$sent " 10
got=$(udp_sink_stop "$TMP/sink.count")
[ "$got" = 0 ] || fail "the receiver got $got of $sent blocked datagrams"
tui_wait_re "fw 1 rule"

# a rule over the SSH peer: asked with the reason, n leaves it out
tui_keys a
tui_wait "firewall rule (deny CIDR | limit CIDR:PPS): deny"
tui_type "${ADDR_B%.*}.0/24"
tui_keys Enter
tui_wait "block anyway? (y/N)"
tui_wait "the address of this SSH session"
tui_keys n
tui_wait_gone "block anyway?"
tui_wait_gone "deny ${ADDR_B%.*}.0/24"

# d removes the rule, and with the last one XDP goes
tui_keys Home d
tui_wait "no rules:"
wait_for 5 eval '! xdp_on' ||
	fail "XDP stayed on $IF_A after the last rule went"
tui_quit
log "ok"
exit 0
