/* Unit tests of the alerts model: scans, floods, spikes and bursts built event by event, and what must stay quiet. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "core/alerts.h"

#define LOCAL "10.0.0.1"
#define PEER "10.0.0.2"

static void addr(const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) != 1 && inet_pton(AF_INET6, s, out) != 1)
		fail_msg("bad address %s", s);
}

static uint8_t fam(const char *s)
{
	return strchr(s, ':') ? PL_AF_INET6 : PL_AF_INET;
}

static struct sec_event ev(int kind, const char *remote, const char *local, uint16_t lport,
			   uint16_t rport, uint8_t proto, uint8_t flags)
{
	struct sec_event e;
	memset(&e, 0, sizeof(e));
	e.kind = (uint8_t)kind;
	e.family = fam(remote);
	addr(remote, e.remote);
	addr(local, e.local);
	e.local_port = lport;
	e.remote_port = rport;
	e.proto = proto;
	e.tcp_flags = flags;
	return e;
}

/* The kernel's per-port counters, as the test says they are at each update. */
struct ports {
	struct sec_port_key k[64];
	struct sec_port_val v[64];
	size_t n;
};

static struct sec_port_val *port(struct ports *p, const char *local, uint16_t lport, uint8_t proto)
{
	struct sec_port_key k;
	memset(&k, 0, sizeof(k));
	addr(local, k.local);
	k.port = lport;
	k.family = fam(local);
	k.proto = proto;
	for (size_t i = 0; i < p->n; i++)
		if (!memcmp(&p->k[i], &k, sizeof(k)))
			return &p->v[i];
	assert_true(p->n < 64);
	p->k[p->n] = k;
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	return &p->v[p->n++];
}

static void update(struct alerts *a, double now, double dt, const struct ports *p,
		   const struct alert_flow *flows, size_t nf, const struct alert_drop *drops,
		   size_t nd)
{
	struct alert_input in = {
		.now = now, .dt = dt, .flows = flows, .n_flows = nf, .drops = drops, .n_drops = nd
	};
	if (p) {
		in.port_keys = p->k;
		in.port_vals = p->v;
		in.n_ports = p->n;
	}
	alerts_update(a, &in);
}

static size_t rows(struct alerts *a, struct alert_row *out)
{
	return alerts_rows(a, out, PL_ALERTS_MAX);
}

/* The only alert there is, of that kind. */
static const struct alert_row *only(struct alert_row *r, size_t n, int kind)
{
	if (n != 1) {
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "alert %s %s -> %s %s: %s\n", alert_kind_name(r[i].kind),
				r[i].source, r[i].target, r[i].ports, r[i].detail);
		fail_msg("%zu alerts, expected one %s", n, alert_kind_name(kind));
	}
	assert_string_equal(alert_kind_name(r[0].kind), alert_kind_name(kind));
	return &r[0];
}

static struct alert_row out[PL_ALERTS_MAX];

/* nmap -sS over ports 1-1000 of which 22, 80 and 443 are open: one alert, naming all of it. */
static void test_vertical_scan(void **state)
{
	struct alerts *a = alerts__new(NULL);
	struct ports p = { 0 };
	update(a, 0, 0, &p, NULL, 0, NULL, 0);
	for (uint16_t pt = 1; pt <= 1000; pt++) {
		struct sec_event e =
		    ev(PL_SEC_PROBE, PEER, LOCAL, pt, 40000, IPPROTO_TCP, PL_TCP_SYN);
		alerts_event(a, &e, 0.5 + pt * 0.001);
		if (pt == 22 || pt == 80 || pt == 443) {
			port(&p, LOCAL, pt, IPPROTO_TCP)->syn = 1;
			port(&p, LOCAL, pt, IPPROTO_TCP)->synack = 1;
			continue;
		}
		e = ev(PL_SEC_CLOSED, PEER, LOCAL, pt, 40000, IPPROTO_TCP, PL_TCP_RST | PL_TCP_ACK);
		alerts_event(a, &e, 0.5 + pt * 0.001);
	}
	update(a, 2, 1, &p, NULL, 0, NULL, 0);
	size_t n = rows(a, out);
	const struct alert_row *r = only(out, n, AK_PORT_SCAN);
	assert_string_equal(r->source, PEER);
	assert_string_equal(r->target, LOCAL);
	assert_string_equal(r->ports, "1-1000");
	assert_int_equal(r->count, 1000);
	assert_true(r->active);
	assert_non_null(strstr(r->detail, "1000 ports"));
	assert_non_null(strstr(r->detail, "3 open (22,80,443)"));
	assert_non_null(strstr(r->detail, "997 refused"));
	assert_non_null(strstr(r->detail, "0 unanswered"));
	assert_non_null(strstr(r->detail, "probes SYN"));
	assert_true(fabs(r->first_seen - 0.501) < 1e-9);
	assert_true(fabs(r->last_seen - 1.5) < 1e-9);

	/* nmap retransmits a few probes: the same alert grows, no second one */
	struct sec_event e = ev(PL_SEC_PROBE, PEER, LOCAL, 7, 40001, IPPROTO_TCP, PL_TCP_SYN);
	alerts_event(a, &e, 2.5);
	update(a, 3, 1, &p, NULL, 0, NULL, 0);
	n = rows(a, out);
	r = only(out, n, AK_PORT_SCAN);
	assert_int_equal(r->count, 1001);
	assert_int_equal(alerts_raised(a), 1);
	assert_int_equal(alerts_raised_kind(a, AK_PORT_SCAN), 1);
	assert_int_equal(alerts_raised_kind(a, AK_HOST_SCAN), 0);
	/* quiet for longer than the quiet time: it ends, and stays listed */
	update(a, 40, 37, &p, NULL, 0, NULL, 0);
	n = rows(a, out);
	assert_int_equal(n, 1);
	assert_false(out[0].active);
	assert_int_equal(alerts_active(a), 0);
	alerts__free(a);
}

