/* The probe registry: what can be attached here, feature probing of the running kernel, attach and detach. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "core/internal.h"
#include "core/instance.h"
#include "core/tcnl.h"
#include "shared/funclat.h"
#include "core/log.h"

#define TRACEFS "/sys/kernel/tracing"

uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* Built-in tracepoints: category, name, program. */
struct builtin_tp {
	const char *cat, *name;
	struct bpf_program *(*prog)(struct pktlens_bpf *s);
	const char *group; /* --probes word that selects it: "tracepoints" (default) or "latency" */
};

static struct bpf_program *prog_sock_state(struct pktlens_bpf *s)
{
	return s->progs.tp_sock_state;
}
static struct bpf_program *prog_tcp_probe(struct pktlens_bpf *s)
{
	return s->progs.tp_tcp_probe;
}
static struct bpf_program *prog_tcp_retrans(struct pktlens_bpf *s)
{
	return s->progs.tp_tcp_retransmit;
}

static struct bpf_program *prog_kfree_skb(struct pktlens_bpf *s)
{
	return s->progs.tp_kfree_skb;
}
static struct bpf_program *prog_rcvq_full(struct pktlens_bpf *s)
{
	return s->progs.tp_rcvqueue_full;
}
static struct bpf_program *prog_exceed_buf(struct pktlens_bpf *s)
{
	return s->progs.tp_exceed_buf_limit;
}

static struct bpf_program *prog_synack(struct pktlens_bpf *s)
{
	return s->progs.tp_tcp_retransmit_synack;
}
static struct bpf_program *prog_rst_rx(struct pktlens_bpf *s)
{
	return s->progs.tp_tcp_receive_reset;
}
static struct bpf_program *prog_rst_tx(struct pktlens_bpf *s)
{
	return s->progs.tp_tcp_send_reset;
}
static struct bpf_program *prog_netif_rx(struct pktlens_bpf *s)
{
	return s->progs.tp_netif_receive;
}
static struct bpf_program *prog_skb_copy(struct pktlens_bpf *s)
{
	return s->progs.tp_skb_copy;
}
/* Per-process socket usage (tracepoint/procs.bpf.h). */
static struct bpf_program *prog_procs_recv(struct pktlens_bpf *s)
{
	return s->progs.tp_procs_recv;
}
static struct bpf_program *prog_procs_send(struct pktlens_bpf *s)
{
	return s->progs.tp_procs_send;
}
static struct bpf_program *prog_procs_conn_in(struct pktlens_bpf *s)
{
	return s->progs.tp_procs_conn_in;
}
static struct bpf_program *prog_procs_conn_out(struct pktlens_bpf *s)
{
	return s->progs.tp_procs_conn_out;
}
static struct bpf_program *prog_procs_lsn_in(struct pktlens_bpf *s)
{
	return s->progs.tp_procs_lsn_in;
}
static struct bpf_program *prog_procs_lsn_out(struct pktlens_bpf *s)
{
	return s->progs.tp_procs_lsn_out;
}
static struct bpf_program *prog_procs_accept(struct pktlens_bpf *s)
{
	return s->progs.tp_procs_accept;
}
static struct bpf_program *prog_procs_accept4(struct pktlens_bpf *s)
{
	return s->progs.tp_procs_accept4;
}

/* The latency pair fires for every received packet of the host: opt-in. */
static const struct builtin_tp builtin_tps[] = {
	{ "sock", "inet_sock_set_state", prog_sock_state, "tracepoints" },
	{ "tcp", "tcp_probe", prog_tcp_probe, "tracepoints" },
	{ "tcp", "tcp_retransmit_skb", prog_tcp_retrans, "tracepoints" },
	{ "tcp", "tcp_retransmit_synack", prog_synack, "tracepoints" },
	{ "tcp", "tcp_receive_reset", prog_rst_rx, "tracepoints" },
	{ "tcp", "tcp_send_reset", prog_rst_tx, "tracepoints" },
	{ "skb", "kfree_skb", prog_kfree_skb, "tracepoints" },
	{ "sock", "sock_rcvqueue_full", prog_rcvq_full, "tracepoints" },
	{ "sock", "sock_exceed_buf_limit", prog_exceed_buf, "tracepoints" },
	{ "net", "netif_receive_skb", prog_netif_rx, "latency" },
	{ "skb", "skb_copy_datagram_iovec", prog_skb_copy, "latency" },
	{ "sock", "sock_recv_length", prog_procs_recv, "tracepoints" },
	{ "sock", "sock_send_length", prog_procs_send, "tracepoints" },
	{ "syscalls", "sys_enter_connect", prog_procs_conn_in, "tracepoints" },
	{ "syscalls", "sys_exit_connect", prog_procs_conn_out, "tracepoints" },
	{ "syscalls", "sys_enter_listen", prog_procs_lsn_in, "tracepoints" },
	{ "syscalls", "sys_exit_listen", prog_procs_lsn_out, "tracepoints" },
	{ "syscalls", "sys_exit_accept", prog_procs_accept, "tracepoints" },
	{ "syscalls", "sys_exit_accept4", prog_procs_accept4, "tracepoints" },
};

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

