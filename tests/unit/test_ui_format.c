/* Unit tests for the screen's text: human units, durations, RTTs, sparklines and escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include <locale.h>
#include <wchar.h>

#include "ui/draw.h"
#include "ui/format.h"

static void test_human(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" },	  { 5, "5" },	       { 0.5, "0.5" },	     { 9.9, "9.9" },
		{ 12.7, "13" },	  { 999, "999" },      { 999.4, "999" },     { 999.5, "1.0K" },
		{ 1000, "1.0K" }, { 1500, "1.5K" },    { 999949, "999.9K" }, { 999950, "1.0M" },
		{ 1e6, "1.0M" },  { 33.6e6, "33.6M" }, { 2.5e9, "2.5G" },    { 1e12, "1.0T" },
		{ -1, "-" },	  { NAN, "-" },
	};
	char buf[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt_human(cases[i].v, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want))
			fail_msg("fmt_human(%g) = '%s', want '%s'", cases[i].v, buf, cases[i].want);
	}
}

static void test_duration(void **state)
{
	static const struct {
		double s;
		const char *want;
	} cases[] = {
		{ 0, "0s" },	   { 59.9, "59s" },	{ 60, "1m00s" },    { 3599, "59m59s" },
		{ 3600, "1h00m" }, { 86399, "23h59m" }, { 90061, "1d01h" }, { -1, "-" },
	};
	char buf[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(fmt_duration(cases[i].s, buf, sizeof(buf)), cases[i].want);
}

static void test_usec(void **state)
{
	char buf[16];

	assert_string_equal(fmt_usec(0, buf, sizeof(buf)), "-");
	assert_string_equal(fmt_usec(850, buf, sizeof(buf)), "850us");
	assert_string_equal(fmt_usec(1200, buf, sizeof(buf)), "1.2ms");
	assert_string_equal(fmt_usec(1250000, buf, sizeof(buf)), "1.25s");
}

static void test_endpoint(void **state)
{
	char buf[64];

	assert_string_equal(fmt_endpoint("10.0.0.1", 80, 0, buf, sizeof(buf)), "10.0.0.1:80");
	assert_string_equal(fmt_endpoint("fe80::1", 443, 1, buf, sizeof(buf)), "[fe80::1]:443");
}

static void test_sparkline(void **state)
{
	const float v[5] = { 0, 1, 2, 4, 8 };
	const float zero[3] = { 0, 0, 0 };
	char out[64];

	/* levels round(x/8*7): 1 -> 1, 2 -> 2, 4 -> 4, 8 -> 7; zero is blank */
	assert_int_equal(sparkline(v, 5, 5, 0, out, sizeof(out)), 5);
	assert_string_equal(out, " .,=#");
	/* three cells of missing history on the left */
	assert_int_equal(sparkline(v, 5, 8, 0, out, sizeof(out)), 8);
	assert_string_equal(out, "    .,=#");
	/* narrower than the history: the newest samples, rescaled to their own max */
	assert_int_equal(sparkline(v, 5, 3, 0, out, sizeof(out)), 3);
	assert_string_equal(out, ",=#");
	assert_int_equal(sparkline(v + 3, 2, 2, 1, out, sizeof(out)), 2);
	assert_string_equal(out, "\u2585\u2588"); /* 4/8*7 = 3.5 rounds to level 4 */
	assert_int_equal(sparkline(zero, 3, 3, 1, out, sizeof(out)), 3);
	assert_string_equal(out, "   ");
	/* a tiny non-zero value still shows */
	{
		const float t[2] = { 0.001f, 1000 };

		sparkline(t, 2, 2, 0, out, sizeof(out));
		assert_string_equal(out, "_#");
	}
}

