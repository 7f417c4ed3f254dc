/* XDP beside other programs: libxdp's dispatcher (the convention of xdp-tools) where the kernel runs it, else one program alone. */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "core/internal.h"
#include "core/instance.h"
#include "core/log.h"
#include "core/xdpchain.h"

/*
 * How libxdp (1.3.1, Debian's; lib/libxdp/libxdp.c of xdp-tools) chains
 * programs, read in its source, and what follows for pktlens:
 * - xdp_program__attach() builds a whole new dispatcher (xdp-dispatcher.o
 *   from its BPF object directory) for the old programs plus the new one,
 *   sorted by run priority (then name), and links each into a slot
 *   function progN with bpf_link_create(target_btf_id). For a program
 *   that is loaded already (ours, and every program of the old
 *   dispatcher) that re-attaches a loaded freplace program to a new
 *   target; a kernel that cannot gives EINVAL, which libxdp turns into
 *   "Kernel doesn't support re-attaching freplace programs" (EOPNOTSUPP).
 * - It pins each link and program under <bpffs>/xdp/dispatch-IFINDEX-ID/
 *   and swaps the dispatcher in through netlink, with the old one's fd and
 *   XDP_FLAGS_REPLACE, or XDP_FLAGS_UPDATE_IF_NOEXIST on an empty hook:
 *   atomic, and it never replaces a program it did not expect (a race
 *   gives EEXIST, and libxdp builds again). The dispatcher is a netlink
 *   attachment and the links are pinned, so the chain, and our program in
 *   it, outlives a pktlens that is killed: hence the claims in
 *   /run/pktlens and xdp_chain_sweep().
 * - xdp_program__detach() finds the program by id, so each pktlens takes
 *   out its own copy even beside another pktlens' copy of the same name
 *   and tag; when the last program leaves, libxdp detaches the dispatcher
 *   and unpins its directory, and the hook is empty again.
 * - A mode other than the dispatcher's (native/generic) fails to attach
 *   (the kernel does not run both at once), so pktlens always asks for the
 *   mode of the dispatcher already there.
 * - A program that is not a dispatcher ("legacy") is never replaced:
 *   libxdp refuses too ("Existing program is not using a dispatcher").
 */

/* libxdp's limit of programs in one dispatcher (MAX_DISPATCHER_ACTIONS) */
#define PL_XDP_DISPATCHER_MAX 10

/*
 * A program of pktlens' object loaded a second time as an freplace (EXT)
 * program, sharing every map of the first: what libxdp links into
 * dispatcher slots. One per program name, loaded once, linked into any
 * number of dispatchers (the kernel lets a loaded EXT program attach to
 * other targets of the same type).
 */
struct xdp_ext {
	char name[32];
	unsigned prio;
	struct bpf_object *obj;
	int fd;
	uint32_t id;
	int n_attached; /* dispatchers it is in; 0 at the end: nothing of it is left anywhere */
};

struct xdp_exts {
	struct xdp_ext ext[4];
	int n;
	bool said_alone; /* the one-line note on why XDP runs alone here was printed */
};

/* libxdp prints to stderr by default; its messages go to the log as debug, as libbpf's do. */
static int libxdp_log(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	pr_debug("libxdp: %s", buf);
	(void)level;
	return 0;
}

static void libxdp_quiet(void)
{
	static bool done;
	if (!done)
		libxdp_set_print(libxdp_log);
	done = true;
}

static uint32_t fd_prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.id : 0;
}

/* The hook's program and how it runs there: the mode libxdp must keep when it swaps dispatchers. */
static uint32_t hook_prog(int ifindex, enum xdp_attach_mode *mode, const char **mode_name)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (mode)
		*mode = XDP_MODE_UNSPEC;
	if (mode_name)
		*mode_name = "";
	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	if (q.drv_prog_id) {
		if (mode)
			*mode = XDP_MODE_NATIVE;
		if (mode_name)
			*mode_name = "native";
		return q.drv_prog_id;
	}
	if (q.skb_prog_id) {
		if (mode)
			*mode = XDP_MODE_SKB;
		if (mode_name)
			*mode_name = "generic";
		return q.skb_prog_id;
	}
	if (q.hw_prog_id && mode_name)
		*mode_name = "offload";
	return q.hw_prog_id;
}

