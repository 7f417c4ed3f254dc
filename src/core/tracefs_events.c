/* Finds and removes the legacy tracefs kprobe/uprobe events that a pktlens which died left behind. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/instance.h"
#include "core/tracefs_events.h"

unsigned legacy_event_parse(const char *line, char *event, size_t len)
{
	/* "p:GROUP/NAME ..." or "r[MAXACTIVE]:GROUP/NAME ..." */
	const char *c = strchr(line, ':'), *sp;
	if (!c || (line[0] != 'p' && line[0] != 'r'))
		return 0;
	c++;
	sp = c + strcspn(c, " \t\n");
	const char *slash = memchr(c, '/', (size_t)(sp - c));
	if (!slash)
		return 0;
	const char *name = slash + 1;
	if (strncmp(name, "libbpf_", 7))
		return 0;
	const char *d = name + 7;
	unsigned long pid = 0;
	size_t nd = 0;
	while (isdigit((unsigned char)d[nd]) && nd < 10)
		pid = pid * 10 + (unsigned long)(d[nd++] - '0');
	if (!nd || d[nd] != '_' || !pid || pid > 0x7fffffffUL)
		return 0;
	if ((size_t)(sp - c) >= len)
		return 0;
	memcpy(event, c, (size_t)(sp - c));
	event[sp - c] = '\0';
	return (unsigned)pid;
}

static void clean_file(const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return;
	char line[512], gone[32][256];
	size_t n = 0;
	while (fgets(line, sizeof(line), f) && n < 32) {
		unsigned pid = legacy_event_parse(line, gone[n], sizeof(gone[n]));
		if (pid && instance_pid_dead(pid))
			n++;
	}
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		int fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
		char cmd[300];
		int l = snprintf(cmd, sizeof(cmd), "-:%s\n", gone[i]);
		if (fd >= 0 && write(fd, cmd, (size_t)l) == l)
			pr_info("removed the stale probe event %s of a pktlens that died", gone[i]);
		else
			pr_warn("removing the stale probe event %s: %s", gone[i], strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

void legacy_events_cleanup(void)
{
	static const char *files[] = {
		"/sys/kernel/tracing/kprobe_events",
		"/sys/kernel/tracing/uprobe_events",
		"/sys/kernel/debug/tracing/kprobe_events",
		"/sys/kernel/debug/tracing/uprobe_events",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		clean_file(files[i]);
}
