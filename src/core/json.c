/* Writes a snapshot as one line of JSON, every key of contract version 1 present even when empty. */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "core/escape.h"
#include "core/json.h"
#include "core/l7model.h"
#include "core/procfs.h"

static void kv_str(FILE *f, const char *k, const char *v, int comma)
{
	fprintf(f, "%s\"%s\":", comma ? "," : "", k);
	json_write_string(f, v);
}

/* n bytes off the wire, NULs included ("a\u0000b"). */
static void kv_bytes(FILE *f, const char *k, const char *v, size_t n, int comma)
{
	fprintf(f, "%s\"%s\":", comma ? "," : "", k);
	json_write_bytes(f, v, n);
}

/* JSON has no NaN or infinity; rates are finite but guard anyway. */
static void kv_num(FILE *f, const char *k, double v)
{
	if (v != v || v > 1e300 || v < -1e300)
		v = 0;
	fprintf(f, ",\"%s\":%.3f", k, v);
}

static void kv_u64(FILE *f, const char *k, uint64_t v)
{
	fprintf(f, ",\"%s\":%" PRIu64, k, v);
}

static void write_time(FILE *f, int64_t unix_ns)
{
	time_t t = (time_t)(unix_ns / 1000000000LL);
	struct tm tm;
	char buf[64];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "\"time\":\"%s.%03dZ\"", buf, (int)((unix_ns / 1000000LL) % 1000));
}

/* A log2 histogram as {"count":N,"buckets":[{"le_us":2,"count":N},...]} (non-empty buckets). */
static void write_hist(FILE *f, const char *key, const uint32_t *h, uint64_t count)
{
	fprintf(f, ",\"%s\":{\"count\":%" PRIu64 ",\"buckets\":[", key, count);
	int first = 1;
	for (int b = 0; b < 24; b++) {
		if (!h[b])
			continue;
		fprintf(f, "%s{\"le_us\":%llu,\"count\":%u}", first ? "" : ",", 1ULL << (b + 1),
			h[b]);
		first = 0;
	}
	fputs("]}", f);
}

static void write_tcp(FILE *f, const struct snapshot_tcp *t)
{
	static const struct snapshot_tcp none;
	if (!t)
		t = &none;
	fprintf(f, ",\"retransmits\":{\"total\":%" PRIu64, t->retrans_total);
	kv_num(f, "rate", t->retrans_rate);
	/* the peers' retransmissions that arrived here, summed over the flows of this snapshot */
	kv_u64(f, "received", t->retrans_rx);
	fputs(",\"recent\":[", f);
	size_t first = t->n_recent > 32 ? t->n_recent - 32 : 0;
	for (size_t i = first; i < t->n_recent; i++) {
		const struct tcp_event_row *r = &t->recent[i];
		fputs(i > first ? ",{" : "{", f);
		kv_str(f, "kind", r->kind, 0);
		kv_num(f, "time", r->time);
		kv_str(f, "state", r->state, 1);
		kv_str(f, "flow", r->flow, 1);
		kv_u64(f, "seq", r->seq);
		kv_u64(f, "segs", r->segs);
		fputc('}', f);
	}
	fputs("]}", f);
	fprintf(f, ",\"tcp\":{\"connections\":%" PRIu64, t->conns_opened);
	kv_num(f, "conn_rate", t->conn_rate);
	kv_u64(f, "short_lived", t->short_lived);
	kv_num(f, "handshake_ms_avg", t->handshake_ms_avg);
	kv_u64(f, "resets_rx", t->resets_rx);
	kv_u64(f, "resets_tx", t->resets_tx);
	kv_u64(f, "events_lost", t->events_lost);
	write_hist(f, "kernel_latency_us", t->lat_hist, t->lat_count);
	fputc('}', f);
}

