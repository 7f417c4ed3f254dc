/* The terminal: curses setup and teardown, size changes, and the emergency restore for signal and exit paths. */
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ui/curses.h"
#include "ui/term.h"
#include "ui/ui.h"

/*
 * Emergency restore runs from signal handlers and atexit, where curses may be
 * half way through a write: so it only writes a byte string prepared at start
 * and restores the saved termios, both async-signal-safe.
 */
static volatile sig_atomic_t g_term_live;
static char g_restore[256];
static size_t g_restore_len;
static struct termios g_tio;
static int g_tio_fd = -1;
static SCREEN *g_screen;

double ui_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void ui_emergency_restore(void)
{
	if (!g_term_live)
		return;
	g_term_live = 0;
	if (g_restore_len) {
		ssize_t r = write(STDOUT_FILENO, g_restore, g_restore_len);
		(void)r;
	}
	if (g_tio_fd >= 0)
		tcsetattr(g_tio_fd, TCSANOW, &g_tio);
}

static void restore_add(const char *cap)
{
	const char *s = tigetstr((char *)cap);
	size_t l;

	if (!s || s == (char *)-1)
		return;
	l = strlen(s);
	if (g_restore_len + l >= sizeof(g_restore))
		return;
	memcpy(g_restore + g_restore_len, s, l);
	g_restore_len += l;
}

static void restore_prepare(void)
{
	/* xterm mouse reporting off: harmless on terminals that never turned it on */
	static const char mouse_off[] = "\033[?1000l\033[?1002l\033[?1003l\033[?1006l";

	g_restore_len = 0;
	memcpy(g_restore, mouse_off, sizeof(mouse_off) - 1);
	g_restore_len = sizeof(mouse_off) - 1;
	restore_add("sgr0");
	restore_add("cnorm");
	restore_add("rmkx");
	restore_add("rmcup");
}

static void atexit_restore(void)
{
	ui_emergency_restore();
}

int term_open(int *utf8, char *err, size_t errlen)
{
	static int atexit_done;

	setlocale(LC_CTYPE, "");
	*utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");

	g_tio_fd = isatty(STDOUT_FILENO) ? STDOUT_FILENO : STDIN_FILENO;
	if (tcgetattr(g_tio_fd, &g_tio))
		g_tio_fd = -1;
	g_screen = newterm(NULL, stdout, stdin);
	if (!g_screen) {
		const char *term = getenv("TERM");

		snprintf(err, errlen, "cannot use the terminal (TERM=%s); try --json",
			 term ? term : "unset");
		return -1;
	}
	restore_prepare();
	g_term_live = 1;
	if (!atexit_done) {
		atexit(atexit_restore);
		atexit_done = 1;
	}

	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	return 0;
}

void term_close(void)
{
	if (!g_screen)
		return;
	g_term_live = 0;
	mousemask(0, NULL);
	endwin();
	delscreen(g_screen);
	g_screen = NULL;
	/* endwin leaves mouse reporting to the terminal's mercy; turn it off explicitly */
	fputs("\033[?1000l\033[?1006l", stdout);
	fflush(stdout);
}

int term_check_size(void)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col &&
	    (ws.ws_row != LINES || ws.ws_col != COLS)) {
		resizeterm(ws.ws_row, ws.ws_col);
		return 1;
	}
	return 0;
}
