#!/usr/bin/env bash
# ICMP flows on a veth: two echo sessions over IPv4 (flows keyed by their identifier), one over
# IPv6, and a port-unreachable error A sends back for a datagram to a closed port. Per flow, rx
# and tx packets and bytes equal a dumpcap capture of the same run (every IPv4 ICMP flow; the
# ICMPv6 echo flow, since neighbour discovery comes and goes on its own).
set -u
TEST_NAME=icmp_flows
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/capture.sh
. "$(dirname "$0")/../lib/capture.sh"

CLOSED_PORT=45996

require_root
require_cmd ip dumpcap tshark "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 245

capture_start "$NS_A" "$IF_A" "$TMP/cap.pcapng"
pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
pktlens_wait_attached "$TMP/pl.json" tc-egress "$IF_A" 5 || fail "tc-egress did not attach"

# echo sessions: icmp_ping's identifier is its pid, so each call is its own flow
ns_b_ping "$ADDR_A" 5 0.05 || fail "IPv4 echo session 1 failed"
ns_b_ping "$ADDR_A" 3 0.05 || fail "IPv4 echo session 2 failed"
ns_b_ping "$ADDR6_A" 4 0.05 || fail "IPv6 echo session failed"
ns_b "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x" * 30, (sys.argv[1], int(sys.argv[2])))
' "$ADDR_A" "$CLOSED_PORT"
lines=$(json_count "$TMP/pl.json")
wait_for 10 sh -c "[ \$(grep -c '^{' '$TMP/pl.json') -ge $((lines + 2)) ]" || fail "pktlens stopped printing"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
capture_stop
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"
tshark -n -r "$TMP/cap.pcapng" -Y "icmp || icmpv6" -T fields -E separator=/t \
	-e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e icmp.type -e icmp.ident -e icmpv6.type \
	-e icmpv6.echo.identifier -e frame.len >"$TMP/icmp.tsv" 2>"$TMP/tshark.err" ||
	fail "tshark could not read the capture: $(cat "$TMP/tshark.err")"

"$PYTHON" - "$TMP/last.json" "$TMP/icmp.tsv" "$ADDR_A" "$ADDR6_A" <<'PY' || fail "ICMP flows disagree with the capture"
import collections, json, sys
j = json.load(open(sys.argv[1]))
a4, a6 = sys.argv[3], sys.argv[4]
want = collections.defaultdict(lambda: [0, 0, 0, 0])  # rx pkts, rx bytes, tx pkts, tx bytes
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    # an ICMP error quotes the offending packet: tshark lists its addresses after the outer ones
    f = [x.split(",")[0] for x in f]
    v6 = not f[0]
    src, dst = (f[2], f[3]) if v6 else (f[0], f[1])
    typ = f[6] if v6 else f[4]
    ident = f[7] if v6 else f[5]
    echo = typ in (("128", "129") if v6 else ("0", "8"))
    if v6 and not echo:
        continue  # neighbour discovery and MLD
    # tshark prints the identifier in decimal (ICMP) or hex (ICMPv6)
    port = int(ident, 0) if echo and ident else 0
    local = a6 if v6 else a4
    rx = dst == local
    remote = src if rx else dst
    k = ("icmp6" if v6 else "icmp", remote, port)
    w = want[k]
    w[0 if rx else 2] += 1
    w[1 if rx else 3] += int(f[8])
got = {}
for fl in j["flows"]:
    if fl["proto"] == "icmp" or (fl["proto"] == "icmp6" and fl["local_port"]):
        got[(fl["proto"], fl["remote"], fl["local_port"])] = [fl["rx_packets"], fl["rx_bytes"], fl["tx_packets"], fl["tx_bytes"]]
ok = True
for k in sorted(set(want) | set(got)):
    w, g = want.get(k), got.get(k)
    print("%-6s %-16s id %5d  capture %s  pktlens %s%s" % (k + (w, g, "" if w == g else "   <-- wrong")), file=sys.stderr)
    ok = ok and w == g
kinds = collections.Counter(k[0] for k in want)
if kinds["icmp"] != 3 or kinds["icmp6"] != 1:
    print("the capture holds %s ICMP flows, the test made 2 echo sessions and an error over IPv4 and one echo session over IPv6" % dict(kinds), file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
PY
log "ok"
exit 0
