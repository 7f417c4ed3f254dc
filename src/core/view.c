/* Sorted, filtered and grouped views of a snapshot's flows, and the flows' printable names. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "core/histring.h"
#include "core/snapshot.h"

static const char *const sort_names[FS_MAX] = {
	[FS_RX_BPS] = "rx bps",	      [FS_TX_BPS] = "tx bps",	    [FS_RX_PPS] = "rx pps",
	[FS_RX_BYTES] = "rx bytes",   [FS_TX_BYTES] = "tx bytes",   [FS_PACKETS] = "packets",
	[FS_LOCAL] = "local",	      [FS_REMOTE] = "remote",	    [FS_PROTO] = "proto",
	[FS_IFACE] = "iface",	      [FS_LAST_SEEN] = "last seen", [FS_FIRST_SEEN] = "first seen",
	[FS_SRTT] = "srtt",	      [FS_RETRANS] = "retrans",	    [FS_TX_PPS] = "tx pps",
	[FS_TOTAL_BPS] = "total bps", [FS_DROPS] = "drops",	    [FS_CWND] = "cwnd",
	[FS_STATE] = "state",	      [FS_PROCESS] = "process",	    [FS_FLAGS] = "flags",
};

const char *flow_sort_name(enum flow_sort s)
{
	if ((unsigned)s >= FS_MAX)
		return "?";
	return sort_names[s];
}

const char *proto_name(uint8_t proto)
{
	/* other protocols get "ipN" so that two unknown protocols never look alike */
	static char other[256][8];

	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmp6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_GRE:
		return "gre";
	case IPPROTO_ESP:
		return "esp";
	default:
		if (!other[proto][0])
			snprintf(other[proto], sizeof(other[proto]), "ip%u", proto);
		return other[proto];
	}
}

