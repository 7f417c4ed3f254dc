#!/usr/bin/env bash
# The anomaly alerts end to end: a UDP flood, an ICMP flood (hping3), a burst of resets, a burst of
# drops of one kernel reason (an nftables rule), unsolicited DNS answers and a rate spike, each from
# its own address of namespace B to namespace A, which pktlens watches with --json. Ground truth
# from what we did not write: the senders' own counts (hping3, the python senders), the receiving
# kernel's counters (nstat in A, and TcpOutRsts in B for the resets), the nftables rule's counter.
#
# Rate thresholds (udp, icmp, rst, drops, spike_pps) are judged per refresh interval: an interval
# under the threshold adds nothing to the alert's count. So an alert counts at most what was sent,
# and at least what was sent minus what intervals under the threshold can hold: T x (the burst's
# duration + two intervals). DNS answers are counted against a plain number: exact.
#
# Each scenario checks the alert's fields, that it is the only alert raised meanwhile (one alert,
# not one per interval, and no other kind), and that it ends exactly --alert quiet=2 seconds after
# its last evidence (pktlens' own clock in every JSON line) and no longer grows.
# test-timeout: 400
set -u
TEST_NAME=security_anomalies
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/security.sh"

UDP_PORT=5000  # the UDP flood's sink
DROP_PORT=5001 # nftables drops what comes to it
TCP_PORT=5002  # the rate spike's TCP sink
RST_PORT=5003  # closed in B: every connection to it is reset
DNS_PORT0=20000
NFT_TABLE=pktlens_anomalies
QUIET=2
# thresholds: the defaults, except where they would need more traffic than a test should send
UDP_PPS=1000 # default 10000
ICMP_PPS=500 # default 1000
RST_PPS=100  # default
DROP_PPS=100 # default
SPIKE_PPS=300
WARMUP=4

require_root
require_cmd ip nft nstat hping3 ethtool "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 238
# every segment its own packet on both ends: TcpInSegs counts what the hooks see
netns_no_offloads
NET=10.238.0
SRC_UDP=$NET.11
SRC_ICMP=$NET.12
SRC_RST=$NET.13
SRC_DROP=$NET.14
SRC_DNS=$NET.15
SRC_SPIKE=$NET.16
for a in $SRC_UDP $SRC_ICMP $SRC_RST $SRC_DROP $SRC_DNS $SRC_SPIKE; do
	ip -n "$NS_B" addr add "$a/24" dev "$IF_B"
done

# snmp NS NAME...: the sum of the absolute kernel counters NAME... of namespace NS.
snmp() {
	local ns=$1
	shift
	ip netns exec "$ns" nstat -asz "$@" 2>/dev/null | awk '{ s += $2 } END { print s + 0 }'
}

# det KEY: the kernel detection counter KEY in pktlens' last JSON line.
det() { json_last "$PL_LOG" | jq ".detection.$1"; }

# at_least N CMD...: CMD prints a number >= N.
at_least() {
	local n=$1
	shift
	[ "$("$@" 2>/dev/null)" -ge "$n" ] 2>/dev/null
}

# two_more: until pktlens wrote two more lines (a full interval after this moment).
two_more() {
	local n
	n=$(json_count "$PL_LOG")
	wait_for 10 at_least $((n + 2)) json_count "$PL_LOG" || fail "pktlens wrote no new line in 10 s"
}

