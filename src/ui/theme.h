/* Colour roles (what a colour is for) and the theme files that map them to colours and attributes. */
#ifndef PKTLENS_UI_THEME_H
#define PKTLENS_UI_THEME_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* Add a role here and in role_names[] (theme.c); themes that do not set it inherit "normal". */
enum role {
	ROLE_NORMAL = 0,
	ROLE_TOP_BAR,
	ROLE_TOP_LABEL,
	ROLE_TOP_VALUE,
	ROLE_PAUSED,
	ROLE_TAB,
	ROLE_TAB_ACTIVE,
	ROLE_HEADER,
	ROLE_HEADER_SORTED,
	ROLE_SELECTED,
	ROLE_DIM,
	ROLE_RX,
	ROLE_TX,
	ROLE_SPARK,
	ROLE_OK,
	ROLE_WARN,
	ROLE_ERROR,
	ROLE_STATUS,
	ROLE_PROMPT,
	ROLE_KEY,
	ROLE_KEY_DESC,
	ROLE_TITLE,
	ROLE_MAX,
};

/* Attribute bits of a theme, independent of curses so the parser runs without a terminal. */
enum theme_attr {
	TA_BOLD = 1 << 0,
	TA_DIM = 1 << 1,
	TA_UNDERLINE = 1 << 2,
	TA_REVERSE = 1 << 3,
	TA_STANDOUT = 1 << 4,
	TA_ITALIC = 1 << 5,
	TA_BLINK = 1 << 6,
};

#define THEME_DEFAULT_COLOR (-1) /* the terminal's own foreground/background */

struct theme_style {
	int16_t fg, bg; /* THEME_DEFAULT_COLOR or 0..255 */
	uint16_t attrs; /* enum theme_attr bits */
	uint8_t set;	/* given by the file (else inherited from normal) */
};

struct theme {
	char name[64];
	char path[PATH_MAX];
	struct theme_style style[ROLE_MAX];
};

const char *role_name(enum role r);
int role_from_name(const char *name); /* -1 when unknown */

/* Parses theme text; fname only names the source in errors ("FILE:LINE: what is wrong").
 * Returns 0, or -EINVAL with one sentence in err. */
int theme_parse_buf(struct theme *t, const char *buf, const char *fname, char *err, size_t errlen);
/* Reads and parses a file; the theme's name is the file name without ".theme". */
int theme_load_file(struct theme *t, const char *path, char *err, size_t errlen);
/* NAME|PATH as --theme takes it: a path when it contains '/', else theme_dir/NAME.theme. */
void theme_resolve(const char *name_or_path, const char *theme_dir, char *out, size_t len);
/*
 * --theme SPEC: a path when it contains '/', else the theme SPEC in
 * theme_dir. Writes the file to load into out and returns 0, or -ENOENT
 * with one sentence in err saying which path was tried (and, when SPEC is
 * a file in the current directory, that it is loaded only as ./SPEC).
 */
int theme_find(const char *spec, const char *theme_dir, char *out, size_t len, char *err,
	       size_t errlen);
/* Names (without ".theme") of the themes in dir, sorted; returns the count (at most max). */
size_t theme_list(const char *dir, char names[][64], size_t max);

#endif
