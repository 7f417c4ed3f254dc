/* A small open-addressing hash table of fixed-size keys and values, for the detection model's state. */
#ifndef PKTLENS_SECTAB_H
#define PKTLENS_SECTAB_H

#include <stddef.h>
#include <stdint.h>

/*
 * Linear probing with backward-shift deletion (no tombstones), so a table
 * that churns (sources that come and go under a flood) never degrades.
 * Keys are compared as bytes: callers zero their padding. The table grows
 * by doubling up to max entries; at max, inserts fail and the caller
 * evicts what it values least.
 */
struct sectab {
	uint8_t *slots; /* cap * stride bytes: [used][pad...][key][value] */
	size_t cap, n, max;
	size_t ksz, vsz, stride, koff;
};

int sectab_init(struct sectab *t, size_t ksz, size_t vsz, size_t max);
void sectab_free(struct sectab *t);
void sectab_clear(struct sectab *t);
/* The value of key, or NULL. */
void *sectab_get(const struct sectab *t, const void *key);
/* The value of key, created zeroed if missing (*created = 1); NULL when full or out of memory. */
void *sectab_put(struct sectab *t, const void *key, int *created);
/* Removes key; 1 when it was there. */
int sectab_del(struct sectab *t, const void *key);

/* Iteration: i from 0 while i < t->cap; slots that are used give key and value. */
static inline int sectab_used(const struct sectab *t, size_t i)
{
	return t->slots && t->slots[i * t->stride];
}
static inline void *sectab_key(const struct sectab *t, size_t i)
{
	return t->slots + i * t->stride + t->koff;
}
static inline void *sectab_val(const struct sectab *t, size_t i)
{
	return t->slots + i * t->stride + t->koff + t->ksz;
}

uint64_t sectab_hash(const void *p, size_t n);

#endif
