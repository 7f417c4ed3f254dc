/* --metrics: Prometheus text / OpenMetrics from the engine's snapshots, answered by one thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/flowfmt.h"
#include "core/l7model.h"
#include "core/metrics.h"
#include "core/security.h"
#include "core/snapshot.h"

#ifndef PKTLENS_VERSION
#define PKTLENS_VERSION "dev"
#endif

/* ---- sums by interface and protocol ---------------------------------------------------- */

struct acc_bucket {
	char iface[16];
	uint8_t proto;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
};

/* A flow's last reading, found by its flow store entry (slot and serial name one flow's life). */
struct acc_seen {
	uint32_t slot, serial; /* serial 0: free */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
};

struct metrics_acc {
	struct acc_bucket *b;
	size_t n_b, cap_b;
	struct acc_seen *seen; /* open addressing, a power of two, at most half full */
	size_t seen_cap;
};

struct metrics_acc *metrics_acc__new(void)
{
	return calloc(1, sizeof(struct metrics_acc));
}

void metrics_acc__free(struct metrics_acc *a)
{
	if (!a)
		return;
	free(a->b);
	free(a->seen);
	free(a);
}

static size_t seen_hash(uint32_t slot, uint32_t serial, size_t cap)
{
	uint64_t h = ((uint64_t)slot << 32 | serial) * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 20) & (cap - 1);
}

static const struct acc_seen *seen_find(const struct metrics_acc *a, uint32_t slot, uint32_t serial)
{
	if (!a->seen_cap)
		return NULL;
	for (size_t i = seen_hash(slot, serial, a->seen_cap);; i = (i + 1) & (a->seen_cap - 1)) {
		const struct acc_seen *e = &a->seen[i];
		if (!e->serial)
			return NULL;
		if (e->slot == slot && e->serial == serial)
			return e;
	}
}

static struct acc_bucket *bucket_get(struct metrics_acc *a, const char *iface, uint8_t proto)
{
	for (size_t i = 0; i < a->n_b; i++)
		if (a->b[i].proto == proto && !strncmp(a->b[i].iface, iface, sizeof(a->b[i].iface)))
			return &a->b[i];
	if (a->n_b == a->cap_b) {
		size_t cap = a->cap_b ? 2 * a->cap_b : 16;
		struct acc_bucket *nb = realloc(a->b, cap * sizeof(*nb));
		if (!nb)
			return NULL;
		a->b = nb;
		a->cap_b = cap;
	}
	struct acc_bucket *b = &a->b[a->n_b++];
	memset(b, 0, sizeof(*b));
	snprintf(b->iface, sizeof(b->iface), "%.*s", (int)sizeof(b->iface) - 1, iface);
	b->proto = proto;
	return b;
}

/* What a counter grew by; a smaller value is a new life of the counter, counted from 0. */
static uint64_t growth(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

int metrics_acc_update(struct metrics_acc *a, const struct snapshot *s)
{
	size_t cap = 64;
	while (cap < 2 * s->n_flows + 2)
		cap *= 2;
	struct acc_seen *next = calloc(cap, sizeof(*next));
	if (!next)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_flows; i++) {
		const struct flow_row *r = &s->flows[i];
		if (!r->serial)
			continue;
		const struct acc_seen *old = seen_find(a, r->slot, r->serial);
		struct acc_bucket *b = bucket_get(a, r->iface, r->key.proto);
		if (!b) {
			free(next);
			return -ENOMEM;
		}
		b->rx_packets += growth(r->rx_packets, old ? old->rx_packets : 0);
		b->rx_bytes += growth(r->rx_bytes, old ? old->rx_bytes : 0);
		b->tx_packets += growth(r->tx_packets, old ? old->tx_packets : 0);
		b->tx_bytes += growth(r->tx_bytes, old ? old->tx_bytes : 0);
		size_t j = seen_hash(r->slot, r->serial, cap);
		while (next[j].serial && (next[j].slot != r->slot || next[j].serial != r->serial))
			j = (j + 1) & (cap - 1);
		next[j] = (struct acc_seen){ r->slot,	  r->serial,	 r->rx_packets,
					     r->rx_bytes, r->tx_packets, r->tx_bytes };
	}
	free(a->seen);
	a->seen = next;
	a->seen_cap = cap;
	return 0;
}

