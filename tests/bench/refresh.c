/* Benchmark: engine refresh time and CPU, batch vs per-key map reads, memory by flow count. */

/*
 * For each size the engine is created as pktlens creates it (in the given
 * namespace, no probes attached), its flow map (N entries) is filled with
 * FLOWS real flows: the tc ingress program runs (BPF_PROG_TEST_RUN) on one
 * UDP frame per flow, so the flows are created, counted and queued as
 * changed by the kernel side exactly as packets do it, arriving on the
 * watched interface (-L: on lo, an interface pktlens does not watch, whose
 * name the rows must look up). Then:
 *  - engine_refresh() + snapshot_put() are timed (wall and process CPU),
 *    once cold (every flow is new to the flow store) and then warm with no
 *    flow moving ("refresh": idle flows), then with 1% and with all of the
 *    flows getting a packet before each refresh ("refresh_active_1pct",
 *    "refresh_active_all"; the packets are not timed);
 *  - the map alone is read with bpf_map_lookup_batch and with
 *    get_next_key + lookup, the two ways user space can read it;
 *  - the kernel memory of the maps (memlock in fdinfo) and the process RSS
 *    are taken while the last snapshot is held, as pktlens holds it.
 * The sparse case is a large map holding few flows.
 *
 * Prints one JSON object on stdout; scripts/bench.sh turns it into the table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/engine.h"
#include "core/flowstore.h"
#include "frames.h"
#include "core/log.h"
#include "core/snapshot.h"
#include "shared/flow.h"

#define MAX_RUNS 32
#define FILL_DPORT 443
#define MAX_SIZES 8

static double clock_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A /proc/self/status field in kB, e.g. "VmRSS:". */
static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, strlen(field))) {
			v = strtol(line + strlen(field), NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The "memlock:" line of one fd's fdinfo (bytes the kernel charges for a BPF map), or -1. */
static long long fd_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "memlock:", 8)) {
			v = strtoll(line + 8, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Every BPF map this process holds: an fdinfo with map_type and memlock lines. */
static long long all_maps_memlock(void)
{
	DIR *d = opendir("/proc/self/fdinfo");
	struct dirent *de;
	long long sum = 0;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], line[256];
		int is_map = 0;
		long long mem = 0;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "map_type:", 9))
				is_map = 1;
			else if (!strncmp(line, "memlock:", 8))
				mem = strtoll(line + 8, NULL, 10);
		}
		fclose(f);
		if (is_map)
			sum += mem;
	}
	closedir(d);
	return sum;
}

static long fill_map(int fd, long n, __u32 ifindex)
{
	const __u32 chunk = 4096;
	struct flow_key *k = calloc(chunk, sizeof(*k));
	struct flow_val *v = calloc(chunk, sizeof(*v));
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Seen now, so the engine's idle timeout keeps them all. */
	__u64 now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	long done = 0;
	if (!k || !v)
		goto out;
	while (done < n) {
		__u32 cnt = (__u32)(n - done < chunk ? n - done : chunk);
		for (__u32 i = 0; i < cnt; i++) {
			__u32 id = (__u32)(done + i);
			memset(&k[i], 0, sizeof(k[i]));
			k[i].family = PL_AF_INET;
			k[i].proto = (id & 1) ? 17 : 6;
			k[i].ifindex = ifindex;
			k[i].local[0] = 10;
			k[i].local[1] = 99;
			k[i].local[2] = (__u8)(id >> 24);
			k[i].local[3] = 1;
			k[i].remote[0] = 10;
			k[i].remote[1] = (__u8)(id >> 16);
			k[i].remote[2] = (__u8)(id >> 8);
			k[i].remote[3] = (__u8)id;
			k[i].local_port = 443;
			k[i].remote_port = (__u16)(1024 + (id & 0x7fff));
			v[i] = (struct flow_val){ .rx_packets = 10 + id % 1000,
						  .rx_bytes = 1500 * (10 + id % 1000),
						  .tx_packets = 5,
						  .tx_bytes = 330,
						  .first_seen_ns = now - 1000000000ull,
						  .last_seen_ns = now,
						  .tcp_flags = (id & 1) ? 0 : 0x12 };
		}
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		if (bpf_map_update_batch(fd, k, v, &cnt, &bo)) {
			fprintf(stderr, "refresh: filling the flow map: %s\n", strerror(errno));
			break;
		}
		done += cnt;
	}
out:
	free(k);
	free(v);
	return done;
}

/* Flow i's frame: UDP from 10.(i>>16).(i>>8).(i) port 1024 + i % 50000 to 10.99.0.1:443. */
static size_t flow_frame(uint32_t i, __u8 *buf)
{
	__u8 src[4] = { 10, (__u8)(i >> 16), (__u8)(i >> 8), (__u8)i };
	__u8 dst[4] = { 10, 99, 0, 1 };
	return frame_build_udp(buf, FRAME_MAX, PL_AF_INET, src, dst, (__u16)(1024 + i % 50000),
			       FILL_DPORT, 18);
}

