/* Crafted-frame builders for tests: Ethernet, VLAN, IPv4/IPv6 (+ext headers), TCP, UDP, ICMP. */
#ifndef PKTLENS_TESTS_FRAMES_H
#define PKTLENS_TESTS_FRAMES_H

/*
 * Usage: frame_init() on a caller buffer, append layers outermost first,
 * then frame_finish() fills IPv4 total length and header checksum, IPv6
 * payload length, UDP length and the transport checksum, and returns the
 * frame length. Each layer writes its own type into the previous layer's
 * EtherType / protocol / next-header field, so a chain cannot disagree with
 * itself; tests that want an inconsistent frame poke bytes after finish,
 * through the offsets recorded in struct frame.
 *
 * Everything is written from the RFC layouts, not from the parser's view of
 * them, so a test built on these frames checks the parser against the wire
 * format rather than against itself.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "lib/parse.h"

#define FRAME_MAX 2048

/* Addresses that appear in test frames; A is the sender unless a test says otherwise. */
#define FRAME_IP4_A ((const __u8[4]){ 10, 0, 0, 1 })
#define FRAME_IP4_B ((const __u8[4]){ 10, 0, 0, 2 })
#define FRAME_IP6_A ((const __u8[16]){ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 })
#define FRAME_IP6_B ((const __u8[16]){ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 })
#define FRAME_MAC_A ((const __u8[6]){ 0x02, 0, 0, 0, 0, 0x0a })
#define FRAME_MAC_B ((const __u8[6]){ 0x02, 0, 0, 0, 0, 0x0b })

struct frame {
	__u8 *buf;
	size_t cap;
	size_t len;
	size_t next_off; /* the field that names the next layer */
	int next_is_ethertype;
	size_t l3_off;
	int ip_ver; /* 0 until an IP header is added */
	size_t l4_off;
	int l4_proto; /* -1 until a transport header is added */
	int frag;     /* the datagram is a fragment: no transport checksum */
};

static inline void frame_init(struct frame *f, void *buf, size_t cap)
{
	memset(f, 0, sizeof(*f));
	f->buf = buf;
	f->cap = cap;
	f->l4_proto = -1;
}

/* Test code, not parser input: running out of room is a bug in the test itself. */
static inline void *frame_put(struct frame *f, size_t n)
{
	if (f->len + n > f->cap) {
		fprintf(stderr, "frames.h: frame of %zu bytes does not fit in %zu\n", f->len + n,
			f->cap);
		abort();
	}
	void *p = f->buf + f->len;
	memset(p, 0, n);
	f->len += n;
	return p;
}

/* Names the layer about to be appended in the previous layer's type field. */
static inline void frame_link(struct frame *f, unsigned int type)
{
	if (f->next_is_ethertype) {
		__u16 v = htons((__u16)type);
		memcpy(f->buf + f->next_off, &v, 2);
	} else if (f->next_off) {
		f->buf[f->next_off] = (__u8)type;
	}
}

static inline void frame_eth(struct frame *f, const __u8 *dst, const __u8 *src)
{
	struct pl_ethhdr *eth = frame_put(f, sizeof(*eth));
	memcpy(eth->dst, dst ? dst : FRAME_MAC_B, 6);
	memcpy(eth->src, src ? src : FRAME_MAC_A, 6);
	f->next_off = (size_t)((__u8 *)&eth->proto - f->buf);
	f->next_is_ethertype = 1;
}

/* tpid is 0x8100 (802.1Q) or 0x88a8 (802.1ad outer tag); it goes in the previous EtherType. */
static inline void frame_vlan(struct frame *f, __u16 tpid, __u16 tci)
{
	frame_link(f, tpid);
	struct pl_vlanhdr *vh = frame_put(f, sizeof(*vh));
	vh->tci = htons(tci);
	f->next_off = (size_t)((__u8 *)&vh->proto - f->buf);
	f->next_is_ethertype = 1;
}

/* For non-IP frames (ARP, LLDP): only the EtherType, the caller appends the body. */
static inline void frame_ethertype(struct frame *f, __u16 type)
{
	frame_link(f, type);
	f->next_off = 0;
	f->next_is_ethertype = 0;
}

