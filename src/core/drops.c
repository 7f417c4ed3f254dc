/* The drops model: aggregates kfree_skb counts from BPF maps into reasons, places, interfaces and flows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/btf_enum.h"
#include "core/drops.h"
#include "core/flowfmt.h"
#include "core/ksyms.h"
#include "core/qstats.h"

#define MAX_REASON 1024
#define EV_RING 128

struct flow_total {
	struct flow_key key;
	uint64_t count;
};

struct drops_model {
	struct btf_enum_names reasons;
	struct ksyms *ks;
	uint64_t prev[MAX_REASON];    /* count per reason at the last read */
	double last_seen[MAX_REASON]; /* seconds since start, 0 = never */
	float hist[MAX_REASON][PL_HIST_LEN];
	uint32_t hist_len[MAX_REASON];
	uint64_t prev_total;
	int have_prev;
	struct drop_event ring[EV_RING];
	uint32_t head, count;
	struct flow_total *flows; /* sorted by key, from the last read */
	size_t n_flows;
};

struct drops_model *drops_model__new(const char *btf_path, const char *kallsyms)
{
	struct drops_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	/* The enum is renumbered between kernels: names always come from this kernel's BTF. */
	btf_enum_load(&m->reasons, btf_path, "SKB_DROP_REASON_NOT_SPECIFIED", "SKB_DROP_REASON_");
	m->ks = ksyms__load(kallsyms);
	return m;
}

void drops_model__free(struct drops_model *m)
{
	if (!m)
		return;
	btf_enum_free(&m->reasons);
	ksyms__free(m->ks);
	free(m->flows);
	free(m);
}

const char *drops_reason_name(const struct drops_model *m, uint32_t value, char buf[40])
{
	const char *n = btf_enum_name(&m->reasons, value);
	if (n && *n)
		return n;
	snprintf(buf, 40, "REASON_%u", value);
	return buf;
}

void drops_model_event(struct drops_model *m, const struct drop_event *ev)
{
	m->ring[m->head] = *ev;
	m->head = (m->head + 1) % EV_RING;
	if (m->count < EV_RING)
		m->count++;
}

