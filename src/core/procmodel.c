/* The per-process model: joins the socket tracepoints' counters, /proc and process liveness into process rows. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "core/flowfmt.h"
#include "core/procmodel.h"

#define NS 1000000000ULL

struct msock {
	struct proc_sock_key k;
	struct proc_sock_val v; /* as last read */
	/* counters of earlier lives of the map entry: LRU eviction restarts it at zero */
	uint64_t base_rx, base_tx, base_rxc, base_txc;
	uint64_t closed_ns; /* 0 while open */
	int from_proc;	    /* from a /proc scan, sk is 0 */
	int in_map;	    /* present at the last map read */
};

struct mproc {
	uint32_t tgid;
	int have_proc;	    /* /proc/PID was read */
	uint64_t starttime; /* /proc/PID/stat field 22: tells a reused pid apart */
	char comm[16];
	char cmdline[256];
	char cgroup[128];
	uint64_t cgroup_id, first_ns;
	uint64_t connects, accepts, base_conn, base_acc, last_conn, last_acc;
	uint64_t closed_rx, closed_tx, closed_rxc, closed_txc; /* sockets folded away */
	uint64_t prev_rx, prev_tx, prev_conn;
	int have_prev;
	double rx_bps, tx_bps, conn_rate;
	uint64_t exited_ns, fdscan_ns, last_ns;
};

/* Flow lookup: protocol, addresses and ports of a socket, and the process that owns it. */
struct match {
	uint8_t proto, family;
	uint16_t local_port, remote_port;
	uint8_t local[16], remote[16];
	uint32_t tgid;
	uint64_t score; /* open beats closed, then the most recent use */
};

struct proc_model {
	const struct btf_enum_names *states;
	uint64_t netns_ino;
	char root[256];
	struct msock *socks; /* by (tgid, ino, sk) */
	size_t n_socks, cap_socks;
	struct mproc *procs; /* by tgid */
	size_t n_procs, cap_procs;
	struct match *idx;
	size_t n_idx;
	uint64_t last_scan_ns, scans, last_read_ns;
	int unmatched; /* flows without a process at the last fill: scan /proc again */
};

struct proc_model *proc_model__new(const struct btf_enum_names *tcp_states, uint64_t netns_ino)
{
	struct proc_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->states = tcp_states;
	m->netns_ino = netns_ino;
	snprintf(m->root, sizeof(m->root), "/proc");
	return m;
}

void proc_model__free(struct proc_model *m)
{
	if (!m)
		return;
	free(m->socks);
	free(m->procs);
	free(m->idx);
	free(m);
}

void proc_model_set_root(struct proc_model *m, const char *proc_root)
{
	snprintf(m->root, sizeof(m->root), "%s", proc_root);
}

static int cmp_sock(const void *a, const void *b)
{
	const struct proc_sock_key *x = a, *y = b;
	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return (x->sk > y->sk) - (x->sk < y->sk);
}

