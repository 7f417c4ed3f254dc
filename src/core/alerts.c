/* Alerts: thresholds over the kernel's detection events and counters, the flows' rates and the drops. No kernel, no curses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alerts.h"
#include "core/sectab.h"

static const char *const kind_names[AK_MAX] = {
	[AK_PORT_SCAN] = "port_scan",	[AK_HOST_SCAN] = "host_scan",
	[AK_SLOW_SCAN] = "slow_scan",	[AK_SYN_FLOOD] = "syn_flood",
	[AK_ICMP_FLOOD] = "icmp_flood", [AK_UDP_FLOOD] = "udp_flood",
	[AK_RATE_SPIKE] = "rate_spike", [AK_RST_BURST] = "rst_burst",
	[AK_DROP_BURST] = "drop_burst", [AK_DNS_UNSOLICITED] = "dns_unsolicited",
};

const char *alert_kind_name(int kind)
{
	return kind >= 0 && kind < AK_MAX ? kind_names[kind] : "unknown";
}

/* ---- thresholds ---- */

void alerts_cfg_default(struct alert_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->scan_ports = 20;
	c->scan_window = 60;
	c->scan_hosts = 10;
	c->slow_ports = 20;
	c->slow_window = 3600;
	c->syn_pps = 200;
	c->icmp_pps = 1000;
	c->udp_pps = 10000;
	c->spike_factor = 10;
	c->spike_pps = 5000;
	c->spike_warmup = 60;
	c->rst_pps = 100;
	c->drop_pps = 100;
	c->dns_answers = 10;
	c->quiet = 30;
}

enum cfg_type { CT_COUNT_WINDOW, CT_COUNT, CT_RATE, CT_FACTOR, CT_SECONDS };

static const struct cfg_def {
	const char *name;
	enum cfg_type type;
	size_t off, off2; /* count, window */
	const char *help;
} cfg_defs[] = {
	{ "scan", CT_COUNT_WINDOW, offsetof(struct alert_cfg, scan_ports),
	  offsetof(struct alert_cfg, scan_window),
	  "N/SEC: a port scan is N ports of one address, mostly not open, from one source in SEC "
	  "seconds (20/60)" },
	{ "hosts", CT_COUNT, offsetof(struct alert_cfg, scan_hosts), 0,
	  "N: a host scan is one port (or ping) on N local addresses within the scan window (10)" },
	{ "slow", CT_COUNT_WINDOW, offsetof(struct alert_cfg, slow_ports),
	  offsetof(struct alert_cfg, slow_window),
	  "N/SEC: a slow scan is N ports refused or unanswered in SEC seconds (20/3600)" },
	{ "syn", CT_RATE, offsetof(struct alert_cfg, syn_pps), 0,
	  "PPS: a SYN flood is PPS SYNs a second to one port, under 20% completed (200)" },
	{ "icmp", CT_RATE, offsetof(struct alert_cfg, icmp_pps), 0,
	  "PPS: an ICMP flood is PPS packets a second to one address (1000)" },
	{ "udp", CT_RATE, offsetof(struct alert_cfg, udp_pps), 0,
	  "PPS: a UDP flood is PPS datagrams a second to one address, under 10% answered "
	  "(10000)" },
	{ "spike", CT_FACTOR, offsetof(struct alert_cfg, spike_factor), 0,
	  "X: a rate spike is a source at X times its moving baseline (10)" },
	{ "spike_pps", CT_RATE, offsetof(struct alert_cfg, spike_pps), 0,
	  "PPS: ... and at least PPS packets a second (5000)" },
	{ "warmup", CT_SECONDS, offsetof(struct alert_cfg, spike_warmup), 0,
	  "SEC: a source has a baseline after SEC seconds (60)" },
	{ "rst", CT_RATE, offsetof(struct alert_cfg, rst_pps), 0,
	  "PPS: a reset burst is PPS resets received a second (100)" },
	{ "drops", CT_RATE, offsetof(struct alert_cfg, drop_pps), 0,
	  "PPS: a drop burst is PPS drops of one reason a second, at spike times its baseline "
	  "(100)" },
	{ "dns", CT_COUNT, offsetof(struct alert_cfg, dns_answers), 0,
	  "N: N DNS answers from one source to queries never sent, within the scan window (10)" },
	{ "quiet", CT_SECONDS, offsetof(struct alert_cfg, quiet), 0,
	  "SEC: an alert ends SEC seconds after its last evidence (30)" },
};
#define N_CFG (sizeof(cfg_defs) / sizeof(cfg_defs[0]))

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int alerts_cfg_set(struct alert_cfg *c, const char *spec, char *err, size_t errlen)
{
	if (!strcmp(spec, "off")) {
		c->off = 1;
		return 0;
	}
	const char *eq = strchr(spec, '=');
	for (size_t i = 0; eq && i < N_CFG; i++) {
		const struct cfg_def *d = &cfg_defs[i];
		if (strlen(d->name) != (size_t)(eq - spec) ||
		    strncmp(spec, d->name, strlen(d->name)))
			continue;
		const char *v = eq + 1;
		char buf[64];
		double n, w;
		switch (d->type) {
		case CT_COUNT_WINDOW: {
			const char *sl = strchr(v, '/');
			if (!sl || (size_t)(sl - v) >= sizeof(buf))
				goto bad;
			memcpy(buf, v, (size_t)(sl - v));
			buf[sl - v] = '\0';
			if (parse_num(buf, 2, 65536, &n) || parse_num(sl + 1, 1, 86400, &w) ||
			    n != floor(n))
				goto bad;
			*(uint32_t *)((char *)c + d->off) = (uint32_t)n;
			*(double *)((char *)c + d->off2) = w;
			return 0;
		}
		case CT_COUNT:
			if (parse_num(v, 1, 65536, &n) || n != floor(n))
				goto bad;
			*(uint32_t *)((char *)c + d->off) = (uint32_t)n;
			return 0;
		case CT_RATE:
			if (parse_num(v, 1, 1e9, &n))
				goto bad;
			*(double *)((char *)c + d->off) = n;
			return 0;
		case CT_FACTOR:
			if (parse_num(v, 1.5, 1e6, &n))
				goto bad;
			*(double *)((char *)c + d->off) = n;
			return 0;
		case CT_SECONDS:
			if (parse_num(v, 1, 86400, &n))
				goto bad;
			*(double *)((char *)c + d->off) = n;
			return 0;
		}
	bad:
		snprintf(err, errlen, "--alert %s: %s", spec, d->help);
		return -EINVAL;
	}
	size_t o = (size_t)snprintf(err, errlen, "--alert '%s': not one of off", spec);
	for (size_t i = 0; i < N_CFG && o < errlen; i++)
		o += (size_t)snprintf(err + o, errlen - o, ", %s=", cfg_defs[i].name);
	return -EINVAL;
}

void alerts_cfg_help(char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < N_CFG && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "  %-10s %s\n", cfg_defs[i].name,
				      cfg_defs[i].help);
}

/* ---- counting helpers ---- */

/* HyperLogLog with 256 registers (about 6.5% error): distinct sources of a flood. */
#define HLL_M 256
struct hll {
	uint8_t r[HLL_M];
};

static void hll_add(struct hll *h, const void *p, size_t n)
{
	uint64_t x = sectab_hash(p, n);
	uint32_t idx = (uint32_t)(x & (HLL_M - 1));
	uint64_t w = x >> 8;
	uint8_t rank = (uint8_t)(w ? __builtin_ctzll(w) + 1 : 57);
	if (rank > h->r[idx])
		h->r[idx] = rank;
}

static void hll_merge(struct hll *into, const struct hll *h)
{
	for (int i = 0; i < HLL_M; i++)
		if (h->r[i] > into->r[i])
			into->r[i] = h->r[i];
}

static double hll_count(const struct hll *h)
{
	double sum = 0;
	int zeros = 0;
	for (int i = 0; i < HLL_M; i++) {
		sum += ldexp(1.0, -h->r[i]);
		zeros += !h->r[i];
	}
	double m = HLL_M, e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
	if (e <= 2.5 * m && zeros)
		e = m * log(m / zeros);
	return e;
}

/* A count over a sliding window of 16 buckets. */
#define WC_N 16
struct wcount {
	int64_t head; /* bucket number of b[head % WC_N] */
	uint32_t b[WC_N];
};

static void wc_advance(struct wcount *w, double t, double win)
{
	int64_t cur = (int64_t)floor(t / (win / WC_N));
	if (cur <= w->head)
		return;
	if (cur - w->head >= WC_N)
		memset(w->b, 0, sizeof(w->b));
	else
		for (int64_t i = w->head + 1; i <= cur; i++)
			w->b[i % WC_N] = 0;
	w->head = cur;
}

static void wc_add(struct wcount *w, double t, double win, uint32_t n)
{
	wc_advance(w, t, win);
	w->b[w->head % WC_N] += n;
}