# since T: seconds from T (now_s) to now.
since() { awk -v a="$(now_s)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }

# check_alert ID SENT THRESHOLD DURATION_S QUIET [BURST]: the alert's count against what was sent
# (BURST - THRESHOLD x (DURATION + 2 intervals) <= count <= SENT, BURST is SENT unless given;
# THRESHOLD 0: count == SENT), and
# its end: in every line active == (uptime - last_seen <= QUIET), inactive at last, and the count
# the same in every line once inactive. Prints the count.
check_alert() {
	"$PYTHON" - "$PL_LOG" "$@" <<'EOF'
import json, sys

def die(msg):
    print(msg)  # for the caller's failure line
    sys.exit(1)

path, aid, sent, thr, dur, quiet = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
burst = int(sys.argv[7]) if len(sys.argv) > 7 else sent
prev_up, dtmax, seen, ended, last = None, 0.0, 0, None, None
with open(path, errors="replace") as f:
    for line in f:
        try:
            j = json.loads(line)
        except ValueError:
            continue
        up = j["uptime_s"]
        if prev_up is not None:
            dtmax = max(dtmax, up - prev_up)
        prev_up = up
        for a in j["alerts"]:
            if a["id"] != aid:
                continue
            seen += 1
            last = a
            since = up - a["last_seen"]
            if abs(since - quiet) > 0.01 and a["active"] != (since <= quiet):
                die("line at uptime %.3f: active %s, %.3f s after its last evidence"
                % (up, a["active"], since))
            if ended is not None and a["count"] != ended:
                die("the count changed from %d to %d after the alert ended"
                % (ended, a["count"]))
            if not a["active"] and ended is None:
                ended = a["count"]
if not seen:
    die("no alert %d" % aid)
if last["active"]:
    die("alert %d still active" % aid)
lo = burst - thr * (dur + 2 * dtmax) if thr else sent
if not lo <= last["count"] <= sent:
    die("count %d, expected %s%d (sent %d, threshold %g/s, %.2f s, intervals up to %.2f s)"
        % (last["count"], "%d..." % max(lo, 0) if thr else "", sent, sent, thr, dur, dtmax))
print(last["count"])
EOF
}

# report NAME ID SINCE: the delay line; fails on any other alert raised since SINCE (another
# kind, or a second alert of the same kind: one burst is one alert, however many intervals).
report() { alerts_report "$PL_LOG" "$@"; }

# ended ID: until the alert is inactive (quiet seconds after its last evidence, plus an interval).
ended() {
	wait_eq $((QUIET + 10)) False alert_get "$PL_LOG" "$1" 'a["active"]' ||
		fail "alert $1 still active: $(alert_get "$PL_LOG" "$1" 'a')"
}

# udp_blast NS SRC DST PORT N GAP_S [BATCH]: N datagrams of 32 bytes from SRC, BATCH (1) at a time
# with GAP_S between batches; prints "SENT SECONDS" (first to last datagram).
udp_blast() {
	ip netns exec "$1" "$PYTHON" - "${@:2}" <<'EOF'
import socket, sys, time
src, dst, port, n, gap = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    float(sys.argv[5])
batch = int(sys.argv[6]) if len(sys.argv) > 6 else 1
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
sent = 0
t0 = time.monotonic()
while sent < n:
    for _ in range(min(batch, n - sent)):
        s.sendto(b"f" * 32, (dst, port))
        sent += 1
    if sent < n and gap:
        time.sleep(gap)
print(sent, "%.3f" % (time.monotonic() - t0))
EOF
}

PL_LOG=$TMP/pl.json
pktlens_start "$PL_LOG" -n "$NS_A" -i "$IF_A" --json --interval 0.5 --alert quiet=$QUIET \
	--alert udp=$UDP_PPS --alert icmp=$ICMP_PPS --alert rst=$RST_PPS --alert drops=$DROP_PPS
pktlens_wait_attached "$PL_LOG" tc-ingress "$IF_A" 30 ||
	fail "pktlens did not attach: $(cat "$PL_LOG.err")"
pktlens_wait_attached "$PL_LOG" tracepoint skb:kfree_skb 30 ||
	fail "skb:kfree_skb did not attach: $(cat "$PL_LOG.err")"

# ---- a UDP flood: 4000 datagrams, 50 at a time (at most 5000/s: the veth's backlog of 1000
# never overflows), to a sink that answers nothing ----
udp_sink_start "$NS_A" "$ADDR_A" "$UDP_PORT" "$TMP/sink.count"
in0=$(snmp "$NS_A" UdpInDatagrams)
t=$(now_s)
read -r sent dur < <(udp_blast "$NS_B" "$SRC_UDP" "$ADDR_A" "$UDP_PORT" 4000 0.01 50)
udp_sink_wait "$TMP/sink.count" "$sent" 20 || true
got=$(udp_sink_stop "$TMP/sink.count")
in1=$(snmp "$NS_A" UdpInDatagrams)
log "UDP flood: sent $sent in $dur s, the sink received $got, UdpInDatagrams +$((in1 - in0))"
[ "$sent" = 4000 ] && [ "$got" = "$sent" ] && [ $((in1 - in0)) = "$sent" ] ||
	fail "the UDP flood did not arrive whole"
wait_alert "$PL_LOG" udp_flood "$SRC_UDP" "$t" 20
id=$ALERT_ID
[ "$(alert_get "$PL_LOG" "$id" 'a["target"]')" = "$ADDR_A" ] || fail "udp_flood target"
[ "$(alert_get "$PL_LOG" "$id" 'a["ports"]')" = "$UDP_PORT" ] || fail "udp_flood ports"
[ "$(alert_get "$PL_LOG" "$id" 'a["proto"]')" = udp ] || fail "udp_flood proto"
[ "$(alert_get "$PL_LOG" "$id" 'a["sources"]')" = 1 ] || fail "udp_flood sources"
ended "$id"
count=$(check_alert "$id" "$sent" "$UDP_PPS" "$dur" "$QUIET") || fail "udp_flood: $count"
log "alert: count $count of $sent; $(alert_get "$PL_LOG" "$id" 'a["detail"]')"
report "UDP flood of $sent datagrams" "$id" "$t"

# ---- an ICMP flood: hping3's echo requests, at most 5000/s ----
e0=$(snmp "$NS_A" IcmpInEchos)
r0=$(snmp "$NS_A" IcmpOutEchoReps)
t=$(now_s)
ns_b hping3 -1 -q -c 3000 -i u200 -a "$SRC_ICMP" "$ADDR_A" >"$TMP/hping.out" 2>&1
dur=$(since "$t")
sent=$(awk '/packets transmitted/ { print $1 }' "$TMP/hping.out")
wait_for 10 at_least $((e0 + ${sent:-0})) snmp "$NS_A" IcmpInEchos || true
e1=$(snmp "$NS_A" IcmpInEchos)
r1=$(snmp "$NS_A" IcmpOutEchoReps)
log "ICMP flood: hping3 sent $sent in $dur s; IcmpInEchos +$((e1 - e0)), IcmpOutEchoReps +$((r1 - r0))"
[ "$sent" = 3000 ] && [ $((e1 - e0)) = "$sent" ] || fail "the ICMP flood did not arrive whole"
wait_alert "$PL_LOG" icmp_flood "$SRC_ICMP" "$t" 20
id=$ALERT_ID
[ "$(alert_get "$PL_LOG" "$id" 'a["target"]')" = "$ADDR_A" ] || fail "icmp_flood target"
[ "$(alert_get "$PL_LOG" "$id" 'a["ports"]')" = - ] || fail "icmp_flood ports"
[ "$(alert_get "$PL_LOG" "$id" 'a["proto"]')" = icmp ] || fail "icmp_flood proto"
ended "$id"
count=$(check_alert "$id" "$sent" "$ICMP_PPS" "$dur" "$QUIET") || fail "icmp_flood: $count"
log "alert: count $count of $sent; $(alert_get "$PL_LOG" "$id" 'a["detail"]')"
report "ICMP flood of $sent echo requests (hping3)" "$id" "$t"

# ---- a burst of resets: A connects 400 times to a closed port of B, from its ports
# RST_LPORT0.. one each, and B's kernel resets each ----
RST_LPORT0=40000
o0=$(snmp "$NS_B" TcpOutRsts)
f0=$(snmp "$NS_A" TcpAttemptFails)
k0=$(det rst_in)
t=$(now_s)
read -r refused dur < <(ns_a "$PYTHON" - "$ADDR_A" "$SRC_RST" "$RST_PORT" 400 "$RST_LPORT0" <<'EOF'
import errno, socket, sys, time
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lport0 = int(sys.argv[5])
refused = 0
t0 = time.monotonic()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, lport0 + i))
    if s.connect_ex((dst, port)) == errno.ECONNREFUSED:
        refused += 1
    s.close()
