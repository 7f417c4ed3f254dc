/* The Flows pane: the flow table with rates, history sparkline, flags, TCP state and process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/format.h"
#include "ui/panes.h"

enum fcol {
	FC_IFACE,
	FC_PROTO,
	FC_LOCAL,
	FC_REMOTE,
	FC_RX_PPS,
	FC_RX_BPS,
	FC_TX_PPS,
	FC_TX_BPS,
	FC_SPARK,
	FC_PACKETS,
	FC_RX_BYTES,
	FC_TX_BYTES,
	FC_FLAGS,
	FC_STATE,
	FC_SRTT,
	FC_CWND,
	FC_RETRANS,
	FC_DROPS,
	FC_PROCESS,
	FC_MAX,
};

struct col {
	const char *title;
	int width;
	int right;
	int sort; /* enum flow_sort, or -1 */
};

/* Rates first and the history next to them: on 80-120 columns that is what fits. */
static const struct col cols[FC_MAX] = {
	[FC_IFACE] = { "IFACE", 8, 0, FS_IFACE },
	[FC_PROTO] = { "PROTO", 5, 0, FS_PROTO },
	[FC_LOCAL] = { "LOCAL", 21, 0, FS_LOCAL },
	[FC_REMOTE] = { "REMOTE", 21, 0, FS_REMOTE },
	[FC_RX_PPS] = { "RX PPS", 7, 1, FS_RX_PPS },
	[FC_RX_BPS] = { "RX BPS", 7, 1, FS_RX_BPS },
	[FC_TX_PPS] = { "TX PPS", 7, 1, -1 },
	[FC_TX_BPS] = { "TX BPS", 7, 1, FS_TX_BPS },
	[FC_SPARK] = { "RX HISTORY", 12, 0, -1 },
	[FC_PACKETS] = { "PKTS", 7, 1, FS_PACKETS },
	[FC_RX_BYTES] = { "RX BYTES", 8, 1, FS_RX_BYTES },
	[FC_TX_BYTES] = { "TX BYTES", 8, 1, FS_TX_BYTES },
	[FC_FLAGS] = { "FLAGS", 6, 0, -1 },
	[FC_STATE] = { "STATE", 11, 0, -1 },
	[FC_SRTT] = { "SRTT", 7, 1, FS_SRTT },
	[FC_CWND] = { "CWND", 5, 1, -1 },
	[FC_RETRANS] = { "RETR", 5, 1, FS_RETRANS },
	[FC_DROPS] = { "DROPS", 5, 1, -1 },
	[FC_PROCESS] = { "PROCESS", 22, 0, -1 },
};

struct flows_pane {
	struct pane base;
	uint32_t *idx;
	size_t cap;
	struct list_state ls;
	enum flow_sort sort;
	int reverse;
	int hscroll;
	char filter[128];
	struct flow_key sel_key; /* the selection follows its flow across refreshes and re-sorts */
	int have_sel;
};

static int sort_is_numeric(enum flow_sort s)
{
	return !(s == FS_LOCAL || s == FS_REMOTE || s == FS_PROTO || s == FS_IFACE);
}

static const char *sort_arrow(struct ui *ui, enum flow_sort s, int reverse)
{
	return ui_sort_arrow(ui, sort_is_numeric(s) != !!reverse);
}

static const struct flow_row *sel_row(struct flows_pane *p, struct ui *ui)
{
	if (!ui->snap || !p->ls.n || p->ls.sel >= p->ls.n)
		return NULL;
	return &ui->snap->flows[p->idx[p->ls.sel]];
}

static void remember_sel(struct flows_pane *p, struct ui *ui)
{
	const struct flow_row *f = sel_row(p, ui);

	p->have_sel = !!f;
	if (f)
		p->sel_key = f->key;
}

