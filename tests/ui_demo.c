/* A fake driver for the TUI: synthetic flows and probes, fake actions; to look at the screen without BPF. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/snapshot.h"
#include "ui/ui.h"

struct demo {
	struct probe_info probes[32];
	size_t n_probes;
	size_t n_flows;
	double interval;
	double start;
	int watching;
	struct flow_key watch_key;
	double watch_start;
	struct flow_row *flows; /* the evolving table the snapshots copy */
	int tick;
};

static volatile sig_atomic_t g_stop;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	g_stop = sig;
}

static void add_probe(struct demo *d, enum probe_kind k, const char *target, enum probe_state st,
		      const char *reason)
{
	struct probe_info *p = &d->probes[d->n_probes++];

	memset(p, 0, sizeof(*p));
	p->kind = k;
	p->state = st;
	snprintf(p->target, sizeof(p->target), "%s", target);
	snprintf(p->id, sizeof(p->id), "%s:%s", probe_kind_name(k), target);
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
	if (k == PK_XDP)
		snprintf(p->detail, sizeof(p->detail), "generic");
}

static int fake_toggle(void *ctx, const char *id, char *err, size_t errlen)
{
	struct demo *d = ctx;

	for (size_t i = 0; i < d->n_probes; i++) {
		struct probe_info *p = &d->probes[i];

		if (strcmp(p->id, id))
			continue;
		if (p->state == PS_UNSUPPORTED) {
			snprintf(err, errlen, "%s", p->reason);
			return -EOPNOTSUPP;
		}
		p->state = p->state == PS_ATTACHED ? PS_DETACHED : PS_ATTACHED;
		return 0;
	}
	snprintf(err, errlen, "no such probe");
	return -ENOENT;
}

static int fake_add(void *ctx, const char *spec, char *err, size_t errlen)
{
	struct demo *d = ctx;
	const char *colon = strchr(spec, ':');

	if (!colon || !colon[1] || d->n_probes == 32) {
		snprintf(err, errlen, "expected kind:target, e.g. xdp:veth0");
		return -EINVAL;
	}
	for (int k = 0; k < PK_MAX; k++) {
		if (strncmp(spec, probe_kind_name(k), (size_t)(colon - spec)) ||
		    probe_kind_name(k)[colon - spec])
			continue;
		if (k == PK_KPROBE || k == PK_KRETPROBE) {
			snprintf(err, errlen,
				 "kprobes are not available: the kernel lacks CONFIG_KPROBES");
			return -EOPNOTSUPP;
		}
		add_probe(d, k, colon + 1, PS_ATTACHED, "");
		return 0;
	}
	snprintf(err, errlen, "unknown probe kind");
	return -EINVAL;
}

static int fake_watch(void *ctx, const struct flow_key *key, int on, char *err, size_t errlen)
{
	struct demo *d = ctx;

	d->watching = on;
	d->watch_key = *key;
	d->watch_start = now_s();
	return 0;
}

static size_t fake_packets(void *ctx, const struct flow_key *key, struct pkt_event *out, size_t max)
{
	struct demo *d = ctx;
	struct timespec ts;
	size_t n;

	if (!d->watching)
		return 0;
	/* ten packets a second since the watch started, so the list visibly grows */
	n = (size_t)((now_s() - d->watch_start) * 10) + 1;
	if (n > max)
		n = max;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (size_t i = 0; i < n; i++) {
		struct pkt_event *e = &out[i];

		memset(e, 0, sizeof(*e));
		e->ts_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec -
			   (uint64_t)(n - i) * 100000000ull;
		e->key = *key;
		e->dir = i % 2;
		e->hook = e->dir ? 2 : 1;
		e->len = e->dir ? 66 : 1514;
		e->seq = 1000 + (uint32_t)i * 1448;
		e->ack = 5000 + (uint32_t)i;
		e->window = 502;
		e->tcp_flags = i == 0 ? 0x02 : 0x18;
	}
	return n;
}

static void fake_interval(void *ctx, double s)
{
	((struct demo *)ctx)->interval = s;
}

