/* BPF_PROG_TEST_RUN tests of the XDP and tc flow programs: crafted frames in, maps checked. */

/*
 * Every test loads a fresh object (only the three packet programs), feeds
 * frames from tests/frames.h one run at a time and compares the maps with
 * what was fed: the test's own frame count and lengths are the ground truth.
 * Without permission to load BPF every test is skipped and the binary exits
 * 77. Build by hand while the rest of the tree is in flux:
 *
 *   cc -std=gnu11 -g -Wall -Wextra -Werror -Iinclude -Isrc -Ibpf -Ibuild -Itests \
 *      tests/bpf/test_prog_run.c -o /tmp/test_prog_run -lbpf -lelf -lz -lcmocka
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
#include <sys/epoll.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pktlens.skel.h"
#include "shared/flow.h"
#include "shared/l7.h"
#include "frames.h"

#define MAX_FLOWS 64
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, returned when a program type has no test run */
#endif

/* Why loading was refused, once for the whole run; empty when BPF works. */
static char skip_reason[160];

struct fixture {
	struct pktlens_bpf *skel;
	unsigned int lo; /* test runs happen on the loopback device of the caller's netns */
};

enum hook_prog { XDP, TC_IN, TC_OUT };

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* the verifier log arrives at WARN level when a program is rejected */
	if (level > LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static struct pktlens_bpf *load_skel(int *err)
{
	struct pktlens_bpf *skel = pktlens_bpf__open();
	if (!skel) {
		*err = -errno;
		return NULL;
	}
	/* only the packet programs are under test; the others have their own tests */
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj)
	{
		bpf_program__set_autoload(prog, prog == skel->progs.xdp_flows ||
						    prog == skel->progs.tc_ingress_flows ||
						    prog == skel->progs.tc_egress_flows);
	}
	*err = pktlens_bpf__load(skel);
	if (*err) {
		pktlens_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	fx->lo = if_nametoindex("lo");
	if (!skip_reason[0]) {
		int err;
		fx->skel = load_skel(&err);
		if (!fx->skel) {
			if (err != -EPERM && err != -EACCES) {
				fprintf(stderr, "loading pktlens BPF object: %s\n", strerror(-err));
				free(fx);
				return -1;
			}
			snprintf(skip_reason, sizeof(skip_reason),
				 "not permitted to load BPF programs (%s)", strerror(-err));
		}
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
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
	struct bpf_program *p = h == XDP     ? fx->skel->progs.xdp_flows
				: h == TC_IN ? fx->skel->progs.tc_ingress_flows
					     : fx->skel->progs.tc_egress_flows;
	return bpf_program__fd(p);
}

/* One test run of one frame; gso_segs > 0 makes tc see a GSO aggregate of that many segments. */
static void run_segs(struct fixture *fx, enum hook_prog h, const __u8 *frame, size_t len,
		     __u32 gso_segs)
{
	struct __sk_buff skb_ctx;
	memset(&skb_ctx, 0, sizeof(skb_ctx));
	skb_ctx.gso_segs = gso_segs;
	/* the kernel rejects a GSO skb without a segment size */
	skb_ctx.gso_size = gso_segs ? 100 : 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .repeat = 1);
	if (h != XDP && gso_segs) {
		opts.ctx_in = &skb_ctx;
		opts.ctx_size_in = sizeof(skb_ctx);
	}
	int err = bpf_prog_test_run_opts(prog_fd(fx, h), &opts);
	if (err == -EPERM || err == -ENOTSUPP || err == -EOPNOTSUPP) {
		fprintf(stderr, "skipped: BPF_PROG_TEST_RUN refused (%s)\n", strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	/* pktlens only observes: every frame must go on */
	/* tc: TC_ACT_UNSPEC, so that filters and tcx programs after pktlens still run */
	assert_int_equal((int)opts.retval, h == XDP ? XDP_PASS : TC_ACT_UNSPEC);
}

static void run(struct fixture *fx, enum hook_prog h, const __u8 *frame, size_t len)
{
	run_segs(fx, h, frame, len, 0);
}

static void read_counters(struct fixture *fx, struct pl_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	assert_true(ncpu > 0);
	struct pl_counters *per = calloc((size_t)ncpu, sizeof(*per));
	assert_non_null(per);
	__u32 zero = 0;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.counters), &zero, per), 0);
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < ncpu; c++) {
		for (int i = 0; i < PL_P_MAX; i++) {
			sum->packets[i] += per[c].packets[i];
			sum->bytes[i] += per[c].bytes[i];
		}
		for (int i = 0; i < PL_M_MAX; i++)
			sum->malformed[i] += per[c].malformed[i];
		sum->flow_table_full += per[c].flow_table_full;
		sum->events_lost += per[c].events_lost;
		for (int d = 0; d < 2; d++) {
			sum->ip_packets[d] += per[c].ip_packets[d];
			sum->ip_bytes[d] += per[c].ip_bytes[d];
		}
		sum->flows_created += per[c].flows_created;
		sum->dirty_lost += per[c].dirty_lost;
	}
	free(per);
}

static size_t read_flows(struct fixture *fx, struct flow_key *keys, struct flow_val *vals)
{
	int fd = bpf_map__fd(fx->skel->maps.flows);
	struct flow_key k, next;
	size_t n = 0;
	const void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		assert_true(n < MAX_FLOWS);
		keys[n] = next;
		assert_int_equal(bpf_map_lookup_elem(fd, &next, &vals[n]), 0);
		n++;
		k = next;
		prev = &k;
	}
	return n;
}

/* The single flow the test expects, with every key field compared. */
static struct flow_val only_flow(struct fixture *fx, const struct flow_key *want)
{
	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	size_t n = read_flows(fx, keys, vals);
	assert_int_equal(n, 1);
	assert_int_equal(keys[0].family, want->family);
	assert_int_equal(keys[0].proto, want->proto);
	assert_int_equal(keys[0].ifindex, want->ifindex);
	assert_memory_equal(keys[0].local, want->local, 16);
	assert_memory_equal(keys[0].remote, want->remote, 16);
	assert_int_equal(keys[0].local_port, want->local_port);
	assert_int_equal(keys[0].remote_port, want->remote_port);
	assert_memory_equal(keys[0].pad, want->pad, sizeof(want->pad));
	return vals[0];
}

static struct flow_key make_key(unsigned int ifindex, int family, int proto, const __u8 *local,
				__u16 local_port, const __u8 *remote, __u16 remote_port)
{
	struct flow_key k;
	size_t alen = family == PL_AF_INET6 ? 16 : 4;
	memset(&k, 0, sizeof(k));
	k.ifindex = ifindex;
	k.family = (__u8)family;
	k.proto = (__u8)proto;
	memcpy(k.local, local, alen);
	memcpy(k.remote, remote, alen);
	k.local_port = local_port;
	k.remote_port = remote_port;
	return k;
}

static __u64 clock_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Only the buckets named here may be non-zero, and nothing may be malformed. */
static void assert_buckets(const struct pl_counters *c, const __u64 *packets, const __u64 *bytes)
{
	for (int i = 0; i < PL_P_MAX; i++) {
		if (packets[i] != c->packets[i] || bytes[i] != c->bytes[i])
			fail_msg("bucket %d: %llu packets %llu bytes, want %llu and %llu", i,
				 (unsigned long long)c->packets[i], (unsigned long long)c->bytes[i],
				 (unsigned long long)packets[i], (unsigned long long)bytes[i]);
	}
	for (int i = 0; i < PL_M_MAX; i++)
		assert_int_equal(c->malformed[i], 0);
	assert_int_equal(c->flow_table_full, 0);
}

