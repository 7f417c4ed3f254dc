#!/usr/bin/env bash
# nginx's flows belong to the worker that accepted them (nginx's own access log says which), also after the connection closed, on an IPv4-only and a dual-stack [::] listener.
#
# nginx (master and 2 workers, its own prefix, config and logs under the test's folder) runs in
# namespace A, which pktlens watches; curl in B makes one request per connection: IPv4 to the
# IPv4 listener, IPv4 to the dual-stack listener (v4-mapped sockets in nginx) and IPv6 to it.
# The access log names the worker ($pid) and the client port of each request, and the bytes it
# read and wrote; pktlens must name the same worker for each flow, exactly those bytes per
# worker, and nothing for the master, which never accepts: right after the requests and again
# once the closed sockets' rows are gone (PL_SOCK_KEEP_S 10 s).
set -u
TEST_NAME=procs_nginx
. "$(dirname "$0")/../lib/netns.sh"

PORT4=46101 # listen ADDR_A:PORT4 (IPv4 only)
PORT6=46102 # listen [::]:PORT6 ipv6only=off (dual-stack)
N4=8        # IPv4 requests to each listener
N6=4        # IPv6 requests to the dual-stack one

require_root
require_pktlens
require_cmd ip nginx curl "$PYTHON"
cleanup_init
make_tmpdir
netns_pair 221

NG=$TMP/nginx
mkdir -p "$NG/logs" "$NG/html" "$NG/tmp"
head -c 3000 /dev/urandom | base64 -w 0 >"$NG/html/a.txt"
head -c 70000 /dev/urandom | base64 -w 0 >"$NG/html/b.txt"
cat >"$NG/nginx.conf" <<EOF
# the test's own nginx: nothing of the system's configuration, logs or pid file
daemon off;
master_process on;
worker_processes 2;
user root;
pid $NG/nginx.pid;
error_log $NG/logs/error.log info;
events { worker_connections 64; }
http {
	default_type application/octet-stream;
	log_format pl '\$pid \$remote_addr \$remote_port \$server_port \$status \$request_length \$bytes_sent';
	access_log $NG/logs/access.log pl;
	client_body_temp_path $NG/tmp/body;
	proxy_temp_path $NG/tmp/proxy;
	fastcgi_temp_path $NG/tmp/fastcgi;
	uwsgi_temp_path $NG/tmp/uwsgi;
	scgi_temp_path $NG/tmp/scgi;
	sendfile on;
	keepalive_timeout 0;
	server {
		listen $ADDR_A:$PORT4;
		listen [::]:$PORT6 ipv6only=off;
		root $NG/html;
	}
}
EOF
ns_a nginx -t -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" >"$TMP/nginx-t.log" 2>&1 ||
	fail "nginx -t: $(cat "$TMP/nginx-t.log")"

# pktlens first: the master's listen() is then seen by the tracepoints, as on a host where
# nginx restarts while pktlens runs (the case where closed flows went to the master)
pktlens_start "$TMP/pl.json" -n "$NS_A" -i "$IF_A" --json --interval 0.5
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:inet_sock_set_state 15 ||
	fail "inet_sock_set_state did not attach: $(cat "$TMP/pl.json.err")"
pktlens_wait_attached "$TMP/pl.json" tracepoint sock:sock_recv_length 5 ||
	fail "sock_recv_length did not attach: $(cat "$TMP/pl.json.err")"
pktlens_wait_attached "$TMP/pl.json" tc-ingress "$IF_A" 5 || fail "tc ingress did not attach"

bg_start "$TMP/nginx.out" ip netns exec "$NS_A" nginx -p "$NG" -c "$NG/nginx.conf" \
	-e "$NG/logs/error.log"
wait_for 10 test -s "$NG/nginx.pid" || fail "nginx did not start: $(cat "$TMP/nginx.out")"
MASTER=$(cat "$NG/nginx.pid")
workers() { pgrep -P "$MASTER" | sort -n | tr '\n' ' '; }
nworkers() { workers | wc -w; }
wait_eq 10 2 nworkers || fail "nginx has not 2 workers: $(workers)"
WORKERS=$(workers)
log "nginx master $MASTER, workers $WORKERS"
# no request before both listen: a refused connection would be a flow of nobody's (or the
# master's, through its listener, once it listens)
listening() { [ "$(ns_a ss -Hltn "( sport = :$PORT4 or sport = :$PORT6 )" | wc -l)" = 2 ]; }
wait_for 10 listening || fail "nginx does not listen: $(cat "$NG/logs/error.log")"

req() { ns_b curl -s -o /dev/null -H 'Connection: close' --max-time 10 "$1" || fail "curl $1 failed"; }
for i in $(seq "$N4"); do
	f=a.txt
	[ $((i % 2)) = 0 ] && f=b.txt
	req "http://$ADDR_A:$PORT4/$f"
	req "http://$ADDR_A:$PORT6/$f"
done
for i in $(seq "$N6"); do
	req "http://[$ADDR6_A]:$PORT6/a.txt"