static struct xdp_exts *exts_of(struct engine *e)
{
	if (!e->xdp_exts)
		e->xdp_exts = calloc(1, sizeof(*e->xdp_exts));
	return e->xdp_exts;
}

/*
 * xdp-tools' convention: a program carries its run priority in its BTF,
 * as the variable _NAME of section .xdp_run_config, a struct whose member
 * "priority" points to an array of that many ints (xdp_helpers.h's
 * XDP_RUN_CONFIG). libxdp reads it when it takes a loaded program (and
 * xdp_program__set_run_prio() refuses loaded programs), so it is added to
 * the object's BTF before load, with the priority asked for.
 */
static int add_run_config(struct btf *btf, const char *name, unsigned prio)
{
	char var[40];
	int int_t = btf__find_by_name_kind(btf, "int", BTF_KIND_INT);
	if (int_t < 0)
		int_t = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	int arr = int_t > 0 ? btf__add_array(btf, int_t, int_t, prio) : int_t;
	int ptr = arr > 0 ? btf__add_ptr(btf, arr) : arr;
	int st = ptr > 0 ? btf__add_struct(btf, NULL, 8) : ptr;
	if (st < 0 || btf__add_field(btf, "priority", ptr, 0, 0))
		return st < 0 ? st : -EINVAL;
	snprintf(var, sizeof(var), "_%s", name);
	int v = btf__add_var(btf, var, BTF_VAR_GLOBAL_ALLOCATED, st);
	int sec = v > 0 ? btf__add_datasec(btf, ".xdp_run_config", 8) : v;
	if (sec < 0)
		return sec;
	return btf__add_datasec_var_info(btf, v, 0, 8);
}

/*
 * The freplace copy of program `name`: the object is opened again from
 * the same ELF (so that .bss and .rodata have the same layout), every map
 * reuses the first object's, and only `name` loads, as an EXT program
 * whose load-time target is the first object's `name` (same signature,
 * int f(struct xdp_md *)); libxdp then links it into dispatcher slots. It
 * is claimed in /run/pktlens before it is attached anywhere.
 */