/* A TCP conversation received by XDP: local is the destination of what arrives. */
static void test_xdp_tcp4(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 syn[FRAME_MAX], data[FRAME_MAX];
	struct frame f;

	size_t syn_len = frame_build_tcp(syn, sizeof(syn), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
					 40000, 80, PL_TCP_SYN, 0);
	frame_init(&f, data, sizeof(data));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_tcp(&f, 40000, 80, 1001, 5001, PL_TCP_PSH | PL_TCP_ACK, 500, 12);
	frame_payload(&f, NULL, 300);
	size_t data_len = frame_finish(&f);

	/* the flow's stamps are bpf_ktime_get_coarse_ns(), which is CLOCK_MONOTONIC_COARSE */
	__u64 t0 = clock_ns(CLOCK_MONOTONIC_COARSE);
	run(fx, XDP, syn, syn_len);
	run(fx, XDP, data, data_len);
	run(fx, XDP, data, data_len);
	__u64 t1 = clock_ns(CLOCK_MONOTONIC_COARSE);

	struct flow_key want = make_key(fx->lo, PL_AF_INET, 6, FRAME_IP4_B, 80, FRAME_IP4_A, 40000);
	struct flow_val v = only_flow(fx, &want);
	assert_int_equal(v.rx_packets, 3);
	assert_int_equal(v.rx_bytes, syn_len + 2 * data_len);
	assert_int_equal(v.tx_packets, 0);
	assert_int_equal(v.tx_bytes, 0);
	assert_int_equal(v.tcp_flags, PL_TCP_SYN | PL_TCP_PSH | PL_TCP_ACK);
	/* both stamps fall inside the runs, as the same clock saw them */
	assert_in_range(v.first_seen_ns, t0, t1);
	assert_in_range(v.last_seen_ns, v.first_seen_ns, t1);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_TCP] = 3 };
	__u64 bytes[PL_P_MAX] = { [PL_P_TCP] = syn_len + 2 * data_len };
	assert_buckets(&c, packets, bytes);
}

/* The same conversation seen by tc ingress over IPv6. */
static void test_tc_ingress_tcp6(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];

	size_t len1 = frame_build_tcp(buf, sizeof(buf), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B,
				      51000, 443, PL_TCP_SYN, 0);
	run(fx, TC_IN, buf, len1);
	size_t len2 = frame_build_tcp(buf, sizeof(buf), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B,
				      51000, 443, PL_TCP_FIN | PL_TCP_ACK, 1200);
	run(fx, TC_IN, buf, len2);

	struct flow_key want =
	    make_key(fx->lo, PL_AF_INET6, 6, FRAME_IP6_B, 443, FRAME_IP6_A, 51000);
	struct flow_val v = only_flow(fx, &want);
	assert_int_equal(v.rx_packets, 2);
	assert_int_equal(v.rx_bytes, len1 + len2);
	assert_int_equal(v.tx_packets, 0);
	assert_int_equal(v.tcp_flags, PL_TCP_SYN | PL_TCP_FIN | PL_TCP_ACK);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_TCP] = 2 };
	__u64 bytes[PL_P_MAX] = { [PL_P_TCP] = len1 + len2 };
	assert_buckets(&c, packets, bytes);
}

/* Egress: local is the source of what leaves. */
static void test_tc_egress_udp4(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	size_t total = 0;

	for (size_t i = 0; i < 5; i++) {
		size_t len = frame_build_udp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
					     33000, 53, 10 * i);
		run(fx, TC_OUT, buf, len);
		total += len;
	}

	struct flow_key want =
	    make_key(fx->lo, PL_AF_INET, 17, FRAME_IP4_A, 33000, FRAME_IP4_B, 53);
	struct flow_val v = only_flow(fx, &want);
	assert_int_equal(v.tx_packets, 5);
	assert_int_equal(v.tx_bytes, total);
	assert_int_equal(v.rx_packets, 0);
	assert_int_equal(v.rx_bytes, 0);
	assert_int_equal(v.tcp_flags, 0);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_UDP] = 5 };
	__u64 bytes[PL_P_MAX] = { [PL_P_UDP] = total };
	assert_buckets(&c, packets, bytes);
}

/* Both directions of one conversation land on one key, and their TCP flags are OR'd. */
static void test_both_directions_one_flow(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 out[FRAME_MAX], in[FRAME_MAX];

	/* this host is A: it sends a SYN and receives a SYN-ACK */
	size_t out_len = frame_build_tcp(out, sizeof(out), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
					 40000, 80, PL_TCP_SYN, 0);
	size_t in_len = frame_build_tcp(in, sizeof(in), PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A, 80,
					40000, PL_TCP_SYN | PL_TCP_ACK | PL_TCP_ECE, 0);
	run(fx, TC_OUT, out, out_len);
	run(fx, TC_IN, in, in_len);
	run(fx, TC_OUT, out, out_len);

	struct flow_key want = make_key(fx->lo, PL_AF_INET, 6, FRAME_IP4_A, 40000, FRAME_IP4_B, 80);
	struct flow_val v = only_flow(fx, &want);
	assert_int_equal(v.tx_packets, 2);
	assert_int_equal(v.tx_bytes, 2 * out_len);
	assert_int_equal(v.rx_packets, 1);
	assert_int_equal(v.rx_bytes, in_len);
	assert_int_equal(v.tcp_flags, PL_TCP_SYN | PL_TCP_ACK | PL_TCP_ECE);
}

/* A GSO aggregate counts as its segments, its bytes as the skb length tc sees. */
static void test_tc_gso_segs(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	size_t len = frame_build_tcp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000,
				     80, PL_TCP_ACK, 1000);

	run_segs(fx, TC_OUT, buf, len, 10);
	run(fx, TC_OUT, buf, len);

	struct flow_key want = make_key(fx->lo, PL_AF_INET, 6, FRAME_IP4_A, 40000, FRAME_IP4_B, 80);
	struct flow_val v = only_flow(fx, &want);
	assert_int_equal(v.tx_packets, 11);
	assert_int_equal(v.tx_bytes, 2 * len);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_TCP] = 11 };
	__u64 bytes[PL_P_MAX] = { [PL_P_TCP] = 2 * len };
	assert_buckets(&c, packets, bytes);

	/* a malformed aggregate is as many malformed wire packets */
	buf[34 + 12] = 0x30; /* data offset 3 */
	run_segs(fx, TC_IN, buf, len, 4);
	read_counters(fx, &c);
	assert_int_equal(c.malformed[PL_M_TCP_DOFF], 4);
	assert_int_equal(c.packets[PL_P_TCP], 11);
}

