#!/usr/bin/env bash
# Which interfaces and probes a run gets. Without -i: every interface that is up, except lo (here
# two veths of the namespace, not its loopback nor two interfaces that are down); several -i: exactly
# those. --probes tc-ingress / tc-egress alone, and default minus a word (-tc-egress,
# -tracepoints): the probe states in JSON, the programs on the tc hooks (tcx links or classic
# filters, as the kernel lists them), the BPF links pktlens holds
# (its fdinfo) and the flows' rx/tx counts of a known exchange all agree with the request.
set -u
TEST_NAME=ifaces_probes
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/tcx.sh
. "$(dirname "$0")/../lib/tcx.sh"

N=3 # echo requests per link and run

require_root
require_cmd ip tc "$PYTHON"
require_pktlens
cleanup_init
make_tmpdir
build_tcxtool
netns_pair 246
# a second link from A (vethC) to a third namespace, and a veth pair inside A that stays down
netns_new c
NS_C=$NS_LAST
ip link add vethC netns "$NS_A" type veth peer name vethD netns "$NS_C" || fail "cannot create vethC"
ip -n "$NS_A" addr add 10.247.0.1/24 dev vethC
ip -n "$NS_C" addr add 10.247.0.2/24 dev vethD
ip -n "$NS_A" link set vethC up
ip -n "$NS_C" link set vethD up
ip -n "$NS_A" link add downX type veth peer name downY || fail "cannot create the down pair"
ns_c_ping() {
	ip netns exec "$NS_C" bash -c '. "$1"; shift; icmp_ping "$@"' _ "$PL_ROOT/tests/lib/common.sh" "$@"
}
wait_for 5 ns_c_ping 10.247.0.1 || fail "no connectivity over vethC"

