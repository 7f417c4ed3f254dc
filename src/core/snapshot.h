/* Immutable snapshots that core hands to the UI and the JSON writer: probes, flows, totals. No libbpf, no curses. */
#ifndef PKTLENS_SNAPSHOT_H
#define PKTLENS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "shared/flow.h"

#define PL_HIST_LEN 60 /* samples of per-flow rate history kept for sparklines */

enum probe_kind {
	PK_XDP = 0,
	PK_TC_INGRESS,
	PK_TC_EGRESS,
	PK_TRACEPOINT,
	PK_KPROBE,
	PK_KRETPROBE,
	PK_UPROBE,
	PK_URETPROBE,
	PK_SOCKET_FILTER,
	PK_MAX,
};

enum probe_state {
	PS_DETACHED = 0,
	PS_ATTACHED,
	PS_UNSUPPORTED,
	PS_ERROR,
};

const char *probe_kind_name(enum probe_kind k);	  /* "xdp", "tc-ingress", ... as in JSON */
const char *probe_state_name(enum probe_state s); /* "detached", "attached", ... */

struct probe_info {
	char id[160];	  /* "tc-ingress:veth0", "tracepoint:tcp:tcp_probe" */
	char target[128]; /* "veth0", "tcp:tcp_probe", "/usr/lib/x/libssl.so.3:SSL_read" */
	char reason[192]; /* why unsupported / error; empty otherwise */
	char detail[64];  /* e.g. "native", "generic" for XDP */
	enum probe_kind kind;
	enum probe_state state;
	uint64_t run_cnt; /* from BPF stats (whole program, all attachments) */
	uint64_t run_time_ns;
	uint64_t hits; /* events counted for this attachment, where the probe counts them */
};

struct flow_row {
	struct flow_key key; /* identity: pass back to watch a flow */
	char iface[16];
	char local[46]; /* printable addresses */
	char remote[46];
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	double rx_pps, rx_bps, tx_pps, tx_bps; /* bps = bits per second */
	uint32_t tcp_flags;		       /* PL_TCP_* OR'd */
	char state[16];			       /* TCP state name when known, else "" */
	uint32_t srtt_us, cwnd;
	uint64_t retrans, drops;
	char l7[8];
	uint32_t pid;
	char comm[16];		      /* escaped before display */
	double first_seen, last_seen; /* seconds since pktlens started; may be < 0 for old flows */
	float rx_hist[PL_HIST_LEN];   /* rx bits/s, oldest first */
	float tx_hist[PL_HIST_LEN];
	uint32_t hist_len; /* valid samples at the end of the arrays */
	/* TCP health (tracepoints and the ingress sequence tracking) */
	uint32_t ssthresh, snd_wnd, rcv_wnd;
	uint32_t ooo, dup, zero_win;
	uint32_t resets_rx, resets_tx;
	double handshake_ms;	      /* SYN to ESTABLISHED, < 0 unknown */
	double duration_s;	      /* open (or first seen) to close (or now) */
	int active;		      /* this host opened the connection */
	float srtt_hist[PL_HIST_LEN]; /* us, oldest first; shares hist_len */
	float cwnd_hist[PL_HIST_LEN];
	struct {
		char state[16];
		uint32_t ms; /* since the connection opened */
	} timeline[8];
	uint32_t n_timeline;
	uint32_t lat_hist[24]; /* kernel receive latency, log2 microseconds */
	uint64_t lat_count;
};

struct tcp_event_row {
	double time;
	char kind[16]; /* "retrans", "syn", "synack", "rst-in", "rst-out" */
	char state[16];
	char flow[128];
	struct flow_key key; /* ifindex 0: the socket names no interface */
	uint32_t seq;
	uint32_t segs;
};

#define PL_TCP_EVENTS_MAX 128

struct snapshot_tcp {
	uint64_t retrans_total; /* segments */
	double retrans_rate;	/* segments per second */
	uint64_t resets_rx, resets_tx;
	uint64_t conns_opened; /* reached ESTABLISHED since start */
	double conn_rate;      /* per second over the interval */
	uint64_t short_lived;  /* closed within a second of opening */
	double handshake_ms_avg;
	struct tcp_event_row recent[PL_TCP_EVENTS_MAX]; /* newest last */
	size_t n_recent;
	uint64_t events_lost;
	uint32_t lat_hist[24];
	uint64_t lat_count;
};

struct snapshot_totals {
	double rx_pps, rx_bps, tx_pps, tx_bps;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t packets[PL_P_MAX];
	uint64_t malformed[PL_M_MAX];
	uint64_t malformed_total;
	uint64_t flow_table_full;
	uint64_t events_lost;
};

