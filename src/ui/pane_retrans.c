/* The Retransmissions pane: TCP health totals, the flows that retransmit most, and recent events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

enum tcol {
	TC_FLOW,
	TC_STATE,
	TC_RETRANS,
	TC_RATE,
	TC_RECEIVED,
	TC_SRTT,
	TC_CWND,
	TC_IFACE,
	TC_MAX
};

static const struct table_col top_cols[TC_MAX] = {
	[TC_FLOW] = { "flow", "FLOW", "local <> remote", 30, 100, COL_ELIDE_MID, SORT_ASC_FIRST },
	[TC_STATE] = { "state", "STATE", "TCP state", 12, 0, 0, SORT_ASC_FIRST },
	[TC_RETRANS] = { "retrans", "RETRANS", "segments retransmitted", 8, 0, COL_RIGHT,
			 SORT_DESC_FIRST },
	[TC_RATE] = { "rate", "RATE/S", "segments retransmitted per second", 8, 0, COL_RIGHT,
		      SORT_DESC_FIRST },
	/* RETRANS is this host's; RECEIVED the peer's that arrived (late or duplicate segments) */
	[TC_RECEIVED] = { "received", "RECEIVED", "the peer's retransmissions received", 8, 0,
			  COL_RIGHT, SORT_DESC_FIRST },
	[TC_SRTT] = { "srtt", "SRTT", "smoothed round-trip time", 8, 0, COL_RIGHT,
		      SORT_DESC_FIRST },
	[TC_CWND] = { "cwnd", "CWND", "congestion window, segments", 7, 0, COL_RIGHT,
		      SORT_DESC_FIRST },
	[TC_IFACE] = { "iface", "IFACE", "interface", 8, 16, 0, SORT_ASC_FIRST },
};

enum ecol { EC_TIME, EC_KIND, EC_STATE, EC_FLOW, EC_SEQ, EC_SEGS, EC_MAX };

static const struct table_col ev_cols[EC_MAX] = {
	[EC_TIME] = { "time", "TIME", "wall-clock time of the event", 12, 0, 0, SORT_DESC_FIRST },
	[EC_KIND] = { "kind", "KIND", "retrans, syn, synack, rst-in, rst-out", 8, 0, 0,
		      SORT_ASC_FIRST },
	[EC_STATE] = { "state", "STATE", "TCP state at the event", 12, 0, 0, SORT_ASC_FIRST },
	[EC_FLOW] = { "flow", "FLOW", "the connection", 30, 100, COL_ELIDE_MID, SORT_ASC_FIRST },
	[EC_SEQ] = { "seq", "SEQ", "first sequence number", 10, 0, COL_RIGHT, SORT_DESC_FIRST },
	[EC_SEGS] = { "segs", "SEGS", "segments", 4, 0, COL_RIGHT, SORT_DESC_FIRST },
};

struct prev_retrans {
	struct flow_key key;
	uint64_t retrans;
};

struct retrans_pane {
	struct pane base;
	const struct snapshot *snap;
	int focus; /* 0: top flows, 1: recent events */
	struct table top, ev;
	uint32_t *idx; /* flows with retransmissions */
	double *rate;  /* per idx entry: segments per second over the last interval */
	size_t n, cap;
	struct prev_retrans *prev; /* the previous snapshot's counts, for the rate */
	size_t n_prev, cap_prev;
	unsigned prev_gen;
};

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

	p->snap = s;
	p->n = 0;
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
	/* sent or received: a receiver's list is not empty for want of its own */
	for (size_t i = 0; i < s->n_flows; i++)
		if (s->flows[i].retrans || s->flows[i].retrans_rx)
			p->idx[n++] = (uint32_t)i;
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
	p->n = n;
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

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

/* ---- the top flows ---- */

static size_t top_count(void *ctx)
{
	return ((struct retrans_pane *)ctx)->n;
}