# the namespace's own view of "every interface that is up, except lo"
up_ifaces=$(ip -n "$NS_A" -j link show | "$PYTHON" -c '
import json, sys
print(" ".join(sorted(l["ifname"] for l in json.load(sys.stdin)
                      if "UP" in l.get("flags", []) and l["ifname"] != "lo")))')
[ "$up_ifaces" = "$IF_A vethC" ] || fail "the namespace's up interfaces are '$up_ifaces'"

bpf_filters() { # IFACE DIR: pktlens' flow programs on that hook
	pktlens_progs "$NS_A" "$1" "$2"
}
pl_links() { # BPF links the running pktlens holds
	cat /proc/"$PL_PID"/fdinfo/* 2>/dev/null | grep -c '^link_type:'
}

# run NAME WANT_IFACES RX TX ARGS...: pktlens -n A ARGS; checks the interfaces, the kernel side
# and each watched link's echo flow (RX/TX: 1 = counted, 0 = must stay 0)
run() {
	local name=$1 want_ifs=$2 rx=$3 tx=$4 ifc
	shift 4
	pktlens_start "$TMP/$name.json" -n "$NS_A" --json --interval 0.5 "$@"
	wait_for 20 sh -c "grep -q '^{' '$TMP/$name.json'" ||
		fail "$name: no snapshot: $(cat "$TMP/$name.json.err")"
	# probes settle within the first snapshots; wait until the requested tc state shows
	local first_if=${want_ifs%% *}
	if [ "$rx" = 1 ]; then
		pktlens_wait_attached "$TMP/$name.json" tc-ingress "$first_if" 20 || fail "$name: tc-ingress did not attach"
	fi
	if [ "$tx" = 1 ]; then
		pktlens_wait_attached "$TMP/$name.json" tc-egress "$first_if" 20 || fail "$name: tc-egress did not attach"
	fi
	local links
	links=$(pl_links)
	for ifc in $want_ifs; do
		[ "$(bpf_filters "$ifc" ingress)" = "$rx" ] || fail "$name: $(bpf_filters "$ifc" ingress) ingress programs on $ifc, expected $rx"
		[ "$(bpf_filters "$ifc" egress)" = "$tx" ] || fail "$name: $(bpf_filters "$ifc" egress) egress programs on $ifc, expected $tx"
	done
	for ifc in $(echo "$up_ifaces" | tr ' ' '\n' | grep -vxF -f <(echo "$want_ifs" | tr ' ' '\n')); do
		[ "$(bpf_filters "$ifc" ingress)$(bpf_filters "$ifc" egress)" = 00 ] ||
			fail "$name: pktlens attached to $ifc, which it was not asked to watch"
	done
	case " $want_ifs " in *" $IF_A "*) ns_b_ping "$ADDR_A" "$N" 0.05 || fail "$name: echo over $IF_A failed" ;; esac
	case " $want_ifs " in *" vethC "*) ns_c_ping 10.247.0.1 "$N" 0.05 || fail "$name: echo over vethC failed" ;; esac
	local lines
	lines=$(json_count "$TMP/$name.json")
	wait_for 10 sh -c "[ \$(grep -c '^{' '$TMP/$name.json') -ge $((lines + 2)) ]" || fail "$name: pktlens stopped printing"
	pktlens_stop INT 30 || fail "$name: pktlens did not stop"
	[ "$PL_RC" = 0 ] || fail "$name: pktlens exited with $PL_RC: $(cat "$TMP/$name.json.err")"
	json_last "$TMP/$name.json" | "$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
name, want_ifs, rx, tx, n, links = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
peers = {sys.argv[7]: sys.argv[8], "vethC": "10.247.0.2"}
bad = []
probes = {p["id"]: p for p in j["probes"]}
ifs = sorted(p["target"] for p in j["probes"] if p["kind"] == "tc-ingress")
if ifs != sorted(want_ifs):
    bad.append("interfaces %s, expected %s" % (ifs, sorted(want_ifs)))
for ifc in want_ifs:
    for kind, on in (("tc-ingress", rx), ("tc-egress", tx)):
        st = probes.get(kind + ":" + ifc, {}).get("state")
        if st != ("attached" if on else "detached"):
            bad.append("%s:%s is %s" % (kind, ifc, st))
    fl = [f for f in j["flows"] if f["iface"] == ifc and f["proto"] == "icmp" and f["remote"] == peers[ifc]]
    got = (sum(f["rx_packets"] for f in fl), sum(f["tx_packets"] for f in fl))
    if got != (n * rx, n * tx):
        bad.append("%s echo flow rx/tx %s, expected %s" % (ifc, got, (n * rx, n * tx)))
# every attached probe holds one BPF link, except tc programs attached as classic (netlink) filters
held = [p["id"] for p in j["probes"] if p["state"] == "attached" and
        (p["kind"] not in ("tc-ingress", "tc-egress") or p.get("mode") == "tcx")]
tps = [p for p in j["probes"] if p["kind"] == "tracepoint"]
tp_on = [p["id"] for p in tps if p["state"] == "attached"]
if len(held) != links:
    bad.append("%d probes attached by link, pktlens holds %d BPF links" % (len(held), links))
print("%s: interfaces %s, %d tracepoints attached, %d links" % (name, ifs, len(tp_on), links), file=sys.stderr)
want_tp = sys.argv[9]
if want_tp == "none" and tp_on:
    bad.append("tracepoints attached: %s" % tp_on)
if want_tp == "default" and not tp_on:
    bad.append("no tracepoint attached")
if bad:
    sys.exit("%s: %s" % (name, "; ".join(bad)))
' "$name" "$want_ifs" "$rx" "$tx" "$N" "$links" "$IF_A" "$ADDR_B" "$TRACEPOINTS" || fail "$name disagrees"
}

TRACEPOINTS=default run all-up "$IF_A vethC" 1 1
TRACEPOINTS=default run two-i "$IF_A vethC" 1 1 -i vethC -i "$IF_A"
TRACEPOINTS=default run one-i "vethC" 1 1 -i vethC
TRACEPOINTS=none run tc-ingress "$IF_A" 1 0 -i "$IF_A" --probes tc-ingress
TRACEPOINTS=none run tc-egress "$IF_A" 0 1 -i "$IF_A" --probes tc-egress
TRACEPOINTS=default run minus-egress "$IF_A" 1 0 -i "$IF_A" --probes default,-tc-egress
TRACEPOINTS=none run minus-tracepoints "$IF_A vethC" 1 1 --probes default,-tracepoints
log "ok"
exit 0