void flow_flags_str(uint32_t flags, char out[9])
{
	/* the JSON contract's order, which is not the bit order */
	static const struct {
		uint32_t bit;
		char c;
	} order[] = {
		{ PL_TCP_SYN, 'S' }, { PL_TCP_ACK, 'A' }, { PL_TCP_FIN, 'F' },
		{ PL_TCP_PSH, 'P' }, { PL_TCP_RST, 'R' }, { PL_TCP_URG, 'U' },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (flags & order[i].bit)
			out[n++] = order[i].c;
	out[n] = '\0';
}

size_t flow_hist(const struct snapshot *s, const struct flow_row *r, enum flow_series which,
		 float out[60])
{
	int tcp = which == FH_SRTT_US || which == FH_CWND;
	const struct hist_pool *p = tcp ? s->tcp_hist : s->rate_hist;
	uint32_t ring = tcp ? r->tcp_hist : r->hist;
	uint32_t serial = tcp ? r->tcp_hist_serial : r->hist_serial;
	return hist_read(p, ring, serial, s->gen, (int)which & 1, out);
}

/* A socket's addresses as flow_tcp_detail() keys them. */
static int cmp_sock_detail(const void *a, const void *b)
{
	const struct flow_key *x = a, *y = &((const struct tcp_sock_detail *)b)->key;
	return memcmp(x, y, sizeof(*x));
}

const struct tcp_sock_detail *flow_tcp_detail(const struct snapshot *s, const struct flow_row *r)
{
	if (!s || !s->tcp || !s->tcp->n_socks || r->key.proto != IPPROTO_TCP)
		return NULL;
	struct flow_key k = r->key;
	k.ifindex = 0;
	return bsearch(&k, s->tcp->socks, s->tcp->n_socks, sizeof(*s->tcp->socks), cmp_sock_detail);
}

static int cmp_lat_row(const void *a, const void *b)
{
	return memcmp(a, &((const struct flow_lat_row *)b)->key, sizeof(struct flow_key));
}

const struct flow_lat_row *flow_latency(const struct snapshot *s, const struct flow_row *r)
{
	if (!s || !s->tcp || !s->tcp->n_lats)
		return NULL;
	return bsearch(&r->key, s->tcp->lats, s->tcp->n_lats, sizeof(*s->tcp->lats), cmp_lat_row);
}

double flow_duration(const struct snapshot *s, const struct flow_row *r)
{
	const struct tcp_sock_detail *d = flow_tcp_detail(s, r);
	if (d && d->open_s >= 0)
		return (d->close_s >= 0 ? d->close_s : s->uptime_s) - d->open_s;
	return r->last_seen - r->first_seen;
}

size_t snapshot_flow_warning(const struct snapshot *s, char *buf, size_t len)
{
	const struct snapshot_flow_table *f = &s->ftab;
	int n = 0;
	if (!len)
		return 0;
	buf[0] = '\0';
	if (f->not_shown)
		n = snprintf(buf, len, "out of memory: %llu flows not shown",
			     (unsigned long long)f->not_shown);
	else if (f->evicted || s->tot.flow_table_full)
		n = snprintf(buf, len,
			     "flow table full (--flows %llu): %llu flows evicted, %llu not "
			     "inserted; raise --flows",
			     (unsigned long long)f->size, (unsigned long long)f->evicted,
			     (unsigned long long)s->tot.flow_table_full);
	return n > 0 ? ((size_t)n < len ? (size_t)n : len - 1) : 0;
}

static int endpoint_str(char *buf, size_t len, const char *addr, unsigned port, int v6)
{
	return snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", addr, port);
}

void flow_row_text(const struct flow_row *r, char *buf, size_t len)
{
	char l[64], rem[64];
	int v6 = r->key.family == PL_AF_INET6;

	endpoint_str(l, sizeof(l), r->local, r->key.local_port, v6);
	endpoint_str(rem, sizeof(rem), r->remote, r->key.remote_port, v6);
	snprintf(buf, len, "%.16s %s %s %s %.16s %.8s %.16s", r->iface, proto_name(r->key.proto), l,
		 rem, r->state, r->l7, r->comm);
}

static uint64_t view_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct sort_ctx {
	const struct flow_row *rows;
	enum flow_sort key;
	int reverse;
};

static int cmp_num(double a, double b)
{
	return (a > b) - (a < b);
}

static int cmp_addr(const uint8_t *a, uint16_t ap, const uint8_t *b, uint16_t bp, uint8_t af,
		    uint8_t bf)
{
	/* numeric, so that 10.0.0.2 comes before 10.0.0.10 */
	int c = (af > bf) - (af < bf);

	if (!c)
		c = memcmp(a, b, 16);
	if (!c)
		c = (ap > bp) - (ap < bp);
	return c;
}

int flow_sort_numeric(enum flow_sort key)
{
	return !(key == FS_LOCAL || key == FS_REMOTE || key == FS_PROTO || key == FS_IFACE ||
		 key == FS_STATE || key == FS_PROCESS || key == FS_FLAGS);
}

int flow_row_cmp(const struct flow_row *a, const struct flow_row *b, enum flow_sort key)
{
	int c;

	switch (key) {
	case FS_RX_BPS:
		return cmp_num(a->rx_bps, b->rx_bps);
	case FS_TX_BPS:
		return cmp_num(a->tx_bps, b->tx_bps);
	case FS_RX_PPS:
		return cmp_num(a->rx_pps, b->rx_pps);
	case FS_TX_PPS:
		return cmp_num(a->tx_pps, b->tx_pps);
	case FS_TOTAL_BPS:
		return cmp_num(a->rx_bps + a->tx_bps, b->rx_bps + b->tx_bps);
	case FS_RX_BYTES:
		return cmp_num(a->rx_bytes, b->rx_bytes);
	case FS_TX_BYTES:
		return cmp_num(a->tx_bytes, b->tx_bytes);
	case FS_PACKETS:
		return cmp_num(a->rx_packets + a->tx_packets, b->rx_packets + b->tx_packets);
	case FS_LAST_SEEN:
		return cmp_num(a->last_seen, b->last_seen);
	case FS_FIRST_SEEN:
		return cmp_num(a->first_seen, b->first_seen);
	case FS_SRTT:
		return cmp_num(a->srtt_us, b->srtt_us);
	case FS_RETRANS:
		return cmp_num(a->retrans, b->retrans);
	case FS_DROPS:
		return cmp_num(a->drops, b->drops);
	case FS_CWND:
		return cmp_num(a->cwnd, b->cwnd);
	case FS_LOCAL:
		return cmp_addr(a->key.local, a->key.local_port, b->key.local, b->key.local_port,
				a->key.family, b->key.family);
	case FS_REMOTE:
		return cmp_addr(a->key.remote, a->key.remote_port, b->key.remote,
				b->key.remote_port, a->key.family, b->key.family);
	case FS_PROTO:
		return strcmp(proto_name(a->key.proto), proto_name(b->key.proto));
	case FS_IFACE:
		return strncmp(a->iface, b->iface, sizeof(a->iface));
	case FS_STATE:
		return strncmp(a->state, b->state, sizeof(a->state));
	case FS_PROCESS:
		c = strncmp(a->comm, b->comm, sizeof(a->comm));
		return c ? c : cmp_num(a->pid, b->pid);
	case FS_FLAGS:
		return cmp_num(a->tcp_flags, b->tcp_flags);
	default:
		return 0;
	}
}

static int cmp_idx(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *c = arg;
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	int r = flow_row_cmp(&c->rows[ia], &c->rows[ib], c->key);

	if (flow_sort_numeric(c->key))
		r = -r;
	if (c->reverse)
		r = -r;
	/* ties keep the snapshot's order, so equal rows do not jump between refreshes */
	if (!r)
		r = (ia > ib) - (ia < ib);
	return r;
}

size_t flow_view(const struct snapshot *s, const char *filter, enum flow_sort key, int reverse,
		 uint32_t *idx)
{
	struct sort_ctx c = { .rows = s->flows, .key = key, .reverse = reverse };
	char text[256];
	size_t n = 0;

	for (size_t i = 0; i < s->n_flows; i++) {
		if (filter && filter[0]) {
			flow_row_text(&s->flows[i], text, sizeof(text));
			if (!strcasestr(text, filter))
				continue;
		}
		idx[n++] = (uint32_t)i;
	}
	if (n > 1) /* idx may be NULL when there are no rows: qsort_r(NULL, 0) is undefined */
		qsort_r(idx, n, sizeof(*idx), cmp_idx, &c);
	return n;
}

static const char *const group_names[FG_MAX] = {
	[FG_CONNECTION] = "connection",
	[FG_REMOTE] = "remote host",
	[FG_SERVICE] = "local service",
	[FG_PROCESS] = "process",
};

const char *flow_group_name(enum flow_group g)
{
	return (unsigned)g < FG_MAX ? group_names[g] : "?";
}

/* The group key of a flow, as a group row with only its key fields set. */
static void group_key(const struct flow_row *r, enum flow_group g, struct flow_group_row *k)
{
	memset(k, 0, sizeof(*k));
	switch (g) {
	case FG_REMOTE:
		k->family = r->key.family;
		memcpy(k->addr, r->key.remote, 16);
		break;
	case FG_SERVICE:
		k->proto = r->key.proto;
		k->port = r->key.local_port;
		break;
	case FG_PROCESS:
		k->pid = r->pid;
		/* a pid names one process at a time; the comm tells a reused pid apart */
		if (r->pid)
			memcpy(k->comm, r->comm, sizeof(k->comm));
		break;
	default:
		break;
	}
}

static int key_equal(const struct flow_group_row *a, const struct flow_group_row *b)
{
	return !memcmp(a, b, offsetof(struct flow_group_row, name));
}

int flow_in_group(const struct flow_row *r, enum flow_group g, const struct flow_group_row *gr)
{
	struct flow_group_row k;

	group_key(r, g, &k);
	return key_equal(&k, gr);
}

long flow_groups(const struct snapshot *s, enum flow_group g, int (*keep)(void *ctx, size_t i),
		 void *ctx, struct flow_group_row **out, size_t *cap)
{
	size_t nb = 64, n = 0;
	uint32_t *slot;

	while (nb < s->n_flows * 2)
		nb <<= 1;
	/* open addressing over group indexes + 1; 0 is an empty slot */
	slot = calloc(nb, sizeof(*slot));
	if (!slot)
		return -1;
	for (size_t i = 0; i < s->n_flows; i++) {
		const struct flow_row *f = &s->flows[i];
		struct flow_group_row k, *gr;
		size_t h;

		if (keep && !keep(ctx, i))
			continue;
		group_key(f, g, &k);
		h = (size_t)(view_hash(&k, offsetof(struct flow_group_row, name)) & (nb - 1));
		while (slot[h] && !key_equal(&(*out)[slot[h] - 1], &k))
			h = (h + 1) & (nb - 1);
		if (!slot[h]) {
			if (n == *cap) {
				size_t nc = *cap ? *cap * 2 : 64;
				struct flow_group_row *no = realloc(*out, nc * sizeof(*no));

				if (!no) {
					free(slot);
					return -1;
				}
				*out = no;
				*cap = nc;
			}
			gr = &(*out)[n];
			*gr = k;
			if (g == FG_REMOTE)
				snprintf(gr->name, sizeof(gr->name), "%s", f->remote);
			else if (g == FG_SERVICE)
				snprintf(gr->name, sizeof(gr->name), "%s/%u", proto_name(k.proto),
					 k.port);
			slot[h] = (uint32_t)++n;
		}
		gr = &(*out)[slot[h] - 1];
		gr->flows++;
		gr->rx_packets += f->rx_packets;
		gr->rx_bytes += f->rx_bytes;
		gr->tx_packets += f->tx_packets;
		gr->tx_bytes += f->tx_bytes;
		gr->retrans += f->retrans;
		gr->drops += f->drops;
		gr->rx_pps += f->rx_pps;
		gr->rx_bps += f->rx_bps;
		gr->tx_pps += f->tx_pps;
		gr->tx_bps += f->tx_bps;
	}
	free(slot);
	return (long)n;
}
