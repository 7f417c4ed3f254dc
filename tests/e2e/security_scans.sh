#!/usr/bin/env bash
# Port scans against Debian's nmap, and busy clients that must raise nothing: pktlens --json on
# the scanned side. Each scenario checks the alert against nmap's own report (the scanner's
# address, the ports, how many nmap found closed) and prints its detection delay (first JSON
# line with the alert minus the scan's start) and its false positives (any other alert raised
# meanwhile). nmap runs at its default timings (-T3) for -sS and -sT; the slow scan uses -T2
# with --alert slow=8/600, as the issue's slow scans would take an hour at the default window.
set -u
TEST_NAME=security_scans
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/security.sh"

HTTP_PORT=8080

require_root
require_cmd ip nmap wrk curl nstat "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 243
NET=10.243.0
SCANNER_HOST=$NET.3 # the horizontal scan's source
SCANNER_SLOW=$NET.4 # the slow scan's source
ip -n "$NS_B" addr add "$SCANNER_HOST/24" dev "$IF_B"
ip -n "$NS_B" addr add "$SCANNER_SLOW/24" dev "$IF_B"
# twelve more addresses of the scanned host, for the horizontal scan
for i in $(seq 100 111); do
	ip -n "$NS_A" addr add "$NET.$i/24" dev "$IF_A"
done

bg_start "$TMP/http.log" ip netns exec "$NS_A" "$PYTHON" -c '
import http.server, socket, struct, sys
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/reset":
            # no answer: the connection ends with a reset out of the listening port
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
S(("::", int(sys.argv[1])), H).serve_forever()
' $HTTP_PORT
listening() { ip netns exec "$NS_A" ss -Hltn "sport = :$HTTP_PORT" | grep -q LISTEN; }
wait_for 20 listening || fail "the HTTP server did not start"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5 --flows 8192 \
	--alert quiet=3 --alert slow=8/600
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 30 ||
	fail "pktlens did not attach: $(cat "$TMP/pl.json.err")"

# report NAME EXPECTED_ID SINCE: the delay line and the other alerts raised since SINCE
report() { alerts_report "$TMP/pl.json" "$@"; }

log "busy clients: wrk keep-alive and 200 curl connections raise nothing"
t0=$(now_s)
ip netns exec "$NS_B" wrk -t2 -c8 -d4s "http://$ADDR_A:$HTTP_PORT/" >"$TMP/wrk.out" 2>&1 ||
	fail "wrk failed: $(cat "$TMP/wrk.out")"
requests=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
ok=0
for _ in $(seq 200); do
	ip netns exec "$NS_B" curl -s -o /dev/null -m 5 "http://$ADDR_A:$HTTP_PORT/" && ok=$((ok + 1))
done
[ "$ok" = 200 ] || fail "only $ok of 200 curl requests succeeded"
# The server resets one connection (SO_LINGER 0): a listening port's reset is no refusal, and the
# scan from the same address that follows must still find the port open.
out_rsts() { ip netns exec "$NS_A" nstat -saz TcpOutRsts | awk '/TcpOutRsts/ { print $2 }'; }
rst_before=$(out_rsts)
if ip netns exec "$NS_B" curl -s -o /dev/null -m 5 "http://$ADDR_A:$HTTP_PORT/reset"; then
	fail "the /reset request got an answer"
fi
# socketserver shuts the connection down for writing (a FIN, which ends curl) before it closes
# it (the reset): the counter may move a moment after curl returns (a clean-clone run read it
# unchanged once)
rst_moved() { [ "$(out_rsts)" -gt "$rst_before" ]; }
wait_for 5 rst_moved || fail "the server sent no reset (TcpOutRsts $rst_before -> $(out_rsts))"
sleep 2
log "wrk made $requests requests, curl 200 connections and one the server reset"
ALERT_DELAY=- report "busy clients (wrk $requests requests + 200 curl + 1 reset)" 0 "$t0"

log "nmap -sS (IPv4, default timing) from $ADDR_B"
t1=$(now_s)
ip netns exec "$NS_B" nmap -sS -n -Pn -p 1-1000,$HTTP_PORT "$ADDR_A" >"$TMP/nmap-sS.out" 2>&1 ||
	fail "nmap -sS failed: $(cat "$TMP/nmap-sS.out")"
