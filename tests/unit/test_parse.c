/* Unit tests of bpf/lib/parse.h: every field, every truncation, malformed headers, fuzz. */

/*
 * Every parse runs on a malloc'ed copy of exactly the frame's length, so a
 * read past data_end is a heap overflow that a sanitizer reports. Verify
 * that once with (the Makefile builds the plain variant):
 *
 *   cc -std=gnu11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined \
 *      -fno-sanitize-recover=all -Iinclude -Isrc -Ibpf -Itests \
 *      tests/unit/test_parse.c -o /tmp/test_parse_asan -lcmocka && /tmp/test_parse_asan
 *
 * or run the normal binary under `valgrind --error-exitcode=1`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/types.h>
#include "frames.h"

/* The Makefile passes -Wno-unused-parameter; the sanitizer command above does not. */
#define UNUSED __attribute__((unused))

static const __u8 zero16[16];

/* Parses a private copy of exactly len bytes so over-reads hit the end of a heap block. */
static int parse_exact(const __u8 *frame, size_t len, struct pl_pkt *p)
{
	__u8 *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, frame, len);
	memset(p, 0, sizeof(*p));
	int ret = pl_parse(copy, copy + len, p);
	free(copy);
	return ret;
}

static void assert_addr4(const __u8 *got16, const __u8 *want4)
{
	assert_memory_equal(got16, want4, 4);
	assert_memory_equal(got16 + 4, zero16, 12);
}

/* The fields that only a TCP header sets. */
static void assert_no_tcp(const struct pl_pkt *p)
{
	assert_int_equal(p->tcp_flags, 0);
	assert_int_equal(p->seq, 0);
	assert_int_equal(p->ack, 0);
	assert_int_equal(p->window, 0);
}

static void assert_no_vlan(const struct pl_pkt *p)
{
	assert_int_equal(p->vlan_depth, 0);
	assert_int_equal(p->vlan[0], 0);
	assert_int_equal(p->vlan[1], 0);
}

static void assert_no_ports(const struct pl_pkt *p)
{
	assert_int_equal(p->has_ports, 0);
	assert_int_equal(p->sport, 0);
	assert_int_equal(p->dport, 0);
	assert_int_equal(p->payload_off, 0);
}

static void test_tcp4(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_tcp(&f, 40000, 80, 0x01020304, 0xa0b0c0d0, PL_TCP_PSH | PL_TCP_ACK, 0x1234, 12);
	frame_payload(&f, NULL, 10);
	size_t len = frame_finish(&f);
	assert_int_equal(len, 14 + 20 + 32 + 10);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET);
	assert_int_equal(p.eth_proto, 0x0800);
	assert_int_equal(p.proto, 6);
	assert_addr4(p.saddr, FRAME_IP4_A);
	assert_addr4(p.daddr, FRAME_IP4_B);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.has_ports, 1);
	assert_int_equal(p.seq, 0x01020304);
	assert_int_equal(p.ack, 0xa0b0c0d0);
	assert_int_equal(p.window, 0x1234);
	assert_int_equal(p.tcp_flags, PL_TCP_PSH | PL_TCP_ACK);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.payload_off, 34 + 32);
	assert_int_equal(p.ip_len, 20 + 32 + 10);
	assert_int_equal(p.payload_len, 10);
	/* DF is set on this frame: it is not a fragment */
	assert_int_equal(p.frag, 0);
	assert_no_vlan(&p);
	assert_int_equal(p.icmp_type, 0);
	assert_int_equal(p.icmp_code, 0);
}

/* Maximum IPv4 options and TCP options: both offsets come from the header lengths. */
static void test_tcp4_options(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 40);
	frame_tcp(&f, 443, 51000, 7, 0, PL_TCP_SYN | PL_TCP_ECE | PL_TCP_CWR, 64240, 40);
	size_t len = frame_finish(&f);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET);
	assert_addr4(p.saddr, FRAME_IP4_B);
	assert_addr4(p.daddr, FRAME_IP4_A);
	assert_int_equal(p.l4_off, 14 + 60);
	assert_int_equal(p.payload_off, 14 + 60 + 60);
	assert_int_equal(p.payload_off, len);
	assert_int_equal(p.sport, 443);
	assert_int_equal(p.dport, 51000);
	assert_int_equal(p.tcp_flags, PL_TCP_SYN | PL_TCP_ECE | PL_TCP_CWR);
	assert_int_equal(p.seq, 7);
	assert_int_equal(p.ack, 0);
	assert_int_equal(p.window, 64240);
	assert_int_equal(p.ip_len, 120);
}

static void test_udp4(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len =
	    frame_build_udp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 5353, 53, 33);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET);
	assert_int_equal(p.proto, 17);
	assert_addr4(p.saddr, FRAME_IP4_A);
	assert_addr4(p.daddr, FRAME_IP4_B);
	assert_int_equal(p.sport, 5353);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.has_ports, 1);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.payload_off, 42);
	assert_int_equal(p.ip_len, 20 + 8 + 33);
	assert_int_equal(p.payload_len, 33);
	assert_int_equal(p.frag, 0);
	assert_no_tcp(&p);
	assert_no_vlan(&p);
}

static void test_icmp4_echo(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len = frame_build_icmp_echo(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
					   0xbeef, 3, 56);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET);
	assert_int_equal(p.proto, 1);
	assert_int_equal(p.icmp_type, 8);
	assert_int_equal(p.icmp_code, 0);
	/* the echo id stands in for both ports so request and reply share a flow */
	assert_int_equal(p.sport, 0xbeef);
	assert_int_equal(p.dport, 0xbeef);
	assert_int_equal(p.has_ports, 0);
	assert_int_equal(p.payload_off, 0);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.ip_len, 20 + 8 + 56);
	assert_no_tcp(&p);

	/* echo reply */
	struct frame f;
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
	frame_icmp(&f, 0, 0, 0xbeef, 3);
	len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.icmp_type, 0);
	assert_int_equal(p.sport, 0xbeef);
	assert_int_equal(p.dport, 0xbeef);
}

