/* The TCP health model: socket state joined to flows, retransmission/reset events, connection life. */
#ifndef PKTLENS_TCPMODEL_H
#define PKTLENS_TCPMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/btf_enum.h"
#include "core/snapshot.h"
#include "shared/tcp.h"

struct tcp_model;

/* One reading of the maps: entries in any order, counters summed over the CPUs. */
struct tcp_input {
	const struct sock_key *sock_keys; /* socks */
	const struct sock_val *sock_vals;
	size_t n_socks;
	const struct flow_key *lat_keys; /* flow_lat */
	const struct lat_hist *lat_vals;
	size_t n_lats;
	struct tcp_counters counters; /* tcp_stats */
	struct lat_hist all_lat;      /* all_lat */
};

struct tcp_model *tcp_model__new(const struct btf_enum_names *states);
void tcp_model__free(struct tcp_model *m);
void tcp_model_event(struct tcp_model *m, const struct tcp_event *ev);

/* Takes one reading of the maps; builds the TCP part of a snapshot. */
struct snapshot_tcp *tcp_model_update(struct tcp_model *m, const struct tcp_input *in,
				      uint64_t start_ns, uint64_t now_ns, double dt, uint32_t gen);
/* Fills a flow row's TCP fields from the last update (nothing when the socket is unknown). */
void tcp_model_fill_flow(const struct tcp_model *m, struct flow_row *r);
const char *tcp_state_name(const struct tcp_model *m, unsigned state);

#endif
