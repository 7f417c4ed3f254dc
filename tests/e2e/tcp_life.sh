#!/usr/bin/env bash
# TCP connection life in pktlens --json against the test's own actions and the kernel's counters:
# connections opened, resets sent/received (SO_LINGER 0 on either side), handshake time,
# duration, short-lived count, and out-of-order/duplicate segments crafted with a raw socket.
# Each connection's whole state timeline against the kernel's own trace ring (ftrace, a private
# tracefs instance on sock:inet_sock_set_state) and against the sequence its fate implies.
set -u
TEST_NAME=${TEST_NAME:-tcp_life}
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/ftrace.sh
. "$(dirname "$0")/../lib/ftrace.sh"

LIFE_PORT=46101
OOO_PORT=46102
PATTERNS=3 # each: a segment ahead of a 100-byte hole, the hole's segment, both again

require_root
require_cmd ip nstat "$PYTHON"
require_pktlens

snmp() {
	local ns=$1
	shift
	ip netns exec "$ns" nstat -asz "$@" 2>/dev/null | awk '{ s += $2 } END { print s + 0 }'
}

write_programs() {
	cat >"$TMP/server.py" <<'PY'
# Server in A: per connection, "R" means reset it (SO_LINGER 0 close); EOF means close.
import socket, struct, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(32)
def serve(c):
    try:
        while True:
            b = c.recv(100)
            if not b:
                break
            if b"R" in b:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                break
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	cat >"$TMP/client.py" <<'PY'
# Client in B: connections with a known fate each; writes what it did as JSON.
import json, socket, struct, sys, time
dst, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
plan = ["rst-out"] * 3 + ["rst-in"] * 2 + ["short"] * 3 + ["long"] * 2
conns = []
for fate in plan:
    s = socket.socket()
    s.settimeout(5)
    t0 = time.monotonic()
    s.connect((dst, port))
    t1 = time.monotonic()
    sport = s.getsockname()[1]
    if fate == "rst-out":
        time.sleep(0.1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    elif fate == "rst-in":
        time.sleep(0.1)
        s.send(b"R")
        try:
            while s.recv(100):
                pass
            sys.exit("the server did not reset")
        except ConnectionResetError:
            pass
        s.close()
    else:
        time.sleep(0.1 if fate == "short" else 1.3)
        s.shutdown(socket.SHUT_WR)
        while s.recv(100):
            pass
        s.close()
    t2 = time.monotonic()
    conns.append({"sport": sport, "fate": fate, "connect_ms": (t1 - t0) * 1000,
                  "duration_s": t2 - t0})
json.dump(conns, open(out, "w"))
PY
	cat >"$TMP/ooo.py" <<'PY'
# In A: accept B's connection, send "hello", learn the stream's next sequence number from the
# wire (AF_PACKET), then inject data segments of that stream out of order and twice with a raw
# socket. B's kernel takes them as in-window data; pktlens' ingress on B sees their order.
import json, os, socket, struct, sys, time
addr, port, ifname, patterns, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
# ETH_P_ALL: only taps of every protocol see outgoing frames
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
cap.bind((ifname, 0))
cap.settimeout(5)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(1)
open(out + ".ready", "w").close()
c, peer = ls.accept()
c.send(b"hello")
seq = ack = None
while seq is None:
    f = cap.recv(65535)
    if f[12:14] != b"\x08\x00":
        continue
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 6 or socket.inet_ntoa(ip[12:16]) != addr:
        continue
    tcp = ip[ihl:]
    sp, dp, s_, a_ = struct.unpack("!HHII", tcp[:12])
    plen = struct.unpack("!H", ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
    if sp == port and dp == peer[1] and plen == 5:
        seq, ack = s_ + 5, a_
time.sleep(0.3)  # B has acknowledged "hello": nothing of ours is in flight

def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF

raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
src, dst = socket.inet_aton(addr), socket.inet_aton(peer[0])
def seg(s, n):
    payload = b"o" * n
    hdr = struct.pack("!HHIIBBHHH", port, peer[1], s & 0xFFFFFFFF, ack, 5 << 4, 0x18, 1024, 0, 0)
    ph = src + dst + struct.pack("!BBH", 0, 6, len(hdr) + n)
    hdr = hdr[:16] + struct.pack("!H", csum(ph + hdr + payload)) + hdr[18:]
    raw.sendto(hdr + payload, (peer[0], 0))
    time.sleep(0.05)

sent = {"ooo": 0, "dup": 0}
for p in range(patterns):
    base = seq + 200 * p
    seg(base + 100, 100)  # ahead of a hole: out of order
    seg(base, 100)        # fills the hole late: out of order
    seg(base, 100)        # already seen: duplicate
    seg(base + 100, 100)  # already seen: duplicate
    sent["ooo"] += 2
    sent["dup"] += 2
sent["sport"] = peer[1]
json.dump(sent, open(out, "w"))
time.sleep(600)
PY
	cat >"$TMP/ooo_client.py" <<'PY'
# In B: connect and read whatever comes, quietly.
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
while s.recv(65536):
    pass
PY
}

cleanup_init
make_tmpdir
netns_pair 218
write_programs

bg_start "$TMP/server.log" ip netns exec "$NS_A" "$PYTHON" "$TMP/server.py" "$ADDR_A" "$LIFE_PORT"
wait_for 5 sh -c "ip netns exec '$NS_A' ss -Hltn 'sport = :$LIFE_PORT' | grep -q LISTEN" ||
	fail "the server is not listening"

# pktlens on the client side: its sockets are the ones the test opens and resets
pktlens_start "$TMP/pl.json" -n "$NS_B" -i "$IF_B" --json --interval 1
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:inet_sock_set_state 10 ||
	fail "sock:inet_sock_set_state did not attach: $(cat "$TMP/pl.json.err")"
pktlens_wait_attached "$TMP/pl.json" tracepoint tcp:tcp_receive_reset 5 ||
	fail "tcp:tcp_receive_reset did not attach"

# the client's sockets (destination port LIFE_PORT): every state change, by the kernel's ftrace
ftrace_instance life
ftrace_enable sock:inet_sock_set_state "dport == $LIFE_PORT && family == 2 && protocol == 6"

out0=$(snmp "$NS_B" TcpOutRsts)
est0=$(snmp "$NS_B" TcpEstabResets)
act0=$(snmp "$NS_B" TcpActiveOpens)
ip netns exec "$NS_B" "$PYTHON" "$TMP/client.py" "$ADDR_A" "$LIFE_PORT" "$TMP/conns.json" ||
	fail "the connection client failed"
sleep 0.5
out_rsts=$(($(snmp "$NS_B" TcpOutRsts) - out0))
estab_resets=$(($(snmp "$NS_B" TcpEstabResets) - est0))
active=$(($(snmp "$NS_B" TcpActiveOpens) - act0))
log "kernel: TcpActiveOpens +$active, TcpOutRsts +$out_rsts, TcpEstabResets +$estab_resets"
ftrace_stop
[ "$(ftrace_lost)" = 0 ] || fail "the ftrace buffer overran: its record is incomplete"
ftrace_events sock:inet_sock_set_state >"$TMP/states.ftrace"
ftrace_symbols sock:inet_sock_set_state newstate >"$TMP/states.names"

# ---- reordering and duplicates ----
ofo0=$(snmp "$NS_B" TcpExtTCPOFOQueue)
dsack0=$(snmp "$NS_B" TcpExtTCPDSACKOldSent)
bg_start "$TMP/ooo.log" ip netns exec "$NS_A" "$PYTHON" "$TMP/ooo.py" "$ADDR_A" "$OOO_PORT" "$IF_A" \
	"$PATTERNS" "$TMP/ooo.json"
wait_for 5 test -e "$TMP/ooo.json.ready" || fail "the segment injector did not start"
bg_start "$TMP/ooo_client.log" ip netns exec "$NS_B" "$PYTHON" "$TMP/ooo_client.py" "$ADDR_A" "$OOO_PORT"
wait_for 15 test -s "$TMP/ooo.json" || fail "the segment injector did not finish: $(cat "$TMP/ooo.log")"
sleep 0.3
ofo=$(($(snmp "$NS_B" TcpExtTCPOFOQueue) - ofo0))
dsack=$(($(snmp "$NS_B" TcpExtTCPDSACKOldSent) - dsack0))
log "kernel: TCPOFOQueue +$ofo (segments held ahead of a hole), TCPDSACKOldSent +$dsack (duplicates)"

# ---- resets of another namespace are not this one's ----
# (-n B: a reset sent without a socket, here for a closed port of another pair, must not count)
saved=("$NS_A" "$NS_B" "$ADDR_A" "$ADDR_B" "$IF_A" "$IF_B")
IF_A=vethO IF_B=vethP netns_pair 229
other_b=$NS_B other_a=$ADDR_A
NS_A=${saved[0]} NS_B=${saved[1]} ADDR_A=${saved[2]} ADDR_B=${saved[3]} IF_A=${saved[4]} IF_B=${saved[5]}
ip netns exec "$other_b" "$PYTHON" -c '
import socket, sys
for i in range(10):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((sys.argv[1], 45999))
    except OSError:
        pass
    s.close()
' "$other_a" || fail "the other namespace's connects failed"

sleep 1.5
pktlens_stop INT 30 || fail "pktlens did not stop on SIGINT"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP/last.json" "$TMP/conns.json" "$TMP/ooo.json" "$ADDR_A" "$LIFE_PORT" "$OOO_PORT" \
	"$out_rsts" "$estab_resets" "$active" "$ofo" "$dsack" "$PATTERNS" "$TMP/states.ftrace" \
	"$TMP/states.names" <<'PY' ||
import json, sys
j = json.load(open(sys.argv[1]))
conns = json.load(open(sys.argv[2]))
ooo = json.load(open(sys.argv[3]))
addr, lport, oport = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
out_rsts, estab_resets, active, ofo, dsack, patterns = map(int, sys.argv[7:13])
# The kernel's record of the client's sockets: per socket address, lives that start when the
# socket leaves CLOSE. SYN_SENT is entered before connect() picks the source port (sport 0), so
# a life is named by the first port it shows.
names = {int(k): v.replace("TCP_", "") for k, v in json.load(open(sys.argv[14])).items()}
want_daddr = int.from_bytes(bytes(int(x) for x in addr.split(".")), "little")
lives, open_life = [], {}
for line in open(sys.argv[13]):
    e = json.loads(line)
    f = e["f"]
    if f["daddr"] != want_daddr:
        continue
    sk = f["skaddr"]
    if f["oldstate"] == 7 or sk not in open_life:
        open_life[sk] = {"sport": 0, "ev": []}
        lives.append(open_life[sk])
    life = open_life[sk]
    life["sport"] = life["sport"] or f["sport"]
    life["ev"].append((e["t"], names[f["oldstate"]], names[f["newstate"]]))
kernel = {}
for life in lives:
    if life["sport"] in kernel:
        sys.exit("two sockets of the trace share port %d" % life["sport"])
    kernel[life["sport"]] = life["ev"]
# What each fate does to the client's socket. An abortive close (SO_LINGER 0) or a reset received
# goes straight from ESTABLISHED to CLOSE. The graceful side shuts down first: FIN_WAIT1 until
# its FIN is acknowledged, FIN_WAIT2 until the peer's FIN, then the full socket is done (CLOSE);
# TIME_WAIT lives on in a timewait socket that fires no inet_sock_set_state.
fate_states = {
    "rst-out": ["SYN_SENT", "ESTABLISHED", "CLOSE"],
    "rst-in": ["SYN_SENT", "ESTABLISHED", "CLOSE"],
    "short": ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "CLOSE"],
    "long": ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "CLOSE"],
}
t = j["tcp"]
bad = []
def check(what, got, exp):
    print("  %-38s expected %6s   pktlens %6s" % (what, exp, got), file=sys.stderr)
    if got != exp:
        bad.append(what)

