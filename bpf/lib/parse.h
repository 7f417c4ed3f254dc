/* The one packet parser: Ethernet/VLAN/IPv4/IPv6/TCP/UDP/ICMP, verifier-safe, shared by BPF and host tests. */
#ifndef PKTLENS_PARSE_H
#define PKTLENS_PARSE_H

/*
 * No helper calls and no globals: every read is preceded by a bounds check
 * against data_end, so the verifier accepts it and a host test can feed it
 * any byte sequence. Callers include vmlinux.h (BPF) or <linux/types.h>
 * (host) first, and shared/flow.h for the malformed kinds.
 */
#include "shared/flow.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Loops are unrolled for the verifier; host compilers other than clang do as they like. */
#ifdef __clang__
#define PL_UNROLL _Pragma("unroll")
#else
#define PL_UNROLL
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define pl_ntohs(x) __builtin_bswap16(x)
#define pl_ntohl(x) __builtin_bswap32(x)
#else
#define pl_ntohs(x) (x)
#define pl_ntohl(x) (x)
#endif

#define PL_ETH_P_IP 0x0800
#define PL_ETH_P_IPV6 0x86DD
#define PL_ETH_P_8021Q 0x8100
#define PL_ETH_P_8021AD 0x88A8

#define PL_IPPROTO_HOPOPTS 0
#define PL_IPPROTO_ICMP 1
#define PL_IPPROTO_TCP 6
#define PL_IPPROTO_UDP 17
#define PL_IPPROTO_ROUTING 43
#define PL_IPPROTO_FRAGMENT 44
#define PL_IPPROTO_ICMPV6 58
#define PL_IPPROTO_DSTOPTS 60

/* Extension headers followed before giving up; a longer chain is malformed. */
#define PL_IP6_EXT_MAX 6

/* Packet templates, in wire order, packed so that host tests can build frames with them. */
struct pl_ethhdr {
	__u8 dst[6];
	__u8 src[6];
	__u16 proto;
} __attribute__((packed));

struct pl_vlanhdr {
	__u16 tci;
	__u16 proto;
} __attribute__((packed));

struct pl_iphdr {
	__u8 ver_ihl;
	__u8 tos;
	__u16 tot_len;
	__u16 id;
	__u16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u8 saddr[4];
	__u8 daddr[4];
} __attribute__((packed));

struct pl_ipv6hdr {
	__u32 ver_tc_flow;
	__u16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
} __attribute__((packed));

struct pl_ip6_ext {
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-octet units, not counting the first 8 */
} __attribute__((packed));

struct pl_ip6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__u16 frag_off; /* offset << 3 | M */
	__u32 id;
} __attribute__((packed));

struct pl_tcphdr {
	__u16 source;
	__u16 dest;
	__u32 seq;
	__u32 ack_seq;
	__u8 doff_res; /* data offset in the high nibble */
	__u8 flags;
	__u16 window;
	__u16 check;
	__u16 urg_ptr;
} __attribute__((packed));

struct pl_udphdr {
	__u16 source;
	__u16 dest;
	__u16 len;
	__u16 check;
} __attribute__((packed));

struct pl_icmphdr {
	__u8 type;
	__u8 code;
	__u16 check;
	__u16 id;
	__u16 seq;
} __attribute__((packed));

/* What the parser found. Offsets are from the start of the frame. */
struct pl_pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 eth_proto; /* innermost EtherType, host order */
	__u16 sport;	 /* host order; ICMP echo: id in both */
	__u16 dport;
	__u16 l3_off;
	__u16 l4_off;
	__u16 payload_off; /* TCP/UDP payload start; 0 when there are no ports */
	__u16 vlan[2];	   /* TCI of outer, inner tag */
	__u8 vlan_depth;
	__u8 family;	/* 0 (not IP), PL_AF_INET, PL_AF_INET6 */
	__u8 proto;	/* transport protocol after extension headers */
	__u8 has_ports; /* TCP/UDP header read (first fragment or unfragmented) */
	__u8 frag;	/* 0 none, 1 first fragment, 2 later fragment */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u16 window;
	__u32 seq;
	__u32 ack;
	__u32 ip_len;	   /* IPv4 total length or IPv6 payload + 40 (BIG TCP: from the skb) */
	__u32 payload_len; /* TCP/UDP payload bytes the headers declare (UDP: its length - 8) */
};

static __always_inline void pl_copy4(__u8 *dst16, const __u8 *src4)
{
	dst16[0] = src4[0];
	dst16[1] = src4[1];
	dst16[2] = src4[2];
	dst16[3] = src4[3];
	PL_UNROLL
	for (int i = 4; i < 16; i++)
		dst16[i] = 0;
}

static __always_inline void pl_copy16(__u8 *dst, const __u8 *src)
{
	PL_UNROLL
	for (int i = 0; i < 16; i++)
		dst[i] = src[i];
}

/*
 * Transport header at cur; returns a malformed kind or PL_M_NONE. Reads are
 * checked against end (the frame, which the verifier tracks) and the
 * headers must also fit in lim, the offset where the IP packet ends, so
 * Ethernet padding after a short IP packet is never taken for ports. The
 * payload ends at lim, or for UDP where its own length says (the kernel
 * trims the rest, udp_rcv(); a length beyond the IP packet is dropped there).
 */