static struct xdp_ext *ext_get(struct engine *e, const char *name, unsigned prio, char *err,
			       size_t errlen)
{
	struct xdp_exts *xs = exts_of(e);
	if (!xs) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (int i = 0; i < xs->n; i++)
		if (!strcmp(xs->ext[i].name, name) && xs->ext[i].prio == prio)
			return &xs->ext[i];
	if (xs->n == (int)(sizeof(xs->ext) / sizeof(xs->ext[0]))) {
		snprintf(err, errlen, "too many kinds of XDP program");
		errno = ENOSPC;
		return NULL;
	}
	struct bpf_program *first = bpf_object__find_program_by_name(e->skel->obj, name);
	int tgt_fd = first ? bpf_program__fd(first) : -1;
	if (tgt_fd < 0) {
		snprintf(err, errlen, "XDP program %s is not loaded", name);
		errno = ENOENT;
		return NULL;
	}
	int ret;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = bpf_object__name(e->skel->obj));
	struct bpf_object *obj =
	    bpf_object__open_mem(e->skel->skeleton->data, e->skel->skeleton->data_sz, &oo);
	if (!obj) {
		ret = -errno;
		snprintf(err, errlen, "opening pktlens' BPF object again failed: %s",
			 strerror(-ret));
		errno = -ret;
		return NULL;
	}
	struct bpf_program *prog, *ext = NULL;
	bpf_object__for_each_program(prog, obj)
	{
		bool it = !strcmp(bpf_program__name(prog), name);
		bpf_program__set_autoload(prog, it);
		if (it)
			ext = prog;
	}
	struct bpf_map *map;
	ret = 0;
	bpf_object__for_each_map(map, obj)
	{
		struct bpf_map *m = bpf_object__find_map_by_name(e->skel->obj, bpf_map__name(map));
		if (!ret && (!m || bpf_map__fd(m) < 0))
			ret = -ENOENT;
		if (!ret)
			ret = bpf_map__reuse_fd(map, bpf_map__fd(m));
	}
	if (!ret && ext)
		ret = add_run_config(bpf_object__btf(obj), name, prio);
	if (!ret && ext) {
		bpf_program__set_type(ext, BPF_PROG_TYPE_EXT);
		bpf_program__set_expected_attach_type(ext, 0);
		ret = bpf_program__set_attach_target(ext, tgt_fd, name);
	}
	if (!ret && ext)
		ret = bpf_object__load(obj);
	uint32_t id = !ret && ext ? fd_prog_id(bpf_program__fd(ext)) : 0;
	if (!ret && !id)
		ret = -ENOENT;
	if (!ret && (ret = instance_claim_xdp(id)) != 0) {
		snprintf(err, errlen, "cannot record pktlens' XDP program in %s: %s", PL_RUN_DIR,
			 strerror(-ret));
	} else if (ret) {
		snprintf(err, errlen,
			 "loading %s as an freplace program for libxdp's dispatcher failed: %s",
			 name, strerror(-ret));
	}
	if (ret) {
		bpf_object__close(obj);
		errno = -ret;
		return NULL;
	}
	struct xdp_ext *x = &xs->ext[xs->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->prio = prio;
	x->obj = obj;
	x->fd = bpf_program__fd(ext);
	x->id = id;
	return x;
}

static struct xdp_ext *ext_by_id(struct engine *e, uint32_t id)
{
	struct xdp_exts *xs = e->xdp_exts;
	for (int i = 0; xs && i < xs->n; i++)
		if (xs->ext[i].id == id)
			return &xs->ext[i];
	return NULL;
}

/* A libxdp handle on a program we hold an fd of (libxdp takes a duplicate). */
static struct xdp_program *xdp_prog_of_fd(int fd)
{
	struct xdp_program *xp = xdp_program__from_fd(fd);
	if (libxdp_get_error(xp)) {
		if (!errno)
			errno = EINVAL;
		return NULL;
	}
	return xp;
}