/* Only echo messages carry an id; others must not invent ports from their rest-of-header. */
static void test_icmp4_not_echo(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
	frame_icmp(&f, 3, 3, 0x1111, 0x2222); /* port unreachable */
	size_t len = frame_finish(&f);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.icmp_type, 3);
	assert_int_equal(p.icmp_code, 3);
	assert_int_equal(p.proto, 1);
	assert_no_ports(&p);
	assert_int_equal(p.l4_off, 34);

	/* an echo cut after the checksum word is legal but has no id to report */
	len =
	    frame_build_icmp_echo(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 9, 1, 0);
	for (size_t l = 34 + 4; l < len; l++) {
		assert_int_equal(parse_exact(buf, l, &p), PL_M_NONE);
		assert_int_equal(p.icmp_type, 8);
		assert_no_ports(&p);
	}
}

static void test_tcp6(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_B, FRAME_IP6_A);
	frame_tcp(&f, 22, 60000, 0xfffffffe, 1, PL_TCP_FIN | PL_TCP_ACK, 501, 12);
	frame_payload(&f, NULL, 100);
	size_t len = frame_finish(&f);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET6);
	assert_int_equal(p.eth_proto, 0x86DD);
	assert_int_equal(p.proto, 6);
	assert_memory_equal(p.saddr, FRAME_IP6_B, 16);
	assert_memory_equal(p.daddr, FRAME_IP6_A, 16);
	assert_int_equal(p.sport, 22);
	assert_int_equal(p.dport, 60000);
	assert_int_equal(p.seq, 0xfffffffe);
	assert_int_equal(p.ack, 1);
	assert_int_equal(p.window, 501);
	assert_int_equal(p.tcp_flags, PL_TCP_FIN | PL_TCP_ACK);
	assert_int_equal(p.has_ports, 1);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l4_off, 54);
	assert_int_equal(p.payload_off, 54 + 32);
	assert_int_equal(p.ip_len, 40 + 32 + 100);
	assert_int_equal(p.frag, 0);
	assert_no_vlan(&p);
}

static void test_udp6(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len =
	    frame_build_udp(buf, sizeof(buf), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 546, 547, 0);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET6);
	assert_int_equal(p.proto, 17);
	assert_memory_equal(p.saddr, FRAME_IP6_A, 16);
	assert_memory_equal(p.daddr, FRAME_IP6_B, 16);
	assert_int_equal(p.sport, 546);
	assert_int_equal(p.dport, 547);
	assert_int_equal(p.l4_off, 54);
	assert_int_equal(p.payload_off, 62);
	assert_int_equal(p.payload_off, len);
	assert_int_equal(p.ip_len, 48);
	assert_no_tcp(&p);
}

static void test_icmp6_echo(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;
	size_t len = frame_build_icmp_echo(buf, sizeof(buf), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B,
					   4242, 1, 16);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET6);
	assert_int_equal(p.proto, 58);
	assert_int_equal(p.icmp_type, 128);
	assert_int_equal(p.icmp_code, 0);
	assert_int_equal(p.sport, 4242);
	assert_int_equal(p.dport, 4242);
	assert_int_equal(p.has_ports, 0);
	assert_int_equal(p.payload_off, 0);
	assert_int_equal(p.l4_off, 54);
	assert_int_equal(p.ip_len, 40 + 8 + 16);

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_B, FRAME_IP6_A);
	frame_icmp(&f, 129, 0, 4242, 1);
	len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.icmp_type, 129);
	assert_int_equal(p.sport, 4242);

	/* type 1 (destination unreachable) has no id; neither does IPv4's echo type 8 here */
	for (int t = 0; t < 2; t++) {
		frame_init(&f, buf, sizeof(buf));
		frame_eth(&f, NULL, NULL);
		frame_ip6(&f, FRAME_IP6_B, FRAME_IP6_A);
		frame_icmp(&f, t ? 8 : 1, 4, 4242, 1);
		len = frame_finish(&f);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
		assert_int_equal(p.icmp_type, t ? 8 : 1);
		assert_int_equal(p.icmp_code, 4);
		assert_no_ports(&p);
	}
}

static void test_ip6_ext_headers(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0); /* 8 */
	frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 1); /* 16 */
	frame_ip6_ext(&f, PL_IPPROTO_ROUTING, 2); /* 24 */
	frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 0); /* 8 */
	frame_tcp(&f, 1234, 80, 5, 6, PL_TCP_SYN, 1000, 0);
	frame_payload(&f, NULL, 3);
	size_t len = frame_finish(&f);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET6);
	assert_int_equal(p.proto, 6);
	assert_memory_equal(p.saddr, FRAME_IP6_A, 16);
	assert_memory_equal(p.daddr, FRAME_IP6_B, 16);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l4_off, 54 + 8 + 16 + 24 + 8);
	assert_int_equal(p.payload_off, 54 + 56 + 20);
	assert_int_equal(p.sport, 1234);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.tcp_flags, PL_TCP_SYN);
	assert_int_equal(p.ip_len, 40 + 56 + 20 + 3);
	assert_int_equal(p.frag, 0);
}

/* Builds IPv6 + n destination-options headers (first one hop-by-hop) + UDP. */
static size_t build_ip6_chain(__u8 *buf, size_t cap, int n)
{
	struct frame f;
	frame_init(&f, buf, cap);
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	for (int i = 0; i < n; i++)
		frame_ip6_ext(&f, i ? PL_IPPROTO_DSTOPTS : PL_IPPROTO_HOPOPTS, 0);
	frame_udp(&f, 1000, 2000);
	return frame_finish(&f);
}