static __always_inline int pl_parse_l4(const __u8 *start, const __u8 *cur, const __u8 *end,
				       __u32 lim, struct pl_pkt *p)
{
	__u32 off = (__u32)(cur - start);
	p->l4_off = (__u16)off;
	if (p->proto == PL_IPPROTO_TCP) {
		const struct pl_tcphdr *th = (const void *)cur;
		if ((const __u8 *)(th + 1) > end || off + sizeof(*th) > lim)
			return PL_M_TCP_TRUNC;
		__u32 doff = (th->doff_res >> 4) * 4;
		if (doff < sizeof(*th) || cur + doff > end || off + doff > lim)
			return PL_M_TCP_DOFF;
		p->sport = pl_ntohs(th->source);
		p->dport = pl_ntohs(th->dest);
		p->seq = pl_ntohl(th->seq);
		p->ack = pl_ntohl(th->ack_seq);
		p->window = pl_ntohs(th->window);
		p->tcp_flags = th->flags;
		p->payload_off = (__u16)(cur + doff - start);
		p->payload_len = lim - (off + doff);
		p->has_ports = 1;
	} else if (p->proto == PL_IPPROTO_UDP) {
		const struct pl_udphdr *uh = (const void *)cur;
		if ((const __u8 *)(uh + 1) > end || off + sizeof(*uh) > lim)
			return PL_M_UDP_TRUNC;
		p->sport = pl_ntohs(uh->source);
		p->dport = pl_ntohs(uh->dest);
		__u32 ulen = pl_ntohs(uh->len);
		/* a first fragment's UDP length is the whole datagram's: more than it holds */
		if (ulen < sizeof(*uh) || (off + ulen > lim && p->frag != 1))
			return PL_M_UDP_LEN;
		if (off + ulen > lim)
			ulen = lim - off;
		p->payload_off = (__u16)((const __u8 *)(uh + 1) - start);
		p->payload_len = ulen - sizeof(*uh);
		p->has_ports = 1;
	} else if (p->proto == PL_IPPROTO_ICMP || p->proto == PL_IPPROTO_ICMPV6) {
		const struct pl_icmphdr *ih = (const void *)cur;
		/* type, code and checksum are the minimum; id/seq only exist for echo */
		if (cur + 4 > end || off + 4 > lim)
			return PL_M_ICMP_TRUNC;
		p->icmp_type = ih->type;
		p->icmp_code = ih->code;
		int echo = (p->proto == PL_IPPROTO_ICMP) ? (ih->type == 0 || ih->type == 8)
							 : (ih->type == 128 || ih->type == 129);
		if (echo && (const __u8 *)(ih + 1) <= end && off + sizeof(*ih) <= lim) {
			p->sport = pl_ntohs(ih->id);
			p->dport = p->sport;
		}
	}
	return PL_M_NONE;
}

/*
 * An IP length field of 0 is how a BIG TCP aggregate (more than 64 KiB, IPv4
 * since 6.3 and IPv6 since 5.19: iph_set_totlen(), ipv6_gro_complete()) says
 * "the skb's length". Only a GSO skb that long carrying TCP can mean that:
 * gso_len is the skb's length from the frame start when the skb is a GSO
 * aggregate (tc), 0 where there is none (XDP sees wire frames). Anywhere else
 * a length of 0 is a lie that must not switch the bounds off.
 */
static __always_inline int pl_big_tcp(__u32 gso_len, __u32 l3_off, __u32 hdr_len, __u8 proto)
{
	return gso_len > l3_off + hdr_len + 0xffff &&
	       (proto == PL_IPPROTO_TCP || proto == PL_IPPROTO_HOPOPTS);
}

/*
 * Parses one frame. Returns PL_M_NONE when the headers that exist are
 * consistent (p->family is 0 for non-IP frames), else the malformed kind of
 * the first bad header; fields parsed before it stay valid. gso_len: see
 * pl_big_tcp(); 0 when the frame is not a GSO aggregate.
 */
static __always_inline int pl_parse_gso(const void *data, const void *data_end, __u32 gso_len,
					struct pl_pkt *p)
{
	const __u8 *start = data;
	const __u8 *end = data_end;
	const __u8 *cur = start;

	const struct pl_ethhdr *eth = (const void *)cur;
	if ((const __u8 *)(eth + 1) > end)
		return PL_M_ETH_TRUNC;
	__u16 proto = pl_ntohs(eth->proto);
	cur = (const __u8 *)(eth + 1);

	PL_UNROLL
	for (int i = 0; i < 2; i++) {
		if (proto != PL_ETH_P_8021Q && proto != PL_ETH_P_8021AD)
			break;
		const struct pl_vlanhdr *vh = (const void *)cur;
		if ((const __u8 *)(vh + 1) > end)
			return PL_M_VLAN_TRUNC;
		p->vlan[i] = pl_ntohs(vh->tci);
		p->vlan_depth = i + 1;
		proto = pl_ntohs(vh->proto);
		cur = (const __u8 *)(vh + 1);
	}
	p->eth_proto = proto;
	p->l3_off = (__u16)(cur - start);
	__u32 lim = 0xffffffff;