/* 1: frames come in on lo, BPF_PROG_TEST_RUN's own device, which pktlens does not watch (-L) */
static int on_lo;

/*
 * One packet of each flow in [from, to) through the tc ingress program; returns how many ran.
 * The frames arrive on the watched interface (the context's ifindex: test_run takes any
 * index above 1) as a real packet would, so the rows name it from the engine's list.
 */
static long run_flows(int prog, uint32_t from, uint32_t to, __u32 ifindex)
{
	__u8 buf[FRAME_MAX];
	struct __sk_buff ctx = { .ifindex = ifindex };
	long done = 0;
	for (uint32_t i = from; i < to; i++) {
		size_t len = flow_frame(i, buf);
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = (__u32)len,
			    .ctx_in = on_lo ? NULL : &ctx, .ctx_size_in = on_lo ? 0 : sizeof(ctx),
			    .repeat = 1);
		if (bpf_prog_test_run_opts(prog, &o)) {
			fprintf(stderr, "refresh: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
			break;
		}
		done++;
	}
	return done;
}

/* The whole map with bpf_map_lookup_batch, 4096 at a time as the engine reads it. */
static long read_batch(int fd, struct flow_key *keys, struct flow_val *vals, long max)
{
	long n = 0;
	__u64 in = 0, out = 0;
	int first = 1;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	while (n < max) {
		__u32 cnt = (__u32)(max - n < 4096 ? max - n : 4096);
		int ret = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys + n, vals + n,
					       &cnt, &bo);
		if (ret && errno != ENOENT)
			return -errno;
		n += cnt;
		if (ret)
			break;
		in = out;
		first = 0;
	}
	return n;
}

/* The whole map with get_next_key + lookup: two syscalls per flow. */
static long read_per_key(int fd, struct flow_key *keys, struct flow_val *vals, long max)
{
	long n = 0;
	struct flow_key prev;
	void *pk = NULL;
	while (n < max && !bpf_map_get_next_key(fd, pk, &keys[n])) {
		prev = keys[n];
		pk = &prev;
		if (!bpf_map_lookup_elem(fd, &keys[n], &vals[n]))
			n++;
	}
	return n;
}

struct timing {
	double wall[MAX_RUNS], cpu[MAX_RUNS];
	int n;
};

static void print_timing(const char *name, const struct timing *t)
{
	printf("\"%s\":{\"wall_s\":[", name);
	for (int i = 0; i < t->n; i++)
		printf("%s%.6f", i ? "," : "", t->wall[i]);
	printf("],\"cpu_s\":[");
	for (int i = 0; i < t->n; i++)
		printf("%s%.6f", i ? "," : "", t->cpu[i]);
	printf("]}");
}

static int real = 1; /* flows made by the tc program; 0: written into the map (-S) */

