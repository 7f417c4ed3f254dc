/* A small open-addressing hash table of fixed-size keys and values, for the detection model's state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/sectab.h"

uint64_t sectab_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	/* FNV's low bits mix poorly for keys that differ only in their last bytes */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}

int sectab_init(struct sectab *t, size_t ksz, size_t vsz, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->ksz = ksz;
	t->vsz = vsz;
	t->koff = 8; /* the used byte, padded so that keys and values stay 8-byte aligned */
	t->stride = (t->koff + ksz + vsz + 7) & ~(size_t)7;
	t->max = max;
	return 0;
}

void sectab_free(struct sectab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

void sectab_clear(struct sectab *t)
{
	if (t->slots)
		memset(t->slots, 0, t->cap * t->stride);
	t->n = 0;
}

static size_t find_slot(const struct sectab *t, const void *key, int *found)
{
	size_t mask = t->cap - 1;
	size_t i = (size_t)sectab_hash(key, t->ksz) & mask;
	for (;;) {
		if (!sectab_used(t, i)) {
			*found = 0;
			return i;
		}
		if (!memcmp(sectab_key(t, i), key, t->ksz)) {
			*found = 1;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static int grow(struct sectab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 16;
	uint8_t *ns = calloc(ncap, t->stride);
	if (!ns)
		return -ENOMEM;
	struct sectab old = *t;
	t->slots = ns;
	t->cap = ncap;
	t->n = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (!sectab_used(&old, i))
			continue;
		int found;
		size_t j = find_slot(t, sectab_key(&old, i), &found);
		memcpy(t->slots + j * t->stride, old.slots + i * old.stride, t->stride);
		t->n++;
	}
	free(old.slots);
	return 0;
}

void *sectab_get(const struct sectab *t, const void *key)
{
	if (!t->n)
		return NULL;
	int found;
	size_t i = find_slot(t, key, &found);
	return found ? sectab_val(t, i) : NULL;
}

void *sectab_put(struct sectab *t, const void *key, int *created)
{
	int found;
	*created = 0;
	if (t->n) {
		size_t i = find_slot(t, key, &found);
		if (found)
			return sectab_val(t, i);
	}
	if (t->n >= t->max)
		return NULL;
	/* at most half full: probe chains stay short */
	if ((t->n + 1) * 2 > t->cap && grow(t))
		return NULL;
	size_t i = find_slot(t, key, &found);
	uint8_t *s = t->slots + i * t->stride;
	memset(s, 0, t->stride);
	s[0] = 1;
	memcpy(s + t->koff, key, t->ksz);
	t->n++;
	*created = 1;
	return s + t->koff + t->ksz;
}

int sectab_del(struct sectab *t, const void *key)
{
	if (!t->n)
		return 0;
	int found;
	size_t mask = t->cap - 1, i = find_slot(t, key, &found);
	if (!found)
		return 0;
	/* backward shift: pull later members of the probe chain into the hole */
	size_t j = i;
	for (;;) {
		memset(t->slots + i * t->stride, 0, t->stride);
		for (;;) {
			j = (j + 1) & mask;
			if (!sectab_used(t, j))
				goto done;
			size_t home = (size_t)sectab_hash(sectab_key(t, j), t->ksz) & mask;
			/* j stays when its home lies cyclically in (i, j] */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		memcpy(t->slots + i * t->stride, t->slots + j * t->stride, t->stride);
		i = j;
	}
done:
	t->n--;
	return 1;
}
