#!/usr/bin/env bash
# `make demo`: a namespace pair with live HTTP, UDP and short TCP traffic, watched by pktlens.
#
# Environment:
#   DEMO_DURATION=N        run non-interactively for N seconds (passes --duration N)
#   PKTLENS_DEMO_ARGS=...  pktlens arguments after -n/-i; default: none (the TUI) on a terminal,
#                          else headless --json --interval 1
#   DEMO_MAX_SECONDS=N     upper bound on every traffic loop (default 3600)
# Everything the demo creates is removed when pktlens exits (q, Ctrl-C, --duration, or an error).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PL_ROOT=$ROOT
PL_PREFIX=pl-demo-$$-
IF_A=srv0
IF_B=cli0
# shellcheck source=tests/lib/netns.sh
. "$ROOT/tests/lib/netns.sh"

HTTP_PORT=8080
UDP_PORT=9000
ECHO_PORT=7000
CLOSED_PORT=7001

# remove_stale: namespaces of earlier demos whose script is gone (e.g. killed with -9).
remove_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^pl-demo-[0-9]+-'); do
		pid=${ns#pl-demo-}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null && continue
		echo "demo: removing $ns left by an earlier demo" >&2
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
}

# set_args: PL_ARGS = the TUI on a terminal, headless JSON otherwise (pipes, CI, tests).
# Not a $(...) function: inside a command substitution stdout is never a terminal.
set_args() {
	if [ -n "${PKTLENS_DEMO_ARGS+set}" ]; then
		read -r -a PL_ARGS <<<"$PKTLENS_DEMO_ARGS"
	elif [ -t 0 ] && [ -t 1 ]; then
		PL_ARGS=()
	else
		PL_ARGS=(--json --interval 1)
	fi
}

start_traffic() {
	local max=$1 gen="$ROOT/scripts/demo-traffic.py" common
	common=(--parent $$ --max-seconds "$max")

	mkdir -p "$TMP/www/api"
	echo "<html><body>pktlens demo</body></html>" >"$TMP/www/index.html"
	echo '{"status":"ok"}' >"$TMP/www/api/health"
	head -c 200000 /dev/urandom >"$TMP/www/big.bin"

	bg_start "$TMP/http.log" ip netns exec "$NS_A" timeout "$max" "$PYTHON" -m http.server \
		"$HTTP_PORT" --bind "$ADDR_A" --directory "$TMP/www"
	bg_start "$TMP/sink.log" ip netns exec "$NS_A" "$PYTHON" "$gen" udp-sink --addr "$ADDR_A" \
		--port "$UDP_PORT" "${common[@]}"
	bg_start "$TMP/echo.log" ip netns exec "$NS_A" "$PYTHON" "$gen" echo-server --addr "$ADDR_A" \
		--port "$ECHO_PORT" "${common[@]}"
	wait_for 10 ip netns exec "$NS_B" bash -c "exec 3<>/dev/tcp/$ADDR_A/$HTTP_PORT" ||
		fail "the demo HTTP server did not start: $(cat "$TMP/http.log")"

	bg_start "$TMP/stream.log" ip netns exec "$NS_B" "$PYTHON" "$gen" udp-stream --addr "$ADDR_A" \
		--port "$UDP_PORT" --rate 20 --size 300 "${common[@]}"
	bg_start "$TMP/churn.log" ip netns exec "$NS_B" "$PYTHON" "$gen" tcp-churn --addr "$ADDR_A" \
		--port "$ECHO_PORT" --closed-port "$CLOSED_PORT" "${common[@]}"
	# HTTP client: a few paths including a 404, about two requests a second, bounded in count,
	# from three client addresses so that the Flows pane's remote-host view has groups to show.
	bg_start "$TMP/curl.log" ip netns exec "$NS_B" bash -c '
		base=$1 parent=$2 max=$3
		shift 3
		paths=(/ /index.html /api/health /big.bin /missing /api/nothing)
		end=$((SECONDS + max))
		for ((i = 0; i < max * 4 && SECONDS < end; i++)); do
			kill -0 "$parent" 2>/dev/null || exit 0
			curl -s -o /dev/null -m 3 --interface "${@:RANDOM % $# + 1:1}" \
				-w "%{http_code} %{url_effective}\n" "$base${paths[RANDOM % ${#paths[@]}]}"
			sleep 0.$((3 + RANDOM % 5))
		done' _ "http://$ADDR_A:$HTTP_PORT" $$ "$max" "$ADDR_B" "$ADDR_B2" "$ADDR_B3"
}

main() {
	[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (network namespaces, BPF): sudo make demo" >&2; exit 1; }
	local c
	for c in ip curl "$PYTHON"; do
		command -v "$c" >/dev/null || { echo "demo: $c is missing; run scripts/deps.sh" >&2; exit 1; }
	done
	[ -x "$PKTLENS" ] || { echo "demo: $PKTLENS is not built; run make" >&2; exit 1; }
	remove_stale
	cleanup_init
	make_tmpdir
	netns_pair 210
	ADDR_B2=10.210.0.3
	ADDR_B3=10.210.0.4
	ip -n "$NS_B" addr add "$ADDR_B2/24" dev "$IF_B"
	ip -n "$NS_B" addr add "$ADDR_B3/24" dev "$IF_B"

	local max=${DEMO_MAX_SECONDS:-3600} args=()
	if [ -n "${DEMO_DURATION:-}" ]; then
		[[ "$DEMO_DURATION" =~ ^[0-9]+$ ]] || { echo "demo: DEMO_DURATION must be whole seconds" >&2; exit 1; }
		max=$((DEMO_DURATION + 10))
	fi
	start_traffic "$max"

	set_args
	args=("${PL_ARGS[@]}")
	[ -n "${DEMO_DURATION:-}" ] && args+=(--duration "$DEMO_DURATION")
	echo "demo: server namespace $NS_A ($ADDR_A, $IF_A), client namespace $NS_B ($ADDR_B," \
		"$ADDR_B2, $ADDR_B3)" >&2
	echo "demo: traffic: HTTP :$HTTP_PORT, UDP :$UDP_PORT, TCP echo :$ECHO_PORT, closed :$CLOSED_PORT" >&2
	echo "demo: $PKTLENS -n $NS_A -i $IF_A ${args[*]}" >&2
	# The demo's own settings (the user's pktlensrc is left alone): Flows opens grouped by
	# remote host; v cycles connection / remote host / local service / process, Enter lists a
	# group's flows, Esc goes back.
	mkdir -p "$TMP/config/pktlens"
	echo "flows.group=remote" >"$TMP/config/pktlens/pktlensrc"
	echo "demo: Flows is grouped by remote host: v cycles the groupings, Enter opens a group" >&2
	XDG_CONFIG_HOME=$TMP/config "$PKTLENS" -n "$NS_A" -i "$IF_A" "${args[@]}"
	local rc=$?
	echo "demo: pktlens exited ($rc); removing the demo namespaces" >&2
	exit "$rc"
}

main "$@"
