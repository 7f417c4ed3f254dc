/* Packet capture: the capture ring's records, held until the processes model can name their owner, then pcapng. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "core/capfilter.h"
#include "core/capture.h"
#include "core/engine.h"
#include "core/escape.h"
#include "core/flowfmt.h"
#include "core/pcapng.h"
#include "core/safefile.h"
#include "core/snapshot.h"
#include "lib/parse.h"
#include "shared/capture.h"

/*
 * A packet is written once the processes model read its maps after the packet came: the
 * socket tracepoints that name the sender fire just after the packet leaves tc egress, so a
 * packet waits until a reading at least this much later than itself.
 */
#define OWNER_DELAY_NS 50000000ULL
/* Held packets beyond this are written at once, with the owner known so far. */
#define QUEUE_MAX_BYTES (64u << 20)
#define FLOW_SINKS PL_WATCH_MAX

struct held {
	struct held *next;
	struct pl_cap_hdr h;
	uint8_t data[];
};

struct sink {
	struct pcapng *w;
	struct flow_key key; /* flow sinks */
	char path[256];
	uint64_t lost0; /* the ring's lost count when it started */
};

struct capture {
	struct engine *e;
	struct ring_buffer *rb;
	struct held *head, *tail;
	size_t held_bytes;
	unsigned snaplen;
	int64_t real_off_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	struct sink all;     /* -w */
	int have_all;
	struct sink flows[FLOW_SINKS];
	struct capfilter *filter; /* -f, or NULL */
	uint64_t filtered;	  /* packets -f left out of -w */
	struct {
		uint32_t ifindex;
		uint16_t linktype;
	} lt[64];
	int n_lt;
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The link type of an interface in this network namespace: Ethernet unless it has no link
 * header (tun, wireguard: ARPHRD_NONE), where tc's data starts at the IP header. */
static uint16_t link_type(struct capture *c, uint32_t ifindex)
{
	for (int i = 0; i < c->n_lt; i++)
		if (c->lt[i].ifindex == ifindex)
			return c->lt[i].linktype;
	uint16_t lt = PCAPNG_LINKTYPE_ETHERNET;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && if_indextoname(ifindex, ifr.ifr_name) && !ioctl(s, SIOCGIFHWADDR, &ifr) &&
	    ifr.ifr_hwaddr.sa_family == ARPHRD_NONE)
		lt = PCAPNG_LINKTYPE_RAW;
	if (s >= 0)
		close(s);
	if (c->n_lt < (int)(sizeof(c->lt) / sizeof(c->lt[0]))) {
		c->lt[c->n_lt].ifindex = ifindex;
		c->lt[c->n_lt++].linktype = lt;
	}
	return lt;
}

int capture_frame_key(const uint8_t *data, uint32_t len, uint32_t ifindex, int dir,
		      struct flow_key *key)
{
	struct pl_pkt p;
	memset(&p, 0, sizeof(p));
	if (pl_parse(data, data + len, &p) != PL_M_NONE || !p.family)
		return -1;
	memset(key, 0, sizeof(*key));
	key->ifindex = ifindex;
	key->family = p.family;
	key->proto = p.proto;
	const uint8_t *local = dir == PL_DIR_RX ? p.daddr : p.saddr;
	const uint8_t *remote = dir == PL_DIR_RX ? p.saddr : p.daddr;
	memcpy(key->local, local, 16);
	memcpy(key->remote, remote, 16);
	key->local_port = dir == PL_DIR_RX ? p.dport : p.sport;
	key->remote_port = dir == PL_DIR_RX ? p.sport : p.dport;
	return 0;
}

void capture_comment(char *buf, size_t len, uint32_t pid, const char *comm, const char *cgroup)
{
	char c[16 * 4 + 1], g[128 * 4 + 1];
	buf[0] = '\0';
	if (!pid)
		return;
	escape_display(c, sizeof(c), comm, 16);
	/* the root cgroup says nothing (no container, no service) */
	if (cgroup && *cgroup && strcmp(cgroup, "/")) {
		escape_display(g, sizeof(g), cgroup, 128);
		snprintf(buf, len, "pid=%u comm=%s cgroup=%s", pid, c, g);
	} else {
		snprintf(buf, len, "pid=%u comm=%s", pid, c);
	}
}

/* The cgroup path of pid in the reading s ("" when not known). */
static const char *cgroup_of(const struct snapshot *s, uint32_t pid)
{
	if (!s || !s->procs)
		return "";
	const struct proc_row *r = s->procs->rows;
	size_t lo = 0, hi = s->procs->n_rows;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a reused pid has two rows: the live one, the last */
	const char *cg = "";
	for (size_t i = lo; i < s->procs->n_rows && r[i].pid == pid; i++)
		if (!r[i].exited || !*cg)
			cg = r[i].cgroup;
	return cg;
}

