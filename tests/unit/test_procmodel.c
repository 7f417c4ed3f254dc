/* Unit tests for the per-process model: /proc/net parsing, a fake /proc scanned like ss -p, flow attribution, exit, bounds, pid reuse, closed connections, v4-mapped sockets, the JSON list's bound. */
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

#include "core/json.h"
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
	uint64_t t0 = 1000000000ULL;
	struct snapshot_procs *sp = proc_model_update(m, NULL, NULL, 0, t0, 1.0);
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
	sp = proc_model_update(m, NULL, NULL, 0, t0 + 1000000000ULL, 1.0);
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
	sp = proc_model_update(m, NULL, NULL, 0, t0 + (PL_PROC_KEEP_S + 2) * 1000000000ULL, 1.0);
	assert_int_equal(sp->n_rows, 0);
	free(sp);
	proc_model__free(m);
}

#define SEC 1000000000ULL
#define TICK_NS (SEC / 100) /* USER_HZ: /proc/PID/stat counts start times in 1/100 s */

/* A fake /proc under root for tests that build it themselves. */
static void fake_root(void)
{
	snprintf(root, sizeof(root), "/tmp/pl-procmodel-XXXXXX");
	assert_non_null(mkdtemp(root));
}

/* /proc/PID with its stat (start time in ticks), comm and the socket inodes among its fds. */
static void fake_proc(uint32_t pid, uint64_t start, const char *comm, const uint64_t *inos,
		      size_t n_inos)
{
	char rel[64], text[512];
	snprintf(rel, sizeof(rel), "%u", pid);
	mk(rel);
	snprintf(rel, sizeof(rel), "%u/fd", pid);
	mk(rel);
	snprintf(rel, sizeof(rel), "%u/stat", pid);
	snprintf(text, sizeof(text),
		 "%u (%s) S 1 %u %u 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %llu 1000 10\n", pid,
		 comm, pid, pid, (unsigned long long)start);
	put(rel, text);
	snprintf(rel, sizeof(rel), "%u/comm", pid);
	snprintf(text, sizeof(text), "%s\n", comm);
	put(rel, text);
	for (size_t i = 0; i < n_inos; i++) {
		char target[64];
		snprintf(rel, sizeof(rel), "%u/fd/%zu", pid, i + 3);
		snprintf(target, sizeof(target), "socket:[%llu]", (unsigned long long)inos[i]);
		lnk(target, rel);
	}
}

static void fake_proc_gone(uint32_t pid)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%u'", root, pid);
	assert_int_equal(system(cmd), 0);
}

/* The maps as the tests fill them: entries are added, and deleted when the model forgets them. */
struct fake_maps {
	struct proc_sock_key sk[20000];
	struct proc_sock_val sv[20000];
	size_t n_socks;
	struct proc_key ik[20000];
	struct proc_info_val iv[20000];
	size_t n_infos;
	size_t deleted_socks, deleted_infos;
};

static struct fake_maps *maps_new(void)
{
	struct fake_maps *fm = calloc(1, sizeof(*fm));
	assert_non_null(fm);
	return fm;
}

