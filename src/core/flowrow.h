/* The one place that builds flow rows: the flows that changed, filled by every model, merged in view order. */
#ifndef PKTLENS_FLOWROW_H
#define PKTLENS_FLOWROW_H

#include <stddef.h>
#include <stdint.h>

#include "core/flowstore.h"
#include "core/model.h"
#include "core/snapshot.h"

/*
 * A refresh builds rows only for flows whose row changes: the flow store's
 * changed entries (read with new counters, gone idle, new), and, when a
 * model's version moved, a turn of the others (at least FLOWROW_TURN a
 * refresh, and all of them within 16 refreshes) so that what the models know
 * about idle flows (a process found later, a socket closed) reaches them. Every other row is the
 * previous snapshot's, copied. The snapshot's rows come in the order the
 * view asked for (flow_row_cmp), so that a list sorted by the same key
 * finds them sorted.
 */
#define FLOWROW_TURN 1024
#define FLOWROW_IFCACHE 16

struct flowrows {
	int order; /* enum flow_sort, or -1: no order (new flows at the end) */
	int desc;
	int rebuild; /* build every row at the next refresh (order changed, rows missing) */
	struct flow_row *fresh;
	size_t cap_fresh;
	uint32_t *ord;	    /* fresh rows in view order */
	uint32_t *fresh_of; /* per store slot: index + 1 of its row built now, 0 */
	size_t cap_slots;
	uint32_t turn;	     /* the next store slot whose row is built for its turn */
	uint32_t turn_min;   /* FLOWROW_TURN (tests set less) */
	uint64_t version;    /* the models' versions at the last turn */
	uint32_t turns_left; /* rows to build before a round of turns is done */
	struct snapshot *prev;
	/* names of interfaces outside the watched list, looked up once a refresh: if_indextoname
	 * is a socket, an ioctl and a close, 4 us a row */
	struct {
		uint32_t ifindex;
		char name[16];
	} ifcache[FLOWROW_IFCACHE];
	uint32_t n_ifcache;
};

struct flowrows_ctx {
	struct flowstore *fs;
	uint64_t start_ns;
	const int *ifindexes; /* the watched interfaces' names, without a lookup per flow */
	const char (*ifnames)[16];
	size_t n_ifaces;
	void *const *models; /* instances of pl_models */
};

void flowrows_init(struct flowrows *fr);
void flowrows_free(struct flowrows *fr);
/* key: enum flow_sort, desc: biggest first; key < 0: no order. */
void flowrows_set_order(struct flowrows *fr, int key, int desc);
/*
 * Builds s->flows from the store's current reading and every model's fill
 * and count; s's model parts must be there (the models read before).
 * Returns 0, or -ENOMEM with s->flows empty and s->ftab.not_shown saying
 * how many flows it could not show.
 */
int flowrows_build(struct flowrows *fr, const struct flowrows_ctx *c, struct snapshot *s);

#endif
