/* Key bindings: keymaps from key to action (everywhere, lists, each pane); the screen, the panes,
 * the footer and the help screen all read them. */
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
	ACT_COLUMNS,   /* column chooser */
	ACT_FOLLOW,    /* the selection follows its row, or keeps its place */
	ACT_GROUP,     /* Flows: next grouping */
	ACT_HIDE_IDLE, /* Flows: hide or show idle and closed flows */
	ACT_WRITE,     /* Flows: start or stop writing the flow's packets to a pcapng file */
	ACT_EXPAND,    /* Processes: expand or fold exited processes of one name */
	/* --replay (arg: the enum ui_replay_op of ui.h; p keeps ACT_PAUSE, its meaning everywhere) */
	ACT_REPLAY_BACK,
	ACT_REPLAY_FORWARD,
	ACT_REPLAY_SLOWER,
	ACT_REPLAY_FASTER,
	ACT_BLOCK,  /* Flows, Alerts: a firewall rule against the selected remote address */
	ACT_DELETE, /* Firewall: remove the selected rule */
	ACT_MAX,
	/* Synthetic events the screen makes; no key is bound to them. */
	ACT_CLICK,    /* key: UI_CLICK_KEY(y, x) of a mouse click inside the pane */
	ACT_SORT_COL, /* key: the column to sort by (a header click, the sort menu) */
};

struct key_binding {
	int key;	  /* curses key code or character */
	const char *name; /* as shown in help and hints */
	enum ui_action act;
	int arg;
	const char *help; /* what it does, for the help screen */
	const char *hint; /* a word or two for the footer; NULL: help only */
};

struct keymap {
	const char *title; /* help section: "Flows", "Lists", "Everywhere" */
	const struct key_binding *b;
	size_t n;
};

#define KEYMAP(title, arr)                               \
	{                                                \
		title, arr, sizeof(arr) / sizeof(arr[0]) \
	}
/* Enter arrives as one of three codes; they share a name, help and hint. */
#define KEYS_ENTER(act, help, hint)                                                   \
	{ '\n', "Enter", act, 0, help, hint }, { '\r', "Enter", act, 0, help, NULL }, \
	{                                                                             \
		KEY_ENTER, "Enter", act, 0, help, NULL                                \
	}

extern const struct keymap keys_global; /* every pane and overlay */
extern const struct keymap keys_list;	/* panes built on the table widget */
extern const struct keymap keys_scroll; /* overlays that scroll: details, drill-downs */
extern const struct keymap keys_back;	/* overlays that only go back */
extern const struct keymap keys_replay; /* --replay: before every other map */

/* The binding of key in maps (NULL-terminated, searched in order) or else the global map. */
const struct key_binding *keys_find(const struct keymap *const *maps, int key);
/* The same in the global map only. */
const struct key_binding *keys_lookup(int key);
/* Every key bound to act in map, separated by spaces ("q F10"); returns buf. */
char *keys_names_for(const struct keymap *map, enum ui_action act, int arg, char *buf, size_t len);
/*
 * Help text: for each map of maps and then the global map, a title line and one line per action
 * (keys, then what it does). n_panes limits ACT_PANE to the panes that exist ("1-8", "1-9 0").
 * Returns lines written.
 */
size_t keys_help_lines(const struct keymap *const *maps, size_t n_panes, char lines[][96],
		       size_t max);
/* Footer: "key|hint|key|hint..." for maps then the global map, first come first. */
void keys_hints(const struct keymap *const *maps, char *buf, size_t len);

#endif
