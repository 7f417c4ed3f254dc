#!/usr/bin/env bash
# TLS: ClientHello SNI counts against the clients we ran, and HTTPS in clear through the libssl uprobes.
set -u
TEST_NAME=tls_sni
. "$(dirname "$0")/../lib/netns.sh"

require_root
require_pktlens
require_cmd openssl curl ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 213

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pktlens.test -days 1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || fail "cannot make a certificate"
bg_start "$TMP/s_server.log" ip netns exec "$NS_A" openssl s_server -quiet -www -accept 4433 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem"
wait_for 10 ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 >/dev/null 2>&1" ||
	fail "s_server did not come up"

# Client side: tc sees the ClientHello leave, the uprobes see curl's plaintext (same namespace).
pktlens_start "$TMP/pktlens.json" -n "$NS_B" -i "$IF_B" --json --interval 1 --probes default,ssl
pktlens_wait_attached "$TMP/pktlens.json" tc-egress "$IF_B" 20 || fail "tc-egress did not attach"

hello() { ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 -servername $1 >/dev/null 2>&1"; }
hello alpha.test
hello alpha.test
hello beta.test
: >"$TMP/curl.pids"
for i in 1 2 3; do
	ip netns exec "$NS_B" curl -sk -o /dev/null --resolve "web.test:4433:$ADDR_A" \
		"https://web.test:4433/" &
	echo $! >>"$TMP/curl.pids"
	wait $!
done
sleep 2.5
pktlens_stop INT 30 || fail "pktlens did not exit"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP/final.json" "$TMP/curl.pids" <<'PY' || fail "TLS counts or HTTPS attribution wrong"
import json, sys
j = json.load(open(sys.argv[1]))
pids = {int(x) for x in open(sys.argv[2]).read().split()}
want = {"alpha.test": 2, "beta.test": 1, "web.test": 3}
got = {r["name"]: r["count"] for r in j["tls"]["sni"]}
ok = True
for k, v in want.items():
    print("sni %-10s expected %d reported %d" % (k, v, got.get(k, 0)))
    ok &= got.get(k, 0) == v
print("handshakes expected", sum(want.values()), "reported", j["tls"]["handshakes"])
ok &= j["tls"]["handshakes"] == sum(want.values())
ssl = [t for t in j["http"]["recent"] if t["tls"]]
print("https in clear:", [(t["method"], t["path"], t["status"], t["pid"], t["comm"]) for t in ssl])
print("curl pids", sorted(pids))
good = [t for t in ssl if t["path"] == "/" and t["status"] == 200 and t["pid"] in pids and t["comm"] == "curl"]
ok &= len(good) == 3 and {t["pid"] for t in good} == pids
sys.exit(0 if ok else 1)
PY
echo "PASS: SNI counted, HTTPS requests seen in clear and attributed to curl"
