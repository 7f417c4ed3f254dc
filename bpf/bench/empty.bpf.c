/* Empty programs of each packet hook type: the baseline that benchmarks compare pktlens against. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int tc_empty(struct __sk_buff *skb)
{
	return 0;
}

/*
 * The raw tracepoints pktlens' default probes fire per segment and per socket call, empty:
 * tests/bench/empty_hooks attaches them (with tc_empty on both tc hooks) for figure 3's floor.
 */
SEC("raw_tp/tcp_probe")
int tp_empty_probe(void *ctx)
{
	return 0;
}

SEC("raw_tp/sock_recv_length")
int tp_empty_recv(void *ctx)
{
	return 0;
}

SEC("raw_tp/sock_send_length")
int tp_empty_send(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
