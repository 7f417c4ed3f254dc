/* Text for the screen: human units, durations, sparklines, and escaping of untrusted strings. */
#ifndef PKTLENS_UI_FORMAT_H
#define PKTLENS_UI_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* 1000-based K/M/G/T with one decimal ("1.5K", "3.0M"); below 1000 a whole number, except
 * that a fraction under 10 keeps one decimal so a slow flow does not read as 0 ("0.5"). */
char *fmt_human(double v, char *buf, size_t len);
/* One unit convention everywhere: bits per second "26.6Kb/s", bytes "4.8KB" (1000-based, as
 * fmt_human), times of events as wall clock (fmt_clock), last seen as "45s ago". */
char *fmt_bits(double bps, char *buf, size_t len);
char *fmt_bytes(double bytes, char *buf, size_t len);
/* "45s ago", "12m03s ago"; negative (never seen) reads "never". */
char *fmt_ago(double s, char *buf, size_t len);
/* "45s", "12m03s", "3h04m", "2d03h"; negative reads as "-". */
char *fmt_duration(double s, char *buf, size_t len);
/* Wall-clock time of day of a Unix time, milliseconds: "14:03:07.120"; "-" when unknown. */
char *fmt_clock(double unix_s, char *buf, size_t len);
/* Round-trip time: "850us", "1.2ms", "1.25s"; 0 reads as "-". */
char *fmt_usec(uint32_t us, char *buf, size_t len);
/* Endpoint as the tables show it: "10.0.0.1:80", "[fe80::1]:80". */
char *fmt_endpoint(const char *addr, unsigned port, int v6, char *buf, size_t len);

/*
 * Sparkline of the last `width` samples of v[0..n) scaled to their maximum: block characters
 * (UTF-8, 3 bytes each) or ASCII. Zero samples are spaces, any non-zero sample at least the
 * lowest glyph. Missing history is left-padded with spaces. Returns the cells written.
 */
size_t sparkline(const float *v, size_t n, size_t width, int utf8, char *out, size_t outlen);

/* Cells a string takes: characters, counting a UTF-8 sequence as one (no double-width text here). */
size_t fmt_cells(const char *s);
/* s fitted into w cells: as it is when it fits, else cut with a marker ("\u2026", "~" without
 * UTF-8) at the end, or in the middle (mid) so that the end stays: "[fd00:..:1]:80" keeps its port.
 * Nothing is ever cut without the marker. */
char *fmt_fit(const char *s, size_t w, int mid, int utf8, char *out, size_t len);

/* Copies untrusted src (at most n bytes, stops at NUL) as printable ASCII: control and
 * non-ASCII bytes become \xHH, backslash \\, so nothing can move the cursor or change colours. */
char *ui_escape(char *dst, size_t dstlen, const char *src, size_t n);

#endif
