/* The Probes pane: every probe with kind, target, state, reason and BPF run statistics; toggle and add. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

enum pcol { PC_KIND, PC_TARGET, PC_STATE, PC_RUNS, PC_AVG, PC_HITS, PC_DETAIL, PC_REASON, PC_MAX };

static const struct table_col cols[PC_MAX] = {
	[PC_KIND] = { "kind", "KIND", "hook kind", 13, 0, 0, SORT_ASC_FIRST },
	[PC_TARGET] = { "target", "TARGET", "interface, tracepoint, function or binary:symbol", 28,
			96, COL_ELIDE_MID, SORT_ASC_FIRST },
	[PC_STATE] = { "state", "STATE", "attached, detached, unsupported or error", 11, 0, 0,
		       SORT_ASC_FIRST },
	[PC_RUNS] = { "runs", "RUNS", "times the program ran (BPF stats)", 9, 0, COL_RIGHT,
		      SORT_DESC_FIRST },
	[PC_AVG] = { "avg_ns", "AVG NS", "average run time, nanoseconds", 7, 0, COL_RIGHT,
		     SORT_DESC_FIRST },
	[PC_HITS] = { "hits", "HITS", "events this attachment counted", 8, 0, COL_RIGHT,
		      SORT_DESC_FIRST },
	[PC_DETAIL] = { "mode", "MODE", "how it is attached (XDP native/generic...)", 10, 32, 0,
			SORT_ASC_FIRST },
	[PC_REASON] = { "reason", "REASON", "why it is unsupported or failed", 20, 200, 0,
			SORT_ASC_FIRST },
};

#define CONFIRMED_MAX 32

struct probes_pane {
	struct pane base;
	const struct snapshot *snap;
	struct table t;
	char pending[160];		    /* the costly probe a yes/no question is about */
	char confirmed[CONFIRMED_MAX][160]; /* asked once: not again this run */
	size_t n_confirmed;
};

/* What attaching costs, for the probes that cost on every packet; NULL for the others. */
static const char *attach_cost(const struct probe_info *pi)
{
	if (pi->kind == PK_XDP)
		/*
		 * veth_xdp_set() takes NETIF_F_GSO_SOFTWARE from the peer whatever the
		 * program: measured with an xdp.frags variant too, the same runs per
		 * packet and the same loss (make bench figure 3, --probes default,xdp).
		 */
		return "XDP runs on every packet before the stack; on a veth the kernel takes GSO "
		       "from the peer, so TCP crosses packet by packet as with GRO off, xdp.frags "
		       "or not (make bench: ~0.4 of the TCP throughput)";
	if (pi->kind == PK_TRACEPOINT && (!strcmp(pi->target, "net:netif_receive_skb") ||
					  !strcmp(pi->target, "skb:skb_copy_datagram_iovec")))
		return "this tracepoint fires for every packet the host receives, on every "
		       "interface";
	return NULL;
}

static double avg_ns(const struct probe_info *pi)
{
	return pi->run_cnt ? (double)pi->run_time_ns / (double)pi->run_cnt : 0;
}

static size_t probe_count(void *ctx)
{
	const struct probes_pane *p = ctx;

	return p->snap ? p->snap->n_probes : 0;
}

static uint64_t probe_id(void *ctx, size_t row)
{
	const struct probes_pane *p = ctx;
	const char *id = p->snap->probes[row].id;

	return table_hash(id, strnlen(id, sizeof(p->snap->probes[row].id)), TABLE_HASH_INIT);
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int probe_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct probes_pane *p = ctx;
	const struct probe_info *x = &p->snap->probes[a], *y = &p->snap->probes[b];

	switch (col) {
	case PC_KIND:
		return CMP(x->kind, y->kind);
	case PC_TARGET:
		return strcmp(x->target, y->target);
	case PC_STATE:
		return CMP(x->state, y->state);
	case PC_RUNS:
		return CMP(x->run_cnt, y->run_cnt);
	case PC_AVG:
		return CMP(avg_ns(x), avg_ns(y));
	case PC_HITS:
		return CMP(x->hits, y->hits);
	case PC_DETAIL:
		return strcmp(x->detail, y->detail);
	default:
		return strcmp(x->reason, y->reason);
	}
}

