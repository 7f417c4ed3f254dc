/* The TCP health model: socket state joined to flows, retransmission/reset events, connection life. */
#ifndef PKTLENS_TCPMODEL_H
#define PKTLENS_TCPMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/btf_enum.h"
#include "core/snapshot.h"
#include "shared/tcp.h"

struct tcp_model;

struct tcp_maps {
	int socks_fd;	 /* sock_key -> sock_val */
	int stats_fd;	 /* per-CPU struct tcp_counters */
	int all_lat_fd;	 /* per-CPU struct lat_hist */
	int flow_lat_fd; /* flow_key -> struct lat_hist */
};

struct tcp_model *tcp_model__new(const struct btf_enum_names *states);
void tcp_model__free(struct tcp_model *m);
void tcp_model_event(struct tcp_model *m, const struct tcp_event *ev);

/* Reads the socket and latency maps; builds the TCP part of a snapshot. */
struct snapshot_tcp *tcp_model_read(struct tcp_model *m, const struct tcp_maps *maps,
				    uint64_t start_ns, uint64_t now_ns, double dt);
/* Fills a flow row's TCP fields from the last read (nothing when the socket is unknown). */
void tcp_model_fill_flow(const struct tcp_model *m, struct flow_row *r, uint64_t start_ns,
			 uint64_t now_ns);
const char *tcp_state_name(const struct tcp_model *m, unsigned state);

#endif
