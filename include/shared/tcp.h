/* Data contract between the TCP tracepoint programs and user space: per-socket TCP state, RTT, cwnd, retransmissions. */
#ifndef PKTLENS_SHARED_TCP_H
#define PKTLENS_SHARED_TCP_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#include "shared/flow.h" /* PL_AF_INET, PL_AF_INET6 */

/*
 * A TCP connection as the socket tracepoints name it: no interface (the
 * socket does not know one), local = the socket's own address. User space
 * joins it to the flows of every interface with the same addresses and ports.
 */
struct sock_key {
	__u8 local[16];
	__u8 remote[16];
	__u16 local_port; /* host byte order */
	__u16 remote_port;
	__u8 family; /* PL_AF_INET or PL_AF_INET6 */
	__u8 pad[3];
};
_Static_assert(sizeof(struct sock_key) == 40, "sock_key layout");

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* ::ffff:a.b.c.d (RFC 4291 2.5.5.2): ten zero bytes, two 0xff, the IPv4 address. */
static __always_inline int pl_addr_v4mapped(const __u8 *a)
{
	return !(a[0] | a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7] | a[8] | a[9]) &&
	       a[10] == 0xff && a[11] == 0xff;
}

static __always_inline int pl_addr_unspec(const __u8 *a)
{
	return !(a[0] | a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7] | a[8] | a[9] | a[10] |
		 a[11] | a[12] | a[13] | a[14] | a[15]);
}

/*
 * An IPv4 peer of a dual-stack socket (AF_INET6 with IPV6_V6ONLY off: iperf3 -s, nginx
 * `listen [::]`) talks over an AF_INET6 socket whose addresses are v4-mapped, and every
 * socket tracepoint reports it as family AF_INET6 with ::ffff:a.b.c.d; its packets on the
 * wire are IPv4, so the packet programs key its flow as PL_AF_INET with the address in the
 * first 4 bytes. This rewrites a socket's address pair into that form in place, so socket
 * data and flows meet on one key. An unspecified side (a socket before connect() chose its
 * source) goes along with a mapped other side; a pair with a real IPv6 address stays as it
 * is. Returns 1 when the pair was rewritten.
 */
static __always_inline int pl_unmap_v4(__u8 *family, __u8 *local, __u8 *remote)
{
	int lm = pl_addr_v4mapped(local), rm = pl_addr_v4mapped(remote);

	if (*family != PL_AF_INET6 || !(lm || rm))
		return 0;
	if (!(lm || pl_addr_unspec(local)) || !(rm || pl_addr_unspec(remote)))
		return 0;
	for (int i = 0; i < 4; i++) {
		local[i] = lm ? local[12 + i] : 0;
		remote[i] = rm ? remote[12 + i] : 0;
	}
	for (int i = 4; i < 16; i++)
		local[i] = remote[i] = 0;
	*family = PL_AF_INET;
	return 1;
}

/* The same for a socket key: every place that builds one from a socket calls this. */
static __always_inline int pl_sock_key_unmap(struct sock_key *k)
{
	return pl_unmap_v4(&k->family, k->local, k->remote);
}

#define PL_STATE_HIST 8

struct sock_val {
	__u64 retrans;	      /* segments retransmitted (as TcpRetransSegs counts them), atomic */
	__u64 retrans_events; /* tcp_retransmit_skb + tcp_retransmit_synack hits, atomic */
	__u64 state_ns;	      /* when the state last changed */
	__u64 probes;	/* tcp_probe runs: a change marker (a racing increment may lose one) */
	__u64 open_ns;	/* SYN_SENT or SYN_RECV entered, 0 if pktlens missed it */
	__u64 est_ns;	/* ESTABLISHED entered */
	__u64 close_ns; /* CLOSE entered */
	__u64 first_ns; /* first state change pktlens saw: the timeline's zero */
	__u32 srtt_us;	/* tcp:tcp_probe srtt (already >> 3: microseconds) */
	__u32 cwnd;	/* segments */
	__u32 ssthresh;
	__u32 snd_wnd;
	__u32 rcv_wnd;
	__u32 resets_rx; /* tcp:tcp_receive_reset */
	__u32 resets_tx; /* tcp:tcp_send_reset */
	__u8 state;	 /* TCP_* state number as the kernel numbers it */
	__u8 n_states;	 /* transitions recorded in states[] (ring, newest at (n-1) % 8) */
	__u8 active;	 /* 1: this side connected (SYN_SENT), 0: accepted */
	__u8 pad;
	__u8 states[PL_STATE_HIST];
	__u32 state_ms[PL_STATE_HIST]; /* ms since first_ns of each */
};
_Static_assert(sizeof(struct sock_val) == 136, "sock_val layout");

enum tcp_event_kind {
	PL_TE_RETRANS = 0, /* tcp_retransmit_skb */
	PL_TE_RETRANS_SYN, /* retransmitted SYN (state SYN_SENT) */
	PL_TE_RETRANS_SYNACK,
	PL_TE_RESET_RX,
	PL_TE_RESET_TX,
};

/* Global TCP event counters (per-CPU array, one entry). */
struct tcp_counters {
	__u64 retrans_segs; /* what TcpRetransSegs counts (pl_retrans_counted) */
	__u64 synack_retrans;
	__u64 resets_rx;
	__u64 resets_tx;
	__u64 events_lost; /* tcp_events ring buffer full */
};
_Static_assert(sizeof(struct tcp_counters) == 40, "tcp_counters layout");

/* log2 histogram of microseconds: bucket i holds [2^i, 2^(i+1)) us, bucket 0 also < 1 us. */
#define PL_LAT_BUCKETS 24
struct lat_hist {
	__u32 bucket[PL_LAT_BUCKETS];
};
_Static_assert(sizeof(struct lat_hist) == 96, "lat_hist layout");

/* One retransmission or reset, for the recent-events list. */
struct tcp_event {
	__u64 ts_ns;
	struct sock_key key;
	__u32 seq;
	__u16 segs;
	__u8 kind;  /* enum tcp_event_kind */
	__u8 state; /* TCP state when it happened */
};
_Static_assert(sizeof(struct tcp_event) == 56, "tcp_event layout");

#endif