/* Runs once per snapshot, filter or sort change, never per frame: 100k flows stay cheap. */
static void rescan(struct flows_pane *p, struct ui *ui)
{
	const struct snapshot *s = ui->snap;

	if (!s) {
		p->ls.n = 0;
		return;
	}
	if (p->cap < s->n_flows) {
		uint32_t *n = realloc(p->idx, s->n_flows * sizeof(*n));

		if (!n) {
			p->ls.n = 0;
			ui_status_err(ui, "out of memory sorting %zu flows", s->n_flows);
			return;
		}
		p->idx = n;
		p->cap = s->n_flows;
	}
	p->ls.n = flow_view(s, p->filter, p->sort, p->reverse, p->idx);
	if (p->have_sel) {
		for (size_t i = 0; i < p->ls.n; i++) {
			if (!memcmp(&s->flows[p->idx[i]].key, &p->sel_key, sizeof(p->sel_key))) {
				p->ls.sel = i;
				break;
			}
		}
	}
	if (p->ls.sel >= p->ls.n)
		p->ls.sel = p->ls.n ? p->ls.n - 1 : 0;
}

static void cell_text(struct ui *ui, const struct flow_row *f, int c, char *buf, size_t len,
		      enum role *role)
{
	char tmp[64], esc[64];
	int v6 = f->key.family == PL_AF_INET6;

	*role = ROLE_NORMAL;
	buf[0] = '\0';
	switch (c) {
	case FC_IFACE:
		ui_escape(buf, len, f->iface, sizeof(f->iface));
		break;
	case FC_PROTO:
		snprintf(buf, len, "%s", proto_name(f->key.proto));
		break;
	case FC_LOCAL:
		ui_escape(esc, sizeof(esc), f->local, sizeof(f->local));
		fmt_endpoint(esc, f->key.local_port, v6, buf, len);
		break;
	case FC_REMOTE:
		ui_escape(esc, sizeof(esc), f->remote, sizeof(f->remote));
		fmt_endpoint(esc, f->key.remote_port, v6, buf, len);
		break;
	case FC_RX_PPS:
		fmt_human(f->rx_pps, buf, len);
		*role = f->rx_pps > 0 ? ROLE_RX : ROLE_DIM;
		break;
	case FC_RX_BPS:
		fmt_human(f->rx_bps, buf, len);
		*role = f->rx_bps > 0 ? ROLE_RX : ROLE_DIM;
		break;
	case FC_TX_PPS:
		fmt_human(f->tx_pps, buf, len);
		*role = f->tx_pps > 0 ? ROLE_TX : ROLE_DIM;
		break;
	case FC_TX_BPS:
		fmt_human(f->tx_bps, buf, len);
		*role = f->tx_bps > 0 ? ROLE_TX : ROLE_DIM;
		break;
	case FC_PACKETS:
		fmt_human((double)(f->rx_packets + f->tx_packets), buf, len);
		break;
	case FC_RX_BYTES:
		fmt_human((double)f->rx_bytes, buf, len);
		break;
	case FC_TX_BYTES:
		fmt_human((double)f->tx_bytes, buf, len);
		break;
	case FC_FLAGS:
		flow_flags_str(f->tcp_flags, tmp);
		snprintf(buf, len, "%s", tmp);
		*role = f->tcp_flags & PL_TCP_RST ? ROLE_WARN : ROLE_NORMAL;
		break;
	case FC_STATE:
		ui_escape(buf, len, f->state, sizeof(f->state));
		*role = strcmp(f->state, "ESTABLISHED") ? ROLE_DIM : ROLE_NORMAL;
		break;
	case FC_SRTT:
		fmt_usec(f->srtt_us, buf, len);
		break;
	case FC_CWND:
		if (f->cwnd)
			snprintf(buf, len, "%u", f->cwnd);
		else
			snprintf(buf, len, "-");
		*role = f->cwnd ? ROLE_NORMAL : ROLE_DIM;
		break;
	case FC_RETRANS:
		snprintf(buf, len, "%llu", (unsigned long long)f->retrans);
		*role = f->retrans ? ROLE_WARN : ROLE_DIM;
		break;
	case FC_DROPS:
		fmt_human((double)f->drops, buf, len);
		*role = f->drops ? ROLE_WARN : ROLE_DIM;
		break;
	case FC_PROCESS:
		/* comm came from the traced task: it may hold any byte */
		ui_escape(esc, sizeof(esc), f->comm, sizeof(f->comm));
		if (f->pid)
			snprintf(buf, len, "%s/%u", esc, f->pid);
		else
			snprintf(buf, len, "%s", esc);
		break;
	default:
		break;
	}
	(void)ui;
}

