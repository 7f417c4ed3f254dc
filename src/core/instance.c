/* Which pktlens is alive: each running instance holds a lock on /run/pktlens/PID, and lists there what it owns. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/instance.h"
#include "core/log.h"

/*
 * Why a lock and not the process name: a pktlens may run under any file
 * name (a copy, a wrapper, a container entry point), and any process may
 * be called pktlens. The kernel drops an flock when its holder dies, also
 * on kill -9, so "the file exists and nobody holds its lock" means exactly
 * "that pktlens is gone".
 */
static int dir_fd = -1;
static int lock_fd = -1;
static char my_name[16];

unsigned instance_name_pid(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > 10 || name[0] == '0' || strspn(name, "0123456789") != n)
		return 0;
	unsigned long v = strtoul(name, NULL, 10);
	return v <= 0x7fffffffUL ? (unsigned)v : 0;
}

static int open_dir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", dir,
			 e == ELOOP || e == ENOTDIR ? "it is not a directory" : strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen,
			 "%s is not pktlens' own directory (it must belong to root and be writable "
			 "only by root); remove it and start again",
			 dir);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int instance_start(const char *dir, char *err, size_t errlen)
{
	if (lock_fd >= 0)
		return 0;
	int dfd = open_dir(dir ? dir : PL_RUN_DIR, err, errlen);
	if (dfd < 0)
		return dfd;
	snprintf(my_name, sizeof(my_name), "%d", (int)getpid());
	/*
	 * Another pktlens may be removing a dead file of the same name (pid
	 * reuse) while holding its lock: wait for it, then check that the
	 * file we locked is still the one under that name.
	 */
	for (int tries = 0; tries < 200; tries++) {
		int fd = openat(dfd, my_name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, errlen, "cannot create %s/%s: %s", dir ? dir : PL_RUN_DIR,
				 my_name, strerror(errno));
			close(dfd);
			return -errno;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			close(fd);
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		struct stat a, b;
		if (fstat(fd, &a) || fstatat(dfd, my_name, &b, AT_SYMLINK_NOFOLLOW) ||
		    a.st_ino != b.st_ino || a.st_dev != b.st_dev || !S_ISREG(a.st_mode)) {
			close(fd);
			continue;
		}
		char line[64];
		int n = snprintf(line, sizeof(line), "pktlens pid=%d\n", (int)getpid());
		if (ftruncate(fd, 0) || write(fd, line, (size_t)n) != n) {
			snprintf(err, errlen, "cannot write %s/%s: %s", dir ? dir : PL_RUN_DIR,
				 my_name, strerror(errno));
			close(fd);
			close(dfd);
			return -EIO;
		}
		dir_fd = dfd;
		lock_fd = fd;
		return 0;
	}
	snprintf(err, errlen,
		 "%s/%s stays locked by another process (a pktlens in another pid "
		 "namespace?)",
		 dir ? dir : PL_RUN_DIR, my_name);
	close(dfd);
	return -EBUSY;
}

void instance_end(void)
{
	if (lock_fd < 0)
		return;
	unlinkat(dir_fd, my_name, 0);
	close(lock_fd);
	close(dir_fd);
	lock_fd = dir_fd = -1;
}

int instance_claim_prog(uint32_t prog_id)
{
	if (lock_fd < 0)
		return -EBADF;
	if (instance_owns_prog(prog_id))
		return 0;
	char line[32];
	int n = snprintf(line, sizeof(line), "prog=%u\n", prog_id);
	/* one append per claim: a reader sees a claim whole or not at all, never a rewrite */
	if (lseek(lock_fd, 0, SEEK_END) < 0 || write(lock_fd, line, (size_t)n) != n)
		return -errno;
	return 0;
}

static bool file_claims(int fd, uint32_t prog_id)
{
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *sv, *l = strtok_r(buf, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
		/* a line without its newline is still being written: not a claim yet */
		if (l + strlen(l) == buf + n)
			break;
		unsigned v;
		char extra;
		if (sscanf(l, "prog=%u%c", &v, &extra) == 1 && v == prog_id)
			return true;
	}
	return false;
}

bool instance_owns_prog(uint32_t prog_id)
{
	return lock_fd >= 0 && file_claims(lock_fd, prog_id);
}

/* Opens an instance file of another pid; *live tells whether its holder is alive. */
static int open_other(const char *name, bool *live)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	*live = flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;
	if (!*live)
		flock(fd, LOCK_UN);
	return fd;
}

/* A listing of the run directory; a dup shares the file offset, so each listing starts over. */
static DIR *open_run_dir(void)
{
	int dfd = dup(dir_fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return NULL;
	}
	rewinddir(d);
	return d;
}

int instance_prog_owner(uint32_t prog_id)
{
	if (dir_fd < 0)
		return 0;
	DIR *d = open_run_dir();
	if (!d)
		return 0;
	int owner = 0;
	struct dirent *de;
	while (!owner && (de = readdir(d))) {
		unsigned pid = instance_name_pid(de->d_name);
		if (!pid || !strcmp(de->d_name, my_name))
			continue;
		bool live;
		int fd = open_other(de->d_name, &live);
		if (fd < 0)
			continue;
		if (live && file_claims(fd, prog_id))
			owner = (int)pid;
		close(fd);
	}
	closedir(d);
	return owner;
}

bool instance_pid_dead(unsigned pid)
{
	if (dir_fd < 0 || pid == (unsigned)getpid())
		return false;
	char name[16];
	snprintf(name, sizeof(name), "%u", pid);
	bool live;
	int fd = open_other(name, &live);
	if (fd < 0)
		return false;
	close(fd);
	return !live;
}

void instance_sweep_dead(void)
{
	if (dir_fd < 0)
		return;
	DIR *d = open_run_dir();
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		/* exact names only: whatever else is in the directory is not ours to remove */
		if (!instance_name_pid(de->d_name) || !strcmp(de->d_name, my_name))
			continue;
		int fd = openat(dir_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		/* unlinked while we hold the lock, so a new holder notices and makes a new file */
		if (!fstat(fd, &st) && S_ISREG(st.st_mode) && !flock(fd, LOCK_EX | LOCK_NB)) {
			unlinkat(dir_fd, de->d_name, 0);
			pr_debug("removed %s/%s of a pktlens that died", PL_RUN_DIR, de->d_name);
		}
		close(fd);
	}
	closedir(d);
}
