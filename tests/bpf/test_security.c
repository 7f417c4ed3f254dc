/* BPF_PROG_TEST_RUN tests of the XDP firewall and of the detection in the flow programs: crafted frames in, verdicts and maps checked. */

/*
 * Each test loads a fresh object with the packet programs (xdp_flows,
 * xdp_firewall, the tc pair), puts rules or nothing in its
 * maps, runs frames from tests/frames.h and compares verdicts, counters
 * and detection events with what the test sent. Without permission to
 * load BPF every test is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pktlens.skel.h"
#include "shared/flow.h"
#include "shared/security.h"
#include "frames.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

static char skip_reason[160];

struct fixture {
	struct pktlens_bpf *skel;
	struct ring_buffer *rb;
	struct sec_event ev[256];
	size_t n_ev;
	int ncpu;
};

enum hook_prog { XDP_FLOWS, XDP_FW, TC_IN, TC_OUT };

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level > LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct fixture *fx = ctx;
	assert_int_equal(size, sizeof(struct sec_event));
	if (fx->n_ev < 256)
		memcpy(&fx->ev[fx->n_ev++], data, sizeof(struct sec_event));
	return 0;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	fx->ncpu = libbpf_num_possible_cpus();
	*state = fx;
	if (skip_reason[0])
		return 0;
	struct pktlens_bpf *skel = pktlens_bpf__open();
	if (!skel)
		return -1;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj)
	{
		bpf_program__set_autoload(prog, prog == skel->progs.xdp_flows ||
						    prog == skel->progs.xdp_firewall ||
						    prog == skel->progs.tc_ingress_flows ||
						    prog == skel->progs.tc_egress_flows);
	}
	int err = pktlens_bpf__load(skel);
	if (err) {
		pktlens_bpf__destroy(skel);
		if (err != -EPERM && err != -EACCES) {
			fprintf(stderr, "loading pktlens BPF object: %s\n", strerror(-err));
			return -1;
		}
		snprintf(skip_reason, sizeof(skip_reason), "not permitted to load BPF (%s)",
			 strerror(-err));
		return 0;
	}
	fx->skel = skel;
	fx->rb = ring_buffer__new(bpf_map__fd(skel->maps.sec_events), on_event, fx, NULL);
	assert_non_null(fx->rb);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	ring_buffer__free(fx->rb);
	pktlens_bpf__destroy(fx->skel);
	free(fx);
	return 0;
}

static struct fixture *fixture_or_skip(void **state)
{
	struct fixture *fx = *state;
	if (!fx->skel) {
		fprintf(stderr, "skipped: %s\n", skip_reason);
		skip();
	}
	return fx;
}

static int prog_fd(struct fixture *fx, enum hook_prog h)
{
	struct bpf_program *p[] = { fx->skel->progs.xdp_flows, fx->skel->progs.xdp_firewall,
				    fx->skel->progs.tc_ingress_flows,
				    fx->skel->progs.tc_egress_flows };
	return bpf_program__fd(p[h]);
}

/* One run; returns the program's verdict. */
static int run(struct fixture *fx, enum hook_prog h, const void *frame, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(prog_fd(fx, h), &opts);
	if (err == -EPERM || err == -ENOTSUPP || err == -EOPNOTSUPP) {
		fprintf(stderr, "skipped: BPF_PROG_TEST_RUN refused (%s)\n", strerror(-err));
		skip();
	}
	if (err)
		fail_msg("test run of %zu bytes on program %d: %s", len, h, strerror(-err));
	return (int)opts.retval;
}

static __u64 mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* A rule straight into the kernel's trie, as fw_table_kernel() would make it. */
static void put_rule(struct fixture *fx, int family, const __u8 *addr, int plen, int action,
		     __u32 slot, __u32 pps, __u64 expires_ns)
{
	struct fw_key k;
	struct fw_rule v;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.prefixlen = 8u + (__u32)plen;
	k.family = (__u8)family;
	memcpy(k.addr, addr, family == PL_AF_INET ? 4 : 16);
	v.slot = slot;
	v.gen = slot + 1;
	v.action = (__u8)action;
	if (pps) {
		v.interval_ns = (1000000000ull + pps - 1) / pps;
		v.tolerance_ns = v.interval_ns * (pps - 1);
	}
	v.expires_ns = expires_ns;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(fx->skel->maps.fw_rules), &k, &v, BPF_ANY),
			 0);
}