static int attach_in_dispatcher(struct engine *e, struct xdp_att *a, const char *name,
				const char *ifname, char *err, size_t errlen)
{
	enum xdp_attach_mode mode;
	uint32_t cur = hook_prog(a->ifindex, &mode, NULL);
	if (cur) {
		/* Join a dispatcher; anything else on the hook is left alone. */
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(a->ifindex);
		if (libxdp_get_error(mp) || !mp) {
			int ret = errno ? -errno : -EIO;
			snprintf(err, errlen,
				 "cannot read the XDP programs of %s through libxdp: %s", ifname,
				 strerror(-ret));
			return ret;
		}
		int ret = 0;
		if (xdp_multiprog__is_legacy(mp)) {
			char pname[32] = "?";
			prog_name_of_id(cur, pname, sizeof(pname));
			if (!strcmp(pname, "xdp_dispatcher"))
				snprintf(err, errlen,
					 "%s has libxdp's dispatcher (id %u), but its programs are "
					 "not pinned in this BPF filesystem (another mount "
					 "namespace's?); pktlens leaves it alone",
					 ifname, cur);
			else
				snprintf(err, errlen,
					 "%s already has XDP program '%s' (id %u) attached without "
					 "libxdp's dispatcher; pktlens never replaces it (programs "
					 "loaded with xdp-loader or libxdp chain)",
					 ifname, pname, cur);
			ret = -EBUSY;
		} else if (xdp_multiprog__program_count(mp) >= PL_XDP_DISPATCHER_MAX) {
			snprintf(err, errlen,
				 "the XDP dispatcher of %s already runs %d programs, the most "
				 "libxdp chains",
				 ifname, PL_XDP_DISPATCHER_MAX);
			ret = -E2BIG;
		}
		mode = xdp_multiprog__attach_mode(mp);
		xdp_multiprog__close(mp);
		if (ret)
			return ret;
	}
	struct xdp_ext *x = ext_get(e, name, a->prio, err, errlen);
	if (!x)
		return -errno;
	/* libxdp reads the run priority from the program's BTF (add_run_config) */
	struct xdp_program *xp = xdp_prog_of_fd(x->fd);
	if (!xp) {
		int ret = -errno;
		snprintf(err, errlen, "libxdp cannot take pktlens' XDP program: %s",
			 strerror(-ret));
		return ret;
	}
	/* libxdp builds a new dispatcher with every program and swaps it in atomically */
	int ret = xdp_program__attach(xp, a->ifindex, mode, 0);
	xdp_program__close(xp);
	if (ret) {
		char why[128];
		libxdp_strerror(ret, why, sizeof(why));
		snprintf(err, errlen, "joining the XDP dispatcher of %s failed: %s", ifname, why);
		return ret;
	}
	a->dispatcher = true;
	a->prog_id = x->id;
	x->n_attached++;
	return 0;
}

static int attach_alone(struct engine *e, struct xdp_att *a, const char *name, const char *ifname,
			char *err, size_t errlen)
{
	uint32_t cur = hook_prog(a->ifindex, NULL, NULL);
	if (cur) {
		char pname[32] = "?";
		prog_name_of_id(cur, pname, sizeof(pname));
		int owner = instance_prog_owner(cur);
		if (instance_owns_prog(cur))
			snprintf(
			    err, errlen,
			    "the XDP hook of %s already runs this pktlens' program '%s' (id %u), "
			    "and XDP programs cannot chain here: %s",
			    ifname, pname, cur, e->feat.xdp_chain_why);
		else if (owner)
			snprintf(
			    err, errlen,
			    "the XDP hook of %s holds pktlens pid %d's program (id %u), and XDP "
			    "programs cannot chain here: %s",
			    ifname, owner, cur, e->feat.xdp_chain_why);
		else
			snprintf(
			    err, errlen,
			    "%s already has XDP program '%s' (id %u) that pktlens did not load; "
			    "pktlens never replaces it, and XDP programs cannot chain here: %s",
			    ifname, pname, cur, e->feat.xdp_chain_why);
		return -EBUSY;
	}
	struct bpf_program *p = bpf_object__find_program_by_name(e->skel->obj, name);
	if (!p || bpf_program__fd(p) < 0) {
		snprintf(err, errlen, "XDP program %s is not loaded", name);
		return -ENOENT;
	}
	/* claimed, so that another pktlens that finds it on the hook names our pid */
	int ret = instance_claim_prog(fd_prog_id(bpf_program__fd(p)));
	if (ret) {
		snprintf(err, errlen, "cannot record pktlens' XDP program in %s: %s", PL_RUN_DIR,
			 strerror(-ret));
		return ret;
	}
	/* a link never replaces a program: it fails with EBUSY if one came meanwhile */
	a->link = bpf_program__attach_xdp(p, a->ifindex);
	if (!a->link) {
		ret = -errno;
		snprintf(err, errlen, "attaching XDP to %s failed: %s", ifname, strerror(-ret));
		return ret;
	}
	a->prog_id = fd_prog_id(bpf_program__fd(p));
	struct xdp_exts *xs = exts_of(e);
	if (xs && !xs->said_alone) {
		xs->said_alone = true;
		pr_warn("XDP runs as a single program on each interface: %s, so libxdp's "
			"dispatcher cannot chain XDP programs here",
			e->feat.xdp_chain_why);
	}
	return 0;
}

