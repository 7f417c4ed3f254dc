/* The Processes pane: socket usage per process (rates, totals, sockets by kind); Enter shows its sockets and flows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

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

#define NUM(id, t, d, w)                                   \
	{                                                  \
		id, t, d, w, 0, COL_RIGHT, SORT_DESC_FIRST \
	}

static const struct table_col cols[PC_MAX] = {
	[PC_PID] = { "pid", "PID", "process id", 7, 0, COL_RIGHT, SORT_ASC_FIRST },
	[PC_COMM] = { "comm", "COMM", "command name", 15, 0, 0, SORT_ASC_FIRST },
	/* payload the process read and wrote, not wire bytes: named apart from Flows' RX and TX */
	[PC_RX_BPS] = NUM("rx_bps", "READ b/s", "payload bits per second read from sockets", 9),
	[PC_TX_BPS] = NUM("tx_bps", "WRITE b/s", "payload bits per second written to sockets", 10),
	[PC_RX_BYTES] = NUM("rx_bytes", "READ B", "payload bytes read from sockets", 7),
	[PC_TX_BYTES] = NUM("tx_bytes", "WRITE B", "payload bytes written to sockets", 8),
	[PC_SOCKS] = NUM("sockets", "SOCKS", "open sockets", 6),
	[PC_TCP] = NUM("tcp", "TCP", "open TCP sockets", 4),
	[PC_UDP] = NUM("udp", "UDP", "open UDP sockets", 4),
	[PC_LISTEN] = NUM("listen", "LSTN", "listening sockets", 5),
	[PC_EST] = NUM("established", "ESTB", "established TCP connections", 5),
	[PC_CONN] = NUM("conn_rate", "CONN/S", "connects + accepts per second", 7),
	[PC_FLOWS] = NUM("flows", "FLOWS", "flows attributed to the process", 6),
	[PC_RETRANS] = NUM("retrans", "RETR", "retransmitted segments of its flows", 5),
	[PC_STATE] = { "state", "STATE", "live or exited", 6, 0, 0, SORT_ASC_FIRST },
	[PC_CMDLINE] = { "command", "COMMAND", "command line (Enter shows it whole)", 12, 255, 0,
			 SORT_ASC_FIRST },
};

#define EXPANDED_MAX 32

/* Exited processes of one name folded into one row: short-lived commands (91 curls) would bury
 * the live processes. agg is a process row with the sums of its members. */
struct exited_group {
	struct proc_row agg;
	uint32_t n;
	int placed; /* its row is in the list */
};

/* A row of the list: a process of the snapshot, or a group of exited ones. */
struct vrow {
	uint32_t idx;
	uint8_t group;
};

struct procs_pane {
	struct pane base;
	const struct snapshot_procs *sp;
	struct table t;
	struct vrow *rows;
	size_t n_rows, cap_rows;
	struct exited_group *groups;
	size_t n_groups, cap_groups;
	char expanded[EXPANDED_MAX][16]; /* names whose exited processes are listed one by one */
	size_t n_expanded;
	size_t n_exited;
};

static const struct proc_row *prow(const struct procs_pane *p, size_t row)
{
	const struct vrow *v = &p->rows[row];

	return v->group ? &p->groups[v->idx].agg : &p->sp->rows[v->idx];
}

static int is_expanded(const struct procs_pane *p, const char *comm)
{
	for (size_t i = 0; i < p->n_expanded; i++)
		if (!strncmp(p->expanded[i], comm, 16))
			return 1;
	return 0;
}

static void add_sums(struct proc_row *a, const struct proc_row *r)
{
	a->rx_bytes += r->rx_bytes;
	a->tx_bytes += r->tx_bytes;
	a->rx_calls += r->rx_calls;
	a->tx_calls += r->tx_calls;
	a->rx_bps += r->rx_bps;
	a->tx_bps += r->tx_bps;
	a->connects += r->connects;
	a->accepts += r->accepts;
	a->conn_rate += r->conn_rate;
	a->flows += r->flows;
	a->retrans += r->retrans;
	a->drops += r->drops;
	a->sockets += r->sockets;
	a->tcp += r->tcp;
	a->udp += r->udp;
	a->other += r->other;
	a->listen += r->listen;
	a->established += r->established;
	if (r->last_seen > a->last_seen)
		a->last_seen = r->last_seen;
}

