/* The TCP health model: joins socket tracepoint data to flows and keeps recent retransmissions and resets. */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "core/flowfmt.h"
#include "core/histring.h"
#include "core/json.h"
#include "core/jsonw.h"
#include "core/maps.h"
#include "core/model.h"
#include "core/tcpmodel.h"

#define EV_RING 256
#define NS 1000000000ULL
#define TCP_CLOSE 7 /* include/net/tcp_states.h; the same on every kernel */

struct sock_entry {
	struct sock_key k;
	struct sock_val v;
	uint32_t hist, hist_serial; /* srtt and cwnd history in m->hist */
};

struct lat_entry {
	struct flow_key k;
	struct lat_hist h;
};

struct tcp_model {
	const struct btf_enum_names *states;
	struct tcp_event ring[EV_RING];
	uint32_t head, count;
	struct sock_entry *socks; /* sorted by key */
	size_t n_socks;
	struct lat_entry *lats; /* sorted by key */
	size_t n_lats;
	uint64_t prev_retrans, last_read_ns, conns_opened, short_lived;
	uint64_t start_ns, now_ns; /* of the last update, for the flows' durations */
	double hs_sum;
	uint64_t hs_n;
	int have_prev;
	struct hist_pool *hist; /* srtt and cwnd per socket */
	uint64_t version;	/* moves when a socket or a flow's latency changed */
	uint64_t closed_keep_ns;
	/* sockets closed longer than closed_keep_ns at the last update: the map's entries go */
	struct sock_key *forget;
	size_t n_forget, cap_forget;
};

struct tcp_model *tcp_model__new(const struct btf_enum_names *states)
{
	struct tcp_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->states = states;
	m->closed_keep_ns = PL_TCP_CLOSED_KEEP_S * NS;
	/* srtt and cwnd hold their value between tcp_probe hits */
	if (!(m->hist = hist_pool__new(1))) {
		free(m);
		return NULL;
	}
	return m;
}

void tcp_model__free(struct tcp_model *m)
{
	if (!m)
		return;
	free(m->socks);
	free(m->lats);
	free(m->forget);
	hist_pool_put(m->hist);
	free(m);
}

void tcp_model_set_closed_keep(struct tcp_model *m, double idle_s)
{
	double s = idle_s <= 0			   ? PL_TCP_CLOSED_KEEP_NEVER_S
		   : idle_s < PL_TCP_CLOSED_KEEP_S ? PL_TCP_CLOSED_KEEP_S
						   : idle_s;
	m->closed_keep_ns = (uint64_t)(s * 1e9);
}

const struct sock_key *tcp_model_forget(const struct tcp_model *m, size_t *n)
{
	*n = m->n_forget;
	return m->forget;
}

size_t tcp_model_sockets(const struct tcp_model *m)
{
	return m->n_socks;
}

const struct hist_pool *tcp_model_hist(const struct tcp_model *m)
{
	return m->hist;
}

void tcp_model_event(struct tcp_model *m, const struct tcp_event *ev)
{
	m->ring[m->head] = *ev;
	m->head = (m->head + 1) % EV_RING;
	if (m->count < EV_RING)
		m->count++;
}

const char *tcp_state_name(const struct tcp_model *m, unsigned state)
{
	const char *n = m->states ? btf_enum_name(m->states, state) : "";
	return n && *n ? n : "-"; /* 0: no socket (a RST for a closed port) */
}

static int cmp_sock(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sock_key));
}

static const char *kind_name(int k)
{
	switch (k) {
	case PL_TE_RETRANS:
		return "retrans";
	case PL_TE_RETRANS_SYN:
		return "syn";
	case PL_TE_RETRANS_SYNACK:
		return "synack";
	case PL_TE_RESET_RX:
		return "rst-in";
	case PL_TE_RESET_TX:
		return "rst-out";
	}
	return "?";
}

static void sock_flow_str(const struct sock_key *k, char *out, size_t len)
{
	struct flow_key fk = { 0 };
	memcpy(fk.local, k->local, 16);
	memcpy(fk.remote, k->remote, 16);
	fk.local_port = k->local_port;
	fk.remote_port = k->remote_port;
	fk.family = k->family;
	fk.proto = 6;
	char l[46], r[46];
	flow_addr_str(fk.local, fk.family, l, sizeof(l));
	flow_addr_str(fk.remote, fk.family, r, sizeof(r));
	snprintf(out, len, "tcp %s:%u <> %s:%u", l, k->local_port, r, k->remote_port);
}