static size_t fake_complete(void *ctx, const char *prefix, char out[][64], size_t max)
{
	static const char *const words[] = {
		"veth0",	"veth1", "lo", "eth0", "tcp:tcp_probe", "tcp:tcp_retransmit_skb",
		"skb:kfree_skb"
	};
	const char *tail = strrchr(prefix, ':');
	size_t n = 0;

	tail = tail ? tail + 1 : prefix;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && n < max; i++)
		if (!strncmp(words[i], tail, strlen(tail)))
			snprintf(out[n++], 64, "%s", words[i]);
	return n;
}

static void init_flows(struct demo *d)
{
	static const char *const comms[] = {
		"nginx", "curl", "sshd", "", "iperf3", "evil\x1b[31m"
	};
	static const char *const states[] = { "ESTABLISHED", "TIME_WAIT", "SYN_SENT", "" };

	d->flows = calloc(d->n_flows, sizeof(*d->flows));
	for (size_t i = 0; i < d->n_flows; i++) {
		struct flow_row *f = &d->flows[i];
		uint32_t l = htonl(0x0a000001), r = htonl(0x0a000002 + (uint32_t)(i % 200));

		f->key.family = PL_AF_INET;
		f->key.proto = i % 7 == 3 ? IPPROTO_UDP : i % 11 == 5 ? IPPROTO_ICMP : IPPROTO_TCP;
		memcpy(f->key.local, &l, 4);
		memcpy(f->key.remote, &r, 4);
		f->key.local_port = (uint16_t)(i % 3 ? 80 : 443);
		f->key.remote_port = (uint16_t)(30000 + i);
		f->key.ifindex = 2 + i % 2;
		snprintf(f->iface, sizeof(f->iface), "veth%zu", i % 2);
		inet_ntop(AF_INET, f->key.local, f->local, sizeof(f->local));
		inet_ntop(AF_INET, f->key.remote, f->remote, sizeof(f->remote));
		if (f->key.proto == IPPROTO_TCP) {
			snprintf(f->state, sizeof(f->state), "%s", states[i % 4]);
			f->tcp_flags = 0x12 | (i % 5 == 0 ? 0x01 : 0) | (i % 13 == 0 ? 0x04 : 0);
			f->srtt_us = 50 + (uint32_t)(i * 37 % 5000);
			f->cwnd = 10;
			f->retrans = i % 17 == 0 ? i % 5 : 0;
		}
		snprintf(f->comm, sizeof(f->comm), "%s", comms[i % 6]);
		f->pid = comms[i % 6][0] ? 1000 + (uint32_t)i : 0;
		f->first_seen = -(double)(i % 100);
	}
}

static struct snapshot *make_snapshot(struct demo *d)
{
	struct snapshot *s = snapshot__new();
	double up = now_s() - d->start;

	d->tick++;
	s->uptime_s = up;
	s->interval_s = d->interval;
	snprintf(s->host, sizeof(s->host), "demo-host");
	snprintf(s->ifaces, sizeof(s->ifaces), "veth0,veth1");
	snprintf(s->netns, sizeof(s->netns), "pl-demo");
	s->probes = calloc(d->n_probes, sizeof(*s->probes));
	s->n_probes = d->n_probes;
	for (size_t i = 0; i < d->n_probes; i++) {
		struct probe_info *p = &d->probes[i];

		if (p->state == PS_ATTACHED) {
			p->run_cnt += 1000 + i * 10;
			p->run_time_ns += (1000 + i * 10) * (120 + i * 30);
			p->hits += 100;
		}
		s->probes[i] = *p;
	}
	s->flows = calloc(d->n_flows, sizeof(*s->flows));
	s->n_flows = d->n_flows;
	for (size_t i = 0; i < d->n_flows; i++) {
		struct flow_row *f = &d->flows[i];
		double base = (double)((i * 7919) % 1000) * 1000.0;
		double rx = base * (1.0 + sin(d->tick * 0.3 + (double)i)) + (i % 4 ? 0 : 0);

		f->rx_bps = rx;
		f->tx_bps = rx / 10;
		f->rx_pps = rx / 8 / 1000;
		f->tx_pps = f->rx_pps / 2;
		f->rx_packets += (uint64_t)(f->rx_pps * d->interval);
		f->tx_packets += (uint64_t)(f->tx_pps * d->interval);
		f->rx_bytes += (uint64_t)(f->rx_bps / 8 * d->interval);
		f->tx_bytes += (uint64_t)(f->tx_bps / 8 * d->interval);
		f->last_seen = up - (double)(i % 10);
		memmove(f->rx_hist, f->rx_hist + 1, sizeof(float) * (PL_HIST_LEN - 1));
		memmove(f->tx_hist, f->tx_hist + 1, sizeof(float) * (PL_HIST_LEN - 1));
		f->rx_hist[PL_HIST_LEN - 1] = (float)f->rx_bps;
		f->tx_hist[PL_HIST_LEN - 1] = (float)f->tx_bps;
		if (f->hist_len < PL_HIST_LEN)
			f->hist_len++;
		s->flows[i] = *f;
		s->tot.rx_pps += f->rx_pps;
		s->tot.rx_bps += f->rx_bps;
	}
	s->tot.events_lost = (uint64_t)d->tick / 5;
	return s;
}

