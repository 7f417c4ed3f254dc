/* Drill-down of one flow: every counter both ways, rate history, flags, and its live packet list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "core/escape.h"
#include "ui/format.h"
#include "ui/panes.h"

#define DETAIL_PKTS 512

struct detail_pane {
	struct pane base;
	struct ui_actions act; /* destroy runs without the ui: keep what it needs */
	struct flow_row row;   /* last copy seen, kept when the flow leaves the table */
	int gone;
	unsigned gen;
	int watching;
	struct pkt_event *pkts;
	size_t npkts;
	size_t back; /* packet rows scrolled back from the newest */
};

static void refresh_row(struct detail_pane *p, struct ui *ui)
{
	const struct snapshot *s = ui->snap;

	if (p->gen == ui->snap_gen || !s)
		return;
	p->gen = ui->snap_gen;
	/* a linear search once per snapshot: the table is not indexed by key */
	for (size_t i = 0; i < s->n_flows; i++) {
		if (!memcmp(&s->flows[i].key, &p->row.key, sizeof(p->row.key))) {
			p->row = s->flows[i];
			p->gone = 0;
			return;
		}
	}
	p->gone = 1;
}

static void pkt_time(uint64_t ts_ns, char *buf, size_t len)
{
	struct timespec mono, real;
	double age, t;
	time_t sec;
	struct tm tm;

	/* ts is CLOCK_MONOTONIC (bpf_ktime_get_ns); shown as wall-clock time of day */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	age = (mono.tv_sec + mono.tv_nsec / 1e9) - ts_ns / 1e9;
	t = real.tv_sec + real.tv_nsec / 1e9 - age;
	sec = (time_t)t;
	localtime_r(&sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%06d", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((t - (double)sec) * 1e6));
}

static int line(struct ui *ui, const struct rect *r, int y, enum role role, const char *s)
{
	if (y < r->y + r->h)
		ui_put(ui, y, r->x, r->w, role, s);
	return y + 1;
}

/* One labelled sparkline row of one of the flow's histories (the models keep them). */
static int spark_row(struct ui *ui, const struct rect *r, int y, const char *what,
		     const struct flow_row *f, enum flow_series which, int usec, enum role role)
{
	char buf[64], a[16];
	float max = 0, h[PL_HIST_LEN];
	size_t len = ui->snap ? flow_hist(ui->snap, f, which, h) : 0;

	if (y >= r->y + r->h)
		return y + 1;
	for (size_t i = 0; i < len; i++)
		if (h[i] > max)
			max = h[i];
	if (usec)
		fmt_usec((uint32_t)max, a, sizeof(a));
	else
		fmt_human(max, a, sizeof(a));
	snprintf(buf, sizeof(buf), " %s (max %s) ", what, a);
	ui_put(ui, y, r->x, 24, role, buf);
	ui_put_spark(ui, y, r->x + 24, r->w - 24 > PL_HIST_LEN ? PL_HIST_LEN : r->w - 24,
		     ROLE_SPARK, h, len);
	return y + 1;
}

/* TCP health of the flow: windows, reordering, resets, life, history, kernel latency. */
static int tcp_section(struct ui *ui, const struct rect *r, int y, const struct flow_row *f)
{
	char buf[512], a[16], b[16], ssth[16], snd[16], rcv[16];
	const struct tcp_sock_detail *t = ui->snap ? flow_tcp_detail(ui->snap, f) : NULL;
	uint32_t n_timeline = t ? t->n_timeline : 0;
	size_t o;

	/* unknown (no tcp_probe yet) is "-", never 0; the kernel's "no threshold yet" is
	 * TCP_INFINITE_SSTHRESH */
	snprintf(ssth, sizeof(ssth), "-");
	snprintf(snd, sizeof(snd), "-");
	snprintf(rcv, sizeof(rcv), "-");
	if (f->known & PL_FK_TCP_INFO) {
		if (f->ssthresh >= 0x7fffffff)
			snprintf(ssth, sizeof(ssth), "inf");
		else
			snprintf(ssth, sizeof(ssth), "%u", f->ssthresh);
		snprintf(snd, sizeof(snd), "%u", f->snd_wnd);
		snprintf(rcv, sizeof(rcv), "%u", f->rcv_wnd);
	}
	snprintf(buf, sizeof(buf),
		 " TCP  opened by %s  handshake %s  duration %s  ssthresh %s  snd wnd %s  "
		 "rcv wnd %s  ooo %u  dup %u  zero-win %u  resets in %u out %u",
		 f->active ? "this host" : "the peer",
		 f->handshake_ms >= 0
		     ? fmt_usec((uint32_t)(f->handshake_ms * 1000 + 0.5), a, sizeof(a))
		     : "-",
		 fmt_duration(ui->snap ? flow_duration(ui->snap, f) : 0, b, sizeof(b)), ssth, snd,
		 rcv, f->ooo, f->dup, f->zero_win, f->resets_rx, f->resets_tx);
	y = line(ui, r, y, ROLE_NORMAL, buf);
	o = (size_t)snprintf(buf, sizeof(buf), " states ");
	for (uint32_t i = 0, shown = 0; i < n_timeline && i < 8 && o < sizeof(buf); i++) {
		char st[20];

		/* each transition once: after shutdown(SHUT_WR), close() sets FIN_WAIT1 again
		 * (tcp_close_state maps FIN_WAIT1 to itself) and sock:inet_sock_set_state fires
		 * with the old state equal to the new one */
		if (i && !strncmp(t->timeline[i].state, t->timeline[i - 1].state,
				  sizeof(t->timeline[i].state)))
			continue;
		ui_escape(st, sizeof(st), t->timeline[i].state, sizeof(t->timeline[i].state));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s +%ums", shown++ ? " > " : "",
				      st, t->timeline[i].ms);
	}
	if (!n_timeline)
		snprintf(buf + o, sizeof(buf) - o, "- (opened before pktlens started)");
	y = line(ui, r, y, ROLE_NORMAL, buf);
	y = spark_row(ui, r, y, "srtt", f, FH_SRTT_US, 1, ROLE_NORMAL);
	y = spark_row(ui, r, y, "cwnd", f, FH_CWND, 0, ROLE_NORMAL);
	return y;
}

