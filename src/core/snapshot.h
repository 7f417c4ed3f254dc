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
	char
	    detail[64]; /* how it is attached: "tcx", "tc handle 0x1f2e", "xdp generic", "raw_tp" */
	/* Other programs on the same hook (xdp, tc), in the order the kernel runs them, ours left
	 * out; classic tc filters run after every tcx program. */
	struct {
		uint32_t id;
		char name[32]; /* the program's name, or empty when it could not be read */
		char how[16];  /* "tcx", "tc", "xdp", "xdp prio 10", "dispatcher" */
	} others[8];
	uint32_t n_others, others_more; /* listed, and left out beyond those */
	enum probe_kind kind;
	enum probe_state state;
	uint64_t run_cnt; /* from BPF stats (whole program, all attachments) */
	uint64_t run_time_ns;
	uint64_t hits;	 /* events counted for this attachment, where the probe counts them */
	uint64_t misses; /* runs the kernel skipped (recursion guard): events pktlens never saw */
	/* Entry/return pairs (kprobe+kretprobe, uprobe+uretprobe): call latency, log2 microseconds. */
	uint32_t lat_hist[24];
	uint64_t lat_count;
	struct {
		uint32_t pid; /* uprobe pairs: per process, most calls first */
		uint64_t count;
	} lat_pids[8];
	uint32_t n_lat_pids;
};

/*
 * One flow. Rows are small and hold no histories: the models that own the
 * rate history (the flow store), srtt/cwnd history, state timeline and
 * kernel latency (the TCP model) publish them beside the rows, and
 * flow_hist(), flow_tcp_detail() and flow_latency() of view.h find them.
 */
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
	char l7[8];	   /* "http", "tls", "dns", "ssh", "other", "" before any payload */
	uint32_t l7_flags; /* PL_L7F_* of shared/l7.h: port 80 that is not HTTP */
	uint32_t pid;
	uint64_t proc_start; /* with pid, the process (its start time in ticks); 0 without */
	char comm[16];	     /* escaped before display */
	double first_seen, last_seen; /* seconds since pktlens started; may be < 0 for old flows */
	/* TCP health (tracepoints and the ingress sequence tracking) */
	uint32_t ssthresh, snd_wnd, rcv_wnd;
	uint32_t ooo, dup, zero_win;
	uint32_t
	    retrans_rx; /* the peer's retransmissions that arrived: late fills and duplicates */
	uint32_t resets_rx, resets_tx;
	double handshake_ms; /* SYN to ESTABLISHED, < 0 unknown */
	int active;	     /* this host opened the connection */
	uint32_t known; /* PL_FK_*: which measured values are there; the others read 0 = unknown */
	/* Histories (flow_hist): a ring in the flow store's and in the TCP model's pool. */
	uint32_t hist, hist_serial;
	uint32_t tcp_hist, tcp_hist_serial;
	/* The flow store's entry (core's own): which rows a refresh may keep. */
	uint32_t slot, serial;
};

/*
 * flow_row.known. A value pktlens has not measured reads 0 in its field (JSON keeps its
 * type: a consumer sees it in the flow's "unknown" list) and "-" on screen, so a real zero
 * (a peer's zero window) is never confused with "no data".
 */
#define PL_FK_TCP_INFO 0x1 /* srtt_us, cwnd, ssthresh, snd_wnd, rcv_wnd: tcp:tcp_probe fired */

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

/* A TCP socket's life, for its flow's drill-down and JSON (flow_tcp_detail() finds it). */
struct tcp_sock_detail {
	struct flow_key key; /* the socket's addresses and ports; ifindex 0, proto 6 */
	double open_s;	     /* seconds since start it opened (SYN), < 0 unknown */
	double close_s;	     /* closed, < 0 still open */
	struct {
		char state[16];
		uint32_t ms; /* since the connection opened */
	} timeline[8];
	uint32_t n_timeline;
};

/* Kernel receive latency of one flow, log2 microseconds (flow_latency() finds it). */
struct flow_lat_row {
	struct flow_key key;
	uint32_t hist[24];
	uint64_t count;
};