static int probe_match(void *ctx, size_t row, const char *text)
{
	const struct probes_pane *p = ctx;
	const struct probe_info *pi = &p->snap->probes[row];
	char buf[600];

	snprintf(buf, sizeof(buf), "%s %s %s %s %s", pi->id, probe_kind_name(pi->kind),
		 probe_state_name(pi->state), pi->reason, pi->detail);
	return !!strcasestr(buf, text);
}

static const struct probe_info *sel_probe(struct probes_pane *p)
{
	size_t row;

	return table_selected(&p->t, &row) ? &p->snap->probes[row] : NULL;
}

static enum role state_role(enum probe_state s)
{
	switch (s) {
	case PS_ATTACHED:
		return ROLE_OK;
	case PS_UNSUPPORTED:
		return ROLE_WARN;
	case PS_ERROR:
		return ROLE_ERROR;
	default:
		return ROLE_DIM;
	}
}

static void probe_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct probes_pane *p = ctx;
	const struct probe_info *pi = &p->snap->probes[row];

	switch (col) {
	case PC_KIND:
		snprintf(c->text, sizeof(c->text), "%s", probe_kind_name(pi->kind));
		break;
	case PC_TARGET:
		ui_escape(c->text, sizeof(c->text), pi->target, sizeof(pi->target));
		break;
	case PC_STATE:
		snprintf(c->text, sizeof(c->text), "%s", probe_state_name(pi->state));
		c->role = state_role(pi->state);
		break;
	case PC_RUNS:
		fmt_human((double)pi->run_cnt, c->text, sizeof(c->text));
		break;
	case PC_AVG:
		if (pi->run_cnt)
			snprintf(c->text, sizeof(c->text), "%.0f", avg_ns(pi));
		else
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case PC_HITS:
		fmt_human((double)pi->hits, c->text, sizeof(c->text));
		break;
	case PC_DETAIL:
		ui_escape(c->text, sizeof(c->text), pi->detail, sizeof(pi->detail));
		break;
	case PC_REASON:
		ui_escape(c->text, sizeof(c->text), pi->reason, sizeof(pi->reason));
		c->role = pi->state == PS_ERROR ? ROLE_ERROR : ROLE_WARN;
		break;
	default:
		break;
	}
}

static const struct table_ops probe_ops = {
	.count = probe_count,
	.row_id = probe_id,
	.cell = probe_cell,
	.cmp = probe_cmp,
	.match = probe_match,
};

static void sync(struct probes_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	p->snap = ui->snap;
	table_rebuild(&p->t);
}

/* Rows the selected probe's latency histogram needs (0 without samples), at most half the list. */
static int hist_rows(const struct probe_info *pi, int h, int *lo, int *hi)
{
	int n;

	if (!pi || !pi->lat_count)
		return 0;
	*lo = 0;
	*hi = 23;
	while (*lo < 23 && !pi->lat_hist[*lo])
		(*lo)++;
	while (*hi > *lo && !pi->lat_hist[*hi])
		(*hi)--;
	n = *hi - *lo + 2 + (pi->n_lat_pids ? 1 : 0);
	if (n > h / 2) {
		n = h / 2;
		if (n < 3)
			return 0;
		/* keep the buckets around the largest ones: trim from the fast end */
		*lo = *hi - (n - 2 - (pi->n_lat_pids ? 1 : 0));
		if (*lo < 0)
			*lo = 0;
	}
	return n;
}

