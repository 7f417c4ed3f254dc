#!/usr/bin/env bash
# -f FILTER (tcpdump syntax): for several expressions, the flows pktlens --json reports are exactly
# the conversations in which tcpdump, given the same expression, selects a packet of a dumpcap
# capture of the same run. A filter libpcap refuses is one sentence on stderr, a non-zero exit and
# nothing attached.
set -u
TEST_NAME=filter
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/capture.sh
. "$(dirname "$0")/../lib/capture.sh"

TCP_PORT=5001
UDP_PORT=5002
UDP6_PORT=5003

require_root
require_cmd ip tc dumpcap tcpdump tshark "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 242

bg_start "$TMP/srv.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", int(sys.argv[1]))); t.listen(8)
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u4.bind(("0.0.0.0", int(sys.argv[2])))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::", int(sys.argv[3])))
def sink(s):
    while True:
        s.recv(65536)
for s in (u4, u6):
    threading.Thread(target=sink, args=(s,), daemon=True).start()
while True:
    c, _ = t.accept()
    while c.recv(65536):
        pass
    c.close()
' "$TCP_PORT" "$UDP_PORT" "$UDP6_PORT"
wait_port "$NS_A" tcp "$TCP_PORT"
wait_port "$NS_A" udp "$UDP_PORT"
wait_port "$NS_A" udp "$UDP6_PORT"

# the same conversations every run: TCP v4, UDP v4 from two source ports, UDP v6, ICMP echo v4
traffic() {
	ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys
a4, a6, tp, up, u6p = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
c = socket.create_connection((a4, tp)); c.sendall(b"t" * 3000); c.close()
for sport in (41001, 41002):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", sport))
    for i in range(3):
        u.sendto(b"u" * 100, (a4, up))
    u.close()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(2):
    u.sendto(b"6" * 100, (a6, u6p))
' "$ADDR_A" "$ADDR6_A" "$TCP_PORT" "$UDP_PORT" "$UDP6_PORT" || fail "the traffic client failed"
	ns_b_ping "$ADDR_A" 2 || fail "no echo reply from $ADDR_A"
}

# conversations FILE: "proto addr:port addr:port" per flow, endpoints in sorted order, from
# tshark's fields of a pcap (ICMP without ports: pktlens keys echo flows by their identifier)
conversations() {
	tshark -n -r "$1" -T fields -E separator=/t -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
		-e ip.proto -e ipv6.nxt -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport 2>/dev/null |
		"$PYTHON" -c '
import sys
names = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp6"}
seen = set()
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    s, d = (f[0], f[1]) if f[0] else (f[2], f[3])
    proto = names.get(f[4] or f[5].split(",")[-1], f[4] or f[5])
    if not s or proto not in ("tcp", "udp", "icmp", "icmp6"):
        continue
    sp, dp = (f[6], f[7]) if proto == "tcp" else (f[8], f[9]) if proto == "udp" else ("", "")
    # ICMP errors quote a packet: tshark lists the quoted ports too; keep the outer header
    sp, dp = sp.split(",")[0], dp.split(",")[0]
    seen.add(" ".join([proto] + sorted([s + ":" + sp, d + ":" + dp])))
print("\n".join(sorted(seen)))
'
}

pktlens_conversations() {
	json_last "$1" | "$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
out = set()
for f in j["flows"]:
    icmp = f["proto"] in ("icmp", "icmp6")
    lp, rp = ("", "") if icmp else (str(f["local_port"]), str(f["remote_port"]))
    out.add(" ".join([f["proto"]] + sorted([f["local"] + ":" + lp, f["remote"] + ":" + rp])))
print("\n".join(sorted(out)))
'
}

run_filter() {
	local expr=$1 n=$2
	capture_start "$NS_A" "$IF_A" "$TMP/cap$n.pcapng"
	pktlens_start "$TMP/pl$n.json" -n "$NS_A" -i "$IF_A" -f "$expr" --json --interval 0.5
	pktlens_wait_attached "$TMP/pl$n.json" tc-ingress "$IF_A" 20 ||
		fail "tc-ingress did not attach: $(cat "$TMP/pl$n.json.err")"
	pktlens_wait_attached "$TMP/pl$n.json" tc-egress "$IF_A" 5 || fail "tc-egress did not attach"
	traffic
	# one more snapshot after the last packet
	local lines
	lines=$(json_count "$TMP/pl$n.json")
	wait_for 10 sh -c "[ \$(grep -c '^{' '$TMP/pl$n.json') -ge $((lines + 2)) ]" ||
		fail "pktlens stopped printing"
	pktlens_stop INT 30 || fail "pktlens did not stop"
	[ "$PL_RC" = 0 ] || fail "pktlens -f '$expr' exited with $PL_RC: $(cat "$TMP/pl$n.json.err")"
	capture_stop
	tcpdump -r "$TMP/cap$n.pcapng" -w "$TMP/sel$n.pcap" "$expr" 2>/dev/null ||
		fail "tcpdump refused '$expr'"
	conversations "$TMP/sel$n.pcap" >"$TMP/want$n"
	pktlens_conversations "$TMP/pl$n.json" >"$TMP/got$n"
	log "-f '$expr': $(wc -l <"$TMP/want$n") conversations selected by tcpdump"
	[ -s "$TMP/want$n" ] || fail "tcpdump selected nothing with '$expr': no test"
	if ! diff -u "$TMP/want$n" "$TMP/got$n" >&2; then
		fail "pktlens -f '$expr' shows other flows than tcpdump selects (- tcpdump, + pktlens)"
	fi
}

n=0
for expr in "udp" "tcp port $TCP_PORT" "ip6 and udp" "src host $ADDR_B and src port 41002" "icmp" \
	"host $ADDR_A and not (udp or icmp6)" "dst port $UDP_PORT and src port 41001"; do
	n=$((n + 1))
	run_filter "$expr" "$n"
done

# a filter libpcap refuses
"$PKTLENS" -n "$NS_A" -i "$IF_A" -f "port notaport" --json --duration 2 >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
[ "$rc" -ne 0 ] || fail "a bad filter exited 0"
[ "$(grep -c . "$TMP/bad.err")" = 1 ] || fail "a bad filter printed $(grep -c . "$TMP/bad.err") stderr lines: $(cat "$TMP/bad.err")"
grep -q "bad filter 'port notaport'" "$TMP/bad.err" || fail "the error does not name the filter: $(cat "$TMP/bad.err")"
[ ! -s "$TMP/bad.out" ] || fail "a bad filter printed a snapshot"
[ -z "$(ip netns exec "$NS_A" tc qdisc show dev "$IF_A" | grep clsact)" ] ||
	fail "a bad filter left a clsact qdisc on $IF_A"
ip -n "$NS_A" -d link show dev "$IF_A" | grep -q prog/xdp && fail "a bad filter left XDP on $IF_A"
log "bad filter: exit $rc, $(cat "$TMP/bad.err")"
log "ok"
exit 0
