/* Unit tests for the TCP model: closed sockets leave after their keep time, so churn reaches a steady size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/histring.h"
#include "core/tcpmodel.h"

#define NS 1000000000ULL
#define T0 (1000 * NS) /* CLOCK_MONOTONIC of the first reading */
#define ESTABLISHED 1
#define CLOSE 7

/* The socks map as the BPF programs leave it: entries are only ever added or updated. */
struct fake_map {
	struct sock_key k[8192];
	struct sock_val v[8192];
	size_t n;
};

static struct sock_key skey(uint32_t n)
{
	struct sock_key k;
	memset(&k, 0, sizeof(k));
	k.family = PL_AF_INET;
	k.local[0] = 10;
	k.local[3] = 1;
	k.remote[0] = 10;
	k.remote[2] = (uint8_t)(n >> 16);
	k.remote[3] = 2;
	k.local_port = 9001;
	k.remote_port = (uint16_t)(n & 0xffff);
	return k;
}

static struct sock_val *map_find(struct fake_map *fm, const struct sock_key *k)
{
	for (size_t i = 0; i < fm->n; i++)
		if (!memcmp(&fm->k[i], k, sizeof(*k)))
			return &fm->v[i];
	return NULL;
}

static void map_open(struct fake_map *fm, uint32_t n, uint64_t now)
{
	assert_true(fm->n < 8192);
	fm->k[fm->n] = skey(n);
	struct sock_val *v = &fm->v[fm->n++];
	memset(v, 0, sizeof(*v));
	v->open_ns = v->first_ns = now - NS / 100;
	v->est_ns = v->state_ns = now - NS / 200;
	v->probes = 1;
	v->state = ESTABLISHED;
	v->n_states = 2;
	v->states[0] = 3; /* SYN_RECV */
	v->states[1] = ESTABLISHED;
	v->srtt_us = 50 + n % 7;
	v->cwnd = 10;
}

static void map_close(struct fake_map *fm, uint32_t n, uint64_t at)
{
	struct sock_key k = skey(n);
	struct sock_val *v = map_find(fm, &k);
	assert_non_null(v);
	v->close_ns = v->state_ns = at;
	v->state = CLOSE;
	v->states[v->n_states++ % PL_STATE_HIST] = CLOSE;
}

/* What the reader does with the keys the model lets go: deletes them from the map. */
static size_t map_forget(struct fake_map *fm, const struct tcp_model *m)
{
	size_t n, w = 0;
	const struct sock_key *f = tcp_model_forget(m, &n);
	for (size_t i = 0; i < fm->n; i++) {
		int gone = 0;
		for (size_t j = 0; j < n && !gone; j++)
			gone = !memcmp(&fm->k[i], &f[j], sizeof(f[j]));
		if (!gone) {
			fm->k[w] = fm->k[i];
			fm->v[w++] = fm->v[i];
		}
	}
	size_t deleted = fm->n - w;
	fm->n = w;
	return deleted;
}

/* One refresh: the map's entries in, the TCP part of a snapshot out (its socket count). */
static size_t refresh(struct tcp_model *m, struct fake_map *fm, uint64_t now, uint32_t gen)
{
	struct tcp_input in = { 0 };
	in.sock_keys = fm->k;
	in.sock_vals = fm->v;
	in.n_socks = fm->n;
	struct snapshot_tcp *t = tcp_model_update(m, &in, T0, now, 1.0, gen);
	assert_non_null(t);
	size_t shown = t->n_socks;
	free(t);
	map_forget(fm, m);
	return shown;
}

/*
 * Short connections at a steady rate (the soak's 8 a second, each open for 3 s): with --idle 30
 * a closed socket stays 60 s, so the model, its snapshot and the map hold the last 63 s of
 * connections, exactly, however long it runs; and the history rings stay as many. Before
 * closed sockets left, every connection stayed: 8 more sockets and rings every second.
 */
static void test_churn_steady(void **state)
{
	struct tcp_model *m = tcp_model__new(NULL);
	assert_non_null(m);
	tcp_model_set_closed_keep(m, 30);
	static struct fake_map fm;
	fm.n = 0;
	const uint32_t rate = 8, life = 3, keep = PL_TCP_CLOSED_KEEP_S;
	uint32_t next = 0;
	uint32_t rings_at_300 = 0;
	for (uint32_t t = 0; t <= 900; t++) {
		uint64_t now = T0 + (uint64_t)t * NS;
		/* those opened life refreshes ago closed half a second ago */
		if (t >= life)
			for (uint32_t i = 0; i < rate; i++)
				map_close(&fm, (t - life) * rate + i, now - NS / 2);
		for (uint32_t i = 0; i < rate; i++)
			map_open(&fm, next++, now);
		size_t shown = refresh(m, &fm, now, t + 1);
		if (t < keep + life)
			continue;
		/* closed at c (now - c*1s + 0.5 s >= 60 s goes): c in t-59..t, and life refreshes open */
		size_t want = (size_t)rate * (keep + life);
		assert_int_equal(tcp_model_sockets(m), want);
		assert_int_equal(shown, want);
		assert_int_equal(fm.n, want);
		const struct hist_pool *h = tcp_model_hist(m);
		if (t == 300)
			rings_at_300 = h->n;
		if (t > 300)
			assert_int_equal(h->n, rings_at_300);
		/* in use, or freed and waiting HIST_SLOTS generations to be handed out again */
		assert_true(h->n <= want + (size_t)rate * (HIST_SLOTS + 1));
	}
	assert_true(rings_at_300 > 0);
	tcp_model__free(m);
}

