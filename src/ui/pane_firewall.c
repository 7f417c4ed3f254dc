/* The Firewall pane: the XDP rules with what they passed and dropped; a adds, d removes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/security.h"
#include "ui/format.h"
#include "ui/panes.h"
#include "ui/table.h"

enum fcol {
	FC_ID,
	FC_RULE,
	FC_DROPPED,
	FC_DROP_RATE,
	FC_DROP_BYTES,
	FC_PASSED,
	FC_PASS_RATE,
	FC_ADDED,
	FC_EXPIRES,
	FC_ORIGIN,
	FC_MAX
};

static const struct table_col fw_cols[FC_MAX] = {
	[FC_ID] = { "id", "ID", "the rule's number (d removes the selected rule)", 4, 0, COL_RIGHT,
		    SORT_ASC_FIRST },
	[FC_RULE] = { "rule", "RULE", "deny PREFIX, or limit PREFIX N/s per source address", 16, 60,
		      0, SORT_ASC_FIRST },
	[FC_DROPPED] = { "dropped", "DROPPED", "packets dropped", 9, 0, COL_RIGHT,
			 SORT_DESC_FIRST },
	[FC_DROP_RATE] = { "drop_rate", "DROP/S", "packets dropped a second over the interval", 7,
			   0, COL_RIGHT, SORT_DESC_FIRST },
	[FC_DROP_BYTES] = { "dropped_bytes", "DROP B", "bytes dropped (frames as XDP sees them)", 8,
			    0, COL_RIGHT, SORT_DESC_FIRST },
	[FC_PASSED] = { "passed", "PASSED", "packets a limit let through", 9, 0, COL_RIGHT,
			SORT_DESC_FIRST },
	[FC_PASS_RATE] = { "pass_rate", "PASS/S", "packets passed a second", 7, 0, COL_RIGHT,
			   SORT_DESC_FIRST },
	[FC_ADDED] = { "added", "ADDED", "how long ago the rule was added", 9, 0, COL_RIGHT,
		       SORT_ASC_FIRST },
	[FC_EXPIRES] = { "expires", "EXPIRES", "time left before it goes (--block-ttl)", 8, 0,
			 COL_RIGHT, SORT_ASC_FIRST },
	[FC_ORIGIN] = { "origin", "FROM", "the command line or a key in this UI", 7, 0, 0,
			SORT_ASC_FIRST },
};

struct fw_pane {
	struct pane base;
	const struct snapshot *snap;
	struct table t;
};

static const struct fw_row *rule_at(const struct fw_pane *p, size_t row)
{
	return &p->snap->sec->rules[row];
}

static size_t fw_count(void *ctx)
{
	const struct fw_pane *p = ctx;

	return p->snap && p->snap->sec ? p->snap->sec->n_rules : 0;
}

static uint64_t fw_id(void *ctx, size_t row)
{
	uint32_t id = rule_at(ctx, row)->id;

	return table_hash(&id, sizeof(id), TABLE_HASH_INIT);
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int fw_cmp(void *ctx, size_t a, size_t b, int col)
{
	const struct fw_row *x = rule_at(ctx, a), *y = rule_at(ctx, b);

	switch (col) {
	case FC_RULE:
		return strcmp(x->rule, y->rule);
	case FC_DROPPED:
		return CMP(x->dropped_packets, y->dropped_packets);
	case FC_DROP_RATE:
		return CMP(x->drop_pps, y->drop_pps);
	case FC_DROP_BYTES:
		return CMP(x->dropped_bytes, y->dropped_bytes);
	case FC_PASSED:
		return CMP(x->passed_packets, y->passed_packets);
	case FC_PASS_RATE:
		return CMP(x->pass_pps, y->pass_pps);
	case FC_ADDED:
		return CMP(y->added, x->added);
	case FC_EXPIRES:
		/* never expiring last */
		return CMP(x->expires > 0 ? x->expires : 1e300,
			   y->expires > 0 ? y->expires : 1e300);
	case FC_ORIGIN:
		return CMP(x->from_cli, y->from_cli);
	default:
		return CMP(x->id, y->id);
	}
}

static void fw_cell(void *ctx, size_t row, int col, struct table_cell *c)
{
	const struct fw_pane *p = ctx;
	const struct fw_row *r = rule_at(p, row);
	double up = p->snap->uptime_s;
	char a[24];

	c->role = r->drop_pps > 0 ? ROLE_WARN : ROLE_NORMAL;
	switch (col) {
	case FC_ID:
		snprintf(c->text, sizeof(c->text), "%u", r->id);
		break;
	case FC_RULE:
		snprintf(c->text, sizeof(c->text), "%s", r->rule);
		break;
	case FC_DROPPED:
		snprintf(c->text, sizeof(c->text), "%llu", (unsigned long long)r->dropped_packets);
		break;
	case FC_DROP_RATE:
		fmt_human(r->drop_pps, c->text, sizeof(c->text));
		break;
	case FC_DROP_BYTES:
		fmt_bytes((double)r->dropped_bytes, c->text, sizeof(c->text));
		break;
	case FC_PASSED:
		if (r->action == PL_FW_LIMIT)
			snprintf(c->text, sizeof(c->text), "%llu",
				 (unsigned long long)r->passed_packets);
		else
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case FC_PASS_RATE:
		if (r->action == PL_FW_LIMIT)
			fmt_human(r->pass_pps, c->text, sizeof(c->text));
		else
			snprintf(c->text, sizeof(c->text), "-");
		break;
	case FC_ADDED:
		fmt_ago(up - r->added, c->text, sizeof(c->text));
		break;
	case FC_EXPIRES:
		if (r->expires > 0)
			snprintf(
			    c->text, sizeof(c->text), "in %s",
			    fmt_duration(r->expires - up > 0 ? r->expires - up : 0, a, sizeof(a)));
		else
			snprintf(c->text, sizeof(c->text), "never");
		break;
	default:
		snprintf(c->text, sizeof(c->text), "%s", r->from_cli ? "cmdline" : "ui");
		break;
	}
}

