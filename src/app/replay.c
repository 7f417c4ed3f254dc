/* --replay: a recording in the terminal UI (play, pause, step, speed) or as JSON lines; no BPF, no privileges. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "app/replay.h"
#include "core/json.h"
#include "core/record.h"
#include "ui/ui.h"

static const double speeds[] = { 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64 };
#define SPEED_1X 3
#define N_SPEEDS (sizeof(speeds) / sizeof(speeds[0]))

struct player {
	struct recording *rec;
	struct ui *ui;
	size_t cur, n;
	bool paused;
	size_t speed;
	bool show; /* the position changed: show that snapshot */
	int timer_fd;
};

static void state_line(struct player *p)
{
	char buf[96], when[16] = "";
	time_t t = (time_t)(recording_time_ns(p->rec, p->cur) / 1000000000LL);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
	snprintf(buf, sizeof(buf), "REPLAY %zu/%zu %s x%g%s", p->cur + 1, p->n, when,
		 speeds[p->speed], p->paused ? (p->cur + 1 == p->n ? " END" : " PAUSED") : "");
	ui_replay_state(p->ui, buf);
}

/* The next snapshot after its recorded distance in time, at the chosen speed. */
static void schedule(struct player *p)
{
	struct itimerspec its = { 0 };
	if (!p->paused && p->cur + 1 < p->n) {
		double d = recording_uptime(p->rec, p->cur + 1) - recording_uptime(p->rec, p->cur);
		d /= speeds[p->speed];
		if (!(d >= 0.01))
			d = 0.01;
		if (d > 60)
			d = 60;
		its.it_value.tv_sec = (time_t)d;
		its.it_value.tv_nsec = (long)((d - (double)(time_t)d) * 1e9);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(p->timer_fd, 0, &its, NULL);
}

static void show(struct player *p)
{
	struct snapshot *s = recording_snapshot(p->rec, p->cur);
	if (!s) {
		ui_status_err(p->ui, "out of memory showing snapshot %zu", p->cur + 1);
		return;
	}
	ui_update(p->ui, s);
	snapshot_put(s);
	if (p->cur + 1 == p->n && !p->paused) {
		p->paused = true;
		ui_status(p->ui, "end of the recording: , steps back, p plays it again");
	}
	state_line(p);
}

/* The replay keys (ui.h): they change the position or the speed; the loop shows the result. */
static void on_key(void *ctx, int op)
{
	struct player *p = ctx;
	switch (op) {
	case UI_REPLAY_PAUSE:
		if (p->paused && p->cur + 1 == p->n) {
			p->cur = 0; /* at the end: from the start again */
			p->show = true;
		}
		p->paused = !p->paused;
		break;
	case UI_REPLAY_BACK:
		p->paused = true;
		if (p->cur > 0) {
			p->cur--;
			p->show = true;
		} else {
			ui_status(p->ui, "the first snapshot of the recording");
		}
		break;
	case UI_REPLAY_FORWARD:
		p->paused = true;
		if (p->cur + 1 < p->n) {
			p->cur++;
			p->show = true;
		} else {
			ui_status(p->ui, "the last snapshot of the recording");
		}
		break;
	case UI_REPLAY_SLOWER:
		if (p->speed > 0)
			p->speed--;
		ui_status(p->ui, "playing at x%g", speeds[p->speed]);
		break;
	case UI_REPLAY_FASTER:
		if (p->speed + 1 < N_SPEEDS)
			p->speed++;
		ui_status(p->ui, "playing at x%g", speeds[p->speed]);
		break;
	}
	state_line(p);
	schedule(p);
}

/* What needs the kernel says so: a recording shows what was, it changes nothing. */
static int no_probes(void *ctx, const char *id, char *err, size_t errlen)
{
	snprintf(err, errlen, "a recording: probes cannot be changed");
	return -EPERM;
}
static int no_watch(void *ctx, const struct flow_key *k, int on, char *err, size_t errlen)
{
	snprintf(err, errlen, "a recording has no packets to capture");
	return -EPERM;
}
static size_t no_packets(void *ctx, const struct flow_key *k, struct pkt_event *out, size_t max)
{
	return 0;
}
static void no_interval(void *ctx, double s)
{
}
static int no_slow_ms(void *ctx, double ms, char *err, size_t errlen)
{
	snprintf(err, errlen, "a recording keeps the slow list it was made with");
	return -EPERM;
}
static int no_stats(void *ctx, int on)
{
	return 0;
}
static size_t no_complete(void *ctx, const char *prefix, char out[][64], size_t max)
{
	return 0;
}

static int replay_json(struct recording *rec, const struct json_opts *jo)
{
	for (size_t i = 0; i < recording_count(rec); i++) {
		struct snapshot *s = recording_snapshot(rec, i);
		if (!s) {
			fprintf(stderr, "pktlens: out of memory reading snapshot %zu\n", i + 1);
			return 1;
		}
		json_write(stdout, s, jo);
		snapshot_put(s);
		if (ferror(stdout)) {
			if (errno != EPIPE)
				fprintf(stderr, "pktlens: writing the JSON output failed: %s\n",
					strerror(errno));
			return errno == EPIPE ? 0 : 1;
		}
	}
	return 0;
}

static int replay_tui(struct recording *rec, const struct ui_opts *uo, const sigset_t *exit_sigs,
		      int *exit_sig)
{
	struct player p = { .rec = rec, .n = recording_count(rec), .speed = SPEED_1X };
	struct ui_actions act = { .ctx = &p,
				  .probe_toggle = no_probes,
				  .probe_add = no_probes,
				  .flow_watch = no_watch,
				  .flow_packets = no_packets,
				  .set_interval = no_interval,
				  .set_slow_ms = no_slow_ms,
				  .bpf_stats = no_stats,
				  .complete = no_complete,
				  .replay = on_key };
	char err[512];
	int ret = 0, ep = -1, sig_fd = -1;
	p.timer_fd = -1;
	p.ui = ui__new(uo, &act, err, sizeof(err));
	if (!p.ui) {
		fprintf(stderr, "pktlens: %s\n", err);
		return 1;
	}
	sig_fd = signalfd(-1, exit_sigs, SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	p.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (sig_fd < 0 || ep < 0 || p.timer_fd < 0) {
		ui__free(p.ui);
		fprintf(stderr, "pktlens: setting up the event loop failed: %s\n", strerror(errno));
		ret = 1;
		goto out;
	}
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[] = { sig_fd, p.timer_fd, STDIN_FILENO };
	for (size_t i = 0; i < 3; i++) {
		ev.data.fd = fds[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	show(&p);
	ui_render(p.ui);
	schedule(&p);
	bool done = false;
	while (!done) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, -1);
		if (n < 0) {
			if (errno == EINTR) {
				ui_resize(p.ui);
				ui_render(p.ui);
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
					*exit_sig = (int)si.ssi_signo;
					done = true;
				}
			} else if (fd == p.timer_fd) {
				uint64_t ticks;
				if (read(p.timer_fd, &ticks, sizeof(ticks)) < 0)
					continue;
				if (!p.paused && p.cur + 1 < p.n) {
					p.cur++;
					p.show = true;
				}
			} else if (fd == STDIN_FILENO) {
				if (ui_handle_input(p.ui))
					done = true;
			}
		}
		if (p.show) {
			p.show = false;
			show(&p);
			schedule(&p);
		}
		ui_render(p.ui);
	}
	ui__free(p.ui);
out:
	if (sig_fd >= 0)
		close(sig_fd);
	if (ep >= 0)
		close(ep);
	if (p.timer_fd >= 0)
		close(p.timer_fd);
	return ret;
}

int replay_run(const char *path, int json, const struct json_opts *jo, const struct ui_opts *uo,
	       const sigset_t *exit_sigs, int *exit_sig)
{
	char err[512];
	struct recording *rec = recording__open(path, err, sizeof(err));
	if (!rec) {
		fprintf(stderr, "pktlens: %s\n", err);
		return 1;
	}
	int ret = json ? replay_json(rec, jo) : replay_tui(rec, uo, exit_sigs, exit_sig);
	recording__free(rec);
	return ret;
}