/*
 * A port's reset means "closed" only when no SYN-ACK followed it. The peer's own connection to
 * 8080 was reset by the server (SO_LINGER 0): its scan a moment later finds 8080 open. 9090
 * listened when the peer connected and refuses by the time of the scan: refused.
 */
static void test_scan_after_reset(void **state)
{
	struct alerts *a = alerts__new(NULL);
	struct ports p = { 0 };
	update(a, 0, 0, &p, NULL, 0, NULL, 0);
	uint16_t listeners[] = { 8080, 9090 };
	for (int i = 0; i < 2; i++) {
		struct sec_event e =
		    ev(PL_SEC_PROBE, PEER, LOCAL, listeners[i], 40000, IPPROTO_TCP, PL_TCP_SYN);
		alerts_event(a, &e, 0.5);
		port(&p, LOCAL, listeners[i], IPPROTO_TCP)->syn = 1;
		port(&p, LOCAL, listeners[i], IPPROTO_TCP)->synack = 1;
	}
	update(a, 1, 1, &p, NULL, 0, NULL, 0);
	struct sec_event e =
	    ev(PL_SEC_CLOSED, PEER, LOCAL, 8080, 40000, IPPROTO_TCP, PL_TCP_RST | PL_TCP_ACK);
	alerts_event(a, &e, 1.2);
	update(a, 2, 1, &p, NULL, 0, NULL, 0);
	assert_int_equal(rows(a, out), 0);
	for (uint16_t pt = 1; pt <= 102; pt++) {
		uint16_t lport = pt <= 100 ? pt : listeners[pt - 101];
		e = ev(PL_SEC_PROBE, PEER, LOCAL, lport, 50000, IPPROTO_TCP, PL_TCP_SYN);
		alerts_event(a, &e, 2.5 + pt * 0.001);
		if (lport == 8080) {
			port(&p, LOCAL, 8080, IPPROTO_TCP)->syn++;
			port(&p, LOCAL, 8080, IPPROTO_TCP)->synack++;
			continue;
		}
		e = ev(PL_SEC_CLOSED, PEER, LOCAL, lport, 50000, IPPROTO_TCP,
		       PL_TCP_RST | PL_TCP_ACK);
		alerts_event(a, &e, 2.5 + pt * 0.001);
	}
	update(a, 3, 1, &p, NULL, 0, NULL, 0);
	size_t n = rows(a, out);
	const struct alert_row *r = only(out, n, AK_PORT_SCAN);
	assert_string_equal(r->ports, "1-100,8080,9090");
	if (!strstr(r->detail, "102 ports") ||
	    !strstr(r->detail, "1 open (8080), 101 refused, 0 unanswered"))
		fail_msg("detail: %s", r->detail);
	alerts__free(a);
}

/* Exactly at the threshold, and one below; a monitoring client on many open ports stays quiet. */
static void test_scan_threshold(void **state)
{
	struct alert_cfg c;
	alerts_cfg_default(&c);
	for (int ports = 19; ports <= 20; ports++) {
		struct alerts *a = alerts__new(&c);
		update(a, 0, 0, NULL, NULL, 0, NULL, 0);
		for (int i = 0; i < ports; i++) {
			struct sec_event e = ev(PL_SEC_PROBE, PEER, LOCAL, (uint16_t)(5000 + i),
						1234, IPPROTO_TCP, PL_TCP_SYN);
			alerts_event(a, &e, 1 + i);
		}
		update(a, 30, 30, NULL, NULL, 0, NULL, 0);
		size_t n = rows(a, out);
		if (ports == 20) /* a port scan, not the slow scan that 20 ports also are */
			only(out, n, AK_PORT_SCAN);
		else
			assert_int_equal(n, 0);
		alerts__free(a);
	}
	/* 25 exporters scraped every few seconds: every port answers SYN-ACK */
	struct alerts *a = alerts__new(&c);
	struct ports p = { 0 };
	update(a, 0, 0, &p, NULL, 0, NULL, 0);
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 25; i++) {
			struct sec_event e =
			    ev(PL_SEC_PROBE, PEER, LOCAL, (uint16_t)(9100 + i),
			       (uint16_t)(40000 + round * 25 + i), IPPROTO_TCP, PL_TCP_SYN);
			alerts_event(a, &e, round * 5 + i * 0.01);
			struct sec_port_val *v = port(&p, LOCAL, (uint16_t)(9100 + i), IPPROTO_TCP);
			v->syn++;
			v->synack++;
			v->established++;
		}
		update(a, round * 5 + 1, round ? 5 : 1, &p, NULL, 0, NULL, 0);
	}
	assert_int_equal(rows(a, out), 0);
	alerts__free(a);
}

