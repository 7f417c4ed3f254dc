/* Unit tests for the row builder: rows only for flows that changed, the rest kept, in the view's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/flowrow.h"
#include "shared/l7.h"
#include "core/model.h"
#include "core/snapshot.h"

#define N 6

struct fixture {
	struct flowstore fs;
	struct flowrows fr;
	void *models[PL_MODELS_MAX];
	struct flowrows_ctx ctx;
	int ifindex[1];
	char ifname[1][16];
	struct flow_key k[N];
	struct flow_val v[N];
};

static int setup(void **state)
{
	static struct fixture f;
	static const struct model_env env = { 0 };
	memset(&f, 0, sizeof(f));
	if (flowstore_init(&f.fs, 1024))
		return -1;
	flowrows_init(&f.fr);
	for (size_t i = 0; i < pl_n_models; i++)
		if (!(f.models[i] = pl_models[i]->create(&env)))
			return -1;
	f.ifindex[0] = 2;
	snprintf(f.ifname[0], 16, "veth-a");
	f.ctx = (struct flowrows_ctx){ .fs = &f.fs,
				       .ifindexes = f.ifindex,
				       .ifnames = (const char(*)[16])f.ifname,
				       .n_ifaces = 1,
				       .models = f.models };
	for (int i = 0; i < N; i++) {
		struct flow_key *k = &f.k[i];
		k->family = PL_AF_INET;
		k->proto = 17;
		k->ifindex = 2;
		k->local[0] = 10;
		k->local[3] = 1;
		k->remote[0] = 10;
		k->remote[3] = (uint8_t)(10 + i);
		if (i == N - 1) { /* every width of a dotted quad */
			k->remote[0] = 255;
			k->remote[1] = 100;
			k->remote[2] = 0;
			k->remote[3] = 9;
		}
		k->local_port = 53;
		k->remote_port = (uint16_t)(4000 + i);
		f.v[i].rx_packets = 1;
		f.v[i].rx_bytes = 100;
	}
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	flowrows_free(&f->fr);
	flowstore_free(&f->fs);
	for (size_t i = 0; i < pl_n_models; i++)
		pl_models[i]->free(f->models[i]);
	return 0;
}

/* One refresh: the flows whose index is set in mask are read with their values. */
static struct snapshot *refresh(struct fixture *f, double dt, unsigned mask)
{
	flowstore_begin(&f->fs, dt);
	for (int i = 0; i < N; i++)
		if (mask & (1u << i))
			assert_non_null(flowstore_put(&f->fs, &f->k[i], &f->v[i]));
	flowstore_end(&f->fs);
	struct snapshot *s = snapshot__new();
	assert_non_null(s);
	assert_int_equal(flowrows_build(&f->fr, &f->ctx, s), 0);
	return s;
}

static int row_of(const struct snapshot *s, const struct fixture *f, int i)
{
	for (size_t r = 0; r < s->n_flows; r++)
		if (!memcmp(&s->flows[r].key, &f->k[i], sizeof(f->k[i])))
			return (int)r;
	return -1;
}

static void grow(struct fixture *f, int i, uint64_t bytes)
{
	f->v[i].rx_packets++;
	f->v[i].rx_bytes += bytes;
	f->v[i].last_seen_ns++;
}

/*
 * Rows in rx bit rate order, biggest first, through changes; rows of flows
 * that did not change are the previous snapshot's (the interface name the
 * builder would write now differs), and every row counts once.
 */