static void write_probes(FILE *f, const struct snapshot *s)
{
	fputs(",\"probes\":[", f);
	for (size_t i = 0; i < s->n_probes; i++) {
		const struct probe_info *p = &s->probes[i];
		fputs(i ? ",{" : "{", f);
		kv_str(f, "id", p->id, 0);
		kv_str(f, "kind", probe_kind_name(p->kind), 1);
		kv_str(f, "target", p->target, 1);
		kv_str(f, "state", probe_state_name(p->state), 1);
		kv_str(f, "reason", p->reason, 1);
		kv_str(f, "mode", p->detail, 1);
		/* who else is attached on the hook, in the kernel's order */
		fputs(",\"others\":[", f);
		for (uint32_t j = 0; j < p->n_others; j++) {
			fprintf(f, "%s{\"id\":%u", j ? "," : "", p->others[j].id);
			kv_str(f, "name", p->others[j].name, 1);
			kv_str(f, "how", p->others[j].how, 1);
			fputc('}', f);
		}
		fputc(']', f);
		kv_u64(f, "others_more", p->others_more);
		kv_u64(f, "run_cnt", p->run_cnt);
		kv_u64(f, "run_time_ns", p->run_time_ns);
		kv_u64(f, "recursion_misses", p->misses);
		kv_u64(f, "hits", p->hits);
		write_hist(f, "latency_us", p->lat_hist, p->lat_count);
		fputs(",\"latency_pids\":[", f);
		for (uint32_t j = 0; j < p->n_lat_pids; j++)
			fprintf(f, "%s{\"pid\":%u,\"count\":%" PRIu64 "}", j ? "," : "",
				p->lat_pids[j].pid, p->lat_pids[j].count);
		fputs("]}", f);
	}
	fputc(']', f);
}

/*
 * The keys of a flow whose value pktlens has not measured: they keep their type and read 0
 * (handshake_ms -1), and are named here so that a real 0 (a zero window) stays a 0.
 */
static void write_unknown(FILE *f, const struct flow_row *r)
{
	static const char *const tcp_info[] = { "srtt_us", "cwnd", "ssthresh", "snd_wnd",
						"rcv_wnd" };
	int n = 0;

	fputs(",\"unknown\":[", f);
	if (!(r->known & PL_FK_TCP_INFO))
		for (size_t i = 0; i < sizeof(tcp_info) / sizeof(tcp_info[0]); i++)
			fprintf(f, "%s\"%s\"", n++ ? "," : "", tcp_info[i]);
	if (r->handshake_ms < 0)
		fprintf(f, "%s\"handshake_ms\"", n++ ? "," : "");
	fputc(']', f);
}