static uint32_t wc_sum(struct wcount *w, double t, double win)
{
	wc_advance(w, t, win);
	uint32_t s = 0;
	for (int i = 0; i < WC_N; i++)
		s += w->b[i];
	return s;
}

/* ---- state ---- */

struct addr_key {
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
};

struct target_key {
	uint8_t local[16];
	uint16_t port;
	uint8_t proto;
	uint8_t family;
};

enum { T_SYN = 1, T_STEALTH = 2, T_UDP = 4, T_PING = 8, T_DNS = 16, T_ANSWERED = 32 };

struct target {
	double first, last;
	double closed_at; /* its last refusal */
	uint32_t probes;
	uint8_t closed; /* this host answered RST or ICMP unreachable */
	uint8_t how;	/* T_* */
	uint8_t pad[2];
};

struct source {
	struct sectab targets; /* target_key -> target */
	double first, last;
	uint64_t probes, closed, dns, rst;
	uint64_t probes_counted; /* probes already in this source's scan alerts' counts */
	uint64_t dns_counted;	 /* answers (of dns) already in its DNS alerts' counts */
	uint32_t overflow;	 /* targets not remembered: a table was full */
	uint32_t rst_iv;	 /* resets received since the last update */
	uint32_t dns_iv;
	uint8_t dirty;
	struct wcount dns_w;
};

/* Per local port in one interval: who sent the SYNs (the kernel counts them). */
struct port_iv {
	struct hll src;
	uint32_t events;
	uint32_t n_examples;
	struct addr_key examples[4];
};

struct port_prev {
	struct sec_port_val v;
	uint8_t seen;
	uint8_t pad[7];
	int64_t half_open; /* -1 unknown */
};

struct rate_state {
	double first; /* seen first, seconds since start */
	double last;  /* last seen with a flow */
	double ewma;  /* packets a second, the baseline */
	double cur_pps, cur_bps;
	double top_pps;
	struct flow_key top;
	uint32_t flows;
	uint32_t samples;
	uint32_t spiking;
	uint32_t pad;
};

/* Per local address and protocol (ICMP, UDP): floods. */
struct lkey {
	uint8_t family, proto;
	uint8_t pad[2];
	uint8_t local[16];
};

struct lagg {
	double rx_pps, tx_pps;
	struct hll src;
	double top_pps;
	uint8_t top[16];
	uint16_t ports[8];
	double port_pps[8];
	uint32_t n_ports, more_ports;
};

#define PL_ALERT_TGT_MAX 16

struct drop_state {
	char reason[40];
	uint64_t prev;
	double ewma; /* drops a second, the baseline (baseline_step) */
	double first;
	uint64_t samples;
};

struct alert {
	struct alert_row r;
	/*
	 * Its identity, as alert_raise was asked for it: what the row shows may
	 * differ (a flood's one source found later, a spike's or DNS answers'
	 * target), and matching on that would make every interval a new alert.
	 */
	uint8_t key_src[16], key_dst[16];
	uint8_t key_has_src, key_has_dst;
	char reason[40]; /* drop bursts: identity */
	/* floods: every source seen while it lasts, and how many of its packets were sampled */
	struct hll src;
	uint64_t sampled;
	/* SYN floods: the evidence, kept to rewrite the line when the half-open count comes */
	double syn_rate, est_rate, synack_rate;
	int64_t half_open;
	uint64_t cookies, syn_retrans, listen_drops;
	int have_ns;
	/* resets and drops: the local addresses and ports they were about (alert_target) */
	uint8_t tgt[PL_ALERT_TGT_MAX][16];
	uint8_t tgt_family[PL_ALERT_TGT_MAX];
	uint32_t n_tgt;	   /* distinct, up to PL_ALERT_TGT_MAX */
	uint32_t tgt_more; /* 1: more than PL_ALERT_TGT_MAX */
	uint64_t *portmap; /* 65536 bits, allocated with the first port; NULL: none */
	int32_t rport;	   /* resets: the remote port they came from; -1 none yet, -2 several */
};

/* A flow's drops of one reason, as last read. */
struct dflow_key {
	char reason[40];
	struct flow_key key;
};

struct dflow_prev {
	uint64_t count;
	uint64_t update; /* the update that last saw it */
};

/* Resets received in this interval, by source, local address and ports. */
struct rst_key {
	struct addr_key src;
	uint8_t local[16];
	uint16_t lport, rport;
};

#define PL_DROP_STATES 64
#define PL_RATE_MAX 16384

struct alerts {
	struct alert_cfg cfg;
	struct sectab sources; /* addr_key -> struct source */
	size_t targets_total;
	uint64_t sources_evicted;
	struct sectab port_iv;	 /* sec_port_key -> port_iv, this interval */
	struct sectab port_prev; /* sec_port_key -> port_prev */
	struct sectab port_open; /* sec_port_key -> double: when a TCP port last sent SYN-ACKs */
	struct sectab rates;	 /* addr_key -> rate_state */
	struct sectab lagg;	 /* lkey -> lagg, rebuilt every update */
	struct hll rst_src;	 /* sources of resets this interval */
	struct sectab rst_tab;	 /* rst_key -> uint32_t, this interval */
	struct sectab dflows;	 /* dflow_key -> dflow_prev */
	uint32_t rst_iv;
	struct sec_counters kc_prev;
	int have_kc;
	struct alert_netstat ns_prev, ns_delta;
	struct drop_state drops[PL_DROP_STATES];
	size_t n_drops;
	uint64_t fw_dropped_prev;
	struct alert alerts[PL_ALERTS_MAX];
	size_t n_alerts;
	uint32_t next_id;
	uint64_t raised;
	uint64_t raised_kind[AK_MAX];
	double now, last_sweep;
	uint64_t updates;
};

struct alerts *alerts__new(const struct alert_cfg *cfg)
{
	struct alerts *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	if (cfg)
		a->cfg = *cfg;
	else
		alerts_cfg_default(&a->cfg);
	sectab_init(&a->sources, sizeof(struct addr_key), sizeof(struct source), PL_ALERT_SRC_MAX);
	sectab_init(&a->port_iv, sizeof(struct sec_port_key), sizeof(struct port_iv), 4096);
	sectab_init(&a->port_prev, sizeof(struct sec_port_key), sizeof(struct port_prev),
		    2 * PL_SEC_PORTS_MAX);
	sectab_init(&a->port_open, sizeof(struct sec_port_key), sizeof(double),
		    2 * PL_SEC_PORTS_MAX);
	sectab_init(&a->rates, sizeof(struct addr_key), sizeof(struct rate_state), PL_RATE_MAX);
	sectab_init(&a->lagg, sizeof(struct lkey), sizeof(struct lagg), 1024);
	sectab_init(&a->rst_tab, sizeof(struct rst_key), sizeof(uint32_t), 16384);
	sectab_init(&a->dflows, sizeof(struct dflow_key), sizeof(struct dflow_prev), 4096);
	a->next_id = 1;
	return a;
}

static void source_free(struct alerts *a, struct source *s)
{
	a->targets_total -= s->targets.n;
	sectab_free(&s->targets);
}

void alerts__free(struct alerts *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->sources.cap; i++)
		if (sectab_used(&a->sources, i))
			source_free(a, sectab_val(&a->sources, i));
	sectab_free(&a->sources);
	sectab_free(&a->port_iv);
	sectab_free(&a->port_prev);
	sectab_free(&a->port_open);
	sectab_free(&a->rates);
	sectab_free(&a->lagg);
	sectab_free(&a->rst_tab);
	sectab_free(&a->dflows);
	for (size_t i = 0; i < a->n_alerts; i++)
		free(a->alerts[i].portmap);
	free(a);
}

const struct alert_cfg *alerts_cfg(const struct alerts *a)
{
	return &a->cfg;
}

static struct addr_key akey(uint8_t family, const uint8_t *addr)
{
	struct addr_key k;
	memset(&k, 0, sizeof(k));
	k.family = family;
	memcpy(k.addr, addr, 16);
	return k;
}

