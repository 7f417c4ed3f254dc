/* The per-process model: joins the socket tracepoints' entries, /proc and process liveness into process rows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flowfmt.h"
#include "core/procmodel.h"
#include "shared/tcp.h"

#define NS 1000000000ULL
#define SCORE_MASK ((1ULL << 60) - 1)

/*
 * A process is (tgid, start): start is in clock ticks since boot, as
 * /proc/PID/stat prints it, so that the maps' start_ns and a /proc scan
 * name the same process the same way.
 */
struct msock {
	struct proc_sock_key k; /* as the map keys it; sk and start_ns 0 for /proc entries */
	struct proc_sock_val v; /* as last read */
	uint64_t start;		/* of its process, ticks */
	/* counters of earlier lives of the map entry: LRU eviction restarts it at zero */
	uint64_t base_rx, base_tx, base_rxc, base_txc;
	uint64_t closed_ns; /* 0 while open */
	uint32_t proc;	    /* index of its process in procs, set by group_socks() */
	uint8_t from_proc;  /* from a /proc scan, sk is 0 */
	uint8_t in_map;	    /* present at the last map reading */
	uint8_t dead;	    /* goes at the next compaction */
};

struct mproc {
	uint32_t tgid;
	uint64_t start;	   /* ticks since boot: tells a reused pid apart */
	uint64_t start_ns; /* as the maps key it (0 until seen there) */
	int have_proc;	   /* /proc/PID was read while it was this process */
	char comm[16];
	char cmdline[256];
	char cgroup[128];
	uint64_t cgroup_id, first_ns;
	uint64_t connects, accepts, base_conn, base_acc, last_conn, last_acc;
	uint64_t closed_rx, closed_tx, closed_rxc, closed_txc; /* sockets folded away */
	uint64_t prev_rx, prev_tx, prev_conn;
	int have_prev;
	double rx_bps, tx_bps, conn_rate;
	uint64_t exited_ns, fdscan_ns;
	uint64_t last_ns;	      /* last socket call */
	uint32_t first_sock, n_socks; /* its sockets in order[], set by group_socks() */
	uint8_t dead;
};

/* Flow lookup: protocol, addresses and ports of a socket, and the process that owns it. */
struct match {
	uint8_t proto, family;
	uint16_t local_port, remote_port;
	uint8_t local[16], remote[16];
	/* the key ends here */
	uint32_t tgid;
	uint32_t closed; /* index + 1 in closed[] for a remembered connection, else 0 */
	uint64_t start;
	uint64_t score; /* open socket, closed socket, remembered connection; then the latest */
};

/* A closed connection whose socket row is gone, kept so its flow keeps its owner. */
struct closed_conn {
	struct match m;
	char comm[16];
	uint64_t used_ns; /* remembered, or last asked for by a flow */
};

/*
 * A process the model has forgotten. Its map entries are deleted, but the
 * maps are read one after the other while processes run: an entry made
 * after its map was read (proc_info comes before proc_socks) turns up at a
 * later reading, and must not bring the process back as a new row.
 */
struct gone_proc {
	uint32_t tgid;
	uint8_t how; /* GONE_KEPT or GONE_EVICTED: where its late bytes are added */
	uint64_t start;
	uint64_t at_ns;
};

#define GONE_KEPT 1    /* exited longer ago than PL_PROC_KEEP_S */
#define GONE_EVICTED 2 /* exited, and the table holds too many exited */

/* Open addressing over a vector: slot = index + 1, 0 = empty; rebuilt at each compaction. */
struct hidx {
	uint32_t *slot;
	size_t cap; /* power of two */
};

struct proc_model {
	const struct btf_enum_names *states;
	uint64_t netns_ino;
	struct procfs fs;
	uint64_t tick_ns;
	int64_t boot_off_ns;
	struct msock *socks;
	size_t n_socks, cap_socks;
	struct hidx sock_h;
	struct mproc *procs;
	size_t n_procs, cap_procs;
	struct hidx proc_h;
	uint32_t *order; /* socket indices grouped by process (group_socks) */
	size_t cap_order;
	struct closed_conn *closed;
	size_t n_closed, cap_closed;
	struct gone_proc *gone;
	size_t n_gone, cap_gone;
	struct hidx gone_h;
	struct match *idx;
	size_t n_idx;
	uint64_t idx_hash; /* of what the index answers: a change moves version */
	uint64_t version;
	uint64_t last_scan_ns, scans, last_read_ns;
	int unmatched; /* flows without a process at the last fill: scan /proc again */
	struct proc_rest evicted, expired;
	uint64_t untracked_socks;
};

struct proc_model *proc_model__new(const struct btf_enum_names *tcp_states, uint64_t netns_ino)
{
	struct proc_model *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->states = tcp_states;
	m->netns_ino = netns_ino;
	m->tick_ns = NS / procfs_ticks_per_s();
	proc_model_set_root(m, "/proc");
	return m;
}

void proc_model__free(struct proc_model *m)
{
	if (!m)
		return;
	free(m->socks);
	free(m->sock_h.slot);
	free(m->procs);
	free(m->proc_h.slot);
	free(m->order);
	free(m->closed);
	free(m->gone);
	free(m->gone_h.slot);
	free(m->idx);
	free(m);
}

