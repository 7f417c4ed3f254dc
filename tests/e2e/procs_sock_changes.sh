#!/usr/bin/env bash
# A socket's peer and state as pktlens shows them follow the socket through its life, as ss does.
#
# The per-call tracepoint program reads a socket's addresses only when its state or peer port
# changed (not on every send and receive). One process in namespace A: a UDP socket that sends
# unconnected, then connects to one port of B, then re-connects to another; a TCP connection
# whose peer closes while data is still queued, so that the process's last reads happen in
# CLOSE_WAIT. At each step pktlens' socket row (JSON processes[].socks) must name the peer and
# state (TCP) that `ss` shows for the same socket at that moment, and carry the bytes the process
# sent and read.
set -u
TEST_NAME=procs_sock_changes
. "$(dirname "$0")/../lib/netns.sh"

require_root
require_cmd ip ss "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 218

cat >"$TMP/peer.py" <<'EOF'
# In B: UDP sinks on three ports; a TCP server that sends 3000 bytes, reads 10 and closes.
import socket, sys, threading
addr = sys.argv[1]
for port in (47001, 47002, 47003):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, port))
    threading.Thread(target=lambda s=u: [s.recv(65535) for _ in iter(int, 1)], daemon=True).start()
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, 47010))
t.listen(4)
open(sys.argv[2], "w").close()
while True:
    c, _ = t.accept()
    c.sendall(b"z" * 3000)
    c.recv(10)  # unread data at close would make it a reset, not a FIN
    c.close()
EOF

cat >"$TMP/client.py" <<'EOF'
# In A: each step, then a line "STEP n" on stdout and a wait for the test's "go" on stdin.
import socket, sys, time
b = sys.argv[1]
def step(n, extra=""):
    print("STEP %d %s" % (n, extra), flush=True)
    sys.stdin.readline()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"a" * 100, (b, 47001))
step(1, u.getsockname()[1])
u.connect((b, 47002))
u.send(b"b" * 200)
step(2, u.getsockname()[1])
u.connect((b, 47003))
u.send(b"c" * 300)
step(3, u.getsockname()[1])
t = socket.create_connection((b, 47010))
t.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
t.send(b"d" * 10)
time.sleep(0.5)  # the peer's data and FIN are queued: the socket is in CLOSE_WAIT
got = t.recv(1000)
step(4, "%d %d" % (t.getsockname()[1], len(got)))
rest = 0
while True:
    d = t.recv(1000)
    if not d:
        break
    rest += len(d)
step(5, "%d %d" % (t.getsockname()[1], rest))
EOF

bg_start "$TMP/peer.log" ip netns exec "$NS_B" "$PYTHON" "$TMP/peer.py" "$ADDR_B" "$TMP/peer.ready"
wait_for 10 test -e "$TMP/peer.ready" || fail "peer did not start: $(cat "$TMP/peer.log")"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5 --duration 120
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:sock_send_length 30 ||
	fail "pktlens did not attach: $(head -c 300 "$TMP/pl.json.err")"

mkfifo "$TMP/go"
ip netns exec "$NS_A" "$PYTHON" -u "$TMP/client.py" "$ADDR_B" <"$TMP/go" >"$TMP/client.out" 2>&1 &
CLIENT=$!
cleanup_add_pid "$CLIENT"
exec 7>"$TMP/go"

# sock_row PORT PROTO: pktlens' row for the client's socket on local port PORT, as
# "remote:port state tx_bytes rx_bytes" from the newest JSON line that has it.
sock_row() {
	"$PYTHON" - "$TMP/pl.json" "$CLIENT" "$1" "$2" <<'EOF'
import json, sys
path, pid, port, proto = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
row = None
for line in open(path):
    if not line.startswith("{"):
        continue
    try:
        j = json.loads(line)
    except ValueError:
        continue
    for p in j.get("processes", []):
        if p["pid"] != pid:
            continue
        for s in p.get("socks", []):
            if s["local_port"] == port and s["proto"] == proto:
                row = "%s:%d %s %d %d" % (s["remote"], s["remote_port"], s["state"] or "-",
                                          s["tx_bytes"], s["rx_bytes"])
if row is None:
    sys.exit(1)
print(row)
EOF
}

# ss_row PORT PROTO: "remote:port STATE" of the socket on local port PORT, as ss shows it.
ss_row() {
	local flag=-u
	[ "$2" = tcp ] && flag=-t
	# pktlens names TCP states only (as the kernel's enum does); a UDP row has none
	ns_a ss -Hna "$flag" "sport = :$1" | awk -v tcp="$2" '{ st = $1; p = $5;
		if (p == "0.0.0.0:*") p = "0.0.0.0:0"
		st = st == "ESTAB" ? "ESTABLISHED" : st == "CLOSE-WAIT" ? "CLOSE_WAIT" : st
		print p, (tcp == "tcp" ? st : "-") }'
}

# expect STEP PROTO TX RX: wait for the client's step, then for pktlens' row to agree with ss.
expect() {
	local n=$1 proto=$2 tx=$3 rx=$4 line port want got
	wait_for 20 grep -q "^STEP $n " "$TMP/client.out" || fail "client did not reach step $n: $(cat "$TMP/client.out")"
	line=$(grep "^STEP $n " "$TMP/client.out")
	port=$(awk '{ print $3 }' <<<"$line")
	want="$(ss_row "$port" "$proto") $tx $rx"
	[ -n "$want" ] || fail "step $n: ss shows no $proto socket on port $port"
	if ! wait_for 15 eval '[ "$(sock_row "$port" "$proto")" = "$want" ]'; then
		got=$(sock_row "$port" "$proto")
		fail "step $n: pktlens shows '$got' for $proto port $port, ss and the client: '$want'"
	fi
	log "step $n ok: $proto :$port $want"
	echo go >&7
}

expect 1 udp 100 0
expect 2 udp 300 0
expect 3 udp 600 0
# TCP: 10 bytes sent; the reads that follow count what they returned
line4=$(wait_for 20 grep -q "^STEP 4 " "$TMP/client.out"; grep "^STEP 4 " "$TMP/client.out")
got4=$(awk '{ print $4 }' <<<"$line4")
expect 4 tcp 10 "$got4"
wait_for 20 grep -q "^STEP 5 " "$TMP/client.out" || fail "client did not finish"
rest=$(awk '/^STEP 5 / { print $4 }' "$TMP/client.out")
[ $((got4 + rest)) -eq 3000 ] || fail "client read $((got4 + rest)) bytes, the peer sent 3000"
expect 5 tcp 10 3000
exec 7>&-
log "ok: UDP unconnected -> connected -> re-connected and TCP into CLOSE_WAIT, as ss shows them"
exit 0