/*
 * Keeps the entries of one reading sorted by key, for the flows' lookups. A
 * socket keeps its srtt/cwnd history across readings; it gets a sample when
 * tcp_probe fired since the last one.
 */
/*
 * A socket closed longer ago than the keep time leaves the model, and its
 * map entry is named in m->forget for the reader to delete: the socks map
 * is an LRU of 64k entries that nothing else empties, so every connection
 * ever made would stay (with its history ring, and copied into every
 * snapshot) until 64k of them filled it. Only a socket whose state is still
 * CLOSE goes: a key reused by a new connection has moved on.
 */
static int expired(const struct tcp_model *m, const struct sock_val *v, uint64_t now_ns)
{
	return v->state == TCP_CLOSE && v->close_ns && now_ns > v->close_ns &&
	       now_ns - v->close_ns >= m->closed_keep_ns;
}

static void forget_add(struct tcp_model *m, const struct sock_key *k)
{
	if (m->n_forget == m->cap_forget) {
		size_t cap = m->cap_forget ? 2 * m->cap_forget : 256;
		struct sock_key *f = realloc(m->forget, cap * sizeof(*f));
		if (!f)
			return; /* the entry stays in the map; it is skipped and named again next time */
		m->forget = f;
		m->cap_forget = cap;
	}
	m->forget[m->n_forget++] = *k;
}

static int take_socks(struct tcp_model *m, const struct tcp_input *in, uint32_t gen,
		      uint64_t now_ns)
{
	m->n_forget = 0;
	struct sock_entry *se = in->n_socks ? malloc(in->n_socks * sizeof(*se)) : NULL;
	if (in->n_socks && !se)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < in->n_socks; i++) {
		if (expired(m, &in->sock_vals[i], now_ns)) {
			forget_add(m, &in->sock_keys[i]);
			continue;
		}
		se[n].k = in->sock_keys[i];
		se[n].v = in->sock_vals[i];
		se[n].hist = se[n].hist_serial = 0;
		n++;
	}
	if (n)
		qsort(se, n, sizeof(*se), cmp_sock);
	/* both sorted: one walk carries the histories over and frees those of gone sockets */
	size_t j = 0, same = 0;
	for (size_t i = 0; i < m->n_socks; i++) {
		struct sock_entry *old = &m->socks[i];
		while (j < n && cmp_sock(&se[j], old) < 0)
			j++;
		if (j < n && !cmp_sock(&se[j], old)) {
			se[j].hist = old->hist;
			se[j].hist_serial = old->hist_serial;
			same += !memcmp(&se[j].v, &old->v, sizeof(old->v));
			continue;
		}
		if (old->hist)
			hist_free(m->hist, old->hist, gen);
	}
	if (same != m->n_socks || same != n)
		m->version++;
	for (size_t i = 0; i < n; i++) {
		struct sock_entry *e = &se[i];
		if (!e->v.probes)
			continue;
		const struct sock_entry *old =
		    m->n_socks ? bsearch(e, m->socks, m->n_socks, sizeof(*e), cmp_sock) : NULL;
		if (old && old->v.probes == e->v.probes && e->hist)
			continue; /* no tcp_probe since the last reading: the history holds */
		if (!e->hist)
			e->hist = hist_alloc(m->hist, gen, &e->hist_serial);
		float v[HIST_SERIES] = { (float)e->v.srtt_us, (float)e->v.cwnd };
		hist_write(m->hist, e->hist, gen, v);
	}
	free(m->socks);
	m->socks = se;
	m->n_socks = n;
	return 0;
}

static int take_lats(struct tcp_model *m, const struct tcp_input *in)
{
	struct lat_entry *le = in->n_lats ? malloc(in->n_lats * sizeof(*le)) : NULL;
	if (in->n_lats && !le)
		return -1;
	for (size_t i = 0; i < in->n_lats; i++) {
		le[i].k = in->lat_keys[i];
		le[i].h = in->lat_vals[i];
	}
	if (in->n_lats)
		qsort(le, in->n_lats, sizeof(*le), flow_key_cmp);
	if (in->n_lats != m->n_lats ||
	    (in->n_lats && memcmp(le, m->lats, in->n_lats * sizeof(*le))))
		m->version++;
	free(m->lats);
	m->lats = le;
	m->n_lats = in->n_lats;
	return 0;
}

static double rel_s(uint64_t t, uint64_t start_ns)
{
	return ((double)t - (double)start_ns) / 1e9;
}