static void test_escape(void **state)
{
	char out[64];

	assert_string_equal(ui_escape(out, sizeof(out), "nginx", 16), "nginx");
	assert_string_equal(ui_escape(out, sizeof(out), "a\x1b[31mb", 16), "a\\x1b[31mb");
	assert_string_equal(ui_escape(out, sizeof(out), "tab\t", 16), "tab\\x09");
	assert_string_equal(ui_escape(out, sizeof(out), "back\\", 16), "back\\\\");
	assert_string_equal(ui_escape(out, sizeof(out), "\xc3\xa9", 16), "\\xc3\\xa9");
	/* n bounds an unterminated field */
	assert_string_equal(ui_escape(out, sizeof(out), "abcdef", 3), "abc");
	/* an escape that does not fit is left out whole */
	assert_string_equal(ui_escape(out, 5, "ab\x01", 16), "ab");
	assert_string_equal(ui_escape(out, 1, "abc", 16), "");
}

/* One unit per kind: bits per second, bytes, "ago" for last seen, wall clock for events. */
static void test_units(void **state)
{
	char buf[32];

	assert_string_equal(fmt_bits(26600, buf, sizeof(buf)), "26.6Kb/s");
	assert_string_equal(fmt_bits(0, buf, sizeof(buf)), "0b/s");
	assert_string_equal(fmt_bits(2.5e9, buf, sizeof(buf)), "2.5Gb/s");
	assert_string_equal(fmt_bits(-1, buf, sizeof(buf)), "-");
	assert_string_equal(fmt_bytes(4800, buf, sizeof(buf)), "4.8KB");
	assert_string_equal(fmt_bytes(999, buf, sizeof(buf)), "999B");
	assert_string_equal(fmt_bytes(NAN, buf, sizeof(buf)), "-");
	assert_string_equal(fmt_ago(45.2, buf, sizeof(buf)), "45s ago");
	assert_string_equal(fmt_ago(723, buf, sizeof(buf)), "12m03s ago");
	assert_string_equal(fmt_ago(-1, buf, sizeof(buf)), "never");
	assert_string_equal(fmt_clock(0, buf, sizeof(buf)), "-");
	/* 12:34:56.789 local time of today, whatever the zone: the format is what counts */
	fmt_clock(1700000000.789, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 12);
	assert_true(buf[2] == ':' && buf[5] == ':' && buf[8] == '.');
	assert_string_equal(buf + 9, "789");
}

/* What the screen writer passes to the terminal: never a control, a zero-width or a bidi
 * character, whatever text a pane hands it. */
static void test_writer_rejects_invisible(void **state)
{
	static const struct {
		const char *in;
		const wchar_t *want;
	} cases[] = {
		{ "plain", L"plain" },
		{ "a\u202eb", L"a?b" },		 /* RIGHT-TO-LEFT OVERRIDE */
		{ "a\u2066b\u2069c", L"a?b?c" }, /* isolates */
		{ "a\u200fb", L"a?b" },		 /* RIGHT-TO-LEFT MARK */
		{ "a\u200bb", L"a?b" },		 /* ZERO WIDTH SPACE */
		{ "a\u200db", L"a?b" },		 /* ZERO WIDTH JOINER */
		{ "e\u0301", L"e?" },		 /* combining acute */
		{ "a\x1b[31mb", L"a?[31mb" },	 /* ESC */
		{ "tab\t", L"tab?" },
		{ "\u25bc\u2581", L"\u25bc\u2581" }, /* our own arrows and blocks pass */
		{ "bad\xff", L"bad?" },		     /* not UTF-8: bytes as ASCII */
	};
	wchar_t wb[64];
	int cells;

	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = ui_text_cells(cases[i].in, 40, wb, 64, &cells);

		wb[n] = L'\0';
		if (wcscmp(wb, cases[i].want))
			fail_msg("case %zu: got '%ls', want '%ls'", i, wb, cases[i].want);
		assert_int_equal(cells, (int)wcslen(cases[i].want));
	}
	/* clipped to the cells given */
	assert_int_equal(ui_text_cells("abcdef", 3, wb, 64, &cells), 3);
	assert_int_equal(cells, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_usec),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_writer_rejects_invisible),
		cmocka_unit_test(test_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