/* nmap -sU: closed ports answer ICMP unreachable (rate-limited), the others never answer. */
static void test_udp_scan(void **state)
{
	struct alerts *a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	for (uint16_t i = 0; i < 50; i++) {
		struct sec_event e =
		    ev(PL_SEC_PROBE, PEER, LOCAL, (uint16_t)(7000 + i), 50000, IPPROTO_UDP, 0);
		alerts_event(a, &e, 1 + i * 0.5);
		if (i < 6) {
			e = ev(PL_SEC_CLOSED, PEER, LOCAL, (uint16_t)(7000 + i), 50000, IPPROTO_UDP,
			       0);
			alerts_event(a, &e, 1 + i * 0.5);
		}
	}
	/* 7053 is a real DNS server that answers: open */
	struct sec_event e = ev(PL_SEC_PROBE, PEER, LOCAL, 7053, 50000, IPPROTO_UDP, 0);
	alerts_event(a, &e, 30);
	struct alert_flow f = { .rx_pps = 1, .tx_pps = 1, .rx_packets = 1, .tx_packets = 1 };
	f.key.family = PL_AF_INET;
	f.key.proto = IPPROTO_UDP;
	addr(LOCAL, f.key.local);
	addr(PEER, f.key.remote);
	f.key.local_port = 7053;
	f.key.remote_port = 50000;
	update(a, 31, 31, NULL, &f, 1, NULL, 0);
	const struct alert_row *r = only(out, rows(a, out), AK_PORT_SCAN);
	assert_string_equal(r->ports, "7000-7049,7053");
	assert_int_equal(r->proto, IPPROTO_UDP);
	assert_non_null(strstr(r->detail, "51 ports"));
	assert_non_null(strstr(r->detail, "1 open (7053)"));
	assert_non_null(strstr(r->detail, "6 refused"));
	assert_non_null(strstr(r->detail, "44 unanswered"));
	assert_non_null(strstr(r->detail, "probes UDP"));
	alerts__free(a);
}

static void test_host_scan_and_ping_sweep(void **state)
{
	struct alerts *a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	char local[32];
	for (int i = 1; i <= 12; i++) {
		snprintf(local, sizeof(local), "10.9.0.%d", i);
		struct sec_event e =
		    ev(PL_SEC_PROBE, PEER, local, 22, 40000, IPPROTO_TCP, PL_TCP_SYN);
		alerts_event(a, &e, i * 0.1);
		e = ev(PL_SEC_CLOSED, PEER, local, 22, 40000, IPPROTO_TCP, PL_TCP_RST);
		alerts_event(a, &e, i * 0.1);
	}
	update(a, 2, 2, NULL, NULL, 0, NULL, 0);
	const struct alert_row *r = only(out, rows(a, out), AK_HOST_SCAN);
	assert_string_equal(r->source, PEER);
	assert_string_equal(r->ports, "22");
	assert_int_equal(r->port, 22);
	assert_non_null(strstr(r->detail, "on 12 addresses"));
	assert_non_null(strstr(r->target, "12 local addresses"));

	/* pings of 9 addresses: below the threshold of 10; a 10th makes a sweep */
	struct alerts *b = alerts__new(NULL);
	update(b, 0, 0, NULL, NULL, 0, NULL, 0);
	for (int i = 1; i <= 10; i++) {
		snprintf(local, sizeof(local), "fd00:9::%d", i);
		struct sec_event e = ev(PL_SEC_PROBE, "fd00:9::99", local, 0, 0, IPPROTO_ICMPV6, 0);
		alerts_event(b, &e, i);
		update(b, i + 0.5, 1, NULL, NULL, 0, NULL, 0);
		assert_int_equal(rows(b, out), i == 10 ? 1 : 0);
	}
	r = only(out, rows(b, out), AK_HOST_SCAN);
	assert_string_equal(r->source, "fd00:9::99");
	assert_non_null(strstr(r->detail, "ICMP echo"));
	alerts__free(a);
	alerts__free(b);
}

/* nmap -T1: a probe every 15 s never makes 20 in a minute, but 20 refused in an hour. */
static void test_slow_scan(void **state)
{
	struct alerts *a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	for (int i = 0; i < 20; i++) {
		double t = 10 + i * 15.0;
		struct sec_event e = ev(PL_SEC_PROBE, PEER, LOCAL, (uint16_t)(100 + i), 3333,
					IPPROTO_TCP, PL_TCP_SYN);
		alerts_event(a, &e, t);
		e = ev(PL_SEC_CLOSED, PEER, LOCAL, (uint16_t)(100 + i), 3333, IPPROTO_TCP,
		       PL_TCP_RST);
		alerts_event(a, &e, t);
		update(a, t + 1, 15, NULL, NULL, 0, NULL, 0);
		size_t n = rows(a, out);
		if (i < 19) {
			assert_int_equal(n, 0);
			continue;
		}
		const struct alert_row *r = only(out, n, AK_SLOW_SCAN);
		assert_string_equal(r->ports, "100-119");
		assert_non_null(strstr(r->detail, "(slow)"));
		assert_non_null(strstr(r->detail, "20 refused"));
	}
	alerts__free(a);
}

