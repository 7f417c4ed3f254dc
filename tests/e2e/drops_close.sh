#!/usr/bin/env bash
# Queues freed when a socket goes away are "discarded at close" in pktlens --json, apart from
# the drops of the network path, against a dumpcap capture and nstat in the watched namespace A:
#   a server that closes first: the peer's FIN, queued on the closed socket, is freed with it
#     (QUEUE_PURGE at sk_stream_kill_queues) == FIN segments from the clients on the wire
#   a listener closed with connections it never accepted: their data is freed
#     (QUEUE_PURGE at tcp_disconnect) == data segments from those clients on the wire
#   UDP to a closed port: NO_SOCKET == nstat UdpNoPorts growth == drops.total, the top reason
set -u
TEST_NAME=${TEST_NAME:-drops_close}
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/e2e/_prog_misses.sh
. "$(dirname "$0")/_prog_misses.sh"

CLOSE_PORT=46040
BACKLOG_PORT=46041
CLOSED_PORT=46042
N_CLOSE=${DROPS_N_CLOSE:-20}
N_BACKLOG=${DROPS_N_BACKLOG:-8}
N_UDP=${DROPS_N_UDP_CLOSED:-15}

require_root
require_cmd ip nstat dumpcap tshark "$PYTHON"
require_pktlens

cleanup_init
make_tmpdir
netns_pair 224
# no IPv6 on the link: its multicast listener reports are drops of their own (ip6_mc_input)
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null || fail "cannot disable IPv6 in $ns"
done

cat >"$TMP/server.py" <<'PY'
# In A: on one port, accept each connection, send a line and close first; on the other, let
# connections queue with their data and close the listener without accepting them.
import os, socket, sys, time
addr, port1, n1, port2, n2, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    return s
l1, l2 = listener(port1), listener(port2)
open(os.path.join(d, "listening"), "w").close()
for i in range(n1):
    c, _ = l1.accept()
    # Closed, the socket waits in FIN_WAIT2 for the peer's FIN as a full socket, which queues
    # it. With the default fin timeout (60 s, not above TCP_TIMEWAIT_LEN) an ACK of our FIN
    # that comes alone (the peer's delayed ACK fired before it closed) turns the orphan into a
    # time-wait socket at once (tcp_rcv_state_process, FIN_WAIT1), and the FIN then freed in
    # tcp_v4_rcv is a drop (NOT_SPECIFIED): a clean-clone run saw 1 of 20 go that way.
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_LINGER2, 120)
    c.sendall(b"bye\n")
    c.close()
l1.close()
while not os.path.exists(os.path.join(d, "queued")):
    time.sleep(0.02)
l2.close()
open(os.path.join(d, "closed"), "w").close()
time.sleep(60)
PY

bg_start "$TMP/dumpcap.log" ip netns exec "$NS_A" dumpcap -q -i "$IF_A" -f "tcp or udp" \
	-w "$TMP/cap.pcapng"
cap_pid=$BG_PID
wait_for 10 grep -q "Capturing on" "$TMP/dumpcap.log" || fail "dumpcap did not start: $(cat "$TMP/dumpcap.log")"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 1
pktlens_wait_attached "$TMP/pl.json" tracepoint skb:kfree_skb 10 ||
	fail "skb:kfree_skb did not attach: $(cat "$TMP/pl.json.err")"

bg_start "$TMP/server.log" ip netns exec "$NS_A" "$PYTHON" "$TMP/server.py" "$ADDR_A" \
	"$CLOSE_PORT" "$N_CLOSE" "$BACKLOG_PORT" "$N_BACKLOG" "$TMP"
wait_for 5 test -e "$TMP/listening" || fail "the server did not start: $(cat "$TMP/server.log")"
udp0=$(ip netns exec "$NS_A" nstat -asz UdpNoPorts | awk '{ print $2 }')

ns_b "$PYTHON" - "$ADDR_A" "$CLOSE_PORT" "$N_CLOSE" "$BACKLOG_PORT" "$N_BACKLOG" "$CLOSED_PORT" \
	"$N_UDP" "$TMP" <<'PY' || fail "the clients failed"
import os, socket, sys, time
addr, p1, n1, p2, n2, p3, n3, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
# the server closes first; this side reads to the end, then closes (its FIN arrives last)
for i in range(n1):
    s = socket.create_connection((addr, p1), timeout=10)
    while s.recv(100):
        pass
    # a moment before closing: the ACK of the server's FIN goes alone, before this FIN (the
    # case the server's TCP_LINGER2 is for; without it every FIN here would be a drop)
    time.sleep(0.25)
    s.close()
# connections the server will never accept, each with 100 bytes it will never read
held = []
for i in range(n2):
    s = socket.create_connection((addr, p2), timeout=10)
    s.sendall(b"q" * 100)
    held.append(s)
time.sleep(0.3)  # every segment acknowledged: queued on the children
open(os.path.join(d, "queued"), "w").close()
deadline = time.time() + 10
while not os.path.exists(os.path.join(d, "closed")) and time.time() < deadline:
    time.sleep(0.02)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n3):
    u.sendto(b"u" * 20, (addr, p3))
    time.sleep(0.002)
time.sleep(0.3)
for s in held:
    s.close()
