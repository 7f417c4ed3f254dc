/* The Drops pane: dropped packets by kernel reason, place and interface, queue stats; drill into a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

enum rcol { RC_REASON, RC_COUNT, RC_RATE, RC_SHARE, RC_LAST, RC_HIST, RC_FLOW, RC_MAX };

static const struct table_col reason_cols[RC_MAX] = {
	[RC_REASON] = { "reason", "REASON", "the kernel's drop reason (BTF name)", 28, 40, 0,
			SORT_ASC_FIRST },
	[RC_COUNT] = { "count", "COUNT", "packets dropped for this reason", 9, 0, COL_RIGHT,
		       SORT_DESC_FIRST },
	[RC_RATE] = { "rate", "RATE/S", "drops per second over the last interval", 8, 0, COL_RIGHT,
		      SORT_DESC_FIRST },
	[RC_SHARE] = { "share", "SHARE", "share of all drops", 6, 0, COL_RIGHT, SORT_DESC_FIRST },
	[RC_LAST] = { "last_seen", "LAST SEEN", "time since the last drop", 10, 0, COL_RIGHT,
		      SORT_ASC_FIRST },
	[RC_HIST] = { "history", "HISTORY", "drops per second over the last minute", 12, 0,
		      COL_SPARK, SORT_NONE },
	[RC_FLOW] = { "top_flow", "TOP FLOW", "the flow with the most drops for this reason", 20,
		      128, 0, SORT_ASC_FIRST },
};

struct drops_pane {
	struct pane base;
	const struct snapshot *snap;
	struct table t; /* the reasons */
};

static const struct pane_class reason_class;

/* The overlay opened by Enter on a reason: its flows and its most recent drops. */
struct reason_pane {
	struct pane base;
	char reason[40];
	size_t back; /* event rows scrolled back from the newest */
};

static void clock_of(const struct snapshot *s, double t, char *buf, size_t len)
{
	fmt_clock((double)s->time_unix_ns / 1e9 - (s->uptime_s - t), buf, len);
}

static int put(struct ui *ui, const struct rect *r, int y, enum role role, const char *s)
{
	if (y < r->y + r->h)
		ui_put(ui, y, r->x, r->w, role, s);
	return y + 1;
}

static const struct drop_reason_row *reason(const struct drops_pane *p, size_t row)
{
	return &p->snap->drops->reasons[row];
}

static size_t reason_count(void *ctx)
{
	const struct drops_pane *p = ctx;

	return p->snap && p->snap->drops ? p->snap->drops->n_reasons : 0;
}

static uint64_t reason_id(void *ctx, size_t row)
{
	const struct drop_reason_row *rr = reason(ctx, row);

	return table_hash(rr->reason, strnlen(rr->reason, sizeof(rr->reason)), TABLE_HASH_INIT);
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int reason_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct drop_reason_row *x = reason(ctx, a), *y = reason(ctx, b);

	switch (col) {
	case RC_REASON:
		return strncmp(x->reason, y->reason, sizeof(x->reason));
	case RC_RATE:
		return CMP(x->rate, y->rate);
	case RC_LAST:
		/* how long ago: the most recent is the smallest; never seen last */
		return CMP(y->last_seen, x->last_seen);
	case RC_FLOW:
		return strncmp(x->top_flow, y->top_flow, sizeof(x->top_flow));
	default: /* count and share order alike */
		return CMP(x->count, y->count);
	}
}

