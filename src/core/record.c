/* --record and --replay: snapshots to a versioned, compressed file and back, every byte read checked. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/histring.h"
#include "core/record.h"
#include "core/safefile.h"
#include "core/security.h"

#define REC_MAGIC "PKTLREC\n"
#define REC_ENDIAN 0x01020304u
#define REC_FRAME_MAGIC "FRAM"
/* A frame's plain bytes: a million flows are ~350 MB; more is damage, not a snapshot. */
#define REC_FRAME_MAX (1u << 30)

enum rec_tag {
	RT_META = 1,
	RT_PROBES,
	RT_FLOWS,
	RT_TOTALS,
	RT_FTAB,
	RT_DROPS,
	RT_TCP,
	RT_TCP_SOCKS,
	RT_TCP_LATS,
	RT_L7,
	RT_PROCS,
	RT_PROC_ROWS,
	RT_PROC_SOCKS,
	/* format 2 on: the security model's part (older recordings have none) */
	RT_SEC,
	RT_ALERTS,
	RT_FW_RULES,
	RT_MAX,
};
/* Sections a recording may lack (a 0 size in its header): its writer did not know them yet. */
#define RT_FIRST_OPTIONAL RT_SEC

/* The snapshot's own members (the rest of struct snapshot is pointers and references). */
struct rec_meta {
	double uptime_s, interval_s, bpf_stats_s;
	int64_t time_unix_ns;
	int32_t bpf_stats;
	uint32_t pad;
	char host[64];
	char netns[64];
	char ifaces[256];
};

/* Element size of each section in this build: the layout a recording must have. */
static const uint32_t elem_size[RT_MAX] = {
	[RT_META] = sizeof(struct rec_meta),
	[RT_PROBES] = sizeof(struct probe_info),
	[RT_FLOWS] = sizeof(struct flow_row),
	[RT_TOTALS] = sizeof(struct snapshot_totals),
	[RT_FTAB] = sizeof(struct snapshot_flow_table),
	[RT_DROPS] = sizeof(struct snapshot_drops),
	[RT_TCP] = sizeof(struct snapshot_tcp),
	[RT_TCP_SOCKS] = sizeof(struct tcp_sock_detail),
	[RT_TCP_LATS] = sizeof(struct flow_lat_row),
	[RT_L7] = sizeof(struct snapshot_l7),
	[RT_PROCS] = sizeof(struct snapshot_procs),
	[RT_PROC_ROWS] = sizeof(struct proc_row),
	[RT_PROC_SOCKS] = sizeof(struct proc_sock_row),
	[RT_SEC] = sizeof(struct snapshot_sec),
	[RT_ALERTS] = sizeof(struct alert_row),
	[RT_FW_RULES] = sizeof(struct fw_row),
};

/*
 * Format 1 was the first 128 bytes (tags up to 15); format 2 appended the sizes of tags 16-31,
 * so that both share everything up to the version.
 */
struct rec_header {
	char magic[8];
	uint32_t format;
	uint32_t endian;
	uint32_t sizes[16];    /* elem_size[], index = tag */
	char version[48];      /* pktlens version that wrote it */
	uint32_t sizes_hi[16]; /* format 2 on: elem_size[16 + i] */
};
#define REC_HEADER_V1 128
_Static_assert(offsetof(struct rec_header, sizes_hi) == REC_HEADER_V1, "format 1 header");
_Static_assert(sizeof(struct rec_header) == 192, "recording header");
_Static_assert(RT_MAX <= 32, "section tags");

static uint32_t header_size(const struct rec_header *h, int tag)
{
	return tag < 16 ? h->sizes[tag] : h->sizes_hi[tag - 16];
}

struct rec_frame {
	char magic[4];
	uint32_t zlen; /* compressed bytes that follow */
	uint32_t len;  /* plain bytes */
	uint32_t crc;  /* CRC-32 of the plain bytes */
};

struct rec_section {
	uint32_t tag, size, count, pad;
};

/* ---- writing ---- */

struct recorder {
	int fd;
	char path[256];
	unsigned char *plain, *z;
	size_t plain_cap, z_cap;
	size_t plain_len;
	uint64_t frames, bytes;
};

