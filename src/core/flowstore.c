/* The flow store: a hash of entries that stay in place; a reading touches the flows it changed, nothing else. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/flowstore.h"

#define FS_MIN_DT 0.05
/* A reading of a table that changes as it is read can hold a flow that is gone and its
 * successor at once, until the sweep: room for that many beyond the table's size. */
#define FS_SLACK 4096

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

int flowstore_init(struct flowstore *fs, uint32_t max)
{
	memset(fs, 0, sizeof(*fs));
	fs->max = max ? max : 1;
	uint32_t nb = 16;
	while (nb < fs->max && nb < (1u << 30))
		nb <<= 1;
	fs->buckets = calloc(nb, sizeof(*fs->buckets));
	fs->hist = hist_pool__new(0);
	if (!fs->buckets || !fs->hist) {
		flowstore_free(fs);
		return -ENOMEM;
	}
	fs->n_buckets = nb;
	return 0;
}

void flowstore_free(struct flowstore *fs)
{
	free(fs->e);
	free(fs->serials);
	free(fs->buckets);
	free(fs->changed);
	free(fs->active);
	free(fs->was_active);
	free(fs->idle_q);
	hist_pool_put(fs->hist);
	memset(fs, 0, sizeof(*fs));
}

static uint32_t *bucket(const struct flowstore *fs, const struct flow_key *k)
{
	return &fs->buckets[flow_key_hash(k) & (fs->n_buckets - 1)];
}

struct fs_entry *flowstore_find(const struct flowstore *fs, const struct flow_key *key)
{
	if (!fs->n_buckets)
		return NULL;
	for (uint32_t i = *bucket(fs, key); i; i = fs->e[i - 1].next)
		if (!memcmp(&fs->e[i - 1].key, key, sizeof(*key)))
			return &fs->e[i - 1];
	return NULL;
}

