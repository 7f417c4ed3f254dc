/* Key bindings: the global and list keymaps, and the help and footer text generated from keymaps. */
#include <stdio.h>
#include <string.h>

#include "ui/curses.h"
#include "ui/keys.h"

#define KEY_CTRL(c) ((c)&0x1f)

static const struct key_binding global_keys[] = {
	{ '?', "?", ACT_HELP, 0, "help: the keys of this pane and everywhere", "Help" },
	{ KEY_F(1), "F1", ACT_HELP, 0, "help: the keys of this pane and everywhere", NULL },
	{ 'q', "q", ACT_QUIT, 0, "quit (settings are saved)", "Quit" },
	{ KEY_F(10), "F10", ACT_QUIT, 0, "quit (settings are saved)", NULL },
	{ '1', "1", ACT_PANE, 1, "switch to pane N", NULL },
	{ '2', "2", ACT_PANE, 2, "switch to pane N", NULL },
	{ '3', "3", ACT_PANE, 3, "switch to pane N", NULL },
	{ '4', "4", ACT_PANE, 4, "switch to pane N", NULL },
	{ '5', "5", ACT_PANE, 5, "switch to pane N", NULL },
	{ '6', "6", ACT_PANE, 6, "switch to pane N", NULL },
	{ '7', "7", ACT_PANE, 7, "switch to pane N", NULL },
	{ '8', "8", ACT_PANE, 8, "switch to pane N", NULL },
	{ '9', "9", ACT_PANE, 9, "switch to pane N", NULL },
	{ '0', "0", ACT_PANE, 10, "switch to pane N", NULL },
	{ '\t', "Tab", ACT_PANE_NEXT, 0, "next pane", NULL },
	{ KEY_BTAB, "S-Tab", ACT_PANE_PREV, 0, "previous pane", NULL },
	{ 'p', "p", ACT_PAUSE, 0, "pause/resume the display (counting goes on)", "Pause" },
	{ '+', "+", ACT_SLOWER, 0, "longer refresh interval", NULL },
	{ '-', "-", ACT_FASTER, 0, "shorter refresh interval", NULL },
	{ 't', "t", ACT_THEME, 0, "next colour theme", "Theme" },
	{ 27, "Esc", ACT_BACK, 0, "back: close details or help, clear the filter", NULL },
	{ KEY_CTRL('l'), "C-l", ACT_REDRAW, 0, "redraw the screen", NULL },
};

const struct keymap keys_global = KEYMAP("Everywhere", global_keys);

static const struct key_binding list_keys[] = {
	{ KEY_UP, "Up", ACT_UP, 0, "move up", NULL },
	{ 'k', "k", ACT_UP, 0, "move up", NULL },
	{ KEY_DOWN, "Down", ACT_DOWN, 0, "move down", NULL },
	{ 'j', "j", ACT_DOWN, 0, "move down", NULL },
	{ KEY_PPAGE, "PgUp", ACT_PGUP, 0, "page up", NULL },
	{ KEY_NPAGE, "PgDn", ACT_PGDN, 0, "page down", NULL },
	{ KEY_HOME, "Home", ACT_HOME, 0, "first row", NULL },
	{ 'g', "g", ACT_HOME, 0, "first row", NULL },
	{ KEY_END, "End", ACT_END, 0, "last row", NULL },
	{ 'G', "G", ACT_END, 0, "last row", NULL },
	{ KEY_LEFT, "Left", ACT_LEFT, 0, "scroll columns left", NULL },
	{ KEY_RIGHT, "Right", ACT_RIGHT, 0, "scroll columns right", NULL },
	{ '/', "/", ACT_SEARCH, 0, "search: filter as you type (Enter keeps, Esc cancels)",
	  "Search" },
	{ KEY_F(3), "F3", ACT_SEARCH, 0, "search: filter as you type (Enter keeps, Esc cancels)",
	  NULL },
	{ 'f', "f", ACT_FILTER, 0, "filter prompt (Flows: tcpdump syntax; empty clears)",
	  "Filter" },
	{ KEY_F(4), "F4", ACT_FILTER, 0, "filter prompt (Flows: tcpdump syntax; empty clears)",
	  NULL },
	{ 's', "s", ACT_SORT, 0, "sort menu: pick the column (or click its header)", "Sort" },
	{ KEY_F(6), "F6", ACT_SORT, 0, "sort menu: pick the column (or click its header)", NULL },
	{ 'r', "r", ACT_REVERSE, 0, "reverse the sort order", "Reverse" },
	{ 'c', "c", ACT_COLUMNS, 0, "columns: show, hide and order them", "Columns" },
	{ KEY_F(2), "F2", ACT_COLUMNS, 0, "columns: show, hide and order them", NULL },
	{ 'F', "F", ACT_FOLLOW, 0, "follow the selected row as the order changes (toggle)", NULL },
};

const struct keymap keys_list = KEYMAP("Lists", list_keys);

