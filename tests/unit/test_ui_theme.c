/* Unit tests for theme files: every shipped theme is complete and parses; bad files name file and line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ui/theme.h"

static char theme_dir[PATH_MAX];

/* The shipped themes: $PKTLENS_THEME_DIR, else themes/ found from build/tests/ or the cwd. */
static int find_theme_dir(void **state)
{
	const char *env = getenv("PKTLENS_THEME_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(theme_dir, sizeof(theme_dir), "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(theme_dir, sizeof(theme_dir), "%.4000s/../../themes", exe);
			if (!access(theme_dir, R_OK))
				return 0;
		}
	}
	snprintf(theme_dir, sizeof(theme_dir), "themes");
	return access(theme_dir, R_OK) ? -1 : 0;
}

static void test_shipped_themes(void **state)
{
	static const char *const required[] = { "default", "light", "monochrome", "high-contrast" };
	char names[32][64], path[PATH_MAX], err[PATH_MAX + 128];
	size_t n = theme_list(theme_dir, names, 32);

	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++) {
		int found = 0;

		for (size_t i = 0; i < n; i++)
			found |= !strcmp(names[i], required[r]);
		if (!found)
			fail_msg("theme %s missing from %s", required[r], theme_dir);
	}
	for (size_t i = 0; i < n; i++) {
		struct theme t;

		theme_resolve(names[i], theme_dir, path, sizeof(path));
		if (theme_load_file(&t, path, err, sizeof(err)))
			fail_msg("%s", err);
		assert_string_equal(t.name, names[i]);
		/* a shipped theme sets every role, so a new role cannot be forgotten */
		for (int ro = 0; ro < ROLE_MAX; ro++)
			if (!t.style[ro].set)
				fail_msg("theme %s does not set role %s", names[i], role_name(ro));
	}
}

static void test_monochrome_has_no_colour(void **state)
{
	char path[PATH_MAX], err[PATH_MAX + 128];
	struct theme t;

	theme_resolve("monochrome", theme_dir, path, sizeof(path));
	assert_int_equal(theme_load_file(&t, path, err, sizeof(err)), 0);
	for (int r = 0; r < ROLE_MAX; r++) {
		assert_int_equal(t.style[r].fg, THEME_DEFAULT_COLOR);
		assert_int_equal(t.style[r].bg, THEME_DEFAULT_COLOR);
	}
	/* the selection must still be visible without colour */
	assert_true(t.style[ROLE_SELECTED].attrs & TA_REVERSE);
}

static void test_parse_values(void **state)
{
	struct theme t;
	char err[256];
	const char *buf = "# comment line\n"
			  "\n"
			  "normal = white , black\n"
			  "selected = 0, 255 , bold|reverse # trailing comment\n"
			  "title=bright-blue,default,underline+italic\n";

	assert_int_equal(theme_parse_buf(&t, buf, "t.theme", err, sizeof(err)), 0);
	assert_int_equal(t.style[ROLE_NORMAL].fg, 7);
	assert_int_equal(t.style[ROLE_NORMAL].bg, 0);
	assert_int_equal(t.style[ROLE_NORMAL].attrs, 0);
	assert_int_equal(t.style[ROLE_SELECTED].fg, 0);
	assert_int_equal(t.style[ROLE_SELECTED].bg, 255);
	assert_int_equal(t.style[ROLE_SELECTED].attrs, TA_BOLD | TA_REVERSE);
	assert_int_equal(t.style[ROLE_TITLE].fg, 12);
	assert_int_equal(t.style[ROLE_TITLE].bg, THEME_DEFAULT_COLOR);
	assert_int_equal(t.style[ROLE_TITLE].attrs, TA_UNDERLINE | TA_ITALIC);
	/* a role the file leaves out takes normal's colours, no attributes */
	assert_int_equal(t.style[ROLE_HEADER].set, 0);
	assert_int_equal(t.style[ROLE_HEADER].fg, 7);
	assert_int_equal(t.style[ROLE_HEADER].bg, 0);
	assert_int_equal(t.style[ROLE_HEADER].attrs, 0);
}

static void expect_error(const char *buf, const char *where, const char *what)
{
	struct theme t;
	char err[512] = "";

	if (!theme_parse_buf(&t, buf, "bad.theme", err, sizeof(err)))
		fail_msg("accepted: %s", buf);
	if (!strstr(err, where) || !strstr(err, what))
		fail_msg("error '%s' lacks '%s' or '%s'", err, where, what);
}

static void test_bad_buffers(void **state)
{
	expect_error("# c\nnormal = red,default\nfoo = red,blue\n",
		     "bad.theme:3:", "unknown role 'foo'");
	expect_error("normal = purple,default\n", "bad.theme:1:", "unknown colour 'purple'");
	expect_error("normal = red,256\n", "bad.theme:1:", "unknown colour '256'");
	expect_error("normal = red,-2\n", "bad.theme:1:", "unknown colour '-2'");
	expect_error("\n\nselected red,blue\n", "bad.theme:3:", "missing '='");
	expect_error("normal = red,blue,bold|shiny\n", "bad.theme:1:", "unknown attribute 'shiny'");
	expect_error("normal = red\n", "bad.theme:1:", "fg,bg");
	expect_error("normal = red,blue,bold,extra\n", "bad.theme:1:", "fg,bg");
	expect_error("normal =\n", "bad.theme:1:", "fg,bg");
	expect_error(" = red,blue\n", "bad.theme:1:", "unknown role ''");
	/* found by tests/fuzz/fuzz_theme: words from the file reach stderr escaped, never raw */
	expect_error("normal = \x1b[2J\x1b]0;owned\x07,default\n",
		     "bad.theme:1:", "unknown colour '\\x1b[2J\\x1b]0;owned\\x07'");
	expect_error("n\xc3\xa9\xe2\x80\xae"
		     "al = red,blue\n",
		     "bad.theme:1:", "unknown role 'n\\xc3\\xa9\\xe2\\x80\\xaeal'");
}

static void test_bad_file_names_path_and_line(void **state)
{
	char path[] = "/tmp/pktlens-theme-XXXXXX";
	char err[PATH_MAX + 128], want[PATH_MAX + 8];
	struct theme t;
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("normal = default,default\nheader = black,green\nselected = black,cyam\n", f);
	fclose(f);
	assert_int_not_equal(theme_load_file(&t, path, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s:3:", path);
	if (!strstr(err, want) || !strstr(err, "cyam"))
		fail_msg("error '%s' does not name %s", err, want);
	unlink(path);

	assert_int_not_equal(theme_load_file(&t, "/nonexistent/x.theme", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/x.theme"));
}

static void test_resolve(void **state)
{
	char out[PATH_MAX];

	theme_resolve("light", "/usr/share/pktlens/themes", out, sizeof(out));
	assert_string_equal(out, "/usr/share/pktlens/themes/light.theme");
	theme_resolve("./my.theme", "/x", out, sizeof(out));
	assert_string_equal(out, "./my.theme");
	theme_resolve("/etc/pk/dark.theme", "/x", out, sizeof(out));
	assert_string_equal(out, "/etc/pk/dark.theme");
}

static void test_roles(void **state)
{
	for (int r = 0; r < ROLE_MAX; r++) {
		assert_string_not_equal(role_name(r), "?");
		assert_int_equal(role_from_name(role_name(r)), r);
	}
	assert_int_equal(role_from_name("nope"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_themes),
		cmocka_unit_test(test_monochrome_has_no_colour),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_bad_buffers),
		cmocka_unit_test(test_bad_file_names_path_and_line),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, find_theme_dir, NULL);
}
