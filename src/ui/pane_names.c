/* The DNS and TLS panes: every name asked (type, answer code, counts, latency) and every server
 * name offered in a ClientHello (version, ALPN, count), each a sortable list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

enum dcol { DC_NAME, DC_TYPE, DC_RCODE, DC_COUNT, DC_ANSWERS, DC_P50, DC_MAX_MS, DC_MAX };

static const struct table_col dns_cols[DC_MAX] = {
	[DC_NAME] = { "name", "NAME", "the name asked", 24, 120, COL_ELIDE_MID, SORT_ASC_FIRST },
	[DC_TYPE] = { "type", "TYPE", "query type", 6, 0, 0, SORT_ASC_FIRST },
	[DC_RCODE] = { "rcode", "RCODE", "answer code", 9, 0, 0, SORT_ASC_FIRST },
	[DC_COUNT] = { "count", "QUERIES", "queries seen", 8, 0, COL_RIGHT, SORT_DESC_FIRST },
	[DC_ANSWERS] = { "answers", "ANSWERS", "answers seen", 8, 0, COL_RIGHT, SORT_DESC_FIRST },
	[DC_P50] = { "p50", "P50", "median query to answer", 9, 0, COL_RIGHT, SORT_DESC_FIRST },
	[DC_MAX_MS] = { "max", "MAX", "slowest answer", 9, 0, COL_RIGHT, SORT_DESC_FIRST },
};

enum scol { SC_NAME, SC_VERSION, SC_ALPN, SC_COUNT, SC_MAX };

static const struct table_col tls_cols[SC_MAX] = {
	[SC_NAME] = { "name", "SERVER NAME", "SNI of the ClientHello", 24, 120, COL_ELIDE_MID,
		      SORT_ASC_FIRST },
	[SC_VERSION] = { "version", "VERSION", "highest version offered", 8, 0, 0, SORT_ASC_FIRST },
	[SC_ALPN] = { "alpn", "ALPN", "application protocols offered", 10, 32, 0, SORT_ASC_FIRST },
	[SC_COUNT] = { "count", "COUNT", "handshakes", 8, 0, COL_RIGHT, SORT_DESC_FIRST },
};

struct names_pane {
	struct pane base;
	const struct snapshot_l7 *l7;
	struct table t;
};

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static void sync(struct names_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	p->l7 = ui->snap ? ui->snap->l7 : NULL;
	table_rebuild(&p->t);
}

static struct table *names_table(struct pane *pp)
{
	return &((struct names_pane *)pp)->t;
}

static int names_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct names_pane *p = (struct names_pane *)pp;

	sync(p, ui);
	return table_on_key(&p->t, ui, act, key);
}

static void names_destroy(struct pane *pp)
{
	table_fini(&((struct names_pane *)pp)->t);
	free(pp);
}

static void names_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct names_pane *p = (struct names_pane *)pp;

	sync(p, ui);
	table_info(&p->t, ui, buf, len);
}

static void ms_text(char *buf, size_t len, double ms)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2fms", ms);
}

/* ---- DNS ---- */

static const struct dns_name_row *dns_row(const struct names_pane *p, size_t row)
{
	return &p->l7->names[row];
}

static size_t dns_count(void *ctx)
{
	const struct names_pane *p = ctx;

	return p->l7 ? p->l7->n_names : 0;
}

static uint64_t dns_id(void *ctx, size_t row)
{
	const struct dns_name_row *d = dns_row(ctx, row);
	uint64_t h = table_hash(d->name, d->name_len, TABLE_HASH_INIT);

	h = table_hash(d->qtype, strnlen(d->qtype, sizeof(d->qtype)), h);
	return table_hash(d->rcode, strnlen(d->rcode, sizeof(d->rcode)), h);
}

