#!/usr/bin/env bash
# The Drops pane's figures against the kernel's, once bounded traffic has stopped: NO_SOCKET ==
# UdpNoPorts' growth for datagrams to a closed port, QDISC_DROP == the drops `tc -s qdisc` counts
# for a tbf the test put on the interface, the per-interface rows their sum, the QDISC table ==
# `tc -s qdisc`, and the SOFTNET table == /proc/net/softnet_stat (each compared on a screen drawn
# between two equal readings of the kernel's, since both move on their own). (tests/tui/
# drops_pane.sh walks the pane with traffic that never stops.)
set -u
TEST_NAME=tui-drops-truth
. "$(dirname "$0")/lib.sh"

CLOSED_PORT=45995
SINK_PORT=45994
N_CLOSED=37
N_BURST=120

tui_require
require_cmd tc nstat
cleanup_init
make_tmpdir
netns_pair 253
ip netns exec "$NS_A" tc qdisc add dev "$IF_A" root handle 1: tbf rate 1mbit burst 1600 limit 3000 ||
	fail "cannot add a tbf qdisc to $IF_A"
bg_start "$TMP/sink.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    s.recv(65536)
' "$SINK_PORT"
wait_port "$NS_B" udp "$SINK_PORT"
no_ports() { ip netns exec "$NS_A" nstat -asz UdpNoPorts | awk '/^UdpNoPorts/ { print $2 }'; }

tui_start 150 50 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "1 Flows"
tui_wait_re "[0-9] Drops"
tab=$(tui_cap | grep -oE '[0-9] Drops' | head -1 | cut -c1)
tui_keys "$tab"
tui_wait "SOFTNET CPU"

np0=$(no_ports)
ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"d" * 32, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.002)
' "$ADDR_A" "$CLOSED_PORT" "$N_CLOSED" || fail "the closed-port sender failed"
ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"t" * 1000, (sys.argv[1], int(sys.argv[2])))
' "$ADDR_B" "$SINK_PORT" "$N_BURST" || fail "the burst failed"
closed=$(($(no_ports) - np0))
[ "$closed" = "$N_CLOSED" ] || fail "UdpNoPorts grew by $closed, the test sent $N_CLOSED"

ok=0
for try in 1 2 3 4 5 6 7 8; do
	ip netns exec "$NS_A" tc -s -j qdisc show dev "$IF_A" >"$TMP/tc0.json"
	cp /proc/net/softnet_stat "$TMP/sn0"
	sleep 1.2 # two refreshes: the screen is drawn from a snapshot taken after the first reading
	tui_cap >"$TMP/screen.txt"
	ip netns exec "$NS_A" tc -s -j qdisc show dev "$IF_A" >"$TMP/tc1.json"
	cp /proc/net/softnet_stat "$TMP/sn1"
	if "$PYTHON" - "$TMP/screen.txt" "$TMP/tc0.json" "$TMP/tc1.json" "$TMP/sn0" "$TMP/sn1" "$closed" "$IF_A" <<'PY'; then
import json, re, sys
screen = open(sys.argv[1]).read().splitlines()
tc0, tc1 = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
closed, ifc = int(sys.argv[6]), sys.argv[7]
def softnet(path):
    rows = {}
    for i, line in enumerate(open(path)):
        f = [int(x, 16) for x in line.split()]
        rows[f[12] if len(f) >= 13 else i] = (f[0], f[1], f[2], f[10])
    return rows
sn0, sn1 = softnet(sys.argv[4]), softnet(sys.argv[5])
key = lambda q: (q["kind"], "root" if q.get("root") else q.get("parent", ""))
row = lambda q: [q.get(k, 0) for k in ("packets", "drops", "overlimits", "requeues", "backlog", "qlen")]
if [row(q) for q in tc0] != [row(q) for q in tc1] or \
        any(sn0[c][1:] != sn1[c][1:] for c in sn0):
    print("the kernel's figures moved; again", file=sys.stderr)
    sys.exit(2)
