#!/usr/bin/env bash
# Rates end to end: a sender paced at RATE datagrams a second (it logs the time of each) to a
# server that answers every second one with a smaller datagram. In every snapshot of the steady
# part, rx pps equal the datagrams the sender sent in that snapshot's interval, tx pps half of
# them, and rx/tx bps (bits) those packet rates x frame length x 8, each within 2 packets (the
# interval's edges) + 1%; each rate times the interval equals its counter's growth, and the
# totals are the sum of the flows (but for the packets that came between the two map reads).
# Refresh every 0.5 s: a rate per interval instead of per second, bytes instead of bits or rx
# for tx are all far outside. (The sender's own times, not its nominal rate: on a loaded
# machine it stalls and catches up.)
set -u
TEST_NAME=rates
. "$(dirname "$0")/../lib/netns.sh"

PORT=5010
RATE=200     # datagrams a second
PAYLOAD=972  # frame: 14 Ethernet + 20 IPv4 + 8 UDP + 972 = 1014 bytes
REPLY=472    # every second datagram is answered with 472 bytes: 514-byte frames
SECONDS_ON=6

require_root
require_cmd ip "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 243

bg_start "$TMP/echo.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
n = 0
while True:
    b, a = s.recvfrom(65536)
    n += 1
    if n % 2 == 0:
        s.sendto(b"a" * int(sys.argv[2]), a)
' "$PORT" "$REPLY"
wait_port "$NS_A" udp "$PORT"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
pktlens_wait_attached "$TMP/pl.json" tc-egress "$IF_A" 5 || fail "tc-egress did not attach"

# paced on an absolute schedule; the echoes are read by a second thread
ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, threading, time
dst, port, rate, size, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((dst, port))
def drain():
    while True:
        s.recv(65536)
threading.Thread(target=drain, daemon=True).start()
t0 = time.monotonic()
n = int(rate * secs)
sent = []
for i in range(n):
    sent.append(time.monotonic())
    s.send(b"r" * size)
    time.sleep(max(0, t0 + (i + 1) / rate - time.monotonic()))
time.sleep(0.2)
open(sys.argv[6], "w").write("\n".join("%.6f" % t for t in sent))
print(n)
' "$ADDR_A" "$PORT" "$RATE" "$PAYLOAD" "$SECONDS_ON" "$TMP/sends" >"$TMP/sent" || fail "the sender failed"
lines=$(json_count "$TMP/pl.json")
wait_for 10 sh -c "[ \$(grep -c '^{' '$TMP/pl.json') -ge $((lines + 2)) ]" || fail "pktlens stopped printing"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"

"$PYTHON" - "$TMP/pl.json" "$ADDR_B" "$PORT" "$RATE" "$((PAYLOAD + 42))" "$(cat "$TMP/sent")" \
	"$((REPLY + 42))" "$TMP/sends" <<'PY' ||
import bisect, json, sys
snaps = []
for line in open(sys.argv[1]):
    try:
        snaps.append(json.loads(line))
    except ValueError:
        pass
peer, port, rate, frame, sent = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
frames = {"rx": frame, "tx": int(sys.argv[7])}
sends = [float(x) for x in open(sys.argv[8]).read().split()]
def sent_in(t0, t1, every=1):  # datagrams sent in (t0, t1]; every 2: those the server answers
    return sum(1 for i in range(bisect.bisect_right(sends, t0), bisect.bisect_right(sends, t1))
               if (i + 1) % every == 0)
def flow(j):
    for f in j["flows"]:
        if f["proto"] == "udp" and f["remote"] == peer and f["local_port"] == port:
            return f
rows = [(j, flow(j)) for j in snaps]
rows = [(j, f) for j, f in rows if f]
bad = []
last = rows[-1][1]
# CLOCK_MONOTONIC of pktlens' start: the sender's first send (monotonic, as the kernel's
# bpf_ktime_get_ns) is the flow's first_seen after it; a snapshot's uptime_s is taken just
# before it reads the map, so (start + uptime) bounds each snapshot's interval
start = sends[0] - last["first_seen"]
def mono(j):
    return start + j["uptime_s"]