/* ICMP echo: the id stands in for both ports, so request and reply share a flow. */
static void test_icmp_echo(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 req[FRAME_MAX], rep[FRAME_MAX];
	struct frame f;

	size_t req_len = frame_build_icmp_echo(req, sizeof(req), PL_AF_INET, FRAME_IP4_A,
					       FRAME_IP4_B, 0x4242, 1, 56);
	frame_init(&f, rep, sizeof(rep));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
	frame_icmp(&f, 0, 0, 0x4242, 1);
	frame_payload(&f, NULL, 56);
	size_t rep_len = frame_finish(&f);
	run(fx, TC_OUT, req, req_len);
	run(fx, XDP, rep, rep_len);

	struct flow_key want =
	    make_key(fx->lo, PL_AF_INET, 1, FRAME_IP4_A, 0x4242, FRAME_IP4_B, 0x4242);
	struct flow_val v = only_flow(fx, &want);
	assert_int_equal(v.tx_packets, 1);
	assert_int_equal(v.tx_bytes, req_len);
	assert_int_equal(v.rx_packets, 1);
	assert_int_equal(v.rx_bytes, rep_len);
	assert_int_equal(v.tcp_flags, 0);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_ICMP] = 2 };
	__u64 bytes[PL_P_MAX] = { [PL_P_ICMP] = req_len + rep_len };
	assert_buckets(&c, packets, bytes);
}

static void test_icmp6_echo(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	size_t len =
	    frame_build_icmp_echo(buf, sizeof(buf), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 7, 1, 8);

	run(fx, TC_IN, buf, len);
	run(fx, TC_IN, buf, len);

	struct flow_key want = make_key(fx->lo, PL_AF_INET6, 58, FRAME_IP6_B, 7, FRAME_IP6_A, 7);
	struct flow_val v = only_flow(fx, &want);
	assert_int_equal(v.rx_packets, 2);
	assert_int_equal(v.rx_bytes, 2 * len);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_ICMP6] = 2 };
	__u64 bytes[PL_P_MAX] = { [PL_P_ICMP6] = 2 * len };
	assert_buckets(&c, packets, bytes);
}

/* VLAN tags are not part of the key; the bytes are the whole tagged frame. */
static void test_vlan_qinq(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x88A8, 100);
	frame_vlan(&f, 0x8100, 200);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_tcp(&f, 40000, 22, 1, 2, PL_TCP_ACK, 3, 0);
	frame_payload(&f, NULL, 64);
	size_t len = frame_finish(&f);
	assert_int_equal(len, 22 + 20 + 20 + 64);

	run(fx, XDP, buf, len);
	run(fx, TC_IN, buf, len);

	struct flow_key want = make_key(fx->lo, PL_AF_INET, 6, FRAME_IP4_B, 22, FRAME_IP4_A, 40000);
	struct flow_val v = only_flow(fx, &want);
	/* no rx_owner entry: tc ingress counts as well as XDP */
	assert_int_equal(v.rx_packets, 2);
	assert_int_equal(v.rx_bytes, 2 * len);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_TCP] = 2 };
	__u64 bytes[PL_P_MAX] = { [PL_P_TCP] = 2 * len };
	assert_buckets(&c, packets, bytes);
}

static void test_ip6_ext_headers(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0);
	frame_ip6_ext(&f, PL_IPPROTO_ROUTING, 2);
	frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 1);
	frame_udp(&f, 5000, 6000);
	frame_payload(&f, NULL, 20);
	size_t len = frame_finish(&f);

	run(fx, XDP, buf, len);
	run(fx, TC_OUT, buf, len);

	/* one frame seen received and sent makes two flows: local differs */
	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	assert_int_equal(read_flows(fx, keys, vals), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(keys[i].proto, 17);
		assert_int_equal(keys[i].family, PL_AF_INET6);
		int rx = keys[i].local_port == 6000;
		if (rx) {
			assert_memory_equal(keys[i].local, FRAME_IP6_B, 16);
			assert_int_equal(keys[i].remote_port, 5000);
			assert_int_equal(vals[i].rx_packets, 1);
			assert_int_equal(vals[i].rx_bytes, len);
			assert_int_equal(vals[i].tx_packets, 0);
		} else {
			assert_int_equal(keys[i].local_port, 5000);
			assert_memory_equal(keys[i].local, FRAME_IP6_A, 16);
			assert_int_equal(keys[i].remote_port, 6000);
			assert_int_equal(vals[i].tx_packets, 1);
			assert_int_equal(vals[i].tx_bytes, len);
			assert_int_equal(vals[i].rx_packets, 0);
		}
	}
	assert_int_not_equal(keys[0].local_port, keys[1].local_port);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_UDP] = 2 };
	__u64 bytes[PL_P_MAX] = { [PL_P_UDP] = 2 * len };
	assert_buckets(&c, packets, bytes);
}

/*
 * Fragments: the first one carries the ports and counts as UDP; later ones
 * have no transport header, count in the other-IP bucket and land on a
 * flow of the same protocol with both ports 0.
 */
static void test_fragments(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 first[FRAME_MAX], later[FRAME_MAX], later6[FRAME_MAX];
	struct frame f;

	frame_init(&f, first, sizeof(first));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_ip4_frag(&f, 0, 1);
	frame_udp(&f, 4000, 4001);
	frame_payload(&f, NULL, 1472);
	size_t first_len = frame_finish(&f);
	/* as the stack writes it: the whole datagram's length, more than this fragment holds */
	first[34 + 4] = (8 + 1472 + 500) >> 8;
	first[34 + 5] = (__u8)(8 + 1472 + 500);

	frame_init(&f, later, sizeof(later));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_ip4_frag(&f, 1480, 0);
	frame_ip_proto(&f, PL_IPPROTO_UDP);
	frame_payload(&f, NULL, 500);
	size_t later_len = frame_finish(&f);

	frame_init(&f, later6, sizeof(later6));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_frag(&f, 1448, 1, 99);
	frame_ip_proto(&f, PL_IPPROTO_UDP);
	frame_payload(&f, NULL, 64);
	size_t later6_len = frame_finish(&f);

	run(fx, XDP, first, first_len);
	run(fx, XDP, later, later_len);
	run(fx, TC_IN, later6, later6_len);

	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	size_t n = read_flows(fx, keys, vals);
	assert_int_equal(n, 3);
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(keys[i].proto, 17);
		assert_int_equal(vals[i].rx_packets, 1);
		if (keys[i].family == PL_AF_INET6) {
			seen |= 1;
			assert_memory_equal(keys[i].local, FRAME_IP6_B, 16);
			assert_int_equal(keys[i].local_port, 0);
			assert_int_equal(keys[i].remote_port, 0);
			assert_int_equal(vals[i].rx_bytes, later6_len);
		} else if (keys[i].local_port) {
			seen |= 2;
			assert_int_equal(keys[i].local_port, 4001);
			assert_int_equal(keys[i].remote_port, 4000);
			assert_int_equal(vals[i].rx_bytes, first_len);
		} else {
			seen |= 4;
			assert_memory_equal(keys[i].local, FRAME_IP4_B, 4);
			assert_int_equal(keys[i].remote_port, 0);
			assert_int_equal(vals[i].rx_bytes, later_len);
		}
	}
	assert_int_equal(seen, 7);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_UDP] = 1, [PL_P_OTHER_IP] = 2 };
	__u64 bytes[PL_P_MAX] = {
		[PL_P_UDP] = first_len, [PL_P_OTHER_IP] = later_len + later6_len
	};
	assert_buckets(&c, packets, bytes);
}

