#!/usr/bin/env bash
# `make soak`: pktlens for a long time under mixed traffic, probe toggling and kill -9 cycles; memory and fds must stay flat, nothing may be left.
#
# Two pairs of namespaces joined by veth pairs; in each A side an HTTP server (python), dnsmasq,
# a TCP sink and a UDP sink; from each B side a bounded generator of HTTP requests (kept-alive and
# new connections), DNS queries (known names, NXDOMAIN, over TCP), UDP datagrams (also to a closed
# port: drops) and short TCP connections. On the first pair, for the whole run:
#   - a TUI pktlens under tmux on A's interface; every cycle it detaches and re-attaches a probe
#     from the Probes pane (Space) and walks through the panes;
#   - a headless pktlens (--json) on B's interface;
# on the second pair, every cycle, short-lived headless instances one after the other: the one
# started in the previous cycle is killed with SIGKILL, one runs to its --duration, a new one is
# left running for the next cycle to kill; every fourth cycle one with XDP on B's interface is
# killed the same way. Each one starting after a SIGKILL must clean up after it.
# (The short-lived ones stay off the first pair only to keep the two long-lived series apart; any
# number of instances may watch one interface since issue 17, which tests/e2e/coexist.sh tests.)
#
# Criterion, for each of the two long-lived instances, after a warm-up (SOAK_WARMUP seconds,
# default 120; flows age out after 30 s, so tables are at their steady size by then):
#   RSS growth from the end of the warm-up to the end     <= SOAK_RSS_GROWTH_KB (default 4096)
#   least-squares RSS slope over the samples after it     <= SOAK_RSS_SLOPE_KB_MIN (default 64)
#   open fds: every sample after it within SOAK_FD_SLACK (default 2) of the first one
# and at the end: both exit 0 on q / SIGINT, no tc filter, tcx link or XDP program left on either
# interface, no /run/pktlens entry and no kprobe/uprobe event of any pid this run started, our
# namespaces gone. The series (one line per cycle) goes to $SOAK_OUT/series.tsv.
#
# Environment: SOAK_SECONDS (default 1800), SOAK_STEP (seconds per cycle, default 10),
# SOAK_OUT (default $BUILD/soak), BUILD (default build), PKTLENS.
set -u
TEST_NAME=soak
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export PKTLENS=${PKTLENS:-$BUILD/pktlens}
# shellcheck source=tests/tui/lib.sh
. "$ROOT/tests/tui/lib.sh"

SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_STEP=${SOAK_STEP:-10}
SOAK_WARMUP=${SOAK_WARMUP:-120}
[ "$SOAK_WARMUP" -le $((SOAK_SECONDS / 4)) ] || SOAK_WARMUP=$((SOAK_SECONDS / 4))
SOAK_RSS_GROWTH_KB=${SOAK_RSS_GROWTH_KB:-4096}
SOAK_RSS_SLOPE_KB_MIN=${SOAK_RSS_SLOPE_KB_MIN:-64}
SOAK_FD_SLACK=${SOAK_FD_SLACK:-2}
OUT=${SOAK_OUT:-$BUILD/soak}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

tui_require
require_cmd dnsmasq tc bpftool
cleanup_init
make_tmpdir
netns_pair 221
STARTED_PIDS=()

# --- servers on the A side, traffic from the B side ------------------------------------------
mkdir -p "$TMP/www/api/items"
echo hello >"$TMP/www/index.html"
for i in 1 2 3; do echo "{\"id\":$i}" >"$TMP/www/api/items/$i"; done
TRAFFIC_PIDS=()

