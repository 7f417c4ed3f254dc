/* The terminal: curses setup and teardown, size changes, and the restore that signal paths can run. */
#ifndef PKTLENS_UI_TERM_H
#define PKTLENS_UI_TERM_H

#include <stddef.h>

/* Takes over the terminal (alternate screen, cbreak, keypad, mouse); sets *utf8. Returns 0, or
 * -1 with one sentence in err. Only one terminal at a time. */
int term_open(int *utf8, char *err, size_t errlen);
/* Gives the terminal back; safe when it was never opened. */
void term_close(void);
/* Follows a size change the kernel reports; returns 1 when the size changed. */
int term_check_size(void);

#endif
