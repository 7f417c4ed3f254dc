/* Data contract between the packet programs (XDP, tc) and user space: flow keys, values, counters, events. */
#ifndef PKTLENS_SHARED_FLOW_H
#define PKTLENS_SHARED_FLOW_H

#ifdef __BPF__
/* vmlinux.h provides __u8..__u64 */
#else
#include <linux/types.h>
#endif

#define PL_AF_INET 4
#define PL_AF_INET6 6

/* Hook that saw the packet; also the direction: XDP and tc ingress are rx, tc egress is tx. */
enum pl_hook {
	PL_HOOK_XDP = 0,
	PL_HOOK_TC_INGRESS = 1,
	PL_HOOK_TC_EGRESS = 2,
};

enum pl_dir {
	PL_DIR_RX = 0,
	PL_DIR_TX = 1,
};

/*
 * One conversation on one interface. "local" is this host's side: the
 * destination of an incoming packet and the source of an outgoing one, so
 * both directions of a conversation land on the same key without sorting.
 * IPv4 addresses live in the first 4 bytes of the 16, the rest zero.
 * Later IP fragments carry no ports: they count under the same addresses
 * with ports 0, a flow of their own.
 */
struct flow_key {
	__u8 local[16];
	__u8 remote[16];
	__u32 ifindex;
	__u16 local_port;  /* host byte order; ICMP/ICMPv6 echo: the echo id; other ICMP: 0 */
	__u16 remote_port; /* host byte order; same as local_port for ICMP */
	__u8 family;	   /* PL_AF_INET or PL_AF_INET6 */
	__u8 proto;	   /* IPPROTO_* */
	__u8 pad[2];
};
_Static_assert(sizeof(struct flow_key) == 44, "flow_key layout");

/*
 * Application-layer state of a flow (struct flow_val's l7), written by the
 * L7 peek of the packet programs; both directions share it. proto 0: no
 * payload seen yet.
 */
struct l7_flow {
	__u8 proto;   /* enum pl_l7_proto (shared/l7.h) */
	__u8 flags;   /* PL_L7F_* */
	__u8 cont[2]; /* per direction: send the next segment as PL_L7K_HTTP_CONT */
	__u8 hello;   /* bit dir: a ClientHello went that way, no TLS record came back yet */
	/*
	 * An HTTP response held back for the next event of the other direction to carry
	 * (bpf/lib/l7.bpf.h, pl_l7_hold): resp_tok is nonzero while one is held, and whoever
	 * takes it swaps it back to 0 (compare and swap: one taker); the other fields are
	 * written before it is set.
	 */
	__u8 resp_dir;	   /* enum pl_dir of the response */
	__u16 resp_status; /* its status code, or PL_L7_RESP_TRUNC / PL_L7_RESP_BAD (shared/l7.h) */
	__u32 resp_tok;	   /* the low half of resp_ts | 1; 0: nothing held */
	__u32 resp_seq;	   /* its TCP sequence number (a retransmission repeats it) */
	__u64 resp_ts;	   /* bpf_ktime_get_ns() when it passed */
};
_Static_assert(sizeof(struct l7_flow) == 24, "l7_flow layout");

/* Values are shared by all CPUs: every field is updated with atomics, never a plain +=. */
struct flow_val {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 first_seen_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 last_seen_ns;
	__u32 tcp_flags; /* OR of every TCP flag byte seen, both directions */
	/*
	 * Incoming TCP sequence tracking (tc ingress / XDP): rx_next is one past
	 * the highest byte seen; one hole [hole_lo, hole_hi) is remembered so a
	 * late segment that fills it counts as out of order, not as a duplicate.
	 * Plain stores: a flow's packets are handled on one CPU at a time in
	 * practice, and a race costs one miscount, never memory safety.
	 */
	__u32 rx_next;
	__u32 hole_lo;
	__u32 hole_hi;
	__u32 ooo;	/* segments that arrived ahead of a gap or filled one */
	__u32 dup;	/* segments whose bytes had all been seen already */
	__u32 zero_win; /* incoming segments advertising a zero window */
	__u32 seq_init; /* rx_next is valid */
	/*
	 * Segments whose bytes all lay below rx_next when they arrived: the late fills of a
	 * hole (also in ooo) and the duplicates (dup). On a receiver these are the peer's
	 * retransmissions that reached it (and the rare reordered segment).
	 */
	__u32 rx_retrans;
	/*
	 * The refresh epoch (flow_epoch, set by user space) in which the flow last
	 * queued its key in flow_dirty: a flow queues itself once per refresh
	 * interval, on its first packet, so user space reads only flows that
	 * changed. 0 (and flow_epoch 0) queues nothing.
	 */
	__u32 epoch;
	/*
	 * Kept here rather than in a map of its own: the L7 peek of every payload
	 * packet then needs no second hash lookup (~30 ns in BPF_PROG_TEST_RUN).
	 */
	struct l7_flow l7;
};
_Static_assert(sizeof(struct flow_val) == 112, "flow_val layout");