/* A SYN flood from random sources: the kernel's per-port counts, a sample of events. */
static void test_syn_flood(void **state)
{
	struct alerts *a = alerts__new(NULL);
	struct ports p = { 0 };
	update(a, 0, 0, &p, NULL, 0, NULL, 0);
	struct sec_port_val *v = port(&p, LOCAL, 8080, IPPROTO_TCP);
	/* a second of ordinary traffic: 50 connections, all completed */
	v->syn = 50;
	v->synack = 50;
	v->established = 50;
	update(a, 1, 1, &p, NULL, 0, NULL, 0);
	assert_int_equal(rows(a, out), 0);
	/* 20000 SYNs from 20000 addresses, of which the ring carried 5000 events */
	srand(7);
	for (int i = 0; i < 5000; i++) {
		char src[32];
		snprintf(src, sizeof(src), "%d.%d.%d.%d", 11 + rand() % 200, rand() % 256,
			 rand() % 256, 1 + rand() % 254);
		struct sec_event e =
		    ev(PL_SEC_PROBE, src, LOCAL, 8080, (uint16_t)rand(), IPPROTO_TCP, PL_TCP_SYN);
		alerts_event(a, &e, 1.5);
	}
	v->syn += 20000;
	v->synack += 20000;
	v->established += 3;
	struct alert_netstat ns = { .have = 1 };
	struct alert_input in = {
		.now = 2, .dt = 1, .port_keys = p.k, .port_vals = p.v, .n_ports = p.n, .ns = &ns
	};
	ns.syncookies_sent = 100;
	alerts_update(a, &in);
	/* no alert yet with nstat's first reading? it is the ports that count */
	const struct alert_row *r = only(out, rows(a, out), AK_SYN_FLOOD);
	assert_string_equal(r->target, LOCAL);
	assert_string_equal(r->ports, "8080");
	assert_int_equal(r->port, 8080);
	assert_int_equal(r->count, 20000);
	assert_false(r->has_src);
	/* the estimate of 20000 distinct sources from a sample of 5000: within 15% */
	assert_true(r->n_sources > 17000 && r->n_sources <= 20000);
	assert_non_null(strstr(r->detail, "20000 SYN/s"));
	assert_non_null(strstr(r->detail, "3 handshakes/s completed"));
	/* the caller counts half-open connections of the flooded port */
	struct sec_port_key fk[4];
	assert_int_equal(alerts_flood_ports(a, fk, 4), 1);
	assert_int_equal(fk[0].port, 8080);
	alerts_set_half_open(a, &fk[0], 256);
	rows(a, out);
	assert_non_null(strstr(out[0].detail, "half-open 256"));
	/* the next second, nstat moved: its differences are in the evidence */
	v->syn += 20000;
	ns.syncookies_sent = 19100;
	ns.syn_retrans = 700;
	in.now = 3;
	alerts_update(a, &in);
	r = only(out, rows(a, out), AK_SYN_FLOOD);
	assert_int_equal(r->count, 40000);
	assert_non_null(strstr(r->detail, "syncookies sent +19000"));
	assert_non_null(strstr(r->detail, "SYN-ACK retransmits +700"));
	alerts__free(a);
}

/* Hundreds of requests a second, each a new connection, all completed: no flood. */
static void test_busy_server_quiet(void **state)
{
	struct alerts *a = alerts__new(NULL);
	struct ports p = { 0 };
	update(a, 0, 0, &p, NULL, 0, NULL, 0);
	struct sec_port_val *v = port(&p, LOCAL, 80, IPPROTO_TCP);
	for (int s = 1; s <= 30; s++) {
		for (int i = 0; i < 800; i++) {
			struct sec_event e =
			    ev(PL_SEC_PROBE, PEER, LOCAL, 80, (uint16_t)(20000 + s * 800 + i),
			       IPPROTO_TCP, PL_TCP_SYN);
			alerts_event(a, &e, s - 0.5);
		}
		v->syn += 800;
		v->synack += 800;
		v->established += 800;
		update(a, s, 1, &p, NULL, 0, NULL, 0);
	}
	assert_int_equal(rows(a, out), 0);
	alerts__free(a);
}

static struct alert_flow flow(const char *remote, const char *local, uint16_t lport, uint8_t proto,
			      double rx_pps, double tx_pps)
{
	struct alert_flow f;
	memset(&f, 0, sizeof(f));
	f.key.family = fam(local);
	f.key.proto = proto;
	addr(local, f.key.local);
	addr(remote, f.key.remote);
	f.key.local_port = lport;
	f.key.remote_port = 40000;
	f.rx_pps = rx_pps;
	f.rx_bps = rx_pps * 800;
	f.tx_pps = tx_pps;
	f.rx_packets = (uint64_t)rx_pps;
	f.tx_packets = (uint64_t)tx_pps;
	return f;
}

static void test_floods(void **state)
{
	struct alerts *a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	/* ICMP from 300 sources, 5 packets a second each */
	static struct alert_flow f[400];
	char src[32];
	for (int i = 0; i < 300; i++) {
		snprintf(src, sizeof(src), "172.16.%d.%d", i / 200, 1 + i % 200);
		f[i] = flow(src, LOCAL, 0, IPPROTO_ICMP, 5, 5);
	}
	update(a, 1, 1, NULL, f, 300, NULL, 0);
	const struct alert_row *r = only(out, rows(a, out), AK_ICMP_FLOOD);
	assert_string_equal(r->target, LOCAL);
	assert_true(r->n_sources > 270 && r->n_sources < 330);
	assert_non_null(strstr(r->detail, "1500 ICMP packets/s"));
	alerts__free(a);

	/* UDP: a one-way blast trips, the same rate with answers (a busy service) does not */
	a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	f[0] = flow(PEER, LOCAL, 9999, IPPROTO_UDP, 30000, 0);
	update(a, 1, 1, NULL, f, 1, NULL, 0);
	r = only(out, rows(a, out), AK_UDP_FLOOD);
	assert_string_equal(r->source, PEER);
	assert_string_equal(r->ports, "9999");
	alerts__free(a);
	a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	f[0] = flow(PEER, LOCAL, 443, IPPROTO_UDP, 30000, 6000);
	update(a, 1, 1, NULL, f, 1, NULL, 0);
	assert_int_equal(rows(a, out), 0);
	alerts__free(a);
}

/* A source steady at 100 packets a second for two minutes, then at 20000: a spike. */
static void test_rate_spike(void **state)
{
	struct alerts *a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	struct alert_flow f = flow(PEER, LOCAL, 5001, IPPROTO_TCP, 100, 50);
	for (int s = 1; s <= 120; s++) {
		update(a, s, 1, NULL, &f, 1, NULL, 0);
		assert_int_equal(rows(a, out), 0);
	}
	f.rx_pps = 20000;
	f.rx_bps = 20000 * 12000.0;
	update(a, 121, 1, NULL, &f, 1, NULL, 0);
	const struct alert_row *r = only(out, rows(a, out), AK_RATE_SPIKE);
	assert_string_equal(r->source, PEER);
	assert_string_equal(r->target, LOCAL);
	assert_string_equal(r->ports, "5001");
	assert_non_null(strstr(r->detail, "20000 packets/s"));
	assert_non_null(strstr(r->detail, "200x its baseline of 100/s"));
	alerts__free(a);

	/* a new source at that rate at once has no baseline yet: nothing */
	a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	for (int s = 1; s <= 30; s++)
		update(a, s, 1, NULL, &f, 1, NULL, 0);
	assert_int_equal(rows(a, out), 0);
	alerts__free(a);
}

