/* The one map layer: whole-map reads in batches (get_next_key where the kernel has no batches), per-CPU sums. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/maps.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal "not supported", as some map types answer a batch call */
#endif

static int use_batch = 1;

void maps_set_batch(int on)
{
	use_batch = on;
}

int maps_ncpu(void)
{
	static int ncpu;
	if (!ncpu) {
		int n = libbpf_num_possible_cpus();
		ncpu = n > 0 ? n : 1;
	}
	return ncpu;
}

int maps_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = obj ? bpf_object__find_map_by_name(obj, name) : NULL;
	return map ? bpf_map__fd(map) : -1;
}

size_t maps_max_entries(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
}

/* Bytes the kernel hands over per entry: per-CPU maps give each CPU's value, 8-byte aligned. */
static size_t raw_stride(const struct maps_desc *m)
{
	if (m->sum == MAPS_PLAIN)
		return m->vsz;
	return ((m->vsz + 7) & ~(size_t)7) * (size_t)maps_ncpu();
}

/* Sums each entry's per-CPU values into out (n entries of vsz bytes). */
static void sum_values(const struct maps_desc *m, const unsigned char *raw, unsigned char *out,
		       size_t n)
{
	size_t per = (m->vsz + 7) & ~(size_t)7, stride = raw_stride(m);
	int ncpu = maps_ncpu();
	for (size_t i = 0; i < n; i++) {
		const unsigned char *src = raw + i * stride;
		unsigned char *dst = out + i * m->vsz;
		if (m->sum == MAPS_SUM_U64) {
			for (size_t w = 0; w + 8 <= m->vsz; w += 8) {
				uint64_t s = 0, v;
				for (int c = 0; c < ncpu; c++) {
					memcpy(&v, src + (size_t)c * per + w, 8);
					s += v;
				}
				memcpy(dst + w, &s, 8);
			}
		} else {
			for (size_t w = 0; w + 4 <= m->vsz; w += 4) {
				uint32_t s = 0, v;
				for (int c = 0; c < ncpu; c++) {
					memcpy(&v, src + (size_t)c * per + w, 4);
					s += v;
				}
				memcpy(dst + w, &s, 4);
			}
		}
	}
}

struct chunk {
	unsigned char *keys, *raw, *sum, *tok_in, *tok_out;
};

static int chunk_alloc(const struct maps_desc *m, struct chunk *c)
{
	/* batch tokens: a bucket (u32) for hash maps, a key for the generic implementation */
	size_t tok = m->ksz > 8 ? m->ksz : 8;
	memset(c, 0, sizeof(*c));
	c->keys = malloc(MAPS_CHUNK * m->ksz + 2 * tok);
	c->raw = malloc(MAPS_CHUNK * raw_stride(m));
	if (m->sum != MAPS_PLAIN)
		c->sum = malloc(MAPS_CHUNK * m->vsz);
	if (!c->keys || !c->raw || (m->sum != MAPS_PLAIN && !c->sum))
		return -ENOMEM;
	c->tok_in = c->keys + MAPS_CHUNK * m->ksz;
	c->tok_out = c->tok_in + tok;
	memset(c->tok_in, 0, 2 * tok);
	return 0;
}

static void chunk_free(struct chunk *c)
{
	free(c->keys);
	free(c->raw);
	free(c->sum);
}

static int deliver(const struct maps_desc *m, struct chunk *c, size_t n, maps_chunk_fn fn,
		   void *ctx)
{
	if (!n)
		return 0;
	if (m->sum == MAPS_PLAIN)
		return fn(ctx, c->keys, c->raw, n);
	sum_values(m, c->raw, c->sum, n);
	return fn(ctx, c->keys, c->sum, n);
}

/*
 * get_next_key, then a lookup per key. A key deleted between the two calls
 * is skipped; one deleted while it is the cursor makes the kernel start over
 * from the first key (hash maps), so the walk is bounded by max_entries.
 */
static long walk_keys(const struct maps_desc *m, struct chunk *c, maps_chunk_fn fn, void *ctx)
{
	size_t stride = raw_stride(m), in_chunk = 0, max = maps_max_entries(m->fd);
	long total = 0;
	unsigned char *prev = c->tok_in, *cur = c->tok_out;
	const void *pk = NULL;
	size_t steps = 0;
	while (steps++ <= 2 * max + 1 && !bpf_map_get_next_key(m->fd, pk, cur)) {
		if (!bpf_map_lookup_elem(m->fd, cur, c->raw + in_chunk * stride)) {
			memcpy(c->keys + in_chunk * m->ksz, cur, m->ksz);
			if (++in_chunk == MAPS_CHUNK) {
				total += (long)in_chunk;
				if (deliver(m, c, in_chunk, fn, ctx))
					return total;
				in_chunk = 0;
			}
		}
		unsigned char *t = prev;
		prev = cur;
		cur = t;
		pk = prev;
	}
	total += (long)in_chunk;
	deliver(m, c, in_chunk, fn, ctx);
	return total;
}