static int reserve(unsigned char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 65536;
	while (n < need)
		n *= 2;
	unsigned char *p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

static int put_section(struct recorder *r, uint32_t tag, const void *elems, size_t count)
{
	struct rec_section h = { tag, elem_size[tag], (uint32_t)count, 0 };
	size_t n = (size_t)elem_size[tag] * count;
	if (count > UINT32_MAX || reserve(&r->plain, &r->plain_cap, r->plain_len + sizeof(h) + n))
		return -ENOMEM;
	memcpy(r->plain + r->plain_len, &h, sizeof(h));
	if (n)
		memcpy(r->plain + r->plain_len + sizeof(h), elems, n);
	r->plain_len += sizeof(h) + n;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct recorder *recorder__open(const char *path, const char *version, char *err, size_t errlen)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct rec_header h = { .format = REC_FORMAT, .endian = REC_ENDIAN };
	struct stat st;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(r->path, sizeof(r->path), "%s", path);
	/* as root, from a name on the command line: no symlink, the invoker's own file */
	r->fd = safefile_open_append(path, "recording (--record)", err, errlen);
	if (r->fd < 0) {
		free(r);
		return NULL;
	}
	int e = ftruncate(r->fd, 0) ? -errno : 0;
	/* a recording made through sudo is the user's, so that replaying needs no privileges */
	uid_t inv = safefile_invoker();
	if (!e && !fstat(r->fd, &st) && st.st_uid != inv && fchown(r->fd, inv, (gid_t)-1))
		e = -errno;
	memcpy(h.magic, REC_MAGIC, sizeof(h.magic));
	for (int t = 0; t < RT_MAX; t++) {
		if (t < 16)
			h.sizes[t] = elem_size[t];
		else
			h.sizes_hi[t - 16] = elem_size[t];
	}
	snprintf(h.version, sizeof(h.version), "%s", version ? version : "");
	if (!e)
		e = write_all(r->fd, &h, sizeof(h));
	if (e) {
		snprintf(err, errlen, "cannot write the recording %s: %s", path, strerror(-e));
		close(r->fd);
		free(r);
		return NULL;
	}
	r->bytes = sizeof(h);
	return r;
}

int recorder_write(struct recorder *r, const struct snapshot *s, char *err, size_t errlen)
{
	struct rec_meta m = { 0 };
	int e = 0;
	m.uptime_s = s->uptime_s;
	m.interval_s = s->interval_s;
	m.bpf_stats_s = s->bpf_stats_s;
	m.time_unix_ns = s->time_unix_ns;
	m.bpf_stats = s->bpf_stats;
	memcpy(m.host, s->host, sizeof(m.host));
	memcpy(m.netns, s->netns, sizeof(m.netns));
	memcpy(m.ifaces, s->ifaces, sizeof(m.ifaces));
	r->plain_len = 0;
	e = e ?: put_section(r, RT_META, &m, 1);
	e = e ?: put_section(r, RT_PROBES, s->probes, s->probes ? s->n_probes : 0);
	e = e ?: put_section(r, RT_FLOWS, s->flows, s->flows ? s->n_flows : 0);
	e = e ?: put_section(r, RT_TOTALS, &s->tot, 1);
	e = e ?: put_section(r, RT_FTAB, &s->ftab, 1);
	if (s->drops)
		e = e ?: put_section(r, RT_DROPS, s->drops, 1);
	if (s->tcp) {
		/* the pointers stay out of the file: the reader sets its own */
		struct snapshot_tcp *t = malloc(sizeof(*t));
		if (!t) {
			e = -ENOMEM;
		} else {
			*t = *s->tcp;
			t->socks = NULL;
			t->lats = NULL;
			e = e ?: put_section(r, RT_TCP, t, 1);
			free(t);
		}
		e = e
			?: put_section(r, RT_TCP_SOCKS, s->tcp->socks,
				       s->tcp->socks ? s->tcp->n_socks : 0);
		e = e
			?: put_section(r, RT_TCP_LATS, s->tcp->lats,
				       s->tcp->lats ? s->tcp->n_lats : 0);
	}
	if (s->l7)
		e = e ?: put_section(r, RT_L7, s->l7, 1);
	if (s->procs) {
		struct snapshot_procs p = *s->procs;
		p.rows = NULL;
		p.socks = NULL;
		e = e ?: put_section(r, RT_PROCS, &p, 1);
		e = e
			?: put_section(r, RT_PROC_ROWS, s->procs->rows,
				       s->procs->rows ? s->procs->n_rows : 0);
		e = e
			?: put_section(r, RT_PROC_SOCKS, s->procs->socks,
				       s->procs->socks ? s->procs->n_socks : 0);
	}
	if (s->sec) {
		struct snapshot_sec *c = malloc(sizeof(*c));
		if (!c) {
			e = -ENOMEM;
		} else {
			*c = *s->sec;
			c->alerts = NULL;
			c->rules = NULL;
			e = e ?: put_section(r, RT_SEC, c, 1);
			free(c);
		}
		e = e
			?: put_section(r, RT_ALERTS, s->sec->alerts,
				       s->sec->alerts ? s->sec->n_alerts : 0);
		e = e
			?: put_section(r, RT_FW_RULES, s->sec->rules,
				       s->sec->rules ? s->sec->n_rules : 0);
	}
	uLongf zlen = compressBound(r->plain_len);
	if (!e && (r->plain_len > REC_FRAME_MAX ||
		   reserve(&r->z, &r->z_cap, sizeof(struct rec_frame) + zlen)))
		e = -ENOMEM;
	if (!e) {
		/* level 1: the sections are mostly zeros and repeats; 6 costs 3x the CPU for ~10% */
		if (compress2(r->z + sizeof(struct rec_frame), &zlen, r->plain, r->plain_len, 1) !=
		    Z_OK)
			e = -ENOMEM;
	}
	if (!e) {
		struct rec_frame f = { .zlen = (uint32_t)zlen, .len = (uint32_t)r->plain_len };
		memcpy(f.magic, REC_FRAME_MAGIC, sizeof(f.magic));
		f.crc = (uint32_t)crc32(0L, r->plain, (uInt)r->plain_len);
		memcpy(r->z, &f, sizeof(f));
		/* one write per frame: a crash leaves whole snapshots */
		e = write_all(r->fd, r->z, sizeof(f) + zlen);
	}
	if (e) {
		snprintf(err, errlen, "writing the recording %s failed: %s", r->path, strerror(-e));
		return e;
	}
	r->frames++;
	r->bytes += sizeof(struct rec_frame) + zlen;
	return 0;
}

uint64_t recorder_frames(const struct recorder *r)
{
	return r ? r->frames : 0;
}

uint64_t recorder_bytes(const struct recorder *r)
{
	return r ? r->bytes : 0;
}

void recorder__free(struct recorder *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r->plain);
	free(r->z);
	free(r);
}

