#!/usr/bin/env bash
# A ClientHello counts only when the server answered it: forged segments make no TLS name.
set -u
TEST_NAME=tls_forged_hello
. "$(dirname "$0")/../lib/netns.sh"

require_root
require_pktlens
require_cmd openssl nstat ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 232

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pktlens.test -days 1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || fail "cannot make a certificate"
bg_start "$TMP/s_server.log" ip netns exec "$NS_A" openssl s_server -quiet -www -accept 4433 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem"
wait_for 10 ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 >/dev/null 2>&1" ||
	fail "s_server did not come up"

# The server side watches: tc ingress sees segments before TCP has checked them.
pktlens_start "$TMP/pktlens.json" -n "$NS_A" -i "$IF_A" --json --interval 1
pktlens_wait_attached "$TMP/pktlens.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
ns_a nstat -n >/dev/null # start the counters' history here

# Two ClientHellos in single TCP segments with no handshake before them, written onto the wire
# of B: one with a bad TCP checksum (TCP drops it), one with a good one (TCP answers a reset).
mac_a=$(ip -n "$NS_A" -br link show "$IF_A" | awk '{print $3}')
ns_b "$PYTHON" - "$IF_B" "$mac_a" "$ADDR_B" "$ADDR_A" >"$TMP/forged.out" <<'PY' || fail "forger failed"
import socket, struct, sys
ifname, mac_a, src, dst = sys.argv[1:5]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
mac_b = s.getsockname()[4]

def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF

def hello(sni):
    ext_sni = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    body = b"\x03\x03" + b"\x5a" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(ext_sni)) + ext_sni
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs

def frame(sport, payload, good):
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, 4433, 1000, 0, 5 << 4, 0x18, 64240, 0, 0) + payload
    c = csum(sa + da + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    if not good:
        c ^= 0x5555
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytes.fromhex(mac_a.replace(":", "")) + mac_b + b"\x08\x00" + ip + tcp

n = 0
n += s.send(frame(40001, hello(b"forged.test"), False)) > 0
n += s.send(frame(40002, hello(b"nohandshake.test"), True)) > 0
print(n)
PY
[ "$(cat "$TMP/forged.out")" = 2 ] || fail "forger sent $(cat "$TMP/forged.out") frames"

# One real handshake.
ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 -servername real.test >/dev/null 2>&1" ||
	fail "s_client failed"
# Hellos without an answer count as unanswered after 5 s; give pktlens two more intervals.
sleep 7.5
pktlens_stop INT 30 || fail "pktlens did not exit"
[ "$PL_RC" -eq 0 ] || fail "pktlens exited with $PL_RC"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"
ns_a nstat TcpInCsumErrors TcpOutRsts >"$TMP/nstat.txt"
csum_errors=$(awk '$1 == "TcpInCsumErrors" {print $2}' "$TMP/nstat.txt")
log "kernel of A: $(tr -s ' \n' ' ' <"$TMP/nstat.txt")"
[ "${csum_errors:-0}" -eq 1 ] || fail "TCP of A saw ${csum_errors:-0} checksum errors, the test sent 1"

"$PYTHON" - "$TMP/final.json" <<'PY' || fail "a forged ClientHello was counted"
import json, sys
t = json.load(open(sys.argv[1]))["tls"]
got = {r["name"]: r["count"] for r in t["sni"]}
print("sni", got, "handshakes", t["handshakes"], "unanswered", t.get("unanswered_hellos"),
      "parse errors", t["parse_errors"], "other", t.get("sni_other"))
ok = got == {"real.test": 1} and t["handshakes"] == 1
ok &= t.get("unanswered_hellos") == 2 and t["parse_errors"] == 0
sys.exit(0 if ok else 1)
PY
echo "PASS: the answered handshake counted, two forged hellos only as unanswered"
