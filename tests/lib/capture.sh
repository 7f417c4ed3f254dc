# dumpcap captures as ground truth, in a namespace the test made; stopped and checked for loss.
# shellcheck shell=bash
# Source after netns.sh. Usage: capture_start NS IFACE FILE [CAPTURE_FILTER]; ...; capture_stop

# capture_start NS IFACE FILE [FILTER]: dumpcap on IFACE inside NS until capture_stop; sets CAP_PID.
capture_start() {
	local ns=$1 ifc=$2 file=$3 filter=${4:-}
	local args=(-q -i "$ifc" -w "$file")
	[ -n "$filter" ] && args+=(-f "$filter")
	CAP_LOG=$file.log
	bg_start "$CAP_LOG" ip netns exec "$ns" dumpcap "${args[@]}"
	CAP_PID=$BG_PID
	wait_for 10 grep -q "Capturing on" "$CAP_LOG" || fail "dumpcap did not start: $(cat "$CAP_LOG")"
}

# capture_stop: stop dumpcap and fail when it lost packets (a lossy capture is no ground truth).
capture_stop() {
	kill -INT "$CAP_PID" 2>/dev/null
	wait_pid_exit "$CAP_PID" 10 || fail "dumpcap did not stop"
	# "Packets received/dropped on interface 'vethA': 515/0 (...)"
	grep -Eq "dropped on interface '[^']*': [0-9]+/0 " "$CAP_LOG" ||
		fail "the capture dropped packets: $(grep -i dropped "$CAP_LOG")"
}
