#!/usr/bin/env bash
# 100,000 real UDP flows through a veth (one datagram from each of 50,000 source ports of two
# addresses, to one socket), then 1,000 of them again: with --flows 262144 nothing is evicted,
# every flow is counted exactly (created, in the table, totals, listed + left out), the 1,000
# that sent again are the ones --json-flows 1000 lists (the most bytes), found through the
# queue of changed flows without reading the table again, and all 100,000 rows, the 99,000
# kept from earlier snapshots as much as the rebuilt ones, count in the receiving process's
# row. Correctness only: what this costs is measured by make bench and the issue 18 report.
set -u
TEST_NAME=flows_100k
. "$(dirname "$0")/../lib/netns.sh"

PER_ADDR=50000
AGAIN=1000
SINK_PORT=47002
FIRST_PORT=10000
PAYLOAD=10 # frames of 14 + 20 + 8 + 10 = 52 bytes

require_root
require_pktlens
require_cmd ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 232
ADDR_B2=10.232.0.3
ip -n "$NS_B" addr add "$ADDR_B2/24" dev "$IF_B" || fail "cannot add $ADDR_B2"
# no IPv6 on the pair from here on: no neighbour discovery flows, every flow is the sender's
ns_a sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "net.ipv6.conf.$IF_A.disable_ipv6=1" ||
	fail "cannot turn IPv6 off in $NS_A"
ns_b sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "net.ipv6.conf.$IF_B.disable_ipv6=1" ||
	fail "cannot turn IPv6 off in $NS_B"

bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((sys.argv[1], int(sys.argv[2])))
open(sys.argv[3], "w").close()
while True:
    s.recv(65536)
' "$ADDR_A" "$SINK_PORT" "$TMP/sink.ready"
wait_for 10 test -e "$TMP/sink.ready" || fail "the sink did not start"

# send OUT COUNT ADDR...: one datagram from each of COUNT source ports of each address
send() {
	local out=$1 count=$2
	shift 2
	ip netns exec "$NS_B" "$PYTHON" - "$ADDR_A" "$SINK_PORT" "$FIRST_PORT" "$count" "$PAYLOAD" \
		"$@" >"$out" <<'EOF' || fail "the sender failed"
import json, socket, sys
dst, port, first, count, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sent = 0
for src in sys.argv[6:]:
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, first + i))
        s.sendto(b"h" * payload, (dst, port))
        s.close()
        sent += 1
json.dump({"sent": sent}, sys.stdout)
EOF
}

# after LINES: wait until pktlens printed that many more lines
after() {
	local lines
	lines=$(json_count "$TMP/pl.json")
	wait_for 60 sh -c "[ \$(grep -c '^{' '$TMP/pl.json') -ge $((lines + $1)) ]" ||
		fail "pktlens stopped printing"
}

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --flows 262144 --json --json-flows "$AGAIN" \
	--interval 1
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 30 || fail "tc-ingress did not attach"
send "$TMP/first.json" "$PER_ADDR" "$ADDR_B" "$ADDR_B2"
log "first: $(cat "$TMP/first.json")"
after 3
cp "$TMP/pl.json" "$TMP/before.json"
send "$TMP/again.json" "$AGAIN" "$ADDR_B"
log "again: $(cat "$TMP/again.json")"
after 3
pktlens_stop INT 60 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"

"$PYTHON" - "$TMP" "$PER_ADDR" "$AGAIN" "$ADDR_B" "$FIRST_PORT" "$((14 + 20 + 8 + PAYLOAD))" \
	<<'EOF' || fail "100,000 flows were not counted exactly"
import json, sys
tmp, per_addr, again, addr_b, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
frame = int(sys.argv[6])
n = 2 * per_addr
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, file=sys.stderr)
    if not ok:
        bad.append(what)
def last(f):
    j = None
    for l in open(f):
        try:
            j = json.loads(l)
        except ValueError:
            pass
    return j
check(json.load(open(tmp + "/first.json"))["sent"] == n, "the sender sent %d" % n)
check(json.load(open(tmp + "/again.json"))["sent"] == again, "then %d again" % again)
b, j = last(tmp + "/before.json"), last(tmp + "/pl.json")
ft, tot, left = j["stats"]["flow_table"], j["totals"], j["flows_left_out"]
print("table %s\ntotals rx %d/%d, listed %d, left out %s" % (ft, tot["rx_packets"], tot["rx_bytes"],
      len(j["flows"]), left), file=sys.stderr)
check(ft["created"] == n and ft["flows"] == n, "created %d, in the table %d == %d" % (ft["created"], ft["flows"], n))
check(ft["evicted"] == 0 and ft["aged_out"] == 0 and ft["insert_failed"] == 0 and ft["not_shown"] == 0,
      "nothing evicted, aged, refused or left out for memory")
check(tot["rx_packets"] == n + again and tot["rx_bytes"] == (n + again) * frame,
      "totals rx %d packets %d bytes == %d, %d" % (tot["rx_packets"], tot["rx_bytes"], n + again, (n + again) * frame))
rows = j["flows"]
check(len(rows) == again and left["count"] == n - again, "%d listed, %d left out" % (len(rows), left["count"]))
ports = sorted(f["remote_port"] for f in rows if f["remote"] == addr_b)
check(ports == list(range(first, first + again)), "the listed flows are the %d that sent again" % again)
check(all(f["rx_packets"] == 2 and f["rx_bytes"] == 2 * frame for f in rows), "each with its two datagrams")
check(left["rx_packets"] == n - again and left["rx_bytes"] == (n - again) * frame,
      "the flows left out hold %d datagrams (%d)" % (n - again, left["rx_packets"]))
fb = b["stats"]["flow_table"]
check(ft["full_reads"] == fb["full_reads"] and ft["changed_reads"] > fb["changed_reads"],
      "the second %d came through the queue of changed flows (whole readings %d then %d)"
      % (again, fb["full_reads"], ft["full_reads"]))
pa = j["process_attribution"]
check(pa["flows"] == n and pa["attributed"] == n, "process attribution: %d of %d flows" % (pa["attributed"], pa["flows"]))
sink = [p for p in j["processes"] if p["flows"]]
check(len(sink) == 1 and sink[0]["flows"] == n, "all %d flows in the receiving process's row: %s"
      % (n, [(p["pid"], p["comm"], p["flows"]) for p in sink]))
if bad:
    sys.exit("; ".join(bad))
EOF
log "ok"
exit 0
