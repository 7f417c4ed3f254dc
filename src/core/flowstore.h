/* User-space flow store: the flow map's last reading per flow, rates from deltas, rate history, aging. */
#ifndef PKTLENS_FLOWSTORE_H
#define PKTLENS_FLOWSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/snapshot.h"
#include "shared/flow.h"

struct fs_entry {
	struct flow_key key;
	struct flow_val val; /* last reading */
	double rx_pps, rx_bps, tx_pps, tx_bps;
	float rx_hist[PL_HIST_LEN];
	float tx_hist[PL_HIST_LEN];
	float srtt_hist[PL_HIST_LEN]; /* filled in by the engine after each update */
	float cwnd_hist[PL_HIST_LEN];
	uint32_t hist_len;
	uint32_t used; /* == the table's generation when the slot holds a flow */
};

struct flowstore {
	struct fs_entry *tab;
	size_t cap; /* power of two, or 0 */
	size_t n;
	uint32_t gen; /* slots of tab with used == gen are live */
	/* The other table: each update fills it from tab and swaps. Both are kept, so a
	 * refresh neither allocates nor zeroes (generations mark the empty slots). */
	struct fs_entry *spare;
	size_t spare_cap;
	uint32_t spare_gen;
};

void flowstore_init(struct flowstore *fs);
void flowstore_free(struct flowstore *fs);

/*
 * Replaces the store's contents with one reading of the flow map (keys/vals,
 * n entries) taken dt seconds after the previous one: rates are the counter
 * growth over dt; a flow whose counters went down was evicted and re-created,
 * so its rate restarts from its new counters. Returns 0 or -ENOMEM.
 */
int flowstore_update(struct flowstore *fs, const struct flow_key *keys, const struct flow_val *vals,
		     size_t n, double dt);
const struct fs_entry *flowstore_find(const struct flowstore *fs, const struct flow_key *key);
/* Whether a slot of fs->tab holds a flow. */
static inline int flowstore_live(const struct flowstore *fs, const struct fs_entry *e)
{
	return e->used == fs->gen;
}

/* Rate from two cumulative readings; 0 when the counter restarted or dt is not positive. */
double rate_per_s(uint64_t prev, uint64_t now, double dt);
/* Whether a flow last seen at last_seen_ns is idle at now_ns for idle_s seconds. */
int flow_is_idle(uint64_t last_seen_ns, uint64_t now_ns, double idle_s);
uint64_t flow_key_hash(const struct flow_key *k);

#endif