static const struct flow_row *top_flow(const struct retrans_pane *p, size_t row)
{
	return &p->snap->flows[p->idx[row]];
}

static uint64_t top_id(void *ctx, size_t row)
{
	return table_hash(&top_flow(ctx, row)->key, sizeof(struct flow_key), TABLE_HASH_INIT);
}

static int top_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct retrans_pane *p = ctx;
	const struct flow_row *x = top_flow(p, a), *y = top_flow(p, b);

	switch (col) {
	case TC_FLOW:
		return flow_row_cmp(x, y, FS_LOCAL) ? flow_row_cmp(x, y, FS_LOCAL)
						    : flow_row_cmp(x, y, FS_REMOTE);
	case TC_STATE:
		return flow_row_cmp(x, y, FS_STATE);
	case TC_RATE:
		return CMP(p->rate[a], p->rate[b]);
	case TC_RECEIVED:
		return CMP(x->retrans_rx, y->retrans_rx);
	case TC_SRTT:
		return flow_row_cmp(x, y, FS_SRTT);
	case TC_CWND:
		return flow_row_cmp(x, y, FS_CWND);
	case TC_IFACE:
		return flow_row_cmp(x, y, FS_IFACE);
	default:
		return flow_row_cmp(x, y, FS_RETRANS);
	}
}

static void top_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct retrans_pane *p = ctx;
	const struct flow_row *f = top_flow(p, row);

	switch (col) {
	case TC_FLOW:
		flow_text(f, c->text, sizeof(c->text));
		break;
	case TC_STATE:
		ui_escape(c->text, sizeof(c->text), f->state, sizeof(f->state));
		if (!c->text[0])
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case TC_RETRANS:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)f->retrans);
		c->role = f->retrans ? ROLE_WARN : ROLE_NORMAL;
		break;
	case TC_RATE:
		if (p->rate[row] < 0)
			snprintf(c->text, sizeof(c->text), "-");
		else
			fmt_human(p->rate[row], c->text, sizeof(c->text));
		break;
	case TC_RECEIVED:
		snprintf(c->text, sizeof(c->text), "%u", f->retrans_rx);
		c->role = f->retrans_rx ? ROLE_WARN : ROLE_NORMAL;
		break;
	case TC_SRTT:
		/* unknown (no tcp_probe yet) is "-", never 0 */
		if (f->known & PL_FK_TCP_INFO)
			fmt_usec(f->srtt_us, c->text, sizeof(c->text));
		else
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case TC_CWND:
		if (f->known & PL_FK_TCP_INFO)
			snprintf(c->text, sizeof(c->text), "%u", f->cwnd);
		else
			snprintf(c->text, sizeof(c->text), "-");
		break;
	default:
		ui_escape(c->text, sizeof(c->text), f->iface, sizeof(f->iface));
		break;
	}
}

static const struct table_ops top_ops = {
	.count = top_count,
	.row_id = top_id,
	.cell = top_cell,
	.cmp = top_cmp,
};

/* ---- the recent events ---- */

static const struct tcp_event_row *event(const struct retrans_pane *p, size_t row)
{
	return &p->snap->tcp->recent[row];
}

static size_t ev_count(void *ctx)
{
	const struct retrans_pane *p = ctx;

	return p->snap && p->snap->tcp ? p->snap->tcp->n_recent : 0;
}

static uint64_t ev_id(void *ctx, size_t row)
{
	const struct tcp_event_row *e = event(ctx, row);
	uint64_t h = table_hash(&e->time, sizeof(e->time), TABLE_HASH_INIT);

	h = table_hash(&e->seq, sizeof(e->seq), h);
	return table_hash(&e->key, sizeof(e->key), h);
}

