#!/usr/bin/env bash
# The XDP firewall against the sender's and the receiver's own counts: --deny drops exactly what
# the sender sent (the receiver gets none, the rule counts every one, IPv6 from the same host
# passes unless denied), --limit passes what its bucket allows and counts the rest as dropped,
# rules expire (--block-ttl) and take XDP off with the last one, a rule covering this SSH
# session's peer is refused unless forced, and after pktlens exits traffic flows again.
set -u
TEST_NAME=security_firewall
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/security.sh"

PORT=9001
V4_FRAME=$((14 + 20 + 8 + 32)) # what udp_send sends, as XDP sees it on veth
V6_FRAME=$((14 + 40 + 8 + 32))

require_root
require_cmd ip bpftool "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 241
# Permanent neighbours both ways: a denied sender's kernel would otherwise probe its stale entry
# for A (IPv6 NUD: up to three unicast neighbour solicitations, which the rule drops and counts
# as from the denied host: once 303 packets for 300 datagrams), and could stop sending.
mac_a=$(ip -n "$NS_A" -br link show dev "$IF_A" | awk '{print $3}')
mac_b=$(ip -n "$NS_B" -br link show dev "$IF_B" | awk '{print $3}')
for a in "$ADDR_A" "$ADDR6_A"; do
	ip -n "$NS_B" neigh replace "$a" lladdr "$mac_a" dev "$IF_B" nud permanent ||
		fail "cannot set B's neighbour entry for $a"
done
for a in "$ADDR_B" "$ADDR6_B"; do
	ip -n "$NS_A" neigh replace "$a" lladdr "$mac_b" dev "$IF_A" nud permanent ||
		fail "cannot set A's neighbour entry for $a"
done

xdp_prog() { ip -n "$NS_A" -d link show dev "$IF_A" 2>/dev/null | grep -o 'prog/xdp id [0-9]*' | awk '{print $3}'; }
xdp_name() {
	local id
	id=$(xdp_prog)
	[ -n "$id" ] && bpftool prog show id "$id" | head -1 | grep -o 'name [a-z_]*' | cut -d' ' -f2
}
no_xdp() { [ -z "$(xdp_prog)" ]; }
fw_json() { json_last "$TMP/pl.json" | json_get "$1"; }
rule_packets_are() { [ "$(fw_json 'j["firewall"]["rules"][0]["packets"]' 2>/dev/null)" = "$1" ]; }
fw_attached() { [ -n "$(fw_json 'j["firewall"]["attached"]' 2>/dev/null)" ]; }
# what the receiving namespace's kernel says about UDP and the veth, for a failure message
udp_diag() {
	echo
	ns_a nstat -az 'Udp*' 'Udp6*' 2>&1 | grep -vw 0
	ip -n "$NS_A" -s -d link show dev "$IF_A" 2>/dev/null
	ip -n "$NS_B" neigh 2>/dev/null
	fw_json 'j["firewall"]'
}

start() {
	rm -f "$TMP/pl.json"
	pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.3 --flows 1024 "$@"
	wait_for 30 fw_attached || fail "the firewall did not attach: $(cat "$TMP/pl.json.err")"
}

