/* Snapshot life (reference counted, immutable once published) and the names of probe kinds and states. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

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

/* Below this many rows, malloc's own reuse serves (blocks under its mmap threshold). */
#define ROWS_MAPPED_MIN 16384
#define ROWS_STEP 4096

/*
 * One spare row array: the previous snapshot's, released as the engine publishes the next
 * one, taken by the refresh after. Snapshots may be put from another thread (the metrics
 * server), hence the lock; it is taken twice per refresh.
 */
static struct {
	pthread_mutex_t lock;
	struct flow_row *rows;
	size_t cap;
} spare = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void rows_unmap(struct flow_row *rows, size_t cap)
{
	if (rows)
		munmap(rows, cap * sizeof(*rows));
}

struct flow_row *snapshot_rows_alloc(struct snapshot *s, size_t n)
{
	if (n < ROWS_MAPPED_MIN) {
		s->flows = malloc((n ? n : 1) * sizeof(*s->flows));
		s->flows_cap = 0;
		return s->flows;
	}
	struct flow_row *rows = NULL, *drop = NULL;
	size_t cap = 0, drop_cap = 0;
	pthread_mutex_lock(&spare.lock);
	/* a spare that fits, and not one far too big for what the table holds now */
	if (spare.rows && spare.cap >= n && spare.cap <= n + n / 2 + ROWS_STEP) {
		rows = spare.rows;
		cap = spare.cap;
	} else {
		drop = spare.rows;
		drop_cap = spare.cap;
	}
	spare.rows = NULL;
	spare.cap = 0;
	pthread_mutex_unlock(&spare.lock);
	rows_unmap(drop, drop_cap);
	if (!rows) {
		/* some headroom, so that a table growing by a few flows keeps its arrays */
		cap = (n + n / 8 + ROWS_STEP) / ROWS_STEP * ROWS_STEP;
		rows = mmap(NULL, cap * sizeof(*rows), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (rows == MAP_FAILED) {
			rows = NULL;
			cap = 0;
		}
	}
	s->flows = rows;
	s->flows_cap = cap;
	return rows;
}

static void rows_release(struct flow_row *rows, size_t cap)
{
	pthread_mutex_lock(&spare.lock);
	if (!spare.rows || spare.cap < cap) {
		struct flow_row *t = spare.rows;
		size_t tc = spare.cap;
		spare.rows = rows;
		spare.cap = cap;
		rows = t;
		cap = tc;
	}
	pthread_mutex_unlock(&spare.lock);
	rows_unmap(rows, cap);
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
	if (s->flows_cap)
		rows_release(s->flows, s->flows_cap);
	else
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