int iface_index(struct engine *e, const char *name)
{
	for (int i = 0; i < e->n_ifaces; i++)
		if (!strcmp(e->ifaces[i].name, name))
			return i;
	return -1;
}

static struct probe *probe_new(struct engine *e, enum probe_kind kind, const char *target)
{
	if (e->n_probes == e->cap_probes) {
		size_t cap = e->cap_probes ? e->cap_probes * 2 : 32;
		struct probe *np = realloc(e->probes, cap * sizeof(*np));
		if (!np)
			return NULL;
		e->probes = np;
		e->cap_probes = cap;
	}
	struct probe *p = &e->probes[e->n_probes++];
	memset(p, 0, sizeof(*p));
	p->info.kind = kind;
	p->info.state = PS_DETACHED;
	snprintf(p->info.target, sizeof(p->info.target), "%s", target);
	snprintf(p->info.id, sizeof(p->info.id), "%s:%s", probe_kind_name(kind), target);
	return p;
}

struct probe *probe_find(struct engine *e, const char *id)
{
	for (size_t i = 0; i < e->n_probes; i++)
		if (!strcmp(e->probes[i].info.id, id))
			return &e->probes[i];
	return NULL;
}

static void set_state(struct probe *p, enum probe_state st, const char *reason)
{
	p->info.state = st;
	snprintf(p->info.reason, sizeof(p->info.reason), "%s", reason ? reason : "");
}

static void add_iface_probes(struct engine *e, struct iface *ifc)
{
	struct probe *p = probe_new(e, PK_XDP, ifc->name);
	if (p) {
		p->builtin = true;
		p->ifindex = ifc->ifindex;
		p->prog = e->skel->progs.xdp_flows;
		if (!e->feat.xdp)
			set_state(p, PS_UNSUPPORTED, "kernel refuses XDP programs");
	}
	for (int k = PK_TC_INGRESS; k <= PK_TC_EGRESS; k++) {
		p = probe_new(e, k, ifc->name);
		if (!p)
			continue;
		p->builtin = true;
		p->ifindex = ifc->ifindex;
		p->prog = k == PK_TC_INGRESS ? e->skel->progs.tc_ingress_flows
					     : e->skel->progs.tc_egress_flows;
	}
}

static void tp_support(struct engine *e, struct probe *p)
{
	char path[PATH_MAX];
	if (!e->feat.tracefs) {
		set_state(p, PS_UNSUPPORTED, "tracefs is not mounted and could not be mounted");
		return;
	}
	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", p->cat, p->name);
	if (!path_exists(path))
		set_state(p, PS_UNSUPPORTED, "this kernel has no such tracepoint");
}