/* The sockets' lives and the flows' latency, beside the rows (view.h finds them by key). */
static struct snapshot_tcp *new_part(const struct tcp_model *m, uint64_t start_ns)
{
	size_t n_detail = 0;
	for (size_t i = 0; i < m->n_socks; i++)
		n_detail += m->socks[i].v.n_states || m->socks[i].v.open_ns;
	struct snapshot_tcp *t = calloc(1, sizeof(*t) + n_detail * sizeof(struct tcp_sock_detail) +
					       m->n_lats * sizeof(struct flow_lat_row));
	if (!t)
		return NULL;
	struct tcp_sock_detail *d = (struct tcp_sock_detail *)(t + 1);
	struct flow_lat_row *l = (struct flow_lat_row *)(d + n_detail);
	for (size_t i = 0; i < m->n_socks; i++) {
		const struct sock_key *k = &m->socks[i].k;
		const struct sock_val *v = &m->socks[i].v;
		if (!v->n_states && !v->open_ns)
			continue;
		struct tcp_sock_detail *o = &d[t->n_socks++];
		memcpy(o->key.local, k->local, 16);
		memcpy(o->key.remote, k->remote, 16);
		o->key.local_port = k->local_port;
		o->key.remote_port = k->remote_port;
		o->key.family = k->family;
		o->key.proto = 6;
		o->open_s = v->open_ns ? rel_s(v->open_ns, start_ns) : -1;
		o->close_s =
		    v->open_ns && v->close_ns > v->open_ns ? rel_s(v->close_ns, start_ns) : -1;
		uint32_t n = v->n_states < PL_STATE_HIST ? v->n_states : PL_STATE_HIST;
		for (uint32_t j = 0; j < n; j++) {
			uint32_t idx = (v->n_states - n + j) % PL_STATE_HIST;
			snprintf(o->timeline[j].state, sizeof(o->timeline[j].state), "%s",
				 tcp_state_name(m, v->states[idx]));
			o->timeline[j].ms = v->state_ms[idx];
		}
		o->n_timeline = n;
	}
	if (t->n_socks)
		qsort(d, t->n_socks, sizeof(*d), flow_key_cmp);
	for (size_t i = 0; i < m->n_lats; i++) {
		l[i].key = m->lats[i].k;
		for (int b = 0; b < PL_LAT_BUCKETS; b++) {
			l[i].hist[b] = m->lats[i].h.bucket[b];
			l[i].count += m->lats[i].h.bucket[b];
		}
	}
	t->socks = d;
	t->lats = l;
	t->n_lats = m->n_lats;
	return t;
}

struct snapshot_tcp *tcp_model_update(struct tcp_model *m, const struct tcp_input *in,
				      uint64_t start_ns, uint64_t now_ns, double dt, uint32_t gen)
{
	m->start_ns = start_ns;
	m->now_ns = now_ns;
	/* out of memory: the flows keep the previous reading's sockets */
	take_socks(m, in, gen, now_ns);
	take_lats(m, in);
	struct snapshot_tcp *t = new_part(m, start_ns);
	if (!t)
		return NULL;
	for (size_t i = 0; i < m->n_socks; i++) {
		const struct sock_val *v = &m->socks[i].v;
		if (v->est_ns > m->last_read_ns && v->est_ns <= now_ns) {
			m->conns_opened++;
			t->conn_rate += 1;
			if (v->open_ns && v->open_ns < v->est_ns) {
				m->hs_sum += (double)(v->est_ns - v->open_ns) / 1e6;
				m->hs_n++;
			}
		}
		if (v->close_ns > m->last_read_ns && v->close_ns <= now_ns && v->open_ns &&
		    v->close_ns - v->open_ns < 1000000000ULL)
			m->short_lived++;
	}
	t->conn_rate = dt > 0 ? t->conn_rate / dt : 0;
	t->conns_opened = m->conns_opened;
	t->short_lived = m->short_lived;
	t->handshake_ms_avg = m->hs_n ? m->hs_sum / (double)m->hs_n : 0;

	t->retrans_total = in->counters.retrans_segs;
	t->resets_rx = in->counters.resets_rx;
	t->resets_tx = in->counters.resets_tx;
	t->events_lost = in->counters.events_lost;
	if (dt >= 0.05) {
		if (m->have_prev && t->retrans_total >= m->prev_retrans)
			t->retrans_rate = (double)(t->retrans_total - m->prev_retrans) / dt;
		m->prev_retrans = t->retrans_total;
		m->have_prev = 1;
	}
	for (int b = 0; b < PL_LAT_BUCKETS; b++) {
		t->lat_hist[b] = in->all_lat.bucket[b];
		t->lat_count += t->lat_hist[b];
	}

	for (uint32_t i = 0; i < m->count && t->n_recent < PL_TCP_EVENTS_MAX; i++) {
		const struct tcp_event *ev = &m->ring[(m->head + EV_RING - m->count + i) % EV_RING];
		if (m->count - i > PL_TCP_EVENTS_MAX)
			continue;
		struct tcp_event_row *r = &t->recent[t->n_recent++];
		r->time = ((double)ev->ts_ns - (double)start_ns) / 1e9;
		snprintf(r->kind, sizeof(r->kind), "%s", kind_name(ev->kind));
		snprintf(r->state, sizeof(r->state), "%s", tcp_state_name(m, ev->state));
		sock_flow_str(&ev->key, r->flow, sizeof(r->flow));
		memcpy(r->key.local, ev->key.local, 16);
		memcpy(r->key.remote, ev->key.remote, 16);
		r->key.local_port = ev->key.local_port;
		r->key.remote_port = ev->key.remote_port;
		r->key.family = ev->key.family;
		r->key.proto = 6;
		r->seq = ev->seq;
		r->segs = ev->segs;
	}
	m->last_read_ns = now_ns;
	return t;
}