print(refused, "%.3f" % (time.monotonic() - t0))
EOF
)
o1=$(snmp "$NS_B" TcpOutRsts)
f1=$(snmp "$NS_A" TcpAttemptFails)
log "resets: $refused of 400 connections refused in $dur s; B TcpOutRsts +$((o1 - o0)), A TcpAttemptFails +$((f1 - f0))"
[ "$refused" = 400 ] && [ $((o1 - o0)) = 400 ] && [ $((f1 - f0)) = 400 ] ||
	fail "the resets did not all come"
wait_alert "$PL_LOG" rst_burst "$SRC_RST" "$t" 20
id=$ALERT_ID
rst_n() { echo $(($(det rst_in) - k0)); }
wait_eq 5 400 rst_n || true
[ $(($(det rst_in) - k0)) = 400 ] || fail "pktlens' kernel counted $(($(det rst_in) - k0)) resets in"
[ "$(alert_get "$PL_LOG" "$id" 'a["proto"]')" = tcp ] || fail "rst_burst proto"
ended "$id"
count=$(check_alert "$id" 400 "$RST_PPS" "$dur" "$QUIET") || fail "rst_burst: $count"
# what the resets were about: A's address, the local ports of the connections B reset (one reset
# each: as many ports as the alert counted, all among the client's), from B's port RST_PORT
[ "$(alert_get "$PL_LOG" "$id" 'a["target"]')" = "$ADDR_A" ] ||
	fail "rst_burst target: $(alert_get "$PL_LOG" "$id" 'a["target"]')"
