/* What the running kernel can do, decided by probing it (never by its version). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
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
static bool probe_fexit(const struct btf *vmlinux, const char *func, char *why, size_t len)
{
	int id = vmlinux ? btf__find_by_name_kind(vmlinux, func, BTF_KIND_FUNC) : -ENOENT;
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
 * tp_btf: a raw tracepoint program typed by the kernel's BTF (the btf_trace_NAME typedef), whose
 * arguments are BTF pointers the program loads from directly. Asked with what pktlens' own
 * tp_btf programs need: tcp_probe's socket as tcp_sock (bpf_skc_to_tcp_sock, 5.9) and the
 * current task as a BTF pointer (bpf_get_current_task_btf, 5.11). Loading is the answer:
 * attaching needs no trampoline (the development kernel here refuses fexit and takes tp_btf).
 */
static bool probe_tp_btf(const struct btf *vmlinux, char *why, size_t len)
{
	int id = vmlinux ? btf__find_by_name_kind(vmlinux, "btf_trace_tcp_probe", BTF_KIND_TYPEDEF)
			 : -ENOENT;
	if (id < 0) {
		snprintf(why, len, "the kernel's BTF has no btf_trace_tcp_probe");
		return false;
	}
	struct bpf_insn insns[] = {
		/* r6 = ctx; call get_current_task_btf; r1 = ctx[0] (sk); call skc_to_tcp_sock */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_current_task_btf },
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_6 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_skc_to_tcp_sock },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_RAW_TP,
		    .attach_btf_id = (__u32)id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pl_probe_tpbtf", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), &o);
	if (fd < 0) {
		snprintf(why, len, "kernel refuses tp_btf programs with pktlens' helpers: %s",
			 strerror(errno));
		return false;
	}
	close(fd);
	return true;
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
 * libxdp's dispatcher chains XDP programs with freplace: each program is
 * loaded as BPF_PROG_TYPE_EXT and replaces one slot function of the
 * dispatcher, which the kernel does by patching a jump into the
 * dispatcher's JITed code through a BPF trampoline (bpf_arch_text_poke).
 * Asked as libxdp asks it (libxdp_check_kern_compat): an XDP program with
 * a global function, an EXT program replacing that function, and a link.
 *
 * Found on the 6.18 development kernel: loading any EXT program fails with
 * EPERM before the verifier runs (an EXT program without a target gets
 * EPERM and an empty verifier log, where a stock kernel answers EINVAL
 * "Tracing programs must provide btf_id"); so do fentry/fexit and LSM
 * programs, while tp_btf, which needs no trampoline, loads. Iterator
 * programs (BPF_TRACE_ITER, e.g. iter/bpf_sk_storage_map) get the same EPERM
 * with nothing verified, though they need no trampoline either (README,
 * issue 14's fifth step: why socket-storage counts were not kept). The same
 * kernel refuses the ftrace function tracer (EPERM writing "function" to
 * current_tracer, EPERM opening available_filter_functions) and is built
 * without kprobes: it lets nothing patch kernel or BPF code at run time,
 * and freplace is such a patch. Lockdown is only "integrity" there, so
 * it is not lockdown's doing; the refusal comes before any BPF LSM
 * program (none is loaded). libxdp then prints "Compatibility check for
 * dispatcher program failed: Operation not permitted" and falls back to
 * a single program.
 */
static bool probe_freplace(char *why, size_t len)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int tgt = -1, ext = -1, lnk = -1, ret = -1;
	struct btf *btf = btf__new_empty();
	int int_t = btf ? btf__add_int(btf, "int", 4, BTF_INT_SIGNED) : -ENOMEM;
	int ctx_t = int_t > 0 ? btf__add_struct(btf, "xdp_md", 0) : int_t;
	int ptr_t = ctx_t > 0 ? btf__add_ptr(btf, ctx_t) : ctx_t;
	int proto = ptr_t > 0 ? btf__add_func_proto(btf, int_t) : ptr_t;
	int fn = proto > 0 && !btf__add_func_param(btf, "ctx", ptr_t)
		     ? btf__add_func(btf, "pl_slot", BTF_FUNC_GLOBAL, proto)
		     : -EINVAL;
	if (fn < 0 || btf__load_into_kernel(btf)) {
		snprintf(why, len, "the kernel does not take BTF for programs");
		goto out;
	}
	struct bpf_func_info fi = { .insn_off = 0, .type_id = (__u32)fn };
	LIBBPF_OPTS(bpf_prog_load_opts, to, .prog_btf_fd = btf__fd(btf), .func_info = &fi,
		    .func_info_rec_size = sizeof(fi), .func_info_cnt = 1);
	tgt = bpf_prog_load(BPF_PROG_TYPE_XDP, "pl_probe_slot", "GPL", insns, 2, &to);
	if (tgt < 0) {
		snprintf(why, len, "the kernel refuses XDP programs with BTF: %s", strerror(errno));
		goto out;
	}
	LIBBPF_OPTS(bpf_prog_load_opts, eo, .prog_btf_fd = btf__fd(btf), .func_info = &fi,
		    .func_info_rec_size = sizeof(fi), .func_info_cnt = 1, .attach_prog_fd = tgt,
		    .attach_btf_id = (__u32)fn);
	ext = bpf_prog_load(BPF_PROG_TYPE_EXT, "pl_probe_ext", "GPL", insns, 2, &eo);
	if (ext < 0) {
		snprintf(why, len, "the kernel refuses freplace programs (%s)", strerror(errno));
		goto out;
	}
	lnk = bpf_raw_tracepoint_open(NULL, ext);
	if (lnk < 0) {
		snprintf(why, len, "the kernel cannot attach freplace programs (%s)",
			 strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (lnk >= 0)
		close(lnk);
	if (ext >= 0)
		close(ext);
	if (tgt >= 0)
		close(tgt);
	btf__free(btf);
	return ret == 0;
}

/*
 * libxdp keeps a dispatcher's programs pinned on a BPF filesystem
 * (LIBXDP_BPFFS, else /sys/fs/bpf): mounted here if nobody did, as systemd
 * does on most distributions, so that pktlens and xdp-tools share it.
 */
static bool have_bpffs(char *why, size_t len)
{
	const char *dir = getenv("LIBXDP_BPFFS") ? getenv("LIBXDP_BPFFS") : "/sys/fs/bpf";
	struct statfs st;
	if (!statfs(dir, &st) && st.f_type == BPF_FS_MAGIC)
		return true;
	if (!strcmp(dir, "/sys/fs/bpf") && !mount("bpf", dir, "bpf", 0, "mode=0700") &&
	    !statfs(dir, &st) && st.f_type == BPF_FS_MAGIC)
		return true;
	snprintf(why, len, "no BPF filesystem at %s, where libxdp keeps the dispatcher's programs",
		 dir);
	return false;
}

/* Whether XDP programs chain through libxdp's dispatcher here; why not in xdp_chain_why. */
static void probe_xdp_chain(struct features *f)
{
	const char *skip = getenv("LIBXDP_SKIP_DISPATCHER");
	const char *brief = NULL;
	if (!f->xdp) {
		snprintf(f->xdp_chain_why, sizeof(f->xdp_chain_why), "the kernel refuses XDP");
		brief = "no XDP";
	} else if (skip && !strcmp(skip, "1")) {
		snprintf(f->xdp_chain_why, sizeof(f->xdp_chain_why),
			 "LIBXDP_SKIP_DISPATCHER=1 is set");
		brief = "LIBXDP_SKIP_DISPATCHER=1";
	} else if (!probe_freplace(f->xdp_chain_why, sizeof(f->xdp_chain_why))) {
		brief = "kernel refuses freplace";
	} else if (!have_bpffs(f->xdp_chain_why, sizeof(f->xdp_chain_why))) {
		brief = "no BPF filesystem";
	}
	f->xdp_chain = !brief;
	snprintf(f->xdp_chain_short, sizeof(f->xdp_chain_short), "%s", brief ? brief : "");
	if (brief)
		pr_debug("XDP dispatcher off: %s", f->xdp_chain_why);
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
	probe_xdp_chain(f);
	f->kprobe_prog = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL) == 1;
	/* PKTLENS_TC=classic: classic tc filters even where tcx works (tests, odd kernels) */
	const char *tc = getenv("PKTLENS_TC");
	f->tcx = probe_tcx() && !(tc && !strcmp(tc, "classic"));
	if (!f->kprobe)
		snprintf(f->kprobe_why, sizeof(f->kprobe_why),
			 "kernel built without kprobes (no kprobe PMU, no kprobe_events)");

	/* both tracing probes look their targets up in the kernel's BTF, loaded once */
	struct btf *vmlinux = f->btf ? btf__load_vmlinux_btf() : NULL;
	f->fexit = f->btf &&
		   probe_fexit(vmlinux, "tcp_retransmit_skb", f->fexit_why, sizeof(f->fexit_why));
	if (!f->fexit)
		pr_debug("fexit variants off: %s", f->fexit_why);
	/* PKTLENS_TP=raw: raw tracepoints even where tp_btf loads (tests, odd kernels) */
	const char *tp = getenv("PKTLENS_TP");
	if (tp && !strcmp(tp, "raw"))
		snprintf(f->tp_btf_why, sizeof(f->tp_btf_why), "PKTLENS_TP=raw");
	else
		f->tp_btf = f->btf && probe_tp_btf(vmlinux, f->tp_btf_why, sizeof(f->tp_btf_why));
	if (!f->tp_btf)
		pr_debug("tp_btf variants off: %s", f->tp_btf_why);
	btf__free(vmlinux);

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
