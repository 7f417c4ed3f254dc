/* libFuzzer target: the user-space L7 model (src/core/l7model.c) fed sequences of crafted l7_event records. */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/types.h>

#include "fuzz.h"

/*
 * The model's tables are large (about 90 MB of connection state, nearly all
 * zero pages). Through ASan's allocator every input would pay for poisoning
 * their shadow on calloc and free (~20 ms, 50 inputs/s); from mmap each
 * input gets fresh zero pages and pays only for the pages it touches. Each
 * table ends at a PROT_NONE page, so an index past its end still faults.
 * The model's own file is compiled into this one for that (and for
 * coverage); smaller allocations stay with ASan.
 */
#define FZ_BIG (64 * 1024)
#define FZ_REGIONS 16
static struct {
	void *base, *obj;
	size_t len;
} fz_regions[FZ_REGIONS];

static void *fz_calloc(size_t n, size_t size)
{
	size_t bytes = n * size, page = 4096;
	if (bytes < FZ_BIG)
		return calloc(n, size);
	size_t len = (bytes + 2 * page - 1) / page * page + page;
	for (int i = 0; i < FZ_REGIONS; i++) {
		if (fz_regions[i].base)
			continue;
		uint8_t *b =
		    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		FUZZ_CHECK(b != MAP_FAILED, "mmap %zu", len);
		FUZZ_CHECK(!mprotect(b + len - page, page, PROT_NONE), "guard page");
		fz_regions[i].base = b;
		fz_regions[i].len = len;
		fz_regions[i].obj = b + len - page - (bytes + 15) / 16 * 16;
		return fz_regions[i].obj;
	}
	FUZZ_CHECK(0, "more than %d big tables", FZ_REGIONS);
	return NULL;
}

static void fz_free(void *p)
{
	for (int i = 0; p && i < FZ_REGIONS; i++) {
		if (fz_regions[i].obj == p) {
			munmap(fz_regions[i].base, fz_regions[i].len);
			fz_regions[i].base = fz_regions[i].obj = NULL;
			return;
		}
	}
	free(p);
}

#define calloc fz_calloc
#define free fz_free
#include "core/l7model.c"
#undef calloc
#undef free

/*
 * Input: one byte for the slow threshold, then records of
 *   op (kind, direction, flow, TCP/UDP, "segment continues"), seq, time step,
 *   length (2 bytes), then that many payload bytes (at most PL_L7_DATA).
 * Eight flow keys (four address pairs, TCP or UDP) make connections,
 * retransmissions and pipelining repeat; SSL events use the flow number as
 * the SSL pointer and process. Time only moves forward, as the ring buffer
 * delivers it. After the records, and whenever a record asks, the snapshot
 * is read and checked.
 */
#define FZ_NKEYS 8

enum { FZ_OP_KINDS = 7, FZ_OP_SPECIAL = 7 };
static const __u8 fz_op_kind[FZ_OP_KINDS] = {
	PL_L7K_HTTP_REQ,  PL_L7K_HTTP_RESP, PL_L7K_HTTP_CONT, PL_L7K_DNS,
	PL_L7K_TLS_HELLO, PL_L7K_PROTO,	    PL_L7K_SSL,
};

struct fz_expect {
	int proto_seen[FZ_NKEYS];
	__u8 proto[FZ_NKEYS], flags[FZ_NKEYS];
	uint64_t req_events, resp_events, dns_events, tls_events;
};

static void fz_key(struct flow_key *k, unsigned i)
{
	memset(k, 0, sizeof(*k));
	k->family = PL_AF_INET;
	k->proto = (i & 4) ? 17 : 6;
	k->local[0] = 10;
	k->local[3] = 1;
	k->remote[0] = 10;
	k->remote[3] = (__u8)(2 + (i & 3));
	k->ifindex = 2;
	k->local_port = (i & 4) ? 53 : 80;
	k->remote_port = (__u16)(40000 + (i & 3));
}

static int fz_desc(uint64_t a, uint64_t b)
{
	return a >= b;
}

