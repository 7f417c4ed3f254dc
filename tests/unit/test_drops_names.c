/* Drop reason names from the running kernel's BTF against the kfree_skb tracepoint's own table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mount.h>
#include <cmocka.h>

#include "core/btf_enum.h"
#include "core/drops.h"

#define MAX_PAIRS 512

struct pair {
	unsigned value;
	char name[64];
};

#define TRACEFS "/sys/kernel/tracing"

static const char *const format_paths[] = {
	TRACEFS "/events/skb/kfree_skb/format",
	"/sys/kernel/debug/tracing/events/skb/kfree_skb/format",
};

/*
 * Unit tests run before any pktlens has mounted tracefs, so the test mounts it the way
 * pktlens does (src/core/probe.c, features_probe), but in a mount namespace of its own: the
 * mount goes away with the test process and nobody else's view of /sys changes. Returns 0
 * when TRACEFS/events is there, else fills why and sets *kernel_lacks when the reason is
 * one to skip for (the kernel lacks tracefs, or no root) rather than a failure.
 */
static int mount_tracefs(char *why, size_t len, int *kernel_lacks)
{
	*kernel_lacks = 0;
	if (!access(TRACEFS "/events", F_OK))
		return 0;
	if (geteuid() != 0) {
		/* as every test that needs privileges: the suite runs as root */
		*kernel_lacks = 1;
		snprintf(why, len,
			 "needs root (tracefs is not mounted and mounting it needs root)");
		return -1;
	}
	/* slave first: with a shared / the new mount would propagate back to the host */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) {
		snprintf(why, len, "cannot make a private mount namespace: %s", strerror(errno));
		return -1;
	}
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		*kernel_lacks = errno == ENODEV;
		snprintf(why, len, "%s: %s",
			 *kernel_lacks ? "kernel built without tracefs" : "cannot mount tracefs",
			 strerror(errno));
		return -1;
	}
	if (access(TRACEFS "/events", F_OK)) {
		*kernel_lacks = 1;
		snprintf(why, len, "kernel has no trace events (CONFIG_EVENT_TRACING off)");
		return -1;
	}
	return 0;
}

/*
 * The independent source: the tracepoint's "print fmt" line, which the kernel generates from
 * its own drop reason list as __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, ...).
 * Returns the pairs found, or -1 when no format file can be read.
 */
static int read_print_fmt(struct pair *out, size_t max)
{
	static char buf[1 << 17];
	const char *p;
	size_t len = 0, n = 0;
	FILE *f = NULL;

	for (size_t i = 0; i < sizeof(format_paths) / sizeof(format_paths[0]) && !f; i++)
		f = fopen(format_paths[i], "r");
	if (!f)
		return -1;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	p = strstr(buf, "__print_symbolic(REC->reason");
	if (!p)
		return 0;
	while (n < max && (p = strchr(p, '{'))) {
		unsigned v;
		char name[64];

		if (sscanf(p, "{ %u , \"%63[^\"]\" }", &v, name) == 2) {
			out[n].value = v;
			snprintf(out[n].name, sizeof(out[n].name), "%s", name);
			n++;
		}
		p++;
	}
	return (int)n;
}

struct fixture {
	struct btf_enum_names names;
	struct pair pairs[MAX_PAIRS];
	int n;
	const char *skip; /* a kernel feature this kernel lacks: the tests skip, saying which */
};

static int setup(void **state)
{
	static struct fixture fx;
	static char why[160];
	int ret, skippable;

	memset(&fx, 0, sizeof(fx));
	*state = &fx;
	if (mount_tracefs(why, sizeof(why), &skippable)) {
		if (!skippable) {
			print_message("%s\n", why);
			return -1; /* not a missing feature: the group fails rather than skips */
		}
		fx.skip = why;
		return 0;
	}
	fx.n = read_print_fmt(fx.pairs, MAX_PAIRS);
	if (fx.n < 0) {
		snprintf(why, sizeof(why), "kernel has no skb:kfree_skb tracepoint");
		fx.skip = why;
	} else if (fx.n == 0) {
		snprintf(why, sizeof(why),
			 "kernel's skb:kfree_skb has no drop reason (before 5.17)");
		fx.skip = why;
	}
	ret = btf_enum_load(&fx.names, NULL, "SKB_DROP_REASON_NOT_SPECIFIED", "SKB_DROP_REASON_");
	if (ret && !fx.skip) {
		snprintf(why, sizeof(why), "kernel has no BTF with enum skb_drop_reason (%s)",
			 strerror(-ret));
		fx.skip = why;
	}
	if (fx.skip)
		print_message("SKIP: %s\n", fx.skip);
	return 0;
}

/* Every test starts here: a skip names the kernel feature that is missing. */
#define REQUIRE_KERNEL(fx)      \
	do {                    \
		if ((fx)->skip) \
			skip(); \
	} while (0)

