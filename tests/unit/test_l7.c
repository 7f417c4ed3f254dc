/* Unit tests of the application-layer parsers (bpf/lib/l7parse.h) and the model's path and histogram helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/l7parse.h"
#include "core/l7model.h"

#define S(x) (const __u8 *)(x), (const __u8 *)(x) + sizeof(x) - 1

/* A heap copy of exactly n bytes: in the sanitizer build (make test SANITIZE=1) a read past the
 * end is a heap overflow that ASan reports, where the static string would have hidden it. */
static __u8 *exact(const void *p, size_t n)
{
	__u8 *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, p, n);
	return c;
}

static void test_http_request(void **state)
{
	static const char req[] =
	    "GET /a/b?c=1 HTTP/1.1\r\nUser-Agent: x\r\nhost:  ex.test \r\n\r\n";
	struct pl_http_req r;
	assert_int_equal(pl_http_parse_req(S(req), &r), PL_L7E_OK);
	assert_int_equal(r.method_len, 3);
	assert_memory_equal(req + r.path_off, "/a/b?c=1", 8);
	assert_int_equal(r.path_len, 8);
	assert_int_equal(r.host_len, 7);
	assert_memory_equal(req + r.host_off, "ex.test", 7);
	assert_true(r.headers_complete);
	assert_int_equal(r.version, 1);
}

static void test_http_request_bad(void **state)
{
	struct pl_http_req r;
	static const char cut[] = "GET /a/very/long";
	assert_int_equal(pl_http_parse_req(S(cut), &r), PL_L7E_TRUNC);
	static const char lower[] = "get / HTTP/1.1\r\n";
	assert_int_equal(pl_http_parse_req(S(lower), &r), PL_L7E_BAD);
	static const char ver[] = "GET / HTTX/1.1\r\n\r\n";
	assert_int_equal(pl_http_parse_req(S(ver), &r), PL_L7E_BAD);
	char big[PL_L7_DATA + 64];
	memset(big, 'A', sizeof(big));
	memcpy(big, "GET /", 5);
	assert_int_equal(pl_http_parse_req((const __u8 *)big, (const __u8 *)big + sizeof(big), &r),
			 PL_L7E_LONG);
	/* every prefix of a valid request parses without reading past its end */
	static const char req[] = "POST /x HTTP/1.0\r\nHost: h\r\n\r\n";
	for (size_t n = 0; n <= sizeof(req) - 1; n++) {
		__u8 *c = exact(req, n);
		pl_http_parse_req(c, c + n, &r);
		free(c);
	}
}

static void test_http_response(void **state)
{
	struct pl_http_resp r;
	static const char ok[] = "HTTP/1.1 404 Not Found\r\n";
	assert_int_equal(pl_http_parse_resp(S(ok), &r), PL_L7E_OK);
	assert_int_equal(r.status, 404);
	static const char bad[] = "HTTP/1.1 6xx nope\r\n";
	assert_int_equal(pl_http_parse_resp(S(bad), &r), PL_L7E_BAD);
	static const char cut[] = "HTTP/1.1 20";
	assert_int_equal(pl_http_parse_resp(S(cut), &r), PL_L7E_TRUNC);
}

