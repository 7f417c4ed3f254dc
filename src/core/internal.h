/* Core-internal state shared by engine.c (maps, snapshots) and probe.c (attach/detach). */
#ifndef PKTLENS_CORE_INTERNAL_H
#define PKTLENS_CORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>

#include "core/btf_enum.h"
#include "core/engine.h"
#include "core/flowstore.h"
#include "core/pfilter.h"
#include "core/drops.h"
#include "core/tcpmodel.h"
#include "core/l7model.h"
#include "core/procmodel.h"
#include "pktlens.skel.h"

/* pktlens' own tc filters are recognised by this handle and priority (and program name). */
#define PL_TC_HANDLE 0x504c
#define PL_TC_PRIO 0xc0de
#define PL_WATCH_RING 256

struct probe {
	struct probe_info info;
	struct bpf_program *prog;
	struct bpf_link *link;
	int ifindex;		 /* xdp, tc */
	int tc_attached;	 /* our filter is in place */
	bool builtin;		 /* part of pktlens' own set (not added by the operator) */
	const char *group;	 /* built-in tracepoints: "tracepoints" or "latency" */
	char cat[64], name[128]; /* tracepoint category/name, kprobe function */
	char binary[256], symbol[128];
	uint64_t cookie; /* ad-hoc probes: key in probe_hits */
	/* Entry/return pairs: funclat links (held by the return half) and the histogram's cookie. */
	struct bpf_link *lat_links[2];
	uint64_t lat_cookie;
	bool tracing; /* prog is an fentry/fexit variant: attached with bpf_program__attach_trace */
	bool raw;     /* prog is a raw tracepoint variant: attached by name without tracefs */
	bool rxlat; /* kprobe:tcp_v4_rcv timed from ip_rcv: lat_links[0] holds the ip_rcv kprobe */
};

struct iface {
	char name[16];
	int ifindex;
	bool created_qdisc; /* clsact created by pktlens: removed again at exit */
};

struct watch_buf {
	bool used;
	struct flow_key key;
	struct pkt_event ring[PL_WATCH_RING];
	uint32_t head, count;
};

struct features {
	bool btf, tracefs, kprobe, uprobe, xdp, kprobe_prog;
	bool drop_reasons; /* skb:kfree_skb carries a reason field */
	char lockdown[32];
	char kprobe_why[160];
	bool fexit; /* a tracing (fexit) program loads and attaches here */
	char fexit_why[160];
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
	struct flow_key *keys;
	struct flow_val *vals;
	size_t buf_cap;
	uint64_t start_mono_ns, last_refresh_ns;
	char netns[64];
	uint64_t netns_ino;
	char host[64];
	struct watch_buf watches[PL_WATCH_MAX];
	uint64_t next_cookie;
	struct btf_enum_names tcp_states;
	struct pfilter *filter;
	struct drops_model *drops;
	struct tcp_model *tcp;
	struct l7_model *l7;
	struct proc_model *procs;
	uint32_t xdp_count;
	int nl_fd; /* rtnetlink, for classic tc filters and qdiscs */
};

/* probe.c */
void features_probe(struct features *f);
int probes_build(struct engine *e, char *err, size_t errlen);
void probes_set_autoload(struct engine *e);
int probe_attach(struct engine *e, struct probe *p, char *err, size_t errlen);
void probe_detach(struct engine *e, struct probe *p);
struct probe *probe_find(struct engine *e, const char *id);
struct probe *probe_add_spec(struct engine *e, const char *spec, char *err, size_t errlen);
int probes_apply_list(struct engine *e, const char *list, char *err, size_t errlen);
void probes_remove_stale(struct engine *e);
void probes_detach_all(struct engine *e);
int iface_index(struct engine *e, const char *name);

uint64_t mono_ns(void);
/* Reads up to max entries of a hash map (batches, else get_next_key) into keys and vals. */
size_t map_read_all(int fd, void *keys, void *vals, size_t ksz, size_t vsz, size_t max);

#endif
