/* BPF_PROG_TEST_RUN tests of packet capture (-w, the TUI's write key): records, snap length, malformed frames, a full ring. */

/*
 * Each test loads the packet programs with its own capture knobs, feeds frames from
 * tests/frames.h (and malformed byte sequences) and reads the capture ring: the test's own
 * frames are the ground truth for every record's bytes and lengths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pktlens.skel.h"
#include "shared/capture.h"
#include "shared/flow.h"
#include "frames.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

enum hook_prog { XDP, TC_IN, TC_OUT };

struct rec {
	struct pl_cap_hdr h;
	__u8 data[FRAME_MAX];
};

struct sink {
	struct rec r[64];
	int n;
};

static struct pktlens_bpf *skel;
static unsigned lo;
static int with_w; /* -w: the capturing tc programs (tc_*_flows_w) */

static int on_rec(void *ctx, void *data, size_t size)
{
	struct sink *s = ctx;
	const struct pl_cap_hdr *h = data;
	if (size < sizeof(*h) || size != sizeof(*h) + h->cap_len || s->n >= 64 ||
	    h->cap_len > FRAME_MAX)
		return -1;
	memcpy(&s->r[s->n++], data, size);
	return 0;
}

/* Loads the packet programs with capture_all and snaplen, a capture ring of ring bytes. */
static int load(__u32 all, __u32 snaplen, __u32 ring)
{
	lo = if_nametoindex("lo");
	skel = pktlens_bpf__open();
	if (!skel)
		return -errno;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj)
	{
		bpf_program__set_autoload(prog, prog == skel->progs.xdp_flows ||
						    prog == (all ? skel->progs.tc_ingress_flows_w
								 : skel->progs.tc_ingress_flows) ||
						    prog == (all ? skel->progs.tc_egress_flows_w
								 : skel->progs.tc_egress_flows));
	}
	with_w = (int)all;
	skel->rodata->capture_all = all;
	skel->rodata->capture_snaplen = snaplen;
	bpf_map__set_max_entries(skel->maps.capture, ring);
	bpf_map__set_max_entries(skel->maps.capture_buf, (__u32)libbpf_num_possible_cpus());
	int err = pktlens_bpf__load(skel);
	if (err) {
		pktlens_bpf__destroy(skel);
		skel = NULL;
	}
	return err;
}

static void load_or_skip(__u32 all, __u32 snaplen, __u32 ring)
{
	int err = load(all, snaplen, ring);
	if (err == -EPERM || err == -EACCES) {
		fprintf(stderr, "skipped: not permitted to load BPF programs (%s)\n",
			strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
}

static int teardown(void **state)
{
	pktlens_bpf__destroy(skel);
	skel = NULL;
	return 0;
}

static void run(enum hook_prog h, const void *frame, size_t len)
{
	struct bpf_program *p =
	    h == XDP	 ? skel->progs.xdp_flows
	    : h == TC_IN ? (with_w ? skel->progs.tc_ingress_flows_w : skel->progs.tc_ingress_flows)
			 : (with_w ? skel->progs.tc_egress_flows_w : skel->progs.tc_egress_flows);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(p), &opts);
	if (err == -EPERM || err == -ENOTSUPP || err == -EOPNOTSUPP) {
		fprintf(stderr, "skipped: BPF_PROG_TEST_RUN refused (%s)\n", strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	/* capture only observes: every frame goes on */
	assert_int_equal((int)opts.retval, h == XDP ? XDP_PASS : TC_ACT_UNSPEC);
}

static void drain(struct sink *s)
{
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.capture), on_rec, s, NULL);
	assert_non_null(rb);
	assert_true(ring_buffer__consume(rb) >= 0);
	ring_buffer__free(rb);
}

static struct pl_cap_stats stats(void)
{
	int n = libbpf_num_possible_cpus();
	struct pl_cap_stats *per = calloc((size_t)n, sizeof(*per)), sum = { 0, 0 };
	__u32 zero = 0;
	assert_non_null(per);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.capture_stats), &zero, per), 0);
	for (int i = 0; i < n; i++) {
		sum.captured += per[i].captured;
		sum.lost += per[i].lost;
	}
	free(per);
	return sum;
}

static void assert_rec(const struct rec *r, const void *frame, size_t len, size_t cap, int dir,
		       int hook)
{
	assert_int_equal(r->h.len, len);
	assert_int_equal(r->h.cap_len, cap);
	assert_int_equal(r->h.dir, dir);
	assert_int_equal(r->h.hook, hook);
	assert_int_equal(r->h.ifindex, lo);
	assert_int_equal(r->h.segs, 1);
	assert_true(r->h.ts_ns > 0);
	assert_memory_equal(r->data, frame, cap);
}

