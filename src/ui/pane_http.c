/* The HTTP pane: status distribution, endpoints (sortable), slow requests, an endpoint's recent requests, DNS and TLS names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/format.h"
#include "ui/panes.h"

enum ep_sort { EP_COUNT = 0, EP_ERRORS, EP_P99, EP_SORT_MAX };
static const char *const sort_names[EP_SORT_MAX] = { "count", "errors", "p99" };

struct http_pane {
	struct pane base;
	struct list_state ls;
	enum ep_sort sort;
	uint32_t idx[PL_HTTP_ENDPOINTS_MAX];
	uint32_t open_id; /* endpoint whose recent requests are shown, 0 = none */
	double slow_ms;	  /* last threshold asked for (0: none yet): keys pressed before the
			   * next snapshot build on it */
};

static const struct snapshot_l7 *g_l7; /* for qsort */
static enum ep_sort g_sort;

static int cmp_idx(const void *a, const void *b)
{
	const struct http_endpoint_row *x = &g_l7->endpoints[*(const uint32_t *)a];
	const struct http_endpoint_row *y = &g_l7->endpoints[*(const uint32_t *)b];
	double vx = g_sort == EP_ERRORS ? (double)x->errors
		    : g_sort == EP_P99	? x->p99_ms
					: (double)x->count;
	double vy = g_sort == EP_ERRORS ? (double)y->errors
		    : g_sort == EP_P99	? y->p99_ms
					: (double)y->count;
	return vx < vy ? 1 : vx > vy ? -1 : 0;
}

static void tx_line(struct ui *ui, int y, int x, int w, const struct http_tx_row *t)
{
	char m[32], path[128], host[64], buf[320];
	ui_escape(m, sizeof(m), t->method, sizeof(t->method));
	ui_escape(host, sizeof(host), t->host, sizeof(t->host));
	ui_escape(path, sizeof(path), t->path, sizeof(t->path));
	snprintf(buf, sizeof(buf), "%9.1fs %-6s %3u %9.2fms %s%s %s%s", t->time, m, t->status,
		 t->latency_ms, host, path, t->tls ? "[tls " : "", t->tls ? t->comm : "");
	if (t->tls) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, " %u]", t->pid);
	}
	ui_put(ui, y, x, w, t->status >= 400 ? ROLE_ERROR : ROLE_NORMAL, buf);
}