/* ---- reading ---- */

/* What a flow's histories need from one frame: found by a hash of its key. */
struct rec_series {
	uint64_t khash;
	float v[4]; /* rx_bps, tx_bps, srtt_us, cwnd */
	uint32_t tcp_known;
};

struct rec_index {
	size_t off; /* of the frame header in buf */
	double uptime_s;
	int64_t time_ns;
	struct rec_series *series; /* sorted by khash */
	size_t n_series;
};

struct recording {
	unsigned char *buf;
	size_t len;
	char name[256];
	char version[48];
	uint8_t absent[RT_MAX]; /* sections its writer did not know */
	struct rec_index *frames;
	size_t n;
	unsigned char *plain; /* one frame's plain bytes */
	size_t plain_cap;
};

static uint64_t key_hash(const struct flow_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static int cmp_series(const void *a, const void *b)
{
	uint64_t x = ((const struct rec_series *)a)->khash,
		 y = ((const struct rec_series *)b)->khash;
	return (x > y) - (x < y);
}

/* A string member ends inside its array whatever the file held. */
#define TERM(a) ((a)[sizeof(a) - 1] = '\0')
/* Counts and lengths that index arrays are bounded; the file is not trusted. */
#define CLAMP(n, max)                \
	do {                         \
		if ((n) > (max))     \
			(n) = (max); \
	} while (0)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A number the screen formats stays finite and within what its formatting handles. */
static void fin(double *d)
{
	if (!isfinite(*d) || *d > 1e15 || *d < -1e15)
		*d = 0;
}

static void fix_probe(struct probe_info *p)
{
	TERM(p->id);
	TERM(p->target);
	TERM(p->reason);
	TERM(p->detail);
	CLAMP(p->n_others, NELEM(p->others));
	for (size_t i = 0; i < NELEM(p->others); i++) {
		TERM(p->others[i].name);
		TERM(p->others[i].how);
	}
	CLAMP(p->n_lat_pids, NELEM(p->lat_pids));
	if ((unsigned)p->kind >= PK_MAX)
		p->kind = PK_TRACEPOINT;
	if ((unsigned)p->state > PS_ERROR)
		p->state = PS_ERROR;
}

static void fix_flow(struct flow_row *f)
{
	TERM(f->iface);
	TERM(f->local);
	TERM(f->remote);
	TERM(f->state);
	TERM(f->l7);
	TERM(f->comm);
	fin(&f->rx_pps);
	fin(&f->rx_bps);
	fin(&f->tx_pps);
	fin(&f->tx_bps);
	fin(&f->first_seen);
	fin(&f->last_seen);
	fin(&f->handshake_ms);
	/* histories are the replay's own (rebuilt from the frames) */
	f->hist = f->hist_serial = f->tcp_hist = f->tcp_hist_serial = 0;
	f->slot = f->serial = 0;
}

static void fix_totals(struct snapshot_totals *t)
{
	fin(&t->rx_pps);
	fin(&t->rx_bps);
	fin(&t->tx_pps);
	fin(&t->tx_bps);
}

static void fix_reason(struct drop_reason_row *r)
{
	TERM(r->reason);
	TERM(r->top_flow);
	fin(&r->rate);
	fin(&r->last_seen);
	CLAMP(r->hist_len, PL_HIST_LEN);
	for (size_t i = 0; i < PL_HIST_LEN; i++)
		if (!isfinite(r->hist[i]) || r->hist[i] < 0 || r->hist[i] > 1e15f)
			r->hist[i] = 0;
}

static void fix_event(struct drop_event_row *e)
{
	fin(&e->time);
	TERM(e->reason);
	TERM(e->location);
	TERM(e->flow);
}

static void fix_drops(struct snapshot_drops *d)
{
	fin(&d->rate);
	fin(&d->discarded_rate);
	CLAMP(d->n_reasons, NELEM(d->reasons));
	CLAMP(d->n_locs, NELEM(d->locs));
	CLAMP(d->n_ifaces, NELEM(d->ifaces));
	CLAMP(d->n_events, NELEM(d->events));
	CLAMP(d->n_flows, NELEM(d->flows));
	CLAMP(d->n_qdiscs, NELEM(d->qdiscs));
	CLAMP(d->n_softnet, NELEM(d->softnet));
	CLAMP(d->n_discard_reasons, NELEM(d->discard_reasons));
	CLAMP(d->n_discard_locs, NELEM(d->discard_locs));
	CLAMP(d->n_discard_events, NELEM(d->discard_events));
	for (size_t i = 0; i < NELEM(d->reasons); i++)
		fix_reason(&d->reasons[i]);
	for (size_t i = 0; i < NELEM(d->discard_reasons); i++)
		fix_reason(&d->discard_reasons[i]);
	for (size_t i = 0; i < NELEM(d->locs); i++)
		TERM(d->locs[i].function);
	for (size_t i = 0; i < NELEM(d->discard_locs); i++)
		TERM(d->discard_locs[i].function);
	for (size_t i = 0; i < NELEM(d->ifaces); i++) {
		TERM(d->ifaces[i].iface);
		TERM(d->ifaces[i].proto);
	}
	for (size_t i = 0; i < NELEM(d->events); i++)
		fix_event(&d->events[i]);
	for (size_t i = 0; i < NELEM(d->discard_events); i++)
		fix_event(&d->discard_events[i]);
	for (size_t i = 0; i < NELEM(d->flows); i++) {
		TERM(d->flows[i].flow);
		TERM(d->flows[i].reason);
	}
	for (size_t i = 0; i < NELEM(d->qdiscs); i++) {
		TERM(d->qdiscs[i].iface);
		TERM(d->qdiscs[i].kind);
		TERM(d->qdiscs[i].handle);
		TERM(d->qdiscs[i].parent);
	}
}

static void fix_tcp(struct snapshot_tcp *t)
{
	fin(&t->retrans_rate);
	fin(&t->conn_rate);
	fin(&t->handshake_ms_avg);
	CLAMP(t->n_recent, NELEM(t->recent));
	for (size_t i = 0; i < NELEM(t->recent); i++) {
		fin(&t->recent[i].time);
		TERM(t->recent[i].kind);
		TERM(t->recent[i].state);
		TERM(t->recent[i].flow);
	}
}

static void fix_sock_detail(struct tcp_sock_detail *d)
{
	fin(&d->open_s);
	fin(&d->close_s);
	CLAMP(d->n_timeline, NELEM(d->timeline));
	for (size_t i = 0; i < NELEM(d->timeline); i++)
		TERM(d->timeline[i].state);
}

static void fix_bytes_len(uint16_t *len, size_t size)
{
	/* raw wire bytes with their length: at most the array, which keeps a NUL after them */
	if (*len > size - 1)
		*len = (uint16_t)(size - 1);
}

static void fix_tx(struct http_tx_row *t)
{
	fin(&t->time);
	fin(&t->latency_ms);
	TERM(t->method);
	TERM(t->host);
	TERM(t->path);
	TERM(t->comm);
	fix_bytes_len(&t->host_len, sizeof(t->host));
	fix_bytes_len(&t->path_len, sizeof(t->path));
}

static void fix_other(struct l7_other *o)
{
	fin(&o->p50_ms);
	fin(&o->p99_ms);
}

static void fix_l7(struct snapshot_l7 *l)
{
	CLAMP(l->n_endpoints, NELEM(l->endpoints));
	CLAMP(l->n_recent, NELEM(l->recent));
	CLAMP(l->n_slow, NELEM(l->slow));
	CLAMP(l->n_names, NELEM(l->names));
	CLAMP(l->n_sni, NELEM(l->sni));
	fin(&l->slow_ms);
	fix_other(&l->endpoints_other);
	fix_other(&l->names_other);
	fix_other(&l->sni_other);
	for (size_t i = 0; i < NELEM(l->endpoints); i++) {
		struct http_endpoint_row *e = &l->endpoints[i];
		TERM(e->method);
		TERM(e->host);
		TERM(e->path);
		fix_bytes_len(&e->host_len, sizeof(e->host));
		fix_bytes_len(&e->path_len, sizeof(e->path));
		fin(&e->p50_ms);
		fin(&e->p90_ms);
		fin(&e->p99_ms);
		fin(&e->max_ms);
	}
	for (size_t i = 0; i < NELEM(l->recent); i++)
		fix_tx(&l->recent[i]);
	for (size_t i = 0; i < NELEM(l->slow); i++)
		fix_tx(&l->slow[i]);
	for (size_t i = 0; i < NELEM(l->names); i++) {
		struct dns_name_row *n = &l->names[i];
		TERM(n->name);
		TERM(n->qtype);
		TERM(n->rcode);
		fix_bytes_len(&n->name_len, sizeof(n->name));
		fin(&n->p50_ms);
		fin(&n->max_ms);
	}
	for (size_t i = 0; i < NELEM(l->sni); i++) {
		struct tls_sni_row *s = &l->sni[i];
		TERM(s->name);
		TERM(s->alpn);
		TERM(s->version);
		fix_bytes_len(&s->name_len, sizeof(s->name));
		fix_bytes_len(&s->alpn_len, sizeof(s->alpn));
	}
}

static void fix_proc(struct proc_row *p, size_t n_socks)
{
	TERM(p->comm);
	TERM(p->cmdline);
	TERM(p->cgroup);
	fin(&p->rx_bps);
	fin(&p->tx_bps);
	fin(&p->conn_rate);
	fin(&p->first_seen);
	fin(&p->last_seen);
	fin(&p->exited_at);
	/* its sockets lie inside the snapshot's socket rows */
	if (p->first_sock > n_socks)
		p->first_sock = (uint32_t)n_socks;
	if (p->n_socks > n_socks - p->first_sock)
		p->n_socks = (uint32_t)(n_socks - p->first_sock);
}

static void fix_sock(struct proc_sock_row *s)
{
	TERM(s->local);
	TERM(s->remote);
	TERM(s->state);
	TERM(s->thread);
	fin(&s->last_seen);
}

static void fix_sec(struct snapshot_sec *ss)
{
	TERM(ss->fw_ifaces);
	TERM(ss->ssh_peer);
	fin(&ss->block_ttl);
	ss->detect_on = ss->detect_on != 0;
	ss->persist = ss->persist != 0;
}

static void fix_alert(struct alert_row *a)
{
	TERM(a->source);
	TERM(a->target);
	TERM(a->ports);
	TERM(a->detail);
	fin(&a->first_seen);
	fin(&a->last_seen);
	a->active = a->active != 0;
	a->has_src = a->has_src != 0;
	a->has_dst = a->has_dst != 0;
}

static void fix_rule(struct fw_row *r)
{
	TERM(r->rule);
	TERM(r->prefix);
	fin(&r->pass_pps);
	fin(&r->drop_pps);
	fin(&r->added);
	fin(&r->expires);
	if (r->plen > 128)
		r->plen = 128;
}

/* One frame's sections, located in plain bytes; returns NULL or what is wrong. */
struct rec_sections {
	const unsigned char *at[RT_MAX];
	uint32_t count[RT_MAX];
};

static const char *find_sections(const struct recording *r, const unsigned char *p, size_t len,
				 struct rec_sections *out)
{
	memset(out, 0, sizeof(*out));
	size_t off = 0;
	while (off < len) {
		struct rec_section h;
		if (len - off < sizeof(h))
			return "a section is cut";
		memcpy(&h, p + off, sizeof(h));
		off += sizeof(h);
		if (!h.tag || h.tag >= RT_MAX || r->absent[h.tag])
			return "a section of an unknown kind";
		if (out->at[h.tag])
			return "a section appears twice";
		if (h.size != elem_size[h.tag])
			return "a section's element size is not this build's";
		if (h.count && (size_t)h.count > (len - off) / h.size)
			return "a section runs past the snapshot";
		out->at[h.tag] = p + off;
		out->count[h.tag] = h.count;
		off += (size_t)h.count * h.size;
	}
	/* what every snapshot has, once */
	static const int once[] = { RT_META,  RT_TOTALS, RT_FTAB,  RT_L7,
				    RT_DROPS, RT_TCP,	 RT_PROCS, RT_SEC };
	for (size_t i = 0; i < NELEM(once); i++) {
		int t = once[i];
		int required = t == RT_META || t == RT_TOTALS || t == RT_FTAB || t == RT_L7;
		if ((required && !out->at[t]) || (out->at[t] && out->count[t] != 1))
			return "a part of the snapshot is missing";
	}
	if ((out->at[RT_TCP_SOCKS] || out->at[RT_TCP_LATS]) && !out->at[RT_TCP])
		return "TCP rows without their part";
	if ((out->at[RT_PROC_ROWS] || out->at[RT_PROC_SOCKS]) && !out->at[RT_PROCS])
		return "process rows without their part";
	if ((out->at[RT_ALERTS] || out->at[RT_FW_RULES]) && !out->at[RT_SEC])
		return "alerts or firewall rules without their part";
	return NULL;
}

/* Frame i's plain bytes into r->plain; NULL or what is wrong. */
static const char *inflate_frame(struct recording *r, size_t off, size_t *plain_len,
				 size_t *frame_len)
{
	struct rec_frame f;
	if (r->len - off < sizeof(f))
		return "truncated";
	memcpy(&f, r->buf + off, sizeof(f));
	if (memcmp(f.magic, REC_FRAME_MAGIC, sizeof(f.magic)))
		return "corrupt (no frame mark where a snapshot starts)";
	if (f.zlen > r->len - off - sizeof(f))
		return "truncated";
	if (f.len > REC_FRAME_MAX)
		return "corrupt (an impossible size)";
	if (reserve(&r->plain, &r->plain_cap, f.len ? f.len : 1))
		return "too large to read (out of memory)";
	uLongf n = f.len;
	int z = uncompress(r->plain, &n, r->buf + off + sizeof(f), f.zlen);
	if (z != Z_OK || n != f.len)
		return "corrupt (the compressed data does not decompress)";
	if ((uint32_t)crc32(0L, r->plain, (uInt)n) != f.crc)
		return "corrupt (checksum mismatch)";
	*plain_len = n;
	*frame_len = sizeof(f) + f.zlen;
	return NULL;
}

/* The series of one frame's flows, for the histories of the frames after it. */
static int index_series(struct rec_index *ix, const struct rec_sections *sec)
{
	size_t n = sec->count[RT_FLOWS];
	ix->series = n ? calloc(n, sizeof(*ix->series)) : NULL;
	if (n && !ix->series)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct flow_row f;
		memcpy(&f, sec->at[RT_FLOWS] + i * sizeof(f), sizeof(f));
		fix_flow(&f);
		struct rec_series *s = &ix->series[i];
		s->khash = key_hash(&f.key);
		s->v[0] = (float)f.rx_bps;
		s->v[1] = (float)f.tx_bps;
		s->v[2] = (float)f.srtt_us;
		s->v[3] = (float)f.cwnd;
		s->tcp_known = f.known & PL_FK_TCP_INFO;
	}
	qsort(ix->series, n, sizeof(*ix->series), cmp_series);
	ix->n_series = n;
	return 0;
}

