/* Unit tests for recordings: snapshots round-trip byte for byte, histories rebuilt, damaged and hostile files refused or tamed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "core/json.h"
#include "core/record.h"
#include "core/security.h"
#include "core/snapshot.h"

#define FRAMES 5
#define HDR 192	   /* the file header (record.c) */
#define HDR_V1 128 /* format 1's */

/* Section tags and framing as record.c writes them: the file format this test pins down. */
enum {
	T_META = 1,
	T_PROBES,
	T_FLOWS,
	T_TOTALS,
	T_FTAB,
	T_DROPS,
	T_TCP,
	T_TCP_SOCKS,
	T_TCP_LATS,
	T_L7,
	T_PROCS,
	T_PROC_ROWS,
	T_PROC_SOCKS,
	T_SEC,
	T_ALERTS,
	T_FW_RULES
};
struct frame_hdr {
	char magic[4];
	uint32_t zlen, len, crc;
};
struct section {
	uint32_t tag, size, count, pad;
};

static char g_path[64];
static unsigned char *g_file;
static size_t g_len;
static size_t g_frame_off[FRAMES + 1];
static double g_rx_bps[FRAMES][3];

static void set_key(struct flow_key *k, int i)
{
	memset(k, 0, sizeof(*k));
	k->family = 2;
	k->proto = i == 2 ? 17 : 6;
	k->local[0] = 10;
	k->local[3] = 1;
	k->remote[0] = 10;
	k->remote[3] = (uint8_t)(2 + i);
	k->local_port = 80;
	k->remote_port = (uint16_t)(40000 + i);
	k->ifindex = 3;
}

