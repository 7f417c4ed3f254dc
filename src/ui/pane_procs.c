/* The Processes pane: socket usage per process (rates, totals, sockets by kind); Enter shows its sockets and flows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/format.h"
#include "ui/panes.h"

enum pcol {
	PC_PID,
	PC_COMM,
	PC_RX_BPS,
	PC_TX_BPS,
	PC_RX_BYTES,
	PC_TX_BYTES,
	PC_SOCKS,
	PC_TCP,
	PC_UDP,
	PC_LISTEN,
	PC_EST,
	PC_CONN,
	PC_FLOWS,
	PC_RETRANS,
	PC_STATE,
	PC_CMDLINE,
	PC_MAX,
};

enum psort {
	PS_RX_BPS = 0,
	PS_TX_BPS,
	PS_RX_BYTES,
	PS_TX_BYTES,
	PS_SOCKS,
	PS_CONN,
	PS_PID,
	PS_COMM,
	PS_MAX,
};

static const char *const psort_names[PS_MAX] = { "rx bps",  "tx bps", "rx bytes", "tx bytes",
						 "sockets", "conn/s", "pid",	  "comm" };

static const struct {
	const char *title;
	int width;
	int right;
	int sort;
} cols[PC_MAX] = {
	[PC_PID] = { "PID", 7, 1, PS_PID },
	[PC_COMM] = { "COMM", 15, 0, PS_COMM },
	[PC_RX_BPS] = { "RX BPS", 7, 1, PS_RX_BPS },
	[PC_TX_BPS] = { "TX BPS", 7, 1, PS_TX_BPS },
	[PC_RX_BYTES] = { "RX BYTES", 8, 1, PS_RX_BYTES },
	[PC_TX_BYTES] = { "TX BYTES", 8, 1, PS_TX_BYTES },
	[PC_SOCKS] = { "SOCKS", 5, 1, PS_SOCKS },
	[PC_TCP] = { "TCP", 4, 1, -1 },
	[PC_UDP] = { "UDP", 4, 1, -1 },
	[PC_LISTEN] = { "LSTN", 4, 1, -1 },
	[PC_EST] = { "ESTB", 4, 1, -1 },
	[PC_CONN] = { "CONN/S", 6, 1, PS_CONN },
	[PC_FLOWS] = { "FLOWS", 5, 1, -1 },
	[PC_RETRANS] = { "RETR", 5, 1, -1 },
	[PC_STATE] = { "STATE", 6, 0, -1 },
	[PC_CMDLINE] = { "COMMAND", 30, 0, -1 },
};

struct procs_pane {
	struct pane base;
	uint32_t *idx;
	size_t cap;
	struct list_state ls;
	int sort, reverse;
	char filter[128];
	uint32_t sel_pid; /* the selection follows its process across refreshes */
};

static const struct snapshot_procs *snap_procs(struct ui *ui)
{
	return ui->snap ? ui->snap->procs : NULL;
}

static int cmp_pid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static const struct proc_row *find_pid(const struct snapshot_procs *sp, uint32_t pid)
{
	if (!sp || !sp->n_rows)
		return NULL;
	/* rows come sorted by pid, which is proc_row's first member */
	return bsearch(&pid, sp->rows, sp->n_rows, sizeof(*sp->rows), cmp_pid);
}

static const struct snapshot_procs *g_sp; /* qsort has no context argument in C11 */
static int g_key, g_rev;

#define CMP_DESC(a, b) (((b) > (a)) - ((b) < (a)))

