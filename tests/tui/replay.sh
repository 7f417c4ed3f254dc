#!/usr/bin/env bash
# --record and --replay. A headless run records a namespace's UDP flow while the sender sends 10
# datagrams, then 30 more (ground truth: the sender's counts, 142-byte frames), with the security
# model under way: an nmap SYN scan of 8 ports raises a port_scan alert (threshold 5 ports), and
# a --deny rule drops every datagram from a second address of B (the sender's count). `--replay --json` prints
# exactly the JSON the live run printed, alerts, firewall and detection included. In tmux, as the
# unprivileged user nobody (no BPF, no capabilities), the Flows pane shows each recorded
# snapshot's packet count as the run's JSON has it while stepping back and forward; pause holds
# the position, the speed keys change the speed, playing reaches the end, where the Alerts and
# Firewall panes show the scan and the rule's count. Truncated, damaged and foreign files, and
# options that do not apply, are one stderr sentence and a non-zero exit.
set -u
TEST_NAME=tui-replay
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/security.sh"

PORT=46601
PORT_DENIED=46603
NOBODY=65534

tui_require
require_cmd setpriv nmap
cleanup_init
make_tmpdir
netns_pair 216
DENIED=${ADDR_B%.*}.9 # B's second address, which the firewall denies (not ARP: XDP rules are IP)
ip -n "$NS_B" addr add "$DENIED/24" dev "$IF_B"

REC=$TMP/run.rec
bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    s.recv(2048)
' "$PORT"
wait_port "$NS_A" udp "$PORT"

# SUDO_UID: the recording belongs to the user who asked for it, so replaying needs no root
SUDO_UID=$NOBODY pktlens_start "$TMP/live.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5 \
	--record "$REC" --deny "$DENIED/32" --alert scan=5/60
pktlens_wait_attached "$TMP/live.json" tc-ingress "$IF_A" 20 ||
	fail "tc-ingress did not attach: $(cat "$TMP/live.json.err")"
live_get() { json_last "$TMP/live.json" | json_get "$1"; }
fw_attached() { [ -n "$(live_get 'j["firewall"]["attached"]' 2>/dev/null)" ]; }
wait_for 20 fw_attached || fail "the firewall did not attach: $(cat "$TMP/live.json.err")"

# the security model while recording: a real scan and a real rule
ns_b nmap -sS -n -Pn -p 1-8 "$ADDR_A" >"$TMP/nmap.out" 2>&1 || fail "nmap: $(cat "$TMP/nmap.out")"
# (under 26 ports nmap lists each)
[ "$(grep -c '^[1-8]/tcp  *closed' "$TMP/nmap.out")" = 8 ] || fail "nmap: $(cat "$TMP/nmap.out")"
wait_alert "$TMP/live.json" port_scan "$ADDR_B" 0 20
[ "$(alert_get "$TMP/live.json" "$ALERT_ID" 'a["ports"]')" = 1-8 ] ||
	fail "the scan's alert: $(alert_get "$TMP/live.json" "$ALERT_ID" 'a')"
