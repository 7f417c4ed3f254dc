/* tc clsact programs: count packets per flow on ingress (unless XDP owns rx there) and on egress. */
#ifndef PKTLENS_TC_FLOWS_BPF_H
#define PKTLENS_TC_FLOWS_BPF_H

#include "lib/account.bpf.h"

/*
 * TC_ACT_UNSPEC (-1), which tcx calls TCX_NEXT: "not decided, go on". An
 * observer must not end classification: with TC_ACT_OK (0) cls_bpf in
 * direct-action mode stops at our filter and tcx stops its chain, so the
 * programs after ours (another pktlens, a firewall) would never run. At
 * the end of the chain the packet passes as with TC_ACT_OK.
 */
#define PL_TC_ACT_NEXT (-1)
/* Enough for Ethernet + 2 VLAN tags + IPv6 + extension headers + TCP with options. */
#define PL_PULL_LEN 192

static __always_inline void pl_tc_account(struct __sk_buff *skb, int dir, int hook)
{
	__u32 segs = skb->gso_segs ? skb->gso_segs : 1;
	int m = pl_account(skb, (void *)(long)skb->data, (void *)(long)skb->data_end, skb->ifindex,
			   skb->len, segs, dir, hook, 0);
	if (m == PL_M_NONE)
		return;
	/* Headers may sit in paged data: pull them into the linear part once and retry. */
	__u32 linear = skb->data_end - skb->data;
	if (linear < skb->len) {
		__u32 want = skb->len < PL_PULL_LEN ? skb->len : PL_PULL_LEN;
		if (want > linear)
			bpf_skb_pull_data(skb, want);
	}
	/* Keeps clang from reusing ctx+offset pointers, which the verifier rejects. */
	asm volatile("" : "+r"(skb));
	pl_account(skb, (void *)(long)skb->data, (void *)(long)skb->data_end, skb->ifindex,
		   skb->len, segs, dir, hook, 1);
}

static __always_inline int pl_tc_ingress(struct __sk_buff *skb)
{
	if (xdp_count) {
		__u32 ifindex = skb->ifindex;
		__u32 *owner = bpf_map_lookup_elem(&rx_owner, &ifindex);
		if (owner && *owner == PL_RX_XDP)
			return PL_TC_ACT_NEXT;
	}
	pl_tc_account(skb, PL_DIR_RX, PL_HOOK_TC_INGRESS);
	return PL_TC_ACT_NEXT;
}

SEC("tc")
int tc_ingress_flows(struct __sk_buff *skb)
{
	return pl_tc_ingress(skb);
}

SEC("tc")
int tc_egress_flows(struct __sk_buff *skb)
{
	pl_tc_account(skb, PL_DIR_TX, PL_HOOK_TC_EGRESS);
	return PL_TC_ACT_NEXT;
}

/*
 * -w: the same programs, capturing every packet first (before XDP's ownership of rx counting
 * can return early). Loaded and attached instead of the two above only with -w, so that the
 * programs of every other run carry not one instruction of it. Their names share the first 15
 * characters (what the kernel keeps) with the others: tc sweeps and tests see pktlens' own.
 */
SEC("tc")
int tc_ingress_flows_w(struct __sk_buff *skb)
{
	pl_capture(skb, PL_HOOK_TC_INGRESS << 4 | PL_DIR_RX, skb->ifindex, skb->len,
		   skb->gso_segs ? skb->gso_segs : 1);
	return pl_tc_ingress(skb);
}

SEC("tc")
int tc_egress_flows_w(struct __sk_buff *skb)
{
	pl_capture(skb, PL_HOOK_TC_EGRESS << 4 | PL_DIR_TX, skb->ifindex, skb->len,
		   skb->gso_segs ? skb->gso_segs : 1);
	pl_tc_account(skb, PL_DIR_TX, PL_HOOK_TC_EGRESS);
	return PL_TC_ACT_NEXT;
}

#endif
