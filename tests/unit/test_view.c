/* Unit tests for snapshots and flow views: refcounts, names, flags, and sort/filter orders worked out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "core/snapshot.h"

static void set_v4(uint8_t a[16], const char *s)
{
	memset(a, 0, 16);
	inet_pton(AF_INET, s, a);
}

static void set_v6(uint8_t a[16], const char *s)
{
	inet_pton(AF_INET6, s, a);
}

struct spec {
	const char *iface;
	uint8_t proto;
	int v6;
	const char *local, *remote;
	uint16_t lport, rport;
	double rx_bps, tx_bps, rx_pps;
	uint64_t rx_bytes, tx_bytes, rx_pk, tx_pk;
	const char *comm, *state, *l7;
	uint32_t srtt;
	uint64_t retrans;
	double last, first;
};

/* Five flows chosen so that every sort key gives a different order, with one tie (rx bps). */
static const struct spec flows[5] = {
	{ "veth0", IPPROTO_TCP, 0, "10.0.0.1", "10.0.0.2",    80,     40000, 100, 5, 10, 1000,
	  50,	   10,		1, "nginx",    "ESTABLISHED", "http", 300,   0,	  5, 1 },
	{ "veth1", IPPROTO_UDP, 0, "10.0.0.1", "10.0.0.10", 53,	   5353, 300, 1, 3, 500,
	  900,	   2,		2, "dnsmasq",  "",	    "dns", 0,	 0,   9, 2 },
	{ "veth0", IPPROTO_TCP, 0, "10.0.0.1", "10.0.0.3", 443, 40001, 300, 50, 30, 3000,
	  10,	   5,		5, "curl",     "SYN_SENT", "",	1000,  4,   7,	0.5 },
	{ "veth0", IPPROTO_ICMP, 0,  "10.0.0.1", "10.0.0.2", 0, 2048, 0,  0, 0, 84, 84, 1,
	  1,	   "",		 "", "",	 0,	     0, 1,    1.5 },
	{ "veth1", IPPROTO_TCP, 1,  "fe80::1", "fe80::2",     22, 50000, 50, 500, 1, 200,
	  7000,	   3,		20, "sshd",    "ESTABLISHED", "", 50,	 1,  3,	  3 },
};

static struct snapshot *make_snap(void)
{
	struct snapshot *s = snapshot__new();

	assert_non_null(s);
	s->flows = calloc(5, sizeof(*s->flows));
	assert_non_null(s->flows);
	s->n_flows = 5;
	for (int i = 0; i < 5; i++) {
		const struct spec *f = &flows[i];
		struct flow_row *r = &s->flows[i];

		snprintf(r->iface, sizeof(r->iface), "%s", f->iface);
		r->key.proto = f->proto;
		r->key.family = f->v6 ? PL_AF_INET6 : PL_AF_INET;
		if (f->v6) {
			set_v6(r->key.local, f->local);
			set_v6(r->key.remote, f->remote);
		} else {
			set_v4(r->key.local, f->local);
			set_v4(r->key.remote, f->remote);
		}
		r->key.local_port = f->lport;
		r->key.remote_port = f->rport;
		snprintf(r->local, sizeof(r->local), "%s", f->local);
		snprintf(r->remote, sizeof(r->remote), "%s", f->remote);
		r->rx_bps = f->rx_bps;
		r->tx_bps = f->tx_bps;
		r->rx_pps = f->rx_pps;
		r->rx_bytes = f->rx_bytes;
		r->tx_bytes = f->tx_bytes;
		r->rx_packets = f->rx_pk;
		r->tx_packets = f->tx_pk;
		snprintf(r->comm, sizeof(r->comm), "%s", f->comm);
		snprintf(r->state, sizeof(r->state), "%s", f->state);
		snprintf(r->l7, sizeof(r->l7), "%s", f->l7);
		r->srtt_us = f->srtt;
		r->retrans = f->retrans;
		r->last_seen = f->last;
		r->first_seen = f->first;
	}
	return s;
}