if last["rx_packets"] != sent or last["tx_packets"] != sent // 2:
    bad.append("counted rx %d tx %d, the sender sent %d (every second answered)" % (last["rx_packets"], last["tx_packets"], sent))
# The totals (per-CPU counters) are read just before the flow table, so a packet that comes in
# between is in its flow and not yet in the totals: the sum of the flows' counters leads the
# totals by those packets, never lags, and at most by a few at this rate (the moment between
# two map reads); in the last snapshot, long after the traffic, by none.
def lead(j):
    return {k: sum(x[k] for x in j["flows"]) - j["totals"][k]
            for k in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")}
for j in snaps:
    l = lead(j)
    if not all(0 <= l[d + "_packets"] <= 2 and 0 <= l[d + "_bytes"] <= 2 * frames[d]
               for d in ("rx", "tx")):
        bad.append("the flows' counters lead the totals by %s at t=%.2f" % (l, j["uptime_s"]))
if any(lead(snaps[-1]).values()):
    bad.append("the last snapshot's totals are not the sum of its flows: %s" % lead(snaps[-1]))
# the steady part: intervals whose neighbours both carried traffic at the full rate
steady = 0
for i in range(2, len(rows) - 2):
    (jp, p), (j, f) = rows[i - 1], rows[i]
    dt = j["uptime_s"] - jp["uptime_s"]
    if rows[i + 1][1]["rx_packets"] == f["rx_packets"] or p["rx_packets"] == rows[i - 2][1]["rx_packets"]:
        continue
    steady += 1
    for d in ("rx", "tx"):
        fl_len = frames[d]
        n = sent_in(mono(jp), mono(j), 1 if d == "rx" else 2)
        pps, bps = f[d + "_pps"], f[d + "_bps"]
        dp, db = f[d + "_packets"] - p[d + "_packets"], f[d + "_bytes"] - p[d + "_bytes"]
        line = "  t=%6.2f dt %.3f %s_pps %7.1f (sent %6.1f/s) %s_bps %9.0f (expected %9.0f)  delta %d pkts %d bytes" % (
            j["uptime_s"], dt, d, pps, n / dt, d, bps, n * fl_len * 8 / dt, dp, db)
        slack = (2 + 0.01 * n) / dt
        ok = abs(pps - n / dt) <= slack and abs(bps - n * fl_len * 8 / dt) <= slack * fl_len * 8
        # the rate is the counter's growth over the snapshot's own interval (2%: the refresh
        # reads the map a moment before it takes the time)
        ok = ok and abs(pps * dt - dp) <= 1 + 0.02 * dp and abs(bps * dt / 8 - db) <= fl_len + 0.02 * db
        print(line + ("" if ok else "   <-- wrong"), file=sys.stderr)
        if not ok:
            bad.append("%s rates at t=%.2f" % (d, j["uptime_s"]))
    # the totals' rates against the flows': each side's rate is its own counter's growth; the
    # two counters differ only by the packets the flows lead with (lead() below)
    t, tp = j["totals"], jp["totals"]
    for d, u in (("rx", "packets"), ("rx", "bytes"), ("tx", "packets"), ("tx", "bytes")):
        k = d + ("_pps" if u == "packets" else "_bps")
        scale = 1 if u == "packets" else 8
        fsum = sum(x[k] for x in j["flows"])
        moved = (lead(j)[d + "_" + u] - lead(jp)[d + "_" + u]) * scale / dt
        # JSON prints three decimals: each printed value is off by up to 0.0005, and dt (from
        # two printed uptimes) by up to 0.001 s
        if abs(t[k] + moved - fsum) > 0.0005 * (len(j["flows"]) + 1) + 0.003 * abs(moved):
            bad.append("totals.%s %.1f + %.1f (the flows' lead) is not the flows' %.1f at t=%.2f" %
                       (k, t[k], moved, fsum, j["uptime_s"]))
if steady < 5:
    bad.append("only %d steady snapshots" % steady)
if bad:
    sys.exit("wrong: " + "; ".join(bad))
PY
	fail "rates disagree with the sender's"
log "ok"
exit 0