/* ---- label values ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f; /* beyond U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

size_t metrics_label_escape(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t o = 0;
	if (!dstlen)
		return 0;
	const unsigned char *p = (const unsigned char *)src;
	for (size_t i = 0; i < n;) {
		char tmp[8];
		size_t tl, adv = 1;
		unsigned char c = p[i];
		size_t ul;
		if (c == '\\' || c == '"') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tl = 2;
		} else if (c == '\n') {
			memcpy(tmp, "\\n", 2);
			tl = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			tl = 1;
		} else if (c >= 0x80 && (ul = utf8_len(p + i, n - i))) {
			memcpy(tmp, p + i, ul);
			tl = adv = ul;
		} else {
			/* the value then holds the four characters \xHH: its backslash is escaped */
			snprintf(tmp, sizeof(tmp), "\\\\x%02x", c);
			tl = 5;
		}
		if (o + tl >= dstlen)
			break;
		memcpy(dst + o, tmp, tl);
		o += tl;
		i += adv;
	}
	dst[o] = '\0';
	return o;
}

/* ---- rendering ----------------------------------------------------------------------------- */

struct out {
	FILE *f;
	enum metrics_format fmt;
};

/* HELP and TYPE of a family; name is the sample name (with _total for counters). */
static void family(struct out *o, const char *name, const char *type, const char *help)
{
	size_t nl = strlen(name);
	int strip = o->fmt == MF_OPENMETRICS && !strcmp(type, "counter") && nl > 6 &&
		    !strcmp(name + nl - 6, "_total");
	int fl = (int)(strip ? nl - 6 : nl);
	fprintf(o->f, "# HELP %.*s %s\n# TYPE %.*s %s\n", fl, name, help, fl, name, type);
}

/* One label pair list: labels is "k1", v1, "k2", v2, ..., NULL. Values are escaped. */
static void sample_labels(FILE *f, const char *name, const char *const *kv)
{
	fputs(name, f);
	if (kv && kv[0]) {
		fputc('{', f);
		for (size_t i = 0; kv[i]; i += 2) {
			char v[1024];
			metrics_label_escape(v, sizeof(v), kv[i + 1], strlen(kv[i + 1]));
			fprintf(f, "%s%s=\"%s\"", i ? "," : "", kv[i], v);
		}
		fputc('}', f);
	}
}

static void sample_u64(struct out *o, const char *name, const char *const *kv, uint64_t v)
{
	sample_labels(o->f, name, kv);
	fprintf(o->f, " %" PRIu64 "\n", v);
}

static void sample_f(struct out *o, const char *name, const char *const *kv, double v)
{
	sample_labels(o->f, name, kv);
	fprintf(o->f, " %.17g\n", v);
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const char *const proto_bucket_names[PL_P_MAX] = { "tcp",   "udp",      "icmp",
							  "icmp6", "other_ip", "non_ip" };
static const char *const malformed_kind_names[PL_M_MAX] = {
	[PL_M_NONE] = "none",
	[PL_M_ETH_TRUNC] = "eth_trunc",
	[PL_M_VLAN_TRUNC] = "vlan_trunc",
	[PL_M_IP4_TRUNC] = "ip4_trunc",
	[PL_M_IP4_IHL] = "ip4_ihl",
	[PL_M_IP4_LEN] = "ip4_len",
	[PL_M_IP6_TRUNC] = "ip6_trunc",
	[PL_M_IP6_EXT] = "ip6_ext",
	[PL_M_TCP_TRUNC] = "tcp_trunc",
	[PL_M_TCP_DOFF] = "tcp_doff",
	[PL_M_UDP_TRUNC] = "udp_trunc",
	[PL_M_ICMP_TRUNC] = "icmp_trunc",
	[PL_M_IP6_VER] = "ip6_ver",
	[PL_M_UDP_LEN] = "udp_len",
};

static void render_flow_sums(struct out *o, const struct metrics_acc *a)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} fams[] = {
		{ "pktlens_rx_packets_total", "Packets received, by interface and protocol.",
		  offsetof(struct acc_bucket, rx_packets) },
		{ "pktlens_rx_bytes_total",
		  "Bytes received (frame length with the Ethernet header), by interface and "
		  "protocol.",
		  offsetof(struct acc_bucket, rx_bytes) },
		{ "pktlens_tx_packets_total", "Packets sent, by interface and protocol.",
		  offsetof(struct acc_bucket, tx_packets) },
		{ "pktlens_tx_bytes_total",
		  "Bytes sent (frame length with the Ethernet header), by interface and protocol.",
		  offsetof(struct acc_bucket, tx_bytes) },
	};
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		family(o, fams[f].name, "counter", fams[f].help);
		for (size_t i = 0; a && i < a->n_b; i++) {
			const struct acc_bucket *b = &a->b[i];
			uint64_t v;
			memcpy(&v, (const char *)b + fams[f].off, sizeof(v));
			sample_u64(o, fams[f].name,
				   L("iface", b->iface, "proto", proto_name(b->proto)), v);
		}
	}
}

