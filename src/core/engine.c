/* The engine: loads the BPF object, reads its maps in batches, keeps flows, and builds snapshots. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/internal.h"
#include "core/l7model.h"
#include "core/maps.h"
#include "shared/capture.h"
#include "shared/tcp.h"
#include "shared/funclat.h"
#include "core/instance.h"
#include "core/log.h"
#include "core/tcnl.h"
#include "core/tracefs_events.h"

uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int enter_netns(struct engine *e, const char *name, char *err, size_t errlen)
{
	char path[256];
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		snprintf(err, errlen, "network namespace name '%s' is not valid", name);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "network namespace '%s' does not exist (see ip netns list)",
			 name);
		return -ENOENT;
	}
	int ret = setns(fd, CLONE_NEWNET);
	close(fd);
	if (ret) {
		ret = -errno;
		snprintf(err, errlen, "cannot enter network namespace '%s': %s", name,
			 strerror(-ret));
		return ret;
	}
	snprintf(e->netns, sizeof(e->netns), "%s", name);
	return 0;
}

/* Every interface that is up, except loopback: what an operator means by "all". */
static int default_ifaces(struct engine *e)
{
	struct ifaddrs *ifa, *i;
	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (iface_index(e, i->ifa_name) >= 0 || e->n_ifaces == PL_MAX_IFACES)
			continue;
		struct iface *f = &e->ifaces[e->n_ifaces++];
		snprintf(f->name, sizeof(f->name), "%s", i->ifa_name);
		f->ifindex = (int)if_nametoindex(i->ifa_name);
	}
	freeifaddrs(ifa);
	return 0;
}

static int handle_event(void *ctx, void *data, size_t len)
{
	struct engine *e = ctx;
	if (len < sizeof(struct pkt_event))
		return 0;
	const struct pkt_event *ev = data;
	for (int i = 0; i < PL_WATCH_MAX; i++) {
		struct watch_buf *w = &e->watches[i];
		if (!w->used || memcmp(&w->key, &ev->key, sizeof(w->key)))
			continue;
		w->ring[w->head] = *ev;
		w->head = (w->head + 1) % PL_WATCH_RING;
		if (w->count < PL_WATCH_RING)
			w->count++;
		break;
	}
	return 0;
}

/* Ring buffer records of one model (its ops name the ring). */
struct model_ring {
	struct engine *e;
	size_t i;
};

static struct model_ring rings[PL_MODELS_MAX];

static int handle_model_event(void *ctx, void *data, size_t len)
{
	struct model_ring *r = ctx;
	pl_models[r->i]->event(r->e->models[r->i], data, len, &r->e->env);
	return 0;
}

/*
 * The ids of the programs that other pktlens instances may find attached
 * (classic tc filters outlive us): claimed in our instance file before
 * they are attached anywhere.
 */
