/* Unit tests of the socket address normalisation in shared/tcp.h that every socket key goes through. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/types.h>
#include "frames.h"
#include "shared/tcp.h"

static const __u8 zero16[16];

/* A socket key as a tracepoint reports it: family and the two 16-byte addresses (inet_pton). */
static struct sock_key key6(const char *local, const char *remote)
{
	struct sock_key k;

	memset(&k, 0, sizeof(k));
	k.family = PL_AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, local, k.local), 1);
	assert_int_equal(inet_pton(AF_INET6, remote, k.remote), 1);
	k.local_port = 80;
	k.remote_port = 40000;
	return k;
}

static void assert_v4(const __u8 *got16, const char *want)
{
	__u8 a[4];

	assert_int_equal(inet_pton(AF_INET, want, a), 1);
	assert_memory_equal(got16, a, 4);
	assert_memory_equal(got16 + 4, zero16, 12);
}

static void test_predicates(void **state)
{
	__u8 a[16];

	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.0.0.1", a), 1);
	assert_true(pl_addr_v4mapped(a));
	assert_false(pl_addr_unspec(a));
	assert_int_equal(inet_pton(AF_INET6, "::ffff:0.0.0.0", a), 1);
	assert_true(pl_addr_v4mapped(a));
	/* IPv4-compatible (deprecated) and IPv4-translated (SIIT) addresses are not mapped */
	assert_int_equal(inet_pton(AF_INET6, "::10.0.0.1", a), 1);
	assert_false(pl_addr_v4mapped(a));
	assert_int_equal(inet_pton(AF_INET6, "::ffff:0:10.0.0.1", a), 1);
	assert_false(pl_addr_v4mapped(a));
	assert_int_equal(inet_pton(AF_INET6, "64:ff9b::10.0.0.1", a), 1);
	assert_false(pl_addr_v4mapped(a));
	assert_int_equal(inet_pton(AF_INET6, "::", a), 1);
	assert_true(pl_addr_unspec(a));
	assert_false(pl_addr_v4mapped(a));
	/* a one-bit difference anywhere in the prefix */
	for (int i = 0; i < 12; i++) {
		assert_int_equal(inet_pton(AF_INET6, "::ffff:10.0.0.1", a), 1);
		a[i] ^= 0x01;
		assert_false(pl_addr_v4mapped(a));
	}
}

/* The accepted socket of a [::] listener with an IPv4 client. */
static void test_mapped_pair(void **state)
{
	struct sock_key k = key6("::ffff:10.221.0.1", "::ffff:10.221.0.2");

	assert_int_equal(pl_sock_key_unmap(&k), 1);
	assert_int_equal(k.family, PL_AF_INET);
	assert_v4(k.local, "10.221.0.1");
	assert_v4(k.remote, "10.221.0.2");
	assert_int_equal(k.local_port, 80);
	assert_int_equal(k.remote_port, 40000);
	/* idempotent: an IPv4 key is left alone */
	struct sock_key again = k;
	assert_int_equal(pl_sock_key_unmap(&again), 0);
	assert_memory_equal(&again, &k, sizeof(k));
}

/* connect() to ::ffff:a.b.c.d before the source is chosen, and a listener bound to a mapped address. */
static void test_unspecified_side(void **state)
{
	struct sock_key k = key6("::", "::ffff:192.0.2.7");

	assert_int_equal(pl_sock_key_unmap(&k), 1);
	assert_int_equal(k.family, PL_AF_INET);
	assert_v4(k.local, "0.0.0.0");
	assert_v4(k.remote, "192.0.2.7");

	k = key6("::ffff:192.0.2.1", "::");
	assert_int_equal(pl_sock_key_unmap(&k), 1);
	assert_int_equal(k.family, PL_AF_INET);
	assert_v4(k.local, "192.0.2.1");
	assert_v4(k.remote, "0.0.0.0");
}

/* Real IPv6 conversations, and pairs that are not one IPv4 conversation, keep their form. */
static void test_left_alone(void **state)
{
	static const char *const pairs[][2] = {
		{ "fd00:221::1", "fd00:221::2" }, { "::", "::" }, /* a [::] listener */
		{ "::ffff:10.0.0.1", "fd00::2" }, { "fd00::1", "::ffff:10.0.0.2" },
		{ "::10.0.0.1", "::10.0.0.2" },	  { "::ffff:0:10.0.0.1", "::ffff:0:10.0.0.2" },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct sock_key k = key6(pairs[i][0], pairs[i][1]), orig = k;

		assert_int_equal(pl_sock_key_unmap(&k), 0);
		assert_memory_equal(&k, &orig, sizeof(k));
	}
	/* an IPv4 key whose bytes happen to look mapped is not touched either */
	struct sock_key k = key6("::ffff:10.0.0.1", "::ffff:10.0.0.2"), orig;
	k.family = PL_AF_INET;
	orig = k;
	assert_int_equal(pl_sock_key_unmap(&k), 0);
	assert_memory_equal(&k, &orig, sizeof(k));
}

/*
 * The point of it all: the unmapped socket key has the very bytes of the flow key the packet
 * parser builds for the IPv4 packets of that connection, so the two join.
 */
static void test_meets_the_packet_flow_key(void **state)
{
	__u8 buf[FRAME_MAX];
	struct frame f;
	struct pl_pkt p;
	size_t len;
	struct sock_key k = key6("::ffff:10.0.0.2", "::ffff:10.0.0.1");

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_tcp(&f, 40000, 80, 1, 1, PL_TCP_ACK, 1000, 0);
	len = frame_finish(&f);
	memset(&p, 0, sizeof(p));
	assert_int_equal(pl_parse(buf, buf + len, &p), PL_M_NONE);
	assert_int_equal(pl_sock_key_unmap(&k), 1);
	/* received at B: local is the destination */
	assert_int_equal(k.family, p.family);
	assert_memory_equal(k.local, p.daddr, 16);
	assert_memory_equal(k.remote, p.saddr, 16);
	assert_int_equal(k.local_port, p.dport);
	assert_int_equal(k.remote_port, p.sport);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_predicates),
		cmocka_unit_test(test_mapped_pair),
		cmocka_unit_test(test_unspecified_side),
		cmocka_unit_test(test_left_alone),
		cmocka_unit_test(test_meets_the_packet_flow_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