static int grow(void **arr, size_t *cap, size_t want, size_t size)
{
	void *n;

	if (want <= *cap)
		return 0;
	n = realloc(*arr, want * size);
	if (!n)
		return -1;
	*arr = n;
	*cap = want;
	return 0;
}

/* The list's rows: every live process, every exited one whose name is expanded or alone, and
 * one row per name for the other exited ones. Linear: names are found through a hash. */
static int build_rows(struct procs_pane *p)
{
	const struct snapshot_procs *sp = p->sp;
	size_t n = sp ? sp->n_rows : 0, nb = 16;
	uint32_t *slot, *grp;

	p->n_rows = p->n_groups = p->n_exited = 0;
	if (!n)
		return 0;
	while (nb < 2 * n)
		nb <<= 1;
	if (grow((void **)&p->rows, &p->cap_rows, n, sizeof(*p->rows)) ||
	    grow((void **)&p->groups, &p->cap_groups, n, sizeof(*p->groups)))
		return -1;
	slot = calloc(nb + n, sizeof(*slot)); /* the hash, then each row's group + 1 */
	if (!slot)
		return -1;
	grp = slot + nb;
	for (size_t i = 0; i < n; i++) {
		const struct proc_row *r = &sp->rows[i];
		size_t h;

		p->n_exited += !!r->exited;
		if (!r->exited || is_expanded(p, r->comm))
			continue;
		h = table_hash(r->comm, strnlen(r->comm, sizeof(r->comm)), TABLE_HASH_INIT) &
		    (nb - 1);
		while (slot[h] && strncmp(p->groups[slot[h] - 1].agg.comm, r->comm, 16))
			h = (h + 1) & (nb - 1);
		if (!slot[h]) {
			struct exited_group *g = &p->groups[p->n_groups];

			memset(g, 0, sizeof(*g));
			memcpy(g->agg.comm, r->comm, sizeof(r->comm));
			g->agg.exited = 1;
			g->agg.last_seen = r->last_seen;
			slot[h] = (uint32_t)++p->n_groups;
		}
		p->groups[slot[h] - 1].n++;
		add_sums(&p->groups[slot[h] - 1].agg, r);
		grp[i] = slot[h];
	}
	for (size_t i = 0; i < n; i++) {
		struct exited_group *g = grp[i] ? &p->groups[grp[i] - 1] : NULL;

		if (!g || g->n < 2)
			p->rows[p->n_rows++] = (struct vrow){ (uint32_t)i, 0 };
		else if (!g->placed++)
			p->rows[p->n_rows++] = (struct vrow){ grp[i] - 1, 1 };
	}
	free(slot);
	return 0;
}

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

static size_t proc_count(void *ctx)
{
	return ((const struct procs_pane *)ctx)->n_rows;
}

static uint64_t proc_id(void *ctx, size_t row)
{
	const struct procs_pane *p = ctx;
	const struct proc_row *r = prow(p, row);

	/* a group by its name, apart from any pid */
	if (p->rows[row].group)
		return table_hash(r->comm, strnlen(r->comm, sizeof(r->comm)), 1ULL << 63);
	return r->pid;
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int proc_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct procs_pane *p = ctx;
	const struct proc_row *x = prow(p, a), *y = prow(p, b);
	int r = 0;

	switch (col) {
	case PC_PID:
		return CMP(x->pid, y->pid);
	case PC_COMM:
		return strncmp(x->comm, y->comm, sizeof(x->comm));
	case PC_RX_BPS:
		r = CMP(x->rx_bps, y->rx_bps);
		break;
	case PC_TX_BPS:
		r = CMP(x->tx_bps, y->tx_bps);
		break;
	case PC_RX_BYTES:
		r = CMP(x->rx_bytes, y->rx_bytes);
		break;
	case PC_TX_BYTES:
		r = CMP(x->tx_bytes, y->tx_bytes);
		break;
	case PC_SOCKS:
		return CMP(x->sockets, y->sockets);
	case PC_TCP:
		return CMP(x->tcp, y->tcp);
	case PC_UDP:
		return CMP(x->udp, y->udp);
	case PC_LISTEN:
		return CMP(x->listen, y->listen);
	case PC_EST:
		return CMP(x->established, y->established);
	case PC_CONN:
		return CMP(x->conn_rate, y->conn_rate);
	case PC_FLOWS:
		return CMP(x->flows, y->flows);
	case PC_RETRANS:
		return CMP(x->retrans, y->retrans);
	case PC_STATE:
		return CMP(x->exited, y->exited);
	default:
		return strncmp(x->cmdline, y->cmdline, sizeof(x->cmdline));
	}
	/* equal rates: the bigger total counts */
	return r ? r : CMP(x->rx_bytes + x->tx_bytes, y->rx_bytes + y->tx_bytes);
}