static void test_non_ip(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	size_t len = frame_build_arp(buf, sizeof(buf));

	run(fx, XDP, buf, len);
	run(fx, TC_IN, buf, len);
	run(fx, TC_OUT, buf, len);

	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	assert_int_equal(read_flows(fx, keys, vals), 0);
	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_NON_IP] = 3 };
	__u64 bytes[PL_P_MAX] = { [PL_P_NON_IP] = 3 * len };
	assert_buckets(&c, packets, bytes);
}

/* When XDP owns rx on an interface, tc ingress there must not count the same packet again. */
static void test_rx_owner(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	size_t len =
	    frame_build_udp(buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2, 0);
	int fd = bpf_map__fd(fx->skel->maps.rx_owner);
	__u32 ifindex = fx->lo, owner = PL_RX_XDP;

	assert_int_equal(bpf_map_update_elem(fd, &ifindex, &owner, BPF_ANY), 0);
	fx->skel->bss->xdp_count = 1;
	run(fx, TC_IN, buf, len);
	run(fx, TC_OUT, buf, len); /* egress is never XDP's */

	struct pl_counters c;
	read_counters(fx, &c);
	assert_int_equal(c.packets[PL_P_UDP], 1);

	owner = PL_RX_TC;
	assert_int_equal(bpf_map_update_elem(fd, &ifindex, &owner, BPF_ANY), 0);
	run(fx, TC_IN, buf, len);
	read_counters(fx, &c);
	assert_int_equal(c.packets[PL_P_UDP], 2);

	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	size_t n = read_flows(fx, keys, vals);
	assert_int_equal(n, 2);
	__u64 rx = 0, tx = 0;
	for (size_t i = 0; i < n; i++) {
		rx += vals[i].rx_packets;
		tx += vals[i].tx_packets;
	}
	assert_int_equal(rx, 1);
	assert_int_equal(tx, 1);
}

struct malformed_case {
	const char *name;
	int kind;
	__u8 frame[FRAME_MAX];
	size_t len;
};

/* One frame per malformed kind that a test run can carry (it needs at least an Ethernet header). */
static size_t build_malformed(struct malformed_case *mc, size_t max)
{
	struct frame f;
	size_t n = 0;
	__u8 *b;

#define NEXT(kind_)                                                                      \
	(assert_true(n < max), mc[n].name = #kind_, mc[n].kind = kind_, b = mc[n].frame, \
	 frame_init(&f, b, FRAME_MAX))

	NEXT(PL_M_VLAN_TRUNC);
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x8100, 5);
	mc[n++].len = 16;

	NEXT(PL_M_IP4_TRUNC);
	mc[n++].len =
	    frame_build_udp(b, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2, 0) - 8 - 1;

	NEXT(PL_M_IP4_IHL);
	mc[n].len = frame_build_udp(b, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2, 0);
	b[14] = 0x65; /* version 6 in an IPv4 EtherType */
	n++;

	NEXT(PL_M_IP4_LEN);
	mc[n].len = frame_build_udp(b, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2, 0);
	b[16] = 0;
	b[17] = 19;
	n++;

	NEXT(PL_M_IP6_TRUNC);
	frame_build_udp(b, FRAME_MAX, PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 1, 2, 0);
	mc[n++].len = 14 + 39;

	NEXT(PL_M_IP6_EXT);
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	for (int i = 0; i < PL_IP6_EXT_MAX + 1; i++)
		frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 0);
	frame_udp(&f, 1, 2);
	mc[n++].len = frame_finish(&f);

	NEXT(PL_M_TCP_TRUNC);
	mc[n++].len = frame_build_tcp(b, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2,
				      PL_TCP_SYN, 0) -
		      1;

	NEXT(PL_M_TCP_DOFF);
	mc[n].len = frame_build_tcp(b, FRAME_MAX, PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 1, 2,
				    PL_TCP_SYN, 0);
	b[54 + 12] = 0x40;
	n++;

	NEXT(PL_M_UDP_TRUNC);
	mc[n++].len =
	    frame_build_udp(b, FRAME_MAX, PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 1, 2, 0) - 1;

	NEXT(PL_M_ICMP_TRUNC);
	mc[n++].len =
	    frame_build_icmp_echo(b, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 1, 0) - 5;

	NEXT(PL_M_IP6_VER);
	mc[n].len = frame_build_udp(b, FRAME_MAX, PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 1, 2, 0);
	b[14] = (b[14] & 0x0f) | 0x40; /* version 4 behind an IPv6 EtherType */
	n++;

	NEXT(PL_M_UDP_LEN);
	mc[n].len = frame_build_udp(b, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 1, 2, 20);
	b[34 + 4] = 0;
	b[34 + 5] = 29; /* one byte more than the IP packet holds */
	n++;
#undef NEXT
	return n;
}

/* Each malformed frame is counted once, by kind, in no protocol bucket and in no flow. */
static void test_malformed(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	static struct malformed_case mc[16];
	size_t n = build_malformed(mc, 16);
	assert_int_equal(n, PL_M_MAX - 2); /* all kinds but NONE and ETH_TRUNC */

	__u64 want[PL_M_MAX] = { 0 };
	for (int h = XDP; h <= TC_OUT; h++) {
		for (size_t i = 0; i < n; i++) {
			/* the parser is the independent check that each frame is what it claims */
			struct pl_pkt p;
			memset(&p, 0, sizeof(p));
			if (pl_parse(mc[i].frame, mc[i].frame + mc[i].len, &p) != mc[i].kind)
				fail_msg("%s: frame does not parse as that kind", mc[i].name);
			/*
			 * The skb test run refuses an IP EtherType whose fixed IP
			 * header is cut (-EINVAL), so those frames only reach XDP
			 * here; e2e traffic covers tc.
			 */
			if (h != XDP &&
			    (mc[i].kind == PL_M_IP4_TRUNC || mc[i].kind == PL_M_IP6_TRUNC))
				continue;
			run(fx, (enum hook_prog)h, mc[i].frame, mc[i].len);
			want[mc[i].kind]++;

			struct pl_counters c;
			read_counters(fx, &c);
			for (int k = 0; k < PL_M_MAX; k++) {
				if (c.malformed[k] != want[k])
					fail_msg(
					    "hook %d after %s: malformed[%d] = %llu, want %llu", h,
					    mc[i].name, k, (unsigned long long)c.malformed[k],
					    (unsigned long long)want[k]);
			}
			for (int b = 0; b < PL_P_MAX; b++)
				assert_int_equal(c.packets[b], 0);
		}
	}
	assert_int_equal(want[PL_M_IP4_TRUNC], 1);
	assert_int_equal(want[PL_M_IP6_TRUNC], 1);
	assert_int_equal(want[PL_M_TCP_DOFF], 3);
	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	assert_int_equal(read_flows(fx, keys, vals), 0);
}

/* Reads the malformed counters and compares every kind with want. */
static void assert_malformed(struct fixture *fx, const __u64 *want, const char *what)
{
	struct pl_counters c;
	read_counters(fx, &c);
	for (int k = 0; k < PL_M_MAX; k++) {
		if (c.malformed[k] != want[k])
			fail_msg("%s: malformed[%d] = %llu, want %llu", what, k,
				 (unsigned long long)c.malformed[k], (unsigned long long)want[k]);
	}
	for (int b = 0; b < PL_P_MAX; b++)
		assert_int_equal(c.packets[b], 0);
}