static int col_width(int c, int x, int right_edge)
{
	int w = cols[c].width;

	/* the last column takes what is left, so long process names are not cut needlessly */
	if (c == FC_MAX - 1 || x + w > right_edge)
		w = right_edge - x;
	return w;
}

static void draw_header(struct flows_pane *p, struct ui *ui, const struct rect *r)
{
	int x = r->x, edge = r->x + r->w;

	ui_put(ui, r->y, r->x, r->w, ROLE_HEADER, "");
	for (int c = p->hscroll; c < FC_MAX && x < edge; c++) {
		int w = col_width(c, x, edge), sorted = cols[c].sort == (int)p->sort;
		char t[48];

		snprintf(t, sizeof(t), "%s%s", cols[c].title,
			 sorted ? sort_arrow(ui, p->sort, p->reverse) : "");
		if (cols[c].right)
			ui_put_right(ui, r->y, x, w, sorted ? ROLE_HEADER_SORTED : ROLE_HEADER, t);
		else
			ui_put(ui, r->y, x, w, sorted ? ROLE_HEADER_SORTED : ROLE_HEADER, t);
		x += w + 1;
	}
}

static void draw_row(struct flows_pane *p, struct ui *ui, const struct flow_row *f, int y,
		     const struct rect *r, int selected)
{
	int x = r->x, edge = r->x + r->w;

	ui_put(ui, y, r->x, r->w, selected ? ROLE_SELECTED : ROLE_NORMAL, "");
	for (int c = p->hscroll; c < FC_MAX && x < edge; c++) {
		int w = col_width(c, x, edge);
		enum role role;
		char buf[96];

		if (c == FC_SPARK) {
			ui_put_spark(ui, y, x, w, selected ? ROLE_SELECTED : ROLE_SPARK,
				     f->rx_hist + (PL_HIST_LEN - f->hist_len), f->hist_len);
		} else {
			cell_text(ui, f, c, buf, sizeof(buf), &role);
			if (selected)
				role = ROLE_SELECTED;
			if (cols[c].right)
				ui_put_right(ui, y, x, w, role, buf);
			else
				ui_put(ui, y, x, w, role, buf);
		}
		x += w + 1;
	}
}

static void flows_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct flows_pane *p = (struct flows_pane *)pp;
	int h = r->h - 1;

	if (pane_stale(pp, ui))
		rescan(p, ui);
	draw_header(p, ui, r);
	list_fit(&p->ls, h);
	if (!p->ls.n) {
		char msg[192];

		if (!ui->snap)
			snprintf(msg, sizeof(msg), " waiting for data...");
		else if (p->filter[0])
			snprintf(msg, sizeof(msg), " no flows match '%s' (Esc clears the filter)",
				 p->filter);
		else
			snprintf(msg, sizeof(msg), " no flows yet");
		ui_put(ui, r->y + 1, r->x, r->w, ROLE_DIM, msg);
		return;
	}
	/* only the rows on screen are formatted */
	for (int i = 0; i < h && p->ls.top + (size_t)i < p->ls.n; i++) {
		size_t ri = p->ls.top + (size_t)i;

		draw_row(p, ui, &ui->snap->flows[p->idx[ri]], r->y + 1 + i, r, ri == p->ls.sel);
	}
}

