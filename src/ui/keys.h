/* The one table from keys to actions; the screen, the panes and the help screen all read it. */
#ifndef PKTLENS_UI_KEYS_H
#define PKTLENS_UI_KEYS_H

#include <stddef.h>

enum ui_action {
	ACT_NONE = 0,
	ACT_QUIT,
	ACT_HELP,
	ACT_PANE, /* arg: pane number, 1-based */
	ACT_PANE_NEXT,
	ACT_PANE_PREV,
	ACT_UP,
	ACT_DOWN,
	ACT_PGUP,
	ACT_PGDN,
	ACT_HOME,
	ACT_END,
	ACT_LEFT,
	ACT_RIGHT,
	ACT_SEARCH,
	ACT_FILTER,
	ACT_SORT,
	ACT_REVERSE,
	ACT_PAUSE,
	ACT_SLOWER,
	ACT_FASTER,
	ACT_THEME,
	ACT_ENTER,
	ACT_TOGGLE,
	ACT_ADD,
	ACT_BACK,
	ACT_REDRAW,
	ACT_SLOW_LESS, /* HTTP pane: halve the slow-request threshold */
	ACT_SLOW_MORE, /* HTTP pane: double it */
	ACT_MAX,
	/* Synthetic events the screen makes; no key is bound to them. */
	ACT_CLICK, /* key: UI_CLICK_KEY(y, x) of a mouse click inside the pane */
};

struct key_binding {
	int key;	  /* curses key code or character */
	const char *name; /* as shown in help and hints */
	enum ui_action act;
	int arg;
	const char *help; /* what it does, for the help screen */
};

extern const struct key_binding key_table[];
extern const size_t key_table_len;

/* The binding of a key, or NULL. */
const struct key_binding *keys_lookup(int key);
/* Every key bound to act, separated by spaces ("q F10"); returns buf. */
char *keys_names_for(enum ui_action act, int arg, char *buf, size_t len);
/* Help text: one line per action, keys then description, in table order; returns lines written. */
size_t keys_help_lines(char lines[][96], size_t max);

#endif
