#!/usr/bin/env bash
# HTTP pane under tmux: status counts and endpoints equal the server's access log; sort, Enter/Esc,
# slow threshold keys, DNS and TLS names with version and ALPN, an escaped hostile path, and the
# flow drill-down's HTTP transactions.
set -u
TEST_NAME=tui-http
. "$(dirname "$0")/lib.sh"

DRILL_PORT=40123 # source port of the keep-alive client that the drill-down opens

tui_require
require_cmd curl dnsmasq dig openssl
cleanup_init
make_tmpdir
netns_pair 227

cat >"$TMP/server.py" <<'PY'
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = open(sys.argv[1], "a", buffering=1)
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
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
    def log_request(self, code="-", size="-"):
        # the ground truth: one line per answered request (the path hex-encoded, bytes as sent)
        LOG.write("%s %s %s\n" % (self.command, self.path.encode("latin-1").hex(), code))
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("0.0.0.0", 80), H).serve_forever()
PY
: >"$TMP/access.log"
bg_start "$TMP/server.out" ip netns exec "$NS_A" "$PYTHON" "$TMP/server.py" "$TMP/access.log"
wait_for 10 ns_b curl -s -o /dev/null "http://$ADDR_A/ok" || fail "HTTP server did not come up"

bg_start "$TMP/dnsmasq.out" ip netns exec "$NS_A" dnsmasq --no-daemon --no-resolv --no-hosts \
	--bind-interfaces --listen-address="$ADDR_A" --port=53 --log-queries \
	--log-facility="$TMP/dnsmasq.log" --address=/known.test/10.1.2.3 --address=/test/ --pid-file=
wait_for 10 ns_b dig +tries=1 +time=1 @"$ADDR_A" known.test A || fail "dnsmasq did not answer"

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=tui.test -days 1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || fail "cannot make a certificate"
bg_start "$TMP/s_server.log" ip netns exec "$NS_A" openssl s_server -quiet -www -accept 4433 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem"
wait_for 10 ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 >/dev/null 2>&1" ||
	fail "s_server did not come up"
: >"$TMP/access.log" # readiness probes are not part of the mix

tui_start 150 50 -n "$NS_A" -i "$IF_A" --interval 0.5 --slow-ms 250
tui_wait "1 Flows"
tui_wait_re "[0-9] HTTP"
tab=$(tui_cap | grep -oE '[0-9] HTTP' | head -1 | cut -c1)

# The mix: /ok is the most requested, /fail has the most errors, /slow the highest p99.
U=http://$ADDR_A
get() { ns_b curl -s -o /dev/null "$@" >/dev/null || fail "curl $* failed"; }
for i in 1 2 3 4 5 6; do get "$U/ok"; done
get "$U/users/123" "$U/users/456" "$U/users/789?x=1"
get "$U/old" "$U/old"
get "$U/missing1" "$U/missing2"
get "$U/fail" "$U/fail" "$U/fail"
get "$U/slow" "$U/slow"
# a path carrying an ANSI colour sequence
ns_b "$PYTHON" - "$ADDR_A" <<'PY' || fail "hostile request failed"
import socket, sys
c = socket.create_connection((sys.argv[1], 80))
c.sendall(b"GET /evil\x1b[31mRED HTTP/1.1\r\nHost: " + sys.argv[1].encode() + b"\r\n\r\n")
c.recv(4096)
PY
# one keep-alive connection from a known port, kept open for the drill-down
cat >"$TMP/keepalive.py" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection(sys.argv[1], 80, source_address=("0.0.0.0", int(sys.argv[2])))
for p in ("/users/42", "/fail", "/ok"):
    c.request("GET", p)
    c.getresponse().read()
open(sys.argv[3], "w").close()
time.sleep(120)
PY
bg_start "$TMP/keepalive.out" ip netns exec "$NS_B" "$PYTHON" "$TMP/keepalive.py" "$ADDR_A" \
	"$DRILL_PORT" "$TMP/keepalive.done"
wait_for 10 test -e "$TMP/keepalive.done" || fail "keep-alive client failed: $(cat "$TMP/keepalive.out")"
ns_b dig +tries=1 +time=2 @"$ADDR_A" known.test A >/dev/null || fail "dig failed"
ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 -servername tui.test \
	-alpn h2,http/1.1 >/dev/null 2>&1"

tui_keys "$tab"
tui_wait "requests "
total=$(wc -l <"$TMP/access.log")
tui_wait "requests $total  responses $total" 8

