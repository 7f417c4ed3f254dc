/* The Alerts pane: scans, floods, spikes and bursts, newest first; Enter shows the flows involved, b blocks the source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/security.h"
#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

enum acol {
	AC_TIME,
	AC_KIND,
	AC_SOURCE,
	AC_TARGET,
	AC_PORTS,
	AC_COUNT,
	AC_LAST,
	AC_STATE,
	AC_DETAIL,
	AC_MAX
};

static const struct table_col alert_cols[AC_MAX] = {
	[AC_TIME] = { "time", "TIME", "wall-clock time the alert was raised", 8, 0, 0,
		      SORT_DESC_FIRST },
	[AC_KIND] = { "kind", "KIND",
		      "port_scan, host_scan, slow_scan, syn_flood, icmp_flood, "
		      "udp_flood, rate_spike, rst_burst, drop_burst, dns_unsolicited",
		      10, 15, 0, SORT_ASC_FIRST },
	[AC_SOURCE] = { "source", "SOURCE", "the address it came from, or how many (spoofed)", 10,
			39, COL_ELIDE_MID, SORT_ASC_FIRST },
	[AC_TARGET] = { "target", "TARGET", "the local address (or addresses) it went to", 10, 39,
			COL_ELIDE_MID, SORT_ASC_FIRST },
	[AC_PORTS] = { "ports", "PORTS", "local ports involved", 6, 30, 0, SORT_ASC_FIRST },
	[AC_COUNT] = { "count", "COUNT", "probes, SYNs, packets, resets, drops or answers", 7, 0,
		       COL_RIGHT, SORT_DESC_FIRST },
	[AC_LAST] = { "last_seen", "LAST", "time since the last evidence", 8, 0, COL_RIGHT,
		      SORT_ASC_FIRST },
	[AC_STATE] = { "state", "STATE", "active while evidence keeps coming", 6, 0, 0,
		       SORT_ASC_FIRST },
	[AC_DETAIL] = { "detail", "EVIDENCE", "what was seen, in one line", 20, 240, 0, SORT_NONE },
};

struct alerts_pane {
	struct pane base;
	const struct snapshot *snap;
	struct table t;
};

static const struct pane_class alert_flows_class;

/* Enter on an alert: the flows of this snapshot that it concerns. */
struct alert_flows_pane {
	struct pane base;
	struct alert_row a; /* a copy: the snapshot it came from goes */
	size_t top;
	int page;
};

static const struct snapshot_sec *sec_of(const struct snapshot *s)
{
	return s ? s->sec : NULL;
}

static const struct alert_row *alert_at(const struct alerts_pane *p, size_t row)
{
	return &p->snap->sec->alerts[row];
}

static size_t alert_count(void *ctx)
{
	const struct alerts_pane *p = ctx;
	const struct snapshot_sec *ss = sec_of(p->snap);

	return ss ? ss->n_alerts : 0;
}

static uint64_t alert_id(void *ctx, size_t row)
{
	uint32_t id = alert_at(ctx, row)->id;

	return table_hash(&id, sizeof(id), TABLE_HASH_INIT);
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int alert_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct alert_row *x = alert_at(ctx, a), *y = alert_at(ctx, b);

	switch (col) {
	case AC_KIND:
		return strcmp(alert_kind_name(x->kind), alert_kind_name(y->kind));
	case AC_SOURCE:
		return strcmp(x->source, y->source);
	case AC_TARGET:
		return strcmp(x->target, y->target);
	case AC_PORTS:
		return strcmp(x->ports, y->ports);
	case AC_COUNT:
		return CMP(x->count, y->count);
	case AC_LAST:
		/* how long ago: the most recent is the smallest */
		return CMP(y->last_seen, x->last_seen);
	case AC_STATE:
		return CMP(y->active, x->active);
	default: /* raised: by time, then by id */
		return x->first_seen != y->first_seen ? CMP(x->first_seen, y->first_seen)
						      : CMP(x->id, y->id);
	}
}