/* One UDP socket of process (pid, start_ns) 10.0.0.1:lport -> 10.0.0.2:rport with tx bytes. */
static void map_sock(struct fake_maps *fm, uint32_t pid, uint64_t start_ns, uint64_t ino,
		     uint16_t lport, uint16_t rport, uint64_t tx, uint64_t last_ns,
		     const char *comm, const char *thread)
{
	size_t i = fm->n_socks++;
	memset(&fm->sk[i], 0, sizeof(fm->sk[i]));
	memset(&fm->sv[i], 0, sizeof(fm->sv[i]));
	fm->sk[i].sk = 0xffff888000000000ULL + ino * 64;
	fm->sk[i].ino = ino;
	fm->sk[i].start_ns = start_ns;
	fm->sk[i].tgid = pid;
	struct proc_sock_val *v = &fm->sv[i];
	v->tx_bytes = tx;
	v->tx_calls = 1;
	v->first_ns = last_ns;
	v->last_ns = last_ns;
	inet_pton(AF_INET, "10.0.0.1", v->local);
	inet_pton(AF_INET, "10.0.0.2", v->remote);
	v->local_port = lport;
	v->remote_port = rport;
	v->family = 4;
	v->proto = 17;
	v->tid = pid;
	snprintf(v->thread, sizeof(v->thread), "%s", thread ? thread : comm);
	size_t k;
	for (k = 0; k < fm->n_infos; k++)
		if (fm->ik[k].tgid == pid && fm->ik[k].start_ns == start_ns)
			return;
	fm->n_infos++;
	memset(&fm->ik[k], 0, sizeof(fm->ik[k]));
	memset(&fm->iv[k], 0, sizeof(fm->iv[k]));
	fm->ik[k].tgid = pid;
	fm->ik[k].start_ns = start_ns;
	snprintf(fm->iv[k].comm, sizeof(fm->iv[k].comm), "%s", comm);
	fm->iv[k].first_ns = last_ns;
}

/* One reading: the model gets the maps' entries and the maps lose what it forgot. */
static struct snapshot_procs *update(struct proc_model *m, struct fake_maps *fm, uint64_t now,
				     struct proc_forget *keep)
{
	struct proc_input in = { fm->sk, fm->sv, fm->n_socks, fm->ik, fm->iv, fm->n_infos };
	struct proc_forget f = { 0 };
	struct snapshot_procs *sp = proc_model_update(m, &in, &f, 0, now, 1.0);
	assert_non_null(sp);
	for (size_t i = 0; i < f.n_socks; i++) {
		size_t w = 0;
		for (size_t k = 0; k < fm->n_socks; k++) {
			if (!memcmp(&fm->sk[k], &f.socks[i], sizeof(f.socks[i]))) {
				fm->deleted_socks++;
				continue;
			}
			fm->sk[w] = fm->sk[k];
			fm->sv[w++] = fm->sv[k];
		}
		fm->n_socks = w;
	}
	for (size_t i = 0; i < f.n_infos; i++) {
		size_t w = 0;
		for (size_t k = 0; k < fm->n_infos; k++) {
			if (!memcmp(&fm->ik[k], &f.infos[i], sizeof(f.infos[i]))) {
				fm->deleted_infos++;
				continue;
			}
			fm->ik[w] = fm->ik[k];
			fm->iv[w++] = fm->iv[k];
		}
		fm->n_infos = w;
	}
	if (keep)
		*keep = f;
	else
		proc_forget_free(&f);
	return sp;
}

static const struct proc_row *row_of(const struct snapshot_procs *sp, uint32_t pid,
				     uint64_t start_ticks)
{
	for (size_t i = 0; i < sp->n_rows; i++)
		if (sp->rows[i].pid == pid && sp->rows[i].start_ticks == start_ticks)
			return &sp->rows[i];
	return NULL;
}

/*
 * 612 short-lived processes in two waves leave 512 rows (PL_PROCS_EXITED_MAX):
 * the 100 of the first wave that were idle longest go, with their map entries,
 * and their bytes stay counted as evicted; a live process is never evicted.
 */