static void fmt_addr(uint8_t family, const uint8_t *a, char *out, size_t len)
{
	if (!inet_ntop(family == PL_AF_INET ? AF_INET : AF_INET6, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

/* Forgets the quarter of the sources that counted least (ties: the longest quiet). */
struct evict_ent {
	uint64_t weight;
	double last;
	struct addr_key k;
};

static int cmp_evict(const void *x, const void *y)
{
	const struct evict_ent *a = x, *b = y;
	if (a->weight != b->weight)
		return a->weight < b->weight ? -1 : 1;
	return (a->last > b->last) - (a->last < b->last);
}

static void evict_sources(struct alerts *a)
{
	size_t n = a->sources.n, k = 0;
	struct evict_ent *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < a->sources.cap; i++) {
		if (!sectab_used(&a->sources, i))
			continue;
		const struct source *s = sectab_val(&a->sources, i);
		v[k].weight = s->probes + s->closed + s->dns + s->rst;
		v[k].last = s->last;
		memcpy(&v[k].k, sectab_key(&a->sources, i), sizeof(v[k].k));
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_evict);
	for (size_t i = 0; i < k / 4 + 1 && i < k; i++) {
		struct source *s = sectab_get(&a->sources, &v[i].k);
		if (!s)
			continue;
		source_free(a, s);
		sectab_del(&a->sources, &v[i].k);
		a->sources_evicted++;
	}
	free(v);
}

static struct source *source_get(struct alerts *a, uint8_t family, const uint8_t *addr, double t)
{
	struct addr_key k = akey(family, addr);
	int created;
	struct source *s = sectab_put(&a->sources, &k, &created);
	if (!s) {
		evict_sources(a);
		s = sectab_put(&a->sources, &k, &created);
		if (!s)
			return NULL;
	}
	if (created) {
		sectab_init(&s->targets, sizeof(struct target_key), sizeof(struct target),
			    PL_ALERT_TARGETS);
		s->first = t;
	}
	s->last = t;
	s->dirty = 1;
	return s;
}

static struct target *target_get(struct alerts *a, struct source *s, const struct sec_event *ev,
				 uint8_t proto, double t)
{
	struct target_key k;
	memset(&k, 0, sizeof(k));
	memcpy(k.local, ev->local, 16);
	k.port = ev->local_port;
	k.proto = proto;
	k.family = ev->family;
	struct target *tg = sectab_get(&s->targets, &k);
	if (!tg) {
		int created;
		if (a->targets_total >= PL_ALERT_TARGETS_ALL ||
		    !(tg = sectab_put(&s->targets, &k, &created))) {
			s->overflow++;
			return NULL;
		}
		a->targets_total++;
		tg->first = t;
	}
	tg->last = t;
	return tg;
}

void alerts_event(struct alerts *a, const struct sec_event *ev, double t)
{
	if (ev->family != PL_AF_INET && ev->family != PL_AF_INET6)
		return;
	struct source *s = source_get(a, ev->family, ev->remote, t);
	if (!s)
		return;
	struct target *tg;
	switch (ev->kind) {
	case PL_SEC_PROBE: {
		s->probes++;
		uint8_t proto = ev->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : ev->proto;
		tg = target_get(a, s, ev, proto, t);
		if (tg) {
			tg->probes++;
			if (proto == IPPROTO_TCP)
				tg->how |= (ev->tcp_flags & PL_TCP_SYN) ? T_SYN : T_STEALTH;
			else
				tg->how |= proto == IPPROTO_UDP ? T_UDP : T_PING;
		}
		if (ev->proto == IPPROTO_TCP && (ev->tcp_flags & PL_TCP_SYN)) {
			struct sec_port_key pk;
			memset(&pk, 0, sizeof(pk));
			memcpy(pk.local, ev->local, 16);
			pk.port = ev->local_port;
			pk.family = ev->family;
			pk.proto = IPPROTO_TCP;
			int created;
			struct port_iv *pi = sectab_put(&a->port_iv, &pk, &created);
			if (pi) {
				struct addr_key ak = akey(ev->family, ev->remote);
				hll_add(&pi->src, &ak, sizeof(ak));
				pi->events++;
				int known = 0;
				for (uint32_t i = 0; i < pi->n_examples; i++)
					known |= !memcmp(&pi->examples[i], &ak, sizeof(ak));
				if (!known && pi->n_examples < 4)
					pi->examples[pi->n_examples++] = ak;
			}
		}
		break;
	}
	case PL_SEC_CLOSED:
		s->closed++;
		/* an ACK or stray probe may have no PROBE event: its answer makes it one */
		tg = target_get(a, s, ev, ev->proto, t);
		if (tg) {
			tg->closed = 1;
			tg->closed_at = t;
		}
		break;
	case PL_SEC_RST_IN: {
		s->rst++;
		s->rst_iv++;
		a->rst_iv++;
		struct addr_key ak = akey(ev->family, ev->remote);
		hll_add(&a->rst_src, &ak, sizeof(ak));
		/* what they were about: this host's address and ports (the alert names them) */
		struct rst_key rk;
		memset(&rk, 0, sizeof(rk));
		rk.src = ak;
		memcpy(rk.local, ev->local, 16);
		rk.lport = ev->local_port;
		rk.rport = ev->remote_port;
		int created;
		uint32_t *n = sectab_put(&a->rst_tab, &rk, &created);
		if (n)
			(*n)++;
		break;
	}
	case PL_SEC_DNS_ANSWER:
		s->dns++;
		s->dns_iv++;
		wc_add(&s->dns_w, t, a->cfg.scan_window, 1);
		tg = target_get(a, s, ev, IPPROTO_UDP, t);
		if (tg) {
			tg->probes++;
			tg->how |= T_DNS;
		}
		break;
	}
}

/* ---- alerts ---- */

static struct alert *alert_find(struct alerts *a, int kind, uint8_t family, const uint8_t *src,
				const uint8_t *dst, uint16_t port, const char *reason)
{
	for (size_t i = 0; i < a->n_alerts; i++) {
		struct alert *al = &a->alerts[i];
		if (al->r.kind != kind || !al->r.active || al->r.port != port ||
		    (family && al->r.family != family))
			continue;
		if (!!src != al->key_has_src || (src && memcmp(al->key_src, src, 16)))
			continue;
		if (!!dst != al->key_has_dst || (dst && memcmp(al->key_dst, dst, 16)))
			continue;
		if (reason && strcmp(reason, al->reason))
			continue;
		return al;
	}
	return NULL;
}

/* The alert of that identity under way, or a new one (the oldest ended, else oldest, gives way). */
static struct alert *alert_raise(struct alerts *a, int kind, uint8_t family, const uint8_t *src,
				 const uint8_t *dst, uint16_t port, const char *reason,
				 double first, int *created)
{
	struct alert *al = alert_find(a, kind, family, src, dst, port, reason);
	*created = 0;
	if (al)
		return al;
	if (a->n_alerts == PL_ALERTS_MAX) {
		size_t victim = 0;
		int victim_active = 1;
		for (size_t i = 0; i < a->n_alerts; i++) {
			const struct alert *c = &a->alerts[i];
			if ((victim_active && !c->r.active) ||
			    (victim_active == !c->r.active &&
			     c->r.last_seen < a->alerts[victim].r.last_seen)) {
				victim = i;
				victim_active = c->r.active;
			}
		}
		free(a->alerts[victim].portmap);
		a->alerts[victim] = a->alerts[--a->n_alerts];
	}
	al = &a->alerts[a->n_alerts++];
	memset(al, 0, sizeof(*al));
	al->r.id = a->next_id++;
	al->r.kind = (uint8_t)kind;
	al->r.active = 1;
	al->r.family = family;
	al->r.port = port;
	al->half_open = -1;
	al->rport = -1;
	if (src) {
		memcpy(al->key_src, src, 16);
		al->key_has_src = 1;
		memcpy(al->r.src, src, 16);
		al->r.has_src = 1;
		al->r.n_sources = 1;
		fmt_addr(family, src, al->r.source, sizeof(al->r.source));
	}
	if (dst) {
		memcpy(al->key_dst, dst, 16);
		al->key_has_dst = 1;
		memcpy(al->r.dst, dst, 16);
		al->r.has_dst = 1;
		fmt_addr(family, dst, al->r.target, sizeof(al->r.target));
	}
	if (reason)
		snprintf(al->reason, sizeof(al->reason), "%s", reason);
	al->r.first_seen = first;
	al->r.last_seen = first;
	a->raised++;
	a->raised_kind[kind]++;
	*created = 1;
	return al;
}

static void set_sources(struct alert *al, double n, const uint8_t *one)
{
	uint32_t k = (uint32_t)(n + 0.5);
	if (one && k <= 1) {
		memcpy(al->r.src, one, 16);
		al->r.has_src = 1;
		al->r.n_sources = 1;
		fmt_addr(al->r.family, one, al->r.source, sizeof(al->r.source));
		return;
	}
	al->r.n_sources = k ? k : 1;
	snprintf(al->r.source, sizeof(al->r.source), "~%u addresses", al->r.n_sources);
}

static void ports_str(const uint16_t *p, size_t n, char *out, size_t len);

/*
 * Resets and drops: one more local address (and port, -1 for none) of what
 * they were about; alert_targets_show puts them in the row.
 */
static void alert_target(struct alert *al, uint8_t family, const uint8_t *local, int port)
{
	uint32_t i = 0;
	while (i < al->n_tgt && (al->tgt_family[i] != family || memcmp(al->tgt[i], local, 16)))
		i++;
	if (i == al->n_tgt) {
		if (i < PL_ALERT_TGT_MAX) {
			memcpy(al->tgt[i], local, 16);
			al->tgt_family[i] = family;
			al->n_tgt++;
		} else {
			al->tgt_more = 1;
		}
	}
	if (port < 0 || port > 65535)
		return;
	if (!al->portmap)
		al->portmap = calloc(65536 / 64, sizeof(*al->portmap));
	if (al->portmap)
		al->portmap[port >> 6] |= 1ULL << (port & 63);
}

/* The target as host scans say it: the one address, or "N local addresses"; the ports as ranges. */
static void alert_targets_show(struct alert *al)
{
	if (al->n_tgt == 1 && !al->tgt_more) {
		if (!al->r.family)
			al->r.family = al->tgt_family[0];
		memcpy(al->r.dst, al->tgt[0], 16);
		al->r.has_dst = 1;
		fmt_addr(al->tgt_family[0], al->tgt[0], al->r.target, sizeof(al->r.target));
	} else if (al->n_tgt) {
		al->r.has_dst = 0;
		snprintf(al->r.target, sizeof(al->r.target), "%u%s local addresses", al->n_tgt,
			 al->tgt_more ? "+" : "");
	}
	if (!al->portmap)
		return;
	uint16_t *ps = malloc(65536 * sizeof(*ps));
	if (!ps)
		return;
	size_t n = 0;
	for (uint32_t w = 0; w < 65536 / 64; w++)
		for (uint64_t b = al->portmap[w]; b; b &= b - 1)
			ps[n++] = (uint16_t)(w * 64 + (uint32_t)__builtin_ctzll(b));
	ports_str(ps, n, al->r.ports, sizeof(al->r.ports));
	free(ps);
}

/* Sorted ports as ranges ("1-1024,3306"), "+N" when they do not fit. */
static void ports_str(const uint16_t *p, size_t n, char *out, size_t len)
{
	size_t o = 0, i = 0;
	out[0] = '\0';
	while (i < n) {
		size_t j = i;
		while (j + 1 < n && p[j + 1] == p[j] + 1)
			j++;
		char one[16];
		if (j > i)
			snprintf(one, sizeof(one), "%u-%u", p[i], p[j]);
		else
			snprintf(one, sizeof(one), "%u", p[i]);
		size_t need = strlen(one) + (o ? 1 : 0);
		if (o + need + 8 >= len) {
			size_t rest = 0;
			for (size_t k = i; k < n; k++)
				rest++;
			snprintf(out + o, len - o, "%s+%zu", o ? "," : "", rest);
			return;
		}
		o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "", one);
		i = j + 1;
	}
}

static int cmp_u16(const void *x, const void *y)
{
	return (int)*(const uint16_t *)x - (int)*(const uint16_t *)y;
}

static const char *how_str(uint8_t how, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = { { T_SYN, "SYN" },
		      { T_STEALTH, "FIN/NULL/Xmas" },
		      { T_UDP, "UDP" },
		      { T_PING, "ping" },
		      { T_DNS, "DNS answers" } };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (how & names[i].bit)
			o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "+" : "",
					      names[i].name);
	if (!o)
		snprintf(buf, len, "answers only");
	return buf;
}

