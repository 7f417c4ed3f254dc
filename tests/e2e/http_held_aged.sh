#!/usr/bin/env bash
# HTTP responses still held in their flows are counted, not lost: when the flow ages out, and
# when pktlens exits. The packet programs hold each response in the flow until the other
# direction's next packet sends it (bpf/lib/l7.bpf.h, pl_l7_hold). Seen from one side only (here
# tc egress alone on the server, which sees responses and never the client's packets) the last
# response of a connection waits for the connection's end; a keep-alive connection idle longer
# than --idle leaves the table first, and one still open when pktlens exits never ends in its
# view. Ground truth: the server's own access log. One connection of three requests idles past
# --idle before it closes; a second one, of two requests, is open when pktlens stops; every
# status the server sent must be in pktlens' last JSON.
set -u
TEST_NAME=http_held_aged
. "$(dirname "$0")/../lib/netns.sh"

require_root
require_pktlens
require_cmd ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 216

: >"$TMP/access.log"
bg_start "$TMP/server.out" ip netns exec "$NS_A" "$PYTHON" "$PL_ROOT/tests/lib/http_server.py" "$TMP/access.log"
wait_for 10 ns_b "$PYTHON" -c "import socket; socket.create_connection(('$ADDR_A', 80), 1).close()" ||
	fail "HTTP server did not come up"

pktlens_start "$TMP/pktlens.json" -n "$NS_A" -i "$IF_A" --probes tc-egress --idle 2 --json --interval 0.5
pktlens_wait_attached "$TMP/pktlens.json" tc-egress "$IF_A" 20 || fail "tc-egress did not attach"

# A keep-alive connection: the requests named one after the other (each answered before the
# next), then IDLE seconds of nothing, then the client closes. Prints what it read.
cat >"$TMP/client.py" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), 5)
s.settimeout(5)
f = s.makefile("rb")
for path in sys.argv[3:]:
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
    status = f.readline().split()[1].decode()
    length = 0
    while True:
        h = f.readline().strip()
        if not h:
            break
        k, _, v = h.partition(b":")
        if k.lower() == b"content-length":
            length = int(v)
    f.read(length)
    print(path, status, flush=True)
time.sleep(float(sys.argv[2]))
s.close()
PY
# the flow's last packet is the third response; idle 5 s: past --idle 2 and two refreshes more
ns_b "$PYTHON" "$TMP/client.py" "$ADDR_A" 5 /ok /missing /fail >"$TMP/client.txt" || fail "the client failed"
# open, its second response held, when pktlens stops (well within --idle)
bg_start "$TMP/client2.txt" ip netns exec "$NS_B" "$PYTHON" "$TMP/client.py" "$ADDR_A" 20 /ok /old
wait_for 10 sh -c "[ \$(wc -l <'$TMP/client2.txt') -ge 2 ]" || fail "the second client did not finish its requests"
sleep 0.3
pktlens_stop INT 30 || fail "pktlens did not exit"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"
cat "$TMP/client2.txt" >>"$TMP/client.txt"

"$PYTHON" - "$TMP/access.log" "$TMP/final.json" "$TMP/client.txt" <<'PY' || fail "a held response was lost with its flow"
import collections, json, sys
log = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
j = json.load(open(sys.argv[2]))
client = open(sys.argv[3]).read().split()
want = collections.Counter(str(l["status"]) for l in log)
h = j["http"]
print("server sent", dict(sorted(want.items())), "client read", client)
print("pktlens: by_status", h["by_status"], "responses", h["responses"],
      "flows aged out", j["stats"]["flow_table"]["aged_out"], "l7 events", j["l7_stats"]["events"])
ok = len(log) == 5 and len(client) == 10
ok = ok and dict(want) == h["by_status"] and h["responses"] == 5
# the flow did age out with the last response in it (else this tests nothing)
ok = ok and j["stats"]["flow_table"]["aged_out"] >= 1
# each response an event once (three sent by the programs, two by user space), and the two
# connections' protocol events
ok = ok and j["l7_stats"]["events"] == 5 + 2
sys.exit(0 if ok else 1)
PY
echo "PASS: responses held in an aged-out flow and in an open one at exit are counted (5 of 5, as the server's log)"
