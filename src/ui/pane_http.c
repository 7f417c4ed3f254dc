/* The HTTP pane: status distribution, endpoints (sortable), slow requests, an endpoint's recent requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

enum ecol { EC_METHOD, EC_PATH, EC_COUNT, EC_ERRORS, EC_P50, EC_P90, EC_P99, EC_MAX_MS, EC_MAX };

#define MS(id, t, d)                                       \
	{                                                  \
		id, t, d, 9, 0, COL_RIGHT, SORT_DESC_FIRST \
	}

static const struct table_col ep_cols[EC_MAX] = {
	[EC_METHOD] = { "method", "METHOD", "request method", 7, 0, 0, SORT_ASC_FIRST },
	[EC_PATH] = { "path", "HOST PATH", "host and path, numeric segments as :id", 24, 100, 0,
		      SORT_ASC_FIRST },
	[EC_COUNT] = { "count", "COUNT", "requests answered", 8, 0, COL_RIGHT, SORT_DESC_FIRST },
	[EC_ERRORS] = { "errors", "ERRORS", "answers with status 400 and up", 7, 0, COL_RIGHT,
			SORT_DESC_FIRST },
	[EC_P50] = MS("p50", "P50", "median latency, request to response"),
	[EC_P90] = MS("p90", "P90", "90th percentile latency"),
	[EC_P99] = MS("p99", "P99", "99th percentile latency"),
	[EC_MAX_MS] = MS("max", "MAX", "slowest answer"),
};

struct http_pane {
	struct pane base;
	const struct snapshot_l7 *l7;
	struct table t;
	uint32_t open_id; /* endpoint whose recent requests are shown, 0 = none */
	double slow_ms;	  /* last threshold asked for (0: none yet): keys pressed before the
			   * next snapshot build on it */
};

static const struct http_endpoint_row *endpoint(const struct http_pane *p, size_t row)
{
	return &p->l7->endpoints[row];
}

static size_t ep_count(void *ctx)
{
	const struct http_pane *p = ctx;

	return p->l7 ? p->l7->n_endpoints : 0;
}

static uint64_t ep_id(void *ctx, size_t row)
{
	return endpoint(ctx, row)->id;
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int ep_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct http_endpoint_row *x = endpoint(ctx, a), *y = endpoint(ctx, b);
	int c;

	switch (col) {
	case EC_METHOD:
		return strncmp(x->method, y->method, sizeof(x->method));
	case EC_PATH:
		c = strncmp(x->host, y->host, sizeof(x->host));
		return c ? c : strncmp(x->path, y->path, sizeof(x->path));
	case EC_ERRORS:
		return CMP(x->errors, y->errors);
	case EC_P50:
		return CMP(x->p50_ms, y->p50_ms);
	case EC_P90:
		return CMP(x->p90_ms, y->p90_ms);
	case EC_P99:
		return CMP(x->p99_ms, y->p99_ms);
	case EC_MAX_MS:
		return CMP(x->max_ms, y->max_ms);
	default:
		return CMP(x->count, y->count);
	}
}

static void ms_cell(struct table_cell *c, double ms)
{
	if (ms < 0)
		snprintf(c->text, sizeof(c->text), "-");
	else
		snprintf(c->text, sizeof(c->text), "%.1fms", ms);
}

static void ep_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct http_endpoint_row *e = endpoint(ctx, row);
	char h[96], pa[200];

	c->role = e->errors ? ROLE_ERROR : ROLE_NORMAL;
	switch (col) {
	case EC_METHOD:
		ui_escape(c->text, sizeof(c->text), e->method, sizeof(e->method));
		break;
	case EC_PATH:
		/* bytes with their length: a NUL inside is shown, not an end */
		escape_display_bytes(h, sizeof(h), e->host, e->host_len);
		escape_display_bytes(pa, sizeof(pa), e->path, e->path_len);
		snprintf(c->text, sizeof(c->text), "%s%s", h, pa);
		break;
	case EC_COUNT:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)e->count);
		break;
	case EC_ERRORS:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)e->errors);
		break;
	case EC_P50:
		ms_cell(c, e->p50_ms);
		break;
	case EC_P90:
		ms_cell(c, e->p90_ms);
		break;
	case EC_P99:
		ms_cell(c, e->p99_ms);
		break;
	default:
		ms_cell(c, e->max_ms);
		break;
	}
}

