#!/usr/bin/env bash
# The drops section's counters against the kernel's own: qdisc statistics (a tbf that drops, the
# clsact) against `tc -s qdisc`, softnet per CPU against /proc/net/softnet_stat, socket receive-
# queue overflows against the overflowing socket's drop count in /proc/net/icmp, and the drop
# places (function+offset from /proc/kallsyms) against ftrace's own symbolisation of
# skb:kfree_skb's location, with the counts of a closed-port burst against UdpNoPorts.
set -u
TEST_NAME=drops_stats
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/ftrace.sh
. "$(dirname "$0")/../lib/ftrace.sh"

CLOSED_PORT=45998
SINK_PORT=45997
N_CLOSED=40 # datagrams to a closed port
N_PING=60   # echo requests whose replies come to a ping socket that never reads
N_BURST=300 # 1000-byte datagrams through a 1 mbit/s tbf with room for three
# A third namespace's ping socket overflows too: under -n only A's count (the raw variants of
# sock:sock_rcvqueue_full and sock_exceed_buf_limit check the socket's namespace; with the
# classic ones, whose records hold no socket, the count was A's 57 + C's 27).

require_root
require_cmd ip tc nstat "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 241

# the kernel's own symbolisation of every drop place (%pS), and its reason names
ftrace_instance drops plain
# skb:kfree_skb records every namespace's drops: another test's flood or scan on the host fills
# 16 MiB per CPU within the run (an overrun fails the test), so this instance gets 64 MiB per CPU
echo 65536 >"$FTRACE_DIR/buffer_size_kb" || fail "cannot size the ftrace buffer"
ftrace_enable skb:kfree_skb

ip netns exec "$NS_A" tc qdisc add dev "$IF_A" root handle 1: tbf rate 1mbit burst 1600 limit 3000 ||
	fail "cannot add a tbf qdisc to $IF_A"

# A ping socket (ICMP datagram) in A that never reads, with the smallest receive buffer: echo
# replies beyond the first few overflow it. Its queueing goes through __sock_queue_rcv_skb, which
# fires sock:sock_rcvqueue_full and counts the socket's drops in /proc/net/icmp. (Raw sockets do
# not: on this kernel raw_v4_input checks the buffer itself before cloning, with no tracepoint.)
ip netns exec "$NS_A" sysctl -qw net.ipv4.ping_group_range="0 0" || fail "cannot allow ping sockets"
bg_start "$TMP/ping.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
open(sys.argv[3] + ".ready", "w").close()
while not __import__("os").path.exists(sys.argv[3] + ".go"):
    time.sleep(0.05)
for i in range(int(sys.argv[2])):
    s.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, i) + b"p" * 16, (sys.argv[1], 0))
    time.sleep(0.005)
open(sys.argv[3] + ".done", "w").close()
time.sleep(600)
' "$ADDR_B" "$N_PING" "$TMP/ping"
wait_for 10 test -e "$TMP/ping.ready" || fail "the ping socket did not open"
bg_start "$TMP/sink.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    s.recv(65536)
' "$SINK_PORT"
wait_port "$NS_B" udp "$SINK_PORT"

icmp_drops() {
	# /proc/net/icmp: "sl local_address ... inode ref pointer drops", one line per ping socket
	ip netns exec "$NS_A" awk 'NR > 1 { s += $NF } END { print s + 0 }' /proc/net/icmp
}
in_echo_reps() {
	ip netns exec "$NS_A" nstat -asz IcmpInEchoReps | awk '/^IcmpInEchoReps/ { print $2 }'
}
no_ports() {
	ip netns exec "$NS_A" nstat -asz UdpNoPorts | awk '/^UdpNoPorts/ { print $2 }'
}

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tracepoint skb:kfree_skb 20 ||
	fail "skb:kfree_skb did not attach: $(cat "$TMP/pl.json.err")"
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:sock_rcvqueue_full 5 ||
	fail "sock:sock_rcvqueue_full did not attach"
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 5 || fail "tc-ingress did not attach"