static struct fw_stats slot_stats(struct fixture *fx, __u32 slot)
{
	struct fw_stats *per = calloc((size_t)fx->ncpu, sizeof(*per)), sum = { 0 };
	assert_non_null(per);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.fw_stats), &slot, per), 0);
	for (int c = 0; c < fx->ncpu; c++) {
		sum.passed_packets += per[c].passed_packets;
		sum.passed_bytes += per[c].passed_bytes;
		sum.dropped_packets += per[c].dropped_packets;
		sum.dropped_bytes += per[c].dropped_bytes;
	}
	free(per);
	return sum;
}

static struct sec_counters counters(struct fixture *fx)
{
	struct sec_counters *per = calloc((size_t)fx->ncpu, sizeof(*per)), sum;
	__u32 zero = 0;
	memset(&sum, 0, sizeof(sum));
	assert_non_null(per);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.sec_stats), &zero, per), 0);
	for (int c = 0; c < fx->ncpu; c++)
		for (size_t w = 0; w < sizeof(sum) / 8; w++)
			((__u64 *)&sum)[w] += ((__u64 *)&per[c])[w];
	free(per);
	return sum;
}

/* The per-port counters of (local, port, proto); all zero when the kernel has no entry. */
static struct sec_port_val port_val(struct fixture *fx, int family, const __u8 *local, __u16 port,
				    __u8 proto)
{
	struct sec_port_key k;
	struct sec_port_val sum;
	memset(&k, 0, sizeof(k));
	memset(&sum, 0, sizeof(sum));
	memcpy(k.local, local, family == PL_AF_INET ? 4 : 16);
	k.port = port;
	k.family = (__u8)family;
	k.proto = proto;
	struct sec_port_val *per = calloc((size_t)fx->ncpu, sizeof(*per));
	assert_non_null(per);
	if (!bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.sec_ports), &k, per))
		for (int c = 0; c < fx->ncpu; c++)
			for (size_t w = 0; w < sizeof(sum) / 8; w++)
				((__u64 *)&sum)[w] += ((__u64 *)&per[c])[w];
	free(per);
	return sum;
}

static size_t drain(struct fixture *fx)
{
	fx->n_ev = 0;
	ring_buffer__consume(fx->rb);
	return fx->n_ev;
}

static size_t flows_count(struct fixture *fx, __u64 *rx_packets)
{
	int fd = bpf_map__fd(fx->skel->maps.flows);
	struct flow_key k, next;
	struct flow_val v;
	const void *prev = NULL;
	size_t n = 0;
	*rx_packets = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &v))
			*rx_packets += v.rx_packets;
		n++;
		k = next;
		prev = &k;
	}
	return n;
}

static const __u8 NET_C[4] = { 192, 0, 2, 0 };	/* the denied /24 */
static const __u8 IN_C[4] = { 192, 0, 2, 77 };	/* a sender inside it */
static const __u8 OUT_C[4] = { 192, 0, 3, 77 }; /* and one outside */
static const __u8 NET6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0xaa };
static const __u8 IN6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0xaa, 0, 0, 0, 0, 0, 0, 0, 9 };
static const __u8 OUT6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0xab, 0, 0, 0, 0, 0, 0, 0, 9 };