static int cmp_row(const void *a, const void *b)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct proc_row *x = &g_sp->rows[ia], *y = &g_sp->rows[ib];
	int r = 0;

	switch (g_key) {
	case PS_RX_BPS:
		r = CMP_DESC(x->rx_bps, y->rx_bps);
		break;
	case PS_TX_BPS:
		r = CMP_DESC(x->tx_bps, y->tx_bps);
		break;
	case PS_RX_BYTES:
		r = CMP_DESC(x->rx_bytes, y->rx_bytes);
		break;
	case PS_TX_BYTES:
		r = CMP_DESC(x->tx_bytes, y->tx_bytes);
		break;
	case PS_SOCKS:
		r = CMP_DESC(x->sockets, y->sockets);
		break;
	case PS_CONN:
		r = CMP_DESC(x->conn_rate, y->conn_rate);
		break;
	case PS_PID:
		r = (x->pid > y->pid) - (x->pid < y->pid);
		break;
	case PS_COMM:
		r = strcmp(x->comm, y->comm);
		break;
	default:
		break;
	}
	if (!r && g_key <= PS_TX_BYTES) /* equal rates: the bigger total first */
		r = CMP_DESC(x->rx_bytes + x->tx_bytes, y->rx_bytes + y->tx_bytes);
	if (g_rev)
		r = -r;
	return r ? r : (x->pid > y->pid) - (x->pid < y->pid);
}

static void rescan(struct procs_pane *p, struct ui *ui)
{
	const struct snapshot_procs *sp = snap_procs(ui);
	size_t n = 0;

	p->ls.n = 0;
	if (!sp)
		return;
	if (p->cap < sp->n_rows) {
		uint32_t *ni = realloc(p->idx, sp->n_rows * sizeof(*ni));

		if (!ni)
			return;
		p->idx = ni;
		p->cap = sp->n_rows;
	}
	for (size_t i = 0; i < sp->n_rows; i++) {
		const struct proc_row *r = &sp->rows[i];
		char text[600];

		if (p->filter[0]) {
			snprintf(text, sizeof(text), "%u %s %s %s%s", r->pid, r->comm, r->cmdline,
				 r->cgroup, r->exited ? " exited" : "");
			if (!strcasestr(text, p->filter))
				continue;
		}
		p->idx[n++] = (uint32_t)i;
	}
	g_sp = sp;
	g_key = p->sort;
	g_rev = p->reverse;
	qsort(p->idx, n, sizeof(*p->idx), cmp_row);
	p->ls.n = n;
	for (size_t i = 0; i < n && p->sel_pid; i++)
		if (sp->rows[p->idx[i]].pid == p->sel_pid)
			p->ls.sel = i;
}

static const struct proc_row *sel_row(struct procs_pane *p, struct ui *ui)
{
	const struct snapshot_procs *sp = snap_procs(ui);

	if (!sp || p->ls.sel >= p->ls.n)
		return NULL;
	return &sp->rows[p->idx[p->ls.sel]];
}

static void cell_text(const struct proc_row *r, int c, char *buf, size_t len, enum role *role)
{
	*role = ROLE_NORMAL;
	buf[0] = '\0';
	switch (c) {
	case PC_PID:
		snprintf(buf, len, "%u", r->pid);
		break;
	case PC_COMM:
		/* comm and the command line are whatever the process made them: escape */
		ui_escape(buf, len, r->comm, sizeof(r->comm));
		break;
	case PC_RX_BPS:
		fmt_human(r->rx_bps, buf, len);
		*role = r->rx_bps > 0 ? ROLE_RX : ROLE_DIM;
		break;
	case PC_TX_BPS:
		fmt_human(r->tx_bps, buf, len);
		*role = r->tx_bps > 0 ? ROLE_TX : ROLE_DIM;
		break;
	case PC_RX_BYTES:
		fmt_human((double)r->rx_bytes, buf, len);
		break;
	case PC_TX_BYTES:
		fmt_human((double)r->tx_bytes, buf, len);
		break;
	case PC_SOCKS:
		snprintf(buf, len, "%u", r->sockets);
		break;
	case PC_TCP:
		snprintf(buf, len, "%u", r->tcp);
		break;
	case PC_UDP:
		snprintf(buf, len, "%u", r->udp);
		break;
	case PC_LISTEN:
		snprintf(buf, len, "%u", r->listen);
		break;
	case PC_EST:
		snprintf(buf, len, "%u", r->established);
		break;
	case PC_CONN:
		fmt_human(r->conn_rate, buf, len);
		*role = r->conn_rate > 0 ? ROLE_NORMAL : ROLE_DIM;
		break;
	case PC_FLOWS:
		snprintf(buf, len, "%u", r->flows);
		break;
	case PC_RETRANS:
		snprintf(buf, len, "%llu", (unsigned long long)r->retrans);
		*role = r->retrans ? ROLE_WARN : ROLE_DIM;
		break;
	case PC_STATE:
		snprintf(buf, len, "%s", r->exited ? "exited" : "live");
		*role = r->exited ? ROLE_DIM : ROLE_OK;
		break;
	case PC_CMDLINE:
		ui_escape(buf, len, r->cmdline[0] ? r->cmdline : r->comm, sizeof(r->cmdline));
		break;
	default:
		break;
	}
}