/*
 * IPv4 with opt_len bytes of options (a multiple of 4, at most 40). DF is
 * set, as Linux does for TCP; frame_ip4_frag() replaces the flags.
 */
static inline void frame_ip4(struct frame *f, const __u8 *saddr, const __u8 *daddr, size_t opt_len)
{
	if (opt_len % 4 || opt_len > 40) {
		fprintf(stderr, "frames.h: bad IPv4 option length %zu\n", opt_len);
		abort();
	}
	frame_link(f, 0x0800);
	f->l3_off = f->len;
	f->ip_ver = 4;
	struct pl_iphdr *ih = frame_put(f, sizeof(*ih) + opt_len);
	ih->ver_ihl = (__u8)(0x40 | ((sizeof(*ih) + opt_len) / 4));
	ih->id = htons(0x1234);
	ih->frag_off = htons(0x4000);
	ih->ttl = 64;
	memcpy(ih->saddr, saddr, 4);
	memcpy(ih->daddr, daddr, 4);
	/* NOPs then End of Option List: valid options that carry nothing */
	__u8 *opt = (__u8 *)(ih + 1);
	for (size_t i = 0; i < opt_len; i++)
		opt[i] = i + 1 == opt_len ? 0 : 1;
	f->next_off = (size_t)(&ih->protocol - f->buf);
	f->next_is_ethertype = 0;
}

/* offset in bytes (a multiple of 8) of this fragment's data in the datagram; more = MF flag. */
static inline void frame_ip4_frag(struct frame *f, unsigned int offset, int more)
{
	struct pl_iphdr *ih = (void *)(f->buf + f->l3_off);
	ih->frag_off = htons((__u16)((offset / 8) | (more ? 0x2000 : 0)));
	f->frag = offset || more;
}

static inline void frame_ip6(struct frame *f, const __u8 *saddr, const __u8 *daddr)
{
	frame_link(f, 0x86DD);
	f->l3_off = f->len;
	f->ip_ver = 6;
	struct pl_ipv6hdr *ih = frame_put(f, sizeof(*ih));
	ih->ver_tc_flow = htonl(0x60000000);
	ih->hop_limit = 64;
	memcpy(ih->saddr, saddr, 16);
	memcpy(ih->daddr, daddr, 16);
	f->next_off = (size_t)(&ih->nexthdr - f->buf);
	f->next_is_ethertype = 0;
}

/*
 * Hop-by-hop (0), routing (43) or destination options (60) header of
 * (hdrlen + 1) * 8 bytes. Options headers are filled with one PadN option,
 * the routing header has segments left 0 so every node ignores it.
 */
static inline void frame_ip6_ext(struct frame *f, __u8 type, __u8 hdrlen)
{
	frame_link(f, type);
	size_t len = ((size_t)hdrlen + 1) * 8;
	__u8 *eh = frame_put(f, len);
	eh[1] = hdrlen;
	if (type != PL_IPPROTO_ROUTING) {
		eh[2] = 1; /* PadN */
		eh[3] = (__u8)(len - 4);
	}
	f->next_off = (size_t)(eh - f->buf);
	f->next_is_ethertype = 0;
}

/* offset in bytes (a multiple of 8); more = M flag. */
static inline void frame_ip6_frag(struct frame *f, unsigned int offset, int more, __u32 id)
{
	frame_link(f, PL_IPPROTO_FRAGMENT);
	struct pl_ip6_frag *fh = frame_put(f, sizeof(*fh));
	fh->frag_off = htons((__u16)((offset & ~7u) | (more ? 1 : 0)));
	fh->id = htonl(id);
	f->frag = offset || more;
	f->next_off = (size_t)(&fh->nexthdr - f->buf);
	f->next_is_ethertype = 0;
}

/* Names the transport without a header, for non-first fragments and other protocols. */
static inline void frame_ip_proto(struct frame *f, __u8 proto)
{
	frame_link(f, proto);
	f->next_off = 0;
}