static int one_size(const char *netns, const char *iface, unsigned entries, long flows, int runs,
		    int first)
{
	char err[256];
	struct engine_opts o = {
		.netns = netns, .probes = "none", .flow_entries = entries, .idle_timeout_s = 300
	};
	o.ifaces[0] = iface;
	o.n_ifaces = 1;

	malloc_trim(0);
	long rss_before = status_kb("VmRSS:");
	struct engine *e = engine__new(&o, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "refresh: %s\n", err);
		return -1;
	}
	int fd = engine_map_fd(e, "flows");
	int prog = engine_prog_fd(e, "tc_ingress_flows");
	struct flow_key *keys = calloc(entries, sizeof(*keys));
	struct flow_val *vals = calloc(entries, sizeof(*vals));
	struct timing cold = { .n = 1 }, warm = { .n = runs }, batch = { .n = runs },
		      perkey = { .n = runs }, some = { .n = runs }, all = { .n = runs };
	long held = 0, rows = 0, got_batch = 0, got_perkey = 0;
	int rc = -1;
	if (fd < 0 || prog < 0 || !keys || !vals)
		goto out;

	cpu_set_t old, one;
	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	/* the engine moved this process into the namespace: the index is the one there */
	__u32 ifindex = if_nametoindex(iface);
	if (real)
		run_flows(prog, 0, (uint32_t)flows, ifindex);
	else
		fill_map(fd, flows, if_nametoindex(iface));
	sched_setaffinity(0, sizeof(old), &old);
	/* Keys and values are in place; from here on only the engine's own work is measured. */
	long rss_filled = status_kb("VmRSS:");

	struct snapshot *s = NULL;
	for (int r = -1; r < runs; r++) {
		struct timing *t = r < 0 ? &cold : &warm;
		int i = r < 0 ? 0 : r;
		/* pktlens refreshes every second: back-to-back readings would skip rates and history. */
		usleep(60000);
		double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		/* Dropping the previous snapshot is part of every refresh after the first. */
		snapshot_put(s);
		s = engine_refresh(e);
		t->wall[i] = clock_s(CLOCK_MONOTONIC) - w0;
		t->cpu[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (!s)
			goto out;
		rows = (long)s->n_flows;
	}
	/* RSS while the latest snapshot is held, as between two refreshes of pktlens. */
	long rss = status_kb("VmRSS:");
	long long flows_mem = fd_memlock(fd), maps_mem = all_maps_memlock();

	/* flows that move: 1% of them, then all, get a packet before each refresh */
	for (int pass = 0; real && pass < 2; pass++) {
		struct timing *t = pass ? &all : &some;
		uint32_t n = pass ? (uint32_t)flows : (uint32_t)(flows / 100 ? flows / 100 : 1);
		for (int r = 0; r < runs; r++) {
			usleep(60000);
			run_flows(prog, 0, n, ifindex);
			double w0 = clock_s(CLOCK_MONOTONIC),
			       c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
			snapshot_put(s);
			s = engine_refresh(e);
			t->wall[r] = clock_s(CLOCK_MONOTONIC) - w0;
			t->cpu[r] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
			if (!s)
				goto out;
		}
	}
	long rss_active = status_kb("VmRSS:");
	snapshot_put(s);
	s = NULL;

	for (int r = 0; r < runs; r++) {
		double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		got_batch = read_batch(fd, keys, vals, entries);
		batch.wall[r] = clock_s(CLOCK_MONOTONIC) - w0;
		batch.cpu[r] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		w0 = clock_s(CLOCK_MONOTONIC);
		c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		got_perkey = read_per_key(fd, keys, vals, entries);
		perkey.wall[r] = clock_s(CLOCK_MONOTONIC) - w0;
		perkey.cpu[r] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	held = got_perkey;

	printf("%s{\"map_entries\":%u,\"flows_requested\":%ld,\"flows_in_map\":%ld,"
	       "\"flows_in_snapshot\":%ld,\"batch_read_count\":%ld,",
	       first ? "" : ",", entries, flows, held, rows, got_batch);
	print_timing("refresh_cold", &cold);
	printf(",");
	print_timing("refresh", &warm);
	printf(",");
	if (real) {
		print_timing("refresh_active_1pct", &some);
		printf(",");
		print_timing("refresh_active_all", &all);
		printf(",\"rss_kb_active\":%ld,", rss_active);
	}
	print_timing("read_batch", &batch);
	printf(",");
	print_timing("read_per_key", &perkey);
	printf(",\"flows_map_memlock_bytes\":%lld,\"all_maps_memlock_bytes\":%lld,"
	       "\"rss_kb_before_engine\":%ld,\"rss_kb_filled\":%ld,\"rss_kb\":%ld,"
	       "\"rss_peak_kb\":%ld}",
	       flows_mem, maps_mem, rss_before, rss_filled, rss, status_kb("VmHWM:"));
	fflush(stdout);
	rc = 0;
out:
	free(keys);
	free(vals);
	engine__free(e);
	return rc;
}

/* Comma-separated sizes, each N or N:FLOWS (a map of N entries holding FLOWS). */
static int parse_sizes(const char *arg, unsigned *ent, long *fl)
{
	int n = 0;
	char *copy = strdup(arg), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t && n < MAX_SIZES;
	     t = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(t, ':');
		ent[n] = (unsigned)strtoul(t, NULL, 0);
		fl[n] = colon ? strtol(colon + 1, NULL, 0) : (long)ent[n];
		n++;
	}
	free(copy);
	return n;
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *iface = NULL,
		   *sizes = "2000:1000,20000:10000,200000:100000,2000000:1000000,1000000:1000";
	int runs = 5, opt;
	while ((opt = getopt(argc, argv, "N:i:s:n:SL")) != -1) {
		switch (opt) {
		case 'L':
			on_lo = 1;
			break;
		case 'S':
			real = 0;
			break;
		case 'N':
			netns = optarg;
			break;
		case 'i':
			iface = optarg;
			break;
		case 's':
			sizes = optarg;
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (!netns || !iface || runs < 1 || runs > MAX_RUNS)
		goto usage;
	log_init(stderr, LOG_WARN);
	unsigned ent[MAX_SIZES];
	long fl[MAX_SIZES];
	int n = parse_sizes(sizes, ent, fl);

	/* Per-flow user-space structures: what RSS and refresh time grow with. */
	printf("{\"runs\":%d,\"real_flows\":%d,\"frames_on_lo\":%d,\"snapshot_row_bytes\":%zu,"
	       "\"store_entry_bytes\":%zu,\"sizes\":[",
	       runs, real, on_lo, sizeof(struct flow_row), sizeof(struct fs_entry));
	int rc = 0;
	for (int i = 0; i < n; i++) {
		/* Peak RSS per size, not since the process started. */
		int cfd = open("/proc/self/clear_refs", O_WRONLY);
		if (cfd >= 0) {
			if (write(cfd, "5", 1) < 0)
				fprintf(stderr, "refresh: cannot reset peak RSS\n");
			close(cfd);
		}
		if (one_size(netns, iface, ent[i], fl[i], runs, i == 0)) {
			rc = 1;
			break;
		}
	}
	printf("]}\n");
	return rc;
usage:
	fprintf(stderr, "usage: %s -N NETNS -i IFACE [-s N[:FLOWS],...] [-n RUNS] [-S] [-L]\n",
		argv[0]);
	return 2;
}
