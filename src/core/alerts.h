/* Alerts: thresholds over the kernel's detection events and counters, the flows' rates and the drops. No kernel, no curses. */
#ifndef PKTLENS_ALERTS_H
#define PKTLENS_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "shared/flow.h"
#include "shared/security.h"

enum alert_kind {
	AK_PORT_SCAN = 0, /* one source, many ports of one local address */
	AK_HOST_SCAN,	  /* one source, one port (or ping) on many local addresses */
	AK_SLOW_SCAN,	  /* one source, many ports refused over a long window */
	AK_SYN_FLOOD,	  /* SYNs to a local port far above completed handshakes */
	AK_ICMP_FLOOD,
	AK_UDP_FLOOD,
	AK_RATE_SPIKE,	    /* a source far above its own moving baseline */
	AK_RST_BURST,	    /* resets received */
	AK_DROP_BURST,	    /* drops of one reason far above their baseline */
	AK_DNS_UNSOLICITED, /* DNS answers to queries this host never sent */
	AK_MAX,
};

/* "port_scan", "syn_flood", ...: the JSON kind. */
const char *alert_kind_name(int kind);

/* Thresholds: --alert NAME=VALUE sets one (alerts_cfg_set), --alert off turns detection off. */
struct alert_cfg {
	int off;
	uint32_t scan_ports;  /* distinct ports (or addresses for host scans) ... */
	double scan_window;   /* ... within this many seconds */
	uint32_t scan_hosts;  /* host scans: distinct local addresses */
	uint32_t slow_ports;  /* slow scans: distinct ports refused ... */
	double slow_window;   /* ... within this many seconds */
	double syn_pps;	      /* SYNs a second to one port, with under 20% completed */
	double icmp_pps;      /* ICMP packets a second to one local address */
	double udp_pps;	      /* UDP packets a second to one local address, mostly unanswered */
	double spike_factor;  /* a source at this many times its baseline ... */
	double spike_pps;     /* ... and at least this many packets a second */
	double spike_warmup;  /* seconds a source must have been seen before it has a baseline */
	double rst_pps;	      /* resets received a second */
	double drop_pps;      /* drops of one reason a second (and spike_factor x its baseline) */
	uint32_t dns_answers; /* unsolicited DNS answers from one source within scan_window */
	double quiet;	      /* an alert ends after this many seconds without evidence */
};

void alerts_cfg_default(struct alert_cfg *c);
/* One --alert value: "off", "scan=20/60", "syn=200", ...; 0, or -EINVAL with a sentence. */
int alerts_cfg_set(struct alert_cfg *c, const char *spec, char *err, size_t errlen);
/* The names and meanings of the thresholds, one line each, for --help. */
void alerts_cfg_help(char *buf, size_t len);

/* One flow's figures, as the flow table had them at this refresh. */
struct alert_flow {
	struct flow_key key;
	double rx_pps, rx_bps, tx_pps;
	uint64_t rx_packets, tx_packets;
};

/* One drop reason, cumulative, with the flow that has the most of them (if known). */
struct alert_drop {
	char reason[40];
	uint64_t count;
	int has_flow;
	struct flow_key flow;
	char flow_text[128]; /* as the drops model prints it */
};

/* One flow's drops of one reason, cumulative: what the drops model has of them. */
struct alert_drop_flow {
	struct flow_key key; /* local is this host's side */
	char reason[40];
	uint64_t count;
};

/* The kernel's own TCP counters of the namespace (nstat), cumulative; have = 0 when unread. */
struct alert_netstat {
	int have;
	uint64_t syncookies_sent, syncookies_recv, syncookies_failed;
	uint64_t listen_overflows, listen_drops, syn_retrans, reqq_full_drop;
	uint64_t passive_opens;
};

