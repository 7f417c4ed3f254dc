/* The one list widget (htop's Panel): columns, sort, filter, a selection that keeps its row, scrolling. */
#ifndef PKTLENS_UI_TABLE_H
#define PKTLENS_UI_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ui/screen.h"

#define TABLE_MAX_COLS 32
#define TABLE_CELL_MAX 256

enum col_flags {
	COL_RIGHT = 1 << 0,	/* right-aligned (numbers) */
	COL_HIDDEN = 1 << 1,	/* not shown until the column chooser shows it */
	COL_ELIDE_MID = 1 << 2, /* too long: cut in the middle, so an address keeps its port */
	COL_SPARK = 1 << 3,	/* drawn as a sparkline of the cell's series */
};

enum col_sort {
	SORT_NONE = 0,	 /* not sortable */
	SORT_DESC_FIRST, /* numbers: the biggest first, until reversed */
	SORT_ASC_FIRST,	 /* names and addresses: A first */
};

struct table_col {
	const char *id;	   /* name in the settings file: "rx_bps" */
	const char *title; /* header: "RX b/s" */
	const char *desc;  /* one line for the column chooser and the sort menu */
	short width;	   /* fixed width, or the least a flexible column takes */
	short max;	   /* > width: flexible, as wide as its visible cells up to max */
	unsigned char flags;
	unsigned char sort; /* enum col_sort */
};

struct table_cell {
	char text[TABLE_CELL_MAX];
	enum role role;
	const float *spark; /* COL_SPARK: the series, oldest first */
	size_t spark_n;
};

/* What a pane gives the table: its rows are indexes 0..count-1 into the pane's current data. */
struct table_ops {
	size_t (*count)(void *ctx);
	/* identity that survives refreshes and re-sorts (a hash of the row's key) */
	uint64_t (*row_id)(void *ctx, size_t row);
	void (*cell)(void *ctx, size_t row, int col, struct table_cell *c);
	/* the column's natural order, ascending; the table flips it and breaks ties */
	int (*cmp)(void *ctx, size_t a, size_t b, int col);
	/* optional: rows the pane leaves out before any filter (idle flows, another group's) */
	int (*keep)(void *ctx, size_t row);
	/* optional: the search text matches the row; default: some cell contains it, any case */
	int (*match)(void *ctx, size_t row, const char *text);
};

struct table {
	const struct table_col *cols;
	int ncols;
	const struct table_ops *ops;
	void *ctx;
	const char *noun; /* "flows": for the info line and the empty messages */

	int order[TABLE_MAX_COLS]; /* the shown columns, left to right */
	int n_order;
	int sort_col, sort_desc;
	/* the selection follows its row across refreshes and re-sorts (htop's F); else it keeps
	 * its place, so the top of the sort stays in view */
	int follow;
	char filter[256];

	uint32_t *idx; /* rows shown, in order */
	size_t n, cap;
	size_t total; /* rows in the data */
	size_t kept;  /* rows keep() left, before the filter */
	size_t sel, top;
	int page;
	uint64_t sel_id;
	int have_sel;
	int hscroll; /* first shown column, as an index into order */

	/* the last layout, for clicks */
	struct rect r;
	int n_shown;
	int shown_col[TABLE_MAX_COLS], shown_x[TABLE_MAX_COLS], shown_w[TABLE_MAX_COLS];
	int more_right; /* shown columns did not fit */
	int alloc_failed;
};

void table_init(struct table *t, const struct table_col *cols, int ncols,
		const struct table_ops *ops, void *ctx, const char *noun);
void table_fini(struct table *t);
/* Default columns, sort (the first sortable shown column unless sort_col >= 0) and direction. */
void table_reset(struct table *t, int sort_col);

/* Reads the rows again: keep, filter, sort, then finds the selection's row. */
void table_rebuild(struct table *t);
/* Where everything goes in r (the header on its first line): scrolls the rows so that the
 * selection is visible and places the columns, flexible ones as wide as their visible cells.
 * table_draw calls it; tests call it without a terminal. */
void table_layout(struct table *t, const struct rect *r);
/* Header and visible rows in r. */
void table_draw(struct table *t, struct ui *ui, const struct rect *r);
/* What to say in r (below the header) when no row is shown; "" draws nothing. */
void table_draw_empty(struct table *t, struct ui *ui, const struct rect *r, const char *no_data);

/* Movement, sorting, reversing, horizontal scroll, follow, clicks, Esc clearing the filter;
 * returns reaction flags (R_IGNORED for keys it does not know). */
int table_on_key(struct table *t, struct ui *ui, enum ui_action act, int key);
int table_sort_by(struct table *t, int col);
int table_move_col(struct table *t, int col, int by);
int table_show_col(struct table *t, int col, int show);
int table_col_shown(const struct table *t, int col);
void table_set_filter(struct table *t, const char *text);

/* The selected row (an index into the pane's data); 0 when there is none. */
int table_selected(const struct table *t, size_t *row);
/* "filter 'x'  sort rx b/s v  12/340 flows" */
void table_info(const struct table *t, struct ui *ui, char *buf, size_t len);

/* Settings lines "PREFIX.columns=a,b,c", "PREFIX.sort=rx_bps", "PREFIX.sort_dir=desc",
 * "PREFIX.follow=0". */
void table_settings_write(const struct table *t, FILE *f, const char *prefix);
/* Applies one setting whose key starts with prefix; returns 1 applied, 0 not this table's key,
 * -1 with one sentence in err for a bad value. */
int table_settings_apply(struct table *t, const char *prefix, const char *key, const char *value,
			 char *err, size_t errlen);

/* 64-bit FNV-1a, for row ids. */
uint64_t table_hash(const void *p, size_t n, uint64_t h);
#define TABLE_HASH_INIT 0xcbf29ce484222325ULL

/* Overlays over a table: the column chooser and the sort menu; owner is the pane to rescan. */
struct pane *columns_pane__new(struct ui *ui, struct table *t, struct pane *owner);
struct pane *sort_menu__new(struct ui *ui, struct table *t, struct pane *owner);

#endif