static void render_totals(struct out *o, const struct snapshot *s)
{
	family(o, "pktlens_ip_packets_total", "counter",
	       "IP packets the packet programs saw, by direction, whether or not the flow table "
	       "held their flows.");
	sample_u64(o, "pktlens_ip_packets_total", L("direction", "rx"), s->tot.rx_packets);
	sample_u64(o, "pktlens_ip_packets_total", L("direction", "tx"), s->tot.tx_packets);
	family(o, "pktlens_ip_bytes_total", "counter",
	       "Bytes of those IP packets (frame length), by direction.");
	sample_u64(o, "pktlens_ip_bytes_total", L("direction", "rx"), s->tot.rx_bytes);
	sample_u64(o, "pktlens_ip_bytes_total", L("direction", "tx"), s->tot.tx_bytes);
	family(o, "pktlens_packets_total", "counter",
	       "Packets the packet programs saw, both directions, by protocol.");
	for (int p = 0; p < PL_P_MAX; p++)
		sample_u64(o, "pktlens_packets_total", L("proto", proto_bucket_names[p]),
			   s->tot.packets[p]);
	family(o, "pktlens_malformed_packets_total", "counter",
	       "Packets whose headers were cut short or inconsistent, by the first bad header.");
	for (int k = 1; k < PL_M_MAX; k++)
		sample_u64(o, "pktlens_malformed_packets_total", L("kind", malformed_kind_names[k]),
			   s->tot.malformed[k]);
	family(o, "pktlens_flows", "gauge", "Flows in the kernel's flow table.");
	sample_u64(o, "pktlens_flows", NULL, s->ftab.present);
	family(o, "pktlens_flow_table_size", "gauge",
	       "Entries of the kernel's flow table (--flows).");
	sample_u64(o, "pktlens_flow_table_size", NULL, s->ftab.size);
	family(o, "pktlens_flows_created_total", "counter", "Flows inserted into the flow table.");
	sample_u64(o, "pktlens_flows_created_total", NULL, s->ftab.created);
	family(o, "pktlens_flows_evicted_total", "counter",
	       "Flows pushed out of the full flow table by newer ones (raise --flows).");
	sample_u64(o, "pktlens_flows_evicted_total", NULL, s->ftab.evicted);
	family(o, "pktlens_flows_aged_out_total", "counter",
	       "Flows removed after --idle seconds without packets.");
	sample_u64(o, "pktlens_flows_aged_out_total", NULL, s->ftab.aged_out);
}

static void render_events_lost(struct out *o, const struct snapshot *s)
{
	family(o, "pktlens_events_lost_total", "counter",
	       "Events a ring buffer had no room for, by ring: what pktlens did not see.");
	sample_u64(o, "pktlens_events_lost_total", L("ring", "packets"), s->tot.events_lost);
	sample_u64(o, "pktlens_events_lost_total", L("ring", "drops"),
		   s->drops ? s->drops->events_lost : 0);
	sample_u64(o, "pktlens_events_lost_total", L("ring", "tcp"),
		   s->tcp ? s->tcp->events_lost : 0);
	sample_u64(o, "pktlens_events_lost_total", L("ring", "l7"), s->l7 ? s->l7->events_lost : 0);
	sample_u64(o, "pktlens_events_lost_total", L("ring", "ssl"), s->l7 ? s->l7->ssl_lost : 0);
	sample_u64(o, "pktlens_events_lost_total", L("ring", "security"),
		   s->sec ? s->sec->kc.events_lost : 0);
}

/*
 * The security model: alerts by kind (every kind, 0 included, so that rate() and alerting rules
 * see a series from the start), the firewall per rule and in all, the detection's counters.
 */
