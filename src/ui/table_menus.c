/* Overlays over a table: the column chooser (show, hide, order; htop's F2 setup in spirit) and the
 * sort menu (htop's F6). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ui/table.h"

struct menu_pane {
	struct pane base;
	struct table *t;
	struct pane *owner; /* the pane that owns t: its view is rebuilt after a change */
	size_t cur;
	int list[TABLE_MAX_COLS]; /* the columns in menu order */
	size_t n;
	char typed[24]; /* sort menu: the start of a title typed so far */
};

static const struct keymap columns_keymap, sort_keymap, move_keymap;
static const struct keymap *const columns_maps[] = { &columns_keymap, &move_keymap, NULL };
static const struct keymap *const sort_maps[] = { &sort_keymap, &move_keymap, NULL };

static void menu_move(struct menu_pane *m, enum ui_action act)
{
	if (!m->n)
		return;
	if (act == ACT_UP && m->cur)
		m->cur--;
	else if (act == ACT_DOWN && m->cur + 1 < m->n)
		m->cur++;
	else if (act == ACT_HOME || act == ACT_PGUP)
		m->cur = 0;
	else if (act == ACT_END || act == ACT_PGDN)
		m->cur = m->n - 1;
}

static void menu_destroy(struct pane *pp)
{
	free(pp);
}

/* ---- columns ---- */

/* Shown columns in their order, then the hidden ones in definition order. */
static void columns_list(struct menu_pane *m)
{
	const struct table *t = m->t;

	m->n = 0;
	for (int i = 0; i < t->n_order; i++)
		m->list[m->n++] = t->order[i];
	for (int c = 0; c < t->ncols; c++)
		if (!table_col_shown(t, c))
			m->list[m->n++] = c;
	if (m->cur >= m->n)
		m->cur = m->n ? m->n - 1 : 0;
}

static void columns_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct menu_pane *m = (struct menu_pane *)pp;
	char line[256];
	int y = r->y;

	columns_list(m);
	snprintf(line, sizeof(line),
		 " Columns of the %s list: Space shows or hides, Left/Right move, Enter or Esc "
		 "done (saved on quit)",
		 m->t->noun);
	ui_put(ui, y++, r->x, r->w, ROLE_TITLE, line);
	ui_put(ui, y++, r->x, r->w, ROLE_HEADER, "      COLUMN      WHAT IT SHOWS");
	for (size_t i = 0; i < m->n && y < r->y + r->h; i++, y++) {
		const struct table_col *c = &m->t->cols[m->list[i]];
		int shown = table_col_shown(m->t, m->list[i]);

		snprintf(line, sizeof(line), "  [%c] %-11s %s", shown ? 'x' : ' ', c->title,
			 c->desc ? c->desc : "");
		ui_put(ui, y, r->x, r->w,
		       i == m->cur ? ROLE_SELECTED
		       : shown	   ? ROLE_NORMAL
				   : ROLE_DIM,
		       line);
	}
}

static int columns_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct menu_pane *m = (struct menu_pane *)pp;
	int col;

	columns_list(m);
	if (!m->n)
		return R_CLOSE;
	col = m->list[m->cur];
	switch (act) {
	case ACT_TOGGLE:
		if (table_show_col(m->t, col, !table_col_shown(m->t, col)))
			ui_status_err(ui, "a list shows at least one column");
		break;
	case ACT_LEFT:
	case ACT_RIGHT:
		if (!table_move_col(m->t, col, act == ACT_LEFT ? -1 : 1))
			m->cur += act == ACT_LEFT ? -1 : 1;
		break;
	case ACT_ENTER:
	case ACT_BACK:
		return R_CLOSE;
	case ACT_CLICK:
		return R_HANDLED;
	default:
		menu_move(m, act);
		return R_HANDLED | R_REDRAW;
	}
	m->owner->rescan = 1;
	return R_HANDLED | R_REDRAW;
}

static const struct pane_class columns_class = {
	.name = "Columns",
	.keys = columns_maps,
	.display = columns_display,
	.on_key = columns_on_key,
	.destroy = menu_destroy,
};

/* ---- sort ---- */

