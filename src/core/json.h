/* The JSON snapshot writer (contract version 1 in DESIGN.md). */
#ifndef PKTLENS_JSON_H
#define PKTLENS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/snapshot.h"

/* Bounds of the processes list: each line stays small however many processes come and go. */
#define PL_JSON_PROCS_MAX 100	  /* largest first; processes_left_out sums the rest */
#define PL_JSON_PROC_SOCKS_MAX 32 /* sockets per process (open, busiest first); socket_rows: all */
/* Flows listed by default (--json-flows): the most bytes in the interval; flows_left_out the rest. */
#define PL_JSON_FLOWS_DEFAULT 1000

struct json_opts {
	/* at most this many flows, the most bytes in the interval first; 0 = all */
	size_t flow_limit;
};

/* One object on one line, then a newline and a flush. o NULL: the defaults. */
void json_write(FILE *f, const struct snapshot *s, const struct json_opts *o);
void json_write_snapshot(FILE *f, const struct snapshot *s);

struct jw;
/* A log2 microsecond histogram as {"count":N,"buckets":[{"le_us":2,"count":N},...]}. */
void json_lat_hist(struct jw *w, const char *key, const uint32_t *h, uint64_t count);
/* Sections written for the models (model.h): processes, and the L7 model's until it writes its own. */
void json_write_processes(struct jw *w, const struct snapshot *s);
void json_write_l7_legacy(FILE *f, const void *snapshot_l7);

#endif
