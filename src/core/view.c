/* Sorted and filtered views of a snapshot's flows (index arrays), and the flows' printable names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "core/snapshot.h"

static const char *const sort_names[FS_MAX] = {
	[FS_RX_BPS] = "rx bps",	    [FS_TX_BPS] = "tx bps",	  [FS_RX_PPS] = "rx pps",
	[FS_RX_BYTES] = "rx bytes", [FS_TX_BYTES] = "tx bytes",	  [FS_PACKETS] = "packets",
	[FS_LOCAL] = "local",	    [FS_REMOTE] = "remote",	  [FS_PROTO] = "proto",
	[FS_IFACE] = "iface",	    [FS_LAST_SEEN] = "last seen", [FS_FIRST_SEEN] = "first seen",
	[FS_SRTT] = "srtt",	    [FS_RETRANS] = "retrans",
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

/* Natural order of the key: ascending; numbers are then flipped to put the biggest first. */
static int cmp_key(const struct flow_row *a, const struct flow_row *b, enum flow_sort key,
		   int *numeric)
{
	*numeric = 1;
	switch (key) {
	case FS_RX_BPS:
		return cmp_num(a->rx_bps, b->rx_bps);
	case FS_TX_BPS:
		return cmp_num(a->tx_bps, b->tx_bps);
	case FS_RX_PPS:
		return cmp_num(a->rx_pps, b->rx_pps);
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
	default:
		break;
	}
	*numeric = 0;
	switch (key) {
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
	default:
		return 0;
	}
}

static int cmp_idx(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *c = arg;
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	int numeric;
	int r = cmp_key(&c->rows[ia], &c->rows[ib], c->key, &numeric);

	if (numeric)
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
	qsort_r(idx, n, sizeof(*idx), cmp_idx, &c);
	return n;
}
