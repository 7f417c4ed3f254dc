#!/usr/bin/env bash
# An HTTP response still held in its flow when the flow ages out is counted, not lost with it.
# The packet programs hold each response in the flow until the other direction's next packet
# sends it (bpf/lib/l7.bpf.h, pl_l7_hold). Seen from one side only (here tc egress alone on the
# server, which sees responses and never the client's packets) the last response of a connection
# waits for the connection's end; a keep-alive connection idle longer than --idle leaves the
# table first. Ground truth: the server's own access log, one connection of three requests, then
# idle past --idle before it closes; every status the server sent must be in pktlens' counts.
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

# One keep-alive connection: three requests one after the other (each answered before the next),
# then 5 s of nothing (the flow's last packet is the third response: idle past --idle 2), then
# the client closes. Prints what it read.
ns_b "$PYTHON" - "$ADDR_A" >"$TMP/client.txt" <<'PY' || fail "the client failed"
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), 5)
s.settimeout(5)
f = s.makefile("rb")
for path in ("/ok", "/missing", "/fail"):
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
time.sleep(5)
s.close()
PY
sleep 1.5
pktlens_stop INT 30 || fail "pktlens did not exit"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"

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
ok = len(log) == 3 and sum(want.values()) == 3
ok = ok and dict(want) == h["by_status"] and h["responses"] == 3
# the flow did age out with the last response in it (else this tests nothing)
ok = ok and j["stats"]["flow_table"]["aged_out"] >= 1
# each response an event once (two sent by the programs, one here), and the protocol event
ok = ok and j["l7_stats"]["events"] == 3 + 1
sys.exit(0 if ok else 1)
PY
echo "PASS: the response held in an aged-out flow is counted (3 of 3, as the server's log)"
