/* Unit tests for instance ownership by lock (not by name), the run directory's checks, safe file opening and theme lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/instance.h"
#include "core/safefile.h"
#include "ui/theme.h"

static char base[64];

static void path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", base, name);
}

static void touch(const char *name)
{
	char p[128];
	path_in(p, sizeof(p), name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static bool exists(const char *name)
{
	char p[128];
	path_in(p, sizeof(p), name);
	return access(p, F_OK) == 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/pl-instance-XXXXXX");
	assert_non_null(mkdtemp(base));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	instance_end();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Names: exactly a pid, nothing that merely starts with digits. */
static void test_names(void **state)
{
	(void)state;
	assert_int_equal(instance_name_pid("1234"), 1234);
	assert_int_equal(instance_name_pid("1"), 1);
	assert_int_equal(instance_name_pid("123abc"), 0);
	assert_int_equal(instance_name_pid("00042"), 0);
	assert_int_equal(instance_name_pid("0"), 0);
	assert_int_equal(instance_name_pid(""), 0);
	assert_int_equal(instance_name_pid("99999999999"), 0);
	assert_int_equal(instance_name_pid("4294967295"), 0);
	assert_int_equal(instance_name_pid("12.lock"), 0);
}

/* A live instance is whoever holds the lock, whatever it is called; its claims count until it dies. */
static void test_live_by_lock(void **state)
{
	char dir[80], err[256];
	int ready[2], hold[2];
	(void)state;
	snprintf(dir, sizeof(dir), "%s/run", base);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(hold), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char c;
		close(ready[0]);
		close(hold[1]);
		if (instance_start(dir, err, sizeof(err)) || instance_claim_prog(777))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		if (read(hold[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);

	assert_int_equal(instance_start(dir, err, sizeof(err)), 0);
	assert_int_equal(instance_claim_prog(555), 0);
	assert_true(instance_owns_prog(555));
	assert_false(instance_owns_prog(777));
	assert_int_equal(instance_prog_owner(777), child);
	assert_int_equal(instance_prog_owner(555), 0); /* ours, not another's */
	assert_int_equal(instance_prog_owner(999), 0);
	assert_false(instance_pid_dead((unsigned)child));

	/* kill -9: the kernel drops the lock; the claim no longer protects anything */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(instance_prog_owner(777), 0);
	assert_true(instance_pid_dead((unsigned)child));

	/* sweeping removes the dead instance's file and nothing that is not exactly a pid */
	char name[16], p[64];
	snprintf(name, sizeof(name), "%d", (int)child);
	const char *odd[] = { "run/123abc", "run/00042", "run/notes" };
	for (size_t i = 0; i < 3; i++)
		touch(odd[i]);
	snprintf(p, sizeof(p), "run/%s", name);
	assert_true(exists(p));
	instance_sweep_dead();
	assert_false(exists(p));
	for (size_t i = 0; i < 3; i++)
		assert_true(exists(odd[i]));
	snprintf(p, sizeof(p), "run/%d", (int)getpid());
	assert_true(exists(p));
	instance_end();
	assert_false(exists(p));
	close(ready[0]);
	close(hold[1]);
}

static uint32_t live_prog; /* the one program id the fake existence check knows */

static bool fake_prog_exists(uint32_t id)
{
	return id == live_prog;
}

/*
 * An XDP program claimed by a pktlens that died can outlive it (pinned in
 * libxdp's dispatcher): its file stays while the program exists, so that
 * the next pktlens knows whose it is; it goes once the program is gone or
 * was removed by this process. A tc claim keeps nothing.
 */
static void test_xdp_claim_keeps_dead_file(void **state)
{
	char dir[80], err[256], p[64];
	int ready[2];
	(void)state;
	snprintf(dir, sizeof(dir), "%s/run", base);
	assert_int_equal(pipe(ready), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(ready[0]);
		if (instance_start(dir, err, sizeof(err)) || instance_claim_prog(41) ||
		    instance_claim_xdp(42) || instance_claim_xdp(43))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	instance_set_prog_exists(fake_prog_exists);
	assert_int_equal(instance_start(dir, err, sizeof(err)), 0);
	assert_int_equal(instance_dead_owner(42), 0); /* alive: not a dead owner's */
	assert_int_equal(instance_prog_owner(42), child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(instance_dead_owner(42), child);
	assert_int_equal(instance_dead_owner(41), child);
	assert_int_equal(instance_dead_owner(44), 0);
	assert_int_equal(instance_prog_owner(42), 0);

	snprintf(p, sizeof(p), "run/%d", (int)child);
	live_prog = 43; /* still in a dispatcher somewhere */
	instance_sweep_dead();
	assert_true(exists(p));
	assert_int_equal(instance_dead_owner(43), child);
	instance_prog_removed(43); /* this process took it out */
	/* a tc program's claim keeps nothing, even while that program exists */
	live_prog = 41;
	instance_sweep_dead();
	assert_false(exists(p));
	instance_end();
	instance_set_prog_exists(NULL);
}

/* The run directory must be root's own: not a symlink, not writable by others. */
static void test_run_dir_checks(void **state)
{
	char dir[80], real[80], err[256];
	(void)state;
	snprintf(real, sizeof(real), "%s/real", base);
	snprintf(dir, sizeof(dir), "%s/link", base);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, dir), 0);
	assert_int_not_equal(instance_start(dir, err, sizeof(err)), 0);
	assert_non_null(strstr(err, dir));
	assert_int_equal(chmod(real, 0777), 0);
	assert_int_not_equal(instance_start(real, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "writable"));
}

/* Files named by the operator: no symlink, regular files, owned by root or the invoker. */
static void test_safefile(void **state)
{
	char f[80], l[80], err[256];
	bool q;
	(void)state;
	path_in(f, sizeof(f), "theme");
	path_in(l, sizeof(l), "link");
	touch("theme");
	assert_int_equal(symlink(f, l), 0);
	int fd = safefile_open_read(f, "theme file", &q, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(safefile_open_read(l, "theme file", &q, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	assert_true(chown(f, 65534, 65534) == 0);
	assert_int_equal(safefile_open_read(f, "theme file", &q, err, sizeof(err)), -EPERM);
	assert_int_equal(safefile_open_read(base, "theme file", &q, err, sizeof(err)), -EINVAL);

	/* a log file: a new one is created, a symlink or someone else's file is refused */
	char log[80];
	path_in(log, sizeof(log), "new.log");
	fd = safefile_open_append(log, "log file", err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(safefile_open_append(l, "log file", err, sizeof(err)), -ELOOP);
	assert_int_equal(safefile_open_append(f, "log file", err, sizeof(err)), -EPERM);
}

/* A bare name is a theme; a file in the current directory is loaded only as a path. */
static void test_theme_find(void **state)
{
	char out[256], err[512], cwd[256], themes[80];
	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(themes, sizeof(themes), "%s/themes", base);
	assert_int_equal(mkdir(themes, 0755), 0);
	touch("themes/dark.theme");
	touch("mine");
	assert_int_equal(chdir(base), 0);
	assert_int_equal(theme_find("dark", themes, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, "themes/dark.theme"));
	assert_int_equal(theme_find("mine", themes, out, sizeof(out), err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "themes/mine.theme"));
	assert_non_null(strstr(err, "./mine"));
	assert_int_equal(theme_find("nothere", themes, out, sizeof(out), err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "themes/nothere.theme"));
	assert_non_null(strstr(err, "dark"));
	assert_int_equal(theme_find("./mine", themes, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "./mine");
	assert_int_equal(chdir(cwd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_live_by_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_claim_keeps_dead_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_dir_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safefile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_theme_find, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
