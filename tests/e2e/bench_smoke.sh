#!/usr/bin/env bash
# Smoke run of the benchmarks (BENCH_QUICK=1) so that scripts/bench.sh does not rot.
#
# Checks the shape of the JSON it writes and the facts in it that do not depend on speed: every
# program ran on every frame at every fill level, the engine's snapshot holds every flow the
# bench put into the map, the ring buffer accounting balances (produced = consumed + lost), the
# L7 stage's requests and responses reach the model (or their loss is counted), and every tool
# of the overhead figure ran on both workloads, pktlens counting wrk's requests.
# The JSON goes to a temporary file, so a real result in build/bench.json survives `make test`.
set -u
TEST_NAME=bench_smoke
. "$(dirname "$0")/../lib/netns.sh"

require_root
for b in prog_cost refresh ring; do
	[ -x "$PL_ROOT/build/bench/$b" ] || skip "build/bench/$b is not built (make bench builds it)"
done
cleanup_init
make_tmpdir

BENCH_QUICK=1 BENCH_JSON="$TMP/bench.json" "$PL_ROOT/scripts/bench.sh" >"$TMP/bench.out" 2>&1
rc=$?
cat "$TMP/bench.out" >&2
[ "$rc" -eq "$SKIP_RC" ] && skip "$(sed -n 's/^SKIP: //p' "$TMP/bench.out" | tail -n 1)"
[ "$rc" -eq 0 ] || fail "scripts/bench.sh exited $rc"
[ -s "$TMP/bench.json" ] || fail "scripts/bench.sh wrote no JSON"

"$PYTHON" - "$TMP/bench.json" <<'EOF' || fail "bench JSON is incomplete (see above)"
import json, sys

try:
    j = json.load(open(sys.argv[1]))
except ValueError as e:
    print("not valid JSON: %s" % e, file=sys.stderr)
    sys.exit(1)
errors = []
for k in ("machine", "prog_cost", "tracepoints", "overhead", "refresh", "ring", "memory"):
    if k not in j:
        errors.append("figure key %s missing" % k)
m = j.get("machine", {})
if not m.get("cores") or not m.get("kernel"):
    errors.append("machine cores/kernel missing")

pc = j.get("prog_cost", {})
if "error" in pc:
    errors.append("prog_cost: %s" % pc["error"])
rows = pc.get("rows", [])
known = {(r["prog"], r["frame"], r["fill_pct"]) for r in rows if r.get("kind") == "known_flow"
         and all(x > 0 for x in r["ns"] + r["empty_ns"])}
progs = {"xdp_flows", "tc_ingress_flows", "tc_egress_flows"}
frames = {"tcp_syn", "tcp_data", "udp", "ipv6_tcp", "vlan_tcp", "ip4_fragment", "http_request"}
for p in progs:
    for f in frames:
        for fill in (0, 50, 90):
            if (p, f, fill) not in known:
                errors.append("prog_cost: no timing for %s on %s at %d%%" % (p, f, fill))
for r in rows:
    # the fill must really be in the map: 50% of the map, less only what LRU evicted early
    want = pc.get("map_entries", 0) * r["fill_pct"] // 100
    if r["fill_entries"] < want * 0.95:
        errors.append("prog_cost: %d%% fill holds %d entries, wanted %d"
                      % (r["fill_pct"], r["fill_entries"], want))
        break

rf = j.get("refresh")
if not isinstance(rf, list) or not rf:
    errors.append("refresh: %s" % (rf.get("error") if isinstance(rf, dict) else "empty"))
else:
    for s in rf:
        if s["flows_in_snapshot"] != s["flows"]:
            errors.append("refresh: map holds %d flows, the snapshot %d"
                          % (s["flows"], s["flows_in_snapshot"]))
        if not s["flows"]:
            errors.append("refresh: no flow in a map of %d" % s["map_entries"])
mem = j.get("memory")
if not isinstance(mem, list) or not all(x["flows_map_bytes"] > 0 and x["rss_kb"] > 0 for x in mem):
    errors.append("memory: missing or zero")

ring = j.get("ring", {})
if "error" in ring:
    errors.append("ring: %s" % ring["error"])
elif not ring.get("stages"):
    errors.append("ring: no stage")
else:
    if not ring.get("balanced"):
        errors.append("ring: produced != consumed + lost in some stage")
    stalled = [s for s in ring["stages"] if s["stage"] == "consumer_stalled"]
    if not stalled or not stalled[0]["lost"]:
        errors.append("ring: a stalled consumer lost nothing; the overload was not reached")
    # L7: every request and response the tc programs produced reached the model, or the loss
    # was counted (small response records and full request records both parsed).
    l7 = ring.get("l7_stages") or []
    if not l7:
        errors.append("ring: no L7 stage")
    for s in l7:
        if not s["exact"] and not s["lost"]:
            errors.append("ring: L7 at %.0f/s: requests or responses != pairs, nothing counted"
                          " lost" % s["target_per_s"])

tp = j.get("tracepoints", {})
if "skipped" not in tp and not tp.get("probes"):
    errors.append("tracepoints: %s" % tp.get("error", "no probe"))
# Overhead: each tool and workload ran once, every rate measured; pktlens counted the HTTP
# requests wrk made: at least those wrk saw answered, at most those plus one in flight per
# connection (16), unless it says it lost events.
ov = j.get("overhead", {})
rows = ov.get("rows", [])
for wl in ("http", "tcp"):
    for cfg in ("baseline", "pktlens", "iftop", "nethogs", "tcpdump", "pktlens_none"):
        rs = [r for r in rows if r["workload"] == wl and r["config"] == cfg]
        if not rs:
            errors.append("overhead: no run of %s under %s (%s)"
                          % (wl, cfg, ov.get("skipped", "")))
            continue
        r = rs[0]
        if "error" in r or not r.get("value"):
            errors.append("overhead: %s under %s: %s" % (wl, cfg, r.get("error", "no rate")))
        if wl == "http" and (r.get("socket_errors") or r.get("non_2xx")):
            errors.append("overhead: wrk under %s: %d socket errors, %d non-2xx"
                          % (cfg, r.get("socket_errors", 0), r.get("non_2xx", 0)))
        if cfg.startswith("pktlens") and not r.get("probes") and cfg != "pktlens_none":
            errors.append("overhead: pktlens (%s) reported no attached probe" % cfg)
for r in rows:
    if r["workload"] != "http" or r["config"] != "pktlens" or "requests" not in r:
        continue
    got, lost, want = r.get("http_requests", 0), r.get("l7_events_lost", 0), r["requests"]
    if lost:
        if got + lost < want:
            errors.append("overhead: pktlens saw %d requests + %d lost events < wrk's %d"
                          % (got, lost, want))
    elif not want <= got <= want + 16:
        errors.append("overhead: pktlens counted %d HTTP requests, wrk completed %d (16 conns)"
                      % (got, want))
    if not r.get("l7_events"):
        errors.append("overhead: pktlens had no L7 event under HTTP load")
t = ov.get("targets", {})
if set(t) != {"http", "tcp"} or any("not_behind_iftop" not in x for x in t.values()):
    errors.append("overhead: targets not computed: %s" % t)

for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
log "ok: bench JSON complete"
exit 0
