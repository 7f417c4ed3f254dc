/* Tracepoint programs for TCP sockets: state changes, RTT/cwnd from tcp_probe, retransmissions. */
#ifndef PKTLENS_TP_TCP_BPF_H
#define PKTLENS_TP_TCP_BPF_H

#include "lib/maps.bpf.h"
#include "lib/skb.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} tcp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_counters);
} tcp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* struct sock address */
	__type(value, __u64); /* SYN_SENT / SYN_RECV time */
} sk_open SEC(".maps");

static __always_inline struct tcp_counters *pl_tcp_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&tcp_stats, &zero);
}

#define PL_TCP_SYN_SENT 2

#define PL_AF_INET_KERNEL 2
#define PL_AF_INET6_KERNEL 10

/*
 * A field of a kernel object, as a program of either kind can get it. btf (a constant at every
 * call): the program is tp_btf, whose arguments are BTF pointers the verifier lets it load
 * from (a load the JIT guards with an exception-table entry); raw and classic programs call
 * bpf_probe_read_kernel, a helper call per field. The other branch is folded away.
 */
#define PL_FIELD(btf, p, ...) ((btf) ? (p)->__VA_ARGS__ : BPF_CORE_READ(p, __VA_ARGS__))

/* With -n, only sockets of the watched namespace count. */
static __always_inline int pl_sk_in_netns_x(const struct sock *sk, const int btf)
{
	if (!netns_ino)
		return 1;
	struct net *net = PL_FIELD(btf, sk, __sk_common.skc_net.net);
	__u64 known = netns_net;
	if (known)
		return (__u64)net == known;
	if (!net || PL_FIELD(btf, net, ns.inum) != netns_ino)
		return 0;
	netns_net = (__u64)net;
	return 1;
}

static __always_inline int pl_sk_in_netns(const void *skaddr)
{
	return pl_sk_in_netns_x(skaddr, 0);
}

/*
 * The head of struct sock_common: both IPv4 addresses, both ports, family and state, which the
 * kernel has kept in this order in its first 20 bytes since 4.x. One read of those bytes
 * instead of five (each read is a helper call and costs as much as a map lookup; the socket
 * programs run four times per HTTP request). Where a kernel moved a field, the offsets CO-RE
 * finds tell, and each is read alone.
 */
struct pl_skc_head {
	__u32 daddr, rcv_saddr;
	__u16 dport; /* network order */
	__u16 num;
	__u16 family;
	__u8 state;
};

static __always_inline void pl_skc_head_x(const struct sock *sk, struct pl_skc_head *h,
					  const int btf)
{
	const struct sock_common *c = &sk->__sk_common;
	if (!btf && bpf_core_field_offset(c->skc_daddr) == 0 &&
	    bpf_core_field_offset(c->skc_rcv_saddr) == 4 &&
	    bpf_core_field_offset(c->skc_dport) == 12 && bpf_core_field_offset(c->skc_num) == 14 &&
	    bpf_core_field_offset(c->skc_family) == 16 &&
	    bpf_core_field_offset(c->skc_state) == 18) {
		struct {
			__u32 daddr, rcv_saddr, hash;
			__u16 dport, num, family;
			__u8 state;
		} b;
		if (bpf_probe_read_kernel(&b, 19, c)) {
			__builtin_memset(h, 0, sizeof(*h));
			return;
		}
		h->daddr = b.daddr;
		h->rcv_saddr = b.rcv_saddr;
		h->dport = b.dport;
		h->num = b.num;
		h->family = b.family;
		h->state = b.state;
		return;
	}
	h->daddr = PL_FIELD(btf, sk, __sk_common.skc_daddr);
	h->rcv_saddr = PL_FIELD(btf, sk, __sk_common.skc_rcv_saddr);
	h->dport = PL_FIELD(btf, sk, __sk_common.skc_dport);
	h->num = PL_FIELD(btf, sk, __sk_common.skc_num);
	h->family = PL_FIELD(btf, sk, __sk_common.skc_family);
	h->state = PL_FIELD(btf, sk, __sk_common.skc_state);
}

static __always_inline void pl_skc_head(const struct sock *sk, struct pl_skc_head *h)
{
	pl_skc_head_x(sk, h, 0);
}

