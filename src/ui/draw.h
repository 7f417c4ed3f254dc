/* Drawing for panes: text clipped to cells in a colour role, sparklines, sort arrows. */
#ifndef PKTLENS_UI_DRAW_H
#define PKTLENS_UI_DRAW_H

#include <stddef.h>
#include <wchar.h>

#include "ui/curses.h"
#include "ui/theme.h"

struct ui;

attr_t ui_attr(struct ui *ui, enum role r);
/* Text clipped or padded to exactly w cells at (y, x). */
void ui_put(struct ui *ui, int y, int x, int w, enum role r, const char *s);
/* Right-aligned variant. */
void ui_put_right(struct ui *ui, int y, int x, int w, enum role r, const char *s);
/* Text as wide as it is (clipped at the screen edge); returns the column after it. */
int ui_put_text(struct ui *ui, int y, int x, enum role r, const char *s);
/* A sparkline of w cells. */
void ui_put_spark(struct ui *ui, int y, int x, int w, enum role r, const float *v, size_t n);
/* The arrow a sorted column header or status shows: down for descending. */
const char *ui_sort_arrow(struct ui *ui, int down);

/*
 * What the screen writer does with text, without a terminal: converts s to at most cap - 1 wide
 * characters that fit in w cells, with anything that is not printable with a positive width
 * (controls, zero-width and bidirectional formatting characters) replaced by '?'. Returns the
 * characters and sets *cells to the cells they take.
 */
size_t ui_text_cells(const char *s, int w, wchar_t *wb, size_t cap, int *cells);

#endif