# serve_and_load TAG: servers in $NS_A, the generator in $NS_B (it stops after SOAK_SECONDS)
serve_and_load() {
	local tag=$1
	bg_start "$TMP/serve-$tag.log" ip netns exec "$NS_A" "$PYTHON" "$ROOT/scripts/soak-traffic.py" \
		serve "$ADDR_A" "$TMP/www"
	bg_start "$TMP/dnsmasq-$tag.log" ip netns exec "$NS_A" dnsmasq --no-daemon --no-resolv \
		--no-hosts --bind-interfaces --listen-address="$ADDR_A" --port=53 \
		--address=/known.test/10.1.2.3 --address=/test/ --pid-file=
	local port
	for port in 8080 9001 53; do
		wait_for 10 ns_b "$PYTHON" -c \
			"import socket; socket.create_connection(('$ADDR_A', $port), 1)" ||
			fail "nothing listens on $ADDR_A:$port"
	done
	bg_start "$TMP/traffic-$tag.log" ip netns exec "$NS_B" "$PYTHON" \
		"$ROOT/scripts/soak-traffic.py" load "$ADDR_A" "$SOAK_SECONDS"
	TRAFFIC_PIDS+=("$BG_PID")
}
serve_and_load 1
P1_NS_A=$NS_A P1_NS_B=$NS_B
netns_pair 222
P2_NS_A=$NS_A P2_NS_B=$NS_B
serve_and_load 2
NS_A=$P1_NS_A NS_B=$P1_NS_B # tests/tui/lib.sh and ns_a/ns_b work on the first pair

# --- the two long-lived instances -------------------------------------------------------------
tui_start 140 40 -n "$NS_A" -i "$IF_A" --interval 1 --idle 30
pane_pid=$(tmux -L "$TUI_SOCK" display -p -t main '#{pane_pid}')
wait_for 10 pgrep -P "$pane_pid" -x pktlens || fail "the TUI pktlens did not start: $(cat "$TMP/stderr")"
TUI_PID=$(pgrep -P "$pane_pid" -x pktlens)
STARTED_PIDS+=("$TUI_PID")
tui_keys 2
tui_wait "tc-ingress" 20
tui_keys f
tui_type "tc-ingress:$IF_A"
tui_keys Enter
tui_wait_re "^tc-ingress +$IF_A +attached" 20

mkfifo "$TMP/json.fifo"
bg_start "$TMP/json.count" awk -v last="$TMP/last.json" '{ n++; l = $0 } END { print n; print l >last }' \
	"$TMP/json.fifo"
AWK_PID=$BG_PID
"$PKTLENS" -n "$NS_B" -i "$IF_B" --json --interval 5 --idle 30 >"$TMP/json.fifo" \
	2>"$TMP/headless.err" </dev/null &
HEADLESS_PID=$!
cleanup_add_pid "$HEADLESS_PID"
STARTED_PIDS+=("$HEADLESS_PID")

# --- cycles -----------------------------------------------------------------------------------
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { find "/proc/$1/fd" -mindepth 1 2>/dev/null | wc -l; }

# short NS IFACE ARGS...: a headless instance on the second pair; sets SHORT_PID
short() {
	local ns=$1 ifc=$2
	shift 2
	"$PKTLENS" -n "$ns" -i "$ifc" --json --interval 1 "$@" >/dev/null 2>>"$TMP/short.err" </dev/null &
	SHORT_PID=$!
	cleanup_add_pid "$SHORT_PID"
	STARTED_PIDS+=("$SHORT_PID")
}

# sigkill PID: SIGKILL to an instance still running, counted
sigkill() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill -KILL "$1"
	wait "$1" 2>/dev/null
	kills=$((kills + 1))
}

SERIES=$OUT/series.tsv
printf 't_s\ttui_rss_kb\ttui_fds\theadless_rss_kb\theadless_fds\ttoggles\tkills\tshort_runs\tshort_failed\n' \
	>"$SERIES"