/* A snapshot with something in every part; flow 1 is missing from frame 2 (an idle gap). */
static struct snapshot *make_snapshot(int frame)
{
	struct snapshot *s = snapshot__new();
	assert_non_null(s);
	s->uptime_s = 1.0 + 0.5 * frame;
	s->interval_s = 0.5;
	s->time_unix_ns = 1764633600000000000LL + frame * 500000000LL;
	snprintf(s->host, sizeof(s->host), "host-%d", frame);
	snprintf(s->netns, sizeof(s->netns), "ns");
	snprintf(s->ifaces, sizeof(s->ifaces), "veth0");
	s->probes = calloc(2, sizeof(*s->probes));
	s->n_probes = 2;
	snprintf(s->probes[0].id, sizeof(s->probes[0].id), "tc-ingress:veth0");
	snprintf(s->probes[0].target, sizeof(s->probes[0].target), "veth0");
	s->probes[0].kind = PK_TC_INGRESS;
	s->probes[0].state = PS_ATTACHED;
	s->probes[0].run_cnt = 100 + (uint64_t)frame;
	s->probes[1].kind = PK_KPROBE;
	s->probes[1].state = PS_UNSUPPORTED;
	snprintf(s->probes[1].reason, sizeof(s->probes[1].reason), "kernel built without kprobes");
	s->flows = calloc(3, sizeof(*s->flows));
	for (int i = 0; i < 3; i++) {
		if (i == 1 && frame == 2)
			continue;
		struct flow_row *f = &s->flows[s->n_flows++];
		set_key(&f->key, i);
		snprintf(f->iface, sizeof(f->iface), "veth0");
		snprintf(f->local, sizeof(f->local), "10.0.0.1");
		snprintf(f->remote, sizeof(f->remote), "10.0.0.%d", 2 + i);
		f->rx_packets = 10u * (unsigned)(frame + 1) + (unsigned)i;
		f->rx_bytes = f->rx_packets * 100;
		f->rx_bps = g_rx_bps[frame][i] = 8000.0 * (frame + 1) * (i + 1);
		f->tx_bps = 1000.0 + frame;
		f->srtt_us = 100 + (uint32_t)frame;
		f->cwnd = 10;
		f->known = i == 0 ? PL_FK_TCP_INFO : 0;
		f->handshake_ms = i == 0 ? 0.25 : -1;
		snprintf(f->comm, sizeof(f->comm), "nginx");
		f->pid = 42;
		f->hist = 7; /* the live run's ring numbers mean nothing in a file */
	}
	s->tot.rx_packets = 1000 + (uint64_t)frame;
	s->tot.rx_bps = 12345.5;
	s->ftab.size = 65536;
	s->ftab.present = 3;
	s->drops = calloc(1, sizeof(*s->drops));
	s->drops->total = 7;
	s->drops->n_reasons = 1;
	snprintf(s->drops->reasons[0].reason, sizeof(s->drops->reasons[0].reason), "NO_SOCKET");
	s->drops->reasons[0].count = 7;
	s->drops->reasons[0].hist_len = 3;
	s->drops->have_reasons = 1;
	unsigned char *blk =
	    calloc(1, sizeof(struct snapshot_tcp) + sizeof(struct tcp_sock_detail) +
			  sizeof(struct flow_lat_row));
	s->tcp = (struct snapshot_tcp *)blk;
	struct tcp_sock_detail *d = (struct tcp_sock_detail *)(blk + sizeof(struct snapshot_tcp));
	struct flow_lat_row *l = (struct flow_lat_row *)(d + 1);
	set_key(&d->key, 0);
	d->key.ifindex = 0;
	d->open_s = 0.5;
	d->close_s = -1;
	d->n_timeline = 1;
	snprintf(d->timeline[0].state, sizeof(d->timeline[0].state), "ESTABLISHED");
	set_key(&l->key, 0);
	l->hist[3] = 5;
	l->count = 5;
	s->tcp->socks = d;
	s->tcp->n_socks = 1;
	s->tcp->lats = l;
	s->tcp->n_lats = 1;
	s->tcp->retrans_total = 3;
	s->tcp->n_recent = 1;
	snprintf(s->tcp->recent[0].kind, sizeof(s->tcp->recent[0].kind), "retrans");
	s->l7 = calloc(1, sizeof(*s->l7));
	s->l7->http_requests = 4;
	s->l7->by_status[200] = 4;
	s->l7->n_names = 1;
	/* wire bytes with a NUL inside: the length carries them */
	memcpy(s->l7->names[0].name, "bank.example\0.evil", 18);
	s->l7->names[0].name_len = 18;
	snprintf(s->l7->names[0].qtype, sizeof(s->l7->names[0].qtype), "A");
	s->l7->names[0].count = 2;
	blk = calloc(1, sizeof(struct snapshot_procs) + 2 * sizeof(struct proc_row) +
			    3 * sizeof(struct proc_sock_row));
	s->procs = (struct snapshot_procs *)blk;
	s->procs->rows = (struct proc_row *)(blk + sizeof(struct snapshot_procs));
	s->procs->socks = (struct proc_sock_row *)(s->procs->rows + 2);
	s->procs->n_rows = 2;
	s->procs->n_socks = 3;
	s->procs->rows[0].pid = 42;
	snprintf(s->procs->rows[0].comm, sizeof(s->procs->rows[0].comm), "nginx");
	s->procs->rows[0].n_socks = 2;
	s->procs->rows[1].pid = 43;
	s->procs->rows[1].first_sock = 2;
	s->procs->rows[1].n_socks = 1;
	s->procs->socks[2].tx_bytes = 99;
	/* the security model: an alert whose detail holds what a hostile peer could put there */
	blk = calloc(1, sizeof(struct snapshot_sec) + 2 * sizeof(struct alert_row) +
			    sizeof(struct fw_row));
	struct snapshot_sec *ss = (struct snapshot_sec *)blk;
	ss->alerts = (struct alert_row *)(ss + 1);
	ss->rules = (struct fw_row *)(ss->alerts + 2);
	ss->n_alerts = frame >= 2 ? 2 : 1;
	ss->n_rules = 1;
	ss->detect_on = 1;
	ss->alerts_raised = (uint64_t)ss->n_alerts;
	ss->alerts_raised_kind[AK_PORT_SCAN] = 1;
	ss->alerts_raised_kind[AK_SYN_FLOOD] = frame >= 2;
	ss->alerts_active = 1;
	struct alert_row *a = &ss->alerts[0];
	a->id = 1;
	a->kind = AK_PORT_SCAN;
	a->active = 1;
	a->family = 2;
	a->proto = 6;
	a->has_src = a->has_dst = 1;
	a->n_sources = 1;
	a->count = 100u * (unsigned)(frame + 1);
	a->first_seen = 1.25;
	a->last_seen = s->uptime_s;
	snprintf(a->source, sizeof(a->source), "10.0.0.2");
	snprintf(a->target, sizeof(a->target), "10.0.0.1");
	snprintf(a->ports, sizeof(a->ports), "1-%d", 100 * (frame + 1));
	snprintf(a->detail, sizeof(a->detail), "\"quoted\" \x1b[31mred\x1b[0m \\ %d ports", frame);
	if (frame >= 2) {
		a = &ss->alerts[1];
		a->id = 2;
		a->kind = AK_SYN_FLOOD;
		a->port = 80;
		a->n_sources = 9800;
		snprintf(a->source, sizeof(a->source), "~9800 addresses");
	}
	struct fw_row *w = &ss->rules[0];
	w->id = 1;
	snprintf(w->rule, sizeof(w->rule), "deny 10.0.0.2/32");
	snprintf(w->prefix, sizeof(w->prefix), "10.0.0.2/32");
	w->action = 1;
	w->family = 2;
	w->plen = 32;
	w->from_cli = 1;
	w->dropped_packets = 500u * (unsigned)frame;
	w->dropped_bytes = w->dropped_packets * 74;
	w->drop_pps = 1000;
	ss->fw_dropped_packets = w->dropped_packets + 3;
	ss->fw_dropped_bytes = w->dropped_bytes + 222;
	snprintf(ss->fw_ifaces, sizeof(ss->fw_ifaces), "veth0 native");
	ss->block_ttl = 60;
	ss->kc.syn_in = 1000 + (uint64_t)frame;
	ss->kc.rst_out = 997;
	s->sec = ss;
	return s;
}

