/* The Drops pane: dropped packets by kernel reason, place and interface, queue stats; drill into a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui/format.h"
#include "ui/panes.h"

struct pane *drops_pane__new(struct ui *ui);

struct drops_pane {
	struct pane base;
	struct list_state ls; /* over the reasons table */
	char sel_reason[40];  /* the selection follows its reason as the order changes */
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
	double wall = (double)s->time_unix_ns / 1e9 - (s->uptime_s - t);
	time_t sec = (time_t)wall;
	struct tm tm;

	localtime_r(&sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((wall - (double)sec) * 1000));
}

static int put(struct ui *ui, const struct rect *r, int y, enum role role, const char *s)
{
	if (y < r->y + r->h)
		ui_put(ui, y, r->x, r->w, role, s);
	return y + 1;
}

static void follow_sel(struct drops_pane *p, const struct snapshot_drops *d)
{
	p->ls.n = d->n_reasons;
	for (size_t i = 0; i < d->n_reasons && p->sel_reason[0]; i++) {
		if (!strcmp(d->reasons[i].reason, p->sel_reason)) {
			p->ls.sel = i;
			return;
		}
	}
}

static int draw_reasons(struct drops_pane *p, struct ui *ui, const struct rect *r, int y, int h)
{
	const struct snapshot *s = ui->snap;
	const struct snapshot_drops *d = s->drops;
	char buf[512];
	int spark_x, spark_w;

	/* the top flow goes last: it takes whatever width is left */
	y = put(ui, r, y, ROLE_HEADER,
		" REASON                          COUNT   RATE/S  SHARE  LAST SEEN  HISTORY      "
		"TOP FLOW");
	h--;
	list_fit(&p->ls, h);
	if (!d->n_reasons) {
		put(ui, r, y, ROLE_DIM, " no drops seen");
		return y + 1;
	}
	spark_x = r->x + 67;
	spark_w = r->x + r->w - spark_x < 12 ? r->x + r->w - spark_x : 12;
	for (int i = 0; i < h && p->ls.top + (size_t)i < d->n_reasons; i++) {
		size_t ri = p->ls.top + (size_t)i;
		const struct drop_reason_row *rr = &d->reasons[ri];
		char name[48], flow[160], cnt[16], rate[16], ago[16];
		double share = d->total ? 100.0 * (double)rr->count / (double)d->total : 0;
		int sel = ri == p->ls.sel;
		enum role role = sel ? ROLE_SELECTED : rr->rate > 0 ? ROLE_WARN : ROLE_NORMAL;

		ui_escape(name, sizeof(name), rr->reason, sizeof(rr->reason));
		ui_escape(flow, sizeof(flow), rr->top_flow, sizeof(rr->top_flow));
		snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)rr->count);
		if (rr->last_seen < 0)
			snprintf(ago, sizeof(ago), "never");
		else
			fmt_duration(s->uptime_s - rr->last_seen, ago, sizeof(ago));
		snprintf(buf, sizeof(buf), " %-28.28s %9s %8s %5.1f%% %9s  %12s %s", name, cnt,
			 fmt_human(rr->rate, rate, sizeof(rate)), share, ago, "",
			 flow[0] ? flow : "-");
		ui_put(ui, y, r->x, r->w, role, buf);
		if (spark_w > 0)
			ui_put_spark(ui, y, spark_x, spark_w, sel ? ROLE_SELECTED : ROLE_SPARK,
				     rr->hist + (PL_HIST_LEN - rr->hist_len), rr->hist_len);
		y++;
	}
	return y;
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

static void drops_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct drops_pane *p = (struct drops_pane *)pp;
	const struct snapshot *s = ui->snap;
	const struct snapshot_drops *d;
	int y = r->y, left, reasons_h, locs_h, if_h, rows;
	char buf[320], a[16];

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
	follow_sel(p, d);
	snprintf(
	    buf, sizeof(buf),
	    " dropped %llu packets (%s/s)   socket receive queue full %llu   over buffer limit "
	    "%llu%s%s",
	    (unsigned long long)d->total, fmt_human(d->rate, a, sizeof(a)),
	    (unsigned long long)d->rcvqueue_full, (unsigned long long)d->exceed_buf_limit,
	    d->events_lost ? "   EVENTS LOST" : "",
	    d->have_reasons ? "" : "   (this kernel's kfree_skb has no reason: places only)");
	y = put(ui, r, y, d->total ? ROLE_WARN : ROLE_OK, buf);
	y++;

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
	y = draw_reasons(p, ui, r, y, reasons_h);
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
	const struct snapshot_drops *d = ui->snap ? ui->snap->drops : NULL;
	struct reason_pane *o;
	int ret;

	if (act == ACT_ENTER) {
		if (!d || p->ls.sel >= d->n_reasons)
			return R_HANDLED;
		o = calloc(1, sizeof(*o));
		if (!o)
			return R_HANDLED;
		o->base.cls = &reason_class;
		snprintf(o->reason, sizeof(o->reason), "%s", d->reasons[p->ls.sel].reason);
		ui_push_overlay(ui, &o->base);
		return R_HANDLED | R_REDRAW;
	}
	ret = list_move(&p->ls, act);
	if (ret && d && p->ls.sel < d->n_reasons)
		snprintf(p->sel_reason, sizeof(p->sel_reason), "%s", d->reasons[p->ls.sel].reason);
	return ret;
}

static void drops_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	const struct snapshot_drops *d = ui->snap ? ui->snap->drops : NULL;

	snprintf(buf, len, "%zu reasons  %llu drops", d ? d->n_reasons : 0,
		 d ? (unsigned long long)d->total : 0ULL);
}

static void drops_destroy(struct pane *pp)
{
	free(pp);
}

static const struct pane_class drops_class = {
	.name = "Drops",
	.hints = "Enter|Flows and packets of a reason",
	.display = drops_display,
	.on_key = drops_on_key,
	.info = drops_info,
	.destroy = drops_destroy,
};

struct pane *drops_pane__new(struct ui *ui)
{
	struct drops_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &drops_class;
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
	.hints = "Esc|Back|Up/Dn|Scroll packets",
	.live = 1,
	.display = reason_display,
	.on_key = reason_on_key,
	.destroy = drops_destroy,
};
