/* What a pktlens which died left behind: classic tc filters (found by their program, owned by nobody's lock) and XDP programs in dispatchers (claimed by its file). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "core/instance.h"
#include "core/log.h"
#include "core/tcnl.h"

/* Our program names as the kernel keeps them (BPF_OBJ_NAME_LEN - 1 characters). */
static bool is_our_tc_prog(const char *name)
{
	return !strncmp(name, "tc_ingress_flows", 15) || !strncmp(name, "tc_egress_flows", 15);
}

/*
 * tc filters attached through netlink outlive their process. A BPF filter
 * running one of our programs (libbpf names the filter after the program)
 * that no live pktlens claims (see instance.h: a lock held by the live
 * instance, not a process name) was left by a pktlens that died: remove
 * it. Anything else is someone else's and stays.
 */
void probes_remove_stale(struct engine *e)
{
	xdp_chain_sweep(e);
	if (e->nl_fd < 0)
		return;
	for (int i = 0; i < e->n_ifaces; i++) {
		for (int pt = 0; pt < 2; pt++) {
			uint32_t parent = pt ? PL_TC_PARENT_EGRESS : PL_TC_PARENT_INGRESS;
			struct tcnl_filter fl[64];
			int n = tcnl_filters(e->nl_fd, e->ifaces[i].ifindex, parent, fl, 64);
			for (int k = 0; k < n && k < 64; k++) {
				struct tcnl_filter *f = &fl[k];
				if (!f->handle || strcmp(f->kind, "bpf") ||
				    !is_our_tc_prog(f->name) || instance_owns_prog(f->prog_id))
					continue;
				int owner = instance_prog_owner(f->prog_id);
				if (owner) {
					pr_debug(
					    "%s: tc filter handle 0x%x belongs to pktlens pid %d",
					    e->ifaces[i].name, f->handle, owner);
					continue;
				}
				int ret = tcnl_filter_del(e->nl_fd, e->ifaces[i].ifindex, parent,
							  f->handle, f->prio, f->proto);
				if (ret == 0)
					pr_info(
					    "%s: removed a stale tc filter (program id %u) of a "
					    "pktlens that died",
					    e->ifaces[i].name, f->prog_id);
				else if (ret != -ENOENT)
					pr_warn("%s: removing a stale tc filter: %s",
						e->ifaces[i].name, strerror(-ret));
			}
		}
	}
}
