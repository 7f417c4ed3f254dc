/* Reading /proc (or a test's fake of it): process identity and names, socket fds, /proc/net tables. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/procfs.h"
#include "shared/flow.h"

void procfs_init(struct procfs *fs, const char *root)
{
	snprintf(fs->root, sizeof(fs->root), "%s", root);
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

uint64_t procfs_starttime(const struct procfs *fs, uint32_t pid)
{
	char path[300], buf[1024];
	snprintf(path, sizeof(path), "%s/%u/stat", fs->root, pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	/* comm may hold spaces and ')': the fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	unsigned long long st = 0;
	/* after ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime(22) */
	if (sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		   "%*d %llu",
		   &st) != 1)
		return 0;
	/* a process started in the first tick after boot (init) reads 0: keep 0 for "gone" */
	return st ? st : 1;
}

uint64_t procfs_ticks_per_s(void)
{
	static long hz;
	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? (uint64_t)hz : 100;
}

int64_t procfs_boottime_offset_ns(const struct procfs *fs)
{
	char path[300], buf[512];
	snprintf(path, sizeof(path), "%s/self/timens_offsets", fs->root);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	const char *l = strstr(buf, "boottime");
	long long sec = 0, nsec = 0;
	if (!l || sscanf(l, "boottime %lld %lld", &sec, &nsec) != 2)
		return 0;
	return (int64_t)sec * 1000000000LL + nsec;
}

