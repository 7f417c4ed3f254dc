/* Tracepoint programs for per-process socket usage: bytes and calls per process and socket, connects, accepts, listens. */
#ifndef PKTLENS_TP_PROCS_BPF_H
#define PKTLENS_TP_PROCS_BPF_H

#include "lib/maps.bpf.h"
#include "shared/procs.h"
#include "tracepoint/tcp.bpf.h" /* pl_sk_in_netns, PL_AF_*_KERNEL */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct proc_sock_key);
	__type(value, struct proc_sock_val);
} proc_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct proc_key);
	__type(value, struct proc_info_val);
} proc_info SEC(".maps");

#define PL_MSG_PEEK 2
#define PL_TCP_LISTEN 10
#define PL_PF_KTHREAD 0x00200000

/* The calling process as struct proc_key: tgid and its thread group leader's start time. */
static __always_inline void pl_proc_key(struct proc_key *k, __u64 pid_tgid, const int btf)
{
	k->tgid = (__u32)(pid_tgid >> 32);
	k->pad = 0;
	if (btf) {
		k->start_ns = bpf_get_current_task_btf()->group_leader->start_boottime;
		return;
	}
	struct task_struct *t = (void *)bpf_get_current_task();
	k->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
}

/* A process's first socket call: remember what only its own context can tell (cmdline, cgroup). */
static __always_inline struct proc_info_val *pl_proc_info(const struct proc_key *key, __u64 now)
{
	struct proc_info_val *pi = bpf_map_lookup_elem(&proc_info, key);
	if (pi)
		return pi;
	struct proc_info_val nv;
	__builtin_memset(&nv, 0, sizeof(nv));
	nv.cgroup_id = bpf_get_current_cgroup_id();
	nv.first_ns = now;
	struct task_struct *t = (void *)bpf_get_current_task();
	/*
	 * The process's name is its leader's: bpf_get_current_comm() names the
	 * calling thread, and dig's sockets are used by threads it names
	 * isc-net-0000... (the thread shows in proc_sock_val.thread instead).
	 */
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	bpf_probe_read_kernel_str(nv.comm, sizeof(nv.comm), &leader->comm);
	/* a process that lives 50 ms is gone before user space can read /proc: read argv now */
	__u64 start = BPF_CORE_READ(t, mm, arg_start);
	__u64 end = BPF_CORE_READ(t, mm, arg_end);
	__u64 len = end > start ? end - start : 0;
	if (len > PL_CMDLINE_LEN)
		len = PL_CMDLINE_LEN;
	if (len && !bpf_probe_read_user(nv.cmdline, len, (const void *)start))
		nv.cmdline_len = (__u32)len;
	bpf_map_update_elem(&proc_info, key, &nv, BPF_NOEXIST);
	return bpf_map_lookup_elem(&proc_info, key);
}

/*
 * The socket's inode number, as /proc/PID/fd shows it. The inode is allocated with the struct
 * socket (struct socket_alloc): two reads instead of four through the file, which a socket
 * being closed no longer has (its bytes then count under the same socket all the same).
 * btf (tp_btf programs): the socket's file's inode is three loads, where its file is still
 * there; the verifier follows no pointer back from struct socket to socket_alloc, so that one
 * stays a read.
 */
static __always_inline __u64 pl_sk_ino(const struct sock *sk, const int btf)
{
	const struct socket *so = PL_FIELD(btf, sk, sk_socket);
	if (!so)
		return 0;
	if (btf) {
		const struct file *f = so->file;
		if (f)
			return f->f_inode->i_ino;
	}
	if (bpf_core_type_exists(struct socket_alloc)) {
		const struct socket_alloc *sa =
		    (const void *)so - bpf_core_field_offset(struct socket_alloc, socket);
		return BPF_CORE_READ(sa, vfs_inode.i_ino);
	}
	return BPF_CORE_READ(so, file, f_inode, i_ino);
}

