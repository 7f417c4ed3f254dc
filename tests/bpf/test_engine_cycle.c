/* Engine lifecycle on a real veth in a fresh namespace: every probe attached and detached 100 times leaks nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/engine.h"
#include "core/log.h"

static char ns_name[64];
static int orig_ns = -1;

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	snprintf(ns_name, sizeof(ns_name), "pl-cyc-%d", getpid());
	orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (sh("ip netns add %s && ip -n %s link add pc0 type veth peer name pc1 && "
	       "ip -n %s link set pc0 up && ip -n %s link set pc1 up",
	       ns_name, ns_name, ns_name, ns_name))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	if (orig_ns >= 0) {
		setns(orig_ns, CLONE_NEWNET);
		close(orig_ns);
	}
	if (ns_name[0])
		sh("ip netns del %s 2>/dev/null", ns_name);
	return 0;
}

/* Open fds of this process, and how many of them are BPF maps. */
static void count_fds(int *fds, int *maps)
{
	*fds = *maps = 0;
	DIR *d = opendir("/proc/self/fdinfo");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		(*fds)++;
		char path[300], line[256];
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "map_type:", 9))
				(*maps)++;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
}

static void test_attach_detach_100(void **state)
{
	if (geteuid() != 0)
		skip();
	struct engine_opts o = { .ifaces = { "pc0" },
				 .n_ifaces = 1,
				 .netns = ns_name,
				 .probes = "none",
				 .flow_entries = 1024,
				 .idle_timeout_s = 0 };
	char err[512] = "";
	log_init(NULL, LOG_ERROR);
	struct engine *e = engine__new(&o, err, sizeof(err));
	assert_non_null(e);
	/* An operator-added tracepoint joins the cycle too. */
	assert_int_equal(engine_probe_add(e, "tracepoint:net:netif_receive_skb", err, sizeof(err)),
			 0);
	assert_int_equal(
	    engine_probe_toggle(e, "tracepoint:net:netif_receive_skb", err, sizeof(err)), 0);

	struct snapshot *s = engine_refresh(e);
	assert_non_null(s);
	int fds0, maps0;
	count_fds(&fds0, &maps0);
	int cycled = 0;
	for (size_t i = 0; i < s->n_probes; i++) {
		const struct probe_info *p = &s->probes[i];
		if (p->state == PS_UNSUPPORTED)
			continue;
		for (int k = 0; k < 100; k++) {
			assert_int_equal(engine_probe_toggle(e, p->id, err, sizeof(err)), 0);
			assert_int_equal(engine_probe_toggle(e, p->id, err, sizeof(err)), 0);
		}
		cycled++;
	}
	snapshot_put(s);
	/* tc, xdp (ingress, egress, xdp on pc0) and at least the built-in tracepoints. */
	assert_true(cycled >= 6);
	int fds1, maps1;
	count_fds(&fds1, &maps1);
	assert_int_equal(fds1, fds0);
	assert_int_equal(maps1, maps0);
	assert_true(maps0 > 0);

	/* Nothing of ours stays on the interface once the engine is gone. */
	engine__free(e);
	char out[4096] = "";
	FILE *p = popen("tc filter show dev pc0 ingress; tc filter show dev pc0 egress; "
			"ip link show pc0 | grep -o xdp",
			"r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	out[n] = '\0';
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_detach_100),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