static void test_ip6_ext_max(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;

	size_t len = build_ip6_chain(buf, sizeof(buf), PL_IP6_EXT_MAX);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.l4_off, 54 + 8 * PL_IP6_EXT_MAX);
	assert_int_equal(p.sport, 1000);
	assert_int_equal(p.dport, 2000);

	for (int n = PL_IP6_EXT_MAX + 1; n <= PL_IP6_EXT_MAX + 3; n++) {
		len = build_ip6_chain(buf, sizeof(buf), n);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_IP6_EXT);
		assert_int_equal(p.family, PL_AF_INET6);
		assert_int_equal(p.has_ports, 0);
	}

	/* a fragment header counts as one link of the chain too */
	struct frame f;
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	for (int i = 0; i < PL_IP6_EXT_MAX; i++)
		frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 0);
	frame_ip6_frag(&f, 0, 1, 77);
	frame_udp(&f, 1000, 2000);
	len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_IP6_EXT);
	assert_int_equal(p.has_ports, 0);
}

static void test_ip6_ext_len_beyond(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len = build_ip6_chain(buf, sizeof(buf), 1);

	/* hop-by-hop claims 2048 bytes in a 70-byte frame */
	buf[54 + 1] = 255;
	assert_int_equal(parse_exact(buf, len, &p), PL_M_IP6_EXT);
	assert_int_equal(p.family, PL_AF_INET6);
	/* 24 bytes where 16 remain */
	buf[54 + 1] = 2;
	assert_int_equal(parse_exact(buf, len, &p), PL_M_IP6_EXT);
	/* 16 bytes: the header swallows the UDP header and ends exactly at the frame end */
	buf[54 + 1] = 1;
	assert_int_equal(parse_exact(buf, len, &p), PL_M_UDP_TRUNC);
	assert_int_equal(p.l4_off, 70);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.has_ports, 0);
}

static void test_ip6_frag_first(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0);
	frame_ip6_frag(&f, 0, 1, 0xabcdef);
	frame_udp(&f, 4000, 4001);
	frame_payload(&f, NULL, 1000);
	size_t len = frame_finish(&f);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.frag, 1);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.has_ports, 1);
	assert_int_equal(p.sport, 4000);
	assert_int_equal(p.dport, 4001);
	assert_int_equal(p.l4_off, 54 + 8 + 8);
	assert_int_equal(p.payload_off, 54 + 8 + 8 + 8);
	assert_int_equal(p.ip_len, 40 + 16 + 8 + 1000);
}

static void test_ip6_frag_later(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	/* more = 1 (middle) and more = 0 (last) */
	for (int more = 0; more < 2; more++) {
		frame_init(&f, buf, sizeof(buf));
		frame_eth(&f, NULL, NULL);
		frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
		frame_ip6_ext(&f, PL_IPPROTO_ROUTING, 0);
		frame_ip6_frag(&f, 1448, more, 0xabcdef);
		frame_ip_proto(&f, PL_IPPROTO_TCP);
		/* data that would parse as a TCP header if the parser looked */
		frame_payload(&f, NULL, 40);
		size_t len = frame_finish(&f);

		assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
		assert_int_equal(p.family, PL_AF_INET6);
		assert_int_equal(p.frag, 2);
		assert_int_equal(p.proto, PL_IPPROTO_TCP);
		assert_memory_equal(p.saddr, FRAME_IP6_A, 16);
		assert_memory_equal(p.daddr, FRAME_IP6_B, 16);
		assert_no_ports(&p);
		assert_no_tcp(&p);
		assert_int_equal(p.ip_len, 40 + 8 + 8 + 40);
	}
}

static void test_ip4_frag(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	/* first fragment: MF, offset 0 */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 4);
	frame_ip4_frag(&f, 0, 1);
	frame_udp(&f, 7000, 7001);
	frame_payload(&f, NULL, 200);
	size_t len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.frag, 1);
	assert_int_equal(p.has_ports, 1);
	assert_int_equal(p.sport, 7000);
	assert_int_equal(p.dport, 7001);
	assert_int_equal(p.l4_off, 38);
	assert_int_equal(p.payload_off, 46);

	/* middle (MF) and last (no MF) fragments, offsets down to the smallest one */
	unsigned int offsets[] = { 8, 1480, 32768, 65528 };
	for (int more = 0; more < 2; more++) {
		for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
			frame_init(&f, buf, sizeof(buf));
			frame_eth(&f, NULL, NULL);
			frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
			frame_ip4_frag(&f, offsets[i], more);
			frame_ip_proto(&f, PL_IPPROTO_TCP);
			frame_payload(&f, NULL, 40);
			len = frame_finish(&f);
			assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
			assert_int_equal(p.family, PL_AF_INET);
			assert_int_equal(p.frag, 2);
			assert_int_equal(p.proto, PL_IPPROTO_TCP);
			assert_addr4(p.saddr, FRAME_IP4_A);
			assert_addr4(p.daddr, FRAME_IP4_B);
			assert_no_ports(&p);
			assert_no_tcp(&p);
			assert_int_equal(p.l4_off, 0);
			assert_int_equal(p.ip_len, 60);
		}
	}

	/* DF alone, and no flags at all, are not fragments */
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2,
			      PL_TCP_SYN, 0);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.frag, 0);
	((struct pl_iphdr *)(buf + 14))->frag_off = 0;
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.frag, 0);
	assert_int_equal(p.has_ports, 1);
}