/* Kernel receive latency (netif_receive_skb to the copy to the process), log2 microseconds. */
static int latency_line(struct ui *ui, const struct rect *r, int y, const struct flow_row *f)
{
	char buf[512];
	const struct flow_lat_row *l = ui->snap ? flow_latency(ui->snap, f) : NULL;
	size_t o;

	if (!l || !l->count)
		return line(ui, r, y, ROLE_DIM,
			    " kernel rx latency: no samples (needs --probes default,latency)");
	o = (size_t)snprintf(buf, sizeof(buf),
			     " kernel rx latency, %llu samples:", (unsigned long long)l->count);
	for (int i = 0; i < 24 && o < sizeof(buf); i++) {
		char a[16];

		if (l->hist[i])
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "  <%s %u",
					      fmt_usec(2u << i, a, sizeof(a)), l->hist[i]);
	}
	return line(ui, r, y, ROLE_NORMAL, buf);
}

/* This flow's drops by reason, from the drops model's per-flow rows. */
static int drops_line(struct ui *ui, const struct rect *r, int y, const struct flow_row *f)
{
	const struct snapshot_drops *d = ui->snap ? ui->snap->drops : NULL;
	char buf[512];
	size_t o, n = 0;

	if (!d)
		return y;
	o = (size_t)snprintf(buf, sizeof(buf), " drops by reason:");
	for (size_t i = 0; i < d->n_flows && o < sizeof(buf); i++) {
		const struct drop_flow_row *df = &d->flows[i];
		char name[48];

		/* drops are keyed like flows; the interface may be unknown where the kernel freed it */
		if (memcmp(df->key.local, f->key.local, 16) ||
		    memcmp(df->key.remote, f->key.remote, 16) || df->key.proto != f->key.proto ||
		    df->key.local_port != f->key.local_port ||
		    df->key.remote_port != f->key.remote_port ||
		    (df->key.ifindex && df->key.ifindex != f->key.ifindex))
			continue;
		ui_escape(name, sizeof(name), df->reason, sizeof(df->reason));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s %s %llu", n++ ? "," : "", name,
				      (unsigned long long)df->count);
	}
	if (!n)
		return f->drops
			   ? line(ui, r, y, ROLE_DIM, " drops by reason: (not among the top rows)")
			   : y;
	return line(ui, r, y, ROLE_WARN, buf);
}

