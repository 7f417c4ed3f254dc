/* Theme files: "role = fg,bg[,attrs]" lines parsed into styles, with errors that name file and line. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/safefile.h"
#include "ui/format.h"
#include "ui/theme.h"

static const char *const role_names[ROLE_MAX] = {
	[ROLE_NORMAL] = "normal",
	[ROLE_TOP_BAR] = "top_bar",
	[ROLE_TOP_LABEL] = "top_label",
	[ROLE_TOP_VALUE] = "top_value",
	[ROLE_PAUSED] = "paused",
	[ROLE_TAB] = "tab",
	[ROLE_TAB_ACTIVE] = "tab_active",
	[ROLE_HEADER] = "header",
	[ROLE_HEADER_SORTED] = "header_sorted",
	[ROLE_SELECTED] = "selected",
	[ROLE_DIM] = "dim",
	[ROLE_RX] = "rx",
	[ROLE_TX] = "tx",
	[ROLE_SPARK] = "spark",
	[ROLE_OK] = "ok",
	[ROLE_WARN] = "warn",
	[ROLE_ERROR] = "error",
	[ROLE_STATUS] = "status",
	[ROLE_PROMPT] = "prompt",
	[ROLE_KEY] = "key",
	[ROLE_KEY_DESC] = "key_desc",
	[ROLE_TITLE] = "title",
};

static const char *const color_names[] = {
	"black",	"red",		 "green",	"yellow",	  "blue",
	"magenta",	"cyan",		 "white",	"bright-black",	  "bright-red",
	"bright-green", "bright-yellow", "bright-blue", "bright-magenta", "bright-cyan",
	"bright-white",
};

static const struct {
	const char *name;
	uint16_t bit;
} attr_names[] = {
	{ "bold", TA_BOLD },
	{ "dim", TA_DIM },
	{ "underline", TA_UNDERLINE },
	{ "reverse", TA_REVERSE },
	{ "standout", TA_STANDOUT },
	{ "italic", TA_ITALIC },
	{ "blink", TA_BLINK },
	{ "none", 0 },
	{ "normal", 0 },
};

const char *role_name(enum role r)
{
	return (unsigned)r < ROLE_MAX ? role_names[r] : "?";
}

int role_from_name(const char *name)
{
	for (int i = 0; i < ROLE_MAX; i++)
		if (!strcmp(role_names[i], name))
			return i;
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_color(const char *s, int16_t *out)
{
	char *end;
	long v;

	if (!strcmp(s, "default") || !strcmp(s, "-1")) {
		*out = THEME_DEFAULT_COLOR;
		return 0;
	}
	for (size_t i = 0; i < sizeof(color_names) / sizeof(color_names[0]); i++) {
		if (!strcmp(s, color_names[i])) {
			*out = (int16_t)i;
			return 0;
		}
	}
	if (!*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 255)
		return -1;
	*out = (int16_t)v;
	return 0;
}

static int parse_attrs(char *s, uint16_t *out, const char **bad)
{
	char *save = NULL;

	*out = 0;
	/* attributes combine with '|', '+' or spaces: "bold|underline" */
	for (char *tok = strtok_r(s, "|+ \t", &save); tok; tok = strtok_r(NULL, "|+ \t", &save)) {
		size_t i;

		for (i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
			if (!strcmp(tok, attr_names[i].name))
				break;
		if (i == sizeof(attr_names) / sizeof(attr_names[0])) {
			*bad = tok;
			return -1;
		}
		*out |= attr_names[i].bit;
	}
	return 0;
}

/* A word of the file quoted in an error, at most 40 bytes: escaped, as it goes to a terminal. */
static const char *esc_token(char out[4 * 40 + 1], const char *word)
{
	return ui_escape(out, 4 * 40 + 1, word, 40);
}

/*
 * echo: the file may be quoted in messages. pktlens reads theme files as
 * root, so a file that the person who ran it could not read is never
 * quoted: sudo pktlens --theme /etc/shadow must not print a line of it.
 */
