/* What the running kernel can do, decided by probing it (never by its version). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "core/internal.h"
#include "core/log.h"

#define TRACEFS "/sys/kernel/tracing"

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/*
 * Loads and attaches an empty fexit program on FUNC: the only sure answer
 * to "does this kernel take tracing programs" (BTF, JIT trampolines and
 * lockdown all play a part). Attached for an instant, then gone.
 */
static bool probe_fexit(const char *func, char *why, size_t len)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id = vmlinux ? btf__find_by_name_kind(vmlinux, func, BTF_KIND_FUNC) : -ENOENT;
	btf__free(vmlinux);
	if (id < 0) {
		snprintf(why, len, "the kernel's BTF has no function %s", func);
		return false;
	}
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_FEXIT,
		    .attach_btf_id = (__u32)id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pl_probe_fexit", "GPL", insns, 2, &o);
	if (fd < 0) {
		snprintf(why, len, "kernel refuses tracing (fentry/fexit) programs: %s",
			 strerror(errno));
		return false;
	}
	int lfd = bpf_raw_tracepoint_open(NULL, fd);
	if (lfd < 0)
		snprintf(why, len, "kernel cannot attach fexit programs: %s", strerror(errno));
	else
		close(lfd);
	close(fd);
	return lfd >= 0;
}

/*
 * tcx: asking the kernel which programs sit on lo's tcx ingress hook is
 * harmless and answers the question exactly. A kernel without tcx does not
 * know the attach type (EINVAL); one with tcx answers, with an empty list
 * when nobody is attached.
 */
static bool probe_tcx(void)
{
	__u32 ids[1], cnt = 1, flags = 0;
	int lo = 1; /* the loopback device is always ifindex 1 in its namespace */
	int ret =
	    bpf_prog_query(lo, (enum bpf_attach_type)PL_BPF_TCX_INGRESS, 0, &flags, ids, &cnt);
	return ret == 0 || (ret < 0 && errno == ENOSPC);
}

/*
 * Support is decided by looking at the running kernel, never its version:
 * kprobes need the kprobe PMU or tracefs' kprobe_events; tracepoints need
 * tracefs (mounted here if nobody did, since libbpf reads event ids there).
 */
void features_probe(struct features *f)
{
	memset(f, 0, sizeof(*f));
	f->btf = path_exists("/sys/kernel/btf/vmlinux");
	if (!path_exists(TRACEFS "/events")) {
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY)
			pr_debug("mounting tracefs at %s: %s", TRACEFS, strerror(errno));
	}
	f->tracefs = path_exists(TRACEFS "/events");
	FILE *ff = fopen(TRACEFS "/events/skb/kfree_skb/format", "r");
	char line[256];
	while (ff && fgets(line, sizeof(line), ff))
		if (strstr(line, "skb_drop_reason reason;"))
			f->drop_reasons = true;
	if (ff)
		fclose(ff);
	f->kprobe = path_exists("/sys/bus/event_source/devices/kprobe/type") ||
		    path_exists(TRACEFS "/kprobe_events");
	f->uprobe = path_exists("/sys/bus/event_source/devices/uprobe/type") ||
		    path_exists(TRACEFS "/uprobe_events");
	f->xdp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) == 1;
	f->kprobe_prog = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL) == 1;
	/* PKTLENS_TC=classic: classic tc filters even where tcx works (tests, odd kernels) */
	const char *tc = getenv("PKTLENS_TC");
	f->tcx = probe_tcx() && !(tc && !strcmp(tc, "classic"));
	if (!f->kprobe)
		snprintf(f->kprobe_why, sizeof(f->kprobe_why),
			 "kernel built without kprobes (no kprobe PMU, no kprobe_events)");

	f->fexit = f->btf && probe_fexit("tcp_retransmit_skb", f->fexit_why, sizeof(f->fexit_why));
	if (!f->fexit)
		pr_debug("fexit variants off: %s", f->fexit_why);

	FILE *lf = fopen("/sys/kernel/security/lockdown", "r");
	if (lf) {
		char buf[128] = "";
		if (fgets(buf, sizeof(buf), lf)) {
			char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : NULL;
			if (a && b && b - a - 1 < (long)sizeof(f->lockdown)) {
				memcpy(f->lockdown, a + 1, b - a - 1);
				f->lockdown[b - a - 1] = '\0';
			}
		}
		fclose(lf);
	}
	if (!strcmp(f->lockdown, "confidentiality") && f->kprobe) {
		f->kprobe = false;
		snprintf(f->kprobe_why, sizeof(f->kprobe_why),
			 "lockdown=confidentiality forbids kprobes from reading kernel memory");
	}
}