static int proc_match(void *ctx, size_t row, const char *text)
{
	const struct procs_pane *p = ctx;
	const struct proc_row *r = prow(p, row);
	char buf[600];

	snprintf(buf, sizeof(buf), "%u %s %s %s%s", r->pid, r->comm, r->cmdline, r->cgroup,
		 r->exited ? " exited" : "");
	return !!strcasestr(buf, text);
}

static void proc_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct procs_pane *p = ctx;
	const struct proc_row *r = prow(p, row);
	const struct exited_group *g = p->rows[row].group ? &p->groups[p->rows[row].idx] : NULL;
	size_t len = sizeof(c->text);
	char *buf = c->text;

	switch (col) {
	case PC_PID:
		if (g)
			snprintf(buf, len, "%ux", g->n);
		else
			snprintf(buf, len, "%u", r->pid);
		break;
	case PC_COMM:
		/* comm and the command line are whatever the process made them: escape */
		ui_escape(buf, len, r->comm, sizeof(r->comm));
		break;
	case PC_RX_BPS:
		fmt_human(r->rx_bps, buf, len);
		c->role = r->rx_bps > 0 ? ROLE_RX : ROLE_DIM;
		break;
	case PC_TX_BPS:
		fmt_human(r->tx_bps, buf, len);
		c->role = r->tx_bps > 0 ? ROLE_TX : ROLE_DIM;
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
		c->role = r->conn_rate > 0 ? ROLE_NORMAL : ROLE_DIM;
		break;
	case PC_FLOWS:
		snprintf(buf, len, "%u", r->flows);
		break;
	case PC_RETRANS:
		snprintf(buf, len, "%llu", (unsigned long long)r->retrans);
		c->role = r->retrans ? ROLE_WARN : ROLE_DIM;
		break;
	case PC_STATE:
		snprintf(buf, len, "%s", r->exited ? "exited" : "live");
		c->role = r->exited ? ROLE_DIM : ROLE_OK;
		break;
	case PC_CMDLINE:
		if (g)
			snprintf(buf, len,
				 "(%u exited processes of this name: e or Enter lists them)", g->n);
		else if (r->cmdline[0])
			ui_escape(buf, len, r->cmdline, sizeof(r->cmdline));
		else
			ui_escape(buf, len, r->comm, sizeof(r->comm));
		break;
	default:
		break;
	}
}

static const struct table_ops proc_ops = {
	.count = proc_count,
	.row_id = proc_id,
	.cell = proc_cell,
	.cmp = proc_cmp,
	.match = proc_match,
};

static void sync(struct procs_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	p->sp = snap_procs(ui);
	if (build_rows(p)) {
		ui_status_err(ui, "out of memory listing %zu processes", p->sp->n_rows);
		p->n_rows = 0;
	}
	table_rebuild(&p->t);
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
	const char *miss = missing_probe(ui);
	struct rect tr = *r;

	sync(p, ui);
	if (miss) {
		char msg[160];

		snprintf(msg, sizeof(msg),
			 " %s is not attached: byte counts stand still, processes come from /proc "
			 "only",
			 miss);
		ui_put(ui, r->y + r->h - 1, r->x, r->w, ROLE_WARN, msg);
		tr.h--;
	}
	table_draw(&p->t, ui, &tr);
	table_draw_empty(&p->t, ui, &tr,
			 !ui->snap	   ? " waiting for data..."
			 : !snap_procs(ui) ? " no per-process data (socket tracepoints not read)"
					   : " no process has used a network socket yet");
}

