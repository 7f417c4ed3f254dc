/* The operations of each kind of attachment: support, attach, detach, describe. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/internal.h"
#include "core/instance.h"
#include "core/log.h"
#include "core/tcnl.h"
#include "shared/funclat.h"

#define TRACEFS "/sys/kernel/tracing"

/* ---- who else is attached ---- */

int prog_name_of_id(uint32_t id, char *name, size_t len)
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

static void others_add(struct probe *p, uint32_t id, const char *name, const char *how)
{
	struct probe_info *pi = &p->info;
	if (pi->n_others == sizeof(pi->others) / sizeof(pi->others[0])) {
		pi->others_more++;
		return;
	}
	pi->others[pi->n_others].id = id;
	snprintf(pi->others[pi->n_others].name, sizeof(pi->others[0].name), "%s", name);
	snprintf(pi->others[pi->n_others].how, sizeof(pi->others[0].how), "%s", how);
	pi->n_others++;
}

/* The program a filter runs, named as libbpf and tc name filters ("name:[id]", "file.o:[sec]"). */
static void filter_prog_name(const struct tcnl_filter *f, char *out, size_t len)
{
	if (prog_name_of_id(f->prog_id, out, len) == 0)
		return;
	size_t n = strcspn(f->name, ":");
	snprintf(out, len, "%.*s", (int)n, f->name);
}

/* Classic tc filters on the hook, ours (handle) left out; they run after every tcx program. */
static void others_classic(struct engine *e, struct probe *p, uint32_t skip_handle)
{
	struct tcnl_filter fl[16];
	uint32_t parent =
	    p->info.kind == PK_TC_INGRESS ? PL_TC_PARENT_INGRESS : PL_TC_PARENT_EGRESS;
	int n = e->nl_fd >= 0 ? tcnl_filters(e->nl_fd, p->ifindex, parent, fl, 16) : 0;
	for (int i = 0; i < n && i < 16; i++) {
		char name[32] = "";
		if (!fl[i].handle || (skip_handle && fl[i].handle == skip_handle &&
				      fl[i].prio == PL_TC_PRIO && !strcmp(fl[i].kind, "bpf")))
			continue;
		if (!strcmp(fl[i].kind, "bpf"))
			filter_prog_name(&fl[i], name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s filter", fl[i].kind);
		others_add(p, fl[i].prog_id, name, "tc");
	}
	if (n > 16)
		p->info.others_more += (uint32_t)(n - 16);
}

/* ---- xdp: libxdp's dispatcher where the kernel runs it, else alone (xdpchain.c) ---- */

static void xdp_support(struct engine *e, struct probe *p)
{
	if (!e->feat.xdp)
		probe_set_state(p, PS_UNSUPPORTED, "kernel refuses XDP programs");
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

static int xdp_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	int ret = xdp_chain_attach(e, &p->xdp, "xdp_flows", p->ifindex, p->info.target, PL_XDP_PRIO,
				   err, errlen);
	if (!ret)
		update_xdp_owner(e, p->ifindex, true);
	return ret;
}

static void xdp_detach(struct engine *e, struct probe *p)
{
	if (!p->xdp.link && !p->xdp.dispatcher)
		return;
	xdp_chain_detach(e, &p->xdp);
	update_xdp_owner(e, p->ifindex, false);
}

/* The attach method, and the hook's other programs in run order (a dispatcher, then by priority). */
static void xdp_describe(struct engine *e, struct probe *p)
{
	xdp_chain_mode(e, &p->xdp, p->info.detail, sizeof(p->info.detail));
	xdp_chain_list(e, &p->xdp);
	for (int i = 0; i < p->xdp.n_chain; i++) {
		const struct xdp_chain_prog *c = &p->xdp.chain[i];
		char how[16];
		if (c->id == p->xdp.prog_id)
			continue;
		if (c->dispatcher)
			snprintf(how, sizeof(how), "dispatcher");
		else if (c->prio >= 0)
			snprintf(how, sizeof(how), "xdp prio %d", c->prio);
		else
			snprintf(how, sizeof(how), "xdp");
		others_add(p, c->id, c->name, how);
	}
	p->info.others_more += p->xdp.chain_more;
}

const struct probe_ops probe_ops_xdp = {
	.method = "xdp",
	.support = xdp_support,
	.attach = xdp_attach,
	.detach = xdp_detach,
	.describe = xdp_describe,
};

/* ---- classic tc (clsact + cls_bpf through netlink) ---- */

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

static int tc_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
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
	/* The handle is ours alone (our pid), so other instances keep theirs. */
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = e->tc_handle, .priority = PL_TC_PRIO,
		    .prog_fd = bpf_program__fd(p->prog));
	ret = bpf_tc_attach(&hook, &o);
	if (ret) {
		snprintf(err, errlen, "attaching tc %s to %s failed: %s",
			 p->info.kind == PK_TC_INGRESS ? "ingress" : "egress", p->info.target,
			 strerror(-ret));
		return ret;
	}
	p->tc_handle = e->tc_handle;
	tcnl_emerg_filter(tc_emerg_slot(e, p), true, p->ifindex, tc_parent(p->info.kind),
			  p->tc_handle, PL_TC_PRIO, ETH_P_ALL);
	if (i >= 0 && e->ifaces[i].created_qdisc)
		tcnl_emerg_qdisc(i, true, p->ifindex);
	return 0;
}

