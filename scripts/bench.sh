#!/usr/bin/env bash
# Runs pktlens' benchmarks (issue 4) on this machine, prints the table and writes build/bench.json.
#
# Figures: 1 ns/packet of the XDP and tc programs vs empty programs (BPF_PROG_TEST_RUN);
# 2 ns/event of the tracepoint programs under TCP load (BPF stats); 3 veth throughput with
# nothing, pktlens, pktlens+XDP and tcpdump attached; 4 refresh time and CPU by flow count,
# batch vs per-key reads; 5 ring buffer events/s without loss and the overload accounting;
# 6 kernel map memory and RSS by flow count.
#
# Environment: BENCH_QUICK=1 (tiny counts, one run each, no throughput: the smoke test),
# BENCH_RUNS (runs per figure), BENCH_SECONDS (length of one throughput run),
# BENCH_REPEAT (BPF_PROG_TEST_RUN repeat), BENCH_JSON (output file), BENCH_BIN (where the
# bench binaries are), PKTLENS (the binary). Nothing here asserts a time: the exit code says
# only whether every figure could be measured.
set -u
TEST_NAME=bench
. "$(dirname "$0")/../tests/lib/netns.sh"

QUICK=${BENCH_QUICK:-0}
BIN=${BENCH_BIN:-$PL_ROOT/build/bench}
OUT=${BENCH_JSON:-$PL_ROOT/build/bench.json}
if [ "$QUICK" = 1 ]; then
	RUNS=${BENCH_RUNS:-1}
	SECS=${BENCH_SECONDS:-1}
	REPEAT=${BENCH_REPEAT:-2000}
	INSERTS=20
	STATS_WAIT=2
	SIZES=1000,10000,100000:1000
	RING_ARGS=(-r "20000,0" -t 0.1 -o 10000)
	TP_SECS=1
	DROP_COUNT=500
else
	RUNS=${BENCH_RUNS:-5}
	SECS=${BENCH_SECONDS:-3}
	REPEAT=${BENCH_REPEAT:-200000}
	INSERTS=400
	STATS_WAIT=60
	SIZES=1000,10000,100000,1000000,1000000:1000
	RING_ARGS=(-r "25000,50000,100000,200000,300000,400000,800000,1600000,0" -t 0.5 -o 100000)
	TP_SECS=4
	DROP_COUNT=20000
fi

require_root
require_cmd ip "$PYTHON"
for b in prog_cost refresh ring; do
	[ -x "$BIN/$b" ] || skip "$BIN/$b is not built (run make bench)"
done

cleanup_init
make_tmpdir
FAILED=()
# One binary for the whole run, even if the tree is rebuilt meanwhile.
if [ -x "$PKTLENS" ]; then
	cp "$PKTLENS" "$TMP/pktlens" && PKTLENS=$TMP/pktlens
fi

# phase NAME CMD...: run one figure's binary, its JSON to $TMP/NAME.json; a failure is recorded.
phase() {
	local name=$1
	shift
	log "figure: $name"
	if ! "$@" >"$TMP/$name.json" 2>"$TMP/$name.err"; then
		log "$name failed: $(tail -n 3 "$TMP/$name.err" | tr '\n' ' ')"
		printf '{"error":%s}\n' "$("$PYTHON" -c 'import json,sys; print(json.dumps(sys.argv[1]))' \
			"$(tail -n 3 "$TMP/$name.err")")" >"$TMP/$name.json"
		FAILED+=("$name")
	fi
}

# Machine facts go with the table: figures from different machines do not compare.
"$PYTHON" - "$TMP/machine.json" "$QUICK" "$RUNS" "$SECS" "$PKTLENS" <<'EOF'
import json, os, platform, subprocess, sys, time
model = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
try:
    rev = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                         text=True, timeout=5).stdout.strip()
except Exception:
    rev = ""
try:
    ver = subprocess.run([sys.argv[5], "--version"], capture_output=True, text=True,
                         timeout=5).stdout.strip()