static int sink_write(struct capture *c, struct sink *k, const struct held *p, const char *comment)
{
	char name[16];
	flow_iface_str(p->h.ifindex, name);
	int id =
	    pcapng_iface(k->w, p->h.ifindex, link_type(c, p->h.ifindex), c->snaplen, name, NULL);
	if (id < 0)
		return pcapng_error(k->w) ? pcapng_error(k->w) : -EIO;
	return pcapng_packet(k->w, (uint32_t)id, p->h.ts_ns + (uint64_t)c->real_off_ns, p->data,
			     p->h.cap_len, p->h.len,
			     p->h.dir == PL_DIR_RX ? PCAPNG_DIR_IN : PCAPNG_DIR_OUT, comment);
}

static int selected(struct capture *c, const struct held *p)
{
	return !c->filter ||
	       capfilter_match(c->filter, link_type(c, p->h.ifindex) == PCAPNG_LINKTYPE_RAW,
			       p->data, p->h.cap_len, p->h.len);
}

static int write_one(struct capture *c, const struct held *p, const struct snapshot *s)
{
	struct flow_key key;
	char comment[700] = "";
	int keyed = link_type(c, p->h.ifindex) == PCAPNG_LINKTYPE_ETHERNET &&
		    !capture_frame_key(p->data, p->h.cap_len, p->h.ifindex, p->h.dir, &key);
	if (keyed) {
		char comm[16];
		uint32_t pid = engine_flow_owner(c->e, &key, comm);
		capture_comment(comment, sizeof(comment), pid, comm, cgroup_of(s, pid));
	}
	int ret = 0;
	if (c->have_all) {
		if (selected(c, p))
			ret = sink_write(c, &c->all, p, comment);
		else
			c->filtered++;
	}
	for (int i = 0; keyed && i < FLOW_SINKS; i++) {
		struct sink *k = &c->flows[i];
		if (k->w && !pcapng_error(k->w) && !memcmp(&k->key, &key, sizeof(key)))
			sink_write(c, k, p, comment); /* its error shows when it stops */
	}
	return ret;
}

/* Writes held packets from the oldest while keep() says so. */
static int write_held(struct capture *c, const struct snapshot *s, uint64_t before_ns, int all)
{
	int ret = 0;
	while (c->head && (all || c->head->h.ts_ns + OWNER_DELAY_NS <= before_ns ||
			   c->held_bytes > QUEUE_MAX_BYTES)) {
		struct held *p = c->head;
		c->head = p->next;
		if (!c->head)
			c->tail = NULL;
		c->held_bytes -= sizeof(*p) + p->h.cap_len;
		if (!ret)
			ret = write_one(c, p, s);
		free(p);
	}
	return ret;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct capture *c = ctx;
	const struct pl_cap_hdr *h = data;
	if (len < sizeof(*h) || h->cap_len > len - sizeof(*h))
		return 0;
	struct held *p = malloc(sizeof(*p) + h->cap_len);
	if (!p)
		return 0;
	p->next = NULL;
	p->h = *h;
	memcpy(p->data, h + 1, h->cap_len);
	if (c->tail)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	c->held_bytes += sizeof(*p) + h->cap_len;
	return 0;
}

/*
 * -w FILE, opened as root from a name on the command line: no symlink, and an existing file is
 * a FIFO or a regular file of the person running pktlens (never someone else's file that root
 * could truncate). A new file is 0600 and given to that person.
 */
static int open_output(const char *path, char *err, size_t errlen)
{
	if (!strcmp(path, "-"))
		return STDOUT_FILENO;
	struct stat st;
	uid_t who = safefile_invoker();
	int exists = !lstat(path, &st);
	if (exists && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "-w %s: is a symbolic link; name the file itself", path);
		return -ELOOP;
	}
	if (exists && S_ISREG(st.st_mode) && st.st_uid != who && st.st_uid != 0) {
		snprintf(err, errlen, "-w %s: the file belongs to another user", path);
		return -EPERM;
	}
	if (exists && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		snprintf(err, errlen, "-w %s: not a regular file or a FIFO", path);
		return -EINVAL;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "-w %s: %s", path, strerror(e));
		return -e;
	}
	if (!exists && who != 0 && fchown(fd, who, (gid_t)-1) < 0) {
		/* stays root's: readable with the privileges that made it */
	}
	return fd;
}

struct capture *capture__new(struct engine *e, const char *path, const char *filter,
			     unsigned snaplen, char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->e = e;
	c->snaplen = snaplen ? snaplen : PL_CAP_MAX;
	c->real_off_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	int fd = engine_capture_fd(e);
	if (fd < 0 || !(c->rb = ring_buffer__new(fd, on_record, c, NULL))) {
		snprintf(err, errlen, "the capture ring is not available: %s", strerror(errno));
		goto fail;
	}
	if (filter && *filter && !(c->filter = capfilter__new(filter, c->snaplen, err, errlen)))
		goto fail;
	if (path) {
		int ofd = open_output(path, err, errlen);
		if (ofd < 0)
			goto fail;
		char appl[64];
		snprintf(appl, sizeof(appl), "pktlens %s", PKTLENS_VERSION);
		if (!(c->all.w = pcapng__new(ofd, appl, err, errlen))) {
			if (ofd != STDOUT_FILENO)
				close(ofd);
			goto fail;
		}
		snprintf(c->all.path, sizeof(c->all.path), "%s", path);
		c->have_all = 1;
	}
	return c;
fail:
	capture__free(c);
	return NULL;
}

