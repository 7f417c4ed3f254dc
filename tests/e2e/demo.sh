#!/usr/bin/env bash
# `make demo` run headless for a few seconds: pktlens shows the demo's HTTP, UDP and TCP flows,
# and the demo removes its namespaces and processes afterwards.
set -u
TEST_NAME=demo
. "$(dirname "$0")/../lib/netns.sh"

main() {
	require_root
	require_cmd ip curl "$PYTHON"
	require_pktlens
	cleanup_init
	make_tmpdir
	DEMO_DURATION=6 PKTLENS_DEMO_ARGS="--json --interval 1" PKTLENS="$PKTLENS" \
		"$PL_ROOT/scripts/demo.sh" </dev/null >"$TMP/demo.json" 2>"$TMP/demo.err" &
	local pid=$! rc
	cleanup_add_pid "$pid"
	wait_pid_exit "$pid" 60 || fail "demo did not finish within 60 s"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "demo exited $rc: $(tail -n 5 "$TMP/demo.err")"
	json_last "$TMP/demo.json" >"$TMP/final.json" || fail "demo printed no JSON: $(tail -n 5 "$TMP/demo.err")"
	"$PYTHON" - "$TMP/final.json" <<'PY' || fail "demo traffic missing from pktlens output"
import json, sys
j = json.load(open(sys.argv[1]))
seen = {(f["proto"], f["local_port"]) for f in j["flows"] if f.get("rx_packets", 0) > 0}
want = {("tcp", 8080): "HTTP", ("udp", 9000): "UDP stream", ("tcp", 7000): "TCP echo"}
missing = [name for k, name in want.items() if k not in seen]
print("demo flows seen: %s" % sorted(seen))
if missing:
    print("missing: %s" % missing)
sys.exit(1 if missing else 0)
PY
	local left
	left=$(ip netns list | grep -E "^pl-demo-$pid-" || true)
	[ -z "$left" ] || fail "demo left namespaces behind: $left"
	pgrep -f "demo-traffic.py .*--parent $pid( |$)" >/dev/null && fail "demo left traffic generators running"
	log "PASS"
}

main "$@"