struct alert_input {
	double now;			      /* seconds since pktlens started */
	double dt;			      /* since the previous update; 0 the first time */
	const struct sec_port_key *port_keys; /* the kernel's sec_ports, summed over CPUs */
	const struct sec_port_val *port_vals;
	size_t n_ports;
	const struct sec_counters *kc; /* sec_stats summed, or NULL */
	const struct alert_flow *flows;
	size_t n_flows;
	const struct alert_drop *drops;
	size_t n_drops;
	/*
	 * Drops by flow and reason, cumulative: a drop burst names the local
	 * addresses and ports of the flows whose drops of its reason grew. NULL:
	 * not known, the burst names its reason's top flow (alert_drop.flow).
	 */
	const struct alert_drop_flow *drop_flows;
	size_t n_drop_flows;
	const struct alert_netstat *ns;
	/*
	 * Packets the XDP firewall dropped, cumulative: on veth (and in generic
	 * XDP) each is an skb that kfree_skb frees (reason NOT_SPECIFIED or XDP),
	 * which must not read as a burst of drops.
	 */
	uint64_t fw_dropped;
};

#define PL_ALERTS_MAX 256
#define PL_ALERT_SRC_MAX 4096	    /* sources followed for scans at once */
#define PL_ALERT_TARGETS 16384	    /* ports and addresses remembered per source */
#define PL_ALERT_TARGETS_ALL 262144 /* and over all sources */

/* One alert as a snapshot shows it. Sources and targets are printable already. */
struct alert_row {
	uint32_t id;
	uint8_t kind;	/* enum alert_kind */
	uint8_t active; /* evidence within cfg.quiet seconds */
	uint8_t family; /* of src and dst; 0 when neither is an address */
	uint8_t proto;	/* IPPROTO_* when one protocol, else 0 */
	uint8_t src[16];
	uint8_t dst[16];
	uint8_t has_src; /* src is the one source (else many, or none) */
	uint8_t has_dst;
	uint16_t port;	    /* floods: the local port (0: several or none) */
	uint32_t n_sources; /* distinct sources (an estimate for floods) */
	uint64_t count;	    /* probes, SYNs, packets, resets, drops, answers: see detail */
	double first_seen, last_seen; /* seconds since pktlens started */
	char source[64];	      /* "10.0.0.2", "~9800 addresses", "" */
	char target[64];	      /* "10.0.0.1", "" */
	char ports[128];	      /* "1-1024,3306", "80", "" */
	char detail[256];	      /* the evidence, one line */
};

struct alerts;

struct alerts *alerts__new(const struct alert_cfg *cfg);
void alerts__free(struct alerts *a);
const struct alert_cfg *alerts_cfg(const struct alerts *a);

/* A detection event from the kernel, t seconds since pktlens started. */
void alerts_event(struct alerts *a, const struct sec_event *ev, double t);
/* Counts the events the kernel could not send (ring buffer full) since the last update. */
void alerts_update(struct alerts *a, const struct alert_input *in);

/* SYN floods under way: the ports whose half-open connections the caller may count. */
size_t alerts_flood_ports(const struct alerts *a, struct sec_port_key *out, size_t max);
/* The half-open connections counted for a flooded port (ss state syn-recv). */
void alerts_set_half_open(struct alerts *a, const struct sec_port_key *k, uint32_t n);

/* The alerts, newest first (by first_seen); returns how many were copied. */
size_t alerts_rows(const struct alerts *a, struct alert_row *out, size_t max);
uint64_t alerts_raised(const struct alerts *a); /* since start, also those no longer kept */
uint64_t alerts_raised_kind(const struct alerts *a, int kind); /* the same, of one kind */
uint32_t alerts_active(const struct alerts *a);

/* Parses /proc/net/netstat and /proc/net/snmp contents into ns (tests feed strings). */
void alerts_netstat_parse(struct alert_netstat *ns, const char *netstat, const char *snmp);
/* Half-open connections (st 03) on local port in /proc/net/tcp or tcp6 contents. */
uint32_t alerts_half_open_parse(const char *proc_net_tcp, uint16_t port);

#endif