bad = []
def num(s):
    m = re.fullmatch(r"([0-9.]+)([KMG]?)", s)
    return float(m.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[m.group(2)] if m else None
# reasons table: "NO_SOCKET   37   0  45.2%  ..."
reasons = {}
for l in screen:
    m = re.match(r"\s*([A-Z][A-Z0-9_]+)\s+([0-9.]+[KMG]?)\s+[0-9.]+[KMG]?\s+[0-9.]+%", l)
    if m:
        reasons[m.group(1)] = num(m.group(2))
tbf = [q for q in tc1 if q["kind"] == "tbf"][0]
print("reasons on screen %s; UdpNoPorts +%d, tbf drops %d" % (reasons, closed, tbf["drops"]), file=sys.stderr)
if reasons.get("NO_SOCKET") != closed:
    bad.append("NO_SOCKET %s, UdpNoPorts +%d" % (reasons.get("NO_SOCKET"), closed))
if reasons.get("QDISC_DROP") != tbf["drops"] or tbf["drops"] == 0:
    bad.append("QDISC_DROP %s, tc says %d" % (reasons.get("QDISC_DROP"), tbf["drops"]))
# the interface rows: "vethA udp 157" (left part of the line holding the QDISC table)
iface = {}
for l in screen:
    m = re.match(r"\s*" + re.escape(ifc) + r"\s+(\w+)\s+([0-9]+)(\s|$)", l)
    if m:
        iface[m.group(1)] = int(m.group(2))
if iface.get("udp") != closed + tbf["drops"]:
    bad.append("interface row udp %s, expected %d (closed port + tbf)" % (iface.get("udp"), closed + tbf["drops"]))
# the QDISC table: "vethA  tbf  root  75  297  301  0  0  0"
shown = {}
for l in screen:
    m = re.search(re.escape(ifc) + r"\s+(\w+)\s+(\S+)\s+([0-9.]+[KMG]?)\s+([0-9.]+[KMG]?)\s+([0-9.]+[KMG]?)\s+([0-9]+)\s+([0-9]+)\s+([0-9]+)\s*$", l)
    if m:
        shown[(m.group(1), m.group(2))] = [num(x) for x in m.groups()[2:]]
want = {key(q): row(q) for q in tc1}
if ("clsact", "ffff:fff1") in want:
    want[("clsact", "ingress")] = want.pop(("clsact", "ffff:fff1"))
for k in sorted(set(want) | set(shown)):
    print("qdisc %-8s %-8s tc %s screen %s" % (k + (want.get(k), shown.get(k))), file=sys.stderr)
    w, s = want.get(k), shown.get(k)
    # big counts print with one decimal and a unit: equal to that precision
    if not w or not s or any(abs(a - b) > (0.05 * 10 ** (len(str(int(a))) - 3) if a >= 1000 else 0) for a, b in zip(w, s)):
        bad.append("qdisc %s %s" % k)
# SOFTNET: "  0   2.4M   0   5   0"
soft = {}
in_soft = False
for l in screen:
    if "SOFTNET CPU" in l:
        in_soft = True
        continue
    m = re.match(r"\s*([0-9]+)\s+([0-9.]+[KMG]?)\s+([0-9]+)\s+([0-9]+)\s+([0-9]+)\s*$", l) if in_soft else None
    if m:
        soft[int(m.group(1))] = (num(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
    elif in_soft and soft:
        break
for c in sorted(sn1):
    s = soft.get(c)
    print("softnet cpu %d kernel %s..%s screen %s" % (c, sn0[c], sn1[c][0], s), file=sys.stderr)
    if not s or s[1:] != sn1[c][1:]:
        bad.append("softnet cpu %d" % c)
    # processed prints with one decimal and a unit
    elif not sn0[c][0] - 0.051 * max(1, s[0]) <= s[0] <= sn1[c][0] + 0.051 * max(1, s[0]):
        bad.append("softnet cpu %d processed" % c)
if set(soft) != set(sn1):
    bad.append("softnet cpus %s, the kernel has %s" % (sorted(soft), sorted(sn1)))
if bad:
    print("wrong: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
		ok=1
		break
	else
		[ $? = 2 ] || {
			cat "$TMP/screen.txt" >&2
			fail "the Drops pane disagrees with the kernel"
		}
	fi
done
[ "$ok" = 1 ] || fail "the kernel's figures never held still for a screen"
tui_quit
log "ok"
exit 0