static int cmp_reason_desc(const void *a, const void *b)
{
	const struct drop_reason_row *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static int cmp_loc_desc(const void *a, const void *b)
{
	const struct drop_loc_row *x = a, *y = b;
	return x->count < y->count   ? 1
	       : x->count > y->count ? -1
				     : strcmp(x->function, y->function);
}

static int cmp_dflow_desc(const void *a, const void *b)
{
	const struct drop_flow_row *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static const char *l4_name(uint8_t p, uint16_t eth)
{
	if (p)
		return proto_name(p);
	return eth == 0x0806 ? "arp" : eth == 0x0800 ? "ip" : eth == 0x86dd ? "ip6" : "other";
}

/* Aggregates per-CPU drop_counts; fills reasons (indexed by value), locations, interfaces. */
static void read_counts(struct drops_model *m, int fd, struct snapshot_drops *d,
			uint64_t *by_reason)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return;
	__u64 *vals = calloc((size_t)ncpu, sizeof(__u64));
	struct drop_key k, next, *prev = NULL;
	/* locations: accumulate by address first, symbolise the top ones only */
	struct {
		uint64_t addr, count;
	} locs[512];
	size_t nl = 0;
	while (vals && !bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		uint64_t c = 0;
		for (int i = 0; i < ncpu; i++)
			c += vals[i];
		d->total += c;
		if (k.reason < MAX_REASON)
			by_reason[k.reason] += c;
		size_t j;
		for (j = 0; j < nl && locs[j].addr != k.location; j++)
			;
		if (j == nl && nl < 512)
			locs[nl++] = (typeof(locs[0])){ k.location, 0 };
		if (j < 512)
			locs[j].count += c;
		char ifn[16];
		flow_iface_str(k.ifindex, ifn);
		const char *pn = l4_name(k.l4proto, k.protocol);
		size_t i;
		for (i = 0; i < d->n_ifaces; i++)
			if (!strcmp(d->ifaces[i].iface, ifn) && !strcmp(d->ifaces[i].proto, pn))
				break;
		if (i == d->n_ifaces && d->n_ifaces < PL_DROP_IFACES_MAX) {
			snprintf(d->ifaces[i].iface, sizeof(d->ifaces[i].iface), "%s", ifn);
			snprintf(d->ifaces[i].proto, sizeof(d->ifaces[i].proto), "%s", pn);
			d->n_ifaces++;
		}
		if (i < PL_DROP_IFACES_MAX)
			d->ifaces[i].count += c;
	}
	free(vals);
	for (size_t j = 0; j < nl; j++) {
		struct drop_loc_row r = { .count = locs[j].count };
		ksyms_format(m->ks, locs[j].addr, r.function, sizeof(r.function));
		if (d->n_locs < PL_DROP_LOCS_MAX) {
			d->locs[d->n_locs++] = r;
		} else {
			/* keep the largest: replace the smallest when this one beats it */
			size_t min = 0;
			for (size_t x = 1; x < d->n_locs; x++)
				if (d->locs[x].count < d->locs[min].count)
					min = x;
			if (r.count > d->locs[min].count)
				d->locs[min] = r;
		}
	}
	qsort(d->locs, d->n_locs, sizeof(d->locs[0]), cmp_loc_desc);
}

static void read_flows(struct drops_model *m, int fd, struct snapshot_drops *d)
{
	struct flow_drop_key k, next, *prev = NULL;
	size_t cap = 0, n = 0;
	struct flow_total *ft = NULL;
	struct drop_flow_row *rows = calloc(PL_DROP_FLOWS_MAX * 4, sizeof(*rows));
	size_t nr = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		__u64 c;
		if (bpf_map_lookup_elem(fd, &k, &c))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			struct flow_total *nf = realloc(ft, cap * sizeof(*nf));
			if (!nf)
				break;
			ft = nf;
		}
		ft[n].key = k.flow;
		ft[n].count = c;
		n++;
		if (rows && nr < PL_DROP_FLOWS_MAX * 4) {
			rows[nr].key = k.flow;
			rows[nr].count = c;
			char buf[40];
			snprintf(rows[nr].reason, sizeof(rows[nr].reason), "%s",
				 drops_reason_name(m, k.reason, buf));
			nr++;
		}
	}
	/* per-flow totals over every reason, for the Flows drops column */
	qsort(ft, n, sizeof(*ft), flow_key_cmp);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && !memcmp(&ft[w - 1].key, &ft[i].key, sizeof(ft[i].key)))
			ft[w - 1].count += ft[i].count;
		else
			ft[w++] = ft[i];
	}
	free(m->flows);
	m->flows = ft;
	m->n_flows = w;
	if (rows) {
		qsort(rows, nr, sizeof(*rows), cmp_dflow_desc);
		d->n_flows = nr < PL_DROP_FLOWS_MAX ? nr : PL_DROP_FLOWS_MAX;
		for (size_t i = 0; i < d->n_flows; i++) {
			d->flows[i] = rows[i];
			flow_key_format(&rows[i].key, d->flows[i].flow, sizeof(d->flows[i].flow));
		}
		free(rows);
	}
}

uint64_t drops_model_flow(const struct drops_model *m, const struct flow_key *k)
{
	if (!m->n_flows)
		return 0;
	const struct flow_total *t =
	    bsearch(k, m->flows, m->n_flows, sizeof(*m->flows), flow_key_cmp);
	return t ? t->count : 0;
}