start=$SECONDS
cycle=0 toggles=0 kills=0 short_runs=0 short_failed=0
victim=
xdp_victim=
panes=(1 3 4 5 6 2)
log "soak: $SOAK_SECONDS s, a cycle every $SOAK_STEP s, series in $SERIES"
while [ $((SECONDS - start)) -lt "$SOAK_SECONDS" ]; do
	cycle_start=$SECONDS
	cycle=$((cycle + 1))
	kill -0 "$TUI_PID" 2>/dev/null || fail "the TUI pktlens died: $(cat "$TMP/stderr")"
	kill -0 "$HEADLESS_PID" 2>/dev/null || fail "the headless pktlens died: $(cat "$TMP/headless.err")"

	# TUI: detach and re-attach tc-ingress from the Probes pane, then walk through the panes
	tui_keys 2
	tui_wait_re "^tc-ingress +$IF_A +attached" 10
	tui_keys Space
	tui_wait_re "^tc-ingress +$IF_A +detached" 10
	tui_keys Space
	tui_wait_re "^tc-ingress +$IF_A +attached" 10
	toggles=$((toggles + 2))
	for p in "${panes[@]}"; do
		tui_keys "$p"
		sleep 0.3
	done

	# second pair: SIGKILL the last cycle's instances, one runs to its end, a new victim stays
	sigkill "$victim"
	sigkill "$xdp_victim"
	xdp_victim=
	short "$P2_NS_A" "$IF_A" --duration 2
	wait "$SHORT_PID"
	rc=$?
	short_runs=$((short_runs + 1))
	if [ "$rc" -ne 0 ]; then
		short_failed=$((short_failed + 1))
		log "cycle $cycle: a --duration instance exited $rc: $(tail -n 2 "$TMP/short.err")"
	fi
	short "$P2_NS_A" "$IF_A"
	victim=$SHORT_PID
	if [ $((cycle % 4)) -eq 0 ]; then
		short "$P2_NS_B" "$IF_B" --probes default,xdp
		xdp_victim=$SHORT_PID
	fi

	# sample once everything of this cycle is in place
	while [ $((SECONDS - cycle_start)) -lt "$SOAK_STEP" ]; do sleep 0.5; done
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' $((SECONDS - start)) "$(rss "$TUI_PID")" \
		"$(fds "$TUI_PID")" "$(rss "$HEADLESS_PID")" "$(fds "$HEADLESS_PID")" "$toggles" "$kills" \
		"$short_runs" "$short_failed" >>"$SERIES"
done

# --- the end: stop everything we started, then look for leftovers ----------------------------
for p in "$victim" "$xdp_victim"; do
	if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
		# the last ones must still be alive: an instance that died by itself is a finding
		sigkill "$p"
	elif [ -n "$p" ]; then
		wait "$p"
		fail "instance $p died before its SIGKILL (exit $?): $(tail -n 2 "$TMP/short.err")"
	fi
done
kill -INT "$HEADLESS_PID"
wait_pid_exit "$HEADLESS_PID" 60 || fail "the headless pktlens did not exit on SIGINT"
wait "$HEADLESS_PID"
headless_rc=$?
wait_pid_exit "$AWK_PID" 10
json_lines=$(head -n 1 "$TMP/json.count")
tui_quit
traffic=
for p in "${TRAFFIC_PIDS[@]}"; do
	wait_pid_exit "$p" $((SOAK_STEP + 30)) || kill "$p" 2>/dev/null
done
for t in 1 2; do traffic+="pair $t: $(tail -n 1 "$TMP/traffic-$t.log")  "; done
# a normal instance cleans up after the ones killed with SIGKILL; it must exit 0 itself
for ns_if in "$P2_NS_A:$IF_A" "$P2_NS_B:$IF_B"; do
	short "${ns_if%%:*}" "${ns_if#*:}" --duration 1
	wait "$SHORT_PID" || fail "a final instance on $ns_if failed: $(tail -n 2 "$TMP/short.err")"
done