static void check_order(enum flow_sort key, int reverse, const char *filter, size_t n,
			const uint32_t *want)
{
	struct snapshot *s = make_snap();
	uint32_t idx[5];
	size_t got = flow_view(s, filter, key, reverse, idx);

	if (got != n)
		fail_msg("sort %s filter '%s': %zu rows, want %zu", flow_sort_name(key),
			 filter ? filter : "(null)", got, n);
	for (size_t i = 0; i < n; i++)
		if (idx[i] != want[i])
			fail_msg("sort %s%s filter '%s': row %zu is flow %u, want %u",
				 flow_sort_name(key), reverse ? " reversed" : "",
				 filter ? filter : "(null)", i, idx[i], want[i]);
	snapshot_put(s);
}

#define ORDER(key, rev, filter, ...)                                           \
	do {                                                                   \
		const uint32_t w_[] = { __VA_ARGS__ };                         \
		check_order(key, rev, filter, sizeof(w_) / sizeof(w_[0]), w_); \
	} while (0)

static void test_sort_numbers_descend(void **state)
{
	/* rx bps 300 (flow 1) and 300 (flow 2) tie: the snapshot's order breaks it */
	ORDER(FS_RX_BPS, 0, "", 1, 2, 0, 4, 3);
	ORDER(FS_TX_BPS, 0, "", 4, 2, 0, 1, 3);
	ORDER(FS_RX_PPS, 0, "", 2, 0, 1, 4, 3);
	ORDER(FS_RX_BYTES, 0, "", 2, 0, 1, 4, 3);
	ORDER(FS_TX_BYTES, 0, "", 4, 1, 3, 0, 2);
	ORDER(FS_PACKETS, 0, "", 4, 0, 2, 1, 3); /* 23, 11, 10, 4, 2 */
	ORDER(FS_LAST_SEEN, 0, "", 1, 2, 0, 4, 3);
	ORDER(FS_FIRST_SEEN, 0, "", 4, 1, 3, 0, 2);
	ORDER(FS_SRTT, 0, "", 2, 0, 4, 1, 3);
	ORDER(FS_RETRANS, 0, "", 2, 4, 0, 1, 3);
}

static void test_sort_reverse(void **state)
{
	/* ascending; the tie keeps the snapshot's order in both directions */
	ORDER(FS_RX_BPS, 1, "", 3, 4, 0, 1, 2);
	ORDER(FS_PROTO, 1, "", 1, 0, 2, 4, 3);
}

static void test_sort_names_ascend(void **state)
{
	ORDER(FS_PROTO, 0, "", 3, 0, 2, 4, 1); /* icmp, tcp x3, udp */
	ORDER(FS_IFACE, 0, "", 0, 2, 3, 1, 4);
	/* IPv4 before IPv6, then address, then port: 10.0.0.1:0, :53, :80, :443 */
	ORDER(FS_LOCAL, 0, "", 3, 1, 0, 2, 4);
	/* numeric address order: 10.0.0.2 < 10.0.0.3 < 10.0.0.10 (a string sort would differ) */
	ORDER(FS_REMOTE, 0, "", 3, 0, 2, 1, 4);
}

static void test_filter(void **state)
{
	ORDER(FS_RX_BPS, 0, NULL, 1, 2, 0, 4, 3);
	ORDER(FS_RX_BPS, 0, "tcp", 2, 0, 4);
	ORDER(FS_RX_BPS, 0, "VETH1", 1, 4);
	ORDER(FS_RX_BPS, 0, "10.0.0.1:80", 0);
	ORDER(FS_RX_BPS, 0, "[fe80::1]:22", 4);
	ORDER(FS_RX_BPS, 0, "established", 0, 4);
	ORDER(FS_RX_BPS, 0, "dns", 1);
	check_order(FS_RX_BPS, 0, "nomatch", 0, NULL);
}