/* Resolves a library name like ldconfig does (standard directories), or a program via PATH. */
static int resolve_binary(const char *name, char *out, size_t len)
{
	if (strchr(name, '/')) {
		if (!path_exists(name))
			return -ENOENT;
		snprintf(out, len, "%s", name);
		return 0;
	}
	static const char *dirs[] = { "/lib/x86_64-linux-gnu",
				      "/usr/lib/x86_64-linux-gnu",
				      "/lib/aarch64-linux-gnu",
				      "/usr/lib/aarch64-linux-gnu",
				      "/lib64",
				      "/usr/lib64",
				      "/lib",
				      "/usr/lib",
				      "/usr/local/lib" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(out, len, "%s/%s", dirs[i], name);
		if (path_exists(out))
			return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *sv, *d = strtok_r(buf, ":", &sv); d; d = strtok_r(NULL, ":", &sv)) {
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static void kprobe_support(struct engine *e, struct probe *p)
{
	if (!e->feat.kprobe)
		set_state(p, PS_UNSUPPORTED, e->feat.kprobe_why);
	else if (!e->feat.kprobe_prog)
		set_state(p, PS_UNSUPPORTED, "kernel refuses kprobe programs");
}

static void uprobe_support(struct engine *e, struct probe *p)
{
	if (!e->feat.uprobe)
		set_state(p, PS_UNSUPPORTED, "kernel built without uprobes");
	else if (!e->feat.kprobe_prog)
		set_state(p, PS_UNSUPPORTED, "kernel refuses uprobe programs");
}

/* "kind:target" as the Probes pane and --probes take it. */
struct probe *probe_add_spec(struct engine *e, const char *spec, char *err, size_t errlen)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *colon = strchr(buf, ':');
	if (!colon || !colon[1]) {
		snprintf(err, errlen,
			 "probe '%s' must be KIND:TARGET (xdp:IFACE, tc-ingress:IFACE, "
			 "tc-egress:IFACE, tracepoint:CAT:NAME, kprobe:FUNC, uprobe:BINARY:SYMBOL)",
			 spec);
		return NULL;
	}
	*colon = '\0';
	const char *kind_s = buf, *target = colon + 1;
	int kind = -1;
	for (int k = 0; k < PK_MAX; k++)
		if (!strcmp(kind_s, probe_kind_name(k)))
			kind = k;
	if (kind < 0) {
		snprintf(err, errlen, "unknown probe kind '%s'", kind_s);
		return NULL;
	}

	struct probe *p;
	char id[512];
	if (kind == PK_XDP || kind == PK_TC_INGRESS || kind == PK_TC_EGRESS) {
		snprintf(id, sizeof(id), "%s:%s", kind_s, target);
		if ((p = probe_find(e, id)))
			return p;
		if (!if_nametoindex(target)) {
			snprintf(err, errlen, "interface '%s' does not exist%s%s", target,
				 e->netns[0] ? " in network namespace " : "", e->netns);
			return NULL;
		}
		if (e->n_ifaces == PL_MAX_IFACES) {
			snprintf(err, errlen, "too many interfaces (at most %d)", PL_MAX_IFACES);
			return NULL;
		}
		struct iface *ifc = &e->ifaces[e->n_ifaces++];
		memset(ifc, 0, sizeof(*ifc));
		snprintf(ifc->name, sizeof(ifc->name), "%s", target);
		ifc->ifindex = (int)if_nametoindex(target);
		add_iface_probes(e, ifc);
		return probe_find(e, id);
	}

	if (kind == PK_TRACEPOINT) {
		char *sep = strchr(target, ':');
		if (!sep || !sep[1] || sep == target) {
			snprintf(err, errlen, "tracepoint must be tracepoint:CATEGORY:NAME");
			return NULL;
		}
		snprintf(id, sizeof(id), "tracepoint:%s", target);
		if ((p = probe_find(e, id)))
			return p;
		if (!(p = probe_new(e, PK_TRACEPOINT, target)))
			goto nomem;
		snprintf(p->cat, sizeof(p->cat), "%.*s", (int)(sep - target), target);
		snprintf(p->name, sizeof(p->name), "%s", sep + 1);
		p->prog = e->skel->progs.tp_adhoc_count;
		p->cookie = ++e->next_cookie;
		tp_support(e, p);
		return p;
	}

	if (kind == PK_KPROBE || kind == PK_KRETPROBE) {
		snprintf(id, sizeof(id), "%s:%s", kind_s, target);
		if ((p = probe_find(e, id)))
			return p;
		if (!(p = probe_new(e, kind, target)))
			goto nomem;
		snprintf(p->name, sizeof(p->name), "%s", target);
		p->prog = e->skel->progs.probe_adhoc_count;
		p->cookie = ++e->next_cookie;
		kprobe_support(e, p);
		return p;
	}

	if (kind == PK_UPROBE || kind == PK_URETPROBE) {
		char *sep = strrchr(target, ':');
		if (!sep || !sep[1] || sep == target) {
			snprintf(err, errlen, "%s must be %s:BINARY:SYMBOL", kind_s, kind_s);
			return NULL;
		}
		char bin[256], path[256];
		snprintf(bin, sizeof(bin), "%.*s", (int)(sep - target), target);
		if (resolve_binary(bin, path, sizeof(path))) {
			snprintf(err, errlen, "cannot find binary or library '%s'", bin);
			return NULL;
		}
		char tgt[512];
		snprintf(tgt, sizeof(tgt), "%s:%s", path, sep + 1);
		snprintf(id, sizeof(id), "%s:%s", kind_s, tgt);
		if ((p = probe_find(e, id)))
			return p;
		if (!(p = probe_new(e, kind, tgt)))
			goto nomem;
		snprintf(p->binary, sizeof(p->binary), "%s", path);
		snprintf(p->symbol, sizeof(p->symbol), "%s", sep + 1);
		p->prog = e->skel->progs.probe_adhoc_count;
		p->cookie = ++e->next_cookie;
		uprobe_support(e, p);
		return p;
	}
	snprintf(err, errlen, "probes of kind '%s' cannot be added here", kind_s);
	return NULL;
nomem:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/*
 * A raw tracepoint variant reads the tracepoint's arguments by position, so
 * it is used only where the tracepoint's format has the field that marks the
 * argument list it was written for, and the kernel takes raw tracepoints.
 */
static bool raw_tp_fits(struct engine *e, const char *cat, const char *name, const char *field)
{
	if (!e->feat.tracefs || libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) != 1)
		return false;
	char path[PATH_MAX], line[256];
	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/format", cat, name);
	FILE *f = fopen(path, "r");
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, field) != NULL;
	if (f)
		fclose(f);
	return found;
}

/*
 * One program the kernel refuses fails the whole object, so built-in
 * tracepoint programs whose tracepoint this kernel lacks (older kernels:
 * sock_recv_length, ...) are not loaded; their probes then say so.
 */