static void fz_check_tx(const struct http_tx_row *t, double slow_ms, int is_slow)
{
	FUZZ_CHECK_STR(t->method);
	FUZZ_CHECK_STR(t->host);
	FUZZ_CHECK_STR(t->path);
	FUZZ_CHECK_STR(t->comm);
	FUZZ_CHECK(t->status == 0 || (t->status >= 100 && t->status <= 599), "status %u",
		   t->status);
	if (t->status)
		FUZZ_CHECK(t->latency_ms >= 0 && isfinite(t->latency_ms), "latency %f",
			   t->latency_ms);
	if (is_slow)
		FUZZ_CHECK(t->status && t->latency_ms >= slow_ms, "slow entry %f < %f",
			   t->latency_ms, slow_ms);
}

static void fz_check_snapshot(struct l7_model *m, const struct fz_expect *x)
{
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	FUZZ_CHECK(s, "l7_model_read failed");

	FUZZ_CHECK(s->n_endpoints <= PL_HTTP_ENDPOINTS_MAX && s->n_recent <= PL_HTTP_RECENT_MAX &&
		       s->n_slow <= PL_HTTP_SLOW_MAX && s->n_names <= PL_DNS_NAMES_MAX &&
		       s->n_sni <= PL_TLS_SNI_MAX,
		   "list lengths");
	uint64_t st = 0, cl = 0, rc = 0;
	for (int i = 0; i < 600; i++)
		st += s->by_status[i];
	for (int i = 0; i < 6; i++)
		cl += s->by_class[i];
	for (int i = 0; i < 16; i++)
		rc += s->dns_rcodes[i];
	FUZZ_CHECK(st == s->http_responses && cl == s->http_responses,
		   "responses %llu, by status %llu, by class %llu",
		   (unsigned long long)s->http_responses, (unsigned long long)st,
		   (unsigned long long)cl);
	FUZZ_CHECK(s->http_responses <= x->resp_events, "more responses than events");
	FUZZ_CHECK(s->http_requests <= x->req_events, "requests %llu > %llu events",
		   (unsigned long long)s->http_requests, (unsigned long long)x->req_events);
	FUZZ_CHECK(s->http_unmatched <= s->http_responses, "unmatched");
	FUZZ_CHECK(rc == s->dns_responses, "dns rcodes %llu responses %llu", (unsigned long long)rc,
		   (unsigned long long)s->dns_responses);
	FUZZ_CHECK(s->dns_queries + s->dns_responses + s->err_dns <= x->dns_events,
		   "dns counts beyond the %llu events", (unsigned long long)x->dns_events);
	FUZZ_CHECK(s->tls_handshakes + s->err_tls <= x->tls_events, "tls counts");

	uint64_t ep_sum = 0;
	for (size_t i = 0; i < s->n_endpoints; i++) {
		const struct http_endpoint_row *e = &s->endpoints[i];
		FUZZ_CHECK_STR(e->method);
		FUZZ_CHECK_STR(e->host);
		FUZZ_CHECK_STR(e->path);
		FUZZ_CHECK(!strchr(e->path, '?') && !strchr(e->path, '#'), "query in %s", e->path);
		FUZZ_CHECK(e->errors <= e->count, "errors %llu > count %llu",
			   (unsigned long long)e->errors, (unsigned long long)e->count);
		FUZZ_CHECK(e->p50_ms <= e->p90_ms && e->p90_ms <= e->p99_ms &&
			       e->p99_ms <= e->max_ms + 1e-9,
			   "quantiles %f %f %f max %f", e->p50_ms, e->p90_ms, e->p99_ms, e->max_ms);
		if (i)
			FUZZ_CHECK(fz_desc(s->endpoints[i - 1].count, e->count), "endpoint order");
		ep_sum += e->count;
	}
	FUZZ_CHECK(ep_sum <= s->http_requests, "endpoints count %llu > requests %llu",
		   (unsigned long long)ep_sum, (unsigned long long)s->http_requests);
	for (size_t i = 0; i < s->n_recent; i++)
		fz_check_tx(&s->recent[i], s->slow_ms, 0);
	for (size_t i = 0; i < s->n_slow; i++)
		fz_check_tx(&s->slow[i], s->slow_ms, 1);

	uint64_t name_sum = 0;
	for (size_t i = 0; i < s->n_names; i++) {
		const struct dns_name_row *d = &s->names[i];
		FUZZ_CHECK_STR(d->name);
		FUZZ_CHECK_STR(d->qtype);
		FUZZ_CHECK_STR(d->rcode);
		if (i)
			FUZZ_CHECK(fz_desc(s->names[i - 1].count, d->count), "name order");
		if (d->p50_ms >= 0)
			FUZZ_CHECK(d->p50_ms <= d->max_ms + 1e-9, "dns p50 %f max %f", d->p50_ms,
				   d->max_ms);
		name_sum += d->count;
	}
	FUZZ_CHECK(name_sum <= s->dns_responses + s->dns_queries, "names count");
	uint64_t sni_sum = 0;
	for (size_t i = 0; i < s->n_sni; i++) {
		const struct tls_sni_row *t = &s->sni[i];
		FUZZ_CHECK_STR(t->name);
		FUZZ_CHECK_STR(t->alpn);
		FUZZ_CHECK_STR(t->version);
		if (i)
			FUZZ_CHECK(fz_desc(s->sni[i - 1].count, t->count), "sni order");
		sni_sum += t->count;
	}
	FUZZ_CHECK(sni_sum <= s->tls_handshakes, "sni count %llu > handshakes %llu",
		   (unsigned long long)sni_sum, (unsigned long long)s->tls_handshakes);

	/* per-flow protocol: the last PL_L7K_PROTO event of each key wins */
	uint64_t flows = 0, by_proto = 0, p80 = 0;
	for (int i = 0; i < FZ_NKEYS; i++) {
		struct flow_row r;
		memset(&r, 0, sizeof(r));
		fz_key(&r.key, (unsigned)i);
		l7_model_fill_flow(m, &r);
		FUZZ_CHECK_STR(r.l7);
		if (!x->proto_seen[i]) {
			FUZZ_CHECK(!r.l7[0] && !r.l7_flags, "flow %d has l7 %s without an event", i,
				   r.l7);
			continue;
		}
		flows++;
		p80 += x->flags[i] & PL_L7F_PORT80_NOT_HTTP ? 1 : 0;
		FUZZ_CHECK(!strcmp(r.l7, l7_proto_name(x->proto[i])) && r.l7_flags == x->flags[i],
			   "flow %d: %s/%u, want %s/%u", i, r.l7, r.l7_flags,
			   l7_proto_name(x->proto[i]), x->flags[i]);
	}
	for (int i = 0; i < 6; i++)
		by_proto += s->flows_by_proto[i];
	FUZZ_CHECK(by_proto == flows && s->port80_not_http == p80,
		   "flows by proto %llu want %llu, port 80 %llu want %llu",
		   (unsigned long long)by_proto, (unsigned long long)flows,
		   (unsigned long long)s->port80_not_http, (unsigned long long)p80);
	free(s);
}