void proc_model_set_root(struct proc_model *m, const char *proc_root)
{
	procfs_init(&m->fs, proc_root);
	m->boot_off_ns = procfs_boottime_offset_ns(&m->fs);
}

void proc_forget_free(struct proc_forget *f)
{
	free(f->socks);
	free(f->infos);
	memset(f, 0, sizeof(*f));
}

static int grow(void **v, size_t *cap, size_t need, size_t size, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : first;
	while (nc < need)
		nc *= 2;
	void *nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

/* ---- hash indexes ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t proc_hash(uint32_t tgid, uint64_t start)
{
	return mix64(((uint64_t)tgid << 40) ^ start);
}

static uint64_t sock_hash(uint32_t tgid, uint64_t start, uint64_t ino, uint64_t sk)
{
	return mix64(proc_hash(tgid, start) ^ mix64(ino) ^ (sk * 0x9e3779b97f4a7c15ULL));
}

/* Empties h with room for n entries at half load. */
static int hidx_reset(struct hidx *h, size_t n)
{
	size_t cap = 64;
	while (cap < 2 * n)
		cap *= 2;
	if (cap != h->cap) {
		uint32_t *ns = malloc(cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		free(h->slot);
		h->slot = ns;
		h->cap = cap;
	}
	memset(h->slot, 0, h->cap * sizeof(*h->slot));
	return 0;
}

static long proc_lookup(const struct proc_model *m, uint32_t tgid, uint64_t start)
{
	if (!m->proc_h.cap)
		return -1;
	size_t mask = m->proc_h.cap - 1;
	for (size_t i = proc_hash(tgid, start) & mask;; i = (i + 1) & mask) {
		uint32_t s = m->proc_h.slot[i];
		if (!s)
			return -1;
		const struct mproc *p = &m->procs[s - 1];
		if (p->tgid == tgid && p->start == start)
			return (long)s - 1;
	}
}

static void proc_hinsert(struct proc_model *m, size_t idx)
{
	size_t mask = m->proc_h.cap - 1;
	size_t i = proc_hash(m->procs[idx].tgid, m->procs[idx].start) & mask;
	while (m->proc_h.slot[i])
		i = (i + 1) & mask;
	m->proc_h.slot[i] = (uint32_t)idx + 1;
}

static int proc_rehash(struct proc_model *m, size_t room)
{
	if (hidx_reset(&m->proc_h, room))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_procs; i++)
		proc_hinsert(m, i);
	return 0;
}

static long sock_lookup(const struct proc_model *m, uint32_t tgid, uint64_t start, uint64_t ino,
			uint64_t sk)
{
	if (!m->sock_h.cap)
		return -1;
	size_t mask = m->sock_h.cap - 1;
	for (size_t i = sock_hash(tgid, start, ino, sk) & mask;; i = (i + 1) & mask) {
		uint32_t s = m->sock_h.slot[i];
		if (!s)
			return -1;
		const struct msock *x = &m->socks[s - 1];
		if (x->k.tgid == tgid && x->start == start && x->k.ino == ino && x->k.sk == sk)
			return (long)s - 1;
	}
}

static void sock_hinsert(struct proc_model *m, size_t idx)
{
	const struct msock *x = &m->socks[idx];
	size_t mask = m->sock_h.cap - 1;
	size_t i = sock_hash(x->k.tgid, x->start, x->k.ino, x->k.sk) & mask;
	while (m->sock_h.slot[i])
		i = (i + 1) & mask;
	m->sock_h.slot[i] = (uint32_t)idx + 1;
}

static int sock_rehash(struct proc_model *m, size_t room)
{
	if (hidx_reset(&m->sock_h, room))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_socks; i++)
		sock_hinsert(m, i);
	return 0;
}

static long gone_lookup(const struct proc_model *m, uint32_t tgid, uint64_t start)
{
	if (!m->gone_h.cap)
		return -1;
	size_t mask = m->gone_h.cap - 1;
	for (size_t i = proc_hash(tgid, start) & mask;; i = (i + 1) & mask) {
		uint32_t s = m->gone_h.slot[i];
		if (!s)
			return -1;
		const struct gone_proc *g = &m->gone[s - 1];
		if (g->tgid == tgid && g->start == start)
			return (long)s - 1;
	}
}

static void gone_hinsert(struct proc_model *m, size_t idx)
{
	size_t mask = m->gone_h.cap - 1;
	size_t i = proc_hash(m->gone[idx].tgid, m->gone[idx].start) & mask;
	while (m->gone_h.slot[i])
		i = (i + 1) & mask;
	m->gone_h.slot[i] = (uint32_t)idx + 1;
}

static int gone_rehash(struct proc_model *m, size_t room)
{
	if (hidx_reset(&m->gone_h, room))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_gone; i++)
		gone_hinsert(m, i);
	return 0;
}

