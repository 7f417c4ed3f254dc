/* The pane table (tabs in order: number keys follow it) and the scrolling shared by every list. */
#include "ui/panes.h"

/* Adding a pane: a pane_NAME.c with its constructor, and one line here. */
/* clang-format off */
const struct pane_entry pane_table[] = {
	{ flows_pane__new },
	{ probes_pane__new },
	{ retrans_pane__new },
	{ drops_pane__new },
	{ http_pane__new },
	{ procs_pane__new },
};
/* clang-format on */

const size_t pane_table_len = sizeof(pane_table) / sizeof(pane_table[0]);

const struct pane_entry pane_help_entry = { help_pane__new };

int scrollback_key(size_t *back, size_t max, enum ui_action act)
{
	switch (act) {
	case ACT_BACK:
		return R_CLOSE;
	case ACT_UP:
		*back = *back < max ? *back + 1 : max;
		return R_HANDLED | R_REDRAW;
	case ACT_DOWN:
		if (*back)
			(*back)--;
		return R_HANDLED | R_REDRAW;
	case ACT_PGUP:
		*back = *back + 10 < max ? *back + 10 : max;
		return R_HANDLED | R_REDRAW;
	case ACT_PGDN:
		*back = *back > 10 ? *back - 10 : 0;
		return R_HANDLED | R_REDRAW;
	case ACT_HOME:
		*back = max;
		return R_HANDLED | R_REDRAW;
	case ACT_END:
		*back = 0;
		return R_HANDLED | R_REDRAW;
	case ACT_ENTER:
		return R_HANDLED;
	default:
		return R_IGNORED;
	}
}

int list_move(struct list_state *ls, enum ui_action act)
{
	size_t page = ls->page > 1 ? (size_t)ls->page - 1 : 1;

	if (!ls->n)
		return act >= ACT_UP && act <= ACT_END ? R_HANDLED : R_IGNORED;
	switch (act) {
	case ACT_UP:
		if (ls->sel)
			ls->sel--;
		break;
	case ACT_DOWN:
		if (ls->sel + 1 < ls->n)
			ls->sel++;
		break;
	case ACT_PGUP:
		ls->sel = ls->sel > page ? ls->sel - page : 0;
		break;
	case ACT_PGDN:
		ls->sel = ls->sel + page < ls->n ? ls->sel + page : ls->n - 1;
		break;
	case ACT_HOME:
		ls->sel = 0;
		break;
	case ACT_END:
		ls->sel = ls->n - 1;
		break;
	default:
		return R_IGNORED;
	}
	return R_HANDLED | R_REDRAW;
}

void list_fit(struct list_state *ls, int h)
{
	size_t hh = h > 0 ? (size_t)h : 1;

	ls->page = h;
	if (ls->sel >= ls->n)
		ls->sel = ls->n ? ls->n - 1 : 0;
	if (ls->sel < ls->top)
		ls->top = ls->sel;
	if (ls->sel >= ls->top + hh)
		ls->top = ls->sel - hh + 1;
	/* after a shrink (filter, resize) do not leave blank rows under a scrolled list */
	if (ls->top + hh > ls->n)
		ls->top = ls->n > hh ? ls->n - hh : 0;
}
