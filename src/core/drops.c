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
#define DISCARD_RING 32

/*
 * "Discarded at close": skbs the kernel frees together with a queue whose owner went away,
 * which no network path dropped. From the kernel's documentation of enum skb_drop_reason
 * (include/net/dropreason-core.h) and the places that pass them:
 *  - QUEUE_PURGE, "bulk free": the default reason of __skb_queue_purge(). A socket being
 *    destroyed frees its receive queue with it (sk_stream_kill_queues): on a web host that
 *    is above all the peer's FIN, queued on a socket that had already closed its side, one
 *    per connection the host closes first; also the data of children a listener never
 *    accepted. tcp_disconnect(), and devices and neighbour entries torn down with packets
 *    queued, use it too. The place column tells which owner it was.
 *  - SOCKET_CLOSE, "socket is close()d": an AF_UNIX socket closed with unread messages.
 *  - UNIX_DISCONNECT: an AF_UNIX datagram socket's queue purged when it reconnects or
 *    notices its peer closed.
 * Not among them: TCP_CLOSE (a segment that arrived for a socket already closed) and
 * TCP_ABORT_ON_DATA (data that arrived after close()) are segments the network delivered and
 * the stack refused; UNIX_SKIP_OOB is a reader skipping data, not a close. Unread TCP data
 * at close() itself is freed by __tcp_close() with __kfree_skb(), which fires no tracepoint
 * (TcpExtTCPAbortOnClose counts those connections).
 */
static const char *const discard_names[] = { "QUEUE_PURGE", "SOCKET_CLOSE", "UNIX_DISCONNECT" };

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
	/* discards at close: a ring of their own, so that they never crowd drops out */
	struct drop_event dring[DISCARD_RING];
	uint32_t dhead, dcount;
	struct flow_total *flows; /* sorted by key, from the last read */
	size_t n_flows;
	uint8_t discard[MAX_REASON]; /* 1: the reason value is a discard at close */
};

struct drops_model *drops_model__new(const char *btf_path, const char *kallsyms)
{
	struct drops_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	/* The enum is renumbered between kernels: names always come from this kernel's BTF. */
	btf_enum_load(&m->reasons, btf_path, "SKB_DROP_REASON_NOT_SPECIFIED", "SKB_DROP_REASON_");
	for (uint32_t v = 0; v < MAX_REASON; v++) {
		const char *n = btf_enum_name(&m->reasons, v);
		for (size_t i = 0; n && *n && i < sizeof(discard_names) / sizeof(*discard_names);
		     i++)
			if (!strcmp(n, discard_names[i]))
				m->discard[v] = 1;
	}
	m->ks = ksyms__load(kallsyms);
	return m;
}

int drops_reason_discard(const struct drops_model *m, uint32_t value)
{
	return value < MAX_REASON && m->discard[value];
}