/* The selected probe's latency histogram: one bar per log2 microsecond bucket, then its processes. */
static void draw_hist(struct ui *ui, const struct rect *r, int y, const struct probe_info *pi,
		      int lo, int hi, int rows)
{
	char line[400], id[200], a[16];
	uint32_t max = 1;
	int bw = r->w - 24, o;

	ui_escape(id, sizeof(id), pi->id, sizeof(pi->id));
	snprintf(line, sizeof(line), " latency of %s: %llu calls", id,
		 (unsigned long long)pi->lat_count);
	ui_put(ui, y++, r->x, r->w, ROLE_TITLE, line);
	rows--;
	for (int b = lo; b <= hi; b++)
		if (pi->lat_hist[b] > max)
			max = pi->lat_hist[b];
	if (bw > 60)
		bw = 60;
	for (int b = lo; b <= hi && rows > (pi->n_lat_pids ? 1 : 0); b++, rows--) {
		int n = bw > 0 ? (int)((uint64_t)pi->lat_hist[b] * (uint64_t)bw / max) : 0;

		if (pi->lat_hist[b] && !n && bw > 0)
			n = 1;
		o = snprintf(line, sizeof(line), " <%7s %10u ", fmt_usec(2u << b, a, sizeof(a)),
			     pi->lat_hist[b]);
		for (int i = 0; i < n && o + 4 < (int)sizeof(line); i++)
			o += snprintf(line + o, sizeof(line) - (size_t)o, "%s",
				      ui->utf8 ? "\u2588" : "#");
		ui_put(ui, y++, r->x, r->w, ROLE_SPARK, line);
	}
	if (pi->n_lat_pids && rows > 0) {
		o = snprintf(line, sizeof(line), " by process:");
		for (uint32_t i = 0; i < pi->n_lat_pids && o < (int)sizeof(line); i++)
			o += snprintf(line + o, sizeof(line) - (size_t)o, "  pid %u: %llu",
				      pi->lat_pids[i].pid,
				      (unsigned long long)pi->lat_pids[i].count);
		ui_put(ui, y, r->x, r->w, ROLE_NORMAL, line);
	}
}

static void probes_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct probes_pane *p = (struct probes_pane *)pp;
	struct rect tr = *r;
	const struct probe_info *sp;
	int lo = 0, hi = 0, hr;

	sync(p, ui);
	sp = sel_probe(p);
	/* the last line spells out the selected probe, the histogram goes above it */
	tr.h = r->h - 1;
	hr = hist_rows(sp, tr.h - 1, &lo, &hi);
	tr.h -= hr;
	table_draw(&p->t, ui, &tr);
	table_draw_empty(&p->t, ui, &tr, ui->snap ? " no probes" : " waiting for data...");
	if (sp) {
		char id[200], reason[400], line[640];

		ui_escape(id, sizeof(id), sp->id, sizeof(sp->id));
		ui_escape(reason, sizeof(reason), sp->reason, sizeof(sp->reason));
		int o = snprintf(line, sizeof(line), " %s: %s%s%s", id, probe_state_name(sp->state),
				 reason[0] ? ": " : "", reason);
		/* how it is attached, and the rest of the hook's chain (other tools' programs) */
		if (sp->detail[0] && o < (int)sizeof(line)) {
			char d[130];

			ui_escape(d, sizeof(d), sp->detail, sizeof(sp->detail));
			o += snprintf(line + o, sizeof(line) - (size_t)o, " [%s]", d);
		}
		for (uint32_t k = 0; k < sp->n_others && o < (int)sizeof(line); k++) {
			char nm[70];

			ui_escape(nm, sizeof(nm), sp->others[k].name, sizeof(sp->others[k].name));
			o += snprintf(line + o, sizeof(line) - (size_t)o, "%s%s %s id %u",
				      k ? ", " : "  also here: ", sp->others[k].how,
				      nm[0] ? nm : "?", sp->others[k].id);
		}
		ui_put(ui, r->y + r->h - 1, r->x, r->w, state_role(sp->state), line);
		if (hr)
			draw_hist(ui, r, tr.y + tr.h, sp, lo, hi, hr);
	}
}

static void toggle_id(struct ui *ui, const char *probe_id, int was_attached)
{
	char err[256] = "", id[160];

	if (!ui->act.probe_toggle) {
		ui_status_err(ui, "probe toggling is not available here");
		return;
	}
	/* copy: the snapshot may be replaced while the engine works */
	snprintf(id, sizeof(id), "%s", probe_id);
	if (ui->act.probe_toggle(ui->act.ctx, id, err, sizeof(err)))
		ui_status_err(ui, "%s: %s", id, err[0] ? err : "failed");
	else
		ui_status(ui, "%s %s", was_attached ? "detached" : "attached", id);
}

static int confirmed(const struct probes_pane *p, const char *id)
{
	for (size_t i = 0; i < p->n_confirmed; i++)
		if (!strcmp(p->confirmed[i], id))
			return 1;
	return 0;
}

