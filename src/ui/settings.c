/* Saved settings in the UI: theme, interval, and each pane's columns, sort and view, loaded from
 * pktlensrc after the panes exist and written back on quit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/config.h"
#include "ui/table.h"

static int pane_load(struct pane *p, const char *key, const char *value, char *err, size_t errlen)
{
	struct table *t;

	if (p->cls->load)
		return p->cls->load(p, key, value, err, errlen);
	t = p->cls->table ? p->cls->table(p) : NULL;
	return t ? table_settings_apply(t, p->cls->id, key, value, err, errlen) : 0;
}

static void pane_save(struct pane *p, FILE *f)
{
	struct table *t;

	if (p->cls->save) {
		p->cls->save(p, f);
		return;
	}
	t = p->cls->table ? p->cls->table(p) : NULL;
	if (t && p->cls->id)
		table_settings_write(t, f, p->cls->id);
}

/* Applies every entry; on the first that is wrong, says why (line included) and returns -1.
 * Theme and interval are checked here and applied by the caller only when all is well. */
static int apply(struct ui *ui, const struct config *c, struct theme *theme, double *interval,
		 char *err, size_t errlen)
{
	char why[PATH_MAX + 160];

	for (size_t i = 0; i < c->n; i++) {
		const struct config_entry *e = &c->e[i];
		int r = 0;

		why[0] = '\0';
		if (!strcmp(e->key, "theme")) {
			r = ui_theme_load(ui, e->value, theme, why, sizeof(why)) ? -1 : 1;
		} else if (!strcmp(e->key, "interval")) {
			char *end;
			double v = strtod(e->value, &end);

			r = *end || !(v >= 0.1 && v <= 3600) ? -1 : 1;
			if (r < 0)
				snprintf(why, sizeof(why), "interval is seconds, 0.1 to 3600");
			*interval = v;
		} else {
			for (size_t k = 0; k < ui->n_panes && !r; k++) {
				const char *id = ui->panes[k]->cls->id;
				size_t l = id ? strlen(id) : 0;

				if (l && !strncmp(e->key, id, l) && e->key[l] == '.')
					r = pane_load(ui->panes[k], e->key, e->value, why,
						      sizeof(why));
			}
		}
		if (!r)
			snprintf(why, sizeof(why), "unknown setting '%s'", e->key);
		if (r <= 0) {
			snprintf(err, errlen, "pktlensrc:%d: %s", e->line, why);
			return -1;
		}
	}
	return 0;
}

static void fresh_panes(struct ui *ui)
{
	for (size_t i = 0; i < ui->n_panes; i++)
		ui->panes[i]->cls->destroy(ui->panes[i]);
	ui->n_panes = 0;
	for (size_t i = 0; i < pane_table_len && ui->n_panes < UI_MAX_PANES; i++) {
		struct pane *p = pane_table[i].create(ui);

		if (p)
			ui->panes[ui->n_panes++] = p;
	}
}

void ui_apply_interval(struct ui *ui, double v)
{
	ui->interval_s = v;
	if (ui->act.set_interval)
		ui->act.set_interval(ui->act.ctx, v);
}

void ui_settings_load(struct ui *ui)
{
	char err[PATH_MAX + 320];
	struct config *c;
	struct theme theme = { 0 };
	double interval = 0;

	if (ui->opts.no_config || config_path(ui->config_path, sizeof(ui->config_path))) {
		ui->config_path[0] = '\0';
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	if (config_read(c, ui->config_path, err, sizeof(err)) ||
	    apply(ui, c, &theme, &interval, err, sizeof(err))) {
		/* all or nothing: a half-applied file would be harder to understand */
		fresh_panes(ui);
		ui->config_bad = 1;
		ui_status_err(ui, "%s; using the defaults (kept as pktlensrc.bad)", err);
		free(c);
		return;
	}
	free(c);
	if (theme.name[0]) {
		/* a theme of the themes folder is saved by name, another by its path */
		if (!theme.path[0] || !strncmp(theme.path, ui->theme_dir, strlen(ui->theme_dir)))
			snprintf(ui->theme_setting, sizeof(ui->theme_setting), "%s", theme.name);
		else
			snprintf(ui->theme_setting, sizeof(ui->theme_setting), "%s", theme.path);
		if (!ui->opts.theme && !ui->opts.no_color) {
			ui->theme = theme;
			ui_colors_apply(ui);
		}
	}
	if (interval > 0) {
		ui->interval_setting = interval;
		if (!ui->opts.interval_set)
			ui_apply_interval(ui, interval);
	}
}

static void emit(FILE *f, void *ctx)
{
	struct ui *ui = ctx;

	fprintf(f, "# pktlens settings, written when pktlens quits; pktlens --no-config ignores "
		   "this file.\n");
	if (ui->theme_setting[0])
		fprintf(f, "theme=%s\n", ui->theme_setting);
	if (ui->interval_setting > 0)
		fprintf(f, "interval=%g\n", ui->interval_setting);
	for (size_t i = 0; i < ui->n_panes; i++)
		pane_save(ui->panes[i], f);
}

int ui_settings_save(struct ui *ui, char *err, size_t errlen)
{
	if (ui->opts.no_config || !ui->config_path[0])
		return 0;
	return config_write(ui->config_path, ui->config_bad, emit, ui, err, errlen);
}