long maps_for_each(const struct maps_desc *m, maps_chunk_fn fn, void *ctx)
{
	struct chunk c;
	long total = 0;
	int first = 1;
	if (m->fd < 0)
		return -EBADF;
	if (chunk_alloc(m, &c)) {
		chunk_free(&c);
		return -ENOMEM;
	}
	if (!use_batch)
		goto fallback;
	size_t tok = m->ksz > 8 ? m->ksz : 8;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	for (;;) {
		__u32 cnt = MAPS_CHUNK;
		int ret = bpf_map_lookup_batch(m->fd, first ? NULL : c.tok_in, c.tok_out, c.keys,
					       c.raw, &cnt, &bo);
		int err = ret ? errno : 0;
		if (ret && err != ENOENT) {
			/* no batch operations for this map on this kernel: walk the keys */
			if (first && (err == EINVAL || err == EOPNOTSUPP || err == ENOTSUPP))
				goto fallback;
			if (first) {
				total = -err;
				goto out;
			}
			break;
		}
		total += cnt;
		if (deliver(m, &c, cnt, fn, ctx) || ret)
			break; /* ENOENT: that was the last batch */
		memcpy(c.tok_in, c.tok_out, tok);
		first = 0;
	}
	goto out;
fallback:
	total = walk_keys(m, &c, fn, ctx);
out:
	chunk_free(&c);
	return total;
}

struct into_arrays {
	const struct maps_desc *m;
	unsigned char *keys, *vals;
	size_t n, max;
};

static int copy_out(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct into_arrays *a = ctx;
	size_t room = a->max - a->n, take = n < room ? n : room;
	memcpy(a->keys + a->n * a->m->ksz, keys, take * a->m->ksz);
	memcpy(a->vals + a->n * a->m->vsz, vals, take * a->m->vsz);
	a->n += take;
	return a->n == a->max;
}

size_t maps_read_all(const struct maps_desc *m, void *keys, void *vals, size_t max)
{
	struct into_arrays a = { .m = m, .keys = keys, .vals = vals, .max = max };
	if (!max)
		return 0;
	maps_for_each(m, copy_out, &a);
	return a.n;
}

struct growing {
	const struct maps_desc *m;
	void **keys, **vals;
	size_t *cap, n;
	int oom;
};

static int append(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct growing *g = ctx;
	if (g->n + n > *g->cap) {
		size_t cap = *g->cap ? *g->cap : 64;
		while (cap < g->n + n)
			cap *= 2;
		void *k = realloc(*g->keys, cap * g->m->ksz);
		if (k)
			*g->keys = k;
		void *v = k ? realloc(*g->vals, cap * g->m->vsz) : NULL;
		if (v)
			*g->vals = v;
		if (!k || !v) {
			g->oom = 1;
			return 1;
		}
		*g->cap = cap;
	}
	memcpy((unsigned char *)*g->keys + g->n * g->m->ksz, keys, n * g->m->ksz);
	memcpy((unsigned char *)*g->vals + g->n * g->m->vsz, vals, n * g->m->vsz);
	g->n += n;
	return 0;
}

long maps_read_grow(const struct maps_desc *m, void **keys, void **vals, size_t *cap)
{
	struct growing g = { .m = m, .keys = keys, .vals = vals, .cap = cap };
	long ret = maps_for_each(m, append, &g);
	if (g.oom)
		return -ENOMEM;
	return ret < 0 ? ret : (long)g.n;
}

int maps_lookup_sum(const struct maps_desc *m, const void *key, void *sum)
{
	if (m->fd < 0)
		return -EBADF;
	if (m->sum == MAPS_PLAIN)
		return bpf_map_lookup_elem(m->fd, key, sum) ? -errno : 0;
	unsigned char stack[4096], *raw = stack;
	size_t need = raw_stride(m);
	if (need > sizeof(stack) && !(raw = malloc(need)))
		return -ENOMEM;
	int ret = bpf_map_lookup_elem(m->fd, key, raw) ? -errno : 0;
	if (!ret)
		sum_values(m, raw, sum, 1);
	if (raw != stack)
		free(raw);
	return ret;
}