void probes_set_autoload(struct engine *e)
{
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(builtin_tps) / sizeof(builtin_tps[0]); i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", builtin_tps[i].cat,
			 builtin_tps[i].name);
		if (e->feat.tracefs && !path_exists(path))
			bpf_program__set_autoload(builtin_tps[i].prog(e->skel), false);
	}
	if (!e->feat.kprobe_prog) {
		bpf_program__set_autoload(e->skel->progs.probe_funclat_entry, false);
		bpf_program__set_autoload(e->skel->progs.probe_funclat_exit, false);
		bpf_program__set_autoload(e->skel->progs.kprobe_ip_rcv, false);
		bpf_program__set_autoload(e->skel->progs.kprobe_tcp_v4_rcv, false);
	}
	/*
	 * One variant per probe row: fexit where tracing programs work, else a
	 * raw tracepoint (exact under concurrent BPF load, see raw_tcp_retransmit),
	 * else the classic tracepoint.
	 */
	bool raw_rt = !e->feat.fexit && raw_tp_fits(e, "tcp", "tcp_retransmit_skb", "int err;");
	bool raw_kf = raw_tp_fits(e, "skb", "kfree_skb", "skb_drop_reason reason;");
	bpf_program__set_autoload(e->skel->progs.fexit_tcp_retransmit, e->feat.fexit);
	bpf_program__set_autoload(e->skel->progs.raw_tcp_retransmit, raw_rt);
	if (e->feat.fexit || raw_rt)
		bpf_program__set_autoload(e->skel->progs.tp_tcp_retransmit, false);
	bpf_program__set_autoload(e->skel->progs.raw_kfree_skb, raw_kf);
	if (raw_kf)
		bpf_program__set_autoload(e->skel->progs.tp_kfree_skb, false);
}

