#!/usr/bin/env bash
# Captures real traffic in two namespaces and cuts it into seed inputs for the fuzz targets (how tests/fuzz/corpus began).
#
# Usage: tests/fuzz/capture-seeds.sh OUTDIR
# Writes OUTDIR/traffic.pcap and OUTDIR/TARGET/* (frames, HTTP, DNS, TLS payloads, l7model
# event sequences). Then keep what adds coverage:
#   build/fuzz/fuzz_T -merge=1 tests/fuzz/corpus/T OUTDIR/T
# Traffic: python http.server and curl (HTTP/1.0 and 1.1, keep-alive, POST, HEAD, 404), dnsmasq
# and dig (A, AAAA, MX, TXT, NXDOMAIN, over TCP), openssl s_server and s_client / curl (TLS 1.2
# and 1.3, SNI, ALPN), ICMP echo v4/v6, fragmented UDP v4/v6, UDP with an IPv6 hop-by-hop
# header, a reset from a closed port. seeds.py adds 802.1Q and 802.1ad (QinQ) tagged copies of
# some frames (this kernel has no VLAN devices) and the crafted seeds.
set -u
TEST_NAME=capture-seeds
. "$(dirname "$0")/../lib/netns.sh"

OUT=${1:?usage: $0 OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
require_root
require_cmd tcpdump curl dig dnsmasq openssl python3 ip
cleanup_init
make_tmpdir
netns_pair 217

bg_start "$TMP/tcpdump.log" ip netns exec "$NS_A" tcpdump -i "$IF_A" -s 0 -U -w "$OUT/traffic.pcap"
DUMP_PID=$BG_PID
wait_for 10 grep -q "listening on" "$TMP/tcpdump.log" || fail "tcpdump did not start"

# HTTP
mkdir -p "$TMP/www/api/items"
echo hello >"$TMP/www/index.html"
echo '{"id":42}' >"$TMP/www/api/items/42"
bg_start "$TMP/http.log" ip netns exec "$NS_A" python3 -m http.server 8080 --bind "$ADDR_A" \
	--directory "$TMP/www"
wait_for 10 ns_b curl -s -o /dev/null "http://$ADDR_A:8080/" || fail "http.server did not start"
ns_b curl -s -o /dev/null -o /dev/null "http://$ADDR_A:8080/index.html?q=1&x=%00" \
	"http://$ADDR_A:8080/api/items/42"
ns_b curl -s -o /dev/null --http1.0 -H "Host: www.example.test" "http://$ADDR_A:8080/missing/1234"
ns_b curl -s -o /dev/null -I "http://$ADDR_A:8080/"
ns_b curl -s -o /dev/null -d 'a=1&b=2' "http://$ADDR_A:8080/form"
ns_b curl -s -o /dev/null -g "http://[$ADDR6_A]:8080/v6" || true

# DNS (answers carry compression pointers back to the question)
bg_start "$TMP/dnsmasq.log" ip netns exec "$NS_A" dnsmasq --no-daemon --no-resolv --no-hosts \
	--bind-interfaces --listen-address="$ADDR_A" --port=53 --address=/known.test/10.1.2.3 \
	--address=/known.test/fd00::3 --mx-host=known.test,mail.known.test,10 \
	--txt-record=known.test,"v=spf1 -all" --address=/test/ --pid-file=
wait_for 10 ns_b dig +tries=1 +time=1 @"$ADDR_A" known.test A || fail "dnsmasq did not answer"
for q in "known.test A" "known.test AAAA" "known.test MX" "known.test TXT" "nope.test A" \
	"www.a-rather-long-label-for-a-seed.sub.known.test A"; do
	# shellcheck disable=SC2086
	ns_b dig +tries=1 +time=1 @"$ADDR_A" $q >/dev/null
done
ns_b dig +tries=1 +time=2 +tcp @"$ADDR_A" known.test A >/dev/null

# TLS: ClientHellos with SNI and ALPN, 1.2 and 1.3
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=seed.test -days 1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || fail "cannot make a certificate"
bg_start "$TMP/s_server.log" ip netns exec "$NS_A" openssl s_server -quiet -www -accept 4433 \
	-cert "$TMP/cert.pem" -key "$TMP/key.pem"
wait_for 10 ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 >/dev/null 2>&1" ||
	fail "s_server did not come up"
ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 -servername alpha.seed.test \
	-alpn h2,http/1.1 >/dev/null 2>&1"
ns_b bash -c "echo | openssl s_client -connect $ADDR_A:4433 -servername old.seed.test \
	-tls1_2 >/dev/null 2>&1"
ns_b curl -sk -o /dev/null --resolve "web.seed.test:4433:$ADDR_A" "https://web.seed.test:4433/"

# ICMP echo, fragments (large UDP datagrams), a reset, UDP with an IPv6 hop-by-hop header
ns_b_ping "$ADDR_A" || fail "no echo reply from $ADDR_A"
ns_b_ping "$ADDR6_A" || fail "no echo reply from $ADDR6_A"
ns_b curl -s -o /dev/null --max-time 2 "http://$ADDR_A:9/" || true
ns_b python3 - "$ADDR_A" "$ADDR6_A" <<'PY'
import socket, sys
a4, a6 = sys.argv[1], sys.argv[2]
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.sendto(b"F" * 3000, (a6, 9999))
# hop-by-hop header: the kernel fills next header and length; one PadN option of 4 bytes
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
s6.sendto(b"hop-by-hop seed", (a6, 9999))
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.sendto(b"udp seed", (a4, 9999))
s4.sendto(b"F" * 3000, (a4, 9999))
PY
sleep 1
kill -INT "$DUMP_PID" 2>/dev/null
wait_pid_exit "$DUMP_PID" 10 || fail "tcpdump did not stop"
python3 "$(dirname "$0")/seeds.py" "$OUT/traffic.pcap" "$OUT" || fail "cutting the capture failed"
echo "seeds in $OUT"
