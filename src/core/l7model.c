/* The application-layer model: pairs HTTP responses with requests per connection, aggregates endpoints, DNS and TLS. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/l7model.h"
#include "lib/l7parse.h"

#define CONN_CAP 4096	 /* connections with HTTP state; the oldest go first */
#define CONN_PENDING 16	 /* pipelined requests waiting for their response */
#define PARTIAL_MAX 1024 /* request head kept across segments */
#define FLOW_CAP 16384	 /* per-flow protocol, like the BPF map */
#define DNS_PENDING 1024
#define EP_MAX 512

struct pending {
	uint64_t ts_ns;
	struct http_tx_row tx;
	int complete;  /* request line parsed (method, path) */
	int want_host; /* headers not ended yet and no Host so far */
	int bad;       /* already counted as a parse failure */
	uint16_t plen;
	uint8_t partial[PARTIAL_MAX];
};

struct conn {
	int used;
	struct flow_key key; /* packet streams */
	uint64_t ssl;	     /* SSL streams: the SSL pointer, with tgid */
	uint32_t tgid;
	uint64_t last_ns;
	uint32_t last_seq[2];
	int have_seq[2];
	/*
	 * CONN_PENDING entries while requests wait for their responses, else NULL. Kept in
	 * every slot, 4096 queues of 22 KB were 86 MB that each new connection faulted in a
	 * little further (make soak: RSS +5 MB a minute); most connections hold none.
	 */
	struct pending *q;
	uint32_t head, n;
};

struct flow_proto {
	int used;
	struct flow_key key;
	uint8_t proto, flags;
};

struct endpoint {
	uint32_t id;
	uint64_t hash;
	char method[12], host[64], path[160];
	uint64_t count, errors;
	double min_ms, max_ms;
	uint64_t lat_n;
	uint32_t hist[L7_HIST_BUCKETS];
};

struct dns_pend {
	int used;
	struct flow_key key;
	uint16_t id;
	uint64_t ts_ns;
};

struct dns_row {
	struct dns_name_row r;
	uint64_t lat_n;
	uint32_t hist[L7_HIST_BUCKETS];
	double min_ms;
};

struct l7_model {
	double slow_ms;
	uint64_t start_ns;
	struct conn *conns;
	struct flow_proto *flows;
	struct endpoint *eps;
	size_t n_eps;
	struct http_tx_row recent[PL_HTTP_RECENT_MAX];
	uint32_t recent_head, recent_n;
	struct http_tx_row slow[PL_HTTP_SLOW_MAX];
	uint32_t slow_head, slow_n;
	struct dns_pend dpend[DNS_PENDING];
	struct dns_row *dns;
	size_t n_dns;
	struct tls_sni_row *sni;
	size_t n_sni;
	struct snapshot_l7 c; /* counters only (arrays unused) */
};

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

struct l7_model *l7_model__new(double slow_ms)
{
	struct l7_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->conns = calloc(CONN_CAP, sizeof(*m->conns));
	m->flows = calloc(FLOW_CAP, sizeof(*m->flows));
	m->eps = calloc(EP_MAX, sizeof(*m->eps));
	m->dns = calloc(PL_DNS_NAMES_MAX, sizeof(*m->dns));
	m->sni = calloc(PL_TLS_SNI_MAX, sizeof(*m->sni));
	if (!m->conns || !m->flows || !m->eps || !m->dns || !m->sni) {
		l7_model__free(m);
		return NULL;
	}
	l7_model_set_slow_ms(m, slow_ms);
	return m;
}

void l7_model__free(struct l7_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->conns && i < CONN_CAP; i++)
		free(m->conns[i].q);
	free(m->conns);
	free(m->flows);
	free(m->eps);
	free(m->dns);
	free(m->sni);
	free(m);
}

static int cmp_tx_time(const void *a, const void *b)
{
	const struct http_tx_row *x = a, *y = b;
	return x->time < y->time ? -1 : x->time > y->time ? 1 : 0;
}

/*
 * A new threshold applies to what is still known, not only to what comes next:
 * the slow list is rebuilt from the old slow list and the recent ring, so that
 * raising it hides what is no longer slow and lowering it shows what now is.
 */
