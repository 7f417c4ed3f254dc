/* The one-line prompt under the pane: incremental search, filters, and adding probes with Tab completion. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ui/format.h"
#include "ui/table.h"

#define KEY_CTRL(c) ((c)&0x1f)

void ui_prompt_open(struct ui *ui, enum prompt_kind kind, const char *label, const char *init,
		    struct pane *target)
{
	struct prompt *pr = &ui->prompt;
	struct table *t = target && target->cls->table ? target->cls->table(target) : NULL;
	const char *cur = t ? t->filter : "";

	pr->kind = kind;
	pr->target = target;
	snprintf(pr->label, sizeof(pr->label), "%s", label);
	snprintf(pr->buf, sizeof(pr->buf), "%s", init ? init : "");
	pr->len = strlen(pr->buf);
	snprintf(pr->saved, sizeof(pr->saved), "%s", cur ? cur : "");
	pr->cands[0] = '\0';
	pr->cands_err = 0;
	ui->dirty = 1;
}

static void prompt_apply_filter(struct ui *ui, const char *text)
{
	struct pane *p = ui->prompt.target;
	struct table *t = p && p->cls->table ? p->cls->table(p) : NULL;

	if (!t)
		return;
	table_set_filter(t, text);
	p->rescan = 1;
	ui->dirty = 1;
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
	int r;

	pr->kind = PROMPT_NONE;
	ui->dirty = 1;
	switch (kind) {
	case PROMPT_SEARCH:
		if (!ok)
			prompt_apply_filter(ui, pr->saved);
		break;
	case PROMPT_FILTER:
	case PROMPT_CONFIRM:
		if (!ok)
			break;
		r = pr->target && pr->target->cls->prompt
			? pr->target->cls->prompt(pr->target, ui, kind, pr->buf, err, sizeof(err))
			: 0;
		if (r < 0) {
			/* not taken: the prompt stays, with the reason above it */
			pr->kind = kind;
			snprintf(pr->cands, sizeof(pr->cands), "%s", err);
			pr->cands_err = 1;
		} else if (r) {
			pr->target->rescan = 1;
		} else if (kind == PROMPT_FILTER) {
			prompt_apply_filter(ui, pr->buf);
		}
		break;
	case PROMPT_RULE:
	case PROMPT_RULE_FORCE:
		if (!ok || !pr->buf[0])
			break;
		if (!ui->act.fw_add) {
			ui_status_err(ui, "the firewall is not available here");
			break;
		}
		r = ui->act.fw_add(ui->act.ctx, pr->buf, kind == PROMPT_RULE_FORCE, err,
				   sizeof(err));
		if (r == -EACCES && kind == PROMPT_RULE) {
			/* it would cut this SSH session off: ask once, with the reason */
			char rule[256];

			snprintf(rule, sizeof(rule), "%s", pr->buf);
			ui_prompt_open(ui, PROMPT_RULE_FORCE, "block anyway? (y/N) ", rule, NULL);
			snprintf(pr->cands, sizeof(pr->cands), "%s", err);
			pr->cands_err = 1;
		} else if (r < 0 && kind == PROMPT_RULE) {
			pr->kind = kind;
			snprintf(pr->cands, sizeof(pr->cands), "%s", err);
			pr->cands_err = 1;
		} else if (r < 0) {
			ui_status_err(ui, "%s", err);
		} else {
			ui_status(ui, "firewall rule %d: %s", r, pr->buf);
		}
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

void ui_prompt_key(struct ui *ui, int ch)
{
	struct prompt *pr = &ui->prompt;
	int changed = 0;

	ui->dirty = 1;
	if (pr->kind == PROMPT_CONFIRM || pr->kind == PROMPT_RULE_FORCE) {
		prompt_done(ui, ch == 'y' || ch == 'Y');
		return;
	}
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
	if (changed) {
		pr->cands[0] = '\0';
		pr->cands_err = 0;
	}
}

void ui_block_prompt(struct ui *ui, uint8_t family, const uint8_t *addr)
{
	char a[INET6_ADDRSTRLEN] = "?", rule[96];

	inet_ntop(family == PL_AF_INET ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(rule, sizeof(rule), "deny %s/%d", a, family == PL_AF_INET ? 32 : 128);
	ui_prompt_open(ui, PROMPT_RULE, "firewall rule (deny CIDR | limit CIDR:PPS): ", rule, NULL);
}

void ui_prompt_draw(struct ui *ui, int y)
{
	struct prompt *pr = &ui->prompt;
	int x = ui_put_text(ui, y, 0, ROLE_PROMPT, pr->label);
	char shown[256];

	ui_escape(shown, sizeof(shown), pr->buf, sizeof(pr->buf));
	ui_put(ui, y, x, COLS - x, ROLE_NORMAL, shown);
	if (pr->cands[0])
		ui_put(ui, y - 1, 0, COLS, pr->cands_err ? ROLE_ERROR : ROLE_STATUS, pr->cands);
	x += (int)strlen(shown);
	if (x < COLS) {
		move(y, x);
		curs_set(1);
	}
}