/*
 * An IP length of 0 only means "the skb's length" for a BIG TCP aggregate,
 * which is longer than a test run can carry: XDP and tc, GSO or not, count a
 * small frame that claims it as malformed (ip4_len, or a cut TCP header for
 * IPv6), as many times as it has segments, and make no flow of it.
 */
static void test_zero_ip_len(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 v4[FRAME_MAX], v6[FRAME_MAX];
	size_t len4 = frame_build_tcp(v4, sizeof(v4), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000,
				      80, PL_TCP_ACK, 1000);
	v4[16] = v4[17] = 0;
	size_t len6 = frame_build_tcp(v6, sizeof(v6), PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B, 40000,
				      80, PL_TCP_ACK, 1000);
	v6[18] = v6[19] = 0;
	__u64 want[PL_M_MAX] = { 0 };

	run(fx, XDP, v4, len4);
	want[PL_M_IP4_LEN] += 1;
	assert_malformed(fx, want, "IPv4 length 0 on XDP");
	run(fx, TC_IN, v4, len4);
	want[PL_M_IP4_LEN] += 1;
	assert_malformed(fx, want, "IPv4 length 0 on tc, no GSO");
	run_segs(fx, TC_OUT, v4, len4, 8);
	want[PL_M_IP4_LEN] += 8;
	assert_malformed(fx, want, "IPv4 length 0 on a small GSO skb");
	run(fx, XDP, v6, len6);
	run(fx, TC_IN, v6, len6);
	run_segs(fx, TC_IN, v6, len6, 3);
	want[PL_M_TCP_TRUNC] += 1 + 1 + 3;
	assert_malformed(fx, want, "IPv6 payload length 0");

	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	assert_int_equal(read_flows(fx, keys, vals), 0);
}

/* Extension headers beyond the IPv6 payload length (the frame carries more) are malformed. */
static void test_ip6_ext_beyond_payload(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip6(&f, FRAME_IP6_A, FRAME_IP6_B);
	frame_ip6_ext(&f, PL_IPPROTO_HOPOPTS, 0);
	frame_ip6_ext(&f, PL_IPPROTO_DSTOPTS, 1);
	frame_udp(&f, 5000, 53);
	frame_payload(&f, NULL, 40);
	size_t len = frame_finish(&f);
	/* the payload ends inside the destination options header */
	buf[14 + 4] = 0;
	buf[14 + 5] = 8 + 15;

	__u64 want[PL_M_MAX] = { 0 };
	run(fx, XDP, buf, len);
	run(fx, TC_IN, buf, len);
	run(fx, TC_OUT, buf, len);
	want[PL_M_IP6_EXT] = 3;
	assert_malformed(fx, want, "extension header beyond the payload length");
	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	assert_int_equal(read_flows(fx, keys, vals), 0);
}

struct l7_sink {
	struct l7_event ev[8];
	size_t size[8]; /* each record's size */
	int n;
};

static int on_l7_event(void *ctx, void *data, size_t size)
{
	struct l7_sink *s = ctx;
	/* records are cut after their data class: none (held HTTP responses), small or full */
	if ((size != PL_L7_EVENT_SIZE(0) && size != PL_L7_EVENT_SIZE(PL_L7_SMALL) &&
	     size != sizeof(struct l7_event)) ||
	    s->n >= 8)
		return -1;
	memset(&s->ev[s->n], 0, sizeof(struct l7_event));
	s->size[s->n] = size;
	memcpy(&s->ev[s->n++], data, size);
	return 0;
}

/*
 * DNS is read up to the UDP length, not the IP length: a query of 29 bytes
 * followed by 60 other bytes inside the IP packet (which the kernel trims
 * away) reaches user space as 29 bytes.
 */
static void test_l7_udp_length(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	static const __u8 query[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
				    "\x04real\x04test\x00\x00\x01\x00\x01";
	__u8 payload[sizeof(query) - 1 + 60];
	memcpy(payload, query, sizeof(query) - 1);
	memset(payload + sizeof(query) - 1, 0x41, 60);
	__u8 buf[FRAME_MAX];
	struct frame f;
	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_udp(&f, 33000, 53);
	frame_payload(&f, payload, sizeof(payload));
	size_t len = frame_finish(&f);
	buf[34 + 4] = 0;
	buf[34 + 5] = (__u8)(8 + sizeof(query) - 1);

	struct l7_sink sink = { .n = 0 };
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(fx->skel->maps.l7_events), on_l7_event, &sink, NULL);
	assert_non_null(rb);
	run(fx, TC_OUT, buf, len);
	ring_buffer__consume(rb);
	ring_buffer__free(rb);

	/* one PROTO event (the flow is new) and one DNS event */
	int dns = -1;
	for (int i = 0; i < sink.n; i++)
		if (sink.ev[i].kind == PL_L7K_DNS)
			dns = i;
	assert_int_equal(sink.n, 2);
	assert_true(dns >= 0);
	assert_int_equal(sink.ev[dns].payload_len, sizeof(query) - 1);
	assert_int_equal(sink.ev[dns].len, sizeof(query) - 1);
	assert_memory_equal(sink.ev[dns].data, query, sizeof(query) - 1);

	struct pl_counters c;
	read_counters(fx, &c);
	__u64 packets[PL_P_MAX] = { [PL_P_UDP] = 1 };
	__u64 bytes[PL_P_MAX] = { [PL_P_UDP] = len };
	assert_buckets(&c, packets, bytes);
}

/*
 * An HTTP/1.1 frame of n payload bytes starting with head, padded with 'x', between A:80 and
 * B:cport; out: A -> B.
 */
static size_t http_frame_port(__u8 *buf, int out, __u16 cport, __u32 seq, const char *head,
			      size_t n)
{
	__u8 pay[1200];
	memset(pay, 'x', sizeof(pay));
	memcpy(pay, head, strlen(head));
	struct frame f;
	frame_init(&f, buf, FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	if (out) {
		frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
		frame_tcp(&f, 80, cport, seq, 1, PL_TCP_ACK | PL_TCP_PSH, 500, 0);
	} else {
		frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
		frame_tcp(&f, cport, 80, seq, 1, PL_TCP_ACK | PL_TCP_PSH, 500, 0);
	}
	frame_payload(&f, pay, n);
	return frame_finish(&f);
}

static size_t http_frame(__u8 *buf, int out, __u32 seq, const char *head, size_t n)
{
	return http_frame_port(buf, out, 40000, seq, head, n);
}

static int count_l7(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(long *)ctx;
	return 0;
}

/*
 * L7 records are cut after their data class: a 300-byte request travels in a full record, an
 * 18-byte one in a small one (an 800-byte response in none: test_l7_held_responses). The
 * reader is woken once the unread bytes cross 1/16 of the ring, not for every record: an
 * epoll on the ring stays quiet below that and reports data past it.
 */
static void test_l7_records_and_wakeups(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct l7_sink sink = { .n = 0 };
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(fx->skel->maps.l7_events), on_l7_event, &sink, NULL);
	assert_non_null(rb);
	const char *req = "GET /long HTTP/1.1\r\nHost: a.test\r\nX-Pad: ";
	size_t len = http_frame(buf, 0, 1000, req, 300);
	memcpy(buf + len - 4, "\r\n\r\n", 4);
	run(fx, TC_IN, buf, len);
	ring_buffer__consume(rb);
	int q = -1;
	for (int i = 0; i < sink.n; i++)
		if (sink.ev[i].kind == PL_L7K_HTTP_REQ)
			q = i;
	assert_true(q >= 0);
	assert_int_equal(sink.size[q], sizeof(struct l7_event));
	assert_int_equal(sink.ev[q].len, 300);
	assert_int_equal(sink.ev[q].resp_status, 0);
	assert_memory_equal(sink.ev[q].data, req, strlen(req));
	ring_buffer__free(rb);

	long got = 0;
	rb = ring_buffer__new(bpf_map__fd(fx->skel->maps.l7_events), count_l7, &got, NULL);
	assert_non_null(rb);
	int ep = ring_buffer__epoll_fd(rb);
	struct epoll_event ev;
	/* a small request record: 160 bytes + the ring's 8-byte header */
	len = http_frame(buf, 0, 9000, "GET / HTTP/1.1\r\n\r\n", 18);
	long rec = (long)PL_L7_EVENT_SIZE(PL_L7_SMALL) + 8;
	long below = (4L << 20) / 16 / rec - 2;
	for (long i = 0; i < below; i++)
		run(fx, TC_IN, buf, len);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
	for (int i = 0; i < 4; i++)
		run(fx, TC_IN, buf, len);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 1);
	ring_buffer__consume(rb);
	assert_int_equal(got, below + 4);
	ring_buffer__free(rb);
}

