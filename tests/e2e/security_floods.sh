#!/usr/bin/env bash
# A UDP scan (Debian's nmap -sU) and a SYN flood with random sources (hping3) against a namespace
# that pktlens watches with --json. Ground truth: nmap's own report (which ports it found closed,
# the scanner's address), hping3's count of packets sent, the kernel's own SYN count (nstat
# TcpExtTCPReqQFullDrop, SyncookiesSent) and the listening socket's port. Each scenario prints its
# detection delay (first JSON line with the alert minus the start) and its false positives (any
# other alert raised meanwhile).
# test-timeout: 400
set -u
TEST_NAME=security_floods
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/security.sh"

HTTP_PORT=8080
UDP_PORT=5353

require_root
require_cmd ip nmap hping3 nstat "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 244
# SYN-ACKs to hping3's random sources leave through the peer (which drops them, not routing)
ip -n "$NS_A" route add default via "$ADDR_B"

bg_start "$TMP/http.log" ip netns exec "$NS_A" "$PYTHON" -m http.server -b "$ADDR_A" "$HTTP_PORT"
wait_port "$NS_A" tcp "$HTTP_PORT" 20
udp_sink_start "$NS_A" "$ADDR_A" "$UDP_PORT" "$TMP/sink.count"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5 --alert quiet=3
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 30 ||
	fail "pktlens did not attach: $(cat "$TMP/pl.json.err")"

# report NAME EXPECTED_ID SINCE: the delay line, and fails on any other alert raised since SINCE.
# hping3's random sources include martians (multicast, 0/8...): the kernel drops those SYNs with
# IP_INVALID_SOURCE, and a drop burst of that reason on the flooded port is the same attack.
report() {
	alerts_report "$TMP/pl.json" "$@" "drop_burst .*$HTTP_PORT: .* reason IP_INVALID_SOURCE"
}

log "nmap -sU (default timing) of ports 1-30 and $UDP_PORT from $ADDR_B"
t1=$(now_s)
ns_b nmap -sU -n -Pn -p "1-30,$UDP_PORT" "$ADDR_A" >"$TMP/nmap-sU.out" 2>&1 ||
	fail "nmap -sU failed: $(cat "$TMP/nmap-sU.out")"
cat "$TMP/nmap-sU.out" >&2
# nmap lists "closed" ports when few are, else says how many it did not show
closed=$(grep -oE '[0-9]+ closed udp ports' "$TMP/nmap-sU.out" | awk '{print $1}')
[ -n "$closed" ] || closed=$(grep -cE '^[0-9]+/udp +closed' "$TMP/nmap-sU.out")
grep -qE "^$UDP_PORT/udp +open" "$TMP/nmap-sU.out" || fail "nmap did not find $UDP_PORT open|filtered"
wait_alert "$TMP/pl.json" port_scan "$ADDR_B" "$t1" 20
id=$ALERT_ID
[ "$(alert_get "$TMP/pl.json" "$id" 'a["target"]')" = "$ADDR_A" ] || fail "target"
[ "$(alert_get "$TMP/pl.json" "$id" 'a["proto"]')" = udp ] || fail "proto"
wait_eq 5 "1-30,$UDP_PORT" alert_get "$TMP/pl.json" "$id" 'a["ports"]' ||
	fail "ports: $(alert_get "$TMP/pl.json" "$id" 'a["ports"]')"
# every ICMP port unreachable the host sent reached nmap: its closed ports are the refused ones
wait_for 10 eval 'alert_get "$TMP/pl.json" "$id" "a[\"detail\"]" | grep -q "31 ports.*, $closed refused"' ||
	fail "nmap found $closed closed; the alert says: $(alert_get "$TMP/pl.json" "$id" 'a["detail"]')"
log "alert: $(alert_get "$TMP/pl.json" "$id" 'a["detail"]')"
sleep 1
report "nmap -sU 31 ports" "$id" "$t1"

log "hping3 SYN flood with random sources to $ADDR_A:$HTTP_PORT"
# the scan's alert goes quiet first: the flood's window has nothing else in it
# (quiet=3: 3 s after nmap's last probe; 10 s allowed)
wait_eq 10 False alert_get "$TMP/pl.json" "$id" 'a["active"]' ||
	fail "the scan alert stayed active: last_seen $(alert_get "$TMP/pl.json" "$id" 'a["last_seen"]')" \
		"count $(alert_get "$TMP/pl.json" "$id" 'a["count"]')," \
		"pktlens uptime $(json_last "$TMP/pl.json" | json_get 'j["uptime_s"]')"
syn0=$(json_last "$TMP/pl.json" | jq '.detection.syn_in')
ns_a nstat -n
t2=$(now_s)
ns_b hping3 -q -S -p "$HTTP_PORT" --rand-source -c 4000 -i u300 "$ADDR_A" >"$TMP/hping.out" 2>&1
sent=$(awk '/packets transmitted/ { print $1 }' "$TMP/hping.out")
[ -n "$sent" ] && [ "$sent" -gt 1000 ] || fail "hping3 did not send: $(cat "$TMP/hping.out")"
ns_a nstat -z TcpExtSyncookiesSent TcpExtTCPReqQFullDoCookies TcpExtListenDrops >"$TMP/nstat" 2>&1
log "hping3 sent $sent SYNs; kernel: $(awk '/^Tcp/ {printf "%s=%s ", $1, $2}' "$TMP/nstat")"
wait_alert "$TMP/pl.json" syn_flood "" "$t2" 20
id=$ALERT_ID
[ "$(alert_get "$TMP/pl.json" "$id" 'a["target"]')" = "$ADDR_A" ] || fail "target"
[ "$(alert_get "$TMP/pl.json" "$id" 'a["ports"]')" = "$HTTP_PORT" ] || fail "the port is not named"
# every SYN hping3 sent reached the tc hook and was counted once
syn_counted() { echo $(($(json_last "$TMP/pl.json" | jq '.detection.syn_in') - syn0)); }
wait_eq 5 "$sent" syn_counted ||
	fail "SYNs counted $(($(json_last "$TMP/pl.json" | jq '.detection.syn_in') - syn0)), sent $sent"
count=$(alert_get "$TMP/pl.json" "$id" 'a["count"]')
sources=$(alert_get "$TMP/pl.json" "$id" 'a["sources"]')
[ "$count" -le "$sent" ] && [ "$count" -ge $((sent / 2)) ] ||
	fail "the alert counts $count SYNs of the $sent sent"
# random sources: nearly every SYN from another address (an estimate, within a quarter)
[ "$sources" -ge $((count * 3 / 4)) ] || fail "$sources sources for $count SYNs of random sources"
log "alert: $(alert_get "$TMP/pl.json" "$id" 'a["source"]') -> $(alert_get "$TMP/pl.json" "$id" 'a["detail"]')"
sleep 1
report "hping3 SYN flood $sent SYNs, random sources" "$id" "$t2"

pktlens_stop INT 20 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC"
log "ok"
exit 0
