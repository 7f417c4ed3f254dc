#!/usr/bin/env bash
# deploy/: the systemd unit and the Kubernetes DaemonSet run pktlens as they say. For each, its
# own arguments and capability set (setpriv --bounding-set: nothing beyond what the file grants)
# run pktlens in a fresh namespace, where a sender's datagrams must be counted exactly at the
# address and port the file's scrape settings (DaemonSet annotations) point at. The unit passes
# systemd-analyze verify; the manifest parses and says hostNetwork, hostPID, not privileged.
set -u
TEST_NAME=${TEST_NAME:-metrics_deploy}
. "$(dirname "$0")/../lib/netns.sh"

UNIT=$PL_ROOT/deploy/systemd/pktlens.service
DS=$PL_ROOT/deploy/kubernetes/pktlens-daemonset.yaml
N=25
LEN=64

require_root
require_cmd ip curl setpriv systemd-analyze "$PYTHON"
require_pktlens
"$PYTHON" -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"

cleanup_init
make_tmpdir

# ---- what each file says: arguments, capabilities, scrape port ----
exec_args=$(sed -n 's|^ExecStart=[^ ]*pktlens ||p' "$UNIT")
[ -n "$exec_args" ] || fail "no ExecStart=.../pktlens line in $UNIT"
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$unit_caps" ] || fail "no CapabilityBoundingSet in $UNIT"
grep -q '^NoNewPrivileges=yes' "$UNIT" || fail "the unit does not set NoNewPrivileges"

"$PYTHON" - "$DS" >"$TMP/ds.txt" <<'PY' || fail "the DaemonSet manifest is not what it should be"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ds = [d for d in docs if d["kind"] == "DaemonSet"][0]
pod = ds["spec"]["template"]
spec = pod["spec"]
c = spec["containers"][0]
sc = c["securityContext"]
ann = pod["metadata"]["annotations"]
assert spec["hostNetwork"] is True and spec["hostPID"] is True, "hostNetwork and hostPID"
assert sc["privileged"] is False and sc["allowPrivilegeEscalation"] is False, "not privileged"
assert sc["capabilities"]["drop"] == ["ALL"], "drops every capability first"
assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/path"] == "/metrics"
port = ann["prometheus.io/port"]
assert str(c["ports"][0]["containerPort"]) == port, "annotated port == container port"
assert c["readinessProbe"]["httpGet"]["path"] == "/metrics"
print(" ".join(c["args"]))
print(" ".join("CAP_" + x for x in sc["capabilities"]["add"]))
print(port)
PY
ds_args=$(sed -n 1p "$TMP/ds.txt")
ds_caps=$(sed -n 2p "$TMP/ds.txt")
ds_port=$(sed -n 3p "$TMP/ds.txt")

# systemd's own check, with ExecStart pointing at this build
sed "s|^ExecStart=[^ ]*pktlens|ExecStart=$PKTLENS|" "$UNIT" >"$TMP/pktlens.service"
systemd-analyze verify "$TMP/pktlens.service" >"$TMP/verify.log" 2>&1 ||
	{ cat "$TMP/verify.log" >&2; fail "systemd-analyze verify refuses the unit"; }
grep -v 'not executable\|Failed to' "$TMP/verify.log" | grep -q pktlens.service &&
	{ cat "$TMP/verify.log" >&2; fail "systemd-analyze verify warns about the unit"; }

# setpriv's list: "CAP_BPF CAP_NET_ADMIN" -> "-all,+bpf,+net_admin"
bounding() {
	local out=-all c
	for c in $1; do
		c=${c#CAP_}
		out="$out,+${c,,}"
	done
	echo "$out"
}

# run_as NAME ARGS CAPS PORT: pktlens with ARGS and only CAPS in a fresh pair, scraped at PORT.
run_as() {
	local name=$1 args=$2 caps=$3 port=$4
	netns_pair 222
	# the deploy files run in the host's network namespace: here, namespace A is that host
	# shellcheck disable=SC2086
	bg_start "$TMP/$name.json" ip netns exec "$NS_A" setpriv --bounding-set "$(bounding "$caps")" \
		--inh-caps -all -- "$PKTLENS" $args --interval 0.5
	PL_PID=$BG_PID
	pktlens_wait_attached "$TMP/$name.json" tc-ingress "$IF_A" 20 ||
		fail "$name: pktlens with '$args' and $caps did not attach: $(tail -c 400 "$TMP/$name.json")"
	ns_b "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"d" * int(sys.argv[4]), (sys.argv[1], int(sys.argv[2])))
' "$ADDR_A" 9 "$N" "$LEN" || fail "the sender failed"
	want="pktlens_rx_packets_total{iface=\"$IF_A\",proto=\"udp\"} $N"
	# from B, as Prometheus on another host would scrape the node
	wait_for 10 sh -c "ip netns exec '$NS_B' curl -sf --max-time 2 'http://$ADDR_A:$port/metrics' |
		grep -qxF '$want'" ||
		fail "$name: http://$ADDR_A:$port/metrics does not say '$want'"
	log "$name: '$args' with $caps: $N datagrams counted, scraped at :$port"
	kill -INT "$PL_PID"
	wait_pid_exit "$PL_PID" 15 || fail "$name: pktlens did not stop"
	wait "$PL_PID"
	local rc=$?
	[ "$rc" = 0 ] || fail "$name: pktlens exited with $rc"
}

unit_port=${exec_args##*--metrics }
unit_port=${unit_port%% *}
unit_port=${unit_port##*:}
run_as systemd "$exec_args" "$unit_caps" "$unit_port"
run_as daemonset "$ds_args" "$ds_caps" "$ds_port"
log "PASS"