/* This flow's HTTP transactions, from the application-layer model's recent list. */
#define DETAIL_HTTP_ROWS 6
static int http_section(struct ui *ui, const struct rect *r, int y, const struct flow_row *f)
{
	const struct snapshot_l7 *l = ui->snap ? ui->snap->l7 : NULL;
	size_t idx[DETAIL_HTTP_ROWS], n = 0, total = 0;
	char buf[512];

	if (!l)
		return y;
	/* newest first while collecting, shown oldest first */
	for (size_t i = l->n_recent; i-- > 0;) {
		if (memcmp(&l->recent[i].key, &f->key, sizeof(f->key)))
			continue;
		if (n < DETAIL_HTTP_ROWS)
			idx[n++] = i;
		total++;
	}
	if (!total && !strcmp(f->l7, "http"))
		return line(ui, r, y, ROLE_DIM,
			    " HTTP: no completed transactions in the recent list");
	if (!total)
		return y;
	snprintf(buf, sizeof(buf), " HTTP transactions: %zu recent%s", total,
		 total > n ? " (newest shown)" : "");
	y = line(ui, r, y, ROLE_TITLE, buf);
	y = line(ui, r, y, ROLE_HEADER, " TIME        METHOD  STATUS    LATENCY  HOST PATH");
	while (n-- > 0) {
		const struct http_tx_row *t = &l->recent[idx[n]];
		char m[32], host[96], path[256], st[8], lat[24];

		ui_escape(m, sizeof(m), t->method, sizeof(t->method));
		escape_display_bytes(host, sizeof(host), t->host, t->host_len);
		escape_display_bytes(path, sizeof(path), t->path, t->path_len);
		if (t->status)
			snprintf(st, sizeof(st), "%u", t->status);
		else
			snprintf(st, sizeof(st), "-");
		if (t->latency_ms >= 0)
			snprintf(lat, sizeof(lat), "%.2fms", t->latency_ms);
		else
			snprintf(lat, sizeof(lat), "-");
		snprintf(buf, sizeof(buf), " %9.1fs  %-7s %-6s %10s  %s%s", t->time, m, st, lat,
			 host, path);
		y = line(ui, r, y, t->status >= 400 ? ROLE_ERROR : ROLE_NORMAL, buf);
	}
	return y;
}

static void detail_display(struct pane *pp, struct ui *ui, const struct rect *r)
{
	struct detail_pane *p = (struct detail_pane *)pp;
	const struct flow_row *f = &p->row;
	int v6 = f->key.family == PL_AF_INET6, y = r->y, bottom = r->y + r->h;
	char l[96], rm[96], esc[64], buf[512], a[16], b[16], c[16], d[16], flags[9], cw[16];
	double up = ui->snap ? ui->snap->uptime_s : 0;
	size_t shown, first;

	refresh_row(p, ui);
	ui_escape(esc, sizeof(esc), f->local, sizeof(f->local));
	fmt_endpoint(esc, f->key.local_port, v6, l, sizeof(l));
	ui_escape(esc, sizeof(esc), f->remote, sizeof(f->remote));
	fmt_endpoint(esc, f->key.remote_port, v6, rm, sizeof(rm));
	ui_escape(esc, sizeof(esc), f->iface, sizeof(f->iface));
	snprintf(buf, sizeof(buf), " Flow %s on %s: %s <-> %s%s", proto_name(f->key.proto), esc, l,
		 rm, p->gone ? "   (gone from the flow table; last values)" : "");
	y = line(ui, r, y, ROLE_TITLE, buf);

	flow_flags_str(f->tcp_flags, flags);
	ui_escape(esc, sizeof(esc), f->comm, sizeof(f->comm));
	snprintf(a, sizeof(a), "-");
	snprintf(cw, sizeof(cw), "-");
	if (f->known & PL_FK_TCP_INFO) {
		fmt_usec(f->srtt_us, a, sizeof(a));
		snprintf(cw, sizeof(cw), "%u", f->cwnd);
	}
	snprintf(buf, sizeof(buf),
		 " state %s  srtt %s  cwnd %s  retrans %llu (received %u)  drops %llu  flags %s  "
		 "l7 %.8s  process %s%s%.0u",
		 f->state[0] ? f->state : "-", a, cw, (unsigned long long)f->retrans, f->retrans_rx,
		 (unsigned long long)f->drops, flags[0] ? flags : "-", f->l7[0] ? f->l7 : "-",
		 esc[0] ? esc : "-", f->pid ? "/" : "", f->pid);
	y = line(ui, r, y, ROLE_NORMAL, buf);
	snprintf(buf, sizeof(buf), " first seen %s ago   last seen %s ago",
		 fmt_duration(up - f->first_seen, a, sizeof(a)),
		 fmt_duration(up - f->last_seen, b, sizeof(b)));
	y = line(ui, r, y, ROLE_NORMAL, buf);
	y++;

	y = line(ui, r, y, ROLE_HEADER,
		 " DIRECTION        PACKETS  BYTES (frames)        PPS       b/s");
	snprintf(buf, sizeof(buf), " rx (in)   %14llu  %14llu  %9s %9s",
		 (unsigned long long)f->rx_packets, (unsigned long long)f->rx_bytes,
		 fmt_human(f->rx_pps, a, sizeof(a)), fmt_human(f->rx_bps, b, sizeof(b)));
	y = line(ui, r, y, ROLE_RX, buf);
	snprintf(buf, sizeof(buf), " tx (out)  %14llu  %14llu  %9s %9s",
		 (unsigned long long)f->tx_packets, (unsigned long long)f->tx_bytes,
		 fmt_human(f->tx_pps, c, sizeof(c)), fmt_human(f->tx_bps, d, sizeof(d)));
	y = line(ui, r, y, ROLE_TX, buf);
	y++;

	/* rates over time, one row per direction, scaled to each row's own maximum */
	for (int dir = 0; dir < 2 && y < bottom; dir++, y++) {
		float h[PL_HIST_LEN], max = 0;
		size_t n = ui->snap ? flow_hist(ui->snap, f, dir ? FH_TX_BPS : FH_RX_BPS, h) : 0;
		int x;

		for (size_t i = 0; i < n; i++)
			if (h[i] > max)
				max = h[i];
		snprintf(buf, sizeof(buf), " %s (max %s) ", dir ? "tx" : "rx",
			 fmt_bits(max, a, sizeof(a)));
		x = r->x + 24;
		ui_put(ui, y, r->x, 24, dir ? ROLE_TX : ROLE_RX, buf);
		ui_put_spark(ui, y, x, r->w - 24 > PL_HIST_LEN ? PL_HIST_LEN : r->w - 24,
			     ROLE_SPARK, h, n);
	}
	if (f->key.proto == IPPROTO_TCP) {
		y = tcp_section(ui, r, y, f);
		y = latency_line(ui, r, y, f);
	}
	y = drops_line(ui, r, y, f);
	y = http_section(ui, r, y, f);
	y++;

	if (p->watching && ui->act.flow_packets)
		p->npkts = ui->act.flow_packets(ui->act.ctx, &f->key, p->pkts, DETAIL_PKTS);
	snprintf(buf, sizeof(buf), " Recent packets: %zu captured%s%s", p->npkts,
		 p->watching ? " (watching; newest last)" : " (not watching)",
		 p->back ? "  [scrolled back: End follows]" : "");
	y = line(ui, r, y, ROLE_TITLE, buf);
	y = line(ui, r, y, ROLE_HEADER,
		 " TIME             DIR  HOOK  LEN    FLAGS  SEQ         ACK         WIN");
	if (y >= bottom)
		return;
	shown = (size_t)(bottom - y);
	if (p->back + shown > p->npkts)
		p->back = p->npkts > shown ? p->npkts - shown : 0;
	first = p->npkts > shown + p->back ? p->npkts - shown - p->back : 0;
	for (size_t i = first; i < p->npkts - p->back && y < bottom; i++) {
		const struct pkt_event *e = &p->pkts[i];
		static const char *const hooks[] = { "xdp", "tc", "tc" };
		char t[32];

		pkt_time(e->ts_ns, t, sizeof(t));
		flow_flags_str(e->tcp_flags, flags);
		snprintf(buf, sizeof(buf), " %s  %-3s  %-4s  %-5u  %-6s %-10u  %-10u  %u", t,
			 e->dir ? "out" : "in", e->hook < 3 ? hooks[e->hook] : "?", e->len,
			 flags[0] ? flags : "-", e->seq, e->ack, e->window);
		y = line(ui, r, y, e->dir ? ROLE_TX : ROLE_RX, buf);
	}
}

