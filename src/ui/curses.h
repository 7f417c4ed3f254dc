/* The one place src/ui includes curses from, with wide-character support switched on. */
#ifndef PKTLENS_UI_CURSES_H
#define PKTLENS_UI_CURSES_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncursesw/curses.h>

#endif
