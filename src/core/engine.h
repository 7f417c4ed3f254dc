/* The engine: owns the BPF object, the probes, the flow store and the ring buffer; makes snapshots. */
#ifndef PKTLENS_ENGINE_H
#define PKTLENS_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/alerts.h"
#include "core/snapshot.h"

#define PL_MAX_IFACES 32
#define PL_FW_CLI_MAX 64 /* --deny and --limit on one command line */

struct engine_opts {
	const char *ifaces[PL_MAX_IFACES]; /* empty: every interface that is up, except lo */
	int n_ifaces;
	const char *netns;  /* name under /run/netns, or NULL */
	const char *probes; /* --probes LIST, or NULL for the default set */
	const char *filter; /* tcpdump-syntax flow filter, or NULL */
	unsigned flow_entries;
	double idle_timeout_s; /* flows idle this long leave the map and the store */
	int list_only;	       /* --list-probes: probe the kernel, attach nothing */
	double slow_ms;	       /* --slow-ms: HTTP requests this slow go to the slow list; 0 = 200 */
	int bpf_stats;	       /* --bpf-stats: BPF run-time statistics on from the start */
	/* Packet capture (capture.h): PL_CAPTURE_ALL for -w, PL_CAPTURE_FLOWS where a view may
	 * write single flows (the TUI); 0: the capture code is not even in the programs. */
	int capture;
	unsigned snaplen; /* -s: bytes kept of each captured packet (1..65535) */
	/* security.c: --deny CIDR (PL_FW_DENY) and --limit CIDR:PPS (PL_FW_LIMIT), validated */
	struct {
		int action;
		const char *arg;
	} fw_cli[PL_FW_CLI_MAX];
	int n_fw_cli;
	double block_ttl;  /* --block-ttl: rules expire this long after they are added; 0 never */
	int persist_rules; /* --persist-rules: pin the firewall so it outlives pktlens */
	int force_block;   /* --force-block: rules may cover this session's SSH peer */
	struct alert_cfg alerts; /* --alert: thresholds (alerts.off: no detection) */
	int alerts_set;		 /* alerts holds the command line's values, else the defaults */
};

#define PL_CAPTURE_FLOWS 0x1
#define PL_CAPTURE_ALL 0x2

struct engine;

/* Enters the netns, checks privileges and interfaces, loads BPF, attaches the start set.
 * On failure returns NULL with one sentence in err and nothing left attached. */
struct engine *engine__new(const struct engine_opts *opts, char *err, size_t errlen);
/* Detaches everything pktlens attached (tc filters, links), frees all. */
void engine__free(struct engine *e);

/* Reads the maps and returns a new snapshot (caller owns one reference). */
struct snapshot *engine_refresh(struct engine *e);
/*
 * The last snapshot, on exit: also counts the HTTP responses that flows still hold (their
 * other direction's next packet would have sent them), as engine_refresh counts those of
 * flows it ages out.
 */
struct snapshot *engine_refresh_last(struct engine *e);
/*
 * The order of the snapshots' flows from the next refresh on: key is an enum
 * flow_sort (view.h), desc biggest first; key < 0 keeps each flow's place.
 * A list sorted by the same key then finds its rows already sorted.
 */
void engine_set_flow_order(struct engine *e, int key, int desc);

int engine_events_fd(struct engine *e);
/* Drains the ring buffer; returns events consumed or a negative errno. */
int engine_poll_events(struct engine *e);

int engine_probe_toggle(struct engine *e, const char *id, char *err, size_t errlen);
int engine_probe_add(struct engine *e, const char *spec, char *err, size_t errlen);
int engine_flow_watch(struct engine *e, const struct flow_key *key, int on, char *err,
		      size_t errlen);
size_t engine_flow_packets(struct engine *e, const struct flow_key *key, struct pkt_event *out,
			   size_t max);
/*
 * Captured packets of one flow (PL_CAPTURE_FLOWS): on = 1 starts writing them into the
 * capture ring, 0 stops. The flow stays watched while capturing.
 */
int engine_flow_capture(struct engine *e, const struct flow_key *key, int on, char *err,
			size_t errlen);
/* The process that owns the flow as the processes model knows it at its last reading:
 * pid (0: nobody known) and its name (raw bytes, NUL-terminated). */
uint32_t engine_flow_owner(struct engine *e, const struct flow_key *key, char comm[16]);
/* The capture ring's fd (-1 without capture) and the per-CPU sums of capture_stats. */
int engine_capture_fd(struct engine *e);
int engine_capture_stats(struct engine *e, uint64_t *captured, uint64_t *lost);
/* CLOCK_MONOTONIC ns when the engine started (capture timestamps are on that clock). */
uint64_t engine_start_ns(struct engine *e);
size_t engine_complete(struct engine *e, const char *prefix, char out[][64], size_t max);

/* Bounds of the HTTP slow-request threshold (milliseconds), for --slow-ms and the pane's keys. */
#define PL_SLOW_MS_MIN 1
#define PL_SLOW_MS_MAX 600000
/* Changes the HTTP slow-request threshold; the slow list is rebuilt under it. */
int engine_set_slow_ms(struct engine *e, double ms, char *err, size_t errlen);

/*
 * BPF run-time statistics (run_cnt, run_time_ns of each program) cost every BPF program on the
 * host two clock reads per run while anyone holds them on, so pktlens holds them only on
 * request: --bpf-stats, or while a view that shows them asks (the Probes pane). on = 1 asks,
 * 0 withdraws the view's request. Returns 0, or -errno when the kernel refused.
 */
int engine_bpf_stats(struct engine *e, int on);
/*
 * A view may call engine_bpf_stats() later (the terminal UI): turning statistics on needs
 * CAP_SYS_ADMIN, which engine_runtime_caps() then keeps. Call before dropping privileges.
 */
void engine_bpf_stats_on_demand(struct engine *e);

/* fd of one of the BPF object's maps by name ("flows", "counters", ...), for tests and benchmarks. */
int engine_map_fd(struct engine *e, const char *name);
/* fd of one of its programs by name ("tc_ingress_flows"): benchmarks make real flows with it. */
int engine_prog_fd(struct engine *e, const char *name);

/* --list-probes output. */
void engine_print_probes(struct engine *e, FILE *f);

/* Capabilities (mask of 1 << CAP_*) that toggling and adding probes still need after the start. */
uint64_t engine_runtime_caps(struct engine *e);

/* Detaches tc filters from a signal handler path (async-signal-tolerant best effort). */
void engine_emergency_detach(void);

#endif