/* "24ms", "3.2s", "14m05s": how long probes went on. */
static void fmt_span(double s, char *out, size_t len)
{
	if (s < 1)
		snprintf(out, len, "%.0fms", s * 1000);
	else if (s < 60)
		snprintf(out, len, "%.1fs", s);
	else
		snprintf(out, len, "%um%02us", (unsigned)(s / 60), (unsigned)s % 60);
}

/* ---- scans ---- */

struct tview {
	struct target_key k;
	struct target t;
	int open;
};

static int cmp_by_local(const void *x, const void *y)
{
	const struct tview *a = x, *b = y;
	int c = a->k.family - b->k.family;
	if (!c)
		c = memcmp(a->k.local, b->k.local, 16);
	if (!c)
		c = a->k.proto - b->k.proto;
	if (!c)
		c = a->k.port - b->k.port;
	return c;
}

static int cmp_by_port(const void *x, const void *y)
{
	const struct tview *a = x, *b = y;
	int c = a->k.proto - b->k.proto;
	if (!c)
		c = a->k.port - b->k.port;
	if (!c)
		c = a->k.family - b->k.family;
	if (!c)
		c = memcmp(a->k.local, b->k.local, 16);
	return c;
}

/*
 * A probed target is open when this host accepted it: a SYN-ACK from that TCP port, a UDP
 * reply. A TCP port's reset says "closed" only when no SYN-ACK came after it: a listening
 * port also resets connections (an application's abort, SO_LINGER 0, a segment for a
 * connection it forgot), and the same peer's scan of it a moment later finds it open. The
 * SYN-ACKs are counted per port in the kernel and read at each refresh, after the interval's
 * events: in one interval the SYN-ACK wins.
 */
static int target_open(const struct alerts *a, const struct target_key *k, const struct target *t)
{
	if (k->proto == IPPROTO_TCP) {
		struct sec_port_key pk;
		memset(&pk, 0, sizeof(pk));
		memcpy(pk.local, k->local, 16);
		pk.port = k->port;
		pk.family = k->family;
		pk.proto = IPPROTO_TCP;
		const double *synack = sectab_get(&a->port_open, &pk);
		return synack && (!t->closed || *synack >= t->closed_at);
	}
	if (t->closed)
		return 0;
	if (k->proto == IPPROTO_UDP)
		return !!(t->how & T_ANSWERED);
	return 0; /* a ping is a probe whatever the answer */
}

/* Raises or updates a scan alert over the targets v[i..j) (one local address, or one port). */
static void scan_alert(struct alerts *a, int kind, const struct addr_key *sk, struct source *s,
		       const struct tview *v, size_t i, size_t j, uint32_t distinct, double win)
{
	uint32_t open = 0, closed = 0, probes = 0;
	double first = 1e300, last = 0;
	uint8_t how = 0, proto = v[i].k.proto;
	for (size_t k = i; k < j; k++) {
		open += (uint32_t)v[k].open;
		closed += v[k].t.closed && !v[k].open;
		probes += v[k].t.probes;
		how |= v[k].t.how;
		if (v[k].t.first < first)
			first = v[k].t.first;
		if (v[k].t.last > last)
			last = v[k].t.last;
		if (v[k].k.proto != proto)
			proto = 0;
	}
	int host = kind == AK_HOST_SCAN;
	int created;
	struct alert *al = alert_raise(a, kind, sk->family, sk->addr, host ? NULL : v[i].k.local,
				       host ? v[i].k.port : 0, NULL, first, &created);
	al->r.proto = proto;
	if (last > al->r.last_seen)
		al->r.last_seen = last;
	if (created) {
		al->r.count = probes;
		s->probes_counted = s->probes;
	} else {
		al->r.count += s->probes - s->probes_counted;
		s->probes_counted = s->probes;
	}
	char how_b[64], dur[32];
	how_str(how, how_b, sizeof(how_b));
	fmt_span(last - first, dur, sizeof(dur));
	uint32_t unanswered = distinct > open + closed ? distinct - open - closed : 0;
	if (host) {
		char ts[48];
		const char *pn = proto == IPPROTO_TCP	? "TCP"
				 : proto == IPPROTO_UDP ? "UDP"
							: "ICMP";
		if (proto == IPPROTO_ICMP)
			snprintf(al->r.ports, sizeof(al->r.ports), "-");
		else
			snprintf(al->r.ports, sizeof(al->r.ports), "%u", v[i].k.port);
		snprintf(al->r.target, sizeof(al->r.target), "%u local addresses", distinct);
		fmt_addr(v[i].k.family, v[i].k.local, ts, sizeof(ts));
		snprintf(al->r.detail, sizeof(al->r.detail),
			 "%s %s on %u addresses (first %s) in %s: %u open, %u refused, %u "
			 "unanswered; %s",
			 pn, proto == IPPROTO_ICMP ? "echo" : al->r.ports, distinct, ts, dur, open,
			 closed, unanswered, how_b);
		return;
	}
	uint16_t *ports = calloc(distinct ? distinct : 1, sizeof(*ports));
	uint16_t open_p[8];
	uint32_t n = 0, no = 0;
	if (ports) {
		for (size_t k = i; k < j; k++) {
			if (v[k].k.proto == IPPROTO_ICMP)
				continue;
			if (k > i && v[k].k.port == v[k - 1].k.port &&
			    v[k].k.proto == v[k - 1].k.proto)
				continue;
			ports[n++] = v[k].k.port;
			if (v[k].open && no < 8)
				open_p[no++] = v[k].k.port;
		}
		qsort(ports, n, sizeof(*ports), cmp_u16);
		ports_str(ports, n, al->r.ports, sizeof(al->r.ports));
		free(ports);
	}
	char open_s[64] = "";
	if (no) {
		ports_str(open_p, no, open_s + 2, sizeof(open_s) - 4);
		open_s[0] = ' ';
		open_s[1] = '(';
		strcat(open_s, ")");
	}
	snprintf(al->r.detail, sizeof(al->r.detail),
		 "%u ports in %s%s: %u open%s, %u refused, %u unanswered; probes %s, %u%s in the "
		 "last %.0fs",
		 distinct, dur, kind == AK_SLOW_SCAN ? " (slow)" : "", open, open_s, closed,
		 unanswered, how_b, distinct, s->overflow ? "+" : "", win);
}

