/* Data contract of packet capture (-w, the TUI's write key): one record per packet in the capture ring. */
#ifndef PKTLENS_SHARED_CAPTURE_H
#define PKTLENS_SHARED_CAPTURE_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/* Bytes of one packet kept at most (the largest -s): a GSO aggregate beyond it is cut. */
#define PL_CAP_MAX 65535

/* Header of a record; cap_len bytes of the packet (from its Ethernet header) follow. */
struct pl_cap_hdr {
	__u64 ts_ns;   /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 ifindex; /* the interface the hook ran on */
	__u32 len;     /* the packet's whole length as the hook saw it */
	__u32 cap_len; /* bytes that follow: min(len, snap length) */
	__u16 segs;    /* GSO segments (1 for a wire packet) */
	__u8 dir;      /* enum pl_dir */
	__u8 hook;     /* enum pl_hook */
};
_Static_assert(sizeof(struct pl_cap_hdr) == 24, "pl_cap_hdr layout");

/* One CPU's scratch record: the header and the bytes, given to the ring in one copy. */
struct pl_cap_rec {
	struct pl_cap_hdr h;
	__u8 data[PL_CAP_MAX + 1];
};

/* Per-CPU counters (capture_stats[0]). */
struct pl_cap_stats {
	__u64 captured; /* records handed to the ring */
	__u64 lost;	/* packets the ring had no room for */
};
_Static_assert(sizeof(struct pl_cap_stats) == 16, "pl_cap_stats layout");

/* Bit of a `watch` map value: write this flow's packets (the TUI's key), besides watching it. */
#define PL_WATCH_CAPTURE 0x2

#endif
