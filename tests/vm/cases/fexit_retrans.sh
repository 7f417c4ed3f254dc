# The fexit variant of tcp_retransmit_skb is chosen where tracing programs load, and counts the SYN
# retransmissions of an unanswered connect() exactly as the kernel's RetransSegs counter does.
. /tests/lib.sh
retrans_segs() { awk '/^Tcp:/ { getline; print $13; exit }' /proc/net/snmp; }

"$PKTLENS" --list-probes >/tmp/fx.list 2>&1 || { cat /tmp/fx.list; fail "--list-probes failed"; }
grep -q 'fentry/fexit yes' /tmp/fx.list || { cat /tmp/fx.list; fail "tracing programs not detected"; }
grep -qE '^tracepoint:tcp:tcp_retransmit_skb .*\[fexit\]$' /tmp/fx.list ||
	fail "tcp_retransmit_skb does not use the fexit variant: $(grep tcp_retransmit_skb /tmp/fx.list)"

dummy_add pl1
ip link set pl1 up
ip addr add 10.98.0.1/24 dev pl1
pl_start /tmp/fx.json --probes tracepoints
r0=$(retrans_segs)
# SYN at 0 s, retransmitted after 1 s and 3 s
"$BIN/pl-target" syn 4 10.98.0.2 || fail "the helper failed"
r1=$(retrans_segs)
sleep 1.2
pl_stop
ip link del pl1
[ "$((r1 - r0))" -ge 2 ] || fail "the kernel retransmitted only $((r1 - r0)) SYNs"
expect_eq "probe mode" "$(probe_field /tmp/fx.json tracepoint:tcp:tcp_retransmit_skb .mode)" fexit
expect_eq "probe state" "$(probe_field /tmp/fx.json tracepoint:tcp:tcp_retransmit_skb .state)" attached
expect_eq "retransmits.total = RetransSegs delta" \
	"$(tail -n 1 /tmp/fx.json | jq '.retransmits.total')" "$((r1 - r0))"
