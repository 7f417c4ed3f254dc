/* Unit tests of bpf/lib/ip6walk.h, the IPv6 extension-header walk of the drop and latency tracepoints. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/types.h>

/*
 * The stand-in for bpf_probe_read_kernel: it serves bytes of the packet under test and
 * records any read that reaches outside [0, g_lim) of it, which the walk must never make
 * (in the kernel such a read returns whatever lies after the packet).
 */
static const unsigned char *g_base;
static size_t g_lim;
static int g_bad_reads, g_reads;

static int test_read(void *dst, size_t len, const void *src)
{
	const unsigned char *p = src;

	g_reads++;
	if (p < g_base || p + len > g_base + g_lim) {
		g_bad_reads++;
		return -14; /* -EFAULT */
	}
	memcpy(dst, p, len);
	return 0;
}

#define PL_IP6WALK_READ(dst, len, src) test_read(dst, len, src)
#include "frames.h"
#include "lib/ip6walk.h"

static void walk(const __u8 *buf, size_t l3_off, size_t lim, struct pl_ip6_l4 *r)
{
	const struct pl_ipv6hdr *ip6 = (const void *)(buf + l3_off);

	g_base = buf;
	g_lim = lim;
	g_bad_reads = g_reads = 0;
	memset(r, 0xa5, sizeof(*r));
	pl_ip6_walk(buf, (__u32)(l3_off + sizeof(*ip6)), (__u32)lim, ip6->nexthdr, r);
	assert_int_equal(g_bad_reads, 0);
}

/* Builds Ethernet + IPv6 + the given extension headers + UDP 40000 -> 53 with 20 bytes. */
struct ext {
	__u8 type, hdrlen;     /* for frag: hdrlen is unused */
	unsigned int frag_off; /* bytes */
	int more;
};

static size_t build(__u8 *buf, const struct ext *e, size_t n, int l4, struct frame *f)
{
	static const __u8 data[20];

	frame_init(f, buf, FRAME_MAX);
	frame_eth(f, NULL, NULL);
	frame_ip6(f, FRAME_IP6_A, FRAME_IP6_B);
	for (size_t i = 0; i < n; i++) {
		if (e[i].type == PL_IPPROTO_FRAGMENT)
			frame_ip6_frag(f, e[i].frag_off, e[i].more, 7);
		else
			frame_ip6_ext(f, e[i].type, e[i].hdrlen);
	}
	if (l4 == PL_IPPROTO_UDP)
		frame_udp(f, 40000, 53);
	else if (l4 == PL_IPPROTO_TCP)
		frame_tcp(f, 40000, 443, 1, 1, PL_TCP_ACK, 1000, 0);
	else
		frame_ip_proto(f, (__u8)l4);
	frame_payload(f, data, sizeof(data));
	return frame_finish(f);
}

/* The walk and the flow parser agree on the transport protocol, its offset and the ports. */
static void assert_like_parser(const __u8 *buf, size_t len, const struct pl_ip6_l4 *r)
{
	struct pl_pkt p;
	__u8 *copy = malloc(len);

	assert_non_null(copy);
	memcpy(copy, buf, len);
	memset(&p, 0, sizeof(p));
	int m = pl_parse(copy, copy + len, &p);
	free(copy);
	if (m != PL_M_NONE)
		return; /* the flow programs count it as malformed: no flow to agree with */
	assert_int_equal(r->proto, p.proto);
	assert_int_equal(r->frag, p.frag);
	assert_int_equal(r->ports, p.has_ports);
	if (p.has_ports)
		assert_int_equal(r->l4_off, p.l4_off);
}

static void check(const struct ext *e, size_t n, int l4, int want_proto, int want_frag,
		  int want_ports, size_t want_l4)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_ip6_l4 r;
	size_t len = build(buf, e, n, l4, &f);

	walk(buf, f.l3_off, len, &r);
	assert_int_equal(r.proto, want_proto);
	assert_int_equal(r.frag, want_frag);
	assert_int_equal(r.ports, want_ports);
	assert_int_equal(r.l4_off, want_l4);
	assert_like_parser(buf, len, &r);
}

#define L3 14
#define L4_AT(n) (L3 + 40 + (n))

