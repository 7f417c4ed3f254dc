/* Opening files that someone else may have named, as root: no symlinks, regular files, right owner. */
#ifndef PKTLENS_SAFEFILE_H
#define PKTLENS_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The person behind this run: the real uid when pktlens runs setuid or
 * with file capabilities, else SUDO_UID when sudo started it, else root.
 */
uid_t safefile_invoker(void);

/*
 * Opens PATH for reading without following a symlink in its last part,
 * without blocking on a FIFO or device, and only when it is a regular
 * file owned by root or by the invoker. Returns an fd, or -errno with one
 * sentence in err (what names the file's use: "theme file").
 * *may_quote tells whether the invoker could read the file anyway (it is
 * theirs, or everyone's to read), so that its contents may appear in
 * messages: run through sudo, pktlens must not print a line of
 * /etc/shadow to a user who named it as a theme.
 */
int safefile_open_read(const char *path, const char *what, bool *may_quote, char *err,
		       size_t errlen);

/*
 * Opens or creates PATH for appending (mode 0600 when created), with the
 * same rules, except that an existing file must belong to the invoker
 * (root's files only when root itself runs pktlens) and have one link.
 */
int safefile_open_append(const char *path, const char *what, char *err, size_t errlen);

#endif
