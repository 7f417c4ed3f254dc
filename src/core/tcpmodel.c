/* The TCP health model: joins socket tracepoint data to flows and keeps recent retransmissions and resets. */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/flowfmt.h"
#include "core/tcpmodel.h"

_Static_assert(sizeof(struct sock_key) % 8 == 0, "sock_entry has no gap between key and value");

#define EV_RING 256

struct sock_entry {
	struct sock_key k;
	struct sock_val v;
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
	double hs_sum;
	uint64_t hs_n;
	int have_prev;
};

struct tcp_model *tcp_model__new(const struct btf_enum_names *states)
{
	struct tcp_model *m = calloc(1, sizeof(*m));
	if (m)
		m->states = states;
	return m;
}

void tcp_model__free(struct tcp_model *m)
{
	if (!m)
		return;
	free(m->socks);
	free(m->lats);
	free(m);
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

/*
 * Whole-map read with get_next_key (these maps are small next to the flow
 * table): each entry lands at base + n * stride as key then value, which is
 * the layout of sock_entry and lat_entry.
 */
static size_t read_all(int fd, void *base, size_t ksz, size_t stride, size_t max)
{
	char cur[64], prev[64];
	void *pk = NULL;
	size_t n = 0;
	while (n < max && !bpf_map_get_next_key(fd, pk, cur)) {
		char *slot = (char *)base + n * stride;
		if (!bpf_map_lookup_elem(fd, cur, slot + ksz)) {
			memcpy(slot, cur, ksz);
			n++;
		}
		memcpy(prev, cur, ksz);
		pk = prev;
	}
	return n;
}

static size_t map_max_entries(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
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

struct snapshot_tcp *tcp_model_read(struct tcp_model *m, const struct tcp_maps *maps,
				    uint64_t start_ns, uint64_t now_ns, double dt)
{
	struct snapshot_tcp *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	size_t smax = map_max_entries(maps->socks_fd);
	struct sock_entry *se = calloc(smax ? smax : 1, sizeof(*se));
	if (se) {
		size_t n = read_all(maps->socks_fd, se, sizeof(struct sock_key), sizeof(*se), smax);
		qsort(se, n, sizeof(*se), cmp_sock);
		free(m->socks);
		m->socks = se;
		m->n_socks = n;
	}
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

	int ncpu = libbpf_num_possible_cpus();
	struct tcp_counters *tc = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*tc)) : NULL;
	__u32 zero = 0;
	if (tc && !bpf_map_lookup_elem(maps->stats_fd, &zero, tc)) {
		for (int i = 0; i < ncpu; i++) {
			t->retrans_total += tc[i].retrans_segs;
			t->resets_rx += tc[i].resets_rx;
			t->resets_tx += tc[i].resets_tx;
			t->events_lost += tc[i].events_lost;
		}
	}
	free(tc);
	if (dt >= 0.05) {
		if (m->have_prev && t->retrans_total >= m->prev_retrans)
			t->retrans_rate = (double)(t->retrans_total - m->prev_retrans) / dt;
		m->prev_retrans = t->retrans_total;
		m->have_prev = 1;
	}

	struct lat_hist *lh = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*lh)) : NULL;
	if (lh && !bpf_map_lookup_elem(maps->all_lat_fd, &zero, lh)) {
		for (int i = 0; i < ncpu; i++)
			for (int b = 0; b < PL_LAT_BUCKETS; b++)
				t->lat_hist[b] += lh[i].bucket[b];
		for (int b = 0; b < PL_LAT_BUCKETS; b++)
			t->lat_count += t->lat_hist[b];
	}
	free(lh);
	size_t lmax = map_max_entries(maps->flow_lat_fd);
	struct lat_entry *le = calloc(lmax ? lmax : 1, sizeof(*le));
	if (le) {
		size_t n =
		    read_all(maps->flow_lat_fd, le, sizeof(struct flow_key), sizeof(*le), lmax);
		qsort(le, n, sizeof(*le), flow_key_cmp);
		free(m->lats);
		m->lats = le;
		m->n_lats = n;
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

void tcp_model_fill_flow(const struct tcp_model *m, struct flow_row *r, uint64_t start_ns,
			 uint64_t now_ns)
{
	const struct flow_key *fk = &r->key;
	r->handshake_ms = -1;
	if (m->n_lats) {
		const struct lat_entry *le =
		    bsearch(fk, m->lats, m->n_lats, sizeof(*m->lats), flow_key_cmp);
		if (le)
			for (int b = 0; b < PL_LAT_BUCKETS; b++) {
				r->lat_hist[b] = le->h.bucket[b];
				r->lat_count += le->h.bucket[b];
			}
	}
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
	if (v->probe_ns) {
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
	uint64_t from = v->open_ns ? v->open_ns : 0;
	uint64_t to = v->close_ns > from ? v->close_ns : now_ns;
	r->duration_s = from ? (double)(to - from) / 1e9 : r->last_seen - r->first_seen;
	uint32_t n = v->n_states < PL_STATE_HIST ? v->n_states : PL_STATE_HIST;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = (v->n_states - n + i) % PL_STATE_HIST;
		snprintf(r->timeline[i].state, sizeof(r->timeline[i].state), "%s",
			 tcp_state_name(m, v->states[idx]));
		r->timeline[i].ms = v->state_ms[idx];
	}
	r->n_timeline = n;
	(void)start_ns;
}
