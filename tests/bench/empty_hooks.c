/* Benchmark aid: empty programs on pktlens' hooks, to measure what the hooks cost with nothing in them. */

/*
 * Figure 3 of make bench (configurations empty_tc and empty_tp) runs its workloads under this
 * as it does under pktlens: the difference between pktlens' probe groups and these is what
 * pktlens' programs cost, the rest is the hooks' own. -t IFACE attaches tc_empty to the
 * interface's ingress and egress as tcx links (first in the chain, like pktlens), -p attaches
 * the three raw tracepoints that pktlens' default probes fire per segment and per socket call
 * (tcp_probe, sock_recv_length, sock_send_length). Prints "attached" and holds the links until
 * SIGINT or SIGTERM; links vanish with the process.
 *
 * Usage: empty_hooks -t IFACE | -p
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench/empty.skel.h"

/* enum bpf_attach_type of kernels with tcx (6.6+), which libbpf 1.1's headers predate */
#define TCX_INGRESS 46
#define TCX_EGRESS 47
#define F_BEFORE (1U << 3)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *ifname = NULL;
	int tps = 0, opt;
	while ((opt = getopt(argc, argv, "t:p")) != -1) {
		if (opt == 't')
			ifname = optarg;
		else if (opt == 'p')
			tps = 1;
		else
			break;
	}
	if (!ifname == !tps) {
		fprintf(stderr, "usage: %s -t IFACE | -p\n", argv[0]);
		return 2;
	}
	struct empty_bpf *skel = empty_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "empty_hooks: loading the empty programs failed: %s\n",
			strerror(errno));
		return 1;
	}
	int links[3], n = 0;
	if (ifname) {
		int ifindex = (int)if_nametoindex(ifname);
		if (!ifindex) {
			fprintf(stderr, "empty_hooks: no interface %s\n", ifname);
			return 1;
		}
		int types[2] = { TCX_INGRESS, TCX_EGRESS };
		for (int i = 0; i < 2; i++) {
			LIBBPF_OPTS(bpf_link_create_opts, o, .flags = F_BEFORE);
			links[n] = bpf_link_create(bpf_program__fd(skel->progs.tc_empty), ifindex,
						   (enum bpf_attach_type)types[i], &o);
			if (links[n++] < 0) {
				fprintf(stderr, "empty_hooks: tcx on %s: %s\n", ifname,
					strerror(errno));
				return 1;
			}
		}
	} else {
		if (empty_bpf__attach(skel)) {
			fprintf(stderr, "empty_hooks: attaching the raw tracepoints: %s\n",
				strerror(errno));
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	for (int i = 0; i < n; i++)
		close(links[i]);
	empty_bpf__destroy(skel);
	return 0;
}