static void test_no_ext(void **state)
{
	check(NULL, 0, PL_IPPROTO_UDP, PL_IPPROTO_UDP, 0, 1, L4_AT(0));
	check(NULL, 0, PL_IPPROTO_TCP, PL_IPPROTO_TCP, 0, 1, L4_AT(0));
	check(NULL, 0, PL_IPPROTO_ICMPV6, PL_IPPROTO_ICMPV6, 0, 0, L4_AT(0));
}

static void test_hop_by_hop(void **state)
{
	const struct ext hbh[] = { { PL_IPPROTO_HOPOPTS, 0, 0, 0 } };
	const struct ext hbh_long[] = { { PL_IPPROTO_HOPOPTS, 3, 0, 0 } };

	check(hbh, 1, PL_IPPROTO_UDP, PL_IPPROTO_UDP, 0, 1, L4_AT(8));
	check(hbh_long, 1, PL_IPPROTO_TCP, PL_IPPROTO_TCP, 0, 1, L4_AT(32));
}

static void test_chain(void **state)
{
	const struct ext chain[] = { { PL_IPPROTO_HOPOPTS, 1, 0, 0 },
				     { PL_IPPROTO_DSTOPTS, 0, 0, 0 },
				     { PL_IPPROTO_ROUTING, 2, 0, 0 },
				     { PL_IPPROTO_DSTOPTS, 0, 0, 0 } };

	check(chain, 4, PL_IPPROTO_UDP, PL_IPPROTO_UDP, 0, 1, L4_AT(16 + 8 + 24 + 8));
}

static void test_fragments(void **state)
{
	const struct ext first[] = { { PL_IPPROTO_FRAGMENT, 0, 0, 1 } };
	const struct ext later[] = { { PL_IPPROTO_FRAGMENT, 0, 1448, 1 } };
	const struct ext last[] = { { PL_IPPROTO_FRAGMENT, 0, 2896, 0 } };
	const struct ext atomic[] = { { PL_IPPROTO_FRAGMENT, 0, 0, 0 } };
	const struct ext hbh_later[] = { { PL_IPPROTO_HOPOPTS, 0, 0, 0 },
					 { PL_IPPROTO_FRAGMENT, 0, 8, 1 } };

	/* the first fragment carries the transport header, later ones only their protocol */
	check(first, 1, PL_IPPROTO_UDP, PL_IPPROTO_UDP, 1, 1, L4_AT(8));
	check(later, 1, PL_IPPROTO_UDP, PL_IPPROTO_UDP, 2, 0, L4_AT(8));
	check(last, 1, PL_IPPROTO_TCP, PL_IPPROTO_TCP, 2, 0, L4_AT(8));
	check(atomic, 1, PL_IPPROTO_UDP, PL_IPPROTO_UDP, 0, 1, L4_AT(8));
	check(hbh_later, 2, PL_IPPROTO_UDP, PL_IPPROTO_UDP, 2, 0, L4_AT(16));
}

/* PL_IP6_EXT_MAX headers are followed, one more is where the walk (and the parser) stop. */
static void test_chain_limit(void **state)
{
	struct ext e[PL_IP6_EXT_MAX + 1];

	for (int i = 0; i < PL_IP6_EXT_MAX + 1; i++)
		e[i] = (struct ext){ PL_IPPROTO_DSTOPTS, 0, 0, 0 };
	check(e, PL_IP6_EXT_MAX, PL_IPPROTO_UDP, PL_IPPROTO_UDP, 0, 1, L4_AT(8 * PL_IP6_EXT_MAX));
	check(e, PL_IP6_EXT_MAX + 1, PL_IPPROTO_UDP, PL_IPPROTO_DSTOPTS, 0, 0,
	      L4_AT(8 * PL_IP6_EXT_MAX));
}

