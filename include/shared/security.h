/* Data contract of the security side: XDP firewall rules and counters, detection events and counters. */
#ifndef PKTLENS_SHARED_SECURITY_H
#define PKTLENS_SHARED_SECURITY_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#include "shared/flow.h"

/* ---- the firewall (bpf/xdp/firewall.bpf.h) ---- */

#define PL_FW_RULES_MAX 1024	/* rules at once; also the size of the per-rule counters */
#define PL_FW_BUCKETS_MAX 65536 /* sources with a token bucket (LRU: the idlest go first) */

enum pl_fw_action {
	PL_FW_DENY = 1,	 /* drop every packet from the prefix */
	PL_FW_LIMIT = 2, /* pass at most pps packets a second per source address */
};

/*
 * Key of the longest-prefix-match trie. The family byte comes first so that
 * IPv4 and IPv6 rules never match each other's packets: prefixlen counts it
 * (8 + the prefix length). IPv4 addresses sit in the first 4 bytes.
 */
struct fw_key {
	__u32 prefixlen;
	__u8 family; /* PL_AF_INET or PL_AF_INET6 */
	__u8 addr[16];
	__u8 pad[3];
};
_Static_assert(sizeof(struct fw_key) == 24, "fw_key layout");

/*
 * A rule. A token bucket is kept as GCRA's "theoretical arrival time"
 * (one 64-bit word updated with compare-and-swap, so no lock): a source
 * passes while its time is at most tolerance_ns ahead of now, and every
 * packet that passes moves it interval_ns on. That is a bucket of
 * tolerance_ns / interval_ns + 1 tokens filled at 1e9 / interval_ns a second.
 */
struct fw_rule {
	__u32 slot; /* index into fw_stats, < PL_FW_RULES_MAX */
	__u32 gen;  /* changes whenever a slot is reused: an older rule's buckets never apply */
	__u8 action;
	__u8 pad[7];
	__u64 interval_ns;  /* limit: 1e9 / pps */
	__u64 tolerance_ns; /* limit: (burst - 1) * interval_ns */
	__u64 expires_ns;   /* CLOCK_MONOTONIC after which the rule no longer matches; 0 never */
};
_Static_assert(sizeof(struct fw_rule) == 40, "fw_rule layout");

/* Per rule slot, per CPU (plain increments). */
struct fw_stats {
	__u64 passed_packets;
	__u64 passed_bytes;
	__u64 dropped_packets;
	__u64 dropped_bytes;
};
_Static_assert(sizeof(struct fw_stats) == 32, "fw_stats layout");

/* One source's bucket under one rule; the value is its theoretical arrival time (ns). */
struct fw_bucket_key {
	__u32 slot;
	__u32 gen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct fw_bucket_key) == 24, "fw_bucket_key layout");

/* ---- detection (bpf/lib/detect.bpf.h, called from the flow accounting) ---- */

/*
 * What a detection event reports. Only packets that matter to a scan or a
 * flood send one: a connection attempt or a first packet from outside, the
 * host's own "closed" answers, incoming resets, DNS answers nobody asked for.
 */
enum pl_sec_kind {
	PL_SEC_PROBE = 1,      /* from outside: TCP without ACK (SYN, FIN, NULL, Xmas) or the first
			    * UDP datagram / ICMP echo request of a flow */
	PL_SEC_CLOSED = 2,     /* this host answered "closed": a TCP RST or ICMP unreachable */
	PL_SEC_RST_IN = 3,     /* a TCP RST from outside */
	PL_SEC_DNS_ANSWER = 4, /* a DNS answer (UDP from port 53, QR set) opening a flow: the
				* host sent no query on that 5-tuple */
	PL_SEC_KIND_MAX,
};

/* Addresses and ports as the flow key has them: local is this host's side. */
struct sec_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u8 local[16];
	__u8 remote[16];
	__u32 ifindex;
	/* PL_SEC_CLOSED by ICMP: the ports of the datagram the error answers */
	__u16 local_port;
	__u16 remote_port;
	__u8 family;
	__u8 proto; /* of the probe: an ICMP error carries the protocol of what it answers */
	__u8 kind;  /* enum pl_sec_kind */
	__u8 tcp_flags;
	__u32 pad;
};
_Static_assert(sizeof(struct sec_event) == 56, "sec_event layout");

/* Per local address and port (and protocol): what a SYN or UDP flood moves. */
struct sec_port_key {
	__u8 local[16];
	__u16 port;
	__u8 family;
	__u8 proto;
};
_Static_assert(sizeof(struct sec_port_key) == 20, "sec_port_key layout");

/* Per CPU, so plain increments; user space sums and takes differences between refreshes. */
struct sec_port_val {
	__u64 syn;	   /* SYN without ACK received */
	__u64 synack;	   /* SYN-ACK sent (retransmissions included) */
	__u64 established; /* a handshake's last ACK received: the second packet from the peer */
	__u64 rst_out;	   /* resets sent from this port */
	__u64 first_in;	   /* flows opened from outside (first packet received) */
	__u64 unreach_out; /* ICMP unreachable sent for a datagram to this port */
};
_Static_assert(sizeof(struct sec_port_val) == 48, "sec_port_val layout");

#define PL_SEC_PORTS_MAX 8192

/* Host-wide, per CPU. */
struct sec_counters {
	__u64 syn_in;
	__u64 synack_out;
	__u64 established;
	__u64 rst_in;
	__u64 rst_out;
	__u64 icmp_in;
	__u64 unreach_out;
	__u64 first_in;
	__u64 dns_answers_unasked;
	__u64 events;
	__u64 events_lost; /* ring buffer full: the event was counted here and nowhere else */
	__u64 ports_full;  /* sec_ports insert failed */
};
_Static_assert(sizeof(struct sec_counters) == 12 * 8, "sec_counters layout");

#endif