except Exception:
    ver = ""
json.dump({"cores": os.cpu_count(), "pktlens": ver,
           "loadavg_start": os.getloadavg()[0], "online_cpus": len(os.sched_getaffinity(0)),
           "cpu": model, "kernel": platform.release(), "machine": platform.machine(),
           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": rev,
           "quick": sys.argv[2] == "1", "runs": int(sys.argv[3]),
           "throughput_seconds": float(sys.argv[4])}, open(sys.argv[1], "w"))
EOF

# 1. ns per packet, no namespace needed: test runs use the caller's loopback device.
phase prog_cost "$BIN/prog_cost" -r "$REPEAT" -n "$RUNS" -i "$INSERTS" -w "$STATS_WAIT"

netns_pair 213
SERVER_ADDR=$ADDR_A

# 4 + 6. refresh and memory; 5. ring buffer (both create the engine in namespace A).
phase refresh "$BIN/refresh" -N "$NS_A" -i "$IF_A" -s "$SIZES" -n "$RUNS"
phase ring "$BIN/ring" -N "$NS_A" -i "$IF_A" -n "$RUNS" "${RING_ARGS[@]}"

# A figure whose tools are missing is skipped with the reason, not failed.
: >"$TMP/skipped.txt"
skip_figure() {
	log "$1 skipped: $2"
	printf '%s\t%s\n' "$1" "$2" >>"$TMP/skipped.txt"
}
LOAD_OK=1
command -v iperf3 >/dev/null 2>&1 || { LOAD_OK=0; WHY="iperf3 is not installed"; }
[ -x "$PKTLENS" ] || { LOAD_OK=0; WHY="$PKTLENS is not built (run make)"; }

IPERF_PID=
iperf_listening() {
	ns_a ss -Hltn "sport = :5201" | grep -q LISTEN
}

iperf_server() {
	[ -n "$IPERF_PID" ] && kill -0 "$IPERF_PID" 2>/dev/null && return 0
	bg_start "$TMP/iperf3-server.log" ip netns exec "$NS_A" iperf3 -s -B "$SERVER_ADDR"
	IPERF_PID=$BG_PID
	wait_for 5 iperf_listening || { log "iperf3 server did not come up"; return 1; }
}

# iperf_run KIND OUT: one client run from B to A (data arrives on IF_A, where the tools listen).
iperf_run() {
	local kind=$1 out=$2
	local args=(-c "$SERVER_ADDR" -t "$SECS" -J)
	# Client and server on different CPUs: fewer scheduler accidents between runs.
	[ "$(nproc)" -ge 2 ] && args+=(-A 0,1)
	[ "$kind" = udp ] && args+=(-u -l 64 -b 0)
	ns_b timeout $((${SECS%.*} + 20)) iperf3 "${args[@]}" >"$out" 2>/dev/null
}

# cpu_ticks PID: user + system ticks the process has used so far.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# tool_start CONFIG: attach what CONFIG names to IF_A; sets TOOL_PID (empty for the baseline).
tool_start() {
	TOOL_PID=
	case $1 in
	baseline) return 0 ;;
	pktlens | pktlens_xdp)
		local probes=default
		[ "$1" = pktlens_xdp ] && probes=default,xdp
		pktlens_start "$TMP/tool.json" -n "$NS_A" -i "$IF_A" --json --interval 1 \
			--duration 600 --probes "$probes"
		TOOL_PID=$PL_PID
		local ok=1
		pktlens_wait_attached "$TMP/tool.json" tc-ingress "$IF_A" 20 || ok=0
		if [ "$ok" = 1 ] && [ "$1" = pktlens_xdp ]; then
			pktlens_wait_attached "$TMP/tool.json" xdp "$IF_A" 20 || ok=0
		fi
		if [ "$ok" = 0 ] && ! kill -0 "$PL_PID" 2>/dev/null; then
			wait "$PL_PID"
			log "pktlens exited with status $? before attaching"
		fi
		[ "$ok" = 1 ] || return 1
		;;
	tcpdump)
		bg_start "$TMP/tool.log" ip netns exec "$NS_A" tcpdump -i "$IF_A" -n -s 0 -w /dev/null
		TOOL_PID=$BG_PID
		wait_for 10 grep -q "listening on" "$TMP/tool.log" || return 1
		;;
	esac
	return 0
}