static void render_security(struct out *o, const struct snapshot *s)
{
	static const struct snapshot_sec none;
	const struct snapshot_sec *ss = s->sec ? s->sec : &none;
	const struct sec_counters *k = &ss->kc;
	uint32_t active[AK_MAX] = { 0 };
	for (size_t i = 0; i < ss->n_alerts; i++)
		if (ss->alerts[i].active && ss->alerts[i].kind < AK_MAX)
			active[ss->alerts[i].kind]++;
	family(o, "pktlens_alerts_total", "counter",
	       "Alerts raised, by kind (also those no longer listed).");
	for (int i = 0; i < AK_MAX; i++)
		sample_u64(o, "pktlens_alerts_total", L("kind", alert_kind_name(i)),
			   ss->alerts_raised_kind[i]);
	family(o, "pktlens_alerts_active", "gauge",
	       "Alerts with evidence within their quiet time (--alert quiet=), by kind.");
	for (int i = 0; i < AK_MAX; i++)
		sample_u64(o, "pktlens_alerts_active", L("kind", alert_kind_name(i)), active[i]);
	family(o, "pktlens_detection_enabled", "gauge",
	       "1 while detection runs, 0 when it is off (--alert off).");
	sample_u64(o, "pktlens_detection_enabled", NULL, (uint64_t)ss->detect_on);

	family(o, "pktlens_firewall_rules", "gauge", "Rules of the XDP firewall.");
	sample_u64(o, "pktlens_firewall_rules", NULL, ss->n_rules);
	family(o, "pktlens_firewall_rule_packets_total", "counter",
	       "Packets a firewall rule matched, by rule and verdict (a deny drops them all).");
	for (size_t i = 0; i < ss->n_rules; i++) {
		const struct fw_row *r = &ss->rules[i];
		sample_u64(o, "pktlens_firewall_rule_packets_total",
			   L("rule", r->rule, "verdict", "passed"), r->passed_packets);
		sample_u64(o, "pktlens_firewall_rule_packets_total",
			   L("rule", r->rule, "verdict", "dropped"), r->dropped_packets);
	}
	family(o, "pktlens_firewall_rule_bytes_total", "counter",
	       "Bytes (frame length) of those packets, by rule and verdict.");
	for (size_t i = 0; i < ss->n_rules; i++) {
		const struct fw_row *r = &ss->rules[i];
		sample_u64(o, "pktlens_firewall_rule_bytes_total",
			   L("rule", r->rule, "verdict", "passed"), r->passed_bytes);
		sample_u64(o, "pktlens_firewall_rule_bytes_total",
			   L("rule", r->rule, "verdict", "dropped"), r->dropped_bytes);
	}
	family(o, "pktlens_firewall_packets_total", "counter",
	       "Packets all firewall rules matched, removed and expired rules included, by "
	       "verdict.");
	sample_u64(o, "pktlens_firewall_packets_total", L("verdict", "passed"),
		   ss->fw_passed_packets);
	sample_u64(o, "pktlens_firewall_packets_total", L("verdict", "dropped"),
		   ss->fw_dropped_packets);
	family(o, "pktlens_firewall_bytes_total", "counter",
	       "Bytes (frame length) of those packets, by verdict.");
	sample_u64(o, "pktlens_firewall_bytes_total", L("verdict", "passed"), ss->fw_passed_bytes);
	sample_u64(o, "pktlens_firewall_bytes_total", L("verdict", "dropped"),
		   ss->fw_dropped_bytes);

	family(o, "pktlens_detection_tcp_packets_total", "counter",
	       "TCP packets the detection counts, by direction and kind: SYNs (without ACK) and "
	       "resets received, SYN-ACKs and resets sent.");
	sample_u64(o, "pktlens_detection_tcp_packets_total", L("direction", "rx", "flags", "syn"),
		   k->syn_in);
	sample_u64(o, "pktlens_detection_tcp_packets_total", L("direction", "rx", "flags", "rst"),
		   k->rst_in);
	sample_u64(o, "pktlens_detection_tcp_packets_total",
		   L("direction", "tx", "flags", "synack"), k->synack_out);
	sample_u64(o, "pktlens_detection_tcp_packets_total", L("direction", "tx", "flags", "rst"),
		   k->rst_out);
	family(o, "pktlens_detection_tcp_handshakes_total", "counter",
	       "TCP handshakes completed (the peer's ACK) to local ports that received SYNs.");
	sample_u64(o, "pktlens_detection_tcp_handshakes_total", NULL, k->established);
	family(o, "pktlens_detection_udp_flows_total", "counter",
	       "UDP flows opened from outside (their first datagram received).");
	sample_u64(o, "pktlens_detection_udp_flows_total", NULL, k->first_in);
	family(o, "pktlens_detection_dns_unsolicited_answers_total", "counter",
	       "DNS answers that opened a flow: this host sent no query on that 5-tuple.");
	sample_u64(o, "pktlens_detection_dns_unsolicited_answers_total", NULL,
		   k->dns_answers_unasked);
	family(o, "pktlens_detection_icmp_received_total", "counter",
	       "ICMP and ICMPv6 packets received.");
	sample_u64(o, "pktlens_detection_icmp_received_total", NULL, k->icmp_in);
	family(o, "pktlens_detection_icmp_unreachable_sent_total", "counter",
	       "ICMP and ICMPv6 destination unreachable messages sent.");
	sample_u64(o, "pktlens_detection_icmp_unreachable_sent_total", NULL, k->unreach_out);
	family(o, "pktlens_detection_events_total", "counter",
	       "Detection events the kernel sent to pktlens (those lost: "
	       "pktlens_events_lost_total of ring security).");
	sample_u64(o, "pktlens_detection_events_total", NULL, k->events);
	family(o, "pktlens_detection_port_table_full_total", "counter",
	       "Times the kernel's table of local ports (SYN and UDP flood counts) was full.");
	sample_u64(o, "pktlens_detection_port_table_full_total", NULL, k->ports_full);
}