/* ---- the drill-down overlay: one process, its sockets and its flows ---- */

/* room for a command line escaped: every byte may become \xHH */
#define CMDLINE_ESC (4 * sizeof(((struct proc_row *)0)->cmdline) + 1)

struct proc_detail {
	struct pane base;
	struct proc_row row; /* last copy seen, kept when the process leaves the table */
	int gone;
	size_t top;   /* lines scrolled */
	size_t lines; /* lines below the title at the last draw */
	int page;     /* of which this many fit */
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
	char buf[512], esc[CMDLINE_ESC], a[16], b[16], c[16], d[16];
	int y = r->y, wrap = r->w - 10 > 20 ? r->w - 10 : 20;
	size_t n = 0, len;

	if (cur)
		p->row = *cur;
	p->gone = !cur;
	const struct proc_row *pr = &p->row;
	ui_escape(esc, sizeof(esc), pr->comm, sizeof(pr->comm));
	snprintf(buf, sizeof(buf), " Process %s/%u%s%s", esc, pr->pid,
		 pr->exited ? "  (exited)" : "",
		 p->gone ? "  (gone from the table; last values)" : "");
	ui_put(ui, y++, r->x, r->w, ROLE_TITLE, buf);
	/* the whole command line, wrapped: the list's COMMAND column can only show its start */
	ui_escape(esc, sizeof(esc), pr->cmdline, sizeof(pr->cmdline));
	len = strlen(esc);
	for (size_t o = 0; o == 0 || o < len; o += (size_t)wrap) {
		snprintf(buf, sizeof(buf), " %-8s %.*s", o ? "" : "command", wrap,
			 len ? esc + o : "-");
		dline(ui, r, &y, &n, p->top, ROLE_NORMAL, buf);
	}
	ui_escape(esc, sizeof(esc), pr->cgroup, sizeof(pr->cgroup));
	snprintf(buf, sizeof(buf), " cgroup   %s (id %llu)", esc[0] ? esc : "-",
		 (unsigned long long)pr->cgroup_id);
	dline(ui, r, &y, &n, p->top, ROLE_NORMAL, buf);
	snprintf(buf, sizeof(buf),
		 " read %s of payload in %llu calls (%s)   wrote %s in %llu calls (%s)",
		 fmt_bytes((double)pr->rx_bytes, a, sizeof(a)), (unsigned long long)pr->rx_calls,
		 fmt_bits(pr->rx_bps, b, sizeof(b)), fmt_bytes((double)pr->tx_bytes, c, sizeof(c)),
		 (unsigned long long)pr->tx_calls, fmt_bits(pr->tx_bps, d, sizeof(d)));
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
		/* the thread that used it last, when not the main one (dig: isc-net-0000) */
		char thr[80] = "";
		if (s->tid && s->tid != s->pid) {
			ui_escape(esc, sizeof(esc), s->thread, sizeof(s->thread));
			snprintf(thr, sizeof(thr), "thread %s/%u ", esc, s->tid);
		}
		snprintf(buf, sizeof(buf), " %-5s %-29s %-29s %-11s %9s %8s  %s%s%s%s",
			 proto_name(s->proto), l, s->remote_port ? rm : "*", st[0] ? st : "-",
			 s->from_proc ? "-" : fmt_human((double)s->rx_bytes, a, sizeof(a)),
			 s->from_proc ? "-" : fmt_human((double)s->tx_bytes, b, sizeof(b)),
			 s->open ? "" : "closed ", s->flags & 1 ? "listen " : "", thr,
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
	p->lines = n;
	p->page = r->h - 1;
	if (p->top + (size_t)p->page > n)
		p->top = n > (size_t)p->page ? n - (size_t)p->page : 0;
}

static int detail_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct proc_detail *p = (struct proc_detail *)pp;

