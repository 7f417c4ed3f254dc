/* XDP firewall: deny and per-source rate-limit rules by prefix; attached only while a rule exists. */
#ifndef PKTLENS_XDP_FIREWALL_BPF_H
#define PKTLENS_XDP_FIREWALL_BPF_H

#include "lib/account.bpf.h"
#include "shared/security.h"

/*
 * These maps are all a firewall program uses, so a program pinned with
 * --persist-rules keeps them alive and nothing else of pktlens' object.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PL_FW_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* the kernel requires it of LPM tries */
	__type(key, struct fw_key);
	__type(value, struct fw_rule);
} fw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PL_FW_RULES_MAX);
	__type(key, __u32);
	__type(value, struct fw_stats);
} fw_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PL_FW_BUCKETS_MAX);
	__type(key, struct fw_bucket_key);
	__type(value, __u64);
} fw_buckets SEC(".maps");

/* GCRA (see struct fw_rule): 1 when the source may send this packet now. */
static __always_inline int pl_fw_bucket(const struct fw_rule *r, const __u8 *saddr, __u64 now)
{
	struct fw_bucket_key bk;
	__builtin_memset(&bk, 0, sizeof(bk));
	bk.slot = r->slot;
	bk.gen = r->gen;
	__builtin_memcpy(bk.addr, saddr, 16);
	__u64 interval = r->interval_ns, tolerance = r->tolerance_ns;

	__u64 *tat = bpf_map_lookup_elem(&fw_buckets, &bk);
	if (!tat) {
		/* a new source starts with a full bucket, of which this packet takes one */
		__u64 first = now + interval;
		if (!bpf_map_update_elem(&fw_buckets, &bk, &first, BPF_NOEXIST))
			return 1;
		tat = bpf_map_lookup_elem(&fw_buckets, &bk);
		if (!tat)
			return 0;
	}
	/* Compare-and-swap: two CPUs taking the same token both see it, only one gets it. */
	PL_UNROLL
	for (int i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 t = old > now ? old : now;
		if (t - now > tolerance)
			return 0;
		if (__sync_val_compare_and_swap(tat, old, t + interval) == old)
			return 1;
	}
	return 0; /* lost four races in a row: as good as over the limit */
}

/* XDP_PASS or XDP_DROP for a frame of len bytes, counted under the rule that decided. */
static __always_inline int pl_fw_verdict(const void *data, const void *data_end, __u32 len)
{
	struct pl_pkt p;
	__builtin_memset(&p, 0, sizeof(p));
	/* A bad transport header still leaves the addresses parsed: they decide. */
	pl_parse(data, data_end, &p);
	if (!p.family)
		return XDP_PASS;

	struct fw_key k;
	__builtin_memset(&k, 0, sizeof(k));
	k.prefixlen = 8 + (p.family == PL_AF_INET ? 32 : 128);
	k.family = p.family;
	__builtin_memcpy(k.addr, p.saddr, 16);
	struct fw_rule *r = bpf_map_lookup_elem(&fw_rules, &k);
	if (!r)
		return XDP_PASS;
	__u64 now = bpf_ktime_get_ns();
	if (r->expires_ns && now >= r->expires_ns)
		return XDP_PASS; /* user space removes it at the next refresh */

	int pass = r->action == PL_FW_LIMIT && pl_fw_bucket(r, p.saddr, now);
	__u32 slot = r->slot;
	struct fw_stats *st = bpf_map_lookup_elem(&fw_stats, &slot);
	if (st) {
		if (pass) {
			st->passed_packets++;
			st->passed_bytes += len;
		} else {
			st->dropped_packets++;
			st->dropped_bytes += len;
		}
	}
	return pass ? XDP_PASS : XDP_DROP;
}

/*
 * Its own program, so that it goes on and off an interface by itself: the
 * tc programs count what it passes (XDP runs before them), and the XDP
 * flow probe is a different program on the same hook.
 */
SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return pl_fw_verdict(data, data_end, (__u32)(data_end - data));
}

#endif