n = len(conns)
n_out = sum(c["fate"] == "rst-out" for c in conns)
n_in = sum(c["fate"] == "rst-in" for c in conns)
if active != n or out_rsts != n_out or estab_resets != n_out + n_in:
    sys.exit("the kernel's counters do not match what the test did: the namespace is not quiet")
# the reordering connection is one more active open
check("tcp.connections", t["connections"], n + 1)
check("tcp.resets_tx (SO_LINGER 0 here)", t["resets_tx"], n_out)
check("tcp.resets_rx (SO_LINGER 0 there)", t["resets_rx"], n_in)
short = sum(c["duration_s"] < 1.0 for c in conns)
check("tcp.short_lived (< 1 s)", t["short_lived"], short)

hs_diffs = []
flows = {f["local_port"]: f for f in j["flows"]
         if f["proto"] == "tcp" and f["remote"] == addr and f["remote_port"] == lport}
for c in conns:
    f = flows.get(c["sport"])
    if not f:
        bad.append("no flow for port %d" % c["sport"])
        continue
    rx, tx = (1, 0) if c["fate"] == "rst-in" else (0, 1) if c["fate"] == "rst-out" else (0, 0)
    line = "  :%d %-7s resets rx %d tx %d  handshake %.3f ms (connect() %.3f ms)  duration %.3f s " \
           "(test %.3f s)  %s" % (c["sport"], c["fate"], f["resets_rx"], f["resets_tx"], f["handshake_ms"],
           c["connect_ms"], f["duration_s"], c["duration_s"],
           "/".join(s["state"] for s in f["timeline"]))
    print(line, file=sys.stderr)
    if (f["resets_rx"], f["resets_tx"]) != (rx, tx):
        bad.append("resets of :%d" % c["sport"])
    # the handshake happens inside connect(): never longer than it, never nothing
    if not (0 < f["handshake_ms"] <= c["connect_ms"] + 0.05):
        bad.append("handshake of :%d" % c["sport"])
    # the kernel sees the socket open after the test's first timestamp and close before its last
    if not (c["duration_s"] - 0.05 <= f["duration_s"] + 0.01 and f["duration_s"] <= c["duration_s"] + 0.01):
        bad.append("duration of :%d" % c["sport"])
    # the whole timeline: the kernel's ftrace record of this socket, and what its fate implies
    ev = kernel.get(c["sport"], [])
    ktl = [e[2] for e in ev]
    ptl = [s["state"] for s in f["timeline"]]
    print("      ftrace %s" % "/".join(ktl), file=sys.stderr)
    if ktl != fate_states[c["fate"]] or not ev or ev[0][1] != "CLOSE":
        bad.append("the kernel's states of :%d (%s) are not those of a %s connection" %
                   (c["sport"], "/".join(ktl), c["fate"]))
    if ptl != ktl:
        bad.append("timeline of :%d is %s, ftrace says %s" % (c["sport"], "/".join(ptl), "/".join(ktl)))
    elif ev:
        # handshake: SYN_SENT to ESTABLISHED, both stamped at the same tracepoint by pktlens'
        # program and by ftrace, microseconds apart; a vCPU descheduled between the two
        # callbacks can add a few hundred (0.25 ms each, the median within 20 us)
        hs = (ev[1][0] - ev[0][0]) * 1000
        hs_diffs.append(abs(f["handshake_ms"] - hs))
        print("      handshake %.3f ms, ftrace %.3f ms" % (f["handshake_ms"], hs), file=sys.stderr)
        if hs_diffs[-1] > 0.25:
            bad.append("handshake of :%d is %.3f ms, ftrace %.3f ms" % (c["sport"], f["handshake_ms"], hs))
        # ms since the first change, truncated; ftrace's mono clock is bpf_ktime_get_ns'
        for s, e in zip(f["timeline"], ev):
            want = (e[0] - ev[0][0]) * 1000
            if not (want - 1 <= s["ms"] <= want + 0.01):
                bad.append("timeline of :%d: %s at %d ms, ftrace %.3f ms" %
                           (c["sport"], s["state"], s["ms"], want))

