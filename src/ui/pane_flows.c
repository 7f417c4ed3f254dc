/* The Flows pane: the flow table with rates, history, flags, TCP state and process, and the same
 * flows grouped by remote host, local service or process (v), each group with its sums. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pfilter.h"
#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

enum fcol {
	FC_PROTO,
	FC_LOCAL,
	FC_REMOTE,
	FC_RX_PPS,
	FC_RX_BPS,
	FC_TX_PPS,
	FC_TX_BPS,
	FC_STATE,
	FC_PROCESS,
	FC_SPARK,
	FC_IFACE,
	FC_PACKETS,
	FC_RX_BYTES,
	FC_TX_BYTES,
	FC_FLAGS,
	FC_SRTT,
	FC_CWND,
	FC_RETRANS,
	FC_DROPS,
	FC_TOTAL_BPS,
	FC_MAX,
};

#define NUM(id, t, d, w)                                   \
	{                                                  \
		id, t, d, w, 0, COL_RIGHT, SORT_DESC_FIRST \
	}
#define ADDR(id, t, d)                                          \
	{                                                       \
		id, t, d, 15, 47, COL_ELIDE_MID, SORT_ASC_FIRST \
	}

/* Rates first, then state and process, which fit in 120 columns even beside link-local IPv6
 * addresses; the history and the rest scroll into view (Right). */
static const struct table_col flow_cols[FC_MAX] = {
	[FC_PROTO] = { "proto", "PROTO", "protocol", 5, 0, 0, SORT_ASC_FIRST },
	[FC_LOCAL] = ADDR("local", "LOCAL", "this host's address and port"),
	[FC_REMOTE] = ADDR("remote", "REMOTE", "the peer's address and port"),
	[FC_RX_PPS] = NUM("rx_pps", "RX PPS", "packets per second received", 7),
	[FC_RX_BPS] = NUM("rx_bps", "RX b/s", "bits per second received (wire)", 7),
	[FC_TX_PPS] = NUM("tx_pps", "TX PPS", "packets per second sent", 7),
	[FC_TX_BPS] = NUM("tx_bps", "TX b/s", "bits per second sent (wire)", 7),
	[FC_SPARK] = { "rx_history", "RX HISTORY", "received bits per second over the last minute",
		       12, 0, COL_SPARK, SORT_NONE },
	[FC_STATE] = { "state", "STATE", "TCP state", 11, 0, 0, SORT_ASC_FIRST },
	[FC_PROCESS] = { "process", "PROCESS", "owning process: command/pid", 12, 32, 0,
			 SORT_ASC_FIRST },
	[FC_IFACE] = { "iface", "IFACE", "interface", 8, 16, 0, SORT_ASC_FIRST },
	[FC_PACKETS] = NUM("packets", "PKTS", "packets both ways", 7),
	[FC_RX_BYTES] = NUM("rx_bytes", "RX B", "bytes received: frames incl. Ethernet header", 7),
	[FC_TX_BYTES] = NUM("tx_bytes", "TX B", "bytes sent: frames incl. Ethernet header", 7),
	[FC_FLAGS] = { "flags", "FLAGS", "TCP flags seen (SAFPRU)", 6, 0, 0, SORT_ASC_FIRST },
	[FC_SRTT] = NUM("srtt", "SRTT", "smoothed round-trip time", 7),
	[FC_CWND] = NUM("cwnd", "CWND", "congestion window, segments", 5),
	[FC_RETRANS] = NUM("retrans", "RETR", "segments retransmitted", 5),
	[FC_DROPS] = NUM("drops", "DROPS", "packets the kernel dropped", 5),
	[FC_TOTAL_BPS] = NUM("total_bps", "TOTAL b/s", "bits per second both ways", 9),
};