static void http_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct http_pane *p = (struct http_pane *)pp;
	const struct snapshot_l7 *l = ui->snap ? ui->snap->l7 : NULL;
	char buf[512];
	int y = r->y, bottom = r->y + r->h;

	for (int i = r->y; i < bottom; i++)
		ui_put(ui, i, r->x, r->w, ROLE_NORMAL, "");
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
	size_t o = 0;
	buf[0] = '\0';
	for (int c = 100; c < 600 && o + 16 < sizeof(buf); c++)
		if (l->by_status[c])
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%d:%llu  ", c,
					      (unsigned long long)l->by_status[c]);
	ui_put(ui, y++, r->x, r->w, ROLE_DIM, buf[0] ? buf : "no responses yet");

	/* endpoints table */
	size_t n = l->n_endpoints;
	for (size_t i = 0; i < n; i++)
		p->idx[i] = (uint32_t)i;
	g_l7 = l;
	g_sort = p->sort;
	qsort(p->idx, n, sizeof(p->idx[0]), cmp_idx);
	p->ls.n = n;
	snprintf(buf, sizeof(buf), "%-7s %-40s %8s %7s %9s %9s %9s   (sort: %s)", "METHOD",
		 "HOST PATH", "COUNT", "ERRORS", "P50", "P90", "P99", sort_names[p->sort]);
	ui_put(ui, y++, r->x, r->w, ROLE_HEADER, buf);
	int rows = (bottom - y) / 2 - 1;
	if (rows < 1)
		rows = 1;
	list_fit(&p->ls, rows);
	for (int i = 0; i < rows && p->ls.top + (size_t)i < n; i++) {
		const struct http_endpoint_row *e = &l->endpoints[p->idx[p->ls.top + (size_t)i]];
		char m[32], hp[256], h[96], pa[160];
		ui_escape(m, sizeof(m), e->method, sizeof(e->method));
		ui_escape(h, sizeof(h), e->host, sizeof(e->host));
		ui_escape(pa, sizeof(pa), e->path, sizeof(e->path));
		snprintf(hp, sizeof(hp), "%s%s", h, pa);
		snprintf(buf, sizeof(buf), "%-7s %-40.40s %8llu %7llu %7.1fms %7.1fms %7.1fms", m,
			 hp, (unsigned long long)e->count, (unsigned long long)e->errors, e->p50_ms,
			 e->p90_ms, e->p99_ms);
		int sel = p->ls.top + (size_t)i == p->ls.sel;
		ui_put(ui, y + i, r->x, r->w,
		       sel	   ? ROLE_SELECTED
		       : e->errors ? ROLE_ERROR
				   : ROLE_NORMAL,
		       buf);
	}
	y += rows;

	/* below: an endpoint's recent requests (Enter), else the slow list, then DNS and TLS */
	const struct http_endpoint_row *open = NULL;
	for (size_t i = 0; i < n && p->open_id; i++)
		if (l->endpoints[i].id == p->open_id)
			open = &l->endpoints[i];
	if (open) {
		char pa[160];
		ui_escape(pa, sizeof(pa), open->path, sizeof(open->path));
		snprintf(buf, sizeof(buf), "recent requests of %s (Enter closes)", pa);
		ui_put(ui, y++, r->x, r->w, ROLE_HEADER, buf);
		for (size_t i = l->n_recent; i-- > 0 && y < bottom;)
			if (l->recent[i].endpoint == open->id)
				tx_line(ui, y++, r->x, r->w, &l->recent[i]);
		return;
	}
	snprintf(buf, sizeof(buf), "slow requests (>= %g ms; < > halve/double)", l->slow_ms);
	ui_put(ui, y++, r->x, r->w, ROLE_HEADER, buf);
	for (size_t i = l->n_slow; i-- > 0 && y < bottom - 4;)
		tx_line(ui, y++, r->x, r->w, &l->slow[i]);
	if (y >= bottom)
		return;
	snprintf(buf, sizeof(buf),
		 "DNS queries %llu  TLS handshakes %llu  (SSL uprobes see only "
		 "processes using the system libssl)",
		 (unsigned long long)l->dns_queries, (unsigned long long)l->tls_handshakes);
	ui_put(ui, y++, r->x, r->w, ROLE_HEADER, buf);
	for (size_t i = 0; i < l->n_names && i < 3 && y < bottom; i++) {
		char nm[256];
		ui_escape(nm, sizeof(nm), l->names[i].name, sizeof(l->names[i].name));
		snprintf(buf, sizeof(buf), "dns %-40s %-6s %-9s %llu", nm, l->names[i].qtype,
			 l->names[i].rcode, (unsigned long long)l->names[i].count);
		ui_put(ui, y++, r->x, r->w, ROLE_NORMAL, buf);
	}
	for (size_t i = 0; i < l->n_sni && i < 3 && y < bottom; i++) {
		const struct tls_sni_row *t = &l->sni[i];
		char nm[256], alpn[64], ver[24];
		ui_escape(nm, sizeof(nm), t->name, sizeof(t->name));
		ui_escape(alpn, sizeof(alpn), t->alpn, sizeof(t->alpn));
		ui_escape(ver, sizeof(ver), t->version, sizeof(t->version));
		snprintf(buf, sizeof(buf), "sni %-40s %-6s %-9s %llu", nm[0] ? nm : "(no SNI)", ver,
			 alpn[0] ? alpn : "-", (unsigned long long)t->count);
		ui_put(ui, y++, r->x, r->w, ROLE_NORMAL, buf);
	}
}

static int http_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct http_pane *p = (struct http_pane *)pp;
	const struct snapshot_l7 *l = ui->snap ? ui->snap->l7 : NULL;
	(void)key;
	if (act == ACT_SORT) {
		p->sort = (p->sort + 1) % EP_SORT_MAX;
		return R_HANDLED | R_REDRAW;
	}
	if (act == ACT_ENTER) {
		if (p->open_id) {
			p->open_id = 0;
		} else if (l && p->ls.sel < p->ls.n) {
			p->open_id = l->endpoints[p->idx[p->ls.sel]].id;
		}
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
	return list_move(&p->ls, act);
}

static void http_destroy(struct pane *pp)
{
	free(pp);
}

static const struct pane_class http_class = {
	.name = "HTTP",
	.hints = "Enter|Requests|s|Sort|</>|Slow ms",
	.live = 1,
	.display = http_display,
	.on_key = http_on_key,
	.destroy = http_destroy,
};

struct pane *http_pane__new(struct ui *ui)
{
	(void)ui;
	struct http_pane *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->base.cls = &http_class;
	return &p->base;
}