static void gone_add(struct proc_model *m, const struct mproc *p, uint64_t now)
{
	if (m->n_gone >= PL_GONE_MAX ||
	    grow((void **)&m->gone, &m->cap_gone, m->n_gone + 1, sizeof(*m->gone), 256))
		return;
	if ((m->n_gone + 1) * 2 > m->gone_h.cap && gone_rehash(m, m->n_gone + 1))
		return;
	m->gone[m->n_gone] =
	    (struct gone_proc){ .tgid = p->tgid, .how = p->dead, .start = p->start, .at_ns = now };
	gone_hinsert(m, m->n_gone++);
}

/* Forgets the forgotten after PL_GONE_KEEP_S: late entries come within a reading or two. */
static void gone_trim(struct proc_model *m, uint64_t now)
{
	size_t w = 0;
	for (size_t i = 0; i < m->n_gone; i++)
		if (now - m->gone[i].at_ns < PL_GONE_KEEP_S * NS)
			m->gone[w++] = m->gone[i];
	if (w != m->n_gone) {
		m->n_gone = w;
		gone_rehash(m, w);
	}
}

/* ---- processes and sockets ---- */

/* The maps' start time (ns since boot) as /proc shows it (ticks, in our time namespace). */
static uint64_t ns_to_ticks(const struct proc_model *m, uint64_t start_ns)
{
	int64_t t = (int64_t)start_ns + m->boot_off_ns;
	return t > 0 ? (uint64_t)t / m->tick_ns : 0;
}

/*
 * The process (tgid, start), added when new: -1 when the table is full.
 * A new one whose pid /proc shows as another process (or none) has exited
 * already; the maps' proc_info tells its name then.
 */
static long proc_get(struct proc_model *m, uint32_t tgid, uint64_t start, uint64_t now)
{
	long i = proc_lookup(m, tgid, start);
	if (i >= 0)
		return i;
	if (m->n_procs >= PL_PROCS_MAX)
		return -1;
	if (grow((void **)&m->procs, &m->cap_procs, m->n_procs + 1, sizeof(*m->procs), 64))
		return -1;
	if ((m->n_procs + 1) * 2 > m->proc_h.cap && proc_rehash(m, m->n_procs + 1))
		return -1;
	struct mproc *p = &m->procs[m->n_procs];
	memset(p, 0, sizeof(*p));
	p->tgid = tgid;
	p->start = start;
	p->first_ns = now;
	struct procfs_info info;
	if (procfs_starttime(&m->fs, tgid) == start && !procfs_read_info(&m->fs, tgid, &info)) {
		memcpy(p->comm, info.comm, sizeof(p->comm));
		memcpy(p->cmdline, info.cmdline, sizeof(p->cmdline));
		memcpy(p->cgroup, info.cgroup, sizeof(p->cgroup));
		p->cgroup_id = info.cgroup_id;
		/* it could have exited (and its pid been taken) between the two reads */
		p->have_proc = procfs_starttime(&m->fs, tgid) == start;
	}
	if (!p->have_proc) {
		p->comm[0] = p->cmdline[0] = p->cgroup[0] = '\0';
		p->exited_ns = now;
	}
	proc_hinsert(m, m->n_procs);
	return (long)m->n_procs++;
}

/* A new socket row: -1 when the table is full. */
static long sock_add(struct proc_model *m, uint32_t tgid, uint64_t start, uint64_t ino, uint64_t sk)
{
	if (m->n_socks >= PL_SOCKS_MAX)
		return -1;
	if (grow((void **)&m->socks, &m->cap_socks, m->n_socks + 1, sizeof(*m->socks), 256))
		return -1;
	if ((m->n_socks + 1) * 2 > m->sock_h.cap && sock_rehash(m, m->n_socks + 1))
		return -1;
	struct msock *s = &m->socks[m->n_socks];
	memset(s, 0, sizeof(*s));
	s->k.tgid = tgid;
	s->k.ino = ino;
	s->k.sk = sk;
	s->start = start;
	sock_hinsert(m, m->n_socks);
	return (long)m->n_socks++;
}

/* Drops dead rows and rebuilds the indexes. */
static void compact(struct proc_model *m)
{
	size_t w = 0;
	for (size_t i = 0; i < m->n_socks; i++)
		if (!m->socks[i].dead)
			m->socks[w++] = m->socks[i];
	m->n_socks = w;
	w = 0;
	for (size_t i = 0; i < m->n_procs; i++)
		if (!m->procs[i].dead)
			m->procs[w++] = m->procs[i];
	m->n_procs = w;
	sock_rehash(m, m->n_socks);
	proc_rehash(m, m->n_procs);
}