static char *json_of(const struct snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	json_write(f, s, NULL);
	fclose(f);
	return buf;
}

static char *g_json[FRAMES];

static int setup(void **state)
{
	char err[256];
	snprintf(g_path, sizeof(g_path), "/tmp/pl-test-record-%d.rec", (int)getpid());
	unlink(g_path);
	struct recorder *r = recorder__open(g_path, "test-1", err, sizeof(err));
	if (!r)
		return -1;
	for (int i = 0; i < FRAMES; i++) {
		struct snapshot *s = make_snapshot(i);
		g_json[i] = json_of(s);
		g_frame_off[i] = recorder_bytes(r);
		if (recorder_write(r, s, err, sizeof(err)))
			return -1;
		snapshot_put(s);
	}
	g_frame_off[FRAMES] = recorder_bytes(r);
	recorder__free(r);
	FILE *f = fopen(g_path, "rb");
	if (!f)
		return -1;
	g_file = malloc(g_frame_off[FRAMES]);
	g_len = fread(g_file, 1, g_frame_off[FRAMES], f);
	fclose(f);
	return g_len == g_frame_off[FRAMES] ? 0 : -1;
}

static int teardown(void **state)
{
	unlink(g_path);
	free(g_file);
	for (int i = 0; i < FRAMES; i++)
		free(g_json[i]);
	return 0;
}