static void test_dns(void **state)
{
	static const char q[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
				"\x03www\x07"
				"example\x03"
				"com\x00\x00\x1c\x00\x01";
	struct pl_dns d;
	assert_int_equal(pl_dns_parse(S(q), &d), PL_L7E_OK);
	assert_int_equal(d.id, 0x1234);
	assert_int_equal(d.qtype, 28);
	assert_int_equal(d.name_len, 15);
	assert_memory_equal(d.name, "www.example.com", 15);
	static const char loop[] =
	    "\x12\x35\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01";
	assert_int_equal(pl_dns_parse(S(loop), &d), PL_L7E_PTR);
	static const char cut[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07"
				  "exam";
	assert_int_equal(pl_dns_parse(S(cut), &d), PL_L7E_TRUNC);
	for (size_t n = 0; n < sizeof(q) - 1; n++) {
		__u8 *c = exact(q, n);
		assert_int_not_equal(pl_dns_parse(c, c + n, &d), PL_L7E_OK);
		free(c);
	}
}

static void test_tls(void **state)
{
	/* record, ClientHello with session id 0, 1 suite, null compression, SNI + ALPN + versions */
	static const char h[] = "\x16\x03\x01\x00\x4a"
				"\x01\x00\x00\x46"
				"\x03\x03"
				"0123456789abcdef0123456789abcdef"
				"\x00"
				"\x00\x02\x13\x01"
				"\x01\x00"
				"\x00\x20"
				"\x00\x00\x00\x0c\x00\x0a\x00\x00\x07"
				"a.test\x21"
				"\x00\x10\x00\x05\x00\x03\x02h2"
				"\x00\x2b\x00\x03\x02\x03\x04";
	struct pl_tls_hello t;
	assert_int_equal(pl_tls_parse_hello(S(h), &t), PL_L7E_OK);
	assert_int_equal(t.sni_len, 7);
	assert_memory_equal(h + t.sni_off, "a.test!", 7);
	assert_int_equal(t.alpn_len, 2);
	assert_int_equal(t.max_version, 0x0304);
	for (size_t n = 0; n < sizeof(h) - 1; n++) {
		__u8 *c = exact(h, n);
		pl_tls_parse_hello(c, c + n, &t);
		free(c);
	}
}

#define COLLAPSE(p, out) l7_collapse_path(p, sizeof(p) - 1, out, sizeof(out))

static void test_collapse(void **state)
{
	char out[160];
	assert_int_equal(COLLAPSE("/users/123/orders/9f86d081884c?x=1", out), 21);
	assert_string_equal(out, "/users/:id/orders/:id");
	COLLAPSE("/api/v1/beef/abc", out);
	assert_string_equal(out, "/api/v1/beef/abc");
	COLLAPSE("/o/123e4567-e89b-12d3-a456-426614174000", out);
	assert_string_equal(out, "/o/:id");
	/* a NUL is a byte of the path, not its end: nothing after it is lost */
	assert_int_equal(COLLAPSE("/spoofed/\0hidden?q", out), 16);
	assert_memory_equal(out, "/spoofed/\0hidden", 17);
	assert_int_equal(COLLAPSE("/a/12\0/b", out), 8);
	assert_memory_equal(out, "/a/12\0/b", 9);
}

static void test_quantile(void **state)
{
	uint32_t h[L7_HIST_BUCKETS] = { 0 };
	for (int i = 1; i <= 100; i++)
		h[l7_hist_bucket(i * 1000.0)]++; /* 1..100 ms */
	double p50 = l7_hist_quantile(h, 100, 0.5, 1, 100);
	double p99 = l7_hist_quantile(h, 100, 0.99, 1, 100);
	assert_true(p50 >= 50 && p50 <= 50 * 1.1);
	assert_true(p99 >= 99 && p99 <= 100);
}

/* One event as the tc programs send it: payload data on a TCP flow to port 80 or 53. */
static void feed(struct l7_model *m, int kind, int dir, uint16_t port, uint32_t seq, uint64_t ts_ms,
		 const void *data, size_t len)
{
	static struct l7_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.key.family = PL_AF_INET;
	ev.key.proto = PL_IPPROTO_TCP;
	ev.key.local_port = port;
	ev.key.remote_port = 40000;
	ev.ts_ns = ts_ms * 1000000ULL;
	ev.seq = seq;
	ev.kind = (__u8)kind;
	ev.dir = (__u8)dir;
	ev.len = (__u16)len;
	ev.payload_len = (__u32)len;
	memcpy(ev.data, data, len);
	l7_model_event(m, &ev, sizeof(ev), 0);
}

/* An event carrying a held response (resp_status, or a PL_L7K_HTTP_HELD record alone). */
static void feed_carry(struct l7_model *m, int kind, uint32_t seq, uint64_t ts_ms, const char *req,
		       uint16_t status, uint32_t resp_seq, uint64_t resp_ms)
{
	static struct l7_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.key.family = PL_AF_INET;
	ev.key.proto = PL_IPPROTO_TCP;
	ev.key.local_port = 80;
	ev.key.remote_port = 40000;
	ev.ts_ns = ts_ms * 1000000ULL;
	ev.seq = seq;
	ev.kind = (__u8)kind;
	ev.dir = kind == PL_L7K_HTTP_HELD ? PL_DIR_TX : PL_DIR_RX;
	ev.resp_status = status;
	ev.resp_dir = PL_DIR_TX;
	ev.resp_seq = resp_seq;
	ev.resp_ts = resp_ms * 1000000ULL;
	size_t len = req ? strlen(req) : 0;
	ev.len = (__u16)len;
	ev.payload_len = (__u32)len;
	if (len)
		memcpy(ev.data, req, len);
	/* a held record is cut before its data, as the ring delivers it */
	l7_model_event(m, &ev, len ? sizeof(ev) : offsetof(struct l7_event, data), 0);
}

/*
 * Responses that the packet programs held (shared/l7.h, PL_L7K_HTTP_HELD): the next request
 * carries the one before it, and counts before itself; a held record carries one alone; a
 * retransmitted one (its sequence number again) counts once; a cut or malformed status line
 * is a response parse failure.
 */
static void test_http_carried(void **state)
{
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	feed_carry(m, PL_L7K_HTTP_REQ, 1, 100, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 0);
	feed_carry(m, PL_L7K_HTTP_REQ, 29, 150, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n", 404, 900,
		   130);
	feed_carry(m, PL_L7K_HTTP_HELD, 1000, 160, NULL, 200, 1000, 160);
	feed_carry(m, PL_L7K_HTTP_HELD, 1000, 170, NULL, 200, 1000, 170);
	feed_carry(m, PL_L7K_HTTP_HELD, 1100, 180, NULL, PL_L7_RESP_TRUNC, 1100, 180);
	feed_carry(m, PL_L7K_HTTP_HELD, 1200, 190, NULL, PL_L7_RESP_BAD, 1200, 190);
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->http_requests, 2);
	assert_int_equal(s->http_responses, 2);
	assert_int_equal(s->http_unmatched, 0);
	assert_int_equal(s->err_http_resp, 2);
	assert_int_equal(s->by_status[404], 1);
	assert_int_equal(s->by_status[200], 1);
	assert_int_equal(s->n_recent, 2);
	assert_string_equal(s->recent[0].path, "/a");
	assert_int_equal(s->recent[0].status, 404);
	assert_true(s->recent[0].latency_ms > 29.99 && s->recent[0].latency_ms < 30.01);
	assert_string_equal(s->recent[1].path, "/b");
	assert_int_equal(s->recent[1].status, 200);
	assert_true(s->recent[1].latency_ms > 9.99 && s->recent[1].latency_ms < 10.01);
	free(s);
	l7_model__free(m);
}

static void http_tx(struct l7_model *m, uint32_t seq, uint64_t t0, uint64_t ms)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\n\r\n";
	feed(m, PL_L7K_HTTP_REQ, PL_DIR_RX, 80, seq, t0, req, sizeof(req) - 1);
	feed(m, PL_L7K_HTTP_RESP, PL_DIR_TX, 80, seq, t0 + ms, resp, sizeof(resp) - 1);
}

