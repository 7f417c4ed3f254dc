/* The screen manager: owns the terminal, draws the bars and the focused pane, routes keys through the key table. */
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "core/snapshot.h"
#include "ui/format.h"
#include "ui/screen.h"

#define KEY_CTRL(c) ((c)&0x1f)

/*
 * Emergency restore runs from signal handlers and atexit, where curses may be
 * half way through a write: so it only writes a byte string prepared at start
 * and restores the saved termios, both async-signal-safe.
 */
static volatile sig_atomic_t g_term_live;
static char g_restore[256];
static size_t g_restore_len;
static struct termios g_tio;
static int g_tio_fd = -1;
static struct ui *g_ui;
static SCREEN *g_screen;

static const double intervals[] = { 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60 };

/* Built in so that NO_COLOR and a missing themes/ directory still give a usable screen. */
static const char builtin_mono[] = "normal = default,default\n"
				   "top_bar = default,default,reverse\n"
				   "top_label = default,default,reverse\n"
				   "top_value = default,default,reverse|bold\n"
				   "paused = default,default,bold|blink\n"
				   "tab_active = default,default,reverse|bold\n"
				   "header = default,default,underline\n"
				   "header_sorted = default,default,underline|bold\n"
				   "selected = default,default,reverse\n"
				   "dim = default,default,dim\n"
				   "warn = default,default,bold\n"
				   "error = default,default,bold|reverse\n"
				   "prompt = default,default,bold\n"
				   "key = default,default,reverse|bold\n"
				   "title = default,default,bold\n";

double ui_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void ui_emergency_restore(void)
{
	if (!g_term_live)
		return;
	g_term_live = 0;
	if (g_restore_len) {
		ssize_t r = write(STDOUT_FILENO, g_restore, g_restore_len);
		(void)r;
	}
	if (g_tio_fd >= 0)
		tcsetattr(g_tio_fd, TCSANOW, &g_tio);
}

static void restore_add(const char *cap)
{
	const char *s = tigetstr((char *)cap);
	size_t l;

	if (!s || s == (char *)-1)
		return;
	l = strlen(s);
	if (g_restore_len + l >= sizeof(g_restore))
		return;
	memcpy(g_restore + g_restore_len, s, l);
	g_restore_len += l;
}

static void restore_prepare(void)
{
	/* xterm mouse reporting off: harmless on terminals that never turned it on */
	static const char mouse_off[] = "\033[?1000l\033[?1002l\033[?1003l\033[?1006l";

	g_restore_len = 0;
	memcpy(g_restore, mouse_off, sizeof(mouse_off) - 1);
	g_restore_len = sizeof(mouse_off) - 1;
	restore_add("sgr0");
	restore_add("cnorm");
	restore_add("rmkx");
	restore_add("rmcup");
}

static int try_dir(const char *dir, const char *rel, char *out, size_t len)
{
	size_t a = strlen(dir), b = strlen(rel);

	if (a + b + 1 > len)
		return 0;
	memcpy(out, dir, a);
	memcpy(out + a, rel, b + 1);
	return !access(out, R_OK);
}

static void default_theme_dir(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	/* build/pktlens -> build/../themes; tests in build/tests -> ../../themes */
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (try_dir(exe, "/../themes", out, len) ||
			    try_dir(exe, "/../../themes", out, len))
				return;
		}
	}
	snprintf(out, len, "themes");
}

static short map_color(struct ui *ui, int c, int fg, attr_t *extra)
{
	if (c < 0)
		return ui->default_ok ? -1 : fg ? COLOR_WHITE : COLOR_BLACK;
	if (c >= COLORS) {
		/* bright colours on an 8-colour terminal: the base colour, bold for foregrounds */
		if (c < 16 && c - 8 < COLORS) {
			if (fg)
				*extra |= A_BOLD;
			return (short)(c - 8);
		}
		return ui->default_ok ? -1 : fg ? COLOR_WHITE : COLOR_BLACK;
	}
	return (short)c;
}