/* A TCP frame without payload between A:80 and B:40000 (out: A -> B). */
static size_t tcp_bare_frame(__u8 *buf, int out, __u32 seq, __u8 flags)
{
	struct frame f;
	frame_init(&f, buf, FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	if (out) {
		frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
		frame_tcp(&f, 80, 40000, seq, 1, flags, 500, 0);
	} else {
		frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
		frame_tcp(&f, 40000, 80, seq, 1, flags, 500, 0);
	}
	return frame_finish(&f);
}

/* Send one frame through hook and read what the L7 ring then holds into a fresh sink. */
static void l7_step(struct fixture *fx, struct l7_sink *sink, enum hook_prog h, const __u8 *buf,
		    size_t len)
{
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(fx->skel->maps.l7_events), on_l7_event, sink, NULL);
	assert_non_null(rb);
	sink->n = 0;
	run(fx, h, buf, len);
	assert_true(ring_buffer__consume(rb) >= 0);
	ring_buffer__free(rb);
}

static void assert_carried(const struct l7_event *e, __u16 status, __u32 seq, __u64 after)
{
	assert_int_equal(e->resp_status, status);
	assert_int_equal(e->resp_dir, PL_DIR_TX);
	assert_int_equal(e->resp_seq, seq);
	assert_true(e->resp_ts >= after);
	assert_true(e->resp_ts <= e->ts_ns);
}

/* A small HTTP request from B:cport to A:80 (tc ingress of A). */
static size_t http_req_from(__u8 *buf, __u16 cport)
{
	static const char req[] = "GET / HTTP/1.1\r\n\r\n";
	return http_frame_port(buf, 0, cport, 1000, req, sizeof(req) - 1);
}

/* The sample bpf/lib/l7.bpf.h keeps under overload, as 4 bits of the ports' hash. */
static unsigned int sample_bits(__u16 local_port, __u16 remote_port)
{
	return (((__u32)local_port << 16 | remote_port) * 2654435761u) >> 28;
}

/* A client port whose flow to :80 has these sample bits under mask. */
static __u16 port_with(unsigned int mask, unsigned int want)
{
	for (__u32 p = 33000; p < 65535; p++)
		if ((sample_bits(80, (__u16)p) & mask) == want)
			return (__u16)p;
	fail_msg("no port with sample bits %u under %u", want, mask);
	return 0;
}

static struct l7_counters l7_stats(struct fixture *fx)
{
	int ncpu = libbpf_num_possible_cpus();
	struct l7_counters *per = calloc((size_t)ncpu, sizeof(*per)), sum = { 0 };
	assert_non_null(per);
	__u32 zero = 0;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.l7_stats), &zero, per), 0);
	for (int i = 0; i < ncpu; i++) {
		sum.events += per[i].events;
		sum.events_lost += per[i].events_lost;
		sum.sampled += per[i].sampled;
	}
	free(per);
	return sum;
}

struct port_count {
	long by_port[3];
	__u16 port[3];
};

static int count_by_port(void *ctx, void *data, size_t size)
{
	struct port_count *pc = ctx;
	const struct l7_event *e = data;
	(void)size;
	for (int i = 0; i < 3; i++)
		if (e->kind == PL_L7K_HTTP_REQ && e->key.remote_port == pc->port[i])
			pc->by_port[i]++;
	return 0;
}

/*
 * Overload: with 3/4 of the ring unread, a flow outside the sample (1 in 4 by its ports'
 * hash) sends nothing and counts as sampled, one inside sends on; past 7/8 the sample is
 * 1 in 16. Nothing is lost. Flow K is in both samples, Q only in the 1-in-4, D in neither.
 */
static void test_l7_overload_sample(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct port_count pc = { .port = { port_with(15, 0), port_with(15, 4), port_with(3, 1) } };
	long drained = 0;
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(fx->skel->maps.l7_events), count_l7, &drained, NULL);
	assert_non_null(rb);
	/* each flow's first packet also sends its protocol event: then an empty ring */
	for (int i = 0; i < 3; i++)
		run(fx, TC_IN, buf, http_req_from(buf, pc.port[i]));
	ring_buffer__consume(rb);
	assert_int_equal(drained, 6);
	ring_buffer__free(rb);
	rb = ring_buffer__new(bpf_map__fd(fx->skel->maps.l7_events), count_by_port, &pc, NULL);
	assert_non_null(rb);

	const long rec = (long)PL_L7_EVENT_SIZE(PL_L7_SMALL) + 8, ring = 4L << 20;
	long unread = 0, k = 0;
	size_t len = http_req_from(buf, pc.port[0]);
	for (; unread < ring / 4 * 3; unread += rec, k++)
		run(fx, TC_IN, buf, len);
	for (int i = 2; i >= 0; i--) /* D sampled, Q and K sent */
		run(fx, TC_IN, buf, http_req_from(buf, pc.port[i]));
	unread += 2 * rec;
	k++;
	struct l7_counters c = l7_stats(fx);
	assert_int_equal(c.sampled, 1);
	len = http_req_from(buf, pc.port[0]);
	for (; unread < ring / 8 * 7; unread += rec, k++)
		run(fx, TC_IN, buf, len);
	for (int i = 2; i >= 0; i--) /* D and Q sampled, K sent */
		run(fx, TC_IN, buf, http_req_from(buf, pc.port[i]));
	k++;
	c = l7_stats(fx);
	assert_int_equal(c.sampled, 3);
	assert_int_equal(c.events_lost, 0);
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	assert_int_equal(pc.by_port[0], k);
	assert_int_equal(pc.by_port[1], 1);
	assert_int_equal(pc.by_port[2], 0);
}

/*
 * HTTP responses (tc egress of the server A) send no record of their own: the flow holds the
 * parsed status line, and the client's next request carries it; the client's ACK, a second
 * response (pipelining) or a FIN sends a held one alone (PL_L7K_HTTP_HELD, no data). A cut
 * status line holds PL_L7_RESP_TRUNC, a malformed one PL_L7_RESP_BAD. Every response counts
 * once in l7_stats.events.
 */