static int ev_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct tcp_event_row *x = event(ctx, a), *y = event(ctx, b);

	switch (col) {
	case EC_KIND:
		return strncmp(x->kind, y->kind, sizeof(x->kind));
	case EC_STATE:
		return strncmp(x->state, y->state, sizeof(x->state));
	case EC_FLOW:
		return strncmp(x->flow, y->flow, sizeof(x->flow));
	case EC_SEQ:
		return CMP(x->seq, y->seq);
	case EC_SEGS:
		return CMP(x->segs, y->segs);
	default:
		return CMP(x->time, y->time);
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

static void ev_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct retrans_pane *p = ctx;
	const struct tcp_event_row *e = event(p, row);
	const struct snapshot *s = p->snap;

	c->role = kind_role(e->kind);
	switch (col) {
	case EC_TIME:
		fmt_clock((double)s->time_unix_ns / 1e9 - (s->uptime_s - e->time), c->text,
			  sizeof(c->text));
		break;
	case EC_KIND:
		ui_escape(c->text, sizeof(c->text), e->kind, sizeof(e->kind));
		break;
	case EC_STATE:
		ui_escape(c->text, sizeof(c->text), e->state, sizeof(e->state));
		if (!c->text[0])
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case EC_FLOW:
		ui_escape(c->text, sizeof(c->text), e->flow, sizeof(e->flow));
		break;
	case EC_SEQ:
		snprintf(c->text, sizeof(c->text), "%u", e->seq);
		break;
	default:
		snprintf(c->text, sizeof(c->text), "%u", e->segs);
		break;
	}
}

static const struct table_ops ev_ops = {
	.count = ev_count,
	.row_id = ev_id,
	.cell = ev_cell,
	.cmp = ev_cmp,
};

static void sync(struct retrans_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	rescan(p, ui);
	table_rebuild(&p->top);
	table_rebuild(&p->ev);
}

static void draw_summary(struct ui *ui, const struct rect *r, const struct snapshot_tcp *t)
{
	char buf[320], a[16], b[16], c[16];

	snprintf(buf, sizeof(buf),
		 " retransmitted %llu segs (%s/s)   received %llu (the peers')   connections %llu "
		 "(%s/s)   short-lived %llu   resets in %llu out %llu   handshake avg %s%s",
		 (unsigned long long)t->retrans_total, fmt_human(t->retrans_rate, a, sizeof(a)),
		 (unsigned long long)t->retrans_rx, (unsigned long long)t->conns_opened,
		 fmt_human(t->conn_rate, b, sizeof(b)), (unsigned long long)t->short_lived,
		 (unsigned long long)t->resets_rx, (unsigned long long)t->resets_tx,
		 t->handshake_ms_avg > 0
		     ? fmt_usec((uint32_t)(t->handshake_ms_avg * 1000 + 0.5), c, sizeof(c))
		     : "-",
		 t->events_lost ? "   EVENTS LOST" : "");
	ui_put(ui, r->y, r->x, r->w, t->retrans_total || t->retrans_rx ? ROLE_WARN : ROLE_NORMAL,
	       buf);
}

/* A list's title line, then its table; the focused list's title stands out. */
static void draw_list(struct retrans_pane *p, struct ui *ui, struct table *t, const char *title,
		      const char *empty, int y, int h, const struct rect *r)
{
	struct rect tr = { .y = y + 1, .x = r->x, .h = h - 1, .w = r->w };
	int focused = (t == &p->ev) == p->focus;

	ui_put(ui, y, r->x, r->w, focused ? ROLE_TITLE : ROLE_DIM, title);
	table_draw(t, ui, &tr);
	table_draw_empty(t, ui, &tr, empty);
}

