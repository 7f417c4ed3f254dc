/* Data contract between the per-process socket programs and user space: sockets by process, process info. */
#ifndef PKTLENS_SHARED_PROCS_H
#define PKTLENS_SHARED_PROCS_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/*
 * A process is its tgid and its start time: a pid is reused once the pid
 * space wraps (and at once when ns_last_pid or clone3's set_tid asks for
 * it), and without the start time a new process would inherit the old one's
 * name and counters, and forgetting the old one would delete the new one's
 * entries. start_ns is the thread group leader's start_boottime, the value
 * /proc/PID/stat prints as field 22 in clock ticks.
 */
struct proc_key {
	__u32 tgid;
	__u32 pad;
	__u64 start_ns;
};
_Static_assert(sizeof(struct proc_key) == 16, "proc_key layout");

/*
 * One socket as one process uses it. The socket address alone would merge
 * two processes sharing a socket (fork, SCM_RIGHTS) and would merge a freed
 * socket with the next one the allocator puts at the same address; the
 * process and the inode keep them apart.
 */
struct proc_sock_key {
	__u64 sk;  /* struct sock address */
	__u64 ino; /* the socket's inode (as in /proc/PID/fd socket:[ino]); 0 for kernel sockets */
	__u64 start_ns; /* of the process, as in struct proc_key */
	__u32 tgid;
	__u32 pad;
};
_Static_assert(sizeof(struct proc_sock_key) == 32, "proc_sock_key layout");

#define PL_PS_LISTEN 0x01    /* listen() succeeded on it */
#define PL_PS_CONNECTED 0x02 /* connect() by this process */
#define PL_PS_ACCEPTED 0x04  /* returned by accept() to this process */

/* Counters are shared by all CPUs (two threads of a process may use one socket): atomics only. */
struct proc_sock_val {
	__u64 rx_bytes; /* sock_recv_length ret > 0, without MSG_PEEK */
	__u64 tx_bytes; /* sock_send_length ret > 0 */
	__u64 rx_calls;
	__u64 tx_calls;
	__u64 first_ns; /* bpf_ktime_get_ns() */
	__u64 last_ns;
	__u8 local[16]; /* from struct sock at the last call: IPv4 in the first 4 bytes */
	__u8 remote[16];
	__u16 local_port; /* host byte order */
	__u16 remote_port;
	/*
	 * PL_AF_INET or PL_AF_INET6. A dual-stack IPv6 socket talking to an IPv4
	 * peer holds v4-mapped addresses (::ffff:a.b.c.d) while the packets, and
	 * so the flow keys, are IPv4: when each address is v4-mapped or
	 * unspecified and one is v4-mapped, both are stored as IPv4. A wildcard
	 * [::] socket without a peer stays IPv6: it takes both families.
	 */
	__u8 family;
	__u8 proto; /* IPPROTO_* of the socket */
	__u8 state; /* skc_state at the last call (TCP_* numbering) */
	__u8 flags; /* PL_PS_* */
	__u32 tid;  /* thread that last used it */
	__u32 pad;
	char
	    thread[16]; /* that thread's name (a process's threads name themselves: isc-net-0000) */
};
_Static_assert(sizeof(struct proc_sock_val) == 112, "proc_sock_val layout");

#define PL_CMDLINE_LEN 128

/* What the kernel knows about a process (struct proc_key) when pktlens first sees it use a socket. */
struct proc_info_val {
	__u64 cgroup_id; /* cgroup v2 id: the inode of the cgroup's directory */
	__u64 first_ns;
	__u64 connects; /* connect() calls on TCP sockets that succeeded or are in progress */
	__u64 accepts;	/* accept()/accept4() that returned a socket */
	char comm[16];	/* the thread group leader's, as /proc/PID/comm: not the calling thread's */
	char cmdline[PL_CMDLINE_LEN]; /* argv with NULs between, as /proc/PID/cmdline; may be cut */
	__u32 cmdline_len;
	__u32 pad;
};
_Static_assert(sizeof(struct proc_info_val) == 32 + 16 + PL_CMDLINE_LEN + 8,
	       "proc_info_val layout");

#endif
