/* Reading /proc (or a test's fake of it): process identity and names, socket fds, /proc/net tables. */
#ifndef PKTLENS_PROCFS_H
#define PKTLENS_PROCFS_H

#include <stddef.h>
#include <stdint.h>

struct procfs {
	char root[256]; /* "/proc", or a fake tree with the same layout */
};

void procfs_init(struct procfs *fs, const char *root);

/*
 * Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * since boot (never 0 for a live process); 0 when there is no such process.
 * A pid and this time name one process: a reused pid has a later one.
 */
uint64_t procfs_starttime(const struct procfs *fs, uint32_t pid);
/* Clock ticks per second of that field (sysconf(_SC_CLK_TCK), USER_HZ). */
uint64_t procfs_ticks_per_s(void);
/*
 * What the reader's time namespace adds to CLOCK_BOOTTIME (self/timens_offsets):
 * /proc/PID/stat shows start times with it added, the kernel's task fields
 * without. 0 outside a time namespace or when the file is missing.
 */
int64_t procfs_boottime_offset_ns(const struct procfs *fs);

struct procfs_info {
	char comm[16];	    /* /proc/PID/comm: the thread group leader's name */
	char cmdline[256];  /* argv joined by spaces, may be cut */
	char cgroup[128];   /* cgroup v2 path ("0::" line of /proc/PID/cgroup) */
	uint64_t cgroup_id; /* inode of that directory under /sys/fs/cgroup; 0 if unknown */
};
/* Fills what it can read; 0 when at least the name was read, -1 when the process is gone. */
int procfs_read_info(const struct procfs *fs, uint32_t pid, struct procfs_info *out);

/* argv as the kernel stores it (NUL between arguments) joined by spaces into dst. */
void proc_argv_join(char *dst, size_t dstlen, const char *src, size_t n);

/* Socket inodes among a process's fds, sorted; NULL (*n 0) when it has none or is gone. */
uint64_t *procfs_fd_inodes(const struct procfs *fs, uint32_t pid, size_t *n);

/* One line of /proc/net/{tcp,udp,icmp}[6]; 0 on success. Addresses as the kernel holds them. */
struct procnet_ent {
	uint64_t ino;
	uint8_t local[16], remote[16];
	uint16_t local_port, remote_port;
	uint8_t family, state;
};
int procnet_parse_line(const char *line, int v6, struct procnet_ent *out);

/* One socket fd of one process, as `ss -p` finds it. */
struct procfs_sock {
	uint32_t pid;
	uint64_t start; /* procfs_starttime() of pid */
	uint8_t proto;	/* IPPROTO_* */
	struct procnet_ent e;
};

/*
 * Every process's inet sockets: socket fds matched by inode against the
 * /proc/net tables of the process's network namespace (read once per
 * namespace). netns_ino != 0: only processes of that namespace; self_pid is
 * skipped. At most max entries (*truncated set when more existed). Returns a
 * malloc'ed array (NULL, *n 0 when none).
 */
struct procfs_sock *procfs_scan(const struct procfs *fs, uint64_t netns_ino, uint32_t self_pid,
				size_t max, size_t *n, int *truncated);

#endif
