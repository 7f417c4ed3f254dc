/* The help screen: the keys of the pane it was asked from and the global ones, generated from the keymaps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/panes.h"

#define HELP_MAX 128

struct help_pane {
	struct pane base;
	char lines[HELP_MAX][96];
	size_t n;
	size_t top;
	int page;
};

static void help_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct help_pane *p = (struct help_pane *)pp;
	int h = r->h - 2;

	ui_put(ui, r->y, r->x, r->w, ROLE_TITLE,
	       " pktlens keys (arrows scroll, any other key closes)");
	ui_put(ui, r->y + 1, r->x, r->w, ROLE_HEADER, "   KEYS               ACTION");
	/* scroll by moving the top line: sel is kept on the last visible line */
	if (h < 1)
		return;
	for (int i = 0; i < h && p->top + (size_t)i < p->n; i++)
		/* section titles (" Flows") stand out from the bindings under them */
		ui_put(ui, r->y + 2 + i, r->x, r->w,
		       p->lines[p->top + i][1] != ' ' ? ROLE_TITLE : ROLE_NORMAL,
		       p->lines[p->top + i]);
	p->page = h;
}

static int help_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct help_pane *p = (struct help_pane *)pp;

	if (act == ACT_CLICK)
		return R_HANDLED;
	/* any key that does not scroll closes the help */
	return scroll_key(&p->top, p->n, p->page, act) ?: R_CLOSE;
}

static void help_destroy(struct pane *pp)
{
	free(pp);
}

static const struct keymap *const help_maps[] = { &keys_scroll, NULL };

static const struct pane_class help_class = {
	.name = "Help",
	.keys = help_maps,
	.display = help_display,
	.on_key = help_on_key,
	.destroy = help_destroy,
};

struct pane *help_pane__new(struct ui *ui)
{
	struct pane *under = ui_top_pane(ui);
	struct help_pane *p = calloc(1, sizeof(*p));
	char line[96];

	if (!p)
		return NULL;
	p->base.cls = &help_class;
	/* a recording's player keys, the keys of the pane the help was asked from, the global ones */
	const struct keymap *maps[10] = { 0 };
	size_t n = 0;
	if (ui->act.replay)
		maps[n++] = &keys_replay;
	for (size_t i = 0; under && under->cls->keys && under->cls->keys[i] && n < 9; i++)
		maps[n++] = under->cls->keys[i];
	p->n = keys_help_lines(maps, ui->n_panes, p->lines, HELP_MAX - 8);
	snprintf(p->lines[p->n++], 96, "%s", "");
	snprintf(line, sizeof(line), " panes:");
	for (size_t i = 0; i < ui->n_panes; i++) {
		size_t l = strlen(line);

		snprintf(line + l, sizeof(line) - l, " %zu %s", i + 1, ui->panes[i]->cls->name);
	}
	snprintf(p->lines[p->n++], 96, "%s", line);
	snprintf(p->lines[p->n++], 96, " theme: %.30s (themes in %.40s)", ui->theme.name,
		 ui->theme_dir);
	snprintf(p->lines[p->n++], 96, " mouse: click a tab or a row; click a header to sort");
	snprintf(p->lines[p->n++], 96, " settings: %.80s",
		 ui->config_path[0] ? ui->config_path : "not saved (--no-config)");
	return &p->base;
}
