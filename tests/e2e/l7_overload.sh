#!/usr/bin/env bash
# L7 overload: pktlens is stopped (SIGSTOP) while a client sends N keep-alive HTTP requests over
# 16 connections to nginx, so that its L7 ring fills past 3/4 and 7/8. Then only a sample of
# the connections sends events, and none is lost: every HTTP request and response the client
# exchanged is either an event or counted in l7_stats.sampled (events + sampled = 2N + the 16
# connections' protocol events, exactly); nothing is lost (l7_stats.events_lost, stats.events_lost
# 0); the connections in the sample keep their requests and responses paired (requests and
# responses differ by at most the 16 exchanges in flight at each of the two sample steps).
set -u
TEST_NAME=l7_overload
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/bench_http.sh"

N=30000 # requests: ~9.4k fill 3/4 of the 4 MiB ring (two 168-byte records each), the rest fit
CONNS=16

require_root
require_cmd ip nginx "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
netns_pair 236
nginx_bench_start "$ADDR_A" || fail "nginx did not start"

pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 20 || fail "tc-ingress did not attach"
pktlens_wait_attached "$TMP/pl.json" tc-egress "$IF_A" 5 || fail "tc-egress did not attach"
kill -STOP "$PL_PID" || fail "cannot stop pktlens"

# N requests, each answered before the connection sends its next: every exchange completes
ns_b timeout 120 "$PYTHON" "$PL_ROOT/tests/lib/http_exchanges.py" "$ADDR_A" "$N" "$CONNS" --sample-mix \
	>"$TMP/client.out" 2>&1 || { kill -CONT "$PL_PID"; fail "the client failed: $(tail -3 "$TMP/client.out")"; }
kill -CONT "$PL_PID"
[ "$(cat "$TMP/client.out")" = "$N" ] || fail "the client completed $(cat "$TMP/client.out") of $N"
lines=$(json_count "$TMP/pl.json")
wait_for 20 sh -c "[ \$(grep -c '^{' '$TMP/pl.json') -ge $((lines + 3)) ]" || fail "pktlens stopped printing"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
json_last "$TMP/pl.json" >"$TMP/last.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP/last.json" "$N" "$CONNS" <<'PY' || fail "the overload was not sampled as it should be"
import json, sys
j = json.load(open(sys.argv[1]))
n, conns = int(sys.argv[2]), int(sys.argv[3])
st, http = j["l7_stats"], j["http"]
print("  l7_stats events %d sampled %d lost %d; http requests %d responses %d; stats.events_lost %d"
      % (st["events"], st["sampled"], st["events_lost"], http["requests"], http["responses"],
         j["stats"]["events_lost"]), file=sys.stderr)
bad = []
if st["events_lost"] or j["stats"]["events_lost"]:
    bad.append("events lost")
if st["sampled"] == 0:
    bad.append("nothing sampled: the ring never reached 3/4")
if st["events"] + st["sampled"] != 2 * n + conns:
    bad.append("events %d + sampled %d != 2 x %d requests + %d protocol events"
               % (st["events"], st["sampled"], n, conns))
if not n * 0.3 <= http["requests"] < n:
    bad.append("%d requests seen of %d" % (http["requests"], n))
if abs(http["requests"] - http["responses"]) > 2 * conns:
    bad.append("requests %d and responses %d are not paired" % (http["requests"], http["responses"]))
if bad:
    sys.exit("wrong: " + "; ".join(bad))
PY
log "ok"
exit 0