/* What `ss -p` shows: replaces the sockets of earlier scans; the maps' entries win over these. */
static void proc_scan(struct proc_model *m, uint64_t now)
{
	for (size_t i = 0; i < m->n_socks; i++)
		if (m->socks[i].from_proc)
			m->socks[i].dead = 1;
	compact(m);
	size_t n;
	int truncated;
	struct procfs_sock *ss =
	    procfs_scan(&m->fs, m->netns_ino, (uint32_t)getpid(), PL_SOCKS_MAX, &n, &truncated);
	for (size_t i = 0; i < n; i++) {
		const struct procfs_sock *e = &ss[i];
		long pi = proc_get(m, e->pid, e->start, now);
		long si = pi < 0 ? -1 : sock_add(m, e->pid, e->start, e->e.ino, 0);
		if (si < 0) {
			m->untracked_socks++;
			continue;
		}
		struct msock *s = &m->socks[si];
		s->from_proc = 1;
		memcpy(s->v.local, e->e.local, 16);
		memcpy(s->v.remote, e->e.remote, 16);
		s->v.local_port = e->e.local_port;
		s->v.remote_port = e->e.remote_port;
		s->v.family = e->e.family;
		s->v.proto = e->proto;
		s->v.state = e->proto == 6 ? e->e.state : 0;
		if (e->proto == 6 && e->e.state == 10 /* TCP_LISTEN */)
			s->v.flags |= PL_PS_LISTEN;
	}
	free(ss);
	m->last_scan_ns = now;
	m->scans++;
}

static void forget_sock_key(struct proc_forget *f, const struct proc_sock_key *k)
{
	if (!f || grow((void **)&f->socks, &f->cap_socks, f->n_socks + 1, sizeof(*f->socks), 64))
		return;
	f->socks[f->n_socks++] = *k;
}

static void forget_info_key(struct proc_forget *f, const struct proc_key *k)
{
	if (!f || grow((void **)&f->infos, &f->cap_infos, f->n_infos + 1, sizeof(*f->infos), 64))
		return;
	f->infos[f->n_infos++] = *k;
}

static void read_socks(struct proc_model *m, const struct proc_input *in, struct proc_forget *f,
		       uint64_t now)
{
	for (size_t i = 0; i < m->n_socks; i++)
		m->socks[i].in_map = 0;
	for (size_t i = 0; i < in->n_socks; i++) {
		const struct proc_sock_key *k = &in->sock_keys[i];
		const struct proc_sock_val *v = &in->sock_vals[i];
		uint64_t start = ns_to_ticks(m, k->start_ns);
		long gi = gone_lookup(m, k->tgid, start);
		if (gi >= 0) {
			/* made after its map was read when the process was forgotten */
			struct proc_rest *r =
			    m->gone[gi].how == GONE_EVICTED ? &m->evicted : &m->expired;
			r->sockets++;
			r->rx_bytes += v->rx_bytes;
			r->tx_bytes += v->tx_bytes;
			forget_sock_key(f, k);
			continue;
		}
		long si = sock_lookup(m, k->tgid, start, k->ino, k->sk);
		long pi = proc_get(m, k->tgid, start, now);
		if (pi < 0) {
			m->untracked_socks++;
			continue;
		}
		if (si < 0) {
			si = sock_add(m, k->tgid, start, k->ino, k->sk);
			if (si < 0) {
				m->untracked_socks++;
				continue;
			}
		}
		struct msock *s = &m->socks[si];
		if (s->v.first_ns && (v->rx_bytes < s->v.rx_bytes || v->tx_bytes < s->v.tx_bytes ||
				      v->first_ns != s->v.first_ns)) {
			/* evicted and created again: what it had counted stays counted */
			s->base_rx += s->v.rx_bytes;
			s->base_tx += s->v.tx_bytes;
			s->base_rxc += s->v.rx_calls;
			s->base_txc += s->v.tx_calls;
		}
		s->k = *k;
		s->v = *v;
		s->in_map = 1;
		struct mproc *p = &m->procs[pi];
		if (!p->start_ns)
			p->start_ns = k->start_ns;
		if (v->last_ns > p->last_ns)
			p->last_ns = v->last_ns;
	}
	/* a /proc entry of a socket the maps know too goes: the maps have its counts */
	int dup = 0;
	for (size_t i = 0; i < m->n_socks; i++) {
		const struct msock *s = &m->socks[i];
		if (!s->in_map || !s->k.ino)
			continue;
		long d = sock_lookup(m, s->k.tgid, s->start, s->k.ino, 0);
		if (d >= 0 && m->socks[d].from_proc) {
			m->socks[d].dead = 1;
			dup = 1;
		}
	}
	if (dup)
		compact(m);
}

static void read_infos(struct proc_model *m, const struct proc_input *in, struct proc_forget *f,
		       uint64_t now)
{
	for (size_t i = 0; i < in->n_infos; i++) {
		const struct proc_key *k = &in->info_keys[i];
		const struct proc_info_val *v = &in->info_vals[i];
		uint64_t start = ns_to_ticks(m, k->start_ns);
		if (gone_lookup(m, k->tgid, start) >= 0) {
			forget_info_key(f, k);
			continue;
		}
		long pi = proc_get(m, k->tgid, start, now);
		if (pi < 0)
			continue;
		struct mproc *p = &m->procs[pi];
		if (!p->start_ns)
			p->start_ns = k->start_ns;
		if (v->connects < p->last_conn || v->accepts < p->last_acc) {
			p->base_conn += p->last_conn;
			p->base_acc += p->last_acc;
		}
		p->last_conn = v->connects;
		p->last_acc = v->accepts;
		p->connects = p->base_conn + v->connects;
		p->accepts = p->base_acc + v->accepts;
		p->cgroup_id = v->cgroup_id;
		/* what the process was when it first used a socket: all we have once it is gone */
		if (!p->have_proc) {
			snprintf(p->comm, sizeof(p->comm), "%.*s", (int)sizeof(v->comm), v->comm);
			proc_argv_join(p->cmdline, sizeof(p->cmdline), v->cmdline,
				       v->cmdline_len < sizeof(v->cmdline) ? v->cmdline_len
									   : sizeof(v->cmdline));
		}
		if (v->first_ns && v->first_ns < p->first_ns)
			p->first_ns = v->first_ns;
	}
}

