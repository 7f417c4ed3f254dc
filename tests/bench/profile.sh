#!/usr/bin/env bash
# Where pktlens' cost goes under one workload: per-program BPF run time and the pktlens process.
#
# Usage: tests/bench/profile.sh [http|tcp] [SECONDS] [PROBES]
# Runs the workload of `make bench` figure 3 (wrk -> nginx keep-alive, or iperf3 bulk) once with
# pktlens (--probes PROBES, default "default") on A's veth and prints, from pktlens' last JSON
# line (it runs with --bpf-stats, which itself costs every program ~70 ns a run), each attached
# program's runs, ns per run and share of one core; the pktlens process's
# user and system CPU; L7 events and CPU per event; and, when PERF_RECORD=1 and perf works, the
# hottest symbols of the whole machine and of pktlens during the run (perf record -e cpu-clock).
# A measuring aid for the overhead work, not part of make test.
set -u
TEST_NAME=profile
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/bench_http.sh"

WL=${1:-http}
SECS=${2:-5}
PROBES=${3:-default}
require_root
require_pktlens
require_cmd ip "$PYTHON"
case $WL in
http) require_cmd wrk nginx ;;
tcp) require_cmd iperf3 ;;
*) fail "workload is http or tcp, not $WL" ;;
esac
cleanup_init
make_tmpdir
cp "$PKTLENS" "$TMP/pktlens" && PKTLENS=$TMP/pktlens
netns_pair 214

if [ "$WL" = http ]; then
	nginx_bench_start "$ADDR_A" || fail "nginx did not start"
else
	bg_start "$TMP/iperf3-server.log" ip netns exec "$NS_A" iperf3 -s -B "$ADDR_A"
	wait_for 10 eval 'ns_a ss -Hltn "sport = :5201" | grep -q LISTEN' || fail "iperf3 did not start"
fi

# builds before --bpf-stats (PKTLENS=an older binary) kept the statistics on by themselves
STATS=()
"$PKTLENS" --help 2>&1 | grep -q -- --bpf-stats && STATS=(--bpf-stats)
pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 1 --duration 900 \
	--probes "$PROBES" "${STATS[@]}"
wait_for 60 eval '[ "$(json_count "$TMP/pl.json")" -ge 1 ]' || fail "pktlens wrote nothing"
sleep 1
read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$PL_PID/stat")
PERF_PID=
if [ "${PERF_RECORD:-0}" = 1 ] && perf stat -e cpu-clock true >/dev/null 2>&1; then
	perf record -e cpu-clock -F 499 -a -g -o "$TMP/perf.data" -- sleep "$SECS" \
		>"$TMP/perf.log" 2>&1 &
	PERF_PID=$!
fi
REQS=0
if [ "$WL" = http ]; then
	wrk_run "$TMP/load.out" "$ADDR_A" "$SECS"
	grep -E 'Requests/sec|requests in' "$TMP/load.out" >&2
	REQS=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$TMP/load.out")
else
	ns_b iperf3 -c "$ADDR_A" -t "$SECS" -A 0,1 >"$TMP/load.out" 2>&1
	grep -E 'receiver' "$TMP/load.out" >&2
fi
read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$PL_PID/stat")
[ -n "$PERF_PID" ] && wait "$PERF_PID"
pktlens_stop INT 30
tck=$(getconf CLK_TCK)
"$PYTHON" - "$TMP/pl.json" "$SECS" "$(((u1 - u0)))" "$(((s1 - s0)))" "$tck" "${REQS:-0}" <<'EOF'
import json, sys
path, secs, du, ds, tck = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5])
reqs = int(sys.argv[6] or 0)
last = None
for line in open(path):
    if line.startswith("{"):
        last = json.loads(line)
print("%-46s %12s %10s %8s" % ("program (attached)", "runs", "ns/run", "core%"))
tot = 0
for p in sorted(last["probes"], key=lambda p: -p.get("run_time_ns", 0)):
    if p.get("state") != "attached" or not p.get("run_cnt"):
        continue
    tot += p["run_time_ns"]
    print("%-46s %12d %10.0f %7.1f%%" % (p["id"], p["run_cnt"], p["run_time_ns"] / p["run_cnt"],
                                         100 * p["run_time_ns"] / 1e9 / secs))
print("all programs: %.1f%% of a core (run time over the whole run, start included)"
      % (100 * tot / 1e9 / secs))
l7 = last.get("l7_stats", {})
cpu = (du + ds) / tck
if reqs:
    # programs that fire per request (the rest is start-up and other namespaces' noise)
    print("cost per HTTP request: BPF programs %.2f us + pktlens process %.2f us (%d requests)"
          % (tot / 1e3 / reqs, cpu * 1e6 / reqs, reqs))
print("pktlens process: user %.2f s, sys %.2f s over %.0f s (%.1f%% of a core)" % (
    du / tck, ds / tck, secs, 100 * cpu / secs))
ev = l7.get("events", 0)
if ev:
    print("L7 events %d (%.0f/s), lost %d; %.2f us CPU per event; http requests %d responses %d" % (
        ev, ev / secs, l7.get("events_lost", 0), cpu * 1e6 / ev,
        last["http"]["requests"], last["http"]["responses"]))
EOF
if [ -n "$PERF_PID" ]; then
	[ -n "${PERF_KEEP:-}" ] && cp "$TMP/perf.data" "$PERF_KEEP"
	echo "--- whole machine, by symbol (top 25)"
	perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort sym 2>/dev/null |
		grep -E '^ +[0-9]' | head -25
	echo "--- pktlens process, by symbol (top 25)"
	perf report -i "$TMP/perf.data" --stdio --no-children -g none --comm pktlens --sort sym 2>/dev/null |
		grep -E '^ +[0-9]' | head -25
fi
