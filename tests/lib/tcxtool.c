/* Test helper: list the tcx programs of an interface, or hold a foreign tcx program there (bpftool 7.1 knows no tcx). */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define TCX_INGRESS 46
#define TCX_EGRESS 47

static int usage(void)
{
	fprintf(stderr, "usage: tcxtool list IFACE ingress|egress\n"
			"       tcxtool hold OBJ PROG IFACE ingress|egress  (until killed)\n"
			"       tcxtool probe  (exit 0 when the kernel has tcx)\n");
	return 2;
}

static int dir_type(const char *d)
{
	return !strcmp(d, "egress") ? TCX_EGRESS : TCX_INGRESS;
}

/* One line per program, in run order: "ID NAME". */
static int list(const char *ifname, const char *dir)
{
	unsigned ifindex = if_nametoindex(ifname);
	__u32 ids[64], cnt = 64, flags = 0;
	if (!ifindex) {
		fprintf(stderr, "no interface %s\n", ifname);
		return 1;
	}
	if (bpf_prog_query((int)ifindex, (enum bpf_attach_type)dir_type(dir), 0, &flags, ids,
			   &cnt)) {
		fprintf(stderr, "tcx query on %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	for (__u32 i = 0; i < cnt; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			printf("%u %s\n", ids[i], info.name);
		else
			printf("%u ?\n", ids[i]);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

static int hold(const char *obj_path, const char *prog_name, const char *ifname, const char *dir)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", obj_path);
		return 1;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, prog_name);
	unsigned ifindex = if_nametoindex(ifname);
	if (!prog || !ifindex) {
		fprintf(stderr, "no program %s or interface %s\n", prog_name, ifname);
		return 1;
	}
	int fd = bpf_link_create(bpf_program__fd(prog), (int)ifindex,
				 (enum bpf_attach_type)dir_type(dir), NULL);
	if (fd < 0) {
		fprintf(stderr, "tcx attach on %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "probe")) {
		__u32 ids[1], cnt = 1, flags = 0;
		int r = bpf_prog_query(1, (enum bpf_attach_type)TCX_INGRESS, 0, &flags, ids, &cnt);
		return r == 0 || errno == ENOSPC ? 0 : 1;
	}
	if (argc == 4 && !strcmp(argv[1], "list"))
		return list(argv[2], argv[3]);
	if (argc == 6 && !strcmp(argv[1], "hold"))
		return hold(argv[2], argv[3], argv[4], argv[5]);
	return usage();
}