closed=$(grep -oE '[0-9]+ closed tcp ports' "$TMP/nmap-sS.out" | awk '{print $1}')
grep -q "^$HTTP_PORT/tcp *open" "$TMP/nmap-sS.out" || fail "nmap did not find $HTTP_PORT open"
wait_alert "$TMP/pl.json" port_scan "$ADDR_B" "$t1" 20
id=$ALERT_ID
[ "$(alert_get "$TMP/pl.json" "$id" 'a["target"]')" = "$ADDR_A" ] || fail "target"
wait_eq 5 "1-1000,$HTTP_PORT" alert_get "$TMP/pl.json" "$id" 'a["ports"]' ||
	fail "ports: $(alert_get "$TMP/pl.json" "$id" 'a["ports"]')"
detail=$(alert_get "$TMP/pl.json" "$id" 'a["detail"]')
log "alert: $detail"
case "$detail" in *"1001 ports"*"1 open ($HTTP_PORT), $closed refused"*) ;;
*) fail "nmap found $closed closed and $HTTP_PORT open; the alert says: $detail" ;; esac
sleep 1
report "nmap -sS 1001 ports" "$id" "$t1"

log "nmap -sT over IPv6 from $ADDR6_B"
t2=$(now_s)
ip netns exec "$NS_B" nmap -6 -sT -n -Pn -p 1-1000,$HTTP_PORT "$ADDR6_A" >"$TMP/nmap-sT.out" 2>&1 ||
	fail "nmap -sT failed: $(cat "$TMP/nmap-sT.out")"
closed=$(grep -oE '[0-9]+ closed tcp ports' "$TMP/nmap-sT.out" | awk '{print $1}')
wait_alert "$TMP/pl.json" port_scan "$ADDR6_B" "$t2" 20
id=$ALERT_ID
[ "$(alert_get "$TMP/pl.json" "$id" 'a["target"]')" = "$ADDR6_A" ] || fail "target"
wait_eq 5 "1-1000,$HTTP_PORT" alert_get "$TMP/pl.json" "$id" 'a["ports"]' ||
	fail "ports: $(alert_get "$TMP/pl.json" "$id" 'a["ports"]')"
detail=$(alert_get "$TMP/pl.json" "$id" 'a["detail"]')
log "alert: $detail"
case "$detail" in *"1 open ($HTTP_PORT), $closed refused"*) ;;
*) fail "nmap found $closed closed; the alert says: $detail" ;; esac
sleep 1
report "nmap -sT -6 1001 ports" "$id" "$t2"

log "nmap -sS of port 22 on twelve addresses from $SCANNER_HOST"
t3=$(now_s)
ip netns exec "$NS_B" nmap -sS -n -Pn -e "$IF_B" -S "$SCANNER_HOST" -p 22 "$NET.100-111" \
	>"$TMP/nmap-h.out" 2>&1 || fail "nmap failed: $(cat "$TMP/nmap-h.out")"
wait_alert "$TMP/pl.json" host_scan "$SCANNER_HOST" "$t3" 20
id=$ALERT_ID
[ "$(alert_get "$TMP/pl.json" "$id" 'a["ports"]')" = 22 ] || fail "ports"
detail=$(alert_get "$TMP/pl.json" "$id" 'a["detail"]')
log "alert: $detail"
case "$detail" in *"22 on 12 addresses"*"12 refused"*) ;; *) fail "detail: $detail" ;; esac
sleep 1
report "nmap -sS horizontal 12 addresses" "$id" "$t3"

log "slow: nmap -T2 of 10 ports from $SCANNER_SLOW (under the fast threshold of 20)"
t4=$(now_s)
ip netns exec "$NS_B" nmap -sS -T2 -n -Pn -e "$IF_B" -S "$SCANNER_SLOW" -p 101-110 "$ADDR_A" \
	>"$TMP/nmap-slow.out" 2>&1 || fail "nmap failed: $(cat "$TMP/nmap-slow.out")"
wait_alert "$TMP/pl.json" slow_scan "$SCANNER_SLOW" "$t4" 20
id=$ALERT_ID
[ "$(alert_get "$TMP/pl.json" "$id" 'a["ports"]')" = 101-110 ] || fail "ports"
log "alert: $(alert_get "$TMP/pl.json" "$id" 'a["detail"]')"
sleep 1
report "nmap -sS -T2 10 ports (slow)" "$id" "$t4"
[ "$(alert_seen "$TMP/pl.json" port_scan "$SCANNER_SLOW" 0)" = "" ] ||
	fail "the slow scan also raised a fast port_scan"

pktlens_stop INT 20 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC"
log "ok"
exit 0