static int claim_progs(struct engine *e, char *err, size_t errlen)
{
	struct bpf_program *progs[] = { prog_by_name(e, tc_prog_name(e, 1)),
					prog_by_name(e, tc_prog_name(e, 0)),
					prog_by_name(e, "xdp_flows") };
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = progs[i] ? bpf_program__fd(progs[i]) : -1;
		if (fd < 0)
			continue;
		int ret = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (!ret)
			ret = instance_claim_prog(info.id);
		if (ret) {
			snprintf(err, errlen, "cannot record pktlens' programs in %s: %s",
				 PL_RUN_DIR, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int stats_apply(struct engine *e);

/*
 * The flow_dirty ring: room for the keys of a quarter of the table changing
 * in one interval (56 bytes each with the ring's header), 256 KiB to 16 MiB.
 * More than that overflows and the refresh reads the whole table instead.
 */
static uint32_t dirty_ring_size(uint32_t flows)
{
	uint64_t want = (uint64_t)(flows / 4 < 4096 ? 4096 : flows / 4) * 56;
	uint32_t size = 256 * 1024;
	while (size < want && size < 16u * 1024 * 1024)
		size <<= 1;
	return size;
}

/*
 * Capture knobs before load. Without capture the ring is one page and the record slot one, and
 * capture_all stays 0, so the verifier drops the capture call from the tc programs.
 */
const char *tc_prog_name(const struct engine *e, int ingress)
{
	if (e->opts.capture & PL_CAPTURE_ALL)
		return ingress ? "tc_ingress_flows_w" : "tc_egress_flows_w";
	return ingress ? "tc_ingress_flows" : "tc_egress_flows";
}

static void capture_configure(struct engine *e)
{
	const struct engine_opts *o = &e->opts;
	int cpus = libbpf_num_possible_cpus();
	int all = !!(o->capture & PL_CAPTURE_ALL);
	/* one pair of tc programs is loaded: the capturing one with -w */
	bpf_program__set_autoload(e->skel->progs.tc_ingress_flows, !all);
	bpf_program__set_autoload(e->skel->progs.tc_egress_flows, !all);
	bpf_program__set_autoload(e->skel->progs.tc_ingress_flows_w, all);
	bpf_program__set_autoload(e->skel->progs.tc_egress_flows_w, all);
	e->skel->rodata->capture_all = all;
	e->skel->rodata->capture_snaplen = o->snaplen ? o->snaplen : PL_CAP_MAX;
	if (!o->capture)
		return;
	/* 16 MiB: a second of 100k packets of 160 bytes, or 250 64 KiB aggregates */
	bpf_map__set_max_entries(e->skel->maps.capture,
				 o->capture & PL_CAPTURE_ALL ? 16u << 20 : 2u << 20);
	bpf_map__set_max_entries(e->skel->maps.capture_buf, cpus > 0 ? (unsigned)cpus : 1);
}

static int flow_filter(void *ctx, const struct flow_key *k)
{
	return pfilter_match(ctx, k);
}

struct engine *engine__new(const struct engine_opts *opts, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "pktlens must run as root (it needs CAP_BPF, CAP_NET_ADMIN and "
			 "CAP_PERFMON)");
		return NULL;
	}
	/*
	 * Every refresh allocates snapshot arrays of the flow table's size and
	 * frees the previous ones. glibc would mmap and unmap each (page faults
	 * dominated a 100k-flow refresh): keep them in the heap for reuse.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	struct engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->opts = *opts;
	e->stats_fd = -1;
	e->nl_fd = -1;
	e->tc_handle = (uint32_t)getpid();
	flowrows_init(&e->rows);
	gethostname(e->host, sizeof(e->host) - 1);

	if (opts->filter && !(e->filter = pfilter__new(opts->filter, err, errlen)))
		goto fail;
	if (opts->netns && enter_netns(e, opts->netns, err, errlen))
		goto fail;
	struct stat st;
	if (!stat("/proc/self/ns/net", &st))
		e->netns_ino = st.st_ino;

	for (int i = 0; i < opts->n_ifaces; i++) {
		const char *name = opts->ifaces[i];
		unsigned idx = strlen(name) < IF_NAMESIZE ? if_nametoindex(name) : 0;
		if (!idx) {
			snprintf(err, errlen, "interface '%s' does not exist%s%s", name,
				 e->netns[0] ? " in network namespace " : "", e->netns);
			goto fail;
		}
		if (iface_index(e, name) >= 0)
			continue;
		struct iface *f = &e->ifaces[e->n_ifaces++];
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->ifindex = (int)idx;
	}
	if (!opts->n_ifaces && default_ifaces(e)) {
		snprintf(err, errlen, "cannot list network interfaces: %s", strerror(errno));
		goto fail;
	}

	features_probe(&e->feat);
	if (!e->feat.btf) {
		snprintf(err, errlen,
			 "this kernel has no BTF (/sys/kernel/btf/vmlinux); pktlens needs "
			 "CONFIG_DEBUG_INFO_BTF");
		goto fail;
	}
	if (btf_enum_load(&e->tcp_states, NULL, "TCP_ESTABLISHED", "TCP_"))
		pr_warn("TCP state names not found in the kernel's BTF");
	/* the models exist before the object loads: some set its knobs (configure) */
	e->env.tcp_states = &e->tcp_states;
	e->env.engine = e;
	e->env.netns_ino = opts->netns ? e->netns_ino : 0;
	e->env.slow_ms = opts->slow_ms;
	e->env.idle_s = opts->idle_timeout_s;
	e->env.drop_reasons = e->feat.drop_reasons;
	for (int i = 0; i < e->n_ifaces; i++) {
		e->ifindexes[i] = e->ifaces[i].ifindex;
		memcpy(e->ifnames[i], e->ifaces[i].name, 16);
	}
	e->env.ifindexes = e->ifindexes;
	e->env.n_ifaces = (size_t)e->n_ifaces;
	for (size_t i = 0; i < pl_n_models; i++) {
		if (!(e->models[i] = pl_models[i]->create(&e->env))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}

reopen:
	e->skel = pktlens_bpf__open();
	if (!e->skel) {
		snprintf(err, errlen, "opening the BPF object failed: %s", strerror(errno));
		goto fail;
	}
	bpf_map__set_max_entries(e->skel->maps.flows, opts->flow_entries);
	bpf_map__set_max_entries(e->skel->maps.flow_dirty, dirty_ring_size(opts->flow_entries));
	e->skel->rodata->netns_ino = opts->netns ? e->netns_ino : 0;
	capture_configure(e);
	for (size_t i = 0; i < pl_n_models; i++)
		if (pl_models[i]->configure)
			pl_models[i]->configure(e->models[i], e->skel);
	probes_set_autoload(e);
	int ret = pktlens_bpf__load(e->skel);
	/*
	 * A feature probe's program loaded but pktlens' own variants did not: fall back one kind
	 * at a time (fexit to the tracepoints, tp_btf to the raw tracepoints) and load again.
	 */
	if (ret && (e->feat.fexit || e->feat.tp_btf)) {
		bool fexit = e->feat.fexit;
		const char *kind = fexit ? "fexit" : "tp_btf";
		bool *on = fexit ? &e->feat.fexit : &e->feat.tp_btf;
		char(*why)[sizeof(e->feat.fexit_why)] =
		    fexit ? &e->feat.fexit_why : &e->feat.tp_btf_why;
		pr_warn("%s variants did not load (%s); using the %stracepoint versions", kind,
			strerror(-ret), fexit ? "" : "raw ");
		pktlens_bpf__destroy(e->skel);
		e->skel = NULL;
		*on = false;
		snprintf(*why, sizeof(*why), "pktlens' %s programs did not load", kind);
		goto reopen;
	}
	if (ret) {
		snprintf(err, errlen,
			 "the kernel refused pktlens' BPF programs (%s); run with PKTLENS_DEBUG=1 "
			 "to see the verifier log",
			 strerror(-ret));
		goto fail;
	}
	if (probes_build(e, err, errlen))
		goto fail;
	e->env.obj = e->skel->obj;
	if (flowstore_init(&e->fs, opts->flow_entries)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (e->filter) {
		e->fs.filter = flow_filter;
		e->fs.filter_ctx = e->filter;
	}
	e->nl_fd = tcnl_open();
	if (opts->list_only)
		return e;

	/* Who is alive is decided by locks under /run/pktlens (instance.h), never by process names. */
	if (instance_start(NULL, err, errlen))
		goto fail;
	if (claim_progs(e, err, errlen))
		goto fail;
	if (e->nl_fd < 0 || tcnl_emerg_init()) {
		snprintf(err, errlen, "cannot open an rtnetlink socket: %s",
			 strerror(e->nl_fd < 0 ? -e->nl_fd : errno));
		goto fail;
	}
	probes_remove_stale(e);
	legacy_events_cleanup();
	instance_sweep_dead();
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events), handle_event, e, NULL);
	for (size_t i = 0; e->rb && i < pl_n_models; i++) {
		if (!pl_models[i]->ring)
			continue;
		rings[i] = (struct model_ring){ e, i };
		int fd = maps_fd(e->skel->obj, pl_models[i]->ring);
		if (fd < 0 || ring_buffer__add(e->rb, fd, handle_model_event, &rings[i])) {
			ring_buffer__free(e->rb);
			e->rb = NULL;
		}
	}
	if (!e->rb || flow_reader_init(&e->flowmaps, bpf_map__fd(e->skel->maps.flows),
				       bpf_map__fd(e->skel->maps.flow_dirty),
				       &e->skel->bss->flow_epoch, opts->flow_entries)) {
		snprintf(err, errlen, "creating the ring buffer failed: %s", strerror(errno));
		goto fail;
	}
	/* Run-time stats cost every BPF program on the host: only on request (engine_bpf_stats). */
	if (opts->bpf_stats && stats_apply(e))
		pr_info("BPF run-time statistics unavailable: %s", strerror(errno));

	e->start_mono_ns = mono_ns();
	e->env.start_ns = e->start_mono_ns;
	if (probes_apply_list(e, opts->probes, err, errlen))
		goto fail;
	for (size_t i = 0; i < pl_n_models; i++)
		if (pl_models[i]->start && pl_models[i]->start(e->models[i], &e->env, err, errlen))
			goto fail;
	return e;
fail:
	engine__free(e);
	return NULL;
}

void engine__free(struct engine *e)
{
	if (!e)
		return;
	if (e->skel)
		probes_detach_all(e);
	xdp_chain_free(e);
	if (e->nl_fd >= 0)
		close(e->nl_fd);
	instance_end();
	ring_buffer__free(e->rb);
	flow_reader_free(&e->flowmaps); /* before the object: it writes the programs' epoch */
	if (e->stats_fd >= 0)
		close(e->stats_fd);
	pktlens_bpf__destroy(e->skel);
	free(e->probes);
	flowrows_free(&e->rows);
	flowstore_free(&e->fs);
	btf_enum_free(&e->tcp_states);
	pfilter__free(e->filter);
	for (size_t i = 0; i < pl_n_models; i++)
		if (e->models[i])
			pl_models[i]->free(e->models[i]);
	free(e);
}

/*
 * What toggling and adding probes still needs once everything of the start
 * is attached (docs/security.md says why each stays):
 * - CAP_BPF: attaching the loaded programs, reading and updating maps.
 * - CAP_PERFMON: tracepoints and kprobes are perf events.
 * - CAP_NET_ADMIN: tc filters, clsact, tcx and XDP; the exit cleanup.
 * - CAP_SYS_ADMIN, only where the kernel has uprobes: the uprobe PMU
 *   refuses perf_event_open without it (EACCES with CAP_PERFMON alone on
 *   6.18, measured), and uprobes can be added at any time; and with the
 *   terminal UI: BPF run-time statistics go on and off with the Probes pane.
 * - CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH: /proc/PID/fd of other users'
 *   processes, to name the process behind a socket opened before pktlens.
 */
uint64_t engine_runtime_caps(struct engine *e)
{
	uint64_t keep = 1ULL << 39 /* CAP_BPF */ | 1ULL << 38 /* CAP_PERFMON */ |
			1ULL << 12 /* CAP_NET_ADMIN */ | 1ULL << 19 /* CAP_SYS_PTRACE */ |
			1ULL << 2 /* CAP_DAC_READ_SEARCH */;
	/* bpf_enable_stats() wants CAP_SYS_ADMIN: the Probes pane turns statistics on and off */
	if (e->feat.uprobe || e->stats_on_demand)
		keep |= 1ULL << 21; /* CAP_SYS_ADMIN */
	return keep;
}

/* Async-signal-safe: only sends the delete messages prepared when the filters were attached. */
void engine_emergency_detach(void)
{
	tcnl_emerg_run();
}

/*
 * Holds BPF run-time statistics on exactly while --bpf-stats or a view wants them. Measured
 * on this machine's kernel (make bench, figure 1): an empty program goes from ~26 ns to
 * ~95 ns per run while they are on, and so does every other BPF program on the host.
 */
static int stats_apply(struct engine *e)
{
	int want = e->opts.bpf_stats || e->stats_view;
	if (want && e->stats_fd < 0) {
		int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (fd < 0)
			return -errno;
		e->stats_fd = fd;
		e->stats_since_ns = mono_ns();
	} else if (!want && e->stats_fd >= 0) {
		close(e->stats_fd);
		e->stats_fd = -1;
		e->stats_ns += mono_ns() - e->stats_since_ns;
	}
	return 0;
}

void engine_bpf_stats_on_demand(struct engine *e)
{
	e->stats_on_demand = 1;
}

int engine_bpf_stats(struct engine *e, int on)
{
	e->stats_view = on != 0;
	return stats_apply(e);
}

int engine_events_fd(struct engine *e)
{
	return e->rb ? ring_buffer__epoll_fd(e->rb) : -1;
}

int engine_poll_events(struct engine *e)
{
	return e->rb ? ring_buffer__consume(e->rb) : 0;
}

/* Sums the funclat histograms of one pair (one per process for uprobes) into a probe row. */
static void fill_latency(const struct funclat_key *keys, const struct lat_hist *hists, size_t n,
			 uint64_t cookie, struct probe_info *pi)
{
	for (size_t i = 0; i < n; i++) {
		const struct funclat_key *k = &keys[i];
		const struct lat_hist *h = &hists[i];
		if (k->cookie != cookie)
			continue;
		uint64_t c = 0;
		for (int b = 0; b < PL_LAT_BUCKETS; b++) {
			pi->lat_hist[b] += h->bucket[b];
			c += h->bucket[b];
		}
		pi->lat_count += c;
		if (!k->tgid)
			continue;
		/* Keep the processes with the most calls, most first (insertion into a short list). */
		uint32_t j = pi->n_lat_pids < 8 ? pi->n_lat_pids++ : 7;
		if (j == 7 && pi->lat_pids[7].count >= c)
			continue;
		while (j > 0 && pi->lat_pids[j - 1].count < c) {
			pi->lat_pids[j] = pi->lat_pids[j - 1];
			j--;
		}
		pi->lat_pids[j].pid = k->tgid;
		pi->lat_pids[j].count = c;
	}
}

static void fill_probes(struct engine *e, struct snapshot *s)
{
	probes_describe(e);
	s->probes = calloc(e->n_probes ? e->n_probes : 1, sizeof(*s->probes));
	if (!s->probes)
		return;
	s->n_probes = e->n_probes;
	struct maps_desc hits = { bpf_map__fd(e->skel->maps.probe_hits), sizeof(__u64),
				  sizeof(__u64), MAPS_SUM_U64 };
	struct maps_desc lat = { bpf_map__fd(e->skel->maps.funclat_hist),
				 sizeof(struct funclat_key), sizeof(struct lat_hist), MAPS_PLAIN };
	void *lk = NULL, *lv = NULL;
	size_t lcap = 0;
	long nl = -1;
	for (size_t i = 0; i < e->n_probes; i++) {
		struct probe *p = &e->probes[i];
		s->probes[i] = p->info;
		int fd = p->prog ? bpf_program__fd(p->prog) : -1;
		if (fd >= 0) {
			struct bpf_prog_info info = { 0 };
			__u32 ilen = sizeof(info);
			if (!bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
				s->probes[i].run_cnt = info.run_cnt;
				s->probes[i].run_time_ns = info.run_time_ns;
				s->probes[i].misses = info.recursion_misses;
			}
		}
		if (p->cookie)
			maps_lookup_sum(&hits, &p->cookie, &s->probes[i].hits);
		if (!p->lat_cookie)
			continue;
		if (nl < 0)
			nl = maps_read_grow(&lat, &lk, &lv, &lcap);
		if (nl > 0)
			fill_latency(lk, lv, (size_t)nl, p->lat_cookie, &s->probes[i]);
	}
	free(lk);
	free(lv);
}

/* Totals from the per-CPU counters, independent of what the flow table holds. */
static void fill_totals(struct engine *e, const struct pl_counters *c, double dt,
			struct snapshot *s)
{
	struct snapshot_totals *t = &s->tot;
	for (int i = 0; i < PL_P_MAX; i++)
		t->packets[i] = c->packets[i];
	for (int i = 0; i < PL_M_MAX; i++) {
		t->malformed[i] = c->malformed[i];
		t->malformed_total += c->malformed[i];
	}
	t->flow_table_full = c->flow_table_full;
	t->events_lost = c->events_lost;
	t->rx_packets = c->ip_packets[PL_DIR_RX];
	t->rx_bytes = c->ip_bytes[PL_DIR_RX];
	t->tx_packets = c->ip_packets[PL_DIR_TX];
	t->tx_bytes = c->ip_bytes[PL_DIR_TX];
	/* back-to-back readings (the last one on exit) keep the rates of the last interval */
	if (dt >= 0.05) {
		const struct pl_counters *p = &e->counters;
		e->tot.rx_pps = rate_per_s(p->ip_packets[PL_DIR_RX], t->rx_packets, dt);
		e->tot.rx_bps = 8 * rate_per_s(p->ip_bytes[PL_DIR_RX], t->rx_bytes, dt);
		e->tot.tx_pps = rate_per_s(p->ip_packets[PL_DIR_TX], t->tx_packets, dt);
		e->tot.tx_bps = 8 * rate_per_s(p->ip_bytes[PL_DIR_TX], t->tx_bytes, dt);
	}
	if (dt >= 0.05 || !e->last_refresh_ns)
		e->counters = *c;
	t->rx_pps = e->tot.rx_pps;
	t->rx_bps = e->tot.rx_bps;
	t->tx_pps = e->tot.tx_pps;
	t->tx_bps = e->tot.tx_bps;

	struct snapshot_flow_table *f = &s->ftab;
	f->size = bpf_map__max_entries(e->skel->maps.flows);
	f->present = e->fs.n;
	f->created = c->flows_created;
	f->evicted = e->flowmaps.evicted;
	f->aged_out = e->flowmaps.aged_out;
	f->full_reads = e->flowmaps.full_reads;
	f->dirty_reads = e->flowmaps.dirty_reads;
}

/*
 * A flow's way from the kernel to the screen and the JSON, each file once:
 *   maps.c + flowmaps.c  the flows that changed (or the whole table) and the counters
 *   flowstore.c          per flow: last reading, rates, rate history, age
 *   models (models.c)    read their own maps first (sockets, drops, L7, processes)
 *   flowrow.c            rows of the changed flows, each model's fill and count, in view order
 *   snapshot             immutable, reference counted: view.c and src/ui, json.c
 */
static struct snapshot *refresh(struct engine *e, int last);

struct snapshot *engine_refresh(struct engine *e)
{
	return refresh(e, 0);
}

struct snapshot *engine_refresh_last(struct engine *e)
{
	return refresh(e, 1);
}

static struct snapshot *refresh(struct engine *e, int last)
{
	struct snapshot *s = snapshot__new();
	if (!s)
		return NULL;
	uint64_t now = mono_ns();
	double dt = e->last_refresh_ns ? (double)(now - e->last_refresh_ns) / 1e9 : 0;

	/* the counters before the table: the evictions they imply are never overstated */
	struct maps_desc counters = { bpf_map__fd(e->skel->maps.counters), sizeof(__u32),
				      sizeof(struct pl_counters), MAPS_SUM_U64 };
	struct pl_counters c = { 0 };
	__u32 zero = 0;
	maps_lookup_sum(&counters, &zero, &c);
	flowstore_begin(&e->fs, dt);
	flow_reader_read(&e->flowmaps, &e->fs, &c, now, e->opts.idle_timeout_s);
	flowstore_end(&e->fs);

	engine_poll_events(e);
	/*
	 * The responses that aged-out flows held (and on exit those all flows hold), after the
	 * ring's records (the request one answers may still have been there), as the records
	 * the programs would have sent. On exit a program that sends one after this reading
	 * sends it to a ring nobody reads again: each is counted once.
	 */
	if (last)
		flow_reader_keep_open(&e->flowmaps, &e->fs);
	size_t n_held;
	const struct l7_event *held = flow_reader_take_held(&e->flowmaps, &n_held);
	void *l7 = engine_model(e, &l7_model_ops);
	for (size_t i = 0; l7 && i < n_held; i++)
		l7_model_ops.event(l7, &held[i], PL_L7_EVENT_SIZE(0), &e->env);
	struct model_tick tick = { .now_ns = now, .dt = dt, .gen = e->fs.gen };
	for (size_t i = 0; i < pl_n_models; i++)
		if (pl_models[i]->read)
			pl_models[i]->read(e->models[i], &e->env, &tick, s);
	/* the programs count a response when they send it: these were sent here */
	if (s->l7)
		s->l7->events += e->flowmaps.held_total;

	s->gen = e->fs.gen;
	s->rate_hist = hist_pool_get(e->fs.hist);
	s->uptime_s = (double)(now - e->start_mono_ns) / 1e9;
	s->interval_s = dt;
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	s->time_unix_ns = (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec;
	snprintf(s->host, sizeof(s->host), "%s", e->host);
	snprintf(s->netns, sizeof(s->netns), "%s", e->netns);
	s->bpf_stats = e->stats_fd >= 0;
	s->bpf_stats_s = (double)(e->stats_ns + (s->bpf_stats ? now - e->stats_since_ns : 0)) / 1e9;
	for (int i = 0; i < e->n_ifaces; i++) {
		size_t l = strlen(s->ifaces);
		snprintf(s->ifaces + l, sizeof(s->ifaces) - l, "%s%s", i ? "," : "",
			 e->ifaces[i].name);
	}

	struct flowrows_ctx rc = { .fs = &e->fs,
				   .start_ns = e->start_mono_ns,
				   .ifindexes = e->ifindexes,
				   .ifnames = (const char(*)[16])e->ifnames,
				   .n_ifaces = (size_t)e->n_ifaces,
				   .models = e->models };
	flowrows_build(&e->rows, &rc, s);
	fill_probes(e, s);
	fill_totals(e, &c, dt, s);
	/* the status line's and JSON stats' lost count: L7 events the ring could not take too */
	if (s->l7)
		s->tot.events_lost += s->l7->events_lost;
	e->last_refresh_ns = now;
	return s;
}

void engine_set_flow_order(struct engine *e, int key, int desc)
{
	flowrows_set_order(&e->rows, key, desc);
}

int engine_probe_toggle(struct engine *e, const char *id, char *err, size_t errlen)
{
	struct probe *p = probe_find(e, id);
	if (!p) {
		snprintf(err, errlen, "no probe '%s'", id);
		return -ENOENT;
	}
	if (p->info.state == PS_ATTACHED) {
		probe_detach(e, p);
		return 0;
	}
	return probe_attach(e, p, err, errlen);
}

int engine_probe_add(struct engine *e, const char *spec, char *err, size_t errlen)
{
	struct probe *p = probe_add_spec(e, spec, err, errlen);
	if (!p)
		return -EINVAL;
	if (p->info.kind == PK_TC_INGRESS || p->info.kind == PK_TC_EGRESS || p->info.kind == PK_XDP)
		probes_remove_stale(e);
	return probe_attach(e, p, err, errlen);
}

static void sync_watch_count(struct engine *e)
{
	uint32_t n = 0;
	for (int i = 0; i < PL_WATCH_MAX; i++)
		n += e->watches[i].used;
	e->skel->bss->watch_count = n;
}

/* A flow's watch entry serves the drill-down (watching) and a view's capture (capturing):
 * the map entry says which, and goes when neither wants it. */
static int watch_set(struct engine *e, const struct flow_key *key, bool capture, int on, char *err,
		     size_t errlen)
{
	int fd = bpf_map__fd(e->skel->maps.watch);
	struct watch_buf *w = NULL, *free_slot = NULL;
	for (int i = 0; i < PL_WATCH_MAX && !w; i++) {
		if (e->watches[i].used && !memcmp(&e->watches[i].key, key, sizeof(*key)))
			w = &e->watches[i];
		else if (!e->watches[i].used && !free_slot)
			free_slot = &e->watches[i];
	}
	if (!w && !on)
		return 0;
	if (!w && !free_slot) {
		snprintf(err, errlen, "at most %d flows can be watched at once", PL_WATCH_MAX);
		return -ENOSPC;
	}
	if (!w) {
		w = free_slot;
		memset(w, 0, sizeof(*w));
		w->key = *key;
	}
	bool watching = capture ? w->watching : on, capturing = capture ? on : w->capturing;
	if (!watching && !capturing) {
		bpf_map_delete_elem(fd, key);
		w->used = false;
		sync_watch_count(e);
		return 0;
	}
	__u32 val = 1 | (capturing ? PL_WATCH_CAPTURE : 0);
	if (bpf_map_update_elem(fd, key, &val, BPF_ANY)) {
		int ret = -errno;
		snprintf(err, errlen, "watching the flow failed: %s", strerror(-ret));
		if (!w->used)
			memset(w, 0, sizeof(*w));
		return ret;
	}
	w->used = true;
	w->watching = watching;
	w->capturing = capturing;
	sync_watch_count(e);
	return 0;
}

int engine_flow_watch(struct engine *e, const struct flow_key *key, int on, char *err,
		      size_t errlen)
{
	return watch_set(e, key, false, on, err, errlen);
}

int engine_flow_capture(struct engine *e, const struct flow_key *key, int on, char *err,
			size_t errlen)
{
	if (on && !(e->opts.capture & (PL_CAPTURE_FLOWS | PL_CAPTURE_ALL))) {
		snprintf(err, errlen, "packet capture is not loaded in this run");
		return -EOPNOTSUPP;
	}
	/* with -w the programs capture every packet already: no flag needed */
	if (e->opts.capture & PL_CAPTURE_ALL)
		return 0;
	return watch_set(e, key, true, on, err, errlen);
}

uint32_t engine_flow_owner(struct engine *e, const struct flow_key *key, char comm[16])
{
	struct flow_row r;
	memset(&r, 0, sizeof(r));
	r.key = *key;
	comm[0] = '\0';
	for (size_t i = 0; i < pl_n_models; i++) {
		if (strcmp(pl_models[i]->name, "processes") || !pl_models[i]->fill)
			continue;
		pl_models[i]->fill(e->models[i], &r);
		memcpy(comm, r.comm, 16);
		comm[15] = '\0';
		return r.pid;
	}
	return 0;
}

int engine_capture_fd(struct engine *e)
{
	return e->opts.capture ? bpf_map__fd(e->skel->maps.capture) : -1;
}

int engine_capture_stats(struct engine *e, uint64_t *captured, uint64_t *lost)
{
	struct pl_cap_stats st;
	struct maps_desc d = { bpf_map__fd(e->skel->maps.capture_stats), 4, sizeof(st),
			       MAPS_SUM_U64 };
	__u32 zero = 0;
	int ret = maps_lookup_sum(&d, &zero, &st);
	*captured = ret ? 0 : st.captured;
	*lost = ret ? 0 : st.lost;
	return ret;
}

uint64_t engine_start_ns(struct engine *e)
{
	return e->start_mono_ns;
}

size_t engine_flow_packets(struct engine *e, const struct flow_key *key, struct pkt_event *out,
			   size_t max)
{
	engine_poll_events(e);
	for (int i = 0; i < PL_WATCH_MAX; i++) {
		struct watch_buf *w = &e->watches[i];
		if (!w->used || memcmp(&w->key, key, sizeof(*key)))
			continue;
		size_t n = w->count < max ? w->count : max;
		uint32_t start = (w->head + PL_WATCH_RING - n) % PL_WATCH_RING;
		for (size_t j = 0; j < n; j++)
			out[j] = w->ring[(start + j) % PL_WATCH_RING];
		return n;
	}
	return 0;
}

static bool cand_seen(char out[][64], size_t n, const char *c)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(out[i], c))
			return true;
	return false;
}

