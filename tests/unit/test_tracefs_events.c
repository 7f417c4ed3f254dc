/* Unit tests for recognising libbpf's legacy tracefs probe events (libbpf 1.1 and later names) by their pid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/tracefs_events.h"

/* Lines as kprobe_events / uprobe_events print what libbpf 1.1 wrote ("%c:%s/%s %s+0x%zx"). */
static void test_libbpf_kprobe(void **state)
{
	char ev[256];

	(void)state;
	assert_int_equal(legacy_event_parse("p:kprobes/libbpf_1234_tcp_v4_rcv_0x0_0 tcp_v4_rcv\n",
					    ev, sizeof(ev)),
			 1234);
	assert_string_equal(ev, "kprobes/libbpf_1234_tcp_v4_rcv_0x0_0");
	assert_int_equal(
	    legacy_event_parse("r128:kretprobes/libbpf_77_ip_rcv_0x0_3 ip_rcv", ev, sizeof(ev)),
	    77);
	assert_string_equal(ev, "kretprobes/libbpf_77_ip_rcv_0x0_3");
}

static void test_libbpf_uprobe(void **state)
{
	char ev[256];

	(void)state;
	/* binary paths are sanitised to '_' by libbpf */
	assert_int_equal(legacy_event_parse("p:uprobes/libbpf_42__tmp_pl_target_0x1139 "
					    "/tmp/pl-target:0x0000000000001139",
					    ev, sizeof(ev)),
			 42);
	assert_string_equal(ev, "uprobes/libbpf_42__tmp_pl_target_0x1139");
	/* later libbpf puts an index after the pid: still the pid first */
	assert_int_equal(
	    legacy_event_parse("p:kprobes/libbpf_9_0_tcp_v4_rcv_0x0 tcp_v4_rcv", ev, sizeof(ev)),
	    9);
}

static void test_not_libbpf(void **state)
{
	char ev[256] = "";

	(void)state;
	assert_int_equal(legacy_event_parse("p:kprobes/myprobe do_sys_open", ev, sizeof(ev)), 0);
	assert_int_equal(legacy_event_parse("p:kprobes/libbpf_x_f_0x0_0 f", ev, sizeof(ev)), 0);
	assert_int_equal(legacy_event_parse("p:kprobes/libbpf__f_0x0_0 f", ev, sizeof(ev)), 0);
	assert_int_equal(legacy_event_parse("p:kprobes/libbpf_0_f_0x0_0 f", ev, sizeof(ev)), 0);
	assert_int_equal(legacy_event_parse("p:kprobes/libbpf_12", ev, sizeof(ev)), 0);
	assert_int_equal(legacy_event_parse("p:libbpf_12_f_0x0_0 f", ev, sizeof(ev)), 0);
	assert_int_equal(legacy_event_parse("x:kprobes/libbpf_12_f_0x0_0 f", ev, sizeof(ev)), 0);
	assert_int_equal(legacy_event_parse("", ev, sizeof(ev)), 0);
	assert_int_equal(
	    legacy_event_parse("p:kprobes/libbpf_99999999999_f_0x0_0 f", ev, sizeof(ev)), 0);
	/* too long for the caller's buffer: not half a name */
	assert_int_equal(legacy_event_parse("p:kprobes/libbpf_5_tcp_v4_rcv_0x0_0 f", ev, 10), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libbpf_kprobe),
		cmocka_unit_test(test_libbpf_uprobe),
		cmocka_unit_test(test_not_libbpf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