/* ---- liveness ---- */

static void check_procs(struct proc_model *m, uint64_t now)
{
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		/* gone, or its pid is another process now */
		if (!p->exited_ns && procfs_starttime(&m->fs, p->tgid) != p->start)
			p->exited_ns = now;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Sets each socket's process, and order[] (socket indices grouped by process). */
static int group_socks(struct proc_model *m)
{
	if (grow((void **)&m->order, &m->cap_order, m->n_socks + 1, sizeof(*m->order), 256))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_procs; i++)
		m->procs[i].n_socks = 0;
	for (size_t i = 0; i < m->n_socks; i++) {
		struct msock *s = &m->socks[i];
		long pi = proc_lookup(m, s->k.tgid, s->start);
		/* every socket is added with its process, and goes with it */
		s->proc = pi < 0 ? UINT32_MAX : (uint32_t)pi;
		if (pi >= 0)
			m->procs[pi].n_socks++;
	}
	uint32_t at = 0;
	for (size_t i = 0; i < m->n_procs; i++) {
		m->procs[i].first_sock = at;
		at += m->procs[i].n_socks;
		m->procs[i].n_socks = 0;
	}
	for (size_t i = 0; i < m->n_socks; i++) {
		uint32_t pi = m->socks[i].proc;
		if (pi == UINT32_MAX)
			continue;
		struct mproc *p = &m->procs[pi];
		m->order[p->first_sock + p->n_socks++] = (uint32_t)i;
	}
	return 0;
}

/* Closed sockets: the inode is no longer among the process's fds (or the process is gone). */
static void check_socks(struct proc_model *m, uint64_t now)
{
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		uint32_t *o = &m->order[p->first_sock];
		if (!p->n_socks)
			continue;
		if (p->exited_ns) {
			for (uint32_t k = 0; k < p->n_socks; k++)
				if (!m->socks[o[k]].closed_ns)
					m->socks[o[k]].closed_ns = p->exited_ns;
			continue;
		}
		if (p->fdscan_ns && now - p->fdscan_ns < PL_FDSCAN_S * NS)
			continue;
		p->fdscan_ns = now;
		size_t n_ino;
		uint64_t *inos = procfs_fd_inodes(&m->fs, p->tgid, &n_ino);
		for (uint32_t k = 0; k < p->n_socks; k++) {
			struct msock *s = &m->socks[o[k]];
			if (!s->k.ino)
				continue; /* a kernel socket has no fd to look for */
			int open = n_ino && bsearch(&s->k.ino, inos, n_ino, sizeof(*inos), cmp_u64);
			if (!open && !s->closed_ns)
				s->closed_ns = now;
			else if (open)
				s->closed_ns = 0;
		}
		free(inos);
	}
}

/* ---- forgetting: folded sockets, exited processes, the table's bound ---- */

/* The rule every socket key follows (shared/tcp.h), for sockets read from /proc too. */
void proc_addr_normalise(uint8_t *family, uint8_t *local, uint8_t *remote)
{
	pl_unmap_v4(family, local, remote);
}

static void match_of(struct match *x, const struct msock *s)
{
	memset(x, 0, sizeof(*x));
	x->proto = s->v.proto;
	x->family = s->v.family;
	x->local_port = s->v.local_port;
	x->remote_port = s->v.remote_port;
	memcpy(x->local, s->v.local, 16);
	memcpy(x->remote, s->v.remote, 16);
	proc_addr_normalise(&x->family, x->local, x->remote);
	x->tgid = s->k.tgid;
	x->start = s->start;
}

/* A socket row goes: its connection stays known to its flow (nginx's workers close theirs). */
static void remember(struct proc_model *m, const struct msock *s, const struct mproc *p,
		     uint64_t now)
{
	if (!s->v.local_port && !s->v.remote_port)
		return;
	/* up to twice the bound between trims (closed_trim): no quadratic eviction */
	if (m->n_closed >= 2 * PL_CLOSED_MAX ||
	    grow((void **)&m->closed, &m->cap_closed, m->n_closed + 1, sizeof(*m->closed), 256))
		return;
	struct closed_conn *c = &m->closed[m->n_closed++];
	match_of(&c->m, s);
	c->m.score = s->v.last_ns;
	memcpy(c->comm, p->comm, sizeof(c->comm));
	c->used_ns = now;
}

static int cmp_closed_used(const void *a, const void *b)
{
	const struct closed_conn *x = a, *y = b;
	return (x->used_ns < y->used_ns) - (x->used_ns > y->used_ns); /* latest first */
}