PY
wait_for 5 sh -c "[ \$(ip netns exec '$NS_A' nstat -asz UdpNoPorts | awk '{print \$2}') -ge $((udp0 + N_UDP)) ]"
udp1=$(ip netns exec "$NS_A" nstat -asz UdpNoPorts | awk '{ print $2 }')
sleep 1.5
misses=$(($(prog_misses "$PL_PID" raw_kfree_skb) + $(prog_misses "$PL_PID" tp_kfree_skb)))
pktlens_stop INT 30 || fail "pktlens did not stop on SIGINT"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"
kill -INT "$cap_pid" 2>/dev/null
wait_pid_exit "$cap_pid" 10 || fail "dumpcap did not stop"
grep -Eq "dropped on interface '[^']*': [0-9]+/0 " "$TMP/dumpcap.log" ||
	fail "the capture dropped packets: $(grep -i dropped "$TMP/dumpcap.log")"

fins=$(tshark -n -r "$TMP/cap.pcapng" -Y "ip.src == $ADDR_B && tcp.dstport == $CLOSE_PORT && tcp.flags.fin == 1" 2>/dev/null | wc -l)
data=$(tshark -n -r "$TMP/cap.pcapng" -Y "ip.src == $ADDR_B && tcp.dstport == $BACKLOG_PORT && tcp.len > 0" 2>/dev/null | wc -l)
log "wire: $fins FINs from the clients of the closing server, $data data segments to the" \
	"unaccepted connections; UdpNoPorts grew by $((udp1 - udp0))"
[ "$fins" -eq "$N_CLOSE" ] || fail "the capture has $fins FINs, not $N_CLOSE"
[ "$data" -eq "$N_BACKLOG" ] || fail "the capture has $data data segments, not $N_BACKLOG"

"$PYTHON" - "$TMP/last.json" "$fins" "$data" $((udp1 - udp0)) "$misses" "$CLOSE_PORT" \
	"$BACKLOG_PORT" <<'PY' || fail "pktlens does not keep close-time discards apart from drops"
import json, sys
j = json.load(open(sys.argv[1]))
fins, data, noports, misses, p1, p2 = (int(x) for x in sys.argv[2:8])
d = j["drops"]
# a pktlens without the section fails every check below, saying how
dc = d.get("discarded_at_close", {"total": 0, "by_reason": [], "by_location": [], "recent": []})
ok = True

def agrees(got, exp):
    if got == exp:
        return True
    if 0 < exp - got <= misses:
        print("  WARNING: %d short, explained by %d skipped run(s)" % (exp - got, misses),
              file=sys.stderr)
        return True
    return False

def loc(rows, fn):
    return sum(r["count"] for r in rows if r["function"].split("+")[0] == fn)

reasons = [(r["reason"], r["count"]) for r in d["by_reason"]]
print("  drops.total %d (UdpNoPorts %d), by_reason %s" % (d["total"], noports, reasons),
      file=sys.stderr)
print("  discarded_at_close %d: %s at %s" % (dc["total"], [(r["reason"], r["count"])
      for r in dc["by_reason"]], [(l["function"], l["count"]) for l in dc["by_location"]]),
      file=sys.stderr)
checks = [
    ("drops.total == UdpNoPorts", d["total"], noports),
    ("NO_SOCKET", sum(c for r, c in reasons if r == "NO_SOCKET"), noports),
    ("discarded_at_close.total", dc["total"], fins + data),
    ("QUEUE_PURGE", sum(r["count"] for r in dc["by_reason"] if r["reason"] == "QUEUE_PURGE"),
     fins + data),
    ("at sk_stream_kill_queues (peer FINs)", loc(dc["by_location"], "sk_stream_kill_queues"), fins),
    ("at tcp_disconnect (unaccepted data)", loc(dc["by_location"], "tcp_disconnect"), data),
]
for what, got, exp in checks:
    print("  %-38s expected %4d  pktlens %4d" % (what, exp, got), file=sys.stderr)
    ok = agrees(got, exp) and ok
if not reasons or reasons[0][0] != "NO_SOCKET":
    print("  the top reason is not NO_SOCKET", file=sys.stderr)
    ok = False
for name in ("QUEUE_PURGE", "SOCKET_CLOSE", "UNIX_DISCONNECT"):
    if any(r == name for r, _ in reasons):
        print("  %s is listed among the drops" % name, file=sys.stderr)
        ok = False
for fn in ("sk_stream_kill_queues", "tcp_disconnect"):
    if loc(d["by_location"], fn):
        print("  %s is listed among the drop locations" % fn, file=sys.stderr)
        ok = False
tcp = [f for f in j["flows"] if f["proto"] == "tcp" and f["local_port"] in (p1, p2)]
if sum(f["drops"] for f in tcp):
    print("  the TCP flows count drops: %s" % [(f["local_port"], f["drops"]) for f in tcp if f["drops"]],
          file=sys.stderr)
    ok = False
if not any(e["reason"] == "QUEUE_PURGE" and (":%d " % p1) in e["flow"] for e in dc["recent"]):
    print("  discarded_at_close.recent names no closed connection", file=sys.stderr)
    ok = False
if any(e["reason"] == "QUEUE_PURGE" for e in d["recent"]):
    print("  drops.recent lists discards", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
PY
log "ok"
exit 0
