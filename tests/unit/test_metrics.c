/* Unit tests for --metrics: label escaping, the per-interface sums, the exposition's shape, addresses, options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "app/options.h"
#include "core/metrics.h"
#include "core/security.h"
#include "core/snapshot.h"

static const char *esc(const char *s, size_t n)
{
	static char out[256];
	metrics_label_escape(out, sizeof(out), s, n);
	return out;
}

static void test_escape(void **state)
{
	assert_string_equal(esc("eth0", 4), "eth0");
	/* the three escapes of the text formats */
	assert_string_equal(esc("a\"b\\c\nd", 7), "a\\\"b\\\\c\\nd");
	/* control bytes, DEL and NUL: the value holds \xHH, so the backslash is escaped */
	assert_string_equal(esc("\x1b[2J\x7f", 5), "\\\\x1b[2J\\\\x7f");
	assert_string_equal(esc("a\0b", 3), "a\\\\x00b");
	/* valid UTF-8 is kept; a lone continuation, an overlong form and a surrogate are not */
	assert_string_equal(esc("caf\xc3\xa9", 5), "caf\xc3\xa9");
	assert_string_equal(esc("\xe2\x82\xac", 3), "\xe2\x82\xac");
	assert_string_equal(esc("\x80", 1), "\\\\x80");
	assert_string_equal(esc("\xc0\xaf", 2), "\\\\xc0\\\\xaf");
	assert_string_equal(esc("\xed\xa0\x80", 3), "\\\\xed\\\\xa0\\\\x80");
	assert_string_equal(esc("\xe2\x82", 2), "\\\\xe2\\\\x82"); /* cut short */
	/* a full buffer never ends in half an escape */
	char small[6];
	size_t n = metrics_label_escape(small, sizeof(small), "ab\x01", 3);
	assert_int_equal(n, 2);
	assert_string_equal(small, "ab");
	n = metrics_label_escape(small, sizeof(small), "abcd\"", 5);
	assert_string_equal(small, "abcd");
}

static struct flow_row row(const char *iface, uint8_t proto, uint32_t slot, uint32_t serial,
			   uint64_t rxp, uint64_t rxb, uint64_t txp, uint64_t txb)
{
	struct flow_row r;
	memset(&r, 0, sizeof(r));
	snprintf(r.iface, sizeof(r.iface), "%s", iface);
	r.key.proto = proto;
	r.slot = slot;
	r.serial = serial;
	r.rx_packets = rxp;
	r.rx_bytes = rxb;
	r.tx_packets = txp;
	r.tx_bytes = txb;
	return r;
}

/* The value of one sample line "NAME{LABELS} V" in text, or -1. */
static double value_of(const char *text, const char *series)
{
	size_t sl = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, sl) && p[sl] == ' ')
			return strtod(p + sl + 1, NULL);
	return -1;
}