static void theme_apply(struct ui *ui)
{
	int color = 0;
	static const struct {
		uint16_t ta;
		attr_t a;
	} amap[] = {
		{ TA_BOLD, A_BOLD },	       { TA_DIM, A_DIM },
		{ TA_UNDERLINE, A_UNDERLINE }, { TA_REVERSE, A_REVERSE },
		{ TA_STANDOUT, A_STANDOUT },   { TA_ITALIC, A_ITALIC },
		{ TA_BLINK, A_BLINK },
	};

	/* once per terminal; COLOR_PAIRS is only known after start_color() */
	if (!ui->color_init) {
		ui->color_init = 1;
		if (has_colors() && start_color() == OK) {
			ui->color_ok = COLOR_PAIRS > ROLE_MAX;
			ui->default_ok = use_default_colors() == OK;
		}
	}
	color = ui->color_ok;
	for (int i = 0; i < ROLE_MAX; i++) {
		const struct theme_style *st = &ui->theme.style[i];
		attr_t a = 0;

		for (size_t k = 0; k < sizeof(amap) / sizeof(amap[0]); k++)
			if (st->attrs & amap[k].ta)
				a |= amap[k].a;
		if (color) {
			short fg = map_color(ui, st->fg, 1, &a);
			short bg = map_color(ui, st->bg, 0, &a);

			init_pair((short)(i + 1), fg, bg);
			a |= COLOR_PAIR(i + 1);
		}
		ui->attr[i] = a;
	}
	bkgdset(' ' | ui->attr[ROLE_NORMAL]);
}

/* Loads NAME|PATH into t; the built-in monochrome stands in when its file is not installed. */
static int theme_load(struct ui *ui, const char *spec, struct theme *t, char *err, size_t errlen)
{
	char path[PATH_MAX];

	theme_resolve(spec, ui->theme_dir, path, sizeof(path));
	if (!strcmp(spec, "monochrome") && access(path, R_OK)) {
		snprintf(t->name, sizeof(t->name), "monochrome");
		t->path[0] = '\0';
		return theme_parse_buf(t, builtin_mono, "builtin", err, errlen);
	}
	if (!strchr(spec, '/') && access(path, R_OK)) {
		snprintf(err, errlen, "no theme named '%s' (looked for %s)", spec, path);
		return -ENOENT;
	}
	return theme_load_file(t, path, err, errlen);
}

static void atexit_restore(void)
{
	ui_emergency_restore();
}

