/* The probe registry: pktlens' built-in set, KIND:TARGET specs from the operator, --probes lists. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
 * Built-in tracepoints and their programs, by the name bpftool shows.
 * Where a faster or exacter variant exists (raw tracepoint: exact under
 * concurrent BPF load, see raw_tcp_retransmit; fexit; tp_btf, the raw
 * tracepoint typed by BTF, whose socket fields are loads rather than helper
 * calls, for the three that run per segment or per socket call), it is named
 * here with the format field that proves its argument list fits this kernel.
 */
static const struct builtin_tp {
	const char *cat, *name, *prog, *group;
	const char *raw, *raw_field, *fexit, *btf;
} builtin_tps[] = {
	{ "sock", "inet_sock_set_state", "tp_sock_state", "tracepoints", "raw_sock_state",
	  "int newstate;" },
	{ "tcp", "tcp_probe", "tp_tcp_probe", "tracepoints", "raw_tcp_probe", "snd_cwnd;", NULL,
	  "btf_tcp_probe" },
	{ "tcp", "tcp_retransmit_skb", "tp_tcp_retransmit", "tracepoints", "raw_tcp_retransmit",
	  "int err;", "fexit_tcp_retransmit" },
	{ "tcp", "tcp_retransmit_synack", "tp_tcp_retransmit_synack", "tracepoints",
	  "raw_tcp_retransmit_synack", "* req;" },
	{ "tcp", "tcp_receive_reset", "tp_tcp_receive_reset", "tracepoints",
	  "raw_tcp_receive_reset", "skaddr;" },
	{ "tcp", "tcp_send_reset", "tp_tcp_send_reset", "tracepoints", "raw_tcp_send_reset",
	  "skaddr;" },
	{ "skb", "kfree_skb", "tp_kfree_skb", "tracepoints", "raw_kfree_skb",
	  "skb_drop_reason reason;" },
	{ "sock", "sock_rcvqueue_full", "tp_rcvqueue_full", "tracepoints", "raw_rcvqueue_full",
	  "int sk_rcvbuf;" },
	{ "sock", "sock_exceed_buf_limit", "tp_exceed_buf_limit", "tracepoints",
	  "raw_exceed_buf_limit", "int kind;" },
	/* the latency pair fires for every received packet of the host: opt-in */
	{ "net", "netif_receive_skb", "tp_netif_receive", "latency" },
	{ "skb", "skb_copy_datagram_iovec", "tp_skb_copy", "latency" },
	{ "sock", "sock_recv_length", "tp_procs_recv", "tracepoints", "raw_procs_recv",
	  "int flags;", NULL, "btf_procs_recv" },
	{ "sock", "sock_send_length", "tp_procs_send", "tracepoints", "raw_procs_send",
	  "int flags;", NULL, "btf_procs_send" },
};
#define N_BUILTIN_TPS (sizeof(builtin_tps) / sizeof(builtin_tps[0]))

struct bpf_program *prog_by_name(struct engine *e, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(e->skel->obj, name);
	if (!p)
		pr_warn("the BPF object has no program %s", name);
	return p;
}

int iface_index(struct engine *e, const char *name)
{
	for (int i = 0; i < e->n_ifaces; i++)
		if (!strcmp(e->ifaces[i].name, name))
			return i;
	return -1;
}

void probe_set_state(struct probe *p, enum probe_state st, const char *reason)
{
	p->info.state = st;
	snprintf(p->info.reason, sizeof(p->info.reason), "%s", reason ? reason : "");
}

static struct probe *probe_new(struct engine *e, enum probe_kind kind, const char *target,
			       const struct probe_ops *ops)
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
	p->ops = ops;
	p->link_fd = -1;
	p->info.kind = kind;
	p->info.state = PS_DETACHED;
	snprintf(p->info.target, sizeof(p->info.target), "%s", target);
	snprintf(p->info.id, sizeof(p->info.id), "%s:%s", probe_kind_name(kind), target);
	snprintf(p->info.detail, sizeof(p->info.detail), "%s", ops->method);
	return p;
}

/* A probe's target is known once its fields are filled: then the kind's support check runs. */
static void probe_check(struct engine *e, struct probe *p)
{
	if (p->ops->support)
		p->ops->support(e, p);
}