static char *render(struct metrics_acc *a, struct snapshot *s, unsigned top, enum metrics_format f)
{
	size_t len;
	char *t = metrics_render(a, s, top, f, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	return t;
}

/*
 * Flows grow, leave the table and come back as a new life (new serial): the sums count every
 * packet once and never go down.
 */
static void test_sums(void **state)
{
	struct metrics_acc *a = metrics_acc__new();
	struct snapshot_l7 l7;
	memset(&l7, 0, sizeof(l7));
	struct snapshot s;
	memset(&s, 0, sizeof(s));
	s.l7 = &l7;
	struct flow_row f[3];
	f[0] = row("veth0", 17, 1, 10, 5, 500, 1, 100);
	f[1] = row("veth0", 17, 2, 11, 3, 300, 0, 0);
	f[2] = row("veth1", 6, 3, 12, 7, 700, 7, 700);
	s.flows = f;
	s.n_flows = 3;
	assert_int_equal(metrics_acc_update(a, &s), 0);
	char *t = render(a, &s, 0, MF_TEXT);
	assert_true(value_of(t, "pktlens_rx_packets_total{iface=\"veth0\",proto=\"udp\"}") == 8);
	assert_true(value_of(t, "pktlens_rx_bytes_total{iface=\"veth0\",proto=\"udp\"}") == 800);
	assert_true(value_of(t, "pktlens_tx_packets_total{iface=\"veth1\",proto=\"tcp\"}") == 7);
	free(t);

	/* flow 1 grows by 2, flow 2 left the table, flow 3 unchanged */
	f[0].rx_packets = 7;
	f[0].rx_bytes = 700;
	f[1] = f[2];
	s.n_flows = 2;
	assert_int_equal(metrics_acc_update(a, &s), 0);
	t = render(a, &s, 0, MF_TEXT);
	assert_true(value_of(t, "pktlens_rx_packets_total{iface=\"veth0\",proto=\"udp\"}") == 10);
	assert_true(value_of(t, "pktlens_rx_packets_total{iface=\"veth1\",proto=\"tcp\"}") == 7);
	free(t);

	/* slot 2 taken by a new flow of the same key (new serial): counted from its start */
	f[1] = row("veth0", 17, 2, 99, 4, 400, 0, 0);
	s.n_flows = 2;
	assert_int_equal(metrics_acc_update(a, &s), 0);
	t = render(a, &s, 0, MF_TEXT);
	assert_true(value_of(t, "pktlens_rx_packets_total{iface=\"veth0\",proto=\"udp\"}") == 14);
	free(t);
	/* the same reading twice adds nothing */
	assert_int_equal(metrics_acc_update(a, &s), 0);
	t = render(a, &s, 0, MF_TEXT);
	assert_true(value_of(t, "pktlens_rx_packets_total{iface=\"veth0\",proto=\"udp\"}") == 14);
	assert_true(value_of(t, "pktlens_rx_bytes_total{iface=\"veth0\",proto=\"udp\"}") == 1400);
	free(t);
	metrics_acc__free(a);
}

/* Every family has HELP then TYPE before its samples; counters' samples end in _total;
 * OpenMetrics names the family without _total and ends with # EOF; hostile names escaped. */
static void test_exposition(void **state)
{
	struct metrics_acc *a = metrics_acc__new();
	struct snapshot_l7 l7;
	memset(&l7, 0, sizeof(l7));
	l7.by_status[200] = 3;
	l7.by_status[404] = 1;
	l7.http_lat.buckets[0] = 2;		      /* <= 0.5 ms */
	l7.http_lat.buckets[PL_HTTP_LAT_BUCKETS] = 1; /* beyond 10 s */
	l7.http_lat.sum_s = 12.5;
	struct snapshot_drops *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	snprintf(d->reasons[0].reason, sizeof(d->reasons[0].reason), "NO_SOCKET");
	d->reasons[0].count = 9;
	d->n_reasons = 1;
	struct probe_info p;
	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "tc-ingress:e\"vil\x1b");
	p.kind = PK_TC_INGRESS;
	p.state = PS_ATTACHED;
	struct snapshot s;
	memset(&s, 0, sizeof(s));
	s.l7 = &l7;
	s.drops = d;
	s.probes = &p;
	s.n_probes = 1;
	struct flow_row f[2];
	f[0] = row("e\"vil\x1b", 6, 1, 1, 1, 10, 1, 10);
	snprintf(f[0].local, sizeof(f[0].local), "10.0.0.1");
	snprintf(f[0].remote, sizeof(f[0].remote), "10.0.0.2");
	f[0].key.local_port = 80;
	f[0].key.remote_port = 40000;
	f[1] = row("veth0", 17, 2, 2, 100, 10000, 0, 0);
	s.flows = f;
	s.n_flows = 2;
	assert_int_equal(metrics_acc_update(a, &s), 0);

	char *t = render(a, &s, 1, MF_TEXT);
	assert_true(value_of(t, "pktlens_drops_total{reason=\"NO_SOCKET\"}") == 9);
	assert_true(value_of(t, "pktlens_http_responses_total{status=\"404\"}") == 1);
	assert_true(value_of(t, "pktlens_http_response_duration_seconds_bucket{le=\"0.0005\"}") ==
		    2);
	assert_true(value_of(t, "pktlens_http_response_duration_seconds_bucket{le=\"10\"}") == 2);
	assert_true(value_of(t, "pktlens_http_response_duration_seconds_bucket{le=\"+Inf\"}") == 3);
	assert_true(value_of(t, "pktlens_http_response_duration_seconds_count") == 3);
	assert_true(value_of(t, "pktlens_http_response_duration_seconds_sum") == 12.5);
	assert_true(
	    value_of(t, "pktlens_rx_packets_total{iface=\"e\\\"vil\\\\x1b\",proto=\"tcp\"}") == 1);
	assert_true(value_of(t, "pktlens_probe_attached{probe=\"tc-ingress:e\\\"vil\\\\x1b\","
				"kind=\"tc-ingress\"}") == 1);
	/* top 1 flow by bytes: the UDP one only */
	assert_true(value_of(t,
			     "pktlens_flow_rx_packets_total{iface=\"veth0\",proto=\"udp\","
			     "local=\"\",local_port=\"0\",remote=\"\",remote_port=\"0\"}") == 100);
	assert_null(strstr(t, "pktlens_flow_rx_packets_total{iface=\"e"));
	assert_null(strchr(t, '\x1b'));

	/* shape: HELP and TYPE for each family, once, before its samples */
	char fam[128] = "";
	const char *type = NULL;
	int n_fam = 0;
	for (char *line = t; *line;) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		char name[128];
		if (sscanf(line, "# HELP %127s", name) == 1) {
			assert_string_not_equal(name, fam);
			snprintf(fam, sizeof(fam), "%s", name);
			type = NULL;
			n_fam++;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			assert_int_equal(strncmp(line + 7, fam, strlen(fam)), 0);
			type = line + 7 + strlen(fam) + 1;
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(fam, "_total"));
		} else {
			assert_non_null(type); /* a sample after its family's TYPE */
			assert_int_equal(
			    strncmp(line, fam, strlen(fam) - (strstr(fam, "_total") ? 6 : 0)), 0);
		}
		line = nl + 1;
	}
	assert_true(n_fam >= 20);
	free(t);

	t = render(a, &s, 0, MF_OPENMETRICS);
	assert_non_null(strstr(t, "# TYPE pktlens_drops counter\n"));
	assert_non_null(strstr(t, "\npktlens_drops_total{reason=\"NO_SOCKET\"} 9\n"));
	assert_non_null(strstr(t, "# TYPE pktlens_http_response_duration_seconds histogram\n"));
	size_t len = strlen(t);
	assert_true(len > 6 && !strcmp(t + len - 6, "# EOF\n"));
	free(t);
	free(d);
	metrics_acc__free(a);
}

