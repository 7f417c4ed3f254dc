/* Benchmark: watched-packet events through the ring buffer: zero-loss rate, overload accounting. */

/*
 * The engine is created as pktlens creates it (in the given namespace, no
 * probes attached) and one flow is watched with engine_flow_watch(). A
 * second copy of the BPF object is loaded with every map taken over from the
 * engine's (bpf_map__reuse_fd), so its tc_ingress_flows, run through
 * BPF_PROG_TEST_RUN, writes to the engine's flow map and ring buffer exactly
 * as the attached program would. A consumer thread waits on
 * engine_events_fd() and drains with engine_poll_events(), as the event
 * loop of pktlens does.
 *
 * Each stage produces at a target rate for a fixed time (batches every
 * millisecond); lost events are the engine's own count (events_lost in the
 * snapshot totals) and the produced count is checked against the kernel's
 * TCP packet counter. Last, the consumer is stalled while more events than
 * the ring holds are produced: the overload case.
 *
 * Prints one JSON object on stdout; scripts/bench.sh turns it into the table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/engine.h"
#include "core/log.h"
#include "core/snapshot.h"
#include "pktlens.skel.h"
#include "shared/flow.h"
#include "frames.h"

#define MAX_RATES 16

struct consumer {
	struct engine *e;
	atomic_int stop;  /* 1: drain what is there and exit */
	atomic_int pause; /* 1: do not consume (overload stage) */
	atomic_long consumed;
	pthread_t th;
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *consume(void *arg)
{
	struct consumer *c = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, engine_events_fd(c->e), &ev))
		return NULL;
	for (;;) {
		if (atomic_load(&c->pause)) {
			usleep(1000);
			continue;
		}
		struct epoll_event out;
		epoll_wait(ep, &out, 1, 20);
		int n = engine_poll_events(c->e);
		if (n > 0)
			atomic_fetch_add(&c->consumed, n);
		else if (atomic_load(&c->stop))
			break;
	}
	close(ep);
	return NULL;
}

static int consumer_start(struct consumer *c, struct engine *e, int paused)
{
	c->e = e;
	atomic_store(&c->stop, 0);
	atomic_store(&c->pause, paused);
	atomic_store(&c->consumed, 0);
	return pthread_create(&c->th, NULL, consume, c);
}

static long consumer_stop(struct consumer *c)
{
	atomic_store(&c->pause, 0);
	atomic_store(&c->stop, 1);
	pthread_join(c->th, NULL);
	return atomic_load(&c->consumed);
}

struct totals {
	unsigned long long lost, tcp_packets;
};

/* The engine's own view of what the programs counted: what pktlens would report. */
static int engine_totals(struct engine *e, struct totals *t)
{
	struct snapshot *s = engine_refresh(e);
	if (!s)
		return -1;
	t->lost = s->tot.events_lost;
	t->tcp_packets = s->tot.packets[PL_P_TCP];
	snapshot_put(s);
	return 0;
}

static int run_batch(int prog_fd, const void *pkt, size_t len, __u32 repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);
	return bpf_prog_test_run_opts(prog_fd, &o);
}

/* Produces at rate events/s (0: as fast as possible) for secs; returns events produced. */
static long produce(int prog_fd, const void *pkt, size_t len, double rate, double secs)
{
	long done = 0;
	double t0 = mono_s();
	if (rate <= 0) {
		while (mono_s() - t0 < secs) {
			if (run_batch(prog_fd, pkt, len, 1000))
				return -1;
			done += 1000;
		}
		return done;
	}
	const double slot = 0.001;
	long target = (long)(rate * secs);
	for (long i = 1; done < target; i++) {
		long want = (long)(rate * slot * (double)i);
		if (want > target)
			want = target;
		if (want > done) {
			if (run_batch(prog_fd, pkt, len, (__u32)(want - done)))
				return -1;
			done = want;
		}
		double next = t0 + slot * (double)i;
		double now = mono_s();
		if (next > now) {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)((next - now) * 1e9) };
			nanosleep(&ts, NULL);
		}
	}
	return done;
}

struct stage {
	double target, secs, elapsed;
	long produced, consumed;
	unsigned long long lost, counted;
};

static int run_stage(struct engine *e, int prog_fd, const void *pkt, size_t len, int paused,
		     struct stage *st)
{
	struct consumer c;
	struct totals a, b;
	if (engine_totals(e, &a) || consumer_start(&c, e, paused))
		return -1;
	double t0 = mono_s();
	st->produced = produce(prog_fd, pkt, len, st->target, st->secs);
	st->elapsed = mono_s() - t0;
	st->consumed = consumer_stop(&c);
	if (st->produced < 0 || engine_totals(e, &b))
		return -1;
	st->lost = b.lost - a.lost;
	st->counted = b.tcp_packets - a.tcp_packets;
	return 0;
}

static void print_stage(const char *kind, int run, const struct stage *st, int first)
{
	printf("%s{\"kind\":\"%s\",\"run\":%d,\"target_per_s\":%.0f,\"seconds\":%.3f,"
	       "\"produced\":%ld,\"counted_by_bpf\":%llu,\"consumed\":%ld,\"lost\":%llu,"
	       "\"produced_per_s\":%.0f,\"consumed_per_s\":%.0f}",
	       first ? "" : ",", kind, run, st->target, st->elapsed, st->produced, st->counted,
	       st->consumed, st->lost, (double)st->produced / st->elapsed,
	       (double)st->consumed / st->elapsed);
	fflush(stdout);
}