/* Deny a /24 and a /64: exactly their senders' frames drop, each counted with its bytes. */
static void test_deny(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	put_rule(fx, PL_AF_INET, NET_C, 24, PL_FW_DENY, 3, 0, 0);
	put_rule(fx, PL_AF_INET6, NET6, 64, PL_FW_DENY, 4, 0, 0);

	size_t len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, IN_C, FRAME_IP4_B, 5000, 53, 10);
	for (int i = 0; i < 7; i++)
		assert_int_equal(run(fx, XDP_FW, buf, len), XDP_DROP);
	size_t len6 = frame_build_tcp(buf, sizeof(buf), PL_AF_INET6, IN6, FRAME_IP6_B, 5000, 80,
				      PL_TCP_SYN, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(run(fx, XDP_FW, buf, len6), XDP_DROP);
	/* outside the prefixes, and the other family with the same leading bytes */
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, OUT_C, FRAME_IP4_B, 5000, 53, 10);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_PASS);
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET6, OUT6, FRAME_IP6_B, 5000, 53, 10);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_PASS);
	__u8 v4look[16] = { 192, 0, 2, 77 };
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET6, v4look, FRAME_IP6_B, 5000, 53, 10);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_PASS);
	/* the destination does not matter: a frame *to* the prefix passes */
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, IN_C, 5000, 53, 10);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_PASS);

	struct fw_stats s = slot_stats(fx, 3);
	assert_int_equal(s.dropped_packets, 7);
	assert_int_equal(s.dropped_bytes, 7 * (14 + 20 + 8 + 10));
	assert_int_equal(s.passed_packets, 0);
	s = slot_stats(fx, 4);
	assert_int_equal(s.dropped_packets, 3);
	assert_int_equal(s.dropped_bytes, 3 * len6);
}

/* The longest prefix decides: a limit on a /28 inside a denied /24. */
static void test_longest_prefix(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	put_rule(fx, PL_AF_INET, NET_C, 24, PL_FW_DENY, 0, 0, 0);
	const __u8 net28[4] = { 192, 0, 2, 64 };
	put_rule(fx, PL_AF_INET, net28, 28, PL_FW_LIMIT, 1, 1000, 0);
	size_t len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, IN_C, FRAME_IP4_B, 1, 2, 0);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_PASS); /* .77 is in .64/28 */
	const __u8 other[4] = { 192, 0, 2, 200 };
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, other, FRAME_IP4_B, 1, 2, 0);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_DROP);
	assert_int_equal(slot_stats(fx, 1).passed_packets, 1);
	assert_int_equal(slot_stats(fx, 0).dropped_packets, 1);
}

/*
 * A limit of 5 a second: a burst passes 5 and drops the rest, per source; a
 * second source has its own bucket; after a second the bucket has refilled.
 */
static void test_limit(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 a[FRAME_MAX], b[FRAME_MAX];
	put_rule(fx, PL_AF_INET, NET_C, 24, PL_FW_LIMIT, 9, 5, 0);
	size_t la = frame_build_udp(a, sizeof(a), PL_AF_INET, IN_C, FRAME_IP4_B, 1, 2, 0);
	const __u8 second[4] = { 192, 0, 2, 78 };
	size_t lb = frame_build_udp(b, sizeof(b), PL_AF_INET, second, FRAME_IP4_B, 1, 2, 0);
	__u64 t0 = mono_ns();
	int passed = 0, passed_b = 0;
	for (int i = 0; i < 20; i++) {
		passed += run(fx, XDP_FW, a, la) == XDP_PASS;
		passed_b += run(fx, XDP_FW, b, lb) == XDP_PASS;
	}
	/* 40 runs take far less than the 200 ms a token takes to come back (checked) */
	double took = (double)(mono_ns() - t0) / 1e9;
	if (took < 0.18) {
		assert_int_equal(passed, 5);
		assert_int_equal(passed_b, 5);
	} else {
		assert_true(passed >= 5 && passed <= 5 + (int)(took * 5) + 1);
	}
	struct fw_stats s = slot_stats(fx, 9);
	assert_int_equal(s.passed_packets + s.dropped_packets, 40);
	assert_int_equal(s.passed_packets, (__u64)(passed + passed_b));
	assert_int_equal(s.passed_bytes, (__u64)passed * la + (__u64)passed_b * lb);
	/* a second later the bucket is full again: 5 more */
	struct timespec one = { 1, 50000000 };
	nanosleep(&one, NULL);
	passed = 0;
	for (int i = 0; i < 10; i++)
		passed += run(fx, XDP_FW, a, la) == XDP_PASS;
	assert_true(passed >= 5 && passed <= 6);
}