/* The security model: alerts by kind, the firewall per rule and in all, the detection's counters. */
static void test_security(void **state)
{
	struct snapshot s;
	memset(&s, 0, sizeof(s));
	/* without the security model (detection off, no firewall): every kind at 0 */
	char *t = render(NULL, &s, 0, MF_TEXT);
	assert_true(value_of(t, "pktlens_alerts_total{kind=\"port_scan\"}") == 0);
	assert_true(value_of(t, "pktlens_alerts_active{kind=\"dns_unsolicited\"}") == 0);
	assert_true(value_of(t, "pktlens_firewall_packets_total{verdict=\"dropped\"}") == 0);
	assert_true(value_of(t, "pktlens_detection_enabled") == 0);
	assert_null(strstr(t, "pktlens_firewall_rule_packets_total{"));
	free(t);

	struct alert_row al[3];
	struct fw_row fw[2];
	struct snapshot_sec sec;
	memset(al, 0, sizeof(al));
	memset(fw, 0, sizeof(fw));
	memset(&sec, 0, sizeof(sec));
	al[0].kind = AK_PORT_SCAN;
	al[0].active = 1;
	al[1].kind = AK_PORT_SCAN;
	al[2].kind = AK_SYN_FLOOD;
	al[2].active = 1;
	sec.alerts = al;
	sec.n_alerts = 3;
	/* raised since start: more than the list keeps */
	sec.alerts_raised_kind[AK_PORT_SCAN] = 7;
	sec.alerts_raised_kind[AK_SYN_FLOOD] = 1;
	sec.alerts_raised = 8;
	sec.detect_on = 1;
	snprintf(fw[0].rule, sizeof(fw[0].rule), "deny 10.0.0.2/32");
	fw[0].dropped_packets = 500;
	fw[0].dropped_bytes = 37000;
	snprintf(fw[1].rule, sizeof(fw[1].rule), "limit fd00::/64 \"100\"/s");
	fw[1].passed_packets = 100;
	fw[1].passed_bytes = 9400;
	fw[1].dropped_packets = 50;
	fw[1].dropped_bytes = 4700;
	sec.rules = fw;
	sec.n_rules = 2;
	sec.fw_dropped_packets = 553; /* a removed rule's 3 */
	sec.fw_dropped_bytes = 41922;
	sec.fw_passed_packets = 100;
	sec.fw_passed_bytes = 9400;
	sec.kc.syn_in = 1001;
	sec.kc.rst_out = 998;
	sec.kc.synack_out = 3;
	sec.kc.rst_in = 4;
	sec.kc.established = 5;
	sec.kc.first_in = 6;
	sec.kc.dns_answers_unasked = 2;
	sec.kc.icmp_in = 8;
	sec.kc.unreach_out = 9;
	sec.kc.events = 2000;
	sec.kc.events_lost = 11;
	sec.kc.ports_full = 12;
	s.sec = &sec;
	t = render(NULL, &s, 0, MF_TEXT);
	assert_true(value_of(t, "pktlens_alerts_total{kind=\"port_scan\"}") == 7);
	assert_true(value_of(t, "pktlens_alerts_total{kind=\"syn_flood\"}") == 1);
	assert_true(value_of(t, "pktlens_alerts_total{kind=\"host_scan\"}") == 0);
	assert_true(value_of(t, "pktlens_alerts_active{kind=\"port_scan\"}") == 1);
	assert_true(value_of(t, "pktlens_alerts_active{kind=\"syn_flood\"}") == 1);
	assert_true(value_of(t, "pktlens_alerts_active{kind=\"udp_flood\"}") == 0);
	assert_true(value_of(t, "pktlens_detection_enabled") == 1);
	assert_true(value_of(t, "pktlens_firewall_rules") == 2);
	assert_true(value_of(t, "pktlens_firewall_rule_packets_total{rule=\"deny 10.0.0.2/32\","
				"verdict=\"dropped\"}") == 500);
	assert_true(value_of(t, "pktlens_firewall_rule_packets_total{rule=\"deny 10.0.0.2/32\","
				"verdict=\"passed\"}") == 0);
	assert_true(value_of(t, "pktlens_firewall_rule_bytes_total{rule=\"deny 10.0.0.2/32\","
				"verdict=\"dropped\"}") == 37000);
	/* label values escaped */
	assert_true(value_of(t, "pktlens_firewall_rule_packets_total{rule=\"limit fd00::/64 "
				"\\\"100\\\"/s\",verdict=\"passed\"}") == 100);
	assert_true(value_of(t, "pktlens_firewall_rule_bytes_total{rule=\"limit fd00::/64 "
				"\\\"100\\\"/s\",verdict=\"dropped\"}") == 4700);
	assert_true(value_of(t, "pktlens_firewall_packets_total{verdict=\"dropped\"}") == 553);
	assert_true(value_of(t, "pktlens_firewall_packets_total{verdict=\"passed\"}") == 100);
	assert_true(value_of(t, "pktlens_firewall_bytes_total{verdict=\"dropped\"}") == 41922);
	assert_true(value_of(t, "pktlens_firewall_bytes_total{verdict=\"passed\"}") == 9400);
	assert_true(value_of(t, "pktlens_detection_tcp_packets_total{direction=\"rx\","
				"flags=\"syn\"}") == 1001);
	assert_true(value_of(t, "pktlens_detection_tcp_packets_total{direction=\"rx\","
				"flags=\"rst\"}") == 4);
	assert_true(value_of(t, "pktlens_detection_tcp_packets_total{direction=\"tx\","
				"flags=\"synack\"}") == 3);
	assert_true(value_of(t, "pktlens_detection_tcp_packets_total{direction=\"tx\","
				"flags=\"rst\"}") == 998);
	assert_true(value_of(t, "pktlens_detection_tcp_handshakes_total") == 5);
	assert_true(value_of(t, "pktlens_detection_udp_flows_total") == 6);
	assert_true(value_of(t, "pktlens_detection_dns_unsolicited_answers_total") == 2);
	assert_true(value_of(t, "pktlens_detection_icmp_received_total") == 8);
	assert_true(value_of(t, "pktlens_detection_icmp_unreachable_sent_total") == 9);
	assert_true(value_of(t, "pktlens_detection_events_total") == 2000);
	assert_true(value_of(t, "pktlens_events_lost_total{ring=\"security\"}") == 11);
	assert_true(value_of(t, "pktlens_detection_port_table_full_total") == 12);
	free(t);
	t = render(NULL, &s, 0, MF_OPENMETRICS);
	assert_non_null(strstr(t, "# TYPE pktlens_alerts counter\n"));
	assert_non_null(strstr(t, "# TYPE pktlens_alerts_active gauge\n"));
	assert_non_null(strstr(t, "\npktlens_alerts_total{kind=\"port_scan\"} 7\n"));
	free(t);
}

