#!/usr/bin/env bash
# -w: pktlens' pcapng files read by tshark against independent ground truth.
#  1. -w FILE on A while a TCP client and a UDP sender (their pids printed by themselves) talk to
#     B: per protocol, the file holds exactly the frames a dumpcap on B's end of the veth saw
#     (UDP: exactly the sender's count), every TCP and UDP frame carries "pid=N comm=NAME" of the
#     process that owns it, the interface is vethA and the direction flag matches the source
#     address; the exit message says "N packets written ..., 0 lost" with N the file's count.
#  2. -w - -f 'udp port P' -s 60 piped into tshark -r -: exactly the sender's datagrams, each cut
#     to 60 bytes with its whole length kept, no other packet.
#  3. kill -9 in the middle of a stream: the file still reads without an error.
# test-timeout: 240
set -u
TEST_NAME=${TEST_NAME:-pcapng_tshark}
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/capture.sh"
. "$(dirname "$0")/../lib/tcx.sh"

N_UDP=150
N_MSG=20
TCP_PORT=7100
UDP_PORT=9999

require_root
require_cmd ip tshark dumpcap "$PYTHON"
require_pktlens

cleanup_init
make_tmpdir
build_tcxtool
netns_pair 231
netns_no_offloads

# wait_attached: both tc programs of pktlens on vethA
attached() { [ "$(pktlens_progs "$NS_A" "$IF_A" ingress)" -ge 1 ] && [ "$(pktlens_progs "$NS_A" "$IF_A" egress)" -ge 1 ]; }
wait_attached() { wait_for 20 attached || fail "pktlens did not attach: $(cat "$1" 2>/dev/null)"; }
not_attached() { [ "$(pktlens_progs "$NS_A" "$IF_A" ingress)" = 0 ] && [ "$(pktlens_progs "$NS_A" "$IF_A" egress)" = 0 ]; }

# udp_send COUNT LEN: datagrams from A to B; prints the sender's pid and what it sent.
udp_send() {
	ns_a "$PYTHON" -c '
import os, socket, sys, time
n, ln, dst, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = sum(s.sendto(b"p" * ln, (dst, port)) == ln and not time.sleep(0.002) for _ in range(n))
print(os.getpid(), sent, open("/proc/self/cgroup").read().split("::")[-1].strip())
' "$1" "$2" "$ADDR_B" "$UDP_PORT"
}

# tshark_fields FILE FILTER FIELDS...: one line per frame, fields separated by |
tshark_fields() {
	local f=$1 flt=$2
	shift 2
	local args=()
	for x in "$@"; do args+=(-e "$x"); done
	tshark -r "$f" -Y "$flt" -T fields -E separator='|' "${args[@]}" 2>"$TMP/tshark.err" ||
		fail "tshark cannot read $f: $(cat "$TMP/tshark.err")"
}

# ---- 1. -w FILE beside --json ----
bg_start "$TMP/srv.log" ip netns exec "$NS_B" "$PYTHON" -u -c '
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
print("pid", os.getpid(), flush=True)
c, _ = s.accept()
while True:
    d = c.recv(300, socket.MSG_WAITALL)
    if not d:
        break
    c.sendall(b"r" * 100)
c.close()
' "$TCP_PORT"
wait_port "$NS_B" tcp "$TCP_PORT"
pktlens_start "$TMP/pl1.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5 -w "$TMP/all.pcapng"
wait_attached "$TMP/pl1.json.err"
capture_start "$NS_B" "$IF_B" "$TMP/truth.pcapng"

