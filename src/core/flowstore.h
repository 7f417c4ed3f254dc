/* The flow table's user-space side: each flow's last reading, rates, rate history and age; only changes cost. */
#ifndef PKTLENS_FLOWSTORE_H
#define PKTLENS_FLOWSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/histring.h"
#include "shared/flow.h"

/*
 * One flow. Entries stay where they are while the flow lives (rows name
 * them by index and serial); a reading that changes nothing about a flow
 * touches nothing of it.
 */
struct fs_entry {
	struct flow_key key;
	uint32_t next;	     /* hash chain: index + 1 of the next entry in the bucket */
	struct flow_val val; /* the last reading */
	double rx_pps, rx_bps, tx_pps, tx_bps;
	uint32_t serial;       /* new for every flow that takes the slot; 0: the slot is free */
	uint32_t put_gen;      /* generation of the last reading that saw the flow */
	uint32_t changed_gen;  /* generation in which its row must be built again */
	uint32_t moved_gen;    /* generation whose reading gave it its rates */
	uint32_t older, newer; /* aging list, least recently changed first (index + 1) */
	uint32_t hist;	       /* its rate history in fs->hist (hist_alloc), 0: none */
	uint32_t hist_serial;
	uint8_t active; /* non-zero rates: they drop to 0 at the first reading without growth */
	uint8_t keep;	/* passes the flow filter (-f): the snapshot shows it */
	uint8_t pad[2];
};

struct fs_idle {
	uint32_t idx, serial, gen;
};

struct flowstore {
	struct fs_entry *e;
	uint32_t *serials;     /* e[i].serial, dense: rows check that their flow is still there */
	uint32_t n_slots, cap; /* slots handed out (some free), allocated */
	uint32_t max;	       /* never more flows than the kernel's table holds */
	uint32_t n;	       /* flows */
	uint32_t free_head;    /* free slots, chained through next */
	uint32_t *buckets;     /* index + 1 of the first entry */
	uint32_t n_buckets;    /* power of two */
	uint32_t gen;	       /* the current reading */
	double dt;	       /* of the current reading */
	uint32_t oldest, newest;
	uint32_t next_serial;
	/* the current reading's entries whose rows change (new, read with growth, gone idle) */
	uint32_t *changed;
	size_t n_changed, cap_changed;
	/* entries with non-zero rates, of this reading and of the one before */
	uint32_t *active, *was_active;
	size_t n_active, n_was_active, cap_active, cap_was_active;
	uint64_t removed;	 /* flows gone from the table since start, aged or evicted */
	uint64_t not_stored;	 /* flows the store had no memory for, at the last reading */
	uint64_t not_stored_now; /* during the current reading */
	struct hist_pool *hist;	 /* rx/tx bits per second */
	struct fs_idle *idle_q;	 /* flows that went idle, oldest first: their rings go later */
	size_t iq_head, iq_n, iq_cap;
	/* tells whether a new flow passes the flow filter; NULL: all do */
	int (*filter)(void *ctx, const struct flow_key *k);
	void *filter_ctx;
};

/* max: the kernel table's size. Returns 0 or -ENOMEM. */
int flowstore_init(struct flowstore *fs, uint32_t max);
void flowstore_free(struct flowstore *fs);

/* A new reading, dt seconds after the previous one. */
void flowstore_begin(struct flowstore *fs, double dt);
/*
 * The flow's value in this reading. Rates are the growth over dt; a flow
 * new to the store, or whose counters went down (evicted and created
 * again), counted all of it within dt. NULL when there is no memory for a
 * new flow (counted in not_stored).
 */
struct fs_entry *flowstore_put(struct flowstore *fs, const struct flow_key *k,
			       const struct flow_val *v);
/* The flow is not in the kernel's table any more. */
void flowstore_remove(struct flowstore *fs, struct fs_entry *e);
/* After a reading of the whole table: flows it did not have are gone; returns how many. */
size_t flowstore_sweep(struct flowstore *fs);
/* Ends the reading: flows that stopped get rates 0, active ones a history sample. */
void flowstore_end(struct flowstore *fs);
/* Marks an entry's row for rebuilding in this reading (a model's data about it changed). */
void flowstore_touch(struct flowstore *fs, struct fs_entry *e);

/*
 * The least recently changed flow whose last packet is older than idle_s at
 * now_ns, or NULL (0 = never age). The caller deletes it from the kernel's
 * table and then calls flowstore_remove.
 */
struct fs_entry *flowstore_oldest_idle(struct flowstore *fs, uint64_t now_ns, double idle_s);

struct fs_entry *flowstore_find(const struct flowstore *fs, const struct flow_key *key);
static inline uint32_t flowstore_index(const struct flowstore *fs, const struct fs_entry *e)
{
	return (uint32_t)(e - fs->e);
}

/* Rate from two cumulative readings; 0 when the counter restarted or dt is not positive. */
double rate_per_s(uint64_t prev, uint64_t now, double dt);
/* Whether a flow last seen at last_seen_ns is idle at now_ns for idle_s seconds. */
int flow_is_idle(uint64_t last_seen_ns, uint64_t now_ns, double idle_s);
uint64_t flow_key_hash(const struct flow_key *k);

#endif
