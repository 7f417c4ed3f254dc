/* The bars around the pane: host and totals on top, tabs, the status or prompt line, and the key hints. */
#include <stdio.h>
#include <string.h>

#include "ui/format.h"
#include "core/security.h"
#include "ui/screen.h"

static void draw_top(struct ui *ui)
{
	const struct snapshot *s = ui->snap;
	char buf[128], a[16], b[16], host[64], ifs[64], ns[64];
	int x = 0;

	ui_put(ui, 0, 0, COLS, ROLE_TOP_BAR, "");
	x = ui_put_text(ui, 0, x, ROLE_TOP_VALUE, " pktlens ");
	if (!s) {
		ui_put_text(ui, 0, x, ROLE_TOP_LABEL, " waiting for the first snapshot...");
		return;
	}
	/* host and interface names come from the system, not the wire, but escaping is cheap */
	ui_escape(host, sizeof(host), s->host, sizeof(s->host));
	ui_escape(ifs, sizeof(ifs), s->ifaces, sizeof(s->ifaces));
	ui_escape(ns, sizeof(ns), s->netns, sizeof(s->netns));
	x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, " host ");
	x = ui_put_text(ui, 0, x, ROLE_TOP_VALUE, host);
	x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  if ");
	x = ui_put_text(ui, 0, x, ROLE_TOP_VALUE, ifs[0] ? ifs : "-");
	if (ns[0]) {
		x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  netns ");
		x = ui_put_text(ui, 0, x, ROLE_TOP_VALUE, ns);
	}
	x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  up ");
	x = ui_put_text(ui, 0, x, ROLE_TOP_VALUE, fmt_duration(s->uptime_s, buf, sizeof(buf)));
	x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  rx ");
	snprintf(buf, sizeof(buf), "%s pps %s", fmt_human(s->tot.rx_pps, a, sizeof(a)),
		 fmt_bits(s->tot.rx_bps, b, sizeof(b)));
	x = ui_put_text(ui, 0, x, ROLE_TOP_VALUE, buf);
	x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  lost ");
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s->tot.events_lost);
	x = ui_put_text(ui, 0, x, s->tot.events_lost ? ROLE_WARN : ROLE_TOP_VALUE, buf);
	/* the L7 ring fell behind and only a sample of the flows sent events (bpf/lib/l7.bpf.h) */
	if (s->l7 && s->l7->sampled) {
		x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  L7 sampled ");
		x = ui_put_text(ui, 0, x, ROLE_WARN,
				fmt_human((double)s->l7->sampled, a, sizeof(a)));
	}
	if (s->sec) {
		const struct snapshot_sec *ss = s->sec;

		x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  alerts ");
		if (ss->alerts_raised > ss->alerts_active)
			snprintf(buf, sizeof(buf), "%u (%llu)", ss->alerts_active,
				 (unsigned long long)ss->alerts_raised);
		else
			snprintf(buf, sizeof(buf), "%u", ss->alerts_active);
		x = ui_put_text(ui, 0, x, ss->alerts_active ? ROLE_WARN : ROLE_TOP_VALUE, buf);
		if (ss->n_rules) {
			x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  fw ");
			snprintf(buf, sizeof(buf), "%zu rule%s %s dropped", ss->n_rules,
				 ss->n_rules == 1 ? "" : "s",
				 fmt_human((double)ss->fw_dropped_packets, a, sizeof(a)));
			x = ui_put_text(ui, 0, x, ROLE_TOP_VALUE, buf);
		}
	}
	if (ui->paused) {
		x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  ");
		x = ui_put_text(ui, 0, x, ROLE_PAUSED, "[PAUSED]");
	}
	if (ui->replay[0]) {
		x = ui_put_text(ui, 0, x, ROLE_TOP_LABEL, "  ");
		ui_put_text(ui, 0, x, ROLE_PAUSED, ui->replay);
	}
}

static void draw_tabs(struct ui *ui)
{
	char buf[160];
	int x = 0;

	ui_put(ui, 1, 0, COLS, ROLE_TAB, "");
	for (size_t i = 0; i < ui->n_panes; i++) {
		snprintf(buf, sizeof(buf), " %zu %s ", i + 1, ui->panes[i]->cls->name);
		ui->tab_x[i][0] = x;
		x = ui_put_text(ui, 1, x, i == ui->cur ? ROLE_TAB_ACTIVE : ROLE_TAB, buf);
		ui->tab_x[i][1] = x;
		x = ui_put_text(ui, 1, x, ROLE_TAB, " ");
	}
	snprintf(buf, sizeof(buf), "every %gs ", ui->interval_s);
	if (x + 1 < COLS)
		ui_put_right(ui, 1, x + 1, COLS - x - 1, ROLE_TAB, buf);
}

static void draw_hints(struct ui *ui)
{
	struct pane *top = ui_top_pane(ui);
	char buf[512];
	int y = LINES - 1, x = 0, key = 1;
	char *save = NULL;

	/* the pane's own keys first (a recording's player keys before them): narrow terminals cut
	 * the end */
	const struct keymap *maps[10] = { 0 };
	size_t n = 0;
	if (ui->act.replay)
		maps[n++] = &keys_replay;
	for (size_t i = 0; top && top->cls->keys && top->cls->keys[i] && n < 9; i++)
		maps[n++] = top->cls->keys[i];
	keys_hints(maps, buf, sizeof(buf));
	ui_put(ui, y, 0, COLS, ROLE_KEY_DESC, "");
	for (char *t = strtok_r(buf, "|", &save); t && x < COLS; t = strtok_r(NULL, "|", &save)) {
		if (key) {
			x = ui_put_text(ui, y, x, ROLE_KEY, t);
		} else {
			char d[40];

			snprintf(d, sizeof(d), " %s ", t);
			x = ui_put_text(ui, y, x, ROLE_KEY_DESC, d);
		}
		key = !key;
	}
}

/* The pane's state (sort, filter, counts) on the left, a passing message on the right; a message
 * too long for both covers the state while it lasts. */
static void draw_status(struct ui *ui)
{
	struct pane *top = ui_top_pane(ui);
	char info[320] = "";
	int y = LINES - 2, w;

	if (ui->prompt.kind != PROMPT_NONE) {
		ui_prompt_draw(ui, y);
		return;
	}
	curs_set(0);
	if (top && top->cls->info)
		top->cls->info(top, ui, info + 1, sizeof(info) - 1);
	if (info[1])
		info[0] = ' ';
	ui_put(ui, y, 0, COLS, ROLE_NORMAL, info);
	ui->status_shown = ui->status[0] && ui_now() < ui->status_until;
	if (!ui->status_shown) {
		/* flows the table lost, or left out for want of memory, stay said */
		char warn[200];
		if (!ui->snap || !snapshot_flow_warning(ui->snap, warn, sizeof(warn)))
			return;
		w = (int)fmt_cells(warn) + 2;
		if (w > COLS - (int)fmt_cells(info) - 1)
			w = COLS;
		ui_put_right(ui, y, COLS - w, w, ROLE_WARN, warn);
		return;
	}
	w = (int)fmt_cells(ui->status) + 2;
	if (w > COLS - (int)fmt_cells(info) - 1)
		w = COLS;
	ui_put_right(ui, y, COLS - w, w, ui->status_err ? ROLE_ERROR : ROLE_STATUS, ui->status);
}

void ui_draw_bars(struct ui *ui)
{
	draw_top(ui);
	draw_tabs(ui);
	draw_hints(ui);
	draw_status(ui);
}
