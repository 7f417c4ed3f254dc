/* User-space flow store: open-addressed table rebuilt on each reading, so aging and eviction need no deletes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/flowstore.h"

#define FS_MIN_DT 0.05

void flowstore_init(struct flowstore *fs)
{
	memset(fs, 0, sizeof(*fs));
}

void flowstore_free(struct flowstore *fs)
{
	free(fs->tab);
	free(fs->spare);
	memset(fs, 0, sizeof(*fs));
}

/*
 * Word-at-a-time multiply-xorshift over the key (explicit zero padding, so
 * equal flows hash equal). Byte-wise FNV was a tenth of a 100k-flow refresh.
 */
uint64_t flow_key_hash(const struct flow_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ sizeof(*k);
	size_t i = 0;
	for (; i + 8 <= sizeof(*k); i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	uint64_t tail = 0;
	memcpy(&tail, p + i, sizeof(*k) - i);
	h = (h ^ tail) * 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

double rate_per_s(uint64_t prev, uint64_t now, double dt)
{
	if (dt <= 0 || now < prev)
		return 0;
	return (double)(now - prev) / dt;
}

int flow_is_idle(uint64_t last_seen_ns, uint64_t now_ns, double idle_s)
{
	if (idle_s <= 0 || now_ns <= last_seen_ns)
		return 0;
	return (double)(now_ns - last_seen_ns) / 1e9 >= idle_s;
}

static struct fs_entry *slot(struct fs_entry *tab, size_t cap, uint32_t gen,
			     const struct flow_key *key)
{
	size_t mask = cap - 1;
	size_t i = flow_key_hash(key) & mask;
	while (tab[i].used == gen && memcmp(&tab[i].key, key, sizeof(*key)) != 0)
		i = (i + 1) & mask;
	return &tab[i];
}

const struct fs_entry *flowstore_find(const struct flowstore *fs, const struct flow_key *key)
{
	if (!fs->cap)
		return NULL;
	const struct fs_entry *e = slot(fs->tab, fs->cap, fs->gen, key);
	return e->used == fs->gen ? e : NULL;
}

static void push_hist(struct fs_entry *e, float rx, float tx)
{
	memmove(e->rx_hist, e->rx_hist + 1, (PL_HIST_LEN - 1) * sizeof(float));
	memmove(e->tx_hist, e->tx_hist + 1, (PL_HIST_LEN - 1) * sizeof(float));
	memmove(e->srtt_hist, e->srtt_hist + 1, (PL_HIST_LEN - 1) * sizeof(float));
	memmove(e->cwnd_hist, e->cwnd_hist + 1, (PL_HIST_LEN - 1) * sizeof(float));
	e->rx_hist[PL_HIST_LEN - 1] = rx;
	e->tx_hist[PL_HIST_LEN - 1] = tx;
	if (e->hist_len < PL_HIST_LEN)
		e->hist_len++;
}

int flowstore_update(struct flowstore *fs, const struct flow_key *keys, const struct flow_val *vals,
		     size_t n, double dt)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap <<= 1;
	/* Only a table that must grow is allocated (zeroed: generation 0 is never live). */
	if (fs->spare_cap < cap) {
		free(fs->spare);
		fs->spare = calloc(cap, sizeof(*fs->spare));
		if (!fs->spare) {
			fs->spare_cap = 0;
			return -ENOMEM;
		}
		fs->spare_cap = cap;
		fs->spare_gen = 0;
	}
	cap = fs->spare_cap;
	struct fs_entry *tab = fs->spare;
	uint32_t gen = ++fs->spare_gen;

	for (size_t i = 0; i < n; i++) {
		struct fs_entry *e = slot(tab, cap, gen, &keys[i]);
		const struct flow_val *v = &vals[i];
		const struct fs_entry *old = flowstore_find(fs, &keys[i]);
		static const struct flow_val zero;
		/* A flow missing from the previous reading was created since then, and one whose
		 * counters went down was evicted and re-created: either way all it counted
		 * happened within dt, so its rate starts from zero counters. */
		const struct flow_val *p = &zero;
		if (old) {
			*e = *old;
			if (v->rx_packets >= old->val.rx_packets &&
			    v->tx_packets >= old->val.tx_packets)
				p = &old->val;
		} else {
			memset(e, 0, sizeof(*e));
			e->key = keys[i];
		}
		e->val = *v;
		e->used = gen;
		/* A reading right after another (the last one on exit) says nothing new about
		 * rates: keep those of the last full interval. */
		if (dt < FS_MIN_DT)
			continue;
		e->rx_pps = rate_per_s(p->rx_packets, v->rx_packets, dt);
		e->rx_bps = 8 * rate_per_s(p->rx_bytes, v->rx_bytes, dt);
		e->tx_pps = rate_per_s(p->tx_packets, v->tx_packets, dt);
		e->tx_bps = 8 * rate_per_s(p->tx_bytes, v->tx_bytes, dt);
		push_hist(e, (float)e->rx_bps, (float)e->tx_bps);
	}
	/* swap: the old table becomes the spare for the next update */
	fs->spare = fs->tab;
	fs->spare_cap = fs->cap;
	fs->spare_gen = fs->gen;
	fs->tab = tab;
	fs->cap = cap;
	fs->gen = gen;
	fs->n = n;
	return 0;
}