rports=$(alert_get "$PL_LOG" "$id" 'a["ports"]')
"$PYTHON" - "$rports" "$count" "$RST_LPORT0" 400 <<'EOF' || fail "rst_burst ports '$rports', count $count"
import sys
ports, count, lo, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seen, more = set(), 0
for part in ports.split(","):
    if part.startswith("+"):
        more += int(part[1:])
    elif "-" in part:
        a, b = map(int, part.split("-"))
        seen.update(range(a, b + 1))
    else:
        seen.add(int(part))
sys.exit(0 if seen and all(lo <= p < lo + n for p in seen) and len(seen) + more == count else 1)
EOF
case "$(alert_get "$PL_LOG" "$id" 'a["detail"]')" in
*"; from port $RST_PORT") ;;
*) fail "rst_burst detail: $(alert_get "$PL_LOG" "$id" 'a["detail"]')" ;;
esac
log "rst_burst: target $ADDR_A, ports $rports"
log "alert: count $count of 400; $(alert_get "$PL_LOG" "$id" 'a["detail"]')"
report "burst of 400 resets" "$id" "$t"

# ---- a burst of drops of one reason: nftables drops UDP to one port; 600 datagrams, 5 every
# 10 ms: at most 500/s (the UDP flood threshold is 1000/s: this is a drop burst, not a flood), and
# on a loaded machine, where a sleep of 10 ms may take 20, still far above 100/s ----
ns_a nft -f - <<NFT || fail "cannot add the nftables rule"
table inet $NFT_TABLE {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport $DROP_PORT counter drop
	}
}
NFT
cleanup_add_cmd "ip netns exec '$NS_A' nft delete table inet $NFT_TABLE"
nft_count() { ns_a nft list table inet $NFT_TABLE | sed -nE 's/.*counter packets ([0-9]+).*/\1/p'; }
t=$(now_s)
read -r sent dur < <(udp_blast "$NS_B" "$SRC_DROP" "$ADDR_A" "$DROP_PORT" 600 0.01 5)
wait_for 10 at_least "$sent" nft_count || true
rule=$(nft_count)
log "drops: sent $sent in $dur s, the nftables rule dropped $rule"
[ "$sent" = 600 ] && [ "$rule" = "$sent" ] || fail "the nftables rule did not drop all"
wait_alert "$PL_LOG" drop_burst "" "$t" 20
id=$ALERT_ID
case "$(alert_get "$PL_LOG" "$id" 'a["detail"]')" in
*"reason NETFILTER_DROP"*"udp $ADDR_A:$DROP_PORT"*) ;;
*) fail "drop_burst detail: $(alert_get "$PL_LOG" "$id" 'a["detail"]')" ;;
esac
[ "$(alert_get "$PL_LOG" "$id" 'a["ports"]')" = "$DROP_PORT" ] || fail "drop_burst ports"
[ "$(alert_get "$PL_LOG" "$id" 'a["target"]')" = "$ADDR_A" ] ||
	fail "drop_burst target: $(alert_get "$PL_LOG" "$id" 'a["target"]')"
