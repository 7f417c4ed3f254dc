#!/usr/bin/env bash
# --metrics scraped by a real Prometheus: pktlens started in namespace M watches A (-n) and serves
# /metrics in M; Prometheus in M scrapes it every second; its query API must give the scenario's
# ground truth: the UDP sender's datagram count and bytes (rx by iface and proto), UdpNoPorts
# (drops{reason="NO_SOCKET"}), TcpRetransSegs, the HTTP server's log (responses by status, the
# latency histogram's count, buckets and sum). Then the security model: an nmap SYN scan counts 1
# in pktlens_alerts_total{kind="port_scan"} (and nothing else is raised), the resets and ICMP
# unreachables A sent equal A's own TcpOutRsts and Icmp(6)OutDestUnreachs, and a --deny rule on a
# second address of B drops exactly the datagrams sent from it (packets, bytes, the total; the
# receiver gets none). The watched interface's name holds a quote and a backslash: Prometheus
# must read the escaped label back as the name. promtool check metrics passes on the text
# format; Prometheus itself parses the OpenMetrics one.
# test-timeout: 240
set -u
TEST_NAME=${TEST_NAME:-metrics_prometheus}
. "$(dirname "$0")/../lib/netns.sh"

N_UDP=${METRICS_N_UDP:-300}
N_CLOSED=${METRICS_N_CLOSED:-40}
N_DENIED=${METRICS_N_DENIED:-300}
UDP_LEN=100
UDP_PORT=5300
CLOSED_PORT=5399
SYN_PORT=7000
PL_PORT=9464
PROM_PORT=9090

require_root
require_cmd ip nft nstat curl prometheus promtool nmap "$PYTHON"
require_pktlens

cleanup_init
make_tmpdir

# A name with a quote and a backslash (Linux allows both): the label must come back intact.
IF_A='m"e\tA'
IF_B=mvethB
netns_pair 221
netns_no_offloads
netns_new m
NS_M=$NS_LAST
DENIED=${ADDR_B%.*}.9 # a second address of B, which the firewall denies
ip -n "$NS_B" addr add "$DENIED/24" dev "$IF_B"

# snmp NS NAME: a kernel counter of a namespace (absolute; nstat's history is not touched).
snmp() {
	ip netns exec "$1" nstat -asz "$2" 2>/dev/null | awk '{ s += $2 } END { print s + 0 }'
}

# prom QUERY: the value of an instant query's one result ("" when it has none).
prom() {
	ip netns exec "$NS_M" curl -sf --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" |
		"$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")'
}

prom_is() { [ "$(prom "$1")" = "$2" ]; }

# expect NAME QUERY VALUE: Prometheus answers VALUE within 20 s (the scrape after pktlens' next
# reading), or the test fails showing what it answered.
FAILS=0
expect() {
	local name=$1 q=$2 want=$3
	if wait_for 20 prom_is "$q" "$want"; then
		log "  $name: prometheus $want == ground truth $want"
	else
		log "  $name: prometheus '$(prom "$q")' != ground truth $want   ($q)"
		FAILS=$((FAILS + 1))
	fi
}

# ---- the servers in A: HTTP, a UDP sink that counts, a TCP listener whose SYN-ACKs B drops ----
bg_start "$TMP/http.log.err" ip netns exec "$NS_A" "$PYTHON" "$PL_ROOT/tests/lib/http_server.py" \
	"$TMP/http.log" 80
bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
n = 0
while True:
    s.recv(65536)
    n += 1
    print(n, flush=True)
' "$UDP_PORT"
bg_start "$TMP/listen.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(8)
time.sleep(600)
' "$SYN_PORT"
wait_port "$NS_A" tcp 80
wait_port "$NS_A" udp "$UDP_PORT"
wait_port "$NS_A" tcp "$SYN_PORT"

# ---- pktlens in M watching A; Prometheus in M ----
# ip netns exec execs pktlens: the pid is pktlens'
bg_start "$TMP/pl.json" ip netns exec "$NS_M" "$PKTLENS" -n "$NS_A" -i "$IF_A" --json \
	--interval 0.5 --metrics "127.0.0.1:$PL_PORT" --deny "$DENIED/32" \
	--alert quiet=600