struct ui *ui__new(const struct ui_opts *opts, const struct ui_actions *act, char *err,
		   size_t errlen)
{
	static int atexit_done;
	struct ui *ui = calloc(1, sizeof(*ui));
	const char *spec;

	if (!ui) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ui->opts = *opts;
	if (act)
		ui->act = *act;
	ui->interval_s = opts->interval_s > 0 ? opts->interval_s : 1.0;
	if (opts->theme_dir)
		snprintf(ui->theme_dir, sizeof(ui->theme_dir), "%s", opts->theme_dir);
	else
		default_theme_dir(ui->theme_dir, sizeof(ui->theme_dir));

	/* the theme is checked before the terminal changes, so a bad file leaves it untouched */
	spec = opts->theme ? opts->theme : opts->no_color ? "monochrome" : "default";
	if (theme_load(ui, spec, &ui->theme, err, errlen)) {
		if (opts->theme || strcmp(spec, "default")) {
			free(ui);
			return NULL;
		}
		/* default.theme not installed: run monochrome rather than refuse to start */
		theme_load(ui, "monochrome", &ui->theme, err, errlen);
	}

	setlocale(LC_CTYPE, "");
	ui->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");

	g_tio_fd = isatty(STDOUT_FILENO) ? STDOUT_FILENO : STDIN_FILENO;
	if (tcgetattr(g_tio_fd, &g_tio))
		g_tio_fd = -1;
	g_screen = newterm(NULL, stdout, stdin);
	if (!g_screen) {
		const char *term = getenv("TERM");

		snprintf(err, errlen, "cannot use the terminal (TERM=%s); try --json",
			 term ? term : "unset");
		free(ui);
		return NULL;
	}
	restore_prepare();
	g_ui = ui;
	ui->live = 1;
	g_term_live = 1;
	if (!atexit_done) {
		atexit(atexit_restore);
		atexit_done = 1;
	}

	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	theme_apply(ui);

	for (size_t i = 0; i < pane_table_len && ui->n_panes < UI_MAX_PANES; i++) {
		struct pane *p = pane_table[i].create(ui);

		if (p)
			ui->panes[ui->n_panes++] = p;
	}
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
	/* a second call (atexit after a normal exit) finds g_ui cleared and does nothing */
	if (!ui || ui != g_ui)
		return;
	g_ui = NULL;
	while (ui->n_overlay)
		pop_overlay(ui);
	for (size_t i = 0; i < ui->n_panes; i++)
		ui->panes[i]->cls->destroy(ui->panes[i]);
	if (ui->live) {
		g_term_live = 0;
		mousemask(0, NULL);
		endwin();
		delscreen(g_screen);
		g_screen = NULL;
		/* endwin leaves mouse reporting to the terminal's mercy; turn it off explicitly */
		fputs("\033[?1000l\033[?1006l", stdout);
		fflush(stdout);
	}
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

static void check_size(struct ui *ui)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col &&
	    (ws.ws_row != LINES || ws.ws_col != COLS)) {
		resizeterm(ws.ws_row, ws.ws_col);
		ui->dirty = 1;
	}
}