void recording__free(struct recording *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->frames[i].series);
	free(r->frames);
	free(r->plain);
	free(r->buf);
	free(r);
}

/* Takes buf (malloc'ed, len bytes) whatever happens. */
static struct recording *open_buffer(unsigned char *buf, size_t len, const char *name, char *err,
				     size_t errlen)
{
	struct recording *r = calloc(1, sizeof(*r));
	struct rec_header h;
	if (!r) {
		free(buf);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	r->buf = buf;
	r->len = len;
	snprintf(r->name, sizeof(r->name), "%s", name);
	memset(&h, 0, sizeof(h));
	if (len < REC_HEADER_V1 || memcmp(buf, REC_MAGIC, 8)) {
		snprintf(err, errlen, "%s is not a pktlens recording", name);
		goto fail;
	}
	memcpy(&h, buf, REC_HEADER_V1);
	TERM(h.version);
	/* it goes into the error sentences: one line of printable text whatever the file held */
	for (char *c = h.version; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	snprintf(r->version, sizeof(r->version), "%s", h.version);
	if (h.endian != REC_ENDIAN) {
		snprintf(err, errlen, "%s was recorded on a machine of another byte order", name);
		goto fail;
	}
	if (h.format < 1 || h.format > REC_FORMAT) {
		snprintf(err, errlen,
			 "%s is a recording of format %u (by pktlens %s); this pktlens reads "
			 "formats 1 to %d",
			 name, h.format, r->version, REC_FORMAT);
		goto fail;
	}
	size_t hlen = h.format == 1 ? REC_HEADER_V1 : sizeof(h);
	if (len < hlen) {
		snprintf(err, errlen, "%s is not a pktlens recording", name);
		goto fail;
	}
	memcpy(&h, buf, hlen);
	for (int t = 0; t < 32; t++) {
		uint32_t want = t < RT_MAX ? elem_size[t] : 0, have = header_size(&h, t);
		if (have == want)
			continue;
		if (!have && t >= RT_FIRST_OPTIONAL && t < RT_MAX) {
			/* an older recording: its snapshots show none of this part */
			r->absent[t] = 1;
			continue;
		}
		snprintf(err, errlen,
			 "%s was recorded by pktlens %s, whose snapshots differ from this "
			 "version's; replay it with that version",
			 name, r->version);
		goto fail;
	}
	size_t cap = 0, off = hlen;
	while (off < len) {
		size_t plain_len = 0, frame_len = 0;
		const char *why = inflate_frame(r, off, &plain_len, &frame_len);
		struct rec_sections sec;
		if (!why)
			why = find_sections(r, r->plain, plain_len, &sec);
		if (why) {
			snprintf(err, errlen,
				 "%s: %s in snapshot %zu (byte %zu); the recording is damaged",
				 name, why, r->n + 1, off);
			goto fail;
		}
		if (r->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct rec_index *f = realloc(r->frames, nc * sizeof(*f));
			if (!f)
				goto oom;
			r->frames = f;
			cap = nc;
		}
		struct rec_index *ix = &r->frames[r->n];
		struct rec_meta m;
		memset(ix, 0, sizeof(*ix));
		memcpy(&m, sec.at[RT_META], sizeof(m));
		fin(&m.uptime_s);
		ix->off = off;
		ix->uptime_s = m.uptime_s;
		ix->time_ns = m.time_unix_ns;
		r->n++;
		if (index_series(ix, &sec))
			goto oom;
		off += frame_len;
	}
	if (!r->n) {
		snprintf(err, errlen, "%s holds no snapshot (pktlens stopped before its first)",
			 name);
		goto fail;
	}
	return r;
oom:
	snprintf(err, errlen, "%s: out of memory reading the recording", name);
fail:
	recording__free(r);
	return NULL;
}

struct recording *recording__from_buffer(const void *buf, size_t len, const char *name, char *err,
					 size_t errlen)
{
	unsigned char *copy = malloc(len ? len : 1);
	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	if (len)
		memcpy(copy, buf, len);
	return open_buffer(copy, len, name, err, errlen);
}

struct recording *recording__open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the recording %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the recording %s is not a regular file", path);
		close(fd);
		return NULL;
	}
	size_t len = (size_t)st.st_size, got = 0;
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf) {
		snprintf(err, errlen, "the recording %s is too large to read", path);
		close(fd);
		return NULL;
	}
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "reading the recording %s failed: %s", path,
				 n < 0 ? strerror(errno) : "it became shorter");
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	return open_buffer(buf, len, path, err, errlen);
}

