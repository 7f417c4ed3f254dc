#!/usr/bin/env bash
# Threaded processes: a flow and a process row carry the process's name (its thread group leader's), the thread that used the socket shows in the socket's detail; dig and a program that names its threads.
#
# Both are gone before pktlens reads /proc, so the names come from the tracepoints alone. The
# threaded program names its main thread pl-main and its worker pl-worker, and writes its pid,
# the worker's tid and both names as /proc showed them while it ran; dig (bind9's, its sockets
# used by threads it names isc-net-NNNN) queries dnsmasq from a fixed source port.
set -u
TEST_NAME=procs_threads
. "$(dirname "$0")/../lib/netns.sh"

DIG_PORT=46201
UDP_PORT=46202
TCP_PORT=46203

require_root
require_pktlens
require_cmd ip dig dnsmasq "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 222

bg_start "$TMP/dnsmasq.out" ip netns exec "$NS_B" dnsmasq --no-daemon --no-resolv --no-hosts \
	--bind-interfaces --listen-address="$ADDR_B" --port=53 --address=/threads.test/10.9.9.9 \
	--pid-file=
wait_for 10 ns_a dig +tries=1 +time=1 @"$ADDR_B" threads.test A || fail "dnsmasq did not answer"

cat >"$TMP/sink.py" <<'EOF'
# In B: a UDP echo and a TCP server that reads to EOF and answers 5 bytes.
import socket, sys, threading
addr, uport, tport, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, uport))
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, tport))
t.listen(8)
def tcp():
    while True:
        c, _ = t.accept()
        while c.recv(65536):
            pass
        c.sendall(b"tcpok")
        c.close()
threading.Thread(target=tcp, daemon=True).start()
open(ready, "w").close()
while True:
    d, peer = u.recvfrom(65536)
    u.sendto(d, peer)
EOF

cat >"$TMP/threaded.py" <<'EOF'
# In A: the main thread calls itself pl-main, a worker thread pl-worker; only the worker uses
# sockets (UDP to the echo, TCP to the server). Writes what /proc showed, then exits at once.
import json, os, socket, sys, threading
addr, uport, tport, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
open("/proc/self/comm", "w").write("pl-main")
res = {}
def work():
    tid = threading.get_native_id()
    open("/proc/self/task/%d/comm" % tid, "w").write("pl-worker")
    res["tid"] = tid
    res["thread"] = open("/proc/self/task/%d/comm" % tid).read().strip()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    u.sendto(b"t" * 321, (addr, uport))
    u.recvfrom(65536)
    res["udp_port"] = u.getsockname()[1]
    c = socket.create_connection((addr, tport))
    res["tcp_port"] = c.getsockname()[1]
    c.sendall(b"s" * 1234)
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
threading.Thread(target=work).start()
for t in threading.enumerate():
    if t is not threading.main_thread():
        t.join()
res["pid"] = os.getpid()
res["comm"] = open("/proc/self/comm").read().strip()
with open(out, "w") as f:
    json.dump(res, f)
os._exit(0)
EOF

bg_start "$TMP/sink.log" ip netns exec "$NS_B" "$PYTHON" "$TMP/sink.py" "$ADDR_B" "$UDP_PORT" \
	"$TCP_PORT" "$TMP/sink.ready"
wait_for 5 test -e "$TMP/sink.ready" || fail "sink did not start: $(cat "$TMP/sink.log")"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:sock_send_length 15 ||
	fail "sock_send_length did not attach: $(cat "$TMP/pl.json.err")"
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 5 || fail "tc ingress did not attach"

ns_a "$PYTHON" -S -I "$TMP/threaded.py" "$ADDR_B" "$UDP_PORT" "$TCP_PORT" "$TMP/threaded.json" \
	>"$TMP/threaded.log" 2>&1 || fail "threaded program failed: $(cat "$TMP/threaded.log")"
ns_a dig +tries=1 +time=3 -b "$ADDR_A#$DIG_PORT" @"$ADDR_B" threads.test A >"$TMP/dig.out" 2>&1 ||
	fail "dig failed: $(cat "$TMP/dig.out")"
grep -q '10\.9\.9\.9' "$TMP/dig.out" || fail "dig got no answer: $(cat "$TMP/dig.out")"
sleep 1.5
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP" "$DIG_PORT" >"$TMP/checks.txt" 2>&1 <<'EOF'
import json, sys
tmp, dig_port = sys.argv[1], int(sys.argv[2])
j = json.load(open(tmp + "/last.json"))
t = json.load(open(tmp + "/threaded.json"))
procs = {p["pid"]: p for p in j["processes"]}
bad = []

def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg)
    if not cond:
        bad.append(msg)

print("threaded program: %s" % t)
check(t["comm"] == "pl-main" and t["thread"] == "pl-worker", "it named itself pl-main/pl-worker")
p = procs.get(t["pid"])
check(p is not None, "threaded program pid %d listed" % t["pid"])
if p:
    check(p["exited"], "it is gone (names from the tracepoints alone)")
    check(p["comm"] == "pl-main", "process name %r (pl-main: the leader's, not the worker's)"
          % p["comm"])
    check(p["tx_bytes"] == 321 + 1234 and p["rx_bytes"] == 321 + 5,
          "bytes tx %d (1555) rx %d (326)" % (p["tx_bytes"], p["rx_bytes"]))
    check(p["socket_rows"] == 2 and all(s["tid"] == t["tid"] and s["thread"] == "pl-worker"
                                        for s in p["socks"]),
          "its 2 sockets name thread pl-worker/%d: %s" % (
              t["tid"], [(s["proto"], s["thread"], s["tid"]) for s in p["socks"]]))
for proto, port in (("udp", t["udp_port"]), ("tcp", t["tcp_port"])):
    fl = [f for f in j["flows"] if f["proto"] == proto and f["local_port"] == port]
    check(len(fl) == 1 and fl[0]["pid"] == t["pid"] and fl[0]["comm"] == "pl-main",
          "%s flow from port %d: pid %d comm pl-main: %s" % (
              proto, port, t["pid"], [(f["pid"], f["comm"]) for f in fl]))

fl = [f for f in j["flows"] if f["proto"] == "udp" and f["local_port"] == dig_port]
check(len(fl) == 1, "dig's flow from port %d present" % dig_port)
if fl:
    f = fl[0]
    check(f["comm"] == "dig", "dig's flow: process name %r (dig)" % f["comm"])
    p = procs.get(f["pid"])
    check(p is not None and p["comm"] == "dig" and p["cmdline"].startswith("dig ")
          and p["exited"], "dig's row (pid %d): %s" % (f["pid"], p and (p["comm"], p["cmdline"])))
    if p:
        threads = sorted(set((s["thread"] or "", s["tid"] or 0) for s in p["socks"]))
        print("dig's sockets were used by %s" % threads)
        check(all(s["thread"] and s["tid"] for s in p["socks"]), "dig's threads named")
sys.exit(1 if bad else 0)
EOF
rc=$?
cat "$TMP/checks.txt"
[ "$rc" = 0 ] || fail "process or thread names are wrong: $(grep -E '^FAIL|Error' "$TMP/checks.txt" | tr '\n' ';')"
log "pass"
exit 0
