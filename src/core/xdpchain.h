/* XDP beside other programs: libxdp's dispatcher where the kernel runs it, else one program alone. */
#ifndef PKTLENS_XDPCHAIN_H
#define PKTLENS_XDPCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Run priority of pktlens' flow counting in a dispatcher; lower runs
 * first. xdp-filter's programs run at 10 and libxdp's default is 50, so
 * pktlens sees a packet before a program that drops it. It returns
 * XDP_PASS, on which the dispatcher goes on to the next program, so it
 * takes nothing away from those after it.
 */
#define PL_XDP_PRIO 5
#define PL_XDP_CHAIN_MAX 12

struct engine;
struct bpf_link;

/* One program on an interface's XDP hook, in run order. */
struct xdp_chain_prog {
	uint32_t id;
	char name[16];
	int prio; /* run priority in a dispatcher; -1 for the dispatcher or a program alone */
	bool dispatcher; /* libxdp's dispatcher itself */
};

/*
 * One of pktlens' programs on one interface's XDP hook. Zeroed, it is
 * detached; xdp_chain_attach() fills it, xdp_chain_detach() empties it.
 */
struct xdp_att {
	int ifindex;
	unsigned prio;
	bool dispatcher;  /* a component of libxdp's dispatcher, else the hook's only program */
	uint32_t prog_id; /* the program that runs: the freplace copy, or the program itself */
	struct bpf_link *link; /* alone: a link, which goes with the process */
	/* the hook's programs as last listed, while its main program was listed_main */
	uint32_t listed_main;
	struct xdp_chain_prog chain[PL_XDP_CHAIN_MAX];
	int n_chain;
	uint32_t chain_more;
};

/*
 * Attaches program `name` of pktlens' BPF object (loaded, type XDP) to
 * ifindex. Where the kernel runs libxdp's dispatcher (features:
 * xdp_chain), a freplace copy of it joins the interface's dispatcher at
 * run priority prio, beside whatever other libxdp users put there; else it
 * attaches alone through a link, and only where the hook is empty. A
 * program that pktlens did not load is never replaced. Returns 0, or
 * -errno with one sentence in err.
 *
 * In a dispatcher, lower prio runs first, and the chain goes on to the
 * next program only on XDP_PASS (libxdp's default chain_call_actions), so
 * a program that drops hides those packets from the ones after it. Where
 * XDP cannot chain, one program per interface: a second program of this
 * pktlens on the same interface fails with -EBUSY and says so. The same
 * name at another prio loads another freplace copy (at most four).
 */
int xdp_chain_attach(struct engine *e, struct xdp_att *a, const char *name, int ifindex,
		     const char *ifname, unsigned prio, char *err, size_t errlen);
/* Takes this attachment off its hook; everything else in a dispatcher keeps running. */
void xdp_chain_detach(struct engine *e, struct xdp_att *a);
/* How it is or would be attached: "native, libxdp dispatcher prio 5", "single program (...)". */
void xdp_chain_mode(struct engine *e, const struct xdp_att *a, char *buf, size_t len);
/*
 * Lists the programs on the attachment's hook in run order into a->chain
 * (a dispatcher, then its components with their priorities), re-reading
 * only when the hook's program changed. Returns the number listed.
 */
int xdp_chain_list(struct engine *e, struct xdp_att *a);
/*
 * Takes the programs of pktlens instances that died (their claims in
 * /run/pktlens, never their names) out of the dispatchers of this network
 * namespace's interfaces.
 */
void xdp_chain_sweep(struct engine *e);
/* Unloads the freplace copies; call after every attachment was detached. */
void xdp_chain_free(struct engine *e);

#endif