size_t recording_count(const struct recording *r)
{
	return r->n;
}

const char *recording_version(const struct recording *r)
{
	return r->version;
}

double recording_uptime(const struct recording *r, size_t i)
{
	return i < r->n ? r->frames[i].uptime_s : 0;
}

int64_t recording_time_ns(const struct recording *r, size_t i)
{
	return i < r->n ? r->frames[i].time_ns : 0;
}

static const struct rec_series *find_series(const struct rec_index *ix, uint64_t h)
{
	struct rec_series k = { .khash = h };
	return bsearch(&k, ix->series, ix->n_series, sizeof(k), cmp_series);
}

/*
 * The rate and TCP histories of frame i's flows, as the live run kept them: generation g + 1
 * is frame g, a frame without the flow reads 0 (rates) or the sample before it (srtt, cwnd).
 */
static void rebuild_histories(struct recording *r, size_t i, struct snapshot *s)
{
	s->rate_hist = hist_pool__new(0);
	s->tcp_hist = hist_pool__new(1);
	s->gen = (uint32_t)i + 1;
	if (!s->rate_hist || !s->tcp_hist)
		return;
	size_t from = i + 1 >= HIST_WINDOW ? i + 1 - HIST_WINDOW : 0;
	for (size_t k = 0; k < s->n_flows; k++) {
		struct flow_row *f = &s->flows[k];
		uint64_t h = key_hash(&f->key);
		uint32_t rate = 0, tcp = 0;
		for (size_t g = from; g <= i; g++) {
			const struct rec_series *x = find_series(&r->frames[g], h);
			if (!x)
				continue;
			if (!rate)
				rate = hist_alloc(s->rate_hist, (uint32_t)g + 1, &f->hist_serial);
			hist_write(s->rate_hist, rate, (uint32_t)g + 1, &x->v[0]);
			if (!x->tcp_known)
				continue;
			if (!tcp)
				tcp = hist_alloc(s->tcp_hist, (uint32_t)g + 1, &f->tcp_hist_serial);
			hist_write(s->tcp_hist, tcp, (uint32_t)g + 1, &x->v[2]);
		}
		f->hist = rate;
		f->tcp_hist = tcp;
	}
}