/* Addresses as the socket holds them now; see proc_sock_val.family for v4-mapped addresses. */
static __always_inline void pl_psock_addrs(struct proc_sock_val *v, const struct sock *sk,
					   const struct pl_skc_head *h)
{
	v->state = h->state;
	/*
	 * A TCP socket that reached TIME_WAIT or CLOSE has given its port away
	 * (the last reads of a connection happen then): keep the addresses it had.
	 */
	if (!h->num && v->local_port)
		return;
	v->local_port = h->num;
	v->remote_port = pl_ntohs(h->dport);
	if (h->family == PL_AF_INET6_KERNEL) {
		/*
		 * A dual-stack socket's IPv4 peer as IPv4, by the rule every socket key
		 * follows (pl_unmap_v4); not skc_rcv_saddr: a v6 socket's can hold
		 * 127.0.0.6 (LOOPBACK4_IPV6)
		 */
		struct in6_addr l = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr r = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
		v->family = PL_AF_INET6;
		__builtin_memcpy(v->local, &l, 16);
		__builtin_memcpy(v->remote, &r, 16);
		pl_unmap_v4(&v->family, v->local, v->remote);
		return;
	}
	v->family = PL_AF_INET;
	__builtin_memset(v->local, 0, 16);
	__builtin_memset(v->remote, 0, 16);
	__builtin_memcpy(v->local, &h->rcv_saddr, 4);
	__builtin_memcpy(v->remote, &h->daddr, 4);
}

static __always_inline struct proc_sock_val *pl_psock_get(const struct sock *sk,
							  const struct pl_skc_head *h, __u64 ino,
							  __u64 pid_tgid, __u8 proto, __u64 now,
							  int *created, const int btf)
{
	struct proc_key pk;
	pl_proc_key(&pk, pid_tgid, btf);
	struct proc_sock_key k = {
		.sk = (__u64)sk, .ino = ino, .start_ns = pk.start_ns, .tgid = pk.tgid
	};
	struct proc_sock_val *v = bpf_map_lookup_elem(&proc_socks, &k);
	if (!v) {
		struct proc_sock_val nv;
		__builtin_memset(&nv, 0, sizeof(nv));
		nv.first_ns = now;
		nv.proto = proto;
		pl_proc_info(&pk, now);
		*created = !bpf_map_update_elem(&proc_socks, &k, &nv, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&proc_socks, &k);
		if (!v)
			return NULL;
	}
	/*
	 * Plain stores: every writer stores what the socket holds, so a race loses
	 * nothing. The addresses change only with the socket's state or peer (a
	 * connect, a close, a UDP re-connect): the head of the socket, read once,
	 * decides; an IPv6 socket's addresses are read only then (make bench: HTTP
	 * keep-alive makes four of these calls per request).
	 */
	if (!v->local_port || h->state != v->state || pl_ntohs(h->dport) != v->remote_port)
		pl_psock_addrs(v, sk, h);
	v->last_ns = now;
	if (v->tid != (__u32)pid_tgid || !v->thread[0]) {
		v->tid = (__u32)pid_tgid;
		bpf_get_current_comm(v->thread, sizeof(v->thread));
	}
	return v;
}

static __always_inline int pl_proto_tracked(__u16 family, __u16 proto)
{
	if (family != PL_AF_INET_KERNEL && family != PL_AF_INET6_KERNEL)
		return 0;
	return proto == PL_IPPROTO_TCP || proto == PL_IPPROTO_UDP || proto == 1 /* ICMP */ ||
	       proto == 58 /* ICMPv6 */ || proto == 136 /* UDP-Lite */;
}

static __always_inline void pl_proc_count(__u64 pid_tgid, int accept)
{
	struct proc_key pk;
	pl_proc_key(&pk, pid_tgid, 0);
	struct proc_info_val *pi = bpf_map_lookup_elem(&proc_info, &pk);
	if (!pi)
		return;
	if (accept)
		__sync_fetch_and_add(&pi->accepts, 1);
	else
		__sync_fetch_and_add(&pi->connects, 1);
}

/*
 * A TCP socket that came from a listener: inet_sock_set_state saw it enter SYN_RECV (socks'
 * open time, not active). Asked when a process first uses a socket: that process accept()ed
 * it (or was handed it), so it counts as one accept of that process. A socket accepted before
 * pktlens started has no such record and counts none.
 */
static __always_inline int pl_sk_passive(const struct sock *sk, const struct pl_skc_head *h)
{
	struct sock_key k;
	if (pl_sock_key_head(&k, sk, h))
		return 0;
	struct sock_val *sv = bpf_map_lookup_elem(&socks, &k);
	return sv && sv->open_ns && !sv->active;
}