static void test_l7_held_responses(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct l7_sink sink = { .n = 0 };
	static const char get[] = "GET / HTTP/1.1\r\n\r\n";
	size_t glen = sizeof(get) - 1;

	l7_step(fx, &sink, TC_IN, buf, http_frame(buf, 0, 1000, get, glen));
	assert_int_equal(sink.n, 2); /* the flow's protocol, then the request */
	assert_int_equal(sink.ev[1].kind, PL_L7K_HTTP_REQ);
	assert_int_equal(sink.ev[1].resp_status, 0);
	__u64 t0 = sink.ev[1].ts_ns;

	l7_step(fx, &sink, TC_OUT, buf,
		http_frame(buf, 1, 5000, "HTTP/1.1 404 Not Found\r\n", 800));
	assert_int_equal(sink.n, 0);
	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	assert_int_equal(read_flows(fx, keys, vals), 1);
	assert_int_not_equal(vals[0].l7.resp_tok, 0);
	assert_int_equal(vals[0].l7.resp_status, 404);

	/* the next request carries it */
	l7_step(fx, &sink, TC_IN, buf, http_frame(buf, 0, 1000 + glen, get, glen));
	assert_int_equal(sink.n, 1);
	assert_int_equal(sink.ev[0].kind, PL_L7K_HTTP_REQ);
	assert_carried(&sink.ev[0], 404, 5000, t0);
	assert_int_equal(read_flows(fx, keys, vals), 1);
	assert_int_equal(vals[0].l7.resp_tok, 0);
	__u64 t1 = sink.ev[0].ts_ns;

	/* a response, then the client's bare ACK: the response goes alone */
	l7_step(fx, &sink, TC_OUT, buf, http_frame(buf, 1, 5800, "HTTP/1.1 200 OK\r\n", 600));
	assert_int_equal(sink.n, 0);
	/* more of the response's own direction sends nothing */
	l7_step(fx, &sink, TC_OUT, buf, tcp_bare_frame(buf, 1, 6400, PL_TCP_ACK));
	assert_int_equal(sink.n, 0);
	l7_step(fx, &sink, TC_IN, buf, tcp_bare_frame(buf, 0, 1000 + 2 * glen, PL_TCP_ACK));
	assert_int_equal(sink.n, 1);
	assert_int_equal(sink.size[0], PL_L7_EVENT_SIZE(0));
	assert_int_equal(sink.ev[0].kind, PL_L7K_HTTP_HELD);
	assert_int_equal(sink.ev[0].len, 0);
	assert_int_equal(sink.ev[0].seq, 5800);
	assert_carried(&sink.ev[0], 200, 5800, t1);
	/* nothing held: a second ACK sends nothing */
	l7_step(fx, &sink, TC_IN, buf, tcp_bare_frame(buf, 0, 1000 + 2 * glen, PL_TCP_ACK));
	assert_int_equal(sink.n, 0);

	/* pipelined: a cut status line, then a malformed one, then the server's FIN */
	l7_step(fx, &sink, TC_OUT, buf, http_frame(buf, 1, 6400, "HTTP/1.1 20", 11));
	assert_int_equal(sink.n, 0);
	l7_step(fx, &sink, TC_OUT, buf, http_frame(buf, 1, 6411, "HTTP/1.1 6xx nope\r\n", 19));
	assert_int_equal(sink.n, 1);
	assert_carried(&sink.ev[0], PL_L7_RESP_TRUNC, 6400, t1);
	l7_step(fx, &sink, TC_OUT, buf, tcp_bare_frame(buf, 1, 6430, PL_TCP_ACK | PL_TCP_FIN));
	assert_int_equal(sink.n, 1);
	assert_carried(&sink.ev[0], PL_L7_RESP_BAD, 6411, t1);

	/* 2 requests and 4 responses, the protocol event */
	assert_int_equal(l7_stats(fx).events, 7);
	assert_int_equal(l7_stats(fx).events_lost, 0);
}

/*
 * A TLS record of type rtype on a TCP frame: 0x16 handshake (hs_type follows
 * the header, 64 bytes in all), or a 7-byte alert of level 2, description
 * hs_type, as OpenSSL refuses a ClientHello with.
 */
static size_t tls_frame(__u8 *buf, int out, __u32 seq, __u8 rtype, __u8 hs_type)
{
	__u8 rec[64];
	size_t n = rtype == 0x15 ? 7 : sizeof(rec);
	memset(rec, 0x5a, sizeof(rec));
	rec[0] = rtype;
	rec[1] = 0x03;
	rec[2] = 0x03;
	rec[3] = 0;
	rec[4] = (__u8)(n - 5);
	rec[5] = rtype == 0x15 ? 2 : hs_type;
	rec[6] = hs_type;
	struct frame f;
	frame_init(&f, buf, FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	if (out) {
		frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
		frame_tcp(&f, 40000, 443, seq, 1, PL_TCP_ACK | PL_TCP_PSH, 500, 0);
	} else {
		frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
		frame_tcp(&f, 443, 40000, seq, 1, PL_TCP_ACK | PL_TCP_PSH, 500, 0);
	}
	frame_payload(&f, rec, n);
	return frame_finish(&f);
}

/*
 * The first TLS record that comes back against a ClientHello (here a
 * ServerHello, then an alert on a second hello) is sent to user space as the
 * hello's answer, once; records that answer no hello are not.
 */
static void test_l7_tls_answer(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct l7_sink sink = { .n = 0 };
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(fx->skel->maps.l7_events), on_l7_event, &sink, NULL);
	assert_non_null(rb);
	int kinds[16], n = 0;

	/* a ServerHello with no hello before it, then the hello, its answer, a second record */
	size_t len = tls_frame(buf, 0, 100, 0x16, 0x02);
	run(fx, TC_IN, buf, len);
	len = tls_frame(buf, 1, 200, 0x16, 0x01);
	run(fx, TC_OUT, buf, len);
	len = tls_frame(buf, 0, 300, 0x16, 0x02);
	run(fx, TC_IN, buf, len);
	len = tls_frame(buf, 0, 400, 0x16, 0x0b);
	run(fx, TC_IN, buf, len);
	/* a hello refused with an alert (unrecognized_name), 7 bytes of payload */
	len = tls_frame(buf, 1, 500, 0x16, 0x01);
	run(fx, TC_OUT, buf, len);
	len = tls_frame(buf, 0, 600, 0x15, 112);
	run(fx, TC_IN, buf, len);
	for (;;) {
		sink.n = 0;
		if (ring_buffer__consume(rb) <= 0)
			break;
		for (int i = 0; i < sink.n && n < 16; i++)
			kinds[n++] = sink.ev[i].kind;
	}
	ring_buffer__free(rb);
	int want[] = { PL_L7K_PROTO, PL_L7K_TLS_HELLO, PL_L7K_TLS_ANSWER, PL_L7K_TLS_HELLO,
		       PL_L7K_TLS_ANSWER };
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (int i = 0; i < n; i++)
		if (kinds[i] != want[i])
			fail_msg("event %d is kind %d, want %d", i, kinds[i], want[i]);
}