/* Groups of equal local address (by_port 0) or equal port (1) in v[0..n). */
static void scan_groups(struct alerts *a, const struct addr_key *sk, struct source *s,
			struct tview *v, size_t n, int by_port, int kind, uint32_t need, double win)
{
	qsort(v, n, sizeof(*v), by_port ? cmp_by_port : cmp_by_local);
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		uint32_t distinct = 0, not_open = 0;
		for (; j < n; j++) {
			int same =
			    by_port ? (v[j].k.proto == v[i].k.proto && v[j].k.port == v[i].k.port)
				    : (v[j].k.family == v[i].k.family &&
				       !memcmp(v[j].k.local, v[i].k.local, 16));
			if (!same)
				break;
			/* a ping has no port: it counts for host scans only */
			if (!by_port && v[j].k.proto == IPPROTO_ICMP)
				continue;
			/* by address, one port under TCP and UDP counts once per protocol */
			distinct++;
			not_open += !v[j].open;
		}
		/* probes of open ports are what clients do: a scan is mostly refused or unanswered */
		if (distinct >= need && not_open * 2 >= distinct &&
		    !(by_port && v[i].k.proto == IPPROTO_UDP && v[i].k.port == 53))
			scan_alert(a, kind, sk, s, v, i, j, distinct, win);
		i = j;
	}
}

static void eval_source(struct alerts *a, const struct addr_key *sk, struct source *s)
{
	const struct alert_cfg *c = &a->cfg;
	double now = a->now,
	       keep = c->slow_window > c->scan_window ? c->slow_window : c->scan_window;
	size_t n = 0, cap = s->targets.n;
	struct tview *v = calloc(cap ? cap : 1, sizeof(*v));
	struct tview *slow = calloc(cap ? cap : 1, sizeof(*slow));
	size_t ns = 0;
	if (!v || !slow)
		goto out;
	/* forget what is older than the longest window; collect the rest */
	for (size_t i = 0; i < s->targets.cap;) {
		if (!sectab_used(&s->targets, i)) {
			i++;
			continue;
		}
		const struct target_key *k = sectab_key(&s->targets, i);
		const struct target *t = sectab_val(&s->targets, i);
		if (t->last < now - keep) {
			struct target_key copy = *k;
			sectab_del(&s->targets, &copy);
			a->targets_total--;
			continue; /* the shift may have moved another entry into slot i */
		}
		if (!(t->how & T_DNS)) {
			int open = target_open(a, k, t);
			if (t->last >= now - c->scan_window && n < cap)
				v[n++] = (struct tview){ *k, *t, open };
			if (!open && ns < cap)
				slow[ns++] = (struct tview){ *k, *t, open };
		}
		i++;
	}
	/* vertical, then horizontal; host scans of one port across addresses */
	scan_groups(a, sk, s, v, n, 0, AK_PORT_SCAN, c->scan_ports, c->scan_window);
	scan_groups(a, sk, s, v, n, 1, AK_HOST_SCAN, c->scan_hosts, c->scan_window);
	/* slow: refused or unanswered ports over the long window, unless a fast alert says it */
	int fast = 0; /* a port scan already said it */
	for (size_t i = 0; i < a->n_alerts; i++) {
		const struct alert *al = &a->alerts[i];
		fast |= al->r.kind == AK_PORT_SCAN && al->r.last_seen >= now - c->slow_window &&
			al->r.has_src && al->r.family == sk->family &&
			!memcmp(al->r.src, sk->addr, 16);
	}
	if (!fast)
		scan_groups(a, sk, s, slow, ns, 0, AK_SLOW_SCAN, c->slow_ports, c->slow_window);

	/* unsolicited DNS answers */
	uint32_t answers = wc_sum(&s->dns_w, now, c->scan_window);
	if (s->dns_iv && answers >= c->dns_answers) {
		int created;
		struct alert *al = alert_raise(a, AK_DNS_UNSOLICITED, sk->family, sk->addr, NULL, 0,
					       NULL, now, &created);
		al->r.proto = IPPROTO_UDP;
		/* a new alert counts the window's answers, but none an alert of this source
		 * counted already (one that ended within the window) */
		uint64_t fresh = s->dns - s->dns_counted;
		al->r.count = created ? (fresh < answers ? fresh : answers) : al->r.count + fresh;
		s->dns_counted = s->dns;
		al->r.last_seen = s->last;
		uint16_t lp[64];
		uint32_t nl = 0, total = 0;
		const uint8_t *dst = NULL;
		uint8_t one_dst = 1;
		for (size_t i = 0; i < s->targets.cap; i++) {
			if (!sectab_used(&s->targets, i))
				continue;
			const struct target_key *k = sectab_key(&s->targets, i);
			const struct target *t = sectab_val(&s->targets, i);
			if (!(t->how & T_DNS) || t->last < now - c->scan_window)
				continue;
			total++;
			if (nl < 64)
				lp[nl++] = k->port;
			if (dst && memcmp(dst, k->local, 16))
				one_dst = 0;
			dst = k->local;
		}
		qsort(lp, nl, sizeof(*lp), cmp_u16);
		ports_str(lp, nl, al->r.ports, sizeof(al->r.ports));
		if (dst && one_dst) {
			memcpy(al->r.dst, dst, 16);
			al->r.has_dst = 1;
			fmt_addr(sk->family, dst, al->r.target, sizeof(al->r.target));
		}
		snprintf(
		    al->r.detail, sizeof(al->r.detail),
		    "%u DNS answers from port 53 in %.0fs to %u local ports that sent no query "
		    "(spoofing or reflection)",
		    answers, c->scan_window, total);
	}
out:
	free(v);
	free(slow);
	s->dirty = 0;
	s->dns_iv = 0;
}

/* UDP probes answered: a reply on the probe's own flow makes that port open. */
static void mark_answered(struct alerts *a, const struct alert_input *in)
{
	for (size_t i = 0; i < in->n_flows; i++) {
		const struct alert_flow *f = &in->flows[i];
		if (f->key.proto != IPPROTO_UDP || !f->tx_packets)
			continue;
		struct addr_key sk = akey(f->key.family, f->key.remote);
		struct source *s = sectab_get(&a->sources, &sk);
		if (!s || !s->dirty)
			continue;
		struct target_key tk;
		memset(&tk, 0, sizeof(tk));
		memcpy(tk.local, f->key.local, 16);
		tk.port = f->key.local_port;
		tk.proto = IPPROTO_UDP;
		tk.family = f->key.family;
		struct target *t = sectab_get(&s->targets, &tk);
		if (t)
			t->how |= T_ANSWERED;
	}
}

/* ---- floods, spikes, bursts ---- */

/*
 * One step of a baseline that moves with a time constant of five minutes
 * (alpha per interval), after n earlier samples. Until 1/(n+1) falls under
 * alpha it is the plain mean of the samples so far: seeded with the first
 * sample alone it would stay near that one interval for minutes, and a
 * first interval a flow only began in (a fraction of its rate) made the
 * baseline a fraction of the real one (an e2e client at 20 messages a
 * second got a baseline of 6/s) and an ordinary rise a tenfold "spike".
 */
static double baseline_step(double base, uint64_t n, double x, double alpha)
{
	double w = 1.0 / (double)(n + 1);
	return base + (w > alpha ? w : alpha) * (x - base);
}

static void syn_detail(struct alert *al)
{
	char ho[32] = "", ns[128] = "";
	if (al->half_open >= 0)
		snprintf(ho, sizeof(ho), ", half-open %lld", (long long)al->half_open);
	if (al->have_ns)
		snprintf(ns, sizeof(ns),
			 ", syncookies sent +%llu, SYN-ACK retransmits +%llu%s%.0llu",
			 (unsigned long long)al->cookies, (unsigned long long)al->syn_retrans,
			 al->listen_drops ? ", listen drops +" : "",
			 (unsigned long long)al->listen_drops);
	snprintf(al->r.detail, sizeof(al->r.detail),
		 "%.0f SYN/s from %s, %.0f handshakes/s completed (%.1f%%), SYN-ACK %.0f/s%s%s",
		 al->syn_rate, al->r.source, al->est_rate,
		 al->syn_rate > 0 ? 100.0 * al->est_rate / al->syn_rate : 0, al->synack_rate, ho,
		 ns);
}