struct snapshot_tcp {
	uint64_t retrans_total; /* segments */
	double retrans_rate;	/* segments per second */
	uint64_t retrans_rx; /* received from peers: retrans_rx summed over this snapshot's flows */
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
	/* sorted by key, in the same allocation as this part */
	const struct tcp_sock_detail *socks;
	size_t n_socks;
	const struct flow_lat_row *lats;
	size_t n_lats;
};

/*
 * The kernel's flow table: what it holds and what it lost. Flows the table
 * had no room for are either evicted (the LRU dropped an older flow for a
 * new one: created - present - aged_out) or never inserted (insert_failed).
 */
struct snapshot_flow_table {
	uint64_t size;	    /* --flows */
	uint64_t present;   /* flows in it at this reading */
	uint64_t created;   /* flows inserted since start */
	uint64_t evicted;   /* pushed out by newer flows while the table was full */
	uint64_t aged_out;  /* removed after --idle without packets */
	uint64_t not_shown; /* flows in the table the snapshot has no row for: out of memory */
	uint64_t full_reads, dirty_reads; /* readings of the whole table, of the changed flows */
};

/* Counted by the packet programs per CPU, whether or not the flow table holds the flows. */
struct snapshot_totals {
	double rx_pps, rx_bps, tx_pps, tx_bps;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes; /* IP packets (those with flows) */
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
#define PL_DROP_DISCARD_REASONS_MAX 8
#define PL_DROP_DISCARD_LOCS_MAX 8
#define PL_DROP_DISCARD_EVENTS_MAX 32
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
	/*
	 * Discarded at close: skbs freed with the queue of a socket (or device) that went
	 * away, which no network path dropped (drops.c names the reasons and why). They are
	 * in none of the fields above: total, rate, reasons, locs, ifaces, flows and events
	 * are the network's drops.
	 */
	uint64_t discarded;
	double discarded_rate;
	struct drop_reason_row discard_reasons[PL_DROP_DISCARD_REASONS_MAX]; /* by count */
	size_t n_discard_reasons;
	struct drop_loc_row discard_locs[PL_DROP_DISCARD_LOCS_MAX]; /* by count */
	size_t n_discard_locs;
	struct drop_event_row discard_events[PL_DROP_DISCARD_EVENTS_MAX]; /* newest last */
	size_t n_discard_events;
};

/* Per-process socket usage (procmodel.c). Names and command lines are raw: escape before output. */
struct proc_sock_row {
	uint32_t pid;
	uint8_t family, proto; /* PL_AF_*, IPPROTO_* */
	uint8_t flags;	       /* PL_PS_* of shared/procs.h: listen, connected, accepted */
	uint8_t open;	       /* still open in the process at the last look */
	uint8_t from_proc;     /* known from /proc only (opened before pktlens): no byte counts */
	uint16_t local_port, remote_port;
	char local[46], remote[46];
	char state[16]; /* TCP state name, "" for other protocols */
	uint64_t inode;
	uint64_t rx_bytes, tx_bytes, rx_calls, tx_calls; /* payload bytes the process read/wrote */
	double last_seen; /* seconds since start; < 0 when only known from /proc */
	uint32_t tid;	  /* the thread that used it last (0: only known from /proc) */
	char thread[16];  /* that thread's name, raw */
};

struct proc_row {
	uint32_t pid;	      /* tgid; first member (the pane looks rows up by it) */
	uint64_t start_ticks; /* start time (/proc/PID/stat field 22): with pid, the identity */
	char comm[16];
	char cmdline[256]; /* argv joined by spaces, may be cut */
	char cgroup[128];  /* cgroup v2 path, "" when the process was gone before pktlens looked */
	uint64_t cgroup_id;
	uint32_t sockets; /* open: tcp + udp + other */
	uint32_t tcp, udp, other, listen, established;
	uint64_t rx_bytes, tx_bytes, rx_calls, tx_calls;
	double rx_bps, tx_bps; /* bits per second of payload over the last interval */
	uint64_t connects, accepts;
	double conn_rate;	 /* (connects + accepts) per second over the last interval */
	uint32_t flows;		 /* flows of this snapshot attributed to the process */
	uint64_t retrans, drops; /* of those flows */
	double first_seen, last_seen;
	int exited;
	double exited_at;
	uint32_t first_sock, n_socks; /* its rows in snapshot_procs.socks */
};