static int cmp_proc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static struct mproc *proc_find(struct proc_model *m, uint32_t tgid)
{
	if (!m->n_procs)
		return NULL;
	return bsearch(&tgid, m->procs, m->n_procs, sizeof(*m->procs), cmp_proc);
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

/* Field 22 of /proc/PID/stat; 0 when the process is gone. comm may hold spaces and ')'. */
static uint64_t proc_starttime(const struct proc_model *m, uint32_t tgid)
{
	char path[300], buf[1024];
	snprintf(path, sizeof(path), "%s/%u/stat", m->root, tgid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
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
	return st ? st : 1;
}

/* argv with NULs turned into spaces; kernel threads have none. */
static void argv_join(char *dst, size_t dstlen, const char *src, size_t n)
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

static void proc_read_info(struct proc_model *m, struct mproc *p)
{
	char path[300], buf[4096];
	snprintf(path, sizeof(path), "%s/%u/comm", m->root, p->tgid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(p->comm, sizeof(p->comm), "%s", buf);
	}
	snprintf(path, sizeof(path), "%s/%u/cmdline", m->root, p->tgid);
	int n = read_file(path, buf, sizeof(buf));
	if (n > 0)
		argv_join(p->cmdline, sizeof(p->cmdline), buf, (size_t)n);
	snprintf(path, sizeof(path), "%s/%u/cgroup", m->root, p->tgid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		/* cgroup v2 is the "0::" line */
		char *l = strstr(buf, "0::");
		if (l && (l == buf || l[-1] == '\n')) {
			l += 3;
			l[strcspn(l, "\n")] = '\0';
			snprintf(p->cgroup, sizeof(p->cgroup), "%s", l);
			struct stat st;
			char cg[300];
			snprintf(cg, sizeof(cg), "/sys/fs/cgroup%s", p->cgroup);
			if (!p->cgroup_id && !stat(cg, &st))
				p->cgroup_id = st.st_ino;
		}
	}
	p->have_proc = 1;
}

static struct mproc *proc_get(struct proc_model *m, uint32_t tgid, uint64_t now)
{
	struct mproc *p = proc_find(m, tgid);
	if (p)
		return p;
	if (m->n_procs == m->cap_procs) {
		size_t nc = m->cap_procs ? m->cap_procs * 2 : 64;
		struct mproc *np = realloc(m->procs, nc * sizeof(*np));
		if (!np)
			return NULL;
		m->procs = np;
		m->cap_procs = nc;
	}
	/* insert in order: processes arrive a few at a time */
	size_t i = m->n_procs;
	while (i && m->procs[i - 1].tgid > tgid)
		i--;
	memmove(&m->procs[i + 1], &m->procs[i], (m->n_procs - i) * sizeof(*m->procs));
	m->n_procs++;
	p = &m->procs[i];
	memset(p, 0, sizeof(*p));
	p->tgid = tgid;
	p->first_ns = now;
	p->starttime = proc_starttime(m, tgid);
	if (p->starttime)
		proc_read_info(m, p);
	else
		p->exited_ns = now; /* gone before pktlens looked: BPF's proc_info tells the rest */
	return p;
}

static int sock_reserve(struct proc_model *m, size_t more)
{
	if (m->n_socks + more <= m->cap_socks)
		return 0;
	size_t nc = m->cap_socks ? m->cap_socks : 256;
	while (nc < m->n_socks + more)
		nc *= 2;
	struct msock *ns = realloc(m->socks, nc * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	m->socks = ns;
	m->cap_socks = nc;
	return 0;
}

/* ---- /proc/net and /proc/PID/fd: sockets that were open before pktlens started ---- */

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

/* IPv4-mapped IPv6 (a dual-stack socket talking IPv4) is stored as IPv4, as the BPF side does. */
static void unmap_v4(struct procnet_ent *e)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16];
	if (e->family != PL_AF_INET6 || memcmp(e->local, pfx, 12) ||
	    (memcmp(e->remote, pfx, 12) && memcmp(e->remote, zero, 16)))
		return;
	memmove(e->local, e->local + 12, 4);
	memset(e->local + 4, 0, 12);
	memmove(e->remote, e->remote + 12, 4);
	memset(e->remote + 4, 0, 12);
	e->family = PL_AF_INET;
}

static void pn_load(struct proc_model *m, struct pn_table *t, uint32_t pid)
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
		snprintf(path, sizeof(path), "%s/%u/net/%s", m->root, pid, files[i].file);
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
			unmap_v4(&e);
			t->ents[t->n].e = e;
			t->ents[t->n++].proto = files[i].proto;
		}
		fclose(f);
	}
	qsort(t->ents, t->n, sizeof(*t->ents), cmp_pn);
}