static const enum flow_sort flow_col_sort[FC_MAX] = {
	[FC_PROTO] = FS_PROTO,	     [FC_LOCAL] = FS_LOCAL,	    [FC_REMOTE] = FS_REMOTE,
	[FC_RX_PPS] = FS_RX_PPS,     [FC_RX_BPS] = FS_RX_BPS,	    [FC_TX_PPS] = FS_TX_PPS,
	[FC_TX_BPS] = FS_TX_BPS,     [FC_SPARK] = FS_MAX,	    [FC_STATE] = FS_STATE,
	[FC_PROCESS] = FS_PROCESS,   [FC_IFACE] = FS_IFACE,	    [FC_PACKETS] = FS_PACKETS,
	[FC_RX_BYTES] = FS_RX_BYTES, [FC_TX_BYTES] = FS_TX_BYTES,   [FC_FLAGS] = FS_FLAGS,
	[FC_SRTT] = FS_SRTT,	     [FC_CWND] = FS_CWND,	    [FC_RETRANS] = FS_RETRANS,
	[FC_DROPS] = FS_DROPS,	     [FC_TOTAL_BPS] = FS_TOTAL_BPS,
};

enum gcol {
	GC_NAME,
	GC_FLOWS,
	GC_RX_PPS,
	GC_RX_BPS,
	GC_TX_PPS,
	GC_TX_BPS,
	GC_RX_PKTS,
	GC_TX_PKTS,
	GC_RX_BYTES,
	GC_TX_BYTES,
	GC_RETRANS,
	GC_DROPS,
	GC_MAX,
};

static const struct table_col group_cols[GC_MAX] = {
	[GC_NAME] = { "group", "GROUP", "what the flows share", 12, 47, COL_ELIDE_MID,
		      SORT_ASC_FIRST },
	[GC_FLOWS] = NUM("flows", "FLOWS", "flows in the group", 6),
	[GC_RX_PPS] = NUM("rx_pps", "RX PPS", "packets per second received", 7),
	[GC_RX_BPS] = NUM("rx_bps", "RX b/s", "bits per second received (wire)", 7),
	[GC_TX_PPS] = NUM("tx_pps", "TX PPS", "packets per second sent", 7),
	[GC_TX_BPS] = NUM("tx_bps", "TX b/s", "bits per second sent (wire)", 7),
	[GC_RX_PKTS] = NUM("rx_packets", "RX PKTS", "packets received", 8),
	[GC_TX_PKTS] = NUM("tx_packets", "TX PKTS", "packets sent", 8),
	[GC_RX_BYTES] = NUM("rx_bytes", "RX B", "bytes received: frames incl. Ethernet header", 7),
	[GC_TX_BYTES] = NUM("tx_bytes", "TX B", "bytes sent: frames incl. Ethernet header", 7),
	[GC_RETRANS] = NUM("retrans", "RETR", "segments retransmitted", 5),
	[GC_DROPS] = NUM("drops", "DROPS", "packets the kernel dropped", 6),
};

static const char *const group_ids[FG_MAX] = {
	[FG_CONNECTION] = "connection",
	[FG_REMOTE] = "remote",
	[FG_SERVICE] = "service",
	[FG_PROCESS] = "process",
};

static const char *const group_titles[FG_MAX] = {
	[FG_REMOTE] = "REMOTE HOST",
	[FG_SERVICE] = "SERVICE",
	[FG_PROCESS] = "PROCESS",
};

/* Flows without a packet this long are idle (established TCP connections excepted). */
#define IDLE_HIDE_S 10

struct flows_pane {
	struct pane base;
	int told_col, told_desc;     /* the sort the engine was last asked for */
	const struct snapshot *snap; /* the snapshot the tables index */
	struct pfilter *pf;	     /* f: a tcpdump-syntax filter on the flows, or NULL */
	char pf_text[256];
	int hide_idle;	      /* i: idle and closed flows are left out (default on) */
	unsigned char *shown; /* per flow of snap: passes the filter and is not hidden */
	size_t cap_shown, n_hidden, n_filtered;
	struct table conns, groups;
	struct table_col gcols[GC_MAX]; /* group_cols with the grouping's name on the first */
	enum flow_group group;
	int in_group; /* listing the flows of one group (Enter on it) */
	struct flow_group_row open;
	struct flow_group_row *g;
	size_t n_g, cap_g;
};

static struct table *active(struct flows_pane *p)
{
	return p->group != FG_CONNECTION && !p->in_group ? &p->groups : &p->conns;
}

/* ---- connections ---- */

static size_t conn_count(void *ctx)
{
	const struct flows_pane *p = ctx;

	return p->snap ? p->snap->n_flows : 0;
}