int capture_fd(const struct capture *c)
{
	return c && c->rb ? ring_buffer__epoll_fd(c->rb) : -1;
}

void capture_poll(struct capture *c)
{
	if (c && c->rb)
		ring_buffer__consume(c->rb);
}

int capture_flush(struct capture *c, const struct snapshot *s, int all)
{
	if (!c)
		return 0;
	capture_poll(c);
	uint64_t read_ns = s ? engine_start_ns(c->e) + (uint64_t)(s->uptime_s * 1e9) : 0;
	int ret = write_held(c, s, read_ns, all);
	return ret ? ret : c->have_all ? pcapng_error(c->all.w) : 0;
}

static void flow_file_name(const struct flow_key *k, char *buf, size_t len)
{
	char l[64], r[64];
	flow_addr_str(k->local, k->family, l, sizeof(l));
	flow_addr_str(k->remote, k->family, r, sizeof(r));
	for (char *p = l; *p; p++)
		*p = *p == ':' ? '-' : *p;
	for (char *p = r; *p; p++)
		*p = *p == ':' ? '-' : *p;
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	char ts[32];
	strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, len, "pktlens-%s-%s-%s.%u-%s.%u.pcapng", ts, proto_name(k->proto), l,
		 k->local_port, r, k->remote_port);
}

int capture_flow_toggle(struct capture *c, const struct flow_key *key, char *msg, size_t msglen)
{
	char flow[160];
	flow_key_format(key, flow, sizeof(flow));
	uint64_t captured, lost;
	engine_capture_stats(c->e, &captured, &lost);
	for (int i = 0; i < FLOW_SINKS; i++) {
		struct sink *k = &c->flows[i];
		if (!k->w || memcmp(&k->key, key, sizeof(*key)))
			continue;
		char err[160];
		engine_flow_capture(c->e, key, 0, err, sizeof(err));
		/* what the ring holds of it now, and what waits for its owner */
		capture_poll(c);
		write_held(c, NULL, 0, 1);
		int we = pcapng_error(k->w);
		snprintf(msg, msglen, "wrote %" PRIu64 " packets of %s to %s%s%s",
			 pcapng_written(k->w), flow, k->path, we ? ": " : "",
			 we ? strerror(-we) : "");
		if (lost > k->lost0)
			snprintf(msg + strlen(msg), msglen - strlen(msg),
				 " (%" PRIu64 " lost by the capture ring meanwhile)",
				 lost - k->lost0);
		pcapng__free(k->w);
		memset(k, 0, sizeof(*k));
		return we;
	}
	struct sink *k = NULL;
	for (int i = 0; i < FLOW_SINKS && !k; i++)
		if (!c->flows[i].w)
			k = &c->flows[i];
	if (!k) {
		snprintf(msg, msglen, "at most %d flows can be written at once", FLOW_SINKS);
		return -ENOSPC;
	}
	char path[256];
	flow_file_name(key, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(msg, msglen, "cannot create %s: %s", path, strerror(e));
		return -e;
	}
	char appl[64], err[256];
	snprintf(appl, sizeof(appl), "pktlens %s", PKTLENS_VERSION);
	k->w = pcapng__new(fd, appl, err, sizeof(err));
	if (!k->w) {
		close(fd);
		unlink(path);
		snprintf(msg, msglen, "%s", err);
		return -EIO;
	}
	int ret = engine_flow_capture(c->e, key, 1, err, sizeof(err));
	if (ret) {
		pcapng__free(k->w);
		memset(k, 0, sizeof(*k));
		unlink(path);
		snprintf(msg, msglen, "cannot write %s: %s", flow, err);
		return ret;
	}
	k->key = *key;
	k->lost0 = lost;
	snprintf(k->path, sizeof(k->path), "%s", path);
	snprintf(msg, msglen, "writing %s to %s (w again stops)", flow, path);
	return 0;
}

void capture_summary(struct capture *c, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!c || !c->have_all)
		return;
	uint64_t captured, lost;
	engine_capture_stats(c->e, &captured, &lost);
	snprintf(buf, len, "%" PRIu64 " packets written to %s, %" PRIu64 " lost",
		 pcapng_written(c->all.w),
		 strcmp(c->all.path, "-") ? c->all.path : "standard output", lost);
	if (c->filtered)
		snprintf(buf + strlen(buf), len - strlen(buf), " (%" PRIu64 " not selected by -f)",
			 c->filtered);
}

void capture__free(struct capture *c)
{
	if (!c)
		return;
	for (int i = 0; i < FLOW_SINKS; i++)
		pcapng__free(c->flows[i].w);
	pcapng__free(c->all.w);
	while (c->head) {
		struct held *p = c->head;
		c->head = p->next;
		free(p);
	}
	ring_buffer__free(c->rb);
	capfilter__free(c->filter);
	free(c);
}
