/* libFuzzer target: the recording reader (src/core/record.c): any file is refused in one line or read into snapshots that stay in bounds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/record.h"
#include "core/security.h"
#include "fuzz.h"

#define HDR 192 /* the file header of record.c (format 2) */

struct frame_hdr {
	char magic[4];
	uint32_t zlen, len, crc;
};

/* A real recording of one snapshot with something in every part, and its frame's plain bytes. */
static unsigned char *g_file, *g_plain;
static size_t g_file_len, g_plain_len;

static struct snapshot *sample(void)
{
	struct snapshot *s = snapshot__new();
	s->uptime_s = 2;
	snprintf(s->host, sizeof(s->host), "fuzz");
	s->probes = calloc(1, sizeof(*s->probes));
	s->n_probes = 1;
	s->probes[0].n_others = 1;
	s->flows = calloc(2, sizeof(*s->flows));
	s->n_flows = 2;
	s->flows[0].key.proto = 6;
	s->flows[1].key.proto = 17;
	s->flows[0].known = 1;
	s->drops = calloc(1, sizeof(*s->drops));
	s->drops->n_reasons = 1;
	s->drops->n_events = 1;
	unsigned char *blk =
	    calloc(1, sizeof(struct snapshot_tcp) + sizeof(struct tcp_sock_detail) +
			  sizeof(struct flow_lat_row));
	s->tcp = (struct snapshot_tcp *)blk;
	s->tcp->socks = (struct tcp_sock_detail *)(blk + sizeof(struct snapshot_tcp));
	s->tcp->n_socks = 1;
	s->tcp->lats = (struct flow_lat_row *)(s->tcp->socks + 1);
	s->tcp->n_lats = 1;
	s->l7 = calloc(1, sizeof(*s->l7));
	s->l7->n_endpoints = s->l7->n_recent = s->l7->n_names = s->l7->n_sni = 1;
	blk = calloc(1, sizeof(struct snapshot_procs) + sizeof(struct proc_row) +
			    sizeof(struct proc_sock_row));
	s->procs = (struct snapshot_procs *)blk;
	s->procs->rows = (struct proc_row *)(blk + sizeof(struct snapshot_procs));
	s->procs->socks = (struct proc_sock_row *)(s->procs->rows + 1);
	s->procs->n_rows = s->procs->n_socks = 1;
	s->procs->rows[0].n_socks = 1;
	blk = calloc(1, sizeof(struct snapshot_sec) + sizeof(struct alert_row) +
			    sizeof(struct fw_row));
	s->sec = (struct snapshot_sec *)blk;
	s->sec->alerts = (struct alert_row *)(s->sec + 1);
	s->sec->rules = (struct fw_row *)(s->sec->alerts + 1);
	s->sec->n_alerts = s->sec->n_rules = 1;
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64], err[256];
	snprintf(path, sizeof(path), "/tmp/pl-fuzz-record-%d.rec", (int)getpid());
	unlink(path);
	struct recorder *r = recorder__open(path, "fuzz", err, sizeof(err));
	FUZZ_CHECK(r, "%s", err);
	struct snapshot *s = sample();
	FUZZ_CHECK(!recorder_write(r, s, err, sizeof(err)), "%s", err);
	snapshot_put(s);
	g_file_len = recorder_bytes(r);
	recorder__free(r);
	FILE *f = fopen(path, "rb");
	g_file = malloc(g_file_len);
	FUZZ_CHECK(f && fread(g_file, 1, g_file_len, f) == g_file_len, "reading %s", path);
	fclose(f);
	unlink(path);
	struct frame_hdr h;
	memcpy(&h, g_file + HDR, sizeof(h));
	g_plain = malloc(h.len);
	uLongf n = h.len;
	FUZZ_CHECK(uncompress(g_plain, &n, g_file + HDR + sizeof(h), h.zlen) == Z_OK, "inflate");
	g_plain_len = n;
	/* FUZZ_RECORD_SEED=FILE: the real recording as a seed (mode byte 0, then the file) */
	const char *seed = getenv("FUZZ_RECORD_SEED");
	if (seed && (f = fopen(seed, "wb"))) {
		fputc(0, f);
		fwrite(g_file, 1, g_file_len, f);
		fclose(f);
	}
	return 0;
}

static volatile size_t g_sink;

