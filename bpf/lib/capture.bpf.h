/* Packet capture for -w and the TUI's write key: the packet's bytes into the capture ring. */
#ifndef PKTLENS_LIB_CAPTURE_BPF_H
#define PKTLENS_LIB_CAPTURE_BPF_H

#include "shared/capture.h"
#include "shared/flow.h"

/*
 * Knobs set before load. capture_all: -w, whose tc programs (tc_*_flows_w) capture every
 * packet; the flows the TUI writes are then captured already, and the verifier removes that
 * path from pl_emit. capture_snaplen bounds every record, the TUI's too.
 */
const volatile __u32 capture_all = 0;
const volatile __u32 capture_snaplen = PL_CAP_MAX;

/* Sized by user space: large with -w, small with the TUI, one page otherwise. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} capture SEC(".maps");

/*
 * One record per CPU (max_entries set to the possible CPUs with capture on): a per-CPU array
 * value cannot be 64 KiB. The tc and XDP programs of one CPU never nest (tc egress runs with
 * bottom halves off, XDP and tc ingress in the same softirq one after the other), so a slot
 * is never used twice at once.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pl_cap_rec);
} capture_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pl_cap_stats);
} capture_stats SEC(".maps");

/*
 * Copies the packet (up to the snap length) into the ring, or counts it lost. Never waits:
 * a full ring loses the packet, the packet path goes on. hookdir is hook << 4 | dir. Not
 * inlined: pl_emit inlines into each program twice (tc's retry after a pull), and a flow
 * being written is rare. Static, so the verifier checks it with the caller's constant hook
 * and keeps only that program type's load helper.
 */
static __noinline void pl_capture(void *ctx, int hookdir, __u32 ifindex, __u32 len, __u32 segs)
{
	__u32 zero = 0, cpu = bpf_get_smp_processor_id();
	struct pl_cap_stats *st = bpf_map_lookup_elem(&capture_stats, &zero);
	struct pl_cap_rec *r = bpf_map_lookup_elem(&capture_buf, &cpu);
	if (!st || !r)
		return;
	__u32 cap = len < capture_snaplen ? len : capture_snaplen;
	if (cap > PL_CAP_MAX)
		cap = PL_CAP_MAX;
	if (cap == 0)
		return;
	/*
	 * cap in [1, 65536] by arithmetic the verifier follows: 6.1's loses the lower bound of the
	 * branch above on 32-bit registers and refuses the load ("invalid access to map value,
	 * value_size=65560 off=24 size=0"). The asm keeps clang from folding it away.
	 */
	asm volatile("" : "+r"(cap));
	cap = ((cap - 1) & 0xffff) + 1;
	int hook = hookdir >> 4, dir = hookdir & 0xf;
	long err;
	if (hook == PL_HOOK_XDP)
		err = bpf_xdp_load_bytes(ctx, 0, r->data, cap);
	else
		err = bpf_skb_load_bytes(ctx, 0, r->data, cap);
	if (err) {
		st->lost++; /* shorter than it says: nothing sensible to write */
		return;
	}
	r->h.ts_ns = bpf_ktime_get_ns();
	r->h.ifindex = ifindex;
	r->h.len = len;
	r->h.cap_len = cap;
	r->h.segs = segs > 0xffff ? 0xffff : segs;
	r->h.dir = dir;
	r->h.hook = hook;
	if (bpf_ringbuf_output(&capture, r, sizeof(r->h) + cap, 0))
		st->lost++;
	else
		st->captured++;
}

#endif