static size_t n_slow(struct l7_model *m)
{
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	size_t n = s->n_slow;
	free(s);
	return n;
}

/* A new threshold rebuilds the slow list from the recent requests, both ways. */
static void test_slow_threshold(void **state)
{
	struct l7_model *m = l7_model__new(200);
	assert_non_null(m);
	http_tx(m, 1, 1000, 300);
	http_tx(m, 2, 2000, 50);
	http_tx(m, 3, 3000, 700);
	assert_int_equal(n_slow(m), 2);
	l7_model_set_slow_ms(m, 500);
	assert_int_equal(n_slow(m), 1);
	l7_model_set_slow_ms(m, 1000);
	assert_int_equal(n_slow(m), 0);
	l7_model_set_slow_ms(m, 10);
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->n_slow, 3);
	assert_true(s->slow[0].latency_ms < 301 && s->slow[2].latency_ms > 699); /* oldest first */
	assert_true(s->slow_ms == 10);
	free(s);
	l7_model__free(m);
}

/* DNS over TCP: the 2-byte length comes first; a segment that is the rest of a message is no error. */
static void test_dns_tcp(void **state)
{
	static const char q[] = "\x00\x1c\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
				"\x04tcp1\x04test\x00\x00\x01\x00\x01";
	static const char r[] = "\x00\x1c\xab\xcd\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00"
				"\x04tcp1\x04test\x00\x00\x01\x00\x01";
	static const char rest[] = "\x00\x05garbage-from-the-middle";
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	feed(m, PL_L7K_DNS, PL_DIR_RX, 53, 7, 10, q, sizeof(q) - 1);
	feed(m, PL_L7K_DNS, PL_DIR_RX, 53, 7, 11, q, sizeof(q) - 1); /* retransmission */
	feed(m, PL_L7K_DNS, PL_DIR_TX, 53, 9, 12, r, sizeof(r) - 1);
	feed(m, PL_L7K_DNS, PL_DIR_TX, 53, 99, 13, rest, sizeof(rest) - 1);
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->dns_queries, 1);
	assert_int_equal(s->dns_responses, 1);
	assert_int_equal(s->err_dns, 0);
	assert_int_equal(s->n_names, 1);
	assert_string_equal(s->names[0].name, "tcp1.test");
	assert_string_equal(s->names[0].rcode, "NXDOMAIN");
	assert_true(s->names[0].p50_ms >= 1 && s->names[0].p50_ms <= 2);
	free(s);
	l7_model__free(m);
}

/* Found by tests/fuzz/fuzz_dns: 15 labels and a pointer back to them, four times, is a cycle
 * that fills the parser's 64 steps exactly and never reaches the root label. */
static void test_dns_pointer_cycle(void **state)
{
	char q[12 + 30 + 2 + 4];
	memcpy(q, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	for (int i = 0; i < 15; i++) {
		q[12 + 2 * i] = 1;
		q[13 + 2 * i] = 'a';
	}
	memcpy(q + 42, "\xc0\x0c\x00\x01\x00\x01", 6);
	struct pl_dns d;
	assert_int_equal(pl_dns_parse((const __u8 *)q, (const __u8 *)q + sizeof(q), &d),
			 PL_L7E_PTR);
}

/* Found by tests/fuzz/fuzz_tls: an extension running past the declared extensions block is a
 * decode error, not a place to take the SNI from. */
static void test_tls_extension_past_block(void **state)
{
	char h[] = "\x16\x03\x01\x00\x3d"
		   "\x01\x00\x00\x39"
		   "\x03\x03"
		   "0123456789abcdef0123456789abcdef"
		   "\x00"
		   "\x00\x02\x13\x01"
		   "\x01\x00"
		   "\x00\x0e"
		   "\x00\x00\x00\x0a\x00\x08\x00\x00\x05"
		   "a.bcd";
	struct pl_tls_hello t;
	assert_int_equal(pl_tls_parse_hello(S(h), &t), PL_L7E_OK);
	assert_int_equal(t.sni_len, 5);
	h[5 + 4 + 2 + 32 + 1 + 4 + 2 + 1] = 0x04; /* the block now ends inside server_name */
	assert_int_equal(pl_tls_parse_hello(S(h), &t), PL_L7E_BAD);
}

/* Resident size of this process in KiB. */
static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif

/* Found by make soak: each new connection faulted in its 22 KB slot of the connection table,
 * so the model's resident size grew with every connection up to 86 MB. */
static void test_conn_memory(void **state)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\n\r\n";
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	long before = rss_kib();
	for (uint32_t i = 0; i < 4096; i++) {
		feed(m, PL_L7K_HTTP_REQ, PL_DIR_RX, (uint16_t)(1024 + i), 1, 10 + i, req,
		     sizeof(req) - 1);
		feed(m, PL_L7K_HTTP_RESP, PL_DIR_TX, (uint16_t)(1024 + i), 2, 11 + i, resp,
		     sizeof(resp) - 1);
	}
	long grew = rss_kib() - before;
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->http_requests, 4096);
	assert_int_equal(s->http_responses, 4096);
	assert_int_equal(s->http_unmatched, 0);
	free(s);
	l7_model__free(m);
#ifndef UNDER_ASAN
	/* (ASan's quarantine keeps every freed queue resident: nothing to measure there) */
	if (grew > 16 * 1024)
		fail_msg("4096 answered connections grew the resident size by %ld KiB", grew);
#else
	(void)grew;
#endif
}

/*
 * Pipelined requests on one connection are answered in order: responses pair with the oldest
 * waiting request, through the queue's growth (1, 2, 4 ... 16 entries, moved oldest first) and
 * its wrap; past 16 waiting, the oldest leave without a response. Each request's path and each
 * response's status are numbered, so a pairing off by one shows in the recent list.
 */