static void test_bound_oldest_exited_first(void **state)
{
	fake_root();
	uint64_t live_ino = 99999;
	fake_proc(50, 7, "daemon", &live_ino, 1);
	struct fake_maps *fm = maps_new();
	struct proc_model *m = proc_model__new(NULL, 0);
	proc_model_set_root(m, root);
	map_sock(fm, 50, 7 * TICK_NS, live_ino, 9000, 53, 5, 1 * SEC, "daemon", NULL);
	uint64_t total_tx = 0;
	/* wave 1: pids 1000..1299, last active in pid order */
	for (uint32_t i = 0; i < 300; i++) {
		map_sock(fm, 1000 + i, (500 + i) * TICK_NS, 10000 + i, 20000 + i, 53, 100 + i,
			 2 * SEC + i, "short", NULL);
		total_tx += 100 + i;
	}
	struct snapshot_procs *sp = update(m, fm, 10 * SEC, NULL);
	assert_int_equal(sp->n_rows, 301);
	assert_int_equal(sp->evicted.count, 0);
	free(sp);
	/* wave 2: 312 more; 612 exited > 512 */
	for (uint32_t i = 0; i < 312; i++) {
		map_sock(fm, 2000 + i, (900 + i) * TICK_NS, 20000 + i, 30000 + i, 53, 7, 11 * SEC,
			 "short", NULL);
		total_tx += 7;
	}
	sp = update(m, fm, 12 * SEC, NULL);
	assert_int_equal(sp->n_rows, 1 + PL_PROCS_EXITED_MAX);
	assert_int_equal(sp->evicted.count, 100);
	assert_int_equal(sp->evicted.sockets, 100);
	uint64_t evicted_tx = 0;
	for (uint32_t i = 0; i < 100; i++)
		evicted_tx += 100 + i;
	assert_int_equal(sp->evicted.tx_bytes, evicted_tx);
	/* the first wave's first 100 (exited at the same reading, idle longest) went */
	for (uint32_t i = 0; i < 300; i++)
		assert_true((row_of(sp, 1000 + i, 500 + i) != NULL) == (i >= 100));
	const struct proc_row *d = row_of(sp, 50, 7);
	assert_non_null(d);
	assert_false(d->exited);
	assert_int_equal(fm->deleted_socks, 100);
	assert_int_equal(fm->deleted_infos, 100);
	/* nothing lost: what is listed plus what was evicted is all that was sent */
	uint64_t listed = 0;
	for (size_t i = 0; i < sp->n_rows; i++)
		listed += sp->rows[i].tx_bytes;
	assert_int_equal(listed + sp->evicted.tx_bytes, total_tx + 5);
	free(sp);
	proc_model__free(m);
	free(fm);
}

/*
 * More processes at one reading than the table holds (PL_PROCS_MAX): the
 * rest wait in the maps (counted untracked) and come in at the next
 * readings; every one of them is counted once, listed or evicted.
 */
static void test_bound_table_full(void **state)
{
	fake_root();
	struct fake_maps *fm = maps_new();
	struct proc_model *m = proc_model__new(NULL, 0);
	proc_model_set_root(m, root);
	const uint32_t n = PL_PROCS_MAX + 808;
	for (uint32_t i = 0; i < n; i++)
		map_sock(fm, 3000 + i, (1000 + i) * TICK_NS, 50000 + i, (uint16_t)(1024 + i), 53, 3,
			 5 * SEC, "burst", NULL);
	struct snapshot_procs *sp = update(m, fm, 10 * SEC, NULL);
	assert_int_equal(sp->untracked_socks, 808);
	assert_int_equal(sp->n_rows, PL_PROCS_EXITED_MAX);
	assert_int_equal(sp->evicted.count, PL_PROCS_MAX - PL_PROCS_EXITED_MAX);
	free(sp);
	sp = update(m, fm, 11 * SEC, NULL);
	assert_int_equal(sp->untracked_socks, 0);
	assert_int_equal(sp->n_rows, PL_PROCS_EXITED_MAX);
	assert_int_equal(sp->evicted.count + sp->n_rows, n);
	assert_int_equal(sp->evicted.tx_bytes + 3 * sp->n_rows, 3ULL * n);
	/* the maps hold only what is listed */
	assert_int_equal(fm->n_socks, PL_PROCS_EXITED_MAX);
	assert_int_equal(fm->n_infos, PL_PROCS_EXITED_MAX);
	free(sp);
	proc_model__free(m);
	free(fm);
}

