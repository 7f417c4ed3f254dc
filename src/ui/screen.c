/* The screen manager: takes snapshots, routes keys and clicks to the focused pane or the global
 * actions, keeps the overlay stack, and draws the pane between the bars. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/snapshot.h"
#include "ui/table.h"
#include "ui/term.h"

static struct ui *g_ui;

static const double intervals[] = { 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60 };

int pane_stale(struct pane *p, struct ui *ui)
{
	if (p->have_view && !p->rescan && p->gen == ui->snap_gen)
		return 0;
	p->have_view = 1;
	p->rescan = 0;
	p->gen = ui->snap_gen;
	return 1;
}

struct ui *ui__new(const struct ui_opts *opts, const struct ui_actions *act, char *err,
		   size_t errlen)
{
	struct ui *ui = calloc(1, sizeof(*ui));
	const char *spec;

	if (!ui) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ui->opts = *opts;
	if (act)
		ui->act = *act;
	ui->stats_asked = -1;
	ui->interval_s = opts->interval_s > 0 ? opts->interval_s : 1.0;
	if (opts->theme_dir)
		snprintf(ui->theme_dir, sizeof(ui->theme_dir), "%s", opts->theme_dir);
	else
		ui_default_theme_dir(ui->theme_dir, sizeof(ui->theme_dir));

	/* the theme is checked before the terminal changes, so a bad file leaves it untouched */
	spec = opts->theme ? opts->theme : opts->no_color ? "monochrome" : "default";
	if (ui_theme_load(ui, spec, &ui->theme, err, errlen)) {
		if (opts->theme || strcmp(spec, "default")) {
			free(ui);
			return NULL;
		}
		/* default.theme not installed: run monochrome rather than refuse to start */
		ui_theme_load(ui, "monochrome", &ui->theme, err, errlen);
	}

	if (term_open(&ui->utf8, err, errlen)) {
		free(ui);
		return NULL;
	}
	g_ui = ui;
	ui->live = 1;
	ui_colors_apply(ui);

	for (size_t i = 0; i < pane_table_len && ui->n_panes < UI_MAX_PANES; i++) {
		struct pane *p = pane_table[i].create(ui);

		if (p)
			ui->panes[ui->n_panes++] = p;
	}
	ui_settings_load(ui);
	ui->dirty = 1;
	return ui;
}

static void pop_overlay(struct ui *ui)
{
	struct pane *p;

	if (!ui->n_overlay)
		return;
	p = ui->overlay[--ui->n_overlay];
	if (ui->prompt.target == p)
		ui->prompt.kind = PROMPT_NONE;
	p->cls->destroy(p);
	ui->dirty = 1;
}

void ui__free(struct ui *ui)
{
	char err[PATH_MAX + 160];
	int saved;

	/* a second call (atexit after a normal exit) finds g_ui cleared and does nothing */
	if (!ui || ui != g_ui)
		return;
	g_ui = NULL;
	while (ui->n_overlay)
		pop_overlay(ui);
	saved = ui_settings_save(ui, err, sizeof(err));
	for (size_t i = 0; i < ui->n_panes; i++)
		ui->panes[i]->cls->destroy(ui->panes[i]);
	if (ui->live)
		term_close();
	/* the terminal is back: a plain line on stderr */
	if (saved)
		fprintf(stderr, "pktlens: settings not saved: %s\n", err);
	snapshot_put(ui->snap);
	free(ui);
}

static void status_v(struct ui *ui, int is_err, const char *fmt, va_list ap)
{
	vsnprintf(ui->status, sizeof(ui->status), fmt, ap);
	ui->status_err = is_err;
	ui->status_until = ui_now() + (is_err ? 10 : 5);
	ui->dirty = 1;
}

void ui_status(struct ui *ui, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_v(ui, 0, fmt, ap);
	va_end(ap);
}

void ui_status_err(struct ui *ui, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_v(ui, 1, fmt, ap);
	va_end(ap);
}

void ui_update(struct ui *ui, struct snapshot *snap)
{
	/* paused: the screen shows the old data; the engine keeps counting */
	if (ui->paused || !snap)
		return;
	snapshot_get(snap);
	snapshot_put(ui->snap);
	ui->snap = snap;
	ui->snap_gen++;
	ui->dirty = 1;
}

