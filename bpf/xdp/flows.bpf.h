/* XDP program: counts received packets per flow before the stack allocates an skb. */
#ifndef PKTLENS_XDP_FLOWS_BPF_H
#define PKTLENS_XDP_FLOWS_BPF_H

#include "lib/account.bpf.h"

SEC("xdp")
int xdp_flows(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	pl_account(ctx, data, data_end, ctx->ingress_ifindex, (__u32)(data_end - data), 1,
		   PL_DIR_RX, PL_HOOK_XDP, 1);
	return XDP_PASS;
}

#endif
