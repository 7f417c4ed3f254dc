#!/usr/bin/env bash
# Flows pane views under tmux: grouped by remote host, local service and process, each group's
# sums equal the sums of its flows on screen and the datagrams the test itself sent and echoed;
# Enter on a group lists its flows; an IPv6 flow shows both full addresses at 160 columns and is
# elided with a marker (port kept), never cut silently, at 70.
set -u
TEST_NAME=tui-flows-view
. "$(dirname "$0")/lib.sh"

tui_require
cleanup_init
make_tmpdir
netns_pair 232
ADDR_B2=10.232.0.3
L6_A=fd00:dead:beef:cafe:1234:5678:9abc:1
L6_B=fd00:dead:beef:cafe:1234:5678:9abc:2
ip -n "$NS_B" addr add "$ADDR_B2/24" dev "$IF_B"
ip -n "$NS_A" addr add "$L6_A/64" dev "$IF_A" nodad
ip -n "$NS_B" addr add "$L6_B/64" dev "$IF_B" nodad

# UDP echo servers in A: one process for IPv4 (two ports), another for IPv6
echo_server() {
	bg_start "$TMP/echo-$1.log" ip netns exec "$NS_A" "$PYTHON" -c '
import select, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
socks = []
for p in sys.argv[2:]:
    s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(p))); socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        d, a = s.recvfrom(2048)
        s.sendto(d, a)
' "$@"
	wait_for 10 grep -q ready "$TMP/echo-$1.log" || fail "echo server on $1 did not start"
}
echo_server "$ADDR_A" 6001 6002
echo_server "$L6_A" 6003

# send SRC DST PORT N: N datagrams of 20 bytes from SRC, each answered before the next
send() {
	ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((src, 0)); s.settimeout(5)
for i in range(n):
    s.sendto(b"p" * 20, (dst, port))
    s.recvfrom(2048)
' "$@" || fail "sending $4 datagrams to $2:$3 failed"
}

# the columns this test reads: every cell one word (a config file is how they are chosen); the
# datagrams are done in a second, so idle flows stay shown
mkdir -p "$TMP/config/pktlens"
cat >"$TMP/config/pktlens/pktlensrc" <<'CFG'
flows.columns=proto,local,remote,packets,rx_bytes,tx_bytes,process
flows.groups.columns=group,flows,rx_packets,tx_packets,rx_bytes,tx_bytes
flows.hide_idle=0
CFG
tui_start 160 40 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "1 Flows"
tui_wait "RX B"

# 7 + 5 from B, 3 from B2, 4 over IPv6; a frame is 14 + 20 + 8 + 20 = 62 bytes (IPv6: 82)
send "$ADDR_B" "$ADDR_A" 6001 7
send "$ADDR_B" "$ADDR_A" 6002 5
send "$ADDR_B2" "$ADDR_A" 6001 3
send "$L6_B" "$L6_A" 6003 4

# the IPv6 flow: both endpoints whole at 160 columns
tui_wait "[$L6_A]:6003" 8
tui_wait_re "\[$L6_A\]:6003 +\[$L6_B\]:[0-9]+ +8 +328 +328 "

# rows of the connection view: "local remote packets rx tx process" for the test's flows
snapshot_flows() {
	tui_cap | awk -v a="$ADDR_A" '$1 == "udp" && index($2, a ":600") == 1 { print $2, $3, $4, $5, $6, $7 }'
}
flows_done() { [ "$(snapshot_flows | awk '{ s += $3 } END { print s + 0 }')" = 30 ]; }
wait_for 8 flows_done || {
	tui_cap >&2
	fail "the three IPv4 flows did not reach 30 packets"
}
snapshot_flows >"$TMP/flows"
log "flows: $(tr '\n' ';' <"$TMP/flows")"
SRV_PROC=$(awk 'NR == 1 { print $6 }' "$TMP/flows")
case "$SRV_PROC" in python3/[0-9]*) ;; *) fail "the flows are not attributed to the echo server: '$SRV_PROC'" ;; esac

