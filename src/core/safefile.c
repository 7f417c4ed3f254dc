/* Opening files that someone else may have named, as root: no symlinks, regular files, right owner. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/safefile.h"

uid_t safefile_invoker(void)
{
	if (getuid() != 0)
		return getuid();
	const char *s = getenv("SUDO_UID");
	if (!s || !*s)
		return 0;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v >= (unsigned long)(uid_t)-1)
		return 0;
	return (uid_t)v;
}

static int open_error(const char *path, const char *what, int e, char *err, size_t errlen)
{
	if (e == ELOOP)
		snprintf(err, errlen, "%s %s is a symbolic link; give the file it points to", what,
			 path);
	else
		snprintf(err, errlen, "cannot open %s %s: %s", what, path, strerror(e));
	return -e;
}

int safefile_open_read(const char *path, const char *what, bool *may_quote, char *err,
		       size_t errlen)
{
	/* O_NONBLOCK: a FIFO named as a theme must not hang the start */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return open_error(path, what, errno, err, errlen);
	struct stat st;
	int ret = 0;
	uid_t inv = safefile_invoker();
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(-ret));
	} else if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
	} else if (st.st_uid != 0 && st.st_uid != inv) {
		ret = -EPERM;
		snprintf(err, errlen,
			 "%s %s belongs to uid %u, not to root or uid %u who runs pktlens", what,
			 path, (unsigned)st.st_uid, (unsigned)inv);
	}
	if (ret) {
		close(fd);
		return ret;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (may_quote)
		*may_quote = (st.st_mode & S_IROTH) || st.st_uid == inv;
	return fd;
}

int safefile_open_append(const char *path, const char *what, char *err, size_t errlen)
{
	uid_t inv = safefile_invoker();
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		/* a new file: the invoker's, so that they can read their own log */
		if (inv != 0 && fchown(fd, inv, (gid_t)-1)) {
			/* stays root's: still readable with sudo */
		}
		return fd;
	}
	if (errno != EEXIST)
		return open_error(path, what, errno, err, errlen);
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return open_error(path, what, errno, err, errlen);
	struct stat st;
	int ret = 0;
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot use %s %s: %s", what, path, strerror(-ret));
	} else if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
	} else if (st.st_nlink != 1) {
		ret = -EPERM;
		snprintf(err, errlen,
			 "%s %s has %u hard links; pktlens appends only to a file of its own", what,
			 path, (unsigned)st.st_nlink);
	} else if (st.st_uid != inv) {
		ret = -EPERM;
		snprintf(err, errlen, "%s %s belongs to uid %u, not to uid %u who runs pktlens",
			 what, path, (unsigned)st.st_uid, (unsigned)inv);
	}
	if (ret) {
		close(fd);
		return ret;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}
