/* The flow table's map side: the changed flows through flow_dirty, the whole table when needed, aging, evictions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/flowmaps.h"
#include "core/maps.h"

/*
 * A flow whose last packet came this close before the epoch moved may have
 * been counted by a program that still saw the old epoch and so queued
 * nothing for the new one: it is read again at the next reading.
 */
#define CARRY_NS 10000000ULL

/*
 * The kernel's LRU hash evicts once its free list runs low, before it is
 * full: a CPU that finds no free node takes up to 128 (LOCAL_FREE_TARGET of
 * kernel/bpf/bpf_lru_list.c) from the global list and shrinks the LRU for
 * the rest. With this many flows of room left per CPU, nothing was evicted.
 */
#define LRU_ROOM_PER_CPU 256

static uint64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int push_key(struct flow_key **arr, size_t *n, size_t *cap, const struct flow_key *k)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct flow_key *a = realloc(*arr, c * sizeof(*a));
		if (!a)
			return -1;
		*arr = a;
		*cap = c;
	}
	(*arr)[(*n)++] = *k;
	return 0;
}

static int on_dirty(void *ctx, void *data, size_t len)
{
	struct flow_reader *r = ctx;
	if (len < sizeof(struct flow_dirty))
		return 0;
	const struct flow_dirty *d = data;
	/* out of memory: the whole table is read this time */
	if (push_key(&r->keys, &r->n_keys, &r->cap_keys, &d->key))
		r->lost = 1;
	return 0;
}

int flow_reader_init(struct flow_reader *r, int map_fd, int ring_fd, volatile uint32_t *epoch,
		     uint32_t size)
{
	memset(r, 0, sizeof(*r));
	r->fd = map_fd;
	r->size = size;
	r->epoch = epoch;
	r->rb = ring_buffer__new(ring_fd, on_dirty, r, NULL);
	return r->rb ? 0 : -errno;
}

void flow_reader_free(struct flow_reader *r)
{
	if (r->epoch)
		*r->epoch = 0; /* the programs queue nothing more */
	ring_buffer__free(r->rb);
	free(r->keys);
	free(r->carry);
	free(r->held);
	memset(r, 0, sizeof(*r));
}

struct full_ctx {
	struct flow_reader *r;
	struct flowstore *fs;
	struct flow_key *carry;
	size_t n_carry, cap_carry;
};

static void maybe_carry(struct flow_reader *r, struct flow_key **carry, size_t *n, size_t *cap,
			const struct flow_key *k, const struct flow_val *v)
{
	if (v->last_seen_ns + CARRY_NS >= r->bump_ns)
		push_key(carry, n, cap, k);
}

static int put_chunk(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct full_ctx *f = ctx;
	const struct flow_key *k = keys;
	const struct flow_val *v = vals;
	for (size_t i = 0; i < n; i++) {
		flowstore_put(f->fs, &k[i], &v[i]);
		maybe_carry(f->r, &f->carry, &f->n_carry, &f->cap_carry, &k[i], &v[i]);
	}
	return 0;
}

/* One queued (or carried) flow: its value now, or gone from the table. */
static void read_key(struct flow_reader *r, struct flowstore *fs, const struct flow_key *k,
		     struct full_ctx *next)
{
	struct fs_entry *e = flowstore_find(fs, k);
	struct flow_val v;
	if (e && e->put_gen == fs->gen)
		return; /* queued twice */
	if (bpf_map_lookup_elem(r->fd, k, &v)) {
		if (e)
			flowstore_remove(fs, e); /* evicted since it was queued */
		return;
	}
	flowstore_put(fs, k, &v);
	maybe_carry(r, &next->carry, &next->n_carry, &next->cap_carry, k, &v);
}

/*
 * A flow leaving the table may still hold an HTTP response (bpf/lib/l7.bpf.h, pl_l7_hold):
 * the other direction's next packet would have sent it, and none came. Seen from one side
 * only (tc egress alone on a server, XDP alone on a client) that is every connection's last
 * response until the connection ends, which an idle keep-alive connection does not do within
 * --idle. The record pl_l7_flush would send, made here, so that the response is counted, not
 * lost with the flow. (A program that still holds the old element could take the same
 * response in the instant between: it would then count twice, not go missing.)
 */