void ui_replay_state(struct ui *ui, const char *text)
{
	snprintf(ui->replay, sizeof(ui->replay), "%s", text ? text : "");
	ui->dirty = 1;
}

void ui_resize(struct ui *ui)
{
	if (!ui->live)
		return;
	term_check_size();
	ui->dirty = 1;
}

void ui_push_overlay(struct ui *ui, struct pane *p)
{
	if (!p)
		return;
	if (ui->n_overlay == UI_MAX_OVERLAYS) {
		p->cls->destroy(p);
		return;
	}
	ui->overlay[ui->n_overlay++] = p;
	ui->dirty = 1;
}

struct pane *ui_top_pane(struct ui *ui)
{
	if (ui->n_overlay)
		return ui->overlay[ui->n_overlay - 1];
	return ui->n_panes ? ui->panes[ui->cur] : NULL;
}

/* ---- keys and mouse ---- */

static void switch_pane(struct ui *ui, size_t i)
{
	if (i >= ui->n_panes)
		return;
	while (ui->n_overlay)
		pop_overlay(ui);
	ui->cur = i;
	ui->dirty = 1;
}

static void change_interval(struct ui *ui, int dir)
{
	size_t n = sizeof(intervals) / sizeof(intervals[0]), i;
	double v = ui->interval_s;

	if (dir > 0) {
		for (i = 0; i < n && intervals[i] <= v + 1e-9; i++)
			;
		v = i < n ? intervals[i] : intervals[n - 1];
	} else {
		for (i = n; i > 0 && intervals[i - 1] >= v - 1e-9; i--)
			;
		v = i > 0 ? intervals[i - 1] : intervals[0];
	}
	ui_apply_interval(ui, v);
	ui->interval_setting = v;
	ui_status(ui, "refresh every %gs", v);
}

static int global_action(struct ui *ui, const struct key_binding *kb)
{
	struct pane *top = ui_top_pane(ui);
	struct table *t;

	switch (kb->act) {
	case ACT_QUIT:
		return 1;
	case ACT_HELP:
		ui_push_overlay(ui, pane_help_entry.create(ui));
		break;
	case ACT_PANE:
		switch_pane(ui, (size_t)kb->arg - 1);
		break;
	case ACT_PANE_NEXT:
		switch_pane(ui, (ui->cur + 1) % ui->n_panes);
		break;
	case ACT_PANE_PREV:
		switch_pane(ui, (ui->cur + ui->n_panes - 1) % ui->n_panes);
		break;
	case ACT_SEARCH:
	case ACT_FILTER:
		t = top && top->cls->table ? top->cls->table(top) : NULL;
		if (!t) {
			ui_status_err(ui, "this view has no filter");
			break;
		}
		if (kb->act == ACT_SEARCH)
			ui_prompt_open(ui, PROMPT_SEARCH, "search: ", "", top);
		else
			ui_prompt_open(ui, PROMPT_FILTER, "filter: ", t->filter, top);
		break;
	case ACT_PAUSE:
		ui->paused = !ui->paused;
		ui_status(ui,
			  ui->paused ? "paused: display frozen, counting continues" : "resumed");
		break;
	case ACT_SLOWER:
		change_interval(ui, 1);
		break;
	case ACT_FASTER:
		change_interval(ui, -1);
		break;
	case ACT_THEME:
		ui_theme_cycle(ui);
		break;
	case ACT_REDRAW:
		clearok(curscr, TRUE);
		break;
	case ACT_BACK:
		pop_overlay(ui);
		break;
	default:
		break;
	}
	ui->dirty = 1;
	return 0;
}

/* Hands one event to the top pane and carries out its answer; returns the reaction. */
static int send_to_pane(struct ui *ui, enum ui_action act, int key)
{
	struct pane *top = ui_top_pane(ui);
	int r;

	if (!top)
		return R_IGNORED;
	r = top->cls->on_key(top, ui, act, key);
	if (r & R_RESCAN)
		top->rescan = 1;
	if (r & (R_REDRAW | R_RESCAN))
		ui->dirty = 1;
	if (r & R_CLOSE)
		pop_overlay(ui);
	return r;
}