# everything the screen shows against the access log
screen_check() {
	tui_cap >"$TMP/screen.txt"
	"$PYTHON" - "$TMP/access.log" "$TMP/screen.txt" "$ADDR_A" <<'PY'
import collections, re, sys
log = [l.split(" ") for l in open(sys.argv[1]).read().splitlines() if l]
scr = open(sys.argv[2], errors="replace").read()
host = sys.argv[3]
def collapse(p):
    p = p.split("?")[0]
    return "/".join(":id" if s.isdigit() else s for s in p.split("/"))
def shown(p):  # as the pane escapes it
    return "".join(c if 0x20 <= ord(c) < 0x7f and c != "\\" else
                   "\\\\" if c == "\\" else "\\x%02x" % ord(c) for c in p)
reqs = [(m, bytes.fromhex(p).decode("latin-1"), int(c)) for m, p, c in log]
ok = True
cls = collections.Counter(c // 100 for _, _, c in reqs)
want = "requests %d  responses %d  2xx %d  3xx %d  4xx %d  5xx %d" % (
    len(reqs), len(reqs), cls[2], cls[3], cls[4], cls[5])
print("expected '%s', shown: %s" % (want, want in scr))
ok &= want in scr
for c, n in sorted(collections.Counter(c for _, _, c in reqs).items()):
    t = "%d:%d" % (c, n)
    print("status %-7s shown: %s" % (t, t in scr))
    ok &= t in scr
eps = collections.Counter((m, collapse(p)) for m, p, _ in reqs)
errs = collections.Counter((m, collapse(p)) for m, p, c in reqs if c >= 400)
for (m, p), n in sorted(eps.items()):
    rx = r"^%s +%s +%d +%d " % (m, re.escape(host + shown(p)), n, errs[(m, p)])
    hit = re.search(rx, scr, re.M) is not None
    print("endpoint %s %-22s expected %d/%d errors, shown: %s" % (m, shown(p), n, errs[(m, p)], hit))
    ok &= hit
sys.exit(0 if ok else 1)
PY
}
wait_for 5 screen_check || {
	screen_check >&2
	cat "$TMP/screen.txt" >&2
	fail "the HTTP pane disagrees with the access log"
}
screen_check >&2

# the hostile path is text: the literal \x1b is on screen, and what the terminal received has no
# escape sequence right after /evil (a colour change there would show with -e)
tui_wait '/evil\x1b[31mRED'
tmux -L "$TUI_SOCK" capture-pane -p -e -t main | grep -aqF '/evil\x1b[31mRED' ||
	fail "hostile path not shown escaped"
if tmux -L "$TUI_SOCK" capture-pane -p -e -t main | grep -aq $'/evil\e'; then
	fail "an escape sequence reached the terminal inside the hostile path"
fi

# DNS and TLS panes: the name, its type, rcode and counts; SNI with the offered version and ALPN
dtab=$(tui_cap | grep -oE '[0-9] DNS' | head -1 | cut -c1)
ttab=$(tui_cap | grep -oE '[0-9] TLS' | head -1 | cut -c1)
tui_keys "$dtab"
tui_wait "QUERIES"
tui_wait_re "^known.test +A +NOERROR +1 +1 +[0-9.]+ms +[0-9.]+ms$"
tui_wait_re "queries [1-9][0-9]*  responses [1-9]"
tui_keys "$ttab"
tui_wait "SERVER NAME"
tui_wait_re "^tui.test +TLS1.3 +h2 +1$"
tui_keys "$tab"
tui_wait "HOST PATH"

# sort: count (default) puts /ok first, errors puts /fail first, p99 puts /slow first
first_row() { tui_cap | grep -A1 -E '^METHOD' | tail -1; }
first_is() { first_row | grep -qE "^GET +$ADDR_A$1 "; }
sort_by() {
	tui_keys s
	tui_wait "Sort the endpoints list by"
	tui_type "$1"
	tui_keys Enter
	tui_wait_gone "Sort the endpoints list by"
}
tui_wait "sort COUNT ▼"
wait_for 3 first_is /ok || fail "count sort: first row is '$(first_row)'"
sort_by errors
tui_wait "sort ERRORS ▼"
wait_for 3 first_is /fail || fail "errors sort: first row is '$(first_row)'"
sort_by p99
tui_wait "sort P99 ▼"
wait_for 3 first_is /slow || fail "p99 sort: first row is '$(first_row)'"

# Enter on /slow: its recent requests with status and latency (both above the server's sleep)
tui_keys Enter
tui_wait "recent requests of /slow"
slow_rows() { tui_cap | grep -cE "GET +200 +(3[0-9]{2}|[4-9][0-9]{2})\.[0-9]{2}ms $ADDR_A/slow"; }
[ "$(slow_rows)" = 2 ] || {
	tui_cap >&2
	fail "expected the 2 /slow requests at >= 300 ms, saw $(slow_rows)"
}
tui_keys Escape
tui_wait_gone "recent requests of"
tui_wait "slow requests (>= 250 ms"
sort_by count
tui_wait "sort COUNT ▼"

# the slow list follows the threshold live: 250 ms lists both /slow requests, 500 ms none
in_slow() { tui_cap | sed -n '/^slow requests/,/^DNS names/p' | grep -cE "GET +200 .*$ADDR_A/slow"; }
[ "$(in_slow)" = 2 ] || fail "slow list at 250 ms: $(in_slow) rows, expected 2"
tui_keys '>'
tui_wait "slow requests (>= 500 ms"
[ "$(in_slow)" = 0 ] || fail "slow list at 500 ms: $(in_slow) rows, expected 0"
tui_keys '<' '<'
tui_wait "slow requests (>= 125 ms"
[ "$(in_slow)" = 2 ] || fail "slow list back at 125 ms: $(in_slow) rows, expected 2"

# drill-down: the keep-alive flow shows its three transactions with status and latency
tui_keys 1
tui_wait "RX b/s"
tui_keys /
tui_type "$ADDR_B:$DRILL_PORT"
tui_keys Enter
tui_wait_re " 1/[0-9]+ flows"
tui_keys Enter
tui_wait "Flow tcp on $IF_A: $ADDR_A:80 <-> $ADDR_B:$DRILL_PORT"
tui_wait "HTTP transactions: 3 recent"
tui_wait_re "GET +200 +[0-9.]+ms +$ADDR_A/users/42"
tui_wait_re "GET +500 +[0-9.]+ms +$ADDR_A/fail"
tui_wait_re "GET +200 +[0-9.]+ms +$ADDR_A/ok"
tui_keys Escape
tui_wait_gone "HTTP transactions"

tui_quit
log "ok ($total requests)"
exit 0