static void put_cell(struct ui *ui, int y, int x, int w, int c, enum role role, const char *s)
{
	if (cols[c].right)
		ui_put_right(ui, y, x, w, role, s);
	else
		ui_put(ui, y, x, w, role, s);
}

static int col_w(int c, int x, int edge)
{
	return c == PC_MAX - 1 || x + cols[c].width > edge ? edge - x : cols[c].width;
}

/* The byte counters need both socket tracepoints; without them only /proc attribution is left. */
static const char *missing_probe(struct ui *ui)
{
	static const char *const need[] = { "tracepoint:sock:sock_recv_length",
					    "tracepoint:sock:sock_send_length" };

	for (size_t k = 0; ui->snap && k < sizeof(need) / sizeof(need[0]); k++)
		for (size_t i = 0; i < ui->snap->n_probes; i++)
			if (!strcmp(ui->snap->probes[i].id, need[k]) &&
			    ui->snap->probes[i].state != PS_ATTACHED)
				return need[k] + 11;
	return NULL;
}

static void procs_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct procs_pane *p = (struct procs_pane *)pp;
	int h = r->h - 1, x = r->x, edge = r->x + r->w;
	const char *miss = missing_probe(ui);

	if (pane_stale(pp, ui))
		rescan(p, ui);
	if (miss) {
		char msg[160];

		snprintf(msg, sizeof(msg),
			 " %s is not attached: byte counts stand still, processes come from /proc "
			 "only",
			 miss);
		ui_put(ui, r->y + r->h - 1, r->x, r->w, ROLE_WARN, msg);
		h--;
	}
	ui_put(ui, r->y, r->x, r->w, ROLE_HEADER, "");
	for (int c = 0; c < PC_MAX && x < edge; c++) {
		int w = col_w(c, x, edge), sorted = cols[c].sort == p->sort;
		int down = (p->sort == PS_PID || p->sort == PS_COMM) == !!p->reverse;
		char t[48];

		snprintf(t, sizeof(t), "%s%s", cols[c].title,
			 !sorted ? "" : ui_sort_arrow(ui, down));
		put_cell(ui, r->y, x, w, c, sorted ? ROLE_HEADER_SORTED : ROLE_HEADER, t);
		x += w + 1;
	}
	list_fit(&p->ls, h);
	if (!p->ls.n) {
		ui_put(ui, r->y + 1, r->x, r->w, ROLE_DIM,
		       !ui->snap	 ? " waiting for data..."
		       : !snap_procs(ui) ? " no per-process data (socket tracepoints not read)"
		       : p->filter[0]	 ? " no processes match the filter (Esc clears it)"
					 : " no process has used a network socket yet");
		return;
	}
	for (int i = 0; i < h && p->ls.top + (size_t)i < p->ls.n; i++) {
		size_t ri = p->ls.top + (size_t)i;
		const struct proc_row *row = &snap_procs(ui)->rows[p->idx[ri]];
		int sel = ri == p->ls.sel, y = r->y + 1 + i;

		x = r->x;
		ui_put(ui, y, r->x, r->w, sel ? ROLE_SELECTED : ROLE_NORMAL, "");
		for (int c = 0; c < PC_MAX && x < edge; c++) {
			int w = col_w(c, x, edge);
			enum role role;
			char buf[300];

			cell_text(row, c, buf, sizeof(buf), &role);
			put_cell(ui, y, x, w, c, sel ? ROLE_SELECTED : role, buf);
			x += w + 1;
		}
	}
}

/* ---- the drill-down overlay: one process, its sockets and its flows ---- */

