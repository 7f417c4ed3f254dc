/* Alerts and the XDP firewall in the engine: their part of a snapshot, the firewall actions, --flush-rules. */
#ifndef PKTLENS_SECURITY_H
#define PKTLENS_SECURITY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/alerts.h"
#include "core/firewall.h"

/* Where --persist-rules pins the firewall's XDP links (one file per interface). */
#define PL_PIN_DIR "/sys/fs/bpf/pktlens"

struct fw_row {
	uint32_t id;
	char rule[80]; /* "deny 10.0.0.0/8", "limit fd00::/64 100/s" */
	char prefix[64];
	uint8_t action; /* PL_FW_DENY, PL_FW_LIMIT */
	uint8_t family;
	uint8_t plen;
	uint8_t from_cli;
	uint8_t addr[16];
	uint32_t pps;
	uint64_t passed_packets, passed_bytes, dropped_packets, dropped_bytes;
	double pass_pps, drop_pps; /* over the last interval */
	double added;		   /* seconds since start */
	double expires;		   /* seconds since start, 0 never */
};

#define PL_ALERT_KINDS 16 /* room for enum alert_kind: a recording's layout does not follow it */
_Static_assert(AK_MAX <= PL_ALERT_KINDS, "alert kinds");

struct snapshot_sec {
	int detect_on;
	uint64_t alerts_raised;			     /* since start, also those no longer listed */
	uint64_t alerts_raised_kind[PL_ALERT_KINDS]; /* the same by enum alert_kind */
	uint32_t alerts_active;
	struct alert_row *alerts; /* newest first; points into this allocation */
	size_t n_alerts;
	struct fw_row *rules; /* in the order they were added */
	size_t n_rules;
	/* every rule's packets, those removed or expired included */
	uint64_t fw_passed_packets, fw_passed_bytes, fw_dropped_packets, fw_dropped_bytes;
	char fw_ifaces[256]; /* "vethA native,eth0 generic": where the XDP firewall is attached */
	char ssh_peer[48];   /* the SSH client's address that rules may not cover, "" none */
	int persist;	     /* --persist-rules: the rules stay after pktlens exits */
	double block_ttl;    /* rules added now expire after this long (0 never) */
	struct sec_counters kc;
};

struct engine;
struct jw;
struct snapshot;

/*
 * security.c is the model (security_model_ops in models.c): detection
 * events and maps into the alerts, the rules into the kernel, s->sec.
 * secjson.c: its JSON members.
 */
void security_json(struct jw *w, const struct snapshot *s);

/*
 * "deny CIDR" or "limit CIDR:PPS"; a rule covering this session's SSH peer
 * needs force. Attaches the XDP firewall with the first rule. Returns the
 * rule's id, or -errno with one sentence in err (-EACCES: the SSH peer, and only that).
 */
int engine_fw_add(struct engine *e, const char *rule, int force, char *err, size_t errlen);
/* Removes a rule by id; the last one takes the XDP firewall off. */
int engine_fw_remove(struct engine *e, uint32_t id, char *err, size_t errlen);

/*
 * pktlens --flush-rules: removes what --persist-rules left (in the named network namespace, or
 * in every one when netns is NULL), saying what on out; 0 or -errno with one sentence in err.
 */
int security_flush_pinned(FILE *out, const char *netns, char *err, size_t errlen);

#endif