static void tc_detach(struct engine *e, struct probe *p)
{
	if (!p->tc_handle)
		return;
	tcnl_emerg_filter(tc_emerg_slot(e, p), false, 0, 0, 0, 0, 0);
	int ret = e->nl_fd >= 0 ? tcnl_filter_del(e->nl_fd, p->ifindex, tc_parent(p->info.kind),
						  p->tc_handle, PL_TC_PRIO, ETH_P_ALL)
				: -EBADF;
	if (ret && ret != -ENOENT)
		pr_warn("detaching %s: %s", p->info.id, strerror(-ret));
	p->tc_handle = 0;
}

static void tc_describe(struct engine *e, struct probe *p)
{
	snprintf(p->info.detail, sizeof(p->info.detail), "tc handle 0x%x", e->tc_handle);
	others_classic(e, p, e->tc_handle);
}

const struct probe_ops probe_ops_tc = {
	.method = "tc",
	.attach = tc_attach,
	.detach = tc_detach,
	.describe = tc_describe,
};

/* ---- tcx links (Linux 6.6+): they belong to their fd and vanish with the process ---- */

static int tcx_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	/*
	 * First in the chain (BPF_F_BEFORE without a relative program): an
	 * observer sees packets before a program that drops them, and returns
	 * TCX_NEXT so that every other program still runs. libbpf 1.1 passes
	 * the attach type, ifindex and flags through unchanged.
	 */
	LIBBPF_OPTS(bpf_link_create_opts, o, .flags = PL_BPF_F_BEFORE);
	int type = p->info.kind == PK_TC_INGRESS ? PL_BPF_TCX_INGRESS : PL_BPF_TCX_EGRESS;
	int fd =
	    bpf_link_create(bpf_program__fd(p->prog), p->ifindex, (enum bpf_attach_type)type, &o);
	if (fd < 0) {
		snprintf(err, errlen, "attaching tcx %s to %s failed: %s",
			 p->info.kind == PK_TC_INGRESS ? "ingress" : "egress", p->info.target,
			 strerror(errno));
		return -errno;
	}
	p->link_fd = fd;
	(void)e;
	return 0;
}

static void tcx_detach(struct engine *e, struct probe *p)
{
	if (p->link_fd >= 0)
		close(p->link_fd);
	p->link_fd = -1;
	(void)e;
}