void ui_resize(struct ui *ui)
{
	if (!ui->live)
		return;
	check_size(ui);
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

static struct pane *top_pane(struct ui *ui)
{
	if (ui->n_overlay)
		return ui->overlay[ui->n_overlay - 1];
	return ui->n_panes ? ui->panes[ui->cur] : NULL;
}

attr_t ui_attr(struct ui *ui, enum role r)
{
	return ui->attr[(unsigned)r < ROLE_MAX ? r : ROLE_NORMAL];
}

/* Converts to wide characters clipped to w cells; returns characters and sets *cells. */
static size_t clip_wide(const char *s, int w, wchar_t *wb, size_t cap, int *cells)
{
	mbstate_t st = { 0 };
	const char *p = s;
	size_t n = mbsrtowcs(wb, &p, cap - 1, &st), k;
	int used = 0;

	if (n == (size_t)-1) {
		/* invalid multibyte text: show bytes as ASCII, never as raw terminal input */
		for (n = 0; s[n] && n < cap - 1; n++)
			wb[n] = (s[n] > 0x1f && s[n] < 0x7f) ? (wchar_t)s[n] : L'?';
	}
	wb[n] = L'\0';
	for (k = 0; k < n; k++) {
		int cw = wcwidth(wb[k]);

		if (cw < 0) {
			wb[k] = L'?';
			cw = 1;
		}
		if (used + cw > w)
			break;
		used += cw;
	}
	*cells = used;
	return k;
}

static void put_common(struct ui *ui, int y, int x, int w, enum role r, const char *s, int right)
{
	wchar_t wb[512];
	int cells;
	size_t k;

	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return;
	if (x + w > COLS)
		w = COLS - x;
	k = clip_wide(s ? s : "", w, wb, sizeof(wb) / sizeof(wb[0]), &cells);
	attrset(ui_attr(ui, r));
	if (right) {
		mvhline(y, x, ' ', w - cells);
		mvaddnwstr(y, x + w - cells, wb, (int)k);
	} else {
		mvaddnwstr(y, x, wb, (int)k);
		if (cells < w)
			mvhline(y, x + cells, ' ', w - cells);
	}
}

void ui_put(struct ui *ui, int y, int x, int w, enum role r, const char *s)
{
	put_common(ui, y, x, w, r, s, 0);
}

void ui_put_right(struct ui *ui, int y, int x, int w, enum role r, const char *s)
{
	put_common(ui, y, x, w, r, s, 1);
}

void ui_put_spark(struct ui *ui, int y, int x, int w, enum role r, const float *v, size_t n)
{
	char buf[3 * 256 + 1];

	if (w > 256)
		w = 256;
	sparkline(v, n, (size_t)(w > 0 ? w : 0), ui->utf8, buf, sizeof(buf));
	ui_put(ui, y, x, w, r, buf);
}

/* ---- prompt ---- */

void ui_prompt_open(struct ui *ui, enum prompt_kind kind, const char *label, const char *init,
		    struct pane *target)
{
	struct prompt *pr = &ui->prompt;
	const char *cur = target && target->cls->get_filter ? target->cls->get_filter(target) : "";

	pr->kind = kind;
	pr->target = target;
	snprintf(pr->label, sizeof(pr->label), "%s", label);
	snprintf(pr->buf, sizeof(pr->buf), "%s", init ? init : "");
	pr->len = strlen(pr->buf);
	snprintf(pr->saved, sizeof(pr->saved), "%s", cur ? cur : "");
	pr->cands[0] = '\0';
	ui->dirty = 1;
}

static void prompt_apply_filter(struct ui *ui, const char *text)
{
	struct pane *t = ui->prompt.target;

	if (t && t->cls->set_filter)
		t->cls->set_filter(t, ui, text);
}

/* Replaces the tail of buf that a candidate continues; "" when it continues nothing. */
static int cand_full(const char *buf, const char *c, char *out, size_t len)
{
	size_t bl = strlen(buf);

	/* engines may answer with whole specs or with the part after a ':' */
	if (!strncmp(c, buf, bl)) {
		snprintf(out, len, "%s", c);
		return 1;
	}
	for (size_t i = bl; i > 0; i--) {
		if (buf[i - 1] != ':')
			continue;
		if (!strncmp(c, buf + i, bl - i)) {
			snprintf(out, len, "%.*s%s", (int)i, buf, c);
			return 1;
		}
	}
	return 0;
}

static void prompt_complete(struct ui *ui)
{
	struct prompt *pr = &ui->prompt;
	char cands[32][64], full[32][256];
	size_t n = 0, nf = 0, o = 0;

	if (!strchr(pr->buf, ':')) {
		/* the kind part is ours to know; the engine knows interfaces and tracepoints */
		for (int k = 0; k < PK_MAX && n < 32; k++)
			snprintf(cands[n++], 64, "%s:", probe_kind_name(k));
	} else if (ui->act.complete) {
		n = ui->act.complete(ui->act.ctx, pr->buf, cands, 32);
	}
	for (size_t i = 0; i < n && nf < 32; i++)
		if (cand_full(pr->buf, cands[i], full[nf], sizeof(full[nf])))
			nf++;
	pr->cands[0] = '\0';
	if (!nf) {
		snprintf(pr->cands, sizeof(pr->cands), "(no completions)");
		return;
	}
	if (nf == 1) {
		snprintf(pr->buf, sizeof(pr->buf), "%s", full[0]);
	} else {
		size_t common = strlen(full[0]);

		for (size_t i = 1; i < nf; i++) {
			size_t j = 0;

			while (j < common && full[i][j] == full[0][j])
				j++;
			common = j;
		}
		if (common > strlen(pr->buf))
			snprintf(pr->buf, sizeof(pr->buf), "%.*s", (int)common, full[0]);
		for (size_t i = 0; i < nf && o + 1 < sizeof(pr->cands); i++)
			o += snprintf(pr->cands + o, sizeof(pr->cands) - o, "%s%s", i ? "  " : "",
				      full[i]);
	}
	pr->len = strlen(pr->buf);
}

static void prompt_done(struct ui *ui, int ok)
{
	struct prompt *pr = &ui->prompt;
	char err[256] = "";
	enum prompt_kind kind = pr->kind;

	pr->kind = PROMPT_NONE;
	ui->dirty = 1;
	switch (kind) {
	case PROMPT_SEARCH:
		if (!ok)
			prompt_apply_filter(ui, pr->saved);
		break;
	case PROMPT_FILTER:
		if (ok)
			prompt_apply_filter(ui, pr->buf);
		break;
	case PROMPT_ADD:
		if (!ok || !pr->buf[0])
			break;
		if (!ui->act.probe_add) {
			ui_status_err(ui, "adding probes is not available here");
			break;
		}
		if (ui->act.probe_add(ui->act.ctx, pr->buf, err, sizeof(err)))
			ui_status_err(ui, "%s: %s", pr->buf, err[0] ? err : "failed");
		else
			ui_status(ui, "added %s", pr->buf);
		break;
	default:
		break;
	}
}

static void prompt_key(struct ui *ui, int ch)
{
	struct prompt *pr = &ui->prompt;
	int changed = 0;

	ui->dirty = 1;
	switch (ch) {
	case 27:
		prompt_done(ui, 0);
		return;
	case '\n':
	case '\r':
	case KEY_ENTER:
		prompt_done(ui, 1);
		return;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (pr->len) {
			pr->buf[--pr->len] = '\0';
			changed = 1;
		}
		break;
	case KEY_CTRL('u'):
		pr->len = 0;
		pr->buf[0] = '\0';
		changed = 1;
		break;
	case KEY_CTRL('w'):
		while (pr->len && pr->buf[pr->len - 1] == ' ')
			pr->len--;
		while (pr->len && pr->buf[pr->len - 1] != ' ' && pr->buf[pr->len - 1] != ':')
			pr->len--;
		pr->buf[pr->len] = '\0';
		changed = 1;
		break;
	case '\t':
		if (pr->kind == PROMPT_ADD)
			prompt_complete(ui);
		return;
	default:
		if (ch >= 0x20 && ch < 0x7f && pr->len + 1 < sizeof(pr->buf)) {
			pr->buf[pr->len++] = (char)ch;
			pr->buf[pr->len] = '\0';
			changed = 1;
		}
		break;
	}
	if (changed && pr->kind == PROMPT_SEARCH)
		prompt_apply_filter(ui, pr->buf);
	if (changed)
		pr->cands[0] = '\0';
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

static void cycle_theme(struct ui *ui)
{
	char names[32][64], err[PATH_MAX + 128];
	size_t n = theme_list(ui->theme_dir, names, 32), next = 0;
	struct theme t;

	if (!n) {
		ui_status_err(ui, "no themes in %s", ui->theme_dir);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], ui->theme.name))
			next = (i + 1) % n;
	if (theme_load(ui, names[next], &t, err, sizeof(err))) {
		ui_status_err(ui, "%s", err);
		return;
	}
	ui->theme = t;
	theme_apply(ui);
	clearok(curscr, TRUE);
	ui_status(ui, "theme %s", t.name);
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
	ui->interval_s = v;
	if (ui->act.set_interval)
		ui->act.set_interval(ui->act.ctx, v);
	ui_status(ui, "refresh every %gs", v);
}

