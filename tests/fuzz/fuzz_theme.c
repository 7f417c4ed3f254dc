/* libFuzzer target: the theme file parser (src/ui/theme.c): errors are one safe line, a parsed theme prints and re-parses to itself. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "ui/theme.h"

static const char *const colors[] = {
	"black",	"red",		 "green",	"yellow",	  "blue",
	"magenta",	"cyan",		 "white",	"bright-black",	  "bright-red",
	"bright-green", "bright-yellow", "bright-blue", "bright-magenta", "bright-cyan",
	"bright-white",
};

/* Writes the theme back as a theme file, mixing names and numbers for colours. */
static size_t print_theme(const struct theme *t, char *out, size_t cap, unsigned salt)
{
	static const char *const attrs[] = { "bold",	 "dim",	   "underline", "reverse",
					     "standout", "italic", "blink" };
	size_t o = 0;
	out[0] = '\0';
	for (int r = 0; r < ROLE_MAX; r++) {
		const struct theme_style *s = &t->style[r];
		char fg[16], bg[16], at[128] = "none";
		if (!s->set)
			continue;
		for (int k = 0; k < 2; k++) {
			int c = k ? s->bg : s->fg;
			char *d = k ? bg : fg;
			if (c < 0)
				snprintf(d, 16, "default");
			else if (c < 16 && ((salt >> r) & 1))
				snprintf(d, 16, "%s", colors[c]);
			else
				snprintf(d, 16, "%d", c);
		}
		size_t al = 0;
		for (int b = 0; b < 7; b++)
			if (s->attrs & (1u << b))
				al += (size_t)snprintf(at + al, sizeof(at) - al, "%s%s",
						       al ? "|" : "", attrs[b]);
		o += (size_t)snprintf(out + o, cap - o, "%s = %s, %s, %s # again\n",
				      role_name((enum role)r), fg, bg, at);
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct theme t, again;
	char err[512], err2[512];
	char *buf = malloc(size + 1);

	FUZZ_CHECK(buf, "malloc");
	memcpy(buf, data, size);
	buf[size] = '\0';
	memset(err, 0x55, sizeof(err));
	int ret = theme_parse_buf(&t, buf, "fuzz.theme", err, sizeof(err));
	free(buf);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL, "ret %d", ret);
	if (ret) {
		/* one line that names the file and line, and nothing that drives a terminal */
		size_t el = strnlen(err, sizeof(err));
		FUZZ_CHECK(el > 0 && el < sizeof(err), "error not terminated");
		FUZZ_CHECK(!strncmp(err, "fuzz.theme:", 11), "error does not name the file: %s",
			   err);
		for (size_t i = 0; i < el; i++)
			FUZZ_CHECK((unsigned char)err[i] >= 0x20 && (unsigned char)err[i] < 0x7f,
				   "byte %#x in the error message at %zu", (unsigned char)err[i],
				   i);
		return 0;
	}
	for (int r = 0; r < ROLE_MAX; r++) {
		const struct theme_style *s = &t.style[r];
		FUZZ_CHECK(s->fg >= -1 && s->fg <= 255 && s->bg >= -1 && s->bg <= 255,
			   "role %d colours %d %d", r, s->fg, s->bg);
		FUZZ_CHECK(!(s->attrs & ~0x7fu), "role %d attrs %#x", r, s->attrs);
		/* an unset role looks like normal text */
		if (!s->set)
			FUZZ_CHECK(s->fg == t.style[ROLE_NORMAL].fg &&
				       s->bg == t.style[ROLE_NORMAL].bg && !s->attrs,
				   "role %d not inherited", r);
	}
	static char text[ROLE_MAX * 160];
	print_theme(&t, text, sizeof(text), size ? data[0] : 0);
	int ret2 = theme_parse_buf(&again, text, "again.theme", err2, sizeof(err2));
	FUZZ_CHECK(!ret2, "printed theme does not parse: %s\n%s", err2, text);
	for (int r = 0; r < ROLE_MAX; r++) {
		const struct theme_style *a = &t.style[r], *b = &again.style[r];
		FUZZ_CHECK(a->fg == b->fg && a->bg == b->bg && a->attrs == b->attrs,
			   "role %s: %d,%d,%#x became %d,%d,%#x", role_name((enum role)r), a->fg,
			   a->bg, a->attrs, b->fg, b->bg, b->attrs);
	}
	return 0;
}
