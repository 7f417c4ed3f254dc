/* Unit tests for the table widget without a terminal: sort, filter, the selection that keeps its
 * row, vertical and horizontal scrolling, column widths and eliding, clicks, settings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ui/format.h"
#include "ui/table.h"

struct row {
	uint32_t id;
	const char *name;
	double value;
	const char *addr;
};

struct data {
	struct row rows[64];
	size_t n;
	int hide_odd; /* keep() leaves out odd ids */
};

enum { C_NAME, C_VALUE, C_ADDR, C_ID, C_MAX };

static const struct table_col cols[C_MAX] = {
	[C_NAME] = { "name", "NAME", "a name", 6, 0, 0, SORT_ASC_FIRST },
	[C_VALUE] = { "value", "VALUE", "a number", 7, 0, COL_RIGHT, SORT_DESC_FIRST },
	[C_ADDR] = { "addr", "ADDR", "an address", 10, 47, COL_ELIDE_MID, SORT_ASC_FIRST },
	[C_ID] = { "id", "ID", "the id", 4, 0, COL_RIGHT, SORT_NONE },
};

static size_t d_count(void *ctx)
{
	return ((struct data *)ctx)->n;
}

static uint64_t d_id(void *ctx, size_t r)
{
	return ((struct data *)ctx)->rows[r].id;
}

static void d_cell(void *ctx, size_t r, int col, struct table_cell *c)
{
	const struct row *x = &((struct data *)ctx)->rows[r];

	if (col == C_NAME)
		snprintf(c->text, sizeof(c->text), "%s", x->name);
	else if (col == C_VALUE)
		snprintf(c->text, sizeof(c->text), "%g", x->value);
	else if (col == C_ADDR)
		snprintf(c->text, sizeof(c->text), "%s", x->addr ? x->addr : "-");
	else
		snprintf(c->text, sizeof(c->text), "%u", x->id);
}

static int d_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct row *x = &((struct data *)ctx)->rows[a], *y = &((struct data *)ctx)->rows[b];

	if (col == C_NAME)
		return strcmp(x->name, y->name);
	if (col == C_ADDR)
		return strcmp(x->addr ? x->addr : "", y->addr ? y->addr : "");
	return (x->value > y->value) - (x->value < y->value);
}

static int d_keep(void *ctx, size_t r)
{
	const struct data *d = ctx;

	return !d->hide_odd || !(d->rows[r].id & 1);
}

static const struct table_ops ops = {
	.count = d_count,
	.row_id = d_id,
	.cell = d_cell,
	.cmp = d_cmp,
	.keep = d_keep,
};

/* Five rows; value has a tie (30, 30) so the data's order must break it. */
static void fill(struct data *d)
{
	static const struct row rows[] = {
		{ 10, "delta", 30, "10.0.0.4:80" },   { 11, "alpha", 50, "10.0.0.1:80" },
		{ 12, "echo", 10, "10.0.0.5:80" },    { 13, "Bravo", 30, "10.0.0.2:80" },
		{ 14, "charlie", 40, "10.0.0.3:80" },
	};

	memset(d, 0, sizeof(*d));
	memcpy(d->rows, rows, sizeof(rows));
	d->n = 5;
}

/* The ids of the shown rows, in order, as "11 14 10 13 12". */
static const char *order(const struct table *t)
{
	static char buf[256];
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->n; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? " " : "",
				      ((struct data *)t->ctx)->rows[t->idx[i]].id);
	return buf;
}

static uint32_t sel_id(const struct table *t)
{
	size_t r;

	assert_true(table_selected(t, &r));
	return ((struct data *)t->ctx)->rows[r].id;
}

static void test_sort(void **state)
{
	struct data d;
	struct table t;

	fill(&d);
	table_init(&t, cols, C_MAX, &ops, &d, "rows");
	table_reset(&t, C_VALUE);
	table_rebuild(&t);
	/* numbers biggest first; the 30/30 tie in the data's order (10 before 13) */
	assert_string_equal(order(&t), "11 14 10 13 12");
	assert_true(t.sort_desc);
	/* reversed: the tie keeps the data's order both ways */
	assert_int_equal(table_on_key(&t, NULL, ACT_REVERSE, 0), R_HANDLED | R_RESCAN);
	table_rebuild(&t);
	assert_string_equal(order(&t), "12 10 13 14 11");
	/* names sort A first (strcmp: capitals before lower case) */
	assert_int_equal(table_on_key(&t, NULL, ACT_SORT_COL, C_NAME), R_HANDLED | R_RESCAN);
	table_rebuild(&t);
	assert_false(t.sort_desc);
	assert_string_equal(order(&t), "13 11 14 10 12");
	/* the same column again reverses it */
	table_on_key(&t, NULL, ACT_SORT_COL, C_NAME);
	table_rebuild(&t);
	assert_string_equal(order(&t), "12 10 14 11 13");
	/* a column that does not sort changes nothing */
	assert_int_equal(table_sort_by(&t, C_ID), R_HANDLED);
	assert_int_equal(t.sort_col, C_NAME);
	table_fini(&t);
}

