/* The drops model: kfree_skb counts by reason/place/interface, per flow, recent drops, queue stats. */
#ifndef PKTLENS_DROPS_H
#define PKTLENS_DROPS_H

#include <stdint.h>

#include "core/snapshot.h"
#include "shared/drops.h"

struct drops_model;

/* One reading: the maps' entries in any order (per-CPU values summed), queue statistics. */
struct drops_input {
	const struct drop_key *count_keys; /* drop_counts */
	const uint64_t *counts;
	size_t n_counts;
	const struct flow_drop_key *flow_keys; /* flow_drops */
	const uint64_t *flow_counts;
	size_t n_flows;
	struct drop_counters counters; /* drop_stats */
	const struct qdisc_row *qdiscs;
	size_t n_qdiscs;
	const struct softnet_row *softnet;
	size_t n_softnet;
};

/* btf_path NULL = the running kernel's; kallsyms NULL = /proc/kallsyms. */
struct drops_model *drops_model__new(const char *btf_path, const char *kallsyms);
void drops_model__free(struct drops_model *m);

/* Name of a drop reason value from BTF ("NO_SOCKET"), or "REASON_<n>" when the kernel has none. */
const char *drops_reason_name(const struct drops_model *m, uint32_t value, char buf[40]);
/*
 * 1 when the reason is one pktlens files as "discarded at close" (a queue freed with its
 * owner) rather than as a drop of the network path; drops.c says which and why.
 */
int drops_reason_discard(const struct drops_model *m, uint32_t value);
/* The values of those reasons on this kernel, for the BPF programs' knob; returns the count. */
size_t drops_discard_values(const struct drops_model *m, uint32_t *out, size_t max);
/* Ring buffer callback data: one dropped packet. */
void drops_model_event(struct drops_model *m, const struct drop_event *ev);

/*
 * Takes one reading and builds the drops part of a snapshot. start_ns/now_ns
 * are CLOCK_MONOTONIC; dt is the interval for rates.
 */
struct snapshot_drops *drops_model_update(struct drops_model *m, const struct drops_input *in,
					  uint64_t start_ns, uint64_t now_ns, double dt,
					  int have_reasons);
/* Drops of one flow over all reasons, from the last read. */
uint64_t drops_model_flow(const struct drops_model *m, const struct flow_key *k);

#endif