void tcp_model_fill_flow(const struct tcp_model *m, struct flow_row *r)
{
	const struct flow_key *fk = &r->key;
	r->handshake_ms = -1;
	if (fk->proto != 6 || !m->n_socks)
		return;
	struct sock_key q = { 0 };
	memcpy(q.local, fk->local, 16);
	memcpy(q.remote, fk->remote, 16);
	q.local_port = fk->local_port;
	q.remote_port = fk->remote_port;
	q.family = fk->family;
	const struct sock_entry *se =
	    bsearch(&q, m->socks, m->n_socks, sizeof(*m->socks), cmp_sock);
	if (!se)
		return;
	const struct sock_val *v = &se->v;
	if (v->state_ns)
		snprintf(r->state, sizeof(r->state), "%s", tcp_state_name(m, v->state));
	/* tcp_probe fires on the socket's incoming segments: until one arrived these are unknown */
	if (v->probes) {
		r->known |= PL_FK_TCP_INFO;
		r->srtt_us = v->srtt_us;
		r->cwnd = v->cwnd;
		r->ssthresh = v->ssthresh;
		r->snd_wnd = v->snd_wnd;
		r->rcv_wnd = v->rcv_wnd;
	}
	r->retrans = v->retrans;
	r->resets_rx = v->resets_rx;
	r->resets_tx = v->resets_tx;
	r->active = v->active;
	if (v->open_ns && v->est_ns >= v->open_ns)
		r->handshake_ms = (double)(v->est_ns - v->open_ns) / 1e6;
	r->tcp_hist = se->hist;
	r->tcp_hist_serial = se->hist_serial;
}

/* ---- the model's place in the engine (model.h) ---- */

struct tcp_reader {
	struct tcp_model *m;
	/* the maps' entries of the last reading; kept to be refilled without allocating */
	struct sock_key *sk;
	struct sock_val *sv;
	size_t sock_cap;
	struct flow_key *lk;
	struct lat_hist *lv;
	size_t lat_cap;
};

static void *tcp_create(const struct model_env *env)
{
	struct tcp_reader *r = calloc(1, sizeof(*r));
	if (r && !(r->m = tcp_model__new(env->tcp_states))) {
		free(r);
		r = NULL;
	}
	if (r)
		tcp_model_set_closed_keep(r->m, env->idle_s);
	return r;
}

static void tcp_free(void *p)
{
	struct tcp_reader *r = p;
	if (!r)
		return;
	tcp_model__free(r->m);
	free(r->sk);
	free(r->sv);
	free(r->lk);
	free(r->lv);
	free(r);
}

static void tcp_event(void *p, const void *data, size_t len, const struct model_env *env)
{
	struct tcp_reader *r = p;
	if (len >= sizeof(struct tcp_event))
		tcp_model_event(r->m, data);
}

