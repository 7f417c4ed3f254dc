/* Unit tests for the flow store (rates, changes only, eviction restarts, aging, bounds), histories, options. */
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

/* Histories keep samples as 16-bit logarithms: within 0.2% of what was written. */
static int near(float got, float want)
{
	return got == want || (want > 0 && got > want * 0.998f && got < want * 1.002f);
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

static struct flow_val val(uint64_t rx_pkts, uint64_t rx_bytes, uint64_t seen_ns)
{
	struct flow_val v;
	memset(&v, 0, sizeof(v));
	v.rx_packets = rx_pkts;
	v.rx_bytes = rx_bytes;
	v.last_seen_ns = seen_ns;
	return v;
}

static int changed(const struct flowstore *fs, const struct fs_entry *e)
{
	for (size_t i = 0; i < fs->n_changed; i++)
		if (fs->changed[i] == flowstore_index(fs, e))
			return 1;
	return 0;
}

/* One reading: the flows given (NULL vals: not read), dt seconds after the last. */
static void reading(struct flowstore *fs, double dt, const struct flow_key *k,
		    const struct flow_val *v, size_t n)
{
	flowstore_begin(fs, dt);
	for (size_t i = 0; i < n; i++)
		assert_non_null(flowstore_put(fs, &k[i], &v[i]));
	flowstore_end(fs);
}

static void test_rates_across_readings(void **state)
{
	struct flowstore fs;
	assert_int_equal(flowstore_init(&fs, 1024), 0);
	struct flow_key k[2] = { key(0), key(1) };
	struct flow_val v[2] = { val(10, 1000, 1), val(5, 500, 1) };

	/* the first reading has no interval: no rates, every flow new */
	reading(&fs, 0, k, v, 2);
	struct fs_entry *a = flowstore_find(&fs, &k[0]), *b = flowstore_find(&fs, &k[1]);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(changed(&fs, a) && changed(&fs, b));
	assert_true(a->rx_pps == 0);

	/* 2 s later: a grew by 20 packets, b did not change (not read: nothing queued) */
	v[0] = val(30, 3000, 2);
	reading(&fs, 2.0, k, v, 1);
	assert_true(a->rx_pps == 10.0);
	assert_true(a->rx_bps == 8 * 1000.0);
	assert_true(changed(&fs, a));
	assert_false(changed(&fs, b));
	float h[60];
	assert_int_equal(hist_read(fs.hist, a->hist, a->hist_serial, fs.gen, 0, h), 1);
	assert_true(near(h[0], 8000.0f));

	/* nothing new for a: its rates drop to 0 and its row changes, once */
	reading(&fs, 1.0, k, v, 0);
	assert_true(a->rx_pps == 0 && a->rx_bps == 0);
	assert_true(changed(&fs, a));
	reading(&fs, 1.0, k, v, 0);
	assert_false(changed(&fs, a));
	/* the history reads the idle readings as 0 without samples written for them */
	assert_int_equal(hist_read(fs.hist, a->hist, a->hist_serial, fs.gen, 0, h), 3);
	assert_true(near(h[0], 8000.0f) && h[1] == 0 && h[2] == 0);

	/* read again with the same value (a whole-table reading): nothing changes */
	reading(&fs, 1.0, k, v, 2);
	assert_false(changed(&fs, a));
	assert_false(changed(&fs, b));
	/* a flow that moved, then is read whole without growth, stops: rates 0 */
	v[1] = val(6, 600, 2);
	reading(&fs, 1.0, k, v, 2);
	assert_true(b->rx_pps == 1.0);
	reading(&fs, 1.0, k, v, 2);
	assert_true(b->rx_pps == 0 && b->rx_bps == 0);
	assert_true(changed(&fs, b));

	/* evicted and created again: counters went down, the rate restarts from them */
	v[0] = val(4, 400, 3);
	reading(&fs, 1.0, k, v, 1);
	assert_true(a->rx_pps == 4.0);

	/* a reading right after another (exit) keeps the rates of the last interval */
	v[0] = val(5, 500, 4);
	reading(&fs, 0.001, k, v, 1);
	assert_true(a->rx_pps == 4.0);
	assert_int_equal(a->val.rx_packets, 5);

	/* read twice in one reading (a table changing as it is read): both growths count */
	flowstore_begin(&fs, 1.0);
	v[0] = val(6, 600, 5);
	flowstore_put(&fs, &k[0], &v[0]);
	v[0] = val(13, 1300, 5);
	flowstore_put(&fs, &k[0], &v[0]);
	flowstore_end(&fs);
	assert_true(a->rx_pps == 8.0);
	flowstore_free(&fs);
}

/* A whole-table reading: flows it lacks were evicted; slots are reused with a new serial. */
static void test_sweep_and_reuse(void **state)
{
	struct flowstore fs;
	assert_int_equal(flowstore_init(&fs, 64), 0);
	struct flow_key k[3] = { key(0), key(1), key(2) };
	struct flow_val v[3] = { val(1, 100, 1), val(1, 100, 1), val(1, 100, 1) };
	reading(&fs, 1.0, k, v, 3);
	assert_int_equal(fs.n, 3);
	struct fs_entry *gone = flowstore_find(&fs, &k[1]);
	uint32_t slot = flowstore_index(&fs, gone), serial = gone->serial;

	flowstore_begin(&fs, 1.0);
	flowstore_put(&fs, &k[0], &v[0]);
	flowstore_put(&fs, &k[2], &v[2]);
	assert_int_equal(flowstore_sweep(&fs), 1);
	flowstore_end(&fs);
	assert_int_equal(fs.n, 2);
	assert_null(flowstore_find(&fs, &k[1]));
	assert_non_null(flowstore_find(&fs, &k[0]));
	assert_non_null(flowstore_find(&fs, &k[2]));
	assert_int_equal(fs.removed, 1);

	/* the next new flow takes the slot: a row naming the old serial must not match it */
	struct flow_key nk = key(9);
	reading(&fs, 1.0, &nk, &v[0], 1);
	struct fs_entry *e = flowstore_find(&fs, &nk);
	assert_int_equal(flowstore_index(&fs, e), slot);
	assert_true(e->serial != serial);
	flowstore_free(&fs);
}

/* Many flows in one chain-hashed table: every one found, removals keep the others. */
static void test_many_flows(void **state)
{
	struct flowstore fs;
	enum { N = 20000 };
	assert_int_equal(flowstore_init(&fs, N), 0);
	struct flow_val v = val(1, 64, 1);
	flowstore_begin(&fs, 1.0);
	for (int i = 0; i < N; i++) {
		struct flow_key k = key(i);
		k.remote[1] = (uint8_t)(i >> 8);
		k.remote[2] = (uint8_t)i;
		assert_non_null(flowstore_put(&fs, &k, &v));
	}
	flowstore_end(&fs);
	assert_int_equal(fs.n, N);
	assert_int_equal(fs.n_changed, N);
	flowstore_begin(&fs, 1.0);
	for (int i = 0; i < N; i += 2) {
		struct flow_key k = key(i);
		k.remote[1] = (uint8_t)(i >> 8);
		k.remote[2] = (uint8_t)i;
		flowstore_remove(&fs, flowstore_find(&fs, &k));
	}
	flowstore_end(&fs);
	assert_int_equal(fs.n, N / 2);
	for (int i = 0; i < N; i++) {
		struct flow_key k = key(i);
		k.remote[1] = (uint8_t)(i >> 8);
		k.remote[2] = (uint8_t)i;
		struct fs_entry *e = flowstore_find(&fs, &k);
		if (i % 2)
			assert_true(e && !memcmp(&e->key, &k, sizeof(k)));
		else
			assert_null(e);
	}
	flowstore_free(&fs);
}

/* The store never holds more than the kernel's table (and a reading's slack): no overflow. */
static void test_bounded(void **state)
{
	struct flowstore fs;
	assert_int_equal(flowstore_init(&fs, 16), 0);
	struct flow_val v = val(1, 64, 1);
	size_t stored = 0, refused = 0;
	flowstore_begin(&fs, 1.0);
	for (int i = 0; i < 6000; i++) {
		struct flow_key k = key(i);
		k.remote[1] = (uint8_t)(i >> 8);
		k.remote[2] = (uint8_t)i;
		if (flowstore_put(&fs, &k, &v))
			stored++;
		else
			refused++;
	}
	flowstore_end(&fs);
	assert_true(stored <= 16 + 4096);
	assert_int_equal(stored + refused, 6000);
	assert_int_equal(fs.not_stored, refused);
	flowstore_free(&fs);
}

/* Aging takes the least recently changed flow first, once its last packet is old enough. */
static void test_oldest_idle(void **state)
{
	struct flowstore fs;
	assert_int_equal(flowstore_init(&fs, 64), 0);
	struct flow_key k[3] = { key(0), key(1), key(2) };
	struct flow_val v[3] = { val(1, 1, 1000000000ULL), val(1, 1, 2000000000ULL),
				 val(1, 1, 3000000000ULL) };
	reading(&fs, 1.0, k, v, 3);
	/* k[0] moves: it becomes the most recently changed */
	v[0] = val(2, 2, 5000000000ULL);
	reading(&fs, 1.0, k, v, 1);
	assert_null(flowstore_oldest_idle(&fs, 2500000000ULL, 1.0));
	struct fs_entry *e = flowstore_oldest_idle(&fs, 4000000000ULL, 1.0);
	assert_non_null(e);
	assert_memory_equal(&e->key, &k[1], sizeof(k[1]));
	flowstore_remove(&fs, e);
	e = flowstore_oldest_idle(&fs, 4000000000ULL, 1.0);
	assert_memory_equal(&e->key, &k[2], sizeof(k[2]));
	flowstore_remove(&fs, e);
	assert_null(flowstore_oldest_idle(&fs, 4000000000ULL, 1.0));
	assert_null(flowstore_oldest_idle(&fs, 99000000000ULL, 0)); /* 0: never */
	flowstore_free(&fs);
}

/*
 * Histories: written only for generations with a change; skipped ones read 0
 * (rates) or the last sample (hold); a snapshot of an older generation reads
 * its own window until the ring overwrote it, then a shorter one, never a
 * wrong one; a reused ring reads nothing under the old serial.
 */
static void test_hist_rings(void **state)
{
	struct hist_pool *p = hist_pool__new(0), *hold = hist_pool__new(1);
	uint32_t ser, hser;
	uint32_t r = hist_alloc(p, 10, &ser), hr = hist_alloc(hold, 10, &hser);
	float out[60], one[2];
	assert_true(r && hr);
	for (uint32_t g = 10; g < 20; g += 3) {
		one[0] = (float)g;
		one[1] = (float)(g * 2);
		hist_write(p, r, g, one);
		hist_write(hold, hr, g, one);
	}
	/* samples at 10, 13, 16, 19; gen 21 reads 12 values; counts (hold) come back exact */
	assert_int_equal(hist_read(p, r, ser, 21, 0, out), 12);
	assert_true(near(out[0], 10) && out[1] == 0 && near(out[3], 13) && near(out[9], 19) &&
		    out[11] == 0);
	assert_int_equal(hist_read(hold, hr, hser, 21, 1, out), 12);
	assert_true(out[1] == 20 && out[2] == 20 && out[3] == 26 && out[11] == 38);
	/* an old snapshot (gen 16) reads its own window while the writer goes on */
	for (uint32_t g = 22; g < 70; g++) {
		one[0] = (float)g;
		hist_write(p, r, g, one);
	}
	assert_int_equal(hist_read(p, r, ser, 16, 0, out), 7);
	assert_true(near(out[0], 10) && near(out[6], 16));
	for (uint32_t g = 70; g < 90; g++) {
		one[0] = (float)g;
		hist_write(p, r, g, one);
	}
	/* gen 16's samples are overwritten now: it reads what is left, not newer values */
	size_t n = hist_read(p, r, ser, 30, 0, out);
	assert_true(n < 21);
	for (size_t i = 0; i < n; i++)
		assert_true(out[i] < 30.1f);
	assert_int_equal(hist_read(p, r, ser, 89, 0, out), 60);
	assert_true(near(out[59], 89) && near(out[0], 30));
	/* freed and handed out again after a window: the old serial reads nothing */
	hist_free(p, r, 90);
	uint32_t s2, r2 = hist_alloc(p, 91, &s2);
	assert_true(r2 != r); /* too soon: a new ring */
	uint32_t s3, r3 = hist_alloc(p, 200, &s3);
	assert_true(r3 == r);
	assert_int_equal(hist_read(p, r, ser, 89, 0, out), 0);
	assert_int_equal(hist_read(p, r3, s3, 200, 0, out), 1);
	hist_pool_put(p);
	hist_pool_put(hold);
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
	assert_int_equal(o.json_flows, 1000);
	char *all[] = { "pktlens", "--json-flows", "0", NULL };
	assert_int_equal(options_parse(&o, 3, all, err, sizeof(err)), 0);
	assert_int_equal(o.json_flows, 0);
	char *neg[] = { "pktlens", "--json-flows", "-1", NULL };
	assert_int_equal(options_parse(&o, 3, neg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--json-flows"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_maths),
		cmocka_unit_test(test_rates_across_readings),
		cmocka_unit_test(test_sweep_and_reuse),
		cmocka_unit_test(test_many_flows),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_oldest_idle),
		cmocka_unit_test(test_hist_rings),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
