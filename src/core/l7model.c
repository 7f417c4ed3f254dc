/* The application-layer model: pairs HTTP responses with requests per connection, aggregates endpoints, DNS and TLS. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/l7model.h"
#include "lib/l7parse.h"

#define CONN_CAP 4096			   /* connections with HTTP state; the oldest go first */
#define CONN_PENDING 16			   /* pipelined requests waiting for their response */
#define PARTIAL_MAX 1024		   /* request head kept across segments */
#define FLOW_CAP 16384			   /* per-flow protocol, like the BPF map */
#define DNS_PENDING 4096		   /* queries waiting for their answer */
#define DNS_WAIT_NS (10 * 1000000000ULL)   /* a query older than this has no answer to wait for */
#define HELLO_PENDING 1024		   /* ClientHellos waiting for the other side's answer */
#define HELLO_WAIT_NS (5 * 1000000000ULL)  /* then the hello counts as unanswered */
#define HELLO_DONE_NS (10 * 1000000000ULL) /* later hellos on an answered flow: same handshake */
#define PROBES 8
/* Tables fed by the network hold twice what a snapshot shows: rows near the cut keep counting. */
#define EP_MAX (2 * PL_HTTP_ENDPOINTS_MAX)
#define DNS_MAX (2 * PL_DNS_NAMES_MAX)
#define SNI_MAX (2 * PL_TLS_SNI_MAX)

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
	 * Requests waiting for their responses: cap entries (1, 2, 4 ... CONN_PENDING), NULL
	 * until the connection's first request, kept until the slot is reused. Kept at
	 * CONN_PENDING in every slot, 4096 queues of 22 KB were 86 MB that each new connection
	 * faulted in a little further (make soak: RSS +5 MB a minute); allocated and zeroed per
	 * request, they were a 22 KB calloc and a free per HTTP request (a quarter of the model's
	 * CPU per event). Keep-alive holds one request at a time: one entry, 1.4 KB.
	 */
	struct pending *q;
	uint32_t head, n, cap;
};

struct flow_proto {
	int used;
	struct flow_key key;
	uint8_t proto, flags;
};

/*
 * A table fed by the network (endpoints, DNS names, TLS names): bounded, and
 * a newcomer that finds it full takes the place of the least-counted row
 * (among equal counts, the one counted longest ago), whose counts fold into
 * the table's "other". Never first come keeps the slot: a flood of names seen
 * once cannot keep a name that is used out. Every row type starts with this.
 */
struct ctab_row {
	uint64_t hash;
	uint64_t count;
	uint64_t last; /* tick of the last count */
};

struct ctab {
	unsigned char *rows;
	size_t size, cap, n;
	uint64_t tick;
};

/* Latency and counts of folded rows. */
struct folded {
	uint64_t rows, count, errors, lat_n;
	double min_ms, max_ms;
	uint32_t hist[L7_HIST_BUCKETS];
};

struct endpoint {
	struct ctab_row h; /* count: requests */
	uint32_t id;
	char method[12], host[64], path[160];
	uint16_t host_len, path_len;
	uint64_t errors;
	double min_ms, max_ms;
	uint64_t lat_n;
	uint32_t hist[L7_HIST_BUCKETS];
};

struct dns_pend {
	uint64_t ts_ns; /* 0: free */
	struct flow_key key;
	uint16_t id, qtype;
	uint64_t qname; /* hash of the question's name */
};

struct dns_row {
	struct ctab_row h; /* count: answers */
	char name[PL_DNS_NAME_MAX];
	uint16_t name_len;
	uint16_t qtype;
	uint8_t rcode;
	uint64_t answers;
	uint64_t lat_n;
	uint32_t hist[L7_HIST_BUCKETS];
	double min_ms, max_ms;
};

struct sni_row {
	struct ctab_row h; /* count: answered handshakes */
	char name[256], alpn[32];
	uint16_t name_len, alpn_len;
	uint16_t version;
};

enum { HELLO_FREE = 0, HELLO_WAITING, HELLO_ANSWERED };

struct hello_pend {
	int state;
	uint8_t dir;	/* of the hello; the answer comes the other way */
	uint64_t ts_ns; /* hello seen, or answered */
	struct flow_key key;
	char name[256], alpn[32];
	uint16_t name_len, alpn_len;
	uint16_t version;
};