static void test_vlan_8021q(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x8100, 0x2064); /* PCP 1, VID 100 */
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_tcp(&f, 1111, 2222, 1, 2, PL_TCP_ACK, 3, 0);
	size_t len = frame_finish(&f);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.vlan_depth, 1);
	assert_int_equal(p.vlan[0], 0x2064);
	assert_int_equal(p.vlan[1], 0);
	assert_int_equal(p.eth_proto, 0x0800);
	assert_int_equal(p.family, PL_AF_INET);
	assert_int_equal(p.l3_off, 18);
	assert_int_equal(p.l4_off, 38);
	assert_int_equal(p.payload_off, 58);
	assert_int_equal(p.sport, 1111);
	assert_int_equal(p.dport, 2222);
	assert_int_equal(p.tcp_flags, PL_TCP_ACK);
}

static void test_vlan_qinq(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x88A8, 0x0ffe);
	frame_vlan(&f, 0x8100, 0xe001);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_udp(&f, 53, 33333);
	frame_payload(&f, NULL, 5);
	size_t len = frame_finish(&f);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.vlan_depth, 2);
	assert_int_equal(p.vlan[0], 0x0ffe);
	assert_int_equal(p.vlan[1], 0xe001);
	assert_int_equal(p.eth_proto, 0x86DD);
	assert_int_equal(p.family, PL_AF_INET6);
	assert_int_equal(p.l3_off, 22);
	assert_int_equal(p.l4_off, 62);
	assert_int_equal(p.payload_off, 70);
	assert_int_equal(p.sport, 53);
	assert_int_equal(p.dport, 33333);

	/* two 802.1Q tags (old-style QinQ) are followed the same way */
	buf[12] = 0x81;
	buf[13] = 0x00;
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.vlan_depth, 2);
	assert_int_equal(p.family, PL_AF_INET6);
	assert_int_equal(p.sport, 53);
}

/* The parser follows two tags; a third leaves a VLAN EtherType, which is not IP. */
static void test_vlan_three_tags(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x88A8, 1);
	frame_vlan(&f, 0x8100, 2);
	frame_vlan(&f, 0x8100, 3);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_udp(&f, 1, 2);
	size_t len = frame_finish(&f);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.vlan_depth, 2);
	assert_int_equal(p.vlan[0], 1);
	assert_int_equal(p.vlan[1], 2);
	assert_int_equal(p.eth_proto, 0x8100);
	assert_int_equal(p.family, 0);
	assert_int_equal(p.l3_off, 22);
	assert_no_ports(&p);
}

static void test_arp(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len = frame_build_arp(buf, sizeof(buf));
	assert_int_equal(len, 42);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, 0);
	assert_int_equal(p.eth_proto, 0x0806);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.proto, 0);
	assert_int_equal(p.ip_len, 0);
	assert_int_equal(p.l4_off, 0);
	assert_memory_equal(p.saddr, zero16, 16);
	assert_memory_equal(p.daddr, zero16, 16);
	assert_no_ports(&p);
	assert_no_vlan(&p);

	/* a bare Ethernet header with no body is still a valid non-IP frame */
	assert_int_equal(parse_exact(buf, 14, &p), PL_M_NONE);
	assert_int_equal(p.family, 0);
}

/* Short frames are padded to 60 bytes on the wire; the padding is not part of the IP packet. */
static void test_ethernet_trailer(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_udp(&f, 67, 68);
	frame_payload(&f, NULL, 2);
	frame_finish(&f);
	size_t len = frame_pad(&f, 60);
	assert_int_equal(len, 60);

	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.ip_len, 30);
	assert_int_equal(p.sport, 67);
	assert_int_equal(p.dport, 68);
	assert_int_equal(p.payload_off, 42);
}

/* IP carrying a transport the parser does not know: addresses yes, ports no. */
static void test_other_transport(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_ip_proto(&f, 47); /* GRE */
	frame_payload(&f, NULL, 24);
	size_t len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET);
	assert_int_equal(p.proto, 47);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.frag, 0);
	assert_no_ports(&p);

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 0);
	frame_ip_proto(&f, 59); /* No Next Header */
	len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.family, PL_AF_INET6);
	assert_int_equal(p.proto, 59);
	assert_int_equal(p.l4_off, 62);
	assert_no_ports(&p);
}

static void test_zero_length(void **state UNUSED)
{
	struct pl_pkt p;
	__u8 b = 0;

	assert_int_equal(parse_exact(&b, 0, &p), PL_M_ETH_TRUNC);
	assert_int_equal(p.family, 0);
}

static size_t build_tcp4_frame(__u8 *buf, size_t cap)
{
	struct frame f;
	frame_init(&f, buf, cap);
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_tcp(&f, 40000, 80, 1, 0, PL_TCP_SYN, 1000, 0);
	return frame_finish(&f);
}

static void test_ip4_bad_ihl(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len = build_tcp4_frame(buf, sizeof(buf));
	struct pl_iphdr *ih = (void *)(buf + 14);

	for (int ihl = 0; ihl < 5; ihl++) {
		ih->ver_ihl = (__u8)(0x40 | ihl);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_IP4_IHL);
		assert_int_equal(p.family, 0);
	}
	/* 40 bytes follow Ethernet: IHL 10 fits exactly, leaving no room for TCP; 11 does not fit */
	ih->ver_ihl = 0x4a;
	ih->tot_len = htons(40);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_TCP_TRUNC);
	assert_int_equal(p.family, PL_AF_INET);
	assert_int_equal(p.l4_off, len);
	assert_int_equal(p.has_ports, 0);
	for (int ihl = 11; ihl < 16; ihl++) {
		ih->ver_ihl = (__u8)(0x40 | ihl);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_IP4_IHL);
	}
}

static void test_ip4_bad_version(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len = build_tcp4_frame(buf, sizeof(buf));
	struct pl_iphdr *ih = (void *)(buf + 14);

	for (int v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		ih->ver_ihl = (__u8)(v << 4 | 5);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_IP4_IHL);
		assert_int_equal(p.family, 0);
		assert_int_equal(p.has_ports, 0);
	}
}

