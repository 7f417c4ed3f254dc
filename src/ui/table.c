/* The one list widget: every list pane gives it columns and a cell callback, it does the rest
 * (filter, qsort_r, the selection that keeps its row, scrolling both ways, header clicks). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/format.h"
#include "ui/table.h"

uint64_t table_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void table_reset(struct table *t, int sort_col)
{
	t->n_order = 0;
	for (int c = 0; c < t->ncols && c < TABLE_MAX_COLS; c++)
		if (!(t->cols[c].flags & COL_HIDDEN))
			t->order[t->n_order++] = c;
	if (sort_col < 0 || sort_col >= t->ncols || t->cols[sort_col].sort == SORT_NONE) {
		sort_col = 0;
		for (int i = t->n_order - 1; i >= 0; i--)
			if (t->cols[t->order[i]].sort != SORT_NONE)
				sort_col = t->order[i];
	}
	t->sort_col = sort_col;
	t->sort_desc = t->cols[sort_col].sort == SORT_DESC_FIRST;
	t->hscroll = 0;
	t->follow = 0;
	t->filter[0] = '\0';
}

void table_init(struct table *t, const struct table_col *cols, int ncols,
		const struct table_ops *ops, void *ctx, const char *noun)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols < TABLE_MAX_COLS ? ncols : TABLE_MAX_COLS;
	t->ops = ops;
	t->ctx = ctx;
	t->noun = noun;
	table_reset(t, -1);
}

void table_fini(struct table *t)
{
	free(t->idx);
	t->idx = NULL;
	t->cap = t->n = 0;
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const struct table *t = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	int r = t->ops->cmp(t->ctx, a, b, t->sort_col);

	if (t->sort_desc)
		r = -r;
	/* ties keep the data's order, so equal rows do not trade places between refreshes */
	return r ? r : (a > b) - (a < b);
}

static int match_cells(const struct table *t, size_t row, const char *text)
{
	struct table_cell c;

	for (int i = 0; i < t->n_order; i++) {
		if (t->cols[t->order[i]].flags & COL_SPARK)
			continue;
		c.text[0] = '\0';
		t->ops->cell(t->ctx, row, t->order[i], &c);
		if (strcasestr(c.text, text))
			return 1;
	}
	return 0;
}

static void note_sel(struct table *t)
{
	if (t->sel < t->n) {
		t->sel_id = t->ops->row_id(t->ctx, t->idx[t->sel]);
		t->have_sel = 1;
	}
}

void table_rebuild(struct table *t)
{
	size_t total = t->ops->count(t->ctx), m = 0, kept = 0;
	int follow = t->follow && t->have_sel;

	t->alloc_failed = 0;
	if (total > t->cap) {
		uint32_t *n = realloc(t->idx, total * sizeof(*n));

		if (!n) {
			t->n = 0;
			t->alloc_failed = 1;
			return;
		}
		t->idx = n;
		t->cap = total;
	}
	for (size_t r = 0; r < total; r++) {
		if (t->ops->keep && !t->ops->keep(t->ctx, r))
			continue;
		kept++;
		if (t->filter[0] && !(t->ops->match ? t->ops->match(t->ctx, r, t->filter)
						    : match_cells(t, r, t->filter)))
			continue;
		t->idx[m++] = (uint32_t)r;
	}
	/* data that arrives sorted (the engine orders the flows as the Flows list asks) needs one
	 * pass, not a sort: 100k rows cost a qsort of ~40 ms a refresh; idx is NULL before the
	 * first row, and qsort_r(NULL, 0) is undefined (UBSan) */
	size_t i = 1;
	while (i < m && cmp_rows(&t->idx[i - 1], &t->idx[i], t) <= 0)
		i++;
	if (i < m)
		qsort_r(t->idx, m, sizeof(*t->idx), cmp_rows, t);
	t->n = m;
	t->total = total;
	t->kept = kept;
	if (follow) {
		for (size_t i = 0; i < m; i++) {
			if (t->ops->row_id(t->ctx, t->idx[i]) == t->sel_id) {
				t->sel = i;
				break;
			}
		}
	}
	if (t->sel >= m)
		t->sel = m ? m - 1 : 0;
	note_sel(t);
}

