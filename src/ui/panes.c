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
	{ dns_pane__new },
	{ tls_pane__new },
	{ alerts_pane__new },
	{ firewall_pane__new },
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

int scroll_key(size_t *top, size_t n, int page, enum ui_action act)
{
	size_t pg = page > 1 ? (size_t)page - 1 : 1, max = n > (size_t)page ? n - (size_t)page : 0;

	switch (act) {
	case ACT_UP:
		*top = *top ? *top - 1 : 0;
		break;
	case ACT_DOWN:
		*top = *top + 1;
		break;
	case ACT_PGUP:
		*top = *top > pg ? *top - pg : 0;
		break;
	case ACT_PGDN:
		*top += pg;
		break;
	case ACT_HOME:
		*top = 0;
		break;
	case ACT_END:
		*top = max;
		break;
	default:
		return R_IGNORED;
	}
	if (*top > max)
		*top = max;
	return R_HANDLED | R_REDRAW;
}
