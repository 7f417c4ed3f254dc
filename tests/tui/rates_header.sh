#!/usr/bin/env bash
# The header's receive rate under tmux: a sender paced at RATE datagrams a second of FRAME-byte
# frames; the header's "rx N pps Xb/s" shows RATE and RATE x FRAME x 8 bits within 10% in three
# consecutive refreshes, and falls to 0 once the sender stops.
set -u
TEST_NAME=tui-rates-header
. "$(dirname "$0")/lib.sh"

PORT=5011
RATE=250
PAYLOAD=1458 # frame: 14 + 20 + 8 + 1458 = 1500 bytes: 250 x 1500 x 8 = 3.0 Mbit/s

tui_require
cleanup_init
make_tmpdir
netns_pair 244
bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    s.recv(65536)
' "$PORT"
wait_port "$NS_A" udp "$PORT"

tui_start 140 30 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_wait "1 Flows"
bg_start "$TMP/send.log" ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rate, size = int(sys.argv[3]), int(sys.argv[4])
t0 = time.monotonic()
for i in range(rate * 20):
    s.sendto(b"h" * size, (sys.argv[1], int(sys.argv[2])))
    time.sleep(max(0, t0 + (i + 1) / rate - time.monotonic()))
' "$ADDR_A" "$PORT" "$RATE" "$PAYLOAD"
SENDER=$BG_PID

# header: "... up 3s  rx 250 pps 3.0Mb/s  lost 0"; fmt_human: K/M/G with one decimal
header_rates() {
	tui_cap | head -n 1 | sed -nE 's/.* rx ([0-9.]+[KMG]?) pps ([0-9.]+[KMG]?)b(it)?\/s .*/\1 \2/p' |
		awk '{ for (i = 1; i <= 2; i++) { v = $i; m = 1
			if (v ~ /K$/) m = 1e3; else if (v ~ /M$/) m = 1e6; else if (v ~ /G$/) m = 1e9
			sub(/[KMG]$/, "", v); printf "%.0f ", v * m } print "" }'
}
in_range() { # VALUE EXPECTED: within 10%
	awk -v v="$1" -v e="$2" 'BEGIN { exit !(v >= 0.9 * e && v <= 1.1 * e) }'
}
good=0
deadline=$((SECONDS + 20))
while [ "$good" -lt 3 ] && [ "$SECONDS" -lt "$deadline" ]; do
	read -r pps bps <<<"$(header_rates)"
	if [ -n "${pps:-}" ] && in_range "$pps" "$RATE" && in_range "$bps" $((RATE * (PAYLOAD + 42) * 8)); then
		good=$((good + 1))
		log "header: $pps pps, $bps bit/s"
	else
		good=0
	fi
	sleep 0.5
done
[ "$good" -ge 3 ] || {
	tui_cap >&2
	fail "the header never showed $RATE pps and $((RATE * (PAYLOAD + 42) * 8)) bit/s (last: ${pps:-?} pps ${bps:-?} bit/s)"
}

kill "$SENDER"
wait "$SENDER" 2>/dev/null
tui_wait_re " rx 0 pps 0b(it)?/s " 5

tui_quit
log "ok"
exit 0