static void write_flows(FILE *f, const struct snapshot *s)
{
	fputs(",\"flows\":[", f);
	for (size_t i = 0; i < s->n_flows; i++) {
		const struct flow_row *r = &s->flows[i];
		char flags[9];
		flow_flags_str(r->tcp_flags, flags);
		fputs(i ? ",{" : "{", f);
		kv_str(f, "iface", r->iface, 0);
		kv_str(f, "proto", proto_name(r->key.proto), 1);
		kv_str(f, "local", r->local, 1);
		kv_u64(f, "local_port", r->key.local_port);
		kv_str(f, "remote", r->remote, 1);
		kv_u64(f, "remote_port", r->key.remote_port);
		kv_u64(f, "rx_packets", r->rx_packets);
		kv_u64(f, "rx_bytes", r->rx_bytes);
		kv_u64(f, "tx_packets", r->tx_packets);
		kv_u64(f, "tx_bytes", r->tx_bytes);
		kv_num(f, "rx_pps", r->rx_pps);
		kv_num(f, "rx_bps", r->rx_bps);
		kv_num(f, "tx_pps", r->tx_pps);
		kv_num(f, "tx_bps", r->tx_bps);
		kv_str(f, "tcp_flags", flags, 1);
		kv_str(f, "state", r->state, 1);
		kv_u64(f, "srtt_us", r->srtt_us);
		kv_u64(f, "cwnd", r->cwnd);
		kv_u64(f, "retrans", r->retrans);
		kv_u64(f, "drops", r->drops);
		kv_str(f, "l7", r->l7, 1);
		fprintf(f, ",\"port80_not_http\":%s",
			(r->l7_flags & PL_L7F_PORT80_NOT_HTTP) ? "true" : "false");
		kv_u64(f, "pid", r->pid);
		kv_str(f, "comm", r->comm, 1);
		kv_num(f, "first_seen", r->first_seen);
		kv_num(f, "last_seen", r->last_seen);
		kv_u64(f, "ssthresh", r->ssthresh);
		kv_u64(f, "snd_wnd", r->snd_wnd);
		kv_u64(f, "rcv_wnd", r->rcv_wnd);
		kv_u64(f, "ooo", r->ooo);
		kv_u64(f, "dup", r->dup);
		kv_u64(f, "retrans_rx", r->retrans_rx);
		kv_u64(f, "zero_window", r->zero_win);
		kv_u64(f, "resets", (uint64_t)r->resets_rx + r->resets_tx);
		kv_u64(f, "resets_rx", r->resets_rx);
		kv_u64(f, "resets_tx", r->resets_tx);
		kv_num(f, "handshake_ms", r->handshake_ms);
		kv_num(f, "duration_s", r->duration_s);
		write_unknown(f, r);
		fputs(",\"timeline\":[", f);
		for (uint32_t t = 0; t < r->n_timeline; t++) {
			fputs(t ? ",{" : "{", f);
			kv_str(f, "state", r->timeline[t].state, 0);
			kv_u64(f, "ms", r->timeline[t].ms);
			fputc('}', f);
		}
		fputc(']', f);
		write_hist(f, "kernel_latency_us", r->lat_hist, r->lat_count);
		fputc('}', f);
	}
	fputc(']', f);
}