int xdp_chain_attach(struct engine *e, struct xdp_att *a, const char *name, int ifindex,
		     const char *ifname, unsigned prio, char *err, size_t errlen)
{
	libxdp_quiet();
	if (a->link || a->dispatcher)
		return 0;
	a->ifindex = ifindex;
	a->prio = prio;
	a->prog_id = 0;
	a->listed_main = 0;
	return e->feat.xdp_chain ? attach_in_dispatcher(e, a, name, ifname, err, errlen)
				 : attach_alone(e, a, name, ifname, err, errlen);
}

void xdp_chain_detach(struct engine *e, struct xdp_att *a)
{
	libxdp_quiet();
	if (a->link) {
		bpf_link__destroy(a->link);
		a->link = NULL;
	} else if (a->dispatcher) {
		struct xdp_ext *x = ext_by_id(e, a->prog_id);
		enum xdp_attach_mode mode;
		char ifname[IF_NAMESIZE] = "?";
		if_indextoname((unsigned)a->ifindex, ifname);
		struct xdp_program *xp = x ? xdp_prog_of_fd(x->fd) : NULL;
		/* the dispatcher's mode, or libxdp's replacement asks for another and fails */
		int ret = !xp ? -EINVAL : hook_prog(a->ifindex, &mode, NULL) ? 0 : -ENOENT;
		if (!ret)
			ret = xdp_program__detach(xp, a->ifindex, mode, 0);
		xdp_program__close(xp);
		/* gone already: the interface went, or someone unloaded the dispatcher */
		if (!ret || ret == -ENOENT || ret == -ENODEV) {
			if (x)
				x->n_attached--;
		} else {
			pr_warn("taking pktlens' XDP program off the dispatcher of %s failed: %s; "
				"the next pktlens removes it",
				ifname, strerror(-ret));
		}
		a->dispatcher = false;
	}
	a->prog_id = 0;
	a->listed_main = 0;
}

void xdp_chain_mode(struct engine *e, const struct xdp_att *a, char *buf, size_t len)
{
	const char *how = "";
	if (a->link || a->dispatcher)
		hook_prog(a->ifindex, NULL, &how);
	const char *sep = how[0] ? ", " : "";
	if (e->feat.xdp_chain)
		snprintf(buf, len, "%s%slibxdp dispatcher prio %u", how, sep, a->prio);
	else
		snprintf(buf, len, "%s%ssingle program (%s)", how, sep, e->feat.xdp_chain_short);
}

static void chain_add(struct xdp_att *a, uint32_t id, const char *name, int prio, bool disp)
{
	if (a->n_chain == PL_XDP_CHAIN_MAX) {
		a->chain_more++;
		return;
	}
	struct xdp_chain_prog *c = &a->chain[a->n_chain++];
	c->id = id;
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	c->prio = prio;
	c->dispatcher = disp;
}

