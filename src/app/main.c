/* pktlens entry point: options, the one event loop (epoll over stdin, timer, ring buffer, signals), headless JSON. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "app/options.h"
#include "app/privs.h"
#include "app/replay.h"
#include "core/capture.h"
#include "core/engine.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/record.h"
#include "core/safefile.h"
#include "core/security.h"
#include "ui/ui.h"

#ifndef PKTLENS_VERSION
#define PKTLENS_VERSION "dev"
#endif

struct app {
	struct options opt;
	struct engine *eng;
	struct ui *ui;
	struct metrics *metrics; /* --metrics, or NULL */
	struct capture *cap;	 /* -w, or the TUI's write key; NULL */
	int cap_errno;		 /* writing -w failed (EPIPE: its reader went away) */
	int timer_fd;
	double interval_s;
	bool refresh_now; /* an action changed probes: show it without waiting a tick */
	int exit_sig;	  /* the signal that ended the loop, 0 if none */
	int write_errno;  /* --json output failed (EPIPE: the reader went away) */
	struct json_opts json;
	struct recorder *rec; /* --record */
	int rec_failed;	      /* writing it failed: the run ends (headless) or goes on without */
};

/*
 * Signals whose default action ends the process. The asynchronous ones
 * are blocked and read from a signalfd, so the loop ends and everything
 * is detached the normal way; the process then dies of the same signal
 * (INT, TERM and HUP exit 0, as they always did). Faults cannot wait for
 * the loop: on_fatal undoes what it can without allocating or calling
 * into libbpf, then the default action runs.
 */
static const int async_sigs[] = {
	SIGINT,	   SIGTERM, SIGHUP,  SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
	SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO,   SIGPWR,	SIGSTKFLT
};
static const int fault_sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGSYS, SIGTRAP };

static void exit_signals(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(async_sigs) / sizeof(async_sigs[0]); i++)
		sigaddset(set, async_sigs[i]);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(set, s);
}

/* Crash path: give the terminal back and take our tc filters off, then die as before. */
static void on_fatal(int sig)
{
	int saved = errno;
	ui_emergency_restore();
	engine_emergency_detach();
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

static void at_exit(void)
{
	ui_emergency_restore();
}

static void install_fault_handlers(void)
{
	/* its own stack, so that a stack overflow still gets its cleanup */
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	sigaltstack(&ss, NULL);
	struct sigaction sa = { .sa_handler = on_fatal, .sa_flags = SA_ONSTACK };
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fault_sigs) / sizeof(fault_sigs[0]); i++)
		sigaction(fault_sigs[i], &sa, NULL);
}

