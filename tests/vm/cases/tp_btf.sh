# tcp_probe, sock_recv_length and sock_send_length run as tp_btf programs where the kernel takes
# them (their socket fields are loads, not helper calls), and count what the process did: one
# loopback connection of 10 writes of 1000 bytes, read back by the same process. Debian's 6.1
# has no sock_*_length tracepoints (6.2 added them): there tcp_probe alone is checked, and the
# per-process bytes only where those tracepoints are (the host's e2e/procs_ground_truth.sh).
. /tests/lib.sh
"$PKTLENS" --list-probes >/tmp/tb.list 2>&1 || { cat /tmp/tb.list; fail "--list-probes failed"; }
grep -q 'tp_btf yes' /tmp/tb.list || { grep '^kernel:' /tmp/tb.list; skip_kernel "tp_btf programs with bpf_get_current_task_btf and bpf_skc_to_tcp_sock"; }
SOCK_TPS=1
for tp in tcp:tcp_probe sock:sock_recv_length sock:sock_send_length; do
	if [ "$tp" != tcp:tcp_probe ] && grep -qE "^tracepoint:$tp .*unsupported +this kernel has no such tracepoint" /tmp/tb.list; then
		echo "ok: $tp is not in this kernel"
		SOCK_TPS=0
		continue
	fi
	grep -qE "^tracepoint:$tp .*\[tp_btf\]$" /tmp/tb.list ||
		fail "$tp does not use the tp_btf variant: $(grep "$tp" /tmp/tb.list)"
done
ip link set lo up
pl_start /tmp/tb.json -i lo
"$BIN/pl-target" stream 10 1000 || fail "the helper's stream failed"
sleep 1.2
pl_stop
expect_eq "probe mode" "$(probe_field /tmp/tb.json tracepoint:tcp:tcp_probe .mode)" tp_btf
expect_eq "probe state" "$(probe_field /tmp/tb.json tracepoint:tcp:tcp_probe .state)" attached
proc() { tail -n 1 /tmp/tb.json | jq -r ".processes[] | select(.comm == \"pl-target\") | .$1"; }
if [ "$SOCK_TPS" = 1 ]; then
	expect_eq "probe state" "$(probe_field /tmp/tb.json tracepoint:sock:sock_send_length .state)" attached
	expect_eq "pl-target tx_bytes" "$(proc tx_bytes)" 10000
	expect_eq "pl-target rx_bytes" "$(proc rx_bytes)" 10000
	expect_eq "pl-target tx_calls" "$(proc tx_calls)" 10
	expect_eq "pl-target connects" "$(proc connects)" 1
	expect_eq "pl-target accepts" "$(proc accepts)" 1
fi
# tcp_probe filled the client's socket (the segments it received were the server's ACKs)
cwnd=$(tail -n 1 /tmp/tb.json | jq -r '[.flows[] | select(.proto == "tcp" and .comm == "pl-target" and .cwnd > 0 and .srtt_us > 0)] | length')
[ "$cwnd" -ge 1 ] || fail "no pl-target TCP flow with cwnd and srtt: $(tail -n 1 /tmp/tb.json | jq -c '[.flows[] | select(.proto == "tcp")]')"
echo "ok: $cwnd pl-target flows with cwnd and srtt"
