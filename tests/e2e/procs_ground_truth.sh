#!/usr/bin/env bash
# Per-process socket usage: pktlens' per-process rx/tx and each flow's pid must equal what the processes counted.
#
# Namespace A holds the processes pktlens watches (-n A): two clients (IPv4 and IPv6, each TCP
# and UDP), a short-lived client (~50 ms), a process started before pktlens that never reads
# (attributable only from /proc) and one connected before pktlens that sends afterwards (known
# to both the /proc scan and the tracepoints: counted once). Namespace B holds the server and
# the old process's peer.
set -u
TEST_NAME=${TEST_NAME:-procs_ground_truth}
. "$(dirname "$0")/../lib/netns.sh"

TCP_PORT=46001
UDP_PORT=46002
OLD_TCP=46003
OLD_UDP=46004
HTTP_PORT=46005
ECHO_PORT=46006

require_root
require_cmd ip "$PYTHON" curl
require_pktlens
cleanup_init
make_tmpdir
netns_pair 203

cat >"$TMP/server.py" <<'EOF'
# Server in B: TCP replies 2n+7 bytes after reading n bytes to EOF; UDP answers each datagram
# with one 3 bytes longer; the echo port sends back what it reads.
import socket, sys, threading
a4, a6, tport, uport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
eport = int(sys.argv[6])

def tcp_conn(c):
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.sendall(b"r" * (2 * n + 7))
    c.close()

def serve(fam, addr, port, conn):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()

def tcp(fam, addr):
    serve(fam, addr, tport, tcp_conn)

def udp(fam, addr):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, uport))
    while True:
        d, peer = s.recvfrom(65535)
        s.sendto(d + b"xyz", peer)

def echo_conn(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()

def echo():
    serve(socket.AF_INET, a4, eport, echo_conn)

ts = [threading.Thread(target=f, args=a, daemon=True)
      for f in (tcp, udp) for a in ((socket.AF_INET, a4), (socket.AF_INET6, a6))]
ts.append(threading.Thread(target=echo, daemon=True))
for t in ts:
    t.start()
open(sys.argv[5], "w").close()
for t in ts:
    t.join()
EOF

cat >"$TMP/client.py" <<'EOF'
# Client in A: one TCP exchange and some UDP datagrams (unconnected, sendto); counts every byte
# its own send/recv calls returned and writes the counts with its pid and local ports.
import json, os, socket, sys, time
t_start = time.monotonic()
srv, tport, uport, tcp_bytes, udp_n, udp_size, out = sys.argv[1:8]
tport, uport, tcp_bytes, udp_n, udp_size = map(int, (tport, uport, tcp_bytes, udp_n, udp_size))
fam = socket.AF_INET6 if ":" in srv else socket.AF_INET
tx = rx = 0
t = socket.socket(fam, socket.SOCK_STREAM)
t.connect((srv, tport))
tlport = t.getsockname()[1]
data = b"q" * tcp_bytes
while data:
    n = t.send(data)
    tx += n
    data = data[n:]
t.shutdown(socket.SHUT_WR)
while True:
    d = t.recv(65536)
    if not d:
        break
    rx += len(d)
t.close()
u = socket.socket(fam, socket.SOCK_DGRAM)
u.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
ulport = u.getsockname()[1]
u.settimeout(2)
for i in range(udp_n):
    tx += u.sendto(b"u" * udp_size, (srv, uport))
    d, _ = u.recvfrom(65536)
    rx += len(d)
with open(out + ".tmp", "w") as f:
    json.dump({"pid": os.getpid(), "tx": tx, "rx": rx, "tcp_port": tlport, "udp_port": ulport,
               "ms": round((time.monotonic() - t_start) * 1000, 1)}, f)
os.replace(out + ".tmp", out)
# stay a moment so that pktlens sees it alive too (the short-lived client passes 0)
time.sleep(float(sys.argv[8]))
EOF

cat >"$TMP/chat.py" <<'EOF'
# Client in A: many small exchanges on one established TCP connection, from one thread, then
# another, then the first again; counts every byte its send/recv calls returned.
import json, os, socket, sys, threading
srv, port, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = socket.create_connection((srv, port))
tot = {"tx": 0, "rx": 0}

def chat(k0):
    for i in range(k0, k0 + n):
        m = b"m" * (1 + (i * 37) % 1400)
        tot["tx"] += c.send(m)
        got = 0
        while got < len(m):
            got += len(c.recv(len(m) - got))
        tot["rx"] += got

chat(0)
t = threading.Thread(target=chat, args=(n,))
t.start()
t.join()
chat(2 * n)
with open(out + ".tmp", "w") as f:
    json.dump({"pid": os.getpid(), "tx": tot["tx"], "rx": tot["rx"]}, f)
os.replace(out + ".tmp", out)
c.close()
EOF

cat >"$TMP/old.py" <<'EOF'
# Started before pktlens in A: a TCP listener that accepts one connection and a UDP socket,
# then never reads, so no socket tracepoint ever fires for it: only /proc can attribute it.
import os, socket, sys, time
addr, tport, uport, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, tport))
l.listen(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, uport))
open(out + ".listening", "w").close()
c, _ = l.accept()
with open(out, "w") as f:
    f.write(str(os.getpid()))
