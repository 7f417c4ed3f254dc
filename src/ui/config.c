/* Saved settings on disk: finding, parsing and atomically writing pktlensrc. pktlens runs as root,
 * so the file is opened as every file a user names is (core/safefile.c): without following links,
 * and only when its owner is root or the user behind the run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/safefile.h"
#include "ui/config.h"

int config_path(char *out, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	/* the XDG base directory spec: a relative XDG_CONFIG_HOME is invalid and ignored */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, len, "%s/pktlens/pktlensrc", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, len, "%s/.config/pktlens/pktlensrc", home);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

int config_parse(struct config *c, const char *text, char *err, size_t errlen)
{
	int line = 0;

	c->n = 0;
	for (const char *p = text; *p;) {
		size_t l = strcspn(p, "\n"), k = 0, v;
		const char *eq;
		struct config_entry *e;

		line++;
		/* leading blanks and trailing CR/blanks do not count */
		while (l && (*p == ' ' || *p == '\t'))
			p++, l--;
		v = l;
		while (v && (p[v - 1] == ' ' || p[v - 1] == '\t' || p[v - 1] == '\r'))
			v--;
		if (!v || *p == '#')
			goto next;
		eq = memchr(p, '=', v);
		if (!eq) {
			snprintf(err, errlen, "%d: not a key=value line", line);
			return -1;
		}
		k = (size_t)(eq - p);
		while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
			k--;
		if (!k || k >= sizeof(c->e[0].key)) {
			snprintf(err, errlen, "%d: no key before '='", line);
			return -1;
		}
		for (size_t i = 0; i < k; i++)
			if (!key_char(p[i])) {
				snprintf(err, errlen, "%d: a key is made of a-z, 0-9, '_' and '.'",
					 line);
				return -1;
			}
		if (c->n == CONFIG_MAX_ENTRIES) {
			snprintf(err, errlen, "%d: more than %d settings", line,
				 CONFIG_MAX_ENTRIES);
			return -1;
		}
		e = &c->e[c->n];
		memcpy(e->key, p, k);
		e->key[k] = '\0';
		eq++;
		while (eq < p + v && (*eq == ' ' || *eq == '\t'))
			eq++;
		if ((size_t)(p + v - eq) >= sizeof(e->value)) {
			snprintf(err, errlen, "%d: value of '%s' too long", line, e->key);
			return -1;
		}
		for (const char *q = eq; q < p + v; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f) {
				snprintf(err, errlen, "%d: value of '%s' is not printable text",
					 line, e->key);
				return -1;
			}
		memcpy(e->value, eq, (size_t)(p + v - eq));
		e->value[p + v - eq] = '\0';
		e->line = line;
		for (size_t i = 0; i < c->n; i++)
			if (!strcmp(c->e[i].key, e->key)) {
				snprintf(err, errlen, "%d: '%s' set twice (also on line %d)", line,
					 e->key, c->e[i].line);
				return -1;
			}
		c->n++;
	next:
		p += l;
		if (*p == '\n')
			p++;
	}
	return 0;
}

int config_read(struct config *c, const char *path, char *err, size_t errlen)
{
	char *buf = NULL, perr[160];
	struct stat st;
	ssize_t got;
	int fd, ret = -1;

	c->n = 0;
	/* no link followed, no FIFO waited on, a regular file of root's or the invoker's */
	fd = safefile_open_read(path, "settings file", NULL, err, errlen);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes, not read", path, CONFIG_MAX_BYTES);
		goto out;
	}
	buf = calloc(1, (size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	got = read(fd, buf, (size_t)st.st_size);
	if (got < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	buf[got] = '\0';
	if (strlen(buf) != (size_t)got) {
		snprintf(err, errlen, "%s: holds a NUL byte", path);
		goto out;
	}
	if (config_parse(c, buf, perr, sizeof(perr))) {
		snprintf(err, errlen, "%s:%s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
			 perr);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

/* mkdir -p of the folders above path; the ones made are 0700, as the XDG spec asks. */
static int make_dirs(const char *path, char *err, size_t errlen)
{
	char d[PATH_MAX];

	snprintf(d, sizeof(d), "%s", path);
	for (char *s = strchr(d + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(d, 0700) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", d, strerror(errno));
			return -1;
		}
		*s = '/';
	}
	return 0;
}

int config_write(const char *path, int keep_bad, void (*emit)(FILE *f, void *ctx), void *ctx,
		 char *err, size_t errlen)
{
	char tmp[PATH_MAX + 32], bad[PATH_MAX + 8], dir[PATH_MAX];
	struct stat st;
	FILE *f;
	int fd;

	if (make_dirs(path, err, errlen))
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	snprintf(tmp, sizeof(tmp), "%s.new.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* sudo with the user's HOME: the file stays the user's, like the folder it is in */
	if (!stat(dir, &st) && st.st_uid != geteuid() && fchown(fd, st.st_uid, st.st_gid)) {
		snprintf(err, errlen, "cannot give %s to uid %u: %s", tmp, (unsigned)st.st_uid,
			 strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	emit(f, ctx);
	if (fflush(f) || ferror(f) || fsync(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	if (keep_bad) {
		snprintf(bad, sizeof(bad), "%s.bad", path);
		if (rename(path, bad) && errno != ENOENT) {
			snprintf(err, errlen, "cannot keep %s as %s: %s", path, bad,
				 strerror(errno));
			unlink(tmp);
			return -1;
		}
	}
	if (rename(tmp, path)) {
		snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