static void reason_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct drops_pane *p = ctx;
	const struct snapshot_drops *d = p->snap->drops;
	const struct drop_reason_row *rr = reason(p, row);

	c->role = rr->rate > 0 ? ROLE_WARN : ROLE_NORMAL;
	switch (col) {
	case RC_REASON:
		ui_escape(c->text, sizeof(c->text), rr->reason, sizeof(rr->reason));
		break;
	case RC_COUNT:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)rr->count);
		break;
	case RC_RATE:
		fmt_human(rr->rate, c->text, sizeof(c->text));
		break;
	case RC_SHARE:
		snprintf(c->text, sizeof(c->text), "%.1f%%",
			 d->total ? 100.0 * (double)rr->count / (double)d->total : 0);
		break;
	case RC_LAST:
		if (rr->last_seen < 0) {
			snprintf(c->text, sizeof(c->text), "never");
		} else {
			char a[16];

			snprintf(c->text, sizeof(c->text), "%s ago",
				 fmt_duration(p->snap->uptime_s - rr->last_seen, a, sizeof(a)));
		}
		break;
	case RC_HIST:
		c->spark = rr->hist + (PL_HIST_LEN - rr->hist_len);
		c->spark_n = rr->hist_len;
		break;
	default:
		ui_escape(c->text, sizeof(c->text), rr->top_flow, sizeof(rr->top_flow));
		if (!c->text[0])
			snprintf(c->text, sizeof(c->text), "-");
		break;
	}
}

static const struct table_ops reason_ops = {
	.count = reason_count,
	.row_id = reason_id,
	.cell = reason_cell,
	.cmp = reason_cmp,
};

static void sync(struct drops_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	p->snap = ui->snap;
	table_rebuild(&p->t);
}

static void draw_reasons(struct drops_pane *p, struct ui *ui, const struct rect *r, int y, int h)
{
	struct rect tr = { .y = y, .x = r->x, .h = h, .w = r->w };

	table_draw(&p->t, ui, &tr);
	table_draw_empty(&p->t, ui, &tr, " no drops seen");
}

static int draw_locs(struct ui *ui, const struct rect *r, int y, int h,
		     const struct snapshot_drops *d)
{
	char buf[256], name[112];

	y = put(ui, r, y, ROLE_HEADER, " LOCATION                                          COUNT");
	for (size_t i = 0; i < d->n_locs && (int)i < h - 1; i++) {
		ui_escape(name, sizeof(name), d->locs[i].function, sizeof(d->locs[i].function));
		snprintf(buf, sizeof(buf), " %-44.44s %10llu", name,
			 (unsigned long long)d->locs[i].count);
		y = put(ui, r, y, ROLE_NORMAL, buf);
	}
	if (!d->n_locs)
		y = put(ui, r, y, ROLE_DIM, " -");
	return y;
}

/* Per interface and protocol on the left, the interfaces' qdiscs on the right. */
static int draw_ifaces(struct ui *ui, const struct rect *r, int y, int h,
		       const struct snapshot_drops *d)
{
	char buf[256], ifc[20], kind[20];
	int rows = (int)(d->n_ifaces > d->n_qdiscs ? d->n_ifaces : d->n_qdiscs);
	int qx = r->x + 34;

	ui_put(ui, y, r->x, r->w, ROLE_HEADER, " IFACE      PROTO      DROPS");
	if (qx < r->x + r->w)
		ui_put(ui, y, qx, r->x + r->w - qx, ROLE_HEADER,
		       "QDISC  IFACE      KIND       PARENT     PACKETS    DROPS OVERLIMIT REQUEUE "
		       "BACKLOG QLEN");
	y++;
	if (!rows)
		return put(ui, r, y, ROLE_DIM, " -");
	for (int i = 0; i < rows && i < h - 1; i++, y++) {
		if (y >= r->y + r->h)
			break;
		ui_put(ui, y, r->x, r->w, ROLE_NORMAL, "");
		if ((size_t)i < d->n_ifaces) {
			const struct drop_iface_row *f = &d->ifaces[i];

			ui_escape(ifc, sizeof(ifc), f->iface, sizeof(f->iface));
			ui_escape(kind, sizeof(kind), f->proto, sizeof(f->proto));
			snprintf(buf, sizeof(buf), " %-10s %-7s %9llu", ifc, kind,
				 (unsigned long long)f->count);
			ui_put(ui, y, r->x, 33, ROLE_NORMAL, buf);
		}
		if ((size_t)i < d->n_qdiscs && qx < r->x + r->w) {
			const struct qdisc_row *q = &d->qdiscs[i];
			char par[20], pk[16];

			ui_escape(ifc, sizeof(ifc), q->iface, sizeof(q->iface));
			ui_escape(kind, sizeof(kind), q->kind, sizeof(q->kind));
			ui_escape(par, sizeof(par), q->parent, sizeof(q->parent));
			snprintf(buf, sizeof(buf),
				 "       %-10s %-10s %-10s %7s %8llu %9llu %7llu %7u %4u", ifc,
				 kind, par, fmt_human((double)q->packets, pk, sizeof(pk)),
				 (unsigned long long)q->drops, (unsigned long long)q->overlimits,
				 (unsigned long long)q->requeues, q->backlog, q->qlen);
			ui_put(ui, y, qx, r->x + r->w - qx, q->drops ? ROLE_WARN : ROLE_NORMAL,
			       buf);
		}
	}
	return y;
}

