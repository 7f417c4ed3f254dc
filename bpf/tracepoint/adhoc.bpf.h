/* Ad-hoc probes added by the operator: one program per kind counts hits per attachment (by cookie). */
#ifndef PKTLENS_TP_ADHOC_BPF_H
#define PKTLENS_TP_ADHOC_BPF_H

#include "lib/maps.bpf.h"

static __always_inline void pl_hit(__u64 cookie)
{
	__u64 *n = bpf_map_lookup_elem(&probe_hits, &cookie);
	if (n) {
		(*n)++; /* per-CPU value */
		return;
	}
	__u64 one = 1;
	bpf_map_update_elem(&probe_hits, &cookie, &one, BPF_NOEXIST);
}

SEC("tracepoint")
int tp_adhoc_count(void *ctx)
{
	pl_hit(bpf_get_attach_cookie(ctx));
	return 0;
}

/* Serves kprobes, kretprobes, uprobes and uretprobes alike: same program type. */
SEC("kprobe")
int probe_adhoc_count(struct pt_regs *ctx)
{
	pl_hit(bpf_get_attach_cookie(ctx));
	return 0;
}

#endif