void l7_model_set_slow_ms(struct l7_model *m, double slow_ms)
{
	struct http_tx_row *cand;
	size_t n = 0;

	slow_ms = slow_ms > 0 ? slow_ms : 200;
	if (slow_ms == m->slow_ms)
		return;
	m->slow_ms = slow_ms;
	if (!m->slow_n && !m->recent_n)
		return;
	cand = malloc((PL_HTTP_SLOW_MAX + PL_HTTP_RECENT_MAX) * sizeof(*cand));
	if (!cand)
		return; /* the old list stays; new entries follow the new threshold */
	for (uint32_t i = 0; i < m->slow_n; i++) {
		const struct http_tx_row *t =
		    &m->slow[(m->slow_head + PL_HTTP_SLOW_MAX - m->slow_n + i) % PL_HTTP_SLOW_MAX];
		if (t->latency_ms >= slow_ms)
			cand[n++] = *t;
	}
	for (uint32_t i = 0; i < m->recent_n; i++) {
		const struct http_tx_row *t =
		    &m->recent[(m->recent_head + PL_HTTP_RECENT_MAX - m->recent_n + i) %
			       PL_HTTP_RECENT_MAX];
		int dup = 0;
		if (!t->status || t->latency_ms < slow_ms)
			continue;
		for (size_t k = 0; k < n && !dup; k++)
			dup = cand[k].time == t->time && cand[k].endpoint == t->endpoint &&
			      !memcmp(&cand[k].key, &t->key, sizeof(t->key)) &&
			      cand[k].pid == t->pid;
		if (!dup)
			cand[n++] = *t;
	}
	qsort(cand, n, sizeof(cand[0]), cmp_tx_time);
	size_t first = n > PL_HTTP_SLOW_MAX ? n - PL_HTTP_SLOW_MAX : 0;
	m->slow_n = (uint32_t)(n - first);
	memcpy(m->slow, cand + first, m->slow_n * sizeof(cand[0]));
	m->slow_head = m->slow_n % PL_HTTP_SLOW_MAX;
	free(cand);
}

int l7_hist_bucket(double us)
{
	if (us < 1)
		return 0;
	int b = (int)(8 * log2(us));
	return b < 0 ? 0 : b >= L7_HIST_BUCKETS ? L7_HIST_BUCKETS - 1 : b;
}

/* The bucket's upper edge, clamped to what was really seen: never outside [min, max]. */
double l7_hist_quantile(const uint32_t *h, uint64_t count, double q, double min_ms, double max_ms)
{
	if (!count)
		return 0;
	uint64_t rank = (uint64_t)ceil(q * (double)count), acc = 0;
	if (!rank)
		rank = 1;
	for (int b = 0; b < L7_HIST_BUCKETS; b++) {
		acc += h[b];
		if (acc >= rank) {
			double v = exp2((b + 1) / 8.0) / 1000.0;
			return v < min_ms ? min_ms : v > max_ms ? max_ms : v;
		}
	}
	return max_ms;
}

const char *l7_proto_name(unsigned proto)
{
	static const char *const n[] = { "", "http", "tls", "dns", "ssh", "other" };
	return proto < sizeof(n) / sizeof(n[0]) ? n[proto] : "other";
}

const char *dns_qtype_name(unsigned t, char buf[12])
{
	switch (t) {
	case 1:
		return "A";
	case 2:
		return "NS";
	case 5:
		return "CNAME";
	case 6:
		return "SOA";
	case 12:
		return "PTR";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	case 33:
		return "SRV";
	case 64:
		return "SVCB";
	case 65:
		return "HTTPS";
	case 255:
		return "ANY";
	}
	snprintf(buf, 12, "TYPE%u", t);
	return buf;
}

const char *dns_rcode_name(unsigned r, char buf[12])
{
	static const char *const n[] = { "NOERROR",  "FORMERR", "SERVFAIL",
					 "NXDOMAIN", "NOTIMP",	"REFUSED" };
	if (r < sizeof(n) / sizeof(n[0]))
		return n[r];
	snprintf(buf, 12, "RCODE%u", r);
	return buf;
}

static int is_id_segment(const char *s, size_t n)
{
	size_t digits = 0, hex = 0, dash = 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (isxdigit((unsigned char)s[i]))
			hex++;
		else if (s[i] == '-')
			dash++;
		else
			return 0;
	}
	if (digits == n)
		return 1;
	/* hex ids (hashes, object ids) and UUIDs: long enough not to be a word like "beef" */
	if (!dash && n >= 8 && digits)
		return 1;
	return n == 36 && dash == 4;
}

