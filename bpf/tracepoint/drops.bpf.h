/* skb:kfree_skb and socket buffer tracepoints: every dropped packet with the kernel's reason, place and flow. */
#ifndef PKTLENS_TP_DROPS_BPF_H
#define PKTLENS_TP_DROPS_BPF_H

#include "lib/maps.bpf.h"
#include "shared/drops.h"
#include "lib/skb.bpf.h"
#include "tracepoint/tcp.bpf.h" /* pl_sk_in_netns */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct drop_key);
	__type(value, __u64);
} drop_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow_drop_key);
	__type(value, __u64);
} flow_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 128 * 1024);
} drop_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drop_counters);
} drop_stats SEC(".maps");

/*
 * Reason values that user space files as "discarded at close" rather than as drops (see
 * drops_reason_discard in src/core/drops.c), named from BTF and set before load; 0 = unused.
 * They are counted by reason and place like any drop, but stay out of the per-flow table: a
 * busy host frees one queued FIN this way per connection it closes first, and those would
 * push the flows of real drops out of the LRU.
 */
const volatile __u32 discard_reasons[PL_DISCARD_REASONS_MAX] = {};

static __always_inline int pl_reason_discard(__u32 reason)
{
	PL_UNROLL
	for (int i = 0; i < PL_DISCARD_REASONS_MAX; i++)
		if (discard_reasons[i] && discard_reasons[i] == reason)
			return 1;
	return 0;
}

static __always_inline struct drop_counters *pl_drop_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&drop_stats, &zero);
}

static __always_inline int pl_net_ok(const struct net_device *dev, const struct sock *sk)
{
	if (!netns_ino)
		return 1;
	__u32 ino = 0;
	if (dev)
		ino = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	else if (sk)
		ino = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return ino == netns_ino;
}

static __always_inline int pl_kfree(const struct sk_buff *skb, __u64 location, __u32 reason,
				    __u16 protocol, const struct sock *rx_sk,
				    struct drop_counters *dc)
{
	const struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (!rx_sk)
		rx_sk = BPF_CORE_READ(skb, sk);
	if (!pl_net_ok(dev, rx_sk))
		return 0;

	struct drop_key dk;
	__builtin_memset(&dk, 0, sizeof(dk));
	dk.location = location;
	dk.reason = reason;
	dk.protocol = protocol;
	dk.ifindex = pl_skb_ifindex(skb, dev);

	struct flow_key fk;
	int have_flow = pl_skb_flow(skb, protocol, dk.ifindex, &fk) == 0;
	if (have_flow)
		dk.l4proto = fk.proto;

	__u64 *n = bpf_map_lookup_elem(&drop_counts, &dk);
	if (n) {
		(*n)++; /* per-CPU value */
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&drop_counts, &dk, &one, BPF_NOEXIST);
	}

	if (have_flow && !pl_reason_discard(reason)) {
		struct flow_drop_key fdk;
		__builtin_memcpy(&fdk.flow, &fk, sizeof(fk));
		fdk.reason = reason;
		__u64 *c = bpf_map_lookup_elem(&flow_drops, &fdk);
		if (c) {
			__sync_fetch_and_add(c, 1);
		} else {
			__u64 one = 1;
			if (bpf_map_update_elem(&flow_drops, &fdk, &one, BPF_NOEXIST))
				if ((c = bpf_map_lookup_elem(&flow_drops, &fdk)))
					__sync_fetch_and_add(c, 1);
		}
	}

	struct drop_event *e = bpf_ringbuf_reserve(&drop_events, sizeof(*e), 0);
	if (!e) {
		if (dc)
			dc->events_lost++;
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->location = dk.location;
	if (have_flow)
		__builtin_memcpy(&e->flow, &fk, sizeof(fk));
	else
		__builtin_memset(&e->flow, 0, sizeof(e->flow));
	e->reason = reason;
	e->len = BPF_CORE_READ(skb, len);
	e->protocol = protocol;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	/* Read at each refresh: no wakeup per drop (a drop flood would wake the reader each time). */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int tp_kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	/* Kernels before 5.17 have no reason field: every drop is then NOT_SPECIFIED (2). */
	__u32 reason = 2;
	if (bpf_core_field_exists(ctx->reason))
		reason = BPF_CORE_READ(ctx, reason);
	struct drop_counters *dc = pl_drop_stats();
	/*
	 * On kernels with drop reasons, consume_skb() fires skb:consume_skb and
	 * kfree_skb fires only for drops; a reason of SKB_CONSUMED (1) or
	 * NOT_DROPPED_YET (0) still means "not a drop" where a kernel passes it.
	 */
	if (reason <= 1) {
		if (dc)
			dc->consumed_ignored++;
		return 0;
	}
	const struct sock *rx_sk = NULL;
	if (bpf_core_field_exists(ctx->rx_sk))
		rx_sk = BPF_CORE_READ(ctx, rx_sk);
	return pl_kfree(ctx->skbaddr, (__u64)ctx->location, reason, ctx->protocol, rx_sk, dc);
}

/*
 * Raw tracepoint variant (see raw_tcp_retransmit for why): the drop counts
 * must equal the kernel's own counters even while other BPF programs run.
 */
SEC("raw_tp/kfree_skb")
int BPF_PROG(raw_kfree_skb, const struct sk_buff *skb, void *location, int reason)
{
	struct drop_counters *dc = pl_drop_stats();
	if (reason <= 1) {
		if (dc)
			dc->consumed_ignored++;
		return 0;
	}
	__u16 protocol = pl_ntohs(BPF_CORE_READ(skb, protocol));
	return pl_kfree(skb, (__u64)location, (__u32)reason, protocol, NULL, dc);
}

/*
 * These two fire in the context of whoever queued the packet, so only counts are honest. Their
 * classic records hold no socket: only the raw variants below can keep to the namespace of -n.
 */
SEC("tracepoint/sock/sock_rcvqueue_full")
int tp_rcvqueue_full(void *ctx)
{
	struct drop_counters *dc = pl_drop_stats();
	if (dc)
		dc->rcvqueue_full++;
	return 0;
}

SEC("tracepoint/sock/sock_exceed_buf_limit")
int tp_exceed_buf_limit(void *ctx)
{
	struct drop_counters *dc = pl_drop_stats();
	if (dc)
		dc->exceed_buf_limit++;
	return 0;
}

/* The same two as raw tracepoints: the socket's namespace decides (another's overflow is not ours). */
SEC("raw_tp/sock_rcvqueue_full")
int BPF_PROG(raw_rcvqueue_full, const struct sock *sk, const struct sk_buff *skb)
{
	if (!pl_sk_in_netns(sk))
		return 0;
	struct drop_counters *dc = pl_drop_stats();
	if (dc)
		dc->rcvqueue_full++;
	return 0;
}

SEC("raw_tp/sock_exceed_buf_limit")
int BPF_PROG(raw_exceed_buf_limit, const struct sock *sk, const struct proto *prot, long allocated,
	     int kind)
{
	if (!pl_sk_in_netns(sk))
		return 0;
	struct drop_counters *dc = pl_drop_stats();
	if (dc)
		dc->exceed_buf_limit++;
	return 0;
}

#endif