/* -w: every packet of both tc hooks, whole, in order, with its direction. */
static void test_all_packets(void **state)
{
	load_or_skip(1, PL_CAP_MAX, 1 << 20);
	__u8 a[FRAME_MAX], b[FRAME_MAX];
	size_t la =
	    frame_build_udp(a, sizeof(a), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 4000, 53, 100);
	size_t lb = frame_build_tcp(b, sizeof(b), PL_AF_INET6, FRAME_IP6_B, FRAME_IP6_A, 443, 50000,
				    PL_TCP_ACK | PL_TCP_PSH, 1200);
	run(TC_OUT, a, la);
	run(TC_IN, b, lb);
	/* XDP does not capture: tc ingress runs after it and captures there */
	run(XDP, b, lb);
	struct sink s = { .n = 0 };
	drain(&s);
	assert_int_equal(s.n, 2);
	assert_rec(&s.r[0], a, la, la, PL_DIR_TX, PL_HOOK_TC_EGRESS);
	assert_rec(&s.r[1], b, lb, lb, PL_DIR_RX, PL_HOOK_TC_INGRESS);
	assert_true(s.r[1].h.ts_ns >= s.r[0].h.ts_ns);
	struct pl_cap_stats st = stats();
	assert_int_equal(st.captured, 2);
	assert_int_equal(st.lost, 0);
}

/* -s: the first snaplen bytes, the whole length in the header. */
static void test_snaplen(void **state)
{
	load_or_skip(1, 64, 1 << 20);
	__u8 a[FRAME_MAX];
	size_t la = frame_build_tcp(a, sizeof(a), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000, 80,
				    PL_TCP_ACK, 1000);
	size_t small = frame_build_udp(a + 1100, sizeof(a) - 1100, PL_AF_INET, FRAME_IP4_A,
				       FRAME_IP4_B, 1, 2, 0); /* 42 bytes: whole */
	run(TC_OUT, a, la);
	run(TC_OUT, a + 1100, small);
	struct sink s = { .n = 0 };
	drain(&s);
	assert_int_equal(s.n, 2);
	assert_rec(&s.r[0], a, la, 64, PL_DIR_TX, PL_HOOK_TC_EGRESS);
	assert_rec(&s.r[1], a + 1100, small, small, PL_DIR_TX, PL_HOOK_TC_EGRESS);
}

/*
 * Frames the parser rejects are still on the wire: each is captured whole and the packet goes
 * on. Cut headers, a bad IHL, a TCP data offset beyond the frame, and random bytes.
 */
