/* The screen writer: every text reaches the terminal through here, clipped to its cells, with
 * nothing that could move the cursor, change colours or reorder what is shown. */
#include <string.h>
#include <wchar.h>

#include "ui/draw.h"
#include "ui/format.h"
#include "ui/screen.h"

attr_t ui_attr(struct ui *ui, enum role r)
{
	return ui->attr[(unsigned)r < ROLE_MAX ? r : ROLE_NORMAL];
}

/* Characters that reorder or hide text around them: bidirectional embeddings, overrides,
 * isolates and marks. glibc gives them width 0, but a terminal may still act on them. */
static int bidi_control(wchar_t c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
	       c == 0x200f || c == 0x061c;
}

size_t ui_text_cells(const char *s, int w, wchar_t *wb, size_t cap, int *cells)
{
	mbstate_t st = { 0 };
	const char *p = s;
	size_t n = mbsrtowcs(wb, &p, cap - 1, &st), k;
	int used = 0;

	if (n == (size_t)-1) {
		/* invalid multibyte text: show bytes as ASCII, never as raw terminal input */
		for (n = 0; s[n] && n < cap - 1; n++)
			wb[n] = (s[n] > 0x1f && s[n] < 0x7f) ? (wchar_t)s[n] : L'?';
	}
	wb[n] = L'\0';
	for (k = 0; k < n; k++) {
		int cw = wcwidth(wb[k]);

		/* controls (-1), and anything of width 0 (combining marks, zero-width spaces,
		 * joiners, bidi controls): nothing that is not seen reaches the terminal */
		if (cw <= 0 || bidi_control(wb[k])) {
			wb[k] = L'?';
			cw = 1;
		}
		if (used + cw > w)
			break;
		used += cw;
	}
	*cells = used;
	return k;
}

static void put_common(struct ui *ui, int y, int x, int w, enum role r, const char *s, int right)
{
	wchar_t wb[512];
	int cells;
	size_t k;

	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return;
	if (x + w > COLS)
		w = COLS - x;
	k = ui_text_cells(s ? s : "", w, wb, sizeof(wb) / sizeof(wb[0]), &cells);
	attrset(ui_attr(ui, r));
	if (right) {
		mvhline(y, x, ' ', w - cells);
		mvaddnwstr(y, x + w - cells, wb, (int)k);
	} else {
		mvaddnwstr(y, x, wb, (int)k);
		if (cells < w)
			mvhline(y, x + cells, ' ', w - cells);
	}
}

void ui_put(struct ui *ui, int y, int x, int w, enum role r, const char *s)
{
	put_common(ui, y, x, w, r, s, 0);
}

void ui_put_right(struct ui *ui, int y, int x, int w, enum role r, const char *s)
{
	put_common(ui, y, x, w, r, s, 1);
}

int ui_put_text(struct ui *ui, int y, int x, enum role r, const char *s)
{
	int w = (int)strlen(s);

	if (x >= COLS)
		return x;
	if (x + w > COLS)
		w = COLS - x;
	ui_put(ui, y, x, w, r, s);
	return x + w;
}

void ui_put_spark(struct ui *ui, int y, int x, int w, enum role r, const float *v, size_t n)
{
	char buf[3 * 256 + 1];

	if (w > 256)
		w = 256;
	sparkline(v, n, (size_t)(w > 0 ? w : 0), ui->utf8, buf, sizeof(buf));
	ui_put(ui, y, x, w, r, buf);
}

const char *ui_sort_arrow(struct ui *ui, int down)
{
	if (ui->utf8)
		return down ? "\u25bc" : "\u25b2";
	return down ? "v" : "^";
}