/* After a clean exit, die of the signal that asked for it, so that the parent sees why. */
static void reraise(int sig)
{
	if (!sig || sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
		return;
	/* everything was detached and freed: a core of the exit path would help nobody */
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	raise(sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
}

static int set_timer(int fd, double s)
{
	struct itimerspec its = { 0 };
	its.it_value.tv_sec = (time_t)s;
	its.it_value.tv_nsec = (long)((s - (double)(time_t)s) * 1e9);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	its.it_interval = its.it_value;
	return timerfd_settime(fd, 0, &its, NULL);
}

/* UI actions, carried out by the engine. */
static int act_toggle(void *ctx, const char *id, char *err, size_t errlen)
{
	struct app *a = ctx;
	a->refresh_now = true;
	return engine_probe_toggle(a->eng, id, err, errlen);
}
static int act_add(void *ctx, const char *spec, char *err, size_t errlen)
{
	struct app *a = ctx;
	a->refresh_now = true;
	return engine_probe_add(a->eng, spec, err, errlen);
}
static int act_watch(void *ctx, const struct flow_key *k, int on, char *err, size_t errlen)
{
	return engine_flow_watch(((struct app *)ctx)->eng, k, on, err, errlen);
}
static size_t act_packets(void *ctx, const struct flow_key *k, struct pkt_event *out, size_t max)
{
	return engine_flow_packets(((struct app *)ctx)->eng, k, out, max);
}
static void act_interval(void *ctx, double s)
{
	struct app *a = ctx;
	a->interval_s = s;
	set_timer(a->timer_fd, s);
}
static int act_slow_ms(void *ctx, double ms, char *err, size_t errlen)
{
	struct app *a = ctx;
	a->refresh_now = true;
	return engine_set_slow_ms(a->eng, ms, err, errlen);
}
static int act_bpf_stats(void *ctx, int on)
{
	return engine_bpf_stats(((struct app *)ctx)->eng, on);
}

static void act_flow_order(void *ctx, int key, int desc)
{
	engine_set_flow_order(((struct app *)ctx)->eng, key, desc);
}
static int act_flow_write(void *ctx, const struct flow_key *k, char *msg, size_t msglen)
{
	struct app *a = ctx;
	if (!a->cap) {
		snprintf(msg, msglen, "packet capture is not available in this run");
		return -EOPNOTSUPP;
	}
	return capture_flow_toggle(a->cap, k, msg, msglen);
}

/* Captured packets of the reading s go to their files; a failing -w ends the run. */
static int flush_capture(struct app *a, struct snapshot *s, int all)
{
	int ret = capture_flush(a->cap, s, all);
	if (ret && !a->cap_errno)
		a->cap_errno = -ret;
	return ret;
}

static int act_fw_add(void *ctx, const char *rule, int force, char *err, size_t errlen)
{
	struct app *a = ctx;
	a->refresh_now = true;
	return engine_fw_add(a->eng, rule, force, err, errlen);
}
static int act_fw_remove(void *ctx, uint32_t id, char *err, size_t errlen)
{
	struct app *a = ctx;
	a->refresh_now = true;
	return engine_fw_remove(a->eng, id, err, errlen);
}
static size_t act_complete(void *ctx, const char *prefix, char out[][64], size_t max)
{
	return engine_complete(((struct app *)ctx)->eng, prefix, out, max);
}

/*
 * One JSON object to stdout. A reader that went away (`| head`) or a full
 * disk ends the run like a signal: nothing would ever read the rest.
 */
static int write_json(struct app *a, struct snapshot *s)
{
	json_write(stdout, s, &a->json);
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	a->write_errno = errno ? errno : EIO;
	return -1;
}

/*
 * --record: the snapshot the UI shows or the JSON line printed. Headless, a failed write ends
 * the run with the reason, as a failed JSON write does; the UI says it and goes on without.
 */
static int record(struct app *a, struct snapshot *s)
{
	char err[512];
	if (!a->rec || a->rec_failed || recorder_write(a->rec, s, err, sizeof(err)) == 0)
		return 0;
	a->rec_failed = 1;
	if (a->ui) {
		ui_status_err(a->ui, "%s; recording stopped", err);
		return 0;
	}
	fprintf(stderr, "pktlens: %s\n", err);
	return -1;
}

static int run_loop(struct app *a)
{
	int ret = 0;
	sigset_t mask;
	exit_signals(&mask);
	int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (sig_fd < 0 || ep < 0 || a->timer_fd < 0 || set_timer(a->timer_fd, a->interval_s)) {
		fprintf(stderr, "pktlens: setting up the event loop failed: %s\n", strerror(errno));
		ret = 1;
		goto cleanup;
	}
	struct epoll_event ev = { .events = EPOLLIN };
	ev.data.fd = sig_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sig_fd, &ev);
	ev.data.fd = a->timer_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, a->timer_fd, &ev);
	int rb_fd = engine_events_fd(a->eng);
	if (rb_fd >= 0) {
		ev.data.fd = rb_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, rb_fd, &ev);
	}
	int cap_fd = capture_fd(a->cap);
	if (cap_fd >= 0) {
		ev.data.fd = cap_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, cap_fd, &ev);
	}
	if (a->ui) {
		ev.data.fd = STDIN_FILENO;
		epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
	}

	/* A first reading gives the rates of the first interval a base. */
	struct snapshot *s = engine_refresh(a->eng);
	metrics_update(a->metrics, s);
	if (a->ui && s) {
		ui_update(a->ui, s);
		ui_render(a->ui);
	}
	snapshot_put(s);

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool done = false;
	while (!done) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR) {
				/* SIGWINCH: redraw at the new size now, not at the next tick */
				if (a->ui) {
					ui_resize(a->ui);
					ui_render(a->ui);
				}
				continue;
			}
			ret = 1;
			break;
		}
		for (int i = 0; i < n && !done; i++) {
			int fd = evs[i].data.fd;
			if (fd == sig_fd) {
				struct signalfd_siginfo si;
				if (read(sig_fd, &si, sizeof(si)) > 0) {
					a->exit_sig = (int)si.ssi_signo;
					done = true;
				}
			} else if (fd == a->timer_fd) {
				uint64_t ticks;
				if (read(a->timer_fd, &ticks, sizeof(ticks)) < 0)
					continue;
				s = engine_refresh(a->eng);
				if (!s)
					continue;
				metrics_update(a->metrics, s);
				if (flush_capture(a, s, 0))
					done = true;
				if (a->ui) {
					ui_update(a->ui, s);
					ui_render(a->ui);
					record(a, s);
				} else if ((a->opt.json && write_json(a, s)) || record(a, s)) {
					done = true;
				}
				snapshot_put(s);
				struct timespec t1;
				clock_gettime(CLOCK_MONOTONIC, &t1);
				double el = (double)(t1.tv_sec - t0.tv_sec) +
					    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
				if (a->opt.duration_s > 0 && el + 1e-3 >= a->opt.duration_s)
					done = true;
			} else if (fd == rb_fd) {
				engine_poll_events(a->eng);
			} else if (fd == cap_fd) {
				capture_poll(a->cap);
			} else if (fd == STDIN_FILENO && a->ui) {
				if (ui_handle_input(a->ui)) {
					done = true;
					break;
				}
				if (a->refresh_now) {
					a->refresh_now = false;
					s = engine_refresh(a->eng);
					metrics_update(a->metrics, s);
					if (s)
						ui_update(a->ui, s);
					snapshot_put(s);
				}
				ui_render(a->ui);
			}
		}
	}
	/* The last object on exit, so a script always gets the final counts; the last packets. */
	if ((!a->ui && !a->write_errno) || (a->cap && !a->cap_errno)) {
		capture_poll(a->cap);
		s = engine_refresh(a->eng);
		if (s && !a->ui && !a->write_errno && (!a->opt.json || !write_json(a, s)))
			record(a, s);
		flush_capture(a, s, 1);
		snapshot_put(s);
	}