static void tcp_read(void *p, const struct model_env *env, const struct model_tick *t,
		     struct snapshot *s)
{
	struct tcp_reader *r = p;
	struct tcp_input in = { 0 };
	struct maps_desc socks = { maps_fd(env->obj, "socks"), sizeof(struct sock_key),
				   sizeof(struct sock_val), MAPS_PLAIN };
	struct maps_desc lats = { maps_fd(env->obj, "flow_lat"), sizeof(struct flow_key),
				  sizeof(struct lat_hist), MAPS_PLAIN };
	struct maps_desc stats = { maps_fd(env->obj, "tcp_stats"), sizeof(__u32),
				   sizeof(struct tcp_counters), MAPS_SUM_U64 };
	struct maps_desc all_lat = { maps_fd(env->obj, "all_lat"), sizeof(__u32),
				     sizeof(struct lat_hist), MAPS_SUM_U32 };
	__u32 zero = 0;
	long n = maps_read_grow(&socks, (void **)&r->sk, (void **)&r->sv, &r->sock_cap);
	in.sock_keys = r->sk;
	in.sock_vals = r->sv;
	in.n_socks = n > 0 ? (size_t)n : 0;
	n = maps_read_grow(&lats, (void **)&r->lk, (void **)&r->lv, &r->lat_cap);
	in.lat_keys = r->lk;
	in.lat_vals = r->lv;
	in.n_lats = n > 0 ? (size_t)n : 0;
	maps_lookup_sum(&stats, &zero, &in.counters);
	maps_lookup_sum(&all_lat, &zero, &in.all_lat);
	s->tcp = tcp_model_update(r->m, &in, env->start_ns, t->now_ns, t->dt, t->gen);
	s->tcp_hist = hist_pool_get(r->m->hist);
	size_t n_forget;
	const struct sock_key *forget = tcp_model_forget(r->m, &n_forget);
	for (size_t i = 0; socks.fd >= 0 && i < n_forget; i++)
		bpf_map_delete_elem(socks.fd, &forget[i]);
}

static void tcp_fill(void *p, struct flow_row *row)
{
	struct tcp_reader *r = p;
	tcp_model_fill_flow(r->m, row);
}

static uint64_t tcp_version(void *p)
{
	return ((struct tcp_reader *)p)->m->version;
}

static void tcp_count(void *p, const struct flow_row *row, struct snapshot *s)
{
	/* the peers' retransmissions that arrived, over the flows of this snapshot */
	if (s->tcp)
		s->tcp->retrans_rx += row->retrans_rx;
}

static const struct jf tcp_event_fields[] = {
	JF_STR(struct tcp_event_row, kind, "kind"),   JF_F64(struct tcp_event_row, time, "time"),
	JF_STR(struct tcp_event_row, state, "state"), JF_STR(struct tcp_event_row, flow, "flow"),
	JF_U32(struct tcp_event_row, seq, "seq"),     JF_U32(struct tcp_event_row, segs, "segs"),
};

static void tcp_json(struct jw *w, const struct snapshot *s)
{
	static const struct snapshot_tcp none;
	const struct snapshot_tcp *t = s->tcp ? s->tcp : &none;
	jw_obj(w, "retransmits");
	jw_u64(w, "total", t->retrans_total);
	jw_num(w, "rate", t->retrans_rate);
	/* the peers' retransmissions that arrived here, summed over the flows of this snapshot */
	jw_u64(w, "received", t->retrans_rx);
	size_t first = t->n_recent > 32 ? t->n_recent - 32 : 0;
	jw_rows(w, "recent", tcp_event_fields, JF_COUNT(tcp_event_fields), &t->recent[first],
		sizeof(t->recent[0]), t->n_recent - first);
	jw_obj_end(w);
	jw_obj(w, "tcp");
	jw_u64(w, "connections", t->conns_opened);
	jw_num(w, "conn_rate", t->conn_rate);
	jw_u64(w, "short_lived", t->short_lived);
	jw_num(w, "handshake_ms_avg", t->handshake_ms_avg);
	jw_u64(w, "resets_rx", t->resets_rx);
	jw_u64(w, "resets_tx", t->resets_tx);
	jw_u64(w, "events_lost", t->events_lost);
	json_lat_hist(w, "kernel_latency_us", t->lat_hist, t->lat_count);
	jw_obj_end(w);
}

const struct model_ops tcp_model_ops = {
	.name = "tcp",
	.create = tcp_create,
	.ring = "tcp_events",
	.event = tcp_event,
	.read = tcp_read,
	.fill = tcp_fill,
	.count = tcp_count,
	.version = tcp_version,
	.json = tcp_json,
	.free = tcp_free,
};
