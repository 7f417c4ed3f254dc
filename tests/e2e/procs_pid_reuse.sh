#!/usr/bin/env bash
# Pid reuse: a process that gets the pid of one that exited is a new process (its own name, bytes and flow), and forgetting the old one leaves the new one's counts whole.
#
# In namespace A (watched with -n) a child named pl-old sends 111 bytes over UDP and exits;
# its pid is then given to a new child, pl-new, with clone3's set_tid (root may pick the pid a
# child gets: deterministic, unlike waiting for the pid space to wrap). pl-new sends 2222
# bytes, waits until pktlens has forgotten pl-old (PL_PROC_KEEP_S, 60 s after it exited),
# sends 33 more and stays. pktlens must show two rows for the pid while both are listed, then
# pl-new alone with 2255 bytes, its start time as /proc/PID/stat says.
set -u
TEST_NAME=procs_pid_reuse
. "$(dirname "$0")/../lib/netns.sh"

SINK_PORT=46401
OLD_PORT=46402
NEW_PORT=46403

require_root
require_pktlens
require_cmd ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 224

cat >"$TMP/sink.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
open(sys.argv[3], "w").close()
while True:
    s.recv(65536)
EOF

cat >"$TMP/reuse.py" <<'EOF'
# pl-old with fork(), then pl-new with clone3(set_tid = [pl-old's pid]) once pl-old is reaped.
import ctypes, os, signal, socket, struct, sys, time
local, addr, sink, old_port, new_port, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]

def child(name, port, first, more):
    open("/proc/self/comm", "w").write(name)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((local, port))
    assert s.sendto(b"o" * first, (addr, sink)) == first
    if not more:
        os._exit(0)
    open(d + "/new.sent", "w").write(str(os.getpid()))
    while not os.path.exists(d + "/new.more"):
        time.sleep(0.05)
    assert s.sendto(b"n" * more, (addr, sink)) == more
    open(d + "/new.sent2", "w").close()
    time.sleep(600)
    os._exit(0)

pid = os.fork()
if pid == 0:
    child("pl-old", old_port, 111, 0)
os.waitpid(pid, 0)
open(d + "/old.pid", "w").write(str(pid))
while not os.path.exists(d + "/old.seen"):
    time.sleep(0.05)

# struct clone_args (linux/sched.h): flags, pidfd, child_tid, parent_tid, exit_signal, stack,
# stack_size, tls, set_tid, set_tid_size, cgroup
libc = ctypes.CDLL(None, use_errno=True)
tid = (ctypes.c_int32 * 1)(pid)
args = struct.pack("11Q", 0, 0, 0, 0, signal.SIGCHLD, 0, 0, 0, ctypes.addressof(tid), 1, 0)
buf = ctypes.create_string_buffer(args, len(args))
libc.syscall.restype = ctypes.c_long
ret = libc.syscall(ctypes.c_long(435), buf, ctypes.c_size_t(len(args)))  # SYS_clone3
if ret == 0:
    child("pl-new", new_port, 2222, 33)
if ret < 0:
    sys.exit("clone3 with set_tid %d: %s" % (pid, os.strerror(ctypes.get_errno())))
assert ret == pid, (ret, pid)
os.waitpid(ret, 0)
EOF

bg_start "$TMP/sink.log" ip netns exec "$NS_B" "$PYTHON" "$TMP/sink.py" "$ADDR_B" "$SINK_PORT" \
	"$TMP/sink.ready"
wait_for 5 test -e "$TMP/sink.ready" || fail "sink did not start: $(cat "$TMP/sink.log")"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:sock_send_length 15 ||
	fail "sock_send_length did not attach: $(cat "$TMP/pl.json.err")"
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 5 || fail "tc ingress did not attach"

bg_start "$TMP/reuse.log" ip netns exec "$NS_A" "$PYTHON" "$TMP/reuse.py" "$ADDR_A" "$ADDR_B" \
	"$SINK_PORT" "$OLD_PORT" "$NEW_PORT" "$TMP"
wait_for 10 test -s "$TMP/old.pid" || fail "pl-old did not run: $(cat "$TMP/reuse.log")"
P=$(cat "$TMP/old.pid")

# rows: "pid comm exited tx_bytes start_time" of pid P in the last line
rows() {
	json_last "$TMP/pl.json" | "$PYTHON" -c '
import json, sys
for p in json.loads(sys.stdin.read())["processes"]:
    if p["pid"] == int(sys.argv[1]):
        print(p["pid"], p["comm"], p["exited"], p["tx_bytes"], "%.2f" % p["start_time"])' "$P"
}
old_seen() { rows | grep -q "^$P pl-old True 111 "; }
wait_for 10 old_seen || fail "pktlens does not show pl-old (pid $P) exited with 111 bytes: $(rows)"
T_OLD=$SECONDS
touch "$TMP/old.seen"
wait_for 10 test -s "$TMP/new.sent" || fail "pl-new did not run: $(cat "$TMP/reuse.log")"
[ "$(cat "$TMP/new.sent")" = "$P" ] || fail "pl-new has pid $(cat "$TMP/new.sent"), not $P"
# field 22 of /proc/PID/stat (after the ")" that ends comm, field 20 of the rest)
START=$(sed 's/.*) //' "/proc/$P/stat" | awk '{ printf "%.2f", $20 / 100 }')
log "pid $P: pl-old exited, pl-new started at $START s after boot"

both() {
	local r
	r=$(rows)
	[ "$(echo "$r" | wc -l)" = 2 ] && echo "$r" | grep -qx "$P pl-new False 2222 $START" &&
		echo "$r" | grep -q "^$P pl-old True 111 "
}
wait_for 10 both || fail "pid $P: expected pl-old (exited, 111 B) and pl-new (live, 2222 B): $(rows)"
flows() {
	json_last "$TMP/pl.json" | "$PYTHON" -c '
import json, sys
print(sorted((f["local_port"], f["pid"], f["comm"]) for f in json.loads(sys.stdin.read())["flows"]
             if f["proto"] == "udp" and f["remote_port"] == int(sys.argv[1])))' "$SINK_PORT"
}
want_flows="[($OLD_PORT, $P, 'pl-old'), ($NEW_PORT, $P, 'pl-new')]"
flows_ok() { [ "$(flows)" = "$want_flows" ]; }
wait_for 5 flows_ok || fail "flows: expected $want_flows, got $(flows)"
log "two processes with pid $P: $(rows | tr '\n' ';') flows $(flows)"

# pl-old is forgotten PL_PROC_KEEP_S (60 s) after it was seen exited: look once a second
only_new() { [ "$(rows)" = "$P pl-new False 2222 $START" ]; }
deadline=$((SECONDS + 90))
until only_new; do
	[ "$SECONDS" -lt "$deadline" ] || fail "pl-old was not forgotten, or pl-new changed: $(rows)"
	sleep 1
done
log "pl-old forgotten after $((SECONDS - T_OLD)) s"
touch "$TMP/new.more"
wait_for 10 test -e "$TMP/new.sent2" || fail "pl-new did not send again: $(cat "$TMP/reuse.log")"
# its map entries were kept: the 33 new bytes add to the 2222
after() { [ "$(rows)" = "$P pl-new False 2255 $START" ]; }
wait_for 10 after || fail "pl-new after pl-old was forgotten: expected 2255 bytes, $(rows)"
# pl-old's flow stays its own (the flow outlives the row)
wait_for 5 flows_ok || fail "flows: expected $want_flows, got $(flows)"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
log "pass"
exit 0