int table_selected(const struct table *t, size_t *row)
{
	if (t->sel >= t->n)
		return 0;
	*row = t->idx[t->sel];
	return 1;
}

static void fit(struct table *t, int h)
{
	size_t hh = h > 0 ? (size_t)h : 1;

	t->page = h;
	if (t->sel >= t->n)
		t->sel = t->n ? t->n - 1 : 0;
	if (t->sel < t->top)
		t->top = t->sel;
	if (t->sel >= t->top + hh)
		t->top = t->sel - hh + 1;
	/* after a shrink (filter, resize) do not leave blank rows under a scrolled list */
	if (t->top + hh > t->n)
		t->top = t->n > hh ? t->n - hh : 0;
}

static int title_cells(const struct table_col *c)
{
	/* room for the sort arrow after a sortable title */
	return (int)strlen(c->title) + (c->sort != SORT_NONE);
}

static int content_width(struct table *t, int col, int h)
{
	const struct table_col *c = &t->cols[col];
	int w = title_cells(c);
	struct table_cell cell;

	for (size_t i = t->top; i < t->n && i < t->top + (size_t)(h > 0 ? h : 0); i++) {
		int l;

		cell.text[0] = '\0';
		t->ops->cell(t->ctx, t->idx[i], col, &cell);
		l = (int)strlen(cell.text);
		if (l > w)
			w = l;
	}
	return w;
}

void table_layout(struct table *t, const struct rect *r)
{
	int x = r->x, edge = r->x + r->w, h = r->h - 1;

	t->r = *r;
	fit(t, h);
	t->n_shown = 0;
	t->more_right = 0;
	if (t->hscroll >= t->n_order)
		t->hscroll = t->n_order ? t->n_order - 1 : 0;
	for (int i = t->hscroll; i < t->n_order; i++) {
		int c = t->order[i], cw = t->cols[c].width, rem = edge - x;
		int flex = t->cols[c].max > t->cols[c].width;

		if (rem <= 0) {
			t->more_right = 1;
			break;
		}
		if (flex) {
			cw = content_width(t, c, h);
			if (cw < t->cols[c].width)
				cw = t->cols[c].width;
			if (cw > t->cols[c].max)
				cw = t->cols[c].max;
		}
		if (cw > rem) {
			/* a flexible column takes what is left if its minimum fits (and elides);
			 * the first column is always shown, cut if need be */
			if (!t->n_shown || (flex && rem >= t->cols[c].width)) {
				cw = rem;
			} else {
				t->more_right = 1;
				break;
			}
		}
		t->shown_col[t->n_shown] = c;
		t->shown_x[t->n_shown] = x;
		t->shown_w[t->n_shown] = cw;
		t->n_shown++;
		x += cw + 1;
	}
	/* what is left goes to the last column when it is flexible (long names, commands) */
	if (t->n_shown && !t->more_right) {
		int l = t->n_shown - 1;

		if (t->cols[t->shown_col[l]].max > t->cols[t->shown_col[l]].width)
			t->shown_w[l] = edge - t->shown_x[l];
	}
}

/* Whether a number is on screen, when the shown columns have any. */
static int shows_numbers(const struct table *t)
{
	int any = 0;

	for (int i = t->hscroll; i < t->n_order; i++)
		any |= t->cols[t->order[i]].flags & COL_RIGHT;
	for (int i = 0; i < t->n_shown; i++)
		if (t->cols[t->shown_col[i]].flags & COL_RIGHT)
			return 1;
	return !any;
}

/* Columns the table needs to reach its first number (at the columns' least widths). */
static int needed_width(const struct table *t)
{
	int w = 0;

	for (int i = t->hscroll; i < t->n_order; i++) {
		w += t->cols[t->order[i]].width + (i > t->hscroll);
		if (t->cols[t->order[i]].flags & COL_RIGHT)
			break;
	}
	return w;
}