static void write_drops(FILE *f, const struct snapshot_drops *d)
{
	static const struct snapshot_drops none;
	if (!d)
		d = &none;
	fprintf(f, ",\"drops\":{\"total\":%" PRIu64, d->total);
	kv_num(f, "rate", d->rate);
	fputs(",\"by_reason\":[", f);
	for (size_t i = 0; i < d->n_reasons; i++) {
		const struct drop_reason_row *r = &d->reasons[i];
		fputs(i ? ",{" : "{", f);
		kv_str(f, "reason", r->reason, 0);
		kv_u64(f, "count", r->count);
		kv_num(f, "rate", r->rate);
		kv_num(f, "last_seen", r->last_seen);
		kv_str(f, "top_flow", r->top_flow, 1);
		fputc('}', f);
	}
	fputs("],\"by_location\":[", f);
	for (size_t i = 0; i < d->n_locs; i++) {
		fputs(i ? ",{" : "{", f);
		kv_str(f, "function", d->locs[i].function, 0);
		kv_u64(f, "count", d->locs[i].count);
		fputc('}', f);
	}
	fputs("],\"by_iface\":[", f);
	for (size_t i = 0; i < d->n_ifaces; i++) {
		fputs(i ? ",{" : "{", f);
		kv_str(f, "iface", d->ifaces[i].iface, 0);
		kv_str(f, "proto", d->ifaces[i].proto, 1);
		kv_u64(f, "count", d->ifaces[i].count);
		fputc('}', f);
	}
	fputs("],\"flows\":[", f);
	for (size_t i = 0; i < d->n_flows && i < 32; i++) {
		fputs(i ? ",{" : "{", f);
		kv_str(f, "flow", d->flows[i].flow, 0);
		kv_str(f, "reason", d->flows[i].reason, 1);
		kv_u64(f, "count", d->flows[i].count);
		fputc('}', f);
	}
	fputs("],\"recent\":[", f);
	size_t first = d->n_events > 16 ? d->n_events - 16 : 0;
	for (size_t i = first; i < d->n_events; i++) {
		const struct drop_event_row *r = &d->events[i];
		fputs(i > first ? ",{" : "{", f);
		kv_str(f, "reason", r->reason, 0);
		kv_str(f, "location", r->location, 1);
		kv_str(f, "flow", r->flow, 1);
		kv_u64(f, "len", r->len);
		kv_num(f, "time", r->time);
		fputc('}', f);
	}
	fputs("],\"queues\":[", f);
	for (size_t i = 0; i < d->n_qdiscs; i++) {
		const struct qdisc_row *q = &d->qdiscs[i];
		fputs(i ? ",{" : "{", f);
		kv_str(f, "iface", q->iface, 0);
		kv_str(f, "kind", q->kind, 1);
		kv_str(f, "handle", q->handle, 1);
		kv_str(f, "parent", q->parent, 1);
		kv_u64(f, "packets", q->packets);
		kv_u64(f, "bytes", q->bytes);
		kv_u64(f, "drops", q->drops);
		kv_u64(f, "overlimits", q->overlimits);
		kv_u64(f, "requeues", q->requeues);
		kv_u64(f, "backlog", q->backlog);
		kv_u64(f, "qlen", q->qlen);
		fputc('}', f);
	}
	fputs("],\"softnet\":[", f);
	for (size_t i = 0; i < d->n_softnet; i++) {
		const struct softnet_row *r = &d->softnet[i];
		fprintf(f, "%s{\"cpu\":%u", i ? "," : "", r->cpu);
		kv_u64(f, "processed", r->processed);
		kv_u64(f, "dropped", r->dropped);
		kv_u64(f, "time_squeeze", r->time_squeeze);
		kv_u64(f, "flow_limit", r->flow_limit);
		fputc('}', f);
	}
	fprintf(f, "],\"rcvqueue_full\":%" PRIu64, d->rcvqueue_full);
	kv_u64(f, "exceed_buf_limit", d->exceed_buf_limit);
	kv_u64(f, "events_lost", d->events_lost);
	fprintf(f, ",\"have_reasons\":%s", d->have_reasons ? "true" : "false");
	/* queues freed with their owner: not in total or any list above (src/core/drops.c) */
	fprintf(f, ",\"discarded_at_close\":{\"total\":%" PRIu64, d->discarded);
	kv_num(f, "rate", d->discarded_rate);
	fputs(",\"by_reason\":[", f);
	for (size_t i = 0; i < d->n_discard_reasons; i++) {
		const struct drop_reason_row *r = &d->discard_reasons[i];
		fputs(i ? ",{" : "{", f);
		kv_str(f, "reason", r->reason, 0);
		kv_u64(f, "count", r->count);
		kv_num(f, "rate", r->rate);
		kv_num(f, "last_seen", r->last_seen);
		fputc('}', f);
	}
	fputs("],\"by_location\":[", f);
	for (size_t i = 0; i < d->n_discard_locs; i++) {
		fputs(i ? ",{" : "{", f);
		kv_str(f, "function", d->discard_locs[i].function, 0);
		kv_u64(f, "count", d->discard_locs[i].count);
		fputc('}', f);
	}
	fputs("],\"recent\":[", f);
	for (size_t i = 0; i < d->n_discard_events; i++) {
		const struct drop_event_row *r = &d->discard_events[i];
		fputs(i ? ",{" : "{", f);
		kv_str(f, "reason", r->reason, 0);
		kv_str(f, "location", r->location, 1);
		kv_str(f, "flow", r->flow, 1);
		kv_u64(f, "len", r->len);
		kv_num(f, "time", r->time);
		fputc('}', f);
	}
	fputs("]}}", f);
}

static const struct snapshot_procs *g_procs; /* qsort has no context argument in C11 */

/* Largest first: bytes read and written, then open sockets, live before exited, then pid. */
static int cmp_proc_size(const void *a, const void *b)
{
	const struct proc_row *x = &g_procs->rows[*(const uint32_t *)a];
	const struct proc_row *y = &g_procs->rows[*(const uint32_t *)b];
	uint64_t bx = x->rx_bytes + x->tx_bytes, by = y->rx_bytes + y->tx_bytes;
	if (bx != by)
		return bx < by ? 1 : -1;
	if (x->sockets != y->sockets)
		return x->sockets < y->sockets ? 1 : -1;
	if (x->exited != y->exited)
		return x->exited ? 1 : -1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->start_ticks > y->start_ticks) - (x->start_ticks < y->start_ticks);
}