/*
 * The maps are read one after the other: a process's proc_info entry can be
 * read a reading before its socket's entry. Evicted in between, it must not
 * come back as a new row with the late entry: the entry is deleted and its
 * bytes are added to the evicted totals.
 */
static void test_late_entry_of_evicted(void **state)
{
	fake_root();
	struct fake_maps *fm = maps_new();
	struct proc_model *m = proc_model__new(NULL, 0);
	proc_model_set_root(m, root);
	for (uint32_t i = 0; i < PL_PROCS_EXITED_MAX; i++)
		map_sock(fm, 6000 + i, (600 + i) * TICK_NS, 60000 + i, (uint16_t)(2000 + i), 53, 1,
			 5 * SEC, "short", NULL);
	/* pid 7000: its proc_info only; it did nothing yet, so it goes first */
	size_t k = fm->n_infos++;
	memset(&fm->ik[k], 0, sizeof(fm->ik[k]));
	memset(&fm->iv[k], 0, sizeof(fm->iv[k]));
	fm->ik[k].tgid = 7000;
	fm->ik[k].start_ns = 1700 * TICK_NS;
	snprintf(fm->iv[k].comm, sizeof(fm->iv[k].comm), "late");
	struct snapshot_procs *sp = update(m, fm, 10 * SEC, NULL);
	assert_int_equal(sp->n_rows, PL_PROCS_EXITED_MAX);
	assert_int_equal(sp->evicted.count, 1);
	assert_null(row_of(sp, 7000, 1700));
	free(sp);
	/* its socket's entry, made after the socket map was read */
	size_t before = fm->n_socks;
	map_sock(fm, 7000, 1700 * TICK_NS, 77777, 4000, 53, 77, 9 * SEC, "late", NULL);
	sp = update(m, fm, 11 * SEC, NULL);
	assert_int_equal(sp->n_rows, PL_PROCS_EXITED_MAX);
	assert_null(row_of(sp, 7000, 1700));
	assert_int_equal(sp->evicted.count, 1);
	assert_int_equal(sp->evicted.sockets, 1);
	assert_int_equal(sp->evicted.tx_bytes, 77);
	assert_int_equal(fm->n_socks, before); /* deleted from the map */
	assert_int_equal(fm->n_infos, PL_PROCS_EXITED_MAX);
	free(sp);
	proc_model__free(m);
	free(fm);
}

/*
 * Pid 4242 runs "old", exits, and the pid is taken by "new". The new process
 * gets its own row and name, its flow is its own, and forgetting the old one
 * deletes only the old one's map entries.
 */