size_t drops_discard_values(const struct drops_model *m, uint32_t *out, size_t max)
{
	size_t n = 0;
	for (uint32_t v = 0; v < MAX_REASON && n < max; v++)
		if (m->discard[v])
			out[n++] = v;
	return n;
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
	if (drops_reason_discard(m, ev->reason)) {
		m->dring[m->dhead] = *ev;
		m->dhead = (m->dhead + 1) % DISCARD_RING;
		if (m->dcount < DISCARD_RING)
			m->dcount++;
		return;
	}
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

struct loc_acc {
	uint64_t addr, count;
};

/* Adds count to the place's entry (by address; the table keeps the first 512 places). */
static void loc_add(struct loc_acc *locs, size_t *nl, uint64_t addr, uint64_t c)
{
	size_t j;
	for (j = 0; j < *nl && locs[j].addr != addr; j++)
		;
	if (j == *nl && *nl < 512)
		locs[(*nl)++] = (struct loc_acc){ addr, 0 };
	if (j < 512)
		locs[j].count += c;
}

/* Symbolises the largest places into out (at most max rows), by count descending. */
static size_t loc_rows(struct drops_model *m, const struct loc_acc *locs, size_t nl,
		       struct drop_loc_row *out, size_t max)
{
	size_t n = 0;
	for (size_t j = 0; j < nl; j++) {
		struct drop_loc_row r = { .count = locs[j].count };
		ksyms_format(m->ks, locs[j].addr, r.function, sizeof(r.function));
		if (n < max) {
			out[n++] = r;
		} else {
			/* keep the largest: replace the smallest when this one beats it */
			size_t min = 0;
			for (size_t x = 1; x < n; x++)
				if (out[x].count < out[min].count)
					min = x;
			if (r.count > out[min].count)
				out[min] = r;
		}
	}
	qsort(out, n, sizeof(out[0]), cmp_loc_desc);
	return n;
}

/*
 * Aggregates per-CPU drop_counts; fills reasons (indexed by value), and for drops of the
 * network path the totals, locations and interfaces; discards at close get their own total
 * and locations.
 */
static void read_counts(struct drops_model *m, int fd, struct snapshot_drops *d,
			uint64_t *by_reason)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return;
	__u64 *vals = calloc((size_t)ncpu, sizeof(__u64));
	struct drop_key k, next, *prev = NULL;
	/* locations: accumulate by address first, symbolise the top ones only */
	struct loc_acc *locs = calloc(2 * 512, sizeof(*locs)), *dlocs = locs ? locs + 512 : NULL;
	size_t nl = 0, ndl = 0;
	while (vals && locs && !bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		uint64_t c = 0;
		for (int i = 0; i < ncpu; i++)
			c += vals[i];
		if (k.reason < MAX_REASON)
			by_reason[k.reason] += c;
		if (drops_reason_discard(m, k.reason)) {
			d->discarded += c;
			loc_add(dlocs, &ndl, k.location, c);
			continue;
		}
		d->total += c;
		loc_add(locs, &nl, k.location, c);
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
	if (locs) {
		d->n_locs = loc_rows(m, locs, nl, d->locs, PL_DROP_LOCS_MAX);
		d->n_discard_locs =
		    loc_rows(m, dlocs, ndl, d->discard_locs, PL_DROP_DISCARD_LOCS_MAX);
	}
	free(locs);
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
		/* the BPF side keeps discards out of this table; a kernel's stray entry too */
		if (bpf_map_lookup_elem(fd, &k, &c) || drops_reason_discard(m, k.reason))
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
	if (n) /* ft is NULL while no drop has a flow; qsort(NULL, 0) is undefined (UBSan) */
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

static void event_row(struct drops_model *m, const struct drop_event *ev,
		      struct drop_event_row *row, uint64_t start_ns)
{
	char buf[40];
	row->time = ((double)ev->ts_ns - (double)start_ns) / 1e9;
	snprintf(row->reason, sizeof(row->reason), "%s", drops_reason_name(m, ev->reason, buf));
	ksyms_format(m->ks, ev->location, row->location, sizeof(row->location));
	row->key = ev->flow;
	row->len = ev->len;
	if (ev->flow.family)
		flow_key_format(&ev->flow, row->flow, sizeof(row->flow));
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
	for (uint32_t i = 0; i < m->count + m->dcount; i++) {
		const struct drop_event *ev =
		    i < m->count ? &m->ring[(m->head + EV_RING - m->count + i) % EV_RING]
				 : &m->dring[(m->dhead + DISCARD_RING - m->dcount + i - m->count) %
					     DISCARD_RING];
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
		int discard = drops_reason_discard(m, r);
		if (discard)
			d->discarded_rate += rate;
		if (!c || (discard ? d->n_discard_reasons == PL_DROP_DISCARD_REASONS_MAX
				   : d->n_reasons == PL_DROP_REASONS_MAX))
			continue;
		struct drop_reason_row *row = discard ? &d->discard_reasons[d->n_discard_reasons++]
						      : &d->reasons[d->n_reasons++];
		row->value = r;
		row->count = c;
		row->rate = rate;
		row->last_seen = m->last_seen[r] ? m->last_seen[r] : -1;
		char buf[40];
		snprintf(row->reason, sizeof(row->reason), "%s", drops_reason_name(m, r, buf));
		memcpy(row->hist, m->hist[r], sizeof(row->hist));
		row->hist_len = m->hist_len[r];
		if (discard)
			continue;
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
	qsort(d->discard_reasons, d->n_discard_reasons, sizeof(d->discard_reasons[0]),
	      cmp_reason_desc);

	for (uint32_t i = 0; i < m->count && d->n_events < PL_DROP_EVENTS_MAX; i++)
		event_row(m, &m->ring[(m->head + EV_RING - m->count + i) % EV_RING],
			  &d->events[d->n_events++], start_ns);
	for (uint32_t i = 0; i < m->dcount && d->n_discard_events < PL_DROP_DISCARD_EVENTS_MAX; i++)
		event_row(m, &m->dring[(m->dhead + DISCARD_RING - m->dcount + i) % DISCARD_RING],
			  &d->discard_events[d->n_discard_events++], start_ns);

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
