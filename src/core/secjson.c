/* The JSON of the security model: "alerts", "firewall" and "detection" (contract in DESIGN.md). */
#include <netinet/in.h>

#include "core/jsonw.h"
#include "core/security.h"
#include "core/snapshot.h"

static void f_kind(struct jw *w, const char *key, const void *row)
{
	jw_str(w, key, alert_kind_name(((const struct alert_row *)row)->kind));
}

static void f_proto(struct jw *w, const char *key, const void *row)
{
	switch (((const struct alert_row *)row)->proto) {
	case IPPROTO_TCP:
		jw_str(w, key, "tcp");
		return;
	case IPPROTO_UDP:
		jw_str(w, key, "udp");
		return;
	case IPPROTO_ICMP:
		jw_str(w, key, "icmp");
		return;
	case IPPROTO_ICMPV6:
		jw_str(w, key, "icmp6");
		return;
	}
	jw_str(w, key, "");
}

static const struct jf alert_fields[] = {
	JF_FN("kind", f_kind),
	JF_STR(struct alert_row, source, "source"),
	JF_STR(struct alert_row, target, "target"),
	JF_STR(struct alert_row, ports, "ports"),
	JF_U64(struct alert_row, count, "count"),
	JF_F64(struct alert_row, first_seen, "first_seen"),
	JF_F64(struct alert_row, last_seen, "last_seen"),
	JF_STR(struct alert_row, detail, "detail"),
	JF_U32(struct alert_row, id, "id"),
	JF_BOOL(struct alert_row, active, "active"),
	JF_FN("proto", f_proto),
	JF_U32(struct alert_row, n_sources, "sources"),
};

static void f_action(struct jw *w, const char *key, const void *row)
{
	jw_str(w, key, ((const struct fw_row *)row)->action == PL_FW_LIMIT ? "limit" : "deny");
}

/* every packet the rule matched: a deny drops them all */
static void f_packets(struct jw *w, const char *key, const void *row)
{
	const struct fw_row *r = row;
	jw_u64(w, key, r->passed_packets + r->dropped_packets);
}

static void f_bytes(struct jw *w, const char *key, const void *row)
{
	const struct fw_row *r = row;
	jw_u64(w, key, r->passed_bytes + r->dropped_bytes);
}

static void f_origin(struct jw *w, const char *key, const void *row)
{
	jw_str(w, key, ((const struct fw_row *)row)->from_cli ? "command line" : "interactive");
}

static const struct jf rule_fields[] = {
	JF_STR(struct fw_row, rule, "rule"),
	JF_FN("action", f_action),
	JF_FN("packets", f_packets),
	JF_FN("bytes", f_bytes),
	JF_U32(struct fw_row, id, "id"),
	JF_STR(struct fw_row, prefix, "prefix"),
	JF_U32(struct fw_row, pps, "pps"),
	JF_U64(struct fw_row, passed_packets, "passed_packets"),
	JF_U64(struct fw_row, passed_bytes, "passed_bytes"),
	JF_U64(struct fw_row, dropped_packets, "dropped_packets"),
	JF_U64(struct fw_row, dropped_bytes, "dropped_bytes"),
	JF_F64(struct fw_row, pass_pps, "passed_pps"),
	JF_F64(struct fw_row, drop_pps, "dropped_pps"),
	JF_F64(struct fw_row, added, "added"),
	JF_F64(struct fw_row, expires, "expires"),
	JF_FN("origin", f_origin),
};

void security_json(struct jw *w, const struct snapshot *s)
{
	static const struct snapshot_sec none;
	const struct snapshot_sec *ss = s->sec ? s->sec : &none;
	const struct sec_counters *k = &ss->kc;

	jw_rows(w, "alerts", alert_fields, JF_COUNT(alert_fields), ss->alerts, sizeof(*ss->alerts),
		ss->n_alerts);

	jw_obj(w, "firewall");
	jw_rows(w, "rules", rule_fields, JF_COUNT(rule_fields), ss->rules, sizeof(*ss->rules),
		ss->n_rules);
	jw_u64(w, "dropped", ss->fw_dropped_packets);
	jw_u64(w, "dropped_bytes", ss->fw_dropped_bytes);
	jw_u64(w, "passed", ss->fw_passed_packets);
	jw_u64(w, "passed_bytes", ss->fw_passed_bytes);
	jw_str(w, "attached", ss->fw_ifaces);
	jw_str(w, "ssh_peer", ss->ssh_peer);
	jw_bool(w, "persist", ss->persist);
	jw_num(w, "block_ttl", ss->block_ttl);
	jw_obj_end(w);

	jw_obj(w, "detection");
	jw_bool(w, "on", ss->detect_on);
	jw_u64(w, "alerts_raised", ss->alerts_raised);
	jw_u64(w, "alerts_active", ss->alerts_active);
	jw_u64(w, "events", k->events);
	jw_u64(w, "events_lost", k->events_lost);
	jw_u64(w, "syn_in", k->syn_in);
	jw_u64(w, "synack_out", k->synack_out);
	jw_u64(w, "established", k->established);
	jw_u64(w, "rst_in", k->rst_in);
	jw_u64(w, "rst_out", k->rst_out);
	jw_u64(w, "icmp_in", k->icmp_in);
	jw_u64(w, "unreach_out", k->unreach_out);
	jw_u64(w, "first_in", k->first_in);
	jw_u64(w, "dns_answers_unasked", k->dns_answers_unasked);
	jw_u64(w, "ports_full", k->ports_full);
	jw_obj_end(w);
}
