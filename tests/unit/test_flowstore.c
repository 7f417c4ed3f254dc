/* Unit tests for the flow store (rates from counter deltas, eviction restarts, aging) and option parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "app/options.h"
#include "core/flowstore.h"

static struct flow_key key(int n)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.family = PL_AF_INET;
	k.proto = 17;
	k.local[0] = 10;
	k.local[3] = 1;
	k.remote[0] = 10;
	k.remote[3] = 2;
	k.local_port = 53;
	k.remote_port = (uint16_t)(1000 + n);
	k.ifindex = 2;
	return k;
}

static void test_rate_maths(void **state)
{
	assert_true(rate_per_s(100, 300, 2.0) == 100.0);
	assert_true(rate_per_s(300, 100, 2.0) == 0.0); /* counter restarted */
	assert_true(rate_per_s(0, 100, 0.0) == 0.0);   /* no interval yet */
	assert_true(flow_is_idle(1000000000ULL, 4000000000ULL, 3.0));
	assert_false(flow_is_idle(1000000000ULL, 3999999999ULL, 3.0));
	assert_false(flow_is_idle(1, 1000000000000ULL, 0)); /* 0 = never age */
}

static void test_rates_across_updates(void **state)
{
	struct flowstore fs;
	flowstore_init(&fs);
	struct flow_key k[2] = { key(1), key(2) };
	struct flow_val v[2];
	memset(v, 0, sizeof(v));
	v[0].rx_packets = 10;
	v[0].rx_bytes = 1000;
	assert_int_equal(flowstore_update(&fs, k, v, 1, 0), 0);
	const struct fs_entry *e = flowstore_find(&fs, &k[0]);
	assert_non_null(e);
	assert_true(e->rx_pps == 0); /* first reading: no interval */

	/* +30 packets, +3000 bytes in 2 s; a second flow appears with 8 packets */
	v[0].rx_packets = 40;
	v[0].rx_bytes = 4000;
	v[1].tx_packets = 8;
	v[1].tx_bytes = 800;
	assert_int_equal(flowstore_update(&fs, k, v, 2, 2.0), 0);
	e = flowstore_find(&fs, &k[0]);
	assert_non_null(e);
	assert_true(e->rx_pps == 15.0);
	assert_true(e->rx_bps == 12000.0); /* bits */
	assert_int_equal(e->hist_len, 1);
	assert_true(e->rx_hist[PL_HIST_LEN - 1] == 12000.0f);
	/* new since the last reading: all it counted happened within the interval */
	e = flowstore_find(&fs, &k[1]);
	assert_non_null(e);
	assert_true(e->tx_pps == 4.0);

	/* flow 0 evicted and re-created with smaller counters: its rate restarts from 0 */
	v[0].rx_packets = 5;
	v[0].rx_bytes = 500;
	assert_int_equal(flowstore_update(&fs, k, v, 2, 1.0), 0);
	e = flowstore_find(&fs, &k[0]);
	assert_true(e->rx_pps == 5.0);
	assert_int_equal(e->hist_len, 2);

	/* a back-to-back reading keeps the last interval's rates */
	assert_int_equal(flowstore_update(&fs, k, v, 2, 0.001), 0);
	e = flowstore_find(&fs, &k[0]);
	assert_true(e->rx_pps == 5.0);
	assert_int_equal(e->hist_len, 2);

	/* a flow that left the map leaves the store */
	assert_int_equal(flowstore_update(&fs, &k[1], &v[1], 1, 1.0), 0);
	assert_null(flowstore_find(&fs, &k[0]));
	assert_non_null(flowstore_find(&fs, &k[1]));
	flowstore_free(&fs);
}

/* Many flows across table growth and the two-table swap: every key is found, none twice. */
static void test_many_flows(void **state)
{
	struct flowstore fs;
	flowstore_init(&fs);
	enum { N = 5000 };
	static struct flow_key k[N];
	static struct flow_val v[N];
	for (int i = 0; i < N; i++) {
		k[i] = key(i);
		k[i].local_port = (uint16_t)(i / 1000);
		memset(&v[i], 0, sizeof(v[i]));
		v[i].rx_packets = (uint64_t)i;
	}
	for (int round = 1; round <= 4; round++) {
		size_t n = (size_t)N * round / 4;
		assert_int_equal(flowstore_update(&fs, k, v, n, 1.0), 0);
		size_t live = 0;
		for (size_t i = 0; i < fs.cap; i++)
			live += flowstore_live(&fs, &fs.tab[i]);
		assert_int_equal(live, n);
		for (size_t i = 0; i < n; i++) {
			const struct fs_entry *e = flowstore_find(&fs, &k[i]);
			assert_non_null(e);
			assert_int_equal(e->val.rx_packets, i);
		}
	}
	flowstore_free(&fs);
}

static void test_options(void **state)
{
	struct options o;
	char err[256];
	char *ok[] = { "pktlens", "-i",		"eth0",	    "-i",	   "eth1",
		       "--json",  "--interval", "0.5",	    "--duration",  "3",
		       "-n",	  "ns1",	"--probes", "default,xdp", NULL };
	assert_int_equal(options_parse(&o, 14, ok, err, sizeof(err)), 0);
	assert_int_equal(o.eng.n_ifaces, 2);
	assert_string_equal(o.eng.ifaces[1], "eth1");
	assert_true(o.interval_s == 0.5);
	assert_true(o.duration_s == 3);
	assert_int_equal(o.json, 1);
	assert_string_equal(o.eng.netns, "ns1");
	assert_string_equal(o.eng.probes, "default,xdp");
	assert_int_equal(o.eng.flow_entries, 65536);

	char *bad_interval[] = { "pktlens", "--interval", "fast", NULL };
	assert_int_equal(options_parse(&o, 3, bad_interval, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--interval"));
	char *too_small[] = { "pktlens", "--interval", "0.01", NULL };
	assert_int_equal(options_parse(&o, 3, too_small, err, sizeof(err)), -1);
	char *unknown[] = { "pktlens", "--bogus", NULL };
	assert_int_equal(options_parse(&o, 2, unknown, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--bogus"));
	char *missing[] = { "pktlens", "-i", NULL };
	assert_int_equal(options_parse(&o, 2, missing, err, sizeof(err)), -1);
	char *flows[] = { "pktlens", "--flows", "3", NULL };
	assert_int_equal(options_parse(&o, 3, flows, err, sizeof(err)), -1);
	char *stray[] = { "pktlens", "extra", NULL };
	assert_int_equal(options_parse(&o, 2, stray, err, sizeof(err)), -1);
	char *longname[] = { "pktlens", "-i", "an-interface-name-too-long", NULL };
	assert_int_equal(options_parse(&o, 3, longname, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_maths),
		cmocka_unit_test(test_rates_across_updates),
		cmocka_unit_test(test_many_flows),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
