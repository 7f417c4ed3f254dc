/* Per-flow histories: rings indexed by refresh generation, written only when a value changed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/histring.h"

/* 0 for 0 (and below); else 2^((code - 32768) / 256), so 2^-128 .. 2^128. */
static uint16_t encode(float v)
{
	if (!(v > 0))
		return 0;
	long c = lrintf(log2f(v) * 256.0f) + 32768;
	return (uint16_t)(c < 1 ? 1 : c > 65535 ? 65535 : c);
}

static float decode(uint16_t c, int whole)
{
	if (!c)
		return 0;
	float v = exp2f(((float)c - 32768.0f) / 256.0f);
	/* counts (srtt in us, cwnd) come back as the integers they were */
	return whole && v >= 1 ? rintf(v) : v;
}

struct hist_pool *hist_pool__new(int hold)
{
	struct hist_pool *p = calloc(1, sizeof(*p));
	if (p) {
		p->refs = 1;
		p->hold = hold;
	}
	return p;
}

struct hist_pool *hist_pool_get(struct hist_pool *p)
{
	if (p)
		p->refs++;
	return p;
}

void hist_pool_put(struct hist_pool *p)
{
	if (!p || --p->refs > 0)
		return;
	free(p->rings);
	free(p->free_q);
	free(p);
}

static int grow(struct hist_pool *p)
{
	uint32_t cap = p->cap ? p->cap * 2 : 256;
	struct hist_ring *r = realloc(p->rings, (size_t)cap * sizeof(*r));
	if (!r)
		return -1;
	p->rings = r;
	uint32_t *q = malloc((size_t)cap * sizeof(*q));
	if (!q)
		return -1;
	/* the queue keeps its order from its head */
	for (uint32_t i = 0; i < p->fq_count; i++)
		q[i] = p->free_q[(p->fq_head + i) % p->cap];
	free(p->free_q);
	p->free_q = q;
	p->fq_head = 0;
	p->cap = cap;
	return 0;
}

uint32_t hist_alloc(struct hist_pool *p, uint32_t gen, uint32_t *serial)
{
	uint32_t idx;
	/* the oldest freed ring, once no reader of a recent generation can be reading it */
	if (p->fq_count && gen - p->rings[p->free_q[p->fq_head]].freed_gen > HIST_SLOTS) {
		idx = p->free_q[p->fq_head];
		p->fq_head = (p->fq_head + 1) % p->cap;
		p->fq_count--;
	} else {
		if (p->n == p->cap && grow(p))
			return 0;
		idx = p->n++;
	}
	struct hist_ring *r = &p->rings[idx];
	if (!++p->next_serial)
		p->next_serial = 1;
	r->serial = p->next_serial;
	r->first_gen = gen;
	r->last_gen = gen - 1; /* no sample yet */
	r->freed_gen = 0;
	*serial = r->serial;
	return idx + 1;
}

void hist_free(struct hist_pool *p, uint32_t ring, uint32_t gen)
{
	if (!ring || ring > p->n)
		return;
	struct hist_ring *r = &p->rings[ring - 1];
	/* readers keep reading it until it is handed out again (they check the serial then) */
	r->freed_gen = gen;
	p->free_q[(p->fq_head + p->fq_count) % p->cap] = ring - 1;
	p->fq_count++;
}

static int has_samples(const struct hist_ring *r)
{
	return (int32_t)(r->last_gen - r->first_gen) >= 0;
}

void hist_write(struct hist_pool *p, uint32_t ring, uint32_t gen, const float *values)
{
	if (!ring || ring > p->n)
		return;
	struct hist_ring *r = &p->rings[ring - 1];
	if ((int32_t)(gen - r->first_gen) < 0)
		return;
	if (has_samples(r) && (int32_t)(gen - r->last_gen) < 0)
		return; /* generations only go forward */
	/* the generations skipped since the last sample: 0, or that sample again */
	uint32_t from = has_samples(r) ? r->last_gen + 1 : r->first_gen;
	if (gen - from > HIST_SLOTS)
		from = gen - HIST_SLOTS;
	for (int s = 0; s < HIST_SERIES; s++) {
		uint16_t fill = p->hold && has_samples(r) ? r->s[s][r->last_gen % HIST_SLOTS] : 0;
		for (uint32_t g = from; g != gen; g++)
			r->s[s][g % HIST_SLOTS] = fill;
		r->s[s][gen % HIST_SLOTS] = encode(values[s]);
	}
	r->last_gen = gen;
}

uint32_t hist_last_gen(const struct hist_pool *p, uint32_t ring)
{
	if (!ring || ring > p->n)
		return 0;
	return p->rings[ring - 1].last_gen;
}

size_t hist_read(const struct hist_pool *p, uint32_t ring, uint32_t serial, uint32_t gen,
		 int series, float *out)
{
	if (!p || !ring || ring > p->n || series < 0 || series >= HIST_SERIES)
		return 0;
	const struct hist_ring *r = &p->rings[ring - 1];
	if (r->serial != serial || (int32_t)(gen - r->first_gen) < 0)
		return 0;
	/* the window: from gen - 59, not before the first sample */
	uint32_t lo = gen - (HIST_WINDOW - 1);
	if ((int32_t)(lo - r->first_gen) < 0)
		lo = r->first_gen;
	int samples = has_samples(r);
	/* slots written more than HIST_SLOTS generations after lo hold newer samples now */
	if (samples && (int32_t)(r->last_gen - HIST_SLOTS - lo) >= 0) {
		lo = r->last_gen - HIST_SLOTS + 1;
		if ((int32_t)(gen - lo) < 0)
			return 0;
	}
	size_t n = 0;
	for (uint32_t g = lo;; g++) {
		uint16_t v;
		if (samples && (int32_t)(g - r->last_gen) <= 0)
			v = r->s[series][g % HIST_SLOTS];
		else if (samples && p->hold)
			v = r->s[series][r->last_gen % HIST_SLOTS];
		else
			v = 0;
		out[n++] = decode(v, p->hold);
		if (g == gen)
			break;
	}
	return n;
}