struct proc_detail {
	struct pane base;
	struct proc_row row; /* last copy seen, kept when the process leaves the table */
	int gone;
	size_t top; /* lines scrolled */
};

static void dline(struct ui *ui, const struct rect *r, int *y, size_t *n, size_t top,
		  enum role role, const char *s)
{
	/* lines before `top` are skipped: everything under the title scrolls */
	if ((*n)++ < top)
		return;
	if (*y < r->y + r->h)
		ui_put(ui, (*y)++, r->x, r->w, role, s);
}

static void detail_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct proc_detail *p = (struct proc_detail *)pp;
	const struct snapshot_procs *sp = snap_procs(ui);
	const struct proc_row *cur = find_pid(sp, p->row.pid);
	char buf[512], esc[300], a[16], b[16], c[16], d[16];
	int y = r->y;
	size_t n = 0;

	if (cur)
		p->row = *cur;
	p->gone = !cur;
	const struct proc_row *pr = &p->row;
	ui_escape(esc, sizeof(esc), pr->comm, sizeof(pr->comm));
	snprintf(buf, sizeof(buf), " Process %s/%u%s%s", esc, pr->pid,
		 pr->exited ? "  (exited)" : "",
		 p->gone ? "  (gone from the table; last values)" : "");
	ui_put(ui, y++, r->x, r->w, ROLE_TITLE, buf);
	ui_escape(esc, sizeof(esc), pr->cmdline, sizeof(pr->cmdline));
	snprintf(buf, sizeof(buf), " command  %s", esc[0] ? esc : "-");
	dline(ui, r, &y, &n, p->top, ROLE_NORMAL, buf);
	ui_escape(esc, sizeof(esc), pr->cgroup, sizeof(pr->cgroup));
	snprintf(buf, sizeof(buf), " cgroup   %s (id %llu)", esc[0] ? esc : "-",
		 (unsigned long long)pr->cgroup_id);
	dline(ui, r, &y, &n, p->top, ROLE_NORMAL, buf);
	snprintf(buf, sizeof(buf),
		 " rx %s bytes in %llu calls (%s bit/s)   tx %s bytes in %llu calls (%s bit/s)",
		 fmt_human((double)pr->rx_bytes, a, sizeof(a)), (unsigned long long)pr->rx_calls,
		 fmt_human(pr->rx_bps, b, sizeof(b)), fmt_human((double)pr->tx_bytes, c, sizeof(c)),
		 (unsigned long long)pr->tx_calls, fmt_human(pr->tx_bps, d, sizeof(d)));
	dline(ui, r, &y, &n, p->top, ROLE_NORMAL, buf);
	snprintf(buf, sizeof(buf),
		 " connects %llu  accepts %llu  (%.1f/s)   flows %u  retrans %llu  drops %llu",
		 (unsigned long long)pr->connects, (unsigned long long)pr->accepts, pr->conn_rate,
		 pr->flows, (unsigned long long)pr->retrans, (unsigned long long)pr->drops);
	dline(ui, r, &y, &n, p->top, ROLE_NORMAL, buf);
	dline(ui, r, &y, &n, p->top, ROLE_NORMAL, "");
	snprintf(buf, sizeof(buf), " Sockets: %u open (tcp %u, udp %u, other %u; listening %u)",
		 pr->sockets, pr->tcp, pr->udp, pr->other, pr->listen);
	dline(ui, r, &y, &n, p->top, ROLE_TITLE, buf);
	dline(ui, r, &y, &n, p->top, ROLE_HEADER,
	      " PROTO LOCAL                         REMOTE                        STATE        "
	      "RX BYTES TX BYTES  NOTE");
	for (uint32_t k = 0; cur && sp && k < pr->n_socks && pr->first_sock + k < sp->n_socks;
	     k++) {
		const struct proc_sock_row *s = &sp->socks[pr->first_sock + k];
		char l[80], rm[80], st[20];
		int v6 = s->family == PL_AF_INET6;

		ui_escape(esc, sizeof(esc), s->local, sizeof(s->local));
		fmt_endpoint(esc, s->local_port, v6, l, sizeof(l));
		ui_escape(esc, sizeof(esc), s->remote, sizeof(s->remote));
		fmt_endpoint(esc, s->remote_port, v6, rm, sizeof(rm));
		ui_escape(st, sizeof(st), s->state, sizeof(s->state));
		snprintf(buf, sizeof(buf), " %-5s %-29s %-29s %-11s %9s %8s  %s%s%s",
			 proto_name(s->proto), l, s->remote_port ? rm : "*", st[0] ? st : "-",
			 s->from_proc ? "-" : fmt_human((double)s->rx_bytes, a, sizeof(a)),
			 s->from_proc ? "-" : fmt_human((double)s->tx_bytes, b, sizeof(b)),
			 s->open ? "" : "closed ", s->flags & 1 ? "listen " : "",
			 s->from_proc ? "from /proc" : "");
		dline(ui, r, &y, &n, p->top, s->open ? ROLE_NORMAL : ROLE_DIM, buf);
	}
	dline(ui, r, &y, &n, p->top, ROLE_NORMAL, "");
	dline(ui, r, &y, &n, p->top, ROLE_TITLE, " Flows of this process");
	dline(ui, r, &y, &n, p->top, ROLE_HEADER,
	      " IFACE    PROTO LOCAL                         REMOTE                         RX BPS "
	      " TX BPS RX BYTES TX BYTES");
	for (size_t i = 0; ui->snap && i < ui->snap->n_flows; i++) {
		const struct flow_row *f = &ui->snap->flows[i];
		char l[80], rm[80], ifn[20];
		int v6 = f->key.family == PL_AF_INET6;

		if (f->pid != pr->pid)
			continue;
		ui_escape(ifn, sizeof(ifn), f->iface, sizeof(f->iface));
		ui_escape(esc, sizeof(esc), f->local, sizeof(f->local));
		fmt_endpoint(esc, f->key.local_port, v6, l, sizeof(l));
		ui_escape(esc, sizeof(esc), f->remote, sizeof(f->remote));
		fmt_endpoint(esc, f->key.remote_port, v6, rm, sizeof(rm));
		snprintf(buf, sizeof(buf), " %-8s %-5s %-29s %-29s %7s %7s %8s %8s", ifn,
			 proto_name(f->key.proto), l, rm, fmt_human(f->rx_bps, a, sizeof(a)),
			 fmt_human(f->tx_bps, b, sizeof(b)),
			 fmt_human((double)f->rx_bytes, c, sizeof(c)),
			 fmt_human((double)f->tx_bytes, d, sizeof(d)));
		dline(ui, r, &y, &n, p->top, ROLE_NORMAL, buf);
	}
	if (p->top >= n)
		p->top = n ? n - 1 : 0;
}

