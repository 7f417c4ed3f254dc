#!/usr/bin/env bash
# Hostile input: escapes and control bytes in paths and hosts, overlong lines, garbage on port 80, truncated DNS.
set -u
TEST_NAME=hostile_payloads
. "$(dirname "$0")/../lib/netns.sh"

require_root
require_pktlens
require_cmd ip "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 214

# A listener on 80 that answers anything with a 400, and a UDP sink on 53.
cat >"$TMP/sink.py" <<'PY'
import socket, threading
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 80)); s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(1); c.recv(65536)
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        c.close()
threading.Thread(target=tcp, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
while True:
    u.recvfrom(4096)
PY
bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" "$TMP/sink.py"
wait_port "$NS_A" tcp 80
wait_port "$NS_A" udp 53
pktlens_start "$TMP/pktlens.json" -n "$NS_A" -i "$IF_A" --json --interval 1
pktlens_wait_attached "$TMP/pktlens.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"

ns_b "$PYTHON" - "$ADDR_A" <<'PY' || fail "client failed"
import os, socket, sys, time
a = sys.argv[1]
def send(data):
    s = socket.create_connection((a, 80), timeout=2)
    s.sendall(data)
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
send(b"GET /\x1b[31mred\x1b[0m/\x07bell HTTP/1.1\r\nHost: evil\x1b]0;title\x07.test\r\n\r\n")
send(b"GET /" + b"A" * 5000 + b" HTTP/1.1\r\nHost: long.test\r\n\r\n")
send(b"GET /bad\x00path HTTX/1.1\r\n\r\n")
send(os.urandom(300) + b"\r\n")
send(b"\x00\xffgarbage on port 80\r\n\r\n")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07exam", (a, 53))        # label cut short
u.sendto(b"\x12\x35\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", (a, 53))  # pointer loop
u.sendto(b"\x12\x36\x81\x80\x00\x01\x00\x00\x00\x00", (a, 53))                                      # header cut short
time.sleep(0.3)
PY
sleep 2.5
kill -0 "$PL_PID" 2>/dev/null || fail "pktlens died on hostile input"
pktlens_stop INT 30 || fail "pktlens did not exit"
[ "$PL_RC" -eq 0 ] || fail "pktlens exited with $PL_RC"
json_last "$TMP/pktlens.json" >"$TMP/final.json" || fail "no valid JSON from pktlens"
grep -q $'\x1b' "$TMP/pktlens.json" && fail "a raw escape byte reached the JSON output"

"$PYTHON" - "$TMP/final.json" <<'PY' || fail "hostile input not handled as expected"
import json, sys
j = json.load(open(sys.argv[1]))
h, d = j["http"], j["dns"]
paths = [t["path"] for t in h["recent"]]
hosts = [t["host"] for t in h["recent"]]
print("paths", [p[:40] for p in paths]); print("hosts", hosts)
print("http parse errors", h["parse_errors"], "port80_not_http", h["port80_not_http"])
print("dns parse errors", d["parse_errors"])
ok = any("\x1b[31m" in p for p in paths)          # kept as data, escaped on output
ok &= any(h_.startswith("evil\x1b]0;") for h_ in hosts)
# exactly what was sent: one overlong request line, one bad request line, two port-80 flows
# that are not HTTP (random bytes, NUL and 0xff garbage)
ok &= h["parse_errors"]["line_too_long"] == 1 and h["parse_errors"]["request"] == 1
ok &= h["port80_not_http"] == 2
ok &= d["parse_errors"] == 3
sys.exit(0 if ok else 1)
PY
echo "PASS: hostile payloads escaped, counted, no crash"