/*
 * A source whose first interval caught only the start of it (5/s), then
 * steady at 100/s for a minute: its baseline is about 100/s, so 600/s is
 * no tenfold spike; 2000/s is. (Seeded with the first interval alone, the
 * baseline stayed near 5/s for minutes and 600/s alerted.)
 */
static void test_spike_baseline_mean(void **state)
{
	struct alert_cfg c;
	alerts_cfg_default(&c);
	c.spike_pps = 500;
	struct alerts *a = alerts__new(&c);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	struct alert_flow f = flow(PEER, LOCAL, 5001, IPPROTO_TCP, 5, 5);
	update(a, 1, 1, NULL, &f, 1, NULL, 0);
	f.rx_pps = 100;
	for (int s = 2; s <= 61; s++)
		update(a, s, 1, NULL, &f, 1, NULL, 0);
	f.rx_pps = 600;
	update(a, 62, 1, NULL, &f, 1, NULL, 0);
	assert_int_equal(rows(a, out), 0);
	f.rx_pps = 2000;
	update(a, 63, 1, NULL, &f, 1, NULL, 0);
	const struct alert_row *r = only(out, rows(a, out), AK_RATE_SPIKE);
	/* the mean of 5, sixty times 100 and 600 */
	assert_non_null(strstr(r->detail, "its baseline of 107/s"));
	alerts__free(a);
}

/*
 * Evidence over several intervals is one alert whose count grows, also
 * where the row names more than the alert was raised for: a flood's one
 * source, a spike's target, the one address DNS answers went to, a SYN
 * flood from one address. (Matched on the row's fields, each interval
 * after the first was a new alert: an e2e UDP flood over two intervals
 * showed two, counting 1850 and 2150 of 4000.)
 */
static void test_alert_spans_intervals(void **state)
{
	/* UDP and ICMP floods from one source, three intervals */
	struct alerts *a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	struct alert_flow f[2] = { flow(PEER, LOCAL, 9999, IPPROTO_UDP, 30000, 0),
				   flow(PEER, LOCAL, 0, IPPROTO_ICMP, 2000, 2000) };
	for (int s = 1; s <= 3; s++)
		update(a, s * 0.5, 0.5, NULL, f, 2, NULL, 0);
	size_t n = rows(a, out);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(out[i].source, PEER);
		assert_int_equal(out[i].count, out[i].kind == AK_UDP_FLOOD ? 45000 : 3000);
	}
	assert_int_equal(alerts_raised(a), 2);
	alerts__free(a);

	/* a spike over two intervals */
	a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	struct alert_flow g = flow(PEER, LOCAL, 5001, IPPROTO_TCP, 100, 50);
	for (int s = 1; s <= 70; s++)
		update(a, s, 1, NULL, &g, 1, NULL, 0);
	g.rx_pps = 20000;
	update(a, 71, 1, NULL, &g, 1, NULL, 0);
	update(a, 72, 1, NULL, &g, 1, NULL, 0);
	const struct alert_row *r = only(out, rows(a, out), AK_RATE_SPIKE);
	assert_int_equal(r->count, 40000);
	assert_string_equal(r->target, LOCAL);
	alerts__free(a);

	/* DNS answers to one address, ten then five */
	a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	for (int i = 0; i < 15; i++) {
		struct sec_event e = ev(PL_SEC_DNS_ANSWER, "192.0.2.53", LOCAL,
					(uint16_t)(33000 + i), 53, IPPROTO_UDP, 0);
		alerts_event(a, &e, i < 10 ? 0.5 : 1.5);
		if (i == 9)
			update(a, 1, 1, NULL, NULL, 0, NULL, 0);
	}
	update(a, 2, 1, NULL, NULL, 0, NULL, 0);
	r = only(out, rows(a, out), AK_DNS_UNSOLICITED);
	assert_int_equal(r->count, 15);
	assert_string_equal(r->ports, "33000-33014");
	assert_string_equal(r->target, LOCAL);
	alerts__free(a);

	/* a SYN flood from one address, two intervals */
	a = alerts__new(NULL);
	struct ports p = { 0 };
	update(a, 0, 0, &p, NULL, 0, NULL, 0);
	struct sec_port_val *v = port(&p, LOCAL, 8080, IPPROTO_TCP);
	for (int s = 1; s <= 2; s++) {
		for (int i = 0; i < 1000; i++) {
			struct sec_event e = ev(PL_SEC_PROBE, PEER, LOCAL, 8080,
						(uint16_t)(10000 + i), IPPROTO_TCP, PL_TCP_SYN);
			alerts_event(a, &e, s - 0.5);
		}
		v->syn += 1000;
		update(a, s, 1, &p, NULL, 0, NULL, 0);
	}
	r = only(out, rows(a, out), AK_SYN_FLOOD);
	assert_int_equal(r->count, 2000);
	assert_string_equal(r->source, PEER);
	alerts__free(a);
}