/* An expired rule no longer matches; the kernel does not wait for user space to remove it. */
static void test_expired(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	put_rule(fx, PL_AF_INET, NET_C, 24, PL_FW_DENY, 2, 0, mono_ns() - 1);
	size_t len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, IN_C, FRAME_IP4_B, 1, 2, 0);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_PASS);
	assert_int_equal(slot_stats(fx, 2).dropped_packets, 0);
	put_rule(fx, PL_AF_INET, NET_C, 24, PL_FW_DENY, 2, 0, mono_ns() + 60000000000ull);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_DROP);
}

/*
 * Malformed and unusual frames from a denied sender: whatever carries its
 * address is dropped (a bad transport header, VLAN tags, extension
 * headers, a later fragment); what is cut before the address passes.
 */
static void test_malformed(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct frame f;
	size_t len;
	put_rule(fx, PL_AF_INET, NET_C, 24, PL_FW_DENY, 0, 0, 0);
	put_rule(fx, PL_AF_INET6, NET6, 64, PL_FW_DENY, 1, 0, 0);

	/* TCP data offset 2 (< 5): the transport is bad, the sender is known */
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, IN_C, FRAME_IP4_B, 1, 2, PL_TCP_ACK, 0);
	buf[14 + 20 + 12] = 0x20;
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_DROP);
	/* TCP header cut short */
	assert_int_equal(run(fx, XDP_FW, buf, 14 + 20 + 10), XDP_DROP);
	/* QinQ */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x88a8, 10);
	frame_vlan(&f, 0x8100, 20);
	frame_ip4(&f, IN_C, FRAME_IP4_B, 8);
	frame_udp(&f, 1, 2);
	len = frame_finish(&f);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_DROP);
	/* a later IPv4 fragment: no ports, the address is enough */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, IN_C, FRAME_IP4_B, 0);
	frame_ip4_frag(&f, 1480, 0);
	frame_ip_proto(&f, PL_IPPROTO_UDP);
	frame_payload(&f, NULL, 100);
	len = frame_finish(&f);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_DROP);
	/* IPv6 behind a hop-by-hop and a routing header */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, IN6, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0);
	frame_ip6_ext(&f, PL_IPPROTO_ROUTING, 1);
	frame_tcp(&f, 1, 2, 0, 0, PL_TCP_SYN, 100, 0);
	len = frame_finish(&f);
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_DROP);
	/* an IPv4 header cut before the source address: nothing to judge, it passes */
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, IN_C, FRAME_IP4_B, 1, 2, 0);
	assert_int_equal(run(fx, XDP_FW, buf, 14 + 12), XDP_PASS);
	/* IHL 3 */
	buf[14] = 0x43;
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_PASS);
	/* ARP, and a bare Ethernet header */
	len = frame_build_arp(buf, sizeof(buf));
	assert_int_equal(run(fx, XDP_FW, buf, len), XDP_PASS);
	assert_int_equal(run(fx, XDP_FW, buf, 14), XDP_PASS);
	/* every byte string up to 80 bytes from a denied IPv4 header: never a crash, a verdict */
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, IN_C, FRAME_IP4_B, 1, 2, PL_TCP_SYN, 0);
	srand(15);
	for (int i = 0; i < 300; i++) {
		__u8 junk[80];
		memcpy(junk, buf, 34 < len ? 34 : len);
		for (size_t j = 34; j < sizeof(junk); j++)
			junk[j] = (__u8)rand();
		int v = run(fx, XDP_FW, junk, 34 + (size_t)(rand() % 46));
		assert_int_equal(v, XDP_DROP);
	}
	assert_int_equal(slot_stats(fx, 0).dropped_packets, 4 + 300);
	assert_int_equal(slot_stats(fx, 1).dropped_packets, 1);
}

static const struct sec_event *find_ev(struct fixture *fx, int kind, size_t nth)
{
	for (size_t i = 0; i < fx->n_ev; i++)
		if (fx->ev[i].kind == kind && !nth--)
			return &fx->ev[i];
	return NULL;
}

/*
 * A handshake on a server port, a SYN to a closed port answered with a
 * reset, FIN and NULL probes, an incoming reset: the counters and events
 * the detection makes, nothing for the data in between.
 */
