/* Unit tests for the per-process model: /proc/net parsing, a fake /proc scanned like ss -p, flow attribution, exit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "core/procmodel.h"

static void test_parse_v4(void **state)
{
	struct procnet_ent e;
	/* 127.0.0.1:53 listening, as /proc/net/tcp prints it on a little-endian host */
	const char *l = "   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 "
			"00000000     0        0 1058 1 0000000000000000 100 0 0 10 0\n";
	uint8_t want[16] = { 127, 0, 0, 1 };

	assert_int_equal(procnet_parse_line(l, 0, &e), 0);
	assert_memory_equal(e.local, want, 16);
	assert_int_equal(e.local_port, 53);
	assert_int_equal(e.remote_port, 0);
	assert_int_equal(e.state, 10);
	assert_int_equal(e.ino, 1058);
	assert_int_equal(e.family, 4);
	/* the header and a cut line are not entries */
	assert_int_not_equal(
	    procnet_parse_line("  sl  local_address rem_address   st tx_queue\n", 0, &e), 0);
	assert_int_not_equal(procnet_parse_line("   0: 0100007F:0035 0000", 0, &e), 0);
	/* an IPv6 address where IPv4 is expected */
	assert_int_not_equal(
	    procnet_parse_line("   0: 00000000000000000000000001000000:0035 "
			       "00000000000000000000000000000000:0000 0A 00000000:00000000 "
			       "00:00000000 00000000 0 0 99 1",
			       0, &e),
	    0);
}

static void test_parse_v6(void **state)
{
	struct procnet_ent e;
	/* fd00:203::1 port 443 to fd00:203::2 port 40000, ESTABLISHED */
	const char *l = "   1: 0300FDFD000000000000000001000000:01BB "
			"0300FDFD000000000000000002000000:9C40 01 00000000:00000000 00:00000000 "
			"00000000     0        0 4242 1 0000000000000000 20 4 1 10 -1\n";
	uint8_t want_l[16], want_r[16];

	inet_pton(AF_INET6, "fdfd:3::1", want_l);
	inet_pton(AF_INET6, "fdfd:3::2", want_r);
	assert_int_equal(procnet_parse_line(l, 1, &e), 0);
	assert_memory_equal(e.local, want_l, 16);
	assert_memory_equal(e.remote, want_r, 16);
	assert_int_equal(e.local_port, 443);
	assert_int_equal(e.remote_port, 40000);
	assert_int_equal(e.state, 1);
	assert_int_equal(e.ino, 4242);
	assert_int_equal(e.family, 6);
}

static char root[256];

static void put_n(const char *rel, const char *text, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	fclose(f);
}

static void put(const char *rel, const char *text)
{
	put_n(rel, text, strlen(text));
}