/* Socket inodes among a process's fds, sorted; NULL (n 0) when it has none or is gone. */
static uint64_t *fd_inodes(const struct proc_model *m, uint32_t pid, size_t *n)
{
	char path[300];
	*n = 0;
	snprintf(path, sizeof(path), "%s/%u/fd", m->root, pid);
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
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t netns_of(const struct proc_model *m, uint32_t pid)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%u/ns/net", m->root, pid);
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

/*
 * What ss -p does: every process's socket fds, matched by inode against
 * /proc/net of its network namespace (read once per namespace). Replaces the
 * sockets of earlier scans; the tracepoints' own entries win over these.
 */
static void proc_scan(struct proc_model *m, uint64_t now)
{
	struct pn_table *tabs = NULL;
	size_t n_tabs = 0;
	size_t w = 0;
	for (size_t i = 0; i < m->n_socks; i++)
		if (!m->socks[i].from_proc)
			m->socks[w++] = m->socks[i];
	m->n_socks = w;

	DIR *d = opendir(m->root);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid || pid > UINT32_MAX || pid == (unsigned long)getpid())
			continue;
		size_t n_ino;
		uint64_t *inos = fd_inodes(m, (uint32_t)pid, &n_ino);
		if (!n_ino) {
			free(inos);
			continue;
		}
		uint64_t ns = netns_of(m, (uint32_t)pid);
		if (m->netns_ino && ns != m->netns_ino) {
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
			pn_load(m, t, (uint32_t)pid);
		}
		for (size_t k = 0; k < n_ino && t->n; k++) {
			struct pn_ent q = { .e.ino = inos[k] };
			const struct pn_ent *pe =
			    bsearch(&q, t->ents, t->n, sizeof(*t->ents), cmp_pn);
			if (!pe || sock_reserve(m, 1))
				continue;
			struct msock *s = &m->socks[m->n_socks++];
			memset(s, 0, sizeof(*s));
			s->k.tgid = (uint32_t)pid;
			s->k.ino = inos[k];
			s->from_proc = 1;
			memcpy(s->v.local, pe->e.local, 16);
			memcpy(s->v.remote, pe->e.remote, 16);
			s->v.local_port = pe->e.local_port;
			s->v.remote_port = pe->e.remote_port;
			s->v.family = pe->e.family;
			s->v.proto = pe->proto;
			s->v.state = pe->proto == 6 ? pe->e.state : 0;
			if (pe->proto == 6 && pe->e.state == 10 /* TCP_LISTEN */)
				s->v.flags |= PL_PS_LISTEN;
			proc_get(m, (uint32_t)pid, now);
		}
		free(inos);
	}
	if (d)
		closedir(d);
	for (size_t k = 0; k < n_tabs; k++)
		free(tabs[k].ents);
	free(tabs);
	qsort(m->socks, m->n_socks, sizeof(*m->socks), cmp_sock);
	m->last_scan_ns = now;
	m->scans++;
}

/* ---- map reading ---- */

struct sock_pair {
	struct proc_sock_key k;
	struct proc_sock_val v;
};

static void read_socks(struct proc_model *m, int fd, uint64_t now)
{
	struct proc_sock_key cur, prev;
	void *pk = NULL;
	size_t n_old = m->n_socks;
	for (size_t i = 0; i < m->n_socks; i++)
		m->socks[i].in_map = 0;
	while (!bpf_map_get_next_key(fd, pk, &cur)) {
		struct proc_sock_val v;
		prev = cur;
		pk = &prev;
		if (bpf_map_lookup_elem(fd, &cur, &v))
			continue;
		struct msock *s =
		    n_old ? bsearch(&cur, m->socks, n_old, sizeof(*m->socks), cmp_sock) : NULL;
		if (!s) {
			if (sock_reserve(m, 1))
				break;
			s = &m->socks[m->n_socks++];
			memset(s, 0, sizeof(*s));
			s->k = cur;
		} else if (v.rx_bytes < s->v.rx_bytes || v.tx_bytes < s->v.tx_bytes ||
			   v.first_ns != s->v.first_ns) {
			/* evicted and created again: what it had counted stays counted */
			s->base_rx += s->v.rx_bytes;
			s->base_tx += s->v.tx_bytes;
			s->base_rxc += s->v.rx_calls;
			s->base_txc += s->v.tx_calls;
		}
		s->v = v;
		s->in_map = 1;
		proc_get(m, cur.tgid, now);
	}
	qsort(m->socks, m->n_socks, sizeof(*m->socks), cmp_sock);
	/* a /proc entry sorts just before the tracepoints' entry for the same socket: drop it */
	size_t w = 0;
	for (size_t i = 0; i < m->n_socks; i++) {
		struct msock *s = &m->socks[i];
		if (s->from_proc && i + 1 < m->n_socks && m->socks[i + 1].k.tgid == s->k.tgid &&
		    m->socks[i + 1].k.ino == s->k.ino && s->k.ino)
			continue;
		m->socks[w++] = *s;
	}
	m->n_socks = w;
}

