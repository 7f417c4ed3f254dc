# The kernel's own trace ring (a private tracefs instance) as ground truth for what pktlens' BPF
# programs see on the same tracepoints: ftrace records every event through a path that shares
# nothing with BPF. Source after netns.sh (it registers the instance for removal on exit).
# shellcheck shell=bash

TRACEFS=${TRACEFS:-/sys/kernel/tracing}

# ftrace_instance NAME [plain]: a fresh instance with the monotonic clock (bpf_ktime_get_ns'
# clock, so times compare with pktlens'), printing every field as a number (ftrace_events), or
# with "plain" in each event's own print format (symbols as the kernel resolves them); sets
# FTRACE_DIR. Removed on exit.
ftrace_instance() {
	[ -d "$TRACEFS/instances" ] || skip "kernel lacks tracefs (nothing mounted at $TRACEFS)"
	FTRACE_DIR=$TRACEFS/instances/${PL_PREFIX}$1
	mkdir "$FTRACE_DIR" || fail "cannot create the tracefs instance $FTRACE_DIR"
	# events must be off before the instance can go
	cleanup_add_cmd "echo 0 >'$FTRACE_DIR/events/enable'; rmdir '$FTRACE_DIR'"
	echo mono >"$FTRACE_DIR/trace_clock" || fail "the trace clock 'mono' is not available"
	# every field as name=0xHEX (DECIMAL), also those the event's print format leaves out
	if [ "${2:-}" != plain ]; then
		echo 1 >"$FTRACE_DIR/options/fields" 2>/dev/null ||
			skip "kernel lacks the ftrace 'fields' option (6.2+)"
	fi
	echo 16384 >"$FTRACE_DIR/buffer_size_kb"
}

# ftrace_enable CATEGORY:EVENT [FILTER]: record that event (only those matching FILTER).
ftrace_enable() {
	local ev=${1/://}
	[ -d "$FTRACE_DIR/events/$ev" ] || skip "kernel lacks the tracepoint $1"
	if [ -n "${2:-}" ]; then
		echo "$2" >"$FTRACE_DIR/events/$ev/filter" || fail "ftrace filter '$2' on $1 refused"
	fi
	echo 1 >"$FTRACE_DIR/events/$ev/enable" || fail "cannot enable $1 in $FTRACE_DIR"
}

# ftrace_stop: stop recording (the buffer stays readable).
ftrace_stop() {
	echo 0 >"$FTRACE_DIR/tracing_on"
}

# ftrace_lost: events the instance's buffer dropped (0 makes its record complete).
ftrace_lost() {
	awk '/^overrun:/ { s += $2 } END { print s + 0 }' "$FTRACE_DIR"/per_cpu/cpu*/stats
}

# ftrace_events CATEGORY:EVENT: the recorded events of that kind as JSON lines
# {"t": seconds, "pid": the task it fired in, "f": {"field": number, ...}} (integers and
# pointers; arrays are left out).
ftrace_events() {
	"$PYTHON" - "$FTRACE_DIR/trace" "${1#*:}" <<'EOF'
import json, re, sys
head = re.compile(r"-([0-9]+)\s+\[[0-9]+\].*?\s([0-9]+\.[0-9]+): " + re.escape(sys.argv[2]) + r": (.*)$")
field = re.compile(r"(\w+)=0x[0-9a-f]+ \((-?[0-9]+)\)")
for line in open(sys.argv[1]):
    m = head.search(line)
    if m:
        print(json.dumps({"t": float(m.group(2)), "pid": int(m.group(1)),
                          "f": {k: int(v) for k, v in field.findall(m.group(3))}}))
EOF
}

# ftrace_symbols CATEGORY:EVENT FIELD: the event's own names for FIELD's values, from the
# __print_symbolic table of its print format, as JSON {"number": "NAME"}.
ftrace_symbols() {
	"$PYTHON" - "$FTRACE_DIR/events/${1/://}/format" "$2" <<'EOF'
import json, re, sys
fmt = open(sys.argv[1]).read()
m = re.search(r"__print_symbolic\(REC->" + re.escape(sys.argv[2]) + r", (.*?)\)(?:,|$)", fmt)
table = re.findall(r'\{ *(-?[0-9]+), *"([^"]*)" *\}', m.group(1) if m else "")
print(json.dumps({int(n): name for n, name in table}))
EOF
}