struct snapshot_drops *drops_model_read(struct drops_model *m, const struct drops_maps *maps,
					const int *ifindexes, size_t n_if, uint64_t start_ns,
					uint64_t now_ns, double dt, int have_reasons)
{
	struct snapshot_drops *d = calloc(1, sizeof(*d));
	uint64_t *by_reason = calloc(MAX_REASON, sizeof(*by_reason));
	if (!d || !by_reason) {
		free(d);
		free(by_reason);
		return NULL;
	}
	d->have_reasons = have_reasons;
	double now_s = (double)(now_ns - start_ns) / 1e9;
	read_counts(m, maps->counts_fd, d, by_reason);
	read_flows(m, maps->flow_drops_fd, d);

	/* newest events tell when each reason last happened */
	for (uint32_t i = 0; i < m->count; i++) {
		const struct drop_event *ev =
		    &m->ring[(m->head + EV_RING - m->count + i) % EV_RING];
		if (ev->reason < MAX_REASON) {
			double t = ((double)ev->ts_ns - (double)start_ns) / 1e9;
			if (t > m->last_seen[ev->reason])
				m->last_seen[ev->reason] = t;
		}
	}
	int fresh = dt >= 0.05; /* back-to-back readings (exit) keep the last rates */
	for (uint32_t r = 0; r < MAX_REASON; r++) {
		uint64_t c = by_reason[r];
		double rate = 0;
		if (fresh && m->have_prev) {
			rate = c >= m->prev[r] ? (double)(c - m->prev[r]) / dt : 0;
			memmove(m->hist[r], m->hist[r] + 1, (PL_HIST_LEN - 1) * sizeof(float));
			m->hist[r][PL_HIST_LEN - 1] = (float)rate;
			if (m->hist_len[r] < PL_HIST_LEN)
				m->hist_len[r]++;
		}
		if (c > m->prev[r] && !m->last_seen[r])
			m->last_seen[r] =
			    now_s; /* its events were lost: the count says it happened */
		if (fresh)
			m->prev[r] = c;
		if (!c || d->n_reasons == PL_DROP_REASONS_MAX)
			continue;
		struct drop_reason_row *row = &d->reasons[d->n_reasons++];
		row->value = r;
		row->count = c;
		row->rate = rate;
		row->last_seen = m->last_seen[r] ? m->last_seen[r] : -1;
		char buf[40];
		snprintf(row->reason, sizeof(row->reason), "%s", drops_reason_name(m, r, buf));
		memcpy(row->hist, m->hist[r], sizeof(row->hist));
		row->hist_len = m->hist_len[r];
		d->rate += rate;
		for (size_t i = 0; i < d->n_flows; i++) {
			if (!strcmp(d->flows[i].reason, row->reason)) {
				memcpy(row->top_flow, d->flows[i].flow, sizeof(row->top_flow));
				row->top_flow_count = d->flows[i].count;
				break;
			}
		}
	}
	if (fresh)
		m->have_prev = 1;
	qsort(d->reasons, d->n_reasons, sizeof(d->reasons[0]), cmp_reason_desc);

	for (uint32_t i = 0; i < m->count && d->n_events < PL_DROP_EVENTS_MAX; i++) {
		const struct drop_event *ev =
		    &m->ring[(m->head + EV_RING - m->count + i) % EV_RING];
		struct drop_event_row *row = &d->events[d->n_events++];
		char buf[40];
		row->time = ((double)ev->ts_ns - (double)start_ns) / 1e9;
		snprintf(row->reason, sizeof(row->reason), "%s",
			 drops_reason_name(m, ev->reason, buf));
		ksyms_format(m->ks, ev->location, row->location, sizeof(row->location));
		row->key = ev->flow;
		row->len = ev->len;
		if (ev->flow.family)
			flow_key_format(&ev->flow, row->flow, sizeof(row->flow));
	}

	int ncpu = libbpf_num_possible_cpus();
	struct drop_counters *dc = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*dc)) : NULL;
	__u32 zero = 0;
	if (dc && !bpf_map_lookup_elem(maps->stats_fd, &zero, dc)) {
		for (int i = 0; i < ncpu; i++) {
			d->rcvqueue_full += dc[i].rcvqueue_full;
			d->exceed_buf_limit += dc[i].exceed_buf_limit;
			d->events_lost += dc[i].events_lost;
		}
	}
	free(dc);

	int q = qdisc_read(ifindexes, n_if, d->qdiscs, PL_QDISC_MAX);
	d->n_qdiscs = q > 0 ? (size_t)q : 0;
	int sn = softnet_read(NULL, d->softnet, PL_CPUS_MAX);
	d->n_softnet = sn > 0 ? (size_t)sn : 0;
	free(by_reason);
	return d;
}