static void put_cell(struct ui *ui, const struct table_col *c, int y, int x, int w, enum role role,
		     const char *text)
{
	char fitted[TABLE_CELL_MAX + 8];

	fmt_fit(text, (size_t)w, !!(c->flags & COL_ELIDE_MID), ui->utf8, fitted, sizeof(fitted));
	if (c->flags & COL_RIGHT)
		ui_put_right(ui, y, x, w, role, fitted);
	else
		ui_put(ui, y, x, w, role, fitted);
}

void table_draw(struct table *t, struct ui *ui, const struct rect *r)
{
	int h = r->h - 1;

	table_layout(t, r);
	ui_put(ui, r->y, r->x, r->w, ROLE_HEADER, "");
	for (int i = 0; i < t->n_shown; i++) {
		int c = t->shown_col[i], sorted = c == t->sort_col;
		char title[64];

		snprintf(title, sizeof(title), "%s%s", t->cols[c].title,
			 sorted ? ui_sort_arrow(ui, t->sort_desc) : "");
		put_cell(ui, &t->cols[c], r->y, t->shown_x[i], t->shown_w[i],
			 sorted ? ROLE_HEADER_SORTED : ROLE_HEADER, title);
	}
	if (t->more_right && r->w > 2)
		ui_put(ui, r->y, r->x + r->w - 1, 1, ROLE_HEADER, ">");
	if (!shows_numbers(t)) {
		char msg[160];

		/* the names fit but no number does: say so rather than show a list of names */
		snprintf(
		    msg, sizeof(msg),
		    " too narrow: %d columns show no numbers, %d would; Right scrolls, c hides "
		    "columns",
		    r->w, needed_width(t));
		ui_put(ui, r->y, r->x, r->w, ROLE_WARN, msg);
	}
	for (int i = 0; i < h && t->top + (size_t)i < t->n; i++) {
		size_t ri = t->top + (size_t)i;
		int y = r->y + 1 + i, sel = ri == t->sel;

		ui_put(ui, y, r->x, r->w, sel ? ROLE_SELECTED : ROLE_NORMAL, "");
		for (int k = 0; k < t->n_shown; k++) {
			const struct table_col *col = &t->cols[t->shown_col[k]];
			struct table_cell cell = { .role = ROLE_NORMAL };

			t->ops->cell(t->ctx, t->idx[ri], t->shown_col[k], &cell);
			if (col->flags & COL_SPARK)
				ui_put_spark(ui, y, t->shown_x[k], t->shown_w[k],
					     sel ? ROLE_SELECTED : ROLE_SPARK, cell.spark,
					     cell.spark_n);
			else
				put_cell(ui, col, y, t->shown_x[k], t->shown_w[k],
					 sel ? ROLE_SELECTED : cell.role, cell.text);
		}
	}
}

void table_draw_empty(struct table *t, struct ui *ui, const struct rect *r, const char *no_data)
{
	char msg[384];

	if (t->n || r->h < 2)
		return;
	if (t->alloc_failed)
		snprintf(msg, sizeof(msg), " out of memory for %zu %s", t->total, t->noun);
	else if (t->kept && t->filter[0])
		snprintf(msg, sizeof(msg), " no %s match '%.200s' (Esc clears the filter)", t->noun,
			 t->filter);
	else
		snprintf(msg, sizeof(msg), "%s", no_data);
	ui_put(ui, r->y + 1, r->x, r->w, ROLE_DIM, msg);
}

static int move_sel(struct table *t, enum ui_action act)
{
	size_t page = t->page > 1 ? (size_t)t->page - 1 : 1;

	if (!t->n)
		return R_HANDLED;
	switch (act) {
	case ACT_UP:
		if (t->sel)
			t->sel--;
		break;
	case ACT_DOWN:
		if (t->sel + 1 < t->n)
			t->sel++;
		break;
	case ACT_PGUP:
		t->sel = t->sel > page ? t->sel - page : 0;
		break;
	case ACT_PGDN:
		t->sel = t->sel + page < t->n ? t->sel + page : t->n - 1;
		break;
	case ACT_HOME:
		t->sel = 0;
		break;
	default: /* ACT_END */
		t->sel = t->n - 1;
		break;
	}
	note_sel(t);
	return R_HANDLED | R_REDRAW;
}

