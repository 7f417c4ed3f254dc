/* Data contract between the skb:kfree_skb / sock tracepoint programs and user space: drops by reason, place, flow. */
#ifndef PKTLENS_SHARED_DROPS_H
#define PKTLENS_SHARED_DROPS_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#include "shared/flow.h"

/* One (reason, place, interface, protocol) bucket of dropped packets. */
struct drop_key {
	__u64 location; /* kernel text address that freed the skb */
	__u32 reason;	/* enum skb_drop_reason, named from BTF in user space */
	__u32 ifindex;	/* 0 when the skb had no device */
	__u16 protocol; /* EtherType, host order */
	__u8 l4proto;	/* IPPROTO_* when the headers could be read, else 0 */
	__u8 pad[5];
};
_Static_assert(sizeof(struct drop_key) == 24, "drop_key layout");

/* Drops of one flow for one reason: the flow key is the one the packet programs use. */
struct flow_drop_key {
	struct flow_key flow;
	__u32 reason;
};
_Static_assert(sizeof(struct flow_drop_key) == 48, "flow_drop_key layout");

/* One dropped packet, for the "recent drops" list. */
struct drop_event {
	__u64 ts_ns;
	__u64 location;
	struct flow_key flow; /* zero family when the headers could not be read */
	__u32 reason;
	__u32 len;
	__u16 protocol;
	__u8 pad[6];
};
_Static_assert(sizeof(struct drop_event) == 80, "drop_event layout");

/* Size of the discard_reasons knob of the drop programs (reason values, 0 = unused). */
#define PL_DISCARD_REASONS_MAX 4

/* Global drop-path counters (per-CPU array, one entry). */
struct drop_counters {
	__u64 rcvqueue_full;	/* sock:sock_rcvqueue_full */
	__u64 exceed_buf_limit; /* sock:sock_exceed_buf_limit */
	__u64 events_lost;	/* drop events that found the ring buffer full */
	__u64 consumed_ignored; /* kfree_skb hits with reason <= SKB_CONSUMED */
};
_Static_assert(sizeof(struct drop_counters) == 32, "drop_counters layout");

#endif