/* What a bounded list or table left out: how many rows and what they counted. */
struct proc_rest {
	uint64_t count, sockets, rx_bytes, tx_bytes;
};

struct snapshot_procs {
	struct proc_row *rows; /* by pid, then start time (a reused pid has two rows) */
	size_t n_rows;
	struct proc_sock_row *socks; /* grouped by process, in row order; open, busiest first */
	size_t n_socks;
	uint64_t flows, flows_attributed; /* TCP/UDP flows in the snapshot, with a process */
	uint64_t proc_scans;		  /* /proc socket scans so far (start, on demand) */
	/* exited processes forgotten before their keep time because the table was full */
	struct proc_rest evicted;
	struct proc_rest expired;   /* forgotten at the end of their keep time (PL_PROC_KEEP_S) */
	uint64_t untracked_socks;   /* socket entries not taken in (a table full) at this reading */
	uint64_t closed_remembered; /* closed connections kept for their flows' attribution */
};

/*
 * Application layer (l7model.c). Names, hosts and paths are raw bytes from
 * the wire with their length (*_len): a NUL among them is data, not the end
 * (so that "bank.example\0.evil" is not shown as "bank.example"). They stay
 * NUL-terminated for convenience only; print them through
 * escape_display_bytes() and json_write_bytes() with the length.
 */
#define PL_HTTP_ENDPOINTS_MAX 256
#define PL_HTTP_RECENT_MAX 256
#define PL_HTTP_SLOW_MAX 64
#define PL_DNS_NAMES_MAX 256
#define PL_TLS_SNI_MAX 128

struct http_tx_row {
	double time;	   /* request seen, seconds since start */
	double latency_ms; /* request to response; < 0: no response yet */
	uint32_t status;   /* 0: no response */
	uint32_t endpoint; /* id of its http_endpoint_row */
	char method[12];   /* A-Z only */
	char host[64];
	char path[160]; /* the raw target, cut at 159 bytes */
	uint16_t host_len, path_len;
	struct flow_key key; /* zero for requests seen through the SSL uprobes */
	uint32_t pid;	     /* SSL uprobes: the process; else 0 */
	char comm[16];
	int tls; /* seen in clear through the SSL uprobes */
};

struct http_endpoint_row {
	uint32_t id;
	char method[12];
	char host[64];
	char path[160]; /* numeric and hex-id segments collapsed to :id, no query */
	uint16_t host_len, path_len;
	uint64_t count, errors;
	double p50_ms, p90_ms, p99_ms, max_ms;
};

/* Answers to queries that were seen (dns_unsolicited counts the others). */
struct dns_name_row {
	char name[256];
	uint16_t name_len;
	char qtype[12]; /* "A", "AAAA", ... or the number */
	char rcode[12]; /* "NOERROR", "NXDOMAIN", ... */
	uint64_t count, answers;
	double p50_ms, max_ms;
};

/* ClientHellos the other side answered (tls_unanswered counts the others). */
struct tls_sni_row {
	char name[256]; /* "" for ClientHellos without SNI */
	char alpn[32];
	uint16_t name_len, alpn_len;
	char version[12]; /* highest offered: "TLS1.3" */
	uint64_t count;
};

/*
 * What a bounded table of names folded away: rows the model evicted (the
 * least counted go first) plus rows below the snapshot's cut. A name that is
 * evicted, comes back and is evicted again counts twice in rows.
 */
struct l7_other {
	uint64_t rows;
	uint64_t count;	       /* their requests, answers or handshakes */
	uint64_t errors;       /* endpoints: responses >= 400 */
	double p50_ms, p99_ms; /* endpoints, DNS names: their latency; < 0 when none */
};

/* Prometheus histogram bounds of HTTP response times (l7_http_lat_bounds, seconds). */
#define PL_HTTP_LAT_BUCKETS 14