static void eval_ports(struct alerts *a, const struct alert_input *in)
{
	const struct alert_cfg *c = &a->cfg;
	for (size_t i = 0; i < in->n_ports; i++) {
		const struct sec_port_key *k = &in->port_keys[i];
		const struct sec_port_val *v = &in->port_vals[i];
		int created;
		struct port_prev *p = sectab_put(&a->port_prev, k, &created);
		/* SYN-ACKs sent since the last reading (all of them, when the entry is new) */
		if (k->proto == IPPROTO_TCP && v->synack &&
		    (!p || !p->seen || v->synack != p->v.synack)) {
			double *when = sectab_put(&a->port_open, k, &created);
			if (when)
				*when = in->now;
		}
		if (!p)
			continue;
		/* an entry the kernel made (or re-made after LRU eviction) since the last
		 * reading counts from zero */
		struct sec_port_val d = *v;
		if (p->seen && v->syn >= p->v.syn) {
			d.syn = v->syn - p->v.syn;
			d.synack = v->synack >= p->v.synack ? v->synack - p->v.synack : v->synack;
			d.established = v->established >= p->v.established
					    ? v->established - p->v.established
					    : v->established;
		}
		p->v = *v;
		p->seen = 1;
		if (created)
			p->half_open = -1;
		/* the first reading has no interval: its counts may be old */
		if (in->dt <= 0 || !a->updates || k->proto != IPPROTO_TCP)
			continue;
		double syn = (double)d.syn / in->dt, est = (double)d.established / in->dt;
		if (syn < c->syn_pps || est * 5 >= syn)
			continue;
		int cr;
		struct alert *al = alert_raise(a, AK_SYN_FLOOD, k->family, NULL, k->local, k->port,
					       NULL, a->now - in->dt, &cr);
		al->r.proto = IPPROTO_TCP;
		al->r.last_seen = a->now;
		al->r.count += d.syn;
		snprintf(al->r.ports, sizeof(al->r.ports), "%u", k->port);
		struct port_iv *pi = sectab_get(&a->port_iv, k);
		if (pi && pi->events) {
			hll_merge(&al->src, &pi->src);
			al->sampled += pi->events;
			/* events lost under the flood: the sample's distinct share scales up */
			double n = hll_count(&al->src);
			if (al->r.count > al->sampled)
				n *= (double)al->r.count / (double)al->sampled;
			if (n > (double)al->r.count)
				n = (double)al->r.count;
			al->r.has_src = 0;
			set_sources(al, n, pi->n_examples == 1 ? pi->examples[0].addr : NULL);
		} else if (!al->r.n_sources) {
			snprintf(al->r.source, sizeof(al->r.source), "unknown sources");
		}
		al->syn_rate = syn;
		al->est_rate = est;
		al->synack_rate = (double)d.synack / in->dt;
		al->have_ns = in->ns && in->ns->have && a->ns_prev.have;
		if (al->have_ns) {
			al->cookies = a->ns_delta.syncookies_sent;
			al->syn_retrans = a->ns_delta.syn_retrans;
			al->listen_drops = a->ns_delta.listen_drops;
		}
		syn_detail(al);
	}
}

static void eval_rates(struct alerts *a, const struct alert_input *in)
{
	const struct alert_cfg *c = &a->cfg;
	sectab_clear(&a->lagg);
	for (size_t i = 0; i < a->rates.cap; i++) {
		if (!sectab_used(&a->rates, i))
			continue;
		struct rate_state *r = sectab_val(&a->rates, i);
		r->cur_pps = r->cur_bps = r->top_pps = 0;
		r->flows = 0;
	}
	for (size_t i = 0; i < in->n_flows; i++) {
		const struct alert_flow *f = &in->flows[i];
		struct addr_key k = akey(f->key.family, f->key.remote);
		int created;
		struct rate_state *r = sectab_put(&a->rates, &k, &created);
		if (r) {
			if (created)
				r->first = a->now;
			r->cur_pps += f->rx_pps;
			r->cur_bps += f->rx_bps;
			r->flows++;
			r->last = a->now;
			if (f->rx_pps > r->top_pps) {
				r->top_pps = f->rx_pps;
				r->top = f->key;
			}
		}
		uint8_t p = f->key.proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : f->key.proto;
		if (p != IPPROTO_ICMP && p != IPPROTO_UDP)
			continue;
		if (f->rx_pps <= 0)
			continue;
		struct lkey lk;
		memset(&lk, 0, sizeof(lk));
		lk.family = f->key.family;
		lk.proto = p;
		memcpy(lk.local, f->key.local, 16);
		struct lagg *g = sectab_put(&a->lagg, &lk, &created);
		if (!g)
			continue;
		g->rx_pps += f->rx_pps;
		g->tx_pps += f->tx_pps;
		hll_add(&g->src, &k, sizeof(k));
		if (f->rx_pps > g->top_pps) {
			g->top_pps = f->rx_pps;
			memcpy(g->top, f->key.remote, 16);
		}
		uint32_t j = 0;
		while (j < g->n_ports && g->ports[j] != f->key.local_port)
			j++;
		if (j < g->n_ports) {
			g->port_pps[j] += f->rx_pps;
		} else if (g->n_ports < 8) {
			g->ports[g->n_ports] = f->key.local_port;
			g->port_pps[g->n_ports++] = f->rx_pps;
		} else {
			g->more_ports++;
		}
	}

	/* a source far above its own moving baseline; the baseline learns only from calm */
	double alpha = in->dt > 0 ? 1 - exp(-in->dt / 300.0) : 0;
	for (size_t i = 0; i < a->rates.cap;) {
		if (!sectab_used(&a->rates, i)) {
			i++;
			continue;
		}
		struct addr_key *k = sectab_key(&a->rates, i);
		struct rate_state *r = sectab_val(&a->rates, i);
		if (a->now - r->last > 600) {
			struct addr_key copy = *k;
			sectab_del(&a->rates, &copy);
			continue;
		}
		int warm = a->now - r->first >= c->spike_warmup && r->samples >= 3;
		if (warm && r->cur_pps >= c->spike_pps && r->cur_pps >= c->spike_factor * r->ewma) {
			int created;
			struct alert *al = alert_raise(a, AK_RATE_SPIKE, k->family, k->addr, NULL,
						       0, NULL, a->now - in->dt, &created);
			memcpy(al->r.dst, r->top.local, 16);
			al->r.has_dst = 1;
			fmt_addr(k->family, r->top.local, al->r.target, sizeof(al->r.target));
			al->r.last_seen = a->now;
			al->r.count += (uint64_t)(r->cur_pps * in->dt + 0.5);
			al->r.proto = r->top.proto;
			snprintf(al->r.ports, sizeof(al->r.ports), "%u", r->top.local_port);
			snprintf(
			    al->r.detail, sizeof(al->r.detail),
			    "%.0f packets/s (%.1f Mbit/s) over %u flows, %.0fx its baseline of "
			    "%.0f/s; most on port %u (%.0f/s)",
			    r->cur_pps, r->cur_bps / 1e6, r->flows,
			    r->ewma > 0 ? r->cur_pps / r->ewma : 0, r->ewma, r->top.local_port,
			    r->top_pps);
			r->spiking = 1;
		} else if (in->dt > 0) {
			r->ewma = baseline_step(r->ewma, r->samples, r->cur_pps, alpha);
			r->samples++;
			r->spiking = 0;
		}
		i++;
	}

	for (size_t i = 0; i < a->lagg.cap; i++) {
		if (!sectab_used(&a->lagg, i))
			continue;
		const struct lkey *k = sectab_key(&a->lagg, i);
		const struct lagg *g = sectab_val(&a->lagg, i);
		int icmp = k->proto == IPPROTO_ICMP;
		if (icmp ? g->rx_pps < c->icmp_pps
			 : (g->rx_pps < c->udp_pps || g->tx_pps * 10 >= g->rx_pps))
			continue;
		int created;
		struct alert *al = alert_raise(a, icmp ? AK_ICMP_FLOOD : AK_UDP_FLOOD, k->family,
					       NULL, k->local, 0, NULL, a->now - in->dt, &created);
		al->r.proto = k->proto;
		al->r.last_seen = a->now;
		al->r.count += (uint64_t)(g->rx_pps * in->dt + 0.5);
		hll_merge(&al->src, &g->src);
		al->r.has_src = 0;
		set_sources(al, hll_count(&al->src), g->top);
		if (icmp) {
			snprintf(al->r.ports, sizeof(al->r.ports), "-");
		} else {
			uint16_t ps[8];
			for (uint32_t j = 0; j < g->n_ports; j++)
				ps[j] = g->ports[j];
			qsort(ps, g->n_ports, sizeof(ps[0]), cmp_u16);
			ports_str(ps, g->n_ports, al->r.ports, sizeof(al->r.ports));
			if (g->more_ports)
				snprintf(al->r.ports + strlen(al->r.ports),
					 sizeof(al->r.ports) - strlen(al->r.ports), ",+%u more",
					 g->more_ports);
		}
		snprintf(al->r.detail, sizeof(al->r.detail),
			 "%.0f %s packets/s from %s, %.0f/s sent back (%.1f%%)", g->rx_pps,
			 icmp ? "ICMP" : "UDP", al->r.source, g->tx_pps,
			 g->rx_pps > 0 ? 100.0 * g->tx_pps / g->rx_pps : 0);
	}
}

