/* The Probes pane: every probe with kind, target, state, reason and BPF run statistics; toggle and add. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/format.h"
#include "ui/panes.h"

enum pcol { PC_KIND, PC_TARGET, PC_STATE, PC_RUNS, PC_AVG, PC_HITS, PC_DETAIL, PC_REASON, PC_MAX };

enum psort {
	PSORT_TABLE = 0,
	PSORT_KIND,
	PSORT_TARGET,
	PSORT_STATE,
	PSORT_RUNS,
	PSORT_AVG,
	PSORT_MAX
};

static const struct {
	const char *title;
	int width;
	int right;
	int sort;
} cols[PC_MAX] = {
	[PC_KIND] = { "KIND", 13, 0, PSORT_KIND },
	[PC_TARGET] = { "TARGET", 28, 0, PSORT_TARGET },
	[PC_STATE] = { "STATE", 11, 0, PSORT_STATE },
	[PC_RUNS] = { "RUNS", 9, 1, PSORT_RUNS },
	[PC_AVG] = { "AVG NS", 7, 1, PSORT_AVG },
	[PC_HITS] = { "HITS", 8, 1, -1 },
	[PC_DETAIL] = { "MODE", 10, 0, -1 },
	[PC_REASON] = { "REASON", 40, 0, -1 },
};

static const char *const psort_names[PSORT_MAX] = { "engine order", "kind", "target",
						    "state",	    "runs", "avg ns" };

struct probes_pane {
	struct pane base;
	uint32_t *idx;
	size_t cap;
	struct list_state ls;
	int sort, reverse;
	char filter[128];
	char sel_id[160];
};

static double avg_ns(const struct probe_info *pi)
{
	return pi->run_cnt ? (double)pi->run_time_ns / (double)pi->run_cnt : 0;
}

static const struct snapshot *g_sort_snap; /* qsort has no context argument in C11 */
static int g_sort_key, g_sort_rev;

static int cmp_probe(const void *a, const void *b)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct probe_info *pa = &g_sort_snap->probes[ia], *pb = &g_sort_snap->probes[ib];
	int r = 0;

	switch (g_sort_key) {
	case PSORT_KIND:
		r = (pa->kind > pb->kind) - (pa->kind < pb->kind);
		break;
	case PSORT_TARGET:
		r = strcmp(pa->target, pb->target);
		break;
	case PSORT_STATE:
		r = (pa->state > pb->state) - (pa->state < pb->state);
		break;
	case PSORT_RUNS:
		r = (pb->run_cnt > pa->run_cnt) - (pb->run_cnt < pa->run_cnt);
		break;
	case PSORT_AVG:
		r = (avg_ns(pb) > avg_ns(pa)) - (avg_ns(pb) < avg_ns(pa));
		break;
	default:
		break;
	}
	if (g_sort_rev)
		r = -r;
	return r ? r : (ia > ib) - (ia < ib);
}

static void rescan(struct probes_pane *p, struct ui *ui)
{
	const struct snapshot *s = ui->snap;
	size_t n = 0;

	p->ls.n = 0;
	if (!s)
		return;
	if (p->cap < s->n_probes) {
		uint32_t *ni = realloc(p->idx, s->n_probes * sizeof(*ni));

		if (!ni)
			return;
		p->idx = ni;
		p->cap = s->n_probes;
	}
	for (size_t i = 0; i < s->n_probes; i++) {
		const struct probe_info *pi = &s->probes[i];
		char text[600];

		if (p->filter[0]) {
			snprintf(text, sizeof(text), "%s %s %s %s %s", pi->id,
				 probe_kind_name(pi->kind), probe_state_name(pi->state), pi->reason,
				 pi->detail);
			if (!strcasestr(text, p->filter))
				continue;
		}
		p->idx[n++] = (uint32_t)i;
	}
	g_sort_snap = s;
	g_sort_key = p->sort;
	g_sort_rev = p->reverse;
	qsort(p->idx, n, sizeof(*p->idx), cmp_probe);
	p->ls.n = n;
	for (size_t i = 0; i < n && p->sel_id[0]; i++)
		if (!strcmp(s->probes[p->idx[i]].id, p->sel_id))
			p->ls.sel = i;
}

