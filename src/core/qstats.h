/* Queue statistics the kernel keeps outside BPF: qdiscs (as tc -s qdisc shows them) and softnet per CPU. */
#ifndef PKTLENS_QSTATS_H
#define PKTLENS_QSTATS_H

#include <stddef.h>

#include "core/snapshot.h"

/* Fills rows for qdiscs on the given ifindexes (all when n_if is 0) in the current netns; returns
 * the count or a negative errno. */
int qdisc_read(const int *ifindexes, size_t n_if, struct qdisc_row *rows, size_t max);
/* Parses a /proc/net/softnet_stat style file (path NULL = the real one); returns the count. */
int softnet_read(const char *path, struct softnet_row *rows, size_t max);

#endif