static int global_action(struct ui *ui, const struct key_binding *kb)
{
	struct pane *top = top_pane(ui);

	switch (kb->act) {
	case ACT_QUIT:
		return 1;
	case ACT_HELP:
		ui_push_overlay(ui, help_pane__new(ui));
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
		if (!top || !top->cls->set_filter) {
			ui_status_err(ui, "this view has no filter");
			break;
		}
		if (kb->act == ACT_SEARCH)
			ui_prompt_open(ui, PROMPT_SEARCH, "search: ", "", top);
		else
			ui_prompt_open(ui, PROMPT_FILTER, "filter: ",
				       top->cls->get_filter ? top->cls->get_filter(top) : "", top);
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
		cycle_theme(ui);
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

static int dispatch(struct ui *ui, const struct key_binding *kb, int ch)
{
	struct pane *top = top_pane(ui);
	enum ui_action act = kb ? kb->act : ACT_NONE;

	if (top) {
		int r = top->cls->on_key(top, ui, act, ch);

		if (r & (R_REDRAW | R_RESCAN))
			ui->dirty = 1;
		if (r & R_CLOSE)
			pop_overlay(ui);
		if (r & (R_HANDLED | R_CLOSE))
			return 0;
	}
	if (!kb)
		return 0;
	return global_action(ui, kb);
}

static void handle_mouse(struct ui *ui)
{
	MEVENT ev;
	struct pane *top = top_pane(ui);

	if (getmouse(&ev) != OK)
		return;
	if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
		if (top)
			for (int i = 0; i < 3; i++)
				top->cls->on_key(
				    top, ui, ev.bstate & BUTTON4_PRESSED ? ACT_UP : ACT_DOWN, 0);
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
	if (top && top->cls->on_click && ev.y >= top->r.y && ev.y < top->r.y + top->r.h) {
		top->cls->on_click(top, ui, ev.y, ev.x);
		ui->dirty = 1;
	}
}

int ui_handle_input(struct ui *ui)
{
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
			prompt_key(ui, ch);
			continue;
		}
		if (dispatch(ui, keys_lookup(ch), ch))
			return 1;
	}
	return 0;
}