static void test_http_pipelined(void **state)
{
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	char req[64], resp[64];
	uint32_t seq = 1;
	/* phase 1: 3 waiting (1, 2, 4 entries), 2 answered, 2 more (they wrap), all answered */
	for (int i = 0; i < 3; i++) {
		int n = snprintf(req, sizeof(req), "GET /p%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
		feed(m, PL_L7K_HTTP_REQ, PL_DIR_RX, 80, seq++, 100 + (uint64_t)i, req, (size_t)n);
	}
	for (int i = 0; i < 2; i++) {
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d OK\r\n\r\n", 200 + i);
		feed(m, PL_L7K_HTTP_RESP, PL_DIR_TX, 80, seq++, 200 + (uint64_t)i, resp, (size_t)n);
	}
	for (int i = 3; i < 5; i++) {
		int n = snprintf(req, sizeof(req), "GET /p%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
		feed(m, PL_L7K_HTTP_REQ, PL_DIR_RX, 80, seq++, 100 + (uint64_t)i, req, (size_t)n);
	}
	for (int i = 2; i < 5; i++) {
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d OK\r\n\r\n", 200 + i);
		feed(m, PL_L7K_HTTP_RESP, PL_DIR_TX, 80, seq++, 200 + (uint64_t)i, resp, (size_t)n);
	}
	/* phase 2, head not at 0: 20 waiting (8, 16 entries, moved); /p5../p8 leave unanswered,
	 * /p9../p24 get 209..224, 4 responses unmatched */
	for (int i = 5; i < 25; i++) {
		int n = snprintf(req, sizeof(req), "GET /p%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
		feed(m, PL_L7K_HTTP_REQ, PL_DIR_RX, 80, seq++, 300 + (uint64_t)i, req, (size_t)n);
	}
	for (int i = 9; i < 29; i++) {
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d OK\r\n\r\n", 200 + i);
		feed(m, PL_L7K_HTTP_RESP, PL_DIR_TX, 80, seq++, 400 + (uint64_t)i, resp, (size_t)n);
	}
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->http_requests, 25);
	assert_int_equal(s->http_responses, 25);
	assert_int_equal(s->http_unmatched, 4);
	assert_int_equal(s->n_recent, 25);
	for (int i = 0; i < 25; i++) {
		char want[16];
		int n = snprintf(want, sizeof(want), "/p%d", i);
		/* completed in this order: p0..p4, then p5..p8 pushed out, then p9..p24 */
		const struct http_tx_row *r = &s->recent[i];
		assert_int_equal(r->path_len, n);
		assert_memory_equal(r->path, want, (size_t)n);
		assert_int_equal(r->status, i >= 5 && i < 9 ? 0 : 200 + (uint32_t)i);
	}
	free(s);
	l7_model__free(m);
}

/* A DNS message with one question (name in dotted form, labels as given, may hold any byte). */
static size_t dns_msg(uint8_t *b, uint16_t id, int qr, const char *name, size_t name_len,
		      uint16_t qtype, int rcode)
{
	size_t o = 12;
	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = qr ? 0x81 : 0x01;
	b[3] = qr ? (uint8_t)(0x80 | rcode) : 0;
	b[5] = 1;
	b[7] = qr && !rcode ? 1 : 0;
	size_t start = 0;
	for (size_t i = 0; i <= name_len; i++) {
		if (i < name_len && name[i] != '.')
			continue;
		b[o++] = (uint8_t)(i - start);
		memcpy(b + o, name + start, i - start);
		o += i - start;
		start = i + 1;
	}
	b[o++] = 0;
	b[o++] = (uint8_t)(qtype >> 8);
	b[o++] = (uint8_t)qtype;
	b[o++] = 0;
	b[o++] = 1;
	return o;
}

/* One UDP DNS event between this host's port lport and remote port 53. */
static void feed_dns(struct l7_model *m, uint16_t lport, int dir, uint64_t ts_ms, const void *msg,
		     size_t len)
{
	static struct l7_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.key.family = PL_AF_INET;
	ev.key.proto = PL_IPPROTO_UDP;
	ev.key.local_port = lport;
	ev.key.remote_port = 53;
	ev.ts_ns = ts_ms * 1000000ULL;
	ev.kind = PL_L7K_DNS;
	ev.dir = (__u8)dir;
	ev.len = (__u16)len;
	ev.payload_len = (__u32)len;
	memcpy(ev.data, msg, len);
	l7_model_event(m, &ev, sizeof(ev), 0);
}

/* A query from local port lport and its answer 2 ms later. */
static void dns_tx(struct l7_model *m, uint16_t lport, uint16_t id, uint64_t ts_ms,
		   const char *name)
{
	uint8_t b[300];
	size_t n = dns_msg(b, id, 0, name, strlen(name), 1, 0);
	feed_dns(m, lport, PL_DIR_TX, ts_ms, b, n);
	n = dns_msg(b, id, 1, name, strlen(name), 1, 0);
	feed_dns(m, lport, PL_DIR_RX, ts_ms + 2, b, n);
}

static const struct dns_name_row *find_name(const struct snapshot_l7 *s, const char *name)
{
	for (size_t i = 0; i < s->n_names; i++)
		if (!strcmp(s->names[i].name, name))
			return &s->names[i];
	return NULL;
}

/*
 * 301 answers nobody asked for (any source, any id) must not fill the name
 * table: a name asked and answered afterwards is there, alone, and the
 * unsolicited answers are counted as such.
 */
static void test_dns_unsolicited(void **state)
{
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	uint8_t b[300];
	char name[64];
	for (int i = 0; i < 301; i++) {
		snprintf(name, sizeof(name), "spoof%d.evil.test", i);
		size_t n = dns_msg(b, (uint16_t)(1000 + i), 1, name, strlen(name), 1, 0);
		feed_dns(m, (uint16_t)(20000 + i), PL_DIR_RX, 10 + (uint64_t)i, b, n);
	}
	/* an answer on a flow that asked, but with another id or another question */
	size_t n = dns_msg(b, 7, 0, "real.test", 9, 1, 0);
	feed_dns(m, 33333, PL_DIR_TX, 400, b, n);
	n = dns_msg(b, 8, 1, "real.test", 9, 1, 0);
	feed_dns(m, 33333, PL_DIR_RX, 401, b, n);
	n = dns_msg(b, 7, 1, "evil.test", 9, 1, 0);
	feed_dns(m, 33333, PL_DIR_RX, 401, b, n);
	n = dns_msg(b, 7, 1, "real.test", 9, 28, 0);
	feed_dns(m, 33333, PL_DIR_RX, 401, b, n);
	/* the right one, twice: the second is no longer awaited */
	n = dns_msg(b, 7, 1, "real.test", 9, 1, 0);
	feed_dns(m, 33333, PL_DIR_RX, 403, b, n);
	feed_dns(m, 33333, PL_DIR_RX, 404, b, n);

	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->dns_queries, 1);
	assert_int_equal(s->dns_responses, 301 + 5);
	assert_int_equal(s->dns_unsolicited, 301 + 4);
	assert_int_equal(s->n_names, 1);
	assert_string_equal(s->names[0].name, "real.test");
	assert_int_equal(s->names[0].count, 1);
	assert_true(s->names[0].p50_ms >= 3 && s->names[0].p50_ms <= 3.3);
	assert_int_equal(s->names_other.rows, 0);
	free(s);
	l7_model__free(m);
}

/*
 * The name table is bounded and evicts by count: a flood of names asked once
 * pushes out names asked once before them (the oldest first), never a name
 * asked more often; the snapshot shows the most counted and folds the rest
 * into "other", so every answer stays accounted for.
 */
static void test_dns_eviction(void **state)
{
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	char name[64];
	uint64_t t = 10;
	dns_tx(m, 1000, 1, t++, "keep.test");
	dns_tx(m, 1000, 2, t++, "keep.test");
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "once%d.test", i);
		dns_tx(m, (uint16_t)(2000 + i), 3, t++, name);
	}
	for (int i = 0; i < 5; i++)
		dns_tx(m, 9000, (uint16_t)(10 + i), t++, "busy.test");
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->dns_unsolicited, 0);
	assert_int_equal(s->n_names, PL_DNS_NAMES_MAX);
	assert_string_equal(s->names[0].name, "busy.test");
	assert_int_equal(s->names[0].count, 5);
	assert_string_equal(s->names[1].name, "keep.test");
	assert_int_equal(s->names[1].count, 2);
	uint64_t shown = 0;
	for (size_t i = 0; i < s->n_names; i++)
		shown += s->names[i].count;
	/* 2 + 2000 + 5 answers: the 2002 rows that did not fit are folded, none is lost */
	assert_int_equal(shown + s->names_other.count, 2 + 2000 + 5);
	assert_int_equal(s->names_other.rows, 2 + 2000 - PL_DNS_NAMES_MAX);
	assert_true(s->names_other.p50_ms >= 2 && s->names_other.p50_ms <= 2.2);
	/* the newest names asked once are still in the model: the oldest left first */
	assert_null(find_name(s, "once0.test"));
	free(s);

	/* a name counted once more now outranks every row counted once */
	dns_tx(m, 1000, 99, t++, "once1999.test");
	s = l7_model_read(m, NULL, 0);
	assert_string_equal(s->names[2].name, "once1999.test");
	assert_int_equal(s->names[2].count, 2);
	free(s);
	l7_model__free(m);
}