struct snapshot *recording_snapshot(struct recording *r, size_t i)
{
	size_t plain_len, frame_len;
	struct rec_sections sec;
	if (i >= r->n || inflate_frame(r, r->frames[i].off, &plain_len, &frame_len) ||
	    find_sections(r, r->plain, plain_len, &sec))
		return NULL; /* checked at open: only out of memory gets here */
	struct snapshot *s = snapshot__new();
	if (!s)
		return NULL;
	struct rec_meta m;
	memcpy(&m, sec.at[RT_META], sizeof(m));
	TERM(m.host);
	TERM(m.netns);
	TERM(m.ifaces);
	fin(&m.uptime_s);
	fin(&m.interval_s);
	fin(&m.bpf_stats_s);
	s->uptime_s = m.uptime_s;
	s->interval_s = m.interval_s;
	s->bpf_stats_s = m.bpf_stats_s;
	s->time_unix_ns = m.time_unix_ns;
	s->bpf_stats = m.bpf_stats != 0;
	memcpy(s->host, m.host, sizeof(s->host));
	memcpy(s->netns, m.netns, sizeof(s->netns));
	memcpy(s->ifaces, m.ifaces, sizeof(s->ifaces));

	size_t n = sec.count[RT_PROBES];
	s->probes = calloc(n ? n : 1, sizeof(*s->probes));
	if (!s->probes)
		goto oom;
	memcpy(s->probes, sec.at[RT_PROBES], n * sizeof(*s->probes));
	s->n_probes = n;
	for (size_t k = 0; k < n; k++)
		fix_probe(&s->probes[k]);

