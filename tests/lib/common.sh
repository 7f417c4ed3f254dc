# Shared helpers for pktlens shell tests: logging, skip/fail, bounded waits, JSON extraction.
# shellcheck shell=bash
# Source it; it does not change shell options of the caller except where noted.

# Exit code the runner (tests/run.sh) reads as "skipped".
readonly SKIP_RC=77

PL_ROOT=${PL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PKTLENS=${PKTLENS:-$PL_ROOT/build/pktlens}
PYTHON=${PYTHON:-python3}

log() {
	printf '[%s] %s\n' "${TEST_NAME:-test}" "$*" >&2
}

# fail MSG...: print the reason and exit 1 (the EXIT trap cleans up).
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# skip MSG...: the runner prints the line starting with "SKIP:" as the reason.
skip() {
	printf 'SKIP: %s\n' "$*"
	exit "$SKIP_RC"
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, BPF)"
}

# require_cmd CMD...: skip when a tool the test needs is not installed.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (scripts/deps.sh installs it)"
	done
}

require_pktlens() {
	[ -x "$PKTLENS" ] || skip "$PKTLENS is not built (run make)"
}

# wait_for TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout))
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
	return 0
}

# wait_eq TIMEOUT_S WANT CMD...: run CMD every 0.1 s until it prints exactly WANT; 1 on timeout.
# (Not `wait_for N test "$(cmd)" = x`: the shell expands "$(cmd)" once, before wait_for runs, so
# that form tests the first reading over and over; `make check` refuses it.)
wait_eq() {
	local timeout=$1 want=$2
	shift 2
	local deadline=$((SECONDS + timeout))
	while [ "$("$@" 2>/dev/null)" != "$want" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
	return 0
}

# wait_pid_exit PID TIMEOUT_S: wait for a background child to exit; 1 on timeout.
wait_pid_exit() {
	local pid=$1 timeout=$2
	local deadline=$((SECONDS + timeout))
	while kill -0 "$pid" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
	return 0
}

# json_last FILE: print the last line of FILE that parses as a JSON object.
json_last() {
	"$PYTHON" - "$1" <<'EOF'
import json, sys
last = None
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            last = line
if last is None:
    sys.exit(1)
print(last)
EOF
}

# json_count FILE: number of lines in FILE that parse as JSON objects.
json_count() {
	"$PYTHON" - "$1" <<'EOF'
import json, sys
n = 0
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        try:
            if isinstance(json.loads(line), dict):
                n += 1
        except ValueError:
            pass
print(n)
EOF
}

# json_get EXPR: read one JSON object on stdin and print the Python expression
# EXPR evaluated with the object bound to `j` (e.g. 'j["stats"]["malformed"]').
json_get() {
	"$PYTHON" -c '
import json, sys
j = json.loads(sys.stdin.read())
v = eval(sys.argv[1], {"j": j})
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
' "$1"
}

# probe_state FILE KIND TARGET: state of one probe in the last JSON object of FILE
# (matched by kind and target, or by the id "KIND:TARGET").
probe_state() {
	probe_attr "$1" "$2" "$3" state
}

# probe_attr LOG KIND TARGET FIELD: that field (state, mode, ...) of the probe in the last JSON line.
probe_attr() {
	local last
	last=$(json_last "$1" 2>/dev/null) || return 0
	printf '%s\n' "$last" | "$PYTHON" -c '
import json, sys
j = json.loads(sys.stdin.read())
kind, target, field = sys.argv[1], sys.argv[2], sys.argv[3]
for p in j.get("probes", []):
    if p.get("id") == kind + ":" + target or (p.get("kind") == kind and p.get("target") == target):
        print(p.get(field, ""))
        break
' "$2" "$3" "$4"
}

# expect_tp_mode LOG TARGET: the built-in tracepoint TARGET (e.g. tcp:tcp_probe) runs as the
# variant asked for: raw_tp under PKTLENS_TP=raw, tp_btf where pktlens reports the kernel takes
# it (the wrappers *_raw.sh run the same test on the raw tracepoints).
expect_tp_mode() {
	local want=raw_tp got
	if [ "${PKTLENS_TP:-}" != raw ] && "$PKTLENS" --list-probes 2>/dev/null | grep -q 'tp_btf yes'; then
		want=tp_btf
	fi
	got=$(probe_attr "$1" tracepoint "$2" mode)
	[ "$got" = "$want" ] || fail "$2 runs as '$got', expected $want"
	log "$2 runs as $got"
}

# icmp_ping ADDR [COUNT] [INTERVAL_S]: ICMP/ICMPv6 echo with a raw socket (no iputils-ping needed);
# succeeds when every request got a reply within 1 s. Run it inside a namespace with ip netns exec.
icmp_ping() {
	"$PYTHON" - "$1" "${2:-1}" "${3:-0.2}" <<'EOF'
import os, select, socket, struct, sys, time
addr, count, gap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
v6 = ":" in addr
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
ident = os.getpid() & 0xFFFF

def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF

ok = 0
for seq in range(count):
    typ = 128 if v6 else 8
    body = struct.pack("!HH", ident, seq) + b"pktlens-test"
    hdr = struct.pack("!BBH", typ, 0, 0)
    pkt = hdr + body if v6 else struct.pack("!BBH", typ, 0, csum(hdr + body)) + body
    s.sendto(pkt, (addr, 0))
    deadline = time.time() + 1.0
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0, deadline - time.time()))
        if not r:
            break
        data = s.recv(2048)
        icmp = data if v6 else data[(data[0] & 0x0F) * 4:]
        if icmp[0] == (129 if v6 else 0) and icmp[4:8] == struct.pack("!HH", ident, seq):
            ok += 1
            break
    if seq + 1 < count:
        time.sleep(gap)
sys.exit(0 if ok == count else 1)
EOF
}