void l7_collapse_path(const char *path, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = path;
	if (!outlen)
		return;
	while (*p && *p != '?' && *p != '#' && o + 1 < outlen) {
		if (*p != '/') {
			out[o++] = *p++;
			continue;
		}
		out[o++] = *p++;
		size_t n = strcspn(p, "/?#");
		if (is_id_segment(p, n)) {
			for (const char *id = ":id"; *id && o + 1 < outlen; id++)
				out[o++] = *id;
			p += n;
		}
	}
	out[o] = '\0';
}

static void copy_field(char *dst, size_t dlen, const uint8_t *src, size_t n)
{
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Connections: open addressing on the key; a full probe run evicts its oldest slot. */
static struct conn *conn_get(struct l7_model *m, const struct flow_key *k, uint64_t ssl,
			     uint32_t tgid, uint64_t now)
{
	uint64_t h = fnv(k, sizeof(*k), fnv(&ssl, 8, fnv(&tgid, 4, 0xcbf29ce484222325ULL)));
	struct conn *victim = NULL;
	for (int i = 0; i < 16; i++) {
		struct conn *c = &m->conns[(h + (uint64_t)i) % CONN_CAP];
		if (c->used && c->ssl == ssl && c->tgid == tgid &&
		    !memcmp(&c->key, k, sizeof(*k))) {
			c->last_ns = now;
			return c;
		}
		if (!c->used) {
			if (!victim || victim->used)
				victim = c;
		} else if (!victim || (victim->used && c->last_ns < victim->last_ns)) {
			victim = c;
		}
	}
	free(victim->q);
	memset(victim, 0, sizeof(*victim));
	victim->used = 1;
	victim->key = *k;
	victim->ssl = ssl;
	victim->tgid = tgid;
	victim->last_ns = now;
	return victim;
}

static struct flow_proto *flow_slot(struct flow_proto *tab, const struct flow_key *k, int create)
{
	uint64_t h = fnv(k, sizeof(*k), 0xcbf29ce484222325ULL);
	for (int i = 0; i < 32; i++) {
		struct flow_proto *f = &tab[(h + (uint64_t)i) % FLOW_CAP];
		if (f->used && !memcmp(&f->key, k, sizeof(*k)))
			return f;
		if (!f->used) {
			if (!create)
				return NULL;
			f->used = 1;
			f->key = *k;
			return f;
		}
	}
	if (!create)
		return NULL;
	/* a crowded run: reuse its first slot (the flow map is an LRU too) */
	struct flow_proto *f = &tab[h % FLOW_CAP];
	memset(f, 0, sizeof(*f));
	f->used = 1;
	f->key = *k;
	return f;
}

static struct endpoint *endpoint_get(struct l7_model *m, const struct http_tx_row *tx)
{
	char path[160];
	l7_collapse_path(tx->path, path, sizeof(path));
	uint64_t h = fnv(tx->method, strlen(tx->method), 0xcbf29ce484222325ULL);
	h = fnv(tx->host, strlen(tx->host) + 1, h);
	h = fnv(path, strlen(path), h);
	for (size_t i = 0; i < m->n_eps; i++) {
		struct endpoint *e = &m->eps[i];
		if (e->hash == h && !strcmp(e->method, tx->method) && !strcmp(e->host, tx->host) &&
		    !strcmp(e->path, path))
			return e;
	}
	if (m->n_eps == EP_MAX) {
		/* the last slot gathers everything beyond the table */
		struct endpoint *e = &m->eps[EP_MAX - 1];
		snprintf(e->method, sizeof(e->method), "*");
		snprintf(e->host, sizeof(e->host), "*");
		snprintf(e->path, sizeof(e->path), "(other endpoints)");
		e->hash = 0;
		return e;
	}
	struct endpoint *e = &m->eps[m->n_eps];
	memset(e, 0, sizeof(*e));
	e->id = (uint32_t)++m->n_eps;
	e->hash = h;
	snprintf(e->method, sizeof(e->method), "%s", tx->method);
	snprintf(e->host, sizeof(e->host), "%s", tx->host);
	snprintf(e->path, sizeof(e->path), "%s", path);
	return e;
}

/* A request leaves the queue: with a response (status > 0) or without. */
static void tx_finish(struct l7_model *m, struct pending *pq, uint32_t status, uint64_t ts_ns)
{
	struct http_tx_row tx = pq->tx;
	tx.status = status;
	tx.latency_ms = status ? (double)(ts_ns - pq->ts_ns) / 1e6 : -1;
	if (!pq->complete)
		return; /* never parsed: counted as a failure, not as an endpoint */
	struct endpoint *e = endpoint_get(m, &tx);
	tx.endpoint = e->id;
	e->count++;
	if (status >= 400)
		e->errors++;
	if (status) {
		if (!e->lat_n || tx.latency_ms < e->min_ms)
			e->min_ms = tx.latency_ms;
		if (tx.latency_ms > e->max_ms)
			e->max_ms = tx.latency_ms;
		e->lat_n++;
		e->hist[l7_hist_bucket(tx.latency_ms * 1000)]++;
	}
	m->recent[m->recent_head] = tx;
	m->recent_head = (m->recent_head + 1) % PL_HTTP_RECENT_MAX;
	if (m->recent_n < PL_HTTP_RECENT_MAX)
		m->recent_n++;
	if (status && tx.latency_ms >= m->slow_ms) {
		m->slow[m->slow_head] = tx;
		m->slow_head = (m->slow_head + 1) % PL_HTTP_SLOW_MAX;
		if (m->slow_n < PL_HTTP_SLOW_MAX)
			m->slow_n++;
	}
}

/* (Re)parses a request head; fills the pending entry. Returns the parser's verdict. */
static int request_parse(struct l7_model *m, struct pending *pq)
{
	struct pl_http_req r;
	const uint8_t *b = pq->partial;
	int ret = pl_http_parse_req(b, b + pq->plen, &r);
	if (ret == PL_L7E_OK || ret == PL_L7E_LONG) {
		copy_field(pq->tx.method, sizeof(pq->tx.method), b + r.method_off, r.method_len);
		copy_field(pq->tx.path, sizeof(pq->tx.path), b + r.path_off, r.path_len);
		if (r.host_len)
			copy_field(pq->tx.host, sizeof(pq->tx.host), b + r.host_off, r.host_len);
		pq->complete = 1;
		pq->want_host = ret == PL_L7E_OK && !r.host_len && !r.headers_complete;
		if (ret == PL_L7E_LONG)
			m->c.err_http_long++;
	}
	return ret;
}

static void http_request(struct l7_model *m, struct conn *c, const struct l7_event *ev,
			 const struct flow_key *key, uint64_t start_ns)
{
	if (!c->q && !(c->q = calloc(CONN_PENDING, sizeof(*c->q))))
		return;
	if (c->n == CONN_PENDING) {
		/* requests never answered: the oldest leaves without a response */
		tx_finish(m, &c->q[c->head], 0, 0);
		c->head = (c->head + 1) % CONN_PENDING;
		c->n--;
	}
	struct pending *pq = &c->q[(c->head + c->n) % CONN_PENDING];
	memset(pq, 0, sizeof(*pq));
	pq->ts_ns = ev->ts_ns;
	pq->tx.time = ((double)ev->ts_ns - (double)start_ns) / 1e9;
	pq->tx.key = *key;
	pq->tx.pid = ev->tgid;
	memcpy(pq->tx.comm, ev->comm, sizeof(pq->tx.comm));
	pq->tx.comm[sizeof(pq->tx.comm) - 1] = '\0';
	pq->tx.tls = ev->kind == PL_L7K_SSL;
	pq->plen = ev->len < PARTIAL_MAX ? ev->len : PARTIAL_MAX;
	memcpy(pq->partial, ev->data, pq->plen);
	c->n++;
	m->c.http_requests++;
	int ret = request_parse(m, pq);
	/* a line cut by the segment end waits for the next segment; anything else is bad */
	if (ret == PL_L7E_TRUNC && ev->len < ev->payload_len)
		ret = PL_L7E_LONG;
	if (ret == PL_L7E_BAD) {
		m->c.err_http_req++;
		pq->bad = 1;
		snprintf(pq->tx.method, sizeof(pq->tx.method), "?");
	}
}

static void http_cont(struct l7_model *m, struct conn *c, const struct l7_event *ev)
{
	if (!c->n)
		return;
	struct pending *pq = &c->q[(c->head + c->n - 1) % CONN_PENDING];
	if (pq->complete && !pq->want_host)
		return;
	size_t room = PARTIAL_MAX - pq->plen, n = ev->len < room ? ev->len : room;
	memcpy(pq->partial + pq->plen, ev->data, n);
	pq->plen += (uint16_t)n;
	int was = pq->complete;
	int ret = request_parse(m, pq);
	if (!was && ret != PL_L7E_OK && ret != PL_L7E_LONG && ret != PL_L7E_TRUNC && !pq->bad) {
		m->c.err_http_req++;
		pq->bad = 1;
	}
}

static void http_response(struct l7_model *m, struct conn *c, const struct l7_event *ev)
{
	struct pl_http_resp r;
	if (pl_http_parse_resp(ev->data, ev->data + ev->len, &r)) {
		m->c.err_http_resp++;
		return;
	}
	if (r.status < 200 && r.status != 101)
		return; /* interim (100 Continue): the final answer follows */
	m->c.http_responses++;
	m->c.by_status[r.status]++;
	m->c.by_class[r.status / 100]++;
	if (!c->n) {
		m->c.http_unmatched++;
		return;
	}
	struct pending *pq = &c->q[c->head];
	c->head = (c->head + 1) % CONN_PENDING;
	c->n--;
	if (!pq->complete && !pq->bad)
		m->c.err_http_req++;
	tx_finish(m, pq, r.status, ev->ts_ns);
	if (!c->n) {
		free(c->q);
		c->q = NULL;
		c->head = 0;
	}
}

static struct dns_row *dns_row_get(struct l7_model *m, const struct pl_dns *d)
{
	char name[256], tb[12], rb[12];
	copy_field(name, sizeof(name), (const uint8_t *)d->name, d->name_len);
	const char *qt = dns_qtype_name(d->qtype, tb), *rc = dns_rcode_name(d->rcode, rb);
	for (size_t i = 0; i < m->n_dns; i++) {
		struct dns_name_row *r = &m->dns[i].r;
		if (!strcmp(r->name, name) && !strcmp(r->qtype, qt) && !strcmp(r->rcode, rc))
			return &m->dns[i];
	}
	if (m->n_dns == PL_DNS_NAMES_MAX)
		return NULL;
	struct dns_row *row = &m->dns[m->n_dns++];
	memset(row, 0, sizeof(*row));
	snprintf(row->r.name, sizeof(row->r.name), "%s", name);
	snprintf(row->r.qtype, sizeof(row->r.qtype), "%s", qt);
	snprintf(row->r.rcode, sizeof(row->r.rcode), "%s", rc);
	return row;
}

static void dns_event(struct l7_model *m, const struct l7_event *ev)
{
	struct pl_dns d;
	const uint8_t *b = ev->data, *end = ev->data + ev->len;
	int tcp = ev->key.proto == PL_IPPROTO_TCP;
	if (tcp) {
		/* DNS over TCP: a 2-byte length, then the message (the first one of the segment) */
		if (ev->len < 2 || ((uint32_t)b[0] << 8 | b[1]) < 12)
			return;
		b += 2;
	}
	if (pl_dns_parse(b, end, &d) || !d.qdcount) {
		/* a TCP segment that is not a message start is the rest of a long one: no error */
		if (tcp)
			return;
		m->c.err_dns++;
		return;
	}
	uint64_t h = fnv(&ev->key, sizeof(ev->key), d.id) % DNS_PENDING;
	struct dns_pend *p = &m->dpend[h];
	if (!d.qr) {
		m->c.dns_queries++;
		p->used = 1;
		p->key = ev->key;
		p->id = d.id;
		p->ts_ns = ev->ts_ns;
		return;
	}
	m->c.dns_responses++;
	m->c.dns_rcodes[d.rcode & 15]++;
	struct dns_row *row = dns_row_get(m, &d);
	if (!row)
		return;
	row->r.count++;
	row->r.answers += d.ancount;
	if (p->used && p->id == d.id && !memcmp(&p->key, &ev->key, sizeof(ev->key))) {
		double ms = (double)(ev->ts_ns - p->ts_ns) / 1e6;
		p->used = 0;
		if (!row->lat_n || ms < row->min_ms)
			row->min_ms = ms;
		if (ms > row->r.max_ms)
			row->r.max_ms = ms;
		row->lat_n++;
		row->hist[l7_hist_bucket(ms * 1000)]++;
	}
}

static const char *tls_version_name(unsigned v)
{
	switch (v) {
	case 0x0304:
		return "TLS1.3";
	case 0x0303:
		return "TLS1.2";
	case 0x0302:
		return "TLS1.1";
	case 0x0301:
		return "TLS1.0";
	case 0x0300:
		return "SSL3";
	}
	return "?";
}

static void tls_event(struct l7_model *m, const struct l7_event *ev)
{
	struct pl_tls_hello t;
	if (pl_tls_parse_hello(ev->data, ev->data + ev->len, &t)) {
		m->c.err_tls++;
		return;
	}
	m->c.tls_handshakes++;
	char name[256], alpn[32];
	copy_field(name, sizeof(name), ev->data + t.sni_off, t.sni_len);
	copy_field(alpn, sizeof(alpn), ev->data + t.alpn_off, t.alpn_len);
	struct tls_sni_row *row = NULL;
	for (size_t i = 0; i < m->n_sni && !row; i++)
		if (!strcmp(m->sni[i].name, name))
			row = &m->sni[i];
	if (!row) {
		if (m->n_sni == PL_TLS_SNI_MAX)
			return;
		row = &m->sni[m->n_sni++];
		memset(row, 0, sizeof(*row));
		snprintf(row->name, sizeof(row->name), "%s", name);
	}
	row->count++;
	snprintf(row->alpn, sizeof(row->alpn), "%s", alpn);
	snprintf(row->version, sizeof(row->version), "%s", tls_version_name(t.max_version));
}

void l7_model_event(struct l7_model *m, const struct l7_event *ev, size_t len, uint64_t start_ns)
{
	if (len < sizeof(*ev) || ev->len > PL_L7_DATA)
		return;
	m->start_ns = start_ns;
	if (ev->kind == PL_L7K_PROTO) {
		struct flow_proto *f = flow_slot(m->flows, &ev->key, 1);
		f->proto = ev->proto;
		f->flags = ev->flags;
		return;
	}
	if (ev->kind == PL_L7K_DNS) {
		if (ev->key.proto == PL_IPPROTO_TCP) {
			/* retransmitted segments repeat the sequence number */
			struct conn *c = conn_get(m, &ev->key, 0, 0, ev->ts_ns);
			int d = ev->dir & 1;
			if (c->have_seq[d] && c->last_seq[d] == ev->seq)
				return;
			c->have_seq[d] = 1;
			c->last_seq[d] = ev->seq;
		}
		dns_event(m, ev);
		return;
	}
	if (ev->kind == PL_L7K_TLS_HELLO) {
		/* retransmitted hellos repeat the sequence number */
		struct conn *c = conn_get(m, &ev->key, 0, 0, ev->ts_ns);
		int d = ev->dir & 1;
		if (c->have_seq[d] && c->last_seq[d] == ev->seq)
			return;
		c->have_seq[d] = 1;
		c->last_seq[d] = ev->seq;
		tls_event(m, ev);
		return;
	}
	int kind = ev->kind;
	static const struct flow_key zero;
	const struct flow_key *key = &ev->key;
	struct conn *c;
	if (kind == PL_L7K_SSL) {
		key = &zero;
		c = conn_get(m, key, ev->conn, ev->tgid, ev->ts_ns);
		uint8_t proto;
		kind = pl_l7_classify_tcp(ev->data, ev->len < 8 ? ev->len : 8, &proto);
		if (kind == PL_L7K_NONE)
			kind = PL_L7K_HTTP_CONT;
		else if (kind != PL_L7K_HTTP_REQ && kind != PL_L7K_HTTP_RESP)
			return;
	} else {
		c = conn_get(m, key, 0, 0, ev->ts_ns);
		int d = ev->dir & 1;
		if (kind != PL_L7K_HTTP_CONT) {
			if (c->have_seq[d] && c->last_seq[d] == ev->seq)
				return; /* retransmission */
			c->have_seq[d] = 1;
			c->last_seq[d] = ev->seq;
		}
	}
	if (kind == PL_L7K_HTTP_REQ)
		http_request(m, c, ev, key, start_ns);
	else if (kind == PL_L7K_HTTP_RESP)
		http_response(m, c, ev);
	else if (kind == PL_L7K_HTTP_CONT)
		http_cont(m, c, ev);
}

static int cmp_ep(const void *a, const void *b)
{
	const struct http_endpoint_row *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->path, y->path);
}