static void retrans_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;
	const struct snapshot *s = ui->snap;
	int y = r->y, h, top_h;

	sync(p, ui);
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
	if (h < 6)
		return;
	/* the flow table takes what it needs up to 40%, the events get the rest */
	top_h = (int)p->n + 2;
	if (top_h < 4)
		top_h = 4;
	if (top_h > h * 2 / 5)
		top_h = h * 2 / 5 > 3 ? h * 2 / 5 : 3;
	draw_list(p, ui, &p->top, " TOP FLOWS BY RETRANSMISSIONS",
		  " no retransmissions seen, sent or received", y, top_h, r);
	y += top_h + 1;
	if (r->y + r->h - y >= 3)
		draw_list(p, ui, &p->ev,
			  " RECENT EVENTS (retransmissions, SYN/SYN-ACK resends, resets)",
			  " no retransmission or reset events yet", y, r->y + r->h - y, r);
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
	const struct flow_row *f = NULL;
	size_t row;
	int r;

	sync(p, ui);
	switch (act) {
	case ACT_TOGGLE:
		p->focus = !p->focus;
		return R_HANDLED | R_REDRAW;
	case ACT_ENTER:
		if (!p->snap)
			return R_HANDLED;
		if (p->focus == 0 && table_selected(&p->top, &row))
			f = top_flow(p, row);
		else if (p->focus == 1 && table_selected(&p->ev, &row))
			f = find_flow(p->snap, &event(p, row)->key);
		if (f)
			ui_push_overlay(ui, detail_pane__new(ui, f));
		else
			ui_status(ui, "that flow is no longer in the flow table");
		return R_HANDLED | R_REDRAW;
	case ACT_CLICK:
		/* a click goes to the list it falls in, which takes the focus */
		if ((r = table_on_key(&p->top, ui, act, key)) != R_IGNORED) {
			p->focus = 0;
			return r;
		}
		if ((r = table_on_key(&p->ev, ui, act, key)) != R_IGNORED)
			p->focus = 1;
		return r;
	default:
		return table_on_key(p->focus ? &p->ev : &p->top, ui, act, key);
	}
}

static void retrans_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;
	char t[256];

	sync(p, ui);
	table_info(p->focus ? &p->ev : &p->top, ui, t, sizeof(t));
	snprintf(buf, len, "%zu flows retransmitting  %zu events  %s", p->n, p->ev.total, t);
}

static struct table *retrans_table(struct pane *pp)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;

	return p->focus ? &p->ev : &p->top;
}

static void retrans_save(struct pane *pp, FILE *f)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;

	table_settings_write(&p->top, f, "retrans.top");
	table_settings_write(&p->ev, f, "retrans.events");
}

static int retrans_load(struct pane *pp, const char *key, const char *value, char *err,
			size_t errlen)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;
	int r = table_settings_apply(&p->top, "retrans.top", key, value, err, errlen);

	return r ? r : table_settings_apply(&p->ev, "retrans.events", key, value, err, errlen);
}

static void retrans_destroy(struct pane *pp)
{
	struct retrans_pane *p = (struct retrans_pane *)pp;

	table_fini(&p->top);
	table_fini(&p->ev);
	free(p->idx);
	free(p->rate);
	free(p->prev);
	free(p);
}

static const struct key_binding retrans_keys[] = {
	{ ' ', "Space", ACT_TOGGLE, 0, "move between the top flows and the recent events",
	  "Flows/events" },
	KEYS_ENTER(ACT_ENTER, "details of the selected flow", "Details"),
};
static const struct keymap retrans_keymap = KEYMAP("Retransmissions", retrans_keys);
static const struct keymap *const retrans_maps[] = { &retrans_keymap, &keys_list, NULL };

static const struct pane_class retrans_class = {
	.name = "Retrans",
	.keys = retrans_maps,
	.display = retrans_display,
	.on_key = retrans_on_key,
	.table = retrans_table,
	.id = "retrans",
	.save = retrans_save,
	.load = retrans_load,
	.info = retrans_info,
	.destroy = retrans_destroy,
};

struct pane *retrans_pane__new(struct ui *ui)
{
	struct retrans_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &retrans_class;
	table_init(&p->top, top_cols, TC_MAX, &top_ops, p, "flows");
	table_reset(&p->top, TC_RETRANS);
	table_init(&p->ev, ev_cols, EC_MAX, &ev_ops, p, "events");
	table_reset(&p->ev, EC_TIME);
	return &p->base;
}