/* Every frame replays to the JSON its snapshot gave; the drill-down's lookups work. */
static void test_round_trip(void **state)
{
	char err[256] = "";
	struct recording *r = recording__open(g_path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(recording_count(r), FRAMES);
	assert_string_equal(recording_version(r), "test-1");
	for (int i = 0; i < FRAMES; i++) {
		struct snapshot *s = recording_snapshot(r, (size_t)i);
		assert_non_null(s);
		char *j = json_of(s);
		assert_string_equal(j, g_json[i]);
		free(j);
		assert_true(fabs(recording_uptime(r, (size_t)i) - (1.0 + 0.5 * i)) < 1e-9);
		assert_non_null(flow_tcp_detail(s, &s->flows[0]));
		assert_non_null(flow_latency(s, &s->flows[0]));
		assert_int_equal(s->procs->rows[1].first_sock, 2);
		assert_int_equal(s->procs->socks[2].tx_bytes, 99);
		assert_memory_equal(s->l7->names[0].name, "bank.example\0.evil", 18);
		/* what the JSON does not show comes back too (the metrics count alerts by kind) */
		assert_non_null(s->sec);
		assert_int_equal(s->sec->alerts_raised_kind[AK_PORT_SCAN], 1);
		assert_int_equal(s->sec->alerts_raised_kind[AK_SYN_FLOOD], i >= 2);
		assert_int_equal(s->sec->n_alerts, i >= 2 ? 2 : 1);
		assert_int_equal(s->sec->rules[0].dropped_packets, 500 * i);
		snapshot_put(s);
	}
	recording__free(r);
}

/* Histories as the live run had them: one sample a frame, 0 where the flow was absent. */
static void test_histories(void **state)
{
	char err[256];
	struct recording *r = recording__open(g_path, err, sizeof(err));
	assert_non_null(r);
	struct snapshot *s = recording_snapshot(r, FRAMES - 1);
	assert_non_null(s);
	float h[60];
	for (size_t k = 0; k < s->n_flows; k++) {
		int i = s->flows[k].key.remote[3] - 2;
		size_t n = flow_hist(s, &s->flows[k], FH_RX_BPS, h);
		assert_int_equal(n, FRAMES);
		for (int g = 0; g < FRAMES; g++) {
			double want = i == 1 && g == 2 ? 0 : g_rx_bps[g][i];
			/* samples are kept as logarithms 0.14% apart */
			assert_true(fabs(h[g] - want) <= want * 0.002);
		}
		n = flow_hist(s, &s->flows[k], FH_SRTT_US, h);
		assert_int_equal(n, i == 0 ? FRAMES : 0);
		if (i == 0)
			assert_true(fabs(h[FRAMES - 1] - (100 + FRAMES - 1)) < 0.5);
	}
	snapshot_put(s);
	recording__free(r);
}

static int is_boundary(size_t len)
{
	for (int i = 0; i <= FRAMES; i++)
		if (len == g_frame_off[i])
			return i;
	return -1;
}

/* A recording cut anywhere inside a snapshot is refused with one sentence saying so. */
static void test_truncated(void **state)
{
	char err[256];
	for (size_t len = 0; len < g_len; len++) {
		/* every length near the frames' edges, a sample in between */
		int near = 0;
		for (int i = 0; i <= FRAMES; i++)
			near |= len + 40 > g_frame_off[i] && len < g_frame_off[i] + 40;
		if (!near && len % 61)
			continue;
		err[0] = '\0';
		struct recording *r =
		    recording__from_buffer(g_file, len, "x.rec", err, sizeof(err));
		int b = is_boundary(len);
		if (b > 0) {
			/* a cut between snapshots reads as a shorter recording */
			assert_non_null(r);
			assert_int_equal(recording_count(r), b);
			recording__free(r);
			continue;
		}
		assert_null(r);
		assert_null(strchr(err, '\n'));
		if (len < HDR)
			assert_string_equal(err, "x.rec is not a pktlens recording");
		else if (len == HDR)
			assert_non_null(strstr(err, "holds no snapshot"));
		else
			assert_non_null(strstr(err, "truncated in snapshot"));
	}
}

/* One byte changed anywhere: refused, or (the version text, a bit deflate does not use) read as
 * exactly the snapshots that were written; never shown wrong. */
static void test_flipped_bytes(void **state)
{
	char err[256];
	unsigned char *buf = malloc(g_len);
	for (size_t off = 0; off < g_len; off += off < HDR + 64 ? 1 : 17) {
		memcpy(buf, g_file, g_len);
		buf[off] ^= 0x5a;
		struct recording *r = recording__from_buffer(buf, g_len, "x.rec", err, sizeof(err));
		if (r) {
			assert_int_equal(recording_count(r), FRAMES);
			for (int i = 0; i < FRAMES; i++) {
				struct snapshot *s = recording_snapshot(r, (size_t)i);
				char *j = json_of(s);
				if (strcmp(j, g_json[i]))
					fail_msg("a byte changed at %zu changed snapshot %d", off,
						 i);
				free(j);
				snapshot_put(s);
			}
			recording__free(r);
			continue;
		}
		if (off >= 80 && off < HDR_V1)
			fail_msg("the version text changed at %zu made the file unreadable", off);
		assert_true(strstr(err, "damaged") || strstr(err, "not a pktlens recording") ||
			    strstr(err, "byte order") || strstr(err, "format") ||
			    strstr(err, "differ"));
	}
	free(buf);
}

/* The first frame's plain bytes, to forge frames with a valid checksum. */
static unsigned char *plain_of_first(size_t *len)
{
	struct frame_hdr h;
	memcpy(&h, g_file + HDR, sizeof(h));
	unsigned char *p = malloc(h.len);
	uLongf n = h.len;
	assert_int_equal(uncompress(p, &n, g_file + HDR + sizeof(h), h.zlen), Z_OK);
	*len = n;
	return p;
}

/* The elements of section tag inside plain bytes. */
static unsigned char *section(unsigned char *p, size_t len, uint32_t tag)
{
	size_t off = 0;
	while (off + sizeof(struct section) <= len) {
		struct section s;
		memcpy(&s, p + off, sizeof(s));
		if (s.tag == tag)
			return p + off + sizeof(s);
		off += sizeof(s) + (size_t)s.size * s.count;
	}
	fail_msg("no section %u", tag);
	return NULL;
}

/* A file of the real header and one frame made of plain bytes p. */
static struct recording *forge(const unsigned char *p, size_t len, char *err, size_t errlen)
{
	uLongf zlen = compressBound(len);
	unsigned char *buf = malloc(HDR + sizeof(struct frame_hdr) + zlen);
	struct frame_hdr h = { .len = (uint32_t)len };
	memcpy(h.magic, "FRAM", 4);
	assert_int_equal(compress(buf + HDR + sizeof(h), &zlen, p, len), Z_OK);
	h.zlen = (uint32_t)zlen;
	h.crc = (uint32_t)crc32(0, p, (uInt)len);
	memcpy(buf, g_file, HDR);
	memcpy(buf + HDR, &h, sizeof(h));
	struct recording *r =
	    recording__from_buffer(buf, HDR + sizeof(h) + zlen, "forged.rec", err, errlen);
	free(buf);
	return r;
}

/* Well-formed frames with hostile contents: counts, lengths, strings and numbers are tamed. */
static void test_hostile_contents(void **state)
{
	char err[256];
	size_t len;
	unsigned char *p = plain_of_first(&len);
	struct snapshot_drops *d = (struct snapshot_drops *)section(p, len, T_DROPS);
	struct snapshot_l7 *l = (struct snapshot_l7 *)section(p, len, T_L7);
	struct snapshot_tcp *t = (struct snapshot_tcp *)section(p, len, T_TCP);
	struct probe_info *pr = (struct probe_info *)section(p, len, T_PROBES);
	struct flow_row *f = (struct flow_row *)section(p, len, T_FLOWS);
	struct proc_row *row = (struct proc_row *)section(p, len, T_PROC_ROWS);
	struct tcp_sock_detail *sd = (struct tcp_sock_detail *)section(p, len, T_TCP_SOCKS);
	d->n_reasons = SIZE_MAX;
	d->n_softnet = 1u << 30;
	d->reasons[0].hist_len = 1u << 31;
	memset(d->reasons[0].reason, 'A', sizeof(d->reasons[0].reason));
	d->rate = NAN;
	l->n_names = 1000000;
	l->names[0].name_len = 65535;
	memset(l->names[0].name, 'B', sizeof(l->names[0].name));
	l->n_recent = 99999;
	l->recent[0].path_len = 60000;
	t->n_recent = 1u << 20;
	pr->kind = 1000;
	pr->state = 77;
	pr->n_others = 1u << 30;
	pr->n_lat_pids = 1u << 30;
	memset(pr->id, 'C', sizeof(pr->id));
	f->rx_bps = NAN;
	f->tx_pps = INFINITY;
	f->first_seen = -1e300;
	memset(f->comm, 'D', sizeof(f->comm));
	row->first_sock = 1u << 30;
	row->n_socks = 1u << 30;
	sd->n_timeline = 1u << 30;
	struct snapshot_sec *ss = (struct snapshot_sec *)section(p, len, T_SEC);
	struct alert_row *al = (struct alert_row *)section(p, len, T_ALERTS);
	struct fw_row *fw = (struct fw_row *)section(p, len, T_FW_RULES);
	if (!ss || !al || !fw) /* fail_msg() returns to the compiler */
		return;
	memset(ss->fw_ifaces, 'E', sizeof(ss->fw_ifaces));
	memset(ss->ssh_peer, 'F', sizeof(ss->ssh_peer));
	ss->block_ttl = NAN;
	ss->n_alerts = SIZE_MAX; /* the section's count is what counts */
	ss->n_rules = SIZE_MAX;
	ss->alerts = (struct alert_row *)1;
	memset(al->detail, '\x1b', sizeof(al->detail));
	memset(al->source, 'G', sizeof(al->source));
	al->kind = 200;
	al->first_seen = INFINITY;
	memset(fw->rule, 'H', sizeof(fw->rule));
	fw->plen = 255;
	fw->expires = NAN;
	struct recording *r = forge(p, len, err, sizeof(err));
	assert_non_null(r);
	struct snapshot *s = recording_snapshot(r, 0);
	assert_non_null(s);
	assert_int_equal(s->drops->n_reasons, PL_DROP_REASONS_MAX);
	assert_int_equal(s->drops->n_softnet, PL_CPUS_MAX);
	assert_int_equal(s->drops->reasons[0].hist_len, PL_HIST_LEN);
	assert_int_equal(strlen(s->drops->reasons[0].reason), sizeof(d->reasons[0].reason) - 1);
	assert_true(s->drops->rate == 0);
	assert_int_equal(s->l7->n_names, PL_DNS_NAMES_MAX);
	assert_int_equal(s->l7->names[0].name_len, sizeof(l->names[0].name) - 1);
	assert_int_equal(s->l7->n_recent, PL_HTTP_RECENT_MAX);
	assert_int_equal(s->tcp->n_recent, PL_TCP_EVENTS_MAX);
	assert_int_equal(s->probes[0].n_others, 8);
	assert_true((unsigned)s->probes[0].kind < PK_MAX);
	assert_true(s->flows[0].rx_bps == 0 && s->flows[0].tx_pps == 0 &&
		    s->flows[0].first_seen == 0);
	assert_int_equal(strlen(s->flows[0].comm), sizeof(f->comm) - 1);
	assert_true(s->procs->rows[0].first_sock + s->procs->rows[0].n_socks <= s->procs->n_socks);
	assert_int_equal(s->tcp->socks[0].n_timeline, 8);
	assert_int_equal(s->sec->n_alerts, 1);
	assert_int_equal(s->sec->n_rules, 1);
	assert_ptr_equal(s->sec->alerts, (void *)(s->sec + 1));
	assert_int_equal(strlen(s->sec->fw_ifaces), sizeof(ss->fw_ifaces) - 1);
	assert_int_equal(strlen(s->sec->ssh_peer), sizeof(ss->ssh_peer) - 1);
	assert_true(s->sec->block_ttl == 0);
	assert_int_equal(strlen(s->sec->alerts[0].detail), sizeof(al->detail) - 1);
	assert_int_equal(strlen(s->sec->alerts[0].source), sizeof(al->source) - 1);
	assert_true(s->sec->alerts[0].first_seen == 0);
	assert_int_equal(strlen(s->sec->rules[0].rule), sizeof(fw->rule) - 1);
	assert_int_equal(s->sec->rules[0].plen, 128);
	assert_true(s->sec->rules[0].expires == 0);
	/* everything that reads a snapshot stays inside it (the sanitizer build checks) */
	char *j = json_of(s);
	assert_non_null(strstr(j, "\"version\":1"));
	/* the detail's escape bytes stay escaped in the JSON, an unknown kind is named so */
	assert_null(strchr(j, '\x1b'));
	assert_non_null(strstr(j, "\"kind\":\"unknown\""));
	free(j);
	snapshot_put(s);
	recording__free(r);
	free(p);
}

/* Frames whose sections do not add up are refused with the snapshot's number. */
static void test_bad_sections(void **state)
{
	char err[256];
	size_t len;
	unsigned char *p = plain_of_first(&len);
	struct section first;
	memcpy(&first, p, sizeof(first));
	assert_int_equal(first.tag, T_META);
	static const struct {
		size_t field; /* 0 tag, 1 size, 2 count */
		uint32_t value;
	} cases[] = { { 0, 0 }, { 0, 99 }, { 1, 3 }, { 2, 0 }, { 2, 2 }, { 2, 0x7fffffff } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned char *q = malloc(len);
		memcpy(q, p, len);
		memcpy(q + 4 * cases[c].field, &cases[c].value, 4);
		struct recording *r = forge(q, len, err, sizeof(err));
		if (r)
			fail_msg("case %zu was read", c);
		assert_non_null(strstr(err, "in snapshot 1"));
		free(q);
	}
	/* a frame cut short of its last section */
	assert_null(forge(p, len - 3, err, sizeof(err)));
	assert_non_null(strstr(err, "damaged"));
	free(p);
	/* another layout or format */
	unsigned char *buf = malloc(g_len);
	memcpy(buf, g_file, g_len);
	buf[8] = 3;
	assert_null(recording__from_buffer(buf, g_len, "x.rec", err, sizeof(err)));
	assert_non_null(strstr(err, "format 3 (by pktlens test-1)"));
	assert_non_null(strstr(err, "reads formats 1 to 2"));
	memcpy(buf, g_file, g_len);
	buf[16 + 4 * T_FLOWS] ^= 8;
	assert_null(recording__from_buffer(buf, g_len, "x.rec", err, sizeof(err)));
	assert_non_null(strstr(err, "recorded by pktlens test-1, whose snapshots differ"));
	/* a size of format 2's part of the header */
	memcpy(buf, g_file, g_len);
	buf[HDR_V1 + 4 * (T_FW_RULES - 16)] ^= 8;
	assert_null(recording__from_buffer(buf, g_len, "x.rec", err, sizeof(err)));
	assert_non_null(strstr(err, "whose snapshots differ"));
	/* the version that wrote it is the file's text: a terminal's escape or a line break in it
	 * does not reach the sentence */
	memcpy(buf, g_file, g_len);
	memcpy(buf + 80, "v\n\x1b[2J", 7);
	buf[16 + 4 * T_FLOWS] ^= 8;
	assert_null(recording__from_buffer(buf, g_len, "x.rec", err, sizeof(err)));
	assert_non_null(strstr(err, "recorded by pktlens v??[2J, whose"));
	free(buf);
}

/* The file of a format 1 pktlens: its header, and frames as the writer makes them of snap. */
static unsigned char *format1_file(struct snapshot *snap, size_t *len)
{
	char err[256], path[64];
	snprintf(path, sizeof(path), "/tmp/pl-test-record1-%d.rec", (int)getpid());
	struct recorder *r = recorder__open(path, "old-1", err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(recorder_write(r, snap, err, sizeof(err)), 0);
	size_t n = recorder_bytes(r);
	recorder__free(r);
	unsigned char *buf = malloc(n);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, n, f), n);
	fclose(f);
	unlink(path);
	/* format 1: 128 bytes, the sections it knew (tags up to T_PROC_SOCKS) */
	uint32_t one = 1, zero = 0;
	memcpy(buf + 8, &one, 4);
	for (int t = T_SEC; t < 16; t++)
		memcpy(buf + 16 + 4 * t, &zero, 4);
	memmove(buf + HDR_V1, buf + HDR, n - HDR);
	*len = n - (HDR - HDR_V1);
	return buf;
}

