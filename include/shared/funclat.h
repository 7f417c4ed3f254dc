/* Ad-hoc function latency (entry/return probe pairs): the BPF <-> user-space contract. */
#ifndef PKTLENS_SHARED_FUNCLAT_H
#define PKTLENS_SHARED_FUNCLAT_H

#include "shared/tcp.h" /* struct lat_hist: log2 microsecond buckets */

/* Set in the attach cookie of a uprobe pair: histograms are kept per process (tgid). */
#define PL_FUNCLAT_PER_PID (1ULL << 63)

/* Where an entry was seen: the pair's cookie and the thread (pid_tgid). */
struct funclat_start_key {
	__u64 cookie;
	__u64 pid_tgid;
};
_Static_assert(sizeof(struct funclat_start_key) == 16, "funclat_start_key layout");

/* One histogram: the pair's cookie (without flags), tgid or 0 for kernel functions. */
struct funclat_key {
	__u64 cookie;
	__u32 tgid;
	__u32 pad;
};
_Static_assert(sizeof(struct funclat_key) == 16, "funclat_key layout");

#endif