static void test_row_text(void **state)
{
	struct snapshot *s = make_snap();
	char buf[256];

	flow_row_text(&s->flows[0], buf, sizeof(buf));
	assert_string_equal(buf, "veth0 tcp 10.0.0.1:80 10.0.0.2:40000 ESTABLISHED http nginx");
	flow_row_text(&s->flows[4], buf, sizeof(buf));
	assert_string_equal(buf, "veth1 tcp [fe80::1]:22 [fe80::2]:50000 ESTABLISHED  sshd");
	snapshot_put(s);
}

static void test_flags(void **state)
{
	char b[9];

	flow_flags_str(0, b);
	assert_string_equal(b, "");
	flow_flags_str(PL_TCP_SYN | PL_TCP_ACK, b);
	assert_string_equal(b, "SA");
	flow_flags_str(0x3f, b);
	assert_string_equal(b, "SAFPRU");
	flow_flags_str(PL_TCP_RST | PL_TCP_FIN, b);
	assert_string_equal(b, "FR");
	flow_flags_str(PL_TCP_ECE | PL_TCP_CWR, b);
	assert_string_equal(b, "");
	flow_flags_str(0xff, b);
	assert_string_equal(b, "SAFPRU");
}

static void test_names(void **state)
{
	assert_string_equal(proto_name(6), "tcp");
	assert_string_equal(proto_name(17), "udp");
	assert_string_equal(proto_name(1), "icmp");
	assert_string_equal(proto_name(58), "icmp6");
	assert_string_equal(proto_name(200), "ip200");
	assert_string_equal(probe_kind_name(PK_XDP), "xdp");
	assert_string_equal(probe_kind_name(PK_TC_INGRESS), "tc-ingress");
	assert_string_equal(probe_kind_name(PK_TC_EGRESS), "tc-egress");
	assert_string_equal(probe_kind_name(PK_TRACEPOINT), "tracepoint");
	assert_string_equal(probe_kind_name(PK_KPROBE), "kprobe");
	assert_string_equal(probe_kind_name(PK_KRETPROBE), "kretprobe");
	assert_string_equal(probe_kind_name(PK_UPROBE), "uprobe");
	assert_string_equal(probe_kind_name(PK_URETPROBE), "uretprobe");
	assert_string_equal(probe_kind_name(PK_SOCKET_FILTER), "socket-filter");
	assert_string_equal(probe_state_name(PS_DETACHED), "detached");
	assert_string_equal(probe_state_name(PS_ATTACHED), "attached");
	assert_string_equal(probe_state_name(PS_UNSUPPORTED), "unsupported");
	assert_string_equal(probe_state_name(PS_ERROR), "error");
	for (int k = 0; k < FS_MAX; k++)
		assert_string_not_equal(flow_sort_name(k), "?");
}

/* Keys that only the table widget's columns sort by: natural order, ascending. */
static void test_row_cmp_more_keys(void **state)
{
	struct snapshot *s = make_snap();
	struct flow_row *f = s->flows;

	f[0].tx_pps = 3, f[1].tx_pps = 1;
	f[0].drops = 0, f[1].drops = 9;
	f[0].cwnd = 10, f[1].cwnd = 2;
	f[0].pid = 7, f[1].pid = 7;
	assert_true(flow_row_cmp(&f[0], &f[1], FS_TX_PPS) > 0);
	/* rx + tx bits: 105 vs 301 */
	assert_true(flow_row_cmp(&f[0], &f[1], FS_TOTAL_BPS) < 0);
	assert_true(flow_row_cmp(&f[0], &f[1], FS_DROPS) < 0);
	assert_true(flow_row_cmp(&f[0], &f[1], FS_CWND) > 0);
	/* "ESTABLISHED" < "" is false: the empty state sorts first */
	assert_true(flow_row_cmp(&f[0], &f[1], FS_STATE) > 0);
	/* dnsmasq before nginx; the same name orders by pid */
	assert_true(flow_row_cmp(&f[0], &f[1], FS_PROCESS) > 0);
	snprintf(f[1].comm, sizeof(f[1].comm), "nginx");
	f[1].pid = 9;
	assert_true(flow_row_cmp(&f[0], &f[1], FS_PROCESS) < 0);
	assert_int_equal(flow_row_cmp(&f[0], &f[0], FS_PROCESS), 0);
	assert_true(flow_sort_numeric(FS_TX_PPS) && flow_sort_numeric(FS_TOTAL_BPS));
	assert_false(flow_sort_numeric(FS_STATE) || flow_sort_numeric(FS_PROCESS));
	snapshot_put(s);
}