int table_sort_by(struct table *t, int col)
{
	if (col < 0 || col >= t->ncols || t->cols[col].sort == SORT_NONE)
		return R_HANDLED;
	if (col == t->sort_col)
		t->sort_desc = !t->sort_desc;
	else
		t->sort_col = col, t->sort_desc = t->cols[col].sort == SORT_DESC_FIRST;
	return R_HANDLED | R_RESCAN;
}

static int click(struct table *t, struct ui *ui, int y, int x)
{
	if (y < t->r.y || y >= t->r.y + t->r.h || x < t->r.x || x >= t->r.x + t->r.w)
		return R_IGNORED;
	if (y == t->r.y) {
		for (int i = 0; i < t->n_shown; i++)
			if (x >= t->shown_x[i] && x <= t->shown_x[i] + t->shown_w[i])
				/* the same event the sort menu sends, through the one handler */
				return table_on_key(t, ui, ACT_SORT_COL, t->shown_col[i]);
		return R_HANDLED;
	}
	if (t->top + (size_t)(y - t->r.y - 1) < t->n) {
		t->sel = t->top + (size_t)(y - t->r.y - 1);
		note_sel(t);
	}
	return R_HANDLED | R_REDRAW;
}

int table_on_key(struct table *t, struct ui *ui, enum ui_action act, int key)
{
	switch (act) {
	case ACT_UP:
	case ACT_DOWN:
	case ACT_PGUP:
	case ACT_PGDN:
	case ACT_HOME:
	case ACT_END:
		return move_sel(t, act);
	case ACT_LEFT:
		if (t->hscroll > 0)
			t->hscroll--;
		return R_HANDLED | R_REDRAW;
	case ACT_RIGHT:
		if (t->more_right && t->hscroll + 1 < t->n_order)
			t->hscroll++;
		return R_HANDLED | R_REDRAW;
	case ACT_SORT_COL:
		return table_sort_by(t, key);
	case ACT_REVERSE:
		t->sort_desc = !t->sort_desc;
		return R_HANDLED | R_RESCAN;
	case ACT_SORT:
		ui_push_overlay(ui, sort_menu__new(ui, t, ui_top_pane(ui)));
		return R_HANDLED | R_REDRAW;
	case ACT_COLUMNS:
		ui_push_overlay(ui, columns_pane__new(ui, t, ui_top_pane(ui)));
		return R_HANDLED | R_REDRAW;
	case ACT_FOLLOW:
		t->follow = !t->follow;
		note_sel(t);
		if (ui)
			ui_status(
			    ui, t->follow
				    ? "follow: the selection stays on its row as the order changes"
				    : "follow off: the selection keeps its place in the list");
		return R_HANDLED | R_REDRAW;
	case ACT_BACK:
		if (!t->filter[0])
			return R_IGNORED;
		table_set_filter(t, "");
		return R_HANDLED | R_RESCAN;
	case ACT_CLICK:
		return click(t, ui, UI_CLICK_Y(key), UI_CLICK_X(key));
	default:
		return R_IGNORED;
	}
}

void table_set_filter(struct table *t, const char *text)
{
	snprintf(t->filter, sizeof(t->filter), "%s", text);
}

int table_col_shown(const struct table *t, int col)
{
	for (int i = 0; i < t->n_order; i++)
		if (t->order[i] == col)
			return 1;
	return 0;
}

int table_show_col(struct table *t, int col, int show)
{
	int i;

	if (col < 0 || col >= t->ncols || table_col_shown(t, col) == !!show)
		return -1;
	if (show) {
		t->order[t->n_order++] = col;
		return 0;
	}
	if (t->n_order == 1)
		return -1; /* a table shows at least one column */
	for (i = 0; t->order[i] != col; i++)
		;
	memmove(&t->order[i], &t->order[i + 1], (size_t)(t->n_order - i - 1) * sizeof(int));
	t->n_order--;
	if (t->hscroll >= t->n_order)
		t->hscroll = t->n_order - 1;
	return 0;
}

