/* The per-process model's map side: reads proc_socks and proc_info, deletes what the model forgot. */
#include <stdlib.h>
#include <bpf/bpf.h>

#include "core/internal.h"
#include "core/procmodel.h"

/* What the map can hold: its max_entries. */
static size_t map_max(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
}

struct snapshot_procs *proc_model_read(struct proc_model *m, const struct proc_maps *maps,
				       uint64_t start_ns, uint64_t now_ns, double dt)
{
	struct proc_input in = { 0 };
	struct proc_forget forget = { 0 };
	struct proc_sock_key *sk = NULL;
	struct proc_sock_val *sv = NULL;
	struct proc_key *ik = NULL;
	struct proc_info_val *iv = NULL;
	size_t ns = maps->socks_fd >= 0 ? map_max(maps->socks_fd) : 0;
	size_t ni = maps->info_fd >= 0 ? map_max(maps->info_fd) : 0;
	/* whole maps: the pages of unused room are never touched */
	if (ns) {
		sk = malloc(ns * sizeof(*sk));
		sv = malloc(ns * sizeof(*sv));
		if (sk && sv)
			in.n_socks =
			    map_read_all(maps->socks_fd, sk, sv, sizeof(*sk), sizeof(*sv), ns);
	}
	if (ni) {
		ik = malloc(ni * sizeof(*ik));
		iv = malloc(ni * sizeof(*iv));
		if (ik && iv)
			in.n_infos =
			    map_read_all(maps->info_fd, ik, iv, sizeof(*ik), sizeof(*iv), ni);
	}
	in.sock_keys = sk;
	in.sock_vals = sv;
	in.info_keys = ik;
	in.info_vals = iv;
	struct snapshot_procs *sp = proc_model_update(m, &in, &forget, start_ns, now_ns, dt);
	for (size_t i = 0; maps->socks_fd >= 0 && i < forget.n_socks; i++)
		bpf_map_delete_elem(maps->socks_fd, &forget.socks[i]);
	for (size_t i = 0; maps->info_fd >= 0 && i < forget.n_infos; i++)
		bpf_map_delete_elem(maps->info_fd, &forget.infos[i]);
	proc_forget_free(&forget);
	free(sk);
	free(sv);
	free(ik);
	free(iv);
	return sp;
}