/*
 * l7_collapse_path: the n bytes of the path (NULs are data), its length back,
 * NUL-terminated inside its buffer, no query, every '/' of the path kept.
 */
static void fz_check_collapse(const uint8_t *d, size_t n, size_t outlen)
{
	char in[PL_L7_DATA + 1], out[PL_L7_DATA + 1];
	memcpy(in, d, n);
	in[n] = '\0';
	memset(out, 0x55, sizeof(out));
	size_t ol = l7_collapse_path(in, n, out, outlen);
	if (!outlen)
		return;
	FUZZ_CHECK(ol < outlen && out[ol] == '\0', "collapse not terminated in %zu", outlen);
	FUZZ_CHECK(!memchr(out, '?', ol) && !memchr(out, '#', ol), "query kept");
	size_t plen = 0, slashes = 0, got = 0;
	while (plen < n && in[plen] != '?' && in[plen] != '#')
		plen++;
	for (size_t i = 0; i < plen; i++)
		slashes += in[i] == '/';
	for (size_t i = 0; i < ol; i++)
		got += out[i] == '/';
	/* only a full buffer may cut the path short */
	if (ol + 1 < outlen)
		FUZZ_CHECK(got == slashes, "slashes %zu want %zu", got, slashes);
	else
		FUZZ_CHECK(got <= slashes, "slashes %zu > %zu", got, slashes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fz_expect x;
	int reads = 0;
	static struct l7_event ev;
	struct flow_key keys[FZ_NKEYS];
	uint64_t ts = 1000000000ULL, start = 500000000ULL;

	memset(&x, 0, sizeof(x));
	for (unsigned i = 0; i < FZ_NKEYS; i++)
		fz_key(&keys[i], i);
	struct l7_model *m = l7_model__new(fuzz_u8(&in));
	FUZZ_CHECK(m, "l7_model__new failed");
	while (in.n) {
		__u8 op = fuzz_u8(&in), seq = fuzz_u8(&in), dt = fuzz_u8(&in);
		uint16_t want = fuzz_u16(&in);
		unsigned k = (op >> 4) & 7, kind = op & 7;
		const uint8_t *payload;
		size_t n = fuzz_take(&in, &payload, want % (PL_L7_DATA + 1));

		ts += (uint64_t)dt * dt * 10000; /* up to 650 ms per step */
		if (kind == FZ_OP_SPECIAL) {
			switch ((op >> 3) & 3) {
			case 0:
				/* a read walks every table: a few per input keep the rate up */
				if (++reads <= 3)
					fz_check_snapshot(m, &x);
				break;
			case 1:
				l7_model_set_slow_ms(m, seq ? seq * 5.0 : -1);
				break;
			case 2:
				/* a record the ring buffer could not have produced is ignored */
				memset(&ev, 0, sizeof(ev));
				ev.kind = PL_L7K_HTTP_REQ;
				ev.len = PL_L7_DATA + 1 + want % 1000;
				l7_model_event(m, &ev, sizeof(ev), start);
				ev.len = 16;
				memcpy(ev.data, "GET / HTTP/1.1\r\n", 16);
				/* records end after their data: one that ends before len bytes */
				l7_model_event(
				    m, &ev, offsetof(struct l7_event, data) + 15 - seq % 16, start);
				break;
			default:
				fz_check_collapse(payload, n, want % (PL_L7_DATA + 1));
			}
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = ts;
		ev.kind = fz_op_kind[kind];
		ev.dir = (op >> 3) & 1;
		ev.seq = seq;
		ev.len = (__u16)n;
		ev.payload_len = (__u32)n + (op & 0x80 ? 1000 : 0);
		memcpy(ev.data, payload, n);
		memcpy(ev.comm, "fuzz\x1b[31m", 9);
		if (ev.kind == PL_L7K_SSL) {
			ev.conn = 0x1000 + (k & 3);
			ev.tgid = 100 + (k & 3);
		} else {
			ev.key = keys[k];
		}
		if (ev.kind == PL_L7K_PROTO) {
			ev.proto = seq % 7; /* 6 is beyond enum pl_l7_proto */
			ev.flags = dt;
			x.proto_seen[k] = 1;
			x.proto[k] = ev.proto;
			x.flags[k] = ev.flags;
		}
		/* a carried response (any status, the codes of a cut or bad line among them) */
		if ((want & 0x8000) && ev.kind != PL_L7K_SSL && ev.kind != PL_L7K_PROTO) {
			ev.resp_status = want % 600;
			ev.resp_dir = !ev.dir;
			ev.resp_seq = seq ^ dt;
			ev.resp_ts = ts - dt;
			x.resp_events += ev.resp_status != 0;
			if (want & 0x4000)
				ev.kind = PL_L7K_HTTP_HELD;
		}
		x.req_events += ev.kind == PL_L7K_HTTP_REQ || ev.kind == PL_L7K_SSL;
		x.resp_events += ev.kind == PL_L7K_HTTP_RESP || ev.kind == PL_L7K_SSL;
		x.dns_events += ev.kind == PL_L7K_DNS;
		x.tls_events += ev.kind == PL_L7K_TLS_HELLO;
		l7_model_event(m, &ev, sizeof(ev), start);
	}
	fz_check_snapshot(m, &x);
	l7_model__free(m);
	return 0;
}