ended "$id"
# the drops model saw every one the rule dropped
nf_drops() { json_last "$PL_LOG" | jq '[.drops.by_reason[] | select(.reason == "NETFILTER_DROP") | .count] | add'; }
wait_eq 5 "$rule" nf_drops || true
reason_n=$(nf_drops)
[ "$reason_n" = "$rule" ] || fail "pktlens counted $reason_n NETFILTER_DROP drops, the rule $rule"
count=$(check_alert "$id" "$rule" "$DROP_PPS" "$dur" "$QUIET") || fail "drop_burst: $count"
log "alert: count $count of $rule; $(alert_get "$PL_LOG" "$id" 'a["detail"]')"
report "burst of $rule NETFILTER_DROP drops" "$id" "$t"

# ---- unsolicited DNS answers from port 53 to ports of A that asked nothing: 9 (under the
# threshold of 10), then 1 (an alert counting 10) and 1 s later 5 more (the same alert, 15: within
# quiet=2 s of the last, whatever the load, as the sender itself keeps the pause) ----
# dns_answers FIRST N [PAUSE_S N2]: N answers to ports FIRST.. from SRC_DNS:53 (then after PAUSE_S,
# N2 more to the ports after those); prints how many were sent.
dns_answers() {
	ns_b "$PYTHON" - "$SRC_DNS" "$ADDR_A" "$@" <<'EOF'
import socket, struct, sys, time
src, dst, first, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 53))

def answer(port):
    name = b"".join(bytes([len(l)]) + l for l in (b"spoof%d" % port, b"evil", b"test")) + b"\0"
    hdr = struct.pack("!HHHHHH", port & 0xFFFF, 0x8180, 1, 1, 0, 0)
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([10, 6, 6, 6])
    s.sendto(hdr + name + struct.pack("!HH", 1, 1) + rr, (dst, port))

for i in range(n):
    answer(first + i)
if len(sys.argv) > 6:
    time.sleep(float(sys.argv[5]))
    for i in range(int(sys.argv[6])):
        answer(first + n)
        n += 1
print(n)
EOF
}
dns_n() { echo $(($(det dns_answers_unasked) - d0)); }
d0=$(det dns_answers_unasked)
np0=$(snmp "$NS_A" UdpNoPorts)
t=$(now_s)
[ "$(dns_answers $DNS_PORT0 9)" = 9 ] || fail "the DNS sender failed"
wait_eq 10 9 dns_n || fail "pktlens' kernel counted $(dns_n) unsolicited answers of 9"
two_more
[ -z "$(alerts_since "$PL_LOG" "$t")" ] || fail "9 answers raised: $(alerts_since "$PL_LOG" "$t")"
[ "$(dns_answers $((DNS_PORT0 + 9)) 1 1.0 5)" = 6 ] || fail "the DNS sender failed"
wait_alert "$PL_LOG" dns_unsolicited "$SRC_DNS" "$t" 20
id=$ALERT_ID
wait_eq 10 15 dns_n || fail "pktlens' kernel counted $(dns_n) unsolicited answers of 15"
wait_eq 10 15 alert_get "$PL_LOG" "$id" 'a["count"]' ||
	fail "dns_unsolicited counts $(alert_get "$PL_LOG" "$id" 'a["count"]') of 15"