static void test_pid_reuse(void **state)
{
	fake_root();
	uint64_t ino_old = 700, ino_new = 701;
	fake_proc(4242, 1000, "old", &ino_old, 1);
	struct fake_maps *fm = maps_new();
	struct proc_model *m = proc_model__new(NULL, 0);
	proc_model_set_root(m, root);
	/* start_ns within the tick /proc shows */
	map_sock(fm, 4242, 1000 * TICK_NS + 3456789, ino_old, 5000, 53, 111, 1 * SEC, "old", NULL);
	struct snapshot_procs *sp = update(m, fm, 2 * SEC, NULL);
	assert_int_equal(sp->n_rows, 1);
	assert_false(sp->rows[0].exited);
	assert_string_equal(sp->rows[0].comm, "old");
	free(sp);

	/* old exits; new starts with the same pid */
	fake_proc_gone(4242);
	fake_proc(4242, 3000, "new", &ino_new, 1);
	map_sock(fm, 4242, 3000 * TICK_NS + 1, ino_new, 6000, 53, 222, 3 * SEC, "new", NULL);
	uint64_t t = 4 * SEC;
	sp = update(m, fm, t, NULL);
	assert_int_equal(sp->n_rows, 2);
	const struct proc_row *o = row_of(sp, 4242, 1000), *n = row_of(sp, 4242, 3000);
	assert_non_null(o);
	assert_non_null(n);
	assert_true(o->exited);
	assert_string_equal(o->comm, "old");
	assert_int_equal(o->tx_bytes, 111);
	assert_false(n->exited);
	assert_string_equal(n->comm, "new");
	assert_int_equal(n->tx_bytes, 222);
	assert_int_equal(n->udp, 1);
	struct flow_row f;
	set_flow(&f, 17, "10.0.0.1", 6000, "10.0.0.2", 53);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 4242);
	assert_string_equal(f.comm, "new");
	free(sp);

	/* the old one's keep time ends: its entries go, the new one's stay */
	struct proc_forget fg;
	sp = update(m, fm, t + (PL_PROC_KEEP_S + 1) * SEC, &fg);
	assert_int_equal(fg.n_socks, 1);
	assert_int_equal(fg.socks[0].ino, ino_old);
	assert_int_equal(fg.n_infos, 1);
	assert_int_equal(fg.infos[0].start_ns, 1000 * TICK_NS + 3456789);
	proc_forget_free(&fg);
	assert_int_equal(sp->n_rows, 1);
	assert_int_equal(sp->expired.count, 1); /* at the end of its keep time, not evicted */
	assert_int_equal(sp->expired.tx_bytes, 111);
	assert_int_equal(sp->evicted.count, 0);
	assert_int_equal(sp->rows[0].start_ticks, 3000);
	assert_false(sp->rows[0].exited);
	assert_int_equal(sp->rows[0].tx_bytes, 222);
	assert_int_equal(fm->n_socks, 1);
	assert_int_equal(fm->sk[0].ino, ino_new);
	assert_int_equal(fm->n_infos, 1);
	assert_string_equal(fm->iv[0].comm, "new");
	free(sp);
	proc_model__free(m);
	free(fm);
}

/*
 * /proc/PID/stat unreadable for one reading (the process is alive): it is
 * marked exited, but at the end of its keep time /proc shows it again as the
 * same process, and nothing of it is deleted.
 */
static void test_no_delete_while_alive(void **state)
{
	fake_root();
	uint64_t ino = 800;
	fake_proc(777, 4000, "flaky", &ino, 1);
	struct fake_maps *fm = maps_new();
	struct proc_model *m = proc_model__new(NULL, 0);
	proc_model_set_root(m, root);
	map_sock(fm, 777, 4000 * TICK_NS, ino, 7000, 53, 9, 1 * SEC, "flaky", NULL);
	free(update(m, fm, 2 * SEC, NULL));
	char path[512];
	snprintf(path, sizeof(path), "%s/777/stat", root);
	assert_int_equal(rename(path, "/tmp/pl-procmodel-stat-aside"), 0);
	struct snapshot_procs *sp = update(m, fm, 3 * SEC, NULL);
	assert_true(sp->rows[0].exited);
	free(sp);
	assert_int_equal(rename("/tmp/pl-procmodel-stat-aside", path), 0);
	struct proc_forget fg;
	sp = update(m, fm, (4 + PL_PROC_KEEP_S) * SEC, &fg);
	assert_int_equal(fg.n_socks, 0);
	assert_int_equal(fg.n_infos, 0);
	proc_forget_free(&fg);
	assert_int_equal(sp->n_rows, 1);
	assert_false(sp->rows[0].exited);
	assert_int_equal(fm->n_socks, 1);
	free(sp);
	proc_model__free(m);
	free(fm);
}

/*
 * nginx: the master (100) holds the listener, a worker (101) accepted the
 * connection and closed it. After the closed socket's row goes, the flow
 * still belongs to the worker, not to the listener's owner; a remembered
 * connection no flow asks for goes after PL_CLOSED_KEEP_S.
 */
