/* Ad-hoc entry/return probe pairs (kprobe+kretprobe, uprobe+uretprobe): log2 latency histograms by cookie. */
#ifndef PKTLENS_TP_FUNCLAT_BPF_H
#define PKTLENS_TP_FUNCLAT_BPF_H

#include "lib/maps.bpf.h"
#include "shared/funclat.h"
#include "tracepoint/latency.bpf.h" /* pl_log2_us */

/* LRU: an entry whose return never comes (thread killed, longjmp) must not pin a slot. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct funclat_start_key);
	__type(value, __u64); /* entry time, ns */
} funclat_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct funclat_key);
	__type(value, struct lat_hist);
} funclat_hist SEC(".maps");

SEC("kprobe")
int probe_funclat_entry(struct pt_regs *ctx)
{
	struct funclat_start_key k = {
		.cookie = bpf_get_attach_cookie(ctx) & ~PL_FUNCLAT_PER_PID,
		.pid_tgid = bpf_get_current_pid_tgid(),
	};
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&funclat_start, &k, &now, BPF_ANY);
	return 0;
}

SEC("kretprobe")
int probe_funclat_exit(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct funclat_start_key sk = {
		.cookie = cookie & ~PL_FUNCLAT_PER_PID,
		.pid_tgid = bpf_get_current_pid_tgid(),
	};
	__u64 *t0 = bpf_map_lookup_elem(&funclat_start, &sk);
	if (!t0)
		return 0; /* entered before the pair was attached */
	__u64 d = bpf_ktime_get_ns() - *t0;
	bpf_map_delete_elem(&funclat_start, &sk);
	__u32 b = pl_log2_us(d);
	if (b >= PL_LAT_BUCKETS)
		b = PL_LAT_BUCKETS - 1;
	struct funclat_key hk = {
		.cookie = sk.cookie,
		.tgid = (cookie & PL_FUNCLAT_PER_PID) ? (__u32)(sk.pid_tgid >> 32) : 0,
	};
	struct lat_hist *h = bpf_map_lookup_elem(&funclat_hist, &hk);
	if (!h) {
		struct lat_hist z;
		__builtin_memset(&z, 0, sizeof(z));
		bpf_map_update_elem(&funclat_hist, &hk, &z, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&funclat_hist, &hk);
		if (!h)
			return 0;
	}
	__sync_fetch_and_add(&h->bucket[b], 1);
	return 0;
}

#endif