static uint64_t conn_id(void *ctx, size_t row)
{
	const struct flows_pane *p = ctx;

	return table_hash(&p->snap->flows[row].key, sizeof(struct flow_key), TABLE_HASH_INIT);
}

static int conn_keep(void *ctx, size_t row)
{
	const struct flows_pane *p = ctx;

	return p->shown[row] &&
	       (!p->in_group || flow_in_group(&p->snap->flows[row], p->group, &p->open));
}

/* The same flows go into the groups. */
static int flow_keep(void *ctx, size_t row)
{
	return ((const struct flows_pane *)ctx)->shown[row];
}

/* Done: closed (CLOSE, TIME_WAIT, or reset before any state was known) and quiet this interval;
 * or idle: no packet for IDLE_HIDE_S, unless it is an established connection. */
static int idle_or_closed(const struct snapshot *s, const struct flow_row *f)
{
	if (f->rx_pps > 0 || f->tx_pps > 0)
		return 0;
	if (!strcmp(f->state, "CLOSE") || !strcmp(f->state, "TIME_WAIT") ||
	    (!f->state[0] && (f->tcp_flags & PL_TCP_RST)))
		return 1;
	if (!strcmp(f->state, "ESTABLISHED"))
		return 0;
	return s->uptime_s - f->last_seen >= IDLE_HIDE_S;
}

/* Which flows the lists show: the tcpdump filter first, then the idle/closed rule. */
static int mark_shown(struct flows_pane *p)
{
	const struct snapshot *s = p->snap;

	p->n_hidden = p->n_filtered = 0;
	if (!s)
		return 0;
	if (p->cap_shown < s->n_flows) {
		unsigned char *n = realloc(p->shown, s->n_flows);

		if (!n)
			return -1;
		p->shown = n;
		p->cap_shown = s->n_flows;
	}
	for (size_t i = 0; i < s->n_flows; i++) {
		const struct flow_row *f = &s->flows[i];

		p->shown[i] = 0;
		if (p->pf && !pfilter_match(p->pf, &f->key)) {
			p->n_filtered++;
			continue;
		}
		if (p->hide_idle && idle_or_closed(s, f)) {
			p->n_hidden++;
			continue;
		}
		p->shown[i] = 1;
	}
	return 0;
}

static int conn_match(void *ctx, size_t row, const char *text)
{
	const struct flows_pane *p = ctx;
	char buf[256];

	flow_row_text(&p->snap->flows[row], buf, sizeof(buf));
	return !!strcasestr(buf, text);
}

static int conn_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct flows_pane *p = ctx;

	return flow_row_cmp(&p->snap->flows[a], &p->snap->flows[b], flow_col_sort[col]);
}

static void rate_cell(struct table_cell *c, double v, enum role on)
{
	fmt_human(v, c->text, sizeof(c->text));
	c->role = v > 0 ? on : ROLE_DIM;
}

static void count_cell(struct table_cell *c, uint64_t v, enum role on)
{
	fmt_human((double)v, c->text, sizeof(c->text));
	c->role = v ? on : ROLE_DIM;
}