static const struct probe_info *sel_probe(struct probes_pane *p, struct ui *ui)
{
	if (!ui->snap || p->ls.sel >= p->ls.n)
		return NULL;
	return &ui->snap->probes[p->idx[p->ls.sel]];
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

static void cell_text(const struct probe_info *pi, int c, char *buf, size_t len)
{
	switch (c) {
	case PC_KIND:
		snprintf(buf, len, "%s", probe_kind_name(pi->kind));
		break;
	case PC_TARGET:
		ui_escape(buf, len, pi->target, sizeof(pi->target));
		break;
	case PC_STATE:
		snprintf(buf, len, "%s", probe_state_name(pi->state));
		break;
	case PC_RUNS:
		fmt_human((double)pi->run_cnt, buf, len);
		break;
	case PC_AVG:
		if (pi->run_cnt)
			snprintf(buf, len, "%.0f", avg_ns(pi));
		else
			snprintf(buf, len, "-");
		break;
	case PC_HITS:
		fmt_human((double)pi->hits, buf, len);
		break;
	case PC_DETAIL:
		ui_escape(buf, len, pi->detail, sizeof(pi->detail));
		break;
	case PC_REASON:
		ui_escape(buf, len, pi->reason, sizeof(pi->reason));
		break;
	default:
		buf[0] = '\0';
	}
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
	int h = r->h - 2, x = r->x, edge = r->x + r->w;
	const struct probe_info *sp;

	if (pane_stale(pp, ui))
		rescan(p, ui);
	ui_put(ui, r->y, r->x, r->w, ROLE_HEADER, "");
	for (int c = 0; c < PC_MAX && x < edge; c++) {
		int w = c == PC_MAX - 1 || x + cols[c].width > edge ? edge - x : cols[c].width;
		int sorted = cols[c].sort == p->sort;
		char t[48];

		snprintf(t, sizeof(t), "%s%s", cols[c].title,
			 !sorted ? "" : ui_sort_arrow(ui, !p->reverse));
		if (cols[c].right)
			ui_put_right(ui, r->y, x, w, sorted ? ROLE_HEADER_SORTED : ROLE_HEADER, t);
		else
			ui_put(ui, r->y, x, w, sorted ? ROLE_HEADER_SORTED : ROLE_HEADER, t);
		x += w + 1;
	}
	int lo = 0, hi = 0, hr = hist_rows(sel_probe(p, ui), h, &lo, &hi);

	h -= hr;
	list_fit(&p->ls, h);
	if (!p->ls.n) {
		ui_put(ui, r->y + 1, r->x, r->w, ROLE_DIM,
		       ui->snap ? " no probes match the filter" : " waiting for data...");
		return;
	}
	/* the last line spells out the selected probe: reasons are longer than any column */
	sp = sel_probe(p, ui);
	if (sp) {
		char id[200], reason[400], line[640];

		ui_escape(id, sizeof(id), sp->id, sizeof(sp->id));
		ui_escape(reason, sizeof(reason), sp->reason, sizeof(sp->reason));
		snprintf(line, sizeof(line), " %s: %s%s%s", id, probe_state_name(sp->state),
			 reason[0] ? ": " : "", reason);
		ui_put(ui, r->y + r->h - 1, r->x, r->w, state_role(sp->state), line);
		if (hr)
			draw_hist(ui, r, r->y + 1 + h, sp, lo, hi, hr);
	}
	for (int i = 0; i < h && p->ls.top + (size_t)i < p->ls.n; i++) {
		size_t ri = p->ls.top + (size_t)i;
		const struct probe_info *pi = &ui->snap->probes[p->idx[ri]];
		int sel = ri == p->ls.sel, y = r->y + 1 + i;

		x = r->x;
		ui_put(ui, y, r->x, r->w, sel ? ROLE_SELECTED : ROLE_NORMAL, "");
		for (int c = 0; c < PC_MAX && x < edge; c++) {
			int w =
			    c == PC_MAX - 1 || x + cols[c].width > edge ? edge - x : cols[c].width;
			enum role role = ROLE_NORMAL;
			char buf[200];

			cell_text(pi, c, buf, sizeof(buf));
			if (c == PC_STATE)
				role = state_role(pi->state);
			else if (c == PC_REASON)
				role = pi->state == PS_ERROR ? ROLE_ERROR : ROLE_WARN;
			if (sel)
				role = ROLE_SELECTED;
			if (cols[c].right)
				ui_put_right(ui, y, x, w, role, buf);
			else
				ui_put(ui, y, x, w, role, buf);
			x += w + 1;
		}
	}
}

static int toggle(struct probes_pane *p, struct ui *ui)
{
	const struct probe_info *pi = sel_probe(p, ui);
	char err[256] = "", id[160];
	int was_attached;

	if (!pi)
		return R_HANDLED;
	if (!ui->act.probe_toggle) {
		ui_status_err(ui, "probe toggling is not available here");
		return R_HANDLED | R_REDRAW;
	}
	/* copy: the snapshot may be replaced while the engine works */
	snprintf(id, sizeof(id), "%s", pi->id);
	was_attached = pi->state == PS_ATTACHED;
	if (ui->act.probe_toggle(ui->act.ctx, id, err, sizeof(err)))
		ui_status_err(ui, "%s: %s", id, err[0] ? err : "failed");
	else
		ui_status(ui, "%s %s", was_attached ? "detached" : "attached", id);
	return R_HANDLED | R_REDRAW;
}

static int probes_on_click(struct pane *pp, struct ui *ui, int y, int x)
{
	struct probes_pane *p = (struct probes_pane *)pp;
	const struct probe_info *pi;

	if (y > pp->r.y && p->ls.top + (size_t)(y - pp->r.y - 1) < p->ls.n) {
		p->ls.sel = p->ls.top + (size_t)(y - pp->r.y - 1);
		pi = sel_probe(p, ui);
		if (pi)
			snprintf(p->sel_id, sizeof(p->sel_id), "%s", pi->id);
	}
	return R_HANDLED | R_REDRAW;
}

static int probes_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct probes_pane *p = (struct probes_pane *)pp;
	const struct probe_info *pi;
	int ret;

	if (act == ACT_CLICK)
		return probes_on_click(pp, ui, UI_CLICK_Y(key), UI_CLICK_X(key));
	switch (act) {
	case ACT_ENTER:
	case ACT_TOGGLE:
		return toggle(p, ui);
	case ACT_ADD:
		ui_prompt_open(ui, PROMPT_ADD, "add probe (kind:target, Tab completes): ", "", pp);
		return R_HANDLED | R_REDRAW;
	case ACT_SORT:
		p->sort = (p->sort + 1) % PSORT_MAX;
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
		pi = sel_probe(p, ui);
		if (ret && pi)
			snprintf(p->sel_id, sizeof(p->sel_id), "%s", pi->id);
		return ret;
	}
}