static void test_resets_drops_dns(void **state)
{
	struct alerts *a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	for (int i = 0; i < 150; i++) {
		struct sec_event e = ev(PL_SEC_RST_IN, PEER, LOCAL, (uint16_t)(30000 + i), 443,
					IPPROTO_TCP, PL_TCP_RST);
		alerts_event(a, &e, 0.5);
	}
	update(a, 1, 1, NULL, NULL, 0, NULL, 0);
	const struct alert_row *r = only(out, rows(a, out), AK_RST_BURST);
	assert_string_equal(r->source, PEER);
	assert_int_equal(r->count, 150);
	/* what they were about: this host's address, the local ports, and the peer's port */
	assert_string_equal(r->target, LOCAL);
	assert_true(r->has_dst);
	assert_string_equal(r->ports, "30000-30149");
	assert_non_null(strstr(r->detail, "; from port 443"));
	/* an interval under the threshold adds neither count nor ports */
	for (int i = 0; i < 5; i++) {
		struct sec_event e = ev(PL_SEC_RST_IN, PEER, LOCAL, (uint16_t)(31000 + i), 443,
					IPPROTO_TCP, PL_TCP_RST);
		alerts_event(a, &e, 1.5);
	}
	update(a, 2, 1, NULL, NULL, 0, NULL, 0);
	r = only(out, rows(a, out), AK_RST_BURST);
	assert_int_equal(r->count, 150);
	assert_string_equal(r->ports, "30000-30149");
	alerts__free(a);

	/* resets about two local addresses, from several ports of the peer */
	a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	for (int i = 0; i < 200; i++) {
		struct sec_event e =
		    ev(PL_SEC_RST_IN, PEER, i % 2 ? LOCAL : "10.0.0.3", (uint16_t)(1000 + i / 2),
		       (uint16_t)(80 + i % 2), IPPROTO_TCP, PL_TCP_RST);
		alerts_event(a, &e, 0.5);
	}
	update(a, 1, 1, NULL, NULL, 0, NULL, 0);
	r = only(out, rows(a, out), AK_RST_BURST);
	assert_int_equal(r->count, 200);
	assert_string_equal(r->target, "2 local addresses");
	assert_false(r->has_dst);
	assert_string_equal(r->ports, "1000-1099");
	assert_null(strstr(r->detail, "from port"));
	alerts__free(a);

	/* spoofed resets, one from each of 150 sources, to port 22 of one address */
	a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	for (int i = 0; i < 150; i++) {
		char src[32];
		snprintf(src, sizeof(src), "192.0.2.%d", i + 1);
		struct sec_event e = ev(PL_SEC_RST_IN, src, LOCAL, 22, (uint16_t)(40000 + i),
					IPPROTO_TCP, PL_TCP_RST);
		alerts_event(a, &e, 0.5);
	}
	update(a, 1, 1, NULL, NULL, 0, NULL, 0);
	r = only(out, rows(a, out), AK_RST_BURST);
	assert_int_equal(r->count, 150);
	assert_false(r->has_src);
	assert_string_equal(r->target, LOCAL);
	assert_string_equal(r->ports, "22");
	alerts__free(a);

	/* drops: a reason steady at 2/s, then 500/s */
	a = alerts__new(NULL);
	struct alert_drop d = { .reason = "NETFILTER_DROP", .count = 0 };
	update(a, 0, 0, NULL, NULL, 0, &d, 1);
	for (int s = 1; s <= 60; s++) {
		d.count += 2;
		update(a, s, 1, NULL, NULL, 0, &d, 1);
	}
	assert_int_equal(rows(a, out), 0);
	d.count += 500;
	d.has_flow = 1;
	d.flow.family = PL_AF_INET;
	d.flow.proto = IPPROTO_UDP;
	addr(LOCAL, d.flow.local);
	addr(PEER, d.flow.remote);
	d.flow.local_port = 53;
	snprintf(d.flow_text, sizeof(d.flow_text), "udp " LOCAL ":53 <- " PEER ":4000");
	update(a, 61, 1, NULL, NULL, 0, &d, 1);
	r = only(out, rows(a, out), AK_DROP_BURST);
	assert_int_equal(r->count, 500);
	assert_string_equal(r->ports, "53");
	assert_non_null(strstr(r->detail,
			       "500 drops/s with reason NETFILTER_DROP, 250x its "
			       "baseline of 2.0/s; the most on udp " LOCAL ":53 <- " PEER ":4000"));
	/* without the flows' own counts, the top flow names the target */
	assert_string_equal(r->target, LOCAL);
	alerts__free(a);

	/* with them: the flows whose drops of the reason grew, not the others */
	a = alerts__new(NULL);
	struct alert_drop_flow df[4];
	memset(df, 0, sizeof(df));
	const char *dl[4] = { LOCAL, LOCAL, "10.0.0.3", "10.0.0.4" };
	const uint16_t dp[4] = { 53, 5353, 53, 80 };
	for (int i = 0; i < 4; i++) {
		snprintf(df[i].reason, sizeof(df[i].reason), "%s",
			 i == 3 ? "TCP_CSUM" : "NETFILTER_DROP");
		df[i].key.family = PL_AF_INET;
		df[i].key.proto = i == 3 ? IPPROTO_TCP : IPPROTO_UDP;
		addr(dl[i], df[i].key.local);
		addr(PEER, df[i].key.remote);
		df[i].key.local_port = dp[i];
		df[i].key.remote_port = 4000;
		df[i].count = 7; /* before the first reading: no burst of now */
	}
	struct alert_drop dd[2] = { { .reason = "NETFILTER_DROP", .count = 21 },
				    { .reason = "TCP_CSUM", .count = 7 } };
	struct alert_input din = { .drops = dd, .n_drops = 2, .drop_flows = df, .n_drop_flows = 4 };
	alerts_update(a, &din);
	df[0].count += 300;
	df[1].count += 200;
	df[3].count += 50; /* another reason, under its threshold */
	dd[0].count += 500;
	dd[1].count += 50;
	din.now = 1;
	din.dt = 1;
	alerts_update(a, &din);
	r = only(out, rows(a, out), AK_DROP_BURST);
	assert_int_equal(r->count, 500);
	assert_string_equal(r->target, LOCAL);
	assert_true(r->has_dst);
	assert_string_equal(r->ports, "53,5353");
	/* then another local address's flow: two targets, the ports of both */
	df[2].count += 400;
	dd[0].count += 400;
	din.now = 2;
	alerts_update(a, &din);
	r = only(out, rows(a, out), AK_DROP_BURST);
	assert_int_equal(r->count, 900);
	assert_string_equal(r->target, "2 local addresses");
	assert_false(r->has_dst);
	assert_string_equal(r->ports, "53,5353");
	alerts__free(a);

	/* a reason first seen in an interval a burst began late in (45 drops, under the
	 * threshold), then 200 an interval: that first interval is no baseline */
	a = alerts__new(NULL);
	struct alert_drop late = { .reason = "NETFILTER_DROP" };
	for (int s = 0; s <= 20; s++)
		update(a, s * 0.5, s ? 0.5 : 0, NULL, NULL, 0, NULL, 0);
	late.count = 45;
	update(a, 10.5, 0.5, NULL, NULL, 0, &late, 1);
	assert_int_equal(rows(a, out), 0);
	late.count = 245;
	update(a, 11, 0.5, NULL, NULL, 0, &late, 1);
	r = only(out, rows(a, out), AK_DROP_BURST);
	assert_int_equal(r->count, 200);
	/* the firewall's own drops (kfree_skb of what XDP dropped on veth) are no burst */
	alerts__free(a);
	a = alerts__new(NULL);
	struct alert_drop x[2] = { { .reason = "NOT_SPECIFIED" }, { .reason = "XDP" } };
	struct alert_input in = { .now = 0, .drops = x, .n_drops = 2 };
	alerts_update(a, &in);
	for (int s = 1; s <= 5; s++) {
		x[0].count += 600;
		x[1].count += 400;
		in.now = s;
		in.dt = 1;
		in.fw_dropped += 1000;
		alerts_update(a, &in);
	}
	assert_int_equal(rows(a, out), 0);
	/* beyond what the firewall dropped, they count */
	x[0].count += 900;
	in.fw_dropped += 700;
	in.now = 6;
	alerts_update(a, &in);
	r = only(out, rows(a, out), AK_DROP_BURST);
	assert_int_equal(r->count, 200);
	assert_non_null(strstr(r->detail, "reason NOT_SPECIFIED, none before"));
	alerts__free(a);

	/* DNS answers nobody asked for: 9 pass, 10 within the window alert */
	a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	for (int i = 0; i < 10; i++) {
		struct sec_event e = ev(PL_SEC_DNS_ANSWER, "192.0.2.53", LOCAL,
					(uint16_t)(33000 + i), 53, IPPROTO_UDP, 0);
		alerts_event(a, &e, 1 + i);
		update(a, 1.5 + i, 1, NULL, NULL, 0, NULL, 0);
		assert_int_equal(rows(a, out), i == 9 ? 1 : 0);
	}
	r = only(out, rows(a, out), AK_DNS_UNSOLICITED);
	assert_string_equal(r->source, "192.0.2.53");
	assert_string_equal(r->target, LOCAL);
	assert_string_equal(r->ports, "33000-33009");
	/* it ends after the quiet period; three more answers within the window raise a new
	 * one, which counts those three, not the ten the ended one counted */
	for (int s = 11; s <= 45; s++)
		update(a, s, 1, NULL, NULL, 0, NULL, 0);
	assert_int_equal(alerts_active(a), 0);
	for (int i = 0; i < 3; i++) {
		struct sec_event e = ev(PL_SEC_DNS_ANSWER, "192.0.2.53", LOCAL,
					(uint16_t)(33010 + i), 53, IPPROTO_UDP, 0);
		alerts_event(a, &e, 45.5);
	}
	update(a, 46, 1, NULL, NULL, 0, NULL, 0);
	assert_int_equal(rows(a, out), 2);
	assert_int_equal(out[0].kind, AK_DNS_UNSOLICITED);
	assert_true(out[0].active);
	assert_int_equal(out[0].count, 3);
	assert_false(out[1].active);
	assert_int_equal(out[1].count, 10);
	/* and goes on counting what comes after */
	struct sec_event e2 = ev(PL_SEC_DNS_ANSWER, "192.0.2.53", LOCAL, 33013, 53, IPPROTO_UDP, 0);
	alerts_event(a, &e2, 46.5);
	update(a, 47, 1, NULL, NULL, 0, NULL, 0);
	assert_int_equal(rows(a, out), 2);
	assert_int_equal(out[0].count, 4);
	/* a reflection flood to random ports is not a port scan of this host */
	alerts__free(a);
}