static int flows_on_click(struct pane *pp, struct ui *ui, int y, int x)
{
	struct flows_pane *p = (struct flows_pane *)pp;
	int cx = pp->r.x, edge = pp->r.x + pp->r.w;

	if (y == pp->r.y) {
		/* a click on a sortable header sorts by it; a second click reverses */
		for (int c = p->hscroll; c < FC_MAX && cx < edge; c++) {
			int w = col_width(c, cx, edge);

			if (x >= cx && x < cx + w + 1 && cols[c].sort >= 0) {
				if ((int)p->sort == cols[c].sort)
					p->reverse = !p->reverse;
				p->sort = cols[c].sort;
				break;
			}
			cx += w + 1;
		}
		return R_HANDLED | R_RESCAN;
	}
	if (p->ls.top + (size_t)(y - pp->r.y - 1) < p->ls.n) {
		p->ls.sel = p->ls.top + (size_t)(y - pp->r.y - 1);
		remember_sel(p, ui);
	}
	return R_HANDLED | R_REDRAW;
}

static int flows_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct flows_pane *p = (struct flows_pane *)pp;
	const struct flow_row *f;
	int ret;

	if (act == ACT_CLICK)
		return flows_on_click(pp, ui, UI_CLICK_Y(key), UI_CLICK_X(key));
	switch (act) {
	case ACT_ENTER:
		f = sel_row(p, ui);
		if (f)
			ui_push_overlay(ui, detail_pane__new(ui, f));
		return R_HANDLED | R_REDRAW;
	case ACT_SORT:
		p->sort = (p->sort + 1) % FS_MAX;
		return R_HANDLED | R_RESCAN;
	case ACT_REVERSE:
		p->reverse = !p->reverse;
		return R_HANDLED | R_RESCAN;
	case ACT_LEFT:
		if (p->hscroll > 0)
			p->hscroll--;
		return R_HANDLED | R_REDRAW;
	case ACT_RIGHT:
		if (p->hscroll < FC_MAX - 1)
			p->hscroll++;
		return R_HANDLED | R_REDRAW;
	case ACT_BACK:
		if (!p->filter[0])
			return R_IGNORED;
		p->filter[0] = '\0';
		return R_HANDLED | R_RESCAN;
	default:
		ret = list_move(&p->ls, act);
		if (ret)
			remember_sel(p, ui);
		return ret;
	}
}

static void flows_set_filter(struct pane *pp, struct ui *ui, const char *text)
{
	struct flows_pane *p = (struct flows_pane *)pp;

	snprintf(p->filter, sizeof(p->filter), "%s", text);
	pp->rescan = 1;
	ui->dirty = 1;
}

static const char *flows_get_filter(struct pane *pp)
{
	return ((struct flows_pane *)pp)->filter;
}

static void flows_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct flows_pane *p = (struct flows_pane *)pp;
	char f[160] = "";

	if (pane_stale(pp, ui))
		rescan(p, ui);
	if (p->filter[0])
		snprintf(f, sizeof(f), "filter '%.100s'  ", p->filter);
	snprintf(buf, len, "%ssort %s %s  %zu/%zu flows", f, flow_sort_name(p->sort),
		 sort_arrow(ui, p->sort, p->reverse), p->ls.n, ui->snap ? ui->snap->n_flows : 0);
}

static void flows_destroy(struct pane *pp)
{
	struct flows_pane *p = (struct flows_pane *)pp;

	free(p->idx);
	free(p);
}

static const struct pane_class flows_class = {
	.name = "Flows",
	.hints = "Enter|Details|<>|Columns",
	.display = flows_display,
	.on_key = flows_on_key,
	.set_filter = flows_set_filter,
	.get_filter = flows_get_filter,
	.info = flows_info,
	.destroy = flows_destroy,
};

struct pane *flows_pane__new(struct ui *ui)
{
	struct flows_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &flows_class;
	p->sort = FS_RX_BPS;
	return &p->base;
}
