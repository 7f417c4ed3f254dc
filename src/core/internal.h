/* Core-internal state shared by engine.c (maps, snapshots) and probe.c (attach/detach). */
#ifndef PKTLENS_CORE_INTERNAL_H
#define PKTLENS_CORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>

#include "core/btf_enum.h"
#include "core/engine.h"
#include "core/flowmaps.h"
#include "core/flowrow.h"
#include "core/flowstore.h"
#include "core/model.h"
#include "core/pfilter.h"
#include "core/xdpchain.h"
#include "pktlens.skel.h"

/*
 * Classic tc filters of pktlens: one priority, and the instance's pid as
 * the handle, so that any number of instances share an interface. They are
 * recognised by their program (libbpf names the filter after it) and their
 * owner by a lock (instance.h), never by the handle alone.
 */
#define PL_TC_PRIO 0xc0de
#define PL_WATCH_RING 256

/* tcx (Linux 6.6+) as the installed UAPI headers of 6.1 do not know it. */
#define PL_BPF_TCX_INGRESS 46
#define PL_BPF_TCX_EGRESS 47
#define PL_BPF_F_BEFORE (1U << 3)

struct probe;

/*
 * How one kind of attachment works. A probe points at the operations of
 * the way it attaches here (chosen by probing the kernel when it is
 * built): tcx or classic tc, raw tracepoint, fexit or tracepoint, ...
 */
struct probe_ops {
	const char *method; /* shown as the probe's mode: "tcx", "raw_tp", "kprobe", ... */
	/* Marks the probe unsupported with the reason when this kernel cannot run it. */
	void (*support)(struct engine *e, struct probe *p);
	int (*attach)(struct engine *e, struct probe *p, char *err, size_t errlen);
	void (*detach)(struct engine *e, struct probe *p);
	/* Refreshes info.detail (how it is attached) and info.others (who else is on the hook). */
	void (*describe)(struct engine *e, struct probe *p);
};

extern const struct probe_ops probe_ops_xdp, probe_ops_tc, probe_ops_tcx, probe_ops_tracepoint,
    probe_ops_raw_tp, probe_ops_tp_btf, probe_ops_fexit, probe_ops_kprobe, probe_ops_rxlat,
    probe_ops_uprobe;

struct probe {
	struct probe_info info;
	const struct probe_ops *ops;
	struct bpf_program *prog;
	struct bpf_link *link;
	int link_fd;		 /* tcx: the link's fd (libbpf 1.1 has no tcx link object); -1 */
	int ifindex;		 /* xdp, tc */
	uint32_t tc_handle;	 /* classic tc: our filter's handle while attached, else 0 */
	bool builtin;		 /* part of pktlens' own set (not added by the operator) */
	const char *group;	 /* built-in tracepoints: "tracepoints", "latency", "ssl" */
	char cat[64], name[128]; /* tracepoint category/name, kprobe function */
	char binary[256], symbol[128];
	uint64_t cookie; /* ad-hoc probes: key in probe_hits */
	/* Entry/return pairs: funclat links (held by the return half) and the histogram's cookie;
	 * the receive-latency kprobe keeps its ip_rcv kprobe in lat_links[0]. */
	struct bpf_link *lat_links[2];
	uint64_t lat_cookie;
	struct xdp_att xdp; /* xdp: the attachment (libxdp's dispatcher, or alone) */
};

struct iface {
	char name[16];
	int ifindex;
	bool created_qdisc; /* clsact created by pktlens: removed again at exit */
};

struct watch_buf {
	bool used;
	bool watching;	/* a drill-down asked (engine_flow_watch) */
	bool capturing; /* a view writes the flow (engine_flow_capture) */
	struct flow_key key;
	struct pkt_event ring[PL_WATCH_RING];
	uint32_t head, count;
};