static void conn_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct flows_pane *p = ctx;
	const struct flow_row *f = &p->snap->flows[row];
	char esc[64];
	int v6 = f->key.family == PL_AF_INET6;

	switch (col) {
	case FC_IFACE:
		ui_escape(c->text, sizeof(c->text), f->iface, sizeof(f->iface));
		break;
	case FC_PROTO:
		snprintf(c->text, sizeof(c->text), "%s", proto_name(f->key.proto));
		break;
	case FC_LOCAL:
		ui_escape(esc, sizeof(esc), f->local, sizeof(f->local));
		fmt_endpoint(esc, f->key.local_port, v6, c->text, sizeof(c->text));
		break;
	case FC_REMOTE:
		ui_escape(esc, sizeof(esc), f->remote, sizeof(f->remote));
		fmt_endpoint(esc, f->key.remote_port, v6, c->text, sizeof(c->text));
		break;
	case FC_RX_PPS:
		rate_cell(c, f->rx_pps, ROLE_RX);
		break;
	case FC_RX_BPS:
		rate_cell(c, f->rx_bps, ROLE_RX);
		break;
	case FC_TX_PPS:
		rate_cell(c, f->tx_pps, ROLE_TX);
		break;
	case FC_TX_BPS:
		rate_cell(c, f->tx_bps, ROLE_TX);
		break;
	case FC_TOTAL_BPS:
		rate_cell(c, f->rx_bps + f->tx_bps, ROLE_NORMAL);
		break;
	case FC_SPARK: {
		/* the table draws each cell before it asks for the next one */
		static float spark[PL_HIST_LEN];
		c->spark_n = flow_hist(p->snap, f, FH_RX_BPS, spark);
		c->spark = spark;
		break;
	}
	case FC_PACKETS:
		count_cell(c, f->rx_packets + f->tx_packets, ROLE_NORMAL);
		break;
	case FC_RX_BYTES:
		count_cell(c, f->rx_bytes, ROLE_NORMAL);
		break;
	case FC_TX_BYTES:
		count_cell(c, f->tx_bytes, ROLE_NORMAL);
		break;
	case FC_FLAGS:
		flow_flags_str(f->tcp_flags, esc);
		snprintf(c->text, sizeof(c->text), "%s", esc);
		c->role = f->tcp_flags & PL_TCP_RST ? ROLE_WARN : ROLE_NORMAL;
		break;
	case FC_STATE:
		ui_escape(c->text, sizeof(c->text), f->state, sizeof(f->state));
		c->role = strcmp(f->state, "ESTABLISHED") ? ROLE_DIM : ROLE_NORMAL;
		break;
	case FC_SRTT:
		/* unknown (no tcp_probe yet) is "-", never 0 */
		if (f->known & PL_FK_TCP_INFO)
			fmt_usec(f->srtt_us, c->text, sizeof(c->text));
		else
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case FC_CWND:
		if (f->known & PL_FK_TCP_INFO)
			snprintf(c->text, sizeof(c->text), "%u", f->cwnd);
		else
			snprintf(c->text, sizeof(c->text), "-");
		c->role = f->known & PL_FK_TCP_INFO ? ROLE_NORMAL : ROLE_DIM;
		break;
	case FC_RETRANS:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)f->retrans);
		c->role = f->retrans ? ROLE_WARN : ROLE_DIM;
		break;
	case FC_DROPS:
		count_cell(c, f->drops, ROLE_WARN);
		break;
	case FC_PROCESS:
		/* comm came from the traced task: it may hold any byte */
		ui_escape(esc, sizeof(esc), f->comm, sizeof(f->comm));
		if (f->pid)
			snprintf(c->text, sizeof(c->text), "%s/%u", esc, f->pid);
		else
			snprintf(c->text, sizeof(c->text), "%s", esc);
		break;
	default:
		break;
	}
}

static const struct table_ops conn_ops = {
	.count = conn_count,
	.row_id = conn_id,
	.cell = conn_cell,
	.cmp = conn_cmp,
	.keep = conn_keep,
	.match = conn_match,
};

/* ---- groups ---- */

static size_t group_count(void *ctx)
{
	return ((const struct flows_pane *)ctx)->n_g;
}

static uint64_t group_id(void *ctx, size_t row)
{
	const struct flows_pane *p = ctx;

	return table_hash(&p->g[row], offsetof(struct flow_group_row, name),
			  TABLE_HASH_INIT + p->group);
}

static void group_label(const struct flow_group_row *g, enum flow_group mode, char *buf, size_t len)
{
	char esc[64];

	if (mode != FG_PROCESS) {
		ui_escape(buf, len, g->name, sizeof(g->name));
		return;
	}
	ui_escape(esc, sizeof(esc), g->comm, sizeof(g->comm));
	if (g->pid)
		snprintf(buf, len, "%s/%u", esc, g->pid);
	else
		snprintf(buf, len, "(no process known)");
}