/* proto: the tracepoint record's, or -1 to read it from the socket (raw tracepoints). */
static __always_inline int pl_sock_bytes(const struct sock *sk, int ret, int flags, int proto,
					 int rx, const int btf)
{
	if (ret < 0 || !sk)
		return 0;
	/* a peek leaves the bytes in the queue: the read that follows counts them */
	if (rx && (flags & PL_MSG_PEEK))
		return 0;
	/* the namespace first: with -n most sockets of the host are not watched */
	if (!pl_sk_in_netns_x(sk, btf))
		return 0;
	struct pl_skc_head h;
	pl_skc_head_x(sk, &h, btf);
	if (proto < 0)
		proto = PL_FIELD(btf, sk, sk_protocol);
	if (!pl_proto_tracked(h.family, proto))
		return 0;
	/*
	 * An empty read is TCP's end of stream: it counts nothing but makes the socket the
	 * process's (a client that connects and closes at once is still one accept).
	 */
	if (!ret && !(rx && proto == PL_IPPROTO_TCP))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	int created = 0;
	struct proc_sock_val *v =
	    pl_psock_get(sk, &h, pl_sk_ino(sk, btf), id, (__u8)proto, now, &created, btf);
	if (!v)
		return 0;
	if (created && proto == PL_IPPROTO_TCP && pl_sk_passive(sk, &h)) {
		v->flags |= PL_PS_ACCEPTED;
		pl_proc_count(id, 1);
	}
	if (!ret)
		return 0;
	if (rx) {
		__sync_fetch_and_add(&v->rx_bytes, (__u64)ret);
		__sync_fetch_and_add(&v->rx_calls, 1);
	} else {
		__sync_fetch_and_add(&v->tx_bytes, (__u64)ret);
		__sync_fetch_and_add(&v->tx_calls, 1);
	}
	return 0;
}

SEC("tracepoint/sock/sock_recv_length")
int tp_procs_recv(struct trace_event_raw_sock_msg_length *ctx)
{
	return pl_sock_bytes(ctx->sk, ctx->ret, ctx->flags, ctx->protocol, 1, 0);
}

SEC("tracepoint/sock/sock_send_length")
int tp_procs_send(struct trace_event_raw_sock_msg_length *ctx)
{
	return pl_sock_bytes(ctx->sk, ctx->ret, ctx->flags, ctx->protocol, 0, 0);
}

/*
 * The same two as raw tracepoints, chosen wherever the kernel takes them (see
 * raw_tcp_retransmit): a classic tracepoint first builds its trace record
 * and goes through perf's buffer and trace_call_bpf, which under HTTP
 * keep-alive (four of these per request) cost more than the programs
 * themselves (make bench, perf: perf_trace_*, trace_call_bpf and the record's
 * buffer); and it is skipped while another tracing program runs on the CPU.
 * The protocol, which the record carried, is read from the socket.
 */
SEC("raw_tp/sock_recv_length")
int BPF_PROG(raw_procs_recv, const struct sock *sk, int ret, int flags)
{
	return pl_sock_bytes(sk, ret, flags, -1, 1, 0);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(raw_procs_send, const struct sock *sk, int ret, int flags)
{
	return pl_sock_bytes(sk, ret, flags, -1, 0, 0);
}

/* The same two as tp_btf programs: the socket's and the task's fields are loads. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(btf_procs_recv, struct sock *sk, int ret, int flags)
{
	return pl_sock_bytes(sk, ret, flags, -1, 1, 1);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(btf_procs_send, struct sock *sk, int ret, int flags)
{
	return pl_sock_bytes(sk, ret, flags, -1, 0, 1);
}

/*
 * listen() and connect() of TCP, from inet_sock_set_state (tp_sock_state), without a
 * tracepoint on those system calls: an enabled syscalls:* tracepoint sends every system call
 * of every process on the host through the slow tracing path (make bench, a TCP ping-pong of
 * four system calls on one CPU: ~90 ns more per system call with two of them attached,
 * whatever calls were made). The socket enters LISTEN or SYN_SENT from CLOSE in the context of
 * the process that called listen() or connect() (tracefs shows the caller, not a softirq).
 * Kernel threads (MPTCP subflows, in-kernel clients) are nobody's process here. A listen()
 * that fails after the state change (the port is taken) still shows as a listener.
 */
static __always_inline void pl_procs_open(const struct sock *sk, int newstate)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	if (BPF_CORE_READ(t, flags) & PL_PF_KTHREAD)
		return;
	struct pl_skc_head h;
	pl_skc_head(sk, &h);
	__u64 id = bpf_get_current_pid_tgid();
	int created = 0;
	struct proc_sock_val *v = pl_psock_get(sk, &h, pl_sk_ino(sk, 0), id, PL_IPPROTO_TCP,
					       bpf_ktime_get_ns(), &created, 0);
	if (!v)
		return;
	/* the tracepoint fires before the state is stored: the socket still says CLOSE */
	v->state = newstate;
	if (newstate == PL_TCP_LISTEN) {
		v->flags |= PL_PS_LISTEN;
		return;
	}
	v->flags |= PL_PS_CONNECTED;
	pl_proc_count(id, 0);
}

#endif
