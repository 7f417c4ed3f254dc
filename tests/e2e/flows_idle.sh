#!/usr/bin/env bash
# --flows and --idle end to end. --flows 64: the kernel's flows map has 64 entries (bpftool), a
# burst of 200 one-datagram flows leaves at most 64 listed, each with its one datagram, and the
# newest survive. --idle 2: a flow that went quiet is listed while it has been idle less than
# 2 s and gone once idle more than 2 s (one refresh of slack each way) while a busy flow stays;
# sent to again, it comes back counting only the new datagrams. --idle 0 never forgets.
set -u
TEST_NAME=flows_idle
. "$(dirname "$0")/../lib/netns.sh"

PORT=5030

require_root
require_cmd ip bpftool "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 249

bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    s.recv(65536)
' "$PORT"
wait_port "$NS_A" udp "$PORT"

# send SPORT COUNT: COUNT datagrams from B's source port SPORT
send() {
	ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[3])))
for i in range(int(sys.argv[4])):
    s.sendto(b"i" * 40, (sys.argv[1], int(sys.argv[2])))
' "$ADDR_A" "$PORT" "$1" "$2" || fail "sending from port $1 failed"
}
next_snapshots() { # FILE N: wait until N more snapshots have been printed
	local lines
	lines=$(json_count "$1")
	wait_for 15 sh -c "[ \$(grep -c '^{' '$1') -ge $((lines + $2)) ]" || fail "pktlens stopped printing"
}

# ---- --flows 64 ----
pktlens_start "$TMP/cap.json" -n "$NS_A" -i "$IF_A" --flows 64 --json --interval 0.5
pktlens_wait_attached "$TMP/cap.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
# the kernel's own record of pktlens' map: its fds' map ids, named by bpftool
max=$(for id in $(sed -n 's/^map_id:\t*//p' /proc/"$PL_PID"/fdinfo/* 2>/dev/null | sort -u); do
	bpftool -j map show id "$id" 2>/dev/null
	echo
done | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        m = json.loads(line)
        if m.get("name") == "flows":
            print(m["max_entries"])
')
[ "$max" = 64 ] || fail "pktlens' flows map has max_entries '$max', --flows asked for 64"
ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys
for sport in range(42000, 42200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", sport))
    s.sendto(b"f" * 40, (sys.argv[1], int(sys.argv[2])))
    s.close()
' "$ADDR_A" "$PORT" || fail "the burst failed"
next_snapshots "$TMP/cap.json" 2
json_last "$TMP/cap.json" | "$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
port = int(sys.argv[1])
fl = [f for f in j["flows"] if f["proto"] == "udp" and f["local_port"] == port]
sports = sorted(f["remote_port"] for f in fl)
print("--flows 64: %d burst flows listed, ports %s..%s" % (len(fl), sports[0] if sports else "-", sports[-1] if sports else "-"), file=sys.stderr)
bad = []
if not 0 < len(fl) <= 64:
    bad.append("%d flows listed" % len(fl))
if any(f["rx_packets"] != 1 for f in fl):
    bad.append("a listed flow does not hold exactly its one datagram")
missing = [p for p in range(42190, 42200) if p not in sports]
if missing:
    bad.append("the newest flows are missing: %s" % missing)
if bad:
    sys.exit("--flows 64: " + "; ".join(bad))
' "$PORT" || fail "the flow table does not hold to --flows"
pktlens_stop INT 30 || fail "pktlens did not stop"

# ---- --idle 2 ----
pktlens_start "$TMP/idle.json" -n "$NS_A" -i "$IF_A" --idle 2 --json --interval 0.5
pktlens_wait_attached "$TMP/idle.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
send 43001 3
# the busy flow: one datagram every 0.2 s for 5 s
bg_start "$TMP/busy.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 43002))
for i in range(25):
    s.sendto(b"b" * 40, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.2)
' "$ADDR_A" "$PORT"
busy=$BG_PID
wait_pid_exit "$busy" 20 || fail "the busy sender did not finish"
send 43001 2
next_snapshots "$TMP/idle.json" 2
pktlens_stop INT 30 || fail "pktlens did not stop"
"$PYTHON" - "$TMP/idle.json" "$PORT" <<'PY' || fail "--idle 2 does not forget as it should"
import json, sys
port = int(sys.argv[2])
snaps = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
bad, seen_gone, last_quiet, came_back = [], False, None, None
for j in snaps:
    t = j["uptime_s"]
    fl = {f["remote_port"]: f for f in j["flows"] if f["proto"] == "udp" and f["local_port"] == port}
    q = fl.get(43001)
    if q and q["rx_packets"] == 3:
        last_quiet = q["last_seen"]
        if t - q["last_seen"] > 2 + 0.6:
            bad.append("t=%.2f: the quiet flow is listed %.2f s after its last datagram" % (t, t - q["last_seen"]))
    elif q is None and last_quiet is not None and came_back is None:
        seen_gone = True
        if t - last_quiet < 2 - 0.6:
            bad.append("t=%.2f: the quiet flow is gone %.2f s after its last datagram" % (t, t - last_quiet))
    elif q is not None and seen_gone:
        came_back = q["rx_packets"]
print("--idle 2: quiet flow last seen at %.2f, gone: %s, back with %s datagrams" % (last_quiet or -1, seen_gone, came_back), file=sys.stderr)
if not seen_gone:
    bad.append("the quiet flow was never forgotten")
if came_back != 2:
    bad.append("after being forgotten the flow came back with %s datagrams, 2 were sent" % came_back)
busy = [j for j in snaps if any(f["remote_port"] == 43002 for f in j["flows"])]
fin = busy[-1]["flows"] if busy else []
b = [f for f in fin if f["remote_port"] == 43002]
if not b or b[0]["rx_packets"] != 25:
    bad.append("the busy flow holds %s datagrams, 25 were sent" % (b[0]["rx_packets"] if b else None))
if bad:
    sys.exit("; ".join(bad))
PY

# ---- --idle 0: never ----
pktlens_start "$TMP/never.json" -n "$NS_A" -i "$IF_A" --idle 0 --json --interval 0.5
pktlens_wait_attached "$TMP/never.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
send 43003 3
sleep 3.5 # longer than the 2 s above; pktlens prints meanwhile
next_snapshots "$TMP/never.json" 1
pktlens_stop INT 30 || fail "pktlens did not stop"
json_last "$TMP/never.json" | json_get '[f["rx_packets"] for f in j["flows"] if f["remote_port"] == 43003]' |
	grep -qx '\[3\]' || fail "--idle 0 forgot a flow idle for 3.5 s"
log "ok"
exit 0
