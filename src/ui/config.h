/* Saved settings: $XDG_CONFIG_HOME/pktlens/pktlensrc, htoprc style (key=value lines), read at
 * start and written on quit. */
#ifndef PKTLENS_UI_CONFIG_H
#define PKTLENS_UI_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_MAX_ENTRIES 256
#define CONFIG_MAX_BYTES (64 * 1024)

struct config_entry {
	char key[64];
	char value[512];
	int line;
};

struct config {
	struct config_entry e[CONFIG_MAX_ENTRIES];
	size_t n;
};

/* The settings file: $XDG_CONFIG_HOME/pktlens/pktlensrc, else $HOME/.config/pktlens/pktlensrc;
 * -1 when neither variable is set (or the path is too long). */
int config_path(char *out, size_t len);
/* Parses text: blank lines and '#' comments are skipped, every other line is key=value with a
 * key of [a-z0-9_.] and a printable value. Returns 0, or -1 with "LINE: what is wrong" in err. */
int config_parse(struct config *c, const char *text, char *err, size_t errlen);
/* Reads and parses path; a missing file is an empty config. The file must be a regular file
 * (not a link) owned by the user running pktlens, root, or the user sudo ran it for, at most
 * CONFIG_MAX_BYTES. Returns 0,
 * or -1 with "pktlensrc:LINE: what is wrong" (or why PATH was not read) in err. */
int config_read(struct config *c, const char *path, char *err, size_t errlen);
/*
 * Writes the file through emit(f, ctx) atomically (a new file renamed over the old), creating
 * the folders (mode 0700) as needed; keep_bad first renames an existing file to PATH.bad so a
 * file that did not parse is kept for its owner to look at. Returns 0, or -1 with one sentence.
 */
int config_write(const char *path, int keep_bad, void (*emit)(FILE *f, void *ctx), void *ctx,
		 char *err, size_t errlen);

#endif