static void render_drops_tcp(struct out *o, const struct snapshot *s)
{
	family(o, "pktlens_drops_total", "counter",
	       "Packets the kernel dropped (skb:kfree_skb), by the kernel's drop reason.");
	for (size_t i = 0; s->drops && i < s->drops->n_reasons; i++)
		sample_u64(o, "pktlens_drops_total", L("reason", s->drops->reasons[i].reason),
			   s->drops->reasons[i].count);
	family(o, "pktlens_socket_rcvqueue_full_total", "counter",
	       "Packets dropped because a socket's receive queue was full.");
	sample_u64(o, "pktlens_socket_rcvqueue_full_total", NULL,
		   s->drops ? s->drops->rcvqueue_full : 0);
	family(o, "pktlens_tcp_retransmits_total", "counter",
	       "TCP segments this host retransmitted (tcp:tcp_retransmit_skb).");
	sample_u64(o, "pktlens_tcp_retransmits_total", NULL, s->tcp ? s->tcp->retrans_total : 0);
	family(o, "pktlens_tcp_connections_opened_total", "counter",
	       "TCP connections that reached ESTABLISHED.");
	sample_u64(o, "pktlens_tcp_connections_opened_total", NULL,
		   s->tcp ? s->tcp->conns_opened : 0);
}

static void render_l7(struct out *o, const struct snapshot *s)
{
	const struct snapshot_l7 *l = s->l7;
	static const struct snapshot_l7 none;
	if (!l)
		l = &none;
	family(o, "pktlens_http_requests_total", "counter", "HTTP requests seen.");
	sample_u64(o, "pktlens_http_requests_total", NULL, l->http_requests);
	family(o, "pktlens_http_responses_total", "counter",
	       "HTTP responses seen, by status code.");
	for (int st = 0; st < 600; st++) {
		if (!l->by_status[st])
			continue;
		char b[8];
		snprintf(b, sizeof(b), "%d", st);
		sample_u64(o, "pktlens_http_responses_total", L("status", b), l->by_status[st]);
	}
	family(o, "pktlens_http_response_duration_seconds", "histogram",
	       "Time from an HTTP request to the start of its response, as the host saw them.");
	uint64_t acc = 0;
	for (int i = 0; i < PL_HTTP_LAT_BUCKETS; i++) {
		char le[32];
		acc += l->http_lat.buckets[i];
		snprintf(le, sizeof(le), "%g", l7_http_lat_bounds[i]);
		sample_u64(o, "pktlens_http_response_duration_seconds_bucket", L("le", le), acc);
	}
	acc += l->http_lat.buckets[PL_HTTP_LAT_BUCKETS];
	sample_u64(o, "pktlens_http_response_duration_seconds_bucket", L("le", "+Inf"), acc);
	sample_f(o, "pktlens_http_response_duration_seconds_sum", NULL, l->http_lat.sum_s);
	sample_u64(o, "pktlens_http_response_duration_seconds_count", NULL, acc);

	family(o, "pktlens_dns_queries_total", "counter", "DNS queries seen.");
	sample_u64(o, "pktlens_dns_queries_total", NULL, l->dns_queries);
	family(o, "pktlens_dns_responses_total", "counter",
	       "DNS responses seen, by response code.");
	for (unsigned rc = 0; rc < 16; rc++) {
		if (!l->dns_rcodes[rc])
			continue;
		char b[12];
		sample_u64(o, "pktlens_dns_responses_total", L("rcode", dns_rcode_name(rc, b)),
			   l->dns_rcodes[rc]);
	}
	family(o, "pktlens_tls_handshakes_total", "counter",
	       "TLS ClientHellos that the other side answered.");
	sample_u64(o, "pktlens_tls_handshakes_total", NULL, l->tls_handshakes);
}