static void test_closed_connection_keeps_owner(void **state)
{
	fake_root();
	uint64_t lino = 900;
	fake_proc(100, 10, "nginx", &lino, 1);
	fake_proc(101, 11, "nginx", &lino, 1); /* the worker inherited the listener */
	struct fake_maps *fm = maps_new();
	struct proc_model *m = proc_model__new(NULL, 0);
	proc_model_set_root(m, root);
	/* the master's listen(), as the tracepoint registers it */
	size_t i = fm->n_socks;
	map_sock(fm, 100, 10 * TICK_NS, lino, 80, 0, 0, 1 * SEC, "nginx", NULL);
	fm->sv[i].proto = 6;
	fm->sv[i].flags = PL_PS_LISTEN;
	fm->sv[i].state = 10;
	memset(fm->sv[i].local, 0, 16);
	memset(fm->sv[i].remote, 0, 16);
	/* the worker's accepted connection (socket 901, not among its fds: closed) */
	i = fm->n_socks;
	map_sock(fm, 101, 11 * TICK_NS, 901, 80, 40000, 300, 2 * SEC, "nginx", NULL);
	fm->sv[i].proto = 6;
	fm->sv[i].flags = PL_PS_ACCEPTED;
	fm->sv[i].state = 7;
	struct flow_row f;
	uint64_t t = 3 * SEC;
	struct snapshot_procs *sp = update(m, fm, t, NULL);
	set_flow(&f, 6, "10.0.0.1", 80, "10.0.0.2", 40000);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 101);
	free(sp);
	/* the closed socket's row folds into the worker's totals */
	t += (PL_SOCK_KEEP_S + 1) * SEC;
	sp = update(m, fm, t, NULL);
	const struct proc_row *w = row_of(sp, 101, 11);
	assert_non_null(w);
	assert_int_equal(w->n_socks, 0);
	assert_int_equal(w->tx_bytes, 300);
	assert_int_equal(sp->closed_remembered, 1);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 101);
	assert_string_equal(f.comm, "nginx");
	assert_int_equal(w->flows, 1);
	free(sp);
	/* asked for at every reading, it stays */
	for (int k = 0; k < 5; k++) {
		t += 10 * SEC;
		sp = update(m, fm, t, NULL);
		proc_model_fill_flow(m, &f, sp);
		assert_int_equal(f.pid, 101);
		free(sp);
	}
	/* no flow asks for it any more: it goes, and a new flow to port 80 is the listener's */
	t += (PL_CLOSED_KEEP_S + 1) * SEC;
	sp = update(m, fm, t, NULL);
	assert_int_equal(sp->closed_remembered, 0);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 100);
	free(sp);
	proc_model__free(m);
	free(fm);
}

static void v6(uint8_t *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
}

