#!/usr/bin/env bash
# Names with a NUL inside (SNI, DNS, HTTP path and host) are kept whole: \u0000 in JSON, \x00 on screen.
set -u
TEST_NAME=l7_nul_names
. "$(dirname "$0")/../tui/lib.sh"

tui_require
require_cmd openssl
cleanup_init
make_tmpdir
netns_pair 233

# HTTP and DNS servers that answer everything and log what they received, byte for byte (hex).
cat >"$TMP/servers.py" <<'PY'
import socket, struct, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
addr, http_log, dns_log = sys.argv[1:4]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with open(http_log, "a") as f:
            f.write("%s %s\n" % (self.path.encode("latin-1").hex(),
                                 self.headers.get("Host", "").encode("latin-1").hex()))
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
threading.Thread(target=ThreadingHTTPServer((addr, 80), H).serve_forever, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, 53))
open(dns_log + ".ready", "w").close()
while True:
    q, peer = u.recvfrom(4096)
    o, labels = 12, []
    while q[o]:
        labels.append(q[o + 1:o + 1 + q[o]])
        o += 1 + q[o]
    with open(dns_log, "a") as f:
        f.write(b".".join(labels).hex() + "\n")
    question = q[12:o + 5]
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 9, 9, 9])
    u.sendto(q[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0) + question + answer, peer)
PY
: >"$TMP/http.log"
: >"$TMP/dns.log"
bg_start "$TMP/servers.out" ip netns exec "$NS_A" "$PYTHON" "$TMP/servers.py" "$ADDR_A" \
	"$TMP/http.log" "$TMP/dns.log"
wait_for 10 test -e "$TMP/dns.log.ready" || fail "servers did not start: $(cat "$TMP/servers.out")"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=nul.test -days 1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || fail "cannot make a certificate"
bg_start "$TMP/s_server.log" ip netns exec "$NS_A" openssl s_server -quiet -www -accept 4433 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem"
wait_for 10 ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 >/dev/null 2>&1" ||
	fail "s_server did not come up"
wait_for 10 ns_b "$PYTHON" -c "import socket,sys; socket.create_connection((sys.argv[1], 80), 1)" \
	"$ADDR_A" || fail "the HTTP server did not come up"
: >"$TMP/http.log"

# Headless on the client's side, on screen on the server's (one pktlens per interface).
pktlens_start "$TMP/pktlens.json" -n "$NS_B" -i "$IF_B" --json --interval 1
pktlens_wait_attached "$TMP/pktlens.json" tc-ingress "$IF_B" 20 || fail "tc-ingress did not attach"
tui_start 160 50 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "1 Flows" 20
tui_wait_re "[0-9] HTTP"
tab=$(tui_cap | grep -oE '[0-9] HTTP' | head -1 | cut -c1)

# The client: what a hostile sender would put on the wire, through ordinary sockets.
ns_b "$PYTHON" - "$ADDR_A" >"$TMP/client.out" <<'PY' || fail "client failed: $(cat "$TMP/client.out")"
import random, socket, struct, sys
a = sys.argv[1]
def http(path, host):
    s = socket.create_connection((a, 80), timeout=3)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200"), "no 200"
    s.close()
