# Network namespace pairs for pktlens tests, with trap-based cleanup of everything a test creates.
# shellcheck shell=bash
#
# Usage:
#   . tests/lib/netns.sh
#   cleanup_init                 # installs the EXIT/INT/TERM traps
#   netns_pair                   # NS_A/NS_B, IF_A/IF_B, ADDR_A/ADDR_B, ADDR6_A/ADDR6_B
#   netns_no_offloads            # tso/gso/gro off on both ends: packets == wire packets
#   bg_start "$TMP/server.log" ip netns exec "$NS_A" python3 server.py
# Everything registered is removed on exit, also when the test fails midway
# (KEEP_TMP=1 keeps the temporary folder with logs and captures for a look afterwards).

# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Per-run prefix so concurrent runs (and other developers' tests) never collide.
PL_PREFIX=${PL_PREFIX:-pl-$$-}

CLEANUP_PIDS=()
CLEANUP_NETNS=()
CLEANUP_CMDS=()
CLEANUP_DIRS=()
_CLEANUP_DONE=0
_NETNS_SEQ=0

# Kill one process we started: TERM, then KILL after a bounded wait.
_kill_pid() {
	local pid=$1
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	# a test may have stopped it (SIGSTOP): it then takes the TERM, and cleans up, once resumed
	kill -CONT "$pid" 2>/dev/null
	wait_pid_exit "$pid" 3 || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup_run() {
	local rc=$? i pid ns
	[ "$_CLEANUP_DONE" -eq 1 ] && return "$rc"
	_CLEANUP_DONE=1
	trap - INT TERM
	for ((i = ${#CLEANUP_PIDS[@]} - 1; i >= 0; i--)); do
		_kill_pid "${CLEANUP_PIDS[i]}"
	done
	for ((i = ${#CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP_CMDS[i]}" >/dev/null 2>&1
	done
	for ns in "${CLEANUP_NETNS[@]}"; do
		# Anything still running inside a namespace this test created was started by the test.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	for i in "${CLEANUP_DIRS[@]}"; do
		if [ -n "${KEEP_TMP:-}" ]; then
			echo "kept $i (KEEP_TMP is set)" >&2
		else
			rm -rf -- "$i"
		fi
	done
	return "$rc"
}

# cleanup_init: install the traps once; INT/TERM become an exit so EXIT cleans up.
cleanup_init() {
	trap cleanup_run EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

cleanup_add_pid() { CLEANUP_PIDS+=("$1"); }
cleanup_add_cmd() { CLEANUP_CMDS+=("$1"); }

# make_tmpdir: sets TMP to a fresh directory removed on exit.
make_tmpdir() {
	TMP=$(mktemp -d "/tmp/${PL_PREFIX}XXXXXX")
	chmod 755 "$TMP"
	CLEANUP_DIRS+=("$TMP")
}

# bg_start LOG CMD...: start CMD in the background with output to LOG; sets BG_PID.
bg_start() {
	local logf=$1
	shift
	"$@" </dev/null >"$logf" 2>&1 &
	BG_PID=$!
	cleanup_add_pid "$BG_PID"
}

# netns_new NAME_SUFFIX: create a namespace with lo up; prints nothing, sets NS_LAST.
netns_new() {
	local ns="${PL_PREFIX}$1"
	ip netns add "$ns" || fail "cannot create network namespace $ns"
	CLEANUP_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	NS_LAST=$ns
}

# netns_pair [SUBNET_OCTET]: two namespaces joined by a veth pair.
# Sets NS_A NS_B IF_A IF_B ADDR_A ADDR_B ADDR6_A ADDR6_B.
netns_pair() {
	local octet=${1:-200}
	_NETNS_SEQ=$((_NETNS_SEQ + 1))
	netns_new "a$_NETNS_SEQ"
	NS_A=$NS_LAST
	netns_new "b$_NETNS_SEQ"
	NS_B=$NS_LAST
	IF_A=${IF_A:-vethA}
	IF_B=${IF_B:-vethB}
	# Created directly inside the namespaces: no name ever appears in the root namespace.
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" ||
		fail "cannot create veth pair $IF_A/$IF_B"
	ADDR_A=10.$octet.0.1
	ADDR_B=10.$octet.0.2
	ADDR6_A=fd00:$octet::1
	ADDR6_B=fd00:$octet::2
	local ns
	for ns in "$NS_A" "$NS_B"; do
		# No DAD and no router solicitations: less IPv6 noise, addresses usable at once.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.router_solicitations=0 \
			net.ipv6.conf.default.router_solicitations=0 >/dev/null 2>&1
	done
	ip -n "$NS_A" addr add "$ADDR_A/24" dev "$IF_A"
	ip -n "$NS_B" addr add "$ADDR_B/24" dev "$IF_B"
	ip -n "$NS_A" addr add "$ADDR6_A/64" dev "$IF_A" nodad
	ip -n "$NS_B" addr add "$ADDR6_B/64" dev "$IF_B" nodad
	ip -n "$NS_A" link set "$IF_A" up
	ip -n "$NS_B" link set "$IF_B" up
	wait_for 5 ns_b_ping "$ADDR_A" ||
		fail "no IPv4 connectivity across $IF_A/$IF_B"
	wait_for 5 ns_b_ping "$ADDR6_A" ||
		fail "no IPv6 connectivity across $IF_A/$IF_B"
}

# netns_no_offloads: tso/gso/gro off on both veth ends so every skb is one wire packet.
netns_no_offloads() {
	command -v ethtool >/dev/null 2>&1 || skip "ethtool is not installed (needed to turn offloads off)"
	ip netns exec "$NS_A" ethtool -K "$IF_A" tso off gso off gro off >/dev/null 2>&1 ||
		fail "ethtool -K $IF_A failed"
	ip netns exec "$NS_B" ethtool -K "$IF_B" tso off gso off gro off >/dev/null 2>&1 ||
		fail "ethtool -K $IF_B failed"
}

# wait_port NS tcp|udp PORT [TIMEOUT_S]: until a socket in NS listens on (tcp) or is bound to
# (udp) PORT; fails the test on timeout. Use it instead of a sleep after starting a server.
wait_port() {
	local ns=$1 proto=$2 port=$3 timeout=${4:-10} opt=-Hltn
	[ "$proto" = udp ] && opt=-Hlun
	wait_for "$timeout" _port_bound "$ns" "$opt" "$port" ||
		fail "nothing listens on $proto port $port in $ns after ${timeout} s"
}

_port_bound() {
	[ -n "$(ip netns exec "$1" ss "$2" "sport = :$3" 2>/dev/null)" ]
}

# ns_b_ping ADDR [COUNT]: echo from namespace B (bash functions do not cross ip netns exec).
ns_b_ping() {
	ip netns exec "$NS_B" bash -c '. "$1"; shift; icmp_ping "$@"' _ "$PL_ROOT/tests/lib/common.sh" "$@"
}

# ns_a / ns_b CMD...: run a command inside namespace A or B.
ns_a() { ip netns exec "$NS_A" "$@"; }
ns_b() { ip netns exec "$NS_B" "$@"; }

# pktlens_start LOG ARGS...: start pktlens in the background; sets PL_PID.
pktlens_start() {
	local logf=$1
	shift
	"$PKTLENS" "$@" </dev/null >"$logf" 2>"$logf.err" &
	PL_PID=$!
	cleanup_add_pid "$PL_PID"
}

# pktlens_wait_attached LOG KIND TARGET TIMEOUT: wait for a JSON line reporting that probe attached.
pktlens_wait_attached() {
	local logf=$1 kind=$2 target=$3 timeout=$4
	local deadline=$((SECONDS + timeout)) st
	while [ "$SECONDS" -lt "$deadline" ]; do
		st=$(probe_state "$logf" "$kind" "$target")
		[ "$st" = attached ] && return 0
		kill -0 "$PL_PID" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# pktlens_stop SIGNAL TIMEOUT: signal pktlens and wait for it; sets PL_RC (124 on timeout).
pktlens_stop() {
	local sig=$1 timeout=$2
	kill "-$sig" "$PL_PID" 2>/dev/null
	if ! wait_pid_exit "$PL_PID" "$timeout"; then
		kill -KILL "$PL_PID" 2>/dev/null
		wait "$PL_PID" 2>/dev/null
		PL_RC=124
		return 1
	fi
	wait "$PL_PID" 2>/dev/null
	PL_RC=$?
	return 0
}