static void test_ip4_bad_tot_len(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 8);
	frame_udp(&f, 1, 2);
	size_t len = frame_finish(&f);
	struct pl_iphdr *ih = (void *)(buf + 14);

	/* Below the header length (28: 8 bytes of options) the IP header is inconsistent. */
	for (int tot = 1; tot < 28; tot++) {
		ih->tot_len = htons((__u16)tot);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_IP4_LEN);
		assert_int_equal(p.family, 0);
		assert_int_equal(p.has_ports, 0);
	}
	/* A UDP header that lies beyond the IP packet (in padding) is truncated, not read. */
	for (int tot = 28; tot < 36; tot++) {
		ih->tot_len = htons((__u16)tot);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_UDP_TRUNC);
		assert_int_equal(p.family, PL_AF_INET);
		assert_int_equal(p.has_ports, 0);
	}
	/* 0 is not "no limit": only a BIG TCP aggregate may say that (test_big_tcp) */
	ih->tot_len = 0;
	assert_int_equal(parse_exact(buf, len, &p), PL_M_IP4_LEN);
	assert_int_equal(p.family, 0);
	assert_int_equal(p.has_ports, 0);
}

/* Parses a private copy like parse_exact, as tc would for a GSO skb of gso_len bytes. */
static int parse_gso(const __u8 *frame, size_t len, __u32 gso_len, struct pl_pkt *p)
{
	__u8 *copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, frame, len);
	memset(p, 0, sizeof(*p));
	int ret = pl_parse_gso(copy, copy + len, gso_len, p);
	free(copy);
	return ret;
}

/*
 * An IP length of 0 is BIG TCP only in a GSO skb longer than 64 KiB of IP
 * carrying TCP (the frame here is the linear head of such an skb); anything
 * else with 0 is malformed, so that a crafted packet cannot switch the
 * length checks off.
 */
static void test_big_tcp(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000,
				     80, PL_TCP_ACK, 100);
	struct pl_iphdr *ih = (void *)(buf + 14);
	ih->tot_len = 0;

	/* XDP and non-GSO skbs: gso_len 0 */
	assert_int_equal(parse_gso(buf, len, 0, &p), PL_M_IP4_LEN);
	/* a GSO skb whose IP part fits the 16-bit field would have carried its length */
	assert_int_equal(parse_gso(buf, len, 14 + 0xffff, &p), PL_M_IP4_LEN);
	assert_int_equal(p.has_ports, 0);
	/* 14 + 65536: the smallest length that needs BIG TCP */
	assert_int_equal(parse_gso(buf, len, 14 + 0x10000, &p), PL_M_NONE);
	assert_int_equal(p.ip_len, 0x10000);
	assert_int_equal(p.payload_len, 0x10000 - 40);
	assert_int_equal(p.has_ports, 1);
	assert_int_equal(p.dport, 80);
	assert_int_equal(parse_gso(buf, len, 14 + 185000, &p), PL_M_NONE);
	assert_int_equal(p.ip_len, 185000);
	/* a real length is taken as it is, whatever the skb */
	ih->tot_len = htons((__u16)(len - 14));
	assert_int_equal(parse_gso(buf, len, 14 + 185000, &p), PL_M_NONE);
	assert_int_equal(p.ip_len, len - 14);
	assert_int_equal(p.payload_len, 100);

	/* UDP is never BIG TCP */
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2, 10);
	ih->tot_len = 0;
	assert_int_equal(parse_gso(buf, len, 14 + 185000, &p), PL_M_IP4_LEN);

	/* IPv6: payload length 0 */
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 40000, 443,
			      PL_TCP_ACK, 100);
	struct pl_ipv6hdr *i6 = (void *)(buf + 14);
	i6->payload_len = 0;
	assert_int_equal(parse_gso(buf, len, 0, &p), PL_M_TCP_TRUNC);
	assert_int_equal(p.has_ports, 0);
	assert_int_equal(parse_gso(buf, len, 14 + 40 + 0xffff, &p), PL_M_TCP_TRUNC);
	assert_int_equal(parse_gso(buf, len, 14 + 40 + 0x10000, &p), PL_M_NONE);
	assert_int_equal(p.ip_len, 40 + 0x10000);
	assert_int_equal(p.payload_len, 0x10000 - 20);
	assert_int_equal(p.sport, 40000);
	/* a hop-by-hop (jumbo) header before TCP, as kernels before 6.6 built them */
	struct frame f;
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0);
	frame_tcp(&f, 40000, 443, 1, 2, PL_TCP_ACK, 100, 0);
	frame_payload(&f, NULL, 50);
	len = frame_finish(&f);
	i6->payload_len = 0;
	assert_int_equal(parse_gso(buf, len, 0, &p), PL_M_IP6_EXT);
	assert_int_equal(parse_gso(buf, len, 14 + 40 + 200000, &p), PL_M_NONE);
	assert_int_equal(p.proto, 6);
	assert_int_equal(p.payload_len, 200000 - 8 - 20);
	/* UDP behind a payload length of 0 is cut short whatever the skb */
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 1, 2, 10);
	i6->payload_len = 0;
	assert_int_equal(parse_gso(buf, len, 14 + 40 + 200000, &p), PL_M_UDP_TRUNC);
	/* no next header (59) with no payload is a whole, empty packet */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip_proto(&f, 59);
	len = frame_finish(&f);
	assert_int_equal(i6->payload_len, 0);
	assert_int_equal(parse_gso(buf, len, 0, &p), PL_M_NONE);
	assert_int_equal(p.proto, 59);
	assert_int_equal(p.ip_len, 40);
}