static int keep_odd(void *ctx, size_t i)
{
	(void)ctx;
	return i & 1;
}

static const struct flow_group_row *find_group(const struct flow_group_row *g, long n,
					       const char *name, uint32_t pid)
{
	for (long i = 0; i < n; i++)
		if (!strcmp(g[i].name, name) && g[i].pid == pid)
			return &g[i];
	fail_msg("no group '%s' pid %u", name, pid);
	return NULL;
}

/* Each group's sums are the sums of its flows, worked out by hand from the five flows above. */
static void test_groups(void **state)
{
	struct snapshot *s = make_snap();
	struct flow_group_row *g = NULL;
	const struct flow_group_row *x;
	size_t cap = 0;
	long n;

	/* by remote host: flows 0 and 3 share 10.0.0.2 */
	n = flow_groups(s, FG_REMOTE, NULL, NULL, &g, &cap);
	assert_int_equal(n, 4);
	/* in order of first appearance */
	assert_string_equal(g[0].name, "10.0.0.2");
	assert_string_equal(g[1].name, "10.0.0.10");
	assert_string_equal(g[2].name, "10.0.0.3");
	assert_string_equal(g[3].name, "fe80::2");
	x = &g[0];
	assert_int_equal(x->flows, 2);
	assert_int_equal(x->rx_packets, 10 + 1);
	assert_int_equal(x->tx_packets, 1 + 1);
	assert_int_equal(x->rx_bytes, 1000 + 84);
	assert_int_equal(x->tx_bytes, 50 + 84);
	assert_true(x->rx_bps == 100 && x->tx_bps == 5 && x->rx_pps == 10);
	assert_true(flow_in_group(&s->flows[3], FG_REMOTE, x));
	assert_false(flow_in_group(&s->flows[2], FG_REMOTE, x));

	/* by local service: tcp/80 over IPv4 and IPv6 is one service (flows 0, 2 and 4) */
	s->flows[2].key.local_port = 80;
	s->flows[4].key.local_port = 80;
	n = flow_groups(s, FG_SERVICE, NULL, NULL, &g, &cap);
	assert_int_equal(n, 3);
	x = find_group(g, n, "tcp/80", 0);
	assert_int_equal(x->flows, 3);
	assert_int_equal(x->rx_packets, 10 + 5 + 3);
	assert_int_equal(x->tx_packets, 1 + 5 + 20);
	assert_int_equal(x->rx_bytes, 1000 + 3000 + 200);
	assert_int_equal(x->tx_bytes, 50 + 10 + 7000);
	assert_int_equal(x->retrans, 0 + 4 + 1);
	assert_true(x->rx_bps == 100 + 300 + 50 && x->tx_bps == 5 + 50 + 500);
	assert_int_equal(find_group(g, n, "udp/53", 0)->flows, 1);
	assert_int_equal(find_group(g, n, "icmp/0", 0)->flows, 1);
	assert_true(flow_in_group(&s->flows[4], FG_SERVICE, x));
	assert_false(flow_in_group(&s->flows[1], FG_SERVICE, x));

	/* by process: a pid with another name is another process (pid reuse); no pid is one group */
	s->flows[0].pid = 100, s->flows[2].pid = 100, s->flows[4].pid = 100;
	snprintf(s->flows[2].comm, sizeof(s->flows[2].comm), "nginx");
	n = flow_groups(s, FG_PROCESS, NULL, NULL, &g, &cap);
	assert_int_equal(n, 3);
	assert_int_equal(g[0].pid, 100);
	assert_string_equal(g[0].comm, "nginx");
	assert_int_equal(g[0].flows, 2);
	assert_int_equal(g[0].rx_bytes, 1000 + 3000);
	assert_int_equal(g[1].pid, 0); /* flows 1 (dnsmasq, no pid) and 3 */
	assert_int_equal(g[1].flows, 2);
	assert_int_equal(g[1].tx_packets, 2 + 1);
	assert_int_equal(g[2].pid, 100);
	assert_string_equal(g[2].comm, "sshd");
	assert_int_equal(g[2].flows, 1);

	/* keep() leaves flows out before they are summed */
	n = flow_groups(s, FG_PROCESS, keep_odd, NULL, &g, &cap);
	assert_int_equal(n, 1); /* flows 1 and 3, both without a pid */
	assert_int_equal(g[0].flows, 2);
	assert_int_equal(g[0].rx_packets, 2 + 1);
	n = flow_groups(s, FG_REMOTE, keep_odd, NULL, &g, &cap);
	assert_int_equal(n, 2);
	assert_int_equal(find_group(g, n, "10.0.0.2", 0)->rx_bytes, 84);
	free(g);
	snapshot_put(s);
}

