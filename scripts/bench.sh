#!/usr/bin/env bash
# Runs pktlens' benchmarks (issue 4) on this machine, prints the table and writes build/bench.json.
#
# Figures: 1 ns/packet of the XDP and tc programs vs empty programs (BPF_PROG_TEST_RUN);
# 2 ns/event of the tracepoint programs under TCP load (BPF stats); 3 overhead on a busy veth:
# HTTP keep-alive req/s (wrk -> nginx) and bulk TCP (iperf3) with nothing, pktlens, iftop,
# nethogs, tcpdump -w /dev/null and pktlens' probe groups alone, in paired rounds; 4 refresh
# time and CPU by flow count, batch vs per-key reads; 5 ring buffer events/s without loss and
# the overload accounting; 6 kernel map memory and RSS by flow count.
#
# Environment: BENCH_QUICK=1 (tiny counts, one round of 1 s runs: the smoke test),
# BENCH_RUNS (runs per figure, rounds of figure 3), BENCH_SECONDS (length of one workload run),
# BENCH_ONLY (figures to measure: prog_cost,tracepoints,overhead,refresh,ring; default all),
# BENCH_WORKLOADS (figure 3: "http tcp", udp on request), BENCH_OVERHEAD (compare: the tools;
# breakdown: pktlens' probe groups; all, the default: both), BENCH_CONFIGS (figure 3: these
# configurations besides the baseline, e.g. "pktlens iftop"), BENCH_REPEAT
# (BPF_PROG_TEST_RUN repeat), BENCH_JSON (output file), BENCH_BIN (where the bench binaries
# are), PKTLENS (the binary), PKTLENS_REF (another build measured beside it in figure 3). Nothing here asserts a time: the exit code says only whether
# every figure could be measured.
set -u
TEST_NAME=bench
. "$(dirname "$0")/../tests/lib/netns.sh"
. "$(dirname "$0")/../tests/lib/bench_http.sh"

QUICK=${BENCH_QUICK:-0}
BIN=${BENCH_BIN:-$PL_ROOT/build/bench}
OUT=${BENCH_JSON:-$PL_ROOT/build/bench.json}
if [ "$QUICK" = 1 ]; then
	RUNS=${BENCH_RUNS:-1}
	SECS=${BENCH_SECONDS:-1}
	REPEAT=${BENCH_REPEAT:-2000}
	INSERTS=20
	STATS_WAIT=2
	SIZES=2000:1000,20000:10000,100000:1000
	RING_ARGS=(-r "20000,0" -t 0.1 -o 10000 -l 20000)
	TP_SECS=1
	DROP_COUNT=500
else
	RUNS=${BENCH_RUNS:-5}
	SECS=${BENCH_SECONDS:-5}
	REPEAT=${BENCH_REPEAT:-200000}
	INSERTS=400
	STATS_WAIT=60
	SIZES=2000:1000,20000:10000,200000:100000,2000000:1000000,1000000:1000
	RING_ARGS=(-r "25000,50000,100000,200000,300000,400000,800000,1600000,0" -t 0.5 -o 100000
		-l 50000,150000,300000)
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

# A figure whose tools are missing (or that BENCH_ONLY leaves out) is skipped with the reason.
: >"$TMP/skipped.txt"
skip_figure() {
	log "$1 skipped: $2"
	printf '%s\t%s\n' "$1" "$2" >>"$TMP/skipped.txt"
}

# want FIGURE: FIGURE is one that this run measures (BENCH_ONLY, a list; empty: every one).
want() {
	[ -z "${BENCH_ONLY:-}" ] && return 0
	case " ${BENCH_ONLY//,/ } " in
	*" $1 "*) return 0 ;;
	esac
	skip_figure "$1" "not in BENCH_ONLY"
	return 1
}

# 1. ns per packet, no namespace needed: test runs use the caller's loopback device.
if want prog_cost; then
	phase prog_cost "$BIN/prog_cost" -r "$REPEAT" -n "$RUNS" -i "$INSERTS" -w "$STATS_WAIT"
fi

netns_pair 213
SERVER_ADDR=$ADDR_A

# 4 + 6. refresh and memory; 5. ring buffer (both create the engine in namespace A).
want refresh && phase refresh "$BIN/refresh" -N "$NS_A" -i "$IF_A" -s "$SIZES" -n "$RUNS"
want ring && phase ring "$BIN/ring" -N "$NS_A" -i "$IF_A" -n "$RUNS" "${RING_ARGS[@]}"
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

