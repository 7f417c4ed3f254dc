#!/usr/bin/env bash
# 4,000 short-lived processes with sockets: the JSON line stays small (at most 100 processes, the rest summed), the table keeps 512 exited rows, and every process and byte is counted once: listed, left out of the line, evicted, or (when forking took over a minute) expired.
#
# One python in namespace A (watched with -n) forks 4,000 children; child i opens a UDP socket,
# sends 1 + i % 97 bytes to a sink in B and exits. The parent counts the children that sent and
# the bytes. Before the bounds a line carried all 4,000 rows (4.7 MB each second).
set -u
TEST_NAME=procs_many
. "$(dirname "$0")/../lib/netns.sh"

N=4000
SINK_PORT=46301
# bytes of the processes part of a line ("processes" to "process_attribution"): 100 rows of
# well under 1 kB. (The flows list of the same line, 4,000 UDP flows, is bounded by issue 18's
# flow limit, not here.)
MAX_PROCS_PART=131072

require_root
require_pktlens
require_cmd ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 223

cat >"$TMP/sink.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
open(sys.argv[3], "w").close()
while True:
    s.recv(65536)
EOF

cat >"$TMP/many.py" <<'EOF'
# Forks n children one after the other; each sends one datagram and exits at once.
import json, os, socket, sys
addr, port, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sent = total = 0
for i in range(n):
    size = 1 + i % 97
    pid = os.fork()
    if pid == 0:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ok = s.sendto(b"x" * size, (addr, port)) == size
        os._exit(0 if ok else 1)
    _, st = os.waitpid(pid, 0)
    if st == 0:
        sent += 1
        total += size
with open(out, "w") as f:
    json.dump({"children": sent, "bytes": total}, f)
EOF

bg_start "$TMP/sink.log" ip netns exec "$NS_B" "$PYTHON" "$TMP/sink.py" "$ADDR_B" "$SINK_PORT" \
	"$TMP/sink.ready"
wait_for 5 test -e "$TMP/sink.ready" || fail "sink did not start: $(cat "$TMP/sink.log")"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 1
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:sock_send_length 15 ||
	fail "sock_send_length did not attach: $(cat "$TMP/pl.json.err")"

t0=$SECONDS
timeout 240 ip netns exec "$NS_A" "$PYTHON" -S "$TMP/many.py" "$ADDR_B" "$SINK_PORT" "$N" \
	"$TMP/many.json" >"$TMP/many.log" 2>&1 || fail "the forking program failed: $(cat "$TMP/many.log")"
log "$N children in $((SECONDS - t0)) s: $(cat "$TMP/many.json")"
# two more readings after the last child, then the last line on exit
lines() { grep -c '^{' "$TMP/pl.json"; }
n0=$(lines)
more() { [ "$(lines)" -ge $((n0 + 2)) ]; }
wait_for 30 more || fail "pktlens stopped writing"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"

"$PYTHON" - "$TMP" "$MAX_PROCS_PART" <<'EOF'
import json, sys
tmp, max_part = sys.argv[1], int(sys.argv[2])
want = json.load(open(tmp + "/many.json"))
lines = [l for l in open(tmp + "/pl.json", "rb") if l.startswith(b"{")]
bad = []

def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg)
    if not cond:
        bad.append(msg)

def part(l):
    a = l.index(b',"processes":[')
    return len(l[a:l.index(b',"process_attribution":', a)])
longest = max(len(l) for l in lines)
parts = [part(l) for l in lines]
print("%d lines, longest %d bytes, processes part at most %d bytes" % (len(lines), longest,
                                                                       max(parts)))
check(max(parts) <= max_part, "the processes part of every line at most %d bytes (%d)"
      % (max_part, max(parts)))
for l in lines:
    j = json.loads(l)
    if len(j["processes"]) > 100:
        check(False, "a line lists %d processes (at most 100)" % len(j["processes"]))
        break
j = json.loads(lines[-1])
procs, rest = j["processes"], j["processes_left_out"]
ev = j["process_attribution"]["processes_evicted"]
ex = j["process_attribution"]["processes_expired"]
listed_tx = sum(p["tx_bytes"] for p in procs)
print("listed %d (tx %d), left out %s, evicted %s, expired %s, untracked sockets %d" % (
    len(procs), listed_tx, rest, ev, ex, j["process_attribution"]["sockets_untracked"]))
check(want["children"] == 4000, "the program's children all sent: %d" % want["children"])
check(len(procs) == 100, "100 processes listed: %d" % len(procs))
check(all(p["exited"] and p["comm"] == "python3" for p in procs), "listed ones exited, python3")
check(all(procs[i]["tx_bytes"] >= procs[i + 1]["tx_bytes"] for i in range(len(procs) - 1)),
      "listed largest first")
# 512 exited rows kept, unless forking took so long that the first ones reached the end of
# their keep time (60 s) and were forgotten (expired) before the table was full
rows = rest["count"] + len(procs)
check(rows == 512 if not ex["count"] else rows <= 512,
      "the table keeps 512 exited processes: %d listed + %d left out (%d expired)"
      % (len(procs), rest["count"], ex["count"]))
check(rows + ev["count"] + ex["count"] == want["children"],
      "every child counted once: %d listed + %d left out + %d evicted + %d expired = %d"
      % (len(procs), rest["count"], ev["count"], ex["count"], want["children"]))
got = listed_tx + rest["tx_bytes"] + ev["tx_bytes"] + ex["tx_bytes"]
check(got == want["bytes"], "every byte counted once: %d + %d + %d + %d = %d (the children "
      "sent %d)" % (listed_tx, rest["tx_bytes"], ev["tx_bytes"], ex["tx_bytes"], got,
                    want["bytes"]))
check(j["process_attribution"]["sockets_untracked"] == 0, "no socket untracked")
sys.exit(1 if bad else 0)
EOF
rc=$?
[ "$rc" = 0 ] || fail "the processes list or its counts are wrong (see above)"
log "pass"
exit 0