/* Space: detach, or attach; a probe that costs on every packet asks first, once per run. */
static int toggle(struct probes_pane *p, struct ui *ui)
{
	const struct probe_info *pi = sel_probe(p);
	const char *cost;
	char q[160];

	if (!pi)
		return R_HANDLED;
	cost = attach_cost(pi);
	if (pi->state != PS_ATTACHED && cost && !confirmed(p, pi->id)) {
		snprintf(p->pending, sizeof(p->pending), "%s", pi->id);
		snprintf(q, sizeof(q),
			 "attach %.100s? y attaches, any other key does not: ", pi->id);
		ui_prompt_open(ui, PROMPT_CONFIRM, q, "", &p->base);
		/* what it costs, on the line above the question */
		snprintf(ui->prompt.cands, sizeof(ui->prompt.cands), "%s", cost);
		return R_HANDLED | R_REDRAW;
	}
	toggle_id(ui, pi->id, pi->state == PS_ATTACHED);
	return R_HANDLED | R_REDRAW;
}

static int probes_prompt(struct pane *pp, struct ui *ui, enum prompt_kind kind, const char *text,
			 char *err, size_t errlen)
{
	struct probes_pane *p = (struct probes_pane *)pp;

	if (kind != PROMPT_CONFIRM || !p->pending[0])
		return 0;
	if (p->n_confirmed < CONFIRMED_MAX)
		snprintf(p->confirmed[p->n_confirmed++], sizeof(p->confirmed[0]), "%s", p->pending);
	toggle_id(ui, p->pending, 0);
	p->pending[0] = '\0';
	return 1;
}

/* ---- one probe in full ---- */

struct probe_detail {
	struct pane base;
	struct probe_info last; /* kept when the probe leaves the table */
	int gone;
};

static void put_line(struct ui *ui, const struct rect *r, int *y, enum role role, const char *s)
{
	if (*y < r->y + r->h)
		ui_put(ui, (*y)++, r->x, r->w, role, s);
}

static void detail_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct probe_detail *d = (struct probe_detail *)pp;
	const struct probe_info *pi = &d->last;
	const char *cost;
	char buf[640], a[200], b[400], n1[16], n2[16];
	int y = r->y, lo = 0, hi = 0, hr;

	d->gone = 1;
	for (size_t i = 0; ui->snap && i < ui->snap->n_probes; i++)
		if (!strcmp(ui->snap->probes[i].id, d->last.id)) {
			d->last = ui->snap->probes[i];
			d->gone = 0;
		}
	ui_escape(a, sizeof(a), pi->id, sizeof(pi->id));
	snprintf(buf, sizeof(buf), " Probe %s%s", a, d->gone ? "  (gone; last values)" : "");
	put_line(ui, r, &y, ROLE_TITLE, buf);
	ui_escape(a, sizeof(a), pi->target, sizeof(pi->target));
	snprintf(buf, sizeof(buf), " kind     %s      target %s", probe_kind_name(pi->kind), a);
	put_line(ui, r, &y, ROLE_NORMAL, buf);
	ui_escape(a, sizeof(a), pi->detail, sizeof(pi->detail));
	snprintf(buf, sizeof(buf), " state    %s      attached as %s", probe_state_name(pi->state),
		 a[0] ? a : "-");
	put_line(ui, r, &y, state_role(pi->state), buf);
	ui_escape(b, sizeof(b), pi->reason, sizeof(pi->reason));
	snprintf(buf, sizeof(buf), " reason   %s", b[0] ? b : "-");
	put_line(ui, r, &y, b[0] ? ROLE_WARN : ROLE_NORMAL, buf);
	snprintf(buf, sizeof(buf),
		 " runs     %llu   average %s ns a run   (BPF statistics of the program)",
		 (unsigned long long)pi->run_cnt,
		 pi->run_cnt ? fmt_human(avg_ns(pi), n1, sizeof(n1)) : "-");
	put_line(ui, r, &y, ROLE_NORMAL, buf);
	snprintf(buf, sizeof(buf),
		 " hits     %llu events this attachment counted   missed %s (runs the kernel "
		 "skipped)",
		 (unsigned long long)pi->hits, fmt_human((double)pi->misses, n2, sizeof(n2)));
	put_line(ui, r, &y, pi->misses ? ROLE_WARN : ROLE_NORMAL, buf);
	cost = attach_cost(pi);
	snprintf(buf, sizeof(buf), " cost     %s", cost ? cost : "only when its event happens");
	put_line(ui, r, &y, cost ? ROLE_WARN : ROLE_DIM, buf);
	y++;
	hr = hist_rows(pi, r->y + r->h - y, &lo, &hi);
	if (hr)
		draw_hist(ui, r, y, pi, lo, hi, hr);
	else if (pi->kind == PK_KPROBE || pi->kind == PK_UPROBE)
		put_line(ui, r, &y, ROLE_DIM,
			 " latency: add the matching return probe to time the calls");
}