static void test_refcount(void **state)
{
	struct snapshot *s = make_snap();

	s->probes = calloc(3, sizeof(*s->probes));
	s->n_probes = 3;
	assert_int_equal(s->refs, 1);
	assert_ptr_equal(snapshot_get(s), s);
	assert_int_equal(s->refs, 2);
	snapshot_put(s);
	assert_int_equal(s->refs, 1);
	/* the last put frees the arrays too (run under valgrind/ASan to see a leak) */
	snapshot_put(s);
	snapshot_put(NULL);
	assert_null(snapshot_get(NULL));
}

/* Big row arrays outlive their snapshot as the one spare the next snapshot of a similar size
 * takes (no fresh pages to zero each refresh: what was written is still there); small ones are
 * malloc'd. A new mapping may land at the freed one's address: the contents tell them apart. */
static void test_rows_reuse(void **state)
{
	struct snapshot *a = snapshot__new(), *b = snapshot__new(), *c = snapshot__new();

	assert_non_null(snapshot_rows_alloc(a, 20000));
	assert_true(a->flows_cap >= 20000);
	a->flows[19999].rx_bytes = 0xfeed; /* all of it writable */
	snapshot_put(a);
	assert_non_null(snapshot_rows_alloc(b, 20100));
	assert_int_equal(b->flows[19999].rx_bytes, 0xfeed);
	/* the spare went to b: c gets its own */
	assert_non_null(snapshot_rows_alloc(c, 20000));
	assert_int_equal(c->flows[19999].rx_bytes, 0);
	snapshot_put(c);
	snapshot_put(b);

	struct snapshot *small = snapshot__new(), *big = snapshot__new(), *d = snapshot__new();
	assert_non_null(snapshot_rows_alloc(small, 100));
	assert_int_equal(small->flows_cap, 0);
	snapshot_put(small);
	/* the spare is too small for 200k rows; then too big to hold for 20k */
	assert_non_null(snapshot_rows_alloc(big, 200000));
	assert_true(big->flows_cap >= 200000);
	assert_int_equal(big->flows[19999].rx_bytes, 0);
	big->flows[19999].rx_bytes = 0xfeed;
	big->flows[199999].rx_bytes = 0xfeed;
	snapshot_put(big);
	assert_non_null(snapshot_rows_alloc(d, 20000));
	assert_int_equal(d->flows[19999].rx_bytes, 0);
	assert_true(d->flows_cap >= 20000 && d->flows_cap < 40000);
	snapshot_put(d);
}

static void test_empty(void **state)
{
	struct snapshot *s = snapshot__new();
	uint32_t idx[1];

	assert_int_equal(flow_view(s, "x", FS_RX_BPS, 0, idx), 0);
	assert_int_equal(flow_view(s, "", FS_LOCAL, 1, idx), 0);
	snapshot_put(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_numbers_descend),
		cmocka_unit_test(test_sort_reverse),
		cmocka_unit_test(test_sort_names_ascend),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_row_text),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_row_cmp_more_keys),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_rows_reuse),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