/*
 * Kernel functions starting with rest: the traceable ones from
 * available_filter_functions ("name [module]" lines) where it is readable and
 * not empty, else text symbols from /proc/kallsyms.
 */
static size_t complete_kfuncs(const char *rest, char out[][64], size_t max)
{
	size_t n = 0, rl = strlen(rest);
	char line[512], name[256];
	bool ftrace = true;
	FILE *f = fopen("/sys/kernel/tracing/available_filter_functions", "r");
	if (!f) {
		f = fopen("/proc/kallsyms", "r");
		ftrace = false;
	}
	size_t lines = 0;
	while (f && n < max) {
		if (!fgets(line, sizeof(line), f)) {
			/* ftrace without function tracing lists nothing: kallsyms then */
			if (!ftrace || lines)
				break;
			fclose(f);
			f = fopen("/proc/kallsyms", "r");
			ftrace = false;
			continue;
		}
		lines++;
		char type = 'T';
		if (ftrace ? sscanf(line, "%255s", name) != 1
			   : sscanf(line, "%*s %c %255s", &type, name) != 2)
			continue;
		if ((type != 't' && type != 'T') || strncmp(name, rest, rl) || strlen(name) >= 64 ||
		    cand_seen(out, n, name))
			continue;
		snprintf(out[n++], 64, "%s", name);
	}
	if (f)
		fclose(f);
	return n;
}

