/* Unit tests for the keymaps: keys bound once per map, panes never change what a global key does,
 * every action reachable, and help and footers list exactly what each pane binds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ui/panes.h"

/* Every pane of the pane table, made with a bare ui (constructors only allocate). */
static struct ui g_ui;
static struct pane *g_panes[UI_MAX_PANES];
static size_t g_n;

static int setup(void **state)
{
	for (size_t i = 0; i < pane_table_len; i++)
		g_panes[g_n++] = pane_table[i].create(&g_ui);
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < g_n; i++)
		g_panes[i]->cls->destroy(g_panes[i]);
	return 0;
}

/* Calls fn on every keymap: global, list, scroll, and each pane's own. */
static void each_map(void (*fn)(const struct keymap *m))
{
	fn(&keys_global);
	fn(&keys_list);
	fn(&keys_scroll);
	fn(&keys_replay);
	for (size_t i = 0; i < g_n; i++)
		for (size_t k = 0; g_panes[i]->cls->keys && g_panes[i]->cls->keys[k]; k++)
			fn(g_panes[i]->cls->keys[k]);
}

static void map_unique_complete(const struct keymap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct key_binding *b = &m->b[i];

		assert_non_null(b->name);
		assert_true(b->name[0]);
		assert_non_null(b->help);
		assert_true(b->help[0]);
		assert_true(b->act > ACT_NONE && b->act < ACT_MAX);
		for (size_t j = 0; j < i; j++) {
			if (m->b[j].key == b->key)
				fail_msg("%s: key %s bound twice", m->title, b->name);
			/* the bindings of one action share one help text: help shows it once */
			if (m->b[j].act == b->act && strcmp(m->b[j].help, b->help))
				fail_msg("%s: %s and %s: same action, different help", m->title,
					 m->b[j].name, b->name);
		}
	}
}

static void test_maps_unique_complete(void **state)
{
	each_map(map_unique_complete);
}

static void map_keeps_globals(const struct keymap *m)
{
	for (size_t i = 0; m != &keys_global && i < m->n; i++) {
		const struct key_binding *g = keys_lookup(m->b[i].key);

		if (g && g->act != m->b[i].act)
			fail_msg("%s: %s means %s here and something else everywhere else",
				 m->title, m->b[i].name, m->b[i].help);
	}
}

static void test_panes_keep_global_meanings(void **state)
{
	each_map(map_keeps_globals);
}

static int g_bound[ACT_MAX];

static void mark_bound(const struct keymap *m)
{
	for (size_t i = 0; i < m->n; i++)
		g_bound[m->b[i].act] = 1;
}

static void test_every_action_bound(void **state)
{
	each_map(mark_bound);
	for (int a = ACT_NONE + 1; a < ACT_MAX; a++)
		if (!g_bound[a])
			fail_msg("action %d has no key", a);
}

/* name appears in line as a whole word */
static int has_word(const char *line, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(line, name); p; p = strstr(p + 1, name))
		if ((p == line || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

static void check_help_lists(const struct keymap *const *maps, const struct keymap *m,
			     char lines[][96], size_t n)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct key_binding *b = &m->b[i];
		int found = 0;

		/* pane numbers are listed as a range of the panes that exist */
		if (b->act == ACT_PANE)
			continue;
		for (size_t l = 0; l < n; l++)
			if (strstr(lines[l], b->help) && has_word(lines[l], b->name))
				found = 1;
		if (!found)
			fail_msg("help does not list %s (%s)", b->name, b->help);
	}
}

static void test_help_lists_each_panes_bindings(void **state)
{
	char lines[128][96];

	for (size_t p = 0; p < g_n; p++) {
		const struct keymap *const *maps = g_panes[p]->cls->keys;
		size_t n = keys_help_lines(maps, g_n, lines, 128);
		int range = 0;
		char want[16];

		assert_true(n > 0 && n < 128);
		for (size_t k = 0; maps && maps[k]; k++)
			check_help_lists(maps, maps[k], lines, n);
		check_help_lists(maps, &keys_global, lines, n);
		/* 1-N names the panes there are, not the ten keys bound; the tenth is 0 */
		if (g_n >= 10)
			snprintf(want, sizeof(want), "1-9 0");
		else
			snprintf(want, sizeof(want), "1-%zu", g_n);
		for (size_t l = 0; l < n; l++)
			range |= has_word(lines[l], want);
		if (!range)
			fail_msg("help of %s does not say %s for the panes", g_panes[p]->cls->name,
				 want);
	}
}