static void closed_trim(struct proc_model *m, uint64_t now)
{
	size_t w = 0;
	for (size_t i = 0; i < m->n_closed; i++)
		if (now - m->closed[i].used_ns < PL_CLOSED_KEEP_S * NS)
			m->closed[w++] = m->closed[i];
	m->n_closed = w;
	if (m->n_closed > PL_CLOSED_MAX) {
		qsort(m->closed, m->n_closed, sizeof(*m->closed), cmp_closed_used);
		m->n_closed = PL_CLOSED_MAX;
	}
}

static void forget_sock(struct proc_forget *f, const struct msock *s)
{
	if (!s->from_proc && s->k.sk)
		forget_sock_key(f, &s->k);
}

static void forget_info(struct proc_forget *f, const struct mproc *p)
{
	if (p->start_ns)
		forget_info_key(f, &(struct proc_key){ .tgid = p->tgid, .start_ns = p->start_ns });
}

static uint64_t sock_rx(const struct msock *s)
{
	return s->base_rx + s->v.rx_bytes;
}

static uint64_t sock_tx(const struct msock *s)
{
	return s->base_tx + s->v.tx_bytes;
}

static const struct proc_model *g_m; /* qsort has no context argument in C11 */

/* The process that exited first goes first; among those, the one idle longest. */
static int cmp_exited(const void *a, const void *b)
{
	const struct mproc *x = &g_m->procs[*(const uint32_t *)a];
	const struct mproc *y = &g_m->procs[*(const uint32_t *)b];
	if (x->exited_ns != y->exited_ns)
		return x->exited_ns < y->exited_ns ? -1 : 1;
	if (x->last_ns != y->last_ns)
		return x->last_ns < y->last_ns ? -1 : 1;
	if (x->first_ns != y->first_ns)
		return x->first_ns < y->first_ns ? -1 : 1;
	return (x->tgid > y->tgid) - (x->tgid < y->tgid);
}

static void expire(struct proc_model *m, struct proc_forget *f, uint64_t now)
{
	size_t n_exited = 0;
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		if (!p->exited_ns)
			continue;
		if (now - p->exited_ns >= PL_PROC_KEEP_S * NS)
			p->dead = GONE_KEPT;
		else
			n_exited++;
	}
	if (n_exited > PL_PROCS_EXITED_MAX) {
		uint32_t *ex = malloc(n_exited * sizeof(*ex));
		size_t k = 0;
		for (size_t i = 0; ex && i < m->n_procs; i++)
			if (m->procs[i].exited_ns && !m->procs[i].dead)
				ex[k++] = (uint32_t)i;
		g_m = m;
		if (ex)
			qsort(ex, k, sizeof(*ex), cmp_exited);
		for (size_t i = 0; ex && i < k - PL_PROCS_EXITED_MAX; i++)
			m->procs[ex[i]].dead = GONE_EVICTED;
		free(ex);
	}
	/* nothing of a process that /proc shows alive as itself is forgotten or deleted */
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		if (!p->dead || procfs_starttime(&m->fs, p->tgid) != p->start)
			continue;
		/* its sockets were closed when it "exited": the next fd scan tells */
		for (uint32_t k = 0; k < p->n_socks; k++) {
			struct msock *s = &m->socks[m->order[p->first_sock + k]];
			if (s->closed_ns >= p->exited_ns)
				s->closed_ns = 0;
		}
		p->dead = 0;
		p->exited_ns = 0;
		p->fdscan_ns = 0;
	}
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[i];
		uint64_t rx = p->closed_rx, tx = p->closed_tx;
		for (uint32_t k = 0; k < p->n_socks; k++) {
			struct msock *s = &m->socks[m->order[p->first_sock + k]];
			rx += sock_rx(s);
			tx += sock_tx(s);
			if (!p->dead && (p->exited_ns || !s->closed_ns ||
					 now - s->closed_ns < PL_SOCK_KEEP_S * NS))
				continue;
			if (!p->dead) {
				/* closed long enough: its counts stay in the process's totals */
				p->closed_rx += sock_rx(s);
				p->closed_tx += sock_tx(s);
				p->closed_rxc += s->base_rxc + s->v.rx_calls;
				p->closed_txc += s->base_txc + s->v.tx_calls;
			}
			remember(m, s, p, now);
			forget_sock(f, s);
			s->dead = 1;
		}
		if (!p->dead)
			continue;
		forget_info(f, p);
		gone_add(m, p, now);
		struct proc_rest *r = p->dead == GONE_EVICTED ? &m->evicted : &m->expired;
		r->count++;
		r->sockets += p->n_socks;
		r->rx_bytes += rx;
		r->tx_bytes += tx;
	}
	for (size_t i = 0; i < m->n_socks; i++)
		if (m->socks[i].proc == UINT32_MAX)
			m->socks[i].dead = 1;
	compact(m);
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
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1; /* best first */
	/* equal (a listener two processes hold, known from /proc): the same pick every time */
	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return (x->start > y->start) - (x->start < y->start);
}

