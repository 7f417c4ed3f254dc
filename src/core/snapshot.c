/* Snapshot life (reference counted, immutable once published) and the names of probe kinds and states. */
#include <stdlib.h>

#include "core/histring.h"
#include "core/snapshot.h"

static const char *const kind_names[PK_MAX] = {
	[PK_XDP] = "xdp",
	[PK_TC_INGRESS] = "tc-ingress",
	[PK_TC_EGRESS] = "tc-egress",
	[PK_TRACEPOINT] = "tracepoint",
	[PK_KPROBE] = "kprobe",
	[PK_KRETPROBE] = "kretprobe",
	[PK_UPROBE] = "uprobe",
	[PK_URETPROBE] = "uretprobe",
	[PK_SOCKET_FILTER] = "socket-filter",
};

static const char *const state_names[] = {
	[PS_DETACHED] = "detached",
	[PS_ATTACHED] = "attached",
	[PS_UNSUPPORTED] = "unsupported",
	[PS_ERROR] = "error",
};

const char *probe_kind_name(enum probe_kind k)
{
	/* the enum comes from our own code, but a JSON writer must never print NULL */
	if ((unsigned)k >= PK_MAX)
		return "unknown";
	return kind_names[k];
}

const char *probe_state_name(enum probe_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[s];
}

struct snapshot *snapshot__new(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->refs = 1;
	return s;
}

struct snapshot *snapshot_get(struct snapshot *s)
{
	if (s)
		s->refs++;
	return s;
}

void snapshot_put(struct snapshot *s)
{
	if (!s || --s->refs > 0)
		return;
	free(s->probes);
	free(s->flows);
	free(s->drops);
	free(s->tcp);
	free(s->l7);
	free(s->procs);
	hist_pool_put(s->rate_hist);
	hist_pool_put(s->tcp_hist);
	free(s->sec);
	free(s);
}
