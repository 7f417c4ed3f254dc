/* Unit tests for the key table: every key bound once, every action reachable, help lists every binding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ui/curses.h"
#include "ui/keys.h"

static void test_keys_unique(void **state)
{
	for (size_t i = 0; i < key_table_len; i++)
		for (size_t j = i + 1; j < key_table_len; j++)
			if (key_table[i].key == key_table[j].key)
				fail_msg("key %s bound twice (entries %zu and %zu)",
					 key_table[i].name, i, j);
}

static void test_entries_complete(void **state)
{
	for (size_t i = 0; i < key_table_len; i++) {
		const struct key_binding *b = &key_table[i];

		assert_non_null(b->name);
		assert_true(b->name[0]);
		assert_non_null(b->help);
		assert_true(b->help[0]);
		assert_true(b->act > ACT_NONE && b->act < ACT_MAX);
		/* the bindings of one action share one help text: help shows it once */
		for (size_t j = 0; j < i; j++)
			if (key_table[j].act == b->act && strcmp(key_table[j].help, b->help))
				fail_msg("%s and %s: same action, different help",
					 key_table[j].name, b->name);
	}
}

static void test_every_action_bound(void **state)
{
	for (int a = ACT_NONE + 1; a < ACT_MAX; a++) {
		int found = 0;

		for (size_t i = 0; i < key_table_len; i++)
			found |= key_table[i].act == (enum ui_action)a;
		if (!found)
			fail_msg("action %d has no key", a);
	}
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

static void test_help_lists_every_binding(void **state)
{
	char lines[64][96];
	size_t n = keys_help_lines(lines, 64);

	assert_true(n > 0 && n < 64);
	for (size_t i = 0; i < key_table_len; i++) {
		const struct key_binding *b = &key_table[i];
		int found = 0;

		for (size_t l = 0; l < n; l++)
			if (strstr(lines[l], b->help) && has_word(lines[l], b->name))
				found = 1;
		if (!found)
			fail_msg("help does not list %s (%s)", b->name, b->help);
	}
}

static void test_lookup(void **state)
{
	struct {
		int key;
		enum ui_action act;
	} want[] = {
		{ 'q', ACT_QUIT },	 { KEY_F(10), ACT_QUIT },     { '?', ACT_HELP },
		{ '/', ACT_SEARCH },	 { 'f', ACT_FILTER },	      { 's', ACT_SORT },
		{ KEY_F(6), ACT_SORT },	 { 'r', ACT_REVERSE },	      { 'p', ACT_PAUSE },
		{ '+', ACT_SLOWER },	 { '-', ACT_FASTER },	      { 't', ACT_THEME },
		{ '\t', ACT_PANE_NEXT }, { KEY_BTAB, ACT_PANE_PREV }, { ' ', ACT_TOGGLE },
		{ '\n', ACT_ENTER },	 { KEY_ENTER, ACT_ENTER },    { 'a', ACT_ADD },
		{ 27, ACT_BACK },	 { KEY_UP, ACT_UP },	      { KEY_NPAGE, ACT_PGDN },
		{ KEY_HOME, ACT_HOME },	 { KEY_END, ACT_END },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct key_binding *b = keys_lookup(want[i].key);

		assert_non_null(b);
		assert_int_equal(b->act, want[i].act);
	}
	for (int d = 1; d <= 9; d++) {
		const struct key_binding *b = keys_lookup('0' + d);

		assert_non_null(b);
		assert_int_equal(b->act, ACT_PANE);
		assert_int_equal(b->arg, d);
	}
	assert_null(keys_lookup('Z'));
}

static void test_names_for(void **state)
{
	char buf[64];

	assert_string_equal(keys_names_for(ACT_QUIT, 0, buf, sizeof(buf)), "q F10");
	/* Enter has three key codes and one name */
	assert_string_equal(keys_names_for(ACT_ENTER, 0, buf, sizeof(buf)), "Enter");
	assert_string_equal(keys_names_for(ACT_PANE, 3, buf, sizeof(buf)), "3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_unique),
		cmocka_unit_test(test_entries_complete),
		cmocka_unit_test(test_every_action_bound),
		cmocka_unit_test(test_help_lists_every_binding),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_names_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