static void test_filter_and_keep(void **state)
{
	struct data d;
	struct table t;

	fill(&d);
	table_init(&t, cols, C_MAX, &ops, &d, "rows");
	table_reset(&t, C_VALUE);
	/* the default match looks at the shown cells' text, in any case */
	table_set_filter(&t, "BRAVO");
	table_rebuild(&t);
	assert_string_equal(order(&t), "13");
	table_set_filter(&t, "10.0.0.");
	table_rebuild(&t);
	assert_string_equal(order(&t), "11 14 10 13 12");
	table_set_filter(&t, "nothing");
	table_rebuild(&t);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.kept, 5);
	assert_int_equal(t.total, 5);
	assert_false(table_selected(&t, &(size_t){ 0 }));
	/* Esc clears a filter and asks for a rebuild; with no filter it is not the table's */
	assert_int_equal(table_on_key(&t, NULL, ACT_BACK, 0), R_HANDLED | R_RESCAN);
	assert_string_equal(t.filter, "");
	assert_int_equal(table_on_key(&t, NULL, ACT_BACK, 0), R_IGNORED);
	/* keep() comes before the filter */
	d.hide_odd = 1;
	table_rebuild(&t);
	assert_string_equal(order(&t), "14 10 12");
	assert_int_equal(t.kept, 3);
	table_set_filter(&t, "echo");
	table_rebuild(&t);
	assert_string_equal(order(&t), "12");
	table_fini(&t);
}

static void test_selection_follow(void **state)
{
	struct data d;
	struct table t;

	fill(&d);
	table_init(&t, cols, C_MAX, &ops, &d, "rows");
	table_reset(&t, C_VALUE);
	table_rebuild(&t);
	/* select the third row: id 10 (value 30) */
	table_on_key(&t, NULL, ACT_DOWN, 0);
	table_on_key(&t, NULL, ACT_DOWN, 0);
	assert_int_equal(sel_id(&t), 10);

	/* follow off (the default): a refresh that reorders keeps the position, not the row */
	d.rows[0].value = 99; /* id 10 moves to the top */
	table_rebuild(&t);
	assert_string_equal(order(&t), "10 11 14 13 12");
	assert_int_equal(t.sel, 2);
	assert_int_equal(sel_id(&t), 14);

	/* follow on: the selection stays on its row wherever it goes */
	table_on_key(&t, NULL, ACT_FOLLOW, 0);
	assert_true(t.follow);
	d.rows[4].value = 1; /* id 14 falls to the bottom */
	table_rebuild(&t);
	assert_string_equal(order(&t), "10 11 13 12 14");
	assert_int_equal(t.sel, 4);
	assert_int_equal(sel_id(&t), 14);
	/* the same across a re-sort */
	table_sort_by(&t, C_NAME);
	table_rebuild(&t);
	assert_string_equal(order(&t), "13 11 14 10 12");
	assert_int_equal(sel_id(&t), 14);

	/* follow off, a re-sort keeps the place too: the top of the new order stays in view */
	table_on_key(&t, NULL, ACT_FOLLOW, 0);
	table_sort_by(&t, C_VALUE);
	table_rebuild(&t);
	assert_string_equal(order(&t), "10 11 13 12 14");
	assert_int_equal(t.sel, 2);
	assert_int_equal(sel_id(&t), 13);
	table_on_key(&t, NULL, ACT_END, 0);
	assert_int_equal(sel_id(&t), 14);

	/* the row goes away: the selection stays in the list, on its neighbour */
	d.n = 4;
	table_rebuild(&t);
	assert_int_equal(t.sel, 3);
	assert_int_equal(sel_id(&t), 12);
	/* everything goes away and comes back: no selection in between, no crash */
	d.n = 0;
	table_rebuild(&t);
	assert_false(table_selected(&t, &(size_t){ 0 }));
	assert_int_equal(table_on_key(&t, NULL, ACT_DOWN, 0), R_HANDLED);
	d.n = 5;
	table_rebuild(&t);
	assert_int_equal(t.sel, 0);
	table_fini(&t);
}

