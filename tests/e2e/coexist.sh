#!/usr/bin/env bash
# Any number of pktlens on one interface (issue 17): the TUI under tmux and two headless instances
# count the same UDP packets exactly; kill -9 of one leaves the others exact and (tcx) nothing of it
# running; a new one starts and counts; a foreign tcx program and a foreign classic tc filter stay
# untouched and are shown in --list-probes, the JSON and the Probes pane; nothing of pktlens is left
# afterwards. Runs once with tcx links (where the kernel has them) and once with classic tc filters.
set -u
TEST_NAME=coexist
. "$(dirname "$0")/../tui/lib.sh"
. "$(dirname "$0")/../lib/tcx.sh"

ERRORS=0
PORT=6001
# the foreign classic filter runs after pktlens' (pref 0xc0de = 49374) and ends classification
FOREIGN_PREF=50000

check() {
	local what=$1
	shift
	if "$@" >/dev/null; then
		log "ok: $what"
	else
		log "NOT OK: $what"
		ERRORS=$((ERRORS + 1))
	fi
}

# udp_burst N: N datagrams from B:PORT+1000 to A:PORT, one every 3 ms (bounded: N is at most a few
# hundred); one source port, so that every burst adds to the same flow (one row in the TUI).
udp_burst() {
	ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[3]) + 1000))
for i in range(int(sys.argv[1])):
    s.sendto(b"pktlens-coexist", (sys.argv[2], int(sys.argv[3])))
    time.sleep(0.003)
' "$1" "$ADDR_A" "$PORT"
}

udp_rx() {
	json_last "$1" 2>/dev/null |
		json_get "sum(f['rx_packets'] for f in j['flows'] if f['proto'] == 'udp' and f['local_port'] == $PORT)"
}

udp_rx_is() {
	[ "$(udp_rx "$1")" = "$2" ]
}

# tui_pkts_is N: the TUI's row of the UDP flow shows N packets.
tui_pkts_is() {
	tui_cap | grep -F "$ADDR_A:$PORT" | grep -qE "(^| )$1( |$)"
}

progs_are() {
	[ "$(pktlens_progs "$NS_A" "$IF_A" ingress)" = "$1" ] && [ "$(pktlens_progs "$NS_A" "$IF_A" egress)" = "$1" ]
}

foreign_in_place() {
	tc_progs "$NS_A" "$IF_A" ingress | grep -q "^tc .*foreign_tc_pass" || return 1
	if [ -n "${FOREIGN_TCX:-}" ]; then
		tc_progs "$NS_A" "$IF_A" ingress | grep -q "^tcx .*foreign_tc_pass" || return 1
	fi
}

headless() {
	local label=$1
	pktlens_start "$TMP/$label.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
	eval "PID_$label=$PL_PID"
}

wait_attached() {
	pktlens_wait_attached "$TMP/$1.json" tc-ingress "$IF_A" 30 ||
		fail "$1 never attached: $(cat "$TMP/$1.json.err")"
}

