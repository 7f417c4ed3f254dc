/* The per-process model's place in the engine: reads proc_socks and proc_info, deletes what it forgot, JSON. */
#include <stdlib.h>
#include <bpf/bpf.h>

#include "core/json.h"
#include "core/jsonw.h"
#include "core/maps.h"
#include "core/model.h"
#include "core/procmodel.h"

struct procs_reader {
	struct proc_model *m;
	/* the maps' entries of the last reading; kept to be refilled without allocating */
	struct proc_sock_key *sk;
	struct proc_sock_val *sv;
	size_t sock_cap;
	struct proc_key *ik;
	struct proc_info_val *iv;
	size_t info_cap;
};

static void *procs_create(const struct model_env *env)
{
	struct procs_reader *r = calloc(1, sizeof(*r));
	if (r && !(r->m = proc_model__new(env->tcp_states, env->netns_ino))) {
		free(r);
		r = NULL;
	}
	return r;
}

static void procs_free(void *p)
{
	struct procs_reader *r = p;
	if (!r)
		return;
	proc_model__free(r->m);
	free(r->sk);
	free(r->sv);
	free(r->ik);
	free(r->iv);
	free(r);
}

static void procs_read(void *p, const struct model_env *env, const struct model_tick *t,
		       struct snapshot *s)
{
	struct procs_reader *r = p;
	struct maps_desc socks = { maps_fd(env->obj, "proc_socks"), sizeof(struct proc_sock_key),
				   sizeof(struct proc_sock_val), MAPS_PLAIN };
	struct maps_desc infos = { maps_fd(env->obj, "proc_info"), sizeof(struct proc_key),
				   sizeof(struct proc_info_val), MAPS_PLAIN };
	struct proc_input in = { 0 };
	struct proc_forget forget = { 0 };
	long n = maps_read_grow(&socks, (void **)&r->sk, (void **)&r->sv, &r->sock_cap);
	in.sock_keys = r->sk;
	in.sock_vals = r->sv;
	in.n_socks = n > 0 ? (size_t)n : 0;
	n = maps_read_grow(&infos, (void **)&r->ik, (void **)&r->iv, &r->info_cap);
	in.info_keys = r->ik;
	in.info_vals = r->iv;
	in.n_infos = n > 0 ? (size_t)n : 0;
	s->procs = proc_model_update(r->m, &in, &forget, env->start_ns, t->now_ns, t->dt);
	for (size_t i = 0; socks.fd >= 0 && i < forget.n_socks; i++)
		bpf_map_delete_elem(socks.fd, &forget.socks[i]);
	for (size_t i = 0; infos.fd >= 0 && i < forget.n_infos; i++)
		bpf_map_delete_elem(infos.fd, &forget.infos[i]);
	proc_forget_free(&forget);
}

static void procs_fill(void *p, struct flow_row *row)
{
	struct procs_reader *r = p;
	proc_model_match_flow(r->m, row);
}

/* A flow's process row counts it, its retransmissions and drops (filled before). */
static void procs_count(void *p, const struct flow_row *row, struct snapshot *s)
{
	struct procs_reader *r = p;
	proc_model_count_flow(r->m, row, s->procs);
}

static uint64_t procs_version(void *p)
{
	return proc_model_version(((struct procs_reader *)p)->m);
}

const struct model_ops procs_model_ops = {
	.name = "processes",
	.create = procs_create,
	.read = procs_read,
	.fill = procs_fill,
	.count = procs_count,
	.version = procs_version,
	.json = json_write_processes,
	.free = procs_free,
};