struct features {
	bool btf, tracefs, kprobe, uprobe, xdp, kprobe_prog;
	bool tcx; /* tc programs attach as tcx links (BPF_PROG_QUERY knows BPF_TCX_INGRESS) */
	bool drop_reasons; /* skb:kfree_skb carries a reason field */
	char lockdown[32];
	char kprobe_why[160];
	bool fexit; /* a tracing (fexit) program loads and attaches here */
	char fexit_why[160];
	bool tp_btf; /* a BTF-typed raw tracepoint (tp_btf) with pktlens' helpers loads here */
	char tp_btf_why[160];
	bool xdp_chain; /* XDP chains through libxdp's dispatcher (freplace works, bpffs) */
	char xdp_chain_why[160];
	char xdp_chain_short[40]; /* the same in a few words, for a probe's mode */
};

struct engine {
	struct engine_opts opts;
	struct pktlens_bpf *skel;
	struct probe *probes;
	size_t n_probes, cap_probes;
	struct iface ifaces[PL_MAX_IFACES];
	int n_ifaces;
	struct features feat;
	int stats_fd;
	int stats_view;		 /* a view asked for BPF run-time statistics */
	int stats_on_demand;	 /* a view may ask for them after privileges are dropped */
	uint64_t stats_since_ns; /* monotonic time they were turned on (stats_fd >= 0) */
	uint64_t stats_ns;	 /* time they were on before that */
	struct ring_buffer *rb;
	struct flowstore fs;
	struct flow_reader flowmaps;
	struct flowrows rows;
	struct pl_counters counters; /* at the last refresh, for the totals' rates */
	struct snapshot_totals tot;  /* rates of the last full interval */
	uint64_t start_mono_ns, last_refresh_ns;
	char netns[64];
	uint64_t netns_ino;
	char host[64];
	struct watch_buf watches[PL_WATCH_MAX];
	uint64_t next_cookie;
	struct btf_enum_names tcp_states;
	struct pfilter *filter;
	void *models[PL_MODELS_MAX]; /* one per entry of pl_models (models.c), same order */
	struct model_env env;
	int ifindexes[PL_MAX_IFACES];
	char ifnames[PL_MAX_IFACES][16];
	uint32_t xdp_count;
	int nl_fd;		   /* rtnetlink, for classic tc filters and qdiscs */
	uint32_t tc_handle;	   /* our classic tc filters' handle: the pid */
	struct xdp_exts *xdp_exts; /* freplace copies of XDP programs (xdpchain.c) */
};

/* features.c: what the running kernel can do, by probing it */
void features_probe(struct features *f);

/* probe_spec.c: the registry, built-in set and KIND:TARGET specs, --probes lists */
int probes_build(struct engine *e, char *err, size_t errlen);
void probes_set_autoload(struct engine *e);
struct probe *probe_find(struct engine *e, const char *id);
struct probe *probe_add_spec(struct engine *e, const char *spec, char *err, size_t errlen);
int probes_apply_list(struct engine *e, const char *list, char *err, size_t errlen);
int iface_index(struct engine *e, const char *name);
void probe_set_state(struct probe *p, enum probe_state st, const char *reason);
struct bpf_program *prog_by_name(struct engine *e, const char *name);
/* The tc flow program of a direction: the capturing variant with -w (capture.bpf.h). */
const char *tc_prog_name(const struct engine *e, int ingress);

/* probe_attach.c: the operations of each kind of attachment */
/* The name of the BPF program with this id; 0, or -errno. */
int prog_name_of_id(uint32_t id, char *name, size_t len);
int probe_attach(struct engine *e, struct probe *p, char *err, size_t errlen);
void probe_detach(struct engine *e, struct probe *p);
void probes_detach_all(struct engine *e);
/* Refreshes how each interface probe is attached and who else is on its hook. */
void probes_describe(struct engine *e);

/* probe_sweep.c: classic tc filters of pktlens instances that died */
void probes_remove_stale(struct engine *e);

uint64_t mono_ns(void);
/* engine.c: the engine's instance of a model of pl_models, NULL when it has none */
void *engine_model(struct engine *e, const struct model_ops *ops);

#endif