run_mode() {
	local mode=$1 tui_pid h1 h2 h3 pid want
	log "---- $mode ----"
	[ "$mode" = classic ] && export PKTLENS_TC=classic || unset PKTLENS_TC
	PORT=$((PORT + 1))

	tui_start 230 40 -n "$NS_A" -i "$IF_A" --interval 0.5
	tui_wait "1 Flows" 20
	tui_pid=$(pgrep -f -- "^$PKTLENS -n $NS_A -i $IF_A --interval 0.5" | head -n 1)
	headless h1
	h1=$PL_PID
	headless h2
	h2=$PL_PID
	wait_attached h1
	wait_attached h2
	wait_for 20 progs_are 3 || log "programs on $IF_A: $(tc_progs "$NS_A" "$IF_A" ingress | tr '\n' ';')"
	check "$mode: three pktlens on $IF_A, each with its own programs (3 per direction)" progs_are 3
	tc_progs "$NS_A" "$IF_A" ingress | sed "s/^/[coexist] $mode ingress chain: /" >&2

	udp_burst 200
	wait_for 15 udp_rx_is "$TMP/h1.json" 200
	wait_for 15 udp_rx_is "$TMP/h2.json" 200
	wait_for 15 tui_pkts_is 200
	check "$mode: 200 sent, headless 1 counts $(udp_rx "$TMP/h1.json")" udp_rx_is "$TMP/h1.json" 200
	check "$mode: 200 sent, headless 2 counts $(udp_rx "$TMP/h2.json")" udp_rx_is "$TMP/h2.json" 200
	check "$mode: 200 sent, the TUI shows 200 ($(tui_cap | grep -F "$ADDR_A:$PORT" | tr -s ' '))" tui_pkts_is 200

	kill -KILL "$h1"
	wait "$h1" 2>/dev/null
	if [ "$mode" = tcx ]; then
		check "tcx: the killed instance's links went with it (2 programs per direction)" progs_are 2
	fi
	udp_burst 100
	wait_for 15 udp_rx_is "$TMP/h2.json" 300
	wait_for 15 tui_pkts_is 300
	check "$mode: after kill -9 of one, headless 2 counts $(udp_rx "$TMP/h2.json") of 300" udp_rx_is "$TMP/h2.json" 300
	check "$mode: after kill -9 of one, the TUI shows 300" tui_pkts_is 300

	headless h3
	h3=$PL_PID
	wait_attached h3
	wait_for 20 progs_are 3
	check "$mode: a new instance attaches beside the others (3 per direction; a dead one's filters swept)" progs_are 3
	udp_burst 50
	wait_for 15 udp_rx_is "$TMP/h3.json" 50
	wait_for 15 udp_rx_is "$TMP/h2.json" 350
	wait_for 15 tui_pkts_is 350
	check "$mode: the new instance counts $(udp_rx "$TMP/h3.json") of 50" udp_rx_is "$TMP/h3.json" 50
	check "$mode: headless 2 counts $(udp_rx "$TMP/h2.json") of 350" udp_rx_is "$TMP/h2.json" 350
	check "$mode: the TUI shows 350" tui_pkts_is 350
	check "$mode: the foreign tcx program and tc filter are untouched" foreign_in_place

	# who else is attached: --list-probes, JSON, the Probes pane
	timeout 30 "$PKTLENS" -n "$NS_A" -i "$IF_A" --list-probes >"$TMP/list-$mode.txt" 2>&1
	want="tc-ingress:$IF_A .*\\[$( [ "$mode" = tcx ] && echo tcx || echo 'tc handle 0x[0-9a-f]+')\\].*also here:.*foreign_tc_pass"
	check "$mode: --list-probes shows the method and the foreign programs ($(grep "tc-ingress:$IF_A" "$TMP/list-$mode.txt"))" \
		grep -Eq "$want" "$TMP/list-$mode.txt"
	check "$mode: JSON lists the foreign program among the others on tc-ingress" \
		grep -q '"others":\[[^]]*"name":"foreign_tc_pass"' "$TMP/h2.json"
	tui_keys 2
	tui_wait "KIND" 5
	tui_keys /
	tui_type "tc-ingress"
	wait_for 10 _tui_has "also here: " ||
		wait_for 5 _tui_has "also here: "
	check "$mode: the Probes pane names the foreign program ($(tui_cap | grep -F 'also here' | tr -s ' '))" \
		_tui_has_re "also here: .*foreign_tc_pass id [0-9]+"
	tui_keys Escape

	pktlens_stop TERM 30
	PL_PID=$h2
	pktlens_stop TERM 30
	tui_keys q
	wait_for 20 test -s "$TMP/rc"
	tmux -L "$TUI_SOCK" kill-server 2>/dev/null
	rm -f "$TMP/rc"
	check "$mode: afterwards no pktlens program on $IF_A (tcx or tc)" progs_are 0
	check "$mode: afterwards the foreign tcx program and tc filter are still there" foreign_in_place
	for pid in $h1 $h2 $h3 $tui_pid; do
		check "$mode: no /run/pktlens entry of pid $pid" test ! -e "/run/pktlens/$pid"
	done
	check "$mode: no clsact of pktlens left beside the foreign filter's" \
		bash -c "ip netns exec '$NS_A' tc qdisc show dev '$IF_A' | grep -c clsact | grep -qx 1"
}

tui_require
require_cmd tc cc clang
cleanup_init
make_tmpdir
netns_pair 211
build_tcxtool
cat >"$TMP/foreign.c" <<'EOF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int foreign_tc_pass(struct __sk_buff *skb) { return 0; }
char LICENSE[] SEC("license") = "GPL";
EOF
clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c "$TMP/foreign.c" -o "$TMP/foreign.o" ||
	fail "cannot build the foreign program"
ip netns exec "$NS_A" tc qdisc add dev "$IF_A" clsact || fail "cannot add clsact"
ip netns exec "$NS_A" tc filter add dev "$IF_A" ingress pref "$FOREIGN_PREF" protocol all bpf direct-action \
	obj "$TMP/foreign.o" sec tc || fail "cannot add the foreign filter"
if have_tcx; then
	bg_start "$TMP/tcxhold.log" ip netns exec "$NS_A" "$TCXTOOL" hold "$TMP/foreign.o" foreign_tc_pass "$IF_A" ingress
	wait_for 10 grep -q attached "$TMP/tcxhold.log" || fail "foreign tcx program: $(cat "$TMP/tcxhold.log")"
	FOREIGN_TCX=$BG_PID
	run_mode tcx
	# A tcx program's verdict (this one passes: TCX_PASS) ends ingress before any classic filter,
	# so the classic run goes without it, as on a kernel without tcx.
	kill "$FOREIGN_TCX"
	wait "$FOREIGN_TCX" 2>/dev/null
	FOREIGN_TCX=
else
	log "this kernel has no tcx: only the classic tc run"
fi
run_mode classic

[ "$ERRORS" -eq 0 ] || fail "$ERRORS checks failed"
log "PASS"
