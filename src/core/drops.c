/* The drops model: aggregates kfree_skb counts from BPF maps into reasons, places, interfaces and flows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "core/btf_enum.h"
#include "core/drops.h"
#include "core/flowfmt.h"
#include "core/jsonw.h"
#include "core/ksyms.h"
#include "core/maps.h"
#include "core/model.h"
#include "core/qstats.h"
#include "pktlens.skel.h"

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
	uint64_t version;	     /* moves when a flow's drops changed */
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
 * Aggregates drop_counts (summed over the CPUs); fills reasons (indexed by value), and for drops
 * of the network path the totals, locations and interfaces; discards at close get their own
 * total and locations.
 */
static void take_counts(struct drops_model *m, const struct drops_input *in,
			struct snapshot_drops *d, uint64_t *by_reason)
{
	/* locations: accumulate by address first, symbolise the top ones only */
	struct loc_acc *locs = calloc(2 * 512, sizeof(*locs)), *dlocs = locs ? locs + 512 : NULL;
	size_t nl = 0, ndl = 0;
	for (size_t e = 0; locs && e < in->n_counts; e++) {
		const struct drop_key *k = &in->count_keys[e];
		uint64_t c = in->counts[e];
		if (k->reason < MAX_REASON)
			by_reason[k->reason] += c;
		if (drops_reason_discard(m, k->reason)) {
			d->discarded += c;
			loc_add(dlocs, &ndl, k->location, c);
			continue;
		}
		d->total += c;
		loc_add(locs, &nl, k->location, c);
		char ifn[16];
		flow_iface_str(k->ifindex, ifn);
		const char *pn = l4_name(k->l4proto, k->protocol);
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
	if (locs) {
		d->n_locs = loc_rows(m, locs, nl, d->locs, PL_DROP_LOCS_MAX);
		d->n_discard_locs =
		    loc_rows(m, dlocs, ndl, d->discard_locs, PL_DROP_DISCARD_LOCS_MAX);
	}
	free(locs);
}

static void take_flows(struct drops_model *m, const struct drops_input *in,
		       struct snapshot_drops *d)
{
	size_t n = 0;
	struct flow_total *ft =
	    in->n_flows ? calloc(in->n_flows, sizeof(*ft)) : NULL; /* padding compared */
	struct drop_flow_row *rows = calloc(PL_DROP_FLOWS_MAX * 4, sizeof(*rows));
	size_t nr = 0;
	for (size_t e = 0; e < in->n_flows; e++) {
		const struct flow_drop_key *k = &in->flow_keys[e];
		uint64_t c = in->flow_counts[e];
		/* the BPF side keeps discards out of this table; a kernel's stray entry too */
		if (drops_reason_discard(m, k->reason))
			continue;
		if (ft) {
			ft[n].key = k->flow;
			ft[n].count = c;
			n++;
		}
		if (rows && nr < PL_DROP_FLOWS_MAX * 4) {
			rows[nr].key = k->flow;
			rows[nr].count = c;
			char buf[40];
			snprintf(rows[nr].reason, sizeof(rows[nr].reason), "%s",
				 drops_reason_name(m, k->reason, buf));
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
	if (w != m->n_flows || (w && memcmp(ft, m->flows, w * sizeof(*ft))))
		m->version++;
	free(m->flows);
	m->flows = ft;
	m->n_flows = w;
	if (rows) {
		if (nr)
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

struct snapshot_drops *drops_model_update(struct drops_model *m, const struct drops_input *in,
					  uint64_t start_ns, uint64_t now_ns, double dt,
					  int have_reasons)
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
	take_counts(m, in, d, by_reason);
	take_flows(m, in, d);

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

	d->rcvqueue_full = in->counters.rcvqueue_full;
	d->exceed_buf_limit = in->counters.exceed_buf_limit;
	d->events_lost = in->counters.events_lost;
	d->n_qdiscs = in->n_qdiscs < PL_QDISC_MAX ? in->n_qdiscs : PL_QDISC_MAX;
	if (d->n_qdiscs)
		memcpy(d->qdiscs, in->qdiscs, d->n_qdiscs * sizeof(d->qdiscs[0]));
	d->n_softnet = in->n_softnet < PL_CPUS_MAX ? in->n_softnet : PL_CPUS_MAX;
	if (d->n_softnet)
		memcpy(d->softnet, in->softnet, d->n_softnet * sizeof(d->softnet[0]));
	free(by_reason);
	return d;
}

/* ---- the model's place in the engine (model.h) ---- */

struct drops_reader {
	struct drops_model *m;
	struct drop_key *ck; /* drop_counts, summed over the CPUs */
	uint64_t *cv;
	size_t c_cap;
	struct flow_drop_key *fk; /* flow_drops */
	uint64_t *fv;
	size_t f_cap;
	struct qdisc_row qdiscs[PL_QDISC_MAX];
	struct softnet_row softnet[PL_CPUS_MAX];
};

static void *drops_create(const struct model_env *env)
{
	struct drops_reader *r = calloc(1, sizeof(*r));
	if (r && !(r->m = drops_model__new(NULL, NULL))) {
		free(r);
		r = NULL;
	}
	return r;
}

static void drops_free(void *p)
{
	struct drops_reader *r = p;
	if (!r)
		return;
	drops_model__free(r->m);
	free(r->ck);
	free(r->cv);
	free(r->fk);
	free(r->fv);
	free(r);
}

/* The drop programs file these reasons as discards: their values on this kernel, before load. */
static void drops_configure(void *p, struct pktlens_bpf *skel)
{
	struct drops_reader *r = p;
	drops_discard_values(r->m, skel->rodata->discard_reasons, PL_DISCARD_REASONS_MAX);
}

static void drops_event(void *p, const void *data, size_t len, const struct model_env *env)
{
	struct drops_reader *r = p;
	if (len >= sizeof(struct drop_event))
		drops_model_event(r->m, data);
}

static void drops_read(void *p, const struct model_env *env, const struct model_tick *t,
		       struct snapshot *s)
{
	struct drops_reader *r = p;
	struct drops_input in = { 0 };
	struct maps_desc counts = { maps_fd(env->obj, "drop_counts"), sizeof(struct drop_key),
				    sizeof(uint64_t), MAPS_SUM_U64 };
	struct maps_desc flows = { maps_fd(env->obj, "flow_drops"), sizeof(struct flow_drop_key),
				   sizeof(uint64_t), MAPS_PLAIN };
	struct maps_desc stats = { maps_fd(env->obj, "drop_stats"), sizeof(__u32),
				   sizeof(struct drop_counters), MAPS_SUM_U64 };
	__u32 zero = 0;
	long n = maps_read_grow(&counts, (void **)&r->ck, (void **)&r->cv, &r->c_cap);
	in.count_keys = r->ck;
	in.counts = r->cv;
	in.n_counts = n > 0 ? (size_t)n : 0;
	n = maps_read_grow(&flows, (void **)&r->fk, (void **)&r->fv, &r->f_cap);
	in.flow_keys = r->fk;
	in.flow_counts = r->fv;
	in.n_flows = n > 0 ? (size_t)n : 0;
	maps_lookup_sum(&stats, &zero, &in.counters);
	int q = qdisc_read(env->ifindexes, env->n_ifaces, r->qdiscs, PL_QDISC_MAX);
	in.qdiscs = r->qdiscs;
	in.n_qdiscs = q > 0 ? (size_t)q : 0;
	int sn = softnet_read(NULL, r->softnet, PL_CPUS_MAX);
	in.softnet = r->softnet;
	in.n_softnet = sn > 0 ? (size_t)sn : 0;
	s->drops =
	    drops_model_update(r->m, &in, env->start_ns, t->now_ns, t->dt, env->drop_reasons);
}

static void drops_fill(void *p, struct flow_row *row)
{
	struct drops_reader *r = p;
	row->drops = drops_model_flow(r->m, &row->key);
}

static uint64_t drops_version(void *p)
{
	return ((struct drops_reader *)p)->m->version;
}

static const struct jf reason_fields[] = {
	JF_STR(struct drop_reason_row, reason, "reason"),
	JF_U64(struct drop_reason_row, count, "count"),
	JF_F64(struct drop_reason_row, rate, "rate"),
	JF_F64(struct drop_reason_row, last_seen, "last_seen"),
	JF_STR(struct drop_reason_row, top_flow, "top_flow"),
};

/* discards name no top flow: the BPF side keeps them out of the per-flow table */
static const struct jf discard_reason_fields[] = {
	JF_STR(struct drop_reason_row, reason, "reason"),
	JF_U64(struct drop_reason_row, count, "count"),
	JF_F64(struct drop_reason_row, rate, "rate"),
	JF_F64(struct drop_reason_row, last_seen, "last_seen"),
};

static const struct jf loc_fields[] = {
	JF_STR(struct drop_loc_row, function, "function"),
	JF_U64(struct drop_loc_row, count, "count"),
};

static const struct jf iface_fields[] = {
	JF_STR(struct drop_iface_row, iface, "iface"),
	JF_STR(struct drop_iface_row, proto, "proto"),
	JF_U64(struct drop_iface_row, count, "count"),
};

static const struct jf flow_fields[] = {
	JF_STR(struct drop_flow_row, flow, "flow"),
	JF_STR(struct drop_flow_row, reason, "reason"),
	JF_U64(struct drop_flow_row, count, "count"),
};

static const struct jf event_fields[] = {
	JF_STR(struct drop_event_row, reason, "reason"),
	JF_STR(struct drop_event_row, location, "location"),
	JF_STR(struct drop_event_row, flow, "flow"),
	JF_U32(struct drop_event_row, len, "len"),
	JF_F64(struct drop_event_row, time, "time"),
};

static const struct jf qdisc_fields[] = {
	JF_STR(struct qdisc_row, iface, "iface"),
	JF_STR(struct qdisc_row, kind, "kind"),
	JF_STR(struct qdisc_row, handle, "handle"),
	JF_STR(struct qdisc_row, parent, "parent"),
	JF_U64(struct qdisc_row, packets, "packets"),
	JF_U64(struct qdisc_row, bytes, "bytes"),
	JF_U64(struct qdisc_row, drops, "drops"),
	JF_U64(struct qdisc_row, overlimits, "overlimits"),
	JF_U64(struct qdisc_row, requeues, "requeues"),
	JF_U32(struct qdisc_row, backlog, "backlog"),
	JF_U32(struct qdisc_row, qlen, "qlen"),
};

static const struct jf softnet_fields[] = {
	JF_U32(struct softnet_row, cpu, "cpu"),
	JF_U64(struct softnet_row, processed, "processed"),
	JF_U64(struct softnet_row, dropped, "dropped"),
	JF_U64(struct softnet_row, time_squeeze, "time_squeeze"),
	JF_U64(struct softnet_row, flow_limit, "flow_limit"),
};

#define ROWS(w, key, fields, arr, n) \
	jw_rows(w, key, fields, JF_COUNT(fields), arr, sizeof((arr)[0]), n)

static void drops_json(struct jw *w, const struct snapshot *s)
{
	static const struct snapshot_drops none;
	const struct snapshot_drops *d = s->drops ? s->drops : &none;
	size_t flows = d->n_flows < 32 ? d->n_flows : 32;
	size_t first = d->n_events > 16 ? d->n_events - 16 : 0;
	jw_obj(w, "drops");
	jw_u64(w, "total", d->total);
	jw_num(w, "rate", d->rate);
	ROWS(w, "by_reason", reason_fields, d->reasons, d->n_reasons);
	ROWS(w, "by_location", loc_fields, d->locs, d->n_locs);
	ROWS(w, "by_iface", iface_fields, d->ifaces, d->n_ifaces);
	ROWS(w, "flows", flow_fields, d->flows, flows);
	ROWS(w, "recent", event_fields, &d->events[first], d->n_events - first);
	ROWS(w, "queues", qdisc_fields, d->qdiscs, d->n_qdiscs);
	ROWS(w, "softnet", softnet_fields, d->softnet, d->n_softnet);
	jw_u64(w, "rcvqueue_full", d->rcvqueue_full);
	jw_u64(w, "exceed_buf_limit", d->exceed_buf_limit);
	jw_u64(w, "events_lost", d->events_lost);
	jw_bool(w, "have_reasons", d->have_reasons);
	/* queues freed with their owner: not in total or any list above (see the top of this file) */
	jw_obj(w, "discarded_at_close");
	jw_u64(w, "total", d->discarded);
	jw_num(w, "rate", d->discarded_rate);
	ROWS(w, "by_reason", discard_reason_fields, d->discard_reasons, d->n_discard_reasons);
	ROWS(w, "by_location", loc_fields, d->discard_locs, d->n_discard_locs);
	ROWS(w, "recent", event_fields, d->discard_events, d->n_discard_events);
	jw_obj_end(w);
	jw_obj_end(w);
}

const struct model_ops drops_model_ops = {
	.name = "drops",
	.create = drops_create,
	.configure = drops_configure,
	.ring = "drop_events",
	.event = drops_event,
	.read = drops_read,
	.fill = drops_fill,
	.version = drops_version,
	.json = drops_json,
	.free = drops_free,
};
