/* The JSON snapshot writer (contract version 1 in DESIGN.md). */
#ifndef PKTLENS_JSON_H
#define PKTLENS_JSON_H

#include <stdio.h>

#include "core/snapshot.h"

/* One object on one line, then a newline and a flush. */
void json_write_snapshot(FILE *f, const struct snapshot *s);

#endif
