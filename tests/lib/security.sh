# Helpers for the security tests: alerts in pktlens' JSON lines, detection delays, firewall counts.
# shellcheck shell=bash
#
# Usage: . tests/lib/security.sh (after netns.sh). Times are Unix seconds with fractions, as
# `date +%s.%N` prints them; every JSON line carries its wall-clock "time".

# now_s: the current Unix time with fractions.
now_s() { date +%s.%N; }

# alert_seen FILE KIND [SOURCE] [SINCE_S]: prints "DELAY ID" for the first JSON line (written after
# SINCE_S) holding an alert of KIND (from SOURCE, when given and not empty): DELAY is that line's
# time minus SINCE_S. Fails (1) when there is none yet.
alert_seen() {
	"$PYTHON" - "$@" <<'EOF'
import datetime, json, sys
path, kind = sys.argv[1], sys.argv[2]
source = sys.argv[3] if len(sys.argv) > 3 else ""
since = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else 0.0
with open(path, errors="replace") as f:
    for line in f:
        try:
            j = json.loads(line)
        except ValueError:
            continue
        t = datetime.datetime.strptime(j["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        if t < since:
            continue
        for a in j["alerts"]:
            if a["kind"] == kind and (not source or a["source"] == source):
                print("%.3f %d" % (t - since, a["id"]))
                sys.exit(0)
sys.exit(1)
EOF
}

# alert_get FILE ID EXPR: EXPR of the alert with that id in the last JSON line (`a` is the alert).
alert_get() {
	json_last "$1" | "$PYTHON" -c '
import json, sys
j = json.loads(sys.stdin.read())
for a in j["alerts"]:
    if a["id"] == int(sys.argv[1]):
        print(eval(sys.argv[2], {"a": a}))
        break
else:
    sys.exit(1)
' "$2" "$3"
}

# alerts_since FILE SINCE_S: every alert raised at or after SINCE_S (by its line's time), one
# line each: "ID KIND SOURCE -> TARGET PORTS: DETAIL", sorted by id.
alerts_since() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import datetime, json, sys
seen = {}
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        try:
            j = json.loads(line)
        except ValueError:
            continue
        t = datetime.datetime.strptime(j["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        up = j["uptime_s"]
        for a in j["alerts"]:
            # raised after SINCE: its first evidence is later than SINCE in wall-clock time
            if t - (up - a["first_seen"]) >= float(sys.argv[2]) - 0.5:
                seen[a["id"]] = a
for i in sorted(seen):
    a = seen[i]
    print("%d %s %s -> %s %s: %s" % (i, a["kind"], a["source"], a["target"], a["ports"], a["detail"]))
EOF
}

# wait_alert FILE KIND SOURCE SINCE_S TIMEOUT_S: until alert_seen finds it; sets ALERT_DELAY and
# ALERT_ID, or fails the test with the alerts there are.
wait_alert() {
	local out deadline=$((SECONDS + $5))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if out=$(alert_seen "$1" "$2" "$3" "$4"); then
			ALERT_DELAY=${out% *}
			ALERT_ID=${out#* }
			return 0
		fi
		kill -0 "$PL_PID" 2>/dev/null || fail "pktlens exited: $(cat "$1.err")"
		sleep 0.3
	done
	alerts_since "$1" 0 >&2
	fail "no $2 alert from '${3:-any source}' within $5 s"
}

# udp_send NS DST PORT COUNT [FAMILY]: COUNT datagrams of 32 bytes from namespace NS, as fast as
# the socket takes them; prints how many were sent.
udp_send() {
	ip netns exec "$1" "$PYTHON" -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
n = 0
for i in range(int(sys.argv[3])):
    s.sendto(b"p" * 32, (sys.argv[1], int(sys.argv[2])))
    n += 1
print(n)
' "$2" "$3" "$4"
}

# udp_sink_start NS ADDR PORT FILE: a UDP server that counts the datagrams it receives and
# writes the count to FILE when it is stopped (udp_sink_stop); sets SINK_PID. Its receive buffer
# holds any burst a test sends (8 MiB), and at the stop it reads what is still queued first.
udp_sink_start() {
	rm -f "$4" "$4.now"
	bg_start "$TMP/sink-$3.log" ip netns exec "$1" "$PYTHON" -c '
import os, select, signal, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
s.bind((sys.argv[1], int(sys.argv[2])))
n = 0
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
print("ready", flush=True)
s.setblocking(False)
shown = -1
while not stop:
    select.select([s], [], [], 0.1)
    while True:
        try:
            s.recv(2048)
            n += 1
        except BlockingIOError:
            break
    if n != shown:
        with open(sys.argv[3] + ".now.tmp", "w") as f:
            f.write("%d\n" % n)
        os.rename(sys.argv[3] + ".now.tmp", sys.argv[3] + ".now")
        shown = n
while True:
    try:
        s.recv(2048)
        n += 1
    except BlockingIOError:
        break
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write("%d\n" % n)
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
' "$2" "$3" "$4"
	SINK_PID=$BG_PID
	wait_for 10 grep -q ready "$TMP/sink-$3.log" || fail "the UDP sink on $2:$3 did not start"
}

# udp_sink_wait FILE N [TIMEOUT_S]: until the last sink started has received N datagrams (its
# running count in FILE.now); the packets may sit in a softirq queue for a while on a loaded
# host. Returns 1 on timeout (udp_sink_stop then says how many arrived).
udp_sink_wait() {
	wait_for "${3:-10}" _sink_has "$1" "$2"
}
_sink_has() { [ "$(cat "$1.now" 2>/dev/null)" = "$2" ]; }

# udp_sink_stop FILE: stops the last sink started and prints what it received.
udp_sink_stop() {
	kill -TERM "$SINK_PID" 2>/dev/null
	wait_for 10 test -s "$1" || fail "the UDP sink did not write its count"
	cat "$1"
}

# alerts_report JSON NAME ID SINCE [EXPECTED_ERE]: the RESULT line (delay ALERT_DELAY) of the
# alert ID, and a failure on any other alert raised since SINCE: another kind, or a second alert
# of the same kind (one burst is one alert, however many intervals). Lines of alerts_since that
# match EXPECTED_ERE are real and expected company (say why where it is passed).
alerts_report() {
	local others
	others=$(alerts_since "$1" "$4" | awk -v id="$3" '$1 != id')
	[ -n "${5:-}" ] && others=$(printf '%s\n' "$others" | grep -Ev "$5")
	printf 'RESULT %s: detected after %ss, false positives %d\n' "$2" "${ALERT_DELAY:--}" \
		"$(printf '%s' "$others" | grep -c .)" >&2
	[ -z "$others" ] || {
		printf '%s\n' "$others" >&2
		fail "$2: other alerts were raised"
	}
}