static int parse_line(struct theme *t, char *line, char *err, size_t errlen, const char *where,
		      bool echo)
{
	char tok[4 * 40 + 1];
	char *eq = strchr(line, '=');
	char *fields[4] = { 0 };
	const char *bad = NULL;
	struct theme_style st = { .set = 1 };
	char *save = NULL, *rest;
	int nf = 0, role;

	if (!eq) {
		snprintf(err, errlen, "%s: missing '=' (expected \"role = fg,bg,attrs\")", where);
		return -EINVAL;
	}
	*eq = '\0';
	line = trim(line);
	role = role_from_name(line);
	if (role < 0) {
		if (echo)
			snprintf(err, errlen, "%s: unknown role '%s'", where, esc_token(tok, line));
		else
			snprintf(err, errlen, "%s: unknown role (expected \"role = fg,bg,attrs\")",
				 where);
		return -EINVAL;
	}
	rest = eq + 1;
	for (char *f = strtok_r(rest, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (nf == 3) {
			nf++;
			break;
		}
		fields[nf++] = trim(f);
	}
	if (nf < 2 || nf > 3) {
		snprintf(err, errlen, "%s: expected \"fg,bg\" or \"fg,bg,attrs\" after '='", where);
		return -EINVAL;
	}
	if (parse_color(fields[0], &st.fg) || parse_color(fields[1], &st.bg)) {
		const char *c = parse_color(fields[0], &st.fg) ? fields[0] : fields[1];

		snprintf(err, errlen,
			 "%s: unknown colour%s%s%s (use a name such as red or bright-blue, "
			 "0-255, or default)",
			 where, echo ? " '" : "", echo ? esc_token(tok, c) : "", echo ? "'" : "");
		return -EINVAL;
	}
	if (nf == 3 && parse_attrs(fields[2], &st.attrs, &bad)) {
		snprintf(err, errlen,
			 "%s: unknown attribute%s%s%s (use bold, dim, underline, reverse, "
			 "standout, italic, blink or none)",
			 where, echo ? " '" : "", echo ? esc_token(tok, bad) : "", echo ? "'" : "");
		return -EINVAL;
	}
	t->style[role] = st;
	return 0;
}

static int parse_buf(struct theme *t, const char *buf, const char *fname, bool echo, char *err,
		     size_t errlen)
{
	const char *p = buf;
	int lineno = 0;

	memset(t->style, 0, sizeof(t->style));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[512], where[PATH_MAX + 32], *s, *hash;
		int ret;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", fname, lineno);
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s: line too long", where);
			return -EINVAL;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl ? 1 : 0);
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		s = trim(line);
		if (!*s)
			continue;
		ret = parse_line(t, s, err, errlen, where, echo);
		if (ret)
			return ret;
	}
	/* roles a theme leaves out look like normal text rather than failing: new panes add roles */
	if (!t->style[ROLE_NORMAL].set)
		t->style[ROLE_NORMAL] =
		    (struct theme_style){ THEME_DEFAULT_COLOR, THEME_DEFAULT_COLOR, 0, 0 };
	for (int i = 1; i < ROLE_MAX; i++)
		if (!t->style[i].set)
			t->style[i] = (struct theme_style){ t->style[ROLE_NORMAL].fg,
							    t->style[ROLE_NORMAL].bg, 0, 0 };
	return 0;
}

int theme_parse_buf(struct theme *t, const char *buf, const char *fname, char *err, size_t errlen)
{
	return parse_buf(t, buf, fname, true, err, errlen);
}

int theme_load_file(struct theme *t, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t cap = 0, len = 0;
	const char *base, *dot;
	bool echo = false;
	int ret;
	/* read as root from a name the operator gave: no symlink, a regular file, root's or theirs */
	int fd = safefile_open_read(path, "theme file", &echo, err, errlen);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (!f) {
		if (fd >= 0) {
			close(fd);
			snprintf(err, errlen, "cannot open theme file %s", path);
			return -ENOMEM;
		}
		return fd;
	}
	for (;;) {
		size_t got;

		if (cap - len < 4096) {
			char *nb;

			/* theme files are a few lines; refuse anything that is clearly not one */
			if (cap >= (1 << 20)) {
				snprintf(err, errlen, "theme file %s is too large", path);
				ret = -EFBIG;
				goto cleanup;
			}
			nb = realloc(buf, cap + 8192);
			if (!nb) {
				snprintf(err, errlen, "out of memory reading %s", path);
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
			cap += 8192;
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (!got)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read theme file %s", path);
		ret = -EIO;
		goto cleanup;
	}
	buf[len] = '\0';
	ret = parse_buf(t, buf, path, echo, err, errlen);
	if (ret)
		goto cleanup;
	snprintf(t->path, sizeof(t->path), "%s", path);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strstr(base, ".theme");
	snprintf(t->name, sizeof(t->name), "%.*s", dot ? (int)(dot - base) : (int)strlen(base),
		 base);
cleanup:
	free(buf);
	fclose(f);
	return ret;
}

int theme_find(const char *spec, const char *theme_dir, char *out, size_t len, char *err,
	       size_t errlen)
{
	struct stat st;
	char names[16][64], list[256] = "";
	size_t n;

	theme_resolve(spec, theme_dir, out, len);
	if (strchr(spec, '/') || !stat(out, &st))
		return 0;
	n = theme_list(theme_dir ? theme_dir : "themes", names, 16);
	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 names[i]);
	/*
	 * A bare name is a theme, never a file in the current directory: as
	 * root, pktlens would read whatever someone left where the operator
	 * stands. A file there is named with a path.
	 */
	if (!lstat(spec, &st))
		snprintf(err, errlen,
			 "no theme named '%s' (looked for %s); to load the file %s in the current "
			 "directory, give it as ./%s",
			 spec, out, spec, spec);
	else
		snprintf(err, errlen, "no theme named '%s' (looked for %s%s%s)", spec, out,
			 n ? "; themes there: " : "", list);
	return -ENOENT;
}

void theme_resolve(const char *name_or_path, const char *theme_dir, char *out, size_t len)
{
	if (strchr(name_or_path, '/'))
		snprintf(out, len, "%s", name_or_path);
	else
		snprintf(out, len, "%s/%s.theme", theme_dir ? theme_dir : "themes", name_or_path);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

size_t theme_list(const char *dir, char names[][64], size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		size_t l = strlen(de->d_name);

		if (l <= 6 || l - 6 >= 64 || strcmp(de->d_name + l - 6, ".theme"))
			continue;
		snprintf(names[n++], 64, "%.*s", (int)(l - 6), de->d_name);
	}
	closedir(d);
	qsort(names, n, 64, cmp_name);
	return n;
}