/* Dual-stack sockets: v4-mapped addresses meet IPv4 flow keys; a [::] listener stays IPv6. */
static void test_v4mapped(void **state)
{
	uint8_t fam, l[16], r[16], w4[16] = { 10, 0, 0, 1 }, w4r[16] = { 10, 0, 0, 2 },
				   z[16] = { 0 };

	fam = 6;
	v6(l, "::ffff:10.0.0.1");
	v6(r, "::ffff:10.0.0.2");
	proc_addr_normalise(&fam, l, r);
	assert_int_equal(fam, 4);
	assert_memory_equal(l, w4, 16);
	assert_memory_equal(r, w4r, 16);
	/* a socket before its source was chosen: :: with a mapped peer */
	fam = 6;
	v6(l, "::");
	v6(r, "::ffff:10.0.0.2");
	proc_addr_normalise(&fam, l, r);
	assert_int_equal(fam, 4);
	assert_memory_equal(l, z, 16);
	assert_memory_equal(r, w4r, 16);
	/* bound to a mapped address, no peer */
	fam = 6;
	v6(l, "::ffff:10.0.0.1");
	v6(r, "::");
	proc_addr_normalise(&fam, l, r);
	assert_int_equal(fam, 4);
	assert_memory_equal(l, w4, 16);
	assert_memory_equal(r, z, 16);
	/* [::] takes both families: stays IPv6 */
	fam = 6;
	v6(l, "::");
	v6(r, "::");
	proc_addr_normalise(&fam, l, r);
	assert_int_equal(fam, 6);
	/* a real IPv6 address is never rewritten, nor IPv4 */
	fam = 6;
	v6(l, "fd00::1");
	v6(r, "::ffff:10.0.0.2");
	proc_addr_normalise(&fam, l, r);
	assert_int_equal(fam, 6);
	v6(z, "fd00::1");
	assert_memory_equal(l, z, 16);
	fam = 4;
	memcpy(l, w4, 16);
	memcpy(r, w4r, 16);
	proc_addr_normalise(&fam, l, r);
	assert_int_equal(fam, 4);
	assert_memory_equal(l, w4, 16);

	/*
	 * In the model: a dual-stack connection known from /proc/net/tcp6 and one
	 * the maps give in mapped form: both own their IPv4 flows exactly, not
	 * through the [::]:8080 listener that another process holds.
	 */
	fake_root();
	uint64_t inos1[] = { 1001 }, inos2[] = { 1002, 1003 };
	fake_proc(300, 30, "listener", inos1, 1);
	fake_proc(301, 31, "server", inos2, 2);
	mk("300/net");
	put("300/net/tcp6",
	    "  sl  local_address                         remote_address                        st\n"
	    "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 "
	    "0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0\n"
	    "   1: 0000000000000000FFFF00000100000A:1F90 0000000000000000FFFF00000200000A:9C40 "
	    "01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 20 4 1 10 -1\n");
	mk("300/ns");
	put("300/ns/net", "");
	mk("301/ns");
	put("301/ns/net", "");
	mk("301/net");
	char rel[64], target[600];
	snprintf(target, sizeof(target), "%s/300/net/tcp6", root);
	snprintf(rel, sizeof(rel), "301/net/tcp6");
	lnk(target, rel);
	struct fake_maps *fm = maps_new();
	size_t i = fm->n_socks;
	map_sock(fm, 301, 31 * TICK_NS, 1003, 0, 0, 44, 1 * SEC, "server", NULL);
	fm->sv[i].proto = 6;
	fm->sv[i].family = 6;
	v6(fm->sv[i].local, "::");
	v6(fm->sv[i].remote, "::ffff:10.0.0.3");
	fm->sv[i].local_port = 8080;
	fm->sv[i].remote_port = 40001;
	struct proc_model *m = proc_model__new(NULL, 0);
	proc_model_set_root(m, root);
	struct snapshot_procs *sp = update(m, fm, 2 * SEC, NULL);
	struct flow_row f;
	set_flow(&f, 6, "10.0.0.1", 8080, "10.0.0.2", 40000);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 301);
	set_flow(&f, 6, "10.0.0.1", 8080, "10.0.0.3", 40001);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 301);
	/* a connection nobody accepted yet: the [::] listener's */
	set_flow(&f, 6, "10.0.0.1", 8080, "10.0.0.4", 40002);
	proc_model_fill_flow(m, &f, sp);
	assert_int_equal(f.pid, 300);
	free(sp);
	proc_model__free(m);
	free(fm);
}

