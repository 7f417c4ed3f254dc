/* Benchmark: ns/packet of the XDP and tc flow programs vs empty programs, by frame and map fill. */

/*
 * Every figure comes from BPF_PROG_TEST_RUN with repeat, where the kernel
 * times the program runs alone and divides by the repeat count. The first
 * run of a batch inserts the frame's flow (if it is new), the other
 * repeat-1 runs find it: these are per-packet costs of a known flow. New-flow
 * inserts are measured separately with repeat=1 on frames whose ports never
 * repeat. The flow map is filled with synthetic keys (198.18.0.0/15 on an
 * ifindex that does not exist) so that the test frames never hit them.
 *
 * Prints one JSON object on stdout; scripts/bench.sh turns it into the table.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "pktlens.skel.h"
#include "bench/empty.skel.h"
#include "shared/flow.h"
#include "frames.h"

#define FILL_IFINDEX 0x7ffffff0u
#define MAX_RUNS 64

struct bframe {
	const char *name;
	int payload; /* carries application data: also measured with the L7 peek off */
	__u8 buf[FRAME_MAX];
	size_t len;
};

static const char http_req[] = "GET /index.html HTTP/1.1\r\n"
			       "Host: bench.example\r\n"
			       "User-Agent: pktlens-bench/1\r\n"
			       "Accept: */*\r\n\r\n";