	if (act == ACT_BACK)
		return R_CLOSE;
	return scroll_key(&p->top, p->lines, p->page, act);
}

static void detail_destroy(struct pane *pp)
{
	free(pp);
}

static const struct keymap *const detail_maps[] = { &keys_scroll, NULL };

static const struct pane_class detail_class = {
	.name = "Process",
	.keys = detail_maps,
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

/* e on a group lists its processes one by one; on an exited process listed so, folds them. */
static int expand(struct procs_pane *p, struct ui *ui, const struct proc_row *r)
{
	char name[64];

	ui_escape(name, sizeof(name), r->comm, sizeof(r->comm));
	if (!r->exited) {
		ui_status(ui, "only exited processes are folded by name");
		return R_HANDLED | R_REDRAW;
	}
	for (size_t i = 0; i < p->n_expanded; i++)
		if (!strncmp(p->expanded[i], r->comm, 16)) {
			memmove(p->expanded[i], p->expanded[i + 1],
				(p->n_expanded - i - 1) * sizeof(p->expanded[0]));
			p->n_expanded--;
			ui_status(ui, "exited %s processes folded", name);
			return R_HANDLED | R_RESCAN;
		}
	if (p->n_expanded == EXPANDED_MAX)
		memmove(p->expanded[0], p->expanded[1], --p->n_expanded * sizeof(p->expanded[0]));
	memcpy(p->expanded[p->n_expanded++], r->comm, sizeof(p->expanded[0]));
	ui_status(ui, "exited %s processes listed one by one (e folds them)", name);
	return R_HANDLED | R_RESCAN;
}

static int procs_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct procs_pane *p = (struct procs_pane *)pp;
	size_t row;

	sync(p, ui);
	if ((act == ACT_ENTER || act == ACT_EXPAND) && table_selected(&p->t, &row) &&
	    (p->rows[row].group || act == ACT_EXPAND))
		return expand(p, ui, prow(p, row));
	if (act == ACT_ENTER) {
		if (table_selected(&p->t, &row))
			ui_push_overlay(ui, proc_detail__new(prow(p, row)));
		return R_HANDLED | R_REDRAW;
	}
	return table_on_key(&p->t, ui, act, key);
}

static void procs_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct procs_pane *p = (struct procs_pane *)pp;
	const struct snapshot_procs *sp;
	size_t exited = 0;
	char t[256];

	sync(p, ui);
	sp = p->sp;
	exited = p->n_exited;
	table_info(&p->t, ui, t, sizeof(t));
	snprintf(buf, len,
		 "%s (%zu exited, %zu names folded)  payload bytes  %llu/%llu flows "
		 "attributed",
		 t, exited, p->n_groups, (unsigned long long)(sp ? sp->flows_attributed : 0),
		 (unsigned long long)(sp ? sp->flows : 0));
}

static struct table *procs_table(struct pane *pp)
{
	return &((struct procs_pane *)pp)->t;
}

static void procs_destroy(struct pane *pp)
{
	struct procs_pane *p = (struct procs_pane *)pp;

	table_fini(&p->t);
	free(p->rows);
	free(p->groups);
	free(p);
}

static const struct key_binding procs_keys[] = {
	KEYS_ENTER(ACT_ENTER, "the process's sockets, flows and whole command line (a group: e)",
		   "Sockets & flows"),
	{ 'e', "e", ACT_EXPAND, 0, "list the exited processes of a name one by one, or fold them",
	  "Expand/fold" },
};
static const struct keymap procs_keymap = KEYMAP("Processes", procs_keys);
static const struct keymap *const procs_maps[] = { &procs_keymap, &keys_list, NULL };

static const struct pane_class procs_class = {
	.name = "Processes",
	.keys = procs_maps,
	.display = procs_display,
	.on_key = procs_on_key,
	.table = procs_table,
	.id = "procs",
	.info = procs_info,
	.destroy = procs_destroy,
};

struct pane *procs_pane__new(struct ui *ui)
{
	struct procs_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &procs_class;
	table_init(&p->t, cols, PC_MAX, &proc_ops, p, "processes");
	table_reset(&p->t, PC_RX_BPS);
	return &p->base;
}