static int dns_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct dns_name_row *x = dns_row(ctx, a), *y = dns_row(ctx, b);

	switch (col) {
	case DC_NAME:
		return strncmp(x->name, y->name, sizeof(x->name));
	case DC_TYPE:
		return strncmp(x->qtype, y->qtype, sizeof(x->qtype));
	case DC_RCODE:
		return strncmp(x->rcode, y->rcode, sizeof(x->rcode));
	case DC_ANSWERS:
		return CMP(x->answers, y->answers);
	case DC_P50:
		return CMP(x->p50_ms, y->p50_ms);
	case DC_MAX_MS:
		return CMP(x->max_ms, y->max_ms);
	default:
		return CMP(x->count, y->count);
	}
}

static void dns_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct dns_name_row *d = dns_row(ctx, row);

	switch (col) {
	case DC_NAME:
		/* names come off the wire: any byte (a NUL too), escaped */
		escape_display_bytes(c->text, sizeof(c->text), d->name, d->name_len);
		break;
	case DC_TYPE:
		ui_escape(c->text, sizeof(c->text), d->qtype, sizeof(d->qtype));
		break;
	case DC_RCODE:
		ui_escape(c->text, sizeof(c->text), d->rcode, sizeof(d->rcode));
		c->role = strcmp(d->rcode, "NOERROR") && d->rcode[0] ? ROLE_WARN : ROLE_NORMAL;
		break;
	case DC_COUNT:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)d->count);
		break;
	case DC_ANSWERS:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)d->answers);
		break;
	case DC_P50:
		ms_text(c->text, sizeof(c->text), d->p50_ms);
		break;
	default:
		ms_text(c->text, sizeof(c->text), d->max_ms);
		break;
	}
}

static const struct table_ops dns_ops = {
	.count = dns_count,
	.row_id = dns_id,
	.cell = dns_cell,
	.cmp = dns_cmp,
};

static void dns_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	static const char *const rcodes[16] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
						"NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
						"NXRRSET", "NOTAUTH", "NOTZONE" };
	struct names_pane *p = (struct names_pane *)pp;
	const struct snapshot_l7 *l;
	struct rect tr = *r;
	char buf[512];
	size_t o;

	sync(p, ui);
	l = p->l7;
	if (!l) {
		ui_put(ui, r->y, r->x, r->w, ROLE_DIM, " no application-layer data yet");
		return;
	}
	/* answers to no query seen are not names: a sign of spoofing, counted apart */
	o = (size_t)snprintf(
	    buf, sizeof(buf),
	    " queries %llu  responses %llu  unsolicited answers %llu  parse errors "
	    "%llu ",
	    (unsigned long long)l->dns_queries, (unsigned long long)l->dns_responses,
	    (unsigned long long)l->dns_unsolicited, (unsigned long long)l->err_dns);
	for (int i = 0; i < 16 && o < sizeof(buf); i++)
		if (l->dns_rcodes[i])
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s %llu",
					      rcodes[i] ? rcodes[i] : "RCODE",
					      (unsigned long long)l->dns_rcodes[i]);
	ui_put(ui, tr.y, tr.x, tr.w, l->dns_unsolicited ? ROLE_WARN : ROLE_NORMAL, buf);
	if (l->names_other.rows) {
		snprintf(buf, sizeof(buf), " (other names: %llu, folded by count)  answers %llu",
			 (unsigned long long)l->names_other.rows,
			 (unsigned long long)l->names_other.count);
		ui_put(ui, tr.y + 1, tr.x, tr.w, ROLE_DIM, buf);
	}
	tr.y += 2;
	tr.h -= 2;
	table_draw(&p->t, ui, &tr);
	table_draw_empty(&p->t, ui, &tr, " no DNS queries seen yet (UDP and TCP port 53)");
}

static const struct keymap *const names_maps[] = { &keys_list, NULL };

static const struct pane_class dns_class = {
	.name = "DNS",
	.id = "dns",
	.keys = names_maps,
	.display = dns_display,
	.on_key = names_on_key,
	.table = names_table,
	.info = names_info,
	.destroy = names_destroy,
};

static struct pane *names_new(const struct pane_class *cls, const struct table_col *cols, int ncols,
			      const struct table_ops *ops, const char *noun, int sort)
{
	struct names_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = cls;
	table_init(&p->t, cols, ncols, ops, p, noun);
	table_reset(&p->t, sort);
	return &p->base;
}