/* A closed socket fills its flow's row until its keep time, then leaves model and map. */
static void test_closed_keep(void **state)
{
	struct tcp_model *m = tcp_model__new(NULL);
	assert_non_null(m);
	tcp_model_set_closed_keep(m, 120);
	static struct fake_map fm;
	fm.n = 0;
	map_open(&fm, 1, T0);
	map_open(&fm, 2, T0);
	map_open(&fm, 3, T0);
	assert_int_equal(refresh(m, &fm, T0, 1), 3);
	map_close(&fm, 1, T0 + NS);
	map_close(&fm, 2, T0 + NS);
	/* 3 closed long ago and its key was reused by a new connection: it stays */
	struct sock_key k3 = skey(3);
	map_find(&fm, &k3)->close_ns = T0 + NS / 2;

	struct flow_row row;
	memset(&row, 0, sizeof(row));
	row.key.family = PL_AF_INET;
	row.key.proto = 6;
	struct sock_key k1 = skey(1);
	memcpy(row.key.local, k1.local, 16);
	memcpy(row.key.remote, k1.remote, 16);
	row.key.local_port = k1.local_port;
	row.key.remote_port = k1.remote_port;

	/* 119.9 s after the close: kept */
	assert_int_equal(refresh(m, &fm, T0 + 120 * NS + 9 * NS / 10, 2), 3);
	size_t n;
	tcp_model_forget(m, &n);
	assert_int_equal(n, 0);
	tcp_model_fill_flow(m, &row);
	assert_int_equal(row.srtt_us, 51);

	/* 120 s: both closed sockets go, from the model and (through the reader) the map */
	assert_int_equal(refresh(m, &fm, T0 + 121 * NS, 3), 1);
	assert_int_equal(tcp_model_sockets(m), 1);
	assert_int_equal(fm.n, 1);
	assert_memory_equal(&fm.k[0], &k3, sizeof(k3));
	memset(&row.srtt_us, 0, sizeof(row.srtt_us));
	row.known = 0;
	tcp_model_fill_flow(m, &row);
	assert_int_equal(row.srtt_us, 0);
	assert_false(row.known & PL_FK_TCP_INFO);
	/* their history rings are free again */
	const struct hist_pool *h = tcp_model_hist(m);
	assert_int_equal(h->fq_count, 2);
	tcp_model__free(m);
}

/* The keep time follows --idle: at least 60 s; --idle 0 (never forget flows) keeps 300 s. */
static void test_keep_from_idle(void **state)
{
	static const struct {
		double idle;
		uint32_t keep;
	} cases[] = { { 0, PL_TCP_CLOSED_KEEP_NEVER_S },
		      { 2, PL_TCP_CLOSED_KEEP_S },
		      { 30, PL_TCP_CLOSED_KEEP_S },
		      { 300, 300 },
		      { 1000, 1000 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct tcp_model *m = tcp_model__new(NULL);
		assert_non_null(m);
		tcp_model_set_closed_keep(m, cases[c].idle);
		static struct fake_map fm;
		fm.n = 0;
		map_open(&fm, 1, T0);
		map_close(&fm, 1, T0);
		uint64_t keep = (uint64_t)cases[c].keep * NS;
		assert_int_equal(refresh(m, &fm, T0 + keep - 1, 1), 1);
		assert_int_equal(refresh(m, &fm, T0 + keep, 2), 0);
		assert_int_equal(fm.n, 0);
		tcp_model__free(m);
	}
}

/*
 * The srtt/cwnd history takes a sample when tcp_probe ran since the last reading (its run count
 * moved), and only then: a socket that received nothing keeps its last sample, which the
 * history's newest generation tells. cwnd 10, then 20 after a probe, then nothing new.
 */
static void test_hist_on_probe(void **state)
{
	struct tcp_model *m = tcp_model__new(NULL);
	assert_non_null(m);
	static struct fake_map fm;
	fm.n = 0;
	map_open(&fm, 1, T0);
	struct sock_key k = skey(1);
	struct sock_val *v = map_find(&fm, &k);
	struct flow_row row;
	memset(&row, 0, sizeof(row));
	row.key.family = PL_AF_INET;
	row.key.proto = 6;
	memcpy(row.key.local, k.local, 16);
	memcpy(row.key.remote, k.remote, 16);
	row.key.local_port = k.local_port;
	row.key.remote_port = k.remote_port;
	float out[HIST_WINDOW];

	refresh(m, &fm, T0, 1);
	tcp_model_fill_flow(m, &row);
	const struct hist_pool *h = tcp_model_hist(m);
	assert_int_equal(hist_last_gen(h, row.tcp_hist), 1);
	v->probes++;
	v->cwnd = 20;
	refresh(m, &fm, T0 + NS, 2);
	assert_int_equal(hist_last_gen(h, row.tcp_hist), 2);
	size_t n = hist_read(h, row.tcp_hist, row.tcp_hist_serial, 2, 1, out);
	assert_true(n >= 2);
	assert_true(out[n - 2] == 10.0f && out[n - 1] == 20.0f);
	/* no tcp_probe since: no new sample, though the values stay in the map */
	refresh(m, &fm, T0 + 2 * NS, 3);
	assert_int_equal(hist_last_gen(h, row.tcp_hist), 2);
	tcp_model__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn_steady),
		cmocka_unit_test(test_closed_keep),
		cmocka_unit_test(test_keep_from_idle),
		cmocka_unit_test(test_hist_on_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