static void probes_set_filter(struct pane *pp, struct ui *ui, const char *text)
{
	struct probes_pane *p = (struct probes_pane *)pp;

	snprintf(p->filter, sizeof(p->filter), "%s", text);
	pp->rescan = 1;
	ui->dirty = 1;
}

static const char *probes_get_filter(struct pane *pp)
{
	return ((struct probes_pane *)pp)->filter;
}

static void probes_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct probes_pane *p = (struct probes_pane *)pp;
	size_t attached = 0;

	if (pane_stale(pp, ui))
		rescan(p, ui);
	for (size_t i = 0; ui->snap && i < ui->snap->n_probes; i++)
		attached += ui->snap->probes[i].state == PS_ATTACHED;
	snprintf(buf, len, "%s%.60s%ssort %s  %zu attached/%zu probes",
		 p->filter[0] ? "filter '" : "", p->filter, p->filter[0] ? "'  " : "",
		 psort_names[p->sort], attached, ui->snap ? ui->snap->n_probes : 0);
}

static void probes_destroy(struct pane *pp)
{
	struct probes_pane *p = (struct probes_pane *)pp;

	free(p->idx);
	free(p);
}

static const struct pane_class probes_class = {
	.name = "Probes",
	.hints = "Space|Attach/detach|a|Add",
	.display = probes_display,
	.on_key = probes_on_key,
	.set_filter = probes_set_filter,
	.get_filter = probes_get_filter,
	.info = probes_info,
	.destroy = probes_destroy,
};

struct pane *probes_pane__new(struct ui *ui)
{
	struct probes_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &probes_class;
	return &p->base;
}