static void build_index(struct proc_model *m)
{
	free(m->idx);
	m->n_idx = 0;
	m->idx = calloc(m->n_socks + m->n_closed + 1, sizeof(*m->idx));
	if (!m->idx)
		return;
	for (size_t i = 0; i < m->n_socks; i++) {
		const struct msock *s = &m->socks[i];
		struct match *x = &m->idx[m->n_idx++];
		match_of(x, s);
		x->score = (s->closed_ns ? 2ULL : 3ULL) << 60 | (s->v.last_ns & SCORE_MASK);
	}
	for (size_t i = 0; i < m->n_closed; i++) {
		struct match *x = &m->idx[m->n_idx++];
		*x = m->closed[i].m;
		x->score = 1ULL << 60 | (m->closed[i].m.score & SCORE_MASK);
		x->closed = (uint32_t)i + 1;
	}
	qsort(m->idx, m->n_idx, sizeof(*m->idx), cmp_match_best);
	size_t w = 0;
	for (size_t i = 0; i < m->n_idx; i++)
		if (!w || cmp_match(&m->idx[w - 1], &m->idx[i]))
			m->idx[w++] = m->idx[i];
	m->n_idx = w;
	/* what a flow's lookup can answer: the process and its name, for each key */
	uint64_t h = mix64(w);
	for (size_t i = 0; i < w; i++) {
		const struct match *x = &m->idx[i];
		const char *comm = "";
		if (x->closed) {
			comm = m->closed[x->closed - 1].comm;
		} else {
			long pi = proc_lookup(m, x->tgid, x->start);
			if (pi >= 0)
				comm = m->procs[pi].comm;
		}
		uint64_t c = 0;
		memcpy(&c, comm, strnlen(comm, 8));
		h = mix64(h ^
			  mix64(x->proto | (uint64_t)x->family << 8 |
				(uint64_t)x->local_port << 16 | (uint64_t)x->remote_port << 32));
		for (int b = 0; b < 16; b += 8) {
			uint64_t a, r;
			memcpy(&a, x->local + b, 8);
			memcpy(&r, x->remote + b, 8);
			h = mix64(h ^ a) ^ mix64(r);
		}
		h = mix64(h ^ x->tgid ^ mix64(x->start) ^ c);
	}
	if (h != m->idx_hash)
		m->version++;
	m->idx_hash = h;
}

