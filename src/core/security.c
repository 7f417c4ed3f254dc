/* Alerts and the XDP firewall as one model of the engine: detection maps and events into the alerts model, rules into the kernel. */
#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/internal.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/maps.h"
#include "core/security.h"

/* The firewall program on one watched interface. */
struct fw_link {
	struct bpf_link *link;
	char mode[12]; /* "native", "generic" */
	bool pinned;
};

struct security {
	struct engine *e;
	struct alerts *alerts;
	struct fw_table fw;
	int ncpu;
	uint8_t ssh_family, ssh_addr[16];
	int have_ssh;
	char ssh_text[48];
	char pin_dir[PATH_MAX]; /* PL_PIN_DIR/fw-NETNS: this namespace's pinned links */
	struct fw_link links[PL_MAX_IFACES]; /* by the engine's interface index */
	/* buffers kept between refreshes */
	struct sec_port_key *pk;
	struct sec_port_val *pv;
	size_t pcap;
	struct alert_flow *flows;
	size_t fcap;
	struct fw_stats *slot_pc; /* one slot's per-CPU values */
	struct fw_stats slots[PL_FW_RULES_MAX];
	struct sec_counters kc;
};

extern const struct model_ops security_model_ops;

static void sec_event(void *m, const void *data, size_t len, const struct model_env *env)
{
	struct security *sec = m;
	if (len < sizeof(struct sec_event))
		return;
	const struct sec_event *ev = data;
	double t = ((double)ev->ts_ns - (double)env->start_ns) / 1e9;
	alerts_event(sec->alerts, ev, t);
}

static void sec_free(void *m);

static void *sec_create(const struct model_env *env)
{
	struct security *sec = calloc(1, sizeof(*sec));
	if (!sec)
		return NULL;
	/* no engine: a unit test builds rows with every model, and reads none of their maps */
	struct engine *e = env->engine;
	sec->e = e;
	sec->ncpu = maps_ncpu();
	fw_table_init(&sec->fw);
	struct alert_cfg cfg;
	if (e && e->opts.alerts_set)
		cfg = e->opts.alerts;
	else
		alerts_cfg_default(&cfg);
	sec->alerts = alerts__new(&cfg);
	sec->slot_pc = calloc((size_t)sec->ncpu, sizeof(*sec->slot_pc));
	if (!sec->alerts || !sec->slot_pc) {
		sec_free(sec);
		return NULL;
	}
	if (!fw_ssh_peer(&sec->ssh_family, sec->ssh_addr)) {
		sec->have_ssh = 1;
		struct fw_spec one = { .family = sec->ssh_family,
				       .plen = sec->ssh_family == PL_AF_INET ? 32 : 128 };
		memcpy(one.addr, sec->ssh_addr, 16);
		fw_prefix_str(&one, sec->ssh_text, sizeof(sec->ssh_text));
		*strchr(sec->ssh_text, '/') = '\0';
	}
	snprintf(sec->pin_dir, sizeof(sec->pin_dir), "%s/fw-%llu", PL_PIN_DIR,
		 (unsigned long long)(e ? e->netns_ino : 0));
	return sec;
}

static void sec_configure(void *m, struct pktlens_bpf *skel)
{
	struct security *sec = m;
	/* detection costs the packet path a few compares; --alert off takes even those away */
	skel->bss->sec_off = alerts_cfg(sec->alerts)->off ? 1 : 0;
}

/* ---- the firewall ---- */

static int bpffs_ready(char *err, size_t errlen)
{
	struct statfs st;
	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	/* as systemd would have: pins only outlive pktlens on the host's bpffs */
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST) {
		snprintf(err, errlen, "--persist-rules: cannot create /sys/fs/bpf: %s",
			 strerror(errno));
		return -errno;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700")) {
		int ret = -errno;
		snprintf(err, errlen, "--persist-rules: mounting bpffs on /sys/fs/bpf failed: %s",
			 strerror(-ret));
		return ret;
	}
	return 0;
}

static void prog_name_of(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info = { 0 };
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	snprintf(name, len, "?");
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(name, len, "%s", info.name);
	close(fd);
}

/*
 * The firewall program onto one interface, through a link (it goes with
 * the process unless pinned). The kernel runs one XDP program per hook
 * without libxdp's dispatcher: a program already there, pktlens' own XDP
 * flow probe included, is never replaced.
 */
