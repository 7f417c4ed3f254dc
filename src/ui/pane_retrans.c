/* The Retransmissions pane: TCP health totals, the flows that retransmit most, and recent events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui/format.h"
#include "ui/panes.h"

struct pane *retrans_pane__new(struct ui *ui);

struct prev_retrans {
	struct flow_key key;
	uint64_t retrans;
};

struct retrans_pane {
	struct pane base;
	unsigned gen;
	int focus; /* 0: top flows, 1: recent events */
	struct list_state top, ev;
	uint32_t *idx; /* flows with retransmissions, most first */
	double *rate;  /* per idx entry: segments per second over the last interval */
	size_t cap;
	struct prev_retrans *prev; /* the previous snapshot's counts, for the rate */
	size_t n_prev, cap_prev;
	unsigned prev_gen;
};

static const struct snapshot *g_snap; /* qsort has no context argument in C11 */

static int cmp_retrans(const void *a, const void *b)
{
	const struct flow_row *fa = &g_snap->flows[*(const uint32_t *)a];
	const struct flow_row *fb = &g_snap->flows[*(const uint32_t *)b];

	if (fa->retrans != fb->retrans)
		return fa->retrans < fb->retrans ? 1 : -1;
	return memcmp(&fa->key, &fb->key, sizeof(fa->key));
}

static uint64_t prev_count(const struct retrans_pane *p, const struct flow_key *k, int *found)
{
	for (size_t i = 0; i < p->n_prev; i++) {
		if (!memcmp(&p->prev[i].key, k, sizeof(*k))) {
			*found = 1;
			return p->prev[i].retrans;
		}
	}
	*found = 0;
	return 0;
}

/* Once per snapshot: only flows that retransmitted are kept, so the rate lookups stay small. */
static void rescan(struct retrans_pane *p, struct ui *ui)
{
	const struct snapshot *s = ui->snap;
	double dt = s && s->interval_s > 0 ? s->interval_s : ui->interval_s;
	size_t n = 0;

	p->gen = ui->snap_gen;
	p->top.n = 0;
	p->ev.n = s && s->tcp ? s->tcp->n_recent : 0;
	if (!s)
		return;
	if (p->cap < s->n_flows) {
		uint32_t *ni = realloc(p->idx, s->n_flows * sizeof(*ni));
		double *nr;

		if (!ni)
			return;
		p->idx = ni;
		nr = realloc(p->rate, s->n_flows * sizeof(*nr));
		if (!nr)
			return;
		p->rate = nr;
		p->cap = s->n_flows;
	}
	for (size_t i = 0; i < s->n_flows; i++)
		if (s->flows[i].retrans)
			p->idx[n++] = (uint32_t)i;
	g_snap = s;
	qsort(p->idx, n, sizeof(*p->idx), cmp_retrans);
	for (size_t i = 0; i < n; i++) {
		const struct flow_row *f = &s->flows[p->idx[i]];
		int found;
		uint64_t old = prev_count(p, &f->key, &found);

		/* a rate needs the snapshot right before this one; a flow new to the list
		 * retransmitted everything it has within this interval */
		if (p->prev_gen + 1 != ui->snap_gen || dt <= 0 || f->retrans < old)
			p->rate[i] = -1;
		else
			p->rate[i] = (double)(f->retrans - old) / dt;
	}
	p->prev_gen = ui->snap_gen;
	if (p->cap_prev < n) {
		struct prev_retrans *np = realloc(p->prev, n * sizeof(*np));

		if (!np)
			n = p->cap_prev;
		else
			p->prev = np, p->cap_prev = n;
	}
	for (size_t i = 0; i < n; i++) {
		p->prev[i].key = s->flows[p->idx[i]].key;
		p->prev[i].retrans = s->flows[p->idx[i]].retrans;
	}
	p->n_prev = n;
	p->top.n = n;
}

static void event_clock(const struct snapshot *s, double t, char *buf, size_t len)
{
	double wall = (double)s->time_unix_ns / 1e9 - (s->uptime_s - t);
	time_t sec = (time_t)wall;
	struct tm tm;

	localtime_r(&sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((wall - (double)sec) * 1000));
}

static void flow_text(const struct flow_row *f, char *buf, size_t len)
{
	char l[80], r[80], esc[64];
	int v6 = f->key.family == PL_AF_INET6;

	ui_escape(esc, sizeof(esc), f->local, sizeof(f->local));
	fmt_endpoint(esc, f->key.local_port, v6, l, sizeof(l));
	ui_escape(esc, sizeof(esc), f->remote, sizeof(f->remote));
	fmt_endpoint(esc, f->key.remote_port, v6, r, sizeof(r));
	snprintf(buf, len, "%s <> %s", l, r);
}

