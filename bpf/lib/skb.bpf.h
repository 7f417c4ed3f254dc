/* Flow key of an skb that the stack holds (dropped, copied to a socket), read through its header offsets. */
#ifndef PKTLENS_SKB_BPF_H
#define PKTLENS_SKB_BPF_H

#include "lib/parse.h"

#include "lib/ip6walk.h"

/* The input interface of a received skb (TCP clears skb->dev on the way up), else its device. */
static __always_inline __u32 pl_skb_ifindex(const struct sk_buff *skb, const struct net_device *dev)
{
	__u32 iif = BPF_CORE_READ(skb, skb_iif);
	if (iif)
		return iif;
	return dev ? BPF_CORE_READ(dev, ifindex) : 0;
}

/*
 * Reads an skb's IP and transport headers (through the offsets the
 * stack recorded) into a flow key as the packet programs would build it:
 * a packet that arrived (skb_iif set) has its destination as the local side.
 * Reads stay below skb->tail (the end of the linear data, an offset from head
 * on 64-bit kernels) and the IP length; IPv6 extension headers are walked
 * (lib/ip6walk.h), so a drop behind a hop-by-hop header or in a fragment gets
 * its transport protocol and, where the packet carries them, its ports. Later
 * fragments keep their protocol with ports 0, as their flows have. The key comes
 * from the packet, never from a socket: an IPv4 packet of a dual-stack socket
 * carries its IPv4 addresses, so nothing here is v4-mapped (an IPv6 packet with
 * ::ffff: addresses is a real, if odd, IPv6 packet and keeps them).
 */
static __always_inline int pl_skb_flow(const struct sk_buff *skb, __u16 protocol, __u32 ifindex,
				       struct flow_key *k)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u32 lim = BPF_CORE_READ(skb, tail);
	int rx = BPF_CORE_READ(skb, skb_iif) != 0;
	__u8 saddr[16] = {}, daddr[16] = {};
	__u8 l4 = 0;
	int ports_ok = 0;
	__builtin_memset(k, 0, sizeof(*k));

	if (nh == (__u16)~0U || !head)
		return -1;
	if (protocol == PL_ETH_P_IP) {
		struct pl_iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || (ip.ver_ihl >> 4) != 4)
			return -1;
		__builtin_memcpy(saddr, ip.saddr, 4);
		__builtin_memcpy(daddr, ip.daddr, 4);
		l4 = ip.protocol;
		k->family = PL_AF_INET;
		/* The transport offset is not set yet for drops early in IP input. */
		if (th <= nh || th == (__u16)~0U)
			th = nh + (ip.ver_ihl & 0x0f) * 4;
		__u16 tot = pl_ntohs(ip.tot_len);
		if (tot && (__u32)nh + tot < lim)
			lim = (__u32)nh + tot;
		/* a later fragment carries no transport header */
		ports_ok = !(pl_ntohs(ip.frag_off) & 0x1fff) &&
			   (l4 == PL_IPPROTO_TCP || l4 == PL_IPPROTO_UDP) && (__u32)th + 4 <= lim;
	} else if (protocol == PL_ETH_P_IPV6) {
		struct pl_ipv6hdr ip6;
		struct pl_ip6_l4 w;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return -1;
		__builtin_memcpy(saddr, ip6.saddr, 16);
		__builtin_memcpy(daddr, ip6.daddr, 16);
		k->family = PL_AF_INET6;
		/* 0 is a jumbogram or BIG TCP: the linear data is the only limit then */
		__u16 plen = pl_ntohs(ip6.payload_len);
		if (plen && (__u32)nh + sizeof(ip6) + plen < lim)
			lim = (__u32)nh + sizeof(ip6) + plen;
		/*
		 * The walk, not skb->transport_header: where the stack has already
		 * passed some extension headers it points behind them, elsewhere at
		 * the first one; the bytes say which protocol is there.
		 */
		pl_ip6_walk(head, (__u32)nh + sizeof(ip6), lim, ip6.nexthdr, &w);
		l4 = w.proto;
		th = (__u16)w.l4_off;
		ports_ok = w.ports;
	} else {
		return -1;
	}
	k->ifindex = ifindex;
	k->proto = l4;
	__u16 ports[2] = {};
	if (ports_ok && bpf_probe_read_kernel(ports, sizeof(ports), head + th))
		ports[0] = ports[1] = 0;
	__u16 sport = pl_ntohs(ports[0]), dport = pl_ntohs(ports[1]);
	if (rx) {
		__builtin_memcpy(k->local, daddr, 16);
		__builtin_memcpy(k->remote, saddr, 16);
		k->local_port = dport;
		k->remote_port = sport;
	} else {
		__builtin_memcpy(k->local, saddr, 16);
		__builtin_memcpy(k->remote, daddr, 16);
		k->local_port = sport;
		k->remote_port = dport;
	}
	return 0;
}

#endif