static void test_malformed(void **state)
{
	load_or_skip(1, PL_CAP_MAX, 1 << 20);
	static __u8 frames[40][FRAME_MAX];
	size_t lens[40];
	int n = 0;
	struct frame f;
	/*
	 * The test run refuses an IPv4 (IPv6) EtherType with less than a whole IPv4 (IPv6) header
	 * (EINVAL: net/bpf/test_run.c checks the network header); cut IP headers come behind a
	 * VLAN tag, which it does not look into.
	 */
	/* an Ethernet header and nothing else */
	frame_init(&f, frames[n], FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	frame_ethertype(&f, 0x88cc);
	lens[n++] = frame_finish(&f);
	/* IPv4 behind a VLAN tag, cut after 10 bytes */
	frame_init(&f, frames[n], FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x8100, 7);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_udp(&f, 1, 2);
	frame_finish(&f);
	lens[n++] = 18 + 10;
	/* IHL 3 */
	lens[n] =
	    frame_build_udp(frames[n], FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2, 10);
	frames[n][14] = 0x43;
	n++;
	/* TCP data offset 15 in a 20-byte header */
	lens[n] = frame_build_tcp(frames[n], FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2,
				  PL_TCP_ACK, 0);
	frames[n][14 + 20 + 12] = 0xf0;
	n++;
	/* IPv6 EtherType with a version 4 header */
	lens[n] =
	    frame_build_udp(frames[n], FRAME_MAX, PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 1, 2, 8);
	frames[n][14] = 0x45;
	n++;
	srand(16);
	while (n < 40) {
		lens[n] = 14 + (size_t)(rand() % 400);
		for (size_t i = 0; i < lens[n]; i++)
			frames[n][i] = (__u8)rand();
		/* half of them claim IPv4 or IPv6, so that the parser goes deeper */
		if (n % 2) {
			lens[n] = 54 + (size_t)(rand() % 360);
			for (size_t i = 0; i < lens[n]; i++)
				frames[n][i] = (__u8)rand();
			frames[n][12] = n % 4 == 1 ? 0x08 : 0x86;
			frames[n][13] = n % 4 == 1 ? 0x00 : 0xdd;
		}
		n++;
	}
	for (int i = 0; i < n; i++)
		run(i % 2 ? TC_IN : TC_OUT, frames[i], lens[i]);
	struct sink s = { .n = 0 };
	drain(&s);
	assert_int_equal(s.n, n);
	for (int i = 0; i < n; i++)
		assert_rec(&s.r[i], frames[i], lens[i], lens[i], i % 2 ? PL_DIR_RX : PL_DIR_TX,
			   i % 2 ? PL_HOOK_TC_INGRESS : PL_HOOK_TC_EGRESS);
}

/* A full ring never blocks: what does not fit is counted lost, exactly. */
static void test_ring_full(void **state)
{
	load_or_skip(1, PL_CAP_MAX, 4096);
	__u8 a[FRAME_MAX];
	size_t la = frame_build_udp(a, sizeof(a), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2, 1458);
	assert_int_equal(la, 1500);
	/* a ring record: 8-byte header, then ours, rounded up to 8 */
	size_t rec = (8 + sizeof(struct pl_cap_hdr) + la + 7) & ~(size_t)7;
	int fit = (int)(4096 / rec), runs = 10;
	for (int i = 0; i < runs; i++)
		run(TC_OUT, a, la);
	struct pl_cap_stats st = stats();
	assert_int_equal(st.captured, fit);
	assert_int_equal(st.lost, runs - fit);
	struct sink s = { .n = 0 };
	drain(&s);
	assert_int_equal(s.n, fit);
	/* room again */
	run(TC_OUT, a, la);
	drain(&s);
	assert_int_equal(s.n, fit + 1);
	assert_int_equal(stats().lost, runs - fit);
}

/* Without -w: the plain tc programs capture nothing, unless a flow's watch entry asks (the
 * TUI's key). */
static void test_flow_capture(void **state)
{
	load_or_skip(0, PL_CAP_MAX, 1 << 20);
	__u8 a[FRAME_MAX], b[FRAME_MAX];
	size_t la = frame_build_tcp(a, sizeof(a), PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A, 80, 40000,
				    PL_TCP_ACK, 20);
	size_t lb = frame_build_tcp(b, sizeof(b), PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A, 81, 40000,
				    PL_TCP_ACK, 20);
	run(TC_IN, a, la);
	run(TC_OUT, a, la);
	struct sink s = { .n = 0 };
	drain(&s);
	assert_int_equal(s.n, 0);
	assert_int_equal(stats().captured, 0);

	/* the flow as tc ingress keys it: local = destination */
	struct flow_key key;
	memset(&key, 0, sizeof(key));
	key.ifindex = lo;
	key.family = PL_AF_INET;
	key.proto = 6;
	memcpy(key.local, FRAME_IP4_A, 4);
	memcpy(key.remote, FRAME_IP4_B, 4);
	key.local_port = 40000;
	key.remote_port = 80;
	int wfd = bpf_map__fd(skel->maps.watch);
	__u32 watch_only = 1, cap = 1 | PL_WATCH_CAPTURE;
	assert_int_equal(bpf_map_update_elem(wfd, &key, &watch_only, BPF_ANY), 0);
	skel->bss->watch_count = 1;
	run(TC_IN, a, la);
	drain(&s);
	assert_int_equal(s.n, 0); /* watched (drill-down), not written */

	assert_int_equal(bpf_map_update_elem(wfd, &key, &cap, BPF_ANY), 0);
	run(TC_IN, a, la);
	run(XDP, a, la);
	run(TC_IN, b, lb); /* another flow */
	drain(&s);
	assert_int_equal(s.n, 2);
	assert_rec(&s.r[0], a, la, la, PL_DIR_RX, PL_HOOK_TC_INGRESS);
	assert_rec(&s.r[1], a, la, la, PL_DIR_RX, PL_HOOK_XDP);
	assert_int_equal(stats().captured, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_all_packets, teardown),
		cmocka_unit_test_teardown(test_snaplen, teardown),
		cmocka_unit_test_teardown(test_malformed, teardown),
		cmocka_unit_test_teardown(test_ring_full, teardown),
		cmocka_unit_test_teardown(test_flow_capture, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
