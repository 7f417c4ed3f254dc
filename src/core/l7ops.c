/* The application-layer model's place in the engine: its ring buffer, counters, flows and JSON sections. */
#include <stddef.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/jsonw.h"
#include "core/l7model.h"
#include "core/maps.h"
#include "core/model.h"

struct l7_ops {
	struct l7_model *m;
	uint64_t version; /* moves when a flow's protocol was decided or changed */
};

static void *l7_create(const struct model_env *env)
{
	/* --slow-ms, else PKTLENS_SLOW_MS (older scripts), else the model's default */
	double slow_ms = env->slow_ms;
	if (slow_ms <= 0 && getenv("PKTLENS_SLOW_MS"))
		slow_ms = atof(getenv("PKTLENS_SLOW_MS"));
	struct l7_ops *o = calloc(1, sizeof(*o));
	if (o && !(o->m = l7_model__new(slow_ms))) {
		free(o);
		o = NULL;
	}
	return o;
}

static void l7_free(void *p)
{
	struct l7_ops *o = p;
	if (!o)
		return;
	l7_model__free(o->m);
	free(o);
}

void l7ops_set_slow_ms(void *p, double ms)
{
	l7_model_set_slow_ms(((struct l7_ops *)p)->m, ms);
}

static void l7_event(void *p, const void *data, size_t len, const struct model_env *env)
{
	struct l7_ops *o = p;
	const struct l7_event *ev = data;
	if (len >= offsetof(struct l7_event, comm) && ev->kind == PL_L7K_PROTO)
		o->version++;
	l7_model_event(o->m, data, len, env->start_ns);
}

static uint64_t l7_version(void *p)
{
	return ((struct l7_ops *)p)->version;
}

static void l7_read(void *p, const struct model_env *env, const struct model_tick *t,
		    struct snapshot *s)
{
	struct l7_model *m = ((struct l7_ops *)p)->m;
	struct maps_desc stats = { maps_fd(env->obj, "l7_stats"), sizeof(__u32),
				   sizeof(struct l7_counters), MAPS_SUM_U64 };
	struct l7_counters c = { 0 };
	__u32 zero = 0;
	maps_lookup_sum(&stats, &zero, &c);
	s->l7 = l7_model_read(m, &c, t->now_ns);
}

static void l7_fill(void *p, struct flow_row *r)
{
	l7_model_fill_flow(((struct l7_ops *)p)->m, r);
}

static void l7_json(struct jw *w, const struct snapshot *s)
{
	jw_raw(w, json_write_l7_legacy, s->l7);
}

const struct model_ops l7_model_ops = {
	.name = "l7",
	.create = l7_create,
	.ring = "l7_events",
	.event = l7_event,
	.read = l7_read,
	.fill = l7_fill,
	.version = l7_version,
	.json = l7_json,
	.free = l7_free,
};