PL_PID=$BG_PID
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 15 ||
	fail "pktlens did not attach: $(cat "$TMP/pl.json")"

# The listener is in M, where pktlens started, not in A, where -n took it.
[ -n "$(ip netns exec "$NS_M" ss -Hltn "sport = :$PL_PORT")" ] ||
	fail "nothing listens on $PL_PORT in the namespace pktlens started in"
[ -z "$(ip netns exec "$NS_A" ss -Hltn "sport = :$PL_PORT")" ] ||
	fail "the metrics listener is in the -n namespace"

cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pktlens
    static_configs:
      - targets: ['127.0.0.1:$PL_PORT']
EOF
bg_start "$TMP/prometheus.log" ip netns exec "$NS_M" prometheus \
	--config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
wait_for 60 prom_is 'up{job="pktlens"}' 1 ||
	fail "Prometheus did not scrape pktlens: up='$(prom 'up{job="pktlens"}')' $(tail -5 "$TMP/prometheus.log")"

# ---- traffic from B ----
noports0=$(snmp "$NS_A" UdpNoPorts)
retrans0=$(snmp "$NS_A" TcpRetransSegs)
sent=$(ns_b "$PYTHON" -c '
import socket, sys, time
a, port, closed, n, m, ln = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
for i in range(n):
    sent += s.sendto(b"u" * ln, (a, port)) == ln
    time.sleep(0.001)
for i in range(m):
    sent += s.sendto(b"c" * ln, (a, closed)) == ln
    time.sleep(0.002)
print(sent)
' "$ADDR_A" "$UDP_PORT" "$CLOSED_PORT" "$N_UDP" "$N_CLOSED" "$UDP_LEN") ||
	fail "the UDP sender failed"
[ "$sent" = $((N_UDP + N_CLOSED)) ] || fail "the sender sent $sent datagrams"
wait_for 10 sh -c "[ \"\$(tail -n 1 '$TMP/sink.log')\" = $N_UDP ]" ||
	fail "the sink received $(tail -n 1 "$TMP/sink.log") of $N_UDP datagrams"

# SYN-ACKs from A dropped in B: A retransmits them (TcpRetransSegs in A)
ip netns exec "$NS_B" nft -f - <<NFT || fail "cannot add the nftables rule"
table inet pktlens_metrics {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp sport $SYN_PORT tcp flags & (syn | ack) == (syn | ack) drop
	}
}
NFT
ns_b "$PYTHON" -c '
import socket, sys
s = socket.socket()
s.settimeout(2.5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    pass
' "$ADDR_A" "$SYN_PORT"
ip netns exec "$NS_B" nft delete table inet pktlens_metrics

paths=(/ok /ok /ok /ok /users/1 /users/2 /nope /nope /nope /fail /fail /old /slow)
for p in "${paths[@]}"; do
	ns_b curl -s -o /dev/null --max-time 5 "http://$ADDR_A$p" || fail "curl $p failed"
done
wait_for 10 sh -c "[ \$(wc -l <'$TMP/http.log') -ge ${#paths[@]} ]" ||
	fail "the server logged $(wc -l <"$TMP/http.log") of ${#paths[@]} requests"
# the last SYN-ACK retransmission may still come: let A's socket finish (request timed out)
wait_for 15 sh -c "[ -z \"\$(ip netns exec '$NS_A' ss -Htn state syn-recv)\" ]"
noports=$(($(snmp "$NS_A" UdpNoPorts) - noports0))
retrans=$(($(snmp "$NS_A" TcpRetransSegs) - retrans0))
[ "$retrans" -ge 1 ] || fail "no retransmission happened (TcpRetransSegs did not grow)"

# ---- Prometheus against the ground truth ----
esc_if=${IF_A//\\/\\\\}
esc_if=${esc_if//\"/\\\"}
frame=$((14 + 20 + 8 + UDP_LEN))
log "ground truth: $sent datagrams of $frame bytes, UdpNoPorts +$noports, TcpRetransSegs +$retrans"
expect "rx udp packets" "pktlens_rx_packets_total{iface=\"$esc_if\",proto=\"udp\"}" "$sent"
expect "rx udp bytes" "pktlens_rx_bytes_total{iface=\"$esc_if\",proto=\"udp\"}" $((sent * frame))
expect "NO_SOCKET drops" 'pktlens_drops_total{reason="NO_SOCKET"}' "$noports"
expect "TCP retransmits" 'pktlens_tcp_retransmits_total' "$retrans"

read -r -a truth < <("$PYTHON" - "$TMP/http.log" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
st = {}
for r in rows:
    st[r["status"]] = st.get(r["status"], 0) + 1
# a response left between w0 and w1 after the request arrived: its latency is in that window
lo = [r["w0"] - r["rx"] for r in rows]
hi = [r["w1"] - r["rx"] + 0.0005 for r in rows]
sure_fast = sum(1 for h in hi if h <= 0.1)
sure_slow = sum(1 for l in lo if l > 0.1)
print(len(rows), st.get(200, 0), st.get(404, 0), st.get(500, 0), st.get(301, 0),
      sure_fast, sure_slow, "%.6f" % sum(lo), "%.6f" % sum(hi))
PY
)
log "server log: ${truth[0]} responses, 200 x${truth[1]} 404 x${truth[2]} 500 x${truth[3]} 301 x${truth[4]}"
expect "HTTP 200" 'pktlens_http_responses_total{status="200"}' "${truth[1]}"
expect "HTTP 404" 'pktlens_http_responses_total{status="404"}' "${truth[2]}"
expect "HTTP 500" 'pktlens_http_responses_total{status="500"}' "${truth[3]}"
expect "HTTP 301" 'pktlens_http_responses_total{status="301"}' "${truth[4]}"
expect "latency count" 'pktlens_http_response_duration_seconds_count' "${truth[0]}"
[ $((truth[5] + truth[6])) = "${truth[0]}" ] || fail "a request's latency is too close to 0.1 s to judge"
expect "latency <= 0.1 s" 'pktlens_http_response_duration_seconds_bucket{le="0.1"}' "${truth[5]}"
sum=$(prom 'pktlens_http_response_duration_seconds_sum')
"$PYTHON" -c 'import sys; v, lo, hi = map(float, sys.argv[1:]); sys.exit(0 if lo <= v <= hi else 1)' \
	"${sum:-0}" "${truth[7]}" "${truth[8]}" ||
	{ log "  latency sum: prometheus '$sum' outside the server's [${truth[7]}, ${truth[8]}]"; FAILS=$((FAILS + 1)); }
expect "probe attached" "pktlens_probe_attached{probe=\"tc-ingress:$esc_if\"}" 1

# ---- the security model (after the drops above: the scan's SYNs to closed ports are NO_SOCKET) ----
ns_b nmap -sS -n -Pn -p 1-100 "$ADDR_A" >"$TMP/nmap.out" 2>&1 || fail "nmap: $(cat "$TMP/nmap.out")"
grep -q "^80/tcp *open" "$TMP/nmap.out" || fail "nmap did not find the HTTP server: $(cat "$TMP/nmap.out")"
denied=$(ns_b "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
n = 0
for i in range(int(sys.argv[4])):
    n += s.sendto(b"d" * int(sys.argv[5]), (sys.argv[2], int(sys.argv[3]))) == int(sys.argv[5])
print(n)
' "$DENIED" "$ADDR_A" "$UDP_PORT" "$N_DENIED" "$UDP_LEN") || fail "the sender from $DENIED failed"
[ "$denied" = "$N_DENIED" ] || fail "the sender from $DENIED sent $denied datagrams"
# every reset and unreachable A sent since it was made went out to B past pktlens' tc-egress
rsts=$(snmp "$NS_A" TcpOutRsts)
unreach=$(($(snmp "$NS_A" IcmpOutDestUnreachs) + $(snmp "$NS_A" Icmp6OutDestUnreachs)))
log "ground truth: one nmap scan (A sent $rsts resets, $unreach unreachables), $denied datagrams from $DENIED"
# (--alert quiet=600: the alert stays active however long the checks take)
expect "port_scan active" 'pktlens_alerts_active{kind="port_scan"}' 1
expect "port_scan alerts" 'pktlens_alerts_total{kind="port_scan"}' 1
expect "alerts of any kind" 'sum(pktlens_alerts_total)' 1
expect "resets sent" 'pktlens_detection_tcp_packets_total{direction="tx",flags="rst"}' "$rsts"
expect "unreachables sent" 'pktlens_detection_icmp_unreachable_sent_total' "$unreach"
rule="deny $DENIED/32"
expect "rule's drops" "pktlens_firewall_rule_packets_total{rule=\"$rule\",verdict=\"dropped\"}" "$denied"
expect "rule's dropped bytes" "pktlens_firewall_rule_bytes_total{rule=\"$rule\",verdict=\"dropped\"}" \
	$((denied * frame))
expect "rule's passes" "pktlens_firewall_rule_packets_total{rule=\"$rule\",verdict=\"passed\"}" 0
expect "firewall drops" 'pktlens_firewall_packets_total{verdict="dropped"}' "$denied"
expect "firewall rules" 'pktlens_firewall_rules' 1
[ "$(tail -n 1 "$TMP/sink.log")" = "$N_UDP" ] ||
	fail "the receiver got $(($(tail -n 1 "$TMP/sink.log") - N_UDP)) denied datagrams"

# ---- the exposition itself ----
ip netns exec "$NS_M" curl -sf --max-time 5 "http://127.0.0.1:$PL_PORT/metrics" >"$TMP/metrics.txt" ||
	fail "no /metrics"
promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.log" 2>&1 ||
	{ cat "$TMP/promtool.log" >&2; fail "promtool check metrics failed"; }
[ ! -s "$TMP/promtool.log" ] || { cat "$TMP/promtool.log" >&2; fail "promtool check metrics complains"; }
ip netns exec "$NS_M" curl -sf --max-time 5 -H 'Accept: application/openmetrics-text; version=1.0.0' \
	-o "$TMP/metrics.om" -w '%{content_type}\n' "http://127.0.0.1:$PL_PORT/metrics" >"$TMP/ctype" ||
	fail "no OpenMetrics /metrics"
grep -q '^application/openmetrics-text' "$TMP/ctype" || fail "OpenMetrics content type: $(cat "$TMP/ctype")"
[ "$(tail -n 1 "$TMP/metrics.om")" = "# EOF" ] || fail "the OpenMetrics text does not end with # EOF"
code=$(ip netns exec "$NS_M" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PL_PORT/other")
[ "$code" = 404 ] || fail "/other answered $code, not 404"

# ---- the Grafana dashboard's queries: each one valid in this Prometheus, each name exported ----
"$PYTHON" - "$PL_ROOT/deploy/grafana/pktlens-dashboard.json" "$TMP/metrics.txt" >"$TMP/dash.q" <<'PY' ||
import json, re, sys
d = json.load(open(sys.argv[1]))
names = {l.split()[2] for l in open(sys.argv[2]) if l.startswith("# TYPE ")}
series = {re.sub(r"[{ ].*", "", l.strip()) for l in open(sys.argv[2]) if not l.startswith("#")}
bad = 0
for p in d["panels"]:
    for t in p["targets"]:
        for n in set(re.findall(r"pktlens_[a-z_]+", t["expr"])):
            if n not in names and n not in series:
                print("dashboard panel %r uses %s, which pktlens does not export" % (p["title"], n),
                      file=sys.stderr)
                bad += 1
        print(t["expr"].replace("$__rate_interval", "10s").replace("$instance", ".*"))
sys.exit(1 if bad else 0)
PY
	fail "the dashboard names metrics that do not exist"
n_q=0
while IFS= read -r q; do
	st=$(ip netns exec "$NS_M" curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$q" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["status"])')
	[ "$st" = success ] || fail "Prometheus refuses the dashboard's query: $q"
	n_q=$((n_q + 1))
done <"$TMP/dash.q"
log "the dashboard's $n_q queries run in Prometheus"
# its received-bits panel shows this run's traffic
v=$(prom "sum(rate(pktlens_rx_bytes_total{iface=\"$esc_if\",proto=\"udp\"}[1h])) * 8")
[ -n "$v" ] || fail "the dashboard's receive query has no data"

[ "$FAILS" = 0 ] || fail "$FAILS value(s) in Prometheus differ from the ground truth"
kill -INT "$PL_PID"
wait_pid_exit "$PL_PID" 15 || fail "pktlens did not stop on SIGINT"
log "PASS"