static void test_order_and_kept_rows(void **state)
{
	struct fixture *f = *state;
	f->fr.turn_min = 0; /* no turns: only what changed is built */
	flowrows_set_order(&f->fr, FS_RX_BPS, 1);
	struct snapshot *s = refresh(f, 0, (1u << N) - 1);
	assert_int_equal(s->n_flows, N);
	for (int i = 0; i < N; i++) {
		char want[16];
		snprintf(want, sizeof(want), i == N - 1 ? "255.100.0.9" : "10.0.0.%d", 10 + i);
		assert_string_equal(s->flows[row_of(s, f, i)].local, "10.0.0.1");
		assert_string_equal(s->flows[row_of(s, f, i)].remote, want);
	}
	snapshot_put(s);

	for (int i = 0; i < N; i++)
		grow(f, i, 1000 * (uint64_t)(i + 1));
	s = refresh(f, 1.0, (1u << N) - 1);
	assert_int_equal(s->n_flows, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(row_of(s, f, i), N - 1 - i);
	snapshot_put(s);

	/* rows built from now on say another name: kept rows keep the old one */
	snprintf(f->ifname[0], 16, "veth-b");
	/* flow 1 and 3 move (3 beats everything), the others stop: rates 0 for them */
	grow(f, 1, 50);
	grow(f, 3, 99999);
	s = refresh(f, 1.0, 1u << 1 | 1u << 3);
	assert_int_equal(s->n_flows, N);
	assert_int_equal(row_of(s, f, 3), 0);
	assert_int_equal(row_of(s, f, 1), 1);
	for (size_t r = 0; r < s->n_flows; r++)
		assert_string_equal(s->flows[r].iface, "veth-b"); /* every row changed */
	snapshot_put(s);

	/* only flow 4 moves: it is built, 1 and 3 stop (rates 0), the others stand as they were */
	snprintf(f->ifname[0], 16, "veth-c");
	grow(f, 4, 500);
	s = refresh(f, 1.0, 1u << 4);
	assert_int_equal(s->n_flows, N);
	int r4 = row_of(s, f, 4);
	assert_int_equal(r4, 0);
	for (int i = 0; i < N; i++)
		assert_string_equal(s->flows[row_of(s, f, i)].iface,
				    i == 1 || i == 3 || i == 4 ? "veth-c" : "veth-b");
	assert_true(s->flows[row_of(s, f, 3)].rx_bps == 0);
	/* still sorted */
	for (size_t r = 1; r < s->n_flows; r++)
		assert_true(s->flows[r - 1].rx_bps >= s->flows[r].rx_bps);
	snapshot_put(s);

	/* a flow the table lost has no row any more; the others keep theirs */
	flowstore_remove(&f->fs, flowstore_find(&f->fs, &f->k[2]));
	s = refresh(f, 1.0, 0);
	assert_int_equal(s->n_flows, N - 1);
	assert_int_equal(row_of(s, f, 2), -1);
	snapshot_put(s);
}

/* The L7 model learns a flow's protocol: its version moves. */
static void l7_learns(struct fixture *f, const struct flow_key *k)
{
	static const struct model_env env = { 0 };
	struct l7_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = PL_L7K_PROTO;
	ev.key = *k;
	ev.proto = PL_L7P_DNS;
	for (size_t i = 0; i < pl_n_models; i++)
		if (!strcmp(pl_models[i]->name, "l7"))
			pl_models[i]->event(f->models[i], &ev, sizeof(ev), &env);
}

/*
 * Without an order a flow keeps its place, a new one comes last. Idle flows
 * are built again only when a model learnt something (its version moved):
 * then all of them (few flows: a round of turns is one refresh), and the
 * row says what the model learnt.
 */
static void test_unordered_and_turns(void **state)
{
	struct fixture *f = *state;
	struct snapshot *s = refresh(f, 0, 0x7);
	int r0 = row_of(s, f, 0), r1 = row_of(s, f, 1), r2 = row_of(s, f, 2);
	assert_true(r0 >= 0 && r1 >= 0 && r2 >= 0);
	snapshot_put(s);
	snprintf(f->ifname[0], 16, "veth-t");
	grow(f, 1, 10);
	s = refresh(f, 1.0, 1u << 1 | 1u << 5);
	assert_int_equal(s->n_flows, 4);
	assert_int_equal(row_of(s, f, 0), r0);
	assert_int_equal(row_of(s, f, 1), r1);
	assert_int_equal(row_of(s, f, 2), r2);
	assert_int_equal(row_of(s, f, 5), 3);
	/* nothing learnt: the idle flows' rows are the old ones */
	assert_string_equal(s->flows[r0].iface, "veth-a");
	assert_string_equal(s->flows[r2].iface, "veth-a");
	assert_string_equal(s->flows[r1].iface, "veth-t");
	snapshot_put(s);

	l7_learns(f, &f->k[2]);
	snprintf(f->ifname[0], 16, "veth-u");
	s = refresh(f, 1.0, 0);
	for (size_t r = 0; r < s->n_flows; r++)
		assert_string_equal(s->flows[r].iface, "veth-u");
	assert_string_equal(s->flows[row_of(s, f, 2)].l7, "dns");
	snapshot_put(s);
	/* the round is done: nothing more to build */
	snprintf(f->ifname[0], 16, "veth-v");
	s = refresh(f, 1.0, 0);
	for (size_t r = 0; r < s->n_flows; r++)
		assert_string_equal(s->flows[r].iface, "veth-u");
	snapshot_put(s);
}

/*
 * Flows on interfaces outside the watched list are named by the kernel (looked up once a
 * refresh, whatever the number of rows): lo is ifindex 1 in every namespace, and an index no
 * interface has reads ifN. Interleaved, so that a lookup answers for its own index only.
 */
static void test_unwatched_iface_names(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < N; i++)
		f->k[i].ifindex = i % 2 ? 1 : 0x7ffffff0u;
	struct snapshot *s = refresh(f, 0, (1u << N) - 1);
	assert_int_equal(s->n_flows, N);
	for (int i = 0; i < N; i++)
		assert_string_equal(s->flows[row_of(s, f, i)].iface, i % 2 ? "lo" : "if2147483632");
	snapshot_put(s);
	/* the next refresh looks them up again: every row changed */
	for (int i = 0; i < N; i++) {
		grow(f, i, 10);
		f->k[i].ifindex = i % 2 ? 0x7ffffff0u : 1;
	}
	s = refresh(f, 1.0, (1u << N) - 1);
	for (int i = 0; i < N; i++)
		assert_string_equal(s->flows[row_of(s, f, i)].iface, i % 2 ? "if2147483632" : "lo");
	snapshot_put(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_kept_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unordered_and_turns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwatched_iface_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