/* ---- drawing ---- */

static int bar_text(struct ui *ui, int y, int x, enum role r, const char *s)
{
	int w = (int)strlen(s);

	if (x >= COLS)
		return x;
	if (x + w > COLS)
		w = COLS - x;
	ui_put(ui, y, x, w, r, s);
	return x + w;
}

static void draw_top(struct ui *ui)
{
	const struct snapshot *s = ui->snap;
	char buf[128], a[16], b[16], host[64], ifs[64], ns[64];
	int x = 0;

	ui_put(ui, 0, 0, COLS, ROLE_TOP_BAR, "");
	x = bar_text(ui, 0, x, ROLE_TOP_VALUE, " pktlens ");
	if (!s) {
		bar_text(ui, 0, x, ROLE_TOP_LABEL, " waiting for the first snapshot...");
		return;
	}
	/* host and interface names come from the system, not the wire, but escaping is cheap */
	ui_escape(host, sizeof(host), s->host, sizeof(s->host));
	ui_escape(ifs, sizeof(ifs), s->ifaces, sizeof(s->ifaces));
	ui_escape(ns, sizeof(ns), s->netns, sizeof(s->netns));
	x = bar_text(ui, 0, x, ROLE_TOP_LABEL, " host ");
	x = bar_text(ui, 0, x, ROLE_TOP_VALUE, host);
	x = bar_text(ui, 0, x, ROLE_TOP_LABEL, "  if ");
	x = bar_text(ui, 0, x, ROLE_TOP_VALUE, ifs[0] ? ifs : "-");
	if (ns[0]) {
		x = bar_text(ui, 0, x, ROLE_TOP_LABEL, "  netns ");
		x = bar_text(ui, 0, x, ROLE_TOP_VALUE, ns);
	}
	x = bar_text(ui, 0, x, ROLE_TOP_LABEL, "  up ");
	x = bar_text(ui, 0, x, ROLE_TOP_VALUE, fmt_duration(s->uptime_s, buf, sizeof(buf)));
	x = bar_text(ui, 0, x, ROLE_TOP_LABEL, "  rx ");
	snprintf(buf, sizeof(buf), "%s pps %sbit/s", fmt_human(s->tot.rx_pps, a, sizeof(a)),
		 fmt_human(s->tot.rx_bps, b, sizeof(b)));
	x = bar_text(ui, 0, x, ROLE_TOP_VALUE, buf);
	x = bar_text(ui, 0, x, ROLE_TOP_LABEL, "  lost ");
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s->tot.events_lost);
	x = bar_text(ui, 0, x, s->tot.events_lost ? ROLE_WARN : ROLE_TOP_VALUE, buf);
	if (ui->paused) {
		x = bar_text(ui, 0, x, ROLE_TOP_LABEL, "  ");
		bar_text(ui, 0, x, ROLE_PAUSED, "[PAUSED]");
	}
}

