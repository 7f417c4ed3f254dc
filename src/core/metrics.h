/* --metrics: Prometheus text and OpenMetrics rendered from snapshots, served at /metrics by a thread. */
#ifndef PKTLENS_METRICS_H
#define PKTLENS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct snapshot;

/*
 * The counters by interface and protocol are summed from the flows' growth:
 * a flow's packets are counted once, also after it leaves the table (its last
 * reading stays in the sum), so the series never go down. Packets a flow got
 * between its last reading and its eviction by the kernel's LRU are not in
 * them (the kernel's own totals, pktlens_ip_*_total, have those).
 */
struct metrics_acc;
struct metrics_acc *metrics_acc__new(void);
void metrics_acc__free(struct metrics_acc *a);
/* Adds the growth of every flow since the previous snapshot. Returns 0 or -ENOMEM. */
int metrics_acc_update(struct metrics_acc *a, const struct snapshot *s);

enum metrics_format {
	MF_TEXT = 0,	/* Prometheus text format 0.0.4 (what promtool check metrics reads) */
	MF_OPENMETRICS, /* OpenMetrics 1.0.0 text: counters' TYPE without _total, # EOF */
};

/* The exposition of s (and a's sums) in malloc'd memory, *len bytes; NULL when out of memory.
 * top_flows: per-flow series for the flows with the most bytes, 0 = none. */
char *metrics_render(const struct metrics_acc *a, const struct snapshot *s, unsigned top_flows,
		     enum metrics_format fmt, size_t *len);

/* A label value: backslash, double quote and newline escaped as the formats say; other control
 * bytes, DEL and bytes that are not valid UTF-8 as the four characters \xHH. Always
 * NUL-terminated; an escape is never cut in half. Returns the length written. */
size_t metrics_label_escape(char *dst, size_t dstlen, const char *src, size_t n);

/* "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (every address) into a socket address. 0 or -1 with
 * one sentence in err. */
int metrics_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err,
		       size_t errlen);

struct metrics;
/* Parses spec and listens on it at once: call before entering another network namespace. */
struct metrics *metrics__new(const char *spec, unsigned top_flows, char *err, size_t errlen);
/* Starts the thread that answers scrapes (after privileges are dropped: it needs none). */
int metrics_start(struct metrics *m, char *err, size_t errlen);
/* Renders s for the following scrapes (the main loop calls it for every snapshot). */
void metrics_update(struct metrics *m, const struct snapshot *s);
/* The address it listens on, for messages ("127.0.0.1:9464"). */
const char *metrics_address(const struct metrics *m);
/* Stops the thread, closes the socket, frees everything. */
void metrics__free(struct metrics *m);

#endif
