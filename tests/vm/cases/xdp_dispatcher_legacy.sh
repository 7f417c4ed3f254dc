# What pktlens does not own on a kernel that runs libxdp's dispatcher (issue 17): a headless
# pktlens alone in a dispatcher and killed with kill -9 leaves its program pinned there (libxdp
# pins the links; the dispatcher is a netlink attachment); the next pktlens, even one without
# XDP, takes it out by the dead instance's claim in /run/pktlens, and the hook, the BPF
# filesystem and /run/pktlens are empty again. A program loaded without the dispatcher
# (LIBXDP_SKIP_DISPATCHER=1 xdp-filter) is never replaced: one sentence, non-zero exit, the
# program untouched and still filtering. The hook as xdp-loader (xdp-tools) lists it is the truth.
. /tests/lib.sh
p1=
IF=pl7
A=10.97.0.1
PASS=10.97.0.2
DENY=10.97.0.3

cleanup() {
	kill -9 $p1 2>/dev/null
	xdp_cleanup
}
trap cleanup EXIT

xdp_require_chain
xdp_veth

# --- kill -9 of a pktlens alone in a dispatcher: the next pktlens, without XDP, takes it out ---
pl_start /tmp/xk.json -i "$IF" --probes xdp
p1=$PL_PID
expect_eq "the attach method" "$(probe_field /tmp/xk.json "xdp:$IF" .mode)" \
	"native, libxdp dispatcher prio 5"
pk=$(chain | awk '$2 == "xdp_flows" { print $3 }')
[ -n "$pk" ] || fail "pktlens' program is not in the dispatcher"
kill -9 "$p1"
wait "$p1" 2>/dev/null
expect_eq "the dead pktlens' program, still in the dispatcher" "$(chain)" "5 xdp_flows $pk"
[ -e "/run/pktlens/$p1" ] || fail "the dead pktlens' file (its claim on program $pk) is gone"
p1=
"$PKTLENS" -i "$IF" --json --duration 1 >/tmp/xn.json 2>/tmp/xn.err || { cat /tmp/xn.err; fail "pktlens without XDP failed"; }
cat /tmp/xn.err
wait_xdp "XDP on $IF after the next pktlens" 10 "" hook
expect_eq "dispatcher directories of $IF pinned" "$(pins)" 0
expect_eq "/run/pktlens entries left" "$(ls /run/pktlens 2>/dev/null | wc -l)" 0

# --- a program attached without the dispatcher is never replaced ---
LIBXDP_SKIP_DISPATCHER=1 xdp-filter load "$IF" >/tmp/xf2.log 2>&1 || { cat /tmp/xf2.log; fail "xdp-filter load without dispatcher failed"; }
xdp-filter ip "$DENY" -m src || fail "xdp-filter ip $DENY failed"
lid=$(hook)
xdp-loader status "$IF"
[ -n "$lid" ] && [ -z "$(chain)" ] || fail "xdp-filter did not load alone (hook '$lid', chain '$(chain)')"
"$PKTLENS" --json --duration 1 -i "$IF" --probes xdp >/tmp/x4.json 2>/tmp/x4.err
rc=$?
cat /tmp/x4.err
[ "$rc" -ne 0 ] || fail "pktlens attached XDP over a program loaded without the dispatcher"
expect_eq "lines on stderr" "$(wc -l </tmp/x4.err)" 1
grep -q "already has XDP program 'xdpfilt_alw_all' (id $lid) attached without libxdp's dispatcher; pktlens never replaces it" /tmp/x4.err ||
	fail "the refusal does not say why"
expect_eq "xdp-filter's program still attached alone" "$(hook)" "$lid"
expect_eq "pings from $DENY answered" "$(pings "$DENY" 3)" 0
expect_eq "xdp-filter's hits" "$(hits)" 3
expect_eq "pings from $PASS answered" "$(pings "$PASS" 2)" 2
expect_eq "/run/pktlens entries left" "$(ls /run/pktlens 2>/dev/null | wc -l)" 0
xdp-filter unload "$IF" || fail "xdp-filter unload failed"
ip link del "$IF"