static void render_probes(struct out *o, const struct snapshot *s)
{
	family(o, "pktlens_probe_attached", "gauge", "1 while the probe is attached, else 0.");
	for (size_t i = 0; i < s->n_probes; i++) {
		const struct probe_info *p = &s->probes[i];
		sample_u64(o, "pktlens_probe_attached",
			   L("probe", p->id, "kind", probe_kind_name(p->kind)),
			   p->state == PS_ATTACHED);
	}
	family(o, "pktlens_probe_runs_total", "counter",
	       "Runs of the probe's BPF program (grow only while BPF statistics are on: "
	       "--bpf-stats).");
	for (size_t i = 0; i < s->n_probes; i++)
		sample_u64(o, "pktlens_probe_runs_total",
			   L("probe", s->probes[i].id, "kind", probe_kind_name(s->probes[i].kind)),
			   s->probes[i].run_cnt);
	family(o, "pktlens_probe_run_seconds_total", "counter",
	       "Time the probe's BPF program ran (while BPF statistics are on).");
	for (size_t i = 0; i < s->n_probes; i++)
		sample_f(o, "pktlens_probe_run_seconds_total",
			 L("probe", s->probes[i].id, "kind", probe_kind_name(s->probes[i].kind)),
			 (double)s->probes[i].run_time_ns / 1e9);
	family(o, "pktlens_probe_hits_total", "counter",
	       "Events the probe counted for this attachment (where it counts them).");
	for (size_t i = 0; i < s->n_probes; i++)
		sample_u64(o, "pktlens_probe_hits_total",
			   L("probe", s->probes[i].id, "kind", probe_kind_name(s->probes[i].kind)),
			   s->probes[i].hits);
}

static int flow_bytes_cmp(const void *x, const void *y)
{
	const struct flow_row *a = *(const struct flow_row *const *)x;
	const struct flow_row *b = *(const struct flow_row *const *)y;
	uint64_t ta = a->rx_bytes + a->tx_bytes, tb = b->rx_bytes + b->tx_bytes;
	if (ta != tb)
		return ta > tb ? -1 : 1;
	return flow_key_cmp(&a->key, &b->key);
}

static void render_top_flows(struct out *o, const struct snapshot *s, unsigned top)
{
	size_t n = s->n_flows < top ? s->n_flows : top;
	const struct flow_row **rows = NULL;
	if (n) {
		rows = malloc(s->n_flows * sizeof(*rows));
		if (!rows)
			n = 0;
		for (size_t i = 0; rows && i < s->n_flows; i++)
			rows[i] = &s->flows[i];
		if (rows)
			qsort(rows, s->n_flows, sizeof(*rows), flow_bytes_cmp);
	}
	static const struct {
		const char *name, *help;
		size_t off;
	} fams[] = {
		{ "pktlens_flow_rx_packets_total",
		  "Packets received by one of the --metrics-flows "
		  "flows with the most bytes.",
		  offsetof(struct flow_row, rx_packets) },
		{ "pktlens_flow_rx_bytes_total", "Bytes received by one of those flows.",
		  offsetof(struct flow_row, rx_bytes) },
		{ "pktlens_flow_tx_packets_total", "Packets sent by one of those flows.",
		  offsetof(struct flow_row, tx_packets) },
		{ "pktlens_flow_tx_bytes_total", "Bytes sent by one of those flows.",
		  offsetof(struct flow_row, tx_bytes) },
	};
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		family(o, fams[f].name, "counter", fams[f].help);
		for (size_t i = 0; i < n; i++) {
			const struct flow_row *r = rows[i];
			char lp[8], rp[8];
			uint64_t v;
			snprintf(lp, sizeof(lp), "%u", r->key.local_port);
			snprintf(rp, sizeof(rp), "%u", r->key.remote_port);
			memcpy(&v, (const char *)r + fams[f].off, sizeof(v));
			sample_u64(o, fams[f].name,
				   L("iface", r->iface, "proto", proto_name(r->key.proto), "local",
				     r->local, "local_port", lp, "remote", r->remote, "remote_port",
				     rp),
				   v);
		}
	}
	free(rows);
}