static void alert_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct alerts_pane *p = ctx;
	const struct snapshot *s = p->snap;
	const struct alert_row *a = alert_at(p, row);
	char buf[64];

	c->role = a->active ? ROLE_WARN : ROLE_DIM;
	switch (col) {
	case AC_TIME:
		fmt_clock((double)s->time_unix_ns / 1e9 - (s->uptime_s - a->first_seen), buf,
			  sizeof(buf));
		/* hh:mm:ss is enough in a list; the drill-down has the milliseconds */
		snprintf(c->text, sizeof(c->text), "%.8s", buf);
		break;
	case AC_KIND:
		snprintf(c->text, sizeof(c->text), "%s", alert_kind_name(a->kind));
		break;
	case AC_SOURCE:
		ui_escape(c->text, sizeof(c->text), a->source, sizeof(a->source));
		if (!c->text[0])
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case AC_TARGET:
		ui_escape(c->text, sizeof(c->text), a->target, sizeof(a->target));
		if (!c->text[0])
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case AC_PORTS:
		ui_escape(c->text, sizeof(c->text), a->ports, sizeof(a->ports));
		if (!c->text[0])
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case AC_COUNT:
		fmt_human((double)a->count, c->text, sizeof(c->text));
		break;
	case AC_LAST:
		fmt_ago(s->uptime_s - a->last_seen, c->text, sizeof(c->text));
		break;
	case AC_STATE:
		snprintf(c->text, sizeof(c->text), "%s", a->active ? "active" : "ended");
		break;
	default:
		ui_escape(c->text, sizeof(c->text), a->detail, sizeof(a->detail));
		break;
	}
}

static const struct table_ops alert_ops = {
	.count = alert_count,
	.row_id = alert_id,
	.cell = alert_cell,
	.cmp = alert_cmp,
};

static void sync(struct alerts_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	p->snap = ui->snap;
	table_rebuild(&p->t);
}

static void alerts_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct alerts_pane *p = (struct alerts_pane *)pp;
	const struct snapshot_sec *ss;
	char buf[320];

	sync(p, ui);
	ss = sec_of(ui->snap);
	if (!ui->snap) {
		ui_put(ui, r->y, r->x, r->w, ROLE_DIM, " waiting for data...");
		return;
	}
	if (!ss) {
		ui_put(ui, r->y, r->x, r->w, ROLE_DIM, " no security data in this snapshot");
		return;
	}
	if (!ss->detect_on)
		snprintf(
		    buf, sizeof(buf),
		    " detection is off (--alert off): no alerts are raised; the firewall works");
	else
		snprintf(
		    buf, sizeof(buf),
		    " %u active, %llu raised since start   detection: %llu events, %llu lost   "
		    "SYN in %llu, resets in %llu out %llu, unreachables out %llu",
		    ss->alerts_active, (unsigned long long)ss->alerts_raised,
		    (unsigned long long)ss->kc.events, (unsigned long long)ss->kc.events_lost,
		    (unsigned long long)ss->kc.syn_in, (unsigned long long)ss->kc.rst_in,
		    (unsigned long long)ss->kc.rst_out, (unsigned long long)ss->kc.unreach_out);
	ui_put(ui, r->y, r->x, r->w,
	       !ss->detect_on	    ? ROLE_DIM
	       : ss->alerts_active  ? ROLE_WARN
	       : ss->kc.events_lost ? ROLE_WARN
				    : ROLE_OK,
	       buf);
	struct rect tr = { .y = r->y + 1, .x = r->x, .h = r->h - 1, .w = r->w };
	table_draw(&p->t, ui, &tr);
	table_draw_empty(&p->t, ui, &tr,
			 " no alerts: scans, floods, rate spikes, reset and drop bursts and "
			 "unsolicited DNS answers show here");
}

static struct pane *alert_flows__new(const struct alert_row *a)
{
	struct alert_flows_pane *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->base.cls = &alert_flows_class;
	o->a = *a;
	return &o->base;
}