cleanup:
	if (sig_fd >= 0)
		close(sig_fd);
	if (ep >= 0)
		close(ep);
	if (a->timer_fd >= 0)
		close(a->timer_fd);
	return ret;
}

/*
 * Theme files live in ../share/pktlens/themes when installed, ../themes next
 * to build/; never in the current directory (root would read whatever file
 * of that name someone left where the operator happens to stand).
 */
static void theme_dir(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		const char *cands[] = { "/../themes", "/../share/pktlens/themes" };
		for (size_t i = 0; i < 2; i++) {
			snprintf(out, len, "%s%s", exe, cands[i]);
			if (access(out, R_OK) == 0)
				return;
		}
	}
	snprintf(out, len, "/usr/share/pktlens/themes");
}

int main(int argc, char **argv)
{
	static struct app app;
	char err[512] = "";
	if (options_parse(&app.opt, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "pktlens: %s\n", err);
		return 2;
	}
	if (app.opt.help) {
		options_usage(stdout);
		return 0;
	}
	if (app.opt.version) {
		printf("pktlens %s\n", PKTLENS_VERSION);
		return 0;
	}
	if (app.opt.replay) {
		/* a recording needs no kernel access: nothing to attach, no privileges */
		bool tui_r = !app.opt.json;
		if (tui_r && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
			fprintf(stderr, "pktlens: the terminal UI needs a terminal; use --json to "
					"print the recording\n");
			return 2;
		}
		char tdir[PATH_MAX];
		theme_dir(tdir, sizeof(tdir));
		const char *nc = getenv("NO_COLOR");
		struct ui_opts uo = { .theme = app.opt.theme,
				      .theme_dir = tdir,
				      .interval_s = app.opt.interval_s,
				      .no_color = nc && *nc,
				      .no_config = app.opt.no_config };
		struct json_opts jo = { .flow_limit = app.opt.json_flows };
		sigset_t mask;
		exit_signals(&mask);
		sigprocmask(SIG_BLOCK, &mask, NULL);
		signal(SIGPIPE, SIG_IGN);
		install_fault_handlers();
		atexit(at_exit);
		log_init(tui_r ? NULL : stderr, LOG_WARN);
		int sig = 0;
		int r = replay_run(app.opt.replay, app.opt.json, &jo, &uo, &mask, &sig);
		reraise(sig);
		return r;
	}
	if (app.opt.flush_rules) {
		if (geteuid() != 0) {
			fprintf(stderr, "pktlens: --flush-rules must run as root\n");
			return 1;
		}
		if (security_flush_pinned(stdout, app.opt.eng.netns, err, sizeof(err))) {
			fprintf(stderr, "pktlens: %s\n", err);
			return 1;
		}
		return 0;
	}
	app.interval_s = app.opt.interval_s;
	app.json.flow_limit = app.opt.json_flows;
	app.timer_fd = -1;
	/* -w - streams the capture, and -w FILE without a terminal writes it: headless, no JSON */
	bool to_stdout = app.opt.write && !strcmp(app.opt.write, "-");
	bool no_term = !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO);
	bool tui =
	    !app.opt.json && !app.opt.list_probes && !to_stdout && !(app.opt.write && no_term);
	if (to_stdout && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "pktlens: -w - would write binary pcapng to the terminal; pipe it "
				"(| tshark -r -) or name a file\n");
		return 2;
	}
	if (tui && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "pktlens: the terminal UI needs a terminal; use --json for "
				"headless output\n");
		return 2;
	}
	const char *dbg = getenv("PKTLENS_DEBUG");
	/* While curses owns the screen, messages go nowhere unless a log file is asked for. */
	FILE *logf = stderr;
	const char *lp = tui ? getenv("PKTLENS_LOG") : NULL;
	if (tui)
		logf = NULL;
	if (lp && *lp) {
		/* opened as root from a name in the environment: no symlink, the invoker's file */
		int fd = safefile_open_append(lp, "log file (PKTLENS_LOG)", err, sizeof(err));
		if (fd < 0 || !(logf = fdopen(fd, "a"))) {
			if (fd >= 0)
				close(fd);
			fprintf(stderr, "pktlens: %s\n", fd < 0 ? err : "cannot open the log file");
			return 2;
		}
	}
	log_init(logf, dbg && *dbg == '1' ? LOG_DEBUG : LOG_WARN);

	sigset_t mask;
	exit_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* a reader that went away shows as EPIPE on the next write, handled there */
	signal(SIGPIPE, SIG_IGN);
	install_fault_handlers();
	atexit(at_exit);

	/* the recording is opened before anything is attached, so a bad path leaves nothing */
	if (app.opt.record && !app.opt.list_probes) {
		app.rec = recorder__open(app.opt.record, PKTLENS_VERSION, err, sizeof(err));
		if (!app.rec) {
			fprintf(stderr, "pktlens: %s\n", err);
			return 1;
		}
	}
	/* before -n: the metrics listen in the namespace pktlens was started in */
	if (app.opt.metrics && !app.opt.list_probes) {
		app.metrics =
		    metrics__new(app.opt.metrics, app.opt.metrics_flows, err, sizeof(err));
		if (!app.metrics) {
			recorder__free(app.rec);
			fprintf(stderr, "pktlens: %s\n", err);
			return 1;
		}
	}
	app.opt.eng.filter = app.opt.filter;
	/* the capture code is in the programs only when something may write packets */
	app.opt.eng.capture = app.opt.write ? PL_CAPTURE_ALL : tui ? PL_CAPTURE_FLOWS : 0;
	app.opt.eng.snaplen = app.opt.snaplen;
	app.eng = engine__new(&app.opt.eng, err, sizeof(err));
	if (!app.eng) {
		recorder__free(app.rec);
		metrics__free(app.metrics);
		fprintf(stderr, "pktlens: %s\n", err);
		return 1;
	}
	if (app.opt.list_probes) {
		engine_print_probes(app.eng, stdout);
		engine__free(app.eng);
		return 0;
	}
	/* -w's file is opened now, with the privileges of the start (and in the start directory) */
	if (app.opt.eng.capture && !(app.cap = capture__new(app.eng, app.opt.write, app.opt.filter,
							    app.opt.snaplen, err, sizeof(err)))) {
		metrics__free(app.metrics);
		engine__free(app.eng);
		fprintf(stderr, "pktlens: %s\n", err);
		return 1;
	}
	int ret = 0;
	if (tui) {
		char tdir[PATH_MAX];
		theme_dir(tdir, sizeof(tdir));
		const char *nc = getenv("NO_COLOR");
		struct ui_opts uo = { .theme = app.opt.theme,
				      .theme_dir = tdir,
				      .interval_s = app.interval_s,
				      .interval_set = app.opt.interval_set,
				      .no_color = nc && *nc,
				      .no_config = app.opt.no_config };
		struct ui_actions act = { .ctx = &app,
					  .probe_toggle = act_toggle,
					  .probe_add = act_add,
					  .flow_watch = act_watch,
					  .flow_packets = act_packets,
					  .set_interval = act_interval,
					  .set_slow_ms = act_slow_ms,
					  .bpf_stats = act_bpf_stats,
					  .flow_order = act_flow_order,
					  .flow_write = act_flow_write,
					  .fw_add = act_fw_add,
					  .fw_remove = act_fw_remove,
					  .complete = act_complete };
		app.ui = ui__new(&uo, &act, err, sizeof(err));
		if (!app.ui) {
			capture__free(app.cap);
			metrics__free(app.metrics);
			engine__free(app.eng);
			fprintf(stderr, "pktlens: %s\n", err);
			return 1;
		}
	}
	/* the Probes pane turns BPF run-time statistics on while it is shown */
	if (app.ui)
		engine_bpf_stats_on_demand(app.eng);
	/* Everything is attached and the theme is read: give up what toggling does not need. */
	/* the scrape thread starts afterwards, with none of them (capabilities are per thread) */
	if (privs_drop(engine_runtime_caps(app.eng), err, sizeof(err)) ||
	    (app.metrics && metrics_start(app.metrics, err, sizeof(err)))) {
		ui__free(app.ui);
		capture__free(app.cap);
		metrics__free(app.metrics);
		engine__free(app.eng);
		fprintf(stderr, "pktlens: %s\n", err);
		return 1;
	}
	ret = run_loop(&app);
	metrics__free(app.metrics);
	ui__free(app.ui);
	char summary[512];
	capture_summary(app.cap, summary, sizeof(summary));
	capture__free(app.cap);
	if (*summary)
		fprintf(stderr, "pktlens: %s\n", summary);
	if (app.cap_errno && app.cap_errno != EPIPE) {
		fprintf(stderr, "pktlens: writing %s failed: %s\n", app.opt.write,
			strerror(app.cap_errno));
		ret = 1;
	}
	engine__free(app.eng);
	if (app.opt.record) {
		/* the terminal is back: where the recording is and what it holds */
		fprintf(stderr, "pktlens: recorded %llu snapshots to %s (%llu bytes)%s\n",
			(unsigned long long)recorder_frames(app.rec), app.opt.record,
			(unsigned long long)recorder_bytes(app.rec),
			app.rec_failed ? ", then writing it failed" : "");
		recorder__free(app.rec);
		if (app.rec_failed && !app.ui)
			ret = 1;
	}
	if (app.write_errno && app.write_errno != EPIPE) {
		fprintf(stderr, "pktlens: writing the JSON output failed: %s\n",
			strerror(app.write_errno));
		ret = 1;
	}
	if (logf && logf != stderr)
		fclose(logf);
	reraise(app.exit_sig);
	return ret;
}