# per flow: exactly what the test sent (and got back)
expect_flow() {
	grep -qE "^$ADDR_A:$1 $2:[0-9]+ $3 $4 $4 " "$TMP/flows" ||
		fail "flow $2 -> :$1: expected $3 packets, $4 bytes each way; have: $(tr '\n' ';' <"$TMP/flows")"
}
expect_flow 6001 "$ADDR_B" 14 434
expect_flow 6002 "$ADDR_B" 10 310
expect_flow 6001 "$ADDR_B2" 6 186

# the same sums from the flow rows, per group, computed by the test
sums() { # KEYFIELD(awk expr) -> "key flows rx_pkts tx_pkts rx_b tx_b"
	awk "{ k = $1; f[k]++; p[k] += \$3 / 2; rb[k] += \$4; tb[k] += \$5 }
	     END { for (k in f) print k, f[k], p[k], p[k], rb[k], tb[k] }" "$TMP/flows" | sort
}
group_rows() { # the groups table rows for the keys in $TMP/want
	tui_cap | awk 'NR > 2 { print $1, $2, $3, $4, $5, $6 }' | grep -F -f <(cut -d' ' -f1 "$TMP/want") | sort
}
groups_match() { group_rows | cmp -s - "$TMP/want"; }
check_groups() { # LABEL
	wait_for 5 groups_match || {
		tui_cap >&2
		echo "want:" >&2
		cat "$TMP/want" >&2
		fail "$1: the group sums on screen are not the sums of their flows"
	}
	log "$1: $(tr '\n' ';' <"$TMP/want")"
}

tui_keys v
tui_wait "REMOTE HOST"
tui_wait "by remote host"
sums 'substr($2, 1, index($2, ":") - 1)' >"$TMP/want"
# and what was sent: B 12 datagrams (7 + 5), B2 3, each one echoed
grep -qx "$ADDR_B 2 12 12 744 744" "$TMP/want" || fail "B's sums are off: $(cat "$TMP/want")"
grep -qx "$ADDR_B2 1 3 3 186 186" "$TMP/want" || fail "B2's sums are off: $(cat "$TMP/want")"
check_groups "by remote host"

tui_keys v
tui_wait "SERVICE"
sums '"udp/" substr($1, index($1, ":") + 1)' >"$TMP/want"
grep -qx "udp/6001 2 10 10 620 620" "$TMP/want" || fail "udp/6001 sums are off: $(cat "$TMP/want")"
check_groups "by local service"

tui_keys v
tui_wait "by process"
sums '$6' >"$TMP/want"
grep -qx "$SRV_PROC 3 15 15 930 930" "$TMP/want" || fail "the server's sums are off: $(cat "$TMP/want")"
check_groups "by process"

# Enter on a group lists its flows: the server's three, nothing else; Esc goes back
tui_keys /
tui_type "$SRV_PROC"
tui_keys Enter
tui_wait_re " 1/[0-9]+ groups"
tui_keys Enter
tui_wait "flows of process $SRV_PROC"
tui_wait_re " 3/[0-9]+ flows"
[ "$(tui_cap | grep -cE "^udp .* $SRV_PROC\$")" = 3 ] || { tui_cap >&2; fail "the group's flow list is not its 3 flows"; }
tui_keys Escape
tui_wait_gone "flows of process"
tui_wait "PROCESS"

# back to connections; at 70 columns an IPv6 endpoint is elided with a marker, its port kept
tui_keys v
tui_wait "LOCAL"
tui_resize 70 40
tui_wait_re "\[$L6_A\]:6003 +\[fd00:[^ ]*…[^ ]*\]:[0-9]+"
tui_cap | grep -F ":6003" | grep -qv "…" && fail "an IPv6 endpoint cut without the marker"

tui_quit
log "ok"
exit 0