# the counts it went through: 10 at the 10th answer, 15 with the rest
counts=$(jq -rR --argjson id "$id" 'fromjson? | .alerts[]? | select(.id == $id) | .count' "$PL_LOG" |
	uniq | tr '\n' ' ')
[ "$counts" = "10 15 " ] || fail "dns_unsolicited counted $counts, not 10 then 15"
wait_eq 10 "$((DNS_PORT0 + 14))" alert_get "$PL_LOG" "$id" 'a["ports"].split("-")[-1]' ||
	fail "dns_unsolicited ports: $(alert_get "$PL_LOG" "$id" 'a["ports"]')"
np1=$(snmp "$NS_A" UdpNoPorts)
log "DNS: 15 answers sent; A's UdpNoPorts +$((np1 - np0)) (nobody asked)"
[ $((np1 - np0)) = 15 ] || fail "UdpNoPorts grew by $((np1 - np0)), not 15"
[ "$(alert_get "$PL_LOG" "$id" 'a["ports"]')" = "$DNS_PORT0-$((DNS_PORT0 + 14))" ] ||
	fail "dns_unsolicited ports: $(alert_get "$PL_LOG" "$id" 'a["ports"]')"
[ "$(alert_get "$PL_LOG" "$id" 'a["target"]')" = "$ADDR_A" ] || fail "dns_unsolicited target"
[ "$(alert_get "$PL_LOG" "$id" 'a["proto"]')" = udp ] || fail "dns_unsolicited proto"
ended "$id"
count=$(check_alert "$id" 15 0 0 "$QUIET") || fail "dns_unsolicited: $count"
log "alert: count $count of 15; $(alert_get "$PL_LOG" "$id" 'a["detail"]')"
report "15 unsolicited DNS answers" "$id" "$t"

# ---- 3 more answers, after that alert ended but within the 60 s window of the 15: a new alert
# (18 answers in the window), which counts the 3, not the 15 the ended one counted ----
dns_id=$id
new_dns() {
	json_last "$PL_LOG" | jq -e --arg src "$SRC_DNS" --argjson old "$dns_id" \
		'[.alerts[] | select(.kind == "dns_unsolicited" and .source == $src and .id != $old)
		| .id] | first'
}
t=$(now_s)
[ "$(dns_answers $((DNS_PORT0 + 15)) 3)" = 3 ] || fail "the DNS sender failed"
wait_eq 10 18 dns_n || fail "pktlens' kernel counted $(dns_n) unsolicited answers of 18"
wait_for 20 new_dns || fail "3 more answers raised no new alert: $(alerts_since "$PL_LOG" "$t")"
id=$(new_dns)
ALERT_DELAY=$(since "$t") # at most: polled
ended "$id"
[ "$(alert_get "$PL_LOG" "$dns_id" 'a["count"]')" = 15 ] ||
	fail "the ended dns_unsolicited now counts $(alert_get "$PL_LOG" "$dns_id" 'a["count"]')"
count=$(check_alert "$id" 3 0 0 "$QUIET") || fail "dns_unsolicited again: $count"
log "alert again: count $count of 3; $(alert_get "$PL_LOG" "$id" 'a["detail"]')"
report "3 more unsolicited DNS answers" "$id" "$t"

pktlens_stop INT 20 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC"