hs_diffs.sort()
if not hs_diffs or hs_diffs[len(hs_diffs) // 2] > 0.02:
    bad.append("handshake times off ftrace's by a median %.3f ms" % (hs_diffs[len(hs_diffs) // 2] if hs_diffs else -1))

of = [f for f in j["flows"] if f["proto"] == "tcp" and f["remote"] == addr and f["remote_port"] == oport
      and f["local_port"] == ooo["sport"]]
if not of:
    bad.append("no flow for the reordering connection")
else:
    check("flow ooo (test sent)", of[0]["ooo"], ooo["ooo"])
    check("flow dup (test sent)", of[0]["dup"], ooo["dup"])
    # segments that brought nothing new: per pattern the late fill and the two duplicates
    check("flow retrans_rx (test sent)", of[0]["retrans_rx"], ooo["ooo"] // 2 + ooo["dup"])
    # the kernel's own view: one segment per pattern waited ahead of a hole, every duplicate got a DSACK
    check("kernel TCPOFOQueue vs ooo / 2", of[0]["ooo"] // 2, ofo)
    check("kernel TCPDSACKOldSent vs dup", of[0]["dup"], dsack)
if bad:
    sys.exit("wrong: " + ", ".join(bad))
PY
	fail "TCP life disagrees"
log "ok"
exit 0