/* The reset alert of rk's source this interval (its own, else the one of many sources), or NULL. */
static struct alert *rst_alert_of(struct alerts *a, const struct rst_key *rk, double dt)
{
	const struct alert_cfg *c = &a->cfg;
	const struct source *s = sectab_get(&a->sources, &rk->src);
	if (s && s->rst_iv / dt >= c->rst_pps)
		return alert_find(a, AK_RST_BURST, rk->src.family, rk->src.addr, NULL, 0, NULL);
	struct alert *al = alert_find(a, AK_RST_BURST, 0, NULL, NULL, 0, NULL);
	return al && al->r.last_seen == a->now ? al : NULL;
}

static void eval_resets(struct alerts *a, const struct alert_input *in)
{
	const struct alert_cfg *c = &a->cfg;
	if (in->dt <= 0)
		goto out;
	int any = 0;
	for (size_t i = 0; i < a->sources.cap; i++) {
		if (!sectab_used(&a->sources, i))
			continue;
		const struct addr_key *k = sectab_key(&a->sources, i);
		struct source *s = sectab_val(&a->sources, i);
		if (!s->rst_iv)
			continue;
		double rate = s->rst_iv / in->dt;
		if (rate >= c->rst_pps) {
			int created;
			struct alert *al = alert_raise(a, AK_RST_BURST, k->family, k->addr, NULL, 0,
						       NULL, a->now - in->dt, &created);
			al->r.proto = IPPROTO_TCP;
			al->r.last_seen = a->now;
			al->r.count += s->rst_iv;
			snprintf(al->r.detail, sizeof(al->r.detail),
				 "%.0f resets/s received from this source (%llu since it was first "
				 "seen)",
				 rate, (unsigned long long)s->rst);
			any = 1;
		}
	}
	/* spoofed resets: many sources, each below the threshold */
	uint64_t kc_rst = in->kc && a->have_kc ? in->kc->rst_in - a->kc_prev.rst_in : a->rst_iv;
	double rate = (double)kc_rst / in->dt;
	if (!any && rate >= c->rst_pps) {
		int created;
		struct alert *al =
		    alert_raise(a, AK_RST_BURST, 0, NULL, NULL, 0, NULL, a->now - in->dt, &created);
		al->r.proto = IPPROTO_TCP;
		al->r.last_seen = a->now;
		al->r.count += kc_rst;
		double n = hll_count(&a->rst_src);
		if (n >= al->r.n_sources)
			set_sources(al, n, NULL);
		snprintf(al->r.detail, sizeof(al->r.detail),
			 "%.0f resets/s received from %s, none above %.0f/s alone", rate,
			 al->r.source, c->rst_pps);
	}
	/* the local addresses and ports the counted resets were about, and whence they came */
	struct addr_key last_src;
	struct alert *al = NULL;
	memset(&last_src, 0xff, sizeof(last_src));
	for (size_t i = 0; i < a->rst_tab.cap; i++) {
		if (!sectab_used(&a->rst_tab, i))
			continue;
		const struct rst_key *rk = sectab_key(&a->rst_tab, i);
		if (memcmp(&rk->src, &last_src, sizeof(last_src))) {
			last_src = rk->src;
			al = rst_alert_of(a, rk, in->dt);
		}
		if (!al)
			continue;
		alert_target(al, rk->src.family, rk->local, rk->lport);
		al->rport = al->rport == -1 || al->rport == rk->rport ? rk->rport : -2;
	}
	for (size_t i = 0; i < a->n_alerts; i++) {
		struct alert *r = &a->alerts[i];
		if (r->r.kind != AK_RST_BURST || r->r.last_seen != a->now || !r->n_tgt)
			continue;
		alert_targets_show(r);
		size_t l = strlen(r->r.detail);
		if (r->rport >= 0)
			snprintf(r->r.detail + l, sizeof(r->r.detail) - l, "; from port %d",
				 r->rport);
	}
	for (size_t i = 0; i < a->sources.cap; i++)
		if (sectab_used(&a->sources, i))
			((struct source *)sectab_val(&a->sources, i))->rst_iv = 0;
out:
	memset(&a->rst_src, 0, sizeof(a->rst_src));
	sectab_clear(&a->rst_tab);
	a->rst_iv = 0;
}

/*
 * Drops that are not bursts of trouble: what the firewall itself dropped
 * (on veth and in generic XDP each is an skb freed with reason
 * NOT_SPECIFIED or XDP), and segments to closed ports that this host
 * answered with a reset or an ICMP unreachable (NO_SOCKET: a refused
 * connection, which a scan's alert already counts). Returns what is left.
 */
static uint64_t drop_credit(const char *reason, uint64_t delta, uint64_t *fw, uint64_t *refused)
{
	uint64_t *credit = !strcmp(reason, "XDP") || !strcmp(reason, "NOT_SPECIFIED") ? fw
			   : !strcmp(reason, "NO_SOCKET")			      ? refused
										      : NULL;
	if (!credit)
		return delta;
	uint64_t c = *credit < delta ? *credit : delta;
	*credit -= c;
	return delta - c;
}

/*
 * Each flow's drops since the last reading (out[i] for in->drop_flows[i]); a
 * flow first seen after the first reading counts from zero, as reasons do.
 * Flows the drops model no longer lists are forgotten.
 */
static void drop_flow_deltas(struct alerts *a, const struct alert_input *in, uint64_t *out)
{
	for (size_t i = 0; i < in->n_drop_flows; i++) {
		const struct alert_drop_flow *f = &in->drop_flows[i];
		struct dflow_key k;
		memset(&k, 0, sizeof(k));
		snprintf(k.reason, sizeof(k.reason), "%.*s", (int)sizeof(f->reason) - 1, f->reason);
		k.key = f->key;
		int created;
		struct dflow_prev *p = sectab_put(&a->dflows, &k, &created);
		out[i] = 0;
		if (!p)
			continue;
		if (created)
			out[i] = a->updates ? f->count : 0;
		else
			out[i] = f->count >= p->count ? f->count - p->count : f->count;
		p->count = f->count;
		p->update = a->updates;
	}
	for (size_t i = 0; i < a->dflows.cap;) {
		if (!sectab_used(&a->dflows, i) ||
		    ((struct dflow_prev *)sectab_val(&a->dflows, i))->update == a->updates) {
			i++;
			continue;
		}
		struct dflow_key k = *(struct dflow_key *)sectab_key(&a->dflows, i);
		sectab_del(&a->dflows, &k); /* the shift may move another entry into slot i */
	}
}

static void drop_target(struct alert *al, const struct flow_key *k)
{
	int ported = k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP;
	alert_target(al, k->family, k->local, ported ? k->local_port : -1);
}

static void eval_drops(struct alerts *a, const struct alert_input *in)
{
	const struct alert_cfg *c = &a->cfg;
	uint64_t *fdelta = calloc(in->n_drop_flows ? in->n_drop_flows : 1, sizeof(*fdelta));
	if (!fdelta)
		return;
	drop_flow_deltas(a, in, fdelta);
	double alpha = in->dt > 0 ? 1 - exp(-in->dt / 300.0) : 0;
	uint64_t credit =
	    in->fw_dropped >= a->fw_dropped_prev ? in->fw_dropped - a->fw_dropped_prev : 0;
	a->fw_dropped_prev = in->fw_dropped;
	uint64_t refused = 0;
	if (in->kc && a->have_kc)
		refused = in->kc->rst_out - a->kc_prev.rst_out + in->kc->unreach_out -
			  a->kc_prev.unreach_out;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < in->n_drops; i++) {
			const struct alert_drop *d = &in->drops[i];
			/* XDP first: it is certainly the firewall's */
			if ((pass == 0) != !strcmp(d->reason, "XDP"))
				continue;
			struct drop_state *st = NULL;
			for (size_t j = 0; j < a->n_drops; j++)
				if (!strncmp(a->drops[j].reason, d->reason, sizeof(d->reason)))
					st = &a->drops[j];
			if (!st) {
				if (a->n_drops == PL_DROP_STATES)
					continue;
				st = &a->drops[a->n_drops++];
				memset(st, 0, sizeof(*st));
				snprintf(st->reason, sizeof(st->reason), "%.*s",
					 (int)sizeof(d->reason) - 1, d->reason);
				st->first = a->now;
				/* counts from before the first reading have no interval to judge
				 * them by; a reason new since then counts from zero, and had
				 * none in each interval before: its baseline is 0 over those.
				 * (Learnt from its first interval alone, a burst that began
				 * late in one, 45 drops, 90/s, under the threshold, was its
				 * own baseline: 400/s after it was no tenfold rise, and an
				 * e2e burst of 600 NETFILTER_DROP drops raised nothing.) */
				st->prev = a->updates ? 0 : d->count;
				st->samples = a->updates;
			}
			uint64_t delta = d->count >= st->prev ? d->count - st->prev : d->count;
			st->prev = d->count;
			delta = drop_credit(st->reason, delta, &credit, &refused);
			if (in->dt <= 0)
				continue;
			double rate = (double)delta / in->dt;
			if (rate < c->drop_pps || rate < c->spike_factor * st->ewma) {
				st->ewma = baseline_step(st->ewma, st->samples++, rate, alpha);
				continue;
			}
			int created;
			struct alert *al = alert_raise(a, AK_DROP_BURST, 0, NULL, NULL, 0,
						       st->reason, a->now - in->dt, &created);
			al->r.last_seen = a->now;
			al->r.count += delta;
			char base[64];
			if (st->ewma >= 0.05)
				snprintf(base, sizeof(base), "%.0fx its baseline of %.1f/s",
					 rate / st->ewma, st->ewma);
			else
				snprintf(base, sizeof(base), "none before");
			if (d->has_flow)
				al->r.proto = d->flow.proto;
			/* what they were about: the flows whose drops of this reason grew */
			for (size_t j = 0; j < in->n_drop_flows; j++)
				if (fdelta[j] && !strncmp(in->drop_flows[j].reason, st->reason,
							  sizeof(st->reason)))
					drop_target(al, &in->drop_flows[j].key);
			if (!in->drop_flows && d->has_flow)
				drop_target(al, &d->flow);
			alert_targets_show(al);
			snprintf(al->r.detail, sizeof(al->r.detail),
				 "%.0f drops/s with reason %s, %s%s%.*s", rate, st->reason, base,
				 d->has_flow ? "; the most on " : "", d->has_flow ? 120 : 0,
				 d->flow_text);
		}
	}
	free(fdelta);
}