static void write_rest(FILE *f, const char *key, const struct proc_rest *r, int comma)
{
	fprintf(f, "%s\"%s\":{\"count\":%" PRIu64, comma ? "," : "", key, r->count);
	kv_u64(f, "sockets", r->sockets);
	kv_u64(f, "rx_bytes", r->rx_bytes);
	kv_u64(f, "tx_bytes", r->tx_bytes);
	fputc('}', f);
}

static void write_proc(FILE *f, const struct snapshot_procs *p, const struct proc_row *r, int comma)
{
	fprintf(f, "%s{\"pid\":%u", comma ? "," : "", r->pid);
	kv_str(f, "comm", r->comm, 1);
	kv_u64(f, "sockets", r->sockets);
	kv_u64(f, "rx_bytes", r->rx_bytes);
	kv_u64(f, "tx_bytes", r->tx_bytes);
	kv_num(f, "rx_bps", r->rx_bps);
	kv_num(f, "tx_bps", r->tx_bps);
	kv_u64(f, "rx_calls", r->rx_calls);
	kv_u64(f, "tx_calls", r->tx_calls);
	kv_u64(f, "tcp", r->tcp);
	kv_u64(f, "udp", r->udp);
	kv_u64(f, "other", r->other);
	kv_u64(f, "listen", r->listen);
	kv_u64(f, "established", r->established);
	kv_u64(f, "connects", r->connects);
	kv_u64(f, "accepts", r->accepts);
	kv_num(f, "conn_rate", r->conn_rate);
	kv_u64(f, "flows", r->flows);
	kv_u64(f, "retrans", r->retrans);
	kv_u64(f, "drops", r->drops);
	kv_u64(f, "cgroup_id", r->cgroup_id);
	kv_str(f, "cgroup", r->cgroup, 1);
	kv_str(f, "cmdline", r->cmdline, 1);
	/* seconds since boot, as ps: with pid, it names the process (a pid is reused) */
	kv_num(f, "start_time", (double)r->start_ticks / (double)procfs_ticks_per_s());
	fprintf(f, ",\"exited\":%s", r->exited ? "true" : "false");
	kv_num(f, "exited_at", r->exited_at);
	kv_num(f, "first_seen", r->first_seen);
	kv_num(f, "last_seen", r->last_seen);
	/* a busy server has thousands: the line stays bounded (open, busiest first), the pane
	 * shows them all */
	kv_u64(f, "socket_rows", r->n_socks);
	fputs(",\"socks\":[", f);
	for (uint32_t k = 0;
	     k < r->n_socks && k < PL_JSON_PROC_SOCKS_MAX && r->first_sock + k < p->n_socks; k++) {
		const struct proc_sock_row *o = &p->socks[r->first_sock + k];
		fputs(k ? ",{" : "{", f);
		kv_str(f, "proto", proto_name(o->proto), 0);
		kv_str(f, "local", o->local, 1);
		kv_u64(f, "local_port", o->local_port);
		kv_str(f, "remote", o->remote, 1);
		kv_u64(f, "remote_port", o->remote_port);
		kv_str(f, "state", o->state, 1);
		kv_u64(f, "inode", o->inode);
		kv_u64(f, "rx_bytes", o->rx_bytes);
		kv_u64(f, "tx_bytes", o->tx_bytes);
		kv_u64(f, "rx_calls", o->rx_calls);
		kv_u64(f, "tx_calls", o->tx_calls);
		kv_u64(f, "tid", o->tid);
		kv_str(f, "thread", o->thread, 1);
		fprintf(f, ",\"listen\":%s,\"open\":%s,\"from_proc\":%s}",
			o->flags & 1 ? "true" : "false", o->open ? "true" : "false",
			o->from_proc ? "true" : "false");
	}
	fputs("]}", f);
}