/* dig's sockets are used by its thread isc-net-0000: the process is "dig", the thread is kept apart. */
static void test_thread_and_process_names(void **state)
{
	fake_root();
	struct fake_maps *fm = maps_new();
	map_sock(fm, 5555, 123 * TICK_NS, 1200, 41000, 53, 40, 1 * SEC, "dig", "isc-net-0000");
	fm->sv[0].tid = 5557;
	struct proc_model *m = proc_model__new(NULL, 0);
	proc_model_set_root(m, root);
	struct snapshot_procs *sp = update(m, fm, 2 * SEC, NULL);
	assert_int_equal(sp->n_rows, 1);
	assert_true(sp->rows[0].exited); /* gone before it was looked at: the maps tell its name */
	assert_string_equal(sp->rows[0].comm, "dig");
	assert_int_equal(sp->rows[0].n_socks, 1);
	assert_string_equal(sp->socks[0].thread, "isc-net-0000");
	assert_int_equal(sp->socks[0].tid, 5557);
	struct flow_row f;
	set_flow(&f, 17, "10.0.0.1", 41000, "10.0.0.2", 53);
	proc_model_fill_flow(m, &f, sp);
	assert_string_equal(f.comm, "dig");
	free(sp);
	proc_model__free(m);
	free(fm);
}

/* The JSON list: PL_JSON_PROCS_MAX processes, largest first; the rest summed in processes_left_out. */
static void test_json_processes_bounded(void **state)
{
	const size_t n = 4000;
	struct snapshot_procs *sp = calloc(1, sizeof(*sp) + n * sizeof(struct proc_row));
	assert_non_null(sp);
	sp->rows = (struct proc_row *)(sp + 1);
	sp->n_rows = n;
	uint64_t left_tx = 0;
	for (size_t i = 0; i < n; i++) {
		struct proc_row *r = &sp->rows[i];
		r->pid = (uint32_t)(10 + i);
		snprintf(r->comm, sizeof(r->comm), "p%zu", i);
		/* sizes not in pid order: pid 10+i sends (i * 7919) % 4000 bytes */
		r->tx_bytes = (i * 7919) % n;
		r->sockets = 1;
		if (r->tx_bytes < n - PL_JSON_PROCS_MAX)
			left_tx += r->tx_bytes;
	}
	struct snapshot *s = snapshot__new();
	s->procs = sp;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_write_snapshot(f, s);
	fclose(f);
	s->procs = NULL;
	snapshot_put(s);
	/* each row is a few hundred bytes: 4,000 would be over a megabyte */
	assert_true(len < 100 * 1024);
	const char *p = strstr(buf, "\"processes\":[");
	assert_non_null(p);
	uint64_t want = n - 1;
	size_t rows = 0;
	while ((p = strstr(p, "{\"pid\":")) && p < strstr(buf, "\"processes_left_out\"")) {
		unsigned pid;
		assert_int_equal(sscanf(p, "{\"pid\":%u", &pid), 1);
		const char *tx = strstr(p, "\"tx_bytes\":");
		unsigned long long v;
		assert_int_equal(sscanf(tx, "\"tx_bytes\":%llu", &v), 1);
		assert_int_equal(v, want--);
		rows++;
		p++;
	}
	assert_int_equal(rows, PL_JSON_PROCS_MAX);
	char expect[200];
	snprintf(expect, sizeof(expect),
		 "\"processes_left_out\":{\"count\":%zu,\"sockets\":%zu,\"rx_bytes\":0,"
		 "\"tx_bytes\":%llu}",
		 n - PL_JSON_PROCS_MAX, n - PL_JSON_PROCS_MAX, (unsigned long long)left_tx);
	assert_non_null(strstr(buf, expect));
	free(buf);
	free(sp);
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
		cmocka_unit_test_teardown(test_bound_oldest_exited_first, remove_root),
		cmocka_unit_test_teardown(test_bound_table_full, remove_root),
		cmocka_unit_test_teardown(test_late_entry_of_evicted, remove_root),
		cmocka_unit_test_teardown(test_pid_reuse, remove_root),
		cmocka_unit_test_teardown(test_no_delete_while_alive, remove_root),
		cmocka_unit_test_teardown(test_closed_connection_keeps_owner, remove_root),
		cmocka_unit_test_teardown(test_v4mapped, remove_root),
		cmocka_unit_test_teardown(test_thread_and_process_names, remove_root),
		cmocka_unit_test(test_json_processes_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
