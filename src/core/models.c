/* Every data source of the engine, once: the order of this table is the order of reads, fills and JSON. */
#include <stddef.h>

#include "core/model.h"

extern const struct model_ops tcp_model_ops, drops_model_ops, l7_model_ops, procs_model_ops,
    security_model_ops;

/* processes last: a flow's process row counts its retransmissions and drops, filled before it */
const struct model_ops *const pl_models[] = {
	&tcp_model_ops,
	&drops_model_ops,
	&l7_model_ops,
	&procs_model_ops,
	/* after drops: bursts of one drop reason are read from the drops model's part */
	&security_model_ops,
};

const size_t pl_n_models = sizeof(pl_models) / sizeof(pl_models[0]);
_Static_assert(sizeof(pl_models) / sizeof(pl_models[0]) <= PL_MODELS_MAX, "PL_MODELS_MAX");
