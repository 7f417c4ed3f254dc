/* --replay: a recording in the terminal UI or as JSON lines, without BPF or privileges. */
#ifndef PKTLENS_APP_REPLAY_H
#define PKTLENS_APP_REPLAY_H

#include <signal.h>

struct json_opts;
struct ui_opts;

/*
 * Opens the recording at path (one sentence on stderr and 1 when it is not
 * a whole, undamaged recording) and shows it: as JSON lines when json, else
 * in the terminal UI until q or one of exit_sigs (blocked by the caller),
 * whose number then lands in *exit_sig. Returns the exit status.
 */
int replay_run(const char *path, int json, const struct json_opts *jo, const struct ui_opts *uo,
	       const sigset_t *exit_sigs, int *exit_sig);

#endif