struct snapshot_l7 {
	uint64_t http_requests, http_responses, http_unmatched;
	/* request to response of every answered request: per bound (the last: beyond them all),
	 * not cumulative, and the sum of the times (--metrics) */
	struct {
		uint64_t buckets[PL_HTTP_LAT_BUCKETS + 1];
		double sum_s;
	} http_lat;
	uint64_t by_status[600];
	uint64_t by_class[6];					   /* index status / 100 */
	struct http_endpoint_row endpoints[PL_HTTP_ENDPOINTS_MAX]; /* by count, descending */
	size_t n_endpoints;
	struct l7_other endpoints_other;
	struct http_tx_row recent[PL_HTTP_RECENT_MAX]; /* completed, newest last */
	size_t n_recent;
	struct http_tx_row slow[PL_HTTP_SLOW_MAX]; /* latency >= slow_ms, newest last */
	size_t n_slow;
	double slow_ms;
	uint64_t err_http_req, err_http_resp, err_http_long;
	uint64_t dns_queries, dns_responses, err_dns;
	uint64_t dns_rcodes[16];
	struct dns_name_row names[PL_DNS_NAMES_MAX]; /* by count, descending */
	size_t n_names;
	struct l7_other names_other;
	uint64_t
	    dns_unsolicited; /* answers to no query seen (same flow, id, question): spoofing? */
	uint64_t tls_handshakes, err_tls;
	struct tls_sni_row sni[PL_TLS_SNI_MAX]; /* by count, descending */
	size_t n_sni;
	struct l7_other sni_other;
	uint64_t tls_unanswered; /* ClientHellos the other side never answered with a TLS record */
	uint64_t flows_by_proto[6]; /* enum pl_l7_proto */
	uint64_t port80_not_http;   /* flows */
	uint64_t events, events_lost, ssl_calls, ssl_lost;
	uint64_t sampled; /* events not sent while the ring was 3/4 unread (bpf/lib/l7.bpf.h) */
};

struct hist_pool;

struct snapshot {
	int refs;
	uint32_t gen; /* the refresh generation: histories are read as of it */
	double uptime_s;
	double interval_s; /* seconds covered by the rates */
	int64_t time_unix_ns;
	char host[64];
	char netns[64];
	char ifaces[256]; /* "veth0,veth1" */
	/*
	 * BPF run-time statistics: 1 while pktlens holds them on (run_cnt and run_time_ns of the
	 * probes grow only while someone does); bpf_stats_s: seconds they have been on, over
	 * this run, pktlens' own holding only.
	 */
	int bpf_stats;
	double bpf_stats_s;
	struct probe_info *probes;
	size_t n_probes;
	struct flow_row *flows; /* in the order engine_set_flow_order() asked for */
	size_t n_flows;
	size_t flows_cap; /* rows mapped by snapshot_rows_alloc(); 0: flows is malloc'd */
	struct snapshot_totals tot;
	struct snapshot_flow_table ftab;
	/* where the rows' histories live (referenced for the snapshot's life) */
	struct hist_pool *rate_hist, *tcp_hist;
	struct snapshot_drops *drops; /* NULL when the drop probes never ran */
	struct snapshot_tcp *tcp;
	struct snapshot_l7 *l7;	      /* never NULL in a snapshot from the engine */
	struct snapshot_procs *procs; /* one allocation: rows and socks point into it */
	struct snapshot_sec *sec;     /* alerts and firewall (core/security.h); NULL: none */
};

struct snapshot_sec;

struct snapshot *snapshot__new(void);
struct snapshot *snapshot_get(struct snapshot *s);
void snapshot_put(struct snapshot *s);
/*
 * Room for n flow rows in s->flows (which must be NULL). Large arrays are mapped and, when the
 * snapshot goes, kept for the next one, whatever else the heap took meanwhile: with malloc, a
 * 100k-flow refresh was seen (perf) zeroing fresh pages for its 40 MB of rows at times, the
 * previous array's block being no longer free in one piece. NULL: no memory.
 */
struct flow_row *snapshot_rows_alloc(struct snapshot *s, size_t n);

/* Sorted, filtered and grouped views of a snapshot (view.c). */
#include "core/view.h"

#endif
