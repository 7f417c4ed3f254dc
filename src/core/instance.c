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
#include <bpf/bpf.h>

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

static bool file_each_claim(int fd, bool (*fn)(uint32_t, bool, void *), void *arg);
static bool xdp_claim_lives(uint32_t id, bool xdp, void *arg);

struct kept {
	char buf[4096];
	int n;
};

static bool keep_live_xdp(uint32_t id, bool xdp, void *arg)
{
	struct kept *k = arg;
	if (xdp_claim_lives(id, xdp, NULL) && k->n < (int)sizeof(k->buf) - 24)
		k->n += snprintf(k->buf + k->n, sizeof(k->buf) - (size_t)k->n, "xdp=%u\n", id);
	return false;
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
		/*
		 * A dead pktlens of the same pid may have left an XDP program in a
		 * dispatcher: its claim stays (now ours), so that it keeps proving
		 * whose the program is and goes with our file.
		 */
		struct kept k = { .n = 0 };
		k.n = snprintf(k.buf, sizeof(k.buf), "pktlens pid=%d\n", (int)getpid());
		file_each_claim(fd, keep_live_xdp, &k);
		if (ftruncate(fd, 0) || pwrite(fd, k.buf, (size_t)k.n, 0) != k.n) {
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
	/* an XDP program we could not take off stays claimed: the next pktlens removes it */
	if (file_each_claim(lock_fd, xdp_claim_lives, NULL))
		pr_warn("%s/%s stays: a pktlens XDP program is still in a dispatcher", PL_RUN_DIR,
			my_name);
	else
		unlinkat(dir_fd, my_name, 0);
	close(lock_fd);
	close(dir_fd);
	lock_fd = dir_fd = -1;
}

static int claim(const char *kind, uint32_t prog_id)
{
	if (lock_fd < 0)
		return -EBADF;
	if (instance_owns_prog(prog_id))
		return 0;
	char line[32];
	int n = snprintf(line, sizeof(line), "%s=%u\n", kind, prog_id);
	/* one append per claim: a reader sees a claim whole or not at all, never a rewrite */
	if (lseek(lock_fd, 0, SEEK_END) < 0 || write(lock_fd, line, (size_t)n) != n)
		return -errno;
	return 0;
}

int instance_claim_prog(uint32_t prog_id)
{
	return claim("prog", prog_id);
}

int instance_claim_xdp(uint32_t prog_id)
{
	return claim("xdp", prog_id);
}

/*
 * Calls fn(prog_id, xdp, arg) for each whole claim line of the file until
 * it returns true; returns whether one did.
 */
static bool file_each_claim(int fd, bool (*fn)(uint32_t, bool, void *), void *arg)
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
		if (sscanf(l, "prog=%u%c", &v, &extra) == 1 && fn(v, false, arg))
			return true;
		if (sscanf(l, "xdp=%u%c", &v, &extra) == 1 && fn(v, true, arg))
			return true;
	}
	return false;
}

static bool is_id(uint32_t id, bool xdp, void *arg)
{
	(void)xdp;
	return id == *(uint32_t *)arg;
}

static bool file_claims(int fd, uint32_t prog_id)
{
	return file_each_claim(fd, is_id, &prog_id);
}

static bool bpf_prog_exists(uint32_t prog_id)
{
	int fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd >= 0)
		close(fd);
	/* EPERM and the like: it may exist; only ENOENT says it is gone */
	return fd >= 0 || errno != ENOENT;
}

static bool (*prog_exists)(uint32_t) = bpf_prog_exists;
static uint32_t removed[64];
static unsigned n_removed;

void instance_set_prog_exists(bool (*fn)(uint32_t prog_id))
{
	prog_exists = fn ? fn : bpf_prog_exists;
}

void instance_prog_removed(uint32_t prog_id)
{
	removed[n_removed++ % (sizeof(removed) / sizeof(removed[0]))] = prog_id;
}

/* An XDP claim whose program still runs somewhere and that this process did not remove. */
static bool xdp_claim_lives(uint32_t id, bool xdp, void *arg)
{
	(void)arg;
	if (!xdp)
		return false;
	for (unsigned i = 0; i < n_removed && i < sizeof(removed) / sizeof(removed[0]); i++)
		if (removed[i] == id)
			return false;
	return prog_exists(id);
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

/* The pid of another instance, live or dead as asked, whose file claims prog_id; 0 if none. */
static int claimer(uint32_t prog_id, bool want_live)
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
		if (live == want_live && file_claims(fd, prog_id))
			owner = (int)pid;
		close(fd);
	}
	closedir(d);
	return owner;
}

int instance_prog_owner(uint32_t prog_id)
{
	return claimer(prog_id, true);
}

int instance_dead_owner(uint32_t prog_id)
{
	return claimer(prog_id, false);
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
			if (file_each_claim(fd, xdp_claim_lives, NULL))
				pr_debug("%s/%s stays: a program it claims is still attached "
					 "somewhere",
					 PL_RUN_DIR, de->d_name);
			else if (!unlinkat(dir_fd, de->d_name, 0))
				pr_debug("removed %s/%s of a pktlens that died", PL_RUN_DIR,
					 de->d_name);
		}
		close(fd);
	}
	closedir(d);
}