read -r tcp_pid tcp_cg < <(ns_a "$PYTHON" -c '
import os, socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print(os.getpid(), open("/proc/self/cgroup").read().split("::")[-1].strip(), flush=True)
for i in range(int(sys.argv[3])):
    c.sendall(b"q" * 300)
    got = 0
    while got < 100:
        got += len(c.recv(100 - got))
c.close()
' "$ADDR_B" "$TCP_PORT" "$N_MSG") || fail "the TCP client failed"
read -r udp_pid udp_sent udp_cg < <(udp_send "$N_UDP" 100) || fail "the UDP sender failed"
[ "$udp_sent" = "$N_UDP" ] || fail "the UDP sender sent $udp_sent of $N_UDP"
# the TCP connection's last FIN/ACK, the ICMP answers: on the wire before both captures stop
wait_for 10 sh -c "[ -z \"\$(ip netns exec '$NS_A' ss -Htn 'dport = :$TCP_PORT' | grep -v TIME-WAIT)\" ]"
sleep 1
capture_stop
pktlens_stop INT 20 || fail "pktlens did not stop on SIGINT"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl1.json.err")"
wait_for 10 not_attached || fail "pktlens left a program attached"

total=$(tshark_fields "$TMP/all.pcapng" "" frame.number | wc -l)
grep -qx "pktlens: $total packets written to $TMP/all.pcapng, 0 lost" "$TMP/pl1.json.err" ||
	fail "exit message '$(cat "$TMP/pl1.json.err")' does not say the file's $total packets, 0 lost"
log "exit message: $(cat "$TMP/pl1.json.err")"
for flt in "tcp.port == $TCP_PORT" "udp.port == $UDP_PORT" "icmp"; do
	a=$(tshark_fields "$TMP/all.pcapng" "$flt" frame.number | wc -l)
	b=$(tshark_fields "$TMP/truth.pcapng" "$flt" frame.number | wc -l)
	log "  $flt: pktlens wrote $a, dumpcap on B saw $b"
	[ "$a" = "$b" ] && [ "$a" -gt 0 ] || fail "$flt: pktlens wrote $a frames, the wire had $b"
done
nu=$(tshark_fields "$TMP/all.pcapng" "udp.dstport == $UDP_PORT && !icmp" frame.number | wc -l)
[ "$nu" = "$N_UDP" ] || fail "the file has $nu of the sender's $N_UDP datagrams"

# owner_ok FILE PID CGROUP: every line of FILE is PID's comment: "pid=PID comm=python3", and
# " cgroup=PATH" when the process was alive when pktlens looked (not for the root cgroup)
owner_ok() {
	local want="pid=$2 comm=python3"
	[ "$3" = / ] && grep -vxqF "$want" "$1" && return 1
	[ "$3" = / ] || ! grep -vxqF -e "$want" -e "$want cgroup=$3" "$1"
}

# the interface and the direction of every TCP and UDP frame
tshark_fields "$TMP/all.pcapng" "(tcp.port == $TCP_PORT || udp.port == $UDP_PORT) && !icmp" \
	frame.comment frame.interface_name frame.packet_flags_direction ip.src >"$TMP/own.txt"
"$PYTHON" - "$TMP/own.txt" "$IF_A" "$ADDR_A" <<'PY' ||
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
ifname, addr_a = sys.argv[2], sys.argv[3]
bad = 0
for comment, iface, flags, src in rows:
    # tshark prints the direction flag as 0x00000001 (inbound) / 0x00000002 (outbound)
    d = int(flags, 16) & 3 if flags else 0
    want_d = 2 if src == addr_a else 1
    if iface != ifname or d != want_d:
        bad += 1
        print("  frame from %s: interface %r direction %d, want %r %d" % (src, iface, d, ifname, want_d))
sys.exit(1 if bad else 0)
PY
	fail "frames with a wrong interface or direction"
# the TCP frames are the client's, the UDP ones the sender's: every one of them
tshark_fields "$TMP/all.pcapng" "tcp.port == $TCP_PORT" frame.comment >"$TMP/tcp.own"
tshark_fields "$TMP/all.pcapng" "udp.dstport == $UDP_PORT && !icmp" frame.comment >"$TMP/udp.own"
owner_ok "$TMP/tcp.own" "$tcp_pid" "$tcp_cg" ||
	fail "TCP frames' owners: $(sort "$TMP/tcp.own" | uniq -c | tr '\n' ';'), the client is $tcp_pid"
owner_ok "$TMP/udp.own" "$udp_pid" "$udp_cg" ||
	fail "UDP frames' owners: $(sort "$TMP/udp.own" | uniq -c | tr '\n' ';'), the sender is $udp_pid"
log "1: $total frames; TCP frames all pid=$tcp_pid, UDP all pid=$udp_pid; interface and direction right"

# ---- 2. -w - -f -s into a pipe ----
N2=80
LEN2=200
(ip netns exec "$NS_A" "$PKTLENS" -i "$IF_A" --interval 0.5 -w - -f "udp port $UDP_PORT" -s 60 \
	2>"$TMP/pl2.err" | tshark -r - -T fields -E separator='|' -e frame.len -e frame.cap_len \
	-e frame.comment -e udp.dstport >"$TMP/pipe.txt" 2>"$TMP/tshark2.err") &
PIPE_PID=$!
cleanup_add_pid "$PIPE_PID"
wait_attached "$TMP/pl2.err"
# one datagram -f does not select
ns_a "$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x" * 10, (sys.argv[1], 5353))' "$ADDR_B"
read -r pid2 sent2 cg2 < <(udp_send "$N2" "$LEN2") || fail "the UDP sender failed"
sleep 1.5
pl2=$(ps -o pid=,comm= --ppid "$PIPE_PID" | awk '$2 == "pktlens" { print $1 }')
[ -n "$pl2" ] || fail "pktlens of the pipe is gone: $(cat "$TMP/pl2.err")"
kill -INT "$pl2"
wait_pid_exit "$PIPE_PID" 20 || fail "the pipe did not end"
wait "$PIPE_PID" 2>/dev/null
n2=$(wc -l <"$TMP/pipe.txt")
want_line="$((14 + 20 + 8 + LEN2))|60|pid=$pid2 comm=python3|$UDP_PORT"
want_cg="$((14 + 20 + 8 + LEN2))|60|pid=$pid2 comm=python3 cgroup=$cg2|$UDP_PORT"
other=$(grep -vcxF -e "$want_line" -e "$want_cg" "$TMP/pipe.txt")
log "2: the pipe got $n2 frames ($other other than '$want_line'); $(cat "$TMP/pl2.err")"
[ "$n2" = "$sent2" ] && [ "$other" = 0 ] ||
	fail "tshark -r - read $n2 frames ($other unlike '$want_line'), the sender sent $sent2: $(head -3 "$TMP/pipe.txt") $(cat "$TMP/tshark2.err")"
