#!/usr/bin/env bash
# Unsolicited DNS answers (no query seen) are counted apart and never fill the name table.
set -u
TEST_NAME=dns_unsolicited
. "$(dirname "$0")/../lib/netns.sh"

# More answers than the snapshot's name table holds (256): the old table kept the first comers.
SPOOFED=301

require_root
require_pktlens
require_cmd dnsmasq dig ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 230

bg_start "$TMP/dnsmasq.out" ip netns exec "$NS_A" dnsmasq --no-daemon --no-resolv --no-hosts \
	--bind-interfaces --listen-address="$ADDR_A" --port=53 --log-queries \
	--log-facility="$TMP/dnsmasq.log" --address=/real.test/10.1.2.3 \
	--address=/also.test/10.1.2.4 --pid-file=
wait_for 10 ns_b dig +tries=1 +time=1 @"$ADDR_A" real.test A || fail "dnsmasq did not answer"

# The client side watches: answers arrive on its ingress, queries leave on its egress.
pktlens_start "$TMP/pktlens.json" -n "$NS_B" -i "$IF_B" --json --interval 1
pktlens_wait_attached "$TMP/pktlens.json" tc-ingress "$IF_B" 20 || fail "tc-ingress did not attach"
echo "--- test starts ---" >>"$TMP/dnsmasq.log"

# Answers from A's port 53 to B that nobody asked for, each a different name and port.
ns_a "$PYTHON" - "$ADDR_B" "$SPOOFED" >"$TMP/spoof.out" <<'PY' || fail "spoofer failed"
import random, socket, struct, sys
dst, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 53))
sent = 0
for i in range(n):
    name = b"".join(bytes([len(l)]) + l for l in (b"spoof%d" % i, b"evil", b"test")) + b"\0"
    hdr = struct.pack("!HHHHHH", random.randrange(65536), 0x8180, 1, 1, 0, 0)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([10, 6, 6, 6])
    s.sendto(hdr + name + struct.pack("!HH", 1, 1) + answer, (dst, 20000 + i))
    sent += 1
print(sent)
PY
[ "$(cat "$TMP/spoof.out")" = "$SPOOFED" ] || fail "spoofer sent $(cat "$TMP/spoof.out")"

# Then real questions, asked after the flood.
q() { ns_b dig +tries=1 +time=2 +noedns @"$ADDR_A" "$@" >/dev/null || fail "dig $* failed"; }
q real.test A
q real.test A
q also.test A
sleep 2.5
pktlens_stop INT 30 || fail "pktlens did not exit"
[ "$PL_RC" -eq 0 ] || fail "pktlens exited with $PL_RC"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP/dnsmasq.log" "$TMP/final.json" "$SPOOFED" <<'PY' || fail "unsolicited answers not kept apart"
import collections, json, re, sys
log = open(sys.argv[1], errors="replace").read().split("--- test starts ---")[-1]
asked = collections.Counter(m.group(1) for m in re.finditer(r"query\[A\] (\S+) from", log))
spoofed = int(sys.argv[3])
j = json.load(open(sys.argv[2]))
d = j["dns"]
got = {r["name"]: r["count"] for r in d["names"]}
print("dnsmasq answered", dict(asked), "- pktlens names", got)
print("unsolicited_answers", d.get("unsolicited_answers"), "expected", spoofed)
print("queries", d["queries"], "responses", d["responses"], "names_other", d.get("names_other"))
ok = got == dict(asked) and sum(asked.values()) == 3
ok &= d.get("unsolicited_answers") == spoofed
ok &= d["queries"] == 3 and d["responses"] == 3 + spoofed
ok &= d.get("names_other") == {"names": 0, "count": 0, "p50_ms": -1.0, "p99_ms": -1.0}
sys.exit(0 if ok else 1)
PY
echo "PASS: $SPOOFED unsolicited answers counted apart, the names asked afterwards all shown"
