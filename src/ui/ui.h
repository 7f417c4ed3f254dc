/* The terminal UI's interface to the app: it renders snapshots and reports actions; it never touches BPF. */
#ifndef PKTLENS_UI_H
#define PKTLENS_UI_H

#include <stddef.h>
#include <stdint.h>

#include "core/snapshot.h"

/*
 * What the UI asks of the engine. The app fills this with functions that
 * call into core; tests fill it with fakes. Every call returns 0 or a
 * negative errno and then writes one plain sentence into err.
 */
struct ui_actions {
	void *ctx;
	/* attach if detached, detach if attached */
	int (*probe_toggle)(void *ctx, const char *probe_id, char *err, size_t errlen);
	/* spec: "xdp:IFACE", "tc-ingress:IFACE", "tc-egress:IFACE", "tracepoint:CAT:NAME",
	 * "kprobe:FUNC", "kretprobe:FUNC", "uprobe:BINARY:SYMBOL", "uretprobe:BINARY:SYMBOL" */
	int (*probe_add)(void *ctx, const char *spec, char *err, size_t errlen);
	/* start/stop capturing this flow's packets through the ring buffer */
	int (*flow_watch)(void *ctx, const struct flow_key *key, int on, char *err, size_t errlen);
	/* most recent captured packets of a watched flow, oldest first; returns the count */
	size_t (*flow_packets)(void *ctx, const struct flow_key *key, struct pkt_event *out,
			       size_t max);
	/* the refresh interval changed (seconds) */
	void (*set_interval)(void *ctx, double seconds);
	/* HTTP requests at least this slow (milliseconds) go to the slow list */
	int (*set_slow_ms)(void *ctx, double ms, char *err, size_t errlen);
	/* a view that shows BPF run-time statistics (the Probes pane) is on screen (1) or not (0) */
	int (*bpf_stats)(void *ctx, int on);
	/* the Flows list's sort (enum flow_sort of core/view.h, biggest first): the engine hands
	 * the rows over in that order, so 100k flows need no sorting here (may be NULL) */
	void (*flow_order)(void *ctx, int key, int desc);
	/* start or stop writing this flow's packets to a pcapng file; one sentence in msg
	 * (the file's name) either way (may be NULL) */
	int (*flow_write)(void *ctx, const struct flow_key *key, char *msg, size_t msglen);
	/* the firewall: rule is "deny CIDR" or "limit CIDR:PPS"; force lets it cover this SSH
	 * session's peer, which is refused with -EACCES otherwise. Returns the rule's id. */
	int (*fw_add)(void *ctx, const char *rule, int force, char *err, size_t errlen);
	int (*fw_remove)(void *ctx, uint32_t id, char *err, size_t errlen);
	/* completion candidates for the add-probe prompt: interface names, tracepoints */
	size_t (*complete)(void *ctx, const char *prefix, char out[][64], size_t max);
	/* --replay: the replay keys (enum ui_replay_op); NULL on a live run */
	void (*replay)(void *ctx, int op);
};

/* What the replay keys ask of the player (ui_actions.replay). */
enum ui_replay_op {
	UI_REPLAY_PAUSE = 0, /* pause or resume playing */
	UI_REPLAY_BACK,	     /* one snapshot back (pauses) */
	UI_REPLAY_FORWARD,   /* one snapshot forward (pauses) */
	UI_REPLAY_SLOWER,    /* half the speed */
	UI_REPLAY_FASTER,    /* double the speed */
};

struct ui_opts {
	const char *theme; /* name in themes/ or a path; NULL = default */
	const char *theme_dir;
	double interval_s;
	int interval_set; /* --interval was given: it beats the saved interval */
	int no_color;	  /* NO_COLOR set */
	int no_config;	  /* --no-config: neither read nor write the settings file */
};

struct ui;

/* Takes over the terminal. Returns NULL and writes one sentence into err on failure (bad theme...). */
struct ui *ui__new(const struct ui_opts *opts, const struct ui_actions *act, char *err,
		   size_t errlen);
/* Restores the terminal; safe to call twice and from atexit. */
void ui__free(struct ui *ui);
/* Restores the terminal of whatever UI is live (signal and crash paths). */
void ui_emergency_restore(void);

/* Reads every pending key/mouse/resize event from stdin; returns 1 when the user asked to quit. */
int ui_handle_input(struct ui *ui);
/* New data; the UI keeps a reference (unless paused, when it keeps the old one). */
void ui_update(struct ui *ui, struct snapshot *snap);
/* Draws if anything changed since the last draw. */
void ui_render(struct ui *ui);
/* --replay: where the player is ("REPLAY 3/20 00:30:01 x1 PAUSED"), shown in the top bar. */
void ui_replay_state(struct ui *ui, const char *text);
/* Puts a sentence on the status line (errors from the engine, "attached xdp:veth0"). */
void ui_status(struct ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, shown as an error (error colour, stays longer). */
void ui_status_err(struct ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The terminal may have changed size: call on SIGWINCH when the app takes that signal through
 * signalfd (curses then never sees it). ui_render also checks the size on every draw. */
void ui_resize(struct ui *ui);

#endif