/* Cut anywhere: never a read past the limit, never ports that are not all there. */
static void test_truncated(void **state)
{
	const struct ext chain[] = { { PL_IPPROTO_HOPOPTS, 1, 0, 0 },
				     { PL_IPPROTO_FRAGMENT, 0, 0, 1 },
				     { PL_IPPROTO_DSTOPTS, 0, 0, 0 } };
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_ip6_l4 r;
	size_t len = build(buf, chain, 3, PL_IPPROTO_UDP, &f), l4 = L4_AT(16 + 8 + 8);

	for (size_t lim = 0; lim <= len; lim++) {
		walk(buf, f.l3_off, lim, &r);
		/* a header is passed once its first 8 bytes are in: its length is known then */
		if (lim < L4_AT(8)) {
			assert_int_equal(r.proto, PL_IPPROTO_HOPOPTS);
			assert_int_equal(r.ports, 0);
		} else if (lim < L4_AT(24)) {
			assert_int_equal(r.proto, PL_IPPROTO_FRAGMENT);
			assert_int_equal(r.ports, 0);
		} else if (lim < l4) {
			assert_int_equal(r.proto, PL_IPPROTO_DSTOPTS);
			assert_int_equal(r.ports, 0);
		} else {
			assert_int_equal(r.proto, PL_IPPROTO_UDP);
			assert_int_equal(r.l4_off, l4);
			assert_int_equal(r.ports, lim >= l4 + 4);
		}
	}
}

/* A header length that points far beyond the packet ends the walk without reading there. */
static void test_huge_length(void **state)
{
	const struct ext hbh[] = { { PL_IPPROTO_HOPOPTS, 0, 0, 0 } };
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_ip6_l4 r;
	size_t len = build(buf, hbh, 1, PL_IPPROTO_UDP, &f);

	buf[L4_AT(0)] = PL_IPPROTO_DSTOPTS; /* HBH says a dest-opts header follows ... */
	buf[L4_AT(1)] = 255;		    /* ... and is 2 KiB long itself */
	buf[L4_AT(8)] = PL_IPPROTO_DSTOPTS; /* the "UDP" header now reads as another one */
	buf[L4_AT(9)] = 255;
	walk(buf, f.l3_off, len, &r);
	assert_int_equal(r.proto, PL_IPPROTO_DSTOPTS);
	assert_int_equal(r.ports, 0);
}

static uint32_t rng_state = 0x2545f491;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/*
 * Random chains of random bytes: no read outside the packet, and wherever the flow parser
 * accepts the frame, the walk finds the same protocol, fragment kind and ports.
 */
static void test_fuzz(void **state)
{
	static const __u8 nhs[] = { PL_IPPROTO_HOPOPTS,	 PL_IPPROTO_ROUTING, PL_IPPROTO_DSTOPTS,
				    PL_IPPROTO_FRAGMENT, PL_IPPROTO_UDP,     PL_IPPROTO_TCP };
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_ip6_l4 r;
	int agreed = 0;

	for (int it = 0; it < 200000; it++) {
		size_t len = build(buf, NULL, 0, PL_IPPROTO_UDP, &f), body;

		len = 54 + rng() % 200;
		body = len - 54;
		for (size_t i = 54; i < len; i++)
			buf[i] = (__u8)rng();
		/* mostly plausible chains: small lengths, known next headers */
		for (size_t o = 54; o + 2 <= len && rng() % 4; o += 8) {
			buf[o] = nhs[rng() % sizeof(nhs)];
			buf[o + 1] = (__u8)(rng() % 3);
		}
		buf[L3 + 6] = nhs[rng() % sizeof(nhs)];
		buf[L3 + 4] = (__u8)(body >> 8);
		buf[L3 + 5] = (__u8)body;
		walk(buf, L3, len, &r);
		assert_true(r.l4_off <= len + 2048);
		if (r.ports)
			assert_true(r.l4_off + 4 <= len);
		__u8 *copy = malloc(len);
		struct pl_pkt p;
		assert_non_null(copy);
		memcpy(copy, buf, len);
		memset(&p, 0, sizeof(p));
		int m = pl_parse(copy, copy + len, &p);
		free(copy);
		if (m != PL_M_NONE)
			continue;
		agreed++;
		assert_int_equal(r.proto, p.proto);
		assert_int_equal(r.frag, p.frag);
		if (p.has_ports) {
			assert_int_equal(r.ports, 1);
			assert_int_equal(r.l4_off, p.l4_off);
		}
	}
	/* a fuzz loop whose comparisons never ran would prove nothing */
	assert_true(agreed > 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_ext),	    cmocka_unit_test(test_hop_by_hop),
		cmocka_unit_test(test_chain),	    cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_chain_limit), cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_huge_length), cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
