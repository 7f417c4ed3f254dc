#!/usr/bin/env bash
# XDP where the kernel cannot chain XDP programs (issue 17; this 6.18 host refuses freplace, so
# libxdp's dispatcher cannot run): xdp-filter (xdp-tools), loaded first and dropping one source,
# stays attached and filtering while pktlens says in one sentence why its XDP cannot attach
# (and exits non-zero when XDP was asked for), counts with tc what xdp-filter let through and
# lists xdp-filter on its XDP hook (JSON, --list-probes and the Probes pane, where attaching XDP is
# refused with the same sentence); without a foreign program pktlens attaches XDP alone, states
# that fallback in one line and in its probe's mode, and counts exactly; a second pktlens cannot
# take the first one's XDP hook and says whose it is; nothing of pktlens is left. Ground truth:
# the sender's own counts and xdp-filter's hit counter. On a kernel that chains, the same runs
# with LIBXDP_SKIP_DISPATCHER=1 (pktlens and libxdp then both keep to single programs);
# tests/vm/cases/xdp_dispatcher.sh tests the dispatcher itself.
set -u
TEST_NAME=xdp_foreign
# xdp-filter keeps its maps on a BPF filesystem: a private mount namespace gets one of its own,
# so that nothing of it is visible to anyone else and it goes with the test.
if [ -z "${PL_XDP_FOREIGN_MNTNS:-}" ]; then
	PL_XDP_FOREIGN_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../tui/lib.sh"
. "$(dirname "$0")/../lib/tcx.sh"

require_root
require_pktlens
require_cmd xdp-filter xdp-loader ip tmux
cleanup_init
make_tmpdir
build_tcxtool

mkdir -p "$TMP/bpffs"
mount -t bpf bpf "$TMP/bpffs" || fail "cannot mount a BPF filesystem at $TMP/bpffs"
cleanup_add_cmd "umount '$TMP/bpffs'"
export LIBXDP_BPFFS=$TMP/bpffs

"$PKTLENS" --list-probes >"$TMP/kernel.txt" 2>&1 || fail "--list-probes failed: $(cat "$TMP/kernel.txt")"
if grep -q "^xdp: chained through libxdp's dispatcher" "$TMP/kernel.txt"; then
	export LIBXDP_SKIP_DISPATCHER=1
	WHY="LIBXDP_SKIP_DISPATCHER=1 is set"
	BRIEF="LIBXDP_SKIP_DISPATCHER=1"
else
	WHY=$(sed -n 's/^xdp: one program per interface: //p' "$TMP/kernel.txt")
	BRIEF="kernel refuses freplace"
	[ -n "$WHY" ] || fail "--list-probes does not say why XDP cannot chain: $(cat "$TMP/kernel.txt")"
fi
log "XDP runs alone here: $WHY"

netns_pair 171
DENY=10.171.0.3
ip -n "$NS_B" addr add "$DENY/24" dev "$IF_B"
PORT=7001

# udp_from SRC N: N datagrams from SRC (an address of B) to A:PORT, one every 3 ms.
udp_from() {
	ip netns exec "$NS_B" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for i in range(int(sys.argv[2])):
    s.sendto(b"pktlens-xdp-foreign", (sys.argv[3], int(sys.argv[4])))
    time.sleep(0.003)
' "$1" "$2" "$ADDR_A" "$PORT"
}

# rx FILE SRC: UDP packets pktlens counted from SRC in the last snapshot of FILE.
rx() {
	json_last "$1" 2>/dev/null |
		json_get "sum(f['rx_packets'] for f in j['flows'] if f['proto'] == 'udp' and f['remote'] == '$2' and f['local_port'] == $PORT)"
}
rx_is() { [ "$(rx "$1" "$2")" = "$3" ]; }

# xdp_probe FILE EXPR: EXPR (Python, p = the xdp probe of IF_A) in the last snapshot of FILE.
xdp_probe() {
	json_last "$1" 2>/dev/null |
		json_get "[p for p in j['probes'] if p['id'] == 'xdp:$IF_A'][0]$2"
}

# hook_id: the id of the XDP program on IF_A (empty: none).
hook_id() {
	ip -n "$NS_A" -d link show dev "$IF_A" 2>/dev/null | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1
}

# hits: xdp-filter's own hit counter of its rule for DENY.
hits() {
	ip netns exec "$NS_A" xdp-filter status 2>/dev/null | awk -v ip="$DENY" '$1 == ip { print $3 }'
}