	n = sec.count[RT_FLOWS];
	s->flows = calloc(n ? n : 1, sizeof(*s->flows));
	if (!s->flows)
		goto oom;
	if (n)
		memcpy(s->flows, sec.at[RT_FLOWS], n * sizeof(*s->flows));
	s->n_flows = n;
	for (size_t k = 0; k < n; k++)
		fix_flow(&s->flows[k]);

	memcpy(&s->tot, sec.at[RT_TOTALS], sizeof(s->tot));
	fix_totals(&s->tot);
	memcpy(&s->ftab, sec.at[RT_FTAB], sizeof(s->ftab));

	if (sec.at[RT_DROPS]) {
		if (!(s->drops = malloc(sizeof(*s->drops))))
			goto oom;
		memcpy(s->drops, sec.at[RT_DROPS], sizeof(*s->drops));
		fix_drops(s->drops);
	}
	if (sec.at[RT_TCP]) {
		/* one allocation, as the engine makes it: snapshot_put frees the part only */
		size_t ns = sec.count[RT_TCP_SOCKS], nl = sec.count[RT_TCP_LATS];
		size_t a = sizeof(struct snapshot_tcp), b = ns * sizeof(struct tcp_sock_detail);
		unsigned char *blk = malloc(a + b + nl * sizeof(struct flow_lat_row));
		if (!blk)
			goto oom;
		s->tcp = (struct snapshot_tcp *)blk;
		memcpy(s->tcp, sec.at[RT_TCP], a);
		fix_tcp(s->tcp);
		struct tcp_sock_detail *socks = (struct tcp_sock_detail *)(blk + a);
		struct flow_lat_row *lats = (struct flow_lat_row *)(blk + a + b);
		if (ns)
			memcpy(socks, sec.at[RT_TCP_SOCKS], b);
		if (nl)
			memcpy(lats, sec.at[RT_TCP_LATS], nl * sizeof(*lats));
		for (size_t k = 0; k < ns; k++)
			fix_sock_detail(&socks[k]);
		s->tcp->socks = socks;
		s->tcp->n_socks = ns;
		s->tcp->lats = lats;
		s->tcp->n_lats = nl;
	}
	if (!(s->l7 = malloc(sizeof(*s->l7))))
		goto oom;
	memcpy(s->l7, sec.at[RT_L7], sizeof(*s->l7));
	fix_l7(s->l7);
	if (sec.at[RT_PROCS]) {
		size_t nr = sec.count[RT_PROC_ROWS], nk = sec.count[RT_PROC_SOCKS];
		size_t a = sizeof(struct snapshot_procs), b = nr * sizeof(struct proc_row);
		unsigned char *blk = malloc(a + b + nk * sizeof(struct proc_sock_row));
		if (!blk)
			goto oom;
		s->procs = (struct snapshot_procs *)blk;
		memcpy(s->procs, sec.at[RT_PROCS], a);
		struct proc_row *rows = (struct proc_row *)(blk + a);
		struct proc_sock_row *socks = (struct proc_sock_row *)(blk + a + b);
		if (nr)
			memcpy(rows, sec.at[RT_PROC_ROWS], b);
		if (nk)
			memcpy(socks, sec.at[RT_PROC_SOCKS], nk * sizeof(*socks));
		for (size_t k = 0; k < nr; k++)
			fix_proc(&rows[k], nk);
		for (size_t k = 0; k < nk; k++)
			fix_sock(&socks[k]);
		s->procs->rows = rows;
		s->procs->n_rows = nr;
		s->procs->socks = socks;
		s->procs->n_socks = nk;
	}
	if (sec.at[RT_SEC]) {
		/* one allocation, as the engine makes it: snapshot_put frees the part only */
		size_t na = sec.count[RT_ALERTS], nr = sec.count[RT_FW_RULES];
		CLAMP(na, PL_ALERTS_MAX);
		CLAMP(nr, PL_FW_RULES_MAX);
		size_t a = sizeof(struct snapshot_sec), b = na * sizeof(struct alert_row);
		unsigned char *blk = malloc(a + b + nr * sizeof(struct fw_row));
		if (!blk)
			goto oom;
		s->sec = (struct snapshot_sec *)blk;
		memcpy(s->sec, sec.at[RT_SEC], a);
		fix_sec(s->sec);
		struct alert_row *alerts = (struct alert_row *)(blk + a);
		struct fw_row *rules = (struct fw_row *)(blk + a + b);
		if (na)
			memcpy(alerts, sec.at[RT_ALERTS], b);
		if (nr)
			memcpy(rules, sec.at[RT_FW_RULES], nr * sizeof(*rules));
		for (size_t k = 0; k < na; k++)
			fix_alert(&alerts[k]);
		for (size_t k = 0; k < nr; k++)
			fix_rule(&rules[k]);
		s->sec->alerts = alerts;
		s->sec->n_alerts = na;
		s->sec->rules = rules;
		s->sec->n_rules = nr;
	}
	rebuild_histories(r, i, s);
	return s;
oom:
	snapshot_put(s);
	return NULL;
}
