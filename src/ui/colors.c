/* Colours: themes found and loaded, their roles mapped onto curses colour pairs and attributes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ui/screen.h"

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

static int try_dir(const char *dir, const char *rel, char *out, size_t len)
{
	size_t a = strlen(dir), b = strlen(rel);

	if (a + b + 1 > len)
		return 0;
	memcpy(out, dir, a);
	memcpy(out + a, rel, b + 1);
	return !access(out, R_OK);
}

void ui_default_theme_dir(char *out, size_t len)
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

void ui_colors_apply(struct ui *ui)
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

int ui_theme_load(struct ui *ui, const char *spec, struct theme *t, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (theme_find(spec, ui->theme_dir, path, sizeof(path), err, errlen)) {
		if (strcmp(spec, "monochrome"))
			return -ENOENT;
		snprintf(t->name, sizeof(t->name), "monochrome");
		t->path[0] = '\0';
		return theme_parse_buf(t, builtin_mono, "builtin", err, errlen);
	}
	return theme_load_file(t, path, err, errlen);
}

void ui_theme_cycle(struct ui *ui)
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
	if (ui_theme_load(ui, names[next], &t, err, sizeof(err))) {
		ui_status_err(ui, "%s", err);
		return;
	}
	ui->theme = t;
	snprintf(ui->theme_setting, sizeof(ui->theme_setting), "%s", t.name);
	ui_colors_apply(ui);
	clearok(curscr, TRUE);
	ui_status(ui, "theme %s", t.name);
}
