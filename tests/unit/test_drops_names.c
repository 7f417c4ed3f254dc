/* Drop reason names from the running kernel's BTF against the kfree_skb tracepoint's own table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/btf_enum.h"

#define MAX_PAIRS 512

struct pair {
	unsigned value;
	char name[64];
};

static const char *const format_paths[] = {
	"/sys/kernel/tracing/events/skb/kfree_skb/format",
	"/sys/kernel/debug/tracing/events/skb/kfree_skb/format",
};

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
};

static int setup(void **state)
{
	static struct fixture fx;
	int ret;

	memset(&fx, 0, sizeof(fx));
	fx.n = read_print_fmt(fx.pairs, MAX_PAIRS);
	ret = btf_enum_load(&fx.names, NULL, "SKB_DROP_REASON_NOT_SPECIFIED", "SKB_DROP_REASON_");
	if (ret) {
		print_message("no kernel BTF with enum skb_drop_reason (%s)\n", strerror(-ret));
		fx.names.n = 0;
	}
	*state = &fx;
	return 0;
}

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

	if (fx->n < 0 || !fx->names.n)
		skip();
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

	if (fx->n < 0 || !fx->names.n)
		skip();
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

	if (fx->n < 0 || !fx->names.n)
		skip();
	assert_non_null(lookup(fx, "NOT_SPECIFIED", &v));
	assert_int_not_equal(v, 0);
	assert_string_not_equal(btf_enum_name(&fx->names, 0), "NOT_SPECIFIED");
	/* out of range reads as "" rather than running off the table */
	assert_string_equal(btf_enum_name(&fx->names, 1u << 30), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_reasons),
		cmocka_unit_test(test_whole_table),
		cmocka_unit_test(test_not_specified_is_not_zero),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