/* A flow that changed in an epoch: a record of the flow_dirty ring buffer. */
struct flow_dirty {
	struct flow_key key;
	__u32 epoch; /* flow_epoch when it was queued */
};
_Static_assert(sizeof(struct flow_dirty) == 48, "flow_dirty layout");

/* Protocol buckets of the global packet counter. */
enum pl_proto_bucket {
	PL_P_TCP = 0,
	PL_P_UDP,
	PL_P_ICMP,
	PL_P_ICMP6,
	PL_P_OTHER_IP, /* IP with another transport, or a non-first fragment */
	PL_P_NON_IP,   /* ARP, LLDP, ... */
	PL_P_MAX,
};

/* Malformed kinds: the first header that was truncated or inconsistent. */
enum pl_malformed {
	PL_M_NONE = 0,
	PL_M_ETH_TRUNC,	 /* shorter than an Ethernet header */
	PL_M_VLAN_TRUNC, /* VLAN tag cut short */
	PL_M_IP4_TRUNC,	 /* IPv4 header cut short */
	PL_M_IP4_IHL,	 /* version not 4, IHL < 5, or IHL beyond the frame */
	PL_M_IP4_LEN,	 /* total length < header length (0 outside a BIG TCP aggregate) */
	PL_M_IP6_TRUNC,	 /* IPv6 fixed header cut short */
	PL_M_IP6_EXT,	 /* extension header cut short, past the payload, chain too long */
	PL_M_TCP_TRUNC,	 /* TCP header cut short */
	PL_M_TCP_DOFF,	 /* data offset < 5 or beyond the packet */
	PL_M_UDP_TRUNC,
	PL_M_ICMP_TRUNC,
	PL_M_IP6_VER, /* IPv6 EtherType, another IP version */
	PL_M_UDP_LEN, /* UDP length < 8 or beyond the IP packet */
	PL_M_MAX,
};

struct pl_counters {
	__u64 packets[PL_P_MAX];
	__u64 bytes[PL_P_MAX];
	__u64 malformed[PL_M_MAX];
	__u64 flow_table_full; /* flow insert failed (not an LRU eviction) */
	__u64 events_lost;     /* ring buffer full when a watched packet was captured */
	/*
	 * IP packets (those that have a flow key) and their bytes by enum pl_dir,
	 * counted whether or not the flow table holds their flow: the totals.
	 */
	__u64 ip_packets[2];
	__u64 ip_bytes[2];
	/* flows inserted into the flow table: with the flows present and aged out, the evictions */
	__u64 flows_created;
	__u64 dirty_lost; /* flow_dirty full: user space reads the whole table instead */
};
_Static_assert(sizeof(struct pl_counters) == (6 + 6 + 14 + 2 + 6) * 8, "pl_counters layout");

/* Per interface: which hook counts received packets, so XDP + tc ingress never count twice. */
enum pl_rx_owner {
	PL_RX_TC = 0,
	PL_RX_XDP = 1,
};

/* One packet of a watched flow, sent through the ring buffer only while a drill-down is open. */
struct pkt_event {
	__u64 ts_ns;
	struct flow_key key;
	__u32 len;
	__u32 seq;
	__u32 ack;
	__u16 window;
	__u8 dir;  /* enum pl_dir */
	__u8 hook; /* enum pl_hook */
	__u8 tcp_flags;
	__u8 pad[3];
};
_Static_assert(sizeof(struct pkt_event) == 72, "pkt_event layout");

#define PL_TCP_FIN 0x01
#define PL_TCP_SYN 0x02
#define PL_TCP_RST 0x04
#define PL_TCP_PSH 0x08
#define PL_TCP_ACK 0x10
#define PL_TCP_URG 0x20
#define PL_TCP_ECE 0x40
#define PL_TCP_CWR 0x80

#define PL_WATCH_MAX 16

#endif