static void test_scroll(void **state)
{
	struct data d;
	struct table t;
	struct rect r = { .y = 5, .x = 0, .h = 4, .w = 80 }; /* a header and 3 rows */

	memset(&d, 0, sizeof(d));
	for (uint32_t i = 0; i < 40; i++)
		d.rows[i] = (struct row){ i, "r", 100.0 - i, "a" };
	d.n = 40;
	table_init(&t, cols, C_MAX, &ops, &d, "rows");
	table_reset(&t, C_VALUE);
	table_rebuild(&t);
	table_layout(&t, &r);
	assert_int_equal(t.top, 0);
	/* moving past the last visible row scrolls by one */
	for (int i = 0; i < 3; i++)
		table_on_key(&t, NULL, ACT_DOWN, 0);
	table_layout(&t, &r);
	assert_int_equal(t.sel, 3);
	assert_int_equal(t.top, 1);
	/* a page is the visible rows less one, so one row stays in view */
	table_on_key(&t, NULL, ACT_PGDN, 0);
	table_layout(&t, &r);
	assert_int_equal(t.sel, 5);
	assert_int_equal(t.top, 3);
	table_on_key(&t, NULL, ACT_END, 0);
	table_layout(&t, &r);
	assert_int_equal(t.sel, 39);
	assert_int_equal(t.top, 37);
	table_on_key(&t, NULL, ACT_HOME, 0);
	table_layout(&t, &r);
	assert_int_equal(t.sel, 0);
	assert_int_equal(t.top, 0);
	/* a shrink leaves no blank rows under a scrolled list */
	table_on_key(&t, NULL, ACT_END, 0);
	table_layout(&t, &r);
	r.h = 30;
	table_layout(&t, &r);
	assert_int_equal(t.top, 11);

	/* a click on a row selects it; on the header it sorts by that column */
	r.h = 4;
	table_on_key(&t, NULL, ACT_HOME, 0);
	table_layout(&t, &r);
	assert_int_equal(table_on_key(&t, NULL, ACT_CLICK, UI_CLICK_KEY(7, 2)),
			 R_HANDLED | R_REDRAW);
	assert_int_equal(t.sel, 1);
	assert_int_equal(t.shown_col[0], C_NAME);
	assert_int_equal(table_on_key(&t, NULL, ACT_CLICK, UI_CLICK_KEY(5, t.shown_x[0] + 1)),
			 R_HANDLED | R_RESCAN);
	assert_int_equal(t.sort_col, C_NAME);
	/* outside the table: not its click */
	assert_int_equal(table_on_key(&t, NULL, ACT_CLICK, UI_CLICK_KEY(9, 2)), R_IGNORED);
	table_fini(&t);
}

static void test_columns_and_hscroll(void **state)
{
	struct data d;
	struct table t;
	struct rect r = { .y = 0, .x = 0, .h = 10, .w = 80 };

	fill(&d);
	table_init(&t, cols, C_MAX, &ops, &d, "rows");
	table_reset(&t, C_VALUE);
	table_rebuild(&t);
	table_layout(&t, &r);
	/* NAME 6 | VALUE 7 | ADDR sized to its cells (11) | ID 4 */
	assert_int_equal(t.n_shown, 4);
	assert_int_equal(t.shown_w[0], 6);
	assert_int_equal(t.shown_x[1], 7);
	assert_int_equal(t.shown_w[2], 11);
	assert_int_equal(t.shown_x[3], 7 + 8 + 12);
	assert_false(t.more_right);
	/* Right does nothing when everything fits */
	table_on_key(&t, NULL, ACT_RIGHT, 0);
	assert_int_equal(t.hscroll, 0);

	/* a long IPv6 endpoint: the column takes the width it needs */
	d.rows[2].addr = "[fd00:dead:beef:cafe:1234:5678:9abc:def0]:65535";
	table_layout(&t, &r);
	assert_int_equal(t.shown_w[2], 47);
	/* narrower: the flexible column shrinks (down to its minimum) and ID goes off the right */
	r.w = 40;
	table_layout(&t, &r);
	assert_int_equal(t.n_shown, 3);
	assert_int_equal(t.shown_w[2], 40 - 15);
	assert_true(t.more_right);
	/* horizontal scroll: the first shown column moves right */
	table_on_key(&t, NULL, ACT_RIGHT, 0);
	table_layout(&t, &r);
	assert_int_equal(t.hscroll, 1);
	assert_int_equal(t.shown_col[0], C_VALUE);
	assert_int_equal(t.shown_w[1], 40 - 8);
	table_on_key(&t, NULL, ACT_LEFT, 0);
	table_layout(&t, &r);
	assert_int_equal(t.shown_col[0], C_NAME);

	/* hide, show (at the end) and move columns */
	assert_int_equal(table_show_col(&t, C_NAME, 0), 0);
	assert_false(table_col_shown(&t, C_NAME));
	assert_int_equal(table_show_col(&t, C_NAME, 0), -1);
	assert_int_equal(table_show_col(&t, C_NAME, 1), 0);
	assert_int_equal(t.order[t.n_order - 1], C_NAME);
	assert_int_equal(table_move_col(&t, C_NAME, -1), 0);
	assert_int_equal(t.order[t.n_order - 2], C_NAME);
	assert_int_equal(table_move_col(&t, C_VALUE, -1), -1);
	/* the last column cannot go */
	for (int c = 1; c < C_MAX; c++)
		table_show_col(&t, c, 0);
	assert_int_equal(t.n_order, 1);
	assert_int_equal(table_show_col(&t, C_NAME, 0), -1);
	table_fini(&t);
}

