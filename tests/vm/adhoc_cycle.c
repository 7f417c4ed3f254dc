/* VM helper: attaches and detaches one ad-hoc probe many times in one engine and checks fds return to the start. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Usage: pl-cycle SPEC [SPEC2] COUNT: every round adds/toggles SPEC (and SPEC2) on and off. */
int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pl-cycle SPEC [SPEC2] COUNT\n");
		return 2;
	}
	int rounds = atoi(argv[argc - 1]), nspecs = argc - 2;
	char err[256] = "", id[2][512];
	if (nspecs > 2)
		nspecs = 2;
	struct engine_opts o = { .probes = "none", .flow_entries = 1024, .idle_timeout_s = 60 };
	struct engine *e = engine__new(&o, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "engine: %s\n", err);
		return 1;
	}
	int ret = 1, fds0 = -1;
	for (int r = 0; r < rounds; r++) {
		for (int s = 0; s < nspecs; s++) {
			if (r == 0) {
				if (engine_probe_add(e, argv[1 + s], err, sizeof(err))) {
					fprintf(stderr, "add %s: %s\n", argv[1 + s], err);
					goto out;
				}
				/* kprobe:FUNC and uprobe:/ABS/PATH:SYM are their own ids. */
				snprintf(id[s], sizeof(id[s]), "%s", argv[1 + s]);
			} else if (engine_probe_toggle(e, id[s], err, sizeof(err))) {
				fprintf(stderr, "attach %s: %s\n", id[s], err);
				goto out;
			}
		}
		struct snapshot *sn = engine_refresh(e);
		snapshot_put(sn);
		for (int s = nspecs - 1; s >= 0; s--)
			if (engine_probe_toggle(e, id[s], err, sizeof(err))) {
				fprintf(stderr, "detach %s: %s\n", id[s], err);
				goto out;
			}
		if (r == 0)
			fds0 = count_fds();
	}
	int fds1 = count_fds();
	printf("rounds %d fds after first %d after last %d\n", rounds, fds0, fds1);
	ret = fds1 != fds0;
out:
	engine__free(e);
	return ret;
}