static int group_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct flows_pane *p = ctx;
	const struct flow_group_row *x = &p->g[a], *y = &p->g[b];
	double vx = 0, vy = 0;

	switch (col) {
	case GC_NAME:
		if (p->group == FG_REMOTE) {
			int c = (x->family > y->family) - (x->family < y->family);

			return c ? c : memcmp(x->addr, y->addr, 16);
		}
		if (p->group == FG_SERVICE) {
			int c = strcmp(proto_name(x->proto), proto_name(y->proto));

			return c ? c : (x->port > y->port) - (x->port < y->port);
		}
		if (strncmp(x->comm, y->comm, sizeof(x->comm)))
			return strncmp(x->comm, y->comm, sizeof(x->comm));
		return (x->pid > y->pid) - (x->pid < y->pid);
	case GC_FLOWS:
		vx = x->flows, vy = y->flows;
		break;
	case GC_RX_PPS:
		vx = x->rx_pps, vy = y->rx_pps;
		break;
	case GC_RX_BPS:
		vx = x->rx_bps, vy = y->rx_bps;
		break;
	case GC_TX_PPS:
		vx = x->tx_pps, vy = y->tx_pps;
		break;
	case GC_TX_BPS:
		vx = x->tx_bps, vy = y->tx_bps;
		break;
	case GC_RX_PKTS:
		vx = (double)x->rx_packets, vy = (double)y->rx_packets;
		break;
	case GC_TX_PKTS:
		vx = (double)x->tx_packets, vy = (double)y->tx_packets;
		break;
	case GC_RX_BYTES:
		vx = (double)x->rx_bytes, vy = (double)y->rx_bytes;
		break;
	case GC_TX_BYTES:
		vx = (double)x->tx_bytes, vy = (double)y->tx_bytes;
		break;
	case GC_RETRANS:
		vx = (double)x->retrans, vy = (double)y->retrans;
		break;
	case GC_DROPS:
		vx = (double)x->drops, vy = (double)y->drops;
		break;
	default:
		break;
	}
	return (vx > vy) - (vx < vy);
}

static void group_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct flows_pane *p = ctx;
	const struct flow_group_row *g = &p->g[row];

	switch (col) {
	case GC_NAME:
		group_label(g, p->group, c->text, sizeof(c->text));
		break;
	case GC_FLOWS:
		snprintf(c->text, sizeof(c->text), "%u", g->flows);
		break;
	case GC_RX_PPS:
		rate_cell(c, g->rx_pps, ROLE_RX);
		break;
	case GC_RX_BPS:
		rate_cell(c, g->rx_bps, ROLE_RX);
		break;
	case GC_TX_PPS:
		rate_cell(c, g->tx_pps, ROLE_TX);
		break;
	case GC_TX_BPS:
		rate_cell(c, g->tx_bps, ROLE_TX);
		break;
	case GC_RX_PKTS:
		count_cell(c, g->rx_packets, ROLE_NORMAL);
		break;
	case GC_TX_PKTS:
		count_cell(c, g->tx_packets, ROLE_NORMAL);
		break;
	case GC_RX_BYTES:
		count_cell(c, g->rx_bytes, ROLE_NORMAL);
		break;
	case GC_TX_BYTES:
		count_cell(c, g->tx_bytes, ROLE_NORMAL);
		break;
	case GC_RETRANS:
		count_cell(c, g->retrans, ROLE_WARN);
		break;
	case GC_DROPS:
		count_cell(c, g->drops, ROLE_WARN);
		break;
	default:
		break;
	}
}

static const struct table_ops group_ops = {
	.count = group_count,
	.row_id = group_id,
	.cell = group_cell,
	.cmp = group_cmp,
};

/* ---- the pane ---- */

/* Brings the tables to the current snapshot: once per snapshot, filter, sort or grouping change,
 * never per frame, so 100k flows stay cheap. */
