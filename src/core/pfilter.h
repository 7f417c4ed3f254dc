/* Flow filters in tcpdump syntax (libpcap), matched against a synthetic packet of each flow direction. */
#ifndef PKTLENS_PFILTER_H
#define PKTLENS_PFILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/flow.h"

struct pfilter;

/* NULL with one sentence in err when expr does not compile. */
struct pfilter *pfilter__new(const char *expr, char *err, size_t errlen);
void pfilter__free(struct pfilter *f);
/* A flow matches when a packet of either direction would pass the filter. */
bool pfilter_match(const struct pfilter *f, const struct flow_key *key);

#endif
