/* The firewall's rules in user space: parsing, prefixes, expiry, counter slots, the SSH peer; no kernel. */
#ifndef PKTLENS_FIREWALL_H
#define PKTLENS_FIREWALL_H

#include <stddef.h>
#include <stdint.h>

#include "shared/security.h"

/* One rule as the operator wrote it, normalised: host bits of the prefix cleared. */
struct fw_spec {
	uint8_t action; /* PL_FW_DENY or PL_FW_LIMIT */
	uint8_t family; /* PL_AF_INET or PL_AF_INET6 */
	uint8_t plen;	/* prefix length */
	uint8_t pad;
	uint8_t addr[16];
	uint32_t pps; /* PL_FW_LIMIT: packets a second per source address */
};

#define PL_FW_PPS_MAX 100000000u

/* "10.0.0.0/8", "10.1.2.3" (a /32), "fd00::/64", "fd00::1" (a /128). 0, or -EINVAL with a sentence. */
int fw_parse_cidr(const char *s, uint8_t *family, uint8_t addr[16], uint8_t *plen, char *err,
		  size_t errlen);
/*
 * The value of --deny (CIDR) or --limit (CIDR:PPS, where an IPv6 address
 * without a prefix length goes in brackets: "[fd00::1]:100").
 */
int fw_parse_arg(int action, const char *arg, struct fw_spec *out, char *err, size_t errlen);
/* "deny CIDR" or "limit CIDR:PPS", as the TUI's block prompt takes it. */
int fw_parse_rule(const char *text, struct fw_spec *out, char *err, size_t errlen);

void fw_prefix_str(const struct fw_spec *s, char *out, size_t len); /* "10.0.0.0/24" */
/* "deny 10.0.0.0/24", "limit fd00::/64 100/s": the rule's name in JSON and on screen. */
void fw_rule_str(const struct fw_spec *s, char *out, size_t len);
/* Whether the rule's prefix holds the address. */
int fw_covers(const struct fw_spec *s, uint8_t family, const uint8_t addr[16]);

/* The client address of an SSH_CONNECTION value ("client port server port"); 0 or -EINVAL. */
int fw_ssh_parse(const char *value, uint8_t *family, uint8_t addr[16]);
/*
 * The address this session's SSH client connects from: SSH_CONNECTION of
 * this process or of its nearest ancestor that has it (sudo's env_reset
 * removes it from pktlens' own environment). 0 found, -ENOENT none.
 */
int fw_ssh_peer(uint8_t *family, uint8_t addr[16]);

struct fw_entry {
	uint32_t id; /* shown and used to remove the rule; never reused while pktlens runs */
	struct fw_spec spec;
	uint32_t slot; /* index of its counters in the kernel's fw_stats */
	uint32_t gen;
	double added;	/* seconds since pktlens started */
	double expires; /* seconds since start; 0 never */
	int from_cli;	/* --deny / --limit rather than the TUI */
	struct fw_stats c;
	struct fw_stats prev; /* at the refresh before: the rates */
	double pass_pps, drop_pps;
};

struct fw_table {
	struct fw_entry rules[PL_FW_RULES_MAX];
	size_t n;
	uint32_t next_id, next_gen;
	uint8_t slot_used[PL_FW_RULES_MAX];
	struct fw_stats removed; /* counters of rules that are gone: the totals keep them */
};

void fw_table_init(struct fw_table *t);
/*
 * Adds a rule, or replaces the one with the same prefix (its counters go
 * on, its buckets start again); ttl > 0 makes it expire. Returns its index,
 * or -ENOSPC; *replaced says which happened.
 */
int fw_table_add(struct fw_table *t, const struct fw_spec *s, double now, double ttl, int from_cli,
		 int *replaced);
void fw_table_remove(struct fw_table *t, size_t i);
/* Index of the rule with this id, or -1. */
int fw_table_find(const struct fw_table *t, uint32_t id);
/* The first rule whose expiry passed at now, or -1. */
int fw_table_expired(const struct fw_table *t, double now);
/* Sets each rule's counters from the per-slot sums read from the kernel (PL_FW_RULES_MAX). */
void fw_table_counters(struct fw_table *t, const struct fw_stats *slots);
/* Totals over the rules and those removed. */
void fw_table_totals(const struct fw_table *t, struct fw_stats *sum);
/* The kernel's key and value for rule i; start_ns is CLOCK_MONOTONIC at "seconds since start" 0. */
void fw_table_kernel(const struct fw_table *t, size_t i, uint64_t start_ns, struct fw_key *k,
		     struct fw_rule *v);

#endif
