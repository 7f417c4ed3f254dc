/* fexit variant of tcp:tcp_retransmit_skb: the same accounting, plus the call's result on every kernel. */
#ifndef PKTLENS_TP_TCP_FEXIT_BPF_H
#define PKTLENS_TP_TCP_FEXIT_BPF_H

#include <bpf/bpf_tracing.h>
#include "tracepoint/tcp.bpf.h"

/*
 * The tracepoint carries the retransmission's error only on recent
 * kernels; older ones fire it only for a retransmission that was sent. fexit
 * sees the return value everywhere, so the segments count exactly when
 * TcpRetransSegs counted them (pl_retrans_counted: also an attempt that
 * failed after the MIB counted it). Chosen at load time by probing whether
 * this kernel loads and attaches tracing programs; the tracepoint program is
 * the fallback.
 */
SEC("fexit/tcp_retransmit_skb")
int BPF_PROG(fexit_tcp_retransmit, struct sock *sk, struct sk_buff *skb, int segs, int ret)
{
	if (!pl_sk_in_netns(sk))
		return 0;
	struct sock_key k;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u16 dport = pl_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (pl_sock_key(&k, family, (const __u8 *)&sk->__sk_common.skc_rcv_saddr,
			(const __u8 *)&sk->__sk_common.skc_daddr,
			(const __u8 *)&sk->__sk_common.skc_v6_rcv_saddr,
			(const __u8 *)&sk->__sk_common.skc_v6_daddr, sport, dport))
		return 0;
	return pl_tcp_retransmit(&k, skb, BPF_CORE_READ(sk, __sk_common.skc_state), ret);
}

#endif