time.sleep(600)
EOF

cat >"$TMP/pre.py" <<'EOF'
# Connected before pktlens starts; once told, sends n bytes, reads the reply to EOF, writes its
# counts, and keeps the socket open.
import json, os, socket, sys, time
addr, port, n, go, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
c = socket.create_connection((addr, port))
open(out + ".connected", "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
c.sendall(b"e" * n)
c.shutdown(socket.SHUT_WR)
rx = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    rx += len(d)
with open(out + ".tmp", "w") as f:
    json.dump({"pid": os.getpid(), "tx": n, "rx": rx}, f)
os.replace(out + ".tmp", out)
time.sleep(600)
EOF

cat >"$TMP/peer.py" <<'EOF'
# Peer of the old process, in B: connects before pktlens starts, sends once told to.
import os, socket, sys, time
addr, tport, uport, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = socket.create_connection((addr, tport))
while not os.path.exists(go):
    time.sleep(0.05)
c.sendall(b"p" * 1000)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    u.sendto(b"d" * 100, (addr, uport))
    time.sleep(0.02)
time.sleep(600)
EOF

# a plain HTTP/1.0 server for curl: the response is headers + body, nothing else on the socket
mkdir "$TMP/www"
head -c 54321 /dev/zero >"$TMP/www/f"
bg_start "$TMP/http.log" ip netns exec "$NS_B" "$PYTHON" -m http.server -b "$ADDR_B" -d "$TMP/www" \
	"$HTTP_PORT"
bg_start "$TMP/server.log" ip netns exec "$NS_B" "$PYTHON" "$TMP/server.py" "$ADDR_B" "$ADDR6_B" \
	"$TCP_PORT" "$UDP_PORT" "$TMP/server.ready" "$ECHO_PORT"
wait_for 5 test -e "$TMP/server.ready" || fail "server did not start: $(cat "$TMP/server.log")"

# the process that predates pktlens, with its connection already accepted
bg_start "$TMP/old.log" ip netns exec "$NS_A" "$PYTHON" "$TMP/old.py" "$ADDR_A" "$OLD_TCP" "$OLD_UDP" \
	"$TMP/old.pid"
wait_for 5 test -e "$TMP/old.pid.listening" || fail "old process did not start: $(cat "$TMP/old.log")"
bg_start "$TMP/peer.log" ip netns exec "$NS_B" "$PYTHON" "$TMP/peer.py" "$ADDR_A" "$OLD_TCP" "$OLD_UDP" \
	"$TMP/peer.go"
wait_for 5 test -s "$TMP/old.pid" || fail "old process did not accept: $(cat "$TMP/old.log")"
bg_start "$TMP/pre.log" ip netns exec "$NS_A" "$PYTHON" "$TMP/pre.py" "$ADDR_B" "$TCP_PORT" 7777 \
	"$TMP/peer.go" "$TMP/pre.json"
wait_for 5 test -e "$TMP/pre.json.connected" || fail "pre process did not connect: $(cat "$TMP/pre.log")"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:sock_send_length 15 ||
	fail "sock_send_length did not attach: $(cat "$TMP/pl.json.err")"
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 5 || fail "tc ingress did not attach"
expect_tp_mode "$TMP/pl.json" sock:sock_send_length
expect_tp_mode "$TMP/pl.json" sock:sock_recv_length
# one more snapshot so the start-up /proc scan has happened
sleep 0.7

touch "$TMP/peer.go"
ns_a "$PYTHON" "$TMP/client.py" "$ADDR_B" "$TCP_PORT" "$UDP_PORT" 123457 20 300 "$TMP/c1.json" 3 \
	>"$TMP/c1.log" 2>&1 &
C1=$!
cleanup_add_pid "$C1"
ns_a "$PYTHON" "$TMP/client.py" "$ADDR6_B" "$TCP_PORT" "$UDP_PORT" 54321 33 1000 "$TMP/c2.json" 3 \
	>"$TMP/c2.log" 2>&1 &
C2=$!
cleanup_add_pid "$C2"
# the short-lived one: python without site imports, a few kB, then gone
t0=$(date +%s%N)
ns_a "$PYTHON" -S -I "$TMP/client.py" "$ADDR_B" "$TCP_PORT" "$UDP_PORT" 4321 2 50 "$TMP/c3.json" 0 \
	>"$TMP/c3.log" 2>&1 || fail "short-lived client failed: $(cat "$TMP/c3.log")"
t1=$(date +%s%N)
log "short-lived client ran $(((t1 - t0) / 1000000)) ms with ip netns exec and python start-up"
wait_for 5 ns_b "$PYTHON" -c "import socket; socket.create_connection(('$ADDR_B', $HTTP_PORT))" ||
	fail "HTTP server did not start: $(cat "$TMP/http.log")"
# curl, as the issue asks: its own counts are the request it sent and headers + body it received
ns_a sh -c 'echo $$ >"$1"; exec curl -s -o /dev/null -w "%{size_request} %{size_header} %{size_download} %{time_total}" "$2"' \
	_ "$TMP/curl.pid" "http://$ADDR_B:$HTTP_PORT/f" >"$TMP/curl.out" 2>&1 ||
	fail "curl failed: $(cat "$TMP/curl.out")"
log "curl: request, header, body bytes and seconds: $(cat "$TMP/curl.out")"
ns_a "$PYTHON" "$TMP/chat.py" "$ADDR_B" "$ECHO_PORT" 200 "$TMP/chat.json" >"$TMP/chat.log" 2>&1 ||
	fail "chatty client failed: $(cat "$TMP/chat.log")"
wait_for 10 test -s "$TMP/pre.json" || fail "pre process did not finish: $(cat "$TMP/pre.log")"
wait "$C1" || fail "client 1 failed: $(cat "$TMP/c1.log")"
wait "$C2" || fail "client 2 failed: $(cat "$TMP/c2.log")"
sleep 1.2
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP" "$ADDR_A" "$OLD_TCP" "$OLD_UDP" "$HTTP_PORT" <<'EOF'
import json, sys
tmp, addr_a, old_tcp, old_udp = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
http_port = int(sys.argv[5])
j = json.load(open(tmp + "/last.json"))
procs = {p["pid"]: p for p in j["processes"]}
flows = j["flows"]
bad = []

def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg)
    if not cond:
        bad.append(msg)