int table_move_col(struct table *t, int col, int by)
{
	int i, j, tmp;

	for (i = 0; i < t->n_order && t->order[i] != col; i++)
		;
	j = i + by;
	if (i == t->n_order || j < 0 || j >= t->n_order)
		return -1;
	tmp = t->order[j];
	t->order[j] = col;
	t->order[i] = tmp;
	return 0;
}

void table_info(const struct table *t, struct ui *ui, char *buf, size_t len)
{
	char f[300] = "", cols[48] = "";

	if (t->filter[0])
		snprintf(f, sizeof(f), "filter '%.100s'  ", t->filter);
	if (t->hscroll || t->more_right)
		snprintf(cols, sizeof(cols), "  cols %d-%d/%d", t->hscroll + 1,
			 t->hscroll + t->n_shown, t->n_order);
	snprintf(buf, len, "%ssort %s %s  %zu/%zu %s%s%s", f, t->cols[t->sort_col].title,
		 ui_sort_arrow(ui, t->sort_desc), t->n, t->total, t->noun, cols,
		 t->follow ? "  [follow]" : "");
}

static int col_by_id(const struct table *t, const char *id, size_t len)
{
	for (int c = 0; c < t->ncols; c++)
		if (strlen(t->cols[c].id) == len && !strncmp(t->cols[c].id, id, len))
			return c;
	return -1;
}

void table_settings_write(const struct table *t, FILE *f, const char *prefix)
{
	fprintf(f, "%s.columns=", prefix);
	for (int i = 0; i < t->n_order; i++)
		fprintf(f, "%s%s", i ? "," : "", t->cols[t->order[i]].id);
	fprintf(f, "\n%s.sort=%s\n%s.sort_dir=%s\n%s.follow=%d\n", prefix, t->cols[t->sort_col].id,
		prefix, t->sort_desc ? "desc" : "asc", prefix, t->follow);
}

static int apply_columns(struct table *t, const char *v, char *err, size_t errlen)
{
	int order[TABLE_MAX_COLS], n = 0;

	for (const char *p = v; *p;) {
		size_t l = strcspn(p, ",");
		int c = col_by_id(t, p, l);

		if (c < 0 || n == TABLE_MAX_COLS) {
			snprintf(err, errlen, "no %s column named '%.*s'", t->noun, (int)l, p);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (order[i] == c) {
				snprintf(err, errlen, "column '%s' listed twice", t->cols[c].id);
				return -1;
			}
		order[n++] = c;
		p += l;
		if (*p == ',')
			p++;
	}
	if (!n) {
		snprintf(err, errlen, "no columns listed");
		return -1;
	}
	memcpy(t->order, order, sizeof(order[0]) * (size_t)n);
	t->n_order = n;
	t->hscroll = 0;
	return 0;
}

int table_settings_apply(struct table *t, const char *prefix, const char *key, const char *value,
			 char *err, size_t errlen)
{
	size_t pl = strlen(prefix);
	const char *k;
	int c;

	if (strncmp(key, prefix, pl) || key[pl] != '.')
		return 0;
	k = key + pl + 1;
	if (!strcmp(k, "columns"))
		return apply_columns(t, value, err, errlen) ? -1 : 1;
	if (!strcmp(k, "sort")) {
		c = col_by_id(t, value, strlen(value));
		if (c < 0 || t->cols[c].sort == SORT_NONE) {
			snprintf(err, errlen, "no sortable %s column named '%s'", t->noun, value);
			return -1;
		}
		t->sort_col = c;
		return 1;
	}
	if (!strcmp(k, "sort_dir")) {
		if (strcmp(value, "desc") && strcmp(value, "asc")) {
			snprintf(err, errlen, "sort_dir is 'asc' or 'desc', not '%s'", value);
			return -1;
		}
		t->sort_desc = !strcmp(value, "desc");
		return 1;
	}
	if (!strcmp(k, "follow")) {
		if (strcmp(value, "0") && strcmp(value, "1")) {
			snprintf(err, errlen, "follow is 0 or 1, not '%s'", value);
			return -1;
		}
		t->follow = value[0] == '1';
		return 1;
	}
	return 0;
}
