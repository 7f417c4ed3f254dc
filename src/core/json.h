/* The JSON snapshot writer (contract version 1 in DESIGN.md). */
#ifndef PKTLENS_JSON_H
#define PKTLENS_JSON_H

#include <stdio.h>

#include "core/snapshot.h"

/* Bounds of the processes list: each line stays small however many processes come and go. */
#define PL_JSON_PROCS_MAX 100	  /* largest first; processes_left_out sums the rest */
#define PL_JSON_PROC_SOCKS_MAX 32 /* sockets per process (open, busiest first); socket_rows: all */

/* One object on one line, then a newline and a flush. */
void json_write_snapshot(FILE *f, const struct snapshot *s);

#endif