expect() {
	[ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
	log "ok: $1 = $3"
}

# ---- xdp-filter first: it drops what DENY sends ----
ip netns exec "$NS_A" xdp-filter load "$IF_A" >"$TMP/xf.log" 2>&1 || fail "xdp-filter load: $(cat "$TMP/xf.log")"
cleanup_add_cmd "ip netns exec '$NS_A' xdp-filter unload '$IF_A'"
ip netns exec "$NS_A" xdp-filter ip "$DENY" -m src >>"$TMP/xf.log" 2>&1 || fail "xdp-filter ip: $(cat "$TMP/xf.log")"
FID=$(hook_id)
[ -n "$FID" ] || fail "xdp-filter attached nothing to $IF_A"
FNAME=$(ip -n "$NS_A" -d link show dev "$IF_A" 2>/dev/null | sed -n 's/.*prog\/xdp id [0-9]* name \([^ ]*\).*/\1/p' | head -n 1)
log "xdp-filter: program $FNAME id $FID on $IF_A"
udp_from "$DENY" 6
expect "xdp-filter's hits before pktlens" "$(hits)" 6

# ---- pktlens asked for XDP: one sentence, non-zero exit, nothing left, the foreign program untouched ----
"$PKTLENS" -n "$NS_A" -i "$IF_A" --probes default,xdp --json --duration 2 >"$TMP/refused.json" 2>"$TMP/refused.err"
rc=$?
[ "$rc" -ne 0 ] || fail "pktlens attached XDP although $FNAME (id $FID) holds the hook"
cat "$TMP/refused.err" >&2
expect "lines pktlens wrote on stderr" "$(wc -l <"$TMP/refused.err")" 1
grep -qF "$IF_A already has XDP program '$FNAME' (id $FID) that pktlens did not load; pktlens never replaces it, and XDP programs cannot chain here: $WHY" \
	"$TMP/refused.err" || fail "the refusal does not say why: $(cat "$TMP/refused.err")"
expect "the XDP program on $IF_A after the refusal" "$(hook_id)" "$FID"
expect "pktlens tc programs left on $IF_A ingress" "$(pktlens_progs "$NS_A" "$IF_A" ingress)" 0
expect "pktlens tc programs left on $IF_A egress" "$(pktlens_progs "$NS_A" "$IF_A" egress)" 0

# ---- pktlens with its default probes: tc counts what xdp-filter passed; the chain is shown ----
pktlens_start "$TMP/tc.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/tc.json" tc-ingress "$IF_A" 30 || fail "tc never attached: $(cat "$TMP/tc.json.err")"
udp_from "$ADDR_B" 20
udp_from "$DENY" 15
wait_for 15 rx_is "$TMP/tc.json" "$ADDR_B" 20
expect "pktlens (tc) counts the 20 from $ADDR_B" "$(rx "$TMP/tc.json" "$ADDR_B")" 20
expect "xdp-filter's hits (6 + 15)" "$(hits)" 21
expect "pktlens (tc, after XDP) counts none of the 15 xdp-filter dropped" "$(rx "$TMP/tc.json" "$DENY")" 0
expect "the xdp probe's state" "$(xdp_probe "$TMP/tc.json" "['state']")" detached
expect "the xdp probe's mode" "$(xdp_probe "$TMP/tc.json" "['mode']")" "single program ($BRIEF)"
expect "the xdp probe lists xdp-filter on the hook" \
	"$(xdp_probe "$TMP/tc.json" "['others']")" "[{\"id\": $FID, \"name\": \"$FNAME\", \"how\": \"xdp\"}]"
"$PKTLENS" -n "$NS_A" -i "$IF_A" --list-probes >"$TMP/list.txt" 2>&1
grep -E "^xdp:$IF_A " "$TMP/list.txt" >&2
grep -qE "^xdp:$IF_A +xdp +detached +\[single program \($BRIEF\)\] also here: xdp $FNAME id $FID\$" "$TMP/list.txt" ||
	fail "--list-probes does not show xdp-filter on the XDP hook"
[ -s "$TMP/tc.json.err" ] && fail "pktlens without XDP wrote on stderr: $(cat "$TMP/tc.json.err")"
pktlens_stop INT 10 || fail "pktlens did not stop"
expect "pktlens' exit status" "$PL_RC" 0

# ---- the Probes pane: the attach method and xdp-filter on the hook; attaching is refused there ----
tui_start 250 40 -n "$NS_A" -i "$IF_A" --interval 0.5
tui_keys 2
tui_wait "TARGET" 15
tui_keys f
tui_type "xdp:$IF_A"
tui_keys Enter
tui_wait_re "^xdp +$IF_A +detached" 15
tui_wait " xdp:$IF_A: detached [single program ($BRIEF)]  also here: xdp $FNAME id $FID" 10
tui_keys Space
tui_wait "attach xdp:$IF_A?"
tui_keys y
tui_wait "xdp:$IF_A: $IF_A already has XDP program '$FNAME' (id $FID) that pktlens did not load; pktlens never replaces it" 10
tui_wait_re "^xdp +$IF_A +error "
expect "the XDP program on $IF_A after the TUI's attempt" "$(hook_id)" "$FID"
# (not tui_quit: it wants the XDP hook empty, and xdp-filter holds it)
tui_keys q
wait_for 30 test -s "$TMP/rc" || fail "the TUI did not exit on q within 30 s"
expect "the TUI's exit status" "$(cat "$TMP/rc")" 0
[ -s "$TMP/stderr" ] && fail "the TUI wrote on stderr: $(cat "$TMP/stderr")"
expect "xdp-filter's hits while the TUI ran (21)" "$(hits)" 21

# ---- afterwards: xdp-filter is attached and filtering as before ----
expect "the XDP program on $IF_A after pktlens" "$(hook_id)" "$FID"
udp_from "$DENY" 5
expect "xdp-filter's hits (21 + 5)" "$(hits)" 26
ip netns exec "$NS_A" xdp-filter unload "$IF_A" >>"$TMP/xf.log" 2>&1 || fail "xdp-filter unload: $(cat "$TMP/xf.log")"
expect "XDP on $IF_A after xdp-filter unload" "$(hook_id)" ""

# ---- an empty hook: XDP alone, the fallback said once, counts exact ----
pktlens_start "$TMP/alone.json" -n "$NS_A" -i "$IF_A" --probes default,xdp --json --interval 0.5
P1=$PL_PID
pktlens_wait_attached "$TMP/alone.json" xdp "$IF_A" 30 || fail "XDP never attached: $(cat "$TMP/alone.json.err")"
cat "$TMP/alone.json.err" >&2
expect "lines pktlens wrote on stderr" "$(wc -l <"$TMP/alone.json.err")" 1
grep -qxF "pktlens: XDP runs as a single program on each interface: $WHY, so libxdp's dispatcher cannot chain XDP programs here" \
	"$TMP/alone.json.err" || fail "the fallback is not stated: $(cat "$TMP/alone.json.err")"
MODE=$(xdp_probe "$TMP/alone.json" "['mode']")
case "$MODE" in
"native, single program ($BRIEF)" | "generic, single program ($BRIEF)") log "ok: the xdp probe's mode = $MODE" ;;
*) fail "the xdp probe's mode: $MODE" ;;
esac
PID1=$(hook_id)
[ -n "$PID1" ] || fail "no XDP program on $IF_A"
expect "the xdp probe lists nobody else" "$(xdp_probe "$TMP/alone.json" "['others']")" "[]"
udp_from "$ADDR_B" 10
udp_from "$DENY" 4
wait_for 15 rx_is "$TMP/alone.json" "$ADDR_B" 10
wait_for 15 rx_is "$TMP/alone.json" "$DENY" 4
expect "pktlens (XDP) counts the 10 from $ADDR_B" "$(rx "$TMP/alone.json" "$ADDR_B")" 10
expect "pktlens (XDP) counts the 4 from $DENY" "$(rx "$TMP/alone.json" "$DENY")" 4