static const struct table_ops ep_ops = {
	.count = ep_count,
	.row_id = ep_id,
	.cell = ep_cell,
	.cmp = ep_cmp,
};

static void sync(struct http_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	p->l7 = ui->snap ? ui->snap->l7 : NULL;
	table_rebuild(&p->t);
}

/* One request: wall-clock time, method, status, latency, host and path; the process for TLS. */
static void tx_line(struct ui *ui, const struct snapshot *s, int y, int x, int w,
		    const struct http_tx_row *t)
{
	char m[32], path[200], host[96], tm[24], comm[64], buf[400];

	ui_escape(m, sizeof(m), t->method, sizeof(t->method));
	escape_display_bytes(host, sizeof(host), t->host, t->host_len);
	escape_display_bytes(path, sizeof(path), t->path, t->path_len);
	/* the process name is whatever the process made it: escaped like the wire's bytes */
	ui_escape(comm, sizeof(comm), t->comm, sizeof(t->comm));
	fmt_clock((double)s->time_unix_ns / 1e9 - (s->uptime_s - t->time), tm, sizeof(tm));
	if (t->tls)
		snprintf(buf, sizeof(buf), "%s %-6s %3u %9.2fms %s%s [tls %s %u]", tm, m, t->status,
			 t->latency_ms, host, path, comm, t->pid);
	else
		snprintf(buf, sizeof(buf), "%s %-6s %3u %9.2fms %s%s", tm, m, t->status,
			 t->latency_ms, host, path);
	ui_put(ui, y, x, w, t->status >= 400 ? ROLE_ERROR : ROLE_NORMAL, buf);
}

static void http_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct http_pane *p = (struct http_pane *)pp;
	const struct snapshot_l7 *l;
	const struct http_endpoint_row *open = NULL;
	char buf[512];
	int y = r->y, bottom = r->y + r->h, rows;
	size_t o = 0;
	struct rect tr;

	sync(p, ui);
	l = p->l7;
	if (!l) {
		ui_put(ui, y, r->x, r->w, ROLE_DIM, "no application-layer data yet");
		return;
	}
	snprintf(buf, sizeof(buf),
		 "requests %llu  responses %llu  2xx %llu  3xx %llu  4xx %llu  5xx %llu  "
		 "parse errors %llu  port 80 not HTTP %llu",
		 (unsigned long long)l->http_requests, (unsigned long long)l->http_responses,
		 (unsigned long long)l->by_class[2], (unsigned long long)l->by_class[3],
		 (unsigned long long)l->by_class[4], (unsigned long long)l->by_class[5],
		 (unsigned long long)(l->err_http_req + l->err_http_resp),
		 (unsigned long long)l->port80_not_http);
	ui_put(ui, y++, r->x, r->w, ROLE_NORMAL, buf);
	buf[0] = '\0';
	for (int c = 100; c < 600 && o + 16 < sizeof(buf); c++)
		if (l->by_status[c])
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%d:%llu  ", c,
					      (unsigned long long)l->by_status[c]);
	ui_put(ui, y++, r->x, r->w, ROLE_DIM, buf[0] ? buf : "no responses yet");

	/* the endpoints take half of what is left */
	rows = (bottom - y) / 2;
	if (rows < 2)
		rows = 2;
	/* the last line of the block: what the bounded endpoint table folded away */
	const struct l7_other *eo = &l->endpoints_other;
	tr = (struct rect){ .y = y, .x = r->x, .h = eo->rows ? rows - 1 : rows, .w = r->w };
	table_draw(&p->t, ui, &tr);
	table_draw_empty(&p->t, ui, &tr, " no HTTP requests seen yet");
	y += rows;
	if (eo->rows) {
		snprintf(
		    buf, sizeof(buf),
		    " (other endpoints: %llu, folded by count)  requests %llu  errors %llu  p50 "
		    "%.1fms  p99 %.1fms",
		    (unsigned long long)eo->rows, (unsigned long long)eo->count,
		    (unsigned long long)eo->errors, eo->p50_ms, eo->p99_ms);
		ui_put(ui, y - 1, r->x, r->w, ROLE_DIM, buf);
	}
	if (y >= bottom)
		return;

	/* below: an endpoint's recent requests (Enter), else the slow list */
	for (size_t i = 0; i < l->n_endpoints && p->open_id; i++)
		if (l->endpoints[i].id == p->open_id)
			open = &l->endpoints[i];
	if (open) {
		char pa[200];

		escape_display_bytes(pa, sizeof(pa), open->path, open->path_len);
		snprintf(buf, sizeof(buf), "recent requests of %s (Enter closes)", pa);
		ui_put(ui, y++, r->x, r->w, ROLE_HEADER, buf);
		for (size_t i = l->n_recent; i-- > 0 && y < bottom;)
			if (l->recent[i].endpoint == open->id)
				tx_line(ui, ui->snap, y++, r->x, r->w, &l->recent[i]);
		return;
	}
	snprintf(buf, sizeof(buf), "slow requests (>= %g ms; < > halve/double)", l->slow_ms);
	ui_put(ui, y++, r->x, r->w, ROLE_HEADER, buf);
	for (size_t i = l->n_slow; i-- > 0 && y < bottom - 1;)
		tx_line(ui, ui->snap, y++, r->x, r->w, &l->slow[i]);
	if (y < bottom)
		ui_put(ui, bottom - 1, r->x, r->w, ROLE_DIM,
		       "DNS names and TLS server names have their own panes; the SSL uprobes see "
		       "only processes using the system libssl");
}