static void sync(struct flows_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	p->snap = ui->snap;
	/* the engine hands the rows over in this list's order: sorting them is one pass then */
	if (ui->act.flow_order &&
	    (p->conns.sort_col != p->told_col || p->conns.sort_desc != p->told_desc)) {
		int col = p->conns.sort_col;
		int key = col >= 0 && col < FC_MAX && flow_col_sort[col] < FS_MAX
			      ? (int)flow_col_sort[col]
			      : -1;
		ui->act.flow_order(ui->act.ctx, key, p->conns.sort_desc);
		p->told_col = p->conns.sort_col;
		p->told_desc = p->conns.sort_desc;
	}
	p->n_g = 0;
	if (mark_shown(p)) {
		ui_status_err(ui, "out of memory for %zu flows", p->snap->n_flows);
		p->snap = NULL;
	}
	if (p->snap && p->group != FG_CONNECTION) {
		long n = flow_groups(p->snap, p->group, flow_keep, p, &p->g, &p->cap_g);

		if (n < 0)
			ui_status_err(ui, "out of memory grouping %zu flows", p->snap->n_flows);
		p->n_g = n > 0 ? (size_t)n : 0;
	}
	table_rebuild(&p->conns);
	table_rebuild(&p->groups);
}

static int probe_attached(const struct snapshot *s, const char *kind, const char *iface)
{
	char id[64];

	snprintf(id, sizeof(id), "%s:%s", kind, iface);
	for (size_t i = 0; i < s->n_probes; i++)
		if (!strcmp(s->probes[i].id, id))
			return s->probes[i].state == PS_ATTACHED;
	return 0;
}

/* A watched interface whose counting programs are detached: its counts stand still, and the
 * pane says so rather than show zeros as if nothing moved. */
static int counting_gaps(const struct snapshot *s, char *buf, size_t len)
{
	char ifs[sizeof(s->ifaces)], *save = NULL;
	size_t o = 0;

	snprintf(ifs, sizeof(ifs), "%.*s", (int)sizeof(s->ifaces), s->ifaces);
	buf[0] = '\0';
	for (char *i = strtok_r(ifs, ",", &save); i && o < len; i = strtok_r(NULL, ",", &save)) {
		int rx = probe_attached(s, "tc-ingress", i) || probe_attached(s, "xdp", i);
		int tx = probe_attached(s, "tc-egress", i);
		char esc[64];

		if (rx && tx)
			continue;
		ui_escape(esc, sizeof(esc), i, strlen(i));
		o += (size_t)snprintf(
		    buf + o, len - o, "%s%s: %s", o ? "; " : " ", esc,
		    !rx && !tx ? "rx and tx counts stopped (tc-ingress/xdp, tc-egress detached)"
		    : !rx      ? "rx counts stopped (tc-ingress and xdp detached)"
			       : "tx counts stopped (tc-egress detached)");
	}
	if (o && o < len)
		snprintf(buf + o, len - o, " - the Probes pane attaches them");
	return o > 0;
}

static void flows_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct flows_pane *p = (struct flows_pane *)pp;
	struct table *t = active(p);
	struct rect tr = *r;
	char msg[512];

	sync(p, ui);
	if (p->snap && counting_gaps(p->snap, msg, sizeof(msg))) {
		ui_put(ui, r->y + r->h - 1, r->x, r->w, ROLE_WARN, msg);
		tr.h--;
	}
	if (p->in_group) {
		char label[96], line[160];

		group_label(&p->open, p->group, label, sizeof(label));
		snprintf(line, sizeof(line), " flows of %s %s  (Esc: back to the groups)",
			 flow_group_name(p->group), label);
		ui_put(ui, tr.y, tr.x, tr.w, ROLE_TITLE, line);
		tr.y++;
		tr.h--;
	}
	table_draw(t, ui, &tr);
	if (!ui->snap)
		snprintf(msg, sizeof(msg), " waiting for data...");
	else if (p->n_filtered && !p->n_hidden && p->n_filtered == p->snap->n_flows)
		snprintf(msg, sizeof(msg),
			 " no flows match the tcpdump filter '%.200s' (Esc clears it)", p->pf_text);
	else if (p->n_hidden && !t->kept)
		snprintf(msg, sizeof(msg), " %zu idle or closed flows hidden (i shows them)",
			 p->n_hidden);
	else if (p->in_group)
		snprintf(msg, sizeof(msg), " this group has no flows now");
	else
		snprintf(msg, sizeof(msg), " no flows yet");
	table_draw_empty(t, ui, &tr, msg);
}