static void read_info(struct proc_model *m, int fd, uint64_t now)
{
	__u32 cur, prev;
	void *pk = NULL;
	while (!bpf_map_get_next_key(fd, pk, &cur)) {
		struct proc_info_val v;
		prev = cur;
		pk = &prev;
		if (bpf_map_lookup_elem(fd, &cur, &v))
			continue;
		struct mproc *p = proc_get(m, cur, now);
		if (!p)
			continue;
		if (v.connects < p->last_conn || v.accepts < p->last_acc) {
			p->base_conn += p->last_conn;
			p->base_acc += p->last_acc;
		}
		p->last_conn = v.connects;
		p->last_acc = v.accepts;
		p->connects = p->base_conn + v.connects;
		p->accepts = p->base_acc + v.accepts;
		p->cgroup_id = v.cgroup_id;
		/* what the process was when it first used a socket: all we have once it is gone */
		if (!p->have_proc) {
			snprintf(p->comm, sizeof(p->comm), "%.*s", (int)sizeof(v.comm), v.comm);
			argv_join(p->cmdline, sizeof(p->cmdline), v.cmdline,
				  v.cmdline_len < sizeof(v.cmdline) ? v.cmdline_len
								    : sizeof(v.cmdline));
		}
		if (v.first_ns && v.first_ns < p->first_ns)
			p->first_ns = v.first_ns;
	}
}

/* ---- liveness ---- */

static void check_procs(struct proc_model *m, uint64_t now)
{
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		if (p->exited_ns)
			continue;
		uint64_t st = proc_starttime(m, p->tgid);
		if (!st || (p->starttime && st != p->starttime))
			p->exited_ns = now;
	}
}

static struct msock *socks_of(struct proc_model *m, uint32_t tgid, size_t *n)
{
	struct proc_sock_key q = { .tgid = tgid };
	size_t lo = 0, hi = m->n_socks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->socks[mid].k.tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	(void)q;
	size_t e = lo;
	while (e < m->n_socks && m->socks[e].k.tgid == tgid)
		e++;
	*n = e - lo;
	return &m->socks[lo];
}

/* Closed sockets: the inode is no longer among the process's fds (or the process is gone). */
static void check_socks(struct proc_model *m, uint64_t now)
{
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		size_t n;
		struct msock *s = socks_of(m, p->tgid, &n);
		if (!n)
			continue;
		if (p->exited_ns) {
			for (size_t k = 0; k < n; k++)
				if (!s[k].closed_ns)
					s[k].closed_ns = p->exited_ns;
			continue;
		}
		if (now - p->fdscan_ns < PL_FDSCAN_S * NS && p->fdscan_ns)
			continue;
		p->fdscan_ns = now;
		size_t n_ino;
		uint64_t *inos = fd_inodes(m, p->tgid, &n_ino);
		qsort(inos, n_ino, sizeof(*inos), cmp_u64);
		for (size_t k = 0; k < n; k++) {
			if (!s[k].k.ino)
				continue; /* a kernel socket has no fd to look for */
			int open =
			    n_ino && bsearch(&s[k].k.ino, inos, n_ino, sizeof(*inos), cmp_u64);
			if (!open && !s[k].closed_ns)
				s[k].closed_ns = now;
			else if (open)
				s[k].closed_ns = 0;
		}
		free(inos);
	}
}