static const struct table_ops fw_ops = {
	.count = fw_count,
	.row_id = fw_id,
	.cell = fw_cell,
	.cmp = fw_cmp,
};

static void sync(struct fw_pane *p, struct ui *ui)
{
	if (!pane_stale(&p->base, ui))
		return;
	p->snap = ui->snap;
	table_rebuild(&p->t);
}

static void fw_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct fw_pane *p = (struct fw_pane *)pp;
	const struct snapshot_sec *ss;
	char buf[512], b1[16], b2[16];
	int y = r->y;

	sync(p, ui);
	ss = ui->snap ? ui->snap->sec : NULL;
	if (!ss) {
		ui_put(ui, y, r->x, r->w, ROLE_DIM, " waiting for data...");
		return;
	}
	if (ss->fw_ifaces[0])
		snprintf(buf, sizeof(buf),
			 " XDP firewall on %s: dropped %llu packets (%s), passed %llu under limits",
			 ss->fw_ifaces, (unsigned long long)ss->fw_dropped_packets,
			 fmt_bytes((double)ss->fw_dropped_bytes, b1, sizeof(b1)),
			 (unsigned long long)ss->fw_passed_packets);
	else
		snprintf(buf, sizeof(buf),
			 " no XDP firewall attached: it attaches with the first rule and goes with "
			 "the last%s%s",
			 ss->fw_dropped_packets ? "; earlier rules dropped " : "",
			 ss->fw_dropped_packets
			     ? fmt_human((double)ss->fw_dropped_packets, b2, sizeof(b2))
			     : "");
	ui_put(ui, y++, r->x, r->w, ss->fw_ifaces[0] ? ROLE_OK : ROLE_DIM, buf);
	snprintf(buf, sizeof(buf),
		 " rules %s   new rules %s   %s%s   XDP on a veth turns its GRO off: bulk TCP "
		 "through it slows",
		 ss->persist ? "stay after exit (--persist-rules; pktlens --flush-rules)"
			     : "go when pktlens exits",
		 ss->block_ttl > 0 ? "expire (--block-ttl)" : "never expire",
		 ss->ssh_peer[0] ? "protected SSH peer " : "no SSH session seen", ss->ssh_peer);
	ui_put(ui, y++, r->x, r->w, ROLE_DIM, buf);
	struct rect tr = { .y = y, .x = r->x, .h = r->y + r->h - y, .w = r->w };
	table_draw(&p->t, ui, &tr);
	table_draw_empty(&p->t, ui, &tr,
			 " no rules: b on a flow, a remote-host group or an alert blocks its "
			 "source; a adds a rule; --deny and --limit on the command line");
}

static int fw_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct fw_pane *p = (struct fw_pane *)pp;
	size_t row;
	char err[256] = "";

	sync(p, ui);
	switch (act) {
	case ACT_ADD:
		ui_prompt_open(ui, PROMPT_RULE,
			       "firewall rule (deny CIDR | limit CIDR:PPS): ", "deny ", NULL);
		return R_HANDLED | R_REDRAW;
	case ACT_DELETE:
		if (!table_selected(&p->t, &row))
			return R_HANDLED;
		if (!ui->act.fw_remove) {
			ui_status_err(ui, "the firewall is not available here");
			return R_HANDLED | R_REDRAW;
		}
		{
			const struct fw_row *r = rule_at(p, row);
			char rule[96];

			snprintf(rule, sizeof(rule), "%s", r->rule);
			if (ui->act.fw_remove(ui->act.ctx, r->id, err, sizeof(err)))
				ui_status_err(ui, "%s", err);
			else
				ui_status(ui, "removed rule %u: %s", r->id, rule);
		}
		return R_HANDLED | R_REDRAW;
	default:
		return table_on_key(&p->t, ui, act, key);
	}
}

static void fw_info(struct pane *pp, struct ui *ui, char *buf, size_t len)
{
	struct fw_pane *p = (struct fw_pane *)pp;

	sync(p, ui);
	table_info(&p->t, ui, buf, len);
}

static struct table *fw_table(struct pane *pp)
{
	return &((struct fw_pane *)pp)->t;
}

static void fw_destroy(struct pane *pp)
{
	table_fini(&((struct fw_pane *)pp)->t);
	free(pp);
}

static const struct key_binding fw_keys[] = {
	{ 'a', "a", ACT_ADD, 0, "add a rule: deny CIDR, or limit CIDR:PPS per source", "Add" },
	{ 'd', "d", ACT_DELETE, 0, "remove the selected rule (the last takes XDP off)", "Remove" },
	{ KEY_DC, "Del", ACT_DELETE, 0, "remove the selected rule (the last takes XDP off)", NULL },
};
static const struct keymap fw_keymap = KEYMAP("Firewall", fw_keys);
static const struct keymap *const fw_maps[] = { &fw_keymap, &keys_list, NULL };

static const struct pane_class fw_class = {
	.name = "Firewall",
	.keys = fw_maps,
	.display = fw_display,
	.on_key = fw_on_key,
	.table = fw_table,
	.id = "firewall",
	.info = fw_info,
	.destroy = fw_destroy,
};

struct pane *firewall_pane__new(struct ui *ui)
{
	struct fw_pane *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.cls = &fw_class;
	table_init(&p->t, fw_cols, FC_MAX, &fw_ops, p, "rules");
	table_reset(&p->t, FC_ID);
	return &p->base;
}
