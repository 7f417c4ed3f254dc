/* The flow table's map side: reads the flows that changed (or the whole table), ages flows, counts evictions. */
#ifndef PKTLENS_FLOWMAPS_H
#define PKTLENS_FLOWMAPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/flowstore.h"
#include "shared/flow.h"
#include "shared/l7.h"

struct ring_buffer;

struct flow_reader {
	int fd;			  /* the flows map */
	uint32_t size;		  /* its max_entries (--flows) */
	struct ring_buffer *rb;	  /* flow_dirty */
	volatile uint32_t *epoch; /* the BPF programs' flow_epoch */
	uint32_t cur_epoch;
	uint64_t bump_ns;      /* when the epoch last moved */
	struct flow_key *keys; /* queued in flow_dirty since the last reading */
	size_t n_keys, cap_keys;
	struct flow_key *carry; /* read last time around the epoch change: read again */
	size_t n_carry, cap_carry;
	int read_once;
	int lost;		      /* a queued key found no memory: the whole table is read */
	uint64_t dirty_lost, created; /* the counters at the last reading */
	/* what the table did, for the snapshot */
	uint64_t aged_out, evicted, full_reads, dirty_reads;
	/*
	 * HTTP responses that aged-out flows still held (struct l7_flow): the records the
	 * programs would have sent for them (PL_L7K_HTTP_HELD), for the L7 model, taken by
	 * flow_reader_take_held(); held_total counts them since the start.
	 */
	struct l7_event *held;
	size_t n_held, cap_held;
	uint64_t held_total;
};

/* ring_fd: flow_dirty; epoch: the mmapped flow_epoch; size: the flows map's max_entries. */
int flow_reader_init(struct flow_reader *r, int map_fd, int ring_fd, volatile uint32_t *epoch,
		     uint32_t size);
void flow_reader_free(struct flow_reader *r);

/*
 * One reading into fs (between flowstore_begin and flowstore_end): the flows
 * queued since the last one, or the whole table when the queue overflowed
 * or the table is nearly full (then the kernel may have evicted flows, and
 * only a whole reading says which). c: the global counters, read before.
 * Flows idle for idle_s leave the kernel's table and the store.
 */
void flow_reader_read(struct flow_reader *r, struct flowstore *fs, const struct pl_counters *c,
		      uint64_t now_ns, double idle_s);

/*
 * The held responses of the flows the readings aged out (and of those flow_reader_keep_open
 * kept), as PL_L7K_HTTP_HELD records of PL_L7_EVENT_SIZE(0) bytes each (*n of them), since
 * the last call; valid until the next reading.
 */
const struct l7_event *flow_reader_take_held(struct flow_reader *r, size_t *n);
/* Keeps, for flow_reader_take_held, the held responses of every flow in fs as the table has them now. */
void flow_reader_keep_open(struct flow_reader *r, const struct flowstore *fs);

#endif
