/* uprobes on libssl's SSL_read/SSL_write (and _ex): the plaintext of TLS connections, per process. */
#ifndef PKTLENS_TP_SSL_BPF_H
#define PKTLENS_TP_SSL_BPF_H

#include <bpf/bpf_tracing.h>

#include "lib/l7.bpf.h"

/* Arguments saved at entry, read back at return (the buffer is only filled by then for reads). */
struct ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 nbytes_ptr; /* _ex variants: size_t *written / *readbytes; 0 for the plain calls */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid: one call in flight per thread */
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

static __always_inline int pl_ssl_in_netns(void)
{
	if (!netns_ino)
		return 1;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 ino = BPF_CORE_READ(t, nsproxy, net_ns, ns.inum);
	return ino == netns_ino;
}

static __always_inline void pl_ssl_enter(struct pt_regs *ctx, __u64 nbytes_ptr)
{
	if (!pl_ssl_in_netns())
		return;
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call call = {
		.ssl = PT_REGS_PARM1(ctx),
		.buf = PT_REGS_PARM2(ctx),
		.nbytes_ptr = nbytes_ptr,
	};
	bpf_map_update_elem(&ssl_calls, &id, &call, BPF_ANY);
}

static __always_inline void pl_ssl_return(struct pt_regs *ctx, int dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *call = bpf_map_lookup_elem(&ssl_calls, &id);
	if (!call)
		return;
	struct ssl_call a = *call;
	bpf_map_delete_elem(&ssl_calls, &id);
	struct l7_counters *c = pl_l7_stats();
	if (c)
		c->ssl_calls++;
	long ret = PT_REGS_RC(ctx);
	__u64 len = 0;
	if (a.nbytes_ptr) {
		/* SSL_*_ex return 1 on success and the byte count through the pointer */
		if (ret != 1 || bpf_probe_read_user(&len, sizeof(len), (void *)a.nbytes_ptr))
			return;
	} else {
		if (ret <= 0)
			return;
		len = (__u64)ret;
	}
	if (!len)
		return;
	struct l7_event *e = bpf_ringbuf_reserve(&l7_events, sizeof(*e), 0);
	if (!e) {
		if (c)
			c->events_lost++;
		return;
	}
	__builtin_memset(e, 0, offsetof(struct l7_event, data));
	__u32 n = len < PL_L7_DATA ? (__u32)len : PL_L7_DATA;
	if (bpf_probe_read_user(e->data, n, (void *)a.buf)) {
		bpf_ringbuf_discard(e, 0);
		if (c)
			c->ssl_lost++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->tgid = (__u32)(id >> 32);
	e->conn = a.ssl;
	e->payload_len = len > 0xffffffffULL ? 0xffffffffU : (__u32)len;
	e->len = (__u16)n;
	e->kind = PL_L7K_SSL;
	e->dir = (__u8)dir;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, pl_l7_wake(sizeof(*e)));
	if (c)
		c->events++;
}

/* SSL_read(ssl, buf, num), SSL_write(ssl, buf, num) */
SEC("uprobe")
int uprobe_ssl_rw(struct pt_regs *ctx)
{
	pl_ssl_enter(ctx, 0);
	return 0;
}

/* SSL_read_ex(ssl, buf, num, size_t *readbytes), SSL_write_ex(ssl, buf, num, size_t *written) */
SEC("uprobe")
int uprobe_ssl_rw_ex(struct pt_regs *ctx)
{
	pl_ssl_enter(ctx, PT_REGS_PARM4(ctx));
	return 0;
}

SEC("uretprobe")
int uretprobe_ssl_write(struct pt_regs *ctx)
{
	pl_ssl_return(ctx, PL_DIR_TX);
	return 0;
}

SEC("uretprobe")
int uretprobe_ssl_read(struct pt_regs *ctx)
{
	pl_ssl_return(ctx, PL_DIR_RX);
	return 0;
}

#endif
