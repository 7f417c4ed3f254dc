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

struct sock_val {
	__u64 retrans;	/* tcp:tcp_retransmit_skb hits (atomic) */
	__u64 state_ns; /* when the state last changed */
	__u64 probe_ns; /* when tcp_probe last fired */
	__u32 srtt_us;	/* tcp:tcp_probe srtt (already >> 3: microseconds) */
	__u32 cwnd;	/* segments */
	__u32 ssthresh;
	__u32 snd_wnd;
	__u32 rcv_wnd;
	__u8 state; /* TCP_* state number as the kernel numbers it */
	__u8 pad[3];
};
_Static_assert(sizeof(struct sock_val) == 48, "sock_val layout");

#endif
