/* The per-process model: sockets by process from the tracepoints and /proc, flow to process attribution. */
#ifndef PKTLENS_PROCMODEL_H
#define PKTLENS_PROCMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/btf_enum.h"
#include "core/procfs.h"
#include "core/snapshot.h"
#include "shared/procs.h"

#define PL_PROC_KEEP_S 60    /* an exited process stays listed, marked exited, this long */
#define PL_SOCK_KEEP_S 10    /* a closed socket stays listed this long, then folds into totals */
#define PL_FDSCAN_S 2	     /* how often a live process's fds are checked for closed sockets */
#define PL_PROCSCAN_MIN_S 10 /* on-demand /proc scans (unattributed flows) at most this often */
#define PL_PROCSCAN_MAX_S 30 /* and at least this often, for sockets opened without traffic */

/*
 * Bounds: a host that runs thousands of short-lived processes (or a sender
 * that makes it run them) must not grow the table, the snapshot or the JSON
 * line without end.
 */
#define PL_PROCS_MAX 8192	/* process rows; live ones beyond are counted as untracked */
#define PL_PROCS_EXITED_MAX 512 /* exited rows; beyond, the one that exited first goes first */
#define PL_SOCKS_MAX 131072	/* socket rows; beyond, counted as untracked */
#define PL_CLOSED_MAX 16384	/* closed connections remembered for their flows' owner */
#define PL_CLOSED_KEEP_S 30	/* a remembered connection no flow asked for goes after this */
#define PL_GONE_MAX 65536	/* forgotten processes whose late map entries are dropped */
#define PL_GONE_KEEP_S 10	/* for this long after they were forgotten */

struct proc_model;

/* netns_ino: only processes of that network namespace (-n); 0 = every namespace. */
struct proc_model *proc_model__new(const struct btf_enum_names *tcp_states, uint64_t netns_ino);
void proc_model__free(struct proc_model *m);
/* Tests point the model at a fake /proc. */
void proc_model_set_root(struct proc_model *m, const char *proc_root);

/* The maps' entries at one reading, in any order, keys and values apart (as batch reads give them). */
struct proc_input {
	const struct proc_sock_key *sock_keys;
	const struct proc_sock_val *sock_vals;
	size_t n_socks;
	const struct proc_key *info_keys;
	const struct proc_info_val *info_vals;
	size_t n_infos;
};

/*
 * Map entries of processes and sockets the model has forgotten, for the
 * caller to delete from the maps (else they come back at the next reading).
 * Only entries whose process /proc shows gone (or as a different process,
 * a reused pid) are listed.
 */
struct proc_forget {
	struct proc_sock_key *socks;
	size_t n_socks, cap_socks;
	struct proc_key *infos;
	size_t n_infos, cap_infos;
};
void proc_forget_free(struct proc_forget *f);

/*
 * One reading: takes the maps' entries (in may be NULL: no maps), checks
 * in /proc which processes and sockets still live, scans /proc at the
 * first call and on demand, fills forget (may be NULL) and builds the
 * processes part of a snapshot.
 */
struct snapshot_procs *proc_model_update(struct proc_model *m, const struct proc_input *in,
					 struct proc_forget *forget, uint64_t start_ns,
					 uint64_t now_ns, double dt);
/* Sets r->pid, r->proc_start and r->comm from the last update (0 and "": nobody's). */
void proc_model_match_flow(struct proc_model *m, struct flow_row *r);
/* Counts a flow of the snapshot in sp (may be NULL) and in its process's row. */
void proc_model_count_flow(struct proc_model *m, const struct flow_row *r,
			   struct snapshot_procs *sp);
/* Moves when a flow's lookup may answer differently (a socket, a process, a name). */
uint64_t proc_model_version(const struct proc_model *m);
/* Both. */
void proc_model_fill_flow(struct proc_model *m, struct flow_row *r, struct snapshot_procs *sp);

/*
 * A socket's addresses as the flow keys hold them: a dual-stack IPv6
 * socket talking IPv4 (each address v4-mapped or ::, one v4-mapped)
 * becomes IPv4. *family is PL_AF_*; addresses are 16 bytes.
 */
void proc_addr_normalise(uint8_t *family, uint8_t *local, uint8_t *remote);

#endif