/* A recording of format 1 (before the security part was recorded) replays, with that part empty;
 * one of its frames holding a section format 1 did not have is damage. */
static void test_format1(void **state)
{
	char err[256] = "";
	size_t len;
	struct snapshot *s = make_snapshot(3);
	struct snapshot_sec *sec = s->sec;
	s->sec = NULL;
	char *want = json_of(s);
	unsigned char *buf = format1_file(s, &len);
	struct recording *r = recording__from_buffer(buf, len, "old.rec", err, sizeof(err));
	if (!r)
		fail_msg("a format 1 recording was refused: %s", err);
	assert_int_equal(recording_count(r), 1);
	assert_string_equal(recording_version(r), "old-1");
	struct snapshot *t = recording_snapshot(r, 0);
	assert_non_null(t);
	assert_null(t->sec);
	char *j = json_of(t);
	assert_string_equal(j, want);
	assert_non_null(strstr(j, "\"alerts\":[]"));
	free(j);
	snapshot_put(t);
	recording__free(r);
	free(buf);
	free(want);

	s->sec = sec;
	buf = format1_file(s, &len);
	assert_null(recording__from_buffer(buf, len, "old.rec", err, sizeof(err)));
	assert_non_null(strstr(err, "a section of an unknown kind in snapshot 1"));
	free(buf);
	snapshot_put(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),	 cmocka_unit_test(test_histories),
		cmocka_unit_test(test_truncated),	 cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_hostile_contents), cmocka_unit_test(test_bad_sections),
		cmocka_unit_test(test_format1),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