static int block_alert(struct ui *ui, const struct alert_row *a)
{
	if (!a->has_src) {
		ui_status_err(ui,
			      "this %s has no single source (%s): block a prefix with b on a flow "
			      "or a remote-host group",
			      alert_kind_name(a->kind), a->source[0] ? a->source : "none");
		return R_HANDLED | R_REDRAW;
	}
	ui_block_prompt(ui, a->family, a->src);
	return R_HANDLED | R_REDRAW;
}

static int alerts_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct alerts_pane *p = (struct alerts_pane *)pp;
	size_t row;

	sync(p, ui);
	switch (act) {
	case ACT_ENTER:
		if (table_selected(&p->t, &row)) {
			struct pane *o = alert_flows__new(alert_at(p, row));

			if (o)
				ui_push_overlay(ui, o);
		}
		return R_HANDLED | R_REDRAW;
	case ACT_BLOCK:
		if (!table_selected(&p->t, &row))
			return R_HANDLED;
		return block_alert(ui, alert_at(p, row));
	default:
		return table_on_key(&p->t, ui, act, key);
	}
}

static void alerts_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct alerts_pane *p = (struct alerts_pane *)pp;

	sync(p, ui);
	table_info(&p->t, ui, buf, len);
}

static struct table *alerts_table(struct pane *pp)
{
	return &((struct alerts_pane *)pp)->t;
}

static void alerts_destroy(struct pane *pp)
{
	table_fini(&((struct alerts_pane *)pp)->t);
	free(pp);
}

static const struct key_binding alerts_keys[] = {
	KEYS_ENTER(ACT_ENTER, "the flows the selected alert concerns", "Flows"),
	{ 'b', "b", ACT_BLOCK, 0, "block the alert's source (XDP rule; edit it for a prefix)",
	  "Block" },
};
static const struct keymap alerts_keymap = KEYMAP("Alerts", alerts_keys);
static const struct keymap *const alerts_maps[] = { &alerts_keymap, &keys_list, NULL };

static const struct pane_class alerts_class = {
	.name = "Alerts",
	.keys = alerts_maps,
	.display = alerts_display,
	.on_key = alerts_on_key,
	.table = alerts_table,
	.id = "alerts",
	.info = alerts_info,
	.destroy = alerts_destroy,
};

struct pane *alerts_pane__new(struct ui *ui)
{
	struct alerts_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &alerts_class;
	table_init(&p->t, alert_cols, AC_MAX, &alert_ops, p, "alerts");
	table_reset(&p->t, AC_TIME);
	return &p->base;
}

/* ---- the flows of one alert ---- */

static int same_addr(uint8_t family, const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, family == PL_AF_INET ? 4 : 16);
}

/* Whether the flow is one the alert speaks of: its source, its target, its port, its protocol. */
static int alert_has_flow(const struct alert_row *a, const struct flow_row *f)
{
	uint8_t fp = f->key.proto == 58 ? 1 : f->key.proto, ap = a->proto == 58 ? 1 : a->proto;

	if ((a->has_src || a->has_dst) && f->key.family != a->family)
		return 0;
	if (a->has_src && !same_addr(a->family, a->src, f->key.remote))
		return 0;
	if (a->has_dst && !same_addr(a->family, a->dst, f->key.local))
		return 0;
	if (a->port && f->key.local_port != a->port)
		return 0;
	if (ap && fp != ap)
		return 0;
	/* an alert with neither address nor port would take in everything */
	return a->has_src || a->has_dst || a->port;
}

