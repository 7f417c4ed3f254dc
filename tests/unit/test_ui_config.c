/* Unit tests for the settings file: parsing and its errors, the path, and the careful read and
 * atomic write (links refused, a bad file kept, modes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ui/config.h"

static struct config g_c;

static void test_parse(void **state)
{
	char err[128] = "";

	assert_int_equal(config_parse(&g_c,
				      "# a comment\n"
				      "\n"
				      "theme=light\n"
				      "  interval = 2 \r\n"
				      "flows.columns=proto,local\n"
				      "flows.sort=\n",
				      err, sizeof(err)),
			 0);
	assert_int_equal(g_c.n, 4);
	assert_string_equal(g_c.e[0].key, "theme");
	assert_string_equal(g_c.e[0].value, "light");
	assert_int_equal(g_c.e[0].line, 3);
	assert_string_equal(g_c.e[1].key, "interval");
	assert_string_equal(g_c.e[1].value, "2");
	assert_string_equal(g_c.e[2].value, "proto,local");
	assert_string_equal(g_c.e[3].value, "");
	assert_int_equal(config_parse(&g_c, "", err, sizeof(err)), 0);
	assert_int_equal(g_c.n, 0);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "theme light\n", "1: not a key=value line" },
		{ "ok=1\n=x\n", "2: no key before '='" },
		{ "Theme=x\n", "1: a key is made of a-z, 0-9, '_' and '.'" },
		{ "a b=x\n", "1: a key is made of a-z, 0-9, '_' and '.'" },
		{ "a=1\na=2\n", "2: 'a' set twice (also on line 1)" },
		{ "a=\x1b[31m\n", "1: value of 'a' is not printable text" },
		{ "a=\xc3\xa9\n", "1: value of 'a' is not printable text" },
	};
	char err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(config_parse(&g_c, cases[i].text, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
	}
}

static void test_path(void **state)
{
	char p[256];

	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(config_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/x/cfg/pktlens/pktlensrc");
	/* a relative XDG_CONFIG_HOME is not valid: HOME's .config */
	setenv("XDG_CONFIG_HOME", "rel", 1);
	assert_int_equal(config_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/home/u/.config/pktlens/pktlensrc");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	assert_int_equal(config_path(p, sizeof(p)), -1);
}

static void emit(FILE *f, void *ctx)
{
	fprintf(f, "%s", (const char *)ctx);
}

static void test_read_write(void **state)
{
	char dir[] = "/tmp/pl-config-XXXXXX", path[256], bad[280], err[512];
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/new/pktlens/pktlensrc", dir);
	/* missing: an empty config */
	assert_int_equal(config_read(&g_c, path, err, sizeof(err)), 0);
	assert_int_equal(g_c.n, 0);
	/* written with the folders it needs, private */
	assert_int_equal(config_write(path, 0, emit, "theme=light\n", err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	*strrchr(path, '/') = '\0';
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	strcat(path, "/pktlensrc");
	assert_int_equal(config_read(&g_c, path, err, sizeof(err)), 0);
	assert_int_equal(g_c.n, 1);
	assert_string_equal(g_c.e[0].value, "light");

	/* a bad file: the error names the file and line; keep_bad moves it aside */
	assert_int_equal(config_write(path, 0, emit, "x\n", err, sizeof(err)), 0);
	assert_int_equal(config_read(&g_c, path, err, sizeof(err)), -1);
	assert_string_equal(err, "pktlensrc:1: not a key=value line");
	assert_int_equal(config_write(path, 1, emit, "theme=dark\n", err, sizeof(err)), 0);
	snprintf(bad, sizeof(bad), "%s.bad", path);
	assert_int_equal(config_read(&g_c, path, err, sizeof(err)), 0);
	assert_string_equal(g_c.e[0].value, "dark");
	assert_int_equal(stat(bad, &st), 0);
	unlink(bad);

	/* a symbolic link is not followed (pktlens runs as root) */
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(config_read(&g_c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is a symbolic link"));
	unlink(path);
	/* not a regular file */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(config_read(&g_c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	rmdir(path);
	/* someone else's file is not read */
	assert_int_equal(config_write(path, 0, emit, "theme=x\n", err, sizeof(err)), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, 4242), 0);
		unsetenv("SUDO_UID");
		assert_int_equal(config_read(&g_c, path, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "belongs to uid 4242"));
		/* unless sudo ran pktlens for that user */
		setenv("SUDO_UID", "4242", 1);
		assert_int_equal(config_read(&g_c, path, err, sizeof(err)), 0);
		unsetenv("SUDO_UID");
	}
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_read_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
