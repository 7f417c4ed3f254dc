# The TCP reset tracepoints on this kernel (older event layouts, read through CO-RE flavours): pktlens'
# resets sent and received equal the kernel's OutRsts counter and the resets the helper caused.
. /tests/lib.sh
N=5
out_rsts() { awk '/^Tcp:/ { getline; print $15; exit }' /proc/net/snmp; }
pl_start /tmp/rst.json --probes tracepoints
r0=$(out_rsts)
"$BIN/pl-target" reset "$N" || fail "the helper's connections were not reset"
r1=$(out_rsts)
sleep 1.2
pl_stop
expect_eq "OutRsts delta" "$((r1 - r0))" "$N"
tcp_field() { tail -n 1 /tmp/rst.json | sed -n "s/.*\"tcp\":{[^}]*\"$1\":\([0-9]*\).*/\1/p"; }
expect_eq "tcp.resets_tx" "$(tcp_field resets_tx)" "$((r1 - r0))"
expect_eq "tcp.resets_rx" "$(tcp_field resets_rx)" "$N"