grep -qx "pktlens: $sent2 packets written to standard output, 0 lost ([0-9]* not selected by -f)" "$TMP/pl2.err" ||
	fail "exit message: $(cat "$TMP/pl2.err")"

# ---- 3. kill -9 while writing ----
pktlens_start "$TMP/pl3.json" -n "$NS_A" -i "$IF_A" --json --interval 0.2 -w "$TMP/killed.pcapng"
wait_attached "$TMP/pl3.json.err"
bg_start "$TMP/stream.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 4
while time.time() < end:
    s.sendto(b"k" * 1000, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.0005)
' "$ADDR_B" "$UDP_PORT"
sleep 2
kill -KILL "$PL_PID"
wait "$PL_PID" 2>/dev/null
n3=$(tshark -r "$TMP/killed.pcapng" 2>&1 >/dev/null | grep -v 'Running as user' >"$TMP/tshark3.err"
	tshark -r "$TMP/killed.pcapng" 2>/dev/null | wc -l)
[ ! -s "$TMP/tshark3.err" ] || fail "tshark on the file of a killed pktlens: $(cat "$TMP/tshark3.err")"
[ "$n3" -gt 100 ] || fail "the file of a killed pktlens holds only $n3 frames"
log "3: killed with SIGKILL mid-stream: tshark reads its $n3 frames without a complaint"
log "PASS"