tool_stop() {
	[ -n "$TOOL_PID" ] || return 0
	if [ "$TOOL_PID" = "${PL_PID:-}" ]; then
		pktlens_stop INT 10 || log "pktlens did not stop on SIGINT"
	else
		_kill_pid "$TOOL_PID"
	fi
	TOOL_PID=
}

# 2. Tracepoint cost: pktlens' own BPF stats (run_time_ns / run_cnt) after a TCP load.
: >"$TMP/tracepoints.jsonl"
if [ "$LOAD_OK" = 0 ]; then
	skip_figure tracepoints "$WHY"
elif iperf_server; then
	log "figure: tracepoints"
	for ((r = 0; r < RUNS; r++)); do
		if ! tool_start pktlens; then
			log "pktlens did not attach: $(head -c 300 "$TMP/tool.json.err")"
			FAILED+=(tracepoints)
			tool_stop
			break
		fi
		# Connections open and close (state changes); bulk data (tcp_probe on every ACK).
		ns_b timeout $((TP_SECS + 20)) iperf3 -c "$SERVER_ADDR" -t "$TP_SECS" -P 4 -J \
			>"$TMP/tp-iperf.json" 2>/dev/null
		# Drops (kfree_skb NO_SOCKET) and resets: UDP and TCP to a port nobody listens on.
		ns_b timeout 30 "$PYTHON" - "$SERVER_ADDR" "$DROP_COUNT" <<'PYEOF'