static int http_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct http_pane *p = (struct http_pane *)pp;
	const struct snapshot_l7 *l;
	size_t row;

	sync(p, ui);
	l = p->l7;
	if (act == ACT_ENTER) {
		if (p->open_id)
			p->open_id = 0;
		else if (table_selected(&p->t, &row))
			p->open_id = endpoint(p, row)->id;
		return R_HANDLED | R_REDRAW;
	}
	if (act == ACT_SLOW_LESS || act == ACT_SLOW_MORE) {
		char err[128] = "";
		double cur = p->slow_ms > 0 ? p->slow_ms : l ? l->slow_ms : 200;
		double ms = act == ACT_SLOW_LESS ? cur / 2 : cur * 2;

		if (!ui->act.set_slow_ms) {
			ui_status_err(ui, "the slow threshold cannot be changed here");
		} else if (ui->act.set_slow_ms(ui->act.ctx, ms, err, sizeof(err))) {
			ui_status_err(ui, "%s", err[0] ? err : "cannot change the slow threshold");
		} else {
			p->slow_ms = ms;
			ui_status(ui, "slow requests: %g ms and more", ms);
		}
		return R_HANDLED | R_REDRAW;
	}
	if (act == ACT_BACK && p->open_id) {
		p->open_id = 0;
		return R_HANDLED | R_REDRAW;
	}
	return table_on_key(&p->t, ui, act, key);
}

static void http_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct http_pane *p = (struct http_pane *)pp;

	sync(p, ui);
	table_info(&p->t, ui, buf, len);
}

static struct table *http_table(struct pane *pp)
{
	return &((struct http_pane *)pp)->t;
}

static void http_destroy(struct pane *pp)
{
	table_fini(&((struct http_pane *)pp)->t);
	free(pp);
}

static const struct key_binding http_keys[] = {
	KEYS_ENTER(ACT_ENTER, "the recent requests of the selected endpoint (again: close)",
		   "Requests"),
	{ '<', "<", ACT_SLOW_LESS, 0, "halve the slow-request threshold", "Slow ms" },
	{ '>', ">", ACT_SLOW_MORE, 0, "double the slow-request threshold", NULL },
};
static const struct keymap http_keymap = KEYMAP("HTTP", http_keys);
static const struct keymap *const http_maps[] = { &http_keymap, &keys_list, NULL };

static const struct pane_class http_class = {
	.name = "HTTP",
	.keys = http_maps,
	.live = 1,
	.display = http_display,
	.on_key = http_on_key,
	.table = http_table,
	.id = "http",
	.info = http_info,
	.destroy = http_destroy,
};

struct pane *http_pane__new(struct ui *ui)
{
	struct http_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &http_class;
	table_init(&p->t, ep_cols, EC_MAX, &ep_ops, p, "endpoints");
	table_reset(&p->t, EC_COUNT);
	return &p->base;
}