uint64_t proc_model_version(const struct proc_model *m)
{
	return m->version;
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
	/* connected without a source address yet (a dual-stack socket: ::, ::ffff:peer) */
	if ((x = lookup(m, k->proto, k->family, NULL, k->local_port, k->remote, k->remote_port)))
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

struct row_key {
	uint32_t pid;
	uint64_t start;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row_key *k = a;
	const struct proc_row *r = b;
	if (k->pid != r->pid)
		return k->pid < r->pid ? -1 : 1;
	return (k->start > r->start_ticks) - (k->start < r->start_ticks);
}

void proc_model_match_flow(struct proc_model *m, struct flow_row *r)
{
	r->pid = 0;
	r->proc_start = 0;
	r->comm[0] = '\0';
	if (!tracked_proto(r->key.proto))
		return;
	const struct match *x = m->n_idx ? match_flow(m, &r->key) : NULL;
	if (!x)
		return;
	const char *comm = "";
	if (x->closed) {
		struct closed_conn *c = &m->closed[x->closed - 1];
		c->used_ns = m->last_read_ns;
		comm = c->comm;
	} else {
		long pi = proc_lookup(m, x->tgid, x->start);
		if (pi >= 0)
			comm = m->procs[pi].comm;
	}
	r->pid = x->tgid;
	r->proc_start = x->start;
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
}

void proc_model_count_flow(struct proc_model *m, const struct flow_row *r,
			   struct snapshot_procs *sp)
{
	/* ICMP flows are often the kernel's own (echo replies, neighbour discovery): not counted */
	int counted = r->key.proto == 6 || r->key.proto == 17 || r->key.proto == 136;
	if (!counted && !(r->pid && tracked_proto(r->key.proto)))
		return;
	if (sp && counted)
		sp->flows++;
	if (!r->pid) {
		m->unmatched += counted;
		return;
	}
	if (!sp)
		return;
	sp->flows_attributed += counted;
	struct row_key q = { r->pid, r->proc_start };
	struct proc_row *row = bsearch(&q, sp->rows, sp->n_rows, sizeof(*sp->rows), cmp_row);
	if (row) {
		row->flows++;
		row->retrans += r->retrans;
		row->drops += r->drops;
	}
}

void proc_model_fill_flow(struct proc_model *m, struct flow_row *r, struct snapshot_procs *sp)
{
	proc_model_match_flow(m, r);
	proc_model_count_flow(m, r, sp);
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
	o->from_proc = s->from_proc;
	o->local_port = s->v.local_port;
	o->remote_port = s->v.remote_port;
	flow_addr_str(s->v.local, s->v.family, o->local, sizeof(o->local));
	flow_addr_str(s->v.remote, s->v.family, o->remote, sizeof(o->remote));
	if (s->v.proto == 6) {
		const char *n = m->states ? btf_enum_name(m->states, s->v.state) : NULL;
		snprintf(o->state, sizeof(o->state), "%s", n && *n ? n : "?");
	}
	o->inode = s->k.ino;
	o->rx_bytes = sock_rx(s);
	o->tx_bytes = sock_tx(s);
	o->rx_calls = s->base_rxc + s->v.rx_calls;
	o->tx_calls = s->base_txc + s->v.tx_calls;
	o->last_seen = s->v.last_ns ? rel_s(s->v.last_ns, start_ns) : -1;
	o->tid = s->v.tid;
	snprintf(o->thread, sizeof(o->thread), "%.*s", (int)sizeof(s->v.thread), s->v.thread);
}

static int cmp_proc_id(const void *a, const void *b)
{
	const struct mproc *x = &g_m->procs[*(const uint32_t *)a];
	const struct mproc *y = &g_m->procs[*(const uint32_t *)b];
	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return (x->start > y->start) - (x->start < y->start);
}

/* A process's sockets: open first, then the busiest, then by inode. */
static int cmp_sock_busy(const void *a, const void *b)
{
	const struct msock *x = &g_m->socks[*(const uint32_t *)a];
	const struct msock *y = &g_m->socks[*(const uint32_t *)b];
	if (!x->closed_ns != !y->closed_ns)
		return x->closed_ns ? 1 : -1;
	uint64_t bx = sock_rx(x) + sock_tx(x), by = sock_rx(y) + sock_tx(y);
	if (bx != by)
		return bx < by ? 1 : -1;
	if (x->k.ino != y->k.ino)
		return x->k.ino < y->k.ino ? -1 : 1;
	return (x->k.sk > y->k.sk) - (x->k.sk < y->k.sk);
}

static void proc_rates(struct proc_model *m, struct mproc *p, struct proc_row *r, double dt)
{
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

static struct snapshot_procs *build_snapshot(struct proc_model *m, uint64_t start_ns,
					     uint64_t now_ns, double dt)
{
	size_t sz = sizeof(struct snapshot_procs) + m->n_procs * sizeof(struct proc_row) +
		    m->n_socks * sizeof(struct proc_sock_row);
	struct snapshot_procs *sp = calloc(1, sz);
	uint32_t *po = malloc((m->n_procs + 1) * sizeof(*po));
	if (!sp || !po) {
		free(sp);
		free(po);
		return NULL;
	}
	sp->rows = (struct proc_row *)(sp + 1);
	sp->socks = (struct proc_sock_row *)(sp->rows + m->n_procs);
	sp->n_rows = m->n_procs;
	sp->proc_scans = m->scans;
	sp->evicted = m->evicted;
	sp->expired = m->expired;
	sp->untracked_socks = m->untracked_socks;
	sp->closed_remembered = m->n_closed;
	g_m = m;
	for (size_t i = 0; i < m->n_procs; i++)
		po[i] = (uint32_t)i;
	qsort(po, m->n_procs, sizeof(*po), cmp_proc_id);
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mproc *p = &m->procs[po[i]];
		struct proc_row *r = &sp->rows[i];
		r->pid = p->tgid;
		r->start_ticks = p->start;
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
		uint32_t *o = &m->order[p->first_sock];
		qsort(o, p->n_socks, sizeof(*o), cmp_sock_busy);
		r->first_sock = (uint32_t)sp->n_socks;
		r->n_socks = p->n_socks;
		for (uint32_t k = 0; k < p->n_socks; k++) {
			const struct msock *s = &m->socks[o[k]];
			struct proc_sock_row *so = &sp->socks[sp->n_socks++];
			fill_sock_row(m, s, so, start_ns);
			r->rx_bytes += so->rx_bytes;
			r->tx_bytes += so->tx_bytes;
			r->rx_calls += so->rx_calls;
			r->tx_calls += so->tx_calls;
			if (!so->open)
				continue;
			if (so->proto == 6) {
				r->tcp++;
				if (so->flags & PL_PS_LISTEN || s->v.state == 10)
					r->listen++;
				else if (s->v.state == 1)
					r->established++;
			} else if (so->proto == 17 || so->proto == 136) {
				r->udp++;
			} else {
				r->other++;
			}
		}
		r->sockets = r->tcp + r->udp + r->other;
		r->last_seen = p->last_ns ? rel_s(p->last_ns, start_ns) : -1;
		proc_rates(m, p, r, dt);
	}
	free(po);
	m->last_read_ns = now_ns;
	return sp;
}

struct snapshot_procs *proc_model_update(struct proc_model *m, const struct proc_input *in,
					 struct proc_forget *forget, uint64_t start_ns,
					 uint64_t now_ns, double dt)
{
	int want_scan = !m->scans || now_ns - m->last_scan_ns >= PL_PROCSCAN_MAX_S * NS ||
			(m->unmatched && now_ns - m->last_scan_ns >= PL_PROCSCAN_MIN_S * NS);
	m->untracked_socks = 0;
	if (want_scan)
		proc_scan(m, now_ns);
	m->unmatched = 0;
	if (in) {
		read_socks(m, in, forget, now_ns);
		read_infos(m, in, forget, now_ns);
	}
	check_procs(m, now_ns);
	if (group_socks(m))
		return NULL;
	check_socks(m, now_ns);
	expire(m, forget, now_ns);
	closed_trim(m, now_ns);
	gone_trim(m, now_ns);
	if (group_socks(m))
		return NULL;
	build_index(m);
	return build_snapshot(m, start_ns, now_ns, dt);
}