static int push_idx(uint32_t **arr, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		uint32_t *a = realloc(*arr, c * sizeof(*a));
		if (!a)
			return -1;
		*arr = a;
		*cap = c;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

void flowstore_touch(struct flowstore *fs, struct fs_entry *e)
{
	if (e->changed_gen == fs->gen)
		return;
	/* out of memory: the row stays as it was until the next change */
	if (!push_idx(&fs->changed, &fs->n_changed, &fs->cap_changed, flowstore_index(fs, e)))
		e->changed_gen = fs->gen;
}

/* The aging list: least recently changed at oldest, most recently at newest. */
static void lru_unlink(struct flowstore *fs, struct fs_entry *e)
{
	if (e->older)
		fs->e[e->older - 1].newer = e->newer;
	else
		fs->oldest = e->newer;
	if (e->newer)
		fs->e[e->newer - 1].older = e->older;
	else
		fs->newest = e->older;
	e->older = e->newer = 0;
}

static void lru_append(struct flowstore *fs, struct fs_entry *e)
{
	uint32_t i = flowstore_index(fs, e) + 1;
	e->older = fs->newest;
	e->newer = 0;
	if (fs->newest)
		fs->e[fs->newest - 1].newer = i;
	else
		fs->oldest = i;
	fs->newest = i;
}

void flowstore_begin(struct flowstore *fs, double dt)
{
	fs->gen++;
	if (!fs->gen)
		fs->gen = 1; /* 0 marks "never" in the entries */
	fs->dt = dt;
	fs->n_changed = 0;
	fs->not_stored_now = 0;
	/* last reading's active entries are the ones that may stop now */
	uint32_t *t = fs->was_active;
	size_t cap = fs->cap_was_active;
	fs->was_active = fs->active;
	fs->cap_was_active = fs->cap_active;
	fs->active = t;
	fs->cap_active = cap;
	fs->n_was_active = fs->n_active;
	fs->n_active = 0;
}

static struct fs_entry *new_entry(struct flowstore *fs, const struct flow_key *k)
{
	uint32_t idx;
	if (fs->n >= fs->max + FS_SLACK)
		return NULL;
	if (fs->free_head) {
		idx = fs->free_head - 1;
		fs->free_head = fs->e[idx].next;
	} else {
		if (fs->n_slots == fs->cap) {
			uint32_t cap = fs->cap ? fs->cap * 2 : 1024;
			if (cap > fs->max + FS_SLACK)
				cap = fs->max + FS_SLACK;
			if (cap <= fs->cap)
				return NULL;
			struct fs_entry *ne = realloc(fs->e, (size_t)cap * sizeof(*ne));
			if (!ne)
				return NULL;
			fs->e = ne;
			uint32_t *ns = realloc(fs->serials, (size_t)cap * sizeof(*ns));
			if (!ns)
				return NULL;
			fs->serials = ns;
			fs->cap = cap;
		}
		idx = fs->n_slots++;
	}
	struct fs_entry *e = &fs->e[idx];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	if (!++fs->next_serial)
		fs->next_serial = 1;
	e->serial = fs->next_serial;
	fs->serials[idx] = e->serial;
	e->keep = !fs->filter || fs->filter(fs->filter_ctx, k);
	uint32_t *b = bucket(fs, k);
	e->next = *b;
	*b = idx + 1;
	lru_append(fs, e);
	fs->n++;
	return e;
}

struct fs_entry *flowstore_put(struct flowstore *fs, const struct flow_key *k,
			       const struct flow_val *v)
{
	struct fs_entry *e = flowstore_find(fs, k);
	static const struct flow_val zero;
	const struct flow_val *base = &zero;
	if (!e) {
		if (!(e = new_entry(fs, k))) {
			fs->not_stored_now++;
			return NULL;
		}
	} else if (!memcmp(&e->val, v, sizeof(*v))) {
		e->put_gen = fs->gen;
		return e; /* nothing new: nothing to do */
	} else if (v->rx_packets >= e->val.rx_packets && v->tx_packets >= e->val.tx_packets) {
		base = &e->val;
	}
	/* A reading right after another (the last one on exit) says nothing new about rates:
	 * keep those of the last full interval. A flow read twice in one reading (a table
	 * that changed as it was read) adds the second growth to the first. */
	if (fs->dt >= FS_MIN_DT) {
		double dt = fs->dt;
		int again = e->moved_gen == fs->gen;
		double rx_pps = rate_per_s(base->rx_packets, v->rx_packets, dt);
		double rx_bps = 8 * rate_per_s(base->rx_bytes, v->rx_bytes, dt);
		double tx_pps = rate_per_s(base->tx_packets, v->tx_packets, dt);
		double tx_bps = 8 * rate_per_s(base->tx_bytes, v->tx_bytes, dt);
		e->rx_pps = (again ? e->rx_pps : 0) + rx_pps;
		e->rx_bps = (again ? e->rx_bps : 0) + rx_bps;
		e->tx_pps = (again ? e->tx_pps : 0) + tx_pps;
		e->tx_bps = (again ? e->tx_bps : 0) + tx_bps;
		int moving = e->rx_pps > 0 || e->tx_pps > 0;
		if (moving && !(e->active && again) &&
		    !push_idx(&fs->active, &fs->n_active, &fs->cap_active, flowstore_index(fs, e)))
			e->active = 1;
		else if (!moving)
			e->active = 0;
		e->moved_gen = fs->gen;
	}
	e->val = *v;
	e->put_gen = fs->gen;
	lru_unlink(fs, e);
	lru_append(fs, e);
	flowstore_touch(fs, e);
	return e;
}

void flowstore_remove(struct flowstore *fs, struct fs_entry *e)
{
	if (!e->serial)
		return;
	uint32_t idx = flowstore_index(fs, e);
	uint32_t *p = bucket(fs, &e->key);
	while (*p && *p != idx + 1)
		p = &fs->e[*p - 1].next;
	if (*p)
		*p = e->next;
	lru_unlink(fs, e);
	if (e->hist)
		hist_free(fs->hist, e->hist, fs->gen);
	e->serial = 0;
	fs->serials[idx] = 0;
	e->active = 0;
	e->hist = 0;
	e->next = fs->free_head;
	fs->free_head = idx + 1;
	fs->n--;
	fs->removed++;
}

size_t flowstore_sweep(struct flowstore *fs)
{
	size_t gone = 0;
	for (uint32_t i = 0; i < fs->n_slots; i++) {
		struct fs_entry *e = &fs->e[i];
		if (e->serial && e->put_gen != fs->gen) {
			flowstore_remove(fs, e);
			gone++;
		}
	}
	return gone;
}

struct fs_entry *flowstore_oldest_idle(struct flowstore *fs, uint64_t now_ns, double idle_s)
{
	if (!fs->oldest)
		return NULL;
	struct fs_entry *e = &fs->e[fs->oldest - 1];
	return flow_is_idle(e->val.last_seen_ns, now_ns, idle_s) ? e : NULL;
}

/* Remembers when a flow went idle, to free its history a window later. */
static void idle_push(struct flowstore *fs, uint32_t idx, uint32_t serial)
{
	if (fs->iq_n == fs->iq_cap) {
		size_t cap = fs->iq_cap ? fs->iq_cap * 2 : 1024;
		struct fs_idle *q = malloc(cap * sizeof(*q));
		if (!q)
			return; /* the ring stays until the flow goes */
		for (size_t i = 0; i < fs->iq_n; i++)
			q[i] = fs->idle_q[(fs->iq_head + i) % fs->iq_cap];
		free(fs->idle_q);
		fs->idle_q = q;
		fs->iq_head = 0;
		fs->iq_cap = cap;
	}
	fs->idle_q[(fs->iq_head + fs->iq_n) % fs->iq_cap] =
	    (struct fs_idle){ .idx = idx, .serial = serial, .gen = fs->gen };
	fs->iq_n++;
}

void flowstore_end(struct flowstore *fs)
{
	fs->not_stored = fs->not_stored_now;
	if (fs->dt < FS_MIN_DT) {
		/* rates stay: so do the lists of who has them */
		for (size_t i = 0; i < fs->n_was_active; i++) {
			struct fs_entry *e = &fs->e[fs->was_active[i]];
			if (e->serial && e->active && e->moved_gen != fs->gen)
				push_idx(&fs->active, &fs->n_active, &fs->cap_active,
					 fs->was_active[i]);
		}
		return;
	}
	/* flows that moved in the last reading and not in this one (read or not): rates 0 */
	for (size_t i = 0; i < fs->n_was_active; i++) {
		struct fs_entry *e = &fs->e[fs->was_active[i]];
		if (!e->serial || !e->active || e->moved_gen == fs->gen)
			continue;
		e->active = 0;
		e->rx_pps = e->rx_bps = e->tx_pps = e->tx_bps = 0;
		flowstore_touch(fs, e);
		idle_push(fs, fs->was_active[i], e->serial);
	}
	/* histories idle for a whole window are zeros: their rings go (readers then read none) */
	while (fs->iq_n) {
		struct fs_idle *q = &fs->idle_q[fs->iq_head];
		if (fs->gen - q->gen <= HIST_SLOTS)
			break;
		struct fs_entry *e = &fs->e[q->idx];
		if (e->serial == q->serial && !e->active && e->hist &&
		    hist_last_gen(fs->hist, e->hist) <= q->gen) {
			hist_free(fs->hist, e->hist, fs->gen);
			e->hist = 0;
		}
		fs->iq_head = (fs->iq_head + 1) % fs->iq_cap;
		fs->iq_n--;
	}
	/* a sample for each flow that moved; the others read as 0 without one */
	for (size_t i = 0; i < fs->n_active; i++) {
		struct fs_entry *e = &fs->e[fs->active[i]];
		if (!e->serial || !e->active)
			continue;
		if (e->hist && hist_last_gen(fs->hist, e->hist) + HIST_SLOTS < fs->gen) {
			/* idle for a whole window: its old ring goes, a new one starts */
			hist_free(fs->hist, e->hist, fs->gen);
			e->hist = 0;
		}
		if (!e->hist)
			e->hist = hist_alloc(fs->hist, fs->gen, &e->hist_serial);
		float s[HIST_SERIES] = { (float)e->rx_bps, (float)e->tx_bps };
		hist_write(fs->hist, e->hist, fs->gen, s);
	}
}