/* "" clears; returns -1 with libpcap's or pktlens's reason when the text is not a flow filter. */
static int set_pcap(struct flows_pane *p, const char *text, char *err, size_t errlen)
{
	struct pfilter *f = NULL;

	if (text[0] && !(f = pfilter__new(text, err, errlen)))
		return -1;
	pfilter__free(p->pf);
	p->pf = f;
	snprintf(p->pf_text, sizeof(p->pf_text), "%s", text);
	p->base.rescan = 1;
	return 0;
}

static int flows_prompt(struct pane *pp, struct ui *ui, enum prompt_kind kind, const char *text,
			char *err, size_t errlen)
{
	return set_pcap((struct flows_pane *)pp, text, err, errlen) ? -1 : 1;
}

static void set_group(struct flows_pane *p, enum flow_group g)
{
	p->group = g;
	p->in_group = 0;
	p->gcols[GC_NAME].title = group_titles[g] ? group_titles[g] : "GROUP";
	p->base.rescan = 1;
}

static int flows_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct flows_pane *p = (struct flows_pane *)pp;
	struct table *t;
	size_t row;
	int r;

	sync(p, ui);
	t = active(p);
	switch (act) {
	case ACT_ENTER:
		if (!table_selected(t, &row))
			return R_HANDLED;
		if (t == &p->groups) {
			p->open = p->g[row];
			p->in_group = 1;
			p->conns.sel = 0;
			p->conns.top = 0;
			return R_HANDLED | R_RESCAN;
		}
		ui_push_overlay(ui, detail_pane__new(ui, &p->snap->flows[row]));
		return R_HANDLED | R_REDRAW;
	case ACT_GROUP:
		set_group(p, (p->group + 1) % FG_MAX);
		ui_status(ui, "flows by %s", flow_group_name(p->group));
		return R_HANDLED | R_RESCAN;
	case ACT_HIDE_IDLE:
		p->hide_idle = !p->hide_idle;
		ui_status(ui, p->hide_idle ? "idle and closed flows hidden"
					   : "idle and closed flows shown");
		return R_HANDLED | R_RESCAN;
	case ACT_WRITE: {
		char msg[512];
		if (t == &p->groups || !table_selected(t, &row)) {
			ui_status_err(ui, "select a connection to write its packets");
			return R_HANDLED | R_REDRAW;
		}
		if (!ui->act.flow_write) {
			ui_status_err(ui, "writing packets is not available here");
			return R_HANDLED | R_REDRAW;
		}
		if (ui->act.flow_write(ui->act.ctx, &p->snap->flows[row].key, msg, sizeof(msg)))
			ui_status_err(ui, "%s", msg);
		else
			ui_status(ui, "%s", msg);
		return R_HANDLED | R_REDRAW;
	}
	case ACT_BLOCK:
		if (!table_selected(t, &row))
			return R_HANDLED;
		if (t == &p->conns) {
			const struct flow_row *f = &p->snap->flows[row];

			ui_block_prompt(ui, f->key.family, f->key.remote);
		} else if (p->group == FG_REMOTE) {
			ui_block_prompt(ui, p->g[row].family, p->g[row].addr);
		} else {
			ui_status_err(ui,
				      "a %s group has no one remote address: v groups by remote "
				      "host, Enter lists the flows",
				      flow_group_name(p->group));
		}
		return R_HANDLED | R_REDRAW;
	case ACT_FILTER:
		ui_prompt_open(ui, PROMPT_FILTER,
			       "tcpdump filter (as -f; empty clears): ", p->pf_text, pp);
		return R_HANDLED | R_REDRAW;
	default:
		break;
	}
	r = table_on_key(t, ui, act, key);
	if (r != R_IGNORED || act != ACT_BACK)
		return r;
	/* Esc: the search went first (the table), then the tcpdump filter, then the group */
	if (p->pf) {
		set_pcap(p, "", NULL, 0);
		return R_HANDLED | R_RESCAN;
	}
	if (p->in_group) {
		p->in_group = 0;
		return R_HANDLED | R_RESCAN;
	}
	return R_IGNORED;
}