int main(int argc, char **argv)
{
	struct demo d = { .n_flows = 60, .interval = 1.0 };
	struct ui_opts opts = { .interval_s = 1.0 };
	struct ui_actions act = {
		.ctx = &d,
		.probe_toggle = fake_toggle,
		.probe_add = fake_add,
		.flow_watch = fake_watch,
		.flow_packets = fake_packets,
		.set_interval = fake_interval,
		.complete = fake_complete,
	};
	char err[512];
	struct ui *ui;
	struct sigaction sa = { .sa_handler = on_signal };
	double next, ui_time = 0;
	unsigned long frames = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:t:d:")) != -1) {
		if (opt == 'n')
			d.n_flows = strtoul(optarg, NULL, 10);
		else if (opt == 't')
			opts.theme = optarg;
		else if (opt == 'd')
			opts.theme_dir = optarg;
		else {
			fprintf(stderr, "usage: %s [-n FLOWS] [-t THEME] [-d THEME_DIR]\n",
				argv[0]);
			return 2;
		}
	}
	opts.no_color = getenv("NO_COLOR") && getenv("NO_COLOR")[0];
	d.start = now_s();
	add_probe(&d, PK_TC_INGRESS, "veth0", PS_ATTACHED, "");
	add_probe(&d, PK_TC_EGRESS, "veth0", PS_ATTACHED, "");
	add_probe(&d, PK_XDP, "veth0", PS_DETACHED, "");
	add_probe(&d, PK_TRACEPOINT, "tcp:tcp_probe", PS_ATTACHED, "");
	add_probe(&d, PK_TRACEPOINT, "skb:kfree_skb", PS_ATTACHED, "");
	add_probe(&d, PK_KPROBE, "tcp_v4_connect", PS_UNSUPPORTED,
		  "the kernel is built without kprobes (CONFIG_KPROBES)");
	add_probe(&d, PK_UPROBE, "/usr/lib/x86_64-linux-gnu/libssl.so.3:SSL_read", PS_ERROR,
		  "symbol not found");
	init_flows(&d);

	ui = ui__new(&opts, &act, err, sizeof(err));
	if (!ui) {
		fprintf(stderr, "ui_demo: %s\n", err);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	next = now_s();
	while (!g_stop) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		double t = now_s();
		int ms = (int)((next - t) * 1000);

		if (t >= next) {
			struct snapshot *s = make_snapshot(&d);
			double u0 = now_s();

			/* the UI's own cost per refresh, without the fake engine's copying */
			ui_update(ui, s);
			snapshot_put(s);
			next = t + d.interval;
			ui_render(ui);
			ui_time += now_s() - u0;
			frames++;
			continue;
		}
		if (poll(&pfd, 1, ms > 0 ? ms : 0) > 0) {
			if (ui_handle_input(ui))
				break;
			ui_render(ui);
		}
	}
	ui__free(ui);
	free(d.flows);
	if (frames)
		fprintf(stderr, "ui_demo: %zu flows, %lu refreshes, %.2f ms UI time per refresh\n",
			d.n_flows, frames, ui_time * 1000 / frames);
	return 0;
}
