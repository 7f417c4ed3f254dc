/* Unit tests of the firewall's rules in user space: CIDR and rate parsing, coverage, the SSH peer, slots, the kernel's values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "core/firewall.h"

static struct fw_spec parsed(int action, const char *arg)
{
	struct fw_spec s;
	char err[256] = "";
	if (fw_parse_arg(action, arg, &s, err, sizeof(err)))
		fail_msg("'%s' refused: %s", arg, err);
	return s;
}

static void refused(int action, const char *arg, const char *why)
{
	struct fw_spec s;
	char err[256] = "";
	if (!fw_parse_arg(action, arg, &s, err, sizeof(err)))
		fail_msg("'%s' accepted", arg);
	if (!strstr(err, why))
		fail_msg("'%s': error '%s' does not say '%s'", arg, err, why);
}

static void test_cidr(void **state)
{
	char out[128];
	struct fw_spec s = parsed(PL_FW_DENY, "10.1.2.3/8");
	assert_int_equal(s.family, PL_AF_INET);
	assert_int_equal(s.plen, 8);
	fw_rule_str(&s, out, sizeof(out));
	/* host bits cleared, as ip route and iptables do */
	assert_string_equal(out, "deny 10.0.0.0/8");
	s = parsed(PL_FW_DENY, "192.0.2.77");
	fw_rule_str(&s, out, sizeof(out));
	assert_string_equal(out, "deny 192.0.2.77/32");
	s = parsed(PL_FW_DENY, "fd00:1:2:3::9/48");
	assert_int_equal(s.family, PL_AF_INET6);
	fw_rule_str(&s, out, sizeof(out));
	assert_string_equal(out, "deny fd00:1:2::/48");
	s = parsed(PL_FW_DENY, "fd00::1");
	fw_rule_str(&s, out, sizeof(out));
	assert_string_equal(out, "deny fd00::1/128");
	s = parsed(PL_FW_DENY, "10.0.0.129/25");
	fw_prefix_str(&s, out, sizeof(out));
	assert_string_equal(out, "10.0.0.128/25");
	s = parsed(PL_FW_DENY, "0.0.0.0/0");
	fw_prefix_str(&s, out, sizeof(out));
	assert_string_equal(out, "0.0.0.0/0");

	refused(PL_FW_DENY, "10.0.0.0/33", "prefix length must be 0 to 32");
	refused(PL_FW_DENY, "fd00::/129", "0 to 128");
	refused(PL_FW_DENY, "10.0.0.0/", "prefix length");
	refused(PL_FW_DENY, "10.0.0.0/-1", "prefix length");
	refused(PL_FW_DENY, "10.0.0.0/8x", "prefix length");
	refused(PL_FW_DENY, "10.0.0", "not an IPv4 or IPv6 address");
	refused(PL_FW_DENY, "example.com", "not an IPv4 or IPv6 address");
	refused(PL_FW_DENY, "", "not an address");
	refused(PL_FW_DENY, "/8", "not an address");
}

static void test_limit(void **state)
{
	char out[128];
	struct fw_spec s = parsed(PL_FW_LIMIT, "10.0.0.0/24:100");
	assert_int_equal(s.action, PL_FW_LIMIT);
	assert_int_equal(s.pps, 100);
	fw_rule_str(&s, out, sizeof(out));
	assert_string_equal(out, "limit 10.0.0.0/24 100/s");
	s = parsed(PL_FW_LIMIT, "10.0.0.7:5");
	fw_rule_str(&s, out, sizeof(out));
	assert_string_equal(out, "limit 10.0.0.7/32 5/s");
	s = parsed(PL_FW_LIMIT, "fd00::/64:2000");
	fw_rule_str(&s, out, sizeof(out));
	assert_string_equal(out, "limit fd00::/64 2000/s");
	s = parsed(PL_FW_LIMIT, "[fd00::2]:10");
	fw_rule_str(&s, out, sizeof(out));
	assert_string_equal(out, "limit fd00::2/128 10/s");
	s = parsed(PL_FW_LIMIT, "10.0.0.0/8:7/s");
	assert_int_equal(s.pps, 7);

	/* fd00::1:100 could be an address: the rate must not be guessed */
	refused(PL_FW_LIMIT, "fd00::1:100", "not CIDR:PPS");
	refused(PL_FW_LIMIT, "10.0.0.0/8", "not CIDR:PPS");
	refused(PL_FW_LIMIT, "10.0.0.0/8:0", "packets a second");
	refused(PL_FW_LIMIT, "10.0.0.0/8:-5", "packets a second");
	refused(PL_FW_LIMIT, "10.0.0.0/8:1e3", "packets a second");
	refused(PL_FW_LIMIT, "10.0.0.0/8:200000000", "packets a second");
	refused(PL_FW_LIMIT, "[fd00::2]10", "[IPV6]:PPS");
}

