#!/usr/bin/env bash
# TUI Processes pane under tmux: a process whose worker thread uses the socket shows under its own name, and its detail names the thread (name/tid) beside the socket.
set -u
TEST_NAME=tui-procs-threads
. "$(dirname "$0")/lib.sh"

tui_require
cleanup_init
make_tmpdir
netns_pair 225

# main thread pl-tmain, worker pl-sender: 100 bytes over UDP to B every 50 ms from the worker
bg_start "$TMP/sender.log" ip netns exec "$NS_A" "$PYTHON" -c '
import os, socket, sys, threading, time
open("/proc/self/comm", "w").write("pl-tmain")
def work():
    tid = threading.get_native_id()
    open("/proc/self/task/%d/comm" % tid, "w").write("pl-sender")
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write("%d %d" % (os.getpid(), tid))
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while True:
        s.sendto(b"t" * 100, (sys.argv[1], 9))
        time.sleep(0.05)
threading.Thread(target=work, daemon=True).start()
time.sleep(600)
' "$ADDR_B" "$TMP/ids"
wait_for 5 test -s "$TMP/ids" || fail "the threaded sender did not start: $(cat "$TMP/sender.log")"
read -r PID TID <"$TMP/ids"
log "sender pid $PID, thread $TID"

tui_start 200 40 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "1 Flows"
tab=$(tui_cap | grep -oE '[0-9] Processes' | head -1 | cut -c1)
[ -n "$tab" ] || fail "no Processes tab: $(tui_cap | head -3)"
tui_keys "$tab"
tui_wait "CONN/S"
# the process under its own (main thread's) name
tui_wait_re " +$PID pl-tmain " 8
tui_keys f
tui_type "$PID"
tui_keys Enter
tui_wait_re " 1/[0-9]+ processes"
tui_keys Enter
tui_wait "Process pl-tmain/$PID"
tui_wait "Sockets:"
# the socket's line names the worker thread that sends
tui_wait_re "udp .*thread pl-sender/$TID" 8
log "socket line: $(tui_line "thread pl-sender")"
tui_keys Escape
tui_wait_gone "Sockets:"
tui_keys Escape
tui_quit
log "ok"
