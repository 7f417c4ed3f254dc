/* The application-layer model's place in the engine: its ring buffer, counters, flows and JSON sections. */
#include <stdlib.h>

#include "core/json.h"
#include "core/jsonw.h"
#include "core/l7model.h"
#include "core/maps.h"
#include "core/model.h"

static void *l7_create(const struct model_env *env)
{
	/* --slow-ms, else PKTLENS_SLOW_MS (older scripts), else the model's default */
	double slow_ms = env->slow_ms;
	if (slow_ms <= 0 && getenv("PKTLENS_SLOW_MS"))
		slow_ms = atof(getenv("PKTLENS_SLOW_MS"));
	return l7_model__new(slow_ms);
}

static void l7_free(void *m)
{
	l7_model__free(m);
}

static void l7_event(void *m, const void *data, size_t len, const struct model_env *env)
{
	l7_model_event(m, data, len, env->start_ns);
}

static void l7_read(void *m, const struct model_env *env, const struct model_tick *t,
		    struct snapshot *s)
{
	struct maps_desc stats = { maps_fd(env->obj, "l7_stats"), sizeof(__u32),
				   sizeof(struct l7_counters), MAPS_SUM_U64 };
	struct l7_counters c = { 0 };
	__u32 zero = 0;
	maps_lookup_sum(&stats, &zero, &c);
	s->l7 = l7_model_read(m, &c, t->now_ns);
}

static void l7_fill(void *m, struct flow_row *r)
{
	l7_model_fill_flow(m, r);
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
	.json = l7_json,
	.free = l7_free,
};
