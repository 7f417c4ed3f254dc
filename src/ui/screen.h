/* Inside the UI: the screen manager's state, the pane object model, and the services panes use. */
#ifndef PKTLENS_UI_SCREEN_H
#define PKTLENS_UI_SCREEN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ui/curses.h"
#include "ui/draw.h"
#include "ui/keys.h"
#include "ui/theme.h"
#include "ui/ui.h"

#define UI_MIN_COLS 40
#define UI_MIN_ROWS 10
#define UI_MAX_PANES 10 /* keys 1-9 and 0 */
#define UI_MAX_OVERLAYS 4

/*
 * What a pane's on_key answers, as in htop; each flag asks the screen for one thing:
 * R_HANDLED  the key was the pane's: no global action runs for it;
 * R_REDRAW   draw the screen again;
 * R_RESCAN   the pane's view of the snapshot (filter, sort, grouping) changed: rebuild it, then draw;
 * R_CLOSE    an overlay is done: pop and destroy it.
 */
enum reaction {
	R_IGNORED = 0,
	R_HANDLED = 1 << 0,
	R_REDRAW = 1 << 1,
	R_RESCAN = 1 << 2,
	R_CLOSE = 1 << 3,
};

struct rect {
	int y, x, h, w;
};

struct pane;
struct table;

/*
 * Mouse clicks reach a pane as ACT_CLICK through on_key, with the screen position packed into
 * the key, so one handler sees every input (htop turns clicks into synthetic key events too).
 */
#define UI_CLICK_KEY(y, x) ((int)(((unsigned)(y) << 12) | ((unsigned)(x)&0xfff)))
#define UI_CLICK_Y(k) ((int)((unsigned)(k) >> 12))
#define UI_CLICK_X(k) ((int)((unsigned)(k)&0xfff))

enum prompt_kind {
	PROMPT_NONE = 0,
	PROMPT_SEARCH,	/* incremental: the list filters as you type */
	PROMPT_FILTER,	/* on Enter: the pane's prompt hook, else the list's text filter */
	PROMPT_ADD,	/* a probe spec, Tab completes */
	PROMPT_CONFIRM, /* a question: y goes on (the pane's prompt hook), any other key does not */
	PROMPT_RULE,	/* a firewall rule ("deny CIDR", "limit CIDR:PPS"), added on Enter */
	PROMPT_RULE_FORCE, /* the rule covers this SSH session's peer: y adds it anyway */
};

/* A pane "class": one static instance per kind of pane; objects embed struct pane first. */
struct pane_class {
	const char *name; /* tab title */
	/* the pane's keymaps, searched before the global one; NULL-terminated; the footer and
	 * the help screen are made from them */
	const struct keymap *const *keys;
	int live; /* shows data that changes between snapshots: redraw on every render */
	void (*display)(struct pane *p, struct ui *ui, const struct rect *r);
	int (*on_key)(struct pane *p, struct ui *ui, enum ui_action act, int key);
	/* optional: the list that the search and filter prompts and the list keys act on now */
	struct table *(*table)(struct pane *p);
	/* optional: a PROMPT_FILTER text on Enter, a PROMPT_CONFIRM answered yes; 1 taken, 0 not
	 * this pane's (a filter goes to the list), -1 with one sentence in err keeps the prompt
	 * open and shows it */
	int (*prompt)(struct pane *p, struct ui *ui, enum prompt_kind kind, const char *text,
		      char *err, size_t errlen);
	/* saved settings: keys "ID.something"; without save/load, the table's settings */
	const char *id;
	void (*save)(struct pane *p, FILE *f);
	/* 1 applied, 0 not this pane's key, -1 with one sentence in err for a bad value */
	int (*load)(struct pane *p, const char *key, const char *value, char *err, size_t errlen);
	/* optional: one line for the tab row's right side ("sort rx bps v  12/340 flows") */
	void (*info)(struct pane *p, struct ui *ui, char *buf, size_t len);
	void (*destroy)(struct pane *p);
};

struct pane {
	const struct pane_class *cls;
	struct rect r; /* where it was drawn last, for mouse clicks */
	unsigned gen;  /* the snapshot its view was built from */
	int rescan;    /* R_RESCAN was answered: rebuild the view before the next draw */
	int have_view; /* a view was built at least once */
};