static void http_path(struct l7_model *m, uint16_t port, uint32_t seq, uint64_t t, const char *path,
		      int status)
{
	char req[256], resp[64];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path);
	feed(m, PL_L7K_HTTP_REQ, PL_DIR_RX, port, seq, t, req, (size_t)n);
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\n\r\n", status);
	feed(m, PL_L7K_HTTP_RESP, PL_DIR_TX, port, seq, t + 1, resp, (size_t)n);
}

/* "/e/" + letters: never collapsed to :id */
static void ep_name(char *out, size_t len, int i)
{
	snprintf(out, len, "/e/%c%c%c", 'a' + i / 676 % 26, 'a' + i / 26 % 26, 'a' + i % 26);
}

/*
 * 300 endpoints requested once, then a busy one: the snapshot is sorted by
 * count before the cut at PL_HTTP_ENDPOINTS_MAX, so the busy endpoint is the
 * first row and the 45 that do not fit are in endpoints_other. Beyond the
 * model's own bound (2 x 256) the least counted leave for "other" too.
 */
static void test_endpoints_cut(void **state)
{
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	char path[32];
	uint32_t seq = 1;
	for (int i = 0; i < 300; i++) {
		ep_name(path, sizeof(path), i);
		http_path(m, 80, seq++, 10 + (uint64_t)i, path, i % 10 ? 200 : 404);
	}
	for (int i = 0; i < 20; i++)
		http_path(m, 80, seq++, 1000 + (uint64_t)i, "/busy", 200);
	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->n_endpoints, PL_HTTP_ENDPOINTS_MAX);
	assert_string_equal(s->endpoints[0].path, "/busy");
	assert_int_equal(s->endpoints[0].count, 20);
	assert_int_equal(s->endpoints_other.rows, 301 - PL_HTTP_ENDPOINTS_MAX);
	assert_int_equal(s->endpoints_other.count, 301 - PL_HTTP_ENDPOINTS_MAX);
	uint64_t errors = s->endpoints_other.errors;
	for (size_t i = 0; i < s->n_endpoints; i++)
		errors += s->endpoints[i].errors;
	assert_int_equal(errors, 30);
	free(s);

	for (int i = 300; i < 1000; i++) {
		ep_name(path, sizeof(path), i);
		http_path(m, 80, seq++, 2000 + (uint64_t)i, path, 200);
	}
	for (int i = 0; i < 3; i++)
		http_path(m, 80, seq++, 5000 + (uint64_t)i, "/late", 200);
	s = l7_model_read(m, NULL, 0);
	assert_string_equal(s->endpoints[0].path, "/busy");
	assert_string_equal(s->endpoints[1].path, "/late");
	assert_int_equal(s->endpoints[1].count, 3);
	uint64_t total = s->endpoints_other.count;
	for (size_t i = 0; i < s->n_endpoints; i++)
		total += s->endpoints[i].count;
	assert_int_equal(total, 1000 + 20 + 3);
	assert_int_equal(s->endpoints_other.rows, 1002 - PL_HTTP_ENDPOINTS_MAX);
	assert_int_equal(s->http_requests, 1023);
	/* recent requests name endpoints that exist, by an id no other endpoint had */
	assert_int_equal(s->recent[s->n_recent - 1].endpoint, s->endpoints[1].id);
	free(s);
	l7_model__free(m);
}