void alerts_update(struct alerts *a, const struct alert_input *in)
{
	a->now = in->now;
	if (in->ns && in->ns->have) {
		if (a->ns_prev.have) {
#define ND(f) a->ns_delta.f = in->ns->f >= a->ns_prev.f ? in->ns->f - a->ns_prev.f : 0
			ND(syncookies_sent);
			ND(syncookies_recv);
			ND(syncookies_failed);
			ND(listen_overflows);
			ND(listen_drops);
			ND(syn_retrans);
			ND(reqq_full_drop);
			ND(passive_opens);
#undef ND
		}
		a->ns_prev = *in->ns;
	}
	if (!a->cfg.off) {
		eval_ports(a, in);
		mark_answered(a, in);
		for (size_t i = 0; i < a->sources.cap; i++) {
			if (!sectab_used(&a->sources, i))
				continue;
			struct source *s = sectab_val(&a->sources, i);
			if (s->dirty)
				eval_source(a, sectab_key(&a->sources, i), s);
		}
		eval_rates(a, in);
		eval_resets(a, in);
		eval_drops(a, in);
	}
	if (in->kc) {
		a->kc_prev = *in->kc;
		a->have_kc = 1;
	}
	sectab_clear(&a->port_iv);
	a->updates++;
	for (size_t i = 0; i < a->n_alerts; i++) {
		struct alert *al = &a->alerts[i];
		al->r.active = a->now - al->r.last_seen <= a->cfg.quiet;
	}
	/* now and then: sources with nothing left in any window go */
	double keep =
	    a->cfg.slow_window > a->cfg.scan_window ? a->cfg.slow_window : a->cfg.scan_window;
	if (a->now - a->last_sweep >= 10) {
		a->last_sweep = a->now;
		for (size_t i = 0; i < a->sources.cap;) {
			if (!sectab_used(&a->sources, i)) {
				i++;
				continue;
			}
			struct source *s = sectab_val(&a->sources, i);
			if (a->now - s->last <= keep) {
				i++;
				continue;
			}
			struct addr_key k = *(struct addr_key *)sectab_key(&a->sources, i);
			source_free(a, s);
			sectab_del(&a->sources, &k);
		}
	}
}

size_t alerts_flood_ports(const struct alerts *a, struct sec_port_key *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < a->n_alerts && n < max; i++) {
		const struct alert *al = &a->alerts[i];
		if (al->r.kind != AK_SYN_FLOOD || !al->r.active || !al->r.has_dst)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(out[n].local, al->r.dst, 16);
		out[n].port = al->r.port;
		out[n].family = al->r.family;
		out[n].proto = IPPROTO_TCP;
		n++;
	}
	return n;
}

void alerts_set_half_open(struct alerts *a, const struct sec_port_key *k, uint32_t n)
{
	for (size_t i = 0; i < a->n_alerts; i++) {
		struct alert *al = &a->alerts[i];
		if (al->r.kind != AK_SYN_FLOOD || !al->r.active || al->r.port != k->port ||
		    al->r.family != k->family || memcmp(al->r.dst, k->local, 16))
			continue;
		al->half_open = n;
		syn_detail(al);
	}
}

static int cmp_newest(const void *x, const void *y)
{
	const struct alert_row *a = x, *b = y;
	if (a->first_seen != b->first_seen)
		return a->first_seen < b->first_seen ? 1 : -1;
	return a->id < b->id ? 1 : -1;
}

size_t alerts_rows(const struct alerts *a, struct alert_row *out, size_t max)
{
	size_t n = a->n_alerts < max ? a->n_alerts : max;
	struct alert_row *all = malloc((a->n_alerts ? a->n_alerts : 1) * sizeof(*all));
	if (!all)
		return 0;
	for (size_t i = 0; i < a->n_alerts; i++)
		all[i] = a->alerts[i].r;
	qsort(all, a->n_alerts, sizeof(*all), cmp_newest);
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

uint64_t alerts_raised(const struct alerts *a)
{
	return a->raised;
}

uint64_t alerts_raised_kind(const struct alerts *a, int kind)
{
	return kind >= 0 && kind < AK_MAX ? a->raised_kind[kind] : 0;
}

uint32_t alerts_active(const struct alerts *a)
{
	uint32_t n = 0;
	for (size_t i = 0; i < a->n_alerts; i++)
		n += a->alerts[i].r.active;
	return n;
}

/* "Prefix: name name ...\nPrefix: v v ...": the value under name, or 0. */
static int nstat_field(const char *text, const char *prefix, const char *name, uint64_t *out)
{
	size_t pl = strlen(prefix), nl = strlen(name);
	for (const char *line = text; line && *line;) {
		const char *next = strchr(line, '\n');
		if (!strncmp(line, prefix, pl) && line[pl] == ':' && next &&
		    !strncmp(next + 1, prefix, pl)) {
			/* names on this line, values on the next */
			int idx = -1, col = 0;
			const char *p = line + pl + 1;
			while (p < next) {
				while (p < next && *p == ' ')
					p++;
				const char *e = p;
				while (e < next && *e != ' ')
					e++;
				if (e > p) {
					if ((size_t)(e - p) == nl && !strncmp(p, name, nl))
						idx = col;
					col++;
				}
				p = e;
			}
			if (idx < 0)
				return -1;
			const char *v = next + 1 + pl + 1;
			for (col = 0; *v && *v != '\n'; col++) {
				while (*v == ' ')
					v++;
				char *e;
				unsigned long long x = strtoull(v, &e, 10);
				if (e == v)
					return -1;
				if (col == idx) {
					*out = x;
					return 0;
				}
				v = e;
			}
			return -1;
		}
		line = next ? next + 1 : NULL;
	}
	return -1;
}

void alerts_netstat_parse(struct alert_netstat *ns, const char *netstat, const char *snmp)
{
	memset(ns, 0, sizeof(*ns));
	int ok = 0;
	if (netstat) {
		ok |= !nstat_field(netstat, "TcpExt", "SyncookiesSent", &ns->syncookies_sent);
		nstat_field(netstat, "TcpExt", "SyncookiesRecv", &ns->syncookies_recv);
		nstat_field(netstat, "TcpExt", "SyncookiesFailed", &ns->syncookies_failed);
		nstat_field(netstat, "TcpExt", "ListenOverflows", &ns->listen_overflows);
		nstat_field(netstat, "TcpExt", "ListenDrops", &ns->listen_drops);
		nstat_field(netstat, "TcpExt", "TCPSynRetrans", &ns->syn_retrans);
		nstat_field(netstat, "TcpExt", "TCPReqQFullDrop", &ns->reqq_full_drop);
	}
	if (snmp)
		nstat_field(snmp, "Tcp", "PassiveOpens", &ns->passive_opens);
	ns->have = ok;
}

uint32_t alerts_half_open_parse(const char *text, uint16_t port)
{
	uint32_t n = 0;
	for (const char *line = text; line && *line;) {
		const char *next = strchr(line, '\n');
		unsigned lport, st;
		/* "  0: 0100007F:0050 0200007F:9C40 03 ..." (IPv6: 32 hex digits) */
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &lport, &st) == 2 &&
		    lport == port && st == 0x03)
			n++;
		line = next ? next + 1 : NULL;
	}
	return n;
}