static void keep_held(struct flow_reader *r, const struct flow_key *k, const struct flow_val *v)
{
	if (!v->l7.resp_tok)
		return;
	if (r->n_held == r->cap_held) {
		size_t c = r->cap_held ? r->cap_held * 2 : 16;
		struct l7_event *a = realloc(r->held, c * sizeof(*a));
		if (!a)
			return;
		r->held = a;
		r->cap_held = c;
	}
	struct l7_event *ev = &r->held[r->n_held++];
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = v->l7.resp_ts;
	ev->key = *k;
	ev->seq = v->l7.resp_seq;
	ev->kind = PL_L7K_HTTP_HELD;
	ev->dir = v->l7.resp_dir;
	ev->proto = PL_L7P_HTTP;
	ev->resp_status = v->l7.resp_status;
	ev->resp_dir = v->l7.resp_dir;
	ev->resp_seq = v->l7.resp_seq;
	ev->resp_ts = v->l7.resp_ts;
	r->held_total++;
}

void flow_reader_keep_open(struct flow_reader *r, const struct flowstore *fs)
{
	/* the reading just before tells which flows are HTTP; the table, whether one holds */
	for (uint32_t i = 0; i < fs->n_slots; i++) {
		const struct fs_entry *e = &fs->e[i];
		struct flow_val v;
		if (e->serial && e->val.l7.proto == PL_L7P_HTTP &&
		    !bpf_map_lookup_elem(r->fd, &e->key, &v))
			keep_held(r, &e->key, &v);
	}
}

const struct l7_event *flow_reader_take_held(struct flow_reader *r, size_t *n)
{
	*n = r->n_held;
	r->n_held = 0;
	return r->held;
}

void flow_reader_read(struct flow_reader *r, struct flowstore *fs, const struct pl_counters *c,
		      uint64_t now_ns, double idle_s)
{
	/* from here on packets queue their flows for the next reading */
	if (!++r->cur_epoch)
		r->cur_epoch = 1;
	*r->epoch = r->cur_epoch;
	r->bump_ns = mono_now();
	r->n_keys = 0;
	r->lost = 0;
	ring_buffer__consume(r->rb);

	uint64_t created = c->flows_created - r->created;
	uint64_t room = (uint64_t)maps_ncpu() * LRU_ROOM_PER_CPU;
	int whole = !r->read_once || r->lost || c->dirty_lost != r->dirty_lost ||
		    fs->n + created + room >= r->size;
	r->read_once = 1;
	r->dirty_lost = c->dirty_lost;
	r->created = c->flows_created;

	struct full_ctx next = { .r = r, .fs = fs };
	if (whole) {
		struct maps_desc m = { r->fd, sizeof(struct flow_key), sizeof(struct flow_val),
				       MAPS_PLAIN };
		maps_for_each(&m, put_chunk, &next);
		flowstore_sweep(fs);
		r->full_reads++;
	} else {
		for (size_t i = 0; i < r->n_carry; i++)
			read_key(r, fs, &r->carry[i], &next);
		for (size_t i = 0; i < r->n_keys; i++)
			read_key(r, fs, &r->keys[i], &next);
		r->dirty_reads++;
	}
	free(r->carry);
	r->carry = next.carry;
	r->n_carry = next.n_carry;
	r->cap_carry = next.cap_carry;

	/* flows idle for --idle leave the kernel's table: the oldest first */
	struct fs_entry *e;
	while ((e = flowstore_oldest_idle(fs, now_ns, idle_s))) {
		struct flow_val v;
		if (!bpf_map_lookup_and_delete_elem(r->fd, &e->key, &v)) {
			r->aged_out++;
			keep_held(r, &e->key, &v);
		} else if (errno != ENOENT && !bpf_map_delete_elem(r->fd, &e->key)) {
			/* a kernel without lookup-and-delete for hash maps (before 5.14) */
			r->aged_out++;
			keep_held(r, &e->key, &e->val);
		}
		flowstore_remove(fs, e);
	}
	/*
	 * Every flow inserted is in the table, aged out or evicted. The count was
	 * read before the table, so flows inserted since are present but not yet
	 * counted: the difference never overstates the evictions, and keeping the
	 * largest makes the count exact once the table holds still.
	 */
	uint64_t gone =
	    c->flows_created > fs->n + r->aged_out ? c->flows_created - fs->n - r->aged_out : 0;
	if (gone > r->evicted && !fs->not_stored_now && !fs->not_stored)
		r->evicted = gone;
}