stop() {
	pktlens_stop INT 20 || fail "pktlens did not stop"
	[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
	wait_for 5 no_xdp || fail "XDP program $(xdp_name) left on $IF_A after exit"
}

log "deny IPv4: every datagram dropped and counted, IPv6 from the same host untouched"
udp_sink_start "$NS_A" "$ADDR_A" $PORT "$TMP/v4.count"
V4_SINK=$SINK_PID
start --deny "$ADDR_B/32"
[ "$(xdp_name)" = xdp_firewall ] || fail "XDP on $IF_A is '$(xdp_name)', not xdp_firewall"
sent=$(udp_send "$NS_B" "$ADDR_A" $PORT 500)
SINK_PID=$V4_SINK
wait_for 10 rule_packets_are "$sent" ||
	fail "the rule counted $(fw_json 'j["firewall"]["rules"]') for $sent sent"
got=$(udp_sink_stop "$TMP/v4.count")
[ "$got" = 0 ] || fail "the receiver got $got of $sent denied datagrams"
udp_sink_start "$NS_A" "$ADDR6_A" $PORT "$TMP/v6.count"
sent6=$(udp_send "$NS_B" "$ADDR6_A" $PORT 300)
udp_sink_wait "$TMP/v6.count" "$sent6"
got6=$(udp_sink_stop "$TMP/v6.count")
[ "$got6" = "$sent6" ] || fail "IPv6 from the denied host: $got6 of $sent6 received$(udp_diag)"
v6_counted() {
	[ "$(fw_json "sum(f['rx_packets'] for f in j['flows'] if f['local_port'] == $PORT and ':' in f['local'])")" = "$sent6" ]
}
wait_for 10 v6_counted
r=$(fw_json 'j["firewall"]["rules"][0]')
[ "$(fw_json 'j["firewall"]["rules"][0]["rule"]')" = "deny $ADDR_B/32" ] || fail "rule: $r"
[ "$(fw_json 'j["firewall"]["rules"][0]["action"]')" = deny ] || fail "rule: $r"
[ "$(fw_json 'j["firewall"]["rules"][0]["dropped_packets"]')" = "$sent" ] || fail "rule: $r"
[ "$(fw_json 'j["firewall"]["rules"][0]["bytes"]')" = $((sent * V4_FRAME)) ] || fail "rule: $r"
[ "$(fw_json 'j["firewall"]["rules"][0]["passed_packets"]')" = 0 ] || fail "rule: $r"
[ "$(fw_json 'j["firewall"]["dropped"]')" = "$sent" ] || fail "total: $(fw_json 'j["firewall"]')"
# what XDP dropped never reached tc: no IPv4 flow to the port; the IPv6 one counts all it got
v4rx=$(fw_json "sum(f['rx_packets'] for f in j['flows'] if f['local_port'] == $PORT and ':' not in f['local'])")
v6rx=$(fw_json "sum(f['rx_packets'] for f in j['flows'] if f['local_port'] == $PORT and ':' in f['local'])")
[ "$v4rx" = 0 ] || fail "the flow table counted $v4rx denied datagrams"
[ "$v6rx" = "$sent6" ] || fail "the flow table counted $v6rx of $sent6 IPv6 datagrams"
stop
log "after exit: traffic flows again"
udp_sink_start "$NS_A" "$ADDR_A" $PORT "$TMP/v4b.count"
sent=$(udp_send "$NS_B" "$ADDR_A" $PORT 100)
udp_sink_wait "$TMP/v4b.count" "$sent"
got=$(udp_sink_stop "$TMP/v4b.count")
[ "$got" = "$sent" ] || fail "after pktlens exited: $got of $sent received$(udp_diag)"

log "deny IPv6: IPv4 from the same host untouched"
udp_sink_start "$NS_A" "$ADDR6_A" $PORT "$TMP/v6c.count"
V6_SINK=$SINK_PID
start --deny "$ADDR6_B/128"
sent6=$(udp_send "$NS_B" "$ADDR6_A" $PORT 300)
wait_for 10 rule_packets_are "$sent6" || fail "rule: $(fw_json 'j["firewall"]["rules"]')"
SINK_PID=$V6_SINK
got6=$(udp_sink_stop "$TMP/v6c.count")
[ "$got6" = 0 ] || fail "the receiver got $got6 of $sent6 denied IPv6 datagrams"
[ "$(fw_json 'j["firewall"]["rules"][0]["bytes"]')" = $((sent6 * V6_FRAME)) ] ||
	fail "rule: $(fw_json 'j["firewall"]["rules"][0]')"
udp_sink_start "$NS_A" "$ADDR_A" $PORT "$TMP/v4c.count"
sent=$(udp_send "$NS_B" "$ADDR_A" $PORT 200)
udp_sink_wait "$TMP/v4c.count" "$sent"
got=$(udp_sink_stop "$TMP/v4c.count")
[ "$got" = "$sent" ] || fail "IPv4 under an IPv6 rule: $got of $sent received$(udp_diag)"
stop

log "limit: passed + dropped = sent, passed within the bucket's bound, the receiver gets passed"
PPS=200
udp_sink_start "$NS_A" "$ADDR_A" $PORT "$TMP/lim.count"
LIM_SINK=$SINK_PID
start --limit "$ADDR_B/32:$PPS"
# 3000 datagrams paced at about 1500 a second; the sender reports how long it took
out=$(ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i in range(3000):
    s.sendto(b"p" * 32, (sys.argv[1], int(sys.argv[2])))
    while time.monotonic() < t0 + (i + 1) / 1500.0:
        time.sleep(0.0005)
print(3000, time.monotonic() - t0)
' "$ADDR_A" $PORT)
sent=${out% *}
elapsed=${out#* }
matched() { [ "$(fw_json 'j["firewall"]["rules"][0]["packets"]')" = "$sent" ]; }
wait_for 10 matched || fail "the limit matched $(fw_json 'j["firewall"]["rules"][0]') of $sent"
SINK_PID=$LIM_SINK
got=$(udp_sink_stop "$TMP/lim.count")
passed=$(fw_json 'j["firewall"]["rules"][0]["passed_packets"]')
dropped=$(fw_json 'j["firewall"]["rules"][0]["dropped_packets"]')
log "limit $PPS/s: sent $sent in ${elapsed}s, passed $passed, dropped $dropped, received $got"
[ $((passed + dropped)) = "$sent" ] || fail "passed $passed + dropped $dropped != sent $sent"
[ "$got" = "$passed" ] || fail "the receiver got $got, the rule passed $passed"
# a bucket of PPS tokens refilled at PPS a second: at most PPS + PPS * elapsed, at least the bucket
bound=$("$PYTHON" -c "import math; print(math.ceil($PPS + $PPS * $elapsed))")
[ "$passed" -le "$bound" ] || fail "passed $passed > $bound (bucket $PPS + $PPS/s x ${elapsed}s)"
[ "$passed" -ge "$PPS" ] || fail "passed $passed < one full bucket of $PPS"
[ "$(fw_json 'j["firewall"]["rules"][0]["rule"]')" = "limit $ADDR_B/32 $PPS/s" ] ||
	fail "rule: $(fw_json 'j["firewall"]["rules"][0]')"
stop

log "--block-ttl: the rule expires, XDP goes with it, the counts stay in the total"
udp_sink_start "$NS_A" "$ADDR_A" $PORT "$TMP/ttl.count"
TTL_SINK=$SINK_PID
start --deny "$ADDR_B/32" --block-ttl 3
sent=$(udp_send "$NS_B" "$ADDR_A" $PORT 50)
wait_for 10 rule_packets_are "$sent" || fail "rule: $(fw_json 'j["firewall"]')"
no_rules() { [ "$(fw_json 'len(j["firewall"]["rules"])')" = 0 ]; }
wait_for 15 no_rules || fail "the rule did not expire: $(fw_json 'j["firewall"]')"
[ -z "$(fw_json 'j["firewall"]["attached"]')" ] || fail "XDP still attached with no rule"
wait_for 5 no_xdp || fail "XDP left on $IF_A after the last rule expired"
[ "$(fw_json 'j["firewall"]["dropped"]')" = "$sent" ] || fail "total: $(fw_json 'j["firewall"]')"
sent2=$(udp_send "$NS_B" "$ADDR_A" $PORT 70)
SINK_PID=$TTL_SINK
udp_sink_wait "$TMP/ttl.count" "$sent2"
got=$(udp_sink_stop "$TMP/ttl.count")
[ "$got" = "$sent2" ] || fail "after expiry the receiver got $got, want $sent2"
stop

log "the SSH peer: refused with one line unless --force-block"
SSH_CONNECTION="$ADDR_B 50022 $ADDR_A 22" "$PKTLENS" -n "$NS_A" -i "$IF_A" --json --duration 1 \
	--deny "${ADDR_B%.*}.0/24" >"$TMP/ssh.out" 2>"$TMP/ssh.err"
rc=$?
[ "$rc" != 0 ] || fail "a rule over the SSH peer was accepted"
[ "$(wc -l <"$TMP/ssh.err")" = 1 ] || fail "not one line: $(cat "$TMP/ssh.err")"
grep -q "SSH session" "$TMP/ssh.err" || fail "the refusal does not say why: $(cat "$TMP/ssh.err")"
grep -q -- "--force-block" "$TMP/ssh.err" || fail "the refusal does not say how: $(cat "$TMP/ssh.err")"
no_xdp || fail "XDP left after the refusal"
SSH_CONNECTION="$ADDR_B 50022 $ADDR_A 22" start --deny "${ADDR_B%.*}.0/24" --force-block
[ "$(fw_json 'j["firewall"]["ssh_peer"]')" = "$ADDR_B" ] || fail "ssh_peer: $(fw_json 'j["firewall"]')"
stop

log "bad rules: one line, exit 2, nothing attached"
for bad in "--deny 10.0.0.0/33" "--deny 999.1.1.1" "--limit fd00::1:100" "--limit 10.0.0.0/8:0" \
	"--deny"; do
	# shellcheck disable=SC2086
	"$PKTLENS" -n "$NS_A" -i "$IF_A" --json --duration 1 $bad >/dev/null 2>"$TMP/bad.err"
	rc=$?
	[ "$rc" = 2 ] || fail "'$bad' exited $rc"
	[ "$(wc -l <"$TMP/bad.err")" = 1 ] || fail "'$bad': $(cat "$TMP/bad.err")"
	no_xdp || fail "XDP left after '$bad'"
done
log "ok"
exit 0