/* Sources without end (a random-source flood): the tables stay bounded, the alerts too. */
static void test_bounded(void **state)
{
	struct alerts *a = alerts__new(NULL);
	update(a, 0, 0, NULL, NULL, 0, NULL, 0);
	char src[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(src, sizeof(src), "fd00:%x::%x", i >> 8, i & 0xff);
		struct sec_event e = ev(PL_SEC_PROBE, src, "fd00::1", (uint16_t)(1 + i % 60000),
					999, IPPROTO_TCP, PL_TCP_SYN);
		alerts_event(a, &e, 0.5);
	}
	update(a, 1, 1, NULL, NULL, 0, NULL, 0);
	assert_int_equal(rows(a, out), 0);
	/* 300 scanners: the list keeps PL_ALERTS_MAX, newest first */
	for (int s = 0; s < 300; s++) {
		snprintf(src, sizeof(src), "10.%d.%d.1", s / 256, s % 256);
		for (int i = 0; i < 20; i++) {
			struct sec_event e = ev(PL_SEC_PROBE, src, LOCAL, (uint16_t)(1 + i), 999,
						IPPROTO_TCP, PL_TCP_SYN);
			alerts_event(a, &e, 2 + s * 0.01);
		}
		update(a, 2 + s * 0.01 + 0.001, 0.01, NULL, NULL, 0, NULL, 0);
	}
	size_t n = rows(a, out);
	assert_int_equal(n, PL_ALERTS_MAX);
	assert_int_equal(alerts_raised(a), 300);
	/* by kind: also those no longer listed */
	assert_int_equal(alerts_raised_kind(a, AK_PORT_SCAN), 300);
	assert_string_equal(out[0].source, "10.1.43.1"); /* scanner 299 */
	for (size_t i = 1; i < n; i++)
		assert_true(out[i - 1].first_seen >= out[i].first_seen);
	alerts__free(a);
}

