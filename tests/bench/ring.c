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
	double cpu_s;	  /* the consumer thread's own CPU time (user+sys) while it ran */
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
	struct timespec c0, c1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
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
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	c->cpu_s = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
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

/*
 * L7 stage: HTTP keep-alive as the tc programs see it, one request in on
 * ingress and its response out on egress, at rate events/s (two events a
 * pair, in one ring record: the next request carries the response) for secs. What it measures is user space: the consumer thread's CPU
 * per event (ring reads, the L7 model's parse, pairing, endpoint and latency
 * tables), and whether anything was lost: the model's requests and
 * responses must equal the pairs produced, or the loss must be counted.
 */
struct l7_stage {
	double target, secs, elapsed, cpu_s;
	long pairs;
	unsigned long long requests, responses, events, lost;
};

static int l7_counts(struct engine *e, unsigned long long *req, unsigned long long *resp,
		     unsigned long long *ev, unsigned long long *lost)
{
	struct snapshot *s = engine_refresh(e);
	if (!s || !s->l7) {
		snapshot_put(s);
		return -1;
	}
	*req = s->l7->http_requests;
	*resp = s->l7->http_responses;
	*ev = s->l7->events;
	*lost = s->l7->events_lost;
	snapshot_put(s);
	return 0;
}

static int run_l7_stage(struct engine *e, int in_fd, int out_fd, struct l7_stage *st)
{
	__u8 req[FRAME_MAX], resp[FRAME_MAX];
	static const char rq[] = "GET /index.html HTTP/1.1\r\nHost: bench.test\r\n\r\n";
	char rs[700];
	memset(rs, 'x', sizeof(rs));
	memcpy(rs, "HTTP/1.1 200 OK\r\nContent-Length: 600\r\n\r\n", 40);
	struct frame f;
	__u32 cseq = 1000, sseq = 90000;
	unsigned long long r0, p0, e0, l0, r1, p1, e1, l1;
	struct consumer c;
	if (l7_counts(e, &r0, &p0, &e0, &l0) || consumer_start(&c, e, 0))
		return -1;
	double t0 = mono_s();
	long target = (long)(st->target / 2 * st->secs), done = 0;
	const double slot = 0.001;
	for (long i = 1; done < target; i++) {
		long want = (long)(st->target / 2 * slot * (double)i);
		if (want > target)
			want = target;
		for (; done < want; done++) {
			/* each pair moves the sequence numbers on, as a real connection does */
			frame_init(&f, req, sizeof(req));
			frame_eth(&f, NULL, NULL);
			frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
			frame_tcp(&f, 40000, 80, cseq, sseq, PL_TCP_ACK | PL_TCP_PSH, 500, 0);
			frame_payload(&f, rq, sizeof(rq) - 1);
			size_t ql = frame_finish(&f);
			frame_init(&f, resp, sizeof(resp));
			frame_eth(&f, NULL, NULL);
			frame_ip4(&f, FRAME_IP4_A, FRAME_IP4_B, 0);
			frame_tcp(&f, 80, 40000, sseq, cseq + sizeof(rq) - 1,
				  PL_TCP_ACK | PL_TCP_PSH, 500, 0);
			frame_payload(&f, rs, sizeof(rs));
			size_t pl = frame_finish(&f);
			cseq += sizeof(rq) - 1;
			sseq += sizeof(rs);
			if (run_batch(in_fd, req, ql, 1) || run_batch(out_fd, resp, pl, 1)) {
				consumer_stop(&c);
				return -1;
			}
		}
		double next = t0 + slot * (double)i;
		double now = mono_s();
		if (next > now) {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)((next - now) * 1e9) };
			nanosleep(&ts, NULL);
		}
	}
	/* the client's ACK of the last response: the response a next request would have carried */
	frame_init(&f, req, sizeof(req));
	frame_eth(&f, NULL, NULL);
	frame_ip4(&f, FRAME_IP4_B, FRAME_IP4_A, 0);
	frame_tcp(&f, 40000, 80, cseq, sseq, PL_TCP_ACK, 500, 0);
	if (run_batch(in_fd, req, frame_finish(&f), 1)) {
		consumer_stop(&c);
		return -1;
	}
	st->elapsed = mono_s() - t0;
	consumer_stop(&c);
	st->cpu_s = c.cpu_s;
	st->pairs = done;
	if (l7_counts(e, &r1, &p1, &e1, &l1))
		return -1;
	st->requests = r1 - r0;
	st->responses = p1 - p0;
	st->events = e1 - e0;
	st->lost = l1 - l0;
	return 0;
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
		bpf_program__set_autoload(prog, prog == skel->progs.tc_ingress_flows ||
						    prog == skel->progs.tc_egress_flows);
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
	const char *l7_rates = NULL;
	while ((opt = getopt(argc, argv, "N:i:r:t:n:o:l:")) != -1) {
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
		case 'l':
			l7_rates = optarg;
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
	int open_list = 1; /* a JSON list is open: a failure closes it */
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
	printf("]");
	open_list = 0;
	if (l7_rates) {
		printf(",\"l7\":[");
		open_list = 1;
		int n = 0;
		char *lc = strdup(l7_rates), *ls = NULL;
		int ofd = bpf_program__fd(skel->progs.tc_egress_flows);
		for (int r = 0; r < runs; r++) {
			for (char *t = strtok_r(lc, ",", &ls); t; t = strtok_r(NULL, ",", &ls)) {
				struct l7_stage st = { .target = atof(t), .secs = secs };
				if (run_l7_stage(e, pfd, ofd, &st)) {
					free(lc);
					goto fail_run;
				}
				printf("%s{\"run\":%d,\"target_per_s\":%.0f,\"seconds\":%.3f,"
				       "\"pairs\":%ld,\"requests\":%llu,\"responses\":%llu,"
				       "\"events\":%llu,\"lost\":%llu,\"consumer_cpu_s\":%.4f}",
				       n++ ? "," : "", r, st.target, st.elapsed, st.pairs,
				       st.requests, st.responses, st.events, st.lost, st.cpu_s);
				fflush(stdout);
			}
			free(lc);
			lc = strdup(l7_rates);
			ls = NULL;
		}
		free(lc);
		printf("]");
		open_list = 0;
	}
	rc = 0;
fail_run:
	printf("%s}\n", open_list ? "]" : "");
	if (rc)
		fprintf(stderr, "ring: a stage failed: %s\n", strerror(errno));
out:
	pktlens_bpf__destroy(skel);
	engine__free(e);
	return rc;
usage:
	fprintf(stderr,
		"usage: %s -N NETNS -i IFACE [-r RATE,...] [-t SECS] [-n RUNS] [-o N] [-l "
		"L7RATE,...]\n",
		argv[0]);
	return 2;
}