int xdp_chain_list(struct engine *e, struct xdp_att *a)
{
	libxdp_quiet();
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (bpf_xdp_query(a->ifindex, 0, &q)) {
		a->n_chain = 0;
		a->chain_more = 0;
		a->listed_main = 0;
		return 0;
	}
	uint32_t main_id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
	/* libxdp swaps in a new dispatcher for every change: the same id, the same chain */
	if (main_id && main_id == a->listed_main)
		return a->n_chain;
	a->n_chain = 0;
	a->chain_more = 0;
	a->listed_main = main_id;
	bool listed = false;
	if (main_id && e->feat.xdp_chain) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(a->ifindex);
		if (!libxdp_get_error(mp) && mp && !xdp_multiprog__is_legacy(mp)) {
			struct xdp_program *d = xdp_multiprog__main_prog(mp);
			chain_add(a, main_id, d ? xdp_program__name(d) : "", -1, true);
			for (struct xdp_program *p = xdp_multiprog__next_prog(NULL, mp); p;
			     p = xdp_multiprog__next_prog(p, mp))
				chain_add(a, xdp_program__id(p), xdp_program__name(p),
					  (int)xdp_program__run_prio(p), false);
			listed = true;
		}
		if (!libxdp_get_error(mp))
			xdp_multiprog__close(mp);
	}
	if (main_id && !listed) {
		char name[32] = "";
		prog_name_of_id(main_id, name, sizeof(name));
		chain_add(a, main_id, name, -1, false);
	}
	if (q.hw_prog_id) {
		char name[32] = "";
		prog_name_of_id(q.hw_prog_id, name, sizeof(name));
		chain_add(a, q.hw_prog_id, name, -1, false);
	}
	return a->n_chain;
}

/* One dispatcher's programs that a dead pktlens claimed, and who. */
struct dead_prog {
	uint32_t id;
	int owner;
};

static int dead_in_dispatcher(int ifindex, struct dead_prog *out, int max)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	int n = 0;
	if (libxdp_get_error(mp) || !mp)
		return 0;
	if (!xdp_multiprog__is_legacy(mp)) {
		for (struct xdp_program *p = xdp_multiprog__next_prog(NULL, mp); p && n < max;
		     p = xdp_multiprog__next_prog(p, mp)) {
			uint32_t id = xdp_program__id(p);
			int owner = instance_owns_prog(id) ? 0 : instance_dead_owner(id);
			if (owner)
				out[n++] = (struct dead_prog){ id, owner };
		}
	}
	xdp_multiprog__close(mp);
	return n;
}

static void remove_dead(const char *ifname, int ifindex, enum xdp_attach_mode mode,
			const struct dead_prog *d)
{
	int fd = bpf_prog_get_fd_by_id(d->id);
	struct xdp_program *xp = fd >= 0 ? xdp_prog_of_fd(fd) : NULL;
	int ret = xp ? xdp_program__detach(xp, ifindex, mode, 0) : -errno;
	xdp_program__close(xp);
	if (fd >= 0)
		close(fd);
	if (!ret) {
		instance_prog_removed(d->id);
		pr_info("%s: removed the XDP program (id %u) of dead pktlens pid %d from the "
			"dispatcher",
			ifname, d->id, d->owner);
	} else if (ret != -ENOENT) {
		pr_warn("%s: removing the XDP program (id %u) of dead pktlens pid %d from the "
			"dispatcher failed: %s",
			ifname, d->id, d->owner, strerror(-ret));
	}
}

void xdp_chain_sweep(struct engine *e)
{
	if (!e->feat.xdp_chain)
		return;
	libxdp_quiet();
	struct if_nameindex *ni = if_nameindex();
	for (struct if_nameindex *i = ni; i && i->if_index; i++) {
		enum xdp_attach_mode mode;
		struct dead_prog dead[PL_XDP_DISPATCHER_MAX];
		if (!hook_prog((int)i->if_index, &mode, NULL))
			continue;
		int n = dead_in_dispatcher((int)i->if_index, dead, PL_XDP_DISPATCHER_MAX);
		for (int k = 0; k < n; k++)
			remove_dead(i->if_name, (int)i->if_index, mode, &dead[k]);
	}
	if (ni)
		if_freenameindex(ni);
}

void xdp_chain_free(struct engine *e)
{
	struct xdp_exts *xs = e->xdp_exts;
	if (!xs)
		return;
	for (int i = 0; i < xs->n; i++) {
		/* in no dispatcher any more: its claim need not keep our file after us */
		if (xs->ext[i].n_attached <= 0)
			instance_prog_removed(xs->ext[i].id);
		bpf_object__close(xs->ext[i].obj);
	}
	free(xs);
	e->xdp_exts = NULL;
}
