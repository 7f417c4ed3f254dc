#!/usr/bin/env bash
# TUI w key under tmux: on a UDP flow it starts writing that flow to a pcapng file named on the
# status line; the sender's datagrams while it writes (and only those, not another flow's) are in
# the file, exactly, each with the receiving process's pid; w again stops and says how many.
set -u
TEST_NAME=tui-pcapng-key
. "$(dirname "$0")/lib.sh"

PORT=5140
OTHER=5141
N=40

tui_require
require_cmd tshark
cleanup_init
make_tmpdir
netns_pair 232
netns_no_offloads
# the files land in pktlens' current folder: the test's own
cd "$TMP" || fail "cannot enter $TMP"

bg_start "$TMP/rcv.log" ip netns exec "$NS_A" "$PYTHON" -u -c '
import os, socket, sys
socks = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(p)))
    socks.append(s)
print(os.getpid(), flush=True)
import select
while True:
    for s in select.select(socks, [], [])[0]:
        s.recv(65536)
' "$PORT" "$OTHER"
wait_port "$NS_A" udp "$PORT"
wait_for 5 test -s "$TMP/rcv.log" || fail "the receiver did not start"
rcv_pid=$(head -n 1 "$TMP/rcv.log")

# send PORT COUNT: COUNT datagrams of 100 bytes from B (one source port per call: one flow)
send() {
	ns_b "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40000 + int(sys.argv[2]) % 1000))
for i in range(int(sys.argv[3])):
    s.sendto(b"d" * 100, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.005)
' "$ADDR_A" "$1" "$2" || fail "the sender failed"
}

tui_start 160 40 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "1 Flows"
send "$PORT" 3
send "$OTHER" 3
tui_wait "$ADDR_A:$PORT" 10
tui_keys /
tui_type "$ADDR_A:$PORT "
tui_keys Enter
tui_wait_re " 1/[0-9]+ flows"

tui_keys w
tui_wait "writing udp" 5
file=$(ls "$TMP"/pktlens-*.pcapng 2>/dev/null)
[ -n "$file" ] && [ "$(echo "$file" | wc -l)" = 1 ] || fail "no one file written: $(ls "$TMP")"
tui_cap | grep -qF "${file##*/}" || fail "the status line does not name ${file##*/}: $(tui_cap | tail -3)"
log "status: $(tui_cap | grep -F 'writing udp')"

send "$PORT" "$N"
send "$OTHER" 10
sleep 1.5 # the last datagrams' owner: one refresh after them (they also wait for w)
tui_keys w
tui_wait "wrote $N packets of udp" 5 ||
	fail "the status line: $(tui_cap | grep -E 'wrote|writing')"
log "status: $(tui_cap | grep -F "wrote $N")"
send "$PORT" 5 # after the stop: not in the file

n=$(tshark -r "$file" -T fields -e udp.dstport -e frame.len -e frame.comment -e frame.interface_name \
	-e frame.packet_flags_direction 2>/dev/null | sort | uniq -c | sed 's/^ *//')
want="$N $PORT	$((14 + 20 + 8 + 100))	pid=$rcv_pid comm=python3	$IF_A	0x00000001"
want_cg="$N $PORT	$((14 + 20 + 8 + 100))	pid=$rcv_pid comm=python3 cgroup=$(cut -d: -f3 "/proc/$rcv_pid/cgroup")	$IF_A	0x00000001"
[ "$n" = "$want" ] || [ "$n" = "$want_cg" ] ||
	fail "the file holds '$n', want '$want' (the sender's $N datagrams, the receiver's pid)"
log "file: $n"
tui_quit
log "PASS"