static int detail_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct proc_detail *p = (struct proc_detail *)pp;

	switch (act) {
	case ACT_UP:
		if (p->top)
			p->top--;
		return R_HANDLED | R_REDRAW;
	case ACT_DOWN:
		p->top++;
		return R_HANDLED | R_REDRAW;
	case ACT_PGUP:
		p->top = p->top > 10 ? p->top - 10 : 0;
		return R_HANDLED | R_REDRAW;
	case ACT_PGDN:
		p->top += 10;
		return R_HANDLED | R_REDRAW;
	case ACT_HOME:
		p->top = 0;
		return R_HANDLED | R_REDRAW;
	case ACT_ENTER:
		return R_CLOSE;
	default:
		return R_IGNORED;
	}
}

static void detail_destroy(struct pane *pp)
{
	free(pp);
}

static const struct pane_class detail_class = {
	.name = "Process",
	.hints = "Esc|Back|Up/Dn|Scroll",
	.live = 1,
	.display = detail_display,
	.on_key = detail_on_key,
	.destroy = detail_destroy,
};

static struct pane *proc_detail__new(const struct proc_row *row)
{
	struct proc_detail *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &detail_class;
	p->row = *row;
	return &p->base;
}

/* ---- list keys ---- */

static int procs_on_click(struct pane *pp, struct ui *ui, int y, int x)
{
	struct procs_pane *p = (struct procs_pane *)pp;
	const struct proc_row *row;
	int cx = pp->r.x, edge = pp->r.x + pp->r.w;

	if (y == pp->r.y) {
		/* a click on a sortable header sorts by it; a second click reverses */
		for (int c = 0; c < PC_MAX && cx < edge; c++) {
			int w = col_w(c, cx, edge);

			if (x >= cx && x < cx + w + 1 && cols[c].sort >= 0) {
				if (p->sort == cols[c].sort)
					p->reverse = !p->reverse;
				p->sort = cols[c].sort;
				break;
			}
			cx += w + 1;
		}
		return R_HANDLED | R_RESCAN;
	}
	if (y > pp->r.y && p->ls.top + (size_t)(y - pp->r.y - 1) < p->ls.n) {
		p->ls.sel = p->ls.top + (size_t)(y - pp->r.y - 1);
		row = sel_row(p, ui);
		if (row)
			p->sel_pid = row->pid;
	}
	return R_HANDLED | R_REDRAW;
}

