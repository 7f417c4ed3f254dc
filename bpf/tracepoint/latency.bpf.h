/* Time incoming data spends in the kernel: net:netif_receive_skb to skb:skb_copy_datagram_iovec, per skb. */
#ifndef PKTLENS_TP_LATENCY_BPF_H
#define PKTLENS_TP_LATENCY_BPF_H

#include "lib/maps.bpf.h"
#include "shared/tcp.h"
#include "lib/skb.bpf.h"
#include "tracepoint/tcp.bpf.h" /* pl_sk_in_netns */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* skb address */
	__type(value, __u64); /* netif_receive_skb time */
} rx_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct flow_key);
	__type(value, struct lat_hist);
} flow_lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lat_hist);
} all_lat SEC(".maps");

SEC("tracepoint/net/netif_receive_skb")
int tp_netif_receive(struct trace_event_raw_net_dev_template *ctx)
{
	const struct sk_buff *skb = ctx->skbaddr;
	if (netns_ino) {
		const struct net_device *dev = BPF_CORE_READ(skb, dev);
		if (!dev || BPF_CORE_READ(dev, nd_net.net, ns.inum) != netns_ino)
			return 0;
	}
	__u64 key = (__u64)skb, now = bpf_ktime_get_ns();
	bpf_map_update_elem(&rx_start, &key, &now, BPF_ANY);
	return 0;
}

/* floor(log2(v)) without loops or clz, as bcc's tools compute it. */
static __always_inline __u32 pl_log2_32(__u32 v)
{
	__u32 r, shift;
	r = (v > 0xffff) << 4;
	v >>= r;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 pl_log2_us(__u64 ns)
{
	__u64 us = ns / 1000;
	if (!us)
		return 0;
	__u32 hi = us >> 32;
	return hi ? pl_log2_32(hi) + 32 : pl_log2_32((__u32)us);
}

SEC("tracepoint/skb/skb_copy_datagram_iovec")
int tp_skb_copy(struct trace_event_raw_skb_copy_datagram_iovec *ctx)
{
	__u64 key = (__u64)ctx->skbaddr;
	__u64 *t0 = bpf_map_lookup_elem(&rx_start, &key);
	if (!t0)
		return 0;
	__u64 d = bpf_ktime_get_ns() - *t0;
	bpf_map_delete_elem(&rx_start, &key);
	/*
	 * An entry outlives a received skb that was never copied (an ACK, a UDP datagram: no
	 * skb_copy_datagram_iovec). A received skb's netif_receive_skb overwrites it, but skbs
	 * that never pass there (netlink, unix sockets) and, with -n, other namespaces' are not
	 * recorded: one allocated at that address finds the stale entry here. Only IP sockets'
	 * skbs of the watched namespace count, by the socket reading them (skb->sk: a receive
	 * queue's skbs are its socket's; TCP has dropped skb->dev by now).
	 */
	const struct sk_buff *skb = ctx->skbaddr;
	const struct sock *sk = BPF_CORE_READ(skb, sk);
	if (!sk || !pl_sk_in_netns(sk))
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != PL_AF_INET_KERNEL && family != PL_AF_INET6_KERNEL)
		return 0;
	__u32 b = pl_log2_us(d);
	if (b >= PL_LAT_BUCKETS)
		b = PL_LAT_BUCKETS - 1;
	__u32 zero = 0;
	struct lat_hist *all = bpf_map_lookup_elem(&all_lat, &zero);
	if (all)
		all->bucket[b]++;

	const struct net_device *dev = BPF_CORE_READ(skb, dev);
	__u32 ifindex = pl_skb_ifindex(skb, dev);
	__u16 proto = pl_ntohs(BPF_CORE_READ(skb, protocol));
	struct flow_key fk;
	if (pl_skb_flow(skb, proto, ifindex, &fk))
		return 0;
	struct lat_hist *h = bpf_map_lookup_elem(&flow_lat, &fk);
	if (!h) {
		struct lat_hist z;
		__builtin_memset(&z, 0, sizeof(z));
		bpf_map_update_elem(&flow_lat, &fk, &z, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&flow_lat, &fk);
		if (!h)
			return 0;
	}
	__sync_fetch_and_add(&h->bucket[b], 1);
	return 0;
}

#endif