struct pane *dns_pane__new(struct ui *ui)
{
	return names_new(&dns_class, dns_cols, DC_MAX, &dns_ops, "names", DC_COUNT);
}

/* ---- TLS ---- */

static const struct tls_sni_row *sni_row(const struct names_pane *p, size_t row)
{
	return &p->l7->sni[row];
}

static size_t sni_count(void *ctx)
{
	const struct names_pane *p = ctx;

	return p->l7 ? p->l7->n_sni : 0;
}

static uint64_t sni_id(void *ctx, size_t row)
{
	const struct tls_sni_row *t = sni_row(ctx, row);
	uint64_t h = table_hash(t->name, t->name_len, TABLE_HASH_INIT);

	h = table_hash(t->alpn, t->alpn_len, h);
	return table_hash(t->version, strnlen(t->version, sizeof(t->version)), h);
}

static int sni_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct tls_sni_row *x = sni_row(ctx, a), *y = sni_row(ctx, b);

	switch (col) {
	case SC_NAME:
		return strncmp(x->name, y->name, sizeof(x->name));
	case SC_VERSION:
		return strncmp(x->version, y->version, sizeof(x->version));
	case SC_ALPN:
		return strncmp(x->alpn, y->alpn, sizeof(x->alpn));
	default:
		return CMP(x->count, y->count);
	}
}

static void sni_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct tls_sni_row *t = sni_row(ctx, row);

	switch (col) {
	case SC_NAME:
		escape_display_bytes(c->text, sizeof(c->text), t->name, t->name_len);
		if (!c->text[0])
			snprintf(c->text, sizeof(c->text), "(no SNI)");
		break;
	case SC_VERSION:
		ui_escape(c->text, sizeof(c->text), t->version, sizeof(t->version));
		break;
	case SC_ALPN:
		escape_display_bytes(c->text, sizeof(c->text), t->alpn, t->alpn_len);
		if (!c->text[0])
			snprintf(c->text, sizeof(c->text), "-");
		break;
	default:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)t->count);
		break;
	}
}

static const struct table_ops sni_ops = {
	.count = sni_count,
	.row_id = sni_id,
	.cell = sni_cell,
	.cmp = sni_cmp,
};

static void tls_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct names_pane *p = (struct names_pane *)pp;
	struct rect tr = *r;
	char buf[256];

	sync(p, ui);
	if (!p->l7) {
		ui_put(ui, r->y, r->x, r->w, ROLE_DIM, " no application-layer data yet");
		return;
	}
	/* a hello counts once the server answered it; the rest are forged or went unanswered */
	snprintf(buf, sizeof(buf), " handshakes %llu  unanswered hellos %llu  parse errors %llu",
		 (unsigned long long)p->l7->tls_handshakes,
		 (unsigned long long)p->l7->tls_unanswered, (unsigned long long)p->l7->err_tls);
	ui_put(ui, tr.y, tr.x, tr.w, ROLE_NORMAL, buf);
	if (p->l7->sni_other.rows) {
		snprintf(buf, sizeof(buf),
			 " (other server names: %llu, folded by count)  "
			 "handshakes %llu",
			 (unsigned long long)p->l7->sni_other.rows,
			 (unsigned long long)p->l7->sni_other.count);
		ui_put(ui, tr.y + 1, tr.x, tr.w, ROLE_DIM, buf);
	}
	tr.y += 2;
	tr.h -= 2;
	table_draw(&p->t, ui, &tr);
	table_draw_empty(&p->t, ui, &tr, " no TLS ClientHello seen yet");
}

static const struct pane_class tls_class = {
	.name = "TLS",
	.id = "tls",
	.keys = names_maps,
	.display = tls_display,
	.on_key = names_on_key,
	.table = names_table,
	.info = names_info,
	.destroy = names_destroy,
};

struct pane *tls_pane__new(struct ui *ui)
{
	return names_new(&tls_class, tls_cols, SC_MAX, &sni_ops, "server names", SC_COUNT);
}