np0=$(no_ports)
rd0=$(icmp_drops)
er0=$(in_echo_reps)
ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"c" * 20, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.002)
' "$ADDR_A" "$CLOSED_PORT" "$N_CLOSED" || fail "the closed-port sender failed"
touch "$TMP/ping.go"
wait_for 10 test -e "$TMP/ping.done" || fail "the ping socket did not send"
# through the tbf: a burst much larger than its 3000-byte queue
ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"t" * 1000, (sys.argv[1], int(sys.argv[2])))
' "$ADDR_B" "$SINK_PORT" "$N_BURST" || fail "the burst sender failed"
# the same overflow in a namespace pktlens does not watch (-n A): not A's drops
netns_new c
NS_C=$NS_LAST
ip netns exec "$NS_C" sysctl -qw net.ipv4.ping_group_range="0 0" || fail "cannot allow ping sockets"
foreign=$(ip netns exec "$NS_C" "$PYTHON" -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
for i in range(30):
    s.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, i) + b"f" * 16, ("127.0.0.1", 0))
time.sleep(0.2)
print(sum(int(l.split()[-1]) for l in open("/proc/net/icmp").readlines()[1:]))
') || fail "the foreign ping socket failed"
[ "$foreign" -gt 0 ] || fail "the foreign ping socket did not overflow"
closed=$(($(no_ports) - np0))
# every reply has come in (counted by icmp_rcv just before it hands the reply to the socket)
replies_in() { [ "$(($(in_echo_reps) - er0))" -ge "$N_PING" ]; }
wait_for 10 replies_in || fail "A received $(($(in_echo_reps) - er0)) of $N_PING echo replies"
overflow=$(($(icmp_drops) - rd0))
log "kernel: UdpNoPorts +$closed, ping socket drops +$overflow"
[ "$closed" = "$N_CLOSED" ] || fail "UdpNoPorts grew by $closed, the test sent $N_CLOSED"
[ "$overflow" -gt 0 ] || fail "the ping socket did not overflow"

# queue and softnet figures move on their own (other traffic, the tbf draining): compare a
# snapshot taken between two equal readings of the kernel's
tc_json() { ip netns exec "$NS_A" tc -s -j qdisc show dev "$IF_A"; }
snap_after() {
	# the newest JSON line printed after the file had $1 lines
	[ "$(json_count "$TMP/pl.json")" -ge $(($1 + 2)) ]
}
ok=0
for try in 1 2 3 4 5 6 7 8; do
	tc_json >"$TMP/tc0.json"
	cp /proc/net/softnet_stat "$TMP/sn0"
	n=$(json_count "$TMP/pl.json")
	wait_for 10 snap_after "$n" || fail "pktlens stopped printing snapshots"
	json_last "$TMP/pl.json" >"$TMP/snap.json"
	tc_json >"$TMP/tc1.json"
	cp /proc/net/softnet_stat "$TMP/sn1"
	if "$PYTHON" - "$TMP/snap.json" "$TMP/tc0.json" "$TMP/tc1.json" "$TMP/sn0" "$TMP/sn1" "$try" <<'PY'; then
import json, sys
snap = json.load(open(sys.argv[1]))["drops"]
tc0, tc1 = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
final = sys.argv[6] == "8"
def softnet(path):
    rows = {}
    for i, line in enumerate(open(path)):
        f = [int(x, 16) for x in line.split()]
        # columns: processed dropped time_squeeze 0*5 cpu_collision received_rps flow_limit
        # backlog cpu (the last two on 5.10+; without them the row number is the cpu)
        cpu = f[12] if len(f) >= 13 else i
        rows[cpu] = {"processed": f[0], "dropped": f[1], "time_squeeze": f[2], "flow_limit": f[10]}
    return rows
sn0, sn1 = softnet(sys.argv[4]), softnet(sys.argv[5])
def qkey(q):
    return (q["kind"], "root" if q.get("root") else q.get("parent", ""))
def qrow(q):
    return {k: q.get(k, 0) for k in ("packets", "bytes", "drops", "overlimits", "requeues", "backlog", "qlen")}
stable_q = [qrow(q) for q in tc0] == [qrow(q) for q in tc1]
stable_s = all(sn0[c][k] == sn1[c][k] for c in sn0 for k in ("dropped", "time_squeeze", "flow_limit"))
if not (stable_q and stable_s):
    print("the kernel's figures moved during the snapshot; again", file=sys.stderr)
    sys.exit(2)
bad = []
want = {qkey(q): qrow(q) for q in tc1}
got = {}
for q in snap["queues"]:
    parent = q["parent"]
    got[(q["kind"], "root" if parent == "root" else parent)] = {k: q[k] for k in qrow({})}
for k in sorted(set(want) | set(got)):
    print("qdisc %-8s %-8s tc %s\n                   pktlens %s" % (k + (want.get(k), got.get(k))), file=sys.stderr)