static void sort_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct menu_pane *m = (struct menu_pane *)pp;
	char line[256];
	int y = r->y;

	snprintf(line, sizeof(line),
		 " Sort the %s list by: Enter sorts (the current column: reverses), typing a "
		 "title jumps to it, Esc cancels%s%s%s",
		 m->t->noun, m->typed[0] ? "   [" : "", m->typed, m->typed[0] ? "]" : "");
	ui_put(ui, y++, r->x, r->w, ROLE_TITLE, line);
	ui_put(ui, y++, r->x, r->w, ROLE_HEADER, "    COLUMN      WHAT IT SHOWS");
	for (size_t i = 0; i < m->n && y < r->y + r->h; i++, y++) {
		const struct table_col *c = &m->t->cols[m->list[i]];
		int cur = m->list[i] == m->t->sort_col;

		snprintf(line, sizeof(line), "  %s %-11s %s",
			 cur ? ui_sort_arrow(ui, m->t->sort_desc) : " ", c->title,
			 c->desc ? c->desc : "");
		ui_put(ui, y, r->x, r->w,
		       i == m->cur ? ROLE_SELECTED
		       : cur	   ? ROLE_HEADER_SORTED
				   : ROLE_NORMAL,
		       line);
	}
}

/* The first column whose title starts with what was typed (any case); none: the cursor stays. */
static void sort_jump(struct menu_pane *m)
{
	size_t l = strlen(m->typed);

	for (size_t i = 0; i < m->n; i++)
		if (!strncasecmp(m->t->cols[m->list[i]].title, m->typed, l)) {
			m->cur = i;
			return;
		}
}

static int sort_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct menu_pane *m = (struct menu_pane *)pp;

	if (act == ACT_ENTER) {
		if (m->n)
			table_sort_by(m->t, m->list[m->cur]);
		m->owner->rescan = 1;
		return R_CLOSE;
	}
	if (act == ACT_BACK)
		return R_CLOSE;
	/* typing a title jumps to it, whatever the letters do elsewhere */
	if (key >= 0x20 && key < 0x7f && (isalnum(key) || strchr(" /_", key))) {
		size_t l = strlen(m->typed);

		if (l + 1 < sizeof(m->typed)) {
			m->typed[l] = (char)key;
			m->typed[l + 1] = '\0';
		}
		sort_jump(m);
		return R_HANDLED | R_REDRAW;
	}
	if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		if (m->typed[0])
			m->typed[strlen(m->typed) - 1] = '\0';
		sort_jump(m);
		return R_HANDLED | R_REDRAW;
	}
	if (act == ACT_CLICK)
		return R_HANDLED;
	menu_move(m, act);
	return R_HANDLED | R_REDRAW;
}

static const struct pane_class sort_class = {
	.name = "Sort",
	.keys = sort_maps,
	.display = sort_display,
	.on_key = sort_on_key,
	.destroy = menu_destroy,
};

static struct menu_pane *menu_new(const struct pane_class *cls, struct table *t, struct pane *owner)
{
	struct menu_pane *m;

	if (!owner)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->base.cls = cls;
	m->t = t;
	m->owner = owner;
	return m;
}

struct pane *columns_pane__new(struct ui *ui, struct table *t, struct pane *owner)
{
	struct menu_pane *m = menu_new(&columns_class, t, owner);

	return m ? &m->base : NULL;
}

struct pane *sort_menu__new(struct ui *ui, struct table *t, struct pane *owner)
{
	struct menu_pane *m = menu_new(&sort_class, t, owner);

	if (!m)
		return NULL;
	for (int c = 0; c < t->ncols; c++) {
		if (t->cols[c].sort == SORT_NONE)
			continue;
		if (c == t->sort_col)
			m->cur = m->n;
		m->list[m->n++] = c;
	}
	return &m->base;
}

static const struct key_binding columns_keys[] = {
	{ ' ', "Space", ACT_TOGGLE, 0, "show or hide the column", "Show/hide" },
	{ KEY_LEFT, "Left", ACT_LEFT, 0, "move the column left", "Move" },
	{ KEY_RIGHT, "Right", ACT_RIGHT, 0, "move the column right", NULL },
	KEYS_ENTER(ACT_ENTER, "done", "Done"),
	{ 27, "Esc", ACT_BACK, 0, "done", NULL },
};
static const struct keymap columns_keymap = KEYMAP("Columns", columns_keys);

static const struct key_binding sort_keys[] = {
	KEYS_ENTER(ACT_ENTER, "sort by this column (the current one: reverse)", "Sort"),
	{ 27, "Esc", ACT_BACK, 0, "cancel", "Cancel" },
};
static const struct keymap sort_keymap = KEYMAP("Sort", sort_keys);

static const struct key_binding move_keys[] = {
	{ KEY_UP, "Up", ACT_UP, 0, "previous", NULL },
	{ KEY_DOWN, "Down", ACT_DOWN, 0, "next", NULL },
	{ KEY_HOME, "Home", ACT_HOME, 0, "first", NULL },
	{ KEY_END, "End", ACT_END, 0, "last", NULL },
	{ KEY_PPAGE, "PgUp", ACT_PGUP, 0, "first", NULL },
	{ KEY_NPAGE, "PgDn", ACT_PGDN, 0, "last", NULL },
};
static const struct keymap move_keymap = KEYMAP("Moving", move_keys);