/* A ClientHello on a TCP flow to port 443, from this host (TX) or to it (RX). */
static size_t tls_hello_bytes(uint8_t *b, const char *sni, size_t sni_len)
{
	size_t o = 0, ext = 9 + sni_len;
	size_t body = 2 + 32 + 1 + 4 + 2 + 2 + ext;
	const uint8_t head[] = { 0x16,
				 0x03,
				 0x01,
				 (uint8_t)((body + 4) >> 8),
				 (uint8_t)(body + 4),
				 0x01,
				 0,
				 (uint8_t)(body >> 8),
				 (uint8_t)body,
				 0x03,
				 0x03 };
	memcpy(b, head, sizeof(head));
	o = sizeof(head);
	memset(b + o, 0x5a, 32);
	o += 32;
	b[o++] = 0;		/* session id */
	b[o++] = 0, b[o++] = 2; /* one suite */
	b[o++] = 0x13, b[o++] = 0x01;
	b[o++] = 1, b[o++] = 0; /* null compression */
	b[o++] = (uint8_t)(ext >> 8), b[o++] = (uint8_t)ext;
	b[o++] = 0, b[o++] = 0; /* server_name */
	b[o++] = (uint8_t)((sni_len + 5) >> 8), b[o++] = (uint8_t)(sni_len + 5);
	b[o++] = (uint8_t)((sni_len + 3) >> 8), b[o++] = (uint8_t)(sni_len + 3);
	b[o++] = 0;
	b[o++] = (uint8_t)(sni_len >> 8), b[o++] = (uint8_t)sni_len;
	memcpy(b + o, sni, sni_len);
	return o + sni_len;
}

static void tls_hello(struct l7_model *m, uint16_t rport, int dir, uint32_t seq, uint64_t t,
		      const char *sni, size_t sni_len)
{
	uint8_t b[400];
	size_t n = tls_hello_bytes(b, sni, sni_len);
	feed(m, PL_L7K_TLS_HELLO, dir, rport, seq, t, b, n);
}

static void tls_answer(struct l7_model *m, uint16_t rport, int dir, uint32_t seq, uint64_t t)
{
	static const uint8_t server_hello[] = { 0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0, 0, 0x3c };
	feed(m, PL_L7K_TLS_ANSWER, dir, rport, seq, t, server_hello, sizeof(server_hello));
}

/*
 * A ClientHello counts only once the other side answered it: a hello alone
 * (a forged segment, one with a bad checksum, no connection) makes no row and
 * is counted as unanswered after 5 s; an answer from the hello's own side
 * proves nothing; a second hello on an answered flow is the same handshake.
 */
static void test_tls_needs_answer(void **state)
{
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	tls_hello(m, 443, PL_DIR_RX, 1, 1000, "forged.test", 11);
	tls_answer(m, 443, PL_DIR_RX, 2, 1001);
	struct snapshot_l7 *s = l7_model_read(m, NULL, 1002 * 1000000ULL);
	assert_int_equal(s->n_sni, 0);
	assert_int_equal(s->tls_handshakes, 0);
	assert_int_equal(s->tls_unanswered, 0);
	free(s);
	s = l7_model_read(m, NULL, 6001 * 1000000ULL);
	assert_int_equal(s->n_sni, 0);
	assert_int_equal(s->tls_unanswered, 1);
	free(s);

	tls_hello(m, 444, PL_DIR_TX, 10, 7000, "real.test", 9);
	tls_answer(m, 444, PL_DIR_RX, 20, 7003);
	/* HelloRetryRequest: a second hello and answer on the same flow */
	tls_hello(m, 444, PL_DIR_TX, 11, 7004, "real.test", 9);
	tls_answer(m, 444, PL_DIR_RX, 21, 7005);
	/* two more connections, one to the same name */
	tls_hello(m, 445, PL_DIR_TX, 30, 7006, "real.test", 9);
	tls_answer(m, 445, PL_DIR_RX, 40, 7007);
	tls_hello(m, 446, PL_DIR_TX, 50, 7008, "b.test", 6);
	tls_answer(m, 446, PL_DIR_RX, 60, 7009);
	s = l7_model_read(m, NULL, 20000 * 1000000ULL);
	assert_int_equal(s->tls_handshakes, 3);
	assert_int_equal(s->n_sni, 2);
	assert_string_equal(s->sni[0].name, "real.test");
	assert_int_equal(s->sni[0].count, 2);
	assert_string_equal(s->sni[0].version, "TLS1.2");
	assert_string_equal(s->sni[1].name, "b.test");
	assert_int_equal(s->sni[1].count, 1);
	assert_int_equal(s->tls_unanswered, 1);
	free(s);
	l7_model__free(m);
}