/* Maps of a second copy of the object become the engine's, so its programs feed the engine. */
static struct pktlens_bpf *load_sharing(struct engine *e)
{
	struct pktlens_bpf *skel = pktlens_bpf__open();
	if (!skel)
		return NULL;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj)
	{
		bpf_program__set_autoload(prog, prog == skel->progs.tc_ingress_flows);
	}
	struct bpf_map *m;
	bpf_object__for_each_map(m, skel->obj)
	{
		int fd = engine_map_fd(e, bpf_map__name(m));
		if (fd < 0 || bpf_map__reuse_fd(m, fd)) {
			fprintf(stderr, "ring: cannot share map %s with the engine\n",
				bpf_map__name(m));
			goto fail;
		}
	}
	if (pktlens_bpf__load(skel))
		goto fail;
	return skel;
fail:
	pktlens_bpf__destroy(skel);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *iface = NULL,
		   *rates_arg = "25000,50000,100000,200000,400000,"
				"800000,1600000,3200000,0";
	double secs = 0.5;
	int runs = 3, opt;
	long overload = 100000;
	while ((opt = getopt(argc, argv, "N:i:r:t:n:o:")) != -1) {
		switch (opt) {
		case 'N':
			netns = optarg;
			break;
		case 'i':
			iface = optarg;
			break;
		case 'r':
			rates_arg = optarg;
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		case 'o':
			overload = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (!netns || !iface || runs < 1 || secs <= 0)
		goto usage;
	double rates[MAX_RATES];
	int nrates = 0;
	char *copy = strdup(rates_arg), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t && nrates < MAX_RATES;
	     t = strtok_r(NULL, ",", &save))
		rates[nrates++] = atof(t);
	free(copy);

	log_init(stderr, LOG_WARN);
	char err[256];
	struct engine_opts o = {
		.netns = netns, .probes = "none", .flow_entries = 65536, .idle_timeout_s = 300
	};
	o.ifaces[0] = iface;
	o.n_ifaces = 1;
	struct engine *e = engine__new(&o, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "ring: %s\n", err);
		return 1;
	}
	int rc = 1;
	struct pktlens_bpf *skel = load_sharing(e);
	if (!skel) {
		fprintf(stderr, "ring: loading the sharing copy failed: %s\n", strerror(errno));
		goto out;
	}
	int pfd = bpf_program__fd(skel->progs.tc_ingress_flows);
	__u8 pkt[FRAME_MAX];
	size_t len = frame_build_tcp(pkt, sizeof(pkt), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 40000,
				     5201, PL_TCP_ACK, 64);

	/* The flow's key as the program builds it (ifindex of the test run's device). */
	struct flow_key key;
	if (run_batch(pfd, pkt, len, 1) ||
	    bpf_map_get_next_key(engine_map_fd(e, "flows"), NULL, &key)) {
		fprintf(stderr, "ring: the test packet made no flow: %s\n", strerror(errno));
		goto out;
	}
	if (engine_flow_watch(e, &key, 1, err, sizeof(err))) {
		fprintf(stderr, "ring: %s\n", err);
		goto out;
	}

	printf("{\"runs\":%d,\"stage_seconds\":%.3f,\"event_bytes\":%zu,\"stages\":[", runs, secs,
	       sizeof(struct pkt_event));
	int first = 1;
	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < nrates; i++) {
			struct stage st = { .target = rates[i], .secs = secs };
			if (run_stage(e, pfd, pkt, len, 0, &st))
				goto fail_run;
			print_stage(rates[i] > 0 ? "rate" : "unthrottled", r, &st, first);
			first = 0;
		}
		/* The consumer sleeps while the ring overflows; it drains the rest afterwards. */
		struct stage st = { .target = 0, .secs = 0 };
		struct consumer c;
		struct totals a, b;
		if (engine_totals(e, &a) || consumer_start(&c, e, 1))
			goto fail_run;
		double t0 = mono_s();
		st.produced = 0;
		while (st.produced < overload) {
			__u32 n =
			    (__u32)(overload - st.produced < 1000 ? overload - st.produced : 1000);
			if (run_batch(pfd, pkt, len, n)) {
				consumer_stop(&c);
				goto fail_run;
			}
			st.produced += n;
		}
		st.elapsed = mono_s() - t0;
		st.consumed = consumer_stop(&c);
		if (engine_totals(e, &b))
			goto fail_run;
		st.lost = b.lost - a.lost;
		st.counted = b.tcp_packets - a.tcp_packets;
		print_stage("consumer_stalled", r, &st, 0);
	}
	rc = 0;
fail_run:
	printf("]}\n");
	if (rc)
		fprintf(stderr, "ring: a stage failed: %s\n", strerror(errno));
out:
	pktlens_bpf__destroy(skel);
	engine__free(e);
	return rc;
usage:
	fprintf(stderr, "usage: %s -N NETNS -i IFACE [-r RATE,...] [-t SECS] [-n RUNS] [-o N]\n",
		argv[0]);
	return 2;
}