static void test_addr(void **state)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[256];
	assert_int_equal(metrics_parse_addr("127.0.0.1:9464", &ss, &sl, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9464);
	assert_int_equal(metrics_parse_addr("[::1]:80", &ss, &sl, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(metrics_parse_addr(":9464", &ss, &sl, err, sizeof(err)), 0);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(metrics_parse_addr("9464", &ss, &sl, err, sizeof(err)), -1);
	assert_int_equal(metrics_parse_addr("1.2.3.4:65536", &ss, &sl, err, sizeof(err)), -1);
	assert_int_equal(metrics_parse_addr("1.2.3.4:-1", &ss, &sl, err, sizeof(err)), -1);
	assert_int_equal(metrics_parse_addr("localhost:80", &ss, &sl, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a numeric"));
	assert_int_equal(metrics_parse_addr("1.2.3.4:", &ss, &sl, err, sizeof(err)), -1);

	struct options o;
	char *argv[] = { "pktlens", "--metrics", "127.0.0.1:9464", "--metrics-flows", "5", NULL };
	assert_int_equal(options_parse(&o, 5, argv, err, sizeof(err)), 0);
	assert_string_equal(o.metrics, "127.0.0.1:9464");
	assert_int_equal(o.metrics_flows, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),	   cmocka_unit_test(test_sums),
		cmocka_unit_test(test_exposition), cmocka_unit_test(test_security),
		cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