static int fw_link_attach(struct security *sec, int i, char *err, size_t errlen)
{
	struct engine *e = sec->e;
	struct iface *f = &e->ifaces[i];
	struct fw_link *l = &sec->links[i];
	__u32 id = 0;
	if (!bpf_xdp_query_id(f->ifindex, 0, &id) && id) {
		char name[32];
		prog_name_of(id, name, sizeof(name));
		snprintf(
		    err, errlen,
		    "%s already has XDP program '%s' (id %u); the firewall never replaces "
		    "it%s",
		    f->name, name, id,
		    !strcmp(name, "xdp_firewall")
			? " (rules kept by --persist-rules: pktlens --flush-rules removes them)"
		    : !strcmp(name, "xdp_flows")
			? " (pktlens' XDP flow probe: detach it first, the tc probes count "
			  "what the firewall passes)"
			: "");
		return -EBUSY;
	}
	l->link = bpf_program__attach_xdp(e->skel->progs.xdp_firewall, f->ifindex);
	if (!l->link) {
		int ret = -errno;
		snprintf(err, errlen, "attaching the XDP firewall to %s failed: %s", f->name,
			 strerror(-ret));
		return ret;
	}
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	l->mode[0] = '\0';
	if (!bpf_xdp_query(f->ifindex, 0, &q))
		snprintf(l->mode, sizeof(l->mode), "%s",
			 q.attach_mode == XDP_ATTACHED_DRV   ? "native"
			 : q.attach_mode == XDP_ATTACHED_SKB ? "generic"
			 : q.attach_mode == XDP_ATTACHED_HW  ? "offload"
							     : "");
	if (!e->opts.persist_rules)
		return 0;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/link-%d", sec->pin_dir, f->ifindex);
	if ((mkdir(PL_PIN_DIR, 0700) && errno != EEXIST) ||
	    (mkdir(sec->pin_dir, 0700) && errno != EEXIST)) {
		snprintf(err, errlen, "--persist-rules: cannot create %s: %s", sec->pin_dir,
			 strerror(errno));
		return -EIO;
	}
	int ret = bpf_link__pin(l->link, path);
	if (ret) {
		snprintf(err, errlen, "pinning the XDP firewall of %s at %s failed: %s", f->name,
			 path, strerror(-ret));
		return ret;
	}
	l->pinned = true;
	return 0;
}

/* keep: leave a pinned link attached (pktlens exits with --persist-rules) */
static void fw_link_detach(struct security *sec, int i, bool keep)
{
	struct fw_link *l = &sec->links[i];
	if (!l->link)
		return;
	if (l->pinned && keep)
		bpf_link__disconnect(l->link);
	else if (l->pinned)
		bpf_link__unpin(l->link);
	bpf_link__destroy(l->link);
	memset(l, 0, sizeof(*l));
}

/* The firewall on every watched interface, or on none (rolled back on a failure). */
static int fw_attach_all(struct security *sec, int on, char *err, size_t errlen)
{
	struct engine *e = sec->e;
	for (int i = 0; i < e->n_ifaces; i++) {
		if (!on) {
			fw_link_detach(sec, i, false);
			continue;
		}
		int ret = fw_link_attach(sec, i, err, errlen);
		if (ret) {
			for (int j = 0; j <= i; j++)
				fw_link_detach(sec, j, false);
			return ret;
		}
	}
	return 0;
}