static int procs_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct procs_pane *p = (struct procs_pane *)pp;
	const struct proc_row *row;
	int ret;

	if (act == ACT_CLICK)
		return procs_on_click(pp, ui, UI_CLICK_Y(key), UI_CLICK_X(key));
	switch (act) {
	case ACT_ENTER:
		row = sel_row(p, ui);
		if (row)
			ui_push_overlay(ui, proc_detail__new(row));
		return R_HANDLED | R_REDRAW;
	case ACT_SORT:
		p->sort = (p->sort + 1) % PS_MAX;
		return R_HANDLED | R_RESCAN;
	case ACT_REVERSE:
		p->reverse = !p->reverse;
		return R_HANDLED | R_RESCAN;
	case ACT_BACK:
		if (!p->filter[0])
			return R_IGNORED;
		p->filter[0] = '\0';
		return R_HANDLED | R_RESCAN;
	default:
		ret = list_move(&p->ls, act);
		row = sel_row(p, ui);
		if (ret && row)
			p->sel_pid = row->pid;
		return ret;
	}
}

static void procs_set_filter(struct pane *pp, struct ui *ui, const char *text)
{
	struct procs_pane *p = (struct procs_pane *)pp;

	snprintf(p->filter, sizeof(p->filter), "%s", text);
	pp->rescan = 1;
	ui->dirty = 1;
}

static const char *procs_get_filter(struct pane *pp)
{
	return ((struct procs_pane *)pp)->filter;
}

static void procs_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct procs_pane *p = (struct procs_pane *)pp;
	const struct snapshot_procs *sp = snap_procs(ui);
	size_t exited = 0;
	int down = (p->sort == PS_PID || p->sort == PS_COMM) == !!p->reverse;

	if (pane_stale(pp, ui))
		rescan(p, ui);
	for (size_t i = 0; sp && i < sp->n_rows; i++)
		exited += sp->rows[i].exited;
	snprintf(buf, len,
		 "%s%.60s%ssort %s %s  %zu/%zu processes (%zu exited)  %llu/%llu flows attributed",
		 p->filter[0] ? "filter '" : "", p->filter, p->filter[0] ? "'  " : "",
		 psort_names[p->sort], ui_sort_arrow(ui, down), p->ls.n, sp ? sp->n_rows : 0,
		 exited, (unsigned long long)(sp ? sp->flows_attributed : 0),
		 (unsigned long long)(sp ? sp->flows : 0));
}

static void procs_destroy(struct pane *pp)
{
	struct procs_pane *p = (struct procs_pane *)pp;

	free(p->idx);
	free(p);
}

static const struct pane_class procs_class = {
	.name = "Processes",
	.hints = "Enter|Sockets & flows",
	.display = procs_display,
	.on_key = procs_on_key,
	.set_filter = procs_set_filter,
	.get_filter = procs_get_filter,
	.info = procs_info,
	.destroy = procs_destroy,
};

struct pane *procs_pane__new(struct ui *ui)
{
	struct procs_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &procs_class;
	p->sort = PS_RX_BPS;
	return &p->base;
}