static const struct key_binding scroll_keys[] = {
	{ 27, "Esc", ACT_BACK, 0, "back to the list", "Back" },
	{ KEY_UP, "Up", ACT_UP, 0, "scroll up", "Scroll" },
	{ 'k', "k", ACT_UP, 0, "scroll up", NULL },
	{ KEY_DOWN, "Down", ACT_DOWN, 0, "scroll down", NULL },
	{ 'j', "j", ACT_DOWN, 0, "scroll down", NULL },
	{ KEY_PPAGE, "PgUp", ACT_PGUP, 0, "page up", NULL },
	{ KEY_NPAGE, "PgDn", ACT_PGDN, 0, "page down", NULL },
	{ KEY_HOME, "Home", ACT_HOME, 0, "to the start", NULL },
	{ 'g', "g", ACT_HOME, 0, "to the start", NULL },
	{ KEY_END, "End", ACT_END, 0, "to the end", NULL },
	{ 'G', "G", ACT_END, 0, "to the end", NULL },
};

const struct keymap keys_scroll = KEYMAP("Scrolling", scroll_keys);

static const struct key_binding back_keys[] = {
	{ 27, "Esc", ACT_BACK, 0, "back to the list", "Back" },
};

const struct keymap keys_back = KEYMAP("Back", back_keys);

/* arg: enum ui_replay_op of ui.h (0 pause, 1 back, 2 forward, 3 slower, 4 faster) */
static const struct key_binding replay_keys[] = {
	{ 'p', "p", ACT_PAUSE, 0, "pause or resume playing the recording", "Pause" },
	{ ',', ",", ACT_REPLAY_BACK, 1, "one snapshot back (pauses)", "Back" },
	{ '.', ".", ACT_REPLAY_FORWARD, 2, "one snapshot forward (pauses)", "Fwd" },
	{ '[', "[", ACT_REPLAY_SLOWER, 3, "play slower (half the speed)", "Slower" },
	{ ']', "]", ACT_REPLAY_FASTER, 4, "play faster (double the speed)", "Faster" },
};

const struct keymap keys_replay = KEYMAP("Replay", replay_keys);

static const struct key_binding *find_in(const struct keymap *m, int key)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->b[i].key == key)
			return &m->b[i];
	return NULL;
}

const struct key_binding *keys_find(const struct keymap *const *maps, int key)
{
	const struct key_binding *b;

	for (size_t i = 0; maps && maps[i]; i++)
		if ((b = find_in(maps[i], key)))
			return b;
	return find_in(&keys_global, key);
}

const struct key_binding *keys_lookup(int key)
{
	return find_in(&keys_global, key);
}

char *keys_names_for(const struct keymap *m, enum ui_action act, int arg, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		const struct key_binding *b = &m->b[i];
		int dup = 0;

		if (b->act != act || (arg && b->arg != arg))
			continue;
		/* Enter has three key codes but one name */
		for (size_t j = 0; j < i; j++)
			if (m->b[j].act == act && !strcmp(m->b[j].name, b->name))
				dup = 1;
		if (dup)
			continue;
		o += snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? " " : "", b->name);
		if (o >= len)
			break;
	}
	return buf;
}

static size_t help_map(const struct keymap *m, size_t n_panes, char lines[][96], size_t n,
		       size_t max)
{
	if (n < max)
		snprintf(lines[n++], 96, " %s", m->title);
	for (size_t i = 0; i < m->n && n < max; i++) {
		char names[64];
		int seen = 0;

		for (size_t j = 0; j < i; j++)
			if (m->b[j].act == m->b[i].act)
				seen = 1;
		if (seen)
			continue;
		if (m->b[i].act == ACT_PANE && n_panes >= 10)
			snprintf(names, sizeof(names), "1-9 0");
		else if (m->b[i].act == ACT_PANE)
			snprintf(names, sizeof(names), "1-%zu", n_panes);
		else
			keys_names_for(m, m->b[i].act, 0, names, sizeof(names));
		snprintf(lines[n++], 96, "   %-18s %s", names, m->b[i].help);
	}
	return n;
}

size_t keys_help_lines(const struct keymap *const *maps, size_t n_panes, char lines[][96],
		       size_t max)
{
	size_t n = 0;

	for (size_t i = 0; maps && maps[i]; i++)
		n = help_map(maps[i], n_panes, lines, n, max);
	return help_map(&keys_global, n_panes, lines, n, max);
}

static size_t hints_map(const struct keymap *m, char *buf, size_t len, size_t o)
{
	for (size_t i = 0; i < m->n && o < len; i++)
		if (m->b[i].hint)
			o += snprintf(buf + o, len - o, "%s%s|%s", o ? "|" : "", m->b[i].name,
				      m->b[i].hint);
	return o;
}

void keys_hints(const struct keymap *const *maps, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; maps && maps[i]; i++)
		o = hints_map(maps[i], buf, len, o);
	/* a global key that a map above took (the player's p) is not hinted twice */
	for (size_t i = 0; i < keys_global.n && o < len; i++) {
		const struct key_binding *b = &keys_global.b[i];
		int taken = 0;

		for (size_t m = 0; maps && maps[m] && !taken; m++)
			taken = find_in(maps[m], b->key) != NULL;
		if (b->hint && !taken)
			o += snprintf(buf + o, len - o, "%s%s|%s", o ? "|" : "", b->name, b->hint);
	}
}