/* One event on interface ifindex between local port lport and remote port rport. */
static void feed_view(struct l7_model *m, uint32_t ifindex, int proto, uint16_t lport,
		      uint16_t rport, int kind, int dir, uint32_t seq, uint64_t ts_ms,
		      const void *data, size_t len)
{
	static struct l7_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.key.ifindex = ifindex;
	ev.key.family = PL_AF_INET;
	ev.key.proto = (__u8)proto;
	ev.key.local[0] = ev.key.remote[0] = 127;
	ev.key.local[3] = ev.key.remote[3] = 1;
	ev.key.local_port = lport;
	ev.key.remote_port = rport;
	ev.ts_ns = ts_ms * 1000000ULL;
	ev.seq = seq;
	ev.kind = (__u8)kind;
	ev.dir = (__u8)dir;
	ev.len = (__u16)len;
	ev.payload_len = (__u32)len;
	memcpy(ev.data, data, len);
	l7_model_event(m, &ev, sizeof(ev), 0);
}

/*
 * Both ends of a conversation on one interface, as the loopback device shows
 * it: every packet leaves (tc egress, the sender's view) and arrives (tc
 * ingress, the receiver's view). On lo (index 1) each transaction counts
 * once; on another interface each view is a conversation of its own.
 */
static void test_loopback_once(void **state)
{
	static const char req[] = "GET /lo HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\n\r\n";
	uint8_t q[300], a[300], hello[400];
	size_t qn = dns_msg(q, 9, 0, "lo.test", 7, 1, 0), an = dns_msg(a, 9, 1, "lo.test", 7, 1, 0);
	size_t hn = tls_hello_bytes(hello, "lo.test", 7);
	static const uint8_t sh[] = { 0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0, 0, 0x3c };
	for (uint32_t ifindex = 1; ifindex <= 2; ifindex++) {
		struct l7_model *m = l7_model__new(0);
		assert_non_null(m);
		uint64_t t = 10;
		for (uint16_t i = 0; i < 5; i++) {
			uint16_t c = (uint16_t)(40000 + i);
			/* the request leaves the client and arrives at the server */
			feed_view(m, ifindex, 6, c, 8080, PL_L7K_HTTP_REQ, PL_DIR_TX, i, t, req,
				  sizeof(req) - 1);
			feed_view(m, ifindex, 6, 8080, c, PL_L7K_HTTP_REQ, PL_DIR_RX, i, t, req,
				  sizeof(req) - 1);
			feed_view(m, ifindex, 6, 8080, c, PL_L7K_HTTP_RESP, PL_DIR_TX, 100 + i,
				  t + 1, resp, sizeof(resp) - 1);
			feed_view(m, ifindex, 6, c, 8080, PL_L7K_HTTP_RESP, PL_DIR_RX, 100 + i,
				  t + 1, resp, sizeof(resp) - 1);
			t += 2;
		}
		feed_view(m, ifindex, 17, 5353, 53, PL_L7K_DNS, PL_DIR_TX, 0, t, q, qn);
		feed_view(m, ifindex, 17, 53, 5353, PL_L7K_DNS, PL_DIR_RX, 0, t, q, qn);
		feed_view(m, ifindex, 17, 53, 5353, PL_L7K_DNS, PL_DIR_TX, 0, t + 1, a, an);
		feed_view(m, ifindex, 17, 5353, 53, PL_L7K_DNS, PL_DIR_RX, 0, t + 1, a, an);
		feed_view(m, ifindex, 6, 50000, 443, PL_L7K_TLS_HELLO, PL_DIR_TX, 1, t, hello, hn);
		feed_view(m, ifindex, 6, 443, 50000, PL_L7K_TLS_HELLO, PL_DIR_RX, 1, t, hello, hn);
		feed_view(m, ifindex, 6, 443, 50000, PL_L7K_TLS_ANSWER, PL_DIR_TX, 2, t + 1, sh,
			  sizeof(sh));
		feed_view(m, ifindex, 6, 50000, 443, PL_L7K_TLS_ANSWER, PL_DIR_RX, 2, t + 1, sh,
			  sizeof(sh));
		struct snapshot_l7 *s = l7_model_read(m, NULL, (t + 2) * 1000000ULL);
		uint64_t views = ifindex == 1 ? 1 : 2;
		assert_int_equal(s->http_requests, 5 * views);
		assert_int_equal(s->http_responses, 5 * views);
		assert_int_equal(s->by_status[200], 5 * views);
		assert_int_equal(s->n_endpoints, 1);
		assert_int_equal(s->endpoints[0].count, 5 * views);
		assert_int_equal(s->http_unmatched, 0);
		assert_int_equal(s->dns_queries, views);
		assert_int_equal(s->dns_responses, views);
		assert_int_equal(s->dns_unsolicited, 0);
		assert_int_equal(s->names[0].count, views);
		assert_int_equal(s->tls_handshakes, views);
		assert_int_equal(s->sni[0].count, views);
		free(s);
		l7_model__free(m);
	}
}