static int detail_on_key(struct pane *pp, struct ui *ui, enum ui_action act, int key)
{
	struct detail_pane *p = (struct detail_pane *)pp;

	return scrollback_key(&p->back, DETAIL_PKTS, act);
}

static void detail_destroy(struct pane *pp)
{
	struct detail_pane *p = (struct detail_pane *)pp;
	char err[128];

	/* the watch entry costs ring buffer traffic: it lives exactly as long as the view */
	if (p->watching && p->act.flow_watch)
		p->act.flow_watch(p->act.ctx, &p->row.key, 0, err, sizeof(err));
	free(p->pkts);
	free(p);
}

static const struct keymap *const detail_maps[] = { &keys_scroll, NULL };

static const struct pane_class detail_class = {
	.name = "Flow",
	.keys = detail_maps,
	.live = 1,
	.display = detail_display,
	.on_key = detail_on_key,
	.destroy = detail_destroy,
};

struct pane *detail_pane__new(struct ui *ui, const struct flow_row *row)
{
	struct detail_pane *p = calloc(1, sizeof(*p));
	char err[256] = "";

	if (!p)
		return NULL;
	p->pkts = calloc(DETAIL_PKTS, sizeof(*p->pkts));
	if (!p->pkts) {
		free(p);
		return NULL;
	}
	p->base.cls = &detail_class;
	p->act = ui->act;
	p->row = *row;
	p->gen = ui->snap_gen;
	if (!ui->act.flow_watch) {
		ui_status_err(ui, "packet capture is not available here");
	} else if (ui->act.flow_watch(ui->act.ctx, &row->key, 1, err, sizeof(err))) {
		ui_status_err(ui, "cannot watch this flow: %s", err[0] ? err : "failed");
	} else {
		p->watching = 1;
	}
	return &p->base;
}