static void mk(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void lnk(const char *target, const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

static void set_flow(struct flow_row *r, uint8_t proto, const char *l, uint16_t lp, const char *rm,
		     uint16_t rp)
{
	memset(r, 0, sizeof(*r));
	r->key.proto = proto;
	r->key.family = 4;
	inet_pton(AF_INET, l, r->key.local);
	inet_pton(AF_INET, rm, r->key.remote);
	r->key.local_port = lp;
	r->key.remote_port = rp;
}

/*
 * One process (pid 4242) with a TCP connection 10.0.0.1:80 <- 10.0.0.2:40000
 * (socket 777), a UDP socket on *:53 (778) and a pipe, in a fake /proc.
 */
static void test_scan_and_attribute(void **state)
{
	snprintf(root, sizeof(root), "/tmp/pl-procmodel-XXXXXX");
	assert_non_null(mkdtemp(root));
	mk("4242");
	mk("4242/fd");
	mk("4242/net");
	mk("4242/ns");
	/* a comm with ") " in it must not shift the fields of stat */
	put("4242/stat", "4242 (srv) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
			 "987654 1000 10\n");
	put("4242/comm", "srv) x\n");
	put_n("4242/cmdline",
	      "srv\0-p\0"
	      "80\0",
	      10);
	put("4242/cgroup", "0::/system.slice/srv.service\n");
	put("4242/ns/net", "");
	lnk("socket:[777]", "4242/fd/3");
	lnk("socket:[778]", "4242/fd/4");
	lnk("pipe:[779]", "4242/fd/5");
	put("4242/net/tcp",
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode\n"
	    "   0: 0100000A:0050 0200000A:9C40 01 00000000:00000000 00:00000000 00000000     0  "
	    "      0 777 1 0000000000000000 20 4 1 10 -1\n"
	    "   1: 0100000A:0051 0200000A:9C41 01 00000000:00000000 00:00000000 00000000     0  "
	    "      0 999 1 0000000000000000 20 4 1 10 -1\n");
	put("4242/net/udp",
	    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode ref pointer drops\n"
	    "  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0  "
	    "      0 778 2 0000000000000000 0\n");

	struct proc_model *m = proc_model__new(NULL, 0);
	assert_non_null(m);
	proc_model_set_root(m, root);
	struct proc_maps none = { -1, -1 };
	uint64_t t0 = 1000000000ULL;
	struct snapshot_procs *sp = proc_model_read(m, &none, 0, t0, 1.0);
	assert_non_null(sp);
	assert_int_equal(sp->n_rows, 1);
	const struct proc_row *r = &sp->rows[0];
	assert_int_equal(r->pid, 4242);
	assert_string_equal(r->comm, "srv) x");
	assert_string_equal(r->cmdline, "srv -p 80");
	assert_string_equal(r->cgroup, "/system.slice/srv.service");
	assert_int_equal(r->tcp, 1);
	assert_int_equal(r->udp, 1);
	assert_int_equal(r->established, 1);
	assert_int_equal(r->sockets, 2); /* the pipe and socket 999 (not its fd) are not its */
	assert_false(r->exited);
	assert_int_equal(r->n_socks, 2);
	assert_true(sp->socks[r->first_sock].from_proc);

	struct flow_row f;
	set_flow(&f, 6, "10.0.0.1", 80, "10.0.0.2", 40000);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 4242);
	assert_string_equal(f.comm, "srv) x");
	/* UDP: an unconnected socket on the wildcard address owns every flow to its port */
	set_flow(&f, 17, "10.0.0.1", 53, "10.0.0.9", 5000);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 4242);
	/* TCP needs the 4-tuple (or a listener): a neighbouring port is nobody's */
	set_flow(&f, 6, "10.0.0.1", 81, "10.0.0.2", 40001);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 0);
	set_flow(&f, 17, "10.0.0.1", 54, "10.0.0.9", 5000);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 0);
	assert_int_equal(sp->flows, 4);
	assert_int_equal(sp->flows_attributed, 2);
	assert_int_equal(sp->rows[0].flows, 2);
	free(sp);

	/* the process exits: listed as exited, then forgotten after the keep time */
	char path[512];
	snprintf(path, sizeof(path), "%s/4242/stat", root);
	unlink(path);
	sp = proc_model_read(m, &none, 0, t0 + 1000000000ULL, 1.0);
	assert_int_equal(sp->n_rows, 1);
	assert_true(sp->rows[0].exited);
	assert_int_equal(sp->rows[0].sockets, 0);
	free(sp);
	/* flows keep their owner while it is listed */
	set_flow(&f, 6, "10.0.0.1", 80, "10.0.0.2", 40000);
	proc_model_fill_flow(m, &f, NULL);
	assert_int_equal(f.pid, 4242);
	/* remove the fake process before the next /proc scan can see it again */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	sp = proc_model_read(m, &none, 0, t0 + (PL_PROC_KEEP_S + 2) * 1000000000ULL, 1.0);
	assert_int_equal(sp->n_rows, 0);
	free(sp);
	proc_model__free(m);
}

/* Also when an assertion stopped the test halfway: the fake /proc goes. */
static int remove_root(void **state)
{
	char cmd[600];

	if (root[0] && !access(root, F_OK)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		return system(cmd) ? -1 : 0;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test_teardown(test_scan_and_attribute, remove_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