static int detail_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	return act == ACT_BACK || act == ACT_ENTER ? R_CLOSE : R_IGNORED;
}

static void detail_destroy(struct pane *pp)
{
	free(pp);
}

static const struct keymap *const detail_maps[] = { &keys_back, NULL };

static const struct pane_class detail_class = {
	.name = "Probe",
	.keys = detail_maps,
	.live = 1,
	.display = detail_display,
	.on_key = detail_on_key,
	.destroy = detail_destroy,
};

static struct pane *probe_detail__new(const struct probe_info *pi)
{
	struct probe_detail *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->base.cls = &detail_class;
	d->last = *pi;
	return &d->base;
}

static int probes_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct probes_pane *p = (struct probes_pane *)pp;

	sync(p, ui);
	switch (act) {
	case ACT_ENTER:
		if (sel_probe(p))
			ui_push_overlay(ui, probe_detail__new(sel_probe(p)));
		return R_HANDLED | R_REDRAW;
	case ACT_TOGGLE:
		return toggle(p, ui);
	case ACT_ADD:
		ui_prompt_open(ui, PROMPT_ADD, "add probe (kind:target, Tab completes): ", "", pp);
		return R_HANDLED | R_REDRAW;
	default:
		return table_on_key(&p->t, ui, act, key);
	}
}

static void probes_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct probes_pane *p = (struct probes_pane *)pp;
	size_t attached = 0;
	char t[256];

	sync(p, ui);
	for (size_t i = 0; p->snap && i < p->snap->n_probes; i++)
		attached += p->snap->probes[i].state == PS_ATTACHED;
	table_info(&p->t, ui, t, sizeof(t));
	/* RUNS and COST move only while BPF run-time statistics are on (this pane asks for them) */
	snprintf(buf, len, "%zu attached  BPF stats %s  %s", attached,
		 p->snap && p->snap->bpf_stats ? "on" : "off", t);
}

static struct table *probes_table(struct pane *pp)
{
	return &((struct probes_pane *)pp)->t;
}

static void probes_destroy(struct pane *pp)
{
	struct probes_pane *p = (struct probes_pane *)pp;

	table_fini(&p->t);
	free(p);
}

static const struct key_binding probes_keys[] = {
	KEYS_ENTER(ACT_ENTER, "the probe's details: hits, latency, how it is attached, why not",
		   "Details"),
	{ ' ', "Space", ACT_TOGGLE, 0,
	  "attach or detach the selected probe (a costly one asks first)", "Attach/detach" },
	{ 'a', "a", ACT_ADD, 0, "add a probe (Tab completes)", "Add" },
};
static const struct keymap probes_keymap = KEYMAP("Probes", probes_keys);
static const struct keymap *const probes_maps[] = { &probes_keymap, &keys_list, NULL };

static const struct pane_class probes_class = {
	.name = "Probes",
	.keys = probes_maps,
	.display = probes_display,
	.on_key = probes_on_key,
	.table = probes_table,
	.id = "probes",
	.info = probes_info,
	.prompt = probes_prompt,
	.destroy = probes_destroy,
};

struct pane *probes_pane__new(struct ui *ui)
{
	struct probes_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &probes_class;
	table_init(&p->t, cols, PC_MAX, &probe_ops, p, "probes");
	table_reset(&p->t, PC_KIND);
	return &p->base;
}
