/* Unit tests for tcpdump-syntax flow filters: what a flow can answer is accepted and matches as
 * tcpdump would on the flow's packets, what it cannot is refused with the reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "core/pfilter.h"

static struct flow_key key(const char *local, unsigned lport, const char *remote, unsigned rport,
			   unsigned proto)
{
	struct flow_key k = { .proto = (__u8)proto,
			      .local_port = (__u16)lport,
			      .remote_port = (__u16)rport };
	int v6 = !!strchr(local, ':');

	k.family = v6 ? PL_AF_INET6 : PL_AF_INET;
	inet_pton(v6 ? AF_INET6 : AF_INET, local, k.local);
	inet_pton(v6 ? AF_INET6 : AF_INET, remote, k.remote);
	return k;
}

static int matches(const char *expr, const struct flow_key *k)
{
	char err[256];
	struct pfilter *f = pfilter__new(expr, err, sizeof(err));
	int m;

	if (!f)
		fail_msg("'%s' refused: %s", expr, err);
	m = pfilter_match(f, k);
	pfilter__free(f);
	return m;
}

static void test_accepted_and_matching(void **state)
{
	struct flow_key web = key("10.0.0.1", 80, "10.0.0.2", 40000, 6);
	struct flow_key dns = key("10.0.0.1", 53, "10.0.0.9", 5353, 17);
	struct flow_key ssh6 = key("fd00::1", 22, "fd00::2", 50000, 6);
	struct flow_key ping = key("10.0.0.1", 7, "10.0.0.2", 7, 1);

	assert_true(matches("tcp port 80", &web));
	assert_false(matches("tcp port 80", &dns));
	assert_true(matches("udp and port 53", &dns));
	assert_false(matches("udp and port 53", &web));
	/* either direction: the remote port is a source port on the way in */
	assert_true(matches("src port 40000", &web));
	assert_true(matches("dst port 40000", &web));
	assert_true(matches("host 10.0.0.9", &dns));
	assert_true(matches("net 10.0.0.0/24 and not port 53", &web));
	assert_false(matches("net 192.168.0.0/16", &web));
	assert_true(matches("portrange 39000-41000", &web));
	assert_true(matches("ip6 and tcp port 22", &ssh6));
	assert_false(matches("ip6", &web));
	assert_true(matches("host fd00::2", &ssh6));
	assert_true(matches("icmp", &ping));
	assert_false(matches("icmp", &web));
	assert_true(matches("tcp and (port 80 or port 443)", &web));
	assert_true(matches("ip proto 17", &dns));
	assert_true(matches("not udp", &ssh6));
}

static void test_refused_with_reason(void **state)
{
	static const struct {
		const char *expr, *reads;
	} cases[] = {
		{ "tcp[13] & 2 != 0", "reads byte 13 of the TCP header" },
		{ "tcp[tcpflags] & tcp-syn != 0", "reads byte 13 of the TCP header" },
		/* only some flows reach the flags: every path is checked, not one */
		{ "port 80 and tcp[13] & 2 != 0", "reads byte 13 of the TCP header" },
		{ "port 80 or tcp[13] & 2 != 0", "reads byte 13 of the TCP header" },
		{ "ip[8] == 64", "reads byte 8 of the IPv4 header" },
		{ "len > 100", "reads the packet length" },
		{ "greater 1000", "reads the packet length" },
		{ "ether host 00:11:22:33:44:55", "reads the Ethernet addresses" },
		{ "icmp[icmptype] == icmp-echo", "reads byte 0 of the ICMP header" },
		{ "udp[8] == 1", "reads the payload" },
		{ "ip6[7] == 64", "reads byte 7 of the IPv6 header" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pfilter *f = pfilter__new(cases[i].expr, err, sizeof(err));

		if (f)
			fail_msg("'%s' accepted", cases[i].expr);
		if (!strstr(err, cases[i].reads) || !strstr(err, "which a flow does not keep"))
			fail_msg("'%s': %s", cases[i].expr, err);
	}
	/* syntax errors say libpcap's reason */
	assert_null(pfilter__new("tcp prot 80", err, sizeof(err)));
	assert_non_null(strstr(err, "bad filter 'tcp prot 80': "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_and_matching),
		cmocka_unit_test(test_refused_with_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