#include "core/escape.h"
#include "core/json.h"

/* The one escaper each for screen and JSON: every byte, NUL included. */
static void test_escape_bytes(void **state)
{
	char out[64];
	escape_display_bytes(out, sizeof(out), "bank.example\0.c2\\\x1b", 18);
	assert_string_equal(out, "bank.example\\x00.c2\\\\\\x1b");
	/* the C-string form stops at the NUL, as it must for C strings */
	escape_display(out, sizeof(out), "bank.example\0.c2", 17);
	assert_string_equal(out, "bank.example");
	/* an escape is never cut in half */
	escape_display_bytes(out, 6, "ab\0cd", 5);
	assert_string_equal(out, "ab");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	json_write_bytes(f, "good\0evil\"\\\x7f", 12);
	fclose(f);
	assert_string_equal(buf, "\"good\\u0000evil\\\"\\\\\\u007f\"");
	free(buf);
}

/* The JSON line of a snapshot holding only m's application-layer part. */
static char *l7_json(struct l7_model *m, uint64_t now_ns)
{
	struct snapshot *snap = snapshot__new();
	assert_non_null(snap);
	snap->l7 = l7_model_read(m, NULL, now_ns);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	json_write_snapshot(f, snap);
	fclose(f);
	snapshot_put(snap);
	return buf;
}

/*
 * A NUL inside a name is data: "good\0evil" is not "good", and an SNI or a
 * path does not end at its NUL. Lengths go from the event to the snapshot
 * and come out escaped as \u0000 in JSON.
 */
static void test_nul_names(void **state)
{
	struct l7_model *m = l7_model__new(0);
	assert_non_null(m);
	uint8_t b[300];
	size_t n;
	static const char evil[] = "good\0evil.test";
	for (int i = 0; i < 3; i++) {
		const char *name = i ? evil : "good";
		size_t nl = i ? sizeof(evil) - 1 : 4;
		n = dns_msg(b, (uint16_t)(100 + i), 0, name, nl, 1, 0);
		feed_dns(m, 5000, PL_DIR_TX, 10 + (uint64_t)i, b, n);
		n = dns_msg(b, (uint16_t)(100 + i), 1, name, nl, 1, 0);
		feed_dns(m, 5000, PL_DIR_RX, 11 + (uint64_t)i, b, n);
	}
	static const char sni[] = "bank.example\0.c2.evil.net";
	tls_hello(m, 443, PL_DIR_TX, 1, 100, sni, sizeof(sni) - 1);
	tls_answer(m, 443, PL_DIR_RX, 2, 101);
	static const char req[] = "GET /spoofed/\0hidden HTTP/1.1\r\nHost: h\0x\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\n\r\n";
	feed(m, PL_L7K_HTTP_REQ, PL_DIR_RX, 80, 7, 200, req, sizeof(req) - 1);
	feed(m, PL_L7K_HTTP_RESP, PL_DIR_TX, 80, 7, 201, resp, sizeof(resp) - 1);
	http_path(m, 80, 8, 202, "/spoofed/", 200);

	struct snapshot_l7 *s = l7_model_read(m, NULL, 0);
	assert_int_equal(s->n_names, 2);
	assert_int_equal(s->names[0].count, 2);
	assert_int_equal(s->names[0].name_len, sizeof(evil) - 1);
	assert_memory_equal(s->names[0].name, evil, sizeof(evil) - 1);
	assert_int_equal(s->names[1].count, 1);
	assert_int_equal(s->names[1].name_len, 4);
	assert_int_equal(s->n_sni, 1);
	assert_int_equal(s->sni[0].name_len, sizeof(sni) - 1);
	assert_memory_equal(s->sni[0].name, sni, sizeof(sni) - 1);
	assert_int_equal(s->n_endpoints, 2);
	/* equal counts: byte order, the shorter first */
	assert_int_equal(s->endpoints[0].path_len, 9);
	assert_int_equal(s->endpoints[1].path_len, 16);
	assert_int_equal(s->recent[0].path_len, 16);
	assert_memory_equal(s->recent[0].path, "/spoofed/\0hidden", 16);
	assert_int_equal(s->recent[0].host_len, 3);
	free(s);

	char *j = l7_json(m, 0);
	assert_non_null(strstr(j, "\"name\":\"good\\u0000evil.test\",\"qtype\":\"A\",\"count\":2"));
	assert_non_null(strstr(j, "\"name\":\"good\",\"qtype\":\"A\",\"count\":1"));
	assert_non_null(strstr(j, "\"name\":\"bank.example\\u0000.c2.evil.net\",\"count\":1"));
	assert_non_null(strstr(j, "\"host\":\"h\\u0000x\",\"path\":\"/spoofed/\\u0000hidden\""));
	assert_non_null(strstr(j, "\"path\":\"/spoofed/\",\"count\":1"));
	free(j);
	l7_model__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_request),
		cmocka_unit_test(test_http_request_bad),
		cmocka_unit_test(test_http_response),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_collapse),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_slow_threshold),
		cmocka_unit_test(test_dns_tcp),
		cmocka_unit_test(test_dns_pointer_cycle),
		cmocka_unit_test(test_tls_extension_past_block),
		cmocka_unit_test(test_conn_memory),
		cmocka_unit_test(test_http_pipelined),
		cmocka_unit_test(test_http_carried),
		cmocka_unit_test(test_dns_unsolicited),
		cmocka_unit_test(test_dns_eviction),
		cmocka_unit_test(test_endpoints_cut),
		cmocka_unit_test(test_tls_needs_answer),
		cmocka_unit_test(test_escape_bytes),
		cmocka_unit_test(test_nul_names),
		cmocka_unit_test(test_loopback_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
