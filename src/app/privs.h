/* After attaching: keep only the capabilities that toggling probes and reading /proc need, and no new privileges. */
#ifndef PKTLENS_PRIVS_H
#define PKTLENS_PRIVS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sets no_new_privs and drops every capability not in keep (a mask of
 * 1 << CAP_*, see engine_runtime_caps()) from the effective, permitted,
 * inheritable, ambient and bounding sets. Returns 0, or -errno with one
 * sentence in err.
 */
int privs_drop(uint64_t keep, char *err, size_t errlen);

#endif