static void test_rule_text(void **state)
{
	struct fw_spec s;
	char err[256], out[128];
	assert_int_equal(fw_parse_rule("deny 10.0.0.2/32", &s, err, sizeof(err)), 0);
	assert_int_equal(s.action, PL_FW_DENY);
	assert_int_equal(fw_parse_rule("  limit   fd00::/64:50 ", &s, err, sizeof(err)), 0);
	fw_rule_str(&s, out, sizeof(out));
	assert_string_equal(out, "limit fd00::/64 50/s");
	assert_int_not_equal(fw_parse_rule("drop 10.0.0.2", &s, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "'deny CIDR' or 'limit CIDR:PPS'"));
	assert_int_not_equal(fw_parse_rule("deny 10.0.0.2 extra", &s, err, sizeof(err)), 0);
	assert_int_not_equal(fw_parse_rule("deny", &s, err, sizeof(err)), 0);
	assert_int_not_equal(fw_parse_rule("deny10.0.0.2", &s, err, sizeof(err)), 0);
}

static void test_covers(void **state)
{
	uint8_t a[16] = { 0 };
	struct fw_spec s = parsed(PL_FW_DENY, "10.0.0.0/30");
	inet_pton(AF_INET, "10.0.0.3", a);
	assert_true(fw_covers(&s, PL_AF_INET, a));
	inet_pton(AF_INET, "10.0.0.4", a);
	assert_false(fw_covers(&s, PL_AF_INET, a));
	/* an IPv6 address whose first bytes look like 10.0.0.0 is not covered */
	uint8_t b[16] = { 10, 0, 0, 1 };
	assert_false(fw_covers(&s, PL_AF_INET6, b));
	s = parsed(PL_FW_DENY, "fd00:0:0:ff00::/56");
	inet_pton(AF_INET6, "fd00:0:0:ffab::1", b);
	assert_true(fw_covers(&s, PL_AF_INET6, b));
	inet_pton(AF_INET6, "fd00:0:0:fe00::1", b);
	assert_false(fw_covers(&s, PL_AF_INET6, b));
	s = parsed(PL_FW_DENY, "0.0.0.0/0");
	inet_pton(AF_INET, "203.0.113.9", a);
	assert_true(fw_covers(&s, PL_AF_INET, a));
}

static void test_ssh(void **state)
{
	uint8_t fam, a[16], want[16] = { 0 };
	assert_int_equal(fw_ssh_parse("192.0.2.10 51234 192.0.2.1 22", &fam, a), 0);
	inet_pton(AF_INET, "192.0.2.10", want);
	assert_int_equal(fam, PL_AF_INET);
	assert_memory_equal(a, want, 16);
	/* an IPv4 client of a dual-stack sshd */
	assert_int_equal(fw_ssh_parse("::ffff:192.0.2.10 51234 ::ffff:192.0.2.1 22", &fam, a), 0);
	assert_int_equal(fam, PL_AF_INET);
	assert_memory_equal(a, want, 16);
	assert_int_equal(fw_ssh_parse("fe80::1%eth0 40000 fe80::2%eth0 22", &fam, a), 0);
	inet_pton(AF_INET6, "fe80::1", want);
	assert_int_equal(fam, PL_AF_INET6);
	assert_memory_equal(a, want, 16);
	assert_int_not_equal(fw_ssh_parse("", &fam, a), 0);
	assert_int_not_equal(fw_ssh_parse("garbage 1 2 3", &fam, a), 0);

	/* this process's own variable wins over its ancestors' */
	setenv("SSH_CONNECTION", "198.51.100.4 1 198.51.100.1 22", 1);
	assert_int_equal(fw_ssh_peer(&fam, a), 0);
	inet_pton(AF_INET, "198.51.100.4", want);
	memset(want + 4, 0, 12);
	assert_memory_equal(a, want, 16);
	unsetenv("SSH_CONNECTION");
}

