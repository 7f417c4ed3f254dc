#!/usr/bin/env bash
# The automatic tracefs mount the README promises: in a private mount namespace where nobody has
# mounted tracefs, pktlens --list-probes offers the tracepoints, and a run attaches them, mounts
# tracefs at /sys/kernel/tracing (still there after it exits, as mount(8) would leave it) and
# counts a TCP connection's resets as the kernel's TcpOutRsts does. The host's mounts are untouched.
set -u
TEST_NAME=tracefs_mount
. "$(dirname "$0")/../lib/netns.sh"

PORT=5040

require_root
require_cmd unshare mountpoint nstat ip "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 250

bg_start "$TMP/srv.log" ip netns exec "$NS_A" "$PYTHON" -c '
import socket, struct, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1]))); l.listen(8)
while True:
    c, _ = l.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()  # a reset to the client
' "$PORT"
wait_port "$NS_A" tcp "$PORT"

# Inside: unmount every tracefs, run pktlens -n B (setns: no remount of /sys), make three
# connections from B that A resets, stop pktlens, report.
unshare -m --propagation private bash -c '
	set -u
	pl=$1 tmp=$2 ns=$3 addr=$4 port=$5 py=$6 ifc=$7
	while mountpoint -q /sys/kernel/tracing; do umount /sys/kernel/tracing || exit 3; done
	if mountpoint -q /sys/kernel/debug 2>/dev/null; then umount -l /sys/kernel/debug || exit 3; fi
	[ -e /sys/kernel/tracing/events ] && exit 3
	"$pl" -n "$ns" --list-probes >"$tmp/list.txt" 2>&1 || exit 5
	"$pl" -n "$ns" -i "$ifc" --json --interval 0.5 >"$tmp/pl.json" 2>"$tmp/pl.err" &
	pid=$!
	# the probes attach before the first snapshot
	for i in $(seq 150); do grep -q "^{" "$tmp/pl.json" 2>/dev/null && break; sleep 0.2; done
	r0=$(ip netns exec "$ns" nstat -asz TcpEstabResets | awk "/^TcpEstabResets/ { print \$2 }")
	for i in 1 2 3; do
		ip netns exec "$ns" "$py" -c "
import socket, sys
# the reset can come before connect() returns: the connection was established all the same
# (TcpEstabResets counts it) and connect() reports the reset
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    while s.recv(100):
        pass
except ConnectionResetError:
    pass
" "$addr" "$port" || exit 6
	done
	r1=$(ip netns exec "$ns" nstat -asz TcpEstabResets | awk "/^TcpEstabResets/ { print \$2 }")
	echo "$r0 $r1" >"$tmp/rsts"
	sleep 1.2
	kill -INT $pid
	wait $pid
	echo $? >"$tmp/rc"
	mountpoint -q /sys/kernel/tracing && echo mounted >"$tmp/mounted"
	exit 0
' _ "$PKTLENS" "$TMP" "$NS_B" "$ADDR_A" "$PORT" "$PYTHON" "$IF_B"
rc=$?
[ "$rc" -ne 3 ] || fail "could not unmount tracefs in a private mount namespace"
[ "$rc" -ne 5 ] || fail "--list-probes failed without tracefs: $(cat "$TMP/list.txt")"
[ "$rc" -eq 0 ] || fail "the private run failed (exit $rc): $(cat "$TMP/pl.err" 2>/dev/null)"
mountpoint -q /sys/kernel/tracing || fail "the host's tracefs mount is gone"
grep -q 'tracefs yes' "$TMP/list.txt" || fail "--list-probes does not report tracefs: $(tail -n 1 "$TMP/list.txt")"
grep -qE '^tracepoint:tcp:tcp_receive_reset +tracepoint +detached' "$TMP/list.txt" ||
	fail "--list-probes does not offer tcp_receive_reset: $(grep tcp_receive_reset "$TMP/list.txt")"
[ "$(cat "$TMP/rc")" = 0 ] || fail "pktlens exited with $(cat "$TMP/rc"): $(cat "$TMP/pl.err")"
[ -e "$TMP/mounted" ] || fail "tracefs is not mounted at /sys/kernel/tracing after the run"
read -r r0 r1 <"$TMP/rsts"
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"
got=$(json_get 'j["tcp"]["resets_rx"]' <"$TMP/last.json")
state=$(probe_state "$TMP/pl.json" tracepoint tcp:tcp_receive_reset)
log "tracefs mounted by pktlens; tcp_receive_reset $state; resets received $got, TcpEstabResets +$((r1 - r0))"
[ "$state" = attached ] || fail "tcp_receive_reset is '$state'"
[ "$((r1 - r0))" = 3 ] || fail "the kernel counted $((r1 - r0)) resets, the test made 3"
[ "$got" = 3 ] || fail "pktlens counted $got resets received, the kernel 3"
log "ok"
exit 0
