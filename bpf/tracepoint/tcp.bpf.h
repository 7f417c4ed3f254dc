/* Tracepoint programs for TCP sockets: state changes, RTT/cwnd from tcp_probe, retransmissions. */
#ifndef PKTLENS_TP_TCP_BPF_H
#define PKTLENS_TP_TCP_BPF_H

#include "lib/maps.bpf.h"

#define PL_AF_INET_KERNEL 2
#define PL_AF_INET6_KERNEL 10

/* With -n, only sockets of the watched namespace count. */
static __always_inline int pl_sk_in_netns(const void *skaddr)
{
	if (!netns_ino)
		return 1;
	const struct sock *sk = skaddr;
	__u32 ino = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return ino == netns_ino;
}

/*
 * Tracepoint context fields can only be loaded at constant offsets from ctx;
 * a pointer into ctx handed on is "modified ctx" to the verifier, so the
 * address arrays are copied with bpf_probe_read_kernel.
 */
static __always_inline int pl_sock_key(struct sock_key *k, __u16 family, const __u8 *s4,
				       const __u8 *d4, const __u8 *s6, const __u8 *d6, __u16 sport,
				       __u16 dport)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (family == PL_AF_INET_KERNEL) {
		k->family = PL_AF_INET;
		bpf_probe_read_kernel(k->local, 4, s4);
		bpf_probe_read_kernel(k->remote, 4, d4);
	} else if (family == PL_AF_INET6_KERNEL) {
		k->family = PL_AF_INET6;
		bpf_probe_read_kernel(k->local, 16, s6);
		bpf_probe_read_kernel(k->remote, 16, d6);
	} else {
		return -1;
	}
	k->local_port = sport;
	k->remote_port = dport;
	return 0;
}

static __always_inline struct sock_val *pl_sock_get(const struct sock_key *k)
{
	struct sock_val *v = bpf_map_lookup_elem(&socks, k);
	if (v)
		return v;
	struct sock_val nv;
	__builtin_memset(&nv, 0, sizeof(nv));
	bpf_map_update_elem(&socks, k, &nv, BPF_NOEXIST);
	return bpf_map_lookup_elem(&socks, k);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != PL_IPPROTO_TCP || !pl_sk_in_netns(ctx->skaddr))
		return 0;
	struct sock_key k;
	if (pl_sock_key(&k, ctx->family, ctx->saddr, ctx->daddr, ctx->saddr_v6, ctx->daddr_v6,
			ctx->sport, ctx->dport))
		return 0;
	struct sock_val *v = pl_sock_get(&k);
	if (!v)
		return 0;
	v->state = ctx->newstate;
	v->state_ns = bpf_ktime_get_ns();
	return 0;
}

/* tcp_probe stores the socket's own address in saddr as a sockaddr_in or sockaddr_in6. */
SEC("tracepoint/tcp/tcp_probe")
int tp_tcp_probe(struct trace_event_raw_tcp_probe *ctx)
{
	if (!pl_sk_in_netns(ctx->skaddr))
		return 0;
	struct sock_key k;
	const __u8 *s = ctx->saddr, *d = ctx->daddr;
	/* sockaddr_in: addr at 4; sockaddr_in6: addr at 8 */
	if (pl_sock_key(&k, ctx->family, s + 4, d + 4, s + 8, d + 8, ctx->sport, ctx->dport))
		return 0;
	struct sock_val *v = pl_sock_get(&k);
	if (!v)
		return 0;
	v->srtt_us = ctx->srtt;
	v->cwnd = ctx->snd_cwnd;
	v->ssthresh = ctx->ssthresh;
	v->snd_wnd = ctx->snd_wnd;
	v->rcv_wnd = ctx->rcv_wnd;
	v->probe_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_tcp_retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	if (!pl_sk_in_netns(ctx->skaddr))
		return 0;
	struct sock_key k;
	if (pl_sock_key(&k, ctx->family, ctx->saddr, ctx->daddr, ctx->saddr_v6, ctx->daddr_v6,
			ctx->sport, ctx->dport))
		return 0;
	struct sock_val *v = pl_sock_get(&k);
	if (v)
		__sync_fetch_and_add(&v->retrans, 1);
	return 0;
}

#endif