static void test_table(void **state)
{
	static struct fw_table t;
	int rep;
	fw_table_init(&t);
	struct fw_spec d = parsed(PL_FW_DENY, "10.0.0.0/8");
	struct fw_spec l = parsed(PL_FW_LIMIT, "fd00::/64:1000");
	int i = fw_table_add(&t, &d, 1.0, 0, 1, &rep);
	assert_int_equal(i, 0);
	assert_false(rep);
	int j = fw_table_add(&t, &l, 2.0, 60, 0, &rep);
	assert_int_equal(j, 1);
	assert_int_not_equal(t.rules[0].slot, t.rules[1].slot);
	assert_int_not_equal(t.rules[0].id, t.rules[1].id);
	assert_true(t.rules[1].expires == 62.0);

	/* the same prefix again replaces the rule: same id and slot, new generation */
	uint32_t id = t.rules[0].id, slot = t.rules[0].slot, gen = t.rules[0].gen;
	struct fw_spec d2 = parsed(PL_FW_LIMIT, "10.9.9.9/8:5");
	assert_int_equal(fw_table_add(&t, &d2, 3.0, 0, 0, &rep), 0);
	assert_true(rep);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.rules[0].id, id);
	assert_int_equal(t.rules[0].slot, slot);
	assert_int_not_equal(t.rules[0].gen, gen);
	assert_int_equal(t.rules[0].spec.action, PL_FW_LIMIT);

	/* counters follow the slots; a removed rule's counters stay in the totals */
	static struct fw_stats slots[PL_FW_RULES_MAX];
	slots[t.rules[0].slot] = (struct fw_stats){ 10, 1000, 5, 500 };
	slots[t.rules[1].slot] = (struct fw_stats){ 1, 100, 2, 200 };
	fw_table_counters(&t, slots);
	struct fw_stats sum;
	fw_table_totals(&t, &sum);
	assert_int_equal(sum.dropped_packets, 7);
	assert_int_equal(sum.passed_bytes, 1100);
	assert_int_equal(fw_table_expired(&t, 61.9), -1);
	assert_int_equal(fw_table_expired(&t, 62.0), 1);
	uint32_t freed = t.rules[1].slot;
	fw_table_remove(&t, 1);
	assert_int_equal(t.n, 1);
	fw_table_totals(&t, &sum);
	assert_int_equal(sum.dropped_packets, 7);
	assert_int_equal(fw_table_find(&t, id), 0);
	assert_int_equal(fw_table_find(&t, 9999), -1);
	/* a freed slot is taken again, ids are not */
	int k = fw_table_add(&t, &l, 4.0, 0, 0, &rep);
	assert_int_equal(t.rules[k].slot, freed);
	assert_true(t.rules[k].id > id + 1);

	/* table full */
	static struct fw_table full;
	fw_table_init(&full);
	for (int n = 0; n < PL_FW_RULES_MAX; n++) {
		struct fw_spec s = d;
		s.plen = 32;
		s.addr[2] = (uint8_t)(n >> 8);
		s.addr[3] = (uint8_t)n;
		assert_true(fw_table_add(&full, &s, 0, 0, 0, &rep) >= 0);
	}
	struct fw_spec one = parsed(PL_FW_DENY, "192.0.2.1");
	assert_int_equal(fw_table_add(&full, &one, 0, 0, 0, &rep), -ENOSPC);
}

static void test_kernel_values(void **state)
{
	static struct fw_table t;
	int rep;
	fw_table_init(&t);
	struct fw_spec l = parsed(PL_FW_LIMIT, "10.0.0.0/24:3");
	fw_table_add(&t, &l, 5.0, 10, 0, &rep);
	struct fw_key k;
	struct fw_rule v;
	fw_table_kernel(&t, 0, 1000000000ull, &k, &v);
	assert_int_equal(k.prefixlen, 8 + 24);
	assert_int_equal(k.family, PL_AF_INET);
	assert_int_equal(k.addr[0], 10);
	assert_int_equal(v.action, PL_FW_LIMIT);
	/* 1e9/3 rounded up: never faster than 3 a second; a bucket of 3 */
	assert_int_equal(v.interval_ns, 333333334ull);
	assert_int_equal(v.tolerance_ns, 2 * 333333334ull);
	assert_int_equal(v.expires_ns, 1000000000ull + 15000000000ull);
	struct fw_spec d = parsed(PL_FW_DENY, "fd00::/8");
	fw_table_add(&t, &d, 0, 0, 0, &rep);
	fw_table_kernel(&t, 1, 0, &k, &v);
	assert_int_equal(k.prefixlen, 16);
	assert_int_equal(k.family, PL_AF_INET6);
	assert_int_equal(v.interval_ns, 0);
	assert_int_equal(v.expires_ns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),	      cmocka_unit_test(test_limit),
		cmocka_unit_test(test_rule_text),     cmocka_unit_test(test_covers),
		cmocka_unit_test(test_ssh),	      cmocka_unit_test(test_table),
		cmocka_unit_test(test_kernel_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