static void draw_summary(struct ui *ui, const struct rect *r, const struct snapshot_tcp *t)
{
	char buf[320], a[16], b[16], c[16];

	snprintf(buf, sizeof(buf),
		 " retransmitted %llu segs (%s/s)   connections %llu (%s/s)   short-lived %llu   "
		 "resets in %llu out %llu   handshake avg %s%s",
		 (unsigned long long)t->retrans_total, fmt_human(t->retrans_rate, a, sizeof(a)),
		 (unsigned long long)t->conns_opened, fmt_human(t->conn_rate, b, sizeof(b)),
		 (unsigned long long)t->short_lived, (unsigned long long)t->resets_rx,
		 (unsigned long long)t->resets_tx,
		 t->handshake_ms_avg > 0
		     ? fmt_usec((uint32_t)(t->handshake_ms_avg * 1000 + 0.5), c, sizeof(c))
		     : "-",
		 t->events_lost ? "   EVENTS LOST" : "");
	ui_put(ui, r->y, r->x, r->w, t->retrans_total ? ROLE_WARN : ROLE_NORMAL, buf);
}

static void draw_top(struct retrans_pane *p, struct ui *ui, int y, int h, const struct rect *r)
{
	const struct snapshot *s = ui->snap;
	char hdr[160];

	snprintf(hdr, sizeof(hdr), " %-47s %-12s %8s %8s %8s %7s %7s",
		 "TOP FLOWS BY RETRANSMISSIONS", "STATE", "RETRANS", "RATE/S", "SRTT", "CWND",
		 "IFACE");
	ui_put(ui, y++, r->x, r->w, p->focus == 0 ? ROLE_HEADER_SORTED : ROLE_HEADER, hdr);
	h--;
	list_fit(&p->top, h);
	if (!p->top.n) {
		ui_put(ui, y, r->x, r->w, ROLE_DIM, " no retransmissions seen");
		return;
	}
	for (int i = 0; i < h && p->top.top + (size_t)i < p->top.n; i++) {
		size_t ri = p->top.top + (size_t)i;
		const struct flow_row *f = &s->flows[p->idx[ri]];
		char ft[192], st[20], rate[16], srtt[16], ifc[20], buf[320];
		int sel = p->focus == 0 && ri == p->top.sel;

		flow_text(f, ft, sizeof(ft));
		ui_escape(st, sizeof(st), f->state, sizeof(f->state));
		ui_escape(ifc, sizeof(ifc), f->iface, sizeof(f->iface));
		snprintf(buf, sizeof(buf), " %-47.47s %-12s %8llu %8s %8s %7u %7s", ft,
			 st[0] ? st : "-", (unsigned long long)f->retrans,
			 p->rate[ri] < 0 ? "-" : fmt_human(p->rate[ri], rate, sizeof(rate)),
			 fmt_usec(f->srtt_us, srtt, sizeof(srtt)), f->cwnd, ifc);
		ui_put(ui, y + i, r->x, r->w, sel ? ROLE_SELECTED : ROLE_NORMAL, buf);
	}
}

static enum role kind_role(const char *kind)
{
	if (!strncmp(kind, "rst", 3))
		return ROLE_ERROR;
	if (!strcmp(kind, "retrans"))
		return ROLE_WARN;
	return ROLE_NORMAL;
}

/* Newest first: the list scrolls down into the past. */
static void draw_events(struct retrans_pane *p, struct ui *ui, int y, int h, const struct rect *r)
{
	const struct snapshot *s = ui->snap;
	const struct snapshot_tcp *t = s->tcp;
	char hdr[160];

	snprintf(hdr, sizeof(hdr), " %-12s  %-8s %-12s %-52s %10s %4s", "RECENT  TIME", "KIND",
		 "STATE", "FLOW", "SEQ", "SEGS");
	ui_put(ui, y++, r->x, r->w, p->focus == 1 ? ROLE_HEADER_SORTED : ROLE_HEADER, hdr);
	h--;
	list_fit(&p->ev, h);
	if (!p->ev.n) {
		ui_put(ui, y, r->x, r->w, ROLE_DIM, " no retransmission or reset events yet");
		return;
	}
	for (int i = 0; i < h && p->ev.top + (size_t)i < p->ev.n; i++) {
		size_t ri = p->ev.top + (size_t)i;
		const struct tcp_event_row *e = &t->recent[t->n_recent - 1 - ri];
		char tm[24], kind[20], st[20], flow[160], buf[320];
		int sel = p->focus == 1 && ri == p->ev.sel;

		event_clock(s, e->time, tm, sizeof(tm));
		ui_escape(kind, sizeof(kind), e->kind, sizeof(e->kind));
		ui_escape(st, sizeof(st), e->state, sizeof(e->state));
		ui_escape(flow, sizeof(flow), e->flow, sizeof(e->flow));
		snprintf(buf, sizeof(buf), " %-12s  %-8s %-12s %-52.52s %10u %4u", tm, kind,
			 st[0] ? st : "-", flow, e->seq, e->segs);
		ui_put(ui, y + i, r->x, r->w, sel ? ROLE_SELECTED : kind_role(e->kind), buf);
	}
}

