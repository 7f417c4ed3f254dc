/* Per-flow histories kept by the model that owns them, read by snapshots without copying. */
#ifndef PKTLENS_HISTRING_H
#define PKTLENS_HISTRING_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SLOTS 64  /* samples a ring holds: the 60 a reader wants and 4 of slack */
#define HIST_SERIES 2  /* values per sample: rx and tx rates, or srtt and cwnd */
#define HIST_WINDOW 60 /* samples a reader gets (PL_HIST_LEN) */

/*
 * A history is a ring of samples indexed by refresh generation: the sample
 * of generation g lives in slot g % HIST_SLOTS. The owner writes a sample
 * only for a generation in which the value changed; a generation it skipped
 * reads as 0 (rates: an idle flow) or as the sample before it (hold: srtt).
 * So an idle flow costs nothing, and a snapshot of generation G reads the
 * window G-59..G however much later it reads it, as long as the owner has
 * not written 64 generations past G: slots it overwrote read as missing
 * (the history comes out shorter, never wrong). Rings are handed out with a
 * serial; a reader names the serial it was given, so a ring reused by
 * another flow reads as empty, and freed rings wait HIST_SLOTS generations
 * before reuse.
 */
/*
 * Samples are kept as 16-bit logarithms (256 steps an octave, 0.14% apart):
 * a sparkline needs far less, and a million flows' rings take half the
 * memory of floats.
 */
struct hist_ring {
	uint32_t serial;    /* 0: free */
	uint32_t first_gen; /* generation of the first sample */
	uint32_t last_gen;  /* generation of the newest sample */
	uint32_t freed_gen;
	uint16_t s[HIST_SERIES][HIST_SLOTS];
};

struct hist_pool {
	int refs; /* the owner and every snapshot that reads it */
	int hold; /* skipped generations repeat the previous sample (else read 0) */
	struct hist_ring *rings;
	uint32_t n, cap;	    /* rings in use or waiting, allocated */
	uint32_t *free_q;	    /* freed ring indexes, oldest first (a circular queue) */
	uint32_t fq_head, fq_count; /* of cap entries */
	uint32_t next_serial;
};

/* hold: 1 for values that persist (srtt, cwnd), 0 for rates. NULL when out of memory. */
struct hist_pool *hist_pool__new(int hold);
struct hist_pool *hist_pool_get(struct hist_pool *p);
void hist_pool_put(struct hist_pool *p);

/* A ring for a new history starting at gen; returns its index + 1 (0: out of memory). *serial
 * receives the serial a reader must name. */
uint32_t hist_alloc(struct hist_pool *p, uint32_t gen, uint32_t *serial);
/* Gives a ring back at generation gen (readers still holding its serial read nothing once reused). */
void hist_free(struct hist_pool *p, uint32_t ring, uint32_t gen);
/* The sample of generation gen (>= the ring's newest): values[HIST_SERIES]. */
void hist_write(struct hist_pool *p, uint32_t ring, uint32_t gen, const float *values);
/* Newest sample's generation of a ring (to tell when a rate history is all zeros). */
uint32_t hist_last_gen(const struct hist_pool *p, uint32_t ring);

/*
 * The window of generation gen of one series, oldest first, into out (HIST_WINDOW floats);
 * returns how many samples are there (0 when the ring is not that serial's any more).
 */
size_t hist_read(const struct hist_pool *p, uint32_t ring, uint32_t serial, uint32_t gen,
		 int series, float *out);

#endif