static int draw_softnet(struct ui *ui, const struct rect *r, int y, int h,
			const struct snapshot_drops *d)
{
	char buf[256], a[16];

	y = put(ui, r, y, ROLE_HEADER,
		" SOFTNET CPU   PROCESSED    DROPPED  TIME_SQUEEZE  FLOW_LIMIT");
	for (size_t i = 0; i < d->n_softnet && (int)i < h - 1; i++) {
		const struct softnet_row *c = &d->softnet[i];

		snprintf(buf, sizeof(buf), "         %3u %11s %10llu %13llu %11llu", c->cpu,
			 fmt_human((double)c->processed, a, sizeof(a)),
			 (unsigned long long)c->dropped, (unsigned long long)c->time_squeeze,
			 (unsigned long long)c->flow_limit);
		y = put(ui, r, y, c->dropped ? ROLE_WARN : ROLE_NORMAL, buf);
	}
	if (d->n_softnet > (size_t)(h > 1 ? h - 1 : 0) && h > 1)
		ui_put(ui, y - 1, r->x + 60, r->w > 60 ? r->w - 60 : 0, ROLE_DIM,
		       " (more CPUs: enlarge the terminal)");
	return y;
}

/* Queues freed with their socket (QUEUE_PURGE...): counted apart, they are not drops. */
static int discard_line(struct ui *ui, const struct rect *r, int y, const struct snapshot_drops *d)
{
	char buf[400], a[16], name[48], loc[112];
	size_t o;

	if (!d->discarded)
		return y + 1;
	o = (size_t)snprintf(
	    buf, sizeof(buf), " discarded at close (not network drops) %llu (%s/s):",
	    (unsigned long long)d->discarded, fmt_human(d->discarded_rate, a, sizeof(a)));
	for (size_t i = 0; i < d->n_discard_reasons && i < 3 && o < sizeof(buf); i++) {
		ui_escape(name, sizeof(name), d->discard_reasons[i].reason,
			  sizeof(d->discard_reasons[i].reason));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s %s %llu", i ? "," : "", name,
				      (unsigned long long)d->discard_reasons[i].count);
	}
	if (d->n_discard_locs && o < sizeof(buf)) {
		ui_escape(loc, sizeof(loc), d->discard_locs[0].function,
			  sizeof(d->discard_locs[0].function));
		snprintf(buf + o, sizeof(buf) - o, "   mostly at %s", loc);
	}
	return put(ui, r, y, ROLE_DIM, buf);
}