http(b"/spoofed/\0hidden", b"nul\0host.test")
http(b"/spoofed/", b"nul.test")
def dns(labels):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(3)
    q = struct.pack("!HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l for l in labels) + b"\0" + struct.pack("!HH", 1, 1)
    u.sendto(q, (a, 53))
    assert u.recv(4096)[:2] == q[:2], "no answer"
dns([b"good\0evil"])
dns([b"good\0evil"])
dns([b"good"])
# A ClientHello naming bank.example, a NUL and the name that matters to whoever reads on.
sni = b"bank.example\0.c2.evil.net"
ext = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
body += struct.pack("!H", len(ext)) + ext
hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
s = socket.create_connection((a, 4433), timeout=3)
s.sendall(b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs)
rec = s.recv(4096)
print("TLS answer record type %d" % rec[0])
s.close()
PY
log "$(cat "$TMP/client.out")"
grep -q "TLS answer record type 21" "$TMP/client.out" ||
	fail "s_server did not refuse the NUL name with an alert: $(cat "$TMP/client.out")"

# The screen: every NUL shown as \x00, nothing cut at it (HTTP, DNS and TLS panes).
tui_keys "$tab"
tui_wait 'nul\x00host.test/spoofed/\x00hidden' 10
tui_wait 'nul.test/spoofed/ ' 10
dtab=$(tui_cap | grep -oE '[0-9] DNS' | head -1 | cut -c1)
ttab=$(tui_cap | grep -oE '[0-9] TLS' | head -1 | cut -c1)
tui_keys "$dtab"
# The pane shows the snapshot of the last refresh: one taken between two of the queries shows
# part of them, the next one all (a fixed capture raced the refresh).
dns_rows() {
	tui_cap >"$TMP/dns_screen.txt"
	awk '$1 == "good\\x00evil" && $2 == "A" && $3 == "NOERROR" && $4 == 2 { a++ }
	     $1 == "good" && $2 == "A" && $3 == "NOERROR" && $4 == 1 { b++ }
	     END { exit !(a == 1 && b == 1) }' "$TMP/dns_screen.txt"
}
tui_wait 'good\x00evil' 10
wait_for 10 dns_rows ||
	fail "DNS pane: good\\x00evil (2) and good (1) are not two rows: $(cat "$TMP/dns_screen.txt")"
tui_keys "$ttab"
tui_wait 'bank.example\x00.c2.evil.net' 10
tui_quit

sleep 1.5
pktlens_stop INT 30 || fail "pktlens did not exit"
[ "$PL_RC" -eq 0 ] || fail "pktlens exited with $PL_RC"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no JSON from pktlens"

# Ground truth: the servers' logs; the JSON carries the bytes exactly, as \u0000.
"$PYTHON" - "$TMP/final.json" "$TMP/http.log" "$TMP/dns.log" <<'PY' || fail "a NUL cut or merged a name"
import collections, json, sys
raw = open(sys.argv[1]).read()
j = json.loads(raw)
http = collections.Counter(tuple(bytes.fromhex(x) for x in l.split()) for l in open(sys.argv[2]))
dns = collections.Counter(bytes.fromhex(l.strip()) for l in open(sys.argv[3]))
print("server saw", dict(http), dict(dns))
ok = http == {(b"/spoofed/\0hidden", b"nul\0host.test"): 1, (b"/spoofed/", b"nul.test"): 1}
ok &= dns == {b"good\0evil": 2, b"good": 1}
# exact JSON text, as a consumer reads it
for s in (r'"name":"good\u0000evil","qtype":"A","count":2,"rcode":"NOERROR"',
          r'"name":"good","qtype":"A","count":1,"rcode":"NOERROR"',
          r'"name":"bank.example\u0000.c2.evil.net","count":1',
          r'"method":"GET","host":"nul\u0000host.test","path":"/spoofed/\u0000hidden","count":1',
          r'"method":"GET","host":"nul.test","path":"/spoofed/","count":1',
          r'"host":"nul\u0000host.test","path":"/spoofed/\u0000hidden","status":200'):
    found = s in raw
    print("%-5s %s" % ("ok" if found else "MISSING", s))
    ok &= found
names = {(r["name"], r["count"]) for r in j["dns"]["names"]}
ok &= names == {("good\0evil", 2), ("good", 1)}
ok &= [(r["name"], r["count"]) for r in j["tls"]["sni"]] == [("bank.example\0.c2.evil.net", 1)]
ok &= "\0" not in raw
sys.exit(0 if ok else 1)
PY
echo "PASS: NULs kept in SNI, DNS names, HTTP host and path; \\u0000 in JSON, \\x00 on screen"