problems=()
for ns_if in "$P1_NS_A:$IF_A" "$P1_NS_B:$IF_B" "$P2_NS_A:$IF_A" "$P2_NS_B:$IF_B"; do
	ns=${ns_if%%:*} ifc=${ns_if#*:}
	for d in ingress egress; do
		ip netns exec "$ns" tc filter show dev "$ifc" "$d" 2>/dev/null | grep -q bpf &&
			problems+=("a tc $d filter is left on $ifc in $ns")
	done
	ip -n "$ns" -d link show dev "$ifc" | grep -q 'prog/xdp' && problems+=("XDP is left on $ifc in $ns")
	# bpftool lists attachments under "xdp:", "tc:"... headings; anything but a heading is left over
	left=$(ip netns exec "$ns" bpftool net show dev "$ifc" 2>/dev/null |
		grep -v -E '^([a-z_]+:)?[[:space:]]*$')
	[ -z "$left" ] || problems+=("bpftool net show dev $ifc in $ns: $left")
done
for p in "${STARTED_PIDS[@]}"; do
	[ -e "/run/pktlens/$p" ] && problems+=("/run/pktlens/$p is left")
	for f in /sys/kernel/tracing/kprobe_events /sys/kernel/tracing/uprobe_events; do
		[ -r "$f" ] && grep -q "libbpf_${p}_" "$f" && problems+=("$f still has an event of pid $p")
	done
done

# --- the series against the criterion ---------------------------------------------------------
verdict=$("$PYTHON" - "$SERIES" "$SOAK_WARMUP" "$SOAK_RSS_GROWTH_KB" "$SOAK_RSS_SLOPE_KB_MIN" \
	"$SOAK_FD_SLACK" <<'PY'
import sys
path, warm, growth_max, slope_max, fd_slack = sys.argv[1], *map(float, sys.argv[2:])
rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
rows = [list(map(int, r)) for r in rows]
after = [r for r in rows if r[0] >= warm]
bad = []
if len(after) < 3:
    print("FAIL: fewer than 3 samples after the warm-up"); sys.exit(1)
for name, ri, fi in (("tui", 1, 2), ("headless", 3, 4)):
    t = [r[0] / 60.0 for r in after]
    rss = [r[ri] for r in after]
    fd = [r[fi] for r in after]
    n, mt, mr = len(t), sum(t) / len(t), sum(rss) / len(rss)
    slope = sum((a - mt) * (b - mr) for a, b in zip(t, rss)) / max(1e-9, sum((a - mt) ** 2 for a in t))
    growth = rss[-1] - rss[0]
    fd_dev = max(abs(x - fd[0]) for x in fd)
    print("%-8s rss %d -> %d kB (growth %+d, max %d), slope %+.1f kB/min; fds %d..%d (first %d)"
          % (name, rss[0], rss[-1], growth, max(rss), slope, min(fd), max(fd), fd[0]))
    if growth > growth_max:
        bad.append("%s RSS grew %d kB > %d" % (name, growth, growth_max))
    if slope > slope_max:
        bad.append("%s RSS slope %.1f kB/min > %d" % (name, slope, slope_max))
    if fd_dev > fd_slack:
        bad.append("%s fds moved by %d > %d" % (name, fd_dev, fd_slack))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
)
series_ok=$?
{
	echo "soak: $((SECONDS - start)) s, $cycle cycles, $toggles probe toggles, $kills SIGKILLs, $short_runs --duration runs ($short_failed failed)"
	echo "traffic: $traffic"
	echo "headless: $json_lines JSON lines, exit $headless_rc"
	echo "$verdict"
	for p in "${problems[@]}"; do echo "LEFT: $p"; done
} | tee "$OUT/summary.txt"
[ "$headless_rc" -eq 0 ] || fail "the headless pktlens exited $headless_rc"
[ "$short_failed" -eq 0 ] || fail "$short_failed --duration instances failed"
[ ${#problems[@]} -eq 0 ] || fail "something was left behind"
[ "$series_ok" -eq 0 ] || fail "memory or fds were not flat"
# the namespaces go with the EXIT trap; check that they did
trap - EXIT
cleanup_run
left=$(ip netns list | grep -F "$PL_PREFIX")
[ -z "$left" ] || { echo "FAIL: namespaces left: $left"; exit 1; }
echo "PASS: soak"
