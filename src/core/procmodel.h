/* The per-process model: sockets by process from the tracepoints and /proc, flow to process attribution. */
#ifndef PKTLENS_PROCMODEL_H
#define PKTLENS_PROCMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/btf_enum.h"
#include "core/snapshot.h"
#include "shared/procs.h"

#define PL_PROC_KEEP_S 60    /* an exited process stays listed, marked exited, this long */
#define PL_SOCK_KEEP_S 10    /* a closed socket stays listed this long, then folds into totals */
#define PL_FDSCAN_S 2	     /* how often a live process's fds are checked for closed sockets */
#define PL_PROCSCAN_MIN_S 10 /* on-demand /proc scans (unattributed flows) at most this often */
#define PL_PROCSCAN_MAX_S 30 /* and at least this often, for sockets opened without traffic */

struct proc_model;

struct proc_maps {
	int socks_fd; /* proc_sock_key -> proc_sock_val */
	int info_fd;  /* tgid -> proc_info_val */
};

/* netns_ino: only processes of that network namespace (-n); 0 = every namespace. */
struct proc_model *proc_model__new(const struct btf_enum_names *tcp_states, uint64_t netns_ino);
void proc_model__free(struct proc_model *m);
/* Tests point the model at a fake /proc. */
void proc_model_set_root(struct proc_model *m, const char *proc_root);

/*
 * Reads the maps (fds < 0: none), checks which processes and sockets still
 * live, scans /proc at the first call and on demand; builds the processes
 * part of a snapshot.
 */
struct snapshot_procs *proc_model_read(struct proc_model *m, const struct proc_maps *maps,
				       uint64_t start_ns, uint64_t now_ns, double dt);
/* Sets r->pid and r->comm from the last read and counts the flow in its process's row of sp. */
void proc_model_fill_flow(struct proc_model *m, struct flow_row *r, struct snapshot_procs *sp);

/* One line of /proc/net/{tcp,udp,icmp}[6]; 0 on success. Exposed for the unit tests. */
struct procnet_ent {
	uint64_t ino;
	uint8_t local[16], remote[16];
	uint16_t local_port, remote_port;
	uint8_t family, state;
};
int procnet_parse_line(const char *line, int v6, struct procnet_ent *out);

#endif