done
req "http://$ADDR_A:$PORT4/missing" # a 404: bytes all the same
NREQ=$((2 * N4 + N6 + 1))
logged() { wc -l <"$NG/logs/access.log"; }
wait_eq 5 "$NREQ" logged ||
	fail "access log has $(wc -l <"$NG/logs/access.log") lines, $NREQ requests were made"
T_DONE=$SECONDS

# while the closed sockets are still listed (shown closed)
sleep 2
json_last "$TMP/pl.json" >"$TMP/early.json" || fail "no JSON from pktlens"
# and once their rows are gone (PL_SOCK_KEEP_S, 10 s, after the fd check saw them closed) and
# only the remembered connections tell whose the flows are
remembered() {
	json_last "$TMP/pl.json" | "$PYTHON" -c '
import json, sys
print(json.loads(sys.stdin.read())["process_attribution"].get("closed_remembered"))'
}
all_remembered() { [ "$(remembered)" = "$NREQ" ]; }
deadline=$((SECONDS + 40))
until all_remembered; do
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "after $((SECONDS - T_DONE)) s, $(remembered) of $NREQ closed connections are remembered"
	sleep 1
done
log "the closed sockets' rows went $((SECONDS - T_DONE)) s after the last request"
pktlens_stop INT 30 || fail "pktlens did not stop"
[ "$PL_RC" = 0 ] || fail "pktlens exited with $PL_RC: $(cat "$TMP/pl.json.err")"
json_last "$TMP/pl.json" >"$TMP/late.json" || fail "no JSON from pktlens"

"$PYTHON" - "$TMP" "$NG/logs/access.log" "$MASTER" "$WORKERS" "$PORT6" <<'EOF'
import collections, json, sys
tmp, access, master, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
port6 = int(sys.argv[5])
workers = set(int(w) for w in workers)
reqs = []
for l in open(access):
    pid, addr, rport, sport, status, rlen, sent = l.split()
    reqs.append((int(pid), addr, int(rport), int(sport), int(rlen), int(sent)))
bad = []

def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg)
    if not cond:
        bad.append(msg)

check(set(r[0] for r in reqs) <= workers, "access log pids %s are nginx's workers %s"
      % (sorted(set(r[0] for r in reqs)), sorted(workers)))
per = collections.defaultdict(lambda: [0, 0, 0])
for pid, addr, rport, sport, rlen, sent in reqs:
    per[pid][0] += 1
    per[pid][1] += rlen
    per[pid][2] += sent
for name in ("early", "late"):
    j = json.load(open("%s/%s.json" % (tmp, name)))
    procs = {p["pid"]: p for p in j["processes"]}
    flows = {(f["local_port"], f["remote_port"]): f for f in j["flows"] if f["proto"] == "tcp"}
    for pid, addr, rport, sport, rlen, sent in reqs:
        f = flows.get((sport, rport))
        # nginx logs an IPv4 client of the dual-stack listener as ::ffff:a.b.c.d; on the wire,
        # and so in the flow, it is IPv4
        peer = addr[7:] if addr.startswith("::ffff:") else addr
        fam = ("IPv4 on [::]" if addr != peer else "IPv6") if sport == port6 else "IPv4"
        what = "%s %s %s:%d -> :%d" % (name, fam, peer, rport, sport)
        check(f is not None and f["remote"] == peer, "%s: flow present, remote %s"
              % (what, f and f["remote"]))
        if f:
            check(f["pid"] == pid and f["comm"] == "nginx",
                  "%s: worker %d (access log), pktlens %d %s" % (what, pid, f["pid"], f["comm"]))
        # the worker's accepted socket, while its row lasts: the peer as on the wire too
        if name == "early" and procs.get(pid):
            s = [s for s in procs[pid]["socks"]
                 if s["local_port"] == sport and s["remote_port"] == rport]
            check(len(s) == 1 and s[0]["remote"] == peer,
                  "%s: the worker's socket row, remote %s" % (what, [x["remote"] for x in s]))
    for pid in workers:
        p = procs.get(pid)
        want = per.get(pid, [0, 0, 0])
        check(p is not None, "%s: worker %d listed" % (name, pid))
        if not p:
            continue
        check(p["accepts"] == want[0] and p["flows"] == want[0],
              "%s: worker %d accepts %d flows %d, access log %d requests"
              % (name, pid, p["accepts"], p["flows"], want[0]))
        check(p["rx_bytes"] == want[1] and p["tx_bytes"] == want[2],
              "%s: worker %d rx %d tx %d, access log request_length %d bytes_sent %d"
              % (name, pid, p["rx_bytes"], p["tx_bytes"], want[1], want[2]))
    m = procs.get(master)
    check(m is not None and m["accepts"] == 0 and m["flows"] == 0 and m["listen"] == 2,
          "%s: master %d listed with 2 listeners, 0 accepts, 0 flows: %s" % (
              name, master, m and (m["listen"], m["accepts"], m["flows"])))
    print("%s: process_attribution %s" % (name, j["process_attribution"]))
sys.exit(1 if bad else 0)
EOF
rc=$?
[ "$rc" = 0 ] || fail "pktlens' process attribution differs from nginx's access log (see above)"
log "pass"
exit 0
