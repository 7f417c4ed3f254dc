/* The TCP health model: socket state joined to flows, retransmission/reset events, connection life. */
#ifndef PKTLENS_TCPMODEL_H
#define PKTLENS_TCPMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/btf_enum.h"
#include "core/snapshot.h"
#include "shared/tcp.h"

struct tcp_model;
struct hist_pool;

/*
 * A closed socket stays (its state, timeline and srtt/cwnd history for its flow's row) as long
 * as an idle flow stays listed (--idle), at least PL_TCP_CLOSED_KEEP_S; with --idle 0 (flows
 * never forgotten) PL_TCP_CLOSED_KEEP_NEVER_S. Then it leaves the model and the socks map.
 */
#define PL_TCP_CLOSED_KEEP_S 60
#define PL_TCP_CLOSED_KEEP_NEVER_S 300

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
/* The keep time of closed sockets from the flows' idle time (seconds, 0 = never idle). */
void tcp_model_set_closed_keep(struct tcp_model *m, double idle_s);
/* The socks map keys that the last update let go (closed past the keep time): delete them. */
const struct sock_key *tcp_model_forget(const struct tcp_model *m, size_t *n);
/* Sockets the model holds, and the pool of their histories (tests: steady sizes). */
size_t tcp_model_sockets(const struct tcp_model *m);
const struct hist_pool *tcp_model_hist(const struct tcp_model *m);

#endif