static int teardown(void **state)
{
	struct fixture *fx = *state;

	btf_enum_free(&fx->names);
	return 0;
}

static const char *lookup(const struct fixture *fx, const char *name, unsigned *value)
{
	for (int i = 0; i < fx->n; i++) {
		if (!strcmp(fx->pairs[i].name, name)) {
			*value = fx->pairs[i].value;
			return fx->pairs[i].name;
		}
	}
	return NULL;
}

/* The reasons the e2e drop tests rely on resolve to the tracepoint's values. */
static void test_known_reasons(void **state)
{
	static const char *const known[] = { "NOT_SPECIFIED",  "NO_SOCKET", "SOCKET_RCVBUFF",
					     "NETFILTER_DROP", "TCP_CSUM",  "PKT_TOO_SMALL" };
	struct fixture *fx = *state;

	REQUIRE_KERNEL(fx);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		unsigned v = 0;

		assert_non_null(lookup(fx, known[i], &v));
		assert_string_equal(btf_enum_name(&fx->names, v), known[i]);
	}
}

/* Every value the tracepoint can print has the same name from BTF. */
static void test_whole_table(void **state)
{
	struct fixture *fx = *state;

	REQUIRE_KERNEL(fx);
	/* a kernel with reasons prints dozens of them; a parse that finds few is a broken test */
	assert_true(fx->n >= 20);
	for (int i = 0; i < fx->n; i++) {
		const char *btf = btf_enum_name(&fx->names, fx->pairs[i].value);

		if (strcmp(btf, fx->pairs[i].name))
			fail_msg("value %u: tracepoint says %s, BTF says '%s'", fx->pairs[i].value,
				 fx->pairs[i].name, btf);
	}
}

/* NOT_SPECIFIED is not the first member: values must not be assumed, and 0 is not a drop. */
static void test_not_specified_is_not_zero(void **state)
{
	struct fixture *fx = *state;
	unsigned v = 0;

	REQUIRE_KERNEL(fx);
	assert_non_null(lookup(fx, "NOT_SPECIFIED", &v));
	assert_int_not_equal(v, 0);
	assert_string_not_equal(btf_enum_name(&fx->names, 0), "NOT_SPECIFIED");
	/* out of range reads as "" rather than running off the table */
	assert_string_equal(btf_enum_name(&fx->names, 1u << 30), "");
}

/*
 * The reasons filed as "discarded at close" (queues freed with their owner) are found by
 * name on this kernel, with the values the tracepoint prints; drops of the network path,
 * including TCP_CLOSE (a segment for a closed socket), are not among them.
 */
static void test_discard_reasons(void **state)
{
	static const char *const discard[] = { "QUEUE_PURGE", "SOCKET_CLOSE", "UNIX_DISCONNECT" };
	static const char *const drops[] = { "NO_SOCKET",	  "TCP_CLOSE",
					     "NETFILTER_DROP",	  "SOCKET_RCVBUFF",
					     "TCP_ABORT_ON_DATA", "NOT_SPECIFIED" };
	struct fixture *fx = *state;
	struct drops_model *m;
	uint32_t vals[8];
	size_t present = 0, n;
	unsigned v;

	REQUIRE_KERNEL(fx);
	m = drops_model__new(NULL, NULL);
	assert_non_null(m);
	for (size_t i = 0; i < sizeof(discard) / sizeof(discard[0]); i++) {
		if (!lookup(fx, discard[i], &v))
			continue;
		present++;
		if (!drops_reason_discard(m, v))
			fail_msg("%s (%u) is not filed as a discard", discard[i], v);
	}
	if (!present) {
		drops_model__free(m);
		print_message(
		    "SKIP: kernel has no queue-purge drop reasons (QUEUE_PURGE is 6.5+)\n");
		skip();
	}
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		if (lookup(fx, drops[i], &v) && drops_reason_discard(m, v))
			fail_msg("%s (%u) is filed as a discard", drops[i], v);
	/* the values handed to the BPF side are exactly those */
	n = drops_discard_values(m, vals, 8);
	assert_int_equal(n, present);
	assert_true(n <= PL_DISCARD_REASONS_MAX);
	for (size_t i = 0; i < n; i++) {
		int found = 0;
		for (size_t k = 0; k < sizeof(discard) / sizeof(discard[0]); k++)
			if (lookup(fx, discard[k], &v) && v == vals[i])
				found = 1;
		assert_true(found);
	}
	assert_false(drops_reason_discard(m, 1u << 20));
	drops_model__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_reasons),
		cmocka_unit_test(test_whole_table),
		cmocka_unit_test(test_not_specified_is_not_zero),
		cmocka_unit_test(test_discard_reasons),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
