#!/usr/bin/env bash
# HTTP against ground truth: a python server's own access log vs pktlens' per-status and per-endpoint counts.
set -u
TEST_NAME=http_ground_truth
. "$(dirname "$0")/../lib/netns.sh"

require_root
require_pktlens
require_cmd curl ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 211

cat >"$TMP/server.py" <<'PY'
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = open(sys.argv[1], "a", buffering=1)
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: several requests per connection
    def answer(self, code, body=b"ok\n", extra=None):
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        p = self.path.split("?")[0]
        if p == "/ok" or p.startswith("/users/"):
            self.answer(200)
        elif p == "/slow":
            time.sleep(0.3)
            self.answer(200)
        elif p == "/old":
            self.answer(301, b"moved\n", {"Location": "/ok"})
        elif p == "/fail":
            self.answer(500, b"boom\n")
        else:
            self.answer(404, b"no\n")
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.do_GET()
    def log_request(self, code="-", size="-"):
        # the ground truth: one line per answered request
        LOG.write("%s %s %s %s\n" % (self.command, self.path, code, self.headers.get("Host", "")))
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("0.0.0.0", 80), H).serve_forever()
PY
: >"$TMP/access.log"
bg_start "$TMP/server.out" ip netns exec "$NS_A" "$PYTHON" "$TMP/server.py" "$TMP/access.log"
wait_for 10 ns_b curl -s -o /dev/null "http://$ADDR_A/ok" || fail "HTTP server did not come up"
: >"$TMP/access.log" # the readiness probe is not part of the mix

pktlens_start "$TMP/pktlens.json" -n "$NS_A" -i "$IF_A" --json --interval 1
pktlens_wait_attached "$TMP/pktlens.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"

# The fixed mix: single requests, keep-alive sequences (pipelined in order on one connection).
U=http://$ADDR_A
: >"$TMP/client.txt"
get() { ns_b curl -s -o /dev/null -w '%{url_effective} %{http_code} %{time_total}\n' "$@" >>"$TMP/client.txt"; }
for i in 1 2 3; do get "$U/ok"; done
get "$U/users/123" "$U/users/456" "$U/users/789?x=1" "$U/ok"
get "$U/old" "$U/old"
for i in 1 2 3 4; do get "$U/missing$i"; done
get "$U/fail" "$U/fail" "$U/fail"
get "$U/slow" "$U/slow"
get -X POST -d 'a=1' "$U/ok"
get "$U/users/0badcafe0" "$U/users/abc"
sleep 2.5
pktlens_stop INT 30 || fail "pktlens did not exit"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP/access.log" "$TMP/final.json" "$TMP/client.txt" <<'PY' || fail "pktlens disagrees with the server's access log"
import collections, json, re, sys
log = [l.split(" ") for l in open(sys.argv[1]).read().splitlines() if l]
j = json.load(open(sys.argv[2]))
client = [l.split() for l in open(sys.argv[3]).read().splitlines() if len(l.split()) == 3]
h = j["http"]
def collapse(p):
    p = p.split("?")[0]
    segs = []
    for s in p.split("/"):
        if s and (s.isdigit() or (len(s) >= 8 and re.fullmatch(r"[0-9a-fA-F]+", s) and re.search(r"\d", s))):
            s = ":id"
        segs.append(s)
    return "/".join(segs)
want_status = collections.Counter(l[2] for l in log)
got_status = {k: v for k, v in h["by_status"].items()}
print("status  expected", dict(sorted(want_status.items())), "reported", got_status)
ok = dict(want_status) == got_status
want_ep = collections.Counter((l[0], collapse(l[1])) for l in log)
want_err = collections.Counter((l[0], collapse(l[1])) for l in log if int(l[2]) >= 400)
got_ep = {(e["method"], e["path"]): e for e in h["endpoints"]}
for k, n in sorted(want_ep.items()):
    e = got_ep.get(k)
    print("endpoint %-6s %-16s expected %d/%d errors  reported %s" % (k[0], k[1], n, want_err[k],
          "%d/%d" % (e["count"], e["errors"]) if e else "none"))
    if not e or e["count"] != n or e["errors"] != want_err[k]:
        ok = False
if set(got_ep) != set(want_ep):
    print("extra endpoints:", set(got_ep) - set(want_ep)); ok = False
if h["requests"] != len(log) or h["responses"] != len(log):
    print("requests/responses", h["requests"], h["responses"], "expected", len(log)); ok = False
# latency: server-side time lies inside what the client measured for the same endpoint
tmax = collections.defaultdict(float)
for url, code, t in client:
    p = collapse(re.sub(r"^https?://[^/]+", "", url))
    tmax[p] = max(tmax[p], float(t) * 1000)
for (m, p), e in got_ep.items():
    hi = tmax.get(p, max(tmax.values()))
    print("latency %-16s p50 %.2f p99 %.2f max %.2f ms, client max %.2f ms" % (p, e["p50_ms"], e["p99_ms"], e["max_ms"], hi))
    if not (0 < e["p50_ms"] <= e["p99_ms"] <= e["max_ms"] <= hi + 1):
        ok = False
slow = got_ep.get(("GET", "/slow"))
if not slow or slow["p50_ms"] < 300:
    print("/slow p50 below the server's 300 ms sleep"); ok = False
if not any(t["path"] == "/slow" for t in h["slow"]):
    print("/slow missing from the slow list"); ok = False
hosts = {e["host"] for e in h["endpoints"]}
print("hosts", hosts)
if hosts != {log[0][3]}:
    ok = False
flows = [f for f in j["flows"] if f["proto"] == "tcp" and f["local_port"] == 80]
if not flows or any(f["l7"] != "http" for f in flows):
    print("flows on port 80 not marked http:", [f["l7"] for f in flows]); ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS: HTTP status and endpoint counts equal the access log"
