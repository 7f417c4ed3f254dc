/* Engine lifecycle on a real veth in a fresh namespace: every probe attached and detached again and again, each toggle checked against the kernel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/engine.h"
#include "core/log.h"

#define CYCLES 100
/*
 * Closing a perf-event link (classic tracepoints, uprobes) waits for an RCU grace period in the
 * kernel, 60-200 ms per detach on this 2-core machine under load: 100 cycles of the ~25 such
 * probes would take 5-10 minutes. Every toggle is checked exactly, so a leak shows on the first
 * cycle; these probes get fewer repeats.
 */
#define PERF_CYCLES 10
/* Probes whose kernel-side state is also read with tc/ip (forks) in the first cycles only. */
#define TOOL_CYCLES 3
#define ADDED_TP "tracepoint:net:net_dev_queue"

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

/* Runs a shell command and returns how many lines of its output contain `needle`. */
static int count_lines(const char *cmd, const char *needle)
{
	char line[512];
	int n = 0;
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (strstr(line, needle))
			n++;
	pclose(p);
	return n;
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

struct fd_count {
	int fds, maps, links;
};

/* Open fds of this process, and how many of them are BPF maps and BPF links, as the kernel's
 * fdinfo says ("map_type:" and "link_type:" lines). */
static struct fd_count count_fds(void)
{
	struct fd_count c = { 0 };
	DIR *d = opendir("/proc/self/fdinfo");
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		c.fds++;
		char path[300], line[256];
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "map_type:", 9))
				c.maps++;
			else if (!strncmp(line, "link_type:", 10))
				c.links++;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	/* The directory's own fd was open while it was read. */
	c.fds--;
	return c;
}

/* The probe's state in a fresh snapshot, as a user of the engine sees it. */
static enum probe_state snap_state(struct engine *e, const char *id)
{
	struct snapshot *s = engine_refresh(e);
	assert_non_null(s);
	int st = -1;
	for (size_t i = 0; i < s->n_probes; i++)
		if (!strcmp(s->probes[i].id, id))
			st = (int)s->probes[i].state;
	snapshot_put(s);
	if (st < 0)
		fail_msg("probe %s is not in the snapshot", id);
	return (enum probe_state)st;
}

/* BPF tc filters on pc0 in one direction, as tc lists them: tc prints a header line per
 * priority and one line per filter, the one with the handle. */
static int tc_filters(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "tc filter show dev pc0 %s | grep ' bpf '", dir);
	return count_lines(cmd, " handle ");
}

static int xdp_attached(void)
{
	return count_lines("ip -d link show dev pc0", "prog/xdp");
}

static bool tracefs_has(const char *dir)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", dir);
	if (!stat(path, &st))
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/%s", dir);
	return !stat(path, &st);
}

/* Independent of pktlens: the kernel really lacks what an unsupported probe needs. */
static void check_unsupported(const struct probe_info *p)
{
	struct stat st;
	switch (p->kind) {
	case PK_KPROBE:
	case PK_KRETPROBE:
		if (!stat("/sys/bus/event_source/devices/kprobe/type", &st) ||
		    tracefs_has("kprobe_events"))
			fail_msg("%s unsupported (%s), but this kernel has kprobes", p->id,
				 p->reason);
		break;
	case PK_TRACEPOINT: {
		char dir[192];
		snprintf(dir, sizeof(dir), "events/%s", p->target);
		*strchr(dir + 7, ':') = '/';
		if (tracefs_has(dir))
			fail_msg("%s unsupported (%s), but tracefs has %s", p->id, p->reason, dir);
		break;
	}
	default:
		fail_msg("%s is unsupported (%s) on a kernel that runs this kind of probe", p->id,
			 p->reason);
	}
}

/* What the kernel shows of one probe: for tc and XDP the interface itself, for the rest the
 * links this process holds. Called with the probe attached, then detached. */
static void check_kernel_side(const struct probe_info *p, bool attached, bool with_tools,
			      const struct fd_count *before, const struct fd_count *after)
{
	switch (p->kind) {
	case PK_TC_INGRESS:
	case PK_TC_EGRESS:
		if (!strcmp(p->detail, "tcx")) {
			/* tcx: a bpf link of ours (gone on close), and no classic filter */
			assert_int_equal(after->links, before->links + (attached ? 1 : -1));
			if (with_tools)
				assert_int_equal(
				    tc_filters(p->kind == PK_TC_INGRESS ? "ingress" : "egress"), 0);
			break;
		}
		/* Classic tc filters through netlink: no fd of ours, the filter is the state. */
		assert_int_equal(after->links, before->links);
		assert_int_equal(after->fds, before->fds);
		if (with_tools)
			assert_int_equal(
			    tc_filters(p->kind == PK_TC_INGRESS ? "ingress" : "egress"),
			    attached ? 1 : 0);
		break;
	case PK_XDP:
		assert_int_equal(after->links, before->links + (attached ? 1 : -1));
		if (with_tools)
			assert_int_equal(xdp_attached(), attached ? 1 : 0);
		break;
	default:
		/* One bpf_link per probe: it is closed on detach, so the process's fds drop. */
		assert_int_equal(after->links, before->links + (attached ? 1 : -1));
		if (attached)
			assert_true(after->fds > before->fds);
		else
			assert_true(after->fds < before->fds);
		break;
	}
	assert_int_equal(after->maps, before->maps);
}