static void draw_tabs(struct ui *ui)
{
	struct pane *top = top_pane(ui);
	char buf[160], info[160] = "";
	int x = 0, w;

	ui_put(ui, 1, 0, COLS, ROLE_TAB, "");
	for (size_t i = 0; i < ui->n_panes; i++) {
		snprintf(buf, sizeof(buf), " %zu %s ", i + 1, ui->panes[i]->cls->name);
		ui->tab_x[i][0] = x;
		x = bar_text(ui, 1, x, i == ui->cur ? ROLE_TAB_ACTIVE : ROLE_TAB, buf);
		ui->tab_x[i][1] = x;
		x = bar_text(ui, 1, x, ROLE_TAB, " ");
	}
	if (top && top->cls->info)
		top->cls->info(top, ui, info, sizeof(info));
	snprintf(buf, sizeof(buf), "%s%severy %gs ", info, info[0] ? "  " : "", ui->interval_s);
	w = (int)strlen(buf);
	if (x + 1 < COLS)
		ui_put_right(ui, 1, x + 1, COLS - x - 1, ROLE_TAB, buf);
	(void)w;
}

static void draw_hints(struct ui *ui)
{
	/* most needed first: narrow terminals cut the end */
	static const char global[] = "?|Help|q|Quit|/|Search|f|Filter|s|Sort|r|Reverse|p|Pause|"
				     "t|Theme|+-|Interval";
	struct pane *top = top_pane(ui);
	char buf[512];
	int y = LINES - 1, x = 0, key = 1;
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s%s%s", top && top->cls->hints ? top->cls->hints : "",
		 top && top->cls->hints ? "|" : "", global);
	ui_put(ui, y, 0, COLS, ROLE_KEY_DESC, "");
	for (char *t = strtok_r(buf, "|", &save); t && x < COLS; t = strtok_r(NULL, "|", &save)) {
		if (key) {
			x = bar_text(ui, y, x, ROLE_KEY, t);
		} else {
			char d[40];

			snprintf(d, sizeof(d), " %s ", t);
			x = bar_text(ui, y, x, ROLE_KEY_DESC, d);
		}
		key = !key;
	}
}

static void draw_status(struct ui *ui)
{
	struct prompt *pr = &ui->prompt;
	int y = LINES - 2;

	if (pr->kind != PROMPT_NONE) {
		int x = bar_text(ui, y, 0, ROLE_PROMPT, pr->label);
		char shown[256];

		ui_escape(shown, sizeof(shown), pr->buf, sizeof(pr->buf));
		ui_put(ui, y, x, COLS - x, ROLE_NORMAL, shown);
		if (pr->cands[0])
			ui_put(ui, y - 1, 0, COLS, ROLE_STATUS, pr->cands);
		x += (int)strlen(shown);
		if (x < COLS) {
			move(y, x);
			curs_set(1);
		}
		return;
	}
	curs_set(0);
	ui->status_shown = ui->status[0] && ui_now() < ui->status_until;
	if (ui->status_shown)
		ui_put(ui, y, 0, COLS, ui->status_err ? ROLE_ERROR : ROLE_STATUS, ui->status);
	else
		ui_put(ui, y, 0, COLS, ROLE_NORMAL, "");
}

void ui_render(struct ui *ui)
{
	struct pane *top;
	struct rect r;

	if (!ui->live)
		return;
	check_size(ui);
	top = top_pane(ui);
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
	draw_top(ui);
	draw_tabs(ui);
	r = (struct rect){ .y = 2, .x = 0, .h = LINES - 4, .w = COLS };
	if (top) {
		top->r = r;
		top->cls->display(top, ui, &r);
	}
	draw_hints(ui);
	draw_status(ui);
	refresh();
	ui->dirty = 0;
}
