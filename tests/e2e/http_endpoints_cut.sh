#!/usr/bin/env bash
# More endpoints than a snapshot holds: the busiest are shown, the rest are folded and counted.
set -u
TEST_NAME=http_endpoints_cut
. "$(dirname "$0")/../lib/netns.sh"

# 300 endpoints asked once, then one asked 20 times: the snapshot holds 256 endpoints, and the
# old one took the first 256 in arrival order, so the busiest never showed.
ONCE=300
BUSY=20

require_root
require_pktlens
require_cmd ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 231

# The server logs every request path it answered: the ground truth.
cat >"$TMP/server.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with open(sys.argv[2], "a") as f:
            f.write(self.path + "\n")
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
PY
bg_start "$TMP/server.out" ip netns exec "$NS_A" "$PYTHON" "$TMP/server.py" "$ADDR_A" "$TMP/paths.log"
wait_for 10 ns_b "$PYTHON" -c "import socket,sys; socket.create_connection((sys.argv[1], 8080), 1)" \
	"$ADDR_A" || fail "the HTTP server did not come up"

pktlens_start "$TMP/pktlens.json" -n "$NS_A" -i "$IF_A" --json --interval 1
pktlens_wait_attached "$TMP/pktlens.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
: >"$TMP/paths.log"

# One keep-alive connection; paths of letters only, so that no two collapse into one endpoint.
ns_b "$PYTHON" - "$ADDR_A" "$ONCE" "$BUSY" <<'PY' || fail "client failed"
import http.client, string, sys
c = http.client.HTTPConnection(sys.argv[1], 8080, timeout=5)
letters = string.ascii_lowercase
def get(p):
    c.request("GET", p, headers={"Host": "cut.test"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
for i in range(int(sys.argv[2])):
    get("/once/" + letters[i // 26 % 26] + letters[i % 26] + "x")
for i in range(int(sys.argv[3])):
    get("/busy")
c.close()
PY
sleep 2.5
pktlens_stop INT 30 || fail "pktlens did not exit"
[ "$PL_RC" -eq 0 ] || fail "pktlens exited with $PL_RC"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP/paths.log" "$TMP/final.json" <<'PY' || fail "endpoints not cut by count"
import collections, json, sys
log = collections.Counter(open(sys.argv[1]).read().split())
h = json.load(open(sys.argv[2]))["http"]
eps, other = h["endpoints"], h.get("endpoints_other", {})
print("server answered %d requests on %d paths" % (sum(log.values()), len(log)))
print("pktlens: %d endpoints shown, first %s %d; other %s; requests %d"
      % (len(eps), eps[0]["path"] if eps else "-", eps[0]["count"] if eps else 0, other,
         h["requests"]))
ok = len(eps) == 256 and eps[0]["path"] == "/busy" and eps[0]["count"] == log["/busy"] == 20
ok &= all(e["count"] == log[e["path"]] == 1 for e in eps[1:])
ok &= other.get("endpoints") == len(log) - 256 == 45 and other.get("count") == 45
ok &= sum(e["count"] for e in eps) + other.get("count", 0) == sum(log.values()) == h["requests"]
ok &= h["by_status"] == {"200": sum(log.values())}
sys.exit(0 if ok else 1)
PY
echo "PASS: the busiest endpoint first, $((ONCE + 1 - 256)) endpoints folded and counted"
