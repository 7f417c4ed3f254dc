/* The one place that builds flow rows: one pass over the flows that changed, the others kept in place. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/flowrow.h"

void flowrows_init(struct flowrows *fr)
{
	memset(fr, 0, sizeof(*fr));
	fr->order = -1;
	fr->turn_min = FLOWROW_TURN;
}

/*
 * The rows built in a refresh, a scratch area: mapped, not malloc'd, so that
 * the hundreds of megabytes a refresh of a million changed flows takes go
 * back to the system once refreshes need less (the engine keeps the heap's
 * big blocks for the snapshots' reuse).
 */
static void fresh_release(struct flowrows *fr)
{
	if (fr->fresh)
		munmap(fr->fresh, fr->cap_fresh * sizeof(*fr->fresh));
	fr->fresh = NULL;
	fr->cap_fresh = 0;
}

void flowrows_free(struct flowrows *fr)
{
	fresh_release(fr);
	free(fr->ord);
	free(fr->fresh_of);
	snapshot_put(fr->prev);
	memset(fr, 0, sizeof(*fr));
}

void flowrows_set_order(struct flowrows *fr, int key, int desc)
{
	if (key >= FS_MAX)
		key = -1;
	if (key == fr->order && (key < 0 || !desc == !fr->desc))
		return;
	fr->order = key;
	fr->desc = !!desc;
	fr->rebuild = 1;
}

static int row_cmp(const struct flowrows *fr, const struct flow_row *a, const struct flow_row *b)
{
	int r = flow_row_cmp(a, b, (enum flow_sort)fr->order);
	return fr->desc ? -r : r;
}

static int cmp_fresh(const void *pa, const void *pb, void *arg)
{
	const struct flowrows *fr = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	int r = row_cmp(fr, &fr->fresh[a], &fr->fresh[b]);
	return r ? r : (a > b) - (a < b);
}