/* Every key the footer names does what the footer says, in that pane. */
static void test_footers_true_per_pane(void **state)
{
	for (size_t p = 0; p < g_n; p++) {
		const struct keymap *const *maps = g_panes[p]->cls->keys;
		char buf[512], *save = NULL;
		int key = 1, n = 0;
		const char *name = NULL;

		keys_hints(maps, buf, sizeof(buf));
		for (char *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
			if (key) {
				name = t;
			} else {
				int found = 0;

				/* the name must be a key bound in this pane's maps or globally */
				for (size_t k = 0; maps && maps[k]; k++)
					for (size_t i = 0; i < maps[k]->n; i++)
						if (!strcmp(maps[k]->b[i].name, name) &&
						    maps[k]->b[i].hint &&
						    !strcmp(maps[k]->b[i].hint, t) &&
						    keys_find(maps, maps[k]->b[i].key) ==
							&maps[k]->b[i])
							found = 1;
				for (size_t i = 0; i < keys_global.n; i++)
					if (!strcmp(keys_global.b[i].name, name) &&
					    keys_global.b[i].hint &&
					    !strcmp(keys_global.b[i].hint, t) &&
					    keys_find(maps, keys_global.b[i].key) ==
						&keys_global.b[i])
						found = 1;
				if (!found)
					fail_msg("%s footer: '%s %s' is not what %s does there",
						 g_panes[p]->cls->name, name, t, name);
				n++;
			}
			key = !key;
		}
		assert_true(n >= 3);
	}
}

static const struct keymap *const *pane_maps(const char *name)
{
	for (size_t i = 0; i < g_n; i++)
		if (!strcmp(g_panes[i]->cls->name, name))
			return g_panes[i]->cls->keys;
	fail_msg("no pane %s", name);
	return NULL;
}

static void test_find(void **state)
{
	const struct keymap *const *flows = pane_maps("Flows"), *const *probes =
								    pane_maps("Probes");
	const struct key_binding *b;

	assert_int_equal(keys_find(flows, 'v')->act, ACT_GROUP);
	assert_int_equal(keys_find(flows, 'q')->act, ACT_QUIT);
	assert_int_equal(keys_find(flows, '/')->act, ACT_SEARCH);
	assert_int_equal(keys_find(flows, 's')->act, ACT_SORT);
	assert_int_equal(keys_find(flows, KEY_F(6))->act, ACT_SORT);
	assert_int_equal(keys_find(flows, '\n')->act, ACT_ENTER);
	assert_int_equal(keys_find(flows, KEY_ENTER)->act, ACT_ENTER);
	/* Space and a belong to Probes: in Flows they do nothing */
	assert_null(keys_find(flows, ' '));
	assert_null(keys_find(flows, 'a'));
	assert_int_equal(keys_find(probes, ' ')->act, ACT_TOGGLE);
	assert_int_equal(keys_find(probes, 'a')->act, ACT_ADD);
	/* < and > are the HTTP pane's */
	assert_null(keys_find(flows, '<'));
	assert_int_equal(keys_find(pane_maps("HTTP"), '<')->act, ACT_SLOW_LESS);
	for (int d = 1; d <= 9; d++) {
		b = keys_find(NULL, '0' + d);
		assert_non_null(b);
		assert_int_equal(b->act, ACT_PANE);
		assert_int_equal(b->arg, d);
	}
	assert_null(keys_find(flows, 'Z'));
}

static void test_names_for(void **state)
{
	char buf[64];

	assert_string_equal(keys_names_for(&keys_global, ACT_QUIT, 0, buf, sizeof(buf)), "q F10");
	assert_string_equal(keys_names_for(&keys_list, ACT_SORT, 0, buf, sizeof(buf)), "s F6");
	assert_string_equal(keys_names_for(&keys_global, ACT_PANE, 3, buf, sizeof(buf)), "3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_unique_complete),
		cmocka_unit_test(test_panes_keep_global_meanings),
		cmocka_unit_test(test_every_action_bound),
		cmocka_unit_test(test_help_lists_each_panes_bindings),
		cmocka_unit_test(test_footers_true_per_pane),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_names_for),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