# tc names the clsact's parent ffff:fff1; pktlens the hook, "ingress"
if ("clsact", "ingress") in got and ("clsact", "ffff:fff1") in want:
    got[("clsact", "ffff:fff1")] = got.pop(("clsact", "ingress"))
if want != got:
    bad.append("qdisc statistics")
tbf = want.get(("tbf", "root"), {})
if not (tbf.get("drops", 0) > 0 and tbf.get("overlimits", 0) > 0):
    bad.append("the tbf dropped nothing: no test of its counters")
rows = {r["cpu"]: r for r in snap["softnet"]}
for c in sorted(sn1):
    r = rows.get(c)
    print("softnet cpu %d  kernel %s..%s  pktlens %s" % (c, sn0[c], sn1[c]["processed"], r), file=sys.stderr)
    if not r or any(r[k] != sn1[c][k] for k in ("dropped", "time_squeeze", "flow_limit")) \
            or not sn0[c]["processed"] <= r["processed"] <= sn1[c]["processed"]:
        bad.append("softnet cpu %d" % c)
if set(rows) != set(sn1):
    bad.append("softnet cpus %s, the kernel has %s" % (sorted(rows), sorted(sn1)))
if bad:
    print("wrong: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
		ok=1
		break
	else
		[ $? = 2 ] || fail "queue or softnet statistics disagree with the kernel"
	fi
done
[ "$ok" = 1 ] || fail "the kernel's queue and softnet figures never held still for a snapshot"

pktlens_stop INT 30 || fail "pktlens did not stop on SIGINT"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"
ftrace_stop
[ "$(ftrace_lost)" = 0 ] || fail "the ftrace buffer overran: its record is incomplete"

"$PYTHON" - "$TMP/last.json" "$FTRACE_DIR/trace" "$closed" "$overflow" "$TMP/tc1.json" <<'PY' ||
import collections, json, re, sys
d = json.load(open(sys.argv[1]))["drops"]
closed, overflow = int(sys.argv[3]), int(sys.argv[4])
bad = []
def check(what, got, exp):
    print("  %-44s expected %5s   pktlens %5s" % (what, exp, got), file=sys.stderr)
    if got != exp:
        bad.append(what)
# ftrace: "... kfree_skb: skbaddr=... rx_sk=... protocol=2048 location=__udp4_lib_rcv+0x4bc/0x..
# reason: NO_SOCKET" (every namespace's drops: a superset of ours)
kernel = collections.Counter()
sizes = {}
for line in open(sys.argv[2]):
    m = re.search(r"location=([^ /]+)/(0x[0-9a-f]+) reason: (\w+)", line)
    if m:
        kernel[(m.group(3), m.group(1))] += 1
        sizes[m.group(1)] = m.group(2)
reasons = {r["reason"]: r["count"] for r in d["by_reason"]}
check("drops.rcvqueue_full (A's ping socket drops)", d["rcvqueue_full"], overflow)
check("NO_SOCKET (UdpNoPorts)", reasons.get("NO_SOCKET", 0), closed)
check("SOCKET_RCVBUFF (ping socket drops)", reasons.get("SOCKET_RCVBUFF", 0), overflow)
# every place pktlens names is one the kernel names for a drop of that kind, function and offset
places = {l["function"]: l["count"] for l in d["by_location"]}
seen = collections.Counter()
for (reason, loc), n in kernel.items():
    seen[loc] += n
for loc, n in sorted(places.items()):
    print("  place %-36s pktlens %4d  ftrace %4d  (size %s)" % (loc, n, seen[loc], sizes.get(loc, "?")), file=sys.stderr)
    if seen[loc] < n:
        bad.append("place %s: %d in pktlens, the kernel dropped %d there" % (loc, n, seen[loc]))
tbf = [q for q in json.load(open(sys.argv[5])) if q["kind"] == "tbf"]
check("QDISC_DROP (the tbf's drops, tc -s)", reasons.get("QDISC_DROP", 0), tbf[0]["drops"] if tbf else -1)
udp = [loc for (reason, loc) in kernel if reason == "NO_SOCKET" and loc.startswith("__udp4_lib_rcv+")]
if len(udp) != 1:
    bad.append("ftrace's UDP NO_SOCKET places: %s" % udp)
else:
    check("drops at %s" % udp[0], places.get(udp[0], 0), closed)
if bad:
    sys.exit("wrong: " + "; ".join(bad))
PY
	fail "the drop counters disagree with the kernel's"
log "ok"
exit 0