static void drops_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct drops_pane *p = (struct drops_pane *)pp;
	const struct snapshot *s = ui->snap;
	const struct snapshot_drops *d;
	int y = r->y, left, reasons_h, locs_h, if_h, rows;
	char buf[320], a[16];

	sync(p, ui);
	if (!s) {
		put(ui, r, y, ROLE_DIM, " waiting for data...");
		return;
	}
	d = s->drops;
	if (!d) {
		put(ui, r, y, ROLE_WARN,
		    " no drop data: skb:kfree_skb is not attached (see the Probes pane)");
		return;
	}
	snprintf(
	    buf, sizeof(buf),
	    " dropped %llu packets (%s/s)   socket receive queue full %llu   over buffer limit "
	    "%llu%s%s",
	    (unsigned long long)d->total, fmt_human(d->rate, a, sizeof(a)),
	    (unsigned long long)d->rcvqueue_full, (unsigned long long)d->exceed_buf_limit,
	    d->events_lost ? "   EVENTS LOST" : "",
	    d->have_reasons ? "" : "   (this kernel's kfree_skb has no reason: places only)");
	y = put(ui, r, y, d->total ? ROLE_WARN : ROLE_OK, buf);
	y = discard_line(ui, r, y, d);

	/* reasons first (they are what the operator came for), then the rest as space allows */
	left = r->y + r->h - y;
	rows = (int)(d->n_ifaces > d->n_qdiscs ? d->n_ifaces : d->n_qdiscs);
	reasons_h = (int)d->n_reasons + 1;
	if (reasons_h < 3)
		reasons_h = 3;
	if (reasons_h > left * 2 / 5)
		reasons_h = left * 2 / 5 > 3 ? left * 2 / 5 : 3;
	locs_h = (int)d->n_locs + 1 < 7 ? (int)d->n_locs + 1 : 7;
	if (locs_h < 2)
		locs_h = 2;
	if_h = rows + 1 < 6 ? rows + 1 : 6;
	if (if_h < 2)
		if_h = 2;
	draw_reasons(p, ui, r, y, reasons_h);
	y = r->y + 2 + reasons_h + 1;
	if (y + 1 >= r->y + r->h)
		return;
	draw_locs(ui, r, y, locs_h, d);
	y += locs_h + 1;
	if (y + 1 >= r->y + r->h)
		return;
	draw_ifaces(ui, r, y, if_h, d);
	y += if_h + 1;
	if (y + 1 >= r->y + r->h)
		return;
	draw_softnet(ui, r, y, r->y + r->h - y, d);
}

static int drops_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct drops_pane *p = (struct drops_pane *)pp;
	struct reason_pane *o;
	size_t row;

	sync(p, ui);
	if (act != ACT_ENTER)
		return table_on_key(&p->t, ui, act, key);
	if (!table_selected(&p->t, &row))
		return R_HANDLED;
	o = calloc(1, sizeof(*o));
	if (!o)
		return R_HANDLED;
	o->base.cls = &reason_class;
	snprintf(o->reason, sizeof(o->reason), "%s", reason(p, row)->reason);
	ui_push_overlay(ui, &o->base);
	return R_HANDLED | R_REDRAW;
}

static void drops_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct drops_pane *p = (struct drops_pane *)pp;
	const struct snapshot_drops *d = ui->snap ? ui->snap->drops : NULL;
	char t[256];

	sync(p, ui);
	table_info(&p->t, ui, t, sizeof(t));
	snprintf(buf, len, "%zu reasons  %llu drops  %s", d ? d->n_reasons : 0,
		 d ? (unsigned long long)d->total : 0ULL, t);
}

static struct table *drops_table(struct pane *pp)
{
	return &((struct drops_pane *)pp)->t;
}

static void drops_destroy(struct pane *pp)
{
	table_fini(&((struct drops_pane *)pp)->t);
	free(pp);
}

static void reason_destroy(struct pane *pp)
{
	free(pp);
}

static const struct key_binding drops_keys[] = {
	KEYS_ENTER(ACT_ENTER, "the flows and recent packets of the selected reason",
		   "Flows & packets"),
};
static const struct keymap drops_keymap = KEYMAP("Drops", drops_keys);
static const struct keymap *const drops_maps[] = { &drops_keymap, &keys_list, NULL };
static const struct keymap *const reason_maps[] = { &keys_scroll, NULL };

static const struct pane_class drops_class = {
	.name = "Drops",
	.keys = drops_maps,
	.display = drops_display,
	.on_key = drops_on_key,
	.table = drops_table,
	.id = "drops",
	.info = drops_info,
	.destroy = drops_destroy,
};

struct pane *drops_pane__new(struct ui *ui)
{
	struct drops_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &drops_class;
	table_init(&p->t, reason_cols, RC_MAX, &reason_ops, p, "reasons");
	table_reset(&p->t, RC_COUNT);
	return &p->base;
}