import socket, sys
addr, n = sys.argv[1], int(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    u.sendto(b"x" * 32, (addr, 9))
for i in range(n // 50):
    t = socket.socket()
    try:
        t.connect((addr, 9))
    except OSError:
        pass
    t.close()
PYEOF
		tool_stop
		json_last "$TMP/tool.json" >>"$TMP/tracepoints.jsonl" || FAILED+=(tracepoints)
	done
else
	FAILED+=(tracepoints)
fi

# 3. Throughput: every configuration in each round, ratios against that round's baseline.
: >"$TMP/throughput.jsonl"
CONFIGS=(baseline pktlens pktlens_xdp tcpdump)
command -v tcpdump >/dev/null 2>&1 ||
	{ log "tcpdump is not installed: its row is skipped"; CONFIGS=(baseline pktlens pktlens_xdp); }
if [ "$QUICK" = 1 ]; then
	skip_figure throughput BENCH_QUICK
elif [ "$LOAD_OK" = 0 ]; then
	skip_figure throughput "$WHY"
elif iperf_server; then
	log "figure: throughput ($RUNS rounds of ${#CONFIGS[@]} configurations, ${SECS}s each)"
	tck=$(getconf CLK_TCK)
	for ((r = 0; r < RUNS; r++)); do
		# Each round starts at another configuration, so a drift does not favour one.
		order=()
		for ((i = 0; i < ${#CONFIGS[@]}; i++)); do
			order+=("${CONFIGS[(i + r) % ${#CONFIGS[@]}]}")
		done
		for kind in tcp udp; do
			for cfg in "${order[@]}"; do
				if ! tool_start "$cfg"; then
					log "$cfg did not start: $(head -c 300 "$TMP/tool.json.err" \
						"$TMP/tool.log" 2>/dev/null | tr '\n' ' ')"
					tool_stop
					FAILED+=("throughput:$cfg")
					continue
				fi
				t0=0
				[ -n "$TOOL_PID" ] && t0=$(cpu_ticks "$TOOL_PID")
				iperf_run "$kind" "$TMP/iperf.json" || log "iperf3 $kind under $cfg failed"
				t1=0
				[ -n "$TOOL_PID" ] && t1=$(cpu_ticks "$TOOL_PID")
				tool_stop
				"$PYTHON" - "$TMP/iperf.json" "$r" "$kind" "$cfg" $((t1 - t0)) "$tck" \
					>>"$TMP/throughput.jsonl" <<'EOF'
import json, sys
path, rnd, kind, cfg, ticks, tck = sys.argv[1:7]
row = {"round": int(rnd), "kind": kind, "config": cfg,
       "tool_cpu_s": int(ticks) / int(tck)}
try:
    j = json.load(open(path))
    s = j["end"]["sum_received"]
    row["seconds"] = s["seconds"]
    if kind == "tcp":
        row["value"] = s["bits_per_second"] / 1e9
        row["unit"] = "Gbit/s"
        row["retransmits"] = j["end"]["sum_sent"].get("retransmits", 0)
    else:
        got = s["packets"] - s["lost_packets"]
        row["value"] = got / s["seconds"] / 1e3
        row["unit"] = "kpps received"
        row["lost_percent"] = s["lost_percent"]
except Exception as e:
    row["error"] = "iperf3: %s" % e
print(json.dumps(row))
EOF
			done
		done
	done
else
	FAILED+=(throughput)
fi

# Table and build/bench.json from the pieces.
mkdir -p "$(dirname "$OUT")"
"$PYTHON" - "$TMP" "$OUT" "$QUICK" "$IF_A" <<'EOF'
import json, os, statistics, sys

tmp, out, quick, iface = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]


def load(name):
    try:
        return json.load(open(os.path.join(tmp, name + ".json")))
    except Exception as e:
        return {"error": "no result: %s" % e}


def lines(name):
    rows = []
    try:
        for line in open(os.path.join(tmp, name + ".jsonl")):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    except OSError:
        pass
    return rows


def stat(v):
    v = [x for x in v if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def fmt(s, f="%.0f"):
    if not s:
        return "n/a"
    return (f + " [" + f + ".." + f + "]") % (s["median"], s["min"], s["max"])


def spread(s):
    if not s or not s["median"]:
        return ""
    return "±%.0f%%" % (50.0 * (s["max"] - s["min"]) / s["median"])


machine = load("machine")
res = {"version": 1, "machine": machine}
skipped = {}
for line in open(os.path.join(tmp, "skipped.txt")):
    if "\t" in line:
        k, why = line.rstrip("\n").split("\t", 1)
        skipped[k] = why
P = print

P("pktlens benchmarks  %s  git %s" % (machine.get("time", ""), machine.get("git", "")))
P("machine: %s cores (%s), kernel %s%s" % (machine.get("cores"), machine.get("cpu"),
                                          machine.get("kernel"),
                                          "  [BENCH_QUICK: tiny counts]" if quick else ""))
P("load average (1 min) at start: %.2f; other work on the machine widens the spreads"
  % machine.get("loadavg_start", 0))
P("figures: median [min..max] over runs; ±x% is half the range over the median")

# 1. cost per packet
pc = load("prog_cost")
res["prog_cost"] = pc
P()
P("1. Cost per packet (BPF_PROG_TEST_RUN, repeat=%s, %s runs, flow map %s entries)"
  % (pc.get("repeat"), pc.get("runs"), pc.get("map_entries")))


def label(r):
    return r["frame"] + (" no-L7" if r.get("l7") == "off" else "")


def grid(mode, ns_key, empty_key):
    """One table of ns/packet and ratio to the empty program; returns the median ratios."""
    fills = sorted({r["fill_pct"] for r in pc["rows"]})
    hdr = "   %-17s %-19s %5s" % ("program", "frame", "bytes")
    for f in fills:
        hdr += " | %-28s" % ("%d%% full: ns, ratio" % f)
    P(hdr)
    ratios, added = [], []
    keys = []
    for r in pc["rows"]:
        if (r["prog"], label(r)) not in keys:
            keys.append((r["prog"], label(r)))
    for k in keys:
        line = "   %-17s %-19s" % k
        rows = {r["fill_pct"]: r for r in pc["rows"] if (r["prog"], label(r)) == k}
        line += " %5s" % next(iter(rows.values()))["bytes"]
        for f in fills:
            r = rows.get(f)
            cell = "n/a"
            if r and r["kind"] == "known_flow" and r.get(ns_key):
                ns, em = stat(r[ns_key]), stat(r[empty_key])
                ra = stat([a / b for a, b in zip(r[ns_key], r[empty_key]) if b])
                r[mode] = {"ns": ns, "empty_ns": em, "ratio": ra,
                           "added_ns": ns["median"] - em["median"]}
                ratios.append(ra["median"])
                added.append(ns["median"] - em["median"])
                cell = "%4.0f %-4s x%.2f (empty %.0f)" % (ns["median"], spread(ns),
                                                          ra["median"], em["median"])
            elif r and r["kind"] == "new_flow" and mode == "stats_off":
                cell = "%4.0f p90 %-5.0f (empty %.0f)%s" % (
                    r["ns_deciles"][4], r["ns_deciles"][8], r["empty_ns_deciles"][4],
                    "*" if r.get("stats_held_by_others") else "")
            elif r and r["kind"] == "new_flow":
                continue
            line += " | %-28s" % cell
        if mode == "stats_off" or k[1] != "tcp_syn_new_flow":
            P(line)
    if ratios:
        summ = {"ratio_median": statistics.median(ratios), "ratio_max": max(ratios),
                "added_ns_median": statistics.median(added)}
        P("   all rows: ratio median x%.2f, worst x%.2f; accounting adds %.0f ns/packet (median)"
          % (summ["ratio_median"], summ["ratio_max"], summ["added_ns_median"]))
        pc.setdefault("summary", {})[mode] = summ
    else:
        P("   n/a: another process kept BPF run-time stats on during every attempt")


if "error" in pc:
    P("   failed: " + pc["error"])
else:
    P("   The first run of each batch inserts the frame's flow, the rest find it: known-flow cost.")
    P("   The map is filled with synthetic flows that never match the frames; ratio = prog/empty.")
    P("   Target: full accounting within x2 of the empty program. no-L7: the same frame with the")
    P("   application-layer peek turned off (l7_off in .bss), where the BPF object has one.")
    P()
    P("   1a. BPF run-time stats off: the programs' own cost")
    grid("stats_off", "ns", "empty_ns")
    P("   tcp_syn_new_flow: one run per packet (repeat=1), every packet a new flow: median, p90")
    P("   of %s inserts (single runs include the kernel's timer reads: compare with empty;"
      % pc.get("inserts"))
    P("   * = BPF stats were on, held by another process, during some of them).")
    held = sum(r.get("stats_held_by_others", 0) for r in pc["rows"] if r["kind"] == "known_flow")
    if held:
        P("   %d attempts discarded: another process had BPF stats on (pktlens does while it runs)."
          % held)
    P()
    P("   1b. BPF run-time stats on, as on the whole host while pktlens runs (it enables them for")
    P("   its probe table): every BPF program pays two clock reads per run")
    grid("stats_on", "stats_on_ns", "stats_on_empty_ns")

# 2. tracepoints (and the tc programs under the same real traffic)
P()
tp_runs = lines("tracepoints")
tp = {"runs": len(tp_runs), "probes": []}
P("2. Cost per event of the tracepoint programs (BPF stats of pktlens, TCP load in a namespace)")
if "tracepoints" in skipped:
    P("   skipped: " + skipped["tracepoints"])
    tp["skipped"] = skipped["tracepoints"]
elif not tp_runs:
    P("   n/a: pktlens did not attach or exit cleanly")
    tp["error"] = "not measured"
else:
    P("   Tracepoints fire for every namespace on the host; the program drops others' sockets")
    P("   early, and those runs count too. tc rows: real packets (skbs, GSO counts once).")
    P("   Load: iperf3 -P 4, then UDP datagrams and TCP connects to a closed port (drops, resets).")
    P("   %-44s %12s   %s" % ("probe", "runs (med)", "ns/run median [min..max]"))
    ids = []
    for j in tp_runs:
        for p in j.get("probes", []):
            if p.get("state") == "attached" and p["id"] not in ids:
                ids.append(p["id"])
    for pid in ids:
        per, cnt = [], []
        for j in tp_runs:
            for p in j.get("probes", []):
                if p["id"] == pid and p.get("run_cnt"):
                    per.append(p["run_time_ns"] / p["run_cnt"])
                    cnt.append(p["run_cnt"])
        s = stat(per)
        tp["probes"].append({"id": pid, "ns_per_run": s, "run_cnt": stat(cnt)})
        P("   %-44s %12s   %s" % (pid, "%.0f" % statistics.median(cnt) if cnt else "0",
                                   fmt(s) if s else "no event under this load"))
res["tracepoints"] = tp

# 3. throughput
P()
thr_rows = lines("throughput")
thr = {"rows": thr_rows, "summary": []}
P("3. Throughput on a veth pair between namespaces (iperf3, B -> A; tools on A's veth)")
if "throughput" in skipped:
    P("   skipped: " + skipped["throughput"])
    thr["skipped"] = skipped["throughput"]
elif not thr_rows:
    P("   n/a: no run completed")
    thr["error"] = "not measured"
else:
    P("   %s s per run, %d rounds; ratio to the baseline of the same round; tool CPU = the"
      % (machine.get("throughput_seconds"), len({r["round"] for r in thr_rows})))
    P("   tool's own process (user+sys) during the run, not its BPF programs.")
    P("   %-5s %-12s %-30s %-24s %s" % ("test", "config", "value median [min..max]",
                                       "ratio [min..max]", "tool CPU s"))
    cost = {}
    for kind in ("tcp", "udp"):
        base = {r["round"]: r.get("value") for r in thr_rows
                if r["kind"] == kind and r["config"] == "baseline"}
        for cfg in ("baseline", "pktlens", "pktlens_xdp", "tcpdump"):
            rs = [r for r in thr_rows if r["kind"] == kind and r["config"] == cfg]
            if not rs:
                continue
            vals = stat([r.get("value") for r in rs])
            ratios = stat([r["value"] / base[r["round"]] for r in rs
                           if r.get("value") and base.get(r["round"])])
            cpu = stat([r.get("tool_cpu_s") for r in rs])
            unit = next((r["unit"] for r in rs if "unit" in r), "")
            thr["summary"].append({"kind": kind, "config": cfg, "unit": unit, "value": vals,
                                   "ratio": ratios, "tool_cpu_s": cpu})
            if ratios:
                cost[(kind, cfg)] = 1 - ratios["median"]
            P("   %-5s %-12s %-30s %-24s %s" % (
                kind, cfg, (fmt(vals, "%.2f") + " " + unit) if vals else "n/a",
                fmt(ratios, "%.3f") if cfg != "baseline" else "1",
                "%.2f" % cpu["median"] if cpu and cfg != "baseline" else ""))
    for kind in ("tcp", "udp"):
        a, b = cost.get((kind, "pktlens")), cost.get((kind, "tcpdump"))
        if a is not None and b is not None:
            rel = "%.2f" % (a / b) if a >= 0 and b > 0 else "not measurable (noise > effect)"
            P("   %s: pktlens keeps %.1f%% of baseline (target >= 97%%); its cost relative to "
              "tcpdump's: %s (target < 1/5)" % (kind, 100 * (1 - a), rel))
            thr.setdefault("targets", {})[kind] = {"pktlens_kept": 1 - a, "tcpdump_kept": 1 - b,
                                                    "cost_vs_tcpdump": a / b if b > 0 else None}
res["throughput"] = thr

# 4. refresh, 6. memory
rf = load("refresh")
P()
P("4. User-space refresh (engine_refresh + snapshot_put, flow map filled synthetically)")
refresh, memory = [], []
if "error" in rf:
    P("   failed: " + rf["error"])
    res["refresh"] = {"error": rf["error"]}
    res["memory"] = {"error": rf["error"]}
else:
    P("   %s runs, 60 ms apart (rates and history computed). CPU = process CPU time (user+sys);"
      % rf.get("runs"))
    P("   % core = CPU per refresh at pktlens' 1 s interval. Reads: the map alone, read-only.")
    P("   %-10s %-8s %-24s %-22s %-7s %-9s %-20s %-20s %s" % (
        "map size", "flows", "refresh ms", "CPU ms", "%core", "cold ms", "batch read ms",
        "per-key read ms", "per-key/batch"))
    for s in rf["sizes"]:
        w = stat([x * 1e3 for x in s["refresh"]["wall_s"]])
        c = stat([x * 1e3 for x in s["refresh"]["cpu_s"]])
        b = stat([x * 1e3 for x in s["read_batch"]["wall_s"]])
        k = stat([x * 1e3 for x in s["read_per_key"]["wall_s"]])
        cold = s["refresh_cold"]["wall_s"][0] * 1e3
        f = "%.1f" if w["median"] < 100 else "%.0f"
        refresh.append({"map_entries": s["map_entries"], "flows": s["flows_in_map"],
                        "flows_in_snapshot": s["flows_in_snapshot"],
                        "refresh_ms": w, "refresh_cpu_ms": c, "core_pct_at_1s": c["median"] / 10,
                        "refresh_cold_ms": cold, "read_batch_ms": b, "read_per_key_ms": k,
                        "per_key_over_batch": k["median"] / b["median"] if b["median"] else None})
        P("   %-10d %-8d %-24s %-22s %-7s %-9s %-20s %-20s %s" % (
            s["map_entries"], s["flows_in_map"], fmt(w, f), fmt(c, f),
            "%.1f%%" % (c["median"] / 10), "%.0f" % cold, fmt(b, "%.2f"), fmt(k, "%.2f"),
            "x%.1f" % (k["median"] / b["median"]) if b["median"] else "n/a"))
    P("   flows < map size: an LRU map evicts before it is completely full (per-CPU free lists).")
    P("   Per flow, user space keeps a store entry of %s B (in a table of 2-4x the flows, rebuilt"
      % rf.get("store_entry_bytes"))
    P("   on every refresh) and a snapshot row of %s B (allocated on every refresh)."
      % rf.get("snapshot_row_bytes"))
    res["refresh"] = refresh

# 5. ring buffer
rg = load("ring")
P()
P("5. Event path: watched-flow packets through the ring buffer into the engine")
ring = {"raw": rg}
if "error" in rg:
    P("   failed: " + rg["error"])
    ring["error"] = rg["error"]
else:
    P("   tc_ingress_flows via BPF_PROG_TEST_RUN on the engine's maps, batches every 1 ms;")
    P("   consumer = engine_poll_events on epoll; lost = the engine's events_lost. %s runs of %ss."
      % (rg.get("runs"), rg.get("stage_seconds")))
    P("   %-18s %-26s %-26s %-12s %s" % ("stage", "produced/s", "consumed/s", "lost (sum)",
                                       "produced = consumed + lost"))
    order = []
    for s in rg["stages"]:
        k = (s["kind"], s["target_per_s"])
        if k not in order:
            order.append(k)
    ok_all = True
    zero_loss = []
    stages = []
    for k in order:
        ss = [s for s in rg["stages"] if (s["kind"], s["target_per_s"]) == k]
        ok = all(s["produced"] == s["consumed"] + s["lost"] and s["counted_by_bpf"] == s["produced"]
                 for s in ss)
        ok_all = ok_all and ok
        lost = sum(s["lost"] for s in ss)
        if k[0] == "rate" and lost == 0:
            zero_loss.append(statistics.median(s["produced_per_s"] for s in ss))
        name = "%.0fk/s" % (k[1] / 1e3) if k[0] == "rate" else k[0]
        ps = stat([s["produced_per_s"] / 1e3 for s in ss])
        cs = stat([s["consumed_per_s"] / 1e3 for s in ss])
        stages.append({"stage": name, "produced_kps": ps, "consumed_kps": cs, "lost": lost,
                       "produced": sum(s["produced"] for s in ss),
                       "consumed": sum(s["consumed"] for s in ss), "balanced": ok})
        P("   %-18s %-26s %-26s %-12d %s" % (name, fmt(ps, "%.0f") + "k", fmt(cs, "%.0f") + "k",
                                            lost, "yes" if ok else "NO"))
    ring["stages"] = stages
    ring["balanced"] = ok_all
    # The highest rate below which no stage lost anything.
    best = 0
    for k in order:
        if k[0] != "rate":
            continue
        ss = [s for s in rg["stages"] if (s["kind"], s["target_per_s"]) == k]
        if sum(s["lost"] for s in ss):
            break
        best = statistics.median(s["produced_per_s"] for s in ss)
    ring["zero_loss_events_per_s"] = best
    cap = next((s["consumed"] for s in rg["stages"] if s["kind"] == "consumer_stalled"), None)
    P("   sustained with zero loss: %.0fk events/s; a stalled consumer gets %s events (the ring:"
      % (best / 1e3, cap))
    P("   256 KiB / (%d-byte event + 8-byte header)); accounting exact in every stage: %s"
      % (rg.get("event_bytes", 72), "yes" if ok_all else "NO"))
res["ring"] = ring

if "error" not in rf:
    P()
    P("6. Memory (kernel: memlock of the maps in fdinfo; RSS of the process running the engine")
    P("   while it holds the last snapshot; peak = VmHWM during that size's refreshes)")
    P("   %-10s %-8s %-16s %-16s %-10s %-10s %s" % ("map size", "flows", "flows map MiB",
                                                  "all maps MiB", "RSS MiB", "peak MiB",
                                                  "RSS B/flow"))
    base_rss = None
    for s in rf["sizes"]:
        rss = s["rss_kb"] - s["rss_kb_before_engine"]
        memory.append({"map_entries": s["map_entries"], "flows": s["flows_in_map"],
                       "flows_map_bytes": s["flows_map_memlock_bytes"],
                       "all_maps_bytes": s["all_maps_memlock_bytes"], "rss_kb": s["rss_kb"],
                       "rss_peak_kb": s["rss_peak_kb"], "rss_engine_kb": rss,
                       "rss_bytes_per_flow": rss * 1024 / s["flows_in_map"]
                       if s["flows_in_map"] else None})
        P("   %-10d %-8d %-16.1f %-16.1f %-10.1f %-10.1f %s" % (
            s["map_entries"], s["flows_in_map"], s["flows_map_memlock_bytes"] / 2**20,
            s["all_maps_memlock_bytes"] / 2**20, s["rss_kb"] / 1024, s["rss_peak_kb"] / 1024,
            "%.0f" % (rss * 1024 / s["flows_in_map"]) if s["flows_in_map"] else "n/a"))
    res["memory"] = memory

json.dump(res, open(out, "w"), indent=1)
P()
P("written: %s" % out)
EOF
rc=$?

if [ ${#FAILED[@]} -gt 0 ]; then
	log "not measured: ${FAILED[*]}"
	exit 1
fi
exit "$rc"
