#!/usr/bin/env bash
# The JSON contract (docs/json-schema.json) against real output: pktlens --json watching a namespace
# with HTTP, DNS and TLS servers, clients, resets, SYN retransmissions and drops to a closed port;
# every line must validate (Debian's python3-jsonschema), every closed object lists exactly the keys
# the code emits (a key the schema does not know fails), and the lists the schema describes by their
# items must not be empty in the run, so that their item schemas were checked.
set -u
TEST_NAME=json_schema
. "$(dirname "$0")/../lib/netns.sh"

SCHEMA=$PL_ROOT/docs/json-schema.json
DOC=$PL_ROOT/docs/json-schema.md
# Debian's python3 with python3-jsonschema (scripts/deps.sh); a python3 earlier in PATH may lack it
VPY=/usr/bin/python3
SYN_PORT=46501 # B drops SYNs to it: A's connect retransmits its SYN
CLOSED_PORT=46502
NFT_TABLE=pktlens_json_schema

require_root
require_pktlens
require_cmd curl dig dnsmasq openssl nft ip "$PYTHON"
[ -x "$VPY" ] && "$VPY" -c 'import jsonschema' 2>/dev/null ||
	skip "python3-jsonschema is not installed (scripts/deps.sh installs it)"
cleanup_init
make_tmpdir
netns_pair 214

# The document's key tables are generated from the schema: they must be up to date.
"$VPY" "$PL_ROOT/scripts/json-schema-doc.py" "$SCHEMA" "$DOC" >"$TMP/doc.md" || fail "cannot render the schema"
diff -u "$DOC" "$TMP/doc.md" >"$TMP/doc.diff" ||
	fail "docs/json-schema.md is not the schema's rendering (scripts/json-schema-doc.py): $(head -20 "$TMP/doc.diff")"

ip netns exec "$NS_B" nft -f - <<NFT || fail "cannot add the nftables rules"
table inet $NFT_TABLE {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport $SYN_PORT tcp flags syn drop
	}
}
NFT
cleanup_add_cmd "ip netns exec '$NS_B' nft delete table inet $NFT_TABLE"

bg_start "$TMP/http.out" ip netns exec "$NS_A" "$PYTHON" "$PL_ROOT/tests/lib/http_server.py" "$TMP/access.log"
bg_start "$TMP/dnsmasq.out" ip netns exec "$NS_A" dnsmasq --no-daemon --no-resolv --no-hosts \
	--bind-interfaces --listen-address="$ADDR_A" --port=53 --address=/known.test/10.1.2.3 \
	--address=/test/ --pid-file=
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pktlens.test -days 1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || fail "cannot make a certificate"
bg_start "$TMP/s_server.log" ip netns exec "$NS_A" openssl s_server -quiet -www -accept 4433 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem"
wait_port "$NS_A" tcp 80
wait_port "$NS_A" udp 53
wait_port "$NS_A" tcp 4433

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5 --probes default,latency
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 20 ||
	fail "tc-ingress did not attach: $(cat "$TMP/pl.json.err")"

connect() {
	ip netns exec "$1" "$PYTHON" -c '
import socket, sys
s = socket.socket(); s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    pass
' "$2" "$3" "$4"
}
# A's SYN retransmitted (B drops it) while B's clients run
connect "$NS_A" "$ADDR_B" "$SYN_PORT" 1.5 &
syn_pid=$!
for p in /ok /users/42 /fail /missing /slow /ok; do
	ns_b curl -s -o /dev/null --max-time 5 "http://$ADDR_A$p" || fail "curl $p failed"
done
for n in known.test known.test nope.test; do
	ns_b dig +tries=1 +time=2 @"$ADDR_A" "$n" A >/dev/null || fail "dig $n got no answer"
done
for n in alpha.test beta.test; do
	ns_b bash -c "echo | timeout 5 openssl s_client -connect $ADDR_A:4433 -servername $n >/dev/null 2>&1"
done
# resets out of A (closed port) and UDP datagrams A drops (no socket)
connect "$NS_B" "$ADDR_A" "$CLOSED_PORT" 1
ns_b "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"x" * 20, (sys.argv[1], int(sys.argv[2])))
' "$ADDR_A" "$CLOSED_PORT"
wait "$syn_pid"
lines=$(json_count "$TMP/pl.json")
wait_for 10 sh -c "[ \$(grep -c '^{' '$TMP/pl.json') -ge $((lines + 2)) ]" || fail "pktlens stopped printing"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
[ "$(json_count "$TMP/pl.json")" -ge 3 ] || fail "too few JSON lines"

"$VPY" "$PL_ROOT/tests/e2e/_json_schema_check.py" "$SCHEMA" "$TMP/pl.json" ||
	fail "pktlens' JSON does not match docs/json-schema.json"
echo "PASS: every line matches the schema; every list the schema describes had items"