int probes_build(struct engine *e, char *err, size_t errlen)
{
	for (int i = 0; i < e->n_ifaces; i++)
		add_iface_probes(e, &e->ifaces[i]);
	for (size_t i = 0; i < sizeof(builtin_tps) / sizeof(builtin_tps[0]); i++) {
		char tgt[160];
		snprintf(tgt, sizeof(tgt), "%s:%s", builtin_tps[i].cat, builtin_tps[i].name);
		struct probe *p = probe_new(e, PK_TRACEPOINT, tgt);
		if (!p)
			goto nomem;
		p->builtin = true;
		p->group = builtin_tps[i].group;
		snprintf(p->cat, sizeof(p->cat), "%s", builtin_tps[i].cat);
		snprintf(p->name, sizeof(p->name), "%s", builtin_tps[i].name);
		p->prog = builtin_tps[i].prog(e->skel);
		tp_support(e, p);
		if (p->prog == e->skel->progs.tp_tcp_retransmit) {
			if (e->feat.fexit) {
				p->prog = e->skel->progs.fexit_tcp_retransmit;
				p->tracing = true;
			} else if (bpf_program__autoload(e->skel->progs.raw_tcp_retransmit)) {
				p->prog = e->skel->progs.raw_tcp_retransmit;
				p->raw = true;
			}
			snprintf(p->info.detail, sizeof(p->info.detail), "%s",
				 p->tracing ? "fexit"
				 : p->raw   ? "raw_tp"
					    : "tracepoint");
		}
		if (p->prog == e->skel->progs.tp_kfree_skb) {
			if (bpf_program__autoload(e->skel->progs.raw_kfree_skb)) {
				p->prog = e->skel->progs.raw_kfree_skb;
				p->raw = true;
			}
			snprintf(p->info.detail, sizeof(p->info.detail), "%s",
				 p->raw ? "raw_tp" : "tracepoint");
		}
	}
	/*
	 * Receive-path latency where the kernel has kprobes: every tcp_v4_rcv
	 * call is a hit, and skbs that ip_rcv saw are timed from there.
	 */
	struct probe *p = probe_add_spec(e, "kprobe:tcp_v4_rcv", err, errlen);
	if (!p)
		return -EINVAL;
	p->builtin = true;
	p->rxlat = true;
	p->prog = e->skel->progs.kprobe_tcp_v4_rcv;
	p->lat_cookie = p->cookie;
	snprintf(p->info.detail, sizeof(p->info.detail), "latency from ip_rcv");
	/*
	 * TLS plaintext: entry and return of SSL_read/SSL_write and the _ex
	 * variants in the system libssl, group "ssl" (off by default). Only
	 * processes that load this library are seen: statically linked
	 * binaries and other TLS libraries (GnuTLS, NSS, BoringSSL, Go, rustls)
	 * are not.
	 */
	static const struct {
		const char *kind, *sym;
		int ret; /* 0: entry program by arguments, 1: write return, 2: read return */
		int ex;
	} ssl_probes[] = {
		{ "uprobe", "SSL_write", 0, 0 },    { "uretprobe", "SSL_write", 1, 0 },
		{ "uprobe", "SSL_read", 0, 0 },	    { "uretprobe", "SSL_read", 2, 0 },
		{ "uprobe", "SSL_write_ex", 0, 1 }, { "uretprobe", "SSL_write_ex", 1, 1 },
		{ "uprobe", "SSL_read_ex", 0, 1 },  { "uretprobe", "SSL_read_ex", 2, 1 },
	};
	char path[256];
	if (!resolve_binary("libssl.so.3", path, sizeof(path))) {
		for (size_t i = 0; i < sizeof(ssl_probes) / sizeof(ssl_probes[0]); i++) {
			char spec[320];
			snprintf(spec, sizeof(spec), "%s:%s:%s", ssl_probes[i].kind, path,
				 ssl_probes[i].sym);
			p = probe_add_spec(e, spec, err, errlen);
			if (!p)
				return -EINVAL;
			p->builtin = true;
			p->group = "ssl";
			p->cookie = 0;
			p->prog = ssl_probes[i].ret == 1   ? e->skel->progs.uretprobe_ssl_write
				  : ssl_probes[i].ret == 2 ? e->skel->progs.uretprobe_ssl_read
				  : ssl_probes[i].ex	   ? e->skel->progs.uprobe_ssl_rw_ex
							   : e->skel->progs.uprobe_ssl_rw;
			snprintf(p->info.detail, sizeof(p->info.detail), "libssl plaintext");
		}
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int prog_name_of_id(__u32 id, char *name, size_t len)
{
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	struct bpf_prog_info info = { 0 };
	__u32 ilen = sizeof(info);
	int err = bpf_obj_get_info_by_fd(fd, &info, &ilen);
	close(fd);
	if (err)
		return err;
	snprintf(name, len, "%s", info.name);
	return 0;
}

/* Our program names as the kernel keeps them (BPF_OBJ_NAME_LEN - 1 characters). */
static bool is_our_tc_prog(const char *name)
{
	return !strncmp(name, "tc_ingress_flows", 15) || !strncmp(name, "tc_egress_flows", 15);
}

static uint32_t tc_parent(enum probe_kind kind)
{
	return kind == PK_TC_INGRESS ? PL_TC_PARENT_INGRESS : PL_TC_PARENT_EGRESS;
}

/* The crash path's slot of one tc hook of one interface. */
static int tc_emerg_slot(struct engine *e, const struct probe *p)
{
	int i = iface_index(e, p->info.target);
	return i < 0 ? -1 : i * 2 + (p->info.kind == PK_TC_EGRESS);
}

/*
 * tc filters attached through netlink outlive their process. A BPF filter
 * running one of our programs (libbpf names the filter after the program)
 * that no live pktlens claims (see instance.h: a lock held by the live
 * instance, not a process name) was left by a pktlens that died: remove
 * it. Anything else is someone else's and stays.
 */
void probes_remove_stale(struct engine *e)
{
	if (e->nl_fd < 0)
		return;
	for (int i = 0; i < e->n_ifaces; i++) {
		for (int pt = 0; pt < 2; pt++) {
			uint32_t parent = pt ? PL_TC_PARENT_EGRESS : PL_TC_PARENT_INGRESS;
			struct tcnl_filter fl[64];
			int n = tcnl_filters(e->nl_fd, e->ifaces[i].ifindex, parent, fl, 64);
			for (int k = 0; k < n && k < 64; k++) {
				struct tcnl_filter *f = &fl[k];
				if (!f->handle || strcmp(f->kind, "bpf") ||
				    !is_our_tc_prog(f->name) || instance_owns_prog(f->prog_id))
					continue;
				int owner = instance_prog_owner(f->prog_id);
				if (owner) {
					pr_debug(
					    "%s: tc filter handle 0x%x belongs to pktlens pid %d",
					    e->ifaces[i].name, f->handle, owner);
					continue;
				}
				int ret = tcnl_filter_del(e->nl_fd, e->ifaces[i].ifindex, parent,
							  f->handle, f->prio, f->proto);
				if (ret == 0)
					pr_info(
					    "%s: removed a stale tc filter (program id %u) of a "
					    "pktlens that died",
					    e->ifaces[i].name, f->prog_id);
				else if (ret != -ENOENT)
					pr_warn("%s: removing a stale tc filter: %s",
						e->ifaces[i].name, strerror(-ret));
			}
		}
	}
}

static void update_xdp_owner(struct engine *e, int ifindex, bool xdp)
{
	__u32 key = (__u32)ifindex, val = PL_RX_XDP;
	int fd = bpf_map__fd(e->skel->maps.rx_owner);
	if (xdp) {
		if (!bpf_map_update_elem(fd, &key, &val, BPF_ANY))
			e->xdp_count++;
	} else if (!bpf_map_delete_elem(fd, &key)) {
		e->xdp_count--;
	}
	e->skel->bss->xdp_count = e->xdp_count;
}

static int attach_xdp(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	__u32 id = 0;
	if (!bpf_xdp_query_id(p->ifindex, 0, &id) && id) {
		char name[32] = "?";
		prog_name_of_id(id, name, sizeof(name));
		snprintf(err, errlen,
			 "%s already has XDP program '%s' (id %u) that pktlens did not load; "
			 "pktlens never replaces it",
			 p->info.target, name, id);
		return -EBUSY;
	}
	p->link = bpf_program__attach_xdp(p->prog, p->ifindex);
	if (!p->link) {
		int ret = -errno;
		snprintf(err, errlen, "attaching XDP to %s failed: %s", p->info.target,
			 strerror(-ret));
		return ret;
	}
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (!bpf_xdp_query(p->ifindex, 0, &q))
		snprintf(p->info.detail, sizeof(p->info.detail), "%s",
			 q.attach_mode == XDP_ATTACHED_DRV   ? "native"
			 : q.attach_mode == XDP_ATTACHED_SKB ? "generic"
			 : q.attach_mode == XDP_ATTACHED_HW  ? "offload"
							     : "");
	update_xdp_owner(e, p->ifindex, true);
	return 0;
}

static int attach_tc(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	int i = iface_index(e, p->info.target);
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = p->ifindex,
		    .attach_point = p->info.kind == PK_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	int ret = bpf_tc_hook_create(&hook);
	if (ret == 0 && i >= 0)
		e->ifaces[i].created_qdisc = true;
	else if (ret && ret != -EEXIST) {
		snprintf(err, errlen, "creating the clsact qdisc on %s failed: %s", p->info.target,
			 strerror(-ret));
		return ret;
	}
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = PL_TC_HANDLE, .priority = PL_TC_PRIO,
		    .prog_fd = bpf_program__fd(p->prog));
	ret = bpf_tc_attach(&hook, &o);
	if (ret == -EEXIST) {
		LIBBPF_OPTS(bpf_tc_opts, q, .handle = PL_TC_HANDLE, .priority = PL_TC_PRIO);
		int other = bpf_tc_query(&hook, &q) ? 0 : instance_prog_owner(q.prog_id);
		if (other)
			snprintf(err, errlen, "%s already has the tc filter of pktlens pid %d",
				 p->info.target, other);
		else
			snprintf(err, errlen,
				 "%s already has a tc filter with pktlens' handle and priority",
				 p->info.target);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "attaching tc %s to %s failed: %s",
			 p->info.kind == PK_TC_INGRESS ? "ingress" : "egress", p->info.target,
			 strerror(-ret));
		return ret;
	}
	p->tc_attached = 1;
	tcnl_emerg_filter(tc_emerg_slot(e, p), true, p->ifindex, tc_parent(p->info.kind),
			  PL_TC_HANDLE, PL_TC_PRIO, ETH_P_ALL);
	if (i >= 0 && e->ifaces[i].created_qdisc)
		tcnl_emerg_qdisc(i, true, p->ifindex);
	return 0;
}