static void tcx_describe(struct engine *e, struct probe *p)
{
	snprintf(p->info.detail, sizeof(p->info.detail), "tcx");
	__u32 ids[16], cnt = 16, flags = 0, ours = 0;
	int type = p->info.kind == PK_TC_INGRESS ? PL_BPF_TCX_INGRESS : PL_BPF_TCX_EGRESS;
	if (p->link_fd >= 0) {
		struct bpf_link_info li = { 0 };
		__u32 len = sizeof(li);
		if (!bpf_obj_get_info_by_fd(p->link_fd, &li, &len))
			ours = li.prog_id;
	}
	if (!bpf_prog_query(p->ifindex, (enum bpf_attach_type)type, 0, &flags, ids, &cnt)) {
		for (__u32 i = 0; i < cnt && i < 16; i++) {
			char name[32] = "";
			if (ids[i] == ours)
				continue;
			prog_name_of_id(ids[i], name, sizeof(name));
			others_add(p, ids[i], name, "tcx");
		}
	}
	others_classic(e, p, 0);
}

const struct probe_ops probe_ops_tcx = {
	.method = "tcx",
	.attach = tcx_attach,
	.detach = tcx_detach,
	.describe = tcx_describe,
};

/* ---- tracepoints: classic (perf event), raw, fexit ---- */

static void tp_support(struct engine *e, struct probe *p)
{
	char path[PATH_MAX];
	if (!e->feat.tracefs) {
		probe_set_state(p, PS_UNSUPPORTED,
				"tracefs is not mounted and could not be mounted");
		return;
	}
	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", p->cat, p->name);
	if (access(path, F_OK))
		probe_set_state(p, PS_UNSUPPORTED, "this kernel has no such tracepoint");
}

/* Every link-based kind ends the same way: the link goes, and with it the attachment. */
static void link_detach(struct engine *e, struct probe *p)
{
	bpf_link__destroy(p->link);
	p->link = NULL;
	(void)e;
}

/* errno of a failed attach as a sentence. */
static int attach_error(struct probe *p, char *err, size_t errlen)
{
	int ret = -errno;
	if (ret == -ENOENT && (p->info.kind == PK_UPROBE || p->info.kind == PK_URETPROBE))
		snprintf(err, errlen, "symbol '%s' not found in %s", p->symbol, p->binary);
	else if (ret == -ENOENT)
		snprintf(err, errlen, "%s: no such %s in this kernel", p->info.target,
			 probe_kind_name(p->info.kind));
	else
		snprintf(err, errlen, "attaching %s failed: %s", p->info.id, strerror(-ret));
	return ret;
}

static int tp_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_tracepoint_opts, o, .bpf_cookie = p->cookie);
	p->link = bpf_program__attach_tracepoint_opts(p->prog, p->cat, p->name, &o);
	return p->link ? 0 : attach_error(p, err, errlen);
}

const struct probe_ops probe_ops_tracepoint = {
	.method = "tracepoint",
	.support = tp_support,
	.attach = tp_attach,
	.detach = link_detach,
};

static int raw_tp_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	p->link = bpf_program__attach_raw_tracepoint(p->prog, p->name);
	return p->link ? 0 : attach_error(p, err, errlen);
}

const struct probe_ops probe_ops_raw_tp = {
	.method = "raw_tp",
	.support = tp_support,
	.attach = raw_tp_attach,
	.detach = link_detach,
};

/* tp_btf and fexit programs name their target in their BTF attach target, set when they loaded. */
static int trace_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	p->link = bpf_program__attach_trace(p->prog);
	return p->link ? 0 : attach_error(p, err, errlen);
}

const struct probe_ops probe_ops_tp_btf = {
	.method = "tp_btf",
	.support = tp_support,
	.attach = trace_attach,
	.detach = link_detach,
};

const struct probe_ops probe_ops_fexit = {
	.method = "fexit",
	.support = tp_support,
	.attach = trace_attach,
	.detach = link_detach,
};

/* ---- kprobes and uprobes ---- */

