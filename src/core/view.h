/* Views of a snapshot's flows for lists: sort orders, the text a search matches, groups of flows. */
#ifndef PKTLENS_VIEW_H
#define PKTLENS_VIEW_H

#include <stddef.h>
#include <stdint.h>

struct snapshot;
struct flow_row;
struct tcp_sock_detail;
struct flow_lat_row;

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
	FS_TX_PPS,
	FS_TOTAL_BPS, /* rx + tx */
	FS_DROPS,
	FS_CWND,
	FS_STATE,
	FS_PROCESS, /* command name, then pid */
	FS_FLAGS,
	FS_MAX,
};

const char *flow_sort_name(enum flow_sort s);
/* The key's natural order of two rows, ascending (numbers small first, names A first); 0 ties. */
int flow_row_cmp(const struct flow_row *a, const struct flow_row *b, enum flow_sort key);
/* Whether the key reads best biggest first (numbers) rather than A first (names, addresses). */
int flow_sort_numeric(enum flow_sort key);
/* Fills idx with the rows that match filter (substring of the row's text, case-insensitive, "" = all),
 * sorted by key (descending for numbers unless reverse); returns the count. */
size_t flow_view(const struct snapshot *s, const char *filter, enum flow_sort key, int reverse,
		 uint32_t *idx);
/* The text a filter matches against: "iface proto local:port remote:port state l7 comm". */
void flow_row_text(const struct flow_row *r, char *buf, size_t len);
const char *proto_name(uint8_t proto);

/* A flow's histories, oldest first into out; returns the samples there are (0: none). */
enum flow_series {
	FH_RX_BPS = 0,
	FH_TX_BPS,
	FH_SRTT_US,
	FH_CWND,
};
size_t flow_hist(const struct snapshot *s, const struct flow_row *r, enum flow_series which,
		 float out[60]);
/* The TCP socket of a flow (state timeline, open and close times), NULL when none is known. */
const struct tcp_sock_detail *flow_tcp_detail(const struct snapshot *s, const struct flow_row *r);
/* The flow's kernel receive latency histogram (latency probes), NULL when it has none. */
const struct flow_lat_row *flow_latency(const struct snapshot *s, const struct flow_row *r);
/*
 * What the operator should know about the flow table, as one sentence (for the
 * status line and the JSON): flows it lost because it was full, with the
 * advice to raise --flows, or flows left out for want of memory. Returns its
 * length, 0 when all is well.
 */
size_t snapshot_flow_warning(const struct snapshot *s, char *buf, size_t len);
/* Open (or first seen) to close (or the snapshot's time), seconds. */
double flow_duration(const struct snapshot *s, const struct flow_row *r);
void flow_flags_str(uint32_t flags, char out[9]); /* "SAFPRU" order as in JSON, "" when none */

/* Flows grouped by what they share, each group with the sums of its flows. */
enum flow_group {
	FG_CONNECTION = 0, /* no grouping: one row per flow */
	FG_REMOTE,	   /* remote address */
	FG_SERVICE,	   /* protocol and local port */
	FG_PROCESS,	   /* owning process (pid 0: none known) */
	FG_MAX,
};

struct flow_group_row {
	/* the key: FG_REMOTE family+addr, FG_SERVICE proto+port, FG_PROCESS pid+comm */
	uint8_t family, proto;
	uint16_t port;
	uint8_t addr[16];
	uint32_t pid;
	char comm[16]; /* raw bytes from the task: escape before output */
	char name[64]; /* "10.0.0.2", "tcp/80", "" for processes (the UI shows comm/pid) */
	uint32_t flows;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, retrans, drops;
	double rx_pps, rx_bps, tx_pps, tx_bps;
};

const char *flow_group_name(enum flow_group g); /* "connection", "remote host", ... */
/* Groups the rows i of s for which keep(ctx, i) (NULL: all); *out grows to hold them (*cap).
 * Returns the number of groups, in order of first appearance, or -1 when memory runs out. */
long flow_groups(const struct snapshot *s, enum flow_group g, int (*keep)(void *ctx, size_t i),
		 void *ctx, struct flow_group_row **out, size_t *cap);
/* Whether flow r belongs to the group gr of grouping g. */
int flow_in_group(const struct flow_row *r, enum flow_group g, const struct flow_group_row *gr);

#endif