static int attach_other(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	switch (p->info.kind) {
	case PK_TRACEPOINT: {
		if (p->tracing) {
			p->link = bpf_program__attach_trace(p->prog);
			break;
		}
		if (p->raw) {
			p->link = bpf_program__attach_raw_tracepoint(p->prog, p->name);
			break;
		}
		LIBBPF_OPTS(bpf_tracepoint_opts, o, .bpf_cookie = p->cookie);
		p->link = bpf_program__attach_tracepoint_opts(p->prog, p->cat, p->name, &o);
		break;
	}
	case PK_KPROBE:
	case PK_KRETPROBE: {
		LIBBPF_OPTS(bpf_kprobe_opts, o, .bpf_cookie = p->cookie,
			    .retprobe = p->info.kind == PK_KRETPROBE);
		p->link = bpf_program__attach_kprobe_opts(p->prog, p->name, &o);
		break;
	}
	case PK_UPROBE:
	case PK_URETPROBE: {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = p->cookie, .func_name = p->symbol,
			    .retprobe = p->info.kind == PK_URETPROBE);
		p->link = bpf_program__attach_uprobe_opts(p->prog, -1, p->binary, 0, &o);
		break;
	}
	default:
		snprintf(err, errlen, "cannot attach probes of this kind");
		return -EINVAL;
	}
	if (!p->link) {
		int ret = -errno;
		if (ret == -ENOENT && (p->info.kind == PK_UPROBE || p->info.kind == PK_URETPROBE))
			snprintf(err, errlen, "symbol '%s' not found in %s", p->symbol, p->binary);
		else if (ret == -ENOENT)
			snprintf(err, errlen, "%s: no such %s in this kernel", p->info.target,
				 probe_kind_name(p->info.kind));
		else
			snprintf(err, errlen, "attaching %s failed: %s", p->info.id,
				 strerror(-ret));
		return ret;
	}
	return 0;
}

/* The other half of an entry/return pair (kprobe:F and kretprobe:F, uprobe:B:S and uretprobe:B:S). */
static struct probe *probe_partner(struct engine *e, const struct probe *p)
{
	enum probe_kind want;
	switch (p->info.kind) {
	case PK_KPROBE:
		want = PK_KRETPROBE;
		break;
	case PK_KRETPROBE:
		want = PK_KPROBE;
		break;
	case PK_UPROBE:
		want = PK_URETPROBE;
		break;
	case PK_URETPROBE:
		want = PK_UPROBE;
		break;
	default:
		return NULL;
	}
	for (size_t i = 0; i < e->n_probes; i++)
		if (e->probes[i].info.kind == want &&
		    !strcmp(e->probes[i].info.target, p->info.target))
			return &e->probes[i];
	return NULL;
}

static struct bpf_link *funclat_link(struct probe *r, struct bpf_program *prog, bool ret,
				     uint64_t cookie)
{
	if (r->info.kind == PK_KRETPROBE) {
		LIBBPF_OPTS(bpf_kprobe_opts, o, .bpf_cookie = cookie, .retprobe = ret);
		return bpf_program__attach_kprobe_opts(prog, r->name, &o);
	}
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = cookie, .func_name = r->symbol,
		    .retprobe = ret);
	return bpf_program__attach_uprobe_opts(prog, -1, r->binary, 0, &o);
}