/*
 * The UDP length: below 8 or beyond the IP packet is malformed; shorter than
 * the IP payload is legal (the kernel trims the rest) and bounds the payload,
 * so that DNS is never parsed from bytes after the datagram.
 */
static void test_udp_len(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	for (int fam = 0; fam < 2; fam++) {
		int af = fam ? PL_AF_INET6 : PL_AF_INET;
		size_t l4 = 14 + (fam ? 40 : 20);
		size_t len = frame_build_udp(buf, sizeof(buf), af, fam ? FRAME_IP6_A : FRAME_IP4_A,
					     fam ? FRAME_IP6_B : FRAME_IP4_B, 1000, 53, 100);
		struct pl_udphdr *uh = (void *)(buf + l4);
		assert_int_equal(ntohs(uh->len), 108);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
		assert_int_equal(p.payload_len, 100);
		for (int ulen = 0; ulen < 8; ulen++) {
			uh->len = htons((__u16)ulen);
			assert_int_equal(parse_exact(buf, len, &p), PL_M_UDP_LEN);
			assert_int_equal(p.has_ports, 0);
			assert_int_equal(p.payload_off, 0);
		}
		uh->len = htons(109);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_UDP_LEN);
		uh->len = htons(0xffff);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_UDP_LEN);
		/* 12 bytes of DNS header in a datagram followed by 88 other bytes */
		uh->len = htons(8 + 12);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
		assert_int_equal(p.has_ports, 1);
		assert_int_equal(p.payload_off, l4 + 8);
		assert_int_equal(p.payload_len, 12);
		uh->len = htons(8);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
		assert_int_equal(p.payload_len, 0);
	}
}

/*
 * A first fragment's UDP length is the whole datagram's (the stack writes it
 * before fragmenting): longer than the fragment, and still consistent. The
 * payload is what the fragment holds.
 */
static void test_udp_len_first_fragment(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;
	for (int v6 = 0; v6 < 2; v6++) {
		frame_init(&f, buf, sizeof(buf));
		frame_eth(&f, NULL, NULL);
		if (v6) {
			frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
			frame_ip6_frag(&f, 0, 1, 42);
		} else {
			frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
			frame_ip4_frag(&f, 0, 1);
		}
		frame_udp(&f, 5000, 53);
		frame_payload(&f, NULL, 1000);
		size_t len = frame_finish(&f);
		size_t l4 = v6 ? 14 + 40 + 8 : 14 + 20;
		struct pl_udphdr *uh = (void *)(buf + l4);
		uh->len = htons(8 + 1000 + 3000); /* the datagram: 4000 bytes of payload */
		assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
		assert_int_equal(p.frag, 1);
		assert_int_equal(p.has_ports, 1);
		assert_int_equal(p.dport, 53);
		assert_int_equal(p.payload_len, 1000);
		uh->len = htons(7);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_UDP_LEN);
		/* unfragmented, the same length lies beyond the packet */
		if (v6) {
			buf[14 + 40 + 2] = buf[14 + 40 + 3] = 0; /* offset 0, no M: atomic */
		} else {
			buf[14 + 6] = 0x40;
			buf[14 + 7] = 0;
		}
		uh->len = htons(8 + 1000 + 3000);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_UDP_LEN);
	}
}

/*
 * Extension headers must lie inside the payload the IPv6 header declares,
 * not only inside the frame (Ethernet padding or a lying frame after it).
 */
static void test_ip6_ext_payload_len(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	struct frame f;
	struct pl_ipv6hdr *ih = (void *)(buf + 14);

	/* hop-by-hop (8) then no next header, padded: declared payload 4, 0 and 7 */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0);
	frame_ip_proto(&f, 59);
	frame_payload(&f, NULL, 16);
	size_t len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.proto, 59);
	ih->payload_len = htons(8);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	for (int pl = 0; pl < 8; pl++) {
		ih->payload_len = htons((__u16)pl);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_IP6_EXT);
		assert_int_equal(p.proto, 0);
	}

	/* a routing header of 24 bytes in a payload of 16, UDP after it in the frame */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_ROUTING, 2);
	frame_udp(&f, 7, 8);
	len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.dport, 8);
	ih->payload_len = htons(16);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_IP6_EXT);
	assert_int_equal(p.has_ports, 0);

	/* a fragment header (8) beyond a payload of 4: not a later fragment, malformed */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_frag(&f, 1448, 1, 5);
	frame_ip_proto(&f, PL_IPPROTO_UDP);
	frame_payload(&f, NULL, 32);
	len = frame_finish(&f);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.frag, 2);
	ih->payload_len = htons(4);
	assert_int_equal(parse_exact(buf, len, &p), PL_M_IP6_EXT);
	assert_int_equal(p.frag, 0);
}

static void test_ip6_bad_version(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_udp(&f, 1, 2);
	size_t len = frame_finish(&f);
	buf[14] = (buf[14] & 0x0f) | 0x40; /* version 4 behind an IPv6 EtherType */
	assert_int_equal(parse_exact(buf, len, &p), PL_M_IP6_VER);
	assert_int_equal(p.family, 0);
}

static void test_tcp_bad_doff(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct pl_pkt p;
	size_t len = build_tcp4_frame(buf, sizeof(buf));
	struct pl_tcphdr *th = (void *)(buf + 34);

	for (int doff = 0; doff < 5; doff++) {
		th->doff_res = (__u8)(doff << 4);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_TCP_DOFF);
		/* the IP layer was fine and stays reported */
		assert_int_equal(p.family, PL_AF_INET);
		assert_addr4(p.daddr, FRAME_IP4_B);
		assert_int_equal(p.l4_off, 34);
		assert_no_ports(&p);
	}
	for (int doff = 6; doff < 16; doff++) {
		th->doff_res = (__u8)(doff << 4);
		assert_int_equal(parse_exact(buf, len, &p), PL_M_TCP_DOFF);
	}
	/* the reserved low nibble is not part of the offset */
	th->doff_res = 0x5f;
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
	assert_int_equal(p.payload_off, 54);
}