/* Tracepoints: "CATEGORY:" while rest has no ':', then the category's event names. */
static size_t complete_tracepoints(const char *rest, char out[][64], size_t max)
{
	size_t n = 0;
	const char *sep = strchr(rest, ':');
	char dir[256];
	if (sep)
		snprintf(dir, sizeof(dir), "/sys/kernel/tracing/events/%.*s", (int)(sep - rest),
			 rest);
	else
		snprintf(dir, sizeof(dir), "/sys/kernel/tracing/events");
	const char *want = sep ? sep + 1 : rest;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && n < max && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, want, strlen(want)) ||
		    strlen(de->d_name) > 60)
			continue;
		char sub[512];
		struct stat st;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (stat(sub, &st) || !S_ISDIR(st.st_mode))
			continue;
		snprintf(out[n++], 64, "%s%s", de->d_name, sep ? "" : ":");
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * Candidates for the add-probe prompt: probe kinds, then interfaces after an
 * interface kind, kernel functions after kprobe:/kretprobe:, tracepoints
 * after tracepoint:. Past the kind, candidates are the part after the last ':'.
 */
size_t engine_complete(struct engine *e, const char *prefix, char out[][64], size_t max)
{
	size_t n = 0;
	const char *colon = strchr(prefix, ':');
	if (!colon) {
		for (int k = 0; k < PK_SOCKET_FILTER && n < max; k++) {
			const char *name = probe_kind_name(k);
			if (!strncmp(name, prefix, strlen(prefix)))
				snprintf(out[n++], 64, "%s:", name);
		}
		return n;
	}
	size_t kl = (size_t)(colon - prefix);
	const char *rest = colon + 1;
	if (!strncmp(prefix, "xdp", kl) || !strncmp(prefix, "tc-ingress", kl) ||
	    !strncmp(prefix, "tc-egress", kl)) {
		struct if_nameindex *ni = if_nameindex(), *i;
		for (i = ni; i && i->if_index && n < max; i++)
			if (!strncmp(i->if_name, rest, strlen(rest)))
				snprintf(out[n++], 64, "%.*s:%.40s", (int)kl, prefix, i->if_name);
		if (ni)
			if_freenameindex(ni);
	} else if (kl == 6 && !strncmp(prefix, "kprobe", kl)) {
		n = complete_kfuncs(rest, out, max);
	} else if (kl == 9 && !strncmp(prefix, "kretprobe", kl)) {
		n = complete_kfuncs(rest, out, max);
	} else if (kl == 10 && !strncmp(prefix, "tracepoint", kl)) {
		n = complete_tracepoints(rest, out, max);
	}
	return n;
}

