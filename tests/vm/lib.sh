# Helpers for tests/vm/cases/*.sh, sourced inside the VM (busybox sh): pktlens runs, JSON fields, checks.
PKTLENS=${PKTLENS:-/bin/pktlens}
BIN=/tests/bin

fail() {
	echo "FAIL: $*"
	exit 1
}

# skip_kernel FEATURE: the only reason a case may skip. The host (scripts/vmtest.sh) accepts a
# skip only when its reason starts with "kernel lacks "; any other skip fails the run.
skip_kernel() {
	echo "SKIP: kernel lacks $*"
	exit 77
}

# pl_start OUT ARGS...: runs pktlens --json in the background (pid in PL_PID) until its first line.
pl_start() {
	out=$1
	shift
	: >"$out"
	"$PKTLENS" --json --interval 1 "$@" >"$out" 2>"$out.err" &
	PL_PID=$!
	i=0
	while [ ! -s "$out" ]; do
		kill -0 "$PL_PID" 2>/dev/null || { cat "$out.err"; fail "pktlens $* exited early"; }
		i=$((i + 1))
		[ "$i" -lt 600 ] || fail "pktlens $* printed nothing in 60 s"
		sleep 0.1
	done
}

# pl_stop: SIGINT, wait; the last line of the output is the final snapshot.
pl_stop() {
	kill -INT "$PL_PID"
	wait "$PL_PID"
	rc=$?
	[ "$rc" -eq 0 ] || { cat "$out.err"; fail "pktlens exited with $rc"; }
}

# probes_json OUT: the "probes" array of the last snapshot, cut out of the line so that a
# defect elsewhere in the snapshot does not hide what these tests measure (smoke.sh checks the
# whole line).
probes_json() {
	tail -n 1 "$1" | sed -n 's/^.*"probes":\[/[/; s/\],"flows":.*$/]/p'
}

# probe_field OUT ID JQEXPR: JQEXPR applied to the probe with that id in the last snapshot.
probe_field() {
	probes_json "$1" | jq -r --arg id "$2" ".[] | select(.id == \$id) | $3"
}

# dummy_add NAME: a dummy interface; the kernel lacks them only when no dummy.ko came along
# (VMTEST_KERNEL boots without modules) and none are built in.
dummy_add() {
	ip link add "$1" type dummy && return 0
	ls /lib/modules/dummy.ko* >/dev/null 2>&1 && fail "dummy.ko is loaded but ip link add $1 type dummy failed"
	skip_kernel "dummy interfaces (CONFIG_DUMMY)"
}

expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected $3, got '$2'"
	echo "ok: $1 = $3"
}

# ---- the XDP cases (xdp_*.sh): a veth pair to a peer namespace, and the hook as xdp-tools see it.
# A case sets IF (its interface), A (its address), PASS and DENY (the peer's two addresses).

# xdp_require_chain: skips unless pktlens chains XDP through libxdp's dispatcher here (asked once
# per boot: a pktlens start costs seconds under emulation).
xdp_require_chain() {
	[ -s /tmp/xdp-kernel.txt ] ||
		"$PKTLENS" --list-probes >/tmp/xdp-kernel.txt 2>&1 || { cat /tmp/xdp-kernel.txt; rm -f /tmp/xdp-kernel.txt; fail "--list-probes failed"; }
	grep -q "^xdp: chained through libxdp's dispatcher" /tmp/xdp-kernel.txt && return 0
	grep "^xdp:" /tmp/xdp-kernel.txt
	grep -q "refuses freplace" /tmp/xdp-kernel.txt && skip_kernel "freplace programs (libxdp's dispatcher)"
	fail "pktlens does not chain XDP through libxdp's dispatcher here"
}

# xdp_veth: IF here, its peer (PASS and DENY) in a namespace held by process $xdp_peer.
xdp_veth() {
	unshare -n sleep 600 &
	xdp_peer=$!
	sleep 0.2
	ip link add "$IF" type veth || skip_kernel "veth interfaces"
	# busybox names the peer itself (the next free vethN)
	pif=$(ip -o link show | sed -n "s/^[0-9]*: \(veth[0-9]*\)@$IF:.*/\1/p")
	[ -n "$pif" ] || fail "cannot find the peer of $IF"
	ip link set "$pif" netns "$xdp_peer" || fail "cannot move $pif into the peer namespace"
	in_peer ip link set "$pif" name "${IF}p"
	in_peer ip link set lo up
	in_peer ip addr add "$PASS/24" dev "${IF}p"
	in_peer ip addr add "$DENY/24" dev "${IF}p"
	in_peer ip link set "${IF}p" up
	ip addr add "$A/24" dev "$IF"
	ip link set "$IF" up
}

# xdp_cleanup: xdp-tools' programs off IF, IF and the peer gone.
xdp_cleanup() {
	xdp-filter unload "$IF" >/dev/null 2>&1
	xdp-loader unload "$IF" --all >/dev/null 2>&1
	ip link del "$IF" 2>/dev/null
	[ -n "${xdp_peer:-}" ] && kill -9 "$xdp_peer" 2>/dev/null
}

in_peer() { nsenter -t "$xdp_peer" -n "$@"; }

# pings FROM N: N echo requests from the peer's address FROM to A; prints how many were answered.
pings() {
	in_peer ping -c "$2" -i 0.2 -W 1 -I "$1" "$A" 2>/dev/null |
		sed -n 's/.* \([0-9]*\) packets received.*/\1/p'
}

# hits: xdp-filter's own hit counter of its rule for DENY.
hits() {
	xdp-filter status 2>/dev/null | awk -v ip="$DENY" '$1 == ip { print $3 }'
}

# chain: the dispatcher's programs as xdp-loader (xdp-tools) lists them, "PRIO NAME ID" each.
chain() {
	xdp-loader status "$IF" 2>/dev/null | awk '$1 == "=>" { print $2, $3, $4 }'
}

# hook: the id of the program on IF's XDP hook (a dispatcher or a program alone); empty for none.
hook() {
	xdp-loader status "$IF" 2>/dev/null | awk -v i="$IF" '$1 == i && $2 !~ /^</ { print $(NF-1) }'
}

# pins: libxdp's dispatcher directories of IF on the BPF filesystem (dispatch-IFINDEX-ID).
pins() {
	ls -d "/sys/fs/bpf/xdp/dispatch-$(cat "/sys/class/net/$IF/ifindex")-"* 2>/dev/null | wc -l
}

# until_t SECONDS CMD...: retries CMD for up to SECONDS of wall clock (slow steps under emulation).
until_t() {
	_t=$1
	shift
	_end=$(($(date +%s) + _t))
	while ! "$@"; do
		[ "$(date +%s)" -lt "$_end" ] || return 1
		sleep 0.2
	done
}

# wait_xdp WHAT SECONDS EXPECTED CMD...: until CMD prints EXPECTED, then reports it like expect_eq.
wait_xdp() {
	_what=$1 _secs=$2 _want=$3
	shift 3
	until_t "$_secs" _xdp_is "$_want" "$@"
	expect_eq "$_what" "$("$@")" "$_want"
}
_xdp_is() {
	_w=$1
	shift
	[ "$("$@")" = "$_w" ]
}
