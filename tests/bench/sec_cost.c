/* Benchmark: ns/packet the detection adds to the flow programs, and the XDP firewall's own cost (BPF_PROG_TEST_RUN). */

/*
 * The flow programs call the detection unless the .bss knob sec_off is 1
 * (--alert off): the same loaded program measured both ways, interleaved
 * run by run so that a slow moment of this shared machine hits both. The
 * kernel times repeat runs of the program alone and divides. Frames: data
 * of a known TCP flow and a datagram of a known UDP flow (what nearly all
 * packets are: the detection returns after a few compares), and a SYN to a
 * local port (the whole path: the port's counters and an event; the ring
 * buffer is drained between runs so that it never fills). The firewall:
 * xdp_firewall with no rule, with 64 rules none of which matches, and on a
 * denied source.
 *
 * Usage: sec_cost [-r REPEAT] [-n RUNS]; prints one line per case with
 * the medians (ns), e.g. sudo build/bench/sec_cost -r 200000 -n 9
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pktlens.skel.h"
#include "shared/flow.h"
#include "shared/security.h"
#include "frames.h"

#define MAX_RUNS 64

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level > LIBBPF_WARN ? 0 : vfprintf(stderr, fmt, ap);
}

static int sink(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

static int run_ns(int fd, const void *pkt, size_t len, __u32 repeat, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);
	int ret = bpf_prog_test_run_opts(fd, &o);
	if (ret)
		return ret;
	*ns = (double)o.duration;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct frame_case {
	const char *name;
	__u8 buf[FRAME_MAX];
	size_t len;
	int events; /* sends detection events: fewer repeats, the ring drained */
};

int main(int argc, char **argv)
{
	__u32 repeat = 200000;
	int runs = 9, opt, rc = 1;
	while ((opt = getopt(argc, argv, "r:n:")) != -1) {
		if (opt == 'r')
			repeat = (__u32)strtoul(optarg, NULL, 0);
		else if (opt == 'n')
			runs = atoi(optarg);
		else {
			fprintf(stderr, "usage: %s [-r REPEAT] [-n RUNS]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || !repeat) {
		fprintf(stderr, "sec_cost: bad arguments\n");
		return 2;
	}
	libbpf_set_print(quiet_print);
	struct pktlens_bpf *skel = pktlens_bpf__open();
	if (!skel)
		return 1;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj)
	{
		bpf_program__set_autoload(prog, prog == skel->progs.xdp_flows ||
						    prog == skel->progs.tc_ingress_flows ||
						    prog == skel->progs.xdp_firewall);
	}
	if (pktlens_bpf__load(skel)) {
		fprintf(stderr, "sec_cost: loading pktlens' BPF programs failed: %s\n",
			strerror(errno));
		pktlens_bpf__destroy(skel);
		return 1;
	}
	struct ring_buffer *rb =
	    ring_buffer__new(bpf_map__fd(skel->maps.sec_events), sink, NULL, NULL);
	static struct frame_case fc[3];
	fc[0].name = "tcp_data_512";
	fc[0].len = frame_build_tcp(fc[0].buf, FRAME_MAX, PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A,
				    40001, 80, PL_TCP_ACK | PL_TCP_PSH, 512);
	fc[1].name = "udp_known_64";
	fc[1].len = frame_build_udp(fc[1].buf, FRAME_MAX, PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A,
				    40002, 53, 64);
	fc[2].name = "tcp_syn";
	fc[2].len = frame_build_tcp(fc[2].buf, FRAME_MAX, PL_AF_INET, FRAME_IP4_B, FRAME_IP4_A,
				    40003, 80, PL_TCP_SYN, 0);
	fc[2].events = 1;
	const struct {
		const char *name;
		struct bpf_program *p;
	} progs[] = { { "xdp_flows", skel->progs.xdp_flows },
		      { "tc_ingress_flows", skel->progs.tc_ingress_flows } };

	printf("# BPF_PROG_TEST_RUN, medians of %d runs; ns per packet\n", runs);
	printf("%-18s %-14s %10s %10s %8s\n", "program", "frame", "detect_off", "detect_on",
	       "added");
	for (size_t p = 0; p < 2; p++) {
		int fd = bpf_program__fd(progs[p].p);
		for (int f = 0; f < 3; f++) {
			double off[MAX_RUNS], on[MAX_RUNS];
			__u32 rep = fc[f].events ? 8192 : repeat;
			for (int r = 0; r < runs; r++) {
				skel->bss->sec_off = (__u32)(r & 1);
				if (run_ns(fd, fc[f].buf, fc[f].len, rep, r & 1 ? &off[r] : &on[r]))
					goto fail;
				ring_buffer__consume(rb);
				skel->bss->sec_off = (__u32) !(r & 1);
				if (run_ns(fd, fc[f].buf, fc[f].len, rep, r & 1 ? &on[r] : &off[r]))
					goto fail;
				ring_buffer__consume(rb);
			}
			double mo = median(off, runs), mn = median(on, runs);
			printf("%-18s %-14s %10.1f %10.1f %+8.1f\n", progs[p].name, fc[f].name, mo,
			       mn, mn - mo);
		}
	}

	/* the firewall: no rule, 64 rules that do not match, a deny that does */
	int fw = bpf_program__fd(skel->progs.xdp_firewall);
	double v[3][MAX_RUNS];
	const char *what[3] = { "no_rules", "64_rules_miss", "deny_hit" };
	for (int c = 0; c < 3; c++) {
		if (c == 1)
			for (__u32 i = 0; i < 64; i++) {
				struct fw_key k = { .prefixlen = 8 + 32, .family = PL_AF_INET };
				struct fw_rule rv = { .slot = i, .action = PL_FW_DENY };
				k.addr[0] = 198;
				k.addr[1] = 51;
				k.addr[2] = 100;
				k.addr[3] = (__u8)i;
				bpf_map_update_elem(bpf_map__fd(skel->maps.fw_rules), &k, &rv,
						    BPF_ANY);
			}
		if (c == 2) {
			struct fw_key k = { .prefixlen = 8 + 24, .family = PL_AF_INET };
			struct fw_rule rv = { .slot = 100, .action = PL_FW_DENY };
			memcpy(k.addr, FRAME_IP4_B, 3);
			bpf_map_update_elem(bpf_map__fd(skel->maps.fw_rules), &k, &rv, BPF_ANY);
		}
		for (int r = 0; r < runs; r++)
			if (run_ns(fw, fc[0].buf, fc[0].len, repeat, &v[c][r]))
				goto fail;
	}
	printf("%-18s %-14s %10.1f %10.1f %10.1f  (%s, %s, %s)\n", "xdp_firewall", "tcp_data_512",
	       median(v[0], runs), median(v[1], runs), median(v[2], runs), what[0], what[1],
	       what[2]);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "sec_cost: test run failed: %s\n", strerror(errno));
out:
	ring_buffer__free(rb);
	pktlens_bpf__destroy(skel);
	return rc;
}
