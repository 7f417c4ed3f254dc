/* Key bindings: one table from key to action, and the help lines generated from it. */
#include <stdio.h>
#include <string.h>

#include "ui/curses.h"
#include "ui/keys.h"

#define KEY_CTRL(c) ((c)&0x1f)

const struct key_binding key_table[] = {
	{ 'q', "q", ACT_QUIT, 0, "quit" },
	{ KEY_F(10), "F10", ACT_QUIT, 0, "quit" },
	{ '?', "?", ACT_HELP, 0, "help: this list of keys" },
	{ KEY_F(1), "F1", ACT_HELP, 0, "help: this list of keys" },
	{ '1', "1", ACT_PANE, 1, "switch to pane N" },
	{ '2', "2", ACT_PANE, 2, "switch to pane N" },
	{ '3', "3", ACT_PANE, 3, "switch to pane N" },
	{ '4', "4", ACT_PANE, 4, "switch to pane N" },
	{ '5', "5", ACT_PANE, 5, "switch to pane N" },
	{ '6', "6", ACT_PANE, 6, "switch to pane N" },
	{ '7', "7", ACT_PANE, 7, "switch to pane N" },
	{ '8', "8", ACT_PANE, 8, "switch to pane N" },
	{ '9', "9", ACT_PANE, 9, "switch to pane N" },
	{ '\t', "Tab", ACT_PANE_NEXT, 0, "next pane" },
	{ KEY_BTAB, "S-Tab", ACT_PANE_PREV, 0, "previous pane" },
	{ KEY_UP, "Up", ACT_UP, 0, "move up" },
	{ 'k', "k", ACT_UP, 0, "move up" },
	{ KEY_DOWN, "Down", ACT_DOWN, 0, "move down" },
	{ 'j', "j", ACT_DOWN, 0, "move down" },
	{ KEY_PPAGE, "PgUp", ACT_PGUP, 0, "page up" },
	{ KEY_NPAGE, "PgDn", ACT_PGDN, 0, "page down" },
	{ KEY_HOME, "Home", ACT_HOME, 0, "first row" },
	{ 'g', "g", ACT_HOME, 0, "first row" },
	{ KEY_END, "End", ACT_END, 0, "last row" },
	{ 'G', "G", ACT_END, 0, "last row" },
	{ KEY_LEFT, "Left", ACT_LEFT, 0, "scroll columns left" },
	{ KEY_RIGHT, "Right", ACT_RIGHT, 0, "scroll columns right" },
	{ '/', "/", ACT_SEARCH, 0, "search: filter as you type (Enter keeps, Esc cancels)" },
	{ KEY_F(3), "F3", ACT_SEARCH, 0, "search: filter as you type (Enter keeps, Esc cancels)" },
	{ 'f', "f", ACT_FILTER, 0, "filter prompt (empty clears)" },
	{ KEY_F(4), "F4", ACT_FILTER, 0, "filter prompt (empty clears)" },
	{ 's', "s", ACT_SORT, 0, "next sort column" },
	{ KEY_F(6), "F6", ACT_SORT, 0, "next sort column" },
	{ 'r', "r", ACT_REVERSE, 0, "reverse sort order" },
	{ 'p', "p", ACT_PAUSE, 0, "pause/resume the display (counting goes on)" },
	{ '+', "+", ACT_SLOWER, 0, "longer refresh interval" },
	{ '-', "-", ACT_FASTER, 0, "shorter refresh interval" },
	{ 't', "t", ACT_THEME, 0, "next colour theme" },
	{ '\n', "Enter", ACT_ENTER, 0, "open details (flows) / attach or detach (probes)" },
	{ '\r', "Enter", ACT_ENTER, 0, "open details (flows) / attach or detach (probes)" },
	{ KEY_ENTER, "Enter", ACT_ENTER, 0, "open details (flows) / attach or detach (probes)" },
	{ ' ', "Space", ACT_TOGGLE, 0, "attach or detach the selected probe" },
	{ 'a', "a", ACT_ADD, 0, "add a probe (Tab completes)" },
	{ 27, "Esc", ACT_BACK, 0, "back: close details or help, clear the filter" },
	{ KEY_CTRL('l'), "C-l", ACT_REDRAW, 0, "redraw the screen" },
	{ '<', "<", ACT_SLOW_LESS, 0, "HTTP: halve the slow-request threshold" },
	{ '>', ">", ACT_SLOW_MORE, 0, "HTTP: double the slow-request threshold" },
};

const size_t key_table_len = sizeof(key_table) / sizeof(key_table[0]);

const struct key_binding *keys_lookup(int key)
{
	for (size_t i = 0; i < key_table_len; i++)
		if (key_table[i].key == key)
			return &key_table[i];
	return NULL;
}

char *keys_names_for(enum ui_action act, int arg, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < key_table_len; i++) {
		const struct key_binding *b = &key_table[i];
		int dup = 0;

		if (b->act != act || (arg && b->arg != arg))
			continue;
		/* Enter has three key codes but one name */
		for (size_t j = 0; j < i; j++)
			if (key_table[j].act == act && !strcmp(key_table[j].name, b->name))
				dup = 1;
		if (dup)
			continue;
		o += snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? " " : "", b->name);
		if (o >= len)
			break;
	}
	return buf;
}

size_t keys_help_lines(char lines[][96], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < key_table_len && n < max; i++) {
		char names[64];
		int seen = 0;

		for (size_t j = 0; j < i; j++)
			if (key_table[j].act == key_table[i].act)
				seen = 1;
		if (seen)
			continue;
		keys_names_for(key_table[i].act, 0, names, sizeof(names));
		snprintf(lines[n++], 96, " %-18s %s", names, key_table[i].help);
	}
	return n;
}