/*
 * While both halves of a pair are attached, the return half also holds the
 * funclat entry/exit links that time each call; the histogram is keyed by
 * the return half's cookie (per process for uprobes) and outlives detaching.
 */
static void funclat_sync(struct engine *e, struct probe *p)
{
	struct probe *q = probe_partner(e, p);
	/* Only operator-added pairs: built-in uprobes (SSL_*) have programs of their own. */
	if (!q || p->builtin || q->builtin || !p->cookie || !q->cookie)
		return;
	struct probe *r = p->info.kind == PK_KRETPROBE || p->info.kind == PK_URETPROBE ? p : q;
	struct probe *en = r == p ? q : p;
	bool both = r->info.state == PS_ATTACHED && en->info.state == PS_ATTACHED;
	if (!both || r->lat_links[0]) {
		for (int i = 0; !both && i < 2; i++) {
			bpf_link__destroy(r->lat_links[i]);
			r->lat_links[i] = NULL;
		}
		return;
	}
	struct bpf_program *entry = e->skel->progs.probe_funclat_entry;
	struct bpf_program *exit_ = e->skel->progs.probe_funclat_exit;
	if (bpf_program__fd(entry) < 0 || bpf_program__fd(exit_) < 0)
		return;
	uint64_t cookie = r->cookie | (r->info.kind == PK_URETPROBE ? PL_FUNCLAT_PER_PID : 0);
	/* Exit first: an entry without its exit would only fill funclat_start. */
	r->lat_links[1] = funclat_link(r, exit_, true, cookie);
	r->lat_links[0] = r->lat_links[1] ? funclat_link(r, entry, false, cookie) : NULL;
	if (!r->lat_links[0]) {
		pr_warn("%s: no latency histogram: attaching the timing pair failed: %s",
			r->info.id, strerror(errno));
		bpf_link__destroy(r->lat_links[1]);
		r->lat_links[1] = NULL;
		return;
	}
	r->lat_cookie = en->lat_cookie = r->cookie;
}

int probe_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	if (p->info.state == PS_ATTACHED)
		return 0;
	if (p->info.state == PS_UNSUPPORTED) {
		snprintf(err, errlen, "%s is unsupported: %s", p->info.id, p->info.reason);
		return -EOPNOTSUPP;
	}
	if (!p->prog || bpf_program__fd(p->prog) < 0) {
		snprintf(err, errlen, "%s: its program is not loaded on this kernel", p->info.id);
		set_state(p, PS_UNSUPPORTED, "program not loaded on this kernel");
		return -EOPNOTSUPP;
	}
	int ret;
	if (p->info.kind == PK_XDP)
		ret = attach_xdp(e, p, err, errlen);
	else if (p->info.kind == PK_TC_INGRESS || p->info.kind == PK_TC_EGRESS)
		ret = attach_tc(e, p, err, errlen);
	else
		ret = attach_other(e, p, err, errlen);
	if (ret) {
		set_state(p, PS_ERROR, err);
		return ret;
	}
	set_state(p, PS_ATTACHED, "");
	if (p->rxlat) {
		p->lat_links[0] =
		    bpf_program__attach_kprobe(e->skel->progs.kprobe_ip_rcv, false, "ip_rcv");
		if (!p->lat_links[0])
			pr_warn("%s: no receive latency: the ip_rcv kprobe failed: %s", p->info.id,
				strerror(errno));
	}
	funclat_sync(e, p);
	return 0;
}

void probe_detach(struct engine *e, struct probe *p)
{
	if (p->link) {
		bpf_link__destroy(p->link);
		p->link = NULL;
		if (p->info.kind == PK_XDP) {
			update_xdp_owner(e, p->ifindex, false);
			p->info.detail[0] = '\0';
		}
	}
	if (p->tc_attached) {
		tcnl_emerg_filter(tc_emerg_slot(e, p), false, 0, 0, 0, 0, 0);
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = p->ifindex,
			    .attach_point =
				p->info.kind == PK_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = PL_TC_HANDLE, .priority = PL_TC_PRIO);
		int ret = bpf_tc_detach(&hook, &o);
		if (ret && ret != -ENOENT)
			pr_warn("detaching %s: %s", p->info.id, strerror(-ret));
		p->tc_attached = 0;
	}
	if (p->rxlat) {
		bpf_link__destroy(p->lat_links[0]);
		p->lat_links[0] = NULL;
	}
	if (p->info.state == PS_ATTACHED || p->info.state == PS_ERROR)
		set_state(p, PS_DETACHED, "");
	funclat_sync(e, p);
}