/* True (once) when the pane must rebuild its view: a new snapshot, or R_RESCAN. */
int pane_stale(struct pane *p, struct ui *ui);

/* The pane table: adding a pane is one file with a constructor plus one line in panes.c. */
struct pane_entry {
	struct pane *(*create)(struct ui *ui);
};
extern const struct pane_entry pane_table[];
extern const size_t pane_table_len;
/* The help overlay, reached through this entry so the screen does not know the pane. */
extern const struct pane_entry pane_help_entry;

/* Keys of a text overlay scrolled to its line *top, of n lines, page of them visible:
 * arrows, pages, Home/End. Returns R_HANDLED|R_REDRAW, or R_IGNORED for other keys. */
int scroll_key(size_t *top, size_t n, int page, enum ui_action act);
/* Keys of a newest-first overlay list scrolled back by *back rows (at most max):
 * Esc closes, arrows/pages/Home/End scroll. Returns reaction flags. */
int scrollback_key(size_t *back, size_t max, enum ui_action act);

struct prompt {
	enum prompt_kind kind;
	char label[160];
	char buf[256];
	size_t len;
	char saved[256]; /* the filter before a search, restored by Esc */
	struct pane *target;
	char cands[256]; /* completion candidates shown above the prompt */
	int cands_err;	 /* cands holds why the text was not taken */
};

struct ui {
	struct ui_opts opts;
	struct ui_actions act;
	int stats_asked; /* what was last asked of act.bpf_stats: -1 nothing yet */
	char theme_dir[PATH_MAX];
	struct theme theme;
	attr_t attr[ROLE_MAX];
	short pair[ROLE_MAX];
	int utf8;
	int color_init, color_ok, default_ok;
	int live; /* curses owns the terminal */

	struct snapshot *snap;
	unsigned snap_gen; /* bumps on every new snapshot so panes know to rebuild their views */
	int paused;
	double interval_s;
	char replay[96]; /* --replay: the player's position, "" on a live run */

	struct pane *panes[UI_MAX_PANES];
	size_t n_panes, cur;
	struct pane *overlay[UI_MAX_OVERLAYS];
	size_t n_overlay;
	int tab_x[UI_MAX_PANES][2]; /* tab columns, for clicks */

	/* saved settings (settings.c) */
	char config_path[PATH_MAX];
	int config_bad;		      /* the file did not load: kept as .bad when written */
	char theme_setting[PATH_MAX]; /* what to save: chosen with t or loaded, not --theme */
	double interval_setting;      /* likewise for +/- (0: none) */

	struct prompt prompt;
	char status[256];
	int status_err, status_shown;
	double status_until;
	int dirty;
};

/* Screen manager services (screen.c). */
void ui_push_overlay(struct ui *ui, struct pane *p);
struct pane *ui_top_pane(struct ui *ui);
double ui_now(void); /* CLOCK_MONOTONIC seconds */

/* The prompt (prompt.c): on Enter/Esc it calls back the target pane or the action. */
void ui_prompt_open(struct ui *ui, enum prompt_kind kind, const char *label, const char *init,
		    struct pane *target);
void ui_prompt_key(struct ui *ui, int ch);
void ui_prompt_draw(struct ui *ui, int y);
/* Opens the rule prompt with "deny ADDR/32" (or /128) for the remote address of a flow, a group
 * or an alert; the operator may widen it to a prefix or make it a limit. */
void ui_block_prompt(struct ui *ui, uint8_t family, const uint8_t *addr);

/* Colours (colors.c). */
void ui_default_theme_dir(char *out, size_t len);
/* Loads NAME|PATH into t; the built-in monochrome stands in when its file is not installed. */
int ui_theme_load(struct ui *ui, const char *spec, struct theme *t, char *err, size_t errlen);
void ui_colors_apply(struct ui *ui);
void ui_theme_cycle(struct ui *ui);

/* Saved settings (settings.c): applied once the panes exist, written on quit. */
void ui_settings_load(struct ui *ui);
/* Returns 0, or -1 with one sentence in err. */
int ui_settings_save(struct ui *ui, char *err, size_t errlen);
void ui_apply_interval(struct ui *ui, double v);

/* The bars around the pane (bars.c). */
void ui_draw_bars(struct ui *ui);

#endif