/* Folds long-closed sockets into their process and forgets long-exited processes. */
static void expire(struct proc_model *m, const struct proc_maps *maps, uint64_t now)
{
	size_t w = 0;
	for (size_t i = 0; i < m->n_socks; i++) {
		struct msock *s = &m->socks[i];
		struct mproc *p = proc_find(m, s->k.tgid);
		int gone = p && p->exited_ns && now - p->exited_ns >= PL_PROC_KEEP_S * NS;
		int fold = !gone && s->closed_ns && now - s->closed_ns >= PL_SOCK_KEEP_S * NS &&
			   !(p && p->exited_ns);
		if (!gone && !fold) {
			m->socks[w++] = *s;
			continue;
		}
		if (fold && p) {
			p->closed_rx += s->base_rx + s->v.rx_bytes;
			p->closed_tx += s->base_tx + s->v.tx_bytes;
			p->closed_rxc += s->base_rxc + s->v.rx_calls;
			p->closed_txc += s->base_txc + s->v.tx_calls;
		}
		if (!s->from_proc && maps->socks_fd >= 0)
			bpf_map_delete_elem(maps->socks_fd, &s->k);
	}
	m->n_socks = w;
	w = 0;
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		if (p->exited_ns && now - p->exited_ns >= PL_PROC_KEEP_S * NS) {
			if (maps->info_fd >= 0)
				bpf_map_delete_elem(maps->info_fd, &p->tgid);
			continue;
		}
		m->procs[w++] = *p;
	}
	m->n_procs = w;
}

/* ---- flow index ---- */

static int cmp_match(const void *a, const void *b)
{
	const struct match *x = a, *y = b;
	/* protocol, ports and addresses (no padding among them) identify the socket */
	return memcmp(x, y, offsetof(struct match, remote) + sizeof(x->remote));
}

static int cmp_match_best(const void *a, const void *b)
{
	int r = cmp_match(a, b);
	if (r)
		return r;
	const struct match *x = a, *y = b;
	return (x->score < y->score) - (x->score > y->score); /* best first */
}

static void build_index(struct proc_model *m)
{
	free(m->idx);
	m->idx = calloc(m->n_socks ? m->n_socks : 1, sizeof(*m->idx));
	m->n_idx = 0;
	if (!m->idx)
		return;
	for (size_t i = 0; i < m->n_socks; i++) {
		const struct msock *s = &m->socks[i];
		struct match *x = &m->idx[m->n_idx++];
		memset(x, 0, sizeof(*x));
		x->proto = s->v.proto;
		x->family = s->v.family;
		x->local_port = s->v.local_port;
		x->remote_port = s->v.remote_port;
		memcpy(x->local, s->v.local, 16);
		memcpy(x->remote, s->v.remote, 16);
		x->tgid = s->k.tgid;
		x->score = (s->closed_ns ? 0 : 1ULL << 62) + (s->v.last_ns & ((1ULL << 62) - 1));
	}
	qsort(m->idx, m->n_idx, sizeof(*m->idx), cmp_match_best);
	size_t w = 0;
	for (size_t i = 0; i < m->n_idx; i++)
		if (!w || cmp_match(&m->idx[w - 1], &m->idx[i]))
			m->idx[w++] = m->idx[i];
	m->n_idx = w;
}

static const struct match *lookup(const struct proc_model *m, uint8_t proto, uint8_t family,
				  const uint8_t *local, uint16_t lport, const uint8_t *remote,
				  uint16_t rport)
{
	struct match q;
	memset(&q, 0, sizeof(q));
	q.proto = proto;
	q.family = family;
	q.local_port = lport;
	q.remote_port = rport;
	if (local)
		memcpy(q.local, local, 16);
	if (remote)
		memcpy(q.remote, remote, 16);
	return bsearch(&q, m->idx, m->n_idx, sizeof(*m->idx), cmp_match);
}

/*
 * A connected socket names both ends; an unconnected UDP socket (or a
 * listener, for a connection not yet accepted) only its local address and
 * port, possibly the wildcard, possibly a dual-stack IPv6 one.
 */