/* TCP with opt_len bytes of options (a multiple of 4, at most 40): MSS first, then NOPs. */
static inline void frame_tcp(struct frame *f, __u16 sport, __u16 dport, __u32 seq, __u32 ack,
			     __u8 flags, __u16 window, size_t opt_len)
{
	if (opt_len % 4 || opt_len > 40) {
		fprintf(stderr, "frames.h: bad TCP option length %zu\n", opt_len);
		abort();
	}
	frame_link(f, PL_IPPROTO_TCP);
	f->l4_off = f->len;
	f->l4_proto = PL_IPPROTO_TCP;
	struct pl_tcphdr *th = frame_put(f, sizeof(*th) + opt_len);
	th->source = htons(sport);
	th->dest = htons(dport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff_res = (__u8)(((sizeof(*th) + opt_len) / 4) << 4);
	th->flags = flags;
	th->window = htons(window);
	__u8 *opt = (__u8 *)(th + 1);
	size_t i = 0;
	if (opt_len >= 4) {
		opt[0] = 2; /* MSS 1460 */
		opt[1] = 4;
		opt[2] = 1460 >> 8;
		opt[3] = 1460 & 0xff;
		i = 4;
	}
	for (; i < opt_len; i++)
		opt[i] = 1;
	f->next_off = 0;
}

static inline void frame_udp(struct frame *f, __u16 sport, __u16 dport)
{
	frame_link(f, PL_IPPROTO_UDP);
	f->l4_off = f->len;
	f->l4_proto = PL_IPPROTO_UDP;
	struct pl_udphdr *uh = frame_put(f, sizeof(*uh));
	uh->source = htons(sport);
	uh->dest = htons(dport);
	f->next_off = 0;
}

/* ICMP (on IPv4) or ICMPv6 (on IPv6) message of type/code with the echo id/seq words. */
static inline void frame_icmp(struct frame *f, __u8 type, __u8 code, __u16 id, __u16 seq)
{
	__u8 proto = f->ip_ver == 6 ? PL_IPPROTO_ICMPV6 : PL_IPPROTO_ICMP;
	frame_link(f, proto);
	f->l4_off = f->len;
	f->l4_proto = proto;
	struct pl_icmphdr *ih = frame_put(f, sizeof(*ih));
	ih->type = type;
	ih->code = code;
	ih->id = htons(id);
	ih->seq = htons(seq);
	f->next_off = 0;
}

/* Echo request: type 8 on IPv4, 128 on IPv6. */
static inline void frame_icmp_echo(struct frame *f, __u16 id, __u16 seq)
{
	frame_icmp(f, f->ip_ver == 6 ? 128 : 8, 0, id, seq);
}

/* n bytes of data, or a counting pattern when data is NULL. */
static inline void frame_payload(struct frame *f, const void *data, size_t n)
{
	__u8 *p = frame_put(f, n);
	for (size_t i = 0; i < n; i++)
		p[i] = data ? ((const __u8 *)data)[i] : (__u8)i;
}

static inline __u32 frame_csum_add(__u32 sum, const __u8 *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (__u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (__u32)(p[n - 1] << 8);
	return sum;
}

static inline __u16 frame_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

/* Fills lengths and checksums from what was appended; returns the frame length. */
static inline size_t frame_finish(struct frame *f)
{
	size_t l4_len = f->len - f->l4_off;

	if (f->l4_proto == PL_IPPROTO_UDP) {
		struct pl_udphdr *uh = (void *)(f->buf + f->l4_off);
		uh->len = htons((__u16)l4_len);
	}
	if (f->ip_ver == 4) {
		struct pl_iphdr *ih = (void *)(f->buf + f->l3_off);
		size_t ihl = (ih->ver_ihl & 0x0f) * 4;
		ih->tot_len = htons((__u16)(f->len - f->l3_off));
		ih->check = 0;
		ih->check = frame_csum_fold(frame_csum_add(0, (__u8 *)ih, ihl));
	} else if (f->ip_ver == 6) {
		struct pl_ipv6hdr *ih = (void *)(f->buf + f->l3_off);
		ih->payload_len = htons((__u16)(f->len - f->l3_off - sizeof(*ih)));
	}
	/* A fragment's transport checksum covers the whole datagram, which we never build. */
	if (f->l4_proto < 0 || f->frag)
		return f->len;

	__u8 *l4 = f->buf + f->l4_off;
	size_t check_off;
	if (f->l4_proto == PL_IPPROTO_TCP)
		check_off = offsetof(struct pl_tcphdr, check);
	else if (f->l4_proto == PL_IPPROTO_UDP)
		check_off = offsetof(struct pl_udphdr, check);
	else
		check_off = offsetof(struct pl_icmphdr, check);
	memset(l4 + check_off, 0, 2);

	__u32 sum = 0;
	if (f->ip_ver == 4 && f->l4_proto != PL_IPPROTO_ICMP) {
		struct pl_iphdr *ih = (void *)(f->buf + f->l3_off);
		sum = frame_csum_add(sum, ih->saddr, 8);
		sum += (__u32)f->l4_proto + (__u32)l4_len;
	} else if (f->ip_ver == 6) {
		struct pl_ipv6hdr *ih = (void *)(f->buf + f->l3_off);
		sum = frame_csum_add(sum, ih->saddr, 32);
		sum += (__u32)l4_len + (__u32)f->l4_proto;
	}
	__u16 check = frame_csum_fold(frame_csum_add(sum, l4, l4_len));
	/* RFC 768: a computed 0 is sent as all ones, 0 means "no checksum" */
	if (f->l4_proto == PL_IPPROTO_UDP && check == 0)
		check = 0xffff;
	memcpy(l4 + check_off, &check, 2);
	return f->len;
}

/* Ethernet trailer up to min_len, outside the IP length (as short frames get on the wire). */
static inline size_t frame_pad(struct frame *f, size_t min_len)
{
	if (f->len < min_len)
		frame_put(f, min_len - f->len);
	return f->len;
}

/*
 * One-call builders for the common cases. family is PL_AF_INET or
 * PL_AF_INET6; addresses are 4 or 16 bytes to match. Returns the length.
 */
static inline size_t frame_build_tcp(void *buf, size_t cap, int family, const __u8 *saddr,
				     const __u8 *daddr, __u16 sport, __u16 dport, __u8 flags,
				     size_t payload_len)
{
	struct frame f;
	frame_init(&f, buf, cap);
	frame_eth(&f, NULL, NULL);
	if (family == PL_AF_INET6)
		frame_ip6(&f, saddr, daddr);
	else
		frame_ip4(&f, saddr, daddr, 0);
	frame_tcp(&f, sport, dport, 1000, flags & PL_TCP_ACK ? 2000 : 0, flags, 65535, 0);
	frame_payload(&f, NULL, payload_len);
	return frame_finish(&f);
}

static inline size_t frame_build_udp(void *buf, size_t cap, int family, const __u8 *saddr,
				     const __u8 *daddr, __u16 sport, __u16 dport,
				     size_t payload_len)
{
	struct frame f;
	frame_init(&f, buf, cap);
	frame_eth(&f, NULL, NULL);
	if (family == PL_AF_INET6)
		frame_ip6(&f, saddr, daddr);
	else
		frame_ip4(&f, saddr, daddr, 0);
	frame_udp(&f, sport, dport);
	frame_payload(&f, NULL, payload_len);
	return frame_finish(&f);
}

static inline size_t frame_build_icmp_echo(void *buf, size_t cap, int family, const __u8 *saddr,
					   const __u8 *daddr, __u16 id, __u16 seq,
					   size_t payload_len)
{
	struct frame f;
	frame_init(&f, buf, cap);
	frame_eth(&f, NULL, NULL);
	if (family == PL_AF_INET6)
		frame_ip6(&f, saddr, daddr);
	else
		frame_ip4(&f, saddr, daddr, 0);
	frame_icmp_echo(&f, id, seq);
	frame_payload(&f, NULL, payload_len);
	return frame_finish(&f);
}

/* An ARP request (who-has B tell A): the non-IP frame every network carries. */
static inline size_t frame_build_arp(void *buf, size_t cap)
{
	static const __u8 arp_head[8] = { 0, 1, 0x08, 0, 6, 4, 0, 1 };
	struct frame f;
	frame_init(&f, buf, cap);
	frame_eth(&f, (const __u8[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, NULL);
	frame_ethertype(&f, 0x0806);
	frame_payload(&f, arp_head, sizeof(arp_head));
	frame_payload(&f, FRAME_MAC_A, 6);
	frame_payload(&f, FRAME_IP4_A, 4);
	frame_payload(&f, (const __u8[6]){ 0 }, 6);
	frame_payload(&f, FRAME_IP4_B, 4);
	return frame_finish(&f);
}

#endif