/* Reads what the panes read: every listed row's strings, a process's sockets (ASan checks). */
static void touch(const struct snapshot *s)
{
	size_t n = strlen(s->host) + strlen(s->ifaces);
	for (size_t k = 0; k < s->n_probes; k++)
		n += strlen(s->probes[k].id) + strlen(s->probes[k].reason) +
		     s->probes[k].others[s->probes[k].n_others ? s->probes[k].n_others - 1 : 0].id;
	for (size_t k = 0; k < s->n_flows; k++)
		n += strlen(s->flows[k].comm) + strlen(s->flows[k].state) + strlen(s->flows[k].l7);
	for (size_t k = 0; k < s->l7->n_recent; k++)
		n += s->l7->recent[k].path[s->l7->recent[k].path_len] +
		     strlen(s->l7->recent[k].method);
	for (size_t k = 0; s->drops && k < s->drops->n_reasons; k++)
		n += strlen(s->drops->reasons[k].reason) +
		     (size_t)s->drops->reasons[k]
			 .hist[s->drops->reasons[k].hist_len ? s->drops->reasons[k].hist_len - 1
							     : 0];
	for (size_t k = 0; s->tcp && k < s->tcp->n_socks; k++)
		n += strlen(
		    s->tcp->socks[k]
			.timeline[s->tcp->socks[k].n_timeline ? s->tcp->socks[k].n_timeline - 1 : 0]
			.state);
	for (size_t k = 0; s->procs && k < s->procs->n_rows; k++) {
		const struct proc_row *r = &s->procs->rows[k];
		for (size_t j = 0; j < r->n_socks; j++)
			n += strlen(s->procs->socks[r->first_sock + j].thread);
		n += strlen(r->cmdline);
	}
	g_sink += n;
}

/* Every snapshot a recording gives stays inside its arrays, whatever the file held. */
static void check(struct recording *r)
{
	for (size_t i = 0; i < recording_count(r); i++) {
		struct snapshot *s = recording_snapshot(r, i);
		if (!s)
			continue;
		FUZZ_CHECK(s->l7 && s->l7->n_names <= PL_DNS_NAMES_MAX, "names");
		FUZZ_CHECK(s->l7->n_recent <= PL_HTTP_RECENT_MAX, "recent");
		for (size_t k = 0; k < s->l7->n_names; k++) {
			FUZZ_CHECK_STR(s->l7->names[k].name);
			FUZZ_CHECK(s->l7->names[k].name_len < sizeof(s->l7->names[k].name), "len");
		}
		for (size_t k = 0; k < s->n_flows; k++) {
			FUZZ_CHECK_STR(s->flows[k].comm);
			FUZZ_CHECK(isfinite(s->flows[k].rx_bps), "rx_bps");
		}
		if (s->drops)
			FUZZ_CHECK(s->drops->n_reasons <= PL_DROP_REASONS_MAX, "reasons");
		if (s->procs)
			for (size_t k = 0; k < s->procs->n_rows; k++)
				FUZZ_CHECK(s->procs->rows[k].first_sock +
						   (size_t)s->procs->rows[k].n_socks <=
					       s->procs->n_socks,
					   "socks");
		if (s->sec) {
			FUZZ_CHECK(s->sec->n_alerts <= PL_ALERTS_MAX, "alerts");
			for (size_t k = 0; k < s->sec->n_alerts; k++)
				FUZZ_CHECK_STR(s->sec->alerts[k].detail);
			for (size_t k = 0; k < s->sec->n_rules; k++)
				FUZZ_CHECK_STR(s->sec->rules[k].rule);
		}
		touch(s);
		snapshot_put(s);
	}
}

/*
 * First byte even: the input is a whole file. Odd: the input patches the real frame's plain
 * bytes ([offset u32][length u8][bytes]...), which then get a valid checksum: the sections
 * and the values inside them, past the framing that a random file rarely gets through.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct recording *r;
	if (!size || !(data[0] & 1)) {
		r = recording__from_buffer(data + (size > 0), size - (size > 0), "f", err,
					   sizeof(err));
	} else {
		struct fuzz_in in = { data + 1, size - 1 };
		unsigned char *p = malloc(g_plain_len);
		memcpy(p, g_plain, g_plain_len);
		size_t len = g_plain_len;
		while (in.n) {
			uint32_t off =
			    ((uint32_t)fuzz_u16(&in) << 16 | fuzz_u16(&in)) % (uint32_t)len;
			size_t n = fuzz_u8(&in);
			for (size_t k = 0; k < n && in.n; k++)
				p[(off + k) % len] = fuzz_u8(&in);
		}
		uLongf zlen = compressBound(len);
		unsigned char *file = malloc(HDR + sizeof(struct frame_hdr) + zlen);
		struct frame_hdr h = { .len = (uint32_t)len };
		memcpy(h.magic, "FRAM", 4);
		FUZZ_CHECK(compress2(file + HDR + sizeof(h), &zlen, p, len, 1) == Z_OK, "deflate");
		h.zlen = (uint32_t)zlen;
		h.crc = (uint32_t)crc32(0, p, (uInt)len);
		memcpy(file, g_file, HDR);
		memcpy(file + HDR, &h, sizeof(h));
		r = recording__from_buffer(file, HDR + sizeof(h) + zlen, "f", err, sizeof(err));
		free(file);
		free(p);
	}
	if (!r) {
		FUZZ_CHECK(!strchr(err, '\n') && strlen(err) > 0, "error line '%s'", err);
		return 0;
	}
	check(r);
	recording__free(r);
	return 0;
}