/* A watched flow sends each packet through the ring buffer with its TCP fields. */
struct event_sink {
	struct pkt_event ev[8];
	int n;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct event_sink *s = ctx;
	if (size != sizeof(struct pkt_event) || s->n >= 8)
		return -1;
	memcpy(&s->ev[s->n++], data, sizeof(struct pkt_event));
	return 0;
}

static void test_watch_events(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 buf[FRAME_MAX];
	struct frame f;

	frame_init(&f, buf, sizeof(buf));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
	frame_tcp(&f, 80, 40000, 0xdeadbeef, 0x12345678, PL_TCP_ACK | PL_TCP_PSH, 4321, 0);
	frame_payload(&f, NULL, 10);
	size_t len = frame_finish(&f);

	struct flow_key key = make_key(fx->lo, PL_AF_INET, 6, FRAME_IP4_A, 40000, FRAME_IP4_B, 80);
	__u32 one = 1;
	assert_int_equal(
	    bpf_map_update_elem(bpf_map__fd(fx->skel->maps.watch), &key, &one, BPF_ANY), 0);
	fx->skel->bss->watch_count = 1;

	struct event_sink sink = { .n = 0 };
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(fx->skel->maps.events), on_event, &sink, NULL);
	assert_non_null(rb);
	run(fx, TC_IN, buf, len);
	/* another conversation is not watched */
	__u8 other[FRAME_MAX];
	size_t other_len = frame_build_tcp(other, sizeof(other), PL_AF_INET, FRAME_IP4_B,
					   FRAME_IP4_A, 81, 40000, PL_TCP_ACK, 0);
	run(fx, TC_IN, other, other_len);
	int got = ring_buffer__consume(rb);
	ring_buffer__free(rb);

	assert_int_equal(got, 1);
	assert_int_equal(sink.n, 1);
	struct pkt_event *e = &sink.ev[0];
	assert_memory_equal(&e->key, &key, sizeof(key));
	assert_int_equal(e->len, len);
	assert_int_equal(e->seq, 0xdeadbeef);
	assert_int_equal(e->ack, 0x12345678);
	assert_int_equal(e->window, 4321);
	assert_int_equal(e->dir, PL_DIR_RX);
	assert_int_equal(e->hook, PL_HOOK_TC_INGRESS);
	assert_int_equal(e->tcp_flags, PL_TCP_ACK | PL_TCP_PSH);
	assert_true(e->ts_ns > 0);

	struct pl_counters c;
	read_counters(fx, &c);
	assert_int_equal(c.events_lost, 0);
}

/* Records of flow_dirty: the flows that changed in an epoch. */
struct dirty_sink {
	struct flow_dirty rec[16];
	int n;
};

static int on_dirty(void *ctx, void *data, size_t size)
{
	struct dirty_sink *s = ctx;
	if (size != sizeof(struct flow_dirty) || s->n >= 16)
		return -1;
	memcpy(&s->rec[s->n++], data, sizeof(struct flow_dirty));
	return 0;
}

static int drain_dirty(struct fixture *fx, struct dirty_sink *sink)
{
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(fx->skel->maps.flow_dirty), on_dirty, sink, NULL);
	assert_non_null(rb);
	sink->n = 0;
	int got = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return got;
}

static int dirty_has(const struct dirty_sink *s, const struct flow_key *k, __u32 epoch)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		n += !memcmp(&s->rec[i].key, k, sizeof(*k)) && s->rec[i].epoch == epoch;
	return n;
}

/*
 * A flow queues its key once per epoch, on its first packet of the epoch, in
 * either direction; epoch 0 queues nothing. Insertions are counted, and IP
 * packets by direction whether or not a flow holds them (not ARP).
 */
static void test_dirty_queue_and_totals(void **state)
{
	struct fixture *fx = fixture_or_skip(state);
	__u8 rx[3][FRAME_MAX], tx[FRAME_MAX], arp[FRAME_MAX];
	size_t rx_len[3];
	struct flow_key key[3];
	struct dirty_sink sink;
	for (int i = 0; i < 3; i++) {
		rx_len[i] = frame_build_udp(rx[i], sizeof(rx[i]), PL_AF_INET, FRAME_IP4_B,
					    FRAME_IP4_A, (__u16)(5000 + i), 53, 10 + (size_t)i);
		key[i] = make_key(fx->lo, PL_AF_INET, 17, FRAME_IP4_A, 53, FRAME_IP4_B,
				  (__u16)(5000 + i));
	}
	size_t tx_len =
	    frame_build_udp(tx, sizeof(tx), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 53, 5000, 100);
	size_t arp_len = frame_build_arp(arp, sizeof(arp));

	/* epoch 0 (no reader): nothing is queued, everything is counted */
	run(fx, TC_IN, rx[0], rx_len[0]);
	assert_int_equal(drain_dirty(fx, &sink), 0);

	fx->skel->bss->flow_epoch = 1;
	for (int i = 0; i < 3; i++) {
		run(fx, TC_IN, rx[i], rx_len[i]);
		run(fx, TC_IN, rx[i], rx_len[i]);
	}
	run(fx, TC_OUT, tx, tx_len);
	run(fx, TC_IN, arp, arp_len);
	assert_int_equal(drain_dirty(fx, &sink), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dirty_has(&sink, &key[i], 1), 1);

	/* the next epoch: only the flow that had a packet, once, in the direction it came */
	fx->skel->bss->flow_epoch = 2;
	run(fx, TC_OUT, tx, tx_len);
	run(fx, TC_OUT, tx, tx_len);
	assert_int_equal(drain_dirty(fx, &sink), 1);
	assert_int_equal(dirty_has(&sink, &key[0], 2), 1);
	assert_int_equal(drain_dirty(fx, &sink), 0);

	struct pl_counters c;
	read_counters(fx, &c);
	assert_int_equal(c.flows_created, 3);
	assert_int_equal(c.ip_packets[PL_DIR_RX], 7);
	assert_int_equal(c.ip_bytes[PL_DIR_RX], rx_len[0] * 3 + (rx_len[1] + rx_len[2]) * 2);
	assert_int_equal(c.ip_packets[PL_DIR_TX], 3);
	assert_int_equal(c.ip_bytes[PL_DIR_TX], 3 * tx_len);
	assert_int_equal(c.packets[PL_P_NON_IP], 1);
	assert_int_equal(c.dirty_lost, 0);
	struct flow_key keys[MAX_FLOWS];
	struct flow_val vals[MAX_FLOWS];
	assert_int_equal(read_flows(fx, keys, vals), 3);
	for (int i = 0; i < 3; i++)
		assert_true(vals[i].epoch == 1 || vals[i].epoch == 2);
}

int main(void)
{
	libbpf_set_print(libbpf_print);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_xdp_tcp4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tc_ingress_tcp6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tc_egress_udp4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_directions_one_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tc_gso_segs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp6_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_qinq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ip6_ext_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fragments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_ip_len, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ip6_ext_beyond_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_l7_udp_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_l7_tls_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_l7_records_and_wakeups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_l7_overload_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_l7_held_responses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_queue_and_totals, setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("prog_run", tests, NULL, NULL);
	if (!failed && skip_reason[0]) {
		fprintf(stderr, "SKIP: %s\n", skip_reason);
		return 77;
	}
	return failed;
}
