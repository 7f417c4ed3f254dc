/* IPv6 extension-header walk over memory read piece by piece: an skb's data in BPF, a buffer in host tests. */
#ifndef PKTLENS_IP6WALK_H
#define PKTLENS_IP6WALK_H

/*
 * The packet programs parse a frame they can bounds-check directly (lib/parse.h). The drop
 * and latency tracepoints hold an skb instead and read its headers with
 * bpf_probe_read_kernel, so they walk the chain here through PL_IP6WALK_READ(dst, len, src)
 * (0 on success; host tests define their own), and every read is checked against lim, the
 * offset from base where the packet's readable bytes end, before it is made. The headers
 * followed and the chain limit are the ones lib/parse.h follows, so a dropped packet gets
 * the flow key its flow has.
 */
#include "lib/parse.h"

#ifndef PL_IP6WALK_READ
#ifdef __BPF__
#define PL_IP6WALK_READ(dst, len, src) bpf_probe_read_kernel(dst, len, src)
#else
#define PL_IP6WALK_READ(dst, len, src) (__builtin_memcpy(dst, src, len), 0)
#endif
#endif

struct pl_ip6_l4 {
	__u32 l4_off; /* where the transport header starts (from base) */
	__u8 proto;   /* the transport protocol, or the extension header the walk stopped at */
	__u8 frag;    /* 0 unfragmented or atomic, 1 first fragment, 2 later fragment */
	__u8 ports;   /* a transport header with ports lies within lim at l4_off */
	__u8 pad;
};

static __always_inline int pl_ip6_is_ext(__u8 nh)
{
	return nh == PL_IPPROTO_HOPOPTS || nh == PL_IPPROTO_ROUTING || nh == PL_IPPROTO_DSTOPTS ||
	       nh == PL_IPPROTO_FRAGMENT;
}

/*
 * off: the first byte after the fixed IPv6 header; nh: its next-header field. Hop-by-hop,
 * routing and destination options are (hdrlen + 1) * 8 bytes; a fragment header is 8 and
 * says whether this is the first fragment (offset 0: it carries the transport header) or a
 * later one (none: the walk ends with the protocol and no ports). A chain cut short by lim
 * or longer than PL_IP6_EXT_MAX ends with proto = the header it could not pass.
 */
static __always_inline void pl_ip6_walk(const unsigned char *base, __u32 off, __u32 lim, __u8 nh,
					struct pl_ip6_l4 *r)
{
	r->frag = 0;
	r->ports = 0;
	r->pad = 0;
	PL_UNROLL
	for (int i = 0; i < PL_IP6_EXT_MAX; i++) {
		__u8 h[4]; /* next header, length, and a fragment header's offset and M flag */

		if (!pl_ip6_is_ext(nh) || r->frag == 2)
			break;
		/* the first 8 bytes of a header (the least it can be) must be in the packet */
		if (off + 8 > lim || PL_IP6WALK_READ(h, sizeof(h), base + off)) {
			r->proto = nh;
			r->l4_off = off;
			return;
		}
		if (nh == PL_IPPROTO_FRAGMENT) {
			__u16 fo = (__u16)(h[2] << 8 | h[3]);

			/* offset 0 without More is an atomic fragment (RFC 6946): whole */
			r->frag = (fo & 0xfff8) ? 2 : (fo & 1) ? 1 : 0;
			off += 8;
		} else {
			off += ((__u32)h[1] + 1) * 8;
		}
		nh = h[0];
	}
	r->proto = nh;
	r->l4_off = off;
	/* ports: TCP and UDP put them in their first 4 bytes, which must be in the packet too */
	r->ports = r->frag != 2 && (nh == PL_IPPROTO_TCP || nh == PL_IPPROTO_UDP) && off + 4 <= lim;
}

#endif