static int fw_kernel_put(struct security *sec, size_t i, int fresh_slot, char *err, size_t errlen)
{
	struct engine *e = sec->e;
	struct fw_key k;
	struct fw_rule v;
	fw_table_kernel(&sec->fw, i, e->start_mono_ns, &k, &v);
	if (fresh_slot) {
		/* a slot is reused: its counters start again */
		memset(sec->slot_pc, 0, (size_t)sec->ncpu * sizeof(*sec->slot_pc));
		__u32 slot = v.slot;
		bpf_map_update_elem(bpf_map__fd(e->skel->maps.fw_stats), &slot, sec->slot_pc,
				    BPF_ANY);
	}
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.fw_rules), &k, &v, BPF_ANY)) {
		int ret = -errno;
		snprintf(err, errlen, "adding the rule to the kernel failed: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static void fw_kernel_del(struct security *sec, size_t i)
{
	struct fw_key k;
	struct fw_rule v;
	fw_table_kernel(&sec->fw, i, sec->e->start_mono_ns, &k, &v);
	bpf_map_delete_elem(bpf_map__fd(sec->e->skel->maps.fw_rules), &k);
}

static double sec_now(struct security *sec)
{
	return (double)(mono_ns() - sec->e->start_mono_ns) / 1e9;
}

static int fw_add_spec(struct security *sec, const struct fw_spec *s, int from_cli, int force,
		       char *err, size_t errlen)
{
	char text[96];
	fw_rule_str(s, text, sizeof(text));
	if (sec->have_ssh && !force && fw_covers(s, sec->ssh_family, sec->ssh_addr)) {
		snprintf(err, errlen,
			 "'%s' would block %s, the address of this SSH session (SSH_CONNECTION); "
			 "%s",
			 text, sec->ssh_text,
			 from_cli ? "add --force-block to do it anyway"
				  : "confirm to do it anyway");
		return -EACCES;
	}
	int first = sec->fw.n == 0;
	if (first) {
		int ret = fw_attach_all(sec, 1, err, errlen);
		if (ret)
			return ret == -EACCES ? -EPERM : ret; /* -EACCES is the SSH refusal's */
	}
	int replaced;
	int i =
	    fw_table_add(&sec->fw, s, sec_now(sec), sec->e->opts.block_ttl, from_cli, &replaced);
	if (i < 0) {
		snprintf(err, errlen, "at most %d firewall rules", PL_FW_RULES_MAX);
		return i;
	}
	int ret = fw_kernel_put(sec, (size_t)i, !replaced, err, errlen);
	if (ret == -EACCES)
		ret = -EPERM;
	if (ret) {
		fw_table_remove(&sec->fw, (size_t)i);
		if (!sec->fw.n) {
			char ignore[256];
			fw_attach_all(sec, 0, ignore, sizeof(ignore));
		}
		return ret;
	}
	pr_info("firewall: %s %s", replaced ? "replaced by" : "added", text);
	return (int)sec->fw.rules[i].id;
}

static void fw_remove_index(struct security *sec, size_t i)
{
	char ignore[256];
	fw_kernel_del(sec, i);
	fw_table_remove(&sec->fw, i);
	if (!sec->fw.n)
		fw_attach_all(sec, 0, ignore, sizeof(ignore));
}

/* The rules of the command line (--deny, --limit). */
static int sec_start(void *m, const struct model_env *env, char *err, size_t errlen)
{
	struct security *sec = m;
	const struct engine_opts *o = &sec->e->opts;
	(void)env;
	if (o->persist_rules && o->n_fw_cli && bpffs_ready(err, errlen))
		return -EIO;
	for (int i = 0; i < o->n_fw_cli; i++) {
		struct fw_spec s;
		int ret = fw_parse_arg(o->fw_cli[i].action, o->fw_cli[i].arg, &s, err, errlen);
		if (!ret)
			ret = fw_add_spec(sec, &s, 1, o->force_block, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int engine_fw_add(struct engine *e, const char *rule, int force, char *err, size_t errlen)
{
	struct fw_spec s;
	struct security *sec = engine_model(e, &security_model_ops);
	if (!sec) {
		snprintf(err, errlen, "the firewall is not available");
		return -ENOTSUP;
	}
	int ret = fw_parse_rule(rule, &s, err, errlen);
	if (ret)
		return ret;
	if (e->opts.persist_rules && !sec->fw.n && bpffs_ready(err, errlen))
		return -EIO; /* -EACCES says "the SSH peer" only */
	return fw_add_spec(sec, &s, 0, force, err, errlen);
}

int engine_fw_remove(struct engine *e, uint32_t id, char *err, size_t errlen)
{
	struct security *sec = engine_model(e, &security_model_ops);
	int i = sec ? fw_table_find(&sec->fw, id) : -1;
	if (i < 0) {
		snprintf(err, errlen, "no firewall rule %u", id);
		return -ENOENT;
	}
	fw_remove_index(sec, (size_t)i);
	return 0;
}

/* ---- reading ---- */

static void read_fw(struct security *sec, double dt)
{
	struct maps_desc d = { bpf_map__fd(sec->e->skel->maps.fw_stats), sizeof(__u32),
			       sizeof(struct fw_stats), MAPS_SUM_U64 };
	for (size_t i = 0; i < sec->fw.n; i++) {
		__u32 slot = sec->fw.rules[i].slot;
		struct fw_stats sum = { 0 };
		maps_lookup_sum(&d, &slot, &sum);
		sec->slots[slot] = sum;
	}
	fw_table_counters(&sec->fw, sec->slots);
	for (size_t i = 0; i < sec->fw.n && dt > 0; i++) {
		struct fw_entry *r = &sec->fw.rules[i];
		r->pass_pps = rate_per_s(r->prev.passed_packets, r->c.passed_packets, dt);
		r->drop_pps = rate_per_s(r->prev.dropped_packets, r->c.dropped_packets, dt);
		r->prev = r->c;
	}
}

static void read_counters(struct security *sec)
{
	struct maps_desc d = { bpf_map__fd(sec->e->skel->maps.sec_stats), sizeof(__u32),
			       sizeof(struct sec_counters), MAPS_SUM_U64 };
	__u32 zero = 0;
	if (maps_lookup_sum(&d, &zero, &sec->kc))
		memset(&sec->kc, 0, sizeof(sec->kc));
}

/* The per-port counters, summed over CPUs; returns how many. */
static size_t read_ports(struct security *sec)
{
	struct maps_desc d = { bpf_map__fd(sec->e->skel->maps.sec_ports),
			       sizeof(struct sec_port_key), sizeof(struct sec_port_val),
			       MAPS_SUM_U64 };
	long n = maps_read_grow(&d, (void **)&sec->pk, (void **)&sec->pv, &sec->pcap);
	return n > 0 ? (size_t)n : 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (n + 1 < cap)
			break;
		/* /proc/net/tcp of a busy host: bounded, it is only read under a SYN flood */
		if (cap >= 64u << 20)
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static void read_netstat(struct alert_netstat *ns)
{
	char *a = slurp("/proc/net/netstat"), *b = slurp("/proc/net/snmp");
	alerts_netstat_parse(ns, a, b);
	free(a);
	free(b);
}

/*
 * The flows that moved in this reading (the store's active list): rates
 * and answers are all the alerts take from flows, and an idle flow has
 * neither.
 */
static size_t alert_flows(struct security *sec)
{
	const struct flowstore *fs = &sec->e->fs;
	if (sec->fcap < fs->n_active) {
		free(sec->flows);
		sec->fcap = fs->n_active + 1024;
		sec->flows = calloc(sec->fcap, sizeof(*sec->flows));
		if (!sec->flows) {
			sec->fcap = 0;
			return 0;
		}
	}
	size_t n = 0;
	for (size_t i = 0; i < fs->n_active && n < sec->fcap; i++) {
		const struct fs_entry *fe = &fs->e[fs->active[i]];
		if (!fe->serial)
			continue;
		struct alert_flow *f = &sec->flows[n++];
		f->key = fe->key;
		f->rx_pps = fe->rx_pps;
		f->rx_bps = fe->rx_bps;
		f->tx_pps = fe->tx_pps;
		f->rx_packets = fe->val.rx_packets;
		f->tx_packets = fe->val.tx_packets;
	}
	return n;
}

static size_t alert_drops(const struct snapshot *s, struct alert_drop *out, size_t max)
{
	const struct snapshot_drops *d = s->drops;
	size_t n = 0;
	for (size_t i = 0; d && i < d->n_reasons && n < max; i++) {
		struct alert_drop *a = &out[n++];
		memset(a, 0, sizeof(*a));
		memcpy(a->reason, d->reasons[i].reason, sizeof(a->reason));
		a->count = d->reasons[i].count;
		/* the flows are sorted by count: the first of the reason has the most */
		for (size_t j = 0; j < d->n_flows; j++) {
			if (strncmp(d->flows[j].reason, a->reason, sizeof(a->reason)) ||
			    !d->flows[j].key.family)
				continue;
			a->flow = d->flows[j].key;
			a->has_flow = 1;
			memcpy(a->flow_text, d->flows[j].flow, sizeof(a->flow_text));
			break;
		}
	}
	return n;
}

/* Every flow's drops by reason, cumulative, as the drops model has them. */
static size_t alert_drop_flows(const struct snapshot *s, struct alert_drop_flow *out, size_t max)
{
	const struct snapshot_drops *d = s->drops;
	size_t n = 0;
	for (size_t i = 0; d && i < d->n_flows && n < max; i++) {
		if (!d->flows[i].key.family)
			continue;
		struct alert_drop_flow *f = &out[n++];
		memset(f, 0, sizeof(*f));
		f->key = d->flows[i].key;
		memcpy(f->reason, d->flows[i].reason, sizeof(f->reason));
		f->count = d->flows[i].count;
	}
	return n;
}

static void count_half_open(struct security *sec)
{
	struct sec_port_key ports[16];
	size_t n = alerts_flood_ports(sec->alerts, ports, 16);
	if (!n)
		return;
	char *t4 = slurp("/proc/net/tcp"), *t6 = slurp("/proc/net/tcp6");
	for (size_t i = 0; i < n; i++) {
		const char *t = ports[i].family == PL_AF_INET ? t4 : t6;
		if (t)
			alerts_set_half_open(sec->alerts, &ports[i],
					     alerts_half_open_parse(t, ports[i].port));
	}
	free(t4);
	free(t6);
}

static void fill_snapshot(struct security *sec, struct snapshot *s)
{
	size_t na = PL_ALERTS_MAX, nr = sec->fw.n;
	struct snapshot_sec *ss =
	    calloc(1, sizeof(*ss) + na * sizeof(struct alert_row) + nr * sizeof(struct fw_row));
	if (!ss)
		return;
	ss->alerts = (struct alert_row *)(ss + 1);
	ss->rules = (struct fw_row *)(ss->alerts + na);
	ss->n_alerts = alerts_rows(sec->alerts, ss->alerts, na);
	ss->detect_on = !alerts_cfg(sec->alerts)->off;
	ss->alerts_raised = alerts_raised(sec->alerts);
	for (int k = 0; k < AK_MAX; k++)
		ss->alerts_raised_kind[k] = alerts_raised_kind(sec->alerts, k);
	ss->alerts_active = alerts_active(sec->alerts);
	for (size_t i = 0; i < nr; i++) {
		const struct fw_entry *r = &sec->fw.rules[i];
		struct fw_row *w = &ss->rules[i];
		w->id = r->id;
		fw_rule_str(&r->spec, w->rule, sizeof(w->rule));
		fw_prefix_str(&r->spec, w->prefix, sizeof(w->prefix));
		w->action = r->spec.action;
		w->family = r->spec.family;
		w->plen = r->spec.plen;
		w->from_cli = (uint8_t)r->from_cli;
		memcpy(w->addr, r->spec.addr, 16);
		w->pps = r->spec.pps;
		w->passed_packets = r->c.passed_packets;
		w->passed_bytes = r->c.passed_bytes;
		w->dropped_packets = r->c.dropped_packets;
		w->dropped_bytes = r->c.dropped_bytes;
		w->pass_pps = r->pass_pps;
		w->drop_pps = r->drop_pps;
		w->added = r->added;
		w->expires = r->expires;
	}
	ss->n_rules = nr;
	struct fw_stats tot;
	fw_table_totals(&sec->fw, &tot);
	ss->fw_passed_packets = tot.passed_packets;
	ss->fw_passed_bytes = tot.passed_bytes;
	ss->fw_dropped_packets = tot.dropped_packets;
	ss->fw_dropped_bytes = tot.dropped_bytes;
	struct engine *e = sec->e;
	for (int i = 0; i < e->n_ifaces; i++) {
		if (!sec->links[i].link)
			continue;
		size_t l = strlen(ss->fw_ifaces);
		snprintf(ss->fw_ifaces + l, sizeof(ss->fw_ifaces) - l, "%s%s %s", l ? "," : "",
			 e->ifaces[i].name, sec->links[i].mode);
	}
	snprintf(ss->ssh_peer, sizeof(ss->ssh_peer), "%s", sec->have_ssh ? sec->ssh_text : "");
	ss->persist = e->opts.persist_rules;
	ss->block_ttl = e->opts.block_ttl;
	ss->kc = sec->kc;
	s->sec = ss;
}

/* Expires rules, reads the counters, runs the detection, fills s->sec. */
static void sec_read(void *m, const struct model_env *env, const struct model_tick *t,
		     struct snapshot *s)
{
	struct security *sec = m;
	double now = ((double)t->now_ns - (double)env->start_ns) / 1e9;
	int i;
	while ((i = fw_table_expired(&sec->fw, now)) >= 0) {
		char text[96];
		fw_rule_str(&sec->fw.rules[i].spec, text, sizeof(text));
		pr_info("firewall: %s expired", text);
		read_fw(sec, 0); /* its last counts go to the totals */
		fw_remove_index(sec, (size_t)i);
	}
	read_fw(sec, t->dt);
	read_counters(sec);
	struct alert_netstat ns;
	read_netstat(&ns);
	struct alert_drop drops[PL_DROP_REASONS_MAX];
	struct alert_drop_flow drop_flows[PL_DROP_FLOWS_MAX];
	struct alert_input in = {
		.now = now,
		.dt = t->dt,
		.port_keys = sec->pk,
		.port_vals = sec->pv,
		.kc = &sec->kc,
		.ns = &ns,
	};
	in.n_ports = read_ports(sec);
	in.port_keys = sec->pk;
	in.port_vals = sec->pv;
	in.n_flows = alert_flows(sec);
	in.flows = sec->flows;
	in.n_drops = alert_drops(s, drops, PL_DROP_REASONS_MAX);
	in.drops = drops;
	in.n_drop_flows = alert_drop_flows(s, drop_flows, PL_DROP_FLOWS_MAX);
	in.drop_flows = drop_flows;
	struct fw_stats tot;
	fw_table_totals(&sec->fw, &tot);
	in.fw_dropped = tot.dropped_packets;
	alerts_update(sec->alerts, &in);
	count_half_open(sec);
	fill_snapshot(sec, s);
}

/*
 * Without --persist-rules the links go, and the rules with the object's
 * maps; with it, the pinned links keep the program and its maps alive.
 */
static void sec_free(void *m)
{
	struct security *sec = m;
	if (!sec)
		return;
	for (int i = 0; i < PL_MAX_IFACES; i++)
		fw_link_detach(sec, i, sec->e && sec->e->opts.persist_rules);
	alerts__free(sec->alerts);
	free(sec->pk);
	free(sec->pv);
	free(sec->flows);
	free(sec->slot_pc);
	free(sec);
}

/* It fills no row: nothing it learns makes an idle flow's row change. */
static uint64_t sec_version(void *m)
{
	(void)m;
	return 0;
}

const struct model_ops security_model_ops = {
	.name = "security",
	.create = sec_create,
	.configure = sec_configure,
	.start = sec_start,
	.ring = "sec_events",
	.event = sec_event,
	.read = sec_read,
	.version = sec_version,
	.json = security_json,
	.free = sec_free,
};

/* ---- --flush-rules ---- */

/*
 * The name of an interface of the network namespace whose inode is ino (a
 * name under /run/netns, or this process's own): links of other namespaces
 * keep ifindexes that mean nothing here.
 */
static void ifname_in(uint64_t ino, uint32_t ifindex, char *out, size_t len)
{
	struct stat st;
	snprintf(out, len, "ifindex %u", ifindex);
	if (!stat("/proc/self/ns/net", &st) && st.st_ino == ino) {
		if_indextoname(ifindex, out);
		return;
	}
	DIR *d = opendir("/run/netns");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[300], name[IF_NAMESIZE];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (stat(path, &st) || st.st_ino != ino)
			continue;
		int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		int ns = open(path, O_RDONLY | O_CLOEXEC);
		if (self >= 0 && ns >= 0 && !setns(ns, CLONE_NEWNET)) {
			if (if_indextoname(ifindex, name))
				snprintf(out, len, "%s (netns %s)", name, de->d_name);
			setns(self, CLONE_NEWNET);
		}
		if (self >= 0)
			close(self);
		if (ns >= 0)
			close(ns);
		break;
	}
	if (d)
		closedir(d);
}

/* The rules of a pinned firewall, read through its program's fw_rules map. */
static void describe_pinned(int link_fd, uint64_t ino, FILE *out, const char *path)
{
	struct bpf_link_info li = { 0 };
	__u32 len = sizeof(li);
	char ifname[IF_NAMESIZE + 80] = "?";
	if (bpf_obj_get_info_by_fd(link_fd, &li, &len)) {
		fprintf(out, "removed %s\n", path);
		return;
	}
	if (li.type == BPF_LINK_TYPE_XDP)
		ifname_in(ino, li.xdp.ifindex, ifname, sizeof(ifname));
	int pfd = bpf_prog_get_fd_by_id(li.prog_id);
	__u32 map_ids[16];
	struct bpf_prog_info pi = { 0 };
	len = sizeof(pi);
	pi.nr_map_ids = 16;
	pi.map_ids = (__u64)(unsigned long)map_ids;
	int nrules = 0;
	char rules[512] = "";
	size_t o = 0;
	if (pfd >= 0 && !bpf_obj_get_info_by_fd(pfd, &pi, &len)) {
		for (__u32 m = 0; m < pi.nr_map_ids && m < 16; m++) {
			int mfd = bpf_map_get_fd_by_id(map_ids[m]);
			struct bpf_map_info mi = { 0 };
			__u32 ml = sizeof(mi);
			if (mfd < 0)
				continue;
			if (!bpf_obj_get_info_by_fd(mfd, &mi, &ml) &&
			    !strcmp(mi.name, "fw_rules")) {
				struct fw_key k, next;
				void *prev = NULL;
				while (!bpf_map_get_next_key(mfd, prev, &next)) {
					struct fw_rule v;
					if (!bpf_map_lookup_elem(mfd, &next, &v)) {
						struct fw_spec s = {
							.action = v.action,
							.family = next.family,
							.plen = (uint8_t)(next.prefixlen - 8)
						};
						memcpy(s.addr, next.addr, 16);
						if (v.interval_ns)
							s.pps = (uint32_t)(1000000000ull /
									   v.interval_ns);
						char t[96];
						fw_rule_str(&s, t, sizeof(t));
						if (o < sizeof(rules))
							o += (size_t)snprintf(
							    rules + o, sizeof(rules) - o, "%s%s",
							    o ? ", " : "", t);
						nrules++;
					}
					k = next;
					prev = &k;
				}
			}
			close(mfd);
		}
	}
	if (pfd >= 0)
		close(pfd);
	fprintf(out, "removed the XDP firewall on %s with %d rule%s%s%s\n", ifname, nrules,
		nrules == 1 ? "" : "s", nrules ? ": " : "", rules);
}

int security_flush_pinned(FILE *out, const char *netns, char *err, size_t errlen)
{
	char only[64] = "";
	if (netns) {
		char path[300];
		struct stat st;
		if (strchr(netns, '/')) {
			snprintf(err, errlen, "network namespace name '%s' is not valid", netns);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		if (stat(path, &st)) {
			snprintf(err, errlen,
				 "network namespace '%s' does not exist (see ip netns list)",
				 netns);
			return -ENOENT;
		}
		snprintf(only, sizeof(only), "fw-%llu", (unsigned long long)st.st_ino);
	}
	struct statfs st;
	if (statfs(PL_PIN_DIR, &st) || st.f_type != BPF_FS_MAGIC) {
		fprintf(out, "no rules kept by --persist-rules (%s does not exist)\n", PL_PIN_DIR);
		return 0;
	}
	DIR *top = opendir(PL_PIN_DIR);
	if (!top) {
		snprintf(err, errlen, "cannot read %s: %s", PL_PIN_DIR, strerror(errno));
		return -errno;
	}
	int removed = 0, ret = 0;
	struct dirent *d;
	while ((d = readdir(top))) {
		if (strncmp(d->d_name, "fw-", 3) || (only[0] && strcmp(d->d_name, only)))
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", PL_PIN_DIR, d->d_name);
		DIR *sub = opendir(dir);
		struct dirent *l;
		while (sub && (l = readdir(sub))) {
			if (strncmp(l->d_name, "link-", 5))
				continue;
			char path[PATH_MAX + 300];
			snprintf(path, sizeof(path), "%s/%s", dir, l->d_name);
			int fd = bpf_obj_get(path);
			if (fd >= 0) {
				describe_pinned(fd, strtoull(d->d_name + 3, NULL, 10), out, path);
				close(fd);
			}
			/* the pin was the last reference: unlinking it detaches the program */
			if (unlink(path)) {
				snprintf(err, errlen, "removing %s failed: %s", path,
					 strerror(errno));
				ret = -errno;
			} else {
				removed++;
			}
		}
		if (sub)
			closedir(sub);
		rmdir(dir);
	}
	closedir(top);
	rmdir(PL_PIN_DIR);
	if (!removed && !ret)
		fprintf(out, "no rules kept by --persist-rules\n");
	return ret;
}