static size_t build_vlan_tcp(__u8 *buf)
{
	struct frame f;
	frame_init(&f, buf, FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	frame_vlan(&f, 0x8100, 100);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_tcp(&f, 40002, 443, 1000, 2000, PL_TCP_ACK | PL_TCP_PSH, 65535, 0);
	frame_payload(&f, NULL, 512);
	return frame_finish(&f);
}

/* A later fragment of a UDP datagram: no transport header, counted under the addresses only. */
static size_t build_fragment(__u8 *buf)
{
	struct frame f;
	frame_init(&f, buf, FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_ip4_frag(&f, 1480, 0);
	frame_ip_proto(&f, PL_IPPROTO_UDP);
	frame_payload(&f, NULL, 400);
	return frame_finish(&f);
}

static size_t build_http(__u8 *buf)
{
	struct frame f;
	frame_init(&f, buf, FRAME_MAX);
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
	frame_tcp(&f, 40003, 80, 1000, 2000, PL_TCP_ACK | PL_TCP_PSH, 65535, 0);
	frame_payload(&f, http_req, sizeof(http_req) - 1);
	return frame_finish(&f);
}

static int build_frames(struct bframe *fr)
{
	int n = 0;
	fr[n].name = "tcp_syn";
	fr[n].len = frame_build_tcp(fr[n].buf, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
				    40000, 80, PL_TCP_SYN, 0);
	n++;
	fr[n].name = "tcp_data";
	fr[n].payload = 1;
	fr[n].len = frame_build_tcp(fr[n].buf, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
				    40001, 5201, PL_TCP_ACK | PL_TCP_PSH, 1400);
	n++;
	fr[n].name = "udp";
	fr[n].payload = 1;
	fr[n].len = frame_build_udp(fr[n].buf, FRAME_MAX, PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
				    50000, 53, 64);
	n++;
	fr[n].name = "ipv6_tcp";
	fr[n].len = frame_build_tcp(fr[n].buf, FRAME_MAX, PL_AF_INET6, FRAME_IP6_A, FRAME_IP6_B,
				    40004, 443, PL_TCP_ACK | PL_TCP_PSH, 512);
	n++;
	fr[n].name = "vlan_tcp";
	fr[n].len = build_vlan_tcp(fr[n].buf);
	n++;
	fr[n].name = "ip4_fragment";
	fr[n].len = build_fragment(fr[n].buf);
	n++;
	fr[n].name = "http_request";
	fr[n].payload = 1;
	fr[n].len = build_http(fr[n].buf);
	n++;
	return n;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level > LIBBPF_WARN ? 0 : vfprintf(stderr, fmt, ap);
}

/* Average ns per run of prog over repeat runs on one frame, as the kernel measured it. */
static int run_ns(int prog_fd, const void *pkt, size_t len, __u32 repeat, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);
	int ret = bpf_prog_test_run_opts(prog_fd, &o);
	if (ret)
		return ret;
	*ns = (double)o.duration;
	return 0;
}

/* Fills the flow map with n synthetic keys; returns how many the map holds afterwards. */
static long fill_map(int fd, long n)
{
	const __u32 chunk = 4096;
	struct flow_key *k = calloc(chunk, sizeof(*k));
	struct flow_val *v = calloc(chunk, sizeof(*v));
	long done = 0;
	if (!k || !v)
		goto out;
	while (done < n) {
		__u32 cnt = (__u32)(n - done < chunk ? n - done : chunk);
		for (__u32 i = 0; i < cnt; i++) {
			__u32 id = (__u32)(done + i);
			memset(&k[i], 0, sizeof(k[i]));
			k[i].family = PL_AF_INET;
			k[i].proto = 6;
			k[i].ifindex = FILL_IFINDEX;
			k[i].local[0] = 198;
			k[i].local[1] = 18 + (__u8)(id >> 24 & 1);
			k[i].local[2] = (__u8)(id >> 16);
			k[i].local[3] = (__u8)(id >> 8);
			k[i].remote[0] = 198;
			k[i].remote[1] = 19;
			k[i].remote[3] = (__u8)id;
			k[i].local_port = 443;
			k[i].remote_port = (__u16)(1024 + (id & 0x3fff));
			memset(&v[i], 0, sizeof(v[i]));
			v[i].rx_packets = 1;
		}
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		if (bpf_map_update_batch(fd, k, v, &cnt, &bo)) {
			fprintf(stderr, "prog_cost: filling the flow map: %s\n", strerror(errno));
			break;
		}
		done += cnt;
	}
out:
	free(k);
	free(v);
	return done;
}

static long count_entries(int fd)
{
	struct flow_key cur, prev;
	long n = 0;
	void *pk = NULL;
	while (!bpf_map_get_next_key(fd, pk, &cur)) {
		n++;
		prev = cur;
		pk = &prev;
	}
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void print_samples(const char *name, double *v, int n)
{
	printf("\"%s\":[", name);
	for (int i = 0; i < n; i++)
		printf("%s%.2f", i ? "," : "", v[i]);
	printf("]");
}

/* Runs counted by the kernel's BPF stats: they grow only while someone has the stats on. */
static __u64 stats_runs(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.run_cnt;
}

/*
 * Run-time stats (bpf_enable_stats, which pktlens holds while it runs) add
 * two clock reads to every run of every BPF program on the host, which may
 * cost as much as the program. Samples are taken both ways: "on" with our
 * own stats fd open, "off" only when no other process has them on (the run
 * counters do not move), retried a bounded number of times otherwise.
 */
struct pair_samples {
	double ns[MAX_RUNS], empty_ns[MAX_RUNS];
	double on_ns[MAX_RUNS], on_empty_ns[MAX_RUNS];
	int n_off, n_on, off_refused;
};

/* Time this process may spend waiting for others to turn BPF stats off, over the whole run. */
static long wait_budget_us = 60 * 1000000L;

static int measure_pair(int efd, int pfd, const struct bframe *fr, __u32 repeat, int runs,
			struct pair_samples *ps)
{
	memset(ps, 0, sizeof(*ps));
	for (int r = 0, tries = 0; r < runs; r++) {
		int sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		/* Interleaved, so that a slow moment hits both sides of the ratio. */
		int ret = run_ns(efd, fr->buf, fr->len, repeat, &ps->on_empty_ns[r]) ||
			  run_ns(pfd, fr->buf, fr->len, repeat, &ps->on_ns[r]);
		if (sfd >= 0)
			close(sfd);
		if (ret)
			return -1;
		ps->n_on = r + 1;
		while (ps->n_off <= r && tries < 10 * runs) {
			tries++;
			__u64 c0 = stats_runs(efd) + stats_runs(pfd);
			double e, n;
			if (run_ns(efd, fr->buf, fr->len, repeat, &e) ||
			    run_ns(pfd, fr->buf, fr->len, repeat, &n))
				return -1;
			if (stats_runs(efd) + stats_runs(pfd) != c0) {
				ps->off_refused++;
				if (wait_budget_us > 0) {
					usleep(100000);
					wait_budget_us -= 100000;
				}
				continue;
			}
			ps->empty_ns[ps->n_off] = e;
			ps->ns[ps->n_off++] = n;
		}
	}
	return 0;
}

/*
 * A 32-bit global of the loaded object's .bss, found by name in its BTF, or
 * NULL when this build of the BPF object has no such knob (l7_off, which
 * turns the application-layer peek off, exists only once L7 parsing does).
 */
static volatile __u32 *bss_u32(struct pktlens_bpf *skel, const char *name)
{
	struct btf *btf = bpf_object__btf(skel->obj);
	if (!btf || !skel->bss)
		return NULL;
	int id = btf__find_by_name_kind(btf, ".bss", BTF_KIND_DATASEC);
	if (id < 0)
		return NULL;
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_var_secinfo *v = btf_var_secinfos(t);
	for (int i = 0; i < btf_vlen(t); i++, v++) {
		const struct btf_type *vt = btf__type_by_id(btf, v->type);
		if (v->size == 4 && !strcmp(btf__name_by_offset(btf, vt->name_off), name))
			return (volatile __u32 *)((char *)skel->bss + v->offset);
	}
	return NULL;
}

static struct pktlens_bpf *load_pktlens(unsigned entries)
{
	struct pktlens_bpf *skel = pktlens_bpf__open();
	if (!skel)
		return NULL;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj)
	{
		bpf_program__set_autoload(prog, prog == skel->progs.xdp_flows ||
						    prog == skel->progs.tc_ingress_flows ||
						    prog == skel->progs.tc_egress_flows);
	}
	bpf_map__set_max_entries(skel->maps.flows, entries);
	if (pktlens_bpf__load(skel)) {
		pktlens_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int main(int argc, char **argv)
{
	__u32 repeat = 1000000;
	int runs = 5, inserts = 400;
	unsigned entries = 65536;
	int opt, only_fill = -1, nknobs = 0;
	const char *knobs[8];
	while ((opt = getopt(argc, argv, "r:n:e:i:w:F:k:")) != -1) {
		switch (opt) {
		case 'r':
			repeat = (__u32)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		case 'e':
			entries = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			inserts = atoi(optarg);
			break;
		case 'w':
			wait_budget_us = (long)(atof(optarg) * 1e6);
			break;
		case 'F':
			only_fill = atoi(optarg);
			break;
		case 'k':
			if (nknobs < 8)
				knobs[nknobs++] = optarg;
			break;
		default:
			fprintf(
			    stderr,
			    "usage: %s [-r REPEAT] [-n RUNS] [-e ENTRIES] [-i INSERTS] [-w SECS] "
			    "[-F FILL_PCT] [-k KNOB=VALUE]...\n",
			    argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || !repeat || entries < 1024) {
		fprintf(stderr, "prog_cost: bad arguments\n");
		return 2;
	}
	libbpf_set_print(libbpf_print);

	static struct bframe frames[16];
	int nframes = build_frames(frames);
	struct empty_bpf *empty = empty_bpf__open_and_load();
	if (!empty) {
		fprintf(stderr, "prog_cost: loading the empty programs failed: %s\n",
			strerror(errno));
		return 1;
	}
	const struct {
		const char *name;
		int empty_is_xdp;
	} progs[] = { { "xdp_flows", 1 }, { "tc_ingress_flows", 0 }, { "tc_egress_flows", 0 } };
	const int fills[] = { 0, 50, 90 };
	int rc = 1, first = 1;

	printf("{\"repeat\":%u,\"runs\":%d,\"map_entries\":%u,\"inserts\":%d,\"rows\":[", repeat,
	       runs, entries, inserts);
	for (size_t fi = 0; fi < sizeof(fills) / sizeof(fills[0]); fi++) {
		if (only_fill >= 0 && fills[fi] != only_fill)
			continue;
		struct pktlens_bpf *skel = load_pktlens(entries);
		if (!skel) {
			fprintf(stderr, "prog_cost: loading pktlens' BPF programs failed: %s\n",
				strerror(errno));
			goto out;
		}
		/* -k: a 32-bit .bss knob (sec_off, l7_off...) set for every figure of this run */
		for (int k = 0; k < nknobs; k++) {
			char name[64];
			const char *eq = strchr(knobs[k], '=');
			size_t nl = eq ? (size_t)(eq - knobs[k]) : 0;
			volatile __u32 *kv = NULL;
			if (eq && nl < sizeof(name)) {
				memcpy(name, knobs[k], nl);
				name[nl] = 0;
				kv = bss_u32(skel, name);
			}
			if (!kv) {
				fprintf(stderr, "prog_cost: no knob %s in the BPF object\n",
					knobs[k]);
				pktlens_bpf__destroy(skel);
				goto out;
			}
			*kv = (__u32)strtoul(eq + 1, NULL, 0);
		}
		int mfd = bpf_map__fd(skel->maps.flows);
		/* One CPU while filling: LRU free lists are per CPU, a migration strands entries. */
		cpu_set_t old, one;
		sched_getaffinity(0, sizeof(old), &old);
		CPU_ZERO(&one);
		CPU_SET(sched_getcpu(), &one);
		sched_setaffinity(0, sizeof(one), &one);
		fill_map(mfd, (long)entries * fills[fi] / 100);
		long held = count_entries(mfd);

		int pfd[3] = { bpf_program__fd(skel->progs.xdp_flows),
			       bpf_program__fd(skel->progs.tc_ingress_flows),
			       bpf_program__fd(skel->progs.tc_egress_flows) };
		for (int p = 0; p < 3; p++) {
			int efd = progs[p].empty_is_xdp ? bpf_program__fd(empty->progs.xdp_empty)
							: bpf_program__fd(empty->progs.tc_empty);
			volatile __u32 *l7_off = bss_u32(skel, "l7_off");
			for (int v = 0; v < 2 * nframes; v++) {
				int f = v % nframes, no_l7 = v >= nframes;
				if (no_l7 && (!l7_off || !frames[f].payload))
					continue;
				struct pair_samples ps;
				if (l7_off)
					*l7_off = no_l7;
				int ret = measure_pair(efd, pfd[p], &frames[f], repeat, runs, &ps);
				if (l7_off)
					*l7_off = 0;
				if (ret) {
					fprintf(stderr, "prog_cost: test run of %s: %s\n",
						progs[p].name, strerror(errno));
					pktlens_bpf__destroy(skel);
					goto out;
				}
				printf(
				    "%s{\"prog\":\"%s\",\"frame\":\"%s\",\"bytes\":%zu,"
				    "\"fill_pct\":%d,\"fill_entries\":%ld,\"kind\":\"known_flow\","
				    "\"l7\":\"%s\",",
				    first ? "" : ",", progs[p].name, frames[f].name, frames[f].len,
				    fills[fi], held,
				    !l7_off ? "absent"
				    : no_l7 ? "off"
					    : "on");
				first = 0;
				print_samples("ns", ps.ns, ps.n_off);
				printf(",");
				print_samples("empty_ns", ps.empty_ns, ps.n_off);
				printf(",");
				print_samples("stats_on_ns", ps.on_ns, ps.n_on);
				printf(",");
				print_samples("stats_on_empty_ns", ps.on_empty_ns, ps.n_on);
				printf(",\"stats_held_by_others\":%d}", ps.off_refused);
			}
			/* New flows: one run per packet, every packet a new remote port. */
			int nins = inserts;
			double *ins = calloc((size_t)nins, sizeof(double));
			double *eins = calloc((size_t)nins, sizeof(double));
			if (!ins || !eins) {
				free(ins);
				free(eins);
				pktlens_bpf__destroy(skel);
				goto out;
			}
			__u64 c0 = stats_runs(efd) + stats_runs(pfd[p]);
			for (int i = 0; i < nins; i++) {
				__u8 buf[FRAME_MAX];
				size_t len = frame_build_tcp(
				    buf, sizeof(buf), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B,
				    (__u16)(10000 + p * 10000 + i), 8080, PL_TCP_SYN, 0);
				if (run_ns(efd, buf, len, 1, &eins[i]) ||
				    run_ns(pfd[p], buf, len, 1, &ins[i]))
					break;
			}
			qsort(ins, (size_t)nins, sizeof(double), cmp_double);
			qsort(eins, (size_t)nins, sizeof(double), cmp_double);
			/* Deciles of the single-run timings: one run is too short to trust alone. */
			double d[9], ed[9];
			for (int q = 0; q < 9; q++) {
				d[q] = ins[(size_t)nins * (q + 1) / 10];
				ed[q] = eins[(size_t)nins * (q + 1) / 10];
			}
			printf(",{\"prog\":\"%s\",\"frame\":\"tcp_syn_new_flow\",\"bytes\":54,"
			       "\"fill_pct\":%d,\"fill_entries\":%ld,\"kind\":\"new_flow\",",
			       progs[p].name, fills[fi], held);
			print_samples("ns_deciles", d, 9);
			printf(",");
			print_samples("empty_ns_deciles", ed, 9);
			printf(",\"stats_held_by_others\":%d}",
			       stats_runs(efd) + stats_runs(pfd[p]) != c0);
			free(ins);
			free(eins);
		}
		sched_setaffinity(0, sizeof(old), &old);
		/* The test frames must have been counted, or the figures measure an early exit. */
		long after = count_entries(mfd);
		if (after <= held) {
			fprintf(stderr,
				"prog_cost: the programs added no flow; frames not parsed?\n");
			pktlens_bpf__destroy(skel);
			goto out;
		}
		pktlens_bpf__destroy(skel);
	}
	rc = 0;
out:
	printf("]}\n");
	empty_bpf__destroy(empty);
	return rc;
}