void proc_argv_join(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t i;
	if (!dstlen)
		return;
	for (i = 0; i < n && i + 1 < dstlen; i++)
		dst[i] = src[i] ? src[i] : ' ';
	while (i && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

int procfs_read_info(const struct procfs *fs, uint32_t pid, struct procfs_info *out)
{
	char path[300], buf[4096];
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/%u/comm", fs->root, pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(out->comm, sizeof(out->comm), "%s", buf);
	snprintf(path, sizeof(path), "%s/%u/cmdline", fs->root, pid);
	int n = read_file(path, buf, sizeof(buf));
	if (n > 0)
		proc_argv_join(out->cmdline, sizeof(out->cmdline), buf, (size_t)n);
	snprintf(path, sizeof(path), "%s/%u/cgroup", fs->root, pid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		/* cgroup v2 is the "0::" line */
		char *l = strstr(buf, "0::");
		if (l && (l == buf || l[-1] == '\n')) {
			l += 3;
			l[strcspn(l, "\n")] = '\0';
			snprintf(out->cgroup, sizeof(out->cgroup), "%s", l);
			struct stat st;
			char cg[300];
			snprintf(cg, sizeof(cg), "/sys/fs/cgroup%s", out->cgroup);
			if (!stat(cg, &st))
				out->cgroup_id = st.st_ino;
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

uint64_t *procfs_fd_inodes(const struct procfs *fs, uint32_t pid, size_t *n)
{
	char path[300];
	*n = 0;
	snprintf(path, sizeof(path), "%s/%u/fd", fs->root, pid);
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	uint64_t *v = NULL;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char link[64];
		if (de->d_name[0] == '.')
			continue;
		ssize_t l = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (l <= 8)
			continue;
		link[l] = '\0';
		unsigned long long ino;
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			uint64_t *nv = realloc(v, nc * sizeof(*nv));
			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		v[(*n)++] = ino;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_u64);
	return v;
}

static int hexbyte(const char *s)
{
	int v = 0;
	for (int i = 0; i < 2; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* The kernel prints each 32-bit word of the address as %08X of its in-memory value. */
static int parse_addr(const char *s, size_t n, uint8_t *out)
{
	if (n != 8 && n != 32)
		return -1;
	for (size_t w = 0; w < n / 8; w++) {
		uint32_t v = 0;
		for (int b = 0; b < 4; b++) {
			int x = hexbyte(s + w * 8 + b * 2);
			if (x < 0)
				return -1;
			v = v << 8 | (uint32_t)x;
		}
		memcpy(out + w * 4, &v, 4);
	}
	return 0;
}

int procnet_parse_line(const char *line, int v6, struct procnet_ent *out)
{
	char la[40], ra[40];
	unsigned lp, rp, st;
	unsigned long long ino;
	memset(out, 0, sizeof(*out));
	if (sscanf(line,
		   " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*d %llu",
		   la, &lp, ra, &rp, &st, &ino) != 6)
		return -1;
	size_t alen = v6 ? 32 : 8;
	if (strlen(la) != alen || strlen(ra) != alen || lp > 65535 || rp > 65535)
		return -1;
	if (parse_addr(la, alen, out->local) || parse_addr(ra, alen, out->remote))
		return -1;
	out->family = v6 ? PL_AF_INET6 : PL_AF_INET;
	out->local_port = (uint16_t)lp;
	out->remote_port = (uint16_t)rp;
	out->state = (uint8_t)st;
	out->ino = ino;
	return 0;
}

struct pn_ent {
	struct procnet_ent e;
	uint8_t proto;
};

struct pn_table {
	uint64_t netns;
	struct pn_ent *ents; /* by inode */
	size_t n, cap;
};

static int cmp_pn(const void *a, const void *b)
{
	uint64_t x = ((const struct pn_ent *)a)->e.ino, y = ((const struct pn_ent *)b)->e.ino;
	return (x > y) - (x < y);
}

static void pn_load(const struct procfs *fs, struct pn_table *t, uint32_t pid)
{
	static const struct {
		const char *file;
		uint8_t proto;
		int v6;
	} files[] = {
		{ "tcp", 6, 0 },   { "tcp6", 6, 1 }, { "udp", 17, 0 },
		{ "udp6", 17, 1 }, { "icmp", 1, 0 }, { "icmp6", 58, 1 },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[300], line[512];
		snprintf(path, sizeof(path), "%s/%u/net/%s", fs->root, pid, files[i].file);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			struct procnet_ent e;
			if (procnet_parse_line(line, files[i].v6, &e) || !e.ino)
				continue;
			if (t->n == t->cap) {
				size_t nc = t->cap ? t->cap * 2 : 256;
				struct pn_ent *ne = realloc(t->ents, nc * sizeof(*ne));
				if (!ne)
					break;
				t->ents = ne;
				t->cap = nc;
			}
			t->ents[t->n].e = e;
			t->ents[t->n++].proto = files[i].proto;
		}
		fclose(f);
	}
	if (t->n > 1)
		qsort(t->ents, t->n, sizeof(*t->ents), cmp_pn);
}

static uint64_t netns_of(const struct procfs *fs, uint32_t pid)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%u/ns/net", fs->root, pid);
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

struct procfs_sock *procfs_scan(const struct procfs *fs, uint64_t netns_ino, uint32_t self_pid,
				size_t max, size_t *n, int *truncated)
{
	struct pn_table *tabs = NULL;
	size_t n_tabs = 0;
	struct procfs_sock *out = NULL;
	size_t cap = 0;
	*n = 0;
	*truncated = 0;
	DIR *d = opendir(fs->root);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid || pid > UINT32_MAX || pid == self_pid)
			continue;
		size_t n_ino;
		uint64_t *inos = procfs_fd_inodes(fs, (uint32_t)pid, &n_ino);
		if (!n_ino) {
			free(inos);
			continue;
		}
		uint64_t ns = netns_of(fs, (uint32_t)pid);
		uint64_t start = procfs_starttime(fs, (uint32_t)pid);
		if ((netns_ino && ns != netns_ino) || !start) {
			free(inos);
			continue;
		}
		struct pn_table *t = NULL;
		for (size_t k = 0; k < n_tabs; k++)
			if (tabs[k].netns == ns)
				t = &tabs[k];
		if (!t) {
			struct pn_table *nt = realloc(tabs, (n_tabs + 1) * sizeof(*nt));
			if (!nt) {
				free(inos);
				break;
			}
			tabs = nt;
			t = &tabs[n_tabs++];
			memset(t, 0, sizeof(*t));
			t->netns = ns;
			pn_load(fs, t, (uint32_t)pid);
		}
		for (size_t k = 0; k < n_ino && t->n; k++) {
			struct pn_ent q = { .e.ino = inos[k] };
			const struct pn_ent *pe =
			    bsearch(&q, t->ents, t->n, sizeof(*t->ents), cmp_pn);
			if (!pe)
				continue;
			if (*n >= max) {
				*truncated = 1;
				break;
			}
			if (*n == cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct procfs_sock *no = realloc(out, nc * sizeof(*no));
				if (!no) {
					*truncated = 1;
					break;
				}
				out = no;
				cap = nc;
			}
			struct procfs_sock *s = &out[(*n)++];
			s->pid = (uint32_t)pid;
			s->start = start;
			s->proto = pe->proto;
			s->e = pe->e;
		}
		free(inos);
	}
	if (d)
		closedir(d);
	for (size_t k = 0; k < n_tabs; k++)
		free(tabs[k].ents);
	free(tabs);
	return out;
}