static void kprobe_support(struct engine *e, struct probe *p)
{
	if (!e->feat.kprobe)
		probe_set_state(p, PS_UNSUPPORTED, e->feat.kprobe_why);
	else if (!e->feat.kprobe_prog)
		probe_set_state(p, PS_UNSUPPORTED, "kernel refuses kprobe programs");
}

static int kprobe_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_kprobe_opts, o, .bpf_cookie = p->cookie,
		    .retprobe = p->info.kind == PK_KRETPROBE);
	p->link = bpf_program__attach_kprobe_opts(p->prog, p->name, &o);
	return p->link ? 0 : attach_error(p, err, errlen);
}

const struct probe_ops probe_ops_kprobe = {
	.method = "kprobe",
	.support = kprobe_support,
	.attach = kprobe_attach,
	.detach = link_detach,
};

/* kprobe:tcp_v4_rcv timed from ip_rcv: a second kprobe, held in lat_links[0]. */
static int rxlat_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	int ret = kprobe_attach(e, p, err, errlen);
	if (ret)
		return ret;
	p->lat_links[0] =
	    bpf_program__attach_kprobe(prog_by_name(e, "kprobe_ip_rcv"), false, "ip_rcv");
	if (!p->lat_links[0])
		pr_warn("%s: no receive latency: the ip_rcv kprobe failed: %s", p->info.id,
			strerror(errno));
	return 0;
}

static void rxlat_detach(struct engine *e, struct probe *p)
{
	link_detach(e, p);
	bpf_link__destroy(p->lat_links[0]);
	p->lat_links[0] = NULL;
}

const struct probe_ops probe_ops_rxlat = {
	.method = "latency from ip_rcv",
	.support = kprobe_support,
	.attach = rxlat_attach,
	.detach = rxlat_detach,
};

static void uprobe_support(struct engine *e, struct probe *p)
{
	if (!e->feat.uprobe)
		probe_set_state(p, PS_UNSUPPORTED, "kernel built without uprobes");
	else if (!e->feat.kprobe_prog)
		probe_set_state(p, PS_UNSUPPORTED, "kernel refuses uprobe programs");
}

static int uprobe_attach(struct engine *e, struct probe *p, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = p->cookie, .func_name = p->symbol,
		    .retprobe = p->info.kind == PK_URETPROBE);
	p->link = bpf_program__attach_uprobe_opts(p->prog, -1, p->binary, 0, &o);
	return p->link ? 0 : attach_error(p, err, errlen);
}

const struct probe_ops probe_ops_uprobe = {
	.method = "uprobe",
	.support = uprobe_support,
	.attach = uprobe_attach,
	.detach = link_detach,
};

/* ---- entry/return pairs ---- */

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
	struct bpf_program *entry = prog_by_name(e, "probe_funclat_entry");
	struct bpf_program *exit_ = prog_by_name(e, "probe_funclat_exit");
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

/* ---- the registry's side ---- */

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
		probe_set_state(p, PS_UNSUPPORTED, "program not loaded on this kernel");
		return -EOPNOTSUPP;
	}
	int ret = p->ops->attach(e, p, err, errlen);
	if (ret) {
		probe_set_state(p, PS_ERROR, err);
		return ret;
	}
	probe_set_state(p, PS_ATTACHED, "");
	funclat_sync(e, p);
	return 0;
}

void probe_detach(struct engine *e, struct probe *p)
{
	p->ops->detach(e, p);
	if (p->info.state == PS_ATTACHED || p->info.state == PS_ERROR)
		probe_set_state(p, PS_DETACHED, "");
	funclat_sync(e, p);
}

void probes_describe(struct engine *e)
{
	for (size_t i = 0; i < e->n_probes; i++) {
		struct probe *p = &e->probes[i];
		if (!p->ops->describe)
			continue;
		p->info.n_others = p->info.others_more = 0;
		p->ops->describe(e, p);
	}
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