# ---- a rate spike: a TCP client at 20 messages a second for 6 s (its baseline), then 2 MB at
# once; its own pktlens, with a baseline after --alert warmup=4 s and spikes from 300/s ----
PL_LOG=$TMP/pl-spike.json
pktlens_start "$PL_LOG" -n "$NS_A" -i "$IF_A" --json --interval 0.5 --alert quiet=$QUIET \
	--alert warmup=$WARMUP --alert spike_pps=$SPIKE_PPS
pktlens_wait_attached "$PL_LOG" tc-ingress "$IF_A" 30 ||
	fail "pktlens did not attach: $(cat "$PL_LOG.err")"
bg_start "$TMP/tcpsink.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
c, _ = s.accept()
n = 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    n += len(b)
print(n, flush=True)
' "$ADDR_A" "$TCP_PORT"
wait_port "$NS_A" tcp "$TCP_PORT" 10
s0=$(snmp "$NS_A" TcpInSegs)
t=$(now_s)
ns_b "$PYTHON" - "$SRC_SPIKE" "$ADDR_A" "$TCP_PORT" "$TMP/spike" <<'EOF' || fail "the TCP client failed"
import socket, sys, time
src, dst, port, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.create_connection((dst, port), source_address=(src, 0))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t0 = time.monotonic()
n = 0
while time.monotonic() - t0 < 6:
    s.send(b"m" * 100)
    n += 1
    time.sleep(0.05)
base = n / (time.monotonic() - t0)
open(out + ".base", "w").write("%d %.1f\n" % (n, base))
open(out + ".burst", "w").write("%.6f\n" % time.time())
t1 = time.monotonic()
s.sendall(b"B" * (2 << 20))
s.shutdown(socket.SHUT_WR)
s.recv(1)
open(out + ".dur", "w").write("%.3f\n" % (time.monotonic() - t1))
s.close()
EOF
wait_for 10 grep -q . "$TMP/tcpsink.log" || fail "the TCP sink did not finish"
[ "$(cat "$TMP/tcpsink.log")" = $(((2 << 20) + 100 * $(cut -d' ' -f1 "$TMP/spike.base"))) ] ||
	fail "the TCP sink received $(cat "$TMP/tcpsink.log") bytes"
s1=$(snmp "$NS_A" TcpInSegs)
read -r msgs base <"$TMP/spike.base"
dur=$(cat "$TMP/spike.dur")
log "spike: $msgs messages at $base/s, then 2 MB in $dur s; A's TcpInSegs +$((s1 - s0))"
wait_alert "$PL_LOG" rate_spike "$SRC_SPIKE" "$t" 20
id=$ALERT_ID
[ "$(alert_get "$PL_LOG" "$id" 'a["target"]')" = "$ADDR_A" ] || fail "rate_spike target"
[ "$(alert_get "$PL_LOG" "$id" 'a["ports"]')" = "$TCP_PORT" ] || fail "rate_spike ports"
[ "$(alert_get "$PL_LOG" "$id" 'a["proto"]')" = tcp ] || fail "rate_spike proto"
ended "$id"
# at most every segment A received from the client; at least the burst's (all but the baseline's
# messages, the handshake's ACK, the FIN and the ACK of the sink's FIN)
burst=$((s1 - s0 - msgs - 3))
count=$(check_alert "$id" $((s1 - s0)) "$SPIKE_PPS" "$dur" "$QUIET" "$burst") ||
	fail "rate_spike: $count"
detail=$(alert_get "$PL_LOG" "$id" 'a["detail"]')
log "alert: count $count of the burst's $burst segments; $detail"
# the baseline it names is the client's own rate, within a quarter
"$PYTHON" -c '
import re, sys
m = re.search(r"baseline of ([0-9.]+)/s", sys.argv[1])
sys.exit(0 if m and abs(float(m.group(1)) - float(sys.argv[2])) <= float(sys.argv[2]) / 4 else 1)
' "$detail" "$base" || fail "the client sent $base/s before the burst; the alert says: $detail"
report "rate spike to $count packets after $base/s" "$id" "$t"

pktlens_stop INT 20 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC"
log "ok"
exit 0