/*
 * Every socket key goes through pl_sock_key_unmap (shared/tcp.h): a dual-stack socket's IPv4
 * connection is reported as AF_INET6 ::ffff:a.b.c.d and must land on its IPv4 flow.
 *
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
	pl_sock_key_unmap(k);
	return 0;
}

/*
 * The classic records' common start: 0 when the record's socket is in the watched namespace
 * and its addresses made the key. The records are of several types with the same field names.
 */
#define PL_TP_SOCK_KEY(ctx, k)                                                       \
	(pl_sk_in_netns((ctx)->skaddr) &&                                            \
	 !pl_sock_key(k, (ctx)->family, (ctx)->saddr, (ctx)->daddr, (ctx)->saddr_v6, \
		      (ctx)->daddr_v6, (ctx)->sport, (ctx)->dport))

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

static __always_inline void pl_tcp_event(const struct sock_key *k, int kind, int state, __u32 seq,
					 __u16 segs)
{
	struct tcp_event *e = bpf_ringbuf_reserve(&tcp_events, sizeof(*e), 0);
	if (!e) {
		struct tcp_counters *tc = pl_tcp_stats();
		if (tc)
			tc->events_lost++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(&e->key, k, sizeof(*k));
	e->seq = seq;
	e->segs = segs;
	e->kind = kind;
	e->state = state;
	/* Read at each refresh: no wakeup per event. */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* bpf/tracepoint/procs.bpf.h: a process's listen() and connect() */
static __always_inline void pl_procs_open(const struct sock *sk, int newstate);

/* A TCP socket's state change, from either variant of inet_sock_set_state. */
static __always_inline int pl_sock_state(const void *sk, const struct sock_key *k, int oldstate,
					 int ns)
{
	struct sock_val *v = pl_sock_get(k);
	if (!v)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 skaddr = (__u64)sk;
	/*
	 * connect() enters SYN_SENT before the source port is chosen, so that
	 * transition lands on a key with local port 0. Remember it by socket
	 * address and carry it over when the socket shows up with its port.
	 */
	if (ns == PL_TCP_SYN_SENT || ns == 3 /* SYN_RECV */) {
		bpf_map_update_elem(&sk_open, &skaddr, &now, BPF_ANY);
		v->active = ns == PL_TCP_SYN_SENT;
	}
	if (!v->open_ns) {
		__u64 *t = bpf_map_lookup_elem(&sk_open, &skaddr);
		if (t) {
			v->open_ns = *t;
			v->active = v->active || ns == 1;
		}
	}
	if (!v->first_ns) {
		v->first_ns = v->open_ns ? v->open_ns : now;
		if (v->open_ns && ns != PL_TCP_SYN_SENT && ns != 3) {
			/* the opening state was recorded under the port-less key */
			v->states[0] = v->active ? PL_TCP_SYN_SENT : 3;
			v->state_ms[0] = 0;
			v->n_states = 1;
		}
	}
	if (ns == 1 /* ESTABLISHED */)
		v->est_ns = now;
	else if (ns == 7 /* CLOSE */) {
		v->close_ns = now;
		bpf_map_delete_elem(&sk_open, &skaddr);
	}
	__u64 base = v->first_ns;
	__u8 i = v->n_states & (PL_STATE_HIST - 1);
	v->states[i] = ns;
	v->state_ms[i] = (__u32)((now - base) / 1000000);
	v->n_states++;
	v->state = ns;
	v->state_ns = now;
	if (oldstate == 7 /* CLOSE */ && (ns == PL_TCP_SYN_SENT || ns == 10 /* LISTEN */))
		pl_procs_open(sk, ns);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct sock_key k;
	if (ctx->protocol != PL_IPPROTO_TCP || !PL_TP_SOCK_KEY(ctx, &k))
		return 0;
	return pl_sock_state(ctx->skaddr, &k, ctx->oldstate, ctx->newstate);
}

/* tcp_probe stores the socket's own address in saddr as a sockaddr_in or sockaddr_in6. */
SEC("tracepoint/tcp/tcp_probe")
int tp_tcp_probe(struct trace_event_raw_tcp_probe *ctx)
{
	/* Older kernels' tcp_probe has no skaddr: -n cannot filter it there, so all count. */
	if (bpf_core_field_exists(ctx->skaddr) && !pl_sk_in_netns(ctx->skaddr))
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
	v->probes++;
	return 0;
}

/*
 * Kernels before tcp_retransmit_skb got its own event (with err) record it
 * as the tcp_event_sk_skb class: same fields under another type name, which
 * this flavour matches by CO-RE (the ___pl suffix is ignored).
 */
struct trace_event_raw_tcp_event_sk_skb___pl {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

/*
 * TcpRetransSegs grows by tcp_skb_pcount() of each retransmitted skb, so the segments come from
 * the skb's control block. __tcp_retransmit_skb adds them to the MIB (and to the socket's
 * total_retrans) just before it hands the skb to tcp_transmit_skb, so an attempt that failed
 * after that point counts all the same: a device or qdisc that dropped it (NET_XMIT_DROP, err
 * 1), netfilter (-EPERM), no buffer for a copy (-ENOBUFS), ... (e2e/retrans_ground_truth drops
 * every 17th data segment in the sender's output hook: 116 of 866 retransmissions failed so,
 * all in TcpRetransSegs and in TCPRetransFail). The errors it returns before counting are: the
 * skb still in a device queue (-EBUSY), no window (-EAGAIN), no memory to trim or split it
 * (-ENOMEM), and a route that went away (rebuild_header: -EHOSTUNREACH, -ENETUNREACH,
 * -EINVAL). pl_retrans_counted: whether the MIB counted an attempt that ended with err.
 */
static __always_inline int pl_retrans_counted(int err)
{
	return err != -16 /* EBUSY */ && err != -11 /* EAGAIN */ && err != -12 /* ENOMEM */ &&
	       err != -113 /* EHOSTUNREACH */ && err != -101 /* ENETUNREACH */ &&
	       err != -22 /* EINVAL */;
}

static __always_inline int pl_tcp_retransmit(const struct sock_key *k, const struct sk_buff *skb,
					     int state, int err)
{
	struct tcp_skb_cb *cb = (void *)skb->cb;
	__u32 seq = BPF_CORE_READ(cb, seq);
	__u16 segs = BPF_CORE_READ(cb, tcp_gso_segs);
	if (!segs)
		segs = 1;
	int counted = pl_retrans_counted(err);
	struct sock_val *v = pl_sock_get(k);
	if (v) {
		if (counted)
			__sync_fetch_and_add(&v->retrans, segs);
		__sync_fetch_and_add(&v->retrans_events, 1);
	}
	struct tcp_counters *tc = pl_tcp_stats();
	if (tc && counted)
		tc->retrans_segs += segs;
	if (counted)
		pl_tcp_event(k, state == PL_TCP_SYN_SENT ? PL_TE_RETRANS_SYN : PL_TE_RETRANS, state,
			     seq, segs);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_tcp_retransmit(void *raw)
{
	struct sock_key k;
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *ctx = raw;
		if (!PL_TP_SOCK_KEY(ctx, &k))
			return 0;
		int err = 0;
		if (bpf_core_field_exists(ctx->err))
			err = BPF_CORE_READ(ctx, err);
		return pl_tcp_retransmit(&k, ctx->skbaddr, ctx->state, err);
	}
	struct trace_event_raw_tcp_event_sk_skb___pl *ctx = raw;
	if (!PL_TP_SOCK_KEY(ctx, &k))
		return 0;
	return pl_tcp_retransmit(&k, ctx->skbaddr, ctx->state, 0);
}

/* The socket's own view of a TCP connection from the head of its struct sock, read already. */
static __always_inline int pl_sock_key_head(struct sock_key *k, const struct sock *sk,
					    const struct pl_skc_head *h)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (h->family == PL_AF_INET_KERNEL) {
		k->family = PL_AF_INET;
		__builtin_memcpy(k->local, &h->rcv_saddr, 4);
		__builtin_memcpy(k->remote, &h->daddr, 4);
	} else if (h->family == PL_AF_INET6_KERNEL) {
		k->family = PL_AF_INET6;
		bpf_core_read(k->local, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(k->remote, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		return -1;
	}
	k->local_port = h->num;
	k->remote_port = pl_ntohs(h->dport);
	pl_sock_key_unmap(k);
	return 0;
}

/*
 * A full socket's local port as inet_sport holds it, as the classic records take it:
 * tcp_set_state(TCP_CLOSE) releases the port (inet_put_port zeroes inet_num, skc_num) before
 * the state-change tracepoint fires, and a close with SO_LINGER 0 sends its reset after that.
 * Request and timewait sockets are no inet_sock: their skc_num is their port.
 */
static __always_inline void pl_sock_key_sport(struct sock_key *k, const struct sock *sk, int state)
{
	if (state != 6 /* TIME_WAIT */ && state != 12 /* NEW_SYN_RECV */)
		k->local_port = pl_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
}

/* The same, reading the head (raw tracepoints). */
static __always_inline int pl_sock_key_sk(struct sock_key *k, const struct sock *sk)
{
	struct pl_skc_head h;
	pl_skc_head(sk, &h);
	return pl_sock_key_head(k, sk, &h);
}

/*
 * tcp_probe as a raw tracepoint (see raw_tcp_retransmit): it fires on every
 * segment an established socket receives, two per request under HTTP
 * keep-alive, and the classic one first fills a 136-byte record (both
 * addresses as sockaddrs, nine counters, the socket's cookie) that costs
 * more than this program (make bench, perf: perf_trace_tcp_probe 0.51% of
 * the machine against the program's 0.30%). srtt is the record's (srtt_us / 8);
 * ssthresh is the socket's snd_ssthresh, as ss -ti and TCP_INFO show it, where
 * the record holds tcp_current_ssthresh(), max(snd_ssthresh, 3/4 cwnd) outside
 * a cwnd reduction.
 */
static __always_inline int pl_tcp_probe(const struct sock *sk, const int btf)
{
	if (!pl_sk_in_netns_x(sk, btf))
		return 0;
	/* tp_btf: a cast would keep the verifier's type, struct sock; the helper checks and
	 * retypes */
	const struct tcp_sock *tp = btf ? bpf_skc_to_tcp_sock((void *)sk) : (const void *)sk;
	if (!tp)
		return 0;
	struct pl_skc_head h;
	pl_skc_head_x(sk, &h, btf);
	struct sock_key k;
	if (pl_sock_key_head(&k, sk, &h))
		return 0;
	struct sock_val *v = pl_sock_get(&k);
	if (!v)
		return 0;
	v->srtt_us = PL_FIELD(btf, tp, srtt_us) >> 3;
	v->cwnd = PL_FIELD(btf, tp, snd_cwnd);
	v->ssthresh = PL_FIELD(btf, tp, snd_ssthresh);
	v->snd_wnd = PL_FIELD(btf, tp, snd_wnd);
	v->rcv_wnd = PL_FIELD(btf, tp, rcv_wnd);
	v->probes++;
	return 0;
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(raw_tcp_probe, const struct sock *sk, const struct sk_buff *skb)
{
	return pl_tcp_probe(sk, 0);
}

/* The same as a tp_btf program: the socket's fields are loads, not helper calls. */
SEC("tp_btf/tcp_probe")
int BPF_PROG(btf_tcp_probe, struct sock *sk, const struct sk_buff *skb)
{
	return pl_tcp_probe(sk, 1);
}

/*
 * The same event as a raw tracepoint. Classic tracepoint programs are
 * skipped whenever any other kprobe/tracepoint BPF program is running on
 * the CPU (the kernel's global bpf_prog_active guard: a softirq retransmit
 * that interrupts a syscall tracepoint program is lost, visible only as
 * recursion_misses). Raw tracepoints only refuse to nest in themselves, so
 * counts stay exact. Chosen where the tracepoint has its err argument.
 */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(raw_tcp_retransmit, const struct sock *sk, const struct sk_buff *skb, int err)
{
	if (!pl_sk_in_netns(sk))
		return 0;
	struct sock_key k;
	if (pl_sock_key_sk(&k, sk))
		return 0;
	return pl_tcp_retransmit(&k, skb, BPF_CORE_READ(sk, __sk_common.skc_state), err);
}

/* A SYN-ACK resent by a listener (request socket): also one TcpRetransSegs. */
static __always_inline int pl_synack_retrans(const struct sock_key *k)
{
	struct sock_val *v = pl_sock_get(k);
	if (v) {
		__sync_fetch_and_add(&v->retrans, 1);
		__sync_fetch_and_add(&v->retrans_events, 1);
	}
	struct tcp_counters *tc = pl_tcp_stats();
	if (tc) {
		tc->retrans_segs++;
		tc->synack_retrans++;
	}
	pl_tcp_event(k, PL_TE_RETRANS_SYNACK, 3 /* SYN_RECV */, 0, 1);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int tp_tcp_retransmit_synack(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	struct sock_key k;
	if (!PL_TP_SOCK_KEY(ctx, &k))
		return 0;
	return pl_synack_retrans(&k);
}

/*
 * The same as a raw tracepoint (see raw_tcp_retransmit). A SYN-ACK is resent from the timer
 * softirq or for a repeated SYN, which can interrupt pktlens' own refresh: the map syscalls
 * (batch lookups, bpf_map_copy_value) hold the same per-CPU bpf_prog_active guard, and a
 * classic tracepoint program is then skipped (metrics_prometheus once counted 2 of A's 4
 * TcpRetransSegs). The addresses are the request socket's own, in the struct sock_common it
 * begins with: its family too, where the classic record takes the listener's (an IPv4
 * request on a [::] listener).
 */
SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(raw_tcp_retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	if (!pl_sk_in_netns(sk))
		return 0;
	struct sock_key k;
	if (pl_sock_key_sk(&k, (const struct sock *)req))
		return 0;
	return pl_synack_retrans(&k);
}

/*
 * inet_sock_set_state as a raw tracepoint (see raw_tcp_retransmit). Most
 * changes come in softirq with a packet (a handshake's SYN_RECV and
 * ESTABLISHED, a peer's FIN, a reset), which can interrupt pktlens' own map
 * syscalls on that CPU: the classic program is then skipped and the socket
 * misses a state, its lifetime or its connect/listen count. The local port
 * is inet_sport (pl_sock_key_sport): skc_num lost every CLOSE. Both are 0
 * before a connect() picks one.
 */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(raw_sock_state, const struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != PL_IPPROTO_TCP || !pl_sk_in_netns(sk))
		return 0;
	struct sock_key k;
	if (pl_sock_key_sk(&k, sk))
		return 0;
	pl_sock_key_sport(&k, sk, oldstate);
	return pl_sock_state(sk, &k, oldstate, newstate);
}

/*
 * The event's state is the socket's own (tcp_reset fires this before tcp_done closes it), not
 * the one its socks entry last recorded: a connect() refused by a reset was in SYN_SENT, which
 * its entry never saw (the port-less key took that change).
 */
static __always_inline int pl_receive_reset(const struct sock_key *k, int state)
{
	struct sock_val *v = pl_sock_get(k);
	if (v)
		__sync_fetch_and_add(&v->resets_rx, 1);
	struct tcp_counters *tc = pl_tcp_stats();
	if (tc)
		tc->resets_rx++;
	pl_tcp_event(k, PL_TE_RESET_RX, state, 0, 1);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tp_tcp_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	struct sock_key k;
	if (!PL_TP_SOCK_KEY(ctx, &k))
		return 0;
	const struct sock *sk = ctx->skaddr;
	return pl_receive_reset(&k, BPF_CORE_READ(sk, __sk_common.skc_state));
}

/* The same as a raw tracepoint: a reset arrives in softirq (see raw_sock_state). */
SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(raw_tcp_receive_reset, const struct sock *sk)
{
	if (!pl_sk_in_netns(sk))
		return 0;
	struct pl_skc_head h;
	pl_skc_head(sk, &h);
	struct sock_key k;
	if (pl_sock_key_head(&k, sk, &h))
		return 0;
	return pl_receive_reset(&k, h.state);
}

/*
 * A reset without a socket answers an incoming skb: the device it arrived on names the
 * namespace (with -n, resets of other namespaces, e.g. other test runs' closed ports, are
 * not this one's). Where the device is gone, it cannot be told: it counts.
 */
static __always_inline int pl_skb_in_netns(const struct sk_buff *skb)
{
	if (!netns_ino || !skb)
		return 1;
	const struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (!dev)
		return 1;
	return BPF_CORE_READ(dev, nd_net.net, ns.inum) == netns_ino;
}

static __always_inline int pl_tcp_send_reset(const void *sk, const struct sock_key *k, int state)
{
	/* Without a socket the key is the offending skb's: look it up, never create it. */
	struct sock_val *v = sk ? pl_sock_get(k) : bpf_map_lookup_elem(&socks, k);
	if (v)
		__sync_fetch_and_add(&v->resets_tx, 1);
	struct tcp_counters *tc = pl_tcp_stats();
	if (tc)
		tc->resets_tx++;
	pl_tcp_event(k, PL_TE_RESET_TX, state, 0, 1);
	return 0;
}

/*
 * tcp_send_reset may have no socket (a RST for a closed port): the addresses
 * then come from the offending skb, already swapped to the reset's view, in
 * saddr/daddr as sockaddrs like tcp_probe's. Older kernels record it as the
 * tcp_event_sk_skb class (always with a socket, plain address fields).
 */
SEC("tracepoint/tcp/tcp_send_reset")
int tp_tcp_send_reset(void *raw)
{
	struct sock_key k;
	if (!bpf_core_type_exists(struct trace_event_raw_tcp_send_reset)) {
		struct trace_event_raw_tcp_event_sk_skb___pl *old = raw;
		const void *osk = old->skaddr;
		if (osk && !pl_sk_in_netns(osk))
			return 0;
		if (pl_sock_key(&k, old->family, old->saddr, old->daddr, old->saddr_v6,
				old->daddr_v6, old->sport, old->dport))
			return 0;
		return pl_tcp_send_reset(osk, &k, old->state);
	}
	struct trace_event_raw_tcp_send_reset *ctx = raw;
	const void *sk = ctx->skaddr;
	if (sk ? !pl_sk_in_netns(sk) : !pl_skb_in_netns(ctx->skbaddr))
		return 0;
	struct sockaddr_in6 sa;
	__builtin_memset(&sa, 0, sizeof(sa));
	bpf_probe_read_kernel(&sa, sizeof(sa), ctx->saddr);
	__u16 family = sa.sin6_family;
	const __u8 *s = ctx->saddr, *d = ctx->daddr;
	__u16 sport = 0, dport = 0;
	bpf_probe_read_kernel(&sport, 2, s + 2);
	bpf_probe_read_kernel(&dport, 2, d + 2);
	if (pl_sock_key(&k, family, s + 4, d + 4, s + 8, d + 8, pl_ntohs(sport), pl_ntohs(dport)))
		return 0;
	return pl_tcp_send_reset(sk, &k, ctx->state);
}

/*
 * The same as a raw tracepoint (see raw_sock_state): a reset answers a packet, in softirq. With
 * a socket (full, request or timewait: each begins with the sock_common head) the key is the
 * socket's; without one, the offending skb's, which arrived: its destination is the local side,
 * as in the classic record's swapped addresses.
 */
SEC("raw_tp/tcp_send_reset")
int BPF_PROG(raw_tcp_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct sock_key k;
	if (sk) {
		if (!pl_sk_in_netns(sk))
			return 0;
		struct pl_skc_head h;
		pl_skc_head(sk, &h);
		if (pl_sock_key_head(&k, sk, &h))
			return 0;
		pl_sock_key_sport(&k, sk, h.state);
		return pl_tcp_send_reset(sk, &k, h.state);
	}
	if (!skb || !pl_skb_in_netns(skb))
		return 0;
	struct flow_key fk;
	if (pl_skb_flow(skb, pl_ntohs(BPF_CORE_READ(skb, protocol)), 0, &fk) ||
	    fk.proto != PL_IPPROTO_TCP)
		return 0;
	__builtin_memset(&k, 0, sizeof(k));
	__builtin_memcpy(k.local, fk.local, 16);
	__builtin_memcpy(k.remote, fk.remote, 16);
	k.local_port = fk.local_port;
	k.remote_port = fk.remote_port;
	k.family = fk.family;
	pl_sock_key_unmap(&k);
	return pl_tcp_send_reset(NULL, &k, 0);
}

#endif