static const struct match *match_flow(const struct proc_model *m, const struct flow_key *k)
{
	const struct match *x;
	if ((x = lookup(m, k->proto, k->family, k->local, k->local_port, k->remote,
			k->remote_port)))
		return x;
	if ((x = lookup(m, k->proto, k->family, k->local, k->local_port, NULL, 0)))
		return x;
	if ((x = lookup(m, k->proto, k->family, NULL, k->local_port, NULL, 0)))
		return x;
	if (k->family == PL_AF_INET &&
	    (x = lookup(m, k->proto, PL_AF_INET6, NULL, k->local_port, NULL, 0)))
		return x;
	/* raw ICMP sockets (ping without ping sockets) have the protocol as their "port" */
	if (k->proto == 1 || k->proto == 58)
		return lookup(m, k->proto, k->family, NULL, k->proto, NULL, 0);
	return NULL;
}

static int tracked_proto(uint8_t p)
{
	return p == 6 || p == 17 || p == 1 || p == 58 || p == 136;
}

void proc_model_fill_flow(struct proc_model *m, struct flow_row *r, struct snapshot_procs *sp)
{
	if (!tracked_proto(r->key.proto))
		return;
	/* ICMP flows are often the kernel's own (echo replies, neighbour discovery): not counted */
	int counted = r->key.proto == 6 || r->key.proto == 17 || r->key.proto == 136;
	if (sp && counted)
		sp->flows++;
	const struct match *x = m->n_idx ? match_flow(m, &r->key) : NULL;
	if (!x) {
		m->unmatched += counted;
		return;
	}
	const struct mproc *p = proc_find(m, x->tgid);
	r->pid = x->tgid;
	snprintf(r->comm, sizeof(r->comm), "%s", p ? p->comm : "");
	if (!sp)
		return;
	sp->flows_attributed += counted;
	struct proc_row *row = bsearch(&x->tgid, sp->rows, sp->n_rows, sizeof(*sp->rows), cmp_proc);
	if (row) {
		row->flows++;
		row->retrans += r->retrans;
		row->drops += r->drops;
	}
}

/* ---- snapshot ---- */

static double rel_s(uint64_t t, uint64_t start_ns)
{
	return ((double)t - (double)start_ns) / 1e9;
}

static void fill_sock_row(const struct proc_model *m, const struct msock *s,
			  struct proc_sock_row *o, uint64_t start_ns)
{
	o->pid = s->k.tgid;
	o->family = s->v.family;
	o->proto = s->v.proto;
	o->flags = s->v.flags;
	o->open = !s->closed_ns;
	o->from_proc = (uint8_t)s->from_proc;
	o->local_port = s->v.local_port;
	o->remote_port = s->v.remote_port;
	flow_addr_str(s->v.local, s->v.family, o->local, sizeof(o->local));
	flow_addr_str(s->v.remote, s->v.family, o->remote, sizeof(o->remote));
	if (s->v.proto == 6) {
		const char *n = m->states ? btf_enum_name(m->states, s->v.state) : NULL;
		snprintf(o->state, sizeof(o->state), "%s", n && *n ? n : "?");
	}
	o->inode = s->k.ino;
	o->rx_bytes = s->base_rx + s->v.rx_bytes;
	o->tx_bytes = s->base_tx + s->v.tx_bytes;
	o->rx_calls = s->base_rxc + s->v.rx_calls;
	o->tx_calls = s->base_txc + s->v.tx_calls;
	o->last_seen = s->v.last_ns ? rel_s(s->v.last_ns, start_ns) : -1;
}