# cpu_user_sys PID: "user system" ticks the process has used so far.
cpu_user_sys() {
	awk '{ print $14, $15 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"
}

# holds_packet_socket PID: the process has a packet socket open in namespace A (its capture is on).
holds_packet_socket() {
	local pid=$1 inodes
	inodes=$(awk 'NR > 1 { print $9 }' "/proc/$pid/net/packet" 2>/dev/null) || return 1
	[ -n "$inodes" ] || return 1
	local l
	for l in /proc/"$pid"/fd/*; do
		case $(readlink "$l" 2>/dev/null) in
		socket:\[*\])
			local ino
			ino=$(readlink "$l")
			ino=${ino#socket:[}
			ino=${ino%]}
			grep -qxF "$ino" <<<"$inodes" && return 0
			;;
		esac
	done
	return 1
}

# pktlens_ready FILE WHAT...: the last JSON line has every probe WHAT names attached
# (tc: both tc hooks of IF_A; xdp: XDP on IF_A; tp: the TCP tracepoints; none: any line).
pktlens_ready() {
	local f=$1
	shift
	"$PYTHON" - "$f" "$IF_A" "$@" <<'EOF'
import json, sys
path, iface, want = sys.argv[1], sys.argv[2], sys.argv[3:]
last = None
for line in open(path, errors="replace"):
    if line.startswith("{"):
        try:
            last = json.loads(line)
        except ValueError:
            pass
if last is None:
    sys.exit(1)
st = {p.get("id"): p.get("state") for p in last.get("probes", [])}
ids = {"tc": ["tc-ingress:" + iface, "tc-egress:" + iface], "xdp": ["xdp:" + iface],
       "tp": ["tracepoint:tcp:tcp_probe", "tracepoint:sock:sock_recv_length"], "none": []}
sys.exit(0 if all(st.get(i) == "attached" for w in want for i in ids[w]) else 1)
EOF
}

# Tools compared: pktlens with its probe groups, and the usual suspects, each on IF_A.
declare -A PKTLENS_PROBES=([pktlens]=default [pktlens_none]=none [pktlens_tc]=tc
	[pktlens_tp]=tracepoints [pktlens_xdp]=default,xdp [pktlens_ref]=default
	[pktlens_ref_tc]=tc [pktlens_ref_tp]=tracepoints)
declare -A PKTLENS_READY=([pktlens]="tc tp" [pktlens_none]=none [pktlens_tc]=tc
	[pktlens_tp]=tp [pktlens_xdp]="tc tp xdp" [pktlens_ref]="tc tp" [pktlens_ref_tc]=tc
	[pktlens_ref_tp]=tp)

# tool_start CONFIG: attach what CONFIG names to IF_A; sets TOOL_PID (empty for the baseline).
tool_start() {
	TOOL_PID=
	case $1 in
	baseline) return 0 ;;
	pktlens*)
		local probes=${PKTLENS_PROBES[$1]:-} ready=${PKTLENS_READY[$1]:-}
		# pktlens@LIST, pktlens_ref@LIST: any --probes list (a probe taken out, one group)
		if [[ $1 == pktlens@* || $1 == pktlens_ref@* ]]; then
			probes=${1#*@}
			ready=none
		fi
		[ -n "$probes" ] || { log "unknown configuration $1"; return 1; }
		local stats=()
		# Figure 2 reads run_time_ns; figure 3 measures pktlens as it runs by default.
		[ -n "${TOOL_STATS:-}" ] && stats=(--bpf-stats)
		local bin=$PKTLENS
		[[ $1 == pktlens_ref* ]] && bin=$REF_BIN
		PKTLENS=$bin pktlens_start "$TMP/tool.json" -n "$NS_A" -i "$IF_A" --json \
			--interval 1 --duration 900 --probes "$probes" "${stats[@]}"
		TOOL_PID=$PL_PID
		# shellcheck disable=SC2086 # a list of words
		if ! wait_for 60 pktlens_ready "$TMP/tool.json" $ready; then
			if ! kill -0 "$PL_PID" 2>/dev/null; then
				wait "$PL_PID"
				log "pktlens exited with status $? before attaching"
			fi
			return 1
		fi
		;;
	empty_tc | empty_tp)
		# the floor: empty programs on pktlens' tc hooks or its per-call raw tracepoints
		local how=(-p)
		[ "$1" = empty_tc ] && how=(-t "$IF_A")
		[ -x "$BIN/empty_hooks" ] || { log "$BIN/empty_hooks is not built"; return 1; }
		bg_start "$TMP/tool.log" ip netns exec "$NS_A" "$BIN/empty_hooks" "${how[@]}"
		TOOL_PID=$BG_PID
		wait_for 20 grep -q attached "$TMP/tool.log" || return 1
		;;
	tcpdump)
		bg_start "$TMP/tool.log" ip netns exec "$NS_A" tcpdump -i "$IF_A" -n -s 0 -w /dev/null
		TOOL_PID=$BG_PID
		wait_for 20 holds_packet_socket "$TOOL_PID" || return 1
		;;
	iftop)
		# Text mode (no terminal here), no name or port lookups, byte counts; -s: a bound.
		bg_start "$TMP/tool.log" ip netns exec "$NS_A" iftop -i "$IF_A" -t -n -N -P -B -s 900
		TOOL_PID=$BG_PID
		wait_for 20 holds_packet_socket "$TOOL_PID" || return 1
		;;
	nethogs)
		# Trace mode, refreshed every second like pktlens' --interval 1.
		bg_start "$TMP/tool.log" ip netns exec "$NS_A" nethogs -t -d 1 "$IF_A"
		TOOL_PID=$BG_PID
		wait_for 20 holds_packet_socket "$TOOL_PID" || return 1
		;;
	*)
		log "unknown configuration $1"
		return 1
		;;
	esac
	return 0
}

tool_stop() {
	[ -n "$TOOL_PID" ] || return 0
	if [ "$TOOL_PID" = "${PL_PID:-}" ]; then
		pktlens_stop INT 30 || log "pktlens did not stop on SIGINT"
	else
		_kill_pid "$TOOL_PID"
	fi
	TOOL_PID=
}

# 2. Tracepoint cost: pktlens' own BPF stats (run_time_ns / run_cnt) after a TCP load.
: >"$TMP/tracepoints.jsonl"
if ! want tracepoints; then
	:
elif [ "$LOAD_OK" = 0 ]; then
	skip_figure tracepoints "$WHY"
elif iperf_server; then
	log "figure: tracepoints"
	for ((r = 0; r < RUNS; r++)); do
		if ! TOOL_STATS=1 tool_start pktlens; then
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

# 3. Overhead: each workload under each tool in paired rounds, ratios against the no-tool
# baseline of the same round. Workloads: HTTP keep-alive (wrk -> nginx) and bulk TCP (iperf3),
# UDP 64 B on request. Tools: pktlens (default probes), iftop, nethogs, tcpdump -w /dev/null,
# and pktlens' probe groups alone (none, tc, tracepoints, default+xdp) for the breakdown, with
# their floor: empty programs on the same tc hooks (empty_tc) and raw tracepoints (empty_tp).
: >"$TMP/overhead.jsonl"
read -r -a WORKLOADS <<<"${BENCH_WORKLOADS:-http tcp}"
COMPARE=(baseline pktlens iftop nethogs tcpdump)
BREAKDOWN=(pktlens_none empty_tc pktlens_tc empty_tp pktlens_tp pktlens_xdp)
case ${BENCH_OVERHEAD:-all} in
compare) CONFIGS=("${COMPARE[@]}") ;;
breakdown) CONFIGS=(baseline pktlens "${BREAKDOWN[@]}") ;;
*) CONFIGS=("${COMPARE[@]}" "${BREAKDOWN[@]}") ;;
esac
# The smoke run: every tool once and one probe group alone, 1 s each.
[ "$QUICK" = 1 ] && [ -z "${BENCH_CONFIGS:-}" ] && CONFIGS=("${COMPARE[@]}" pktlens_none)
[ -n "${BENCH_CONFIGS:-}" ] && read -r -a CONFIGS <<<"baseline $BENCH_CONFIGS"
# PKTLENS_REF: another pktlens build (e.g. before a change) run beside this one, default probes;
# BENCH_CONFIGS may name pktlens_ref_tc and pktlens_ref_tp (its probe groups) too, and
# pktlens@LIST or pktlens_ref@LIST for any --probes list (default,-tracepoint:tcp:tcp_probe).
REF_BIN=
if [ -n "${PKTLENS_REF:-}" ]; then
	if [ -x "$PKTLENS_REF" ] && cp "$PKTLENS_REF" "$TMP/pktlens-ref"; then
		REF_BIN=$TMP/pktlens-ref
		[[ " ${CONFIGS[*]} " == *" pktlens_ref "* ]] || CONFIGS+=(pktlens_ref)
	else
		skip_figure overhead:pktlens_ref "PKTLENS_REF=$PKTLENS_REF is not an executable"
	fi
fi
# A tool that is not installed loses its column, with the reason; the rest still run.
OK_CONFIGS=()
for c in "${CONFIGS[@]}"; do
	case $c in
	pktlens_ref*) [ -n "$REF_BIN" ] || continue ;;
	iftop | nethogs | tcpdump)
		if ! command -v "$c" >/dev/null 2>&1; then
			skip_figure "overhead:$c" "$c is not installed (scripts/deps.sh installs it)"
			continue
		fi
		;;
	esac
	OK_CONFIGS+=("$c")
done
CONFIGS=("${OK_CONFIGS[@]}")
OVERHEAD_ROUNDS=$RUNS

workload_ready() {
	case $1 in
	http) command -v wrk >/dev/null 2>&1 || { WHY="wrk is not installed"; return 1; }
		command -v nginx >/dev/null 2>&1 || { WHY="nginx is not installed"; return 1; }
		nginx_bench_start "$SERVER_ADDR" || { WHY="nginx did not start"; return 1; } ;;
	tcp | udp) command -v iperf3 >/dev/null 2>&1 || { WHY="iperf3 is not installed"; return 1; }
		iperf_server || { WHY="the iperf3 server did not start"; return 1; } ;;
	*) WHY="unknown workload $1"; return 1 ;;
	esac
}

if ! want overhead; then
	:
elif [ ! -x "$PKTLENS" ]; then
	skip_figure overhead "$PKTLENS is not built (run make)"
else
	RUN_WL=()
	for wl in "${WORKLOADS[@]}"; do
		if workload_ready "$wl"; then
			RUN_WL+=("$wl")
		else
			skip_figure "overhead:$wl" "$WHY"
		fi
	done
	log "figure: overhead ($OVERHEAD_ROUNDS rounds, workloads ${RUN_WL[*]}, configurations" \
		"${CONFIGS[*]}, ${SECS}s each)"
	tck=$(getconf CLK_TCK)
	for ((r = 0; r < OVERHEAD_ROUNDS; r++)); do
		# Each round starts at another configuration, so a drift does not favour one.
		order=()
		for ((i = 0; i < ${#CONFIGS[@]}; i++)); do
			order+=("${CONFIGS[(i + r) % ${#CONFIGS[@]}]}")
		done
		for wl in "${RUN_WL[@]}"; do
			for cfg in "${order[@]}"; do
				: >"$TMP/tool.json"
				if ! tool_start "$cfg"; then
					log "$cfg did not start: $(head -c 300 "$TMP/tool.json.err" \
						"$TMP/tool.log" 2>/dev/null | tr '\n' ' ')"
					tool_stop
					FAILED+=("overhead:$cfg")
					continue
				fi
				us0="0 0"
				[ -n "$TOOL_PID" ] && us0=$(cpu_user_sys "$TOOL_PID")
				load0=$(cut -d' ' -f1 /proc/loadavg)
				stat0=$(head -n 1 /proc/stat)
				case $wl in
				http) wrk_run "$TMP/load.out" "$SERVER_ADDR" "$SECS" || log "wrk under $cfg failed" ;;
				*) iperf_run "$wl" "$TMP/load.out" || log "iperf3 $wl under $cfg failed" ;;
				esac
				stat1=$(head -n 1 /proc/stat)
				us1="0 0"
				[ -n "$TOOL_PID" ] && us1=$(cpu_user_sys "$TOOL_PID")
				tool_stop
				"$PYTHON" - "$TMP/load.out" "$r" "$wl" "$cfg" "$us0" "$us1" "$tck" \
					"$load0" "$stat0" "$stat1" "$TMP/tool.json" \
					>>"$TMP/overhead.jsonl" <<'EOF'
import json, re, sys
path, rnd, wl, cfg, us0, us1, tck, load0, stat0, stat1, tool_json = sys.argv[1:12]
u0, s0 = map(int, us0.split())
u1, s1 = map(int, us1.split())
tck = int(tck)
row = {"round": int(rnd), "workload": wl, "config": cfg,
       "tool_user_s": (u1 - u0) / tck, "tool_sys_s": (s1 - s0) / tck, "loadavg": float(load0)}
# The whole machine's CPU during the run: busy share of all cores (other work included).
a = [int(x) for x in stat0.split()[1:]]
b = [int(x) for x in stat1.split()[1:]]
tot = sum(b) - sum(a)
idle = (b[3] + b[4]) - (a[3] + a[4])
if tot > 0:
    row["machine_busy"] = 1 - idle / tot
try:
    text = open(path, errors="replace").read()
    if wl == "http":
        m = re.search(r"Requests/sec:\s*([0-9.]+)", text)
        n = re.search(r"(\d+) requests in ([0-9.]+)(m?s)", text)
        if not m or not n:
            raise ValueError("no wrk summary: %r" % text[-300:])
        row["value"] = float(m.group(1)) / 1e3
        row["unit"] = "k req/s"
        row["requests"] = int(n.group(1))
        e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        row["socket_errors"] = sum(map(int, e.groups())) if e else 0
        x = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        row["non_2xx"] = int(x.group(1)) if x else 0
    else:
        j = json.loads(text)
        s = j["end"]["sum_received"]
        row["seconds"] = s["seconds"]
        if wl == "tcp":
            row["value"] = s["bits_per_second"] / 1e9
            row["unit"] = "Gbit/s"
            row["retransmits"] = j["end"]["sum_sent"].get("retransmits", 0)
        else:
            got = s["packets"] - s["lost_packets"]
            row["value"] = got / s["seconds"] / 1e3
            row["unit"] = "kpps received"
            row["lost_percent"] = s["lost_percent"]
except Exception as e:
    row["error"] = "%s: %s" % (wl, e)
# pktlens: what it counted (the events it had to handle) from its last line.
if cfg.startswith("pktlens"):
    last = None
    try:
        for line in open(tool_json, errors="replace"):
            if line.startswith("{"):
                try:
                    last = json.loads(line)
                except ValueError:
                    pass
    except OSError:
        pass
    if last:
        l7 = last.get("l7_stats", {})
        http = last.get("http", {})
        row["l7_events"] = l7.get("events", 0)
        row["l7_events_lost"] = l7.get("events_lost", 0)
        row["http_requests"] = http.get("requests", 0)
        row["http_responses"] = http.get("responses", 0)
        row["events_lost"] = last.get("stats", {}).get("events_lost", 0)
        row["probes"] = [{"id": p["id"], "run_cnt": p.get("run_cnt", 0),
                          "run_time_ns": p.get("run_time_ns", 0)}
                         for p in last.get("probes", []) if p.get("state") == "attached"]
print(json.dumps(row))
EOF
			done
		done
	done
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
P("1. Cost per packet (BPF_PROG_TEST_RUN%s)" % (
    ", repeat=%s, %s runs, flow map %s entries" % (pc.get("repeat"), pc.get("runs"),
                                                  pc.get("map_entries"))
    if "repeat" in pc else ""))


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


if "prog_cost" in skipped:
    P("   skipped: " + skipped["prog_cost"])
    pc = res["prog_cost"] = {"skipped": skipped["prog_cost"]}
elif "error" in pc:
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

# 3. overhead
P()
ov_rows = lines("overhead")
ov = {"rows": ov_rows, "summary": []}
res["overhead"] = ov
secs = machine.get("throughput_seconds") or 1
WL = {"http": "http keep-alive", "tcp": "tcp bulk", "udp": "udp 64 B"}
CFG = {"pktlens": "pktlens", "iftop": "iftop", "nethogs": "nethogs", "tcpdump": "tcpdump",
       "pktlens_none": "none", "pktlens_tc": "tc", "pktlens_tp": "tracepoints",
       "pktlens_xdp": "default,xdp", "pktlens_ref": "pktlens ref", "pktlens_ref_tc": "ref tc",
       "pktlens_ref_tp": "ref tracepoints", "empty_tc": "empty tc", "empty_tp": "empty tp"}
P("3. Overhead on a busy veth (namespace B -> A; each tool watches A's veth, pktlens with -n A)")
ov_skips = {k: v for k, v in skipped.items() if k.startswith("overhead")}
for k, v in ov_skips.items():
    P("   %s skipped: %s" % (k, v))
if ov_skips:
    ov["skipped"] = ov_skips
if not ov_rows:
    P("   n/a: no run completed")
    ov.setdefault("error", "not measured")
else:
    rounds = sorted({r["round"] for r in ov_rows})
    loads = stat([r["loadavg"] for r in ov_rows if "loadavg" in r])
    ov["loadavg"] = loads
    ov["rounds"] = len(rounds)
    P("   http: wrk -t1 -c16 keep-alive GETs of a 600-byte page from nginx (1 worker); tcp: iperf3")
    P("   one stream; %ss per run, %d rounds, configurations in a rotated order each round." % (
        secs, len(rounds)))
    P("   Cells: the tool's rate / the no-tool baseline of the same round, median [min..max];")
    P("   load average (1 min) during the runs %s." % fmt(loads, "%.1f"))
    wls = [w for w in ("http", "tcp", "udp") if any(r["workload"] == w for r in ov_rows)]

    def cell(wl, cfg):
        base = {r["round"]: r.get("value") for r in ov_rows
                if r["workload"] == wl and r["config"] == "baseline"}
        rs = [r for r in ov_rows if r["workload"] == wl and r["config"] == cfg]
        if not rs:
            return None
        ratios = stat([r["value"] / base[r["round"]] for r in rs
                       if r.get("value") and base.get(r["round"])])
        vals = stat([r.get("value") for r in rs])
        cores_u = stat([r["tool_user_s"] / secs for r in rs])
        cores_s = stat([r["tool_sys_s"] / secs for r in rs])
        row = {"workload": wl, "config": cfg, "unit": next((r["unit"] for r in rs
                                                              if "unit" in r), ""),
               "value": vals, "ratio": ratios, "user_cores": cores_u, "sys_cores": cores_s,
               "errors": [r["error"] for r in rs if "error" in r]}
        ev = [(r["l7_events"], r["tool_user_s"] + r["tool_sys_s"], r["l7_events_lost"])
              for r in rs if r.get("l7_events")]
        if ev:
            row["l7_events_per_s"] = stat([e / secs for e, _, _ in ev])
            row["us_per_l7_event"] = stat([c * 1e6 / e for e, c, _ in ev])
            row["l7_events_lost"] = sum(x for _, _, x in ev)
        ov["summary"].append(row)
        return row

    def table(cfgs, title):
        hdr = "   %-16s" % title
        for c in cfgs:
            hdr += " %-19s" % CFG.get(c, c)
        P(hdr)
        for wl in wls:
            base = cell(wl, "baseline")
            line = "   %-16s" % WL[wl]
            for c in cfgs:
                row = cell(wl, c) if c != "baseline" else base
                if not row or not row["ratio"]:
                    line += " %-19s" % "n/a"
                elif c == "baseline":
                    line += " %-19s" % ("%.1f %s" % (row["value"]["median"], row["unit"]))
                else:
                    line += " %-19s" % fmt(row["ratio"], "%.2f")
            P(line)

    present = {r["config"] for r in ov_rows}
    cmp_cfgs = [c for c in ("pktlens", "pktlens_ref", "iftop", "nethogs", "tcpdump")
                if c in present]
    table(cmp_cfgs, "workload")
    bd = [c for c in ("pktlens_none", "empty_tc", "pktlens_tc", "empty_tp", "pktlens_tp",
                      "pktlens", "pktlens_xdp", "pktlens_ref_tc", "pktlens_ref_tp", "pktlens_ref")
          if c in present]
    if any(c != "pktlens" for c in bd):
        P("   Breakdown, pktlens --probes:")
        table(bd, "workload")
    P("   Baseline spread: %s" % "; ".join(
        "%s %s" % (WL[w], fmt(cell(w, "baseline")["value"], "%.1f")) for w in wls
        if cell(w, "baseline") and cell(w, "baseline")["value"]))
    P("   The tool's own process during a run: cores of user / system CPU (median); BPF programs")
    P("   run in the workload's context and show in its rate, not here.")
    hdr = "   %-16s" % "config"
    for wl in wls:
        hdr += " %-22s" % (WL[wl] + " usr/sys")
    P(hdr)
    for c in [c for c in ("pktlens", "pktlens_ref", "pktlens_none", "pktlens_tc", "pktlens_tp",
                          "pktlens_xdp", "pktlens_ref_tc", "pktlens_ref_tp", "iftop", "nethogs",
                          "tcpdump") if c in present]:
        line = "   %-16s" % (c if c in cmp_cfgs else "pktlens " + CFG[c])
        line = "%-19s" % line
        for wl in wls:
            row = cell(wl, c)
            line += " %-22s" % ("%.3f / %.3f" % (row["user_cores"]["median"],
                                                 row["sys_cores"]["median"])
                                if row and row["user_cores"] else "n/a")
        P(line)
    lists = sorted(c for c in present if "@" in c)
    if lists:
        P("   pktlens with a --probes list (pktlens@LIST; pktlens_ref@LIST: PKTLENS_REF's build):")
        for c in lists:
            rows = [cell(w, c) for w in wls]  # once each: cell() adds to the summary
            P("   %s" % c)
            P("   %-16s %s" % ("", "; ".join("%s %s" % (WL[r["workload"]], fmt(r["ratio"], "%.2f"))
                                            for r in rows if r and r["ratio"])))
    # Paired: each other pktlens configuration against the default one, round by round (the
    # rounds share their load; medians of separate columns do not).
    paired = {}
    by_round = {}
    for r in ov_rows:
        by_round.setdefault((r["workload"], r["config"]), {})[r["round"]] = r.get("value")
    for c in sorted(x for x in present if x.startswith("pktlens") and x != "pktlens"):
        for wl in wls:
            mine, ref = by_round.get((wl, c), {}), by_round.get((wl, "pktlens"), {})
            rs = [mine[k] / ref[k] for k in mine if mine[k] and ref.get(k)]
            if rs:
                paired.setdefault(c, {})[wl] = dict(stat(rs), ahead=sum(x > 1 for x in rs),
                                                    rounds=len(rs))
    if paired:
        P("   Per round, each configuration's rate / pktlens' (default probes) in the same round,")
        P("   median [min..max], rounds where it was ahead:")
        for c, by in paired.items():
            P("   %-24s %s" % (c, "; ".join(
                "%s %s, ahead %d of %d" % (WL[w], fmt(v, "%.3f"), v["ahead"], v["rounds"])
                for w, v in by.items())))
        ov["paired_with_pktlens"] = paired
    for c in ("pktlens", "pktlens_ref", "pktlens_tc", "pktlens_ref_tc"):
        row = cell("http", c) if "http" in wls else None
        if row and row.get("us_per_l7_event"):
            P("   %s, http: %s us of CPU (user+sys) per L7 event at %s k events/s, %d events"
              " lost" % ({"pktlens": "pktlens", "pktlens_ref": "pktlens ref (PKTLENS_REF)",
                          "pktlens_ref_tc": "pktlens ref --probes tc"}.get(
                  c, "pktlens --probes tc"),
                         fmt(row["us_per_l7_event"], "%.2f"),
                         fmt(stat([x / 1e3 for x in [row["l7_events_per_s"]["median"]]]), "%.0f"),
                         row["l7_events_lost"]))
    targets = {}
    for wl, want in (("http", 0.95), ("tcp", 0.97)):
        p, i = cell(wl, "pktlens"), cell(wl, "iftop")
        if not p or not p["ratio"]:
            continue
        t = {"pktlens_kept": p["ratio"]["median"], "target": want,
             "met": p["ratio"]["median"] >= want}
        if i and i["ratio"]:
            t["iftop_kept"] = i["ratio"]["median"]
            t["not_behind_iftop"] = p["ratio"]["median"] >= i["ratio"]["median"]
        targets[wl] = t
        P("   target %s: pktlens keeps %.3f (>= %.2f: %s)%s" % (
            WL[wl], t["pktlens_kept"], want, "yes" if t["met"] else "NO",
            "; iftop %.3f, not behind it: %s" % (t["iftop_kept"], "yes" if t["not_behind_iftop"]
                                                  else "NO") if "iftop_kept" in t else ""))
    ov["targets"] = targets
    errs = [r for r in ov_rows if "error" in r]
    for r in errs[:5]:
        P("   error in round %d, %s under %s: %s" % (r["round"], r["workload"], r["config"],
                                                     r["error"][:120]))

# 4. refresh, 6. memory
rf = load("refresh")
P()
P("4. User-space refresh (engine_refresh + snapshot_put; flows made by the tc program on test frames)")
refresh, memory = [], []
if "refresh" in skipped:
    P("   skipped: " + skipped["refresh"])
    rf = {"error": "skipped: " + skipped["refresh"]}
    res["refresh"] = res["memory"] = {"skipped": skipped["refresh"]}
elif "error" in rf:
    P("   failed: " + rf["error"])
    res["refresh"] = {"error": rf["error"]}
    res["memory"] = {"error": rf["error"]}
else:
    P("   %s runs, 60 ms apart (rates and history computed). CPU = process CPU time (user+sys);"
      % rf.get("runs"))
    P("   % core = CPU per refresh at pktlens' 1 s interval, no flow moving; then CPU ms with 1%")
    P("   and with all of the flows getting a packet before each refresh. Reads: the map alone.")
    P("   %-10s %-8s %-24s %-22s %-7s %-9s %-10s %-10s %-20s %-20s %s" % (
        "map size", "flows", "refresh ms", "CPU ms", "%core", "cold ms", "1% CPU", "all CPU",
        "batch read ms", "per-key read ms", "per-key/batch"))
    for s in rf["sizes"]:
        w = stat([x * 1e3 for x in s["refresh"]["wall_s"]])
        c = stat([x * 1e3 for x in s["refresh"]["cpu_s"]])
        b = stat([x * 1e3 for x in s["read_batch"]["wall_s"]])
        k = stat([x * 1e3 for x in s["read_per_key"]["wall_s"]])
        cold = s["refresh_cold"]["wall_s"][0] * 1e3
        f = "%.1f" if w["median"] < 100 else "%.0f"
        some = stat([x * 1e3 for x in s["refresh_active_1pct"]["cpu_s"]]) if "refresh_active_1pct" in s else None
        alls = stat([x * 1e3 for x in s["refresh_active_all"]["cpu_s"]]) if "refresh_active_all" in s else None
        refresh.append({"map_entries": s["map_entries"], "flows": s["flows_in_map"],
                        "flows_in_snapshot": s["flows_in_snapshot"],
                        "refresh_ms": w, "refresh_cpu_ms": c, "core_pct_at_1s": c["median"] / 10,
                        "refresh_cold_ms": cold, "read_batch_ms": b, "read_per_key_ms": k,
                        "refresh_1pct_cpu_ms": some, "refresh_all_cpu_ms": alls,
                        "rss_kb_active": s.get("rss_kb_active"),
                        "per_key_over_batch": k["median"] / b["median"] if b["median"] else None})
        P("   %-10d %-8d %-24s %-22s %-7s %-9s %-10s %-10s %-20s %-20s %s" % (
            s["map_entries"], s["flows_in_map"], fmt(w, f), fmt(c, f),
            "%.1f%%" % (c["median"] / 10), "%.0f" % cold,
            "%.0f" % some["median"] if some else "-", "%.0f" % alls["median"] if alls else "-",
            fmt(b, "%.2f"), fmt(k, "%.2f"),
            "x%.1f" % (k["median"] / b["median"]) if b["median"] else "n/a"))
    P("   flows < map size: an LRU map evicts before it is completely full (per-CPU free lists).")
    P("   Per flow, user space keeps a store entry of %s B (in place; only flows that changed are"
      % rf.get("store_entry_bytes"))
    P("   touched) and a snapshot row of %s B (built only for changed flows, the rest copied)."
      % rf.get("snapshot_row_bytes"))
    res["refresh"] = refresh

# 5. ring buffer
rg = load("ring")
P()
P("5. Event path: watched-flow packets through the ring buffer into the engine")
ring = {"raw": rg}
if "ring" in skipped:
    P("   skipped: " + skipped["ring"])
    ring = {"skipped": skipped["ring"]}
elif "error" in rg:
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
    # L7 stages: HTTP request in, response out (tc programs) into the engine's L7 model.
    l7 = rg.get("l7") or []
    if l7:
        P("   L7 events (issue 14: <= 1 us of user CPU per event at 150k/s, nothing lost): an HTTP")
        P("   request on tc ingress and its response on tc egress per pair; CPU = the consumer thread")
        P("   %-12s %-22s %-22s %-10s %s" % ("target", "events/s", "us CPU per event", "lost",
                                            "requests = responses = pairs"))
        l7_stages = []
        for t in sorted({x["target_per_s"] for x in l7}):
            xs = [x for x in l7 if x["target_per_s"] == t]
            eps = stat([x["events"] / x["seconds"] / 1e3 for x in xs if x["seconds"] > 0])
            us = stat([x["consumer_cpu_s"] * 1e6 / x["events"] for x in xs if x["events"]])
            lost = sum(x["lost"] for x in xs)
            exact = all(x["requests"] == x["pairs"] and x["responses"] == x["pairs"]
                        for x in xs)
            l7_stages.append({"target_per_s": t, "events_kps": eps, "us_per_event": us,
                              "lost": lost, "exact": exact})
            P("   %-12s %-22s %-22s %-10d %s" % ("%.0fk/s" % (t / 1e3), fmt(eps, "%.0f") + "k",
                                                fmt(us, "%.2f"), lost,
                                                "yes" if exact else "NO (lost %d)" % lost))
        ring["l7_stages"] = l7_stages
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