static void test_fit_text(void **state)
{
	char out[64];

	assert_string_equal(fmt_fit("10.0.0.1:80", 11, 1, 0, out, sizeof(out)), "10.0.0.1:80");
	/* never a silent cut: the marker says something is missing, the port stays */
	assert_string_equal(fmt_fit("[fd00:dead:beef::1]:8080", 15, 1, 0, out, sizeof(out)),
			    "[fd00:d~1]:8080");
	assert_string_equal(fmt_fit("[fd00:dead:beef::1]:8080", 15, 1, 1, out, sizeof(out)),
			    "[fd00:d\u20261]:8080");
	assert_string_equal(fmt_fit("/usr/bin/python3 -m http.server", 10, 0, 0, out, sizeof(out)),
			    "/usr/bin/~");
	assert_int_equal(fmt_cells("RX b/s\u25bc"), 7);
	assert_string_equal(fmt_fit("RX b/s\u25bc", 7, 0, 1, out, sizeof(out)), "RX b/s\u25bc");
	assert_string_equal(fmt_fit("abc", 0, 0, 1, out, sizeof(out)), "");
}

static void test_settings(void **state)
{
	struct data d;
	struct table t, u;
	char *buf = NULL, err[128], line[256];
	size_t len = 0;
	FILE *f;
	int applied = 0;

	fill(&d);
	table_init(&t, cols, C_MAX, &ops, &d, "rows");
	table_reset(&t, C_VALUE);
	table_show_col(&t, C_ID, 0);
	table_move_col(&t, C_ADDR, -1);
	table_move_col(&t, C_ADDR, -1);
	table_sort_by(&t, C_NAME);
	table_on_key(&t, NULL, ACT_REVERSE, 0);
	t.follow = 1;
	f = open_memstream(&buf, &len);
	table_settings_write(&t, f, "x");
	fclose(f);
	assert_string_equal(buf, "x.columns=addr,name,value\nx.sort=name\nx.sort_dir=desc\n"
				 "x.follow=1\n");

	table_init(&u, cols, C_MAX, &ops, &d, "rows");
	table_reset(&u, C_VALUE);
	f = fmemopen(buf, len, "r");
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		*eq = '\0';
		assert_int_equal(table_settings_apply(&u, "x", line, eq + 1, err, sizeof(err)), 1);
		applied++;
	}
	fclose(f);
	assert_int_equal(applied, 4);
	assert_int_equal(u.n_order, 3);
	assert_memory_equal(u.order, t.order, 3 * sizeof(int));
	assert_int_equal(u.sort_col, C_NAME);
	assert_true(u.sort_desc);
	assert_true(u.follow);
	/* someone else's key, and bad values with a reason */
	assert_int_equal(table_settings_apply(&u, "x", "y.sort", "name", err, sizeof(err)), 0);
	assert_int_equal(table_settings_apply(&u, "x", "x.other", "1", err, sizeof(err)), 0);
	assert_int_equal(table_settings_apply(&u, "x", "x.columns", "name,bogus", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "no rows column named 'bogus'");
	assert_int_equal(table_settings_apply(&u, "x", "x.columns", "name,name", err, sizeof(err)),
			 -1);
	assert_int_equal(table_settings_apply(&u, "x", "x.columns", "", err, sizeof(err)), -1);
	assert_int_equal(table_settings_apply(&u, "x", "x.sort", "id", err, sizeof(err)), -1);
	assert_int_equal(table_settings_apply(&u, "x", "x.sort_dir", "up", err, sizeof(err)), -1);
	assert_int_equal(table_settings_apply(&u, "x", "x.follow", "yes", err, sizeof(err)), -1);
	/* a failed value leaves the table as it was */
	assert_int_equal(u.n_order, 3);
	free(buf);
	table_fini(&t);
	table_fini(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_filter_and_keep),
		cmocka_unit_test(test_selection_follow),
		cmocka_unit_test(test_scroll),
		cmocka_unit_test(test_columns_and_hscroll),
		cmocka_unit_test(test_fit_text),
		cmocka_unit_test(test_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