/*
 * Per-process socket usage: bytes are socket payload the process read and
 * wrote. At most PL_JSON_PROCS_MAX processes, largest first; the rest is
 * summed in processes_left_out (4,000 short-lived processes made a 4.7 MB
 * line per second).
 */
static void write_processes(FILE *f, const struct snapshot_procs *p)
{
	static const struct proc_rest none;
	struct proc_rest rest = { 0 };
	size_t n = p ? p->n_rows : 0;
	uint32_t *ord = n ? malloc(n * sizeof(*ord)) : NULL;
	size_t shown = 0;

	fputs(",\"processes\":[", f);
	if (ord) {
		for (size_t i = 0; i < n; i++)
			ord[i] = (uint32_t)i;
		g_procs = p;
		qsort(ord, n, sizeof(*ord), cmp_proc_size);
		for (size_t i = 0; i < n; i++) {
			const struct proc_row *r = &p->rows[ord[i]];
			if (shown < PL_JSON_PROCS_MAX) {
				write_proc(f, p, r, shown++ > 0);
				continue;
			}
			rest.count++;
			rest.sockets += r->sockets;
			rest.rx_bytes += r->rx_bytes;
			rest.tx_bytes += r->tx_bytes;
		}
		free(ord);
	} else {
		rest.count = n; /* out of memory: say that they are there */
	}
	fputc(']', f);
	write_rest(f, "processes_left_out", &rest, 1);
	fprintf(f, ",\"process_attribution\":{\"flows\":%" PRIu64, p ? p->flows : 0);
	kv_u64(f, "attributed", p ? p->flows_attributed : 0);
	kv_u64(f, "proc_scans", p ? p->proc_scans : 0);
	write_rest(f, "processes_evicted", p ? &p->evicted : &none, 1);
	write_rest(f, "processes_expired", p ? &p->expired : &none, 1);
	kv_u64(f, "sockets_untracked", p ? p->untracked_socks : 0);
	kv_u64(f, "closed_remembered", p ? p->closed_remembered : 0);
	fputc('}', f);
}

static void write_http_tx(FILE *f, const struct http_tx_row *t, int comma)
{
	fputs(comma ? ",{" : "{", f);
	kv_str(f, "method", t->method, 0);
	kv_bytes(f, "host", t->host, t->host_len, 1);
	kv_bytes(f, "path", t->path, t->path_len, 1);
	kv_u64(f, "status", t->status);
	kv_num(f, "latency_ms", t->latency_ms);
	kv_num(f, "time", t->time);
	kv_u64(f, "pid", t->pid);
	kv_str(f, "comm", t->comm, 1);
	fprintf(f, ",\"tls\":%s}", t->tls ? "true" : "false");
}

/* What a bounded table folded away: {"<rows_key>":N,"count":N[,"errors":N,"p50_ms":F,...]}. */
static void write_other(FILE *f, const char *key, const char *rows_key, const struct l7_other *o,
			int latency, int errors)
{
	fprintf(f, ",\"%s\":{\"%s\":%" PRIu64, key, rows_key, o->rows);
	kv_u64(f, "count", o->count);
	if (errors)
		kv_u64(f, "errors", o->errors);
	if (latency) {
		kv_num(f, "p50_ms", o->p50_ms);
		kv_num(f, "p99_ms", o->p99_ms);
	}
	fputc('}', f);
}

