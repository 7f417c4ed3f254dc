/* libFuzzer target: the screen writer's text conversion (ui_text_cells, src/ui/draw.c) on any bytes in a UTF-8 locale. */
#include <locale.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "fuzz.h"
#include "ui/draw.h"

/*
 * What reaches the terminal must take exactly the cells counted, each
 * character printable with a positive width: no C0/C1 controls, nothing
 * zero-width (U+200B.., U+FEFF) and no bidirectional formatting (U+202A..E,
 * U+2066..9, U+200E/F, U+061C) that could hide or reorder what follows.
 * Input: one byte for the width in cells, the rest is the text.
 */
static int bidi_or_invisible(wchar_t c)
{
	/* (U+00AD, the soft hyphen, is width 1 in glibc and terminals draw it as a hyphen) */
	return (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x2069) || c == 0xfeff || c == 0x061c || c == 0x180e ||
	       (c >= 0xe0000 && c <= 0xe007f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	static char s[4097];
	static wchar_t wb[512];
	if (!init) {
		FUZZ_CHECK(setlocale(LC_ALL, "C.UTF-8"), "no C.UTF-8 locale");
		init = 1;
	}
	if (size < 1 || size > sizeof(s))
		return 0;
	int w = data[0] % 200;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	int cells = -1;
	wmemset(wb, 0x2603, sizeof(wb) / sizeof(wb[0]));
	size_t k = ui_text_cells(s, w, wb, sizeof(wb) / sizeof(wb[0]), &cells);
	FUZZ_CHECK(k < sizeof(wb) / sizeof(wb[0]), "%zu characters", k);
	FUZZ_CHECK(cells >= 0 && cells <= w, "cells %d of %d", cells, w);
	int sum = 0;
	for (size_t i = 0; i < k; i++) {
		wchar_t c = wb[i];
		int cw = wcwidth(c);
		FUZZ_CHECK(cw > 0, "U+%04X (width %d) at %zu", (unsigned)c, cw, i);
		FUZZ_CHECK(c >= 0x20 && !(c >= 0x7f && c < 0xa0), "control U+%04X at %zu",
			   (unsigned)c, i);
		FUZZ_CHECK(!bidi_or_invisible(c), "format character U+%04X at %zu", (unsigned)c, i);
		sum += cw;
	}
	FUZZ_CHECK(sum == cells, "cells %d but the characters take %d", cells, sum);
	return 0;
}