	if (proto == PL_ETH_P_IP) {
		const struct pl_iphdr *ih = (const void *)cur;
		if ((const __u8 *)(ih + 1) > end)
			return PL_M_IP4_TRUNC;
		__u32 ihl = (ih->ver_ihl & 0x0f) * 4;
		if ((ih->ver_ihl >> 4) != 4 || ihl < sizeof(*ih) || cur + ihl > end)
			return PL_M_IP4_IHL;
		__u32 tot = pl_ntohs(ih->tot_len);
		/* IPv4 BIG TCP has no HBH header: only TCP qualifies (pl_big_tcp also takes 0) */
		if (!tot && ih->protocol == PL_IPPROTO_TCP &&
		    pl_big_tcp(gso_len, p->l3_off, 0, PL_IPPROTO_TCP))
			tot = gso_len - p->l3_off;
		if (tot < ihl)
			return PL_M_IP4_LEN;
		lim = p->l3_off + tot;
		p->family = PL_AF_INET;
		p->proto = ih->protocol;
		p->ip_len = tot;
		pl_copy4(p->saddr, ih->saddr);
		pl_copy4(p->daddr, ih->daddr);
		__u16 fo = pl_ntohs(ih->frag_off);
		if (fo & 0x1fff)
			p->frag = 2;
		else if (fo & 0x2000)
			p->frag = 1;
		cur += ihl;
	} else if (proto == PL_ETH_P_IPV6) {
		const struct pl_ipv6hdr *ih = (const void *)cur;
		if ((const __u8 *)(ih + 1) > end)
			return PL_M_IP6_TRUNC;
		if ((pl_ntohl(ih->ver_tc_flow) >> 28) != 6)
			return PL_M_IP6_VER;
		p->family = PL_AF_INET6;
		/*
		 * A payload length of 0: BIG TCP (TCP, or a hop-by-hop jumbo header
		 * before it where the kernel inserts one), else an empty payload
		 * (next header 59 fits, anything else is cut short).
		 */
		__u32 plen = pl_ntohs(ih->payload_len);
		if (!plen && pl_big_tcp(gso_len, p->l3_off, sizeof(*ih), ih->nexthdr))
			plen = gso_len - p->l3_off - sizeof(*ih);
		lim = p->l3_off + sizeof(*ih) + plen;
		p->ip_len = plen + sizeof(*ih);
		pl_copy16(p->saddr, ih->saddr);
		pl_copy16(p->daddr, ih->daddr);
		__u8 nh = ih->nexthdr;
		cur = (const __u8 *)(ih + 1);
		PL_UNROLL
		for (int i = 0; i < PL_IP6_EXT_MAX; i++) {
			if (nh == PL_IPPROTO_FRAGMENT) {
				const struct pl_ip6_frag *fh = (const void *)cur;
				if ((const __u8 *)(fh + 1) > end ||
				    (__u32)(cur - start) + sizeof(*fh) > lim)
					return PL_M_IP6_EXT;
				__u16 fo = pl_ntohs(fh->frag_off);
				/* offset 0 without More is an atomic fragment (RFC 6946): whole */
				p->frag = (fo & 0xfff8) ? 2 : (fo & 1) ? 1 : 0;
				nh = fh->nexthdr;
				cur = (const __u8 *)(fh + 1);
			} else if (nh == PL_IPPROTO_HOPOPTS || nh == PL_IPPROTO_ROUTING ||
				   nh == PL_IPPROTO_DSTOPTS) {
				const struct pl_ip6_ext *eh = (const void *)cur;
				if ((const __u8 *)(eh + 1) > end)
					return PL_M_IP6_EXT;
				__u32 len = ((__u32)eh->hdrlen + 1) * 8;
				/* inside the frame and inside the payload the IPv6 header declares */
				if (cur + len > end || (__u32)(cur - start) + len > lim)
					return PL_M_IP6_EXT;
				nh = eh->nexthdr;
				cur += len;
			} else {
				break;
			}
			if (p->frag == 2)
				break;
		}
		p->proto = nh;
		if (p->frag != 2 && (nh == PL_IPPROTO_FRAGMENT || nh == PL_IPPROTO_HOPOPTS ||
				     nh == PL_IPPROTO_ROUTING || nh == PL_IPPROTO_DSTOPTS))
			return PL_M_IP6_EXT; /* chain longer than PL_IP6_EXT_MAX */
	} else {
		return PL_M_NONE;
	}
	/* Later fragments carry no transport header. */
	if (p->frag == 2)
		return PL_M_NONE;
	return pl_parse_l4(start, cur, end, lim, p);
}

/* A frame that is not a GSO aggregate: an IP length of 0 is always malformed. */
static __always_inline int pl_parse(const void *data, const void *data_end, struct pl_pkt *p)
{
	return pl_parse_gso(data, data_end, 0, p);
}

#endif
