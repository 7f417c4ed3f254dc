#!/usr/bin/env bash
# The kinds of the Retransmissions list, from the watched namespace A: SYNs it retransmits to a
# port whose SYNs B drops, SYN-ACKs it retransmits when B drops them, resets it sends for a closed
# port and resets it receives from one. Each kind's events in retransmits.recent (with the
# flow's remote port and the socket state) equal the frames of a dumpcap capture on A's veth;
# retransmits.total equals TcpRetransSegs' growth.
set -u
TEST_NAME=retrans_kinds
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/capture.sh
. "$(dirname "$0")/../lib/capture.sh"

SYN_PORT=46401    # B drops SYNs to it: A's connect retransmits its SYN
SYNACK_PORT=46402 # A listens; B drops the SYN-ACKs: A retransmits them
RSTOUT_PORT=46403 # closed in A: B's SYNs get A's resets
RSTIN_PORT=46404  # closed in B: A's SYNs get B's resets
NFT_TABLE=pktlens_retrans_kinds
# A reset received in SYN_SENT (connection refused) carries the socket's own state: its socks
# entry never saw SYN_SENT (connect() enters it before the port is chosen).

require_root
require_cmd ip nft nstat dumpcap tshark "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 251

ip netns exec "$NS_B" nft -f - <<NFT || fail "cannot add the nftables rules"
table inet $NFT_TABLE {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport $SYN_PORT tcp flags syn drop
		tcp sport $SYNACK_PORT tcp flags & (syn | ack) == syn | ack drop
	}
}
NFT
cleanup_add_cmd "ip netns exec '$NS_B' nft delete table inet $NFT_TABLE"
bg_start "$TMP/listen.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1]))); l.listen(8)
time.sleep(600)
' "$SYNACK_PORT"
listener=$BG_PID
wait_port "$NS_A" tcp "$SYNACK_PORT"

retrans_segs() { ip netns exec "$NS_A" nstat -asz TcpRetransSegs | awk '/^TcpRetransSegs/ { print $2 }'; }
# connect NS ADDR PORT TIMEOUT_S: one connection attempt; its outcome does not matter
connect() {
	ip netns exec "$1" "$PYTHON" -c '
import socket, sys
s = socket.socket(); s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    pass
' "$2" "$3" "$4"
}

capture_start "$NS_A" "$IF_A" "$TMP/cap.pcapng" "tcp"
pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tracepoint tcp:tcp_retransmit_synack 20 ||
	fail "tcp_retransmit_synack did not attach: $(cat "$TMP/pl.json.err")"
pktlens_wait_attached "$TMP/pl.json" tracepoint tcp:tcp_send_reset 5 || fail "tcp_send_reset did not attach"
r0=$(retrans_segs)
# SYN at 0 s, again at 1 s and 3 s
connect "$NS_A" "$ADDR_B" "$SYN_PORT" 3.5 &
c1=$!
# B's SYN, then its retransmissions; A answers each and retransmits its SYN-ACK on its own timer
connect "$NS_B" "$ADDR_A" "$SYNACK_PORT" 3.5 &
c2=$!
for i in 1 2 3; do connect "$NS_B" "$ADDR_A" "$RSTOUT_PORT" 2; done
for i in 1 2; do connect "$NS_A" "$ADDR_B" "$RSTIN_PORT" 2; done
wait "$c1" "$c2"
# the listener's pending request would go on retransmitting its SYN-ACK: closing it ends that
kill "$listener"
wait_pid_exit "$listener" 5 || fail "the listener did not exit"
sleep 0.3
r1=$(retrans_segs)
lines=$(json_count "$TMP/pl.json")
wait_for 10 sh -c "[ \$(grep -c '^{' '$TMP/pl.json') -ge $((lines + 2)) ]" || fail "pktlens stopped printing"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
capture_stop
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"
tshark -n -r "$TMP/cap.pcapng" -T fields -E separator=/t -e ip.src -e tcp.srcport -e tcp.dstport \
	-e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.reset >"$TMP/frames.tsv" 2>"$TMP/tshark.err" ||
	fail "tshark could not read the capture: $(cat "$TMP/tshark.err")"

"$PYTHON" - "$TMP/last.json" "$TMP/frames.tsv" "$ADDR_A" "$((r1 - r0))" "$SYN_PORT" "$SYNACK_PORT" \
	"$RSTOUT_PORT" "$RSTIN_PORT" <<'PY' || fail "the retransmission kinds disagree with the capture"
import collections, json, sys
j = json.load(open(sys.argv[1]))
a, retrans = sys.argv[3], int(sys.argv[4])
syn_p, synack_p, rstout_p, rstin_p = map(int, sys.argv[5:9])
frames = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
def count(src_a, sport=None, dport=None, syn=None, ack=None, rst=None):
    n = 0
    for f in frames:
        if (f[0] == a) != src_a:
            continue
        if sport is not None and int(f[1]) != sport or dport is not None and int(f[2]) != dport:
            continue
        if syn is not None and (f[3] in ("1", "True")) != syn:
            continue
        if ack is not None and (f[4] in ("1", "True")) != ack:
            continue
        if rst is not None and (f[5] in ("1", "True")) != rst:
            continue
        n += 1
    return n
# per kind: frames in the capture, and the port and state each event must show
want = {
    "syn": (count(True, dport=syn_p, syn=True, ack=False) - 1, syn_p, "SYN_SENT"),
    "synack": (count(True, sport=synack_p, syn=True, ack=True) - 1, synack_p, "SYN_RECV"),
    "rst-out": (count(True, sport=rstout_p, rst=True), rstout_p, "-"),
    "rst-in": (count(False, sport=rstin_p, rst=True), rstin_p, "SYN_SENT"),
}
ev = collections.defaultdict(list)
for e in j["retransmits"]["recent"]:
    ev[e["kind"]].append(e)
bad = []
for kind, (n, port, state) in want.items():
    es = ev.get(kind, [])
    print("  %-7s capture %d   pktlens %d  %s" % (kind, n, len(es),
          sorted(set((e["flow"].split(":")[-1], e["state"]) for e in es))), file=sys.stderr)
    if len(es) != n or n < 1:
        bad.append("%s: %d events, %d in the capture" % (kind, len(es), n))
    for e in es:
        st = e["state"]
        if (":%d " % port) not in e["flow"] + " " or st != state:
            bad.append("%s event %s in state %s" % (kind, e["flow"], e["state"]))
print("  retransmits.total %d, TcpRetransSegs +%d" % (j["retransmits"]["total"], retrans), file=sys.stderr)
if j["retransmits"]["total"] != retrans:
    bad.append("retransmits.total")
if j["tcp"]["resets_tx"] != want["rst-out"][0] or j["tcp"]["resets_rx"] != want["rst-in"][0]:
    bad.append("tcp.resets_tx/rx %d/%d" % (j["tcp"]["resets_tx"], j["tcp"]["resets_rx"]))
if bad:
    sys.exit("wrong: " + "; ".join(bad))
PY
log "ok"
exit 0