static int cmp_dns(const void *a, const void *b)
{
	const struct dns_name_row *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->name, y->name);
}

static int cmp_sni(const void *a, const void *b)
{
	const struct tls_sni_row *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->name, y->name);
}

struct snapshot_l7 *l7_model_read(struct l7_model *m, const struct l7_counters *bpf,
				  uint64_t now_ns)
{
	(void)now_ns;
	struct snapshot_l7 *s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	*s = m->c;
	s->slow_ms = m->slow_ms;
	if (bpf) {
		s->events = bpf->events;
		s->events_lost = bpf->events_lost;
		s->ssl_calls = bpf->ssl_calls;
		s->ssl_lost = bpf->ssl_lost;
	}
	s->n_endpoints = 0;
	for (size_t i = 0; i < m->n_eps && s->n_endpoints < PL_HTTP_ENDPOINTS_MAX; i++) {
		const struct endpoint *e = &m->eps[i];
		struct http_endpoint_row *r = &s->endpoints[s->n_endpoints++];
		r->id = e->id;
		memcpy(r->method, e->method, sizeof(r->method));
		memcpy(r->host, e->host, sizeof(r->host));
		memcpy(r->path, e->path, sizeof(r->path));
		r->count = e->count;
		r->errors = e->errors;
		r->p50_ms = l7_hist_quantile(e->hist, e->lat_n, 0.50, e->min_ms, e->max_ms);
		r->p90_ms = l7_hist_quantile(e->hist, e->lat_n, 0.90, e->min_ms, e->max_ms);
		r->p99_ms = l7_hist_quantile(e->hist, e->lat_n, 0.99, e->min_ms, e->max_ms);
		r->max_ms = e->max_ms;
	}
	qsort(s->endpoints, s->n_endpoints, sizeof(s->endpoints[0]), cmp_ep);
	s->n_recent = m->recent_n;
	for (uint32_t i = 0; i < m->recent_n; i++)
		s->recent[i] = m->recent[(m->recent_head + PL_HTTP_RECENT_MAX - m->recent_n + i) %
					 PL_HTTP_RECENT_MAX];
	s->n_slow = m->slow_n;
	for (uint32_t i = 0; i < m->slow_n; i++)
		s->slow[i] =
		    m->slow[(m->slow_head + PL_HTTP_SLOW_MAX - m->slow_n + i) % PL_HTTP_SLOW_MAX];
	s->n_names = m->n_dns;
	for (size_t i = 0; i < m->n_dns; i++) {
		const struct dns_row *d = &m->dns[i];
		s->names[i] = d->r;
		s->names[i].p50_ms =
		    d->lat_n ? l7_hist_quantile(d->hist, d->lat_n, 0.5, d->min_ms, d->r.max_ms)
			     : -1;
	}
	qsort(s->names, s->n_names, sizeof(s->names[0]), cmp_dns);
	s->n_sni = m->n_sni;
	memcpy(s->sni, m->sni, m->n_sni * sizeof(s->sni[0]));
	qsort(s->sni, s->n_sni, sizeof(s->sni[0]), cmp_sni);
	memset(s->flows_by_proto, 0, sizeof(s->flows_by_proto));
	s->port80_not_http = 0;
	for (size_t i = 0; i < FLOW_CAP; i++) {
		const struct flow_proto *f = &m->flows[i];
		if (!f->used)
			continue;
		s->flows_by_proto[f->proto < 6 ? f->proto : PL_L7P_OTHER]++;
		if (f->flags & PL_L7F_PORT80_NOT_HTTP)
			s->port80_not_http++;
	}
	return s;
}

void l7_model_fill_flow(const struct l7_model *m, struct flow_row *r)
{
	const struct flow_proto *f = flow_slot(((struct l7_model *)m)->flows, &r->key, 0);
	if (!f)
		return;
	snprintf(r->l7, sizeof(r->l7), "%s", l7_proto_name(f->proto));
	r->l7_flags = f->flags;
}