static void test_detect_tcp(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	size_t len;
	/* A (the peer) connects to B:80; B answers; A's ACK completes; then data both ways */
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000, 80,
			      PL_TCP_SYN, 0);
	run(fx, TC_IN, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A, 80, 40000,
			      PL_TCP_SYN | PL_TCP_ACK, 0);
	run(fx, TC_OUT, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000, 80,
			      PL_TCP_ACK, 0);
	run(fx, TC_IN, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000, 80,
			      PL_TCP_ACK | PL_TCP_PSH, 100);
	for (int i = 0; i < 5; i++)
		run(fx, TC_IN, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A, 80, 40000,
			      PL_TCP_ACK | PL_TCP_PSH, 1000);
	for (int i = 0; i < 5; i++)
		run(fx, TC_OUT, buf, len);
	assert_int_equal(drain(fx), 1);
	const struct sec_event *e = find_ev(fx, PL_SEC_PROBE, 0);
	assert_non_null(e);
	assert_int_equal(e->local_port, 80);
	assert_int_equal(e->remote_port, 40000);
	assert_memory_equal(e->remote, FRAME_IP4_A, 4);
	assert_memory_equal(e->local, FRAME_IP4_B, 4);
	assert_int_equal(e->proto, PL_IPPROTO_TCP);
	assert_int_equal(e->tcp_flags, PL_TCP_SYN);
	assert_int_equal(e->family, PL_AF_INET);
	struct sec_port_val pv = port_val(fx, PL_AF_INET, FRAME_IP4_B, 80, PL_IPPROTO_TCP);
	assert_int_equal(pv.syn, 1);
	assert_int_equal(pv.synack, 1);
	assert_int_equal(pv.established, 1);

	/* a client's own connection (B connects out) makes no port entry and no event */
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A, 50000, 443,
			      PL_TCP_SYN, 0);
	run(fx, TC_OUT, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 443, 50000,
			      PL_TCP_SYN | PL_TCP_ACK, 0);
	run(fx, TC_IN, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 443, 50000,
			      PL_TCP_ACK, 0);
	run(fx, TC_IN, buf, len);
	assert_int_equal(drain(fx), 0);
	pv = port_val(fx, PL_AF_INET, FRAME_IP4_B, 50000, PL_IPPROTO_TCP);
	assert_int_equal(pv.syn + pv.established, 0);

	/* closed port: SYN in, RST out */
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40001, 23,
			      PL_TCP_SYN, 0);
	run(fx, TC_IN, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A, 23, 40001,
			      PL_TCP_RST | PL_TCP_ACK, 0);
	run(fx, TC_OUT, buf, len);
	/* FIN and NULL probes (nmap -sF, -sN), an incoming reset */
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40002, 24,
			      PL_TCP_FIN, 0);
	run(fx, XDP_FLOWS, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40003, 25, 0,
			      0);
	run(fx, XDP_FLOWS, buf, len);
	len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000, 80,
			      PL_TCP_RST, 0);
	run(fx, TC_IN, buf, len);
	assert_int_equal(drain(fx), 5);
	e = find_ev(fx, PL_SEC_CLOSED, 0);
	assert_non_null(e);
	assert_int_equal(e->local_port, 23);
	assert_int_equal(e->remote_port, 40001);
	assert_non_null(e = find_ev(fx, PL_SEC_PROBE, 1));
	assert_int_equal(e->tcp_flags, PL_TCP_FIN);
	assert_non_null(e = find_ev(fx, PL_SEC_PROBE, 2));
	assert_int_equal(e->tcp_flags, 0);
	assert_non_null(e = find_ev(fx, PL_SEC_RST_IN, 0));
	assert_int_equal(e->local_port, 80);

	struct sec_counters c = counters(fx);
	assert_int_equal(c.syn_in, 2);
	assert_int_equal(c.synack_out, 1);
	assert_int_equal(c.established, 1);
	assert_int_equal(c.rst_out, 1);
	assert_int_equal(c.rst_in, 1);
	assert_int_equal(c.events, 6);
	assert_int_equal(c.events_lost, 0);
	assert_int_equal(port_val(fx, PL_AF_INET, FRAME_IP4_B, 23, PL_IPPROTO_TCP).syn, 1);
}