/* ---- the drill-down into one reason ---- */

static void reason_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct reason_pane *p = (struct reason_pane *)pp;
	const struct snapshot *s = ui->snap;
	const struct snapshot_drops *d = s ? s->drops : NULL;
	const struct drop_reason_row *rr = NULL;
	int y = r->y, bottom = r->y + r->h, flows_h;
	size_t nflows = 0, nev = 0, shown, skip;
	char buf[512], name[48], a[16];

	ui_escape(name, sizeof(name), p->reason, sizeof(p->reason));
	for (size_t i = 0; d && i < d->n_reasons; i++)
		if (!strcmp(d->reasons[i].reason, p->reason))
			rr = &d->reasons[i];
	if (rr)
		snprintf(buf, sizeof(buf), " Drops with reason %s: %llu (%s/s)", name,
			 (unsigned long long)rr->count, fmt_human(rr->rate, a, sizeof(a)));
	else
		snprintf(buf, sizeof(buf), " Drops with reason %s: none in this snapshot", name);
	y = put(ui, r, y, ROLE_TITLE, buf);
	if (!d)
		return;
	y++;
	for (size_t i = 0; i < d->n_flows; i++)
		nflows += !strcmp(d->flows[i].reason, p->reason);
	for (size_t i = 0; i < d->n_events; i++)
		nev += !strcmp(d->events[i].reason, p->reason);

	y = put(ui, r, y, ROLE_HEADER,
		" FLOWS                                                               DROPS");
	flows_h = (bottom - y) / 2;
	if (flows_h < 2)
		flows_h = 2;
	for (size_t i = 0, n = 0; i < d->n_flows && (int)n < flows_h - 1; i++) {
		const struct drop_flow_row *f = &d->flows[i];
		char fl[160];

		if (strcmp(f->reason, p->reason))
			continue;
		ui_escape(fl, sizeof(fl), f->flow, sizeof(f->flow));
		snprintf(buf, sizeof(buf), " %-64.64s %9llu", fl[0] ? fl : "(no flow: not IP)",
			 (unsigned long long)f->count);
		y = put(ui, r, y, ROLE_NORMAL, buf);
		n++;
	}
	if (!nflows)
		y = put(ui, r, y, ROLE_DIM, " no flow attributed");
	y++;

	snprintf(buf, sizeof(buf), " Recent dropped packets: %zu kept%s", nev,
		 p->back ? "  [scrolled back: End follows]" : " (newest last)");
	y = put(ui, r, y, ROLE_TITLE, buf);
	y = put(
	    ui, r, y, ROLE_HEADER,
	    " TIME          FLOW                                                   LEN  LOCATION");
	if (y >= bottom)
		return;
	shown = (size_t)(bottom - y);
	if (p->back + shown > nev)
		p->back = nev > shown ? nev - shown : 0;
	skip = nev > shown + p->back ? nev - shown - p->back : 0;
	for (size_t i = 0, k = 0; i < d->n_events && y < bottom; i++) {
		const struct drop_event_row *e = &d->events[i];
		char tm[24], fl[160], loc[112];

		if (strcmp(e->reason, p->reason))
			continue;
		if (k++ < skip)
			continue;
		if (k > nev - p->back)
			break;
		clock_of(s, e->time, tm, sizeof(tm));
		ui_escape(fl, sizeof(fl), e->flow, sizeof(e->flow));
		ui_escape(loc, sizeof(loc), e->location, sizeof(e->location));
		snprintf(buf, sizeof(buf), " %-12s  %-52.52s %5u  %s", tm, fl[0] ? fl : "-", e->len,
			 loc);
		y = put(ui, r, y, ROLE_NORMAL, buf);
	}
}

static int reason_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct reason_pane *p = (struct reason_pane *)pp;

	return scrollback_key(&p->back, PL_DROP_EVENTS_MAX, act);
}

static const struct pane_class reason_class = {
	.name = "Drop reason",
	.keys = reason_maps,
	.live = 1,
	.display = reason_display,
	.on_key = reason_on_key,
	.destroy = reason_destroy,
};
