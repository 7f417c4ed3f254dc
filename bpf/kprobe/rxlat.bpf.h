/* Per-packet receive-path latency with kprobes: ip_rcv to tcp_v4_rcv, per skb, into a log2 histogram. */
#ifndef PKTLENS_KPROBE_RXLAT_BPF_H
#define PKTLENS_KPROBE_RXLAT_BPF_H

#include <bpf/bpf_tracing.h>
#include "lib/maps.bpf.h"
#include "tracepoint/adhoc.bpf.h"   /* pl_hit */
#include "tracepoint/funclat.bpf.h" /* funclat_hist, pl_log2_us */

/* LRU: an skb that never reaches TCP (dropped, UDP, forwarded) must not pin a slot. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* skb address */
	__type(value, __u64); /* ip_rcv time, ns */
} kp_rx_start SEC(".maps");

SEC("kprobe/ip_rcv")
int BPF_KPROBE(kprobe_ip_rcv, struct sk_buff *skb)
{
	if (netns_ino) {
		const struct net_device *dev = BPF_CORE_READ(skb, dev);
		if (!dev || BPF_CORE_READ(dev, nd_net.net, ns.inum) != netns_ino)
			return 0;
	}
	__u64 key = (__u64)skb, now = bpf_ktime_get_ns();
	bpf_map_update_elem(&kp_rx_start, &key, &now, BPF_ANY);
	return 0;
}

/* Counts every call (hits, by cookie) and times the skbs ip_rcv saw; the histogram uses the same cookie. */
SEC("kprobe/tcp_v4_rcv")
int BPF_KPROBE(kprobe_tcp_v4_rcv, struct sk_buff *skb)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	pl_hit(cookie);
	__u64 key = (__u64)skb;
	__u64 *t0 = bpf_map_lookup_elem(&kp_rx_start, &key);
	if (!t0)
		return 0;
	__u64 d = bpf_ktime_get_ns() - *t0;
	bpf_map_delete_elem(&kp_rx_start, &key);
	__u32 b = pl_log2_us(d);
	if (b >= PL_LAT_BUCKETS)
		b = PL_LAT_BUCKETS - 1;
	struct funclat_key hk = { .cookie = cookie };
	struct lat_hist *h = bpf_map_lookup_elem(&funclat_hist, &hk);
	if (!h) {
		struct lat_hist z;
		__builtin_memset(&z, 0, sizeof(z));
		bpf_map_update_elem(&funclat_hist, &hk, &z, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&funclat_hist, &hk);
		if (!h)
			return 0;
	}
	__sync_fetch_and_add(&h->bucket[b], 1);
	return 0;
}

#endif