static void flows_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct alert_flows_pane *p = (struct alert_flows_pane *)pp;
	const struct snapshot *s = ui->snap;
	const struct alert_row *a = &p->a;
	char buf[512], src[80], dst[80], ports[140], det[300], clk[32];
	int y = r->y, bottom = r->y + r->h;

	ui_escape(src, sizeof(src), a->source, sizeof(a->source));
	ui_escape(dst, sizeof(dst), a->target, sizeof(a->target));
	ui_escape(ports, sizeof(ports), a->ports, sizeof(a->ports));
	ui_escape(det, sizeof(det), a->detail, sizeof(a->detail));
	fmt_clock(s ? (double)s->time_unix_ns / 1e9 - (s->uptime_s - a->first_seen) : -1, clk,
		  sizeof(clk));
	snprintf(buf, sizeof(buf), " Alert %u: %s from %s to %s port %s, count %llu, since %s",
		 a->id, alert_kind_name(a->kind), src[0] ? src : "-", dst[0] ? dst : "-",
		 ports[0] ? ports : "-", (unsigned long long)a->count, clk);
	ui_put(ui, y++, r->x, r->w, ROLE_TITLE, buf);
	ui_put(ui, y++, r->x, r->w, ROLE_WARN, det);
	y++;
	ui_put(ui, y++, r->x, r->w, ROLE_HEADER,
	       " FLOW                                                      RX PKTS    RX PPS   TX "
	       "PKTS  STATE        LAST SEEN");
	if (!s || y >= bottom)
		return;
	size_t n = 0, shown = 0;
	p->page = bottom - y;
	for (size_t i = 0; i < s->n_flows; i++) {
		const struct flow_row *f = &s->flows[i];
		char fl[200], l[80], rm[80], loc[64], rem[64], a1[16], ago[24];

		if (!alert_has_flow(a, f))
			continue;
		if (n++ < p->top || y >= bottom)
			continue;
		ui_escape(loc, sizeof(loc), f->local, sizeof(f->local));
		ui_escape(rem, sizeof(rem), f->remote, sizeof(f->remote));
		fmt_endpoint(loc, f->key.local_port, f->key.family == PL_AF_INET6, l, sizeof(l));
		fmt_endpoint(rem, f->key.remote_port, f->key.family == PL_AF_INET6, rm, sizeof(rm));
		snprintf(fl, sizeof(fl), "%s %s <> %s", proto_name(f->key.proto), l, rm);
		snprintf(buf, sizeof(buf), " %-56.56s %8llu %9s %8llu  %-12s %s", fl,
			 (unsigned long long)f->rx_packets, fmt_human(f->rx_pps, a1, sizeof(a1)),
			 (unsigned long long)f->tx_packets, f->state[0] ? f->state : "-",
			 fmt_ago(s->uptime_s - f->last_seen, ago, sizeof(ago)));
		ui_put(ui, y++, r->x, r->w, ROLE_NORMAL, buf);
		shown++;
	}
	if (!n)
		ui_put(ui, y, r->x, r->w, ROLE_DIM,
		       a->has_src || a->has_dst || a->port
			   ? " none of its flows is in the flow table now (idle ones are "
			     "forgotten after --idle)"
			   : " this alert names no address or port to find flows by");
	else if (p->top + shown < n && bottom - 1 > r->y)
		ui_put_right(ui, bottom - 1, r->x, r->w, ROLE_DIM, "(more: arrows scroll) ");
}

static int flows_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct alert_flows_pane *p = (struct alert_flows_pane *)pp;

	if (act == ACT_BACK)
		return R_CLOSE;
	if (act == ACT_BLOCK)
		return block_alert(ui, &p->a);
	return scroll_key(&p->top, ui->snap ? ui->snap->n_flows : 0, p->page, act);
}

static void flows_destroy(struct pane *pp)
{
	free(pp);
}

static const struct key_binding alert_flows_keys[] = {
	{ 'b', "b", ACT_BLOCK, 0, "block the alert's source", "Block" },
};
static const struct keymap alert_flows_keymap = KEYMAP("Alert flows", alert_flows_keys);
static const struct keymap *const alert_flows_maps[] = { &alert_flows_keymap, &keys_scroll, NULL };

static const struct pane_class alert_flows_class = {
	.name = "Alert flows",
	.keys = alert_flows_maps,
	.live = 1,
	.display = flows_display,
	.on_key = flows_on_key,
	.destroy = flows_destroy,
};
