/* The help screen: every binding, generated from the key table so it cannot fall out of date. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/panes.h"

#define HELP_MAX 96

struct help_pane {
	struct pane base;
	char lines[HELP_MAX][96];
	size_t n;
	struct list_state ls;
};

static void help_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct help_pane *p = (struct help_pane *)pp;
	int h = r->h - 2;

	ui_put(ui, r->y, r->x, r->w, ROLE_TITLE,
	       " pktlens keys (arrows scroll, any other key closes)");
	ui_put(ui, r->y + 1, r->x, r->w, ROLE_HEADER, " KEYS               ACTION");
	/* scroll by moving the top line: sel is kept on the last visible line */
	if (h < 1)
		return;
	for (int i = 0; i < h && p->ls.top + (size_t)i < p->n; i++)
		ui_put(ui, r->y + 2 + i, r->x, r->w, ROLE_NORMAL, p->lines[p->ls.top + i]);
	p->ls.page = h;
}

static int help_on_click(struct pane *pp, struct ui *ui, int y, int x)
{
	return R_HANDLED;
}

static int help_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct help_pane *p = (struct help_pane *)pp;
	size_t page = p->ls.page > 0 ? (size_t)p->ls.page : 1;
	size_t maxtop = p->n > page ? p->n - page : 0;

	if (act == ACT_CLICK)
		return help_on_click(pp, ui, UI_CLICK_Y(key), UI_CLICK_X(key));
	switch (act) {
	case ACT_UP:
		if (p->ls.top)
			p->ls.top--;
		return R_HANDLED | R_REDRAW;
	case ACT_DOWN:
		if (p->ls.top < maxtop)
			p->ls.top++;
		return R_HANDLED | R_REDRAW;
	case ACT_PGUP:
		p->ls.top = p->ls.top > page ? p->ls.top - page : 0;
		return R_HANDLED | R_REDRAW;
	case ACT_PGDN:
		p->ls.top = p->ls.top + page < maxtop ? p->ls.top + page : maxtop;
		return R_HANDLED | R_REDRAW;
	case ACT_HOME:
		p->ls.top = 0;
		return R_HANDLED | R_REDRAW;
	case ACT_END:
		p->ls.top = maxtop;
		return R_HANDLED | R_REDRAW;
	default:
		return R_CLOSE;
	}
}

static void help_destroy(struct pane *pp)
{
	free(pp);
}

static const struct pane_class help_class = {
	.name = "Help",
	.hints = "Esc|Close",
	.display = help_display,
	.on_key = help_on_key,
	.destroy = help_destroy,
};

struct pane *help_pane__new(struct ui *ui)
{
	struct help_pane *p = calloc(1, sizeof(*p));
	char line[96];

	if (!p)
		return NULL;
	p->base.cls = &help_class;
	p->n = keys_help_lines(p->lines, HELP_MAX - 8);
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
	return &p->base;
}