char *metrics_render(const struct metrics_acc *a, const struct snapshot *s, unsigned top_flows,
		     enum metrics_format fmt, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return NULL;
	struct out o = { f, fmt };
	family(&o, "pktlens_build_info", "gauge", "Always 1; the version of pktlens as a label.");
	sample_u64(&o, "pktlens_build_info", L("version", PKTLENS_VERSION), 1);
	family(&o, "pktlens_uptime_seconds", "gauge", "Seconds since pktlens started.");
	sample_f(&o, "pktlens_uptime_seconds", NULL, s->uptime_s);
	render_flow_sums(&o, a);
	render_totals(&o, s);
	render_drops_tcp(&o, s);
	render_l7(&o, s);
	render_events_lost(&o, s);
	render_security(&o, s);
	render_probes(&o, s);
	if (top_flows)
		render_top_flows(&o, s, top_flows);
	if (fmt == MF_OPENMETRICS)
		fputs("# EOF\n", f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* ---- the server ------------------------------------------------------------------------ */

/* A rendered exposition, shared between the main loop and the server thread. */
struct mtext {
	int refs; /* under metrics.lock */
	char *body[2];
	size_t len[2];
};

struct metrics {
	int fd, stop_fd;
	unsigned top_flows;
	char addr[80];
	struct metrics_acc *acc;
	pthread_mutex_t lock;
	struct mtext *cur;
	pthread_t thread;
	int started;
};

static void mtext_put(struct metrics *m, struct mtext *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&m->lock);
	int last = --t->refs == 0;
	pthread_mutex_unlock(&m->lock);
	if (last) {
		free(t->body[0]);
		free(t->body[1]);
		free(t);
	}
}

int metrics_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err,
		       size_t errlen)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	memset(ss, 0, sizeof(*ss));
	if (!colon || !colon[1]) {
		snprintf(err, errlen, "--metrics '%s': expected ADDR:PORT (e.g. 127.0.0.1:9464)",
			 spec);
		return -1;
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '-' || colon[1] == '+' || port > 65535) {
		snprintf(err, errlen, "--metrics '%s': '%s' is not a port number", spec, colon + 1);
		return -1;
	}
	size_t hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "--metrics '%s': the address is too long", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (!hl || inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		if (!hl)
			v4->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return 0;
	}
	snprintf(err, errlen,
		 "--metrics '%s': '%s' is not a numeric IPv4 or IPv6 address ([::1]:PORT for IPv6)",
		 spec, host);
	return -1;
}

struct metrics *metrics__new(const char *spec, unsigned top_flows, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (metrics_parse_addr(spec, &ss, &sl, err, errlen))
		return NULL;
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->stop_fd = -1;
	m->top_flows = top_flows;
	pthread_mutex_init(&m->lock, NULL);
	m->acc = metrics_acc__new();
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (!m->acc || m->fd < 0 ||
	    setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, (struct sockaddr *)&ss, sl) || listen(m->fd, 16)) {
		snprintf(err, errlen, "--metrics %s: cannot listen there: %s", spec,
			 strerror(errno));
		metrics__free(m);
		return NULL;
	}
	m->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (m->stop_fd < 0) {
		snprintf(err, errlen, "--metrics: eventfd: %s", strerror(errno));
		metrics__free(m);
		return NULL;
	}
	/* the port the kernel chose when asked for 0 */
	char h[INET6_ADDRSTRLEN] = "";
	getsockname(m->fd, (struct sockaddr *)&ss, &sl);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &v6->sin6_addr, h, sizeof(h));
		snprintf(m->addr, sizeof(m->addr), "[%s]:%u", h, ntohs(v6->sin6_port));
	} else {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &v4->sin_addr, h, sizeof(h));
		snprintf(m->addr, sizeof(m->addr), "%s:%u", h, ntohs(v4->sin_port));
	}
	return m;
}