/* A closed UDP port answered with ICMP port unreachable: the quoted datagram names the port. */
static size_t build_unreach(__u8 *buf, int family, int cut)
{
	struct frame f;
	frame_init(&f, buf, FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	/* from B (this host) to A (the prober) */
	if (family == PL_AF_INET)
		frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
	else
		frame_ip6(&f, FRAME_IP6_B, FRAME_IP6_A);
	frame_icmp(&f, family == PL_AF_INET ? 3 : 1, family == PL_AF_INET ? 3 : 4, 0, 0);
	/* the quote: A's datagram to B's port 7777 from port 55555 */
	if (family == PL_AF_INET) {
		struct pl_iphdr ih = { .ver_ihl = 0x45, .ttl = 64, .protocol = PL_IPPROTO_UDP };
		ih.tot_len = htons(28);
		memcpy(ih.saddr, FRAME_IP4_A, 4);
		memcpy(ih.daddr, FRAME_IP4_B, 4);
		frame_payload(&f, &ih, sizeof(ih));
	} else {
		struct pl_ipv6hdr ih = { .nexthdr = PL_IPPROTO_UDP, .hop_limit = 64 };
		ih.ver_tc_flow = htonl(6u << 28);
		ih.payload_len = htons(8);
		memcpy(ih.saddr, FRAME_IP6_A, 16);
		memcpy(ih.daddr, FRAME_IP6_B, 16);
		frame_payload(&f, &ih, sizeof(ih));
	}
	struct pl_udphdr uh = { .source = htons(55555), .dest = htons(7777), .len = htons(8) };
	frame_payload(&f, &uh, cut ? 2 : sizeof(uh));
	return frame_finish(&f);
}

static void test_detect_udp_icmp(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	size_t len;
	/* a UDP probe: its first datagram is an event, the second of the flow is not */
	len =
	    frame_build_udp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 55555, 7777, 0);
	run(fx, TC_IN, buf, len);
	run(fx, TC_IN, buf, len);
	for (int fam = PL_AF_INET; fam <= PL_AF_INET6; fam += PL_AF_INET6 - PL_AF_INET) {
		len = build_unreach(buf, fam, 0);
		run(fx, TC_OUT, buf, len);
		len = build_unreach(buf, fam, 1); /* a quote too short for the ports */
		run(fx, TC_OUT, buf, len);
	}
	/* a ping: the first request of the id is an event; the reply going out is not */
	len =
	    frame_build_icmp_echo(buf, sizeof(buf), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 9, 1, 0);
	run(fx, TC_IN, buf, len);
	run(fx, TC_IN, buf, len);
	assert_int_equal(drain(fx), 4);
	const struct sec_event *e = find_ev(fx, PL_SEC_PROBE, 0);
	assert_int_equal(e->proto, PL_IPPROTO_UDP);
	assert_int_equal(e->local_port, 7777);
	for (int i = 0; i < 2; i++) {
		e = find_ev(fx, PL_SEC_CLOSED, (size_t)i);
		assert_non_null(e);
		assert_int_equal(e->proto, PL_IPPROTO_UDP);
		assert_int_equal(e->local_port, 7777);
		assert_int_equal(e->remote_port, 55555);
		assert_int_equal(e->family, i ? PL_AF_INET6 : PL_AF_INET);
	}
	e = find_ev(fx, PL_SEC_PROBE, 1);
	assert_int_equal(e->proto, PL_IPPROTO_ICMPV6);
	struct sec_counters c = counters(fx);
	assert_int_equal(c.first_in, 1);
	assert_int_equal(c.unreach_out, 4);
	assert_int_equal(c.icmp_in, 2);
	struct sec_port_val pv = port_val(fx, PL_AF_INET, FRAME_IP4_B, 7777, PL_IPPROTO_UDP);
	assert_int_equal(pv.first_in, 1);
	assert_int_equal(pv.unreach_out, 1);
}