/*
 * Truncation: a frame cut at every length must fail at the layer that was
 * cut. segs[i] = { first length that is no longer this kind, kind }.
 */
struct trunc_seg {
	size_t upto;
	int kind;
};

static void check_truncations(const __u8 *buf, size_t len, const struct trunc_seg *segs,
			      size_t nsegs, int family, const __u8 *saddr)
{
	struct pl_pkt p;
	size_t s = 0;

	for (size_t l = 0; l < len; l++) {
		while (s < nsegs && l >= segs[s].upto)
			s++;
		int want = s < nsegs ? segs[s].kind : PL_M_NONE;
		int got = parse_exact(buf, l, &p);
		if (got != want)
			fail_msg("length %zu of %zu: malformed kind %d, want %d", l, len, got,
				 want);
		if (got != PL_M_NONE)
			assert_int_equal(p.has_ports, 0);
		/* once the IP header was read, its fields stay valid whatever comes after */
		if (got >= PL_M_TCP_TRUNC || (got == PL_M_IP6_EXT && family == PL_AF_INET6)) {
			assert_int_equal(p.family, family);
			assert_memory_equal(p.saddr, saddr, family == PL_AF_INET ? 4 : 16);
		}
	}
	assert_int_equal(parse_exact(buf, len, &p), PL_M_NONE);
}

static void test_truncate_tcp4(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 8);
	frame_tcp(&f, 40000, 80, 1, 2, PL_TCP_ACK, 3, 12);
	size_t len = frame_finish(&f);
	const struct trunc_seg segs[] = {
		{ 14, PL_M_ETH_TRUNC },	     { 34, PL_M_IP4_TRUNC },	 { 42, PL_M_IP4_IHL },
		{ 42 + 20, PL_M_TCP_TRUNC }, { 42 + 32, PL_M_TCP_DOFF },
	};
	assert_int_equal(len, 74);
	check_truncations(buf, len, segs, 5, PL_AF_INET, FRAME_IP4_A);
}

static void test_truncate_tcp6_ext(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0);
	frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 1);
	frame_ip6_ext(&f, PL_IPPROTO_ROUTING, 2);
	frame_ip6_frag(&f, 0, 1, 1);
	frame_tcp(&f, 40000, 80, 1, 2, PL_TCP_ACK, 3, 20);
	size_t len = frame_finish(&f);
	size_t l4 = 54 + 8 + 16 + 24 + 8;
	const struct trunc_seg segs[] = {
		{ 14, PL_M_ETH_TRUNC },	     { 54, PL_M_IP6_TRUNC },	 { l4, PL_M_IP6_EXT },
		{ l4 + 20, PL_M_TCP_TRUNC }, { l4 + 40, PL_M_TCP_DOFF },
	};
	assert_int_equal(len, l4 + 40);
	check_truncations(buf, len, segs, 5, PL_AF_INET6, FRAME_IP6_A);
}

static void test_truncate_udp4_qinq(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x88A8, 10);
	frame_vlan(&f, 0x8100, 20);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_udp(&f, 1, 2);
	size_t len = frame_finish(&f);
	const struct trunc_seg segs[] = {
		{ 14, PL_M_ETH_TRUNC },
		{ 22, PL_M_VLAN_TRUNC },
		{ 42, PL_M_IP4_TRUNC },
		{ 50, PL_M_UDP_TRUNC },
	};
	assert_int_equal(len, 50);
	check_truncations(buf, len, segs, 4, PL_AF_INET, FRAME_IP4_A);
}

static void test_truncate_icmp6_vlan(void **state UNUSED)
{
	__u8 buf[FRAME_MAX];
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x8100, 10);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_icmp_echo(&f, 1, 1);
	size_t len = frame_finish(&f);
	/* from 4 bytes of ICMP on, the message is legal without its id */
	const struct trunc_seg segs[] = {
		{ 14, PL_M_ETH_TRUNC },
		{ 18, PL_M_VLAN_TRUNC },
		{ 58, PL_M_IP6_TRUNC },
		{ 62, PL_M_ICMP_TRUNC },
	};
	assert_int_equal(len, 66);
	check_truncations(buf, len, segs, 4, PL_AF_INET6, FRAME_IP6_A);
}

/* Fixed-seed xorshift: the fuzz run is the same on every machine and every run. */
static __u64 rng_state = 0x9e3779b97f4a7c15ull;

static __u32 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (__u32)(rng_state >> 32);
}

/* What must hold for any input, whatever the verdict. */
static void check_invariants(int ret, const struct pl_pkt *p, size_t len)
{
	assert_in_range(ret, PL_M_NONE, PL_M_MAX - 1);
	assert_true(p->family == 0 || p->family == PL_AF_INET || p->family == PL_AF_INET6);
	assert_in_range(p->vlan_depth, 0, 2);
	assert_in_range(p->frag, 0, 2);
	assert_in_range(p->has_ports, 0, 1);
	if (ret != PL_M_ETH_TRUNC && ret != PL_M_VLAN_TRUNC) {
		assert_int_equal(p->l3_off, 14 + 4 * p->vlan_depth);
		assert_true(p->l3_off <= len);
	}
	if (p->family == PL_AF_INET)
		assert_true(p->l3_off + sizeof(struct pl_iphdr) <= len);
	if (p->family == PL_AF_INET6)
		assert_true(p->l3_off + sizeof(struct pl_ipv6hdr) <= len);
	if (p->family == 0) {
		assert_int_equal(p->proto, 0);
		assert_int_equal(p->frag, 0);
	}
	if (p->has_ports) {
		assert_int_equal(ret, PL_M_NONE);
		assert_true(p->frag != 2);
		assert_true(p->proto == PL_IPPROTO_TCP || p->proto == PL_IPPROTO_UDP);
		assert_true(p->l4_off >= p->l3_off + 20);
		assert_true(p->payload_off >= p->l4_off + 8);
		assert_true(p->payload_off <= len);
	} else {
		assert_int_equal(p->payload_off, 0);
	}
	if (p->frag == 2)
		assert_int_equal(p->has_ports, 0);
	if (p->l4_off)
		assert_true(p->l4_off <= len);
}