struct probe *probe_find(struct engine *e, const char *id)
{
	for (size_t i = 0; i < e->n_probes; i++)
		if (!strcmp(e->probes[i].info.id, id))
			return &e->probes[i];
	return NULL;
}

static void add_iface_probes(struct engine *e, struct iface *ifc)
{
	struct probe *p = probe_new(e, PK_XDP, ifc->name, &probe_ops_xdp);
	if (p) {
		p->builtin = true;
		p->ifindex = ifc->ifindex;
		p->xdp.ifindex = ifc->ifindex;
		p->xdp.prio = PL_XDP_PRIO;
		p->prog = prog_by_name(e, "xdp_flows");
		probe_check(e, p);
	}
	for (int k = PK_TC_INGRESS; k <= PK_TC_EGRESS; k++) {
		p = probe_new(e, k, ifc->name, e->feat.tcx ? &probe_ops_tcx : &probe_ops_tc);
		if (!p)
			continue;
		p->builtin = true;
		p->ifindex = ifc->ifindex;
		p->prog = prog_by_name(e, tc_prog_name(e, k == PK_TC_INGRESS));
		probe_check(e, p);
	}
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
		if (!(p = probe_new(e, PK_TRACEPOINT, target, &probe_ops_tracepoint)))
			goto nomem;
		snprintf(p->cat, sizeof(p->cat), "%.*s", (int)(sep - target), target);
		snprintf(p->name, sizeof(p->name), "%s", sep + 1);
		p->prog = prog_by_name(e, "tp_adhoc_count");
		p->cookie = ++e->next_cookie;
		p->info.detail[0] = '\0';
		probe_check(e, p);
		return p;
	}

	if (kind == PK_KPROBE || kind == PK_KRETPROBE) {
		snprintf(id, sizeof(id), "%s:%s", kind_s, target);
		if ((p = probe_find(e, id)))
			return p;
		if (!(p = probe_new(e, kind, target, &probe_ops_kprobe)))
			goto nomem;
		snprintf(p->name, sizeof(p->name), "%s", target);
		p->prog = prog_by_name(e, "probe_adhoc_count");
		p->cookie = ++e->next_cookie;
		p->info.detail[0] = '\0';
		probe_check(e, p);
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
		if (!(p = probe_new(e, kind, tgt, &probe_ops_uprobe)))
			goto nomem;
		snprintf(p->binary, sizeof(p->binary), "%s", path);
		snprintf(p->symbol, sizeof(p->symbol), "%s", sep + 1);
		p->prog = prog_by_name(e, "probe_adhoc_count");
		p->cookie = ++e->next_cookie;
		p->info.detail[0] = '\0';
		probe_check(e, p);
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

/* The kernel's BTF types this tracepoint for tp_btf programs (typedef btf_trace_NAME). */
static bool btf_has_trace(struct btf **vmlinux, const char *name)
{
	char tn[128];
	if (!*vmlinux && !(*vmlinux = btf__load_vmlinux_btf()))
		return false;
	snprintf(tn, sizeof(tn), "btf_trace_%s", name);
	return btf__find_by_name_kind(*vmlinux, tn, BTF_KIND_TYPEDEF) > 0;
}

/*
 * One program the kernel refuses fails the whole object, so built-in
 * tracepoint programs whose tracepoint this kernel lacks (older kernels:
 * sock_recv_length, ...) are not loaded; their probes then say so. Every
 * kprobe-type program (kprobes, uprobes) stays out where the kernel
 * refuses that type.
 */
void probes_set_autoload(struct engine *e)
{
	struct btf *vmlinux = NULL;
	char path[PATH_MAX];
	struct bpf_program *prog;
	if (!e->feat.kprobe_prog)
		bpf_object__for_each_program(prog, e->skel->obj) if (bpf_program__type(prog) ==
								     BPF_PROG_TYPE_KPROBE)
		    bpf_program__set_autoload(prog, false);
	for (size_t i = 0; i < N_BUILTIN_TPS; i++) {
		const struct builtin_tp *b = &builtin_tps[i];
		snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", b->cat, b->name);
		bool have = !e->feat.tracefs || path_exists(path);
		/* One variant per probe row: fexit where tracing programs work, else a raw
		 * tracepoint whose arguments fit, as tp_btf where the kernel types it, else the
		 * classic tracepoint. */
		bool fexit = have && b->fexit && e->feat.fexit;
		bool fits =
		    have && b->raw && !fexit && raw_tp_fits(e, b->cat, b->name, b->raw_field);
		bool btf = fits && b->btf && e->feat.tp_btf && btf_has_trace(&vmlinux, b->name);
		bool raw = fits && !btf;
		if (b->fexit)
			bpf_program__set_autoload(prog_by_name(e, b->fexit), fexit);
		if (b->btf)
			bpf_program__set_autoload(prog_by_name(e, b->btf), btf);
		if (b->raw)
			bpf_program__set_autoload(prog_by_name(e, b->raw), raw);
		if (!have || fexit || fits)
			bpf_program__set_autoload(prog_by_name(e, b->prog), false);
	}
	btf__free(vmlinux);
}

int probes_build(struct engine *e, char *err, size_t errlen)
{
	for (int i = 0; i < e->n_ifaces; i++)
		add_iface_probes(e, &e->ifaces[i]);
	for (size_t i = 0; i < N_BUILTIN_TPS; i++) {
		const struct builtin_tp *b = &builtin_tps[i];
		struct bpf_program *fexit = b->fexit ? prog_by_name(e, b->fexit) : NULL;
		struct bpf_program *raw = b->raw ? prog_by_name(e, b->raw) : NULL;
		struct bpf_program *btf = b->btf ? prog_by_name(e, b->btf) : NULL;
		const struct probe_ops *ops = &probe_ops_tracepoint;
		struct bpf_program *prog = prog_by_name(e, b->prog);
		if (fexit && bpf_program__autoload(fexit)) {
			ops = &probe_ops_fexit;
			prog = fexit;
		} else if (btf && bpf_program__autoload(btf)) {
			ops = &probe_ops_tp_btf;
			prog = btf;
		} else if (raw && bpf_program__autoload(raw)) {
			ops = &probe_ops_raw_tp;
			prog = raw;
		}
		char tgt[160];
		snprintf(tgt, sizeof(tgt), "%s:%s", b->cat, b->name);
		struct probe *p = probe_new(e, PK_TRACEPOINT, tgt, ops);
		if (!p)
			goto nomem;
		p->builtin = true;
		p->group = b->group;
		snprintf(p->cat, sizeof(p->cat), "%s", b->cat);
		snprintf(p->name, sizeof(p->name), "%s", b->name);
		p->prog = prog;
		probe_check(e, p);
		/* the row of a tracepoint without variants has no mode to show */
		if (!b->raw && !b->fexit)
			p->info.detail[0] = '\0';
	}
	/*
	 * Receive-path latency where the kernel has kprobes: every tcp_v4_rcv
	 * call is a hit, and skbs that ip_rcv saw are timed from there.
	 */
	struct probe *p = probe_add_spec(e, "kprobe:tcp_v4_rcv", err, errlen);
	if (!p)
		return -EINVAL;
	p->builtin = true;
	p->ops = &probe_ops_rxlat;
	p->prog = prog_by_name(e, "kprobe_tcp_v4_rcv");
	p->lat_cookie = p->cookie;
	snprintf(p->info.detail, sizeof(p->info.detail), "%s", p->ops->method);
	/*
	 * TLS plaintext: entry and return of SSL_read/SSL_write and the _ex
	 * variants in the system libssl, group "ssl" (off by default). Only
	 * processes that load this library are seen: statically linked
	 * binaries and other TLS libraries (GnuTLS, NSS, BoringSSL, Go, rustls)
	 * are not.
	 */
	static const struct {
		const char *kind, *sym, *prog;
	} ssl_probes[] = {
		{ "uprobe", "SSL_write", "uprobe_ssl_rw" },
		{ "uretprobe", "SSL_write", "uretprobe_ssl_write" },
		{ "uprobe", "SSL_read", "uprobe_ssl_rw" },
		{ "uretprobe", "SSL_read", "uretprobe_ssl_read" },
		{ "uprobe", "SSL_write_ex", "uprobe_ssl_rw_ex" },
		{ "uretprobe", "SSL_write_ex", "uretprobe_ssl_write" },
		{ "uprobe", "SSL_read_ex", "uprobe_ssl_rw_ex" },
		{ "uretprobe", "SSL_read_ex", "uretprobe_ssl_read" },
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
			p->prog = prog_by_name(e, ssl_probes[i].prog);
			snprintf(p->info.detail, sizeof(p->info.detail), "libssl plaintext");
		}
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
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