static void retrans_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;
	const struct snapshot *s = ui->snap;
	int y = r->y, h, top_h;

	if (p->gen != ui->snap_gen)
		rescan(p, ui);
	if (!s) {
		ui_put(ui, y, r->x, r->w, ROLE_DIM, " waiting for data...");
		return;
	}
	if (!s->tcp) {
		ui_put(ui, y, r->x, r->w, ROLE_WARN,
		       " no TCP data: the tcp tracepoints are not attached (see the Probes pane)");
		return;
	}
	draw_summary(ui, r, s->tcp);
	y += 2;
	h = r->y + r->h - y;
	if (h < 4)
		return;
	/* the flow table takes what it needs up to 40%, the events get the rest */
	top_h = (int)p->top.n + 1;
	if (top_h < 3)
		top_h = 3;
	if (top_h > h * 2 / 5)
		top_h = h * 2 / 5 > 2 ? h * 2 / 5 : 2;
	draw_top(p, ui, y, top_h, r);
	y += top_h + 1;
	if (r->y + r->h - y >= 2)
		draw_events(p, ui, y, r->y + r->h - y, r);
}

static const struct flow_row *find_flow(const struct snapshot *s, const struct flow_key *k)
{
	const struct flow_row *any = NULL;

	/* events carry ifindex 0 (a socket names no interface): match the rest of the key */
	for (size_t i = 0; i < s->n_flows; i++) {
		const struct flow_key *fk = &s->flows[i].key;

		if (fk->proto != k->proto || fk->family != k->family ||
		    fk->local_port != k->local_port || fk->remote_port != k->remote_port ||
		    memcmp(fk->local, k->local, 16) || memcmp(fk->remote, k->remote, 16))
			continue;
		if (fk->ifindex == k->ifindex)
			return &s->flows[i];
		if (!any)
			any = &s->flows[i];
	}
	return any;
}

static int retrans_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;
	const struct snapshot *s = ui->snap;
	const struct flow_row *f = NULL;

	switch (act) {
	case ACT_TOGGLE:
	case ACT_LEFT:
	case ACT_RIGHT:
		p->focus = !p->focus;
		return R_HANDLED | R_REDRAW;
	case ACT_ENTER:
		if (!s)
			return R_HANDLED;
		if (p->focus == 0 && p->top.sel < p->top.n)
			f = &s->flows[p->idx[p->top.sel]];
		else if (p->focus == 1 && s->tcp && p->ev.sel < p->ev.n)
			f = find_flow(s, &s->tcp->recent[s->tcp->n_recent - 1 - p->ev.sel].key);
		if (f)
			ui_push_overlay(ui, detail_pane__new(ui, f));
		else
			ui_status(ui, "that flow is no longer in the flow table");
		return R_HANDLED | R_REDRAW;
	default:
		return list_move(p->focus ? &p->ev : &p->top, act);
	}
}

static void retrans_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;

	if (p->gen != ui->snap_gen)
		rescan(p, ui);
	snprintf(buf, len, "%zu flows retransmitting  %zu events", p->top.n, p->ev.n);
}

static void retrans_destroy(struct pane *pp)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;

	free(p->idx);
	free(p->rate);
	free(p->prev);
	free(p);
}

static const struct pane_class retrans_class = {
	.name = "Retrans",
	.hints = "Space|Flows/events|Enter|Details",
	.display = retrans_display,
	.on_key = retrans_on_key,
	.info = retrans_info,
	.destroy = retrans_destroy,
};

struct pane *retrans_pane__new(struct ui *ui)
{
	struct retrans_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &retrans_class;
	p->gen = ui->snap_gen - 1;
	return &p->base;
}
