#!/usr/bin/env bash
# DNS against ground truth: dnsmasq's --log-queries log vs pktlens' names, types and response codes.
set -u
TEST_NAME=dns_ground_truth
. "$(dirname "$0")/../lib/netns.sh"

require_root
require_pktlens
require_cmd dnsmasq dig ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 212

# Known names answer, everything else under .test is NXDOMAIN (the empty --address).
bg_start "$TMP/dnsmasq.out" ip netns exec "$NS_A" dnsmasq --no-daemon --no-resolv --no-hosts \
	--bind-interfaces --listen-address="$ADDR_A" --port=53 --log-queries \
	--log-facility="$TMP/dnsmasq.log" --address=/known.test/10.1.2.3 \
	--address=/mail.test/10.1.2.4 --address=/test/ --pid-file=
wait_for 10 ns_b dig +tries=1 +time=1 @"$ADDR_A" known.test A || fail "dnsmasq did not answer"

pktlens_start "$TMP/pktlens.json" -n "$NS_A" -i "$IF_A" --json --interval 1
pktlens_wait_attached "$TMP/pktlens.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
echo "--- mix starts ---" >>"$TMP/dnsmasq.log"
q() { ns_b dig +tries=1 +time=2 +noedns @"$ADDR_A" "$@" >/dev/null; }
for i in 1 2 3; do q known.test A; done
q known.test AAAA
q mail.test A
q mail.test MX
for i in 1 2; do q nope.test A; done
q missing.test AAAA
# DNS over TCP: the same names through the 2-byte length prefix
for i in 1 2; do q +tcp known.test A; done
q +tcp nope.test A
sleep 2.5
pktlens_stop INT 30 || fail "pktlens did not exit"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP/dnsmasq.log" "$TMP/final.json" <<'PY' || fail "pktlens disagrees with dnsmasq's log"
import collections, json, re, sys
lines = open(sys.argv[1], errors="replace").read().split("--- mix starts ---")[-1].splitlines()
pend, rows = [], collections.Counter()
for l in lines:
    m = re.search(r"query\[(\w+)\] (\S+) from", l)
    if m:
        pend.append([m.group(2), m.group(1), None]); continue
    m = re.search(r"(?:config|reply|cached) (\S+) is (\S+)", l)
    if m:
        for p in pend:
            if p[0] == m.group(1) and p[2] is None:
                p[2] = "NXDOMAIN" if m.group(2) == "NXDOMAIN" else "NOERROR"; break
for n, t, r in pend:
    rows[(n.lower(), t, r or "NOERROR")] += 1
j = json.load(open(sys.argv[2]))
got = collections.Counter()
for r in j["dns"]["names"]:
    got[(r["name"].lower().replace("\\007", "\x07"), r["qtype"], r["rcode"])] += r["count"]
# dnsmasq logs the control byte in its own escaped form; compare that row by count only
def norm(c):
    return collections.Counter({(re.sub(r"[^a-z0-9.-]", "?", k[0]), k[1], k[2]): v for k, v in c.items()})
want, have = norm(rows), norm(got)
for k in sorted(set(want) | set(have)):
    print("%-24s %-5s %-9s expected %d reported %d" % (k + (want[k], have[k])))
print("queries", j["dns"]["queries"], "responses", j["dns"]["responses"], "expected", len(pend))
ok = want == have and j["dns"]["queries"] == len(pend) == j["dns"]["responses"]
sys.exit(0 if ok else 1)
PY
echo "PASS: DNS names, types and rcodes equal dnsmasq's log"