struct l7_model {
	double slow_ms;
	uint64_t start_ns;
	struct conn *conns;
	struct flow_proto *flows;
	struct http_tx_row recent[PL_HTTP_RECENT_MAX];
	uint32_t recent_head, recent_n;
	struct http_tx_row slow[PL_HTTP_SLOW_MAX];
	uint32_t slow_head, slow_n;
	struct dns_pend *dpend;
	struct hello_pend *hello;
	struct ctab eps, dns, sni;
	uint32_t next_ep_id;
	struct folded ep_other, dns_other, sni_other;
	struct snapshot_l7 c; /* counters only (arrays unused) */
};

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/*
 * Connections' and flows' keys, 8 bytes a step: FNV takes a multiply per byte, one after the
 * other, and conn_get hashed its 56 bytes for every event (the model's hottest function under
 * HTTP keep-alive, make bench with perf).
 */
static uint64_t key_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	for (; n; n--, b++)
		h = (h ^ *b) * 0x100000001b3ULL;
	return h ^ (h >> 32);
}

static int ctab_init(struct ctab *t, size_t size, size_t cap)
{
	t->rows = calloc(cap, size);
	t->size = size;
	t->cap = cap;
	t->n = 0;
	return t->rows ? 0 : -1;
}

static struct ctab_row *ctab_at(const struct ctab *t, size_t i)
{
	return (struct ctab_row *)(void *)(t->rows + i * t->size);
}

/* The row with this hash that same() accepts, or NULL. */
static void *ctab_find(const struct ctab *t, uint64_t hash,
		       int (*same)(const void *row, const void *key), const void *key)
{
	for (size_t i = 0; i < t->n; i++) {
		struct ctab_row *r = ctab_at(t, i);
		if (r->hash == hash && same(r, key))
			return r;
	}
	return NULL;
}

/*
 * A zeroed row for a new key. In a full table the least-counted row leaves
 * (ties: the least recently counted) and fold() adds it to "other" first.
 */
static void *ctab_add(struct ctab *t, uint64_t hash, void (*fold)(struct folded *, const void *),
		      struct folded *other)
{
	struct ctab_row *r;
	if (t->n < t->cap) {
		r = ctab_at(t, t->n++);
	} else {
		r = ctab_at(t, 0);
		for (size_t i = 1; i < t->n; i++) {
			struct ctab_row *c = ctab_at(t, i);
			if (c->count < r->count || (c->count == r->count && c->last < r->last))
				r = c;
		}
		other->rows++;
		other->count += r->count;
		fold(other, r);
	}
	memset(r, 0, t->size);
	r->hash = hash;
	r->last = ++t->tick;
	return r;
}

static void ctab_count(struct ctab *t, struct ctab_row *r)
{
	r->count++;
	r->last = ++t->tick;
}

/* The rows by count, descending (ties: cmp); returns how many. out holds t->n pointers. */
static size_t ctab_sorted(const struct ctab *t, const void **out,
			  int (*cmp)(const void *, const void *))
{
	for (size_t i = 0; i < t->n; i++)
		out[i] = ctab_at(t, i);
	qsort(out, t->n, sizeof(out[0]), cmp);
	return t->n;
}

static void folded_latency(struct folded *o, const uint32_t *hist, uint64_t lat_n, double min_ms,
			   double max_ms)
{
	if (!lat_n)
		return;
	if (!o->lat_n || min_ms < o->min_ms)
		o->min_ms = min_ms;
	if (max_ms > o->max_ms)
		o->max_ms = max_ms;
	o->lat_n += lat_n;
	for (int b = 0; b < L7_HIST_BUCKETS; b++)
		o->hist[b] += hist[b];
}

static void folded_out(const struct folded *o, struct l7_other *out)
{
	out->rows = o->rows;
	out->count = o->count;
	out->errors = o->errors;
	out->p50_ms =
	    o->lat_n ? l7_hist_quantile(o->hist, o->lat_n, 0.50, o->min_ms, o->max_ms) : -1;
	out->p99_ms =
	    o->lat_n ? l7_hist_quantile(o->hist, o->lat_n, 0.99, o->min_ms, o->max_ms) : -1;
}

struct l7_model *l7_model__new(double slow_ms)
{
	struct l7_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->conns = calloc(CONN_CAP, sizeof(*m->conns));
	m->flows = calloc(FLOW_CAP, sizeof(*m->flows));
	m->dpend = calloc(DNS_PENDING, sizeof(*m->dpend));
	m->hello = calloc(HELLO_PENDING, sizeof(*m->hello));
	if (!m->conns || !m->flows || !m->dpend || !m->hello ||
	    ctab_init(&m->eps, sizeof(struct endpoint), EP_MAX) ||
	    ctab_init(&m->dns, sizeof(struct dns_row), DNS_MAX) ||
	    ctab_init(&m->sni, sizeof(struct sni_row), SNI_MAX)) {
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
	free(m->dpend);
	free(m->hello);
	free(m->eps.rows);
	free(m->dns.rows);
	free(m->sni.rows);
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

/* Length of the segment at p (up to n bytes) before '/', '?' or '#'; NUL is data. */
static size_t segment_len(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] != '/' && p[i] != '?' && p[i] != '#')
		i++;
	return i;
}

