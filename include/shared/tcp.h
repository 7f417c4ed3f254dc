/* Data contract between the TCP tracepoint programs and user space: per-socket TCP state, RTT, cwnd, retransmissions. */
#ifndef PKTLENS_SHARED_TCP_H
#define PKTLENS_SHARED_TCP_H

#ifndef __BPF__
#include <linux/types.h>
#endif

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

#define PL_STATE_HIST 8

struct sock_val {
	__u64 retrans;	      /* segments retransmitted (as TcpRetransSegs counts them), atomic */
	__u64 retrans_events; /* tcp_retransmit_skb + tcp_retransmit_synack hits, atomic */
	__u64 state_ns;	      /* when the state last changed */
	__u64 probe_ns;	      /* when tcp_probe last fired */
	__u64 open_ns;	      /* SYN_SENT or SYN_RECV entered, 0 if pktlens missed it */
	__u64 est_ns;	      /* ESTABLISHED entered */
	__u64 close_ns;	      /* CLOSE entered */
	__u64 first_ns;	      /* first state change pktlens saw: the timeline's zero */
	__u32 srtt_us;	      /* tcp:tcp_probe srtt (already >> 3: microseconds) */
	__u32 cwnd;	      /* segments */
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
	__u64 retrans_segs; /* what TcpRetransSegs counts: segments of successful retransmits */
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
