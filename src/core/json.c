/* Writes a snapshot as one line of JSON, every key of contract version 1 present even when empty. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/escape.h"
#include "core/json.h"
#include "core/jsonw.h"
#include "core/l7model.h"
#include "core/model.h"
#include "core/procfs.h"

/*
 * The application-layer sections below still write their own commas (they
 * move to the writer of jsonw.h with the L7 model's ops): kv_* put a comma
 * before their key unless told otherwise.
 */
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

void json_lat_hist(struct jw *w, const char *key, const uint32_t *h, uint64_t count)
{
	jw_obj(w, key);
	jw_u64(w, "count", count);
	jw_arr(w, "buckets");
	for (int b = 0; b < 24; b++) {
		if (!h[b])
			continue;
		jw_obj(w, NULL);
		jw_u64(w, "le_us", 1ULL << (b + 1));
		jw_u64(w, "count", h[b]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void write_time(struct jw *w, int64_t unix_ns)
{
	time_t t = (time_t)(unix_ns / 1000000000LL);
	struct tm tm;
	char buf[64], out[80];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof(out), "%s.%03dZ", buf, (int)((unix_ns / 1000000LL) % 1000));
	jw_str(w, "time", out);
}

/* ---- probes ---- */

static void probe_kind(struct jw *w, const char *key, const void *row)
{
	jw_str(w, key, probe_kind_name(((const struct probe_info *)row)->kind));
}

static void probe_state(struct jw *w, const char *key, const void *row)
{
	jw_str(w, key, probe_state_name(((const struct probe_info *)row)->state));
}

static void probe_latency(struct jw *w, const char *key, const void *row)
{
	const struct probe_info *p = row;
	json_lat_hist(w, key, p->lat_hist, p->lat_count);
}

static void probe_latency_pids(struct jw *w, const char *key, const void *row)
{
	const struct probe_info *p = row;
	jw_arr(w, key);
	for (uint32_t j = 0; j < p->n_lat_pids; j++) {
		jw_obj(w, NULL);
		jw_u64(w, "pid", p->lat_pids[j].pid);
		jw_u64(w, "count", p->lat_pids[j].count);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* who else is attached on the hook, in the kernel's order */
static void probe_others(struct jw *w, const char *key, const void *row)
{
	const struct probe_info *p = row;
	jw_arr(w, key);
	for (uint32_t j = 0; j < p->n_others; j++) {
		jw_obj(w, NULL);
		jw_u64(w, "id", p->others[j].id);
		jw_strn(w, "name", p->others[j].name, sizeof(p->others[j].name));
		jw_strn(w, "how", p->others[j].how, sizeof(p->others[j].how));
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static const struct jf probe_fields[] = {
	JF_STR(struct probe_info, id, "id"),
	JF_FN("kind", probe_kind),
	JF_STR(struct probe_info, target, "target"),
	JF_FN("state", probe_state),
	JF_STR(struct probe_info, reason, "reason"),
	JF_STR(struct probe_info, detail, "mode"),
	JF_FN("others", probe_others),
	JF_U32(struct probe_info, others_more, "others_more"),
	JF_U64(struct probe_info, run_cnt, "run_cnt"),
	JF_U64(struct probe_info, run_time_ns, "run_time_ns"),
	JF_U64(struct probe_info, misses, "recursion_misses"),
	JF_U64(struct probe_info, hits, "hits"),
	JF_FN("latency_us", probe_latency),
	JF_FN("latency_pids", probe_latency_pids),
};

/* ---- flows ---- */

static void flow_proto(struct jw *w, const char *key, const void *row)
{
	jw_str(w, key, proto_name(((const struct flow_row *)row)->key.proto));
}

static void flow_tcp_flags(struct jw *w, const char *key, const void *row)
{
	char flags[9];
	flow_flags_str(((const struct flow_row *)row)->tcp_flags, flags);
	jw_str(w, key, flags);
}

static void flow_port80(struct jw *w, const char *key, const void *row)
{
	jw_bool(w, key, ((const struct flow_row *)row)->l7_flags & PL_L7F_PORT80_NOT_HTTP);
}

static void flow_resets(struct jw *w, const char *key, const void *row)
{
	const struct flow_row *r = row;
	jw_u64(w, key, (uint64_t)r->resets_rx + r->resets_tx);
}

/*
 * The keys of a flow whose value pktlens has not measured: they keep their type and read 0
 * (handshake_ms -1), and are named here so that a real 0 (a zero window) stays a 0.
 */
static void flow_unknown(struct jw *w, const char *key, const void *row)
{
	static const char *const tcp_info[] = { "srtt_us", "cwnd", "ssthresh", "snd_wnd",
						"rcv_wnd" };
	const struct flow_row *r = row;
	jw_arr(w, key);
	if (!(r->known & PL_FK_TCP_INFO))
		for (size_t i = 0; i < sizeof(tcp_info) / sizeof(tcp_info[0]); i++)
			jw_str(w, NULL, tcp_info[i]);
	if (r->handshake_ms < 0)
		jw_str(w, NULL, "handshake_ms");
	jw_arr_end(w);
}

/* The members a flow's TCP model and store keep beside its row (w->ctx: the snapshot). */
static void flow_duration_s(struct jw *w, const char *key, const void *row)
{
	jw_num(w, key, flow_duration(w->ctx, row));
}

static void flow_timeline(struct jw *w, const char *key, const void *row)
{
	const struct tcp_sock_detail *d = flow_tcp_detail(w->ctx, row);
	jw_arr(w, key);
	for (uint32_t t = 0; d && t < d->n_timeline; t++) {
		jw_obj(w, NULL);
		jw_strn(w, "state", d->timeline[t].state, sizeof(d->timeline[t].state));
		jw_u64(w, "ms", d->timeline[t].ms);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void flow_kernel_latency(struct jw *w, const char *key, const void *row)
{
	static const uint32_t none[24];
	const struct flow_lat_row *l = flow_latency(w->ctx, row);
	json_lat_hist(w, key, l ? l->hist : none, l ? l->count : 0);
}

static const struct jf flow_fields[] = {
	JF_STR(struct flow_row, iface, "iface"),
	JF_FN("proto", flow_proto),
	JF_STR(struct flow_row, local, "local"),
	JF_U16(struct flow_row, key.local_port, "local_port"),
	JF_STR(struct flow_row, remote, "remote"),
	JF_U16(struct flow_row, key.remote_port, "remote_port"),
	JF_U64(struct flow_row, rx_packets, "rx_packets"),
	JF_U64(struct flow_row, rx_bytes, "rx_bytes"),
	JF_U64(struct flow_row, tx_packets, "tx_packets"),
	JF_U64(struct flow_row, tx_bytes, "tx_bytes"),
	JF_F64(struct flow_row, rx_pps, "rx_pps"),
	JF_F64(struct flow_row, rx_bps, "rx_bps"),
	JF_F64(struct flow_row, tx_pps, "tx_pps"),
	JF_F64(struct flow_row, tx_bps, "tx_bps"),
	JF_FN("tcp_flags", flow_tcp_flags),
	JF_STR(struct flow_row, state, "state"),
	JF_U32(struct flow_row, srtt_us, "srtt_us"),
	JF_U32(struct flow_row, cwnd, "cwnd"),
	JF_U64(struct flow_row, retrans, "retrans"),
	JF_U64(struct flow_row, drops, "drops"),
	JF_STR(struct flow_row, l7, "l7"),
	JF_FN("port80_not_http", flow_port80),
	JF_U32(struct flow_row, pid, "pid"),
	JF_STR(struct flow_row, comm, "comm"),
	JF_F64(struct flow_row, first_seen, "first_seen"),
	JF_F64(struct flow_row, last_seen, "last_seen"),
	JF_U32(struct flow_row, ssthresh, "ssthresh"),
	JF_U32(struct flow_row, snd_wnd, "snd_wnd"),
	JF_U32(struct flow_row, rcv_wnd, "rcv_wnd"),
	JF_U32(struct flow_row, ooo, "ooo"),
	JF_U32(struct flow_row, dup, "dup"),
	JF_U32(struct flow_row, retrans_rx, "retrans_rx"),
	JF_U32(struct flow_row, zero_win, "zero_window"),
	JF_FN("resets", flow_resets),
	JF_U32(struct flow_row, resets_rx, "resets_rx"),
	JF_U32(struct flow_row, resets_tx, "resets_tx"),
	JF_F64(struct flow_row, handshake_ms, "handshake_ms"),
	JF_FN("duration_s", flow_duration_s),
	JF_FN("unknown", flow_unknown),
	JF_FN("timeline", flow_timeline),
	JF_FN("kernel_latency_us", flow_kernel_latency),
};

/* What a cut list left out. */
struct flow_rest {
	uint64_t count, rx_packets, rx_bytes, tx_packets, tx_bytes;
};

/* Bytes of the last interval (the rates say it), then all bytes, then the key: a total order. */
static int flow_bigger(const struct flow_row *a, const struct flow_row *b)
{
	double ia = a->rx_bps + a->tx_bps, ib = b->rx_bps + b->tx_bps;
	if (ia != ib)
		return ia > ib;
	uint64_t ta = a->rx_bytes + a->tx_bytes, tb = b->rx_bytes + b->tx_bytes;
	if (ta != tb)
		return ta > tb;
	return memcmp(&a->key, &b->key, sizeof(a->key)) < 0;
}

/* Heap of the limit biggest rows seen so far, the smallest on top. */
static void sift_down(const struct flow_row *rows, uint32_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && flow_bigger(&rows[h[m]], &rows[h[l]]))
			m = l;
		if (r < n && flow_bigger(&rows[h[m]], &rows[h[r]]))
			m = r;
		if (m == i)
			return;
		uint32_t t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/*
 * The limit flows with the most bytes in the last interval, biggest first, into ord; returns
 * how many. O(n log limit): a 100k-flow snapshot is one pass with few heap changes.
 */
static size_t top_flows(const struct snapshot *s, size_t limit, uint32_t *ord)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n_flows; i++) {
		if (k < limit) {
			ord[k++] = (uint32_t)i;
			if (k == limit)
				for (size_t j = k / 2; j-- > 0;)
					sift_down(s->flows, ord, k, j);
			continue;
		}
		if (!flow_bigger(&s->flows[i], &s->flows[ord[0]]))
			continue;
		ord[0] = (uint32_t)i;
		sift_down(s->flows, ord, k, 0);
	}
	if (k < limit)
		for (size_t j = k / 2; j-- > 0;)
			sift_down(s->flows, ord, k, j);
	/* heap order to biggest first: pop the smallest to the end */
	for (size_t n = k; n > 1; n--) {
		uint32_t t = ord[0];
		ord[0] = ord[n - 1];
		ord[n - 1] = t;
		sift_down(s->flows, ord, n - 1, 0);
	}
	return k;
}

static void write_flows(struct jw *w, const struct snapshot *s, size_t limit)
{
	struct flow_rest rest = { 0 };
	size_t n = s->n_flows;
	uint32_t *ord = NULL;
	if (limit && n > limit)
		ord = malloc(limit * sizeof(*ord));
	w->ctx = s;
	jw_arr(w, "flows");
	if (limit && n > limit && !ord) {
		/* out of memory: none listed, and the object says so (flows_left_out) */
		limit = 0;
		n = 0;
	}
	size_t shown = ord ? top_flows(s, limit, ord) : n;
	for (size_t i = 0; i < shown; i++) {
		jw_obj(w, NULL);
		jw_fields(w, flow_fields, JF_COUNT(flow_fields), &s->flows[ord ? ord[i] : i]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	/* what the cut left out, summed, so the totals of the flows still add up */
	rest.count = s->n_flows - shown;
	if (rest.count) {
		uint8_t *in = calloc(s->n_flows, 1);
		for (size_t i = 0; in && ord && i < shown; i++)
			in[ord[i]] = 1;
		for (size_t i = 0; in && i < s->n_flows; i++) {
			if (in[i])
				continue;
			rest.rx_packets += s->flows[i].rx_packets;
			rest.rx_bytes += s->flows[i].rx_bytes;
			rest.tx_packets += s->flows[i].tx_packets;
			rest.tx_bytes += s->flows[i].tx_bytes;
		}
		free(in);
	}
	free(ord);
	jw_obj(w, "flows_left_out");
	jw_u64(w, "count", rest.count);
	jw_u64(w, "rx_packets", rest.rx_packets);
	jw_u64(w, "rx_bytes", rest.rx_bytes);
	jw_u64(w, "tx_packets", rest.tx_packets);
	jw_u64(w, "tx_bytes", rest.tx_bytes);
	jw_obj_end(w);
}

/* ---- processes (the procs model's section, procmaps.c) ---- */

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

static const struct jf rest_fields[] = {
	JF_U64(struct proc_rest, count, "count"),
	JF_U64(struct proc_rest, sockets, "sockets"),
	JF_U64(struct proc_rest, rx_bytes, "rx_bytes"),
	JF_U64(struct proc_rest, tx_bytes, "tx_bytes"),
};

static void write_rest(struct jw *w, const char *key, const struct proc_rest *r)
{
	jw_obj(w, key);
	jw_fields(w, rest_fields, JF_COUNT(rest_fields), r);
	jw_obj_end(w);
}

static void proc_start_time(struct jw *w, const char *key, const void *row)
{
	/* seconds since boot, as ps: with pid, it names the process (a pid is reused) */
	const struct proc_row *r = row;
	jw_num(w, key, (double)r->start_ticks / (double)procfs_ticks_per_s());
}

static const struct jf proc_fields[] = {
	JF_U32(struct proc_row, pid, "pid"),
	JF_STR(struct proc_row, comm, "comm"),
	JF_U32(struct proc_row, sockets, "sockets"),
	JF_U64(struct proc_row, rx_bytes, "rx_bytes"),
	JF_U64(struct proc_row, tx_bytes, "tx_bytes"),
	JF_F64(struct proc_row, rx_bps, "rx_bps"),
	JF_F64(struct proc_row, tx_bps, "tx_bps"),
	JF_U64(struct proc_row, rx_calls, "rx_calls"),
	JF_U64(struct proc_row, tx_calls, "tx_calls"),
	JF_U32(struct proc_row, tcp, "tcp"),
	JF_U32(struct proc_row, udp, "udp"),
	JF_U32(struct proc_row, other, "other"),
	JF_U32(struct proc_row, listen, "listen"),
	JF_U32(struct proc_row, established, "established"),
	JF_U64(struct proc_row, connects, "connects"),
	JF_U64(struct proc_row, accepts, "accepts"),
	JF_F64(struct proc_row, conn_rate, "conn_rate"),
	JF_U32(struct proc_row, flows, "flows"),
	JF_U64(struct proc_row, retrans, "retrans"),
	JF_U64(struct proc_row, drops, "drops"),
	JF_U64(struct proc_row, cgroup_id, "cgroup_id"),
	JF_STR(struct proc_row, cgroup, "cgroup"),
	JF_STR(struct proc_row, cmdline, "cmdline"),
	JF_FN("start_time", proc_start_time),
	JF_BOOL(struct proc_row, exited, "exited"),
	JF_F64(struct proc_row, exited_at, "exited_at"),
	JF_F64(struct proc_row, first_seen, "first_seen"),
	JF_F64(struct proc_row, last_seen, "last_seen"),
	/* a busy server has thousands: the line stays bounded (open, busiest first), the pane
	 * shows them all */
	JF_U32(struct proc_row, n_socks, "socket_rows"),
};

static void sock_proto(struct jw *w, const char *key, const void *row)
{
	jw_str(w, key, proto_name(((const struct proc_sock_row *)row)->proto));
}

static void sock_listen(struct jw *w, const char *key, const void *row)
{
	jw_bool(w, key, ((const struct proc_sock_row *)row)->flags & 1);
}

static const struct jf sock_fields[] = {
	JF_FN("proto", sock_proto),
	JF_STR(struct proc_sock_row, local, "local"),
	JF_U16(struct proc_sock_row, local_port, "local_port"),
	JF_STR(struct proc_sock_row, remote, "remote"),
	JF_U16(struct proc_sock_row, remote_port, "remote_port"),
	JF_STR(struct proc_sock_row, state, "state"),
	JF_U64(struct proc_sock_row, inode, "inode"),
	JF_U64(struct proc_sock_row, rx_bytes, "rx_bytes"),
	JF_U64(struct proc_sock_row, tx_bytes, "tx_bytes"),
	JF_U64(struct proc_sock_row, rx_calls, "rx_calls"),
	JF_U64(struct proc_sock_row, tx_calls, "tx_calls"),
	JF_U32(struct proc_sock_row, tid, "tid"),
	JF_STR(struct proc_sock_row, thread, "thread"),
	JF_FN("listen", sock_listen),
	JF_BOOL(struct proc_sock_row, open, "open"),
	JF_BOOL(struct proc_sock_row, from_proc, "from_proc"),
};

static void write_proc(struct jw *w, const struct snapshot_procs *p, const struct proc_row *r)
{
	jw_obj(w, NULL);
	jw_fields(w, proc_fields, JF_COUNT(proc_fields), r);
	size_t n = r->n_socks < PL_JSON_PROC_SOCKS_MAX ? r->n_socks : PL_JSON_PROC_SOCKS_MAX;
	if (r->first_sock + n > p->n_socks)
		n = r->first_sock < p->n_socks ? p->n_socks - r->first_sock : 0;
	jw_rows(w, "socks", sock_fields, JF_COUNT(sock_fields), &p->socks[r->first_sock],
		sizeof(p->socks[0]), n);
	jw_obj_end(w);
}

/*
 * Per-process socket usage: bytes are socket payload the process read and
 * wrote. At most PL_JSON_PROCS_MAX processes, largest first; the rest is
 * summed in processes_left_out (4,000 short-lived processes made a 4.7 MB
 * line per second).
 */
void json_write_processes(struct jw *w, const struct snapshot *s)
{
	static const struct proc_rest none;
	const struct snapshot_procs *p = s->procs;
	struct proc_rest rest = { 0 };
	size_t n = p ? p->n_rows : 0;
	uint32_t *ord = n ? malloc(n * sizeof(*ord)) : NULL;
	size_t shown = 0;

	jw_arr(w, "processes");
	if (ord) {
		for (size_t i = 0; i < n; i++)
			ord[i] = (uint32_t)i;
		g_procs = p;
		qsort(ord, n, sizeof(*ord), cmp_proc_size);
		for (size_t i = 0; i < n; i++) {
			const struct proc_row *r = &p->rows[ord[i]];
			if (shown < PL_JSON_PROCS_MAX) {
				write_proc(w, p, r);
				shown++;
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
	jw_arr_end(w);
	write_rest(w, "processes_left_out", &rest);
	jw_obj(w, "process_attribution");
	jw_u64(w, "flows", p ? p->flows : 0);
	jw_u64(w, "attributed", p ? p->flows_attributed : 0);
	jw_u64(w, "proc_scans", p ? p->proc_scans : 0);
	write_rest(w, "processes_evicted", p ? &p->evicted : &none);
	write_rest(w, "processes_expired", p ? &p->expired : &none);
	jw_u64(w, "sockets_untracked", p ? p->untracked_socks : 0);
	jw_u64(w, "closed_remembered", p ? p->closed_remembered : 0);
	jw_obj_end(w);
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
void json_write_l7_legacy(FILE *f, const void *arg)
{
	static const struct snapshot_l7 none;
	const struct snapshot_l7 *l = arg ? arg : &none;
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
	kv_u64(f, "sampled", l->sampled);
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

static void write_totals(struct jw *w, const struct snapshot *s)
{
	jw_obj(w, "totals");
	jw_u64(w, "rx_packets", s->tot.rx_packets);
	jw_u64(w, "rx_bytes", s->tot.rx_bytes);
	jw_u64(w, "tx_packets", s->tot.tx_packets);
	jw_u64(w, "tx_bytes", s->tot.tx_bytes);
	jw_num(w, "rx_pps", s->tot.rx_pps);
	jw_num(w, "rx_bps", s->tot.rx_bps);
	jw_num(w, "tx_pps", s->tot.tx_pps);
	jw_num(w, "tx_bps", s->tot.tx_bps);
	jw_obj(w, "packets_by_proto");
	for (int i = 0; i < PL_P_MAX; i++)
		jw_u64(w, bucket_names[i], s->tot.packets[i]);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void write_stats(struct jw *w, const struct snapshot *s)
{
	jw_obj(w, "stats");
	jw_u64(w, "events_lost", s->tot.events_lost);
	jw_u64(w, "flow_table_full", s->tot.flow_table_full);
	jw_u64(w, "malformed", s->tot.malformed_total);
	jw_obj(w, "malformed_by_kind");
	for (int i = 1; i < PL_M_MAX; i++)
		jw_u64(w, malformed_names[i], s->tot.malformed[i]);
	jw_obj_end(w);
	/* what the kernel's flow table held and lost: nothing vanishes without a count */
	char advice[256];
	snapshot_flow_warning(s, advice, sizeof(advice));
	jw_obj(w, "flow_table");
	jw_u64(w, "size", s->ftab.size);
	jw_u64(w, "flows", s->ftab.present);
	jw_u64(w, "created", s->ftab.created);
	jw_u64(w, "evicted", s->ftab.evicted);
	jw_u64(w, "aged_out", s->ftab.aged_out);
	jw_u64(w, "insert_failed", s->tot.flow_table_full);
	jw_u64(w, "not_shown", s->ftab.not_shown);
	/* readings of the whole table, and of the flows that queued themselves as changed */
	jw_u64(w, "full_reads", s->ftab.full_reads);
	jw_u64(w, "changed_reads", s->ftab.dirty_reads);
	jw_str(w, "advice", advice);
	jw_obj_end(w);
	jw_obj_end(w);
}

void json_write(FILE *f, const struct snapshot *s, const struct json_opts *o)
{
	struct jw w;
	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_u64(&w, "version", 1);
	write_time(&w, s->time_unix_ns);
	jw_num(&w, "uptime_s", s->uptime_s);
	jw_str(&w, "host", s->host);
	jw_str(&w, "netns", s->netns);
	/* probes' run_cnt and run_time_ns grow only while BPF run-time statistics are on */
	jw_obj(&w, "bpf_stats");
	jw_bool(&w, "on", s->bpf_stats);
	jw_num(&w, "seconds", s->bpf_stats_s);
	jw_obj_end(&w);
	jw_rows(&w, "probes", probe_fields, JF_COUNT(probe_fields), s->probes, sizeof(*s->probes),
		s->n_probes);
	write_flows(&w, s, o ? o->flow_limit : PL_JSON_FLOWS_DEFAULT);
	for (size_t i = 0; i < pl_n_models; i++)
		if (pl_models[i]->json)
			pl_models[i]->json(&w, s);
	write_totals(&w, s);
	write_stats(&w, s);
	jw_obj_end(&w);
	fputc('\n', f);
	fflush(f);
}

void json_write_snapshot(FILE *f, const struct snapshot *s)
{
	json_write(f, s, NULL);
}