static void flows_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct flows_pane *p = (struct flows_pane *)pp;
	char t[256], pf[300] = "", hid[64] = "";

	sync(p, ui);
	table_info(active(p), ui, t, sizeof(t));
	if (p->pf)
		snprintf(pf, sizeof(pf), "tcpdump '%.200s'  ", p->pf_text);
	if (p->n_hidden)
		snprintf(hid, sizeof(hid), "  %zu idle/closed hidden (i)", p->n_hidden);
	if (p->group == FG_CONNECTION || p->in_group)
		snprintf(buf, len, "%s%s%s", pf, t, hid);
	else
		snprintf(buf, len, "%sby %s  %s (%zu flows)%s", pf, flow_group_name(p->group), t,
			 p->snap ? p->snap->n_flows : 0, hid);
}

static struct table *flows_table(struct pane *pp)
{
	return active((struct flows_pane *)pp);
}

static void flows_save(struct pane *pp, FILE *f)
{
	struct flows_pane *p = (struct flows_pane *)pp;

	table_settings_write(&p->conns, f, "flows");
	table_settings_write(&p->groups, f, "flows.groups");
	fprintf(f, "flows.group=%s\nflows.hide_idle=%d\n", group_ids[p->group], p->hide_idle);
}

static int flows_load(struct pane *pp, const char *key, const char *value, char *err, size_t errlen)
{
	struct flows_pane *p = (struct flows_pane *)pp;
	int r;

	if (!strcmp(key, "flows.group")) {
		for (int g = 0; g < FG_MAX; g++)
			if (!strcmp(value, group_ids[g])) {
				set_group(p, g);
				return 1;
			}
		snprintf(err, errlen, "flows.group is connection, remote, service or process");
		return -1;
	}
	if (!strcmp(key, "flows.hide_idle")) {
		if (strcmp(value, "0") && strcmp(value, "1")) {
			snprintf(err, errlen, "flows.hide_idle is 0 or 1");
			return -1;
		}
		p->hide_idle = value[0] == '1';
		return 1;
	}
	r = table_settings_apply(&p->groups, "flows.groups", key, value, err, errlen);
	return r ? r : table_settings_apply(&p->conns, "flows", key, value, err, errlen);
}

static void flows_destroy(struct pane *pp)
{
	struct flows_pane *p = (struct flows_pane *)pp;

	table_fini(&p->conns);
	table_fini(&p->groups);
	pfilter__free(p->pf);
	free(p->shown);
	free(p->g);
	free(p);
}

static const struct key_binding flows_keys[] = {
	KEYS_ENTER(ACT_ENTER, "details of the flow / the flows of the group", "Details"),
	{ 'v', "v", ACT_GROUP, 0,
	  "view: flows by connection, remote host, local service, process (cycles)", "Group" },
	{ 'i', "i", ACT_HIDE_IDLE, 0,
	  "hide or show idle flows (no packet for 10 s) and closed connections", "Idle" },
	/* help only: the footer has no room left for it at 80 columns */
	{ 'w', "w", ACT_WRITE, 0, "write the flow's packets to a pcapng file (w again stops)",
	  NULL },
	/* not in the footer: at 80 columns it would push "? Help" off (listed by ?) */
	{ 'b', "b", ACT_BLOCK, 0, "block the remote address of the flow or group (XDP firewall)",
	  NULL },
};
static const struct keymap flows_keymap = KEYMAP("Flows", flows_keys);
static const struct keymap *const flows_maps[] = { &flows_keymap, &keys_list, NULL };

static const struct pane_class flows_class = {
	.name = "Flows",
	.keys = flows_maps,
	.display = flows_display,
	.on_key = flows_on_key,
	.table = flows_table,
	.id = "flows",
	.save = flows_save,
	.load = flows_load,
	.prompt = flows_prompt,
	.info = flows_info,
	.destroy = flows_destroy,
};

struct pane *flows_pane__new(struct ui *ui)
{
	struct flows_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &flows_class;
	p->told_col = -1; /* nothing asked yet */
	memcpy(p->gcols, group_cols, sizeof(group_cols));
	set_group(p, FG_CONNECTION);
	p->hide_idle = 1;
	table_init(&p->conns, flow_cols, FC_MAX, &conn_ops, p, "flows");
	table_reset(&p->conns, FC_RX_BPS);
	table_init(&p->groups, p->gcols, GC_MAX, &group_ops, p, "groups");
	table_reset(&p->groups, GC_RX_BPS);
	return &p->base;
}
