# Smoke: --list-probes reports this kernel's abilities; the default probes run on a dummy interface
# and count the pings sent through it.
. /tests/lib.sh

"$PKTLENS" --list-probes >/tmp/list.txt 2>&1 || { cat /tmp/list.txt; fail "--list-probes failed"; }
cat /tmp/list.txt
grep -q 'kprobes yes' /tmp/list.txt || fail "--list-probes does not report kprobes on a kernel that has them"
grep -q '^kprobe:tcp_v4_rcv  *kprobe  *detached' /tmp/list.txt || fail "kprobe:tcp_v4_rcv is not attachable here"
if grep -E ' (error|unsupported) ' /tmp/list.txt | grep -v 'this kernel has no such tracepoint'; then
	fail "probes unsupported for another reason than a missing tracepoint"
fi

dummy_add pl0
ip link set pl0 up
ip addr add 10.99.0.1/24 dev pl0
pl_start /tmp/smoke.json -i pl0 --probes default,kprobe:tcp_v4_rcv
# dummy is NOARP: each echo request leaves pl0 at once (and is dropped there).
ping -c 5 -i 0.2 -W 1 10.99.0.2 >/dev/null 2>&1
sleep 1.2
pl_stop
last=$(tail -n 1 /tmp/smoke.json)
echo "$last" | jq -e . >/dev/null || fail "the last snapshot is not valid JSON"
states=$(echo "$last" | jq -r '.probes[] | select(.state == "error") | "\(.id): \(.reason)"')
[ -z "$states" ] || fail "probes in error: $states"
for id in tc-ingress:pl0 tc-egress:pl0 tracepoint:tcp:tcp_probe tracepoint:skb:kfree_skb \
	tracepoint:tcp:tcp_retransmit_skb tracepoint:tcp:tcp_send_reset kprobe:tcp_v4_rcv; do
	expect_eq "$id state" "$(probe_field /tmp/smoke.json "$id" .state)" attached
done
tx=$(echo "$last" | jq '[.flows[] | select(.iface == "pl0" and .proto == "icmp") | .tx_packets] | add // 0')
expect_eq "icmp packets out of pl0" "$tx" 5
ip link del pl0