for name in ("c1", "c2", "c3"):
    c = json.load(open("%s/%s.json" % (tmp, name)))
    p = procs.get(c["pid"])
    check(p is not None, "%s pid %d listed" % (name, c["pid"]))
    if not p:
        continue
    check(p["rx_bytes"] == c["rx"], "%s rx_bytes: process counted %d, pktlens %d"
          % (name, c["rx"], p["rx_bytes"]))
    check(p["tx_bytes"] == c["tx"], "%s tx_bytes: process counted %d, pktlens %d"
          % (name, c["tx"], p["tx_bytes"]))
    # one TCP connect() (its UDP socket only uses sendto), no accept
    check(p["connects"] == 1 and p["accepts"] == 0, "%s connects %d (1), accepts %d (0)"
          % (name, p["connects"], p["accepts"]))
    # c3 lives a few ms: its command line is read from /proc when pktlens learns of the process,
    # and on a loaded host the process can be gone by then (pktlens then has only its comm);
    # what it does show must be the real one
    if name == "c3" and not p["cmdline"]:
        print("note  c3 exited before its /proc/PID/cmdline was read (comm %r)" % p["comm"])
    else:
        check("client.py" in p["cmdline"], "%s cmdline: %r" % (name, p["cmdline"]))
    if name == "c3":
        check(p["exited"], "c3 (short-lived, its script ran %.0f ms) marked exited" % c["ms"])
    for proto, port in (("tcp", c["tcp_port"]), ("udp", c["udp_port"])):
        fl = [f for f in flows if f["proto"] == proto and f["local_port"] == port]
        check(len(fl) == 1, "%s %s flow from port %d present" % (name, proto, port))
        for f in fl:
            check(f["pid"] == c["pid"], "%s %s flow pid: expected %d, pktlens %d (%s)"
                  % (name, proto, c["pid"], f["pid"], f["comm"]))