static int room(struct flowrows *fr, size_t rows, size_t slots)
{
	if (rows > fr->cap_fresh) {
		size_t cap = fr->cap_fresh ? fr->cap_fresh : 1024;
		while (cap < rows)
			cap *= 2;
		fresh_release(fr);
		void *f = mmap(NULL, cap * sizeof(*fr->fresh), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint32_t *o = realloc(fr->ord, cap * sizeof(*o));
		if (o)
			fr->ord = o;
		if (f == MAP_FAILED || !o) {
			if (f != MAP_FAILED)
				munmap(f, cap * sizeof(*fr->fresh));
			return -ENOMEM;
		}
		fr->fresh = f;
		fr->cap_fresh = cap;
	}
	if (slots > fr->cap_slots) {
		size_t cap = fr->cap_slots ? fr->cap_slots : 1024;
		while (cap < slots)
			cap *= 2;
		uint32_t *s = realloc(fr->fresh_of, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		memset(s + fr->cap_slots, 0, (cap - fr->cap_slots) * sizeof(*s));
		fr->fresh_of = s;
		fr->cap_slots = cap;
	}
	return 0;
}

static void iface_name(struct flowrows *fr, const struct flowrows_ctx *c, uint32_t ifindex,
		       char out[16])
{
	for (size_t i = 0; i < c->n_ifaces; i++) {
		if ((uint32_t)c->ifindexes[i] == ifindex) {
			memcpy(out, c->ifnames[i], 16);
			return;
		}
	}
	for (uint32_t i = 0; i < fr->n_ifcache; i++) {
		if (fr->ifcache[i].ifindex == ifindex) {
			memcpy(out, fr->ifcache[i].name, 16);
			return;
		}
	}
	char buf[IF_NAMESIZE];
	if (if_indextoname(ifindex, buf))
		snprintf(out, 16, "%s", buf);
	else
		snprintf(out, 16, "if%u", ifindex);
	if (fr->n_ifcache < FLOWROW_IFCACHE) {
		fr->ifcache[fr->n_ifcache].ifindex = ifindex;
		memcpy(fr->ifcache[fr->n_ifcache++].name, out, 16);
	}
}

/* Dotted quad without printf: inet_ntop formats IPv4 through sprintf, a third of a row. */
static void ip4_str(const uint8_t *a, char *out)
{
	char *o = out;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		*o++ = i < 3 ? '.' : '\0';
	}
}

static void addr_str(const uint8_t *a, uint8_t family, char *out, size_t len)
{
	if (family == PL_AF_INET && len >= 16)
		ip4_str(a, out);
	else if (!inet_ntop(family == PL_AF_INET ? AF_INET : AF_INET6, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

/* A flow's row: what the store knows, then what each model knows, in the ops table's order. */
static void build_row(struct flowrows *fr, const struct flowrows_ctx *c, const struct fs_entry *e,
		      uint32_t slot, struct flow_row *r)
{
	memset(r, 0, sizeof(*r));
	r->key = e->key;
	r->slot = slot;
	r->serial = e->serial;
	iface_name(fr, c, e->key.ifindex, r->iface);
	addr_str(e->key.local, e->key.family, r->local, sizeof(r->local));
	addr_str(e->key.remote, e->key.family, r->remote, sizeof(r->remote));
	r->rx_packets = e->val.rx_packets;
	r->rx_bytes = e->val.rx_bytes;
	r->tx_packets = e->val.tx_packets;
	r->tx_bytes = e->val.tx_bytes;
	r->rx_pps = e->rx_pps;
	r->rx_bps = e->rx_bps;
	r->tx_pps = e->tx_pps;
	r->tx_bps = e->tx_bps;
	r->tcp_flags = e->val.tcp_flags;
	r->first_seen = ((double)e->val.first_seen_ns - (double)c->start_ns) / 1e9;
	r->last_seen = ((double)e->val.last_seen_ns - (double)c->start_ns) / 1e9;
	r->ooo = e->val.ooo;
	r->dup = e->val.dup;
	r->retrans_rx = e->val.rx_retrans;
	r->zero_win = e->val.zero_win;
	r->hist = e->hist;
	r->hist_serial = e->hist_serial;
	for (size_t m = 0; m < pl_n_models; m++)
		if (pl_models[m]->fill)
			pl_models[m]->fill(c->models[m], r);
}

/*
 * The rows whose turn it is: up to a sixteenth of the flows (at least
 * FLOWROW_TURN), while what some model knows about flows changed within the
 * last round of turns. On a host where nothing changes, idle flows cost no
 * build at all.
 */
static void take_turns(struct flowrows *fr, const struct flowrows_ctx *c, struct flowstore *fs)
{
	uint64_t v = 0;
	int always = 0;
	for (size_t m = 0; m < pl_n_models; m++) {
		if (pl_models[m]->version)
			v = v * 1000003 + pl_models[m]->version(c->models[m]);
		else
			always = 1;
	}
	if (always || v != fr->version) {
		fr->turns_left = fs->n; /* a whole round from now */
		fr->version = v;
	}
	if (!fs->n_slots || !fr->turns_left)
		return;
	uint32_t budget = fs->n / 16 > fr->turn_min ? fs->n / 16 : fr->turn_min;
	if (budget > fr->turns_left)
		budget = fr->turns_left;
	fr->turns_left -= budget;
	uint32_t i = fr->turn % fs->n_slots;
	for (uint32_t seen = 0; seen < fs->n_slots && budget; seen++) {
		struct fs_entry *e = &fs->e[i];
		if (e->serial && e->keep) {
			flowstore_touch(fs, e);
			budget--;
		}
		if (++i == fs->n_slots)
			i = 0;
	}
	fr->turn = i;
}

/*
 * A row of the previous snapshot that still stands: its flow is there and did not change (a
 * flow's filter verdict never changes). Two dense arrays, not the entries: this runs for
 * every row of every refresh.
 */
static int kept(const struct flowrows *fr, const struct flowstore *fs, const struct flow_row *p)
{
	return p->slot < fs->n_slots && fs->serials[p->slot] == p->serial && !fr->fresh_of[p->slot];
}

static void emit(const struct flowrows_ctx *c, struct snapshot *s, const struct flow_row *r)
{
	struct flow_row *o = &s->flows[s->n_flows++];
	*o = *r;
	for (size_t m = 0; m < pl_n_models; m++)
		if (pl_models[m]->count)
			pl_models[m]->count(c->models[m], o, s);
}

int flowrows_build(struct flowrows *fr, const struct flowrows_ctx *c, struct snapshot *s)
{
	struct flowstore *fs = c->fs;
	const struct snapshot *prev = fr->rebuild ? NULL : fr->prev;
	int ret = 0;

	if (!prev) {
		for (uint32_t i = 0; i < fs->n_slots; i++)
			if (fs->e[i].serial && fs->e[i].keep)
				flowstore_touch(fs, &fs->e[i]);
	} else {
		take_turns(fr, c, fs);
	}
	s->flows = NULL;
	s->n_flows = 0;
	fr->n_ifcache = 0; /* an interface renamed or gone shows at the next refresh */
	if (room(fr, fs->n_changed, fs->n_slots)) {
		ret = -ENOMEM;
		goto out;
	}

	/* one pass over the flows whose rows change */
	size_t k = 0;
	for (size_t i = 0; i < fs->n_changed; i++) {
		uint32_t slot = fs->changed[i];
		const struct fs_entry *e = &fs->e[slot];
		if (!e->serial || !e->keep || fr->fresh_of[slot])
			continue;
		build_row(fr, c, e, slot, &fr->fresh[k]);
		fr->ord[k] = (uint32_t)k;
		fr->fresh_of[slot] = (uint32_t)++k;
	}
	if (fr->order >= 0 && k > 1)
		qsort_r(fr->ord, k, sizeof(*fr->ord), cmp_fresh, fr);

	/* the snapshot: the previous rows that stand, merged with the new ones */
	if (!snapshot_rows_alloc(s, fs->n)) {
		ret = -ENOMEM;
		goto out;
	}
	size_t pi = 0, np = prev ? prev->n_flows : 0, j = 0;
	if (fr->order >= 0) {
		while (pi < np || j < k) {
			while (pi < np && !kept(fr, fs, &prev->flows[pi]))
				pi++;
			if (pi < np &&
			    (j == k || row_cmp(fr, &prev->flows[pi], &fr->fresh[fr->ord[j]]) <= 0))
				emit(c, s, &prev->flows[pi++]);
			else if (j < k)
				emit(c, s, &fr->fresh[fr->ord[j++]]);
		}
	} else {
		/* no order asked for: a flow keeps its place, new ones come last */
		uint8_t *done = k ? calloc(k, 1) : NULL;
		for (; pi < np; pi++) {
			const struct flow_row *p = &prev->flows[pi];
			if (kept(fr, fs, p)) {
				emit(c, s, p);
			} else if (done && p->slot < fs->n_slots && fr->fresh_of[p->slot]) {
				uint32_t f = fr->fresh_of[p->slot] - 1;
				if (fr->fresh[f].serial == p->serial && !done[f]) {
					emit(c, s, &fr->fresh[f]);
					done[f] = 1;
				}
			}
		}
		for (j = 0; j < k; j++)
			if (!done || !done[j])
				emit(c, s, &fr->fresh[j]);
		free(done);
	}
	fr->rebuild = 0;
	if (fr->cap_fresh > 65536 && k < fr->cap_fresh / 8)
		fresh_release(fr);
out:
	for (size_t i = 0; i < fs->n_changed; i++)
		if (fs->changed[i] < fr->cap_slots)
			fr->fresh_of[fs->changed[i]] = 0;
	if (ret) {
		/* no rows rather than some: the snapshot says how many flows it lacks */
		if (s->flows_cap)
			munmap(s->flows, s->flows_cap * sizeof(*s->flows));
		else
			free(s->flows);
		s->flows = NULL;
		s->flows_cap = 0;
		s->n_flows = 0;
		for (uint32_t i = 0; i < fs->n_slots; i++)
			s->ftab.not_shown += fs->e[i].serial && fs->e[i].keep;
		fr->rebuild = 1;
	}
	s->ftab.not_shown += fs->not_stored;
	snapshot_put(fr->prev);
	fr->prev = snapshot_get(s);
	return ret;
}
