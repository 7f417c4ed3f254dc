/* How a data source plugs into the engine: one ops table per model, listed once in models.c. */
#ifndef PKTLENS_MODEL_H
#define PKTLENS_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct bpf_object;
struct btf_enum_names;
struct engine;
struct flow_row;
struct jw;
struct pktlens_bpf;
struct snapshot;

/* What the engine knows that models may need; the same for the engine's whole life. */
struct model_env {
	struct bpf_object *obj; /* the loaded BPF object: maps by name (NULL before load) */
	const struct btf_enum_names *tcp_states;
	uint64_t netns_ino; /* -n: only this network namespace's processes; 0 = every one */
	double slow_ms;	    /* --slow-ms, <= 0 for the default */
	int drop_reasons;   /* skb:kfree_skb carries a reason on this kernel */
	const int *ifindexes;
	size_t n_ifaces;
	uint64_t start_ns; /* CLOCK_MONOTONIC when the engine started */
	double idle_s;	   /* --idle: flows idle this long are forgotten (0 = never) */
	/* for a model that acts on the engine (the firewall attaches XDP to its interfaces) */
	struct engine *engine;
};

/* One refresh. */
struct model_tick {
	uint64_t now_ns; /* CLOCK_MONOTONIC */
	double dt;	 /* seconds since the previous refresh, 0 at the first */
	uint32_t gen;	 /* the refresh generation: histories are written as of it */
};

/*
 * The operations of one model. A model is pure where it can be: read()
 * takes the maps' entries through maps.c and hands arrays to the model's
 * own update function, which unit tests call with arrays of their own.
 * Every member but name, create and free may be NULL.
 */
struct model_ops {
	const char *name;
	void *(*create)(const struct model_env *env);
	/* Before the BPF object loads: knobs in its read-only data. */
	void (*configure)(void *m, struct pktlens_bpf *skel);
	/*
	 * After the object loaded and the probes attached: what the command line
	 * asked of the model (the firewall's rules). 0, or -errno with one
	 * sentence in err, and the engine does not start.
	 */
	int (*start)(void *m, const struct model_env *env, char *err, size_t errlen);
	/* The ring buffer (a map name) whose records go to event(). */
	const char *ring;
	void (*event)(void *m, const void *data, size_t len, const struct model_env *env);
	/* Reads the model's maps and puts its part into s (s->tcp, s->drops, ...). */
	void (*read)(void *m, const struct model_env *env, const struct model_tick *t,
		     struct snapshot *s);
	/*
	 * Fills the model's fields of a row built in this refresh (a flow that
	 * changed, or whose turn it is), in the order of the ops table.
	 */
	void (*fill)(void *m, struct flow_row *r);
	/* Counts every row of the snapshot, built now or kept, into the model's part of s. */
	void (*count)(void *m, const struct flow_row *r, struct snapshot *s);
	/*
	 * Moves whenever fill may answer differently for a flow that did not
	 * change itself (a socket closed, a process found): then the rows of
	 * idle flows are built again, a turn at a time. NULL: after every read.
	 */
	uint64_t (*version)(void *m);
	/* Writes the model's members of the snapshot's JSON object. */
	void (*json)(struct jw *w, const struct snapshot *s);
	void (*free)(void *m);
};

#define PL_MODELS_MAX 16

/* models.c: every model, in the order their reads, fills and JSON sections run. */
extern const struct model_ops *const pl_models[];
extern const size_t pl_n_models;
/* l7ops.c: the engine hands it the held responses of flows leaving the table */
extern const struct model_ops l7_model_ops;

#endif