c = json.load(open(tmp + "/chat.json"))
p = procs.get(c["pid"])
check(p is not None, "chatty client pid %d listed" % c["pid"])
if p:
    check(p["tx_bytes"] == c["tx"] and p["rx_bytes"] == c["rx"],
          "chatty client (600 exchanges, two threads) bytes: process counted tx %d rx %d, "
          "pktlens %d %d" % (c["tx"], c["rx"], p["tx_bytes"], p["rx_bytes"]))

curl_pid = int(open(tmp + "/curl.pid").read())
req, hdr, body, secs = open(tmp + "/curl.out").read().split()
p = procs.get(curl_pid)
check(p is not None, "curl pid %d listed (it ran %.0f ms)" % (curl_pid, float(secs) * 1000))
if p:
    check(p["tx_bytes"] == int(req), "curl tx_bytes: curl sent %s, pktlens %d" % (req, p["tx_bytes"]))
    check(p["rx_bytes"] == int(hdr) + int(body), "curl rx_bytes: curl got %d, pktlens %d"
          % (int(hdr) + int(body), p["rx_bytes"]))
    check(p["comm"] == "curl" and p["exited"], "curl comm %r, exited %s" % (p["comm"], p["exited"]))
    check(p["connects"] == 1 and p["accepts"] == 0, "curl connects %d (1), accepts %d (0)"
          % (p["connects"], p["accepts"]))
fl = [f for f in flows if f["proto"] == "tcp" and f["remote_port"] == http_port]
check(len(fl) == 1 and fl[0]["pid"] == curl_pid, "curl flow pid: expected %d, pktlens %s"
      % (curl_pid, [f["pid"] for f in fl]))

old = int(open(tmp + "/old.pid").read())
p = procs.get(old)
check(p is not None, "process started before pktlens (pid %d) listed" % old)
if p:
    # its listener, the accepted connection and the UDP socket, each once (a socket the /proc
    # scan and the tracepoints both saw must not count twice)
    check(p["tcp"] == 2 and p["udp"] == 1 and p["listen"] == 1 and p["established"] == 1
          and p["sockets"] == 3 and p["socket_rows"] == 3,
          "old process sockets from /proc: tcp %d (2) udp %d (1) listen %d (1) established %d "
          "(1) sockets %d (3) rows %d (3)" % (p["tcp"], p["udp"], p["listen"], p["established"],
                                             p["sockets"], p["socket_rows"]))
    check(all(s["from_proc"] for s in p["socks"]), "old process sockets marked from_proc")
    check(p["connects"] == 0 and p["accepts"] == 0, "old process: connects %d accepts %d "
          "(0: it made its connection before pktlens started)" % (p["connects"], p["accepts"]))
for proto, port in (("tcp", old_tcp), ("udp", old_udp)):
    fl = [f for f in flows if f["proto"] == proto and f["local_port"] == port]
    check(len(fl) == 1, "old process %s flow to port %d present" % (proto, port))
    for f in fl:
        check(f["pid"] == old, "old process %s flow pid: expected %d, pktlens %d"
              % (proto, old, f["pid"]))

c = json.load(open(tmp + "/pre.json"))
p = procs.get(c["pid"])
check(p is not None, "pre process (connected before pktlens, pid %d) listed" % c["pid"])
if p:
    # one socket, known from the start-up /proc scan and then from the tracepoints: one row
    check(p["tcp"] == 1 and p["sockets"] == 1 and p["socket_rows"] == 1,
          "pre process: tcp %d (1) sockets %d (1) socket rows %d (1)"
          % (p["tcp"], p["sockets"], p["socket_rows"]))
    check(p["tx_bytes"] == c["tx"] and p["rx_bytes"] == c["rx"],
          "pre process bytes: process counted tx %d rx %d, pktlens %d %d"
          % (c["tx"], c["rx"], p["tx_bytes"], p["rx_bytes"]))
    check(not any(s["from_proc"] for s in p["socks"]), "pre process socket from the tracepoints")
    check(p["connects"] == 0, "pre process connects %d (0: before pktlens)" % p["connects"])

tu = [f for f in flows if f["proto"] in ("tcp", "udp")]
att = [f for f in tu if f["pid"]]
print("attribution coverage: %d/%d TCP/UDP flows have a process (%.0f%%); pktlens says %s"
      % (len(att), len(tu), 100.0 * len(att) / max(1, len(tu)), j["process_attribution"]))
check(len(tu) > 0 and len(att) == len(tu), "every TCP/UDP flow attributed")
sys.exit(1 if bad else 0)
EOF
rc=$?
[ "$rc" = 0 ] || {
	KEEP_TMP=${KEEP_TMP:-}
	fail "per-process numbers differ from the processes' own counts (see above)"
}
log "pass"
exit 0
