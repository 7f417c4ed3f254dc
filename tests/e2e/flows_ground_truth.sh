#!/usr/bin/env bash
# pktlens --json per-flow rx/tx packet and byte counts must equal a dumpcap capture of the same run.
set -u
TEST_NAME=${TEST_NAME:-flows_ground_truth}
. "$(dirname "$0")/../lib/netns.sh"

TCP_PORT=45001
UDP_PORT=45002
CLOSED_PORT=45999
UDP4_SRC=40001
UDP6_SRC=40002
UDP_CLOSED_SRC=40003
# UDP payload sizes cycled by the sender (0 is a legal, empty datagram); all fit one frame.
UDP_SIZES="0,1,64,100,512,1000,1400"
UDP4_COUNT=70
UDP6_COUNT=35
# Bytes each TCP connection sends; the server answers each with TCP_REPLY bytes.
TCP4_SIZES="10,1000,5000,20000,100000"
TCP6_SIZES="300,70000"
TCP_REPLY=777
PROBES=${PKTLENS_PROBES:-}
# off: tso/gso/gro off, every frame is a wire packet. on: the veth defaults, so TCP crosses the
# veth as GSO aggregates and a frame of N segments must count as N packets (DESIGN.md).
OFFLOADS=${FLOWS_OFFLOADS:-off}

write_server() {
	cat >"$TMP/server.py" <<'EOF'
# Test server in namespace A: UDP echo + count, TCP sink that replies after EOF; stats to a file.
import json, os, selectors, socket, sys
a4, a6, tport, uport, reply, out = sys.argv[1:7]
tport, uport, reply = int(tport), int(uport), int(reply)
stats = {"udp_rx": 0, "udp_rx_bytes": 0, "udp_tx": 0, "tcp_conns": 0, "tcp_rx_bytes": 0}
sel = selectors.DefaultSelector()

def dump():
    with open(out + ".tmp", "w") as f:
        json.dump(stats, f)
    os.replace(out + ".tmp", out)

for fam, addr in ((socket.AF_INET, a4), (socket.AF_INET6, a6)):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((addr, uport))
    sel.register(u, selectors.EVENT_READ, "udp")
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, tport))
    t.listen(16)
    sel.register(t, selectors.EVENT_READ, "listen")
dump()
open(out + ".ready", "w").close()
while True:
    for key, _ in sel.select(timeout=120):
        s = key.fileobj
        if key.data == "udp":
            data, peer = s.recvfrom(65535)
            stats["udp_rx"] += 1
            stats["udp_rx_bytes"] += len(data)
            s.sendto(data, peer)
            stats["udp_tx"] += 1
        elif key.data == "listen":
            c, _ = s.accept()
            c.setblocking(True)
            n = 0
            while True:
                b = c.recv(65536)
                if not b:
                    break
                n += len(b)
            c.sendall(b"r" * reply)
            c.close()
            stats["tcp_conns"] += 1
            stats["tcp_rx_bytes"] += n
        dump()
EOF
}

write_client() {
	cat >"$TMP/client.py" <<'EOF'
# Test client in namespace B: known UDP datagrams (lock-step with echoes) and TCP connections.
import json, socket, sys
(b4, b6, a4, a6, tport, uport, sizes, n4, n6, src4, src6, tcp4, tcp6, reply) = sys.argv[1:15]
sizes = [int(x) for x in sizes.split(",")]
rep = {"udp": [], "tcp": []}

def udp(fam, src, dst, sport, count):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, sport))
    s.settimeout(2.0)
    sent = sent_bytes = echoed = echoed_bytes = 0
    for i in range(count):
        n = sizes[i % len(sizes)]
        s.sendto(b"u" * n, (dst, int(uport)))
        sent += 1
        sent_bytes += n
        try:
            data, _ = s.recvfrom(65535)
            echoed += 1
            echoed_bytes += len(data)
        except socket.timeout:
            pass
    rep["udp"].append({"family": 6 if fam == socket.AF_INET6 else 4, "sport": sport,
                       "sent": sent, "sent_bytes": sent_bytes,
                       "echoed": echoed, "echoed_bytes": echoed_bytes})
    s.close()

def tcp(fam, src, dst, size):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10.0)
    s.bind((src, 0))
    s.connect((dst, int(tport)))
    sport = s.getsockname()[1]
    s.sendall(b"t" * size)
    s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    s.close()
    rep["tcp"].append({"family": 6 if fam == socket.AF_INET6 else 4, "sport": sport,
                       "sent_bytes": size, "recv_bytes": got})

udp(socket.AF_INET, b4, a4, int(src4), int(n4))
udp(socket.AF_INET6, b6, a6, int(src6), int(n6))
for size in (int(x) for x in tcp4.split(",")):
    tcp(socket.AF_INET, b4, a4, size)