const char *metrics_address(const struct metrics *m)
{
	return m->addr;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void reply(int fd, const char *status, const char *ctype, const char *body, size_t len,
		  int head_only)
{
	char hdr[256];
	int hl = snprintf(hdr, sizeof(hdr),
			  "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n",
			  status, ctype, len);
	if (send_all(fd, hdr, (size_t)hl) == 0 && !head_only && len)
		send_all(fd, body, len);
}

/*
 * One connection, answered and closed. A client gets 3 s in all to send its request head (at
 * most 8 KiB), so a slow or silent one holds the server that long at most.
 */
static void serve_one(struct metrics *m, int c)
{
	char req[8192];
	size_t n = 0;
	double deadline = now_s() + 3;
	struct timeval tv = { 0, 200000 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	tv.tv_sec = 3;
	tv.tv_usec = 0;
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		if (n == sizeof(req) - 1) {
			reply(c, "431 Request Header Fields Too Large", "text/plain", "", 0, 0);
			return;
		}
		ssize_t r = recv(c, req + n, sizeof(req) - 1 - n, 0);
		if (r > 0) {
			n += (size_t)r;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
				break;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			return;
		}
		if (now_s() > deadline)
			return;
	}
	int head = !strncmp(req, "HEAD ", 5);
	if (strncmp(req, "GET ", 4) && !head) {
		reply(c, "405 Method Not Allowed", "text/plain", "GET /metrics\n", 13, 0);
		return;
	}
	const char *path = req + (head ? 5 : 4);
	size_t pl = strcspn(path, " ?\r\n");
	if (!(pl == 8 && !strncmp(path, "/metrics", 8))) {
		static const char msg[] = "pktlens: the metrics are at /metrics\n";
		reply(c, "404 Not Found", "text/plain", msg, sizeof(msg) - 1, head);
		return;
	}
	/* Prometheus asks for OpenMetrics first; promtool and curl get the classic text */
	const char *acc = strcasestr(req, "\naccept:");
	int om = 0;
	if (acc) {
		size_t al = strcspn(acc + 1, "\r\n");
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)al, acc + 1);
		om = strstr(line, "application/openmetrics-text") != NULL;
	}
	pthread_mutex_lock(&m->lock);
	struct mtext *t = m->cur;
	if (t)
		t->refs++;
	pthread_mutex_unlock(&m->lock);
	if (!t) {
		static const char msg[] = "pktlens: no reading yet\n";
		reply(c, "503 Service Unavailable", "text/plain", msg, sizeof(msg) - 1, head);
		return;
	}
	reply(c, "200 OK",
	      om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
		 : "text/plain; version=0.0.4; charset=utf-8",
	      t->body[om], t->len[om], head);
	mtext_put(m, t);
}

static void *serve(void *arg)
{
	struct metrics *m = arg;
	struct pollfd pf[2] = { { m->fd, POLLIN, 0 }, { m->stop_fd, POLLIN, 0 } };
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_one(m, c);
		close(c);
	}
	return NULL;
}

int metrics_start(struct metrics *m, char *err, size_t errlen)
{
	int rc = pthread_create(&m->thread, NULL, serve, m);
	if (rc) {
		snprintf(err, errlen, "--metrics: cannot start its thread: %s", strerror(rc));
		return -rc;
	}
	m->started = 1;
	return 0;
}

void metrics_update(struct metrics *m, const struct snapshot *s)
{
	if (!m || !s)
		return;
	struct mtext *t = calloc(1, sizeof(*t));
	if (!t || metrics_acc_update(m->acc, s)) {
		free(t);
		return;
	}
	t->refs = 1;
	for (int f = 0; f < 2; f++)
		t->body[f] =
		    metrics_render(m->acc, s, m->top_flows, (enum metrics_format)f, &t->len[f]);
	if (!t->body[0] || !t->body[1]) {
		free(t->body[0]);
		free(t->body[1]);
		free(t);
		return;
	}
	pthread_mutex_lock(&m->lock);
	struct mtext *old = m->cur;
	m->cur = t;
	pthread_mutex_unlock(&m->lock);
	mtext_put(m, old);
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	if (m->started) {
		uint64_t one = 1;
		if (write(m->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(m->thread, NULL);
		else
			pthread_cancel(m->thread);
	}
	if (m->fd >= 0)
		close(m->fd);
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	mtext_put(m, m->cur);
	metrics_acc__free(m->acc);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