/* http, dns and tls sections; every string in them came off the wire and is escaped. */
static void write_l7(FILE *f, const struct snapshot_l7 *l)
{
	static const struct snapshot_l7 none;
	if (!l)
		l = &none;
	fprintf(f, ",\"http\":{\"requests\":%" PRIu64, l->http_requests);
	kv_u64(f, "responses", l->http_responses);
	kv_u64(f, "unmatched_responses", l->http_unmatched);
	fputs(",\"by_status\":{", f);
	int first = 1;
	for (int c = 100; c < 600; c++) {
		if (!l->by_status[c])
			continue;
		fprintf(f, "%s\"%d\":%" PRIu64, first ? "" : ",", c, l->by_status[c]);
		first = 0;
	}
	fputs("},\"by_class\":{", f);
	for (int c = 1; c < 6; c++)
		fprintf(f, "%s\"%dxx\":%" PRIu64, c > 1 ? "," : "", c, l->by_class[c]);
	fputs("},\"endpoints\":[", f);
	for (size_t i = 0; i < l->n_endpoints; i++) {
		const struct http_endpoint_row *r = &l->endpoints[i];
		fputs(i ? ",{" : "{", f);
		kv_str(f, "method", r->method, 0);
		kv_bytes(f, "host", r->host, r->host_len, 1);
		kv_bytes(f, "path", r->path, r->path_len, 1);
		kv_u64(f, "count", r->count);
		kv_u64(f, "errors", r->errors);
		kv_num(f, "p50_ms", r->p50_ms);
		kv_num(f, "p90_ms", r->p90_ms);
		kv_num(f, "p99_ms", r->p99_ms);
		kv_num(f, "max_ms", r->max_ms);
		fputc('}', f);
	}
	fputc(']', f);
	write_other(f, "endpoints_other", "endpoints", &l->endpoints_other, 1, 1);
	kv_num(f, "slow_ms", l->slow_ms);
	fputs(",\"slow\":[", f);
	for (size_t i = 0; i < l->n_slow; i++)
		write_http_tx(f, &l->slow[i], i > 0);
	fputs("],\"recent\":[", f);
	size_t from = l->n_recent > 32 ? l->n_recent - 32 : 0;
	for (size_t i = from; i < l->n_recent; i++)
		write_http_tx(f, &l->recent[i], i > from);
	fprintf(f, "],\"parse_errors\":{\"request\":%" PRIu64, l->err_http_req);
	kv_u64(f, "response", l->err_http_resp);
	kv_u64(f, "line_too_long", l->err_http_long);
	fputc('}', f);
	kv_u64(f, "port80_not_http", l->port80_not_http);
	fputc('}', f);

	fprintf(f, ",\"dns\":{\"queries\":%" PRIu64, l->dns_queries);
	kv_u64(f, "responses", l->dns_responses);
	kv_u64(f, "parse_errors", l->err_dns);
	kv_u64(f, "unsolicited_answers", l->dns_unsolicited);
	fputs(",\"names\":[", f);
	for (size_t i = 0; i < l->n_names; i++) {
		const struct dns_name_row *r = &l->names[i];
		fputs(i ? ",{" : "{", f);
		kv_bytes(f, "name", r->name, r->name_len, 0);
		kv_str(f, "qtype", r->qtype, 1);
		kv_u64(f, "count", r->count);
		kv_str(f, "rcode", r->rcode, 1);
		kv_u64(f, "answers", r->answers);
		kv_num(f, "p50_ms", r->p50_ms);
		kv_num(f, "max_ms", r->max_ms);
		fputc('}', f);
	}
	fputc(']', f);
	write_other(f, "names_other", "names", &l->names_other, 1, 0);
	fputc('}', f);

	fprintf(f, ",\"tls\":{\"handshakes\":%" PRIu64, l->tls_handshakes);
	kv_u64(f, "parse_errors", l->err_tls);
	kv_u64(f, "unanswered_hellos", l->tls_unanswered);
	fputs(",\"sni\":[", f);
	for (size_t i = 0; i < l->n_sni; i++) {
		const struct tls_sni_row *r = &l->sni[i];
		fputs(i ? ",{" : "{", f);
		kv_bytes(f, "name", r->name, r->name_len, 0);
		kv_u64(f, "count", r->count);
		kv_bytes(f, "alpn", r->alpn, r->alpn_len, 1);
		kv_str(f, "version", r->version, 1);
		fputc('}', f);
	}
	fputc(']', f);
	write_other(f, "sni_other", "names", &l->sni_other, 0, 0);
	fputc('}', f);
	fprintf(f, ",\"l7_stats\":{\"events\":%" PRIu64, l->events);
	kv_u64(f, "events_lost", l->events_lost);
	kv_u64(f, "ssl_calls", l->ssl_calls);
	kv_u64(f, "ssl_lost", l->ssl_lost);
	fputs(",\"flows_by_proto\":{", f);
	for (int p = 1; p < 6; p++)
		fprintf(f, "%s\"%s\":%" PRIu64, p > 1 ? "," : "", l7_proto_name((unsigned)p),
			l->flows_by_proto[p]);
	fputs("}}", f);
}