for size in (int(x) for x in tcp6.split(",")):
    tcp(socket.AF_INET6, b6, a6, size)
print(json.dumps(rep))
EOF
}

write_compare() {
	cat >"$TMP/compare.py" <<'EOF'
# Compares pktlens' final JSON flows with the capture's per-tuple counts and the programs' own counts.
import ipaddress, json, sys
(final, fields, client, server, iface, a4, a6, tport, uport, closed_port, closed_src,
 reply, offloads) = sys.argv[1:14]
tport, uport, closed_port, closed_src, reply = map(int, (tport, uport, closed_port, closed_src, reply))
local_addrs = {ipaddress.ip_address(a4), ipaddress.ip_address(a6)}
errors = []

def key(proto, local, lport, remote, rport):
    return (proto, ipaddress.ip_address(local), int(lport), ipaddress.ip_address(remote), int(rport))

def fmt(k):
    return "%s %s:%d <-> %s:%d" % (k[0], k[1], k[2], k[3], k[4])

# Ground truth: every TCP/UDP frame on the veth, by tuple and direction.
truth = {}
tcp_payload = {}
aggregates = 0
with open(fields) as f:
    for line in f:
        c = line.rstrip("\n").split("\t")
        flen, s4, d4, s6, d6, tsp, tdp, usp, udp_, tlen = (c + [""] * 10)[:10]
        src, dst = (s4, d4) if s4 else (s6, d6)
        if "," in src or "," in dst or not src:
            errors.append("capture frame with nested or missing IP header: %r" % line)
            continue
        proto, sp, dp = ("tcp", tsp, tdp) if tsp else ("udp", usp, udp_)
        src_ip, dst_ip = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        if dst_ip in local_addrs:
            k, d = key(proto, dst, dp, src, sp), "rx"
        elif src_ip in local_addrs:
            k, d = key(proto, src, sp, dst, dp), "tx"
        else:
            continue
        t = truth.setdefault(k, {"rx_packets": 0, "rx_bytes": 0, "tx_packets": 0, "tx_bytes": 0})
        segs = 1
        if proto == "tcp" and int(flen) > 1514 and int(tlen or 0) > 0:
            # A GSO aggregate: its segments are MTU-sized, each with the same IP+TCP headers.
            aggregates += 1
            mss = 1500 - (int(flen) - 14 - int(tlen))
            segs = -(-int(tlen) // mss)
        t[d + "_packets"] += segs
        t[d + "_bytes"] += int(flen)
        if proto == "tcp":
            p = tcp_payload.setdefault(k, {"rx": 0, "tx": 0})
            p[d] += int(tlen or 0)

with open(final) as f:
    snap = json.load(f)
got = {}
for fl in snap.get("flows", []):
    if fl.get("iface") != iface or fl.get("proto") not in ("tcp", "udp"):
        continue
    try:
        k = key(fl["proto"], fl["local"], fl["local_port"], fl["remote"], fl["remote_port"])
    except (KeyError, ValueError) as e:
        errors.append("malformed flow %r: %s" % (fl, e))
        continue
    if k in got:
        errors.append("flow listed twice: %s" % fmt(k))
    got[k] = fl

fields_cmp = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")
for k in sorted(truth, key=str):
    t = truth[k]
    g = got.get(k)
    if g is None:
        # Maybe reported with local and remote swapped.
        sw = (k[0], k[3], k[4], k[1], k[2])
        hint = " (found with local/remote swapped)" if sw in got else ""
        errors.append("missing flow %s%s; capture: %s" % (fmt(k), hint, t))
        continue
    diff = ["%s pktlens=%s capture=%s" % (n, g.get(n), t[n]) for n in fields_cmp if g.get(n) != t[n]]
    status = "ok" if not diff else "MISMATCH " + ", ".join(diff)
    print("  %-52s rx %4d/%8d tx %4d/%8d  %s" % (fmt(k), t["rx_packets"], t["rx_bytes"],
                                                t["tx_packets"], t["tx_bytes"], status))
    if diff:
        errors.append("%s: %s" % (fmt(k), ", ".join(diff)))
for k, g in got.items():
    if k not in truth and any(g.get(n) for n in fields_cmp):
        errors.append("flow not in capture: %s %s" % (fmt(k), {n: g.get(n) for n in fields_cmp}))

# The programs' own counts: the capture must be complete, and the arithmetic must agree.
with open(client) as f:
    cl = json.load(f)
with open(server) as f:
    sv = json.load(f)
l3 = {4: 14 + 20 + 8, 6: 14 + 40 + 8}
for u in cl["udp"]:
    a = a4 if u["family"] == 4 else a6
    ra = [x for x in got if x[0] == "udp" and x[2] == uport and x[4] == u["sport"]]
    if not ra:
        errors.append("no pktlens UDP flow for sender port %d" % u["sport"])
        continue
    g = got[ra[0]]
    want = {"rx_packets": u["sent"], "rx_bytes": u["sent_bytes"] + l3[u["family"]] * u["sent"],
            "tx_packets": u["echoed"], "tx_bytes": u["echoed_bytes"] + l3[u["family"]] * u["echoed"]}
    for n, v in want.items():
        if g.get(n) != v:
            errors.append("UDPv%d sender port %d: %s pktlens=%s sender-derived=%d"
                          % (u["family"], u["sport"], n, g.get(n), v))
if sv["udp_rx"] != sum(u["sent"] for u in cl["udp"]):
    errors.append("server received %d UDP datagrams, client sent %d (loss on a veth?)"
                  % (sv["udp_rx"], sum(u["sent"] for u in cl["udp"])))
for c in cl["tcp"]:
    ks = [x for x in tcp_payload if x[2] == tport and x[4] == c["sport"]]
    if len(ks) != 1:
        errors.append("capture has %d TCP conversations for client port %d" % (len(ks), c["sport"]))
        continue
    p = tcp_payload[ks[0]]
    if p["rx"] != c["sent_bytes"] or p["tx"] != c["recv_bytes"] or c["recv_bytes"] != reply:
        errors.append("TCP client port %d: capture payload rx=%d tx=%d, client sent=%d recv=%d"
                      % (c["sport"], p["rx"], p["tx"], c["sent_bytes"], c["recv_bytes"]))
    if ks[0] not in got:
        continue
    if got[ks[0]].get("rx_packets", 0) < 3 or got[ks[0]].get("tx_packets", 0) < 2:
        errors.append("TCP flow for port %d has implausibly few packets" % c["sport"])
ntcp = sum(1 for x in got if x[0] == "tcp" and x[2] == tport)
if ntcp != len(cl["tcp"]) or sv["tcp_conns"] != len(cl["tcp"]):
    errors.append("TCP connections: client %d, server %d, pktlens flows %d"
                  % (len(cl["tcp"]), sv["tcp_conns"], ntcp))
# The datagram to a closed port: one rx packet; the ICMP error it causes is not UDP.
kc = [x for x in got if x[0] == "udp" and x[2] == closed_port and x[4] == closed_src]
if not kc:
    errors.append("no flow for the datagram to closed port %d" % closed_port)
elif got[kc[0]].get("tx_packets") != 0 or got[kc[0]].get("rx_packets") != 1:
    errors.append("closed-port UDP flow counts %s (ICMP error counted as UDP?)"
                  % {n: got[kc[0]].get(n) for n in fields_cmp})

if offloads == "on" and aggregates == 0:
    errors.append("offloads on, but the capture holds no GSO aggregate: the test checked nothing new")
if offloads == "off" and aggregates:
    errors.append("offloads off, but the capture holds %d frames above the MTU" % aggregates)
print("%d GSO aggregates in the capture" % aggregates)
for e in errors:
    print("ERROR: " + e)
print("%d flows compared, %d errors" % (len(truth), len(errors)))
sys.exit(1 if errors else 0)
EOF
}

main() {
	require_root
	require_cmd ip dumpcap tshark ethtool "$PYTHON"
	require_pktlens
	cleanup_init
	make_tmpdir
	netns_pair 201
	[ "$OFFLOADS" = on ] || netns_no_offloads
	write_server
	write_client
	write_compare

	bg_start "$TMP/server.log" ip netns exec "$NS_A" "$PYTHON" "$TMP/server.py" \
		"$ADDR_A" "$ADDR6_A" "$TCP_PORT" "$UDP_PORT" "$TCP_REPLY" "$TMP/server.json"
	wait_for 10 test -e "$TMP/server.json.ready" || fail "test server did not start: $(cat "$TMP/server.log")"

	bg_start "$TMP/dumpcap.log" ip netns exec "$NS_A" dumpcap -q -i "$IF_A" -w "$TMP/cap.pcapng"
	local cap_pid=$BG_PID
	wait_for 10 grep -q "Capturing on" "$TMP/dumpcap.log" || fail "dumpcap did not start: $(cat "$TMP/dumpcap.log")"

	local args=(-n "$NS_A" -i "$IF_A" --json --interval 1 --duration 90)
	[ -n "$PROBES" ] && args+=(--probes "$PROBES")
	# the XDP run count is checked below: it grows only while BPF run-time statistics are on
	[[ "$PROBES" == *xdp* ]] && args+=(--bpf-stats)
	log "pktlens ${args[*]}"
	pktlens_start "$TMP/pktlens.json" "${args[@]}"
	pktlens_wait_attached "$TMP/pktlens.json" tc-ingress "$IF_A" 20 ||
		fail "pktlens did not report tc-ingress:$IF_A attached: $(tail -n 5 "$TMP/pktlens.json.err")"
	if [[ ",$PROBES," == *,xdp,* ]]; then
		pktlens_wait_attached "$TMP/pktlens.json" xdp "$IF_A" 10 ||
			skip "XDP did not attach on $IF_A: $(tail -n 2 "$TMP/pktlens.json.err")"
	fi

	# Noise the tuple filter must ignore: ARP after a neighbour flush, ICMP echo.
	ns_a ip neigh flush dev "$IF_A"
	ns_b ip neigh flush dev "$IF_B"
	ns_b_ping "$ADDR_A" 3 || fail "ICMP echo to $ADDR_A failed"
	ns_b_ping "$ADDR6_A" 2 || fail "ICMPv6 echo to $ADDR6_A failed"

	log "sending traffic"
	timeout 60 ip netns exec "$NS_B" "$PYTHON" "$TMP/client.py" "$ADDR_B" "$ADDR6_B" "$ADDR_A" \
		"$ADDR6_A" "$TCP_PORT" "$UDP_PORT" "$UDP_SIZES" "$UDP4_COUNT" "$UDP6_COUNT" "$UDP4_SRC" \
		"$UDP6_SRC" "$TCP4_SIZES" "$TCP6_SIZES" "$TCP_REPLY" >"$TMP/client.json" 2>"$TMP/client.err" ||
		fail "traffic client failed: $(cat "$TMP/client.err")"
	# One datagram to a closed port: A answers with ICMP port unreachable quoting the UDP header.
	ns_b "$PYTHON" -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2]))); s.sendto(b"x"*20, (sys.argv[3], int(sys.argv[4])))' \
		"$ADDR_B" "$UDP_CLOSED_SRC" "$ADDR_A" "$CLOSED_PORT"
	# Let final ACKs cross and pktlens take one more interval.
	sleep 1.5

	pktlens_stop INT 30 || fail "pktlens did not exit within 30 s of SIGINT"
	[ "$PL_RC" -eq 0 ] || fail "pktlens exited with $PL_RC after SIGINT: $(tail -n 5 "$TMP/pktlens.json.err")"
	kill -INT "$cap_pid" 2>/dev/null
	wait_pid_exit "$cap_pid" 10 || fail "dumpcap did not stop"
	# "Packets received/dropped on interface 'vethA': 515/0 (...)": a lossy capture is no ground truth.
	grep -Eq "dropped on interface '[^']*': [0-9]+/0 " "$TMP/dumpcap.log" ||
		fail "the capture dropped packets: $(grep -i dropped "$TMP/dumpcap.log")"

	local n
	n=$(json_count "$TMP/pktlens.json")
	[ "$n" -ge 3 ] || fail "expected one JSON object per interval and a final one, got $n"
	json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON object in pktlens output"
	[ "$(json_get 'j["version"]' <"$TMP/final.json")" = 1 ] || fail "final object has no \"version\":1"

	tshark -n -r "$TMP/cap.pcapng" -Y '(tcp || udp) && !icmp && !icmpv6' -T fields -E separator=/t \
		-e frame.len -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport \
		-e udp.srcport -e udp.dstport -e tcp.len >"$TMP/fields.tsv" 2>"$TMP/tshark.err" ||
		fail "tshark could not read the capture: $(cat "$TMP/tshark.err")"
	log "capture: $(wc -l <"$TMP/fields.tsv") TCP/UDP frames of $(tshark -r "$TMP/cap.pcapng" 2>/dev/null | wc -l) total"

	if [[ ",$PROBES," == *,xdp,* ]]; then
		local hits
		hits=$(json_get '[p.get("run_cnt", 0) for p in j["probes"] if p.get("id") == "xdp:'"$IF_A"'"]' <"$TMP/final.json")
		log "xdp:$IF_A run_cnt: $hits"
		[[ "$hits" =~ \[[1-9][0-9]*\] ]] || fail "XDP probe never ran (run_cnt $hits)"
	fi
	"$PYTHON" "$TMP/compare.py" "$TMP/final.json" "$TMP/fields.tsv" "$TMP/client.json" \
		"$TMP/server.json" "$IF_A" "$ADDR_A" "$ADDR6_A" "$TCP_PORT" "$UDP_PORT" "$CLOSED_PORT" \
		"$UDP_CLOSED_SRC" "$TCP_REPLY" "$OFFLOADS" || fail "pktlens counts differ from the ground truth"
	log "PASS"
}

main "$@"