static int cycles_for(const struct probe_info *p)
{
	switch (p->kind) {
	case PK_XDP:
	case PK_TC_INGRESS:
	case PK_TC_EGRESS:
		return CYCLES;
	case PK_TRACEPOINT:
		/* raw_tp, tp_btf and fexit links are bpf links without a perf event behind them */
		return !strcmp(p->detail, "raw_tp") || !strcmp(p->detail, "tp_btf") ||
			       !strcmp(p->detail, "fexit")
			   ? CYCLES
			   : PERF_CYCLES;
	default:
		return PERF_CYCLES;
	}
}

static void toggle_to(struct engine *e, const struct probe_info *p, enum probe_state want,
		      bool with_tools)
{
	char err[512] = "";
	struct fd_count before = count_fds();
	if (engine_probe_toggle(e, p->id, err, sizeof(err)))
		fail_msg("toggling %s: %s", p->id, err);
	enum probe_state st = snap_state(e, p->id);
	if (st != want)
		fail_msg("%s: state %d after a toggle, expected %d", p->id, st, want);
	struct fd_count after = count_fds();
	check_kernel_side(p, want == PS_ATTACHED, with_tools, &before, &after);
}

static void test_attach_detach_cycles(void **state)
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
	if (!e)
		fail_msg("engine__new: %s", err);
	/* An operator-added tracepoint joins the cycle too; adding it attaches it. */
	assert_int_equal(engine_probe_add(e, ADDED_TP, err, sizeof(err)), 0);
	assert_int_equal(snap_state(e, ADDED_TP), PS_ATTACHED);
	assert_int_equal(engine_probe_toggle(e, ADDED_TP, err, sizeof(err)), 0);

	struct snapshot *s = engine_refresh(e);
	assert_non_null(s);
	struct fd_count start = count_fds();
	assert_true(start.maps > 0);
	assert_int_equal(start.links, 0);
	assert_int_equal(tc_filters("ingress") + tc_filters("egress") + xdp_attached(), 0);

	int cycled = 0, supported = 0, seen_if = 0;
	for (size_t i = 0; i < s->n_probes; i++) {
		const struct probe_info *p = &s->probes[i];
		if (p->state == PS_UNSUPPORTED) {
			check_unsupported(p);
			continue;
		}
		/* --probes none: nothing is attached at the start, and nothing is in error here. */
		if (p->state != PS_DETACHED)
			fail_msg("%s: state %d at the start, reason '%s'", p->id, p->state,
				 p->reason);
		supported++;
		if (!strcmp(p->id, "xdp:pc0") || !strcmp(p->id, "tc-ingress:pc0") ||
		    !strcmp(p->id, "tc-egress:pc0") || !strcmp(p->id, ADDED_TP))
			seen_if++;
		if (p->kind == PK_TRACEPOINT) {
			char dir[192];
			snprintf(dir, sizeof(dir), "events/%s", p->target);
			*strchr(dir + 7, ':') = '/';
			if (!tracefs_has(dir))
				fail_msg("%s is offered but tracefs has no %s", p->id, dir);
		}
		int n = cycles_for(p);
		for (int k = 0; k < n; k++) {
			bool tools = k < TOOL_CYCLES || k == n - 1;
			toggle_to(e, p, PS_ATTACHED, tools);
			toggle_to(e, p, PS_DETACHED, tools);
		}
		cycled++;
	}
	snapshot_put(s);
	assert_int_equal(seen_if, 4);
	assert_int_equal(cycled, supported);
	/* Every probe of the list, kernel-checked: the three interface probes, the added
	 * tracepoint and the built-in tracepoints at least. */
	assert_true(cycled >= 10);
	struct fd_count end = count_fds();
	assert_int_equal(end.fds, start.fds);
	assert_int_equal(end.maps, start.maps);
	assert_int_equal(end.links, 0);

	/* Nothing of ours stays on the interface once the engine is gone. */
	engine__free(e);
	assert_int_equal(tc_filters("ingress") + tc_filters("egress") + xdp_attached(), 0);
	char out[4096] = "";
	FILE *p = popen("tc qdisc show dev pc0 | grep clsact", "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	out[n] = '\0';
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_detach_cycles),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