static const char *const malformed_names[PL_M_MAX] = {
	[PL_M_ETH_TRUNC] = "eth_trunc",	  [PL_M_VLAN_TRUNC] = "vlan_trunc",
	[PL_M_IP4_TRUNC] = "ip4_trunc",	  [PL_M_IP4_IHL] = "ip4_ihl",
	[PL_M_IP4_LEN] = "ip4_len",	  [PL_M_IP6_TRUNC] = "ip6_trunc",
	[PL_M_IP6_EXT] = "ip6_ext",	  [PL_M_TCP_TRUNC] = "tcp_trunc",
	[PL_M_TCP_DOFF] = "tcp_doff",	  [PL_M_UDP_TRUNC] = "udp_trunc",
	[PL_M_ICMP_TRUNC] = "icmp_trunc", [PL_M_IP6_VER] = "ip6_version",
	[PL_M_UDP_LEN] = "udp_len",
};

static const char *const bucket_names[PL_P_MAX] = { "tcp",   "udp",	 "icmp",
						    "icmp6", "other_ip", "non_ip" };

void json_write_snapshot(FILE *f, const struct snapshot *s)
{
	fputs("{\"version\":1,", f);
	write_time(f, s->time_unix_ns);
	kv_num(f, "uptime_s", s->uptime_s);
	kv_str(f, "host", s->host, 1);
	kv_str(f, "netns", s->netns, 1);
	/* probes' run_cnt and run_time_ns grow only while BPF run-time statistics are on */
	fprintf(f, ",\"bpf_stats\":{\"on\":%s", s->bpf_stats ? "true" : "false");
	kv_num(f, "seconds", s->bpf_stats_s);
	fputc('}', f);
	write_probes(f, s);
	write_flows(f, s);
	write_tcp(f, s->tcp);
	write_drops(f, s->drops);
	write_l7(f, s->l7);
	write_processes(f, s->procs);
	fputs(",\"alerts\":[]", f);
	fputs(",\"totals\":{", f);
	fprintf(f, "\"rx_packets\":%" PRIu64, s->tot.rx_packets);
	kv_u64(f, "rx_bytes", s->tot.rx_bytes);
	kv_u64(f, "tx_packets", s->tot.tx_packets);
	kv_u64(f, "tx_bytes", s->tot.tx_bytes);
	kv_num(f, "rx_pps", s->tot.rx_pps);
	kv_num(f, "rx_bps", s->tot.rx_bps);
	kv_num(f, "tx_pps", s->tot.tx_pps);
	kv_num(f, "tx_bps", s->tot.tx_bps);
	fputs(",\"packets_by_proto\":{", f);
	for (int i = 0; i < PL_P_MAX; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", bucket_names[i], s->tot.packets[i]);
	fputs("}}", f);
	fputs(",\"stats\":{", f);
	fprintf(f, "\"events_lost\":%" PRIu64, s->tot.events_lost);
	kv_u64(f, "flow_table_full", s->tot.flow_table_full);
	kv_u64(f, "malformed", s->tot.malformed_total);
	fputs(",\"malformed_by_kind\":{", f);
	int first = 1;
	for (int i = 1; i < PL_M_MAX; i++) {
		fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", malformed_names[i],
			s->tot.malformed[i]);
		first = 0;
	}
	fputs("}}}\n", f);
	fflush(f);
}
