/* The application-layer model: HTTP transactions and endpoints, DNS names, TLS SNI, per-flow protocol. */
#ifndef PKTLENS_L7MODEL_H
#define PKTLENS_L7MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/snapshot.h"
#include "shared/l7.h"

struct l7_model;

/* slow_ms: transactions at least this slow go to the slow list (<= 0: 200 ms). */
struct l7_model *l7_model__new(double slow_ms);
void l7_model__free(struct l7_model *m);
/* Also rebuilds the slow list from the recent requests under the new threshold. */
void l7_model_set_slow_ms(struct l7_model *m, double slow_ms);

/* Ring buffer callback data: one l7_event of len bytes. start_ns: CLOCK_MONOTONIC at start. */
void l7_model_event(struct l7_model *m, const struct l7_event *ev, size_t len, uint64_t start_ns);
/* Builds the snapshot part; counters are the summed per-CPU BPF counters (may be NULL). */
struct snapshot_l7 *l7_model_read(struct l7_model *m, const struct l7_counters *bpf,
				  uint64_t now_ns);
/* Sets r->l7 and r->l7_flags from what the flow carried. */
void l7_model_fill_flow(const struct l7_model *m, struct flow_row *r);

/* The n bytes of path with numeric and hex-id segments replaced by :id and the query dropped;
 * NUL-terminated in out, returns its length (NULs inside the path are kept as data). */
size_t l7_collapse_path(const char *path, size_t n, char *out, size_t outlen);
/* Latency histogram (log scale, 8 buckets per octave of microseconds). */
#define L7_HIST_BUCKETS 224
int l7_hist_bucket(double us);
double l7_hist_quantile(const uint32_t *h, uint64_t count, double q, double min_ms, double max_ms);
/* Upper bounds (seconds) of snapshot_l7.http_lat's buckets, ascending. */
extern const double l7_http_lat_bounds[PL_HTTP_LAT_BUCKETS];
const char *l7_proto_name(unsigned proto);
const char *dns_qtype_name(unsigned qtype, char buf[12]);
const char *dns_rcode_name(unsigned rcode, char buf[12]);

#endif