static void test_cfg(void **state)
{
	struct alert_cfg c;
	char err[512];
	alerts_cfg_default(&c);
	assert_int_equal(alerts_cfg_set(&c, "scan=50/30", err, sizeof(err)), 0);
	assert_int_equal(c.scan_ports, 50);
	assert_true(c.scan_window == 30);
	assert_int_equal(alerts_cfg_set(&c, "syn=1000", err, sizeof(err)), 0);
	assert_true(c.syn_pps == 1000);
	assert_int_equal(alerts_cfg_set(&c, "spike=4", err, sizeof(err)), 0);
	assert_int_equal(alerts_cfg_set(&c, "off", err, sizeof(err)), 0);
	assert_true(c.off);
	assert_int_equal(alerts_cfg_set(&c, "scan=50", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "N/SEC"));
	assert_int_equal(alerts_cfg_set(&c, "scan=1/30", err, sizeof(err)), -EINVAL);
	assert_int_equal(alerts_cfg_set(&c, "scan=2.5/30", err, sizeof(err)), -EINVAL);
	assert_int_equal(alerts_cfg_set(&c, "syn=-1", err, sizeof(err)), -EINVAL);
	assert_int_equal(alerts_cfg_set(&c, "syn=", err, sizeof(err)), -EINVAL);
	assert_int_equal(alerts_cfg_set(&c, "spike=1", err, sizeof(err)), -EINVAL);
	assert_int_equal(alerts_cfg_set(&c, "bogus=1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "scan="));
	assert_int_equal(alerts_cfg_set(&c, "scanx=1/2", err, sizeof(err)), -EINVAL);
}

/* What `cat /proc/net/netstat`, `/proc/net/snmp` and `/proc/net/tcp` look like. */
static void test_procfs(void **state)
{
	const char *netstat =
	    "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts ListenOverflows "
	    "ListenDrops TCPSynRetrans\n"
	    "TcpExt: 11 12 13 14 15 16 17\n"
	    "IpExt: InNoRoutes InTruncatedPkts\n"
	    "IpExt: 0 0\n";
	const char *snmp = "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens\n"
			   "Tcp: 1 200 120000 -1 30 42\n";
	struct alert_netstat ns;
	alerts_netstat_parse(&ns, netstat, snmp);
	assert_true(ns.have);
	assert_int_equal(ns.syncookies_sent, 11);
	assert_int_equal(ns.syncookies_failed, 13);
	assert_int_equal(ns.listen_overflows, 15);
	assert_int_equal(ns.listen_drops, 16);
	assert_int_equal(ns.syn_retrans, 17);
	assert_int_equal(ns.passive_opens, 42);
	alerts_netstat_parse(&ns, "garbage\n", NULL);
	assert_false(ns.have);

	const char *tcp =
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode\n"
	    "   0: 0100000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
	    "       0 1 1\n"
	    "   1: 0100000A:1F90 0200000A:9C40 03 00000000:00000000 02:00000064 00000000     0 "
	    "       0 0 1\n"
	    "   2: 0100000A:1F90 0300000A:9C41 03 00000000:00000000 02:00000064 00000000     0 "
	    "       0 0 1\n"
	    "   3: 0100000A:0050 0300000A:9C41 03 00000000:00000000 02:00000064 00000000     0 "
	    "       0 0 1\n"
	    "   4: 0100000A:1F90 0300000A:9C42 01 00000000:00000000 02:00000064 00000000     0 "
	    "       0 0 1\n";
	assert_int_equal(alerts_half_open_parse(tcp, 8080), 2);
	assert_int_equal(alerts_half_open_parse(tcp, 80), 1);
	assert_int_equal(alerts_half_open_parse(tcp, 22), 0);
	const char *tcp6 =
	    "   0: 000080FD000000000000000001000000:1F90 "
	    "000080FD000000000000000002000000:A000 03 00000000:00000000 02:0 0 0 0 0\n";
	assert_int_equal(alerts_half_open_parse(tcp6, 8080), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vertical_scan),
		cmocka_unit_test(test_scan_after_reset),
		cmocka_unit_test(test_scan_threshold),
		cmocka_unit_test(test_udp_scan),
		cmocka_unit_test(test_host_scan_and_ping_sweep),
		cmocka_unit_test(test_slow_scan),
		cmocka_unit_test(test_syn_flood),
		cmocka_unit_test(test_busy_server_quiet),
		cmocka_unit_test(test_floods),
		cmocka_unit_test(test_rate_spike),
		cmocka_unit_test(test_alert_spans_intervals),
		cmocka_unit_test(test_spike_baseline_mean),
		cmocka_unit_test(test_resets_drops_dns),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_cfg),
		cmocka_unit_test(test_procfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
