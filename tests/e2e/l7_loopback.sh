#!/usr/bin/env bash
# On lo each HTTP, DNS and TLS transaction counts once, though both of its ends pass lo.
set -u
TEST_NAME=l7_loopback
. "$(dirname "$0")/../lib/netns.sh"

REQUESTS=5
QUERIES=3
HANDSHAKES=2

require_root
require_pktlens
require_cmd curl dnsmasq dig openssl ip "$PYTHON"
cleanup_init
make_tmpdir
# A fresh namespace: its lo carries only what this test sends.
netns_new lo
NS=$NS_LAST
nsx() { ip netns exec "$NS" "$@"; }

# Ground truth 1: python http.server's own access log.
bg_start "$TMP/http.log" ip netns exec "$NS" "$PYTHON" -m http.server 8080 --bind 127.0.0.1 \
	--directory "$TMP"
wait_for 10 nsx curl -s -o /dev/null http://127.0.0.1:8080/ || fail "http.server did not come up"
# Ground truth 2: dnsmasq's query log.
bg_start "$TMP/dnsmasq.out" ip netns exec "$NS" dnsmasq --no-daemon --no-resolv --no-hosts \
	--bind-interfaces --listen-address=127.0.0.1 --port=53 --log-queries \
	--log-facility="$TMP/dnsmasq.log" --address=/lo.test/10.1.2.3 --pid-file=
wait_for 10 nsx dig +tries=1 +time=1 @127.0.0.1 lo.test A || fail "dnsmasq did not answer"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=lo.test -days 1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || fail "cannot make a certificate"
bg_start "$TMP/s_server.log" ip netns exec "$NS" openssl s_server -quiet -www -accept 4433 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem"
wait_for 10 nsx bash -c "echo | openssl s_client -connect 127.0.0.1:4433 >/dev/null 2>&1" ||
	fail "s_server did not come up"

pktlens_start "$TMP/pktlens.json" -n "$NS" -i lo --json --interval 1
pktlens_wait_attached "$TMP/pktlens.json" tc-ingress lo 20 || fail "tc-ingress did not attach to lo"
pktlens_wait_attached "$TMP/pktlens.json" tc-egress lo 20 || fail "tc-egress did not attach to lo"
echo "--- test starts ---" >>"$TMP/dnsmasq.log"
# http.server writes its log through its own file offset: count lines instead of marking the file
grep -c '"GET ' "$TMP/http.log" >"$TMP/http.before"

for i in $(seq "$REQUESTS"); do
	nsx curl -s -o /dev/null "http://127.0.0.1:8080/" || fail "curl $i failed"
done
for i in $(seq "$QUERIES"); do
	nsx dig +tries=1 +time=2 +noedns @127.0.0.1 lo.test A >/dev/null || fail "dig $i failed"
done
for i in $(seq "$HANDSHAKES"); do
	nsx bash -c "echo | openssl s_client -connect 127.0.0.1:4433 -servername lo.test >/dev/null 2>&1" ||
		fail "s_client $i failed"
done
sleep 2.5
pktlens_stop INT 30 || fail "pktlens did not exit"
[ "$PL_RC" -eq 0 ] || fail "pktlens exited with $PL_RC"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP/final.json" "$TMP/http.log" "$TMP/dnsmasq.log" "$TMP/http.before" "$HANDSHAKES" \
	<<'PY' || fail "a transaction on lo was not counted exactly once"
import collections, json, re, sys
j = json.load(open(sys.argv[1]))
lines = re.findall(r'"GET (\S+) HTTP/1.1" (\d+)', open(sys.argv[2], errors="replace").read())
lines = lines[int(open(sys.argv[4]).read()):]
served = collections.Counter(p for p, c in lines)
codes = collections.Counter(c for p, c in lines)
dns_log = open(sys.argv[3], errors="replace").read().split("--- test starts ---")[-1]
asked = len(re.findall(r"query\[A\] lo.test from 127.0.0.1", dns_log))
handshakes = int(sys.argv[5])
h, d, t = j["http"], j["dns"], j["tls"]
print("http.server served %s (%s); pktlens requests %d responses %d by_status %s endpoints %s"
      % (dict(served), dict(codes), h["requests"], h["responses"], h["by_status"],
         [(e["path"], e["count"]) for e in h["endpoints"]]))
print("dnsmasq answered %d; pktlens queries %d responses %d names %s"
      % (asked, d["queries"], d["responses"], [(r["name"], r["count"]) for r in d["names"]]))
print("s_client handshakes %d; pktlens handshakes %d sni %s"
      % (handshakes, t["handshakes"], [(r["name"], r["count"]) for r in t["sni"]]))
n = sum(served.values())
ok = h["requests"] == h["responses"] == n == 5
ok &= h["by_status"] == {k: v for k, v in codes.items()} == {"200": 5}
ok &= [(e["path"], e["count"]) for e in h["endpoints"]] == [("/", 5)]
ok &= d["queries"] == d["responses"] == asked == 3 and d["unsolicited_answers"] == 0
ok &= [(r["name"], r["count"]) for r in d["names"]] == [("lo.test", 3)]
ok &= t["handshakes"] == handshakes and [(r["name"], r["count"]) for r in t["sni"]] == [("lo.test", 2)]
# Both ends keep their flows: each connection to 8080 is one row per end, on lo.
web = [f for f in j["flows"] if f["iface"] == "lo" and f["proto"] == "tcp" and
       8080 in (f["local_port"], f["remote_port"])]
server = [f for f in web if f["local_port"] == 8080]
client = [f for f in web if f["remote_port"] == 8080]
print("flows to 8080: %d server-side %s, %d client-side %s" % (
      len(server), sorted({(f["comm"], f["l7"]) for f in server}),
      len(client), sorted({(f["comm"], f["l7"]) for f in client})))
# each end its own row and process (the readiness probe's connection may still be listed)
ok &= len(server) == len(client) >= 5
ok &= all(f["l7"] == "http" for f in web)
ok &= {f["comm"] for f in server} == {"python3"} and {f["comm"] for f in client} == {"curl"}
sys.exit(0 if ok else 1)
PY
echo "PASS: on lo $REQUESTS requests, $QUERIES queries and $HANDSHAKES handshakes counted once each"