static int dispatch(struct ui *ui, const struct key_binding *kb, int ch)
{
	if (send_to_pane(ui, kb ? kb->act : ACT_NONE, ch) & (R_HANDLED | R_CLOSE))
		return 0;
	if (!kb)
		return 0;
	return global_action(ui, kb);
}

static void handle_mouse(struct ui *ui)
{
	MEVENT ev;
	struct pane *top = ui_top_pane(ui);

	if (getmouse(&ev) != OK)
		return;
	if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
		for (int i = 0; i < 3; i++)
			send_to_pane(ui, ev.bstate & BUTTON4_PRESSED ? ACT_UP : ACT_DOWN, 0);
		ui->dirty = 1;
		return;
	}
	if (!(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)))
		return;
	if (ev.y == 1) {
		for (size_t i = 0; i < ui->n_panes; i++)
			if (ev.x >= ui->tab_x[i][0] && ev.x < ui->tab_x[i][1])
				switch_pane(ui, i);
		return;
	}
	if (top && ev.y >= top->r.y && ev.y < top->r.y + top->r.h) {
		send_to_pane(ui, ACT_CLICK, UI_CLICK_KEY(ev.y, ev.x));
		ui->dirty = 1;
	}
}

int ui_handle_input(struct ui *ui)
{
	struct pane *top;
	int ch;

	if (!ui->live)
		return 0;
	while ((ch = getch()) != ERR) {
		if (ch == KEY_RESIZE) {
			ui->dirty = 1;
			continue;
		}
		if (ch == KEY_MOUSE) {
			handle_mouse(ui);
			continue;
		}
		if (ui->prompt.kind != PROMPT_NONE) {
			ui_prompt_key(ui, ch);
			continue;
		}
		/* a recording's player keys come before any pane's */
		if (ui->act.replay) {
			static const struct keymap *const replay_maps[] = { &keys_replay, NULL };
			const struct key_binding *rb = keys_find(replay_maps, ch);
			if (rb && (rb->act == ACT_PAUSE ||
				   (rb->act >= ACT_REPLAY_BACK && rb->act <= ACT_REPLAY_FASTER))) {
				ui->act.replay(ui->act.ctx, rb->arg);
				ui->dirty = 1;
				continue;
			}
		}
		top = ui_top_pane(ui);
		if (dispatch(ui, keys_find(top ? top->cls->keys : NULL, ch), ch))
			return 1;
	}
	return 0;
}

/* ---- drawing ---- */

/* BPF run-time statistics cost every program on the host: asked for only while Probes shows. */
static void ask_bpf_stats(struct ui *ui)
{
	const struct pane *p = ui->n_panes ? ui->panes[ui->cur] : NULL;
	int want = p && p->cls->id && !strcmp(p->cls->id, "probes");
	if (want == ui->stats_asked || !ui->act.bpf_stats)
		return;
	ui->stats_asked = want;
	if (ui->act.bpf_stats(ui->act.ctx, want) && want)
		ui_status_err(ui, "BPF run-time statistics could not be turned on: RUNS and COST "
				  "stay still");
}

void ui_render(struct ui *ui)
{
	struct pane *top;
	struct rect r;

	if (!ui->live)
		return;
	ask_bpf_stats(ui);
	if (term_check_size())
		ui->dirty = 1;
	top = ui_top_pane(ui);
	if (!ui->dirty && !(top && top->cls->live) &&
	    !(ui->status_shown && ui_now() >= ui->status_until))
		return;
	attrset(ui_attr(ui, ROLE_NORMAL));
	erase();
	if (LINES < UI_MIN_ROWS || COLS < UI_MIN_COLS) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%dx%d, need %dx%d", COLS, LINES, UI_MIN_COLS,
			 UI_MIN_ROWS);
		mvaddnstr(LINES / 2 - 1, 0, "terminal too small", COLS);
		mvaddnstr(LINES / 2, 0, msg, COLS);
		curs_set(0);
		refresh();
		ui->dirty = 0;
		return;
	}
	r = (struct rect){ .y = 2, .x = 0, .h = LINES - 4, .w = COLS };
	if (top) {
		top->r = r;
		top->cls->display(top, ui, &r);
	}
	/* the bars last: the prompt leaves the cursor where typing goes */
	ui_draw_bars(ui);
	refresh();
	ui->dirty = 0;
}