struct snapshot_procs *proc_model_read(struct proc_model *m, const struct proc_maps *maps,
				       uint64_t start_ns, uint64_t now_ns, double dt)
{
	int want_scan = !m->scans || now_ns - m->last_scan_ns >= PL_PROCSCAN_MAX_S * NS ||
			(m->unmatched && now_ns - m->last_scan_ns >= PL_PROCSCAN_MIN_S * NS);
	if (want_scan)
		proc_scan(m, now_ns);
	m->unmatched = 0;
	if (maps->socks_fd >= 0)
		read_socks(m, maps->socks_fd, now_ns);
	if (maps->info_fd >= 0)
		read_info(m, maps->info_fd, now_ns);
	check_procs(m, now_ns);
	check_socks(m, now_ns);
	expire(m, maps, now_ns);
	build_index(m);

	size_t sz = sizeof(struct snapshot_procs) + m->n_procs * sizeof(struct proc_row) +
		    m->n_socks * sizeof(struct proc_sock_row);
	struct snapshot_procs *sp = calloc(1, sz);
	if (!sp)
		return NULL;
	sp->rows = (struct proc_row *)(sp + 1);
	sp->socks = (struct proc_sock_row *)(sp->rows + m->n_procs);
	sp->n_rows = m->n_procs;
	sp->proc_scans = m->scans;
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		struct proc_row *r = &sp->rows[i];
		r->pid = p->tgid;
		memcpy(r->comm, p->comm, sizeof(r->comm));
		memcpy(r->cmdline, p->cmdline, sizeof(r->cmdline));
		memcpy(r->cgroup, p->cgroup, sizeof(r->cgroup));
		r->cgroup_id = p->cgroup_id;
		r->connects = p->connects;
		r->accepts = p->accepts;
		r->rx_bytes = p->closed_rx;
		r->tx_bytes = p->closed_tx;
		r->rx_calls = p->closed_rxc;
		r->tx_calls = p->closed_txc;
		r->exited = !!p->exited_ns;
		r->exited_at = p->exited_ns ? rel_s(p->exited_ns, start_ns) : 0;
		r->first_seen = rel_s(p->first_ns, start_ns);
		uint64_t last = 0;
		size_t n;
		struct msock *s = socks_of(m, p->tgid, &n);
		r->first_sock = (uint32_t)sp->n_socks;
		r->n_socks = (uint32_t)n;
		for (size_t k = 0; k < n; k++) {
			struct proc_sock_row *o = &sp->socks[sp->n_socks++];
			fill_sock_row(m, &s[k], o, start_ns);
			r->rx_bytes += o->rx_bytes;
			r->tx_bytes += o->tx_bytes;
			r->rx_calls += o->rx_calls;
			r->tx_calls += o->tx_calls;
			if (s[k].v.last_ns > last)
				last = s[k].v.last_ns;
			if (!o->open)
				continue;
			if (o->proto == 6) {
				r->tcp++;
				if (o->flags & PL_PS_LISTEN || s[k].v.state == 10)
					r->listen++;
				else if (s[k].v.state == 1)
					r->established++;
			} else if (o->proto == 17 || o->proto == 136) {
				r->udp++;
			} else {
				r->other++;
			}
		}
		r->sockets = r->tcp + r->udp + r->other;
		r->last_seen = last ? rel_s(last, start_ns) : -1;
		uint64_t conn = p->connects + p->accepts;
		if (dt >= 0.05) {
			if (p->have_prev) {
				p->rx_bps = r->rx_bytes >= p->prev_rx
						? (double)(r->rx_bytes - p->prev_rx) * 8 / dt
						: 0;
				p->tx_bps = r->tx_bytes >= p->prev_tx
						? (double)(r->tx_bytes - p->prev_tx) * 8 / dt
						: 0;
				p->conn_rate =
				    conn >= p->prev_conn ? (double)(conn - p->prev_conn) / dt : 0;
			} else {
				/* new since the last reading: all it did happened in this interval */
				int fresh = p->first_ns > m->last_read_ns && m->last_read_ns;
				p->rx_bps = fresh ? (double)r->rx_bytes * 8 / dt : 0;
				p->tx_bps = fresh ? (double)r->tx_bytes * 8 / dt : 0;
				p->conn_rate = fresh ? (double)conn / dt : 0;
			}
			p->prev_rx = r->rx_bytes;
			p->prev_tx = r->tx_bytes;
			p->prev_conn = conn;
			p->have_prev = 1;
		}
		r->rx_bps = p->rx_bps;
		r->tx_bps = p->tx_bps;
		r->conn_rate = p->conn_rate;
	}
	m->last_read_ns = now_ns;
	return sp;
}