/* A DNS answer that opens its flow (no query went out on it) versus one that answers a query. */
static void test_detect_dns(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX], dns[12] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0 };
	struct frame f;
	size_t len;
	/* answer to a query B sent first */
	len =
	    frame_build_udp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A, 33333, 53, 12);
	run(fx, TC_OUT, buf, len);
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_udp(&f, 53, 33333);
	frame_payload(&f, dns, sizeof(dns));
	len = frame_finish(&f);
	run(fx, TC_IN, buf, len);
	assert_int_equal(drain(fx), 0);
	/* the same answer to a port that asked nothing */
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_udp(&f, 53, 44444);
	frame_payload(&f, dns, sizeof(dns));
	len = frame_finish(&f);
	run(fx, TC_IN, buf, len);
	/* a query from port 53 (QR clear) is a probe, not an answer; a 2-byte payload neither */
	dns[2] = 0x01;
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_udp(&f, 53, 44445);
	frame_payload(&f, dns, sizeof(dns));
	len = frame_finish(&f);
	run(fx, TC_IN, buf, len);
	len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 53, 44446, 2);
	run(fx, TC_IN, buf, len);
	assert_int_equal(drain(fx), 3);
	assert_non_null(find_ev(fx, PL_SEC_DNS_ANSWER, 0));
	assert_int_equal(find_ev(fx, PL_SEC_DNS_ANSWER, 0)->local_port, 44444);
	assert_null(find_ev(fx, PL_SEC_DNS_ANSWER, 1));
	assert_int_equal(counters(fx).dns_answers_unasked, 1);
}

/* sec_off: the accounting goes on, detection does nothing at all. */
static void test_detect_off(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	fx->skel->bss->sec_off = 1;
	size_t len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2,
				     PL_TCP_SYN, 0);
	run(fx, TC_IN, buf, len);
	run(fx, XDP_FLOWS, buf, len);
	assert_int_equal(drain(fx), 0);
	struct sec_counters c = counters(fx);
	assert_int_equal(c.syn_in, 0);
	__u64 rx;
	assert_int_equal(flows_count(fx, &rx), 1);
	assert_int_equal(rx, 2);
}

/* Malformed frames through the detection path: counted as malformed, no event, no crash. */
static void test_detect_malformed(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	size_t len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2,
				     PL_TCP_SYN, 0);
	buf[14 + 20 + 12] = 0x30; /* data offset 3 */
	run(fx, TC_IN, buf, len);
	run(fx, XDP_FLOWS, buf, 14 + 20 + 8); /* cut inside TCP */
	len = build_unreach(buf, PL_AF_INET, 0);
	run(fx, TC_OUT, buf, 14 + 20 + 4); /* ICMP header only */
	/* (the skb test run refuses frames cut inside the IP header: those go to XDP only) */
	run(fx, TC_OUT, buf, 14 + 20 + 8 + 10); /* the quote's IP header cut */
	len = build_unreach(buf, PL_AF_INET, 0);
	buf[14 + 20 + 8] = 0x44; /* quoted IHL 4 */
	run(fx, TC_OUT, buf, len);
	srand(21);
	for (int i = 0; i < 300; i++) {
		__u8 junk[96];
		len = frame_build_tcp(junk, sizeof(junk), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1,
				      2, PL_TCP_SYN, 0);
		for (size_t j = 14; j < sizeof(junk); j++)
			if (rand() % 4 == 0)
				junk[j] = (__u8)rand();
		run(fx, (i & 1) ? TC_IN : TC_OUT, junk, 34 + (size_t)(rand() % 62));
		run(fx, XDP_FLOWS, junk, 14 + (size_t)(rand() % 82));
	}
	drain(fx);
	struct sec_counters c = counters(fx);
	assert_int_equal(c.events_lost, 0);
	/* the events that were sent were well formed */
	for (size_t i = 0; i < fx->n_ev; i++) {
		assert_true(fx->ev[i].kind >= PL_SEC_PROBE && fx->ev[i].kind < PL_SEC_KIND_MAX);
		assert_true(fx->ev[i].family == PL_AF_INET || fx->ev[i].family == PL_AF_INET6);
	}
}

int main(void)
{
	libbpf_set_print(libbpf_print);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deny, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longest_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect_udp_icmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect_dns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect_malformed, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (skip_reason[0] && !failed)
		return 77;
	return failed;
}