#define PL_DROP_REASONS_MAX 160
#define PL_DROP_LOCS_MAX 64
#define PL_DROP_IFACES_MAX 32
#define PL_DROP_EVENTS_MAX 128
#define PL_DROP_FLOWS_MAX 256
#define PL_QDISC_MAX 32
#define PL_CPUS_MAX 256

struct drop_reason_row {
	char reason[40]; /* name from the kernel's BTF, "REASON_123" if it has none */
	uint32_t value;
	uint64_t count;
	double rate;	  /* per second over the last interval */
	double last_seen; /* seconds since start, < 0 never */
	char top_flow[128];
	uint64_t top_flow_count;
	float hist[PL_HIST_LEN]; /* drops per second, oldest first */
	uint32_t hist_len;
};

struct drop_loc_row {
	char function[96]; /* "udp_queue_rcv_one_skb+0x2f" */
	uint64_t count;
};

struct drop_iface_row {
	char iface[16];
	char proto[8];
	uint64_t count;
};

struct drop_event_row {
	double time; /* seconds since start */
	char reason[40];
	char location[96];
	char flow[128]; /* "udp 10.0.0.1:53 <- 10.0.0.2:4000", "" when unknown */
	struct flow_key key;
	uint32_t len;
};

struct drop_flow_row {
	struct flow_key key;
	char flow[128];
	char reason[40];
	uint64_t count;
};

struct qdisc_row {
	char iface[16];
	char kind[16];
	char handle[16];
	char parent[16];
	uint64_t bytes, packets, drops, overlimits, requeues;
	uint32_t backlog, qlen;
};

struct softnet_row {
	uint32_t cpu;
	uint64_t processed, dropped, time_squeeze, flow_limit;
};

struct snapshot_drops {
	uint64_t total;
	double rate;
	int have_reasons; /* the tracepoint carries the drop reason on this kernel */
	struct drop_reason_row reasons[PL_DROP_REASONS_MAX]; /* by count, descending */
	size_t n_reasons;
	struct drop_loc_row locs[PL_DROP_LOCS_MAX];
	size_t n_locs;
	struct drop_iface_row ifaces[PL_DROP_IFACES_MAX];
	size_t n_ifaces;
	struct drop_event_row events[PL_DROP_EVENTS_MAX]; /* newest last */
	size_t n_events;
	struct drop_flow_row flows[PL_DROP_FLOWS_MAX]; /* by count, descending */
	size_t n_flows;
	struct qdisc_row qdiscs[PL_QDISC_MAX];
	size_t n_qdiscs;
	struct softnet_row softnet[PL_CPUS_MAX];
	size_t n_softnet;
	uint64_t rcvqueue_full, exceed_buf_limit, events_lost;
};

struct snapshot {
	int refs;
	double uptime_s;
	double interval_s; /* seconds covered by the rates */
	int64_t time_unix_ns;
	char host[64];
	char netns[64];
	char ifaces[256]; /* "veth0,veth1" */
	struct probe_info *probes;
	size_t n_probes;
	struct flow_row *flows;
	size_t n_flows;
	struct snapshot_totals tot;
	struct snapshot_drops *drops; /* NULL when the drop probes never ran */
	struct snapshot_tcp *tcp;
};

struct snapshot *snapshot__new(void);
struct snapshot *snapshot_get(struct snapshot *s);
void snapshot_put(struct snapshot *s);

/* Views: sort and filter on a snapshot, producing an index array. */
enum flow_sort {
	FS_RX_BPS = 0,
	FS_TX_BPS,
	FS_RX_PPS,
	FS_RX_BYTES,
	FS_TX_BYTES,
	FS_PACKETS,
	FS_LOCAL,
	FS_REMOTE,
	FS_PROTO,
	FS_IFACE,
	FS_LAST_SEEN,
	FS_FIRST_SEEN,
	FS_SRTT,
	FS_RETRANS,
	FS_MAX,
};

const char *flow_sort_name(enum flow_sort s);
/* Fills idx with the rows that match filter (substring of the row's text, case-insensitive, "" = all),
 * sorted by key (descending for numbers unless reverse); returns the count. */
size_t flow_view(const struct snapshot *s, const char *filter, enum flow_sort key, int reverse,
		 uint32_t *idx);
/* The text a filter matches against: "iface proto local:port remote:port state l7 comm". */
void flow_row_text(const struct flow_row *r, char *buf, size_t len);
const char *proto_name(uint8_t proto);
void flow_flags_str(uint32_t flags, char out[9]); /* "SAFPRU" order as in JSON, "" when none */

#endif