void probes_detach_all(struct engine *e)
{
	for (size_t i = 0; i < e->n_probes; i++)
		probe_detach(e, &e->probes[i]);
	/*
	 * Only a clsact that pktlens created goes, once our filters are gone,
	 * and only when nobody else added a filter to it meanwhile.
	 */
	for (int i = 0; i < e->n_ifaces; i++) {
		struct iface *ifc = &e->ifaces[i];
		if (!ifc->created_qdisc)
			continue;
		tcnl_emerg_qdisc(i, false, 0);
		ifc->created_qdisc = false;
		int empty = e->nl_fd >= 0 ? tcnl_clsact_empty(e->nl_fd, ifc->ifindex) : -EBADF;
		if (empty == 1)
			tcnl_clsact_del(e->nl_fd, ifc->ifindex);
		else if (empty == 0)
			pr_info("%s: the clsact qdisc pktlens created stays: it holds filters of "
				"others now",
				ifc->name);
		else
			pr_warn("%s: cannot tell whether the clsact qdisc pktlens created is empty "
				"(%s); it stays",
				ifc->name, strerror(-empty));
	}
}

static void mark_kind(struct engine *e, bool *want, enum probe_kind kind, bool on)
{
	for (size_t i = 0; i < e->n_probes; i++)
		if (e->probes[i].info.kind == kind && e->probes[i].builtin && !e->probes[i].group)
			want[i] = on;
}

static void mark_group(struct engine *e, bool *want, const char *group, bool on)
{
	for (size_t i = 0; i < e->n_probes; i++)
		if (e->probes[i].group && !strcmp(e->probes[i].group, group))
			want[i] = on;
}

/*
 * --probes LIST: comma-separated words (default, tc, tc-ingress, tc-egress,
 * xdp, tracepoints, none) or KIND:TARGET specs; "-WORD" takes away. Probes
 * named explicitly must attach; the default set tolerates what this kernel
 * lacks.
 */
int probes_apply_list(struct engine *e, const char *list, char *err, size_t errlen)
{
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s", list ? list : "default");
	/* Specs may add probes, so size `want` after parsing: first pass creates them. */
	for (int pass = 0; pass < 2; pass++) {
		bool *want = calloc(e->n_probes + 1, sizeof(*want));
		bool *explicit_ = calloc(e->n_probes + 1, sizeof(*explicit_));
		if (!want || !explicit_) {
			free(want);
			free(explicit_);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		char tmp[2048];
		snprintf(tmp, sizeof(tmp), "%s", buf);
		int ret = 0;
		for (char *sv, *w = strtok_r(tmp, ",", &sv); w && !ret;
		     w = strtok_r(NULL, ",", &sv)) {
			bool on = true;
			if (*w == '-') {
				on = false;
				w++;
			}
			if (!strcmp(w, "default")) {
				mark_kind(e, want, PK_TC_INGRESS, on);
				mark_kind(e, want, PK_TC_EGRESS, on);
				mark_group(e, want, "tracepoints", on);
			} else if (!strcmp(w, "tc")) {
				mark_kind(e, want, PK_TC_INGRESS, on);
				mark_kind(e, want, PK_TC_EGRESS, on);
			} else if (!strcmp(w, "tc-ingress")) {
				mark_kind(e, want, PK_TC_INGRESS, on);
			} else if (!strcmp(w, "tc-egress")) {
				mark_kind(e, want, PK_TC_EGRESS, on);
			} else if (!strcmp(w, "xdp")) {
				mark_kind(e, want, PK_XDP, on);
			} else if (!strcmp(w, "tracepoints") || !strcmp(w, "latency") ||
				   !strcmp(w, "ssl")) {
				mark_group(e, want, w, on);
			} else if (!strcmp(w, "none")) {
				memset(want, 0, e->n_probes * sizeof(*want));
			} else if (strchr(w, ':')) {
				size_t before = e->n_probes;
				struct probe *p = probe_add_spec(e, w, err, errlen);
				if (!p) {
					ret = -EINVAL;
				} else if (e->n_probes != before && pass == 1) {
					ret = -EAGAIN; /* cannot happen: pass 0 created it */
				} else if (pass == 1) {
					size_t idx = (size_t)(p - e->probes);
					want[idx] = on;
					explicit_[idx] = on;
				}
			} else {
				snprintf(err, errlen,
					 "unknown probe '%s' in --probes (expected default, tc, "
					 "tc-ingress, tc-egress, xdp, tracepoints, latency, ssl, "
					 "none or "
					 "KIND:TARGET)",
					 w);
				ret = -EINVAL;
			}
		}
		if (ret || pass == 0) {
			free(want);
			free(explicit_);
			if (ret)
				return ret;
			continue;
		}
		for (size_t i = 0; i < e->n_probes && !ret; i++) {
			struct probe *p = &e->probes[i];
			if (!want[i])
				continue;
			char why[256];
			if (probe_attach(e, p, why, sizeof(why)) == 0)
				continue;
			if (explicit_[i] || p->info.kind == PK_TC_INGRESS ||
			    p->info.kind == PK_TC_EGRESS || p->info.kind == PK_XDP) {
				snprintf(err, errlen, "%s", why);
				ret = -EINVAL;
			} else {
				pr_info("%s", why);
			}
		}
		free(want);
		free(explicit_);
		return ret;
	}
	return 0;
}