void engine_print_probes(struct engine *e, FILE *f)
{
	probes_describe(e);
	fprintf(f, "%-44s %-12s %-12s %s\n", "PROBE", "KIND", "STATE", "REASON [MODE]");
	for (size_t i = 0; i < e->n_probes; i++) {
		const struct probe_info *p = &e->probes[i].info;
		fprintf(f, "%-44s %-12s %-12s %s%s%s%s", p->id, probe_kind_name(p->kind),
			probe_state_name(p->state), p->reason, p->detail[0] ? " [" : "", p->detail,
			p->detail[0] ? "]" : "");
		/* the whole chain of a hook: who else runs there, in the kernel's order */
		for (uint32_t k = 0; k < p->n_others; k++)
			fprintf(f, "%s%s %s id %u", k ? ", " : " also here: ", p->others[k].how,
				p->others[k].name[0] ? p->others[k].name : "?", p->others[k].id);
		if (p->others_more)
			fprintf(f, " and %u more", p->others_more);
		fputc('\n', f);
	}
	fprintf(f,
		"kernel: BTF %s, tracefs %s, kprobes %s, uprobes %s, fentry/fexit %s, tp_btf %s, "
		"XDP %s, tc as %s, lockdown %s\n",
		e->feat.btf ? "yes" : "no", e->feat.tracefs ? "yes" : "no",
		e->feat.kprobe ? "yes" : "no", e->feat.uprobe ? "yes" : "no",
		e->feat.fexit ? "yes" : "no", e->feat.tp_btf ? "yes" : "no",
		e->feat.xdp ? "yes" : "no", e->feat.tcx ? "tcx links" : "classic tc filters",
		e->feat.lockdown[0] ? e->feat.lockdown : "none");
	fprintf(f, "xdp: %s%s\n",
		e->feat.xdp_chain ? "chained through libxdp's dispatcher"
				  : "one program per interface: ",
		e->feat.xdp_chain ? "" : e->feat.xdp_chain_why);
}

int engine_set_slow_ms(struct engine *e, double ms, char *err, size_t errlen)
{
	if (!(ms >= PL_SLOW_MS_MIN && ms <= PL_SLOW_MS_MAX)) {
		snprintf(err, errlen, "the slow threshold must be between %g and %g ms",
			 (double)PL_SLOW_MS_MIN, (double)PL_SLOW_MS_MAX);
		return -EINVAL;
	}
	void l7ops_set_slow_ms(void *l7ops, double ms);
	l7ops_set_slow_ms(engine_model(e, &l7_model_ops), ms);
	return 0;
}

void *engine_model(struct engine *e, const struct model_ops *ops)
{
	for (size_t i = 0; i < pl_n_models; i++)
		if (pl_models[i] == ops)
			return e->models[i];
	return NULL;
}

int engine_prog_fd(struct engine *e, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(e->skel->obj, name);
	return p ? bpf_program__fd(p) : -ENOENT;
}

int engine_map_fd(struct engine *e, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(e->skel->obj, name);
	return m ? bpf_map__fd(m) : -ENOENT;
}