size_t l7_collapse_path(const char *path, size_t n, char *out, size_t outlen)
{
	size_t o = 0, i = 0;
	if (!outlen)
		return 0;
	while (i < n && path[i] != '?' && path[i] != '#' && o + 1 < outlen) {
		if (path[i] != '/') {
			out[o++] = path[i++];
			continue;
		}
		out[o++] = path[i++];
		size_t seg = segment_len(path + i, n - i);
		if (is_id_segment(path + i, seg)) {
			for (const char *id = ":id"; *id && o + 1 < outlen; id++)
				out[o++] = *id;
			i += seg;
		}
	}
	out[o] = '\0';
	return o;
}

/* Copies n bytes (at most dlen - 1, NULs included) and terminates; returns the length kept. */
static uint16_t copy_field(char *dst, size_t dlen, const uint8_t *src, size_t n)
{
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return (uint16_t)n;
}

/* Connections: open addressing on the key; a full probe run evicts its oldest slot. */
static struct conn *conn_get(struct l7_model *m, const struct flow_key *k, uint64_t ssl,
			     uint32_t tgid, uint64_t now)
{
	uint64_t h =
	    key_hash(k, sizeof(*k), (ssl ^ tgid) * 0x100000001b3ULL + 0xcbf29ce484222325ULL);
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
	uint64_t h = key_hash(k, sizeof(*k), 0xcbf29ce484222325ULL);
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

static int endpoint_same(const void *row, const void *key)
{
	const struct endpoint *e = row, *k = key;
	return !strcmp(e->method, k->method) && e->host_len == k->host_len &&
	       e->path_len == k->path_len && !memcmp(e->host, k->host, k->host_len) &&
	       !memcmp(e->path, k->path, k->path_len);
}

static void endpoint_fold(struct folded *o, const void *row)
{
	const struct endpoint *e = row;
	o->errors += e->errors;
	folded_latency(o, e->hist, e->lat_n, e->min_ms, e->max_ms);
}

static struct endpoint *endpoint_get(struct l7_model *m, const struct http_tx_row *tx)
{
	static struct endpoint k; /* the key: method, host, collapsed path (bytes, NULs too) */
	snprintf(k.method, sizeof(k.method), "%s", tx->method);
	k.host_len = copy_field(k.host, sizeof(k.host), (const uint8_t *)tx->host, tx->host_len);
	k.path_len = (uint16_t)l7_collapse_path(tx->path, tx->path_len, k.path, sizeof(k.path));
	uint64_t h = fnv(k.method, strlen(k.method), 0xcbf29ce484222325ULL);
	h = fnv(k.host, (size_t)k.host_len + 1, h);
	h = fnv(k.path, k.path_len, h);
	struct endpoint *e = ctab_find(&m->eps, h, endpoint_same, &k);
	if (e)
		return e;
	e = ctab_add(&m->eps, h, endpoint_fold, &m->ep_other);
	/* ids are never reused: the recent list names its endpoint by id */
	e->id = ++m->next_ep_id;
	memcpy(e->method, k.method, sizeof(e->method));
	memcpy(e->host, k.host, sizeof(e->host));
	memcpy(e->path, k.path, sizeof(e->path));
	e->host_len = k.host_len;
	e->path_len = k.path_len;
	return e;
}

const double l7_http_lat_bounds[PL_HTTP_LAT_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static void http_lat_count(struct snapshot_l7 *c, double s)
{
	int b = 0;
	while (b < PL_HTTP_LAT_BUCKETS && s > l7_http_lat_bounds[b])
		b++;
	c->http_lat.buckets[b]++;
	c->http_lat.sum_s += s;
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
	ctab_count(&m->eps, &e->h);
	if (status >= 400)
		e->errors++;
	if (status) {
		if (!e->lat_n || tx.latency_ms < e->min_ms)
			e->min_ms = tx.latency_ms;
		if (tx.latency_ms > e->max_ms)
			e->max_ms = tx.latency_ms;
		e->lat_n++;
		e->hist[l7_hist_bucket(tx.latency_ms * 1000)]++;
		http_lat_count(&m->c, tx.latency_ms / 1000);
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
		pq->tx.path_len =
		    copy_field(pq->tx.path, sizeof(pq->tx.path), b + r.path_off, r.path_len);
		if (r.host_len)
			pq->tx.host_len = copy_field(pq->tx.host, sizeof(pq->tx.host),
						     b + r.host_off, r.host_len);
		pq->complete = 1;
		pq->want_host = ret == PL_L7E_OK && !r.host_len && !r.headers_complete;
		if (ret == PL_L7E_LONG)
			m->c.err_http_long++;
	}
	return ret;
}

/* Room for one more request: the queue doubles up to CONN_PENDING, oldest first after a move. */
static int conn_queue_room(struct conn *c)
{
	if (c->n < c->cap)
		return 0;
	if (c->cap == CONN_PENDING)
		return 1; /* full: the caller lets the oldest go */
	uint32_t cap = c->cap ? c->cap * 2 : 1;
	/* entries are written before they are read: no need to zero them */
	struct pending *q = malloc(cap * sizeof(*q));
	if (!q)
		return -1;
	for (uint32_t i = 0; i < c->n; i++)
		memcpy(&q[i], &c->q[(c->head + i) % c->cap], sizeof(*q));
	free(c->q);
	c->q = q;
	c->cap = cap;
	c->head = 0;
	return 0;
}

static void http_request(struct l7_model *m, struct conn *c, const struct l7_event *ev,
			 const struct flow_key *key, uint64_t start_ns)
{
	int full = conn_queue_room(c);
	if (full < 0)
		return;
	if (full) {
		/* requests never answered: the oldest leaves without a response */
		tx_finish(m, &c->q[c->head], 0, 0);
		c->head = (c->head + 1) % c->cap;
		c->n--;
	}
	struct pending *pq = &c->q[(c->head + c->n) % c->cap];
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
	struct pending *pq = &c->q[(c->head + c->n - 1) % c->cap];
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

/*
 * Whether this direction's last segment had this sequence number (a retransmission, to count
 * once); records it otherwise.
 */
static int seq_repeated(struct conn *c, int dir, uint32_t seq)
{
	int d = dir & 1;
	if (c->have_seq[d] && c->last_seq[d] == seq)
		return 1;
	c->have_seq[d] = 1;
	c->last_seq[d] = seq;
	return 0;
}

/* A response of this status (from the packet programs, or parsed from an SSL read) at ts_ns. */
static void http_answer(struct l7_model *m, struct conn *c, unsigned status, uint64_t ts_ns)
{
	if (status < 100 || status > 599) {
		m->c.err_http_resp++; /* PL_L7_RESP_TRUNC, PL_L7_RESP_BAD */
		return;
	}
	if (status < 200 && status != 101)
		return; /* interim (100 Continue): the final answer follows */
	m->c.http_responses++;
	m->c.by_status[status]++;
	m->c.by_class[status / 100]++;
	if (!c->n) {
		m->c.http_unmatched++;
		return;
	}
	struct pending *pq = &c->q[c->head];
	c->head = (c->head + 1) % c->cap;
	c->n--;
	if (!pq->complete && !pq->bad)
		m->c.err_http_req++;
	tx_finish(m, pq, status, ts_ns);
}

static void http_response(struct l7_model *m, struct conn *c, const struct l7_event *ev)
{
	struct pl_http_resp r;
	int err = pl_http_parse_resp(ev->data, ev->data + ev->len, &r);
	http_answer(m, c, err ? PL_L7_RESP_BAD : r.status, ev->ts_ns);
}

/*
 * The response a packet event carries (resp_status set), or a PL_L7K_HTTP_HELD record's: it
 * passed before the event's own packet, and is counted first. A retransmitted one repeats its
 * sequence number, as a response event did.
 */
static void http_carried(struct l7_model *m, struct conn *c, const struct l7_event *ev)
{
	if (!seq_repeated(c, ev->resp_dir, ev->resp_seq))
		http_answer(m, c, ev->resp_status, ev->resp_ts);
}

static int dns_same(const void *row, const void *key)
{
	const struct dns_row *r = row, *k = key;
	return r->name_len == k->name_len && r->qtype == k->qtype && r->rcode == k->rcode &&
	       !memcmp(r->name, k->name, k->name_len);
}

static void dns_fold(struct folded *o, const void *row)
{
	const struct dns_row *r = row;
	folded_latency(o, r->hist, r->lat_n, r->min_ms, r->max_ms);
}

static struct dns_row *dns_row_get(struct l7_model *m, const struct pl_dns *d)
{
	static struct dns_row k;
	k.name_len = d->name_len < sizeof(k.name) ? d->name_len : sizeof(k.name);
	memcpy(k.name, d->name, k.name_len);
	k.qtype = d->qtype;
	k.rcode = d->rcode & 15;
	uint64_t h = fnv(k.name, k.name_len, fnv(&k.qtype, 2, 0xcbf29ce484222325ULL + k.rcode));
	struct dns_row *row = ctab_find(&m->dns, h, dns_same, &k);
	if (row)
		return row;
	row = ctab_add(&m->dns, h, dns_fold, &m->dns_other);
	memcpy(row->name, k.name, k.name_len);
	row->name_len = k.name_len;
	row->qtype = k.qtype;
	row->rcode = k.rcode;
	return row;
}

static uint64_t dns_qname_hash(const struct pl_dns *d)
{
	return fnv(d->name, d->name_len, 0xcbf29ce484222325ULL);
}

/*
 * Queries wait for their answer in a small open-addressed table keyed by the
 * flow and the DNS id; a full probe run gives up its oldest query.
 */
static struct dns_pend *dns_pend_slot(struct l7_model *m, const struct flow_key *k, uint16_t id,
				      int create, uint64_t now)
{
	uint64_t h = fnv(&id, 2, key_hash(k, sizeof(*k), 0xcbf29ce484222325ULL));
	struct dns_pend *victim = NULL;
	for (int i = 0; i < PROBES; i++) {
		struct dns_pend *p = &m->dpend[(h + (uint64_t)i) % DNS_PENDING];
		if (p->ts_ns && now > p->ts_ns && now - p->ts_ns > DNS_WAIT_NS)
			p->ts_ns = 0; /* expired: no answer is coming */
		if (p->ts_ns && p->id == id && !memcmp(&p->key, k, sizeof(*k)))
			return p;
		if (!victim || (victim->ts_ns && (!p->ts_ns || p->ts_ns < victim->ts_ns)))
			victim = p;
	}
	return create ? victim : NULL;
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
	if (!d.qr) {
		m->c.dns_queries++;
		struct dns_pend *p = dns_pend_slot(m, &ev->key, d.id, 1, ev->ts_ns);
		p->key = ev->key;
		p->id = d.id;
		p->qtype = d.qtype;
		p->qname = dns_qname_hash(&d);
		p->ts_ns = ev->ts_ns ? ev->ts_ns : 1;
		return;
	}
	m->c.dns_responses++;
	m->c.dns_rcodes[d.rcode & 15]++;
	/*
	 * An answer names a row only when its query was seen: same flow, id and
	 * question, as a resolver checks. Anyone can send answers; counting
	 * those as names would let them fill the table (and they are a sign of
	 * spoofing or of a cache-poisoning attempt, so they get their own count).
	 */
	struct dns_pend *p = dns_pend_slot(m, &ev->key, d.id, 0, ev->ts_ns);
	if (!p || p->qtype != d.qtype || p->qname != dns_qname_hash(&d)) {
		m->c.dns_unsolicited++;
		return;
	}
	double ms = ev->ts_ns > p->ts_ns ? (double)(ev->ts_ns - p->ts_ns) / 1e6 : 0;
	p->ts_ns = 0;
	struct dns_row *row = dns_row_get(m, &d);
	ctab_count(&m->dns, &row->h);
	row->answers += d.ancount;
	if (!row->lat_n || ms < row->min_ms)
		row->min_ms = ms;
	if (ms > row->max_ms)
		row->max_ms = ms;
	row->lat_n++;
	row->hist[l7_hist_bucket(ms * 1000)]++;
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

static int sni_same(const void *row, const void *key)
{
	const struct sni_row *r = row, *k = key;
	return r->name_len == k->name_len && !memcmp(r->name, k->name, k->name_len);
}

static void sni_fold(struct folded *o, const void *row)
{
	(void)o;
	(void)row;
}

/* A handshake the other side answered: now it counts, under its server name. */
static void tls_count(struct l7_model *m, const struct hello_pend *hp)
{
	static struct sni_row k;
	m->c.tls_handshakes++;
	k.name_len = hp->name_len;
	memcpy(k.name, hp->name, hp->name_len);
	uint64_t h = fnv(hp->name, hp->name_len, 0xcbf29ce484222325ULL);
	struct sni_row *row = ctab_find(&m->sni, h, sni_same, &k);
	if (!row) {
		row = ctab_add(&m->sni, h, sni_fold, &m->sni_other);
		memcpy(row->name, hp->name, hp->name_len);
		row->name_len = hp->name_len;
	}
	ctab_count(&m->sni, &row->h);
	memcpy(row->alpn, hp->alpn, hp->alpn_len);
	row->alpn_len = hp->alpn_len;
	row->version = hp->version;
}

static struct hello_pend *hello_slot(struct l7_model *m, const struct flow_key *k, int create)
{
	uint64_t h = key_hash(k, sizeof(*k), 0xcbf29ce484222325ULL);
	struct hello_pend *victim = NULL;
	for (int i = 0; i < PROBES; i++) {
		struct hello_pend *p = &m->hello[(h + (uint64_t)i) % HELLO_PENDING];
		if (p->state != HELLO_FREE && !memcmp(&p->key, k, sizeof(*k)))
			return p;
		if (!victim || (victim->state != HELLO_FREE &&
				(p->state == HELLO_FREE || p->ts_ns < victim->ts_ns)))
			victim = p;
	}
	if (!create)
		return NULL;
	if (victim->state == HELLO_WAITING)
		m->c.tls_unanswered++; /* pushed out unanswered */
	memset(victim, 0, sizeof(*victim));
	return victim;
}

/*
 * A ClientHello is parsed at once (a bad one is a parse error) but counts
 * only when the other side answers it with a TLS record (ServerHello, or an
 * alert refusing it). tc sees segments before TCP checks them: a hello with a
 * bad checksum, or for no connection at all, reaches no TLS stack and gets no
 * TLS answer, so one forged segment cannot make a name appear. The answer
 * proves that a TLS endpoint read the hello. A second hello on an answered
 * flow (after a HelloRetryRequest) is the same handshake.
 */
static void tls_hello(struct l7_model *m, const struct l7_event *ev)
{
	struct pl_tls_hello t;
	if (pl_tls_parse_hello(ev->data, ev->data + ev->len, &t)) {
		m->c.err_tls++;
		return;
	}
	struct hello_pend *hp = hello_slot(m, &ev->key, 1);
	if (hp->state == HELLO_ANSWERED && ev->ts_ns < hp->ts_ns + HELLO_DONE_NS)
		return;
	hp->state = HELLO_WAITING;
	hp->key = ev->key;
	hp->dir = ev->dir & 1;
	hp->ts_ns = ev->ts_ns;
	hp->name_len = t.sni_len < sizeof(hp->name) ? t.sni_len : sizeof(hp->name) - 1;
	memcpy(hp->name, ev->data + t.sni_off, hp->name_len);
	hp->alpn_len = t.alpn_len < sizeof(hp->alpn) ? t.alpn_len : sizeof(hp->alpn) - 1;
	memcpy(hp->alpn, ev->data + t.alpn_off, hp->alpn_len);
	hp->version = t.max_version;
}

static void tls_answer(struct l7_model *m, const struct l7_event *ev)
{
	struct hello_pend *hp = hello_slot(m, &ev->key, 0);
	if (!hp || hp->state != HELLO_WAITING || hp->dir == (ev->dir & 1))
		return;
	tls_count(m, hp);
	hp->state = HELLO_ANSWERED;
	hp->ts_ns = ev->ts_ns;
}

/* Hellos that waited too long are unanswered; answered flows are forgotten after a while. */
static void hello_sweep(struct l7_model *m, uint64_t now)
{
	for (size_t i = 0; i < HELLO_PENDING; i++) {
		struct hello_pend *hp = &m->hello[i];
		if (hp->state == HELLO_FREE || now <= hp->ts_ns)
			continue;
		if (hp->state == HELLO_WAITING && now - hp->ts_ns >= HELLO_WAIT_NS) {
			m->c.tls_unanswered++;
			hp->state = HELLO_FREE;
		} else if (hp->state == HELLO_ANSWERED && now - hp->ts_ns >= HELLO_DONE_NS) {
			hp->state = HELLO_FREE;
		}
	}
}

/* The loopback device has this index in every network namespace (LOOPBACK_IFINDEX). */
#define PL_LOOPBACK_IFINDEX 1

/*
 * On the loopback device both ends of a local conversation are this host:
 * every packet passes tc egress (one end's view of the flow, local = sender)
 * and then tc ingress (the other end's view, local = receiver), so each
 * transaction would be paired and counted once per view. Both views keep
 * their flow rows and protocol (each end is a process of its own); their
 * HTTP, DNS and TLS events count from one view only: the one whose local
 * port is the lower (a server's), by address when the ports are equal.
 */
static int loopback_mirror(const struct flow_key *k)
{
	if (k->ifindex != PL_LOOPBACK_IFINDEX)
		return 0;
	if (k->local_port != k->remote_port)
		return k->local_port > k->remote_port;
	return memcmp(k->local, k->remote, sizeof(k->local)) > 0;
}

void l7_model_event(struct l7_model *m, const struct l7_event *ev, size_t len, uint64_t start_ns)
{
	/* a record is cut after its data (PL_L7_EVENT_SIZE): len bytes of it must be there */
	size_t hdr = offsetof(struct l7_event, data);
	if (len < hdr || ev->len > PL_L7_DATA || ev->len > len - hdr)
		return;
	m->start_ns = start_ns;
	if (ev->kind == PL_L7K_PROTO) {
		struct flow_proto *f = flow_slot(m->flows, &ev->key, 1);
		f->proto = ev->proto;
		f->flags = ev->flags;
		return;
	}
	if (ev->kind != PL_L7K_SSL && loopback_mirror(&ev->key))
		return;
	/* the connection of a carried response is the event's own: one lookup serves both */
	struct conn *held = NULL;
	if (ev->kind != PL_L7K_SSL && ev->resp_status) {
		held = conn_get(m, &ev->key, 0, 0, ev->ts_ns);
		http_carried(m, held, ev);
	}
	if (ev->kind == PL_L7K_HTTP_HELD)
		return;
	if (ev->kind == PL_L7K_DNS) {
		if (ev->key.proto == PL_IPPROTO_TCP) {
			/* retransmitted segments repeat the sequence number */
			struct conn *c = conn_get(m, &ev->key, 0, 0, ev->ts_ns);
			if (seq_repeated(c, ev->dir, ev->seq))
				return;
		}
		dns_event(m, ev);
		return;
	}
	if (ev->kind == PL_L7K_TLS_HELLO) {
		/* retransmitted hellos repeat the sequence number */
		struct conn *c = conn_get(m, &ev->key, 0, 0, ev->ts_ns);
		if (seq_repeated(c, ev->dir, ev->seq))
			return;
		tls_hello(m, ev);
		return;
	}
	if (ev->kind == PL_L7K_TLS_ANSWER) {
		tls_answer(m, ev);
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
		c = held ? held : conn_get(m, key, 0, 0, ev->ts_ns);
		if (kind != PL_L7K_HTTP_CONT && seq_repeated(c, ev->dir, ev->seq))
			return; /* retransmission */
	}
	if (kind == PL_L7K_HTTP_REQ)
		http_request(m, c, ev, key, start_ns);
	else if (kind == PL_L7K_HTTP_RESP)
		http_response(m, c, ev);
	else if (kind == PL_L7K_HTTP_CONT)
		http_cont(m, c, ev);
}

static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);
	return c ? c : na < nb ? -1 : na > nb;
}

/* Rows by count, descending; equal counts by key, so that the order does not flicker. */
static int cmp_ep(const void *a, const void *b)
{
	const struct endpoint *x = *(const void *const *)a, *y = *(const void *const *)b;
	if (x->h.count != y->h.count)
		return x->h.count < y->h.count ? 1 : -1;
	int c = bytes_cmp(x->path, x->path_len, y->path, y->path_len);
	if (!c)
		c = bytes_cmp(x->host, x->host_len, y->host, y->host_len);
	return c ? c : strcmp(x->method, y->method);
}

static int cmp_dns(const void *a, const void *b)
{
	const struct dns_row *x = *(const void *const *)a, *y = *(const void *const *)b;
	if (x->h.count != y->h.count)
		return x->h.count < y->h.count ? 1 : -1;
	int c = bytes_cmp(x->name, x->name_len, y->name, y->name_len);
	return c ? c : x->qtype != y->qtype ? x->qtype - y->qtype : x->rcode - y->rcode;
}

static int cmp_sni(const void *a, const void *b)
{
	const struct sni_row *x = *(const void *const *)a, *y = *(const void *const *)b;
	if (x->h.count != y->h.count)
		return x->h.count < y->h.count ? 1 : -1;
	return bytes_cmp(x->name, x->name_len, y->name, y->name_len);
}

static void endpoint_out(const struct endpoint *e, struct http_endpoint_row *r)
{
	r->id = e->id;
	memcpy(r->method, e->method, sizeof(r->method));
	memcpy(r->host, e->host, sizeof(r->host));
	memcpy(r->path, e->path, sizeof(r->path));
	r->host_len = e->host_len;
	r->path_len = e->path_len;
	r->count = e->h.count;
	r->errors = e->errors;
	r->p50_ms = l7_hist_quantile(e->hist, e->lat_n, 0.50, e->min_ms, e->max_ms);
	r->p90_ms = l7_hist_quantile(e->hist, e->lat_n, 0.90, e->min_ms, e->max_ms);
	r->p99_ms = l7_hist_quantile(e->hist, e->lat_n, 0.99, e->min_ms, e->max_ms);
	r->max_ms = e->max_ms;
}

static void dns_out(const struct dns_row *d, struct dns_name_row *r)
{
	char tb[12], rb[12];
	memset(r->name, 0, sizeof(r->name));
	r->name_len = copy_field(r->name, sizeof(r->name), (const uint8_t *)d->name, d->name_len);
	snprintf(r->qtype, sizeof(r->qtype), "%s", dns_qtype_name(d->qtype, tb));
	snprintf(r->rcode, sizeof(r->rcode), "%s", dns_rcode_name(d->rcode, rb));
	r->count = d->h.count;
	r->answers = d->answers;
	r->p50_ms = l7_hist_quantile(d->hist, d->lat_n, 0.5, d->min_ms, d->max_ms);
	r->max_ms = d->max_ms;
}

static void sni_out(const struct sni_row *t, struct tls_sni_row *r)
{
	memset(r->name, 0, sizeof(r->name));
	r->name_len = copy_field(r->name, sizeof(r->name), (const uint8_t *)t->name, t->name_len);
	memset(r->alpn, 0, sizeof(r->alpn));
	r->alpn_len = copy_field(r->alpn, sizeof(r->alpn), (const uint8_t *)t->alpn, t->alpn_len);
	snprintf(r->version, sizeof(r->version), "%s", tls_version_name(t->version));
	r->count = t->h.count;
}

struct snapshot_l7 *l7_model_read(struct l7_model *m, const struct l7_counters *bpf,
				  uint64_t now_ns)
{
	hello_sweep(m, now_ns);
	struct snapshot_l7 *s = malloc(sizeof(*s));
	/* the largest table: every row's address, sorted by count before the cut */
	const void **by = malloc(EP_MAX * sizeof(*by));
	if (!s || !by) {
		free(s);
		free(by);
		return NULL;
	}
	_Static_assert(EP_MAX >= DNS_MAX && EP_MAX >= SNI_MAX, "sort buffer");
	*s = m->c;
	s->slow_ms = m->slow_ms;
	if (bpf) {
		s->events = bpf->events;
		s->events_lost = bpf->events_lost;
		s->ssl_calls = bpf->ssl_calls;
		s->ssl_lost = bpf->ssl_lost;
		s->sampled = bpf->sampled;
	}

	/* rows below the cut join what was evicted in "other" */
	struct folded o = m->ep_other;
	size_t n = ctab_sorted(&m->eps, by, cmp_ep);
	s->n_endpoints = n < PL_HTTP_ENDPOINTS_MAX ? n : PL_HTTP_ENDPOINTS_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct endpoint *e = by[i];
		if (i < s->n_endpoints) {
			endpoint_out(e, &s->endpoints[i]);
			continue;
		}
		o.rows++;
		o.count += e->h.count;
		endpoint_fold(&o, e);
	}
	folded_out(&o, &s->endpoints_other);

	s->n_recent = m->recent_n;
	for (uint32_t i = 0; i < m->recent_n; i++)
		s->recent[i] = m->recent[(m->recent_head + PL_HTTP_RECENT_MAX - m->recent_n + i) %
					 PL_HTTP_RECENT_MAX];
	s->n_slow = m->slow_n;
	for (uint32_t i = 0; i < m->slow_n; i++)
		s->slow[i] =
		    m->slow[(m->slow_head + PL_HTTP_SLOW_MAX - m->slow_n + i) % PL_HTTP_SLOW_MAX];

	o = m->dns_other;
	n = ctab_sorted(&m->dns, by, cmp_dns);
	s->n_names = n < PL_DNS_NAMES_MAX ? n : PL_DNS_NAMES_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct dns_row *d = by[i];
		if (i < s->n_names) {
			dns_out(d, &s->names[i]);
			continue;
		}
		o.rows++;
		o.count += d->h.count;
		dns_fold(&o, d);
	}
	folded_out(&o, &s->names_other);

	o = m->sni_other;
	n = ctab_sorted(&m->sni, by, cmp_sni);
	s->n_sni = n < PL_TLS_SNI_MAX ? n : PL_TLS_SNI_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct sni_row *t = by[i];
		if (i < s->n_sni) {
			sni_out(t, &s->sni[i]);
			continue;
		}
		o.rows++;
		o.count += t->h.count;
	}
	folded_out(&o, &s->sni_other);
	free(by);

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