sent_denied=$(ns_b "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
n = 0
for i in range(200):
    n += s.sendto(b"d" * 32, (sys.argv[2], int(sys.argv[3]))) == 32
print(n)
' "$DENIED" "$ADDR_A" "$PORT_DENIED") || fail "the sender from $DENIED failed"
denied_is() { [ "$(live_get 'j["firewall"]["rules"][0]["dropped_packets"]' 2>/dev/null)" = "$1" ]; }
wait_for 10 denied_is "$sent_denied" ||
	fail "the rule dropped $(live_get 'j["firewall"]["rules"]') of $sent_denied sent"
log "recording: port_scan alert $ALERT_ID from $ADDR_B, deny $DENIED/32 dropped $sent_denied of $sent_denied"
send() {
	ns_b "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 46602))
for i in range(int(sys.argv[3])):
    s.sendto(b"x" * 100, (sys.argv[1], int(sys.argv[2])))
' "$ADDR_A" "$PORT" "$1"
}
# rx_packets of the test's flow in the last line of the live JSON
rx_now() {
	json_last "$TMP/live.json" | "$PYTHON" -c '
import json, sys
j = json.loads(sys.stdin.read())
print(sum(f["rx_packets"] for f in j["flows"] if f["proto"] == "udp" and f["local_port"] == int(sys.argv[1])))
' "$PORT"
}
rx_is() { [ "$(rx_now)" = "$1" ]; }
send 10
wait_for 20 rx_is 10 || fail "pktlens did not count the first 10 datagrams (has $(rx_now))"
# two more snapshots with 10, so that stepping has a plateau to find
lines=$(json_count "$TMP/live.json")
wait_for 10 sh -c "[ \$(grep -c '^{' '$TMP/live.json') -ge $((lines + 2)) ]" || fail "pktlens stopped printing"
send 30
wait_for 20 rx_is 40 || fail "pktlens did not count 40 datagrams (has $(rx_now))"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/live.json.err")"
grep -q "^pktlens: recorded [0-9]* snapshots to $REC ([0-9]* bytes)$" "$TMP/live.json.err" ||
	fail "no line saying what was recorded: $(cat "$TMP/live.json.err")"
[ "$(stat -c %u "$REC")" = "$NOBODY" ] || fail "the recording belongs to uid $(stat -c %u "$REC"), not the invoker"

# per line of the live JSON: the flow's rx packets and bytes (the ground truth of each snapshot)
"$PYTHON" - "$TMP/live.json" "$PORT" >"$TMP/frames.txt" <<'PY' || fail "the live JSON does not match the sender"
import json, sys
rows = []
for line in open(sys.argv[1]):
    j = json.loads(line)
    f = [f for f in j["flows"] if f["proto"] == "udp" and f["local_port"] == int(sys.argv[2])]
    rows.append((f[0]["rx_packets"], f[0]["rx_bytes"]) if f else (0, 0))
for p, b in rows:
    # 100 bytes of payload + UDP 8 + IPv4 20 + Ethernet 14
    if b != p * 142 or p not in (0, 10, 40):
        sys.exit("a snapshot says %d packets, %d bytes" % (p, b))
if rows[-1][0] != 40 or sum(1 for p, _ in rows if p == 10) < 2:
    sys.exit("the run does not show 10 then 40 packets: %s" % rows)
for p, _ in rows:
    print(p)
PY
N=$(wc -l <"$TMP/frames.txt")
K10=$(grep -n -m1 '^10$' "$TMP/frames.txt" | cut -d: -f1)  # first snapshot with 10
K40=$(grep -n -m1 '^40$' "$TMP/frames.txt" | cut -d: -f1)  # first with 40
log "recorded $N snapshots: 10 packets from $K10, 40 from $K40"

AS_NOBODY="setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups"
# make test SANITIZE=1: reports of the runs as nobody go to a folder nobody may write, and from
# there to the runner's (tests/run.sh reads them after the test)
SAN_NOBODY=$TMP/sanitizer
san_log_dir() { printf '%s\n' "${ASAN_OPTIONS:-}" | sed -n 's/.*log_path=\([^:]*\)\/asan.*/\1/p'; }
SAN_RUNNER=$(san_log_dir)
if [ -n "$SAN_RUNNER" ]; then
	mkdir -m 1777 "$SAN_NOBODY"
	AS_NOBODY="env ASAN_OPTIONS=${ASAN_OPTIONS//$SAN_RUNNER/$SAN_NOBODY} UBSAN_OPTIONS=${UBSAN_OPTIONS//$SAN_RUNNER/$SAN_NOBODY} $AS_NOBODY"
	cleanup_add_cmd "cp -n '$SAN_NOBODY'/* '$SAN_RUNNER'/ 2>/dev/null"
fi
# ---- the same JSON, without privileges ----
$AS_NOBODY "$PKTLENS" --replay "$REC" --json >"$TMP/replay.json" 2>"$TMP/replay.err" ||
	fail "--replay --json as nobody failed: $(cat "$TMP/replay.err")"
# every byte, the security model's alerts, firewall and detection included
[ "$(wc -l <"$TMP/live.json")" -gt 0 ] && [ "$(wc -l <"$TMP/live.json")" = "$(wc -l <"$TMP/replay.json")" ] ||
	fail "the replay printed $(wc -l <"$TMP/replay.json") lines, the live run $(wc -l <"$TMP/live.json")"
cmp -s "$TMP/live.json" "$TMP/replay.json" ||
	fail "the replayed JSON differs from the live run's: $(diff "$TMP/live.json" "$TMP/replay.json" | head -c 600)"
# and what the comparison covers is there: the alert and the rule's count in the replay (the
# test's own datagrams from the scanner, to $PORT, are one more port it touched while the alert ran)
replay_sec=$(tail -n 1 "$TMP/replay.json" | json_get \
	'[(a["kind"], a["source"], a["ports"]) for a in j["alerts"]] + [j["firewall"]["rules"][0]["dropped_packets"], j["detection"]["syn_in"] > 0]')
[ "$replay_sec" = "[[\"port_scan\", \"$ADDR_B\", \"1-8,$PORT\"], $sent_denied, true]" ] ||
	fail "the replay's last snapshot has alerts, rule and detection $replay_sec"

# ---- the terminal UI as nobody ----
REAL=$PKTLENS
PKTLENS="$AS_NOBODY $REAL"
tui_start 160 30 --replay "$REC" --no-config
tui_wait "REPLAY " 20
# a step pauses whatever the player was doing (p at the end would play again)
tui_keys ,
tui_wait_re "REPLAY [0-9]+/$N .*(PAUSED|END)"
# the flow's PKTS cell (this host's side received them all) on the screen now
pkts_on_screen() {
	tui_cap | "$PYTHON" -c '
import sys
lines = sys.stdin.read().splitlines()
hdr = next((l for l in lines if "PKTS" in l and "PROTO" in l), None)
row = next((l for l in lines if ":%s " % sys.argv[1] in l and l.startswith("udp")), None)
if hdr is None or row is None:
    print("none"); sys.exit()
end = hdr.index("PKTS") + len("PKTS")
print(row[:end].split()[-1])
' "$PORT"
}
position() { tui_cap | grep -oE "REPLAY [0-9]+/$N" | head -1 | sed 's/REPLAY //; s|/.*||'; }
# goto K: step with , and . to snapshot K (1-based)
goto() {
	local want=$1 at i
	at=$(position)
	[ -n "$at" ] || fail "no replay position on screen"
	for ((i = at; i > want; i--)); do tui_keys ,; done
	for ((i = at; i < want; i++)); do tui_keys .; done
	tui_wait_re "REPLAY $want/$N "
}
expect_pkts() {
	local k=$1 want got deadline=$((SECONDS + 5))
	want=$(sed -n "${k}p" "$TMP/frames.txt")
	[ "$want" = 0 ] && want=none
	while got=$(pkts_on_screen) && [ "$got" != "$want" ] && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	[ "$got" = "$want" ] || { tui_cap >&2; fail "snapshot $k: the Flows pane shows '$got' packets, the run's JSON $want"; }
}
for k in 1 "$K10" $((K40 - 1)) "$K40" "$N" "$K10"; do
	goto "$k"
	tui_wait_re "REPLAY $k/$N .*(PAUSED|END)"
	expect_pkts "$k"
done
log "stepping: the Flows pane showed each snapshot's count"

# speed keys
tui_keys ']'
tui_wait_re "REPLAY $K10/$N [0-9:]+Z x2 "
tui_keys '[' '['
tui_wait_re "REPLAY $K10/$N [0-9:]+Z x0.5 "
# pause holds the position while time passes (at x1 a snapshot would go by every 0.5 s)
tui_keys ']'
tui_wait_re " x1 PAUSED"
sleep 1.5
[ "$(position)" = "$K10" ] || fail "paused, the position moved from $K10 to $(position)"
# playing at x64 reaches the end, and the last snapshot shows 40
for i in 1 2 3 4 5 6; do tui_keys ']'; done
tui_wait " x64 PAUSED"
tui_keys p
tui_wait_re "REPLAY $N/$N .* END" 20
expect_pkts "$N"
# the last snapshot's Alerts and Firewall panes: the scan, and the rule with its count
tab=$(tui_cap | grep -oE '[0-9] Alerts' | head -1 | cut -c1)
[ -n "$tab" ] || fail "no Alerts pane in the replay's tab bar: $(tui_cap | head -3)"
tui_keys "$tab"
tui_wait_re "port_scan +$ADDR_B +$ADDR_A +1-8,$PORT "
fw=$(tui_cap | grep -oE '[0-9]+ Firewall' | head -1 | awk '{print $1 % 10}') # pane 10 is key 0
tui_keys "$fw"
tui_wait_re "1 +deny $DENIED/32 +$sent_denied "
tui_keys 1
tui_keys '?'
tui_wait "one snapshot back (pauses)"
tui_keys Escape
tui_keys q
wait_for 10 test -s "$TMP/rc" || fail "the replay did not exit on q"
[ "$(cat "$TMP/rc")" = 0 ] || fail "the replay exited $(cat "$TMP/rc"): $(cat "$TMP/stderr")"
[ ! -s "$TMP/stderr" ] || fail "the replay wrote to stderr: $(cat "$TMP/stderr")"
PKTLENS=$REAL

# ---- bad recordings and options: one sentence, non-zero ----
# bad_case NAME WANT_RC WANT_TEXT CMD...: one line on stderr containing WANT_TEXT, exit WANT_RC
bad_case() {
	local name=$1 want_rc=$2 want=$3 rc
	shift 3
	"$@" </dev/null >"$TMP/bad.out" 2>"$TMP/bad.err"
	rc=$?
	[ "$rc" = "$want_rc" ] || fail "$name: exit $rc, not $want_rc: $(cat "$TMP/bad.err")"
	[ "$(wc -l <"$TMP/bad.err")" = 1 ] || fail "$name: stderr is not one line: $(cat "$TMP/bad.err")"
	grep -qF -- "$want" "$TMP/bad.err" || fail "$name: '$(cat "$TMP/bad.err")' does not say '$want'"
	[ ! -s "$TMP/bad.out" ] || fail "$name: printed something on stdout"
}
size=$(stat -c %s "$REC")
head -c $((size - 7)) "$REC" >"$TMP/cut.rec"
bad_case truncated 1 "truncated in snapshot $N" $AS_NOBODY "$PKTLENS" --replay "$TMP/cut.rec" --json
cp "$REC" "$TMP/flip.rec"
chmod 644 "$TMP/flip.rec"
printf '\xff\xff\xff\xff' | dd of="$TMP/flip.rec" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
bad_case damaged 1 "the recording is damaged" $AS_NOBODY "$PKTLENS" --replay "$TMP/flip.rec" --json
head -c 4096 /dev/urandom >"$TMP/random.rec"
bad_case foreign 1 "$TMP/random.rec is not a pktlens recording" "$PKTLENS" --replay "$TMP/random.rec" --json
bad_case missing 1 "cannot open the recording $TMP/none.rec" "$PKTLENS" --replay "$TMP/none.rec" --json
bad_case option 2 "--iface does not apply to --replay" "$PKTLENS" --replay "$REC" -i "$IF_A" --json
# the TUI on a damaged file says so before it touches the terminal
tui_start 160 30 --replay "$TMP/flip.rec" --no-config
wait_for 10 test -s "$TMP/rc" || fail "the replay of a damaged file did not exit"
[ "$(cat "$TMP/rc")" = 1 ] || fail "the replay of a damaged file exited $(cat "$TMP/rc")"
[ "$(wc -l <"$TMP/stderr")" = 1 ] && grep -q "the recording is damaged" "$TMP/stderr" ||
	fail "the replay of a damaged file said: $(cat "$TMP/stderr")"
mkdir "$TMP/dir.rec"
bad_case record-dir 1 "recording (--record) $TMP/dir.rec" "$PKTLENS" -n "$NS_A" -i "$IF_A" --json \
	--record "$TMP/dir.rec" --duration 1
ip netns exec "$NS_A" tc filter show dev "$IF_A" ingress 2>/dev/null | grep -q bpf &&
	fail "a tc filter is left after the refused --record"
echo "PASS: recorded, replayed as JSON and in tmux without privileges, damaged files refused"