# ---- a second pktlens cannot take the first one's XDP hook, and says whose it is ----
"$PKTLENS" -n "$NS_A" -i "$IF_A" --probes default,xdp --json --duration 2 >"$TMP/second.json" 2>"$TMP/second.err"
rc=$?
[ "$rc" -ne 0 ] || fail "a second pktlens attached XDP over the first one's"
cat "$TMP/second.err" >&2
grep -qxF "pktlens: the XDP hook of $IF_A holds pktlens pid $P1's program (id $PID1), and XDP programs cannot chain here: $WHY" "$TMP/second.err" ||
	fail "the second pktlens does not say whose the hook is: $(cat "$TMP/second.err")"
expect "the XDP program on $IF_A" "$(hook_id)" "$PID1"
udp_from "$ADDR_B" 7
wait_for 15 rx_is "$TMP/alone.json" "$ADDR_B" 17
expect "the first pktlens counts 10 + 7" "$(rx "$TMP/alone.json" "$ADDR_B")" 17
PL_PID=$P1
pktlens_stop INT 10 || fail "pktlens did not stop"
expect "pktlens' exit status" "$PL_RC" 0
expect "XDP on $IF_A after pktlens stopped" "$(hook_id)" ""
expect "pktlens tc programs left on $IF_A ingress" "$(pktlens_progs "$NS_A" "$IF_A" ingress)" 0
[ -e "/run/pktlens/$P1" ] && fail "/run/pktlens/$P1 was left"
log "passed"