static const __u16 fuzz_types[] = { 0x0800, 0x86DD, 0x8100, 0x88A8, 0x0806 };

static void test_fuzz_random(void **state UNUSED)
{
	__u8 buf[128];
	struct pl_pkt p;

	for (int iter = 0; iter < 200000; iter++) {
		size_t len = rng() % (sizeof(buf) + 1);
		for (size_t i = 0; i < len; i++)
			buf[i] = (__u8)rng();
		/* purely random EtherTypes are almost never IP; steer most runs into the parser */
		__u32 r = rng();
		if (len >= 14 && r % 4) {
			for (size_t off = 12; off + 2 <= len && off <= 20; off += 4) {
				__u16 t = fuzz_types[rng() % 5];
				buf[off] = t >> 8;
				buf[off + 1] = t & 0xff;
				if (t != 0x8100 && t != 0x88A8) {
					if (off + 2 < len && r % 3)
						buf[off + 2] = (__u8)((t == 0x86DD ? 0x60 : 0x40) |
								      (rng() % 16));
					break;
				}
			}
		}
		int ret = parse_exact(buf, len, &p);
		check_invariants(ret, &p, len);
	}
}

static void test_fuzz_mutations(void **state UNUSED)
{
	__u8 seeds[6][FRAME_MAX];
	size_t lens[6];
	struct frame f;
	struct pl_pkt p;

	lens[0] = build_tcp4_frame(seeds[0], FRAME_MAX);
	lens[1] =
	    frame_build_udp(seeds[1], FRAME_MAX, PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 1, 2, 4);
	lens[2] = frame_build_icmp_echo(seeds[2], FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
					1, 2, 4);
	frame_init(&f, seeds[3], FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x88A8, 1);
	frame_vlan(&f, 0x8100, 2);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 12);
	frame_ip4_frag(&f, 0, 1);
	frame_tcp(&f, 3, 4, 5, 6, 7, 8, 20);
	lens[3] = frame_finish(&f);
	frame_init(&f, seeds[4], FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0);
	frame_ip6_ext(&f, PL_IPPROTO_ROUTING, 1);
	frame_ip6_frag(&f, 0, 1, 9);
	frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 0);
	frame_tcp(&f, 3, 4, 5, 6, 7, 8, 8);
	lens[4] = frame_finish(&f);
	frame_init(&f, seeds[5], FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x8100, 2);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_icmp_echo(&f, 1, 2);
	lens[5] = frame_finish(&f);

	for (int s = 0; s < 6; s++) {
		struct pl_pkt orig;
		assert_int_equal(parse_exact(seeds[s], lens[s], &orig), PL_M_NONE);
		assert_int_not_equal(orig.family, 0);
	}

	__u8 buf[FRAME_MAX];
	for (int iter = 0; iter < 300000; iter++) {
		int s = iter % 6;
		size_t len = lens[s];
		memcpy(buf, seeds[s], len);
		int n = 1 + rng() % 4;
		for (int i = 0; i < n; i++) {
			size_t pos = rng() % len;
			/* half the time flip one bit, as a damaged header would */
			if (rng() & 1)
				buf[pos] ^= (__u8)(1u << (rng() % 8));
			else
				buf[pos] = (__u8)rng();
		}
		if (rng() % 4 == 0)
			len = rng() % (len + 1);
		int ret = parse_exact(buf, len, &p);
		check_invariants(ret, &p, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4),
		cmocka_unit_test(test_tcp4_options),
		cmocka_unit_test(test_udp4),
		cmocka_unit_test(test_icmp4_echo),
		cmocka_unit_test(test_icmp4_not_echo),
		cmocka_unit_test(test_tcp6),
		cmocka_unit_test(test_udp6),
		cmocka_unit_test(test_icmp6_echo),
		cmocka_unit_test(test_ip6_ext_headers),
		cmocka_unit_test(test_ip6_ext_max),
		cmocka_unit_test(test_ip6_ext_len_beyond),
		cmocka_unit_test(test_ip6_frag_first),
		cmocka_unit_test(test_ip6_frag_later),
		cmocka_unit_test(test_ip4_frag),
		cmocka_unit_test(test_vlan_8021q),
		cmocka_unit_test(test_vlan_qinq),
		cmocka_unit_test(test_vlan_three_tags),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ethernet_trailer),
		cmocka_unit_test(test_other_transport),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_ip4_bad_ihl),
		cmocka_unit_test(test_ip4_bad_version),
		cmocka_unit_test(test_ip4_bad_tot_len),
		cmocka_unit_test(test_big_tcp),
		cmocka_unit_test(test_udp_len),
		cmocka_unit_test(test_udp_len_first_fragment),
		cmocka_unit_test(test_ip6_ext_payload_len),
		cmocka_unit_test(test_ip6_bad_version),
		cmocka_unit_test(test_tcp_bad_doff),
		cmocka_unit_test(test_truncate_tcp4),
		cmocka_unit_test(test_truncate_tcp6_ext),
		cmocka_unit_test(test_truncate_udp4_qinq),
		cmocka_unit_test(test_truncate_icmp6_vlan),
		cmocka_unit_test(test_fuzz_random),
		cmocka_unit_test(test_fuzz_mutations),
	};
	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
