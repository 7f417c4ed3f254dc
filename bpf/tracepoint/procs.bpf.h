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

/* The fd of a connect()/listen() in flight, by thread: the socket is looked up once it returns. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, __s32);
} proc_fd_inflight SEC(".maps");

#define PL_MSG_PEEK 2
#define PL_EINPROGRESS 115
#define PL_S_IFMT 00170000
#define PL_S_IFSOCK 0140000
#define PL_TCP_LISTEN 10

/* The calling process as struct proc_key: tgid and its thread group leader's start time. */
static __always_inline void pl_proc_key(struct proc_key *k, __u64 pid_tgid)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	k->tgid = (__u32)(pid_tgid >> 32);
	k->pad = 0;
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
 */
static __always_inline __u64 pl_sk_ino(const struct sock *sk)
{
	const struct socket *so = BPF_CORE_READ(sk, sk_socket);
	if (!so)
		return 0;
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
							  __u64 pid_tgid, __u8 proto, __u64 now)
{
	struct proc_key pk;
	pl_proc_key(&pk, pid_tgid);
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
		bpf_map_update_elem(&proc_socks, &k, &nv, BPF_NOEXIST);
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

/* proto: the tracepoint record's, or -1 to read it from the socket (raw tracepoints). */
static __always_inline int pl_sock_bytes(const struct sock *sk, int ret, int flags, int proto,
					 int rx)
{
	if (ret <= 0 || !sk)
		return 0;
	/* a peek leaves the bytes in the queue: the read that follows counts them */
	if (rx && (flags & PL_MSG_PEEK))
		return 0;
	struct pl_skc_head h;
	pl_skc_head(sk, &h);
	if (proto < 0)
		proto = BPF_CORE_READ(sk, sk_protocol);
	if (!pl_proto_tracked(h.family, proto) || !pl_sk_in_netns(sk))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct proc_sock_val *v =
	    pl_psock_get(sk, &h, pl_sk_ino(sk), bpf_get_current_pid_tgid(), (__u8)proto, now);
	if (!v)
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
	return pl_sock_bytes(ctx->sk, ctx->ret, ctx->flags, ctx->protocol, 1);
}

SEC("tracepoint/sock/sock_send_length")
int tp_procs_send(struct trace_event_raw_sock_msg_length *ctx)
{
	return pl_sock_bytes(ctx->sk, ctx->ret, ctx->flags, ctx->protocol, 0);
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
	return pl_sock_bytes(sk, ret, flags, -1, 1);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(raw_procs_send, const struct sock *sk, int ret, int flags)
{
	return pl_sock_bytes(sk, ret, flags, -1, 0);
}

/* fd -> struct sock of the current process, NULL when the fd is not an inet socket. */
static __always_inline const struct sock *pl_fd_sock(long fd, __u64 *ino)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), fds + fd);
	if (!f)
		return NULL;
	/* private_data is a struct socket only on socket files: check the inode type first */
	if ((BPF_CORE_READ(f, f_inode, i_mode) & PL_S_IFMT) != PL_S_IFSOCK)
		return NULL;
	*ino = BPF_CORE_READ(f, f_inode, i_ino);
	struct socket *so = BPF_CORE_READ(f, private_data);
	const struct sock *sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return NULL;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);
	if (!pl_proto_tracked(family, proto) || !pl_sk_in_netns(sk))
		return NULL;
	return sk;
}

/* Registers the socket behind fd for this process with a flag; returns its protocol or 0. */
static __always_inline int pl_fd_register(long fd, __u8 flag)
{
	__u64 ino = 0;
	const struct sock *sk = pl_fd_sock(fd, &ino);
	if (!sk)
		return 0;
	__u8 proto = (__u8)BPF_CORE_READ(sk, sk_protocol);
	struct pl_skc_head h;
	pl_skc_head(sk, &h);
	struct proc_sock_val *v =
	    pl_psock_get(sk, &h, ino, bpf_get_current_pid_tgid(), proto, bpf_ktime_get_ns());
	if (!v)
		return 0;
	v->flags |= flag;
	if (flag == PL_PS_LISTEN)
		v->state = PL_TCP_LISTEN;
	return proto;
}

static __always_inline int pl_fd_save(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__s32 fd = (__s32)ctx->args[0];
	bpf_map_update_elem(&proc_fd_inflight, &id, &fd, BPF_ANY);
	return 0;
}

static __always_inline long pl_fd_take(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__s32 *fdp = bpf_map_lookup_elem(&proc_fd_inflight, &id);
	if (!fdp)
		return -1;
	long fd = *fdp;
	bpf_map_delete_elem(&proc_fd_inflight, &id);
	return fd;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int tp_procs_conn_in(struct trace_event_raw_sys_enter *ctx)
{
	return pl_fd_save(ctx);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_procs_conn_out(struct trace_event_raw_sys_exit *ctx)
{
	long fd = pl_fd_take();
	long ret = ctx->ret;
	if (fd < 0 || (ret != 0 && ret != -PL_EINPROGRESS))
		return 0;
	if (pl_fd_register(fd, PL_PS_CONNECTED) == PL_IPPROTO_TCP) {
		struct proc_key pk;
		pl_proc_key(&pk, bpf_get_current_pid_tgid());
		struct proc_info_val *pi = bpf_map_lookup_elem(&proc_info, &pk);
		if (pi)
			__sync_fetch_and_add(&pi->connects, 1);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_listen")
int tp_procs_lsn_in(struct trace_event_raw_sys_enter *ctx)
{
	return pl_fd_save(ctx);
}

SEC("tracepoint/syscalls/sys_exit_listen")
int tp_procs_lsn_out(struct trace_event_raw_sys_exit *ctx)
{
	long fd = pl_fd_take();
	if (fd >= 0 && ctx->ret == 0)
		pl_fd_register(fd, PL_PS_LISTEN);
	return 0;
}

static __always_inline int pl_accepted(long ret)
{
	if (ret < 0)
		return 0;
	if (pl_fd_register(ret, PL_PS_ACCEPTED)) {
		struct proc_key pk;
		pl_proc_key(&pk, bpf_get_current_pid_tgid());
		struct proc_info_val *pi = bpf_map_lookup_elem(&proc_info, &pk);
		if (pi)
			__sync_fetch_and_add(&pi->accepts, 1);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_procs_accept(struct trace_event_raw_sys_exit *ctx)
{
	return pl_accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_procs_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return pl_accepted(ctx->ret);
}

#endif
