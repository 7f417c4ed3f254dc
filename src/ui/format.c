/* Human units, durations, sparklines and escaping for the terminal. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/escape.h"
#include "ui/format.h"

char *fmt_human(double v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	int u = -1;

	if (!(v >= 0) || isinf(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (v < 999.5) {
		if (v > 0 && v < 9.95 && v != floor(v))
			snprintf(buf, len, "%.1f", v);
		else
			snprintf(buf, len, "%.0f", v);
		return buf;
	}
	/* 999.96K must print as 1.0M, not 1000.0K, so compare against the rounded value */
	do {
		v /= 1000;
		u++;
	} while (v >= 999.95 && u < (int)sizeof(units) - 2);
	snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

char *fmt_duration(double s, char *buf, size_t len)
{
	unsigned long t;

	if (!(s >= 0)) {
		snprintf(buf, len, "-");
		return buf;
	}
	t = (unsigned long)s;
	if (t < 60)
		snprintf(buf, len, "%lus", t);
	else if (t < 3600)
		snprintf(buf, len, "%lum%02lus", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%luh%02lum", t / 3600, t / 60 % 60);
	else
		snprintf(buf, len, "%lud%02luh", t / 86400, t / 3600 % 24);
	return buf;
}

char *fmt_usec(uint32_t us, char *buf, size_t len)
{
	if (!us)
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%uus", us);
	else if (us < 1000000)
		snprintf(buf, len, "%.1fms", us / 1000.0);
	else
		snprintf(buf, len, "%.2fs", us / 1e6);
	return buf;
}

char *fmt_endpoint(const char *addr, unsigned port, int v6, char *buf, size_t len)
{
	snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", addr, port);
	return buf;
}

size_t sparkline(const float *v, size_t n, size_t width, int utf8, char *out, size_t outlen)
{
	static const char *const blocks[8] = { "\u2581", "\u2582", "\u2583", "\u2584",
					       "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[8] = { '_', '.', ',', '-', '=', '+', '*', '#' };
	size_t start = n > width ? n - width : 0, o = 0, cells = 0;
	float max = 0;

	if (!outlen)
		return 0;
	for (size_t i = start; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (size_t pad = n - start; pad < width && o + 1 < outlen; pad++, cells++)
		out[o++] = ' ';
	for (size_t i = start; i < n; i++, cells++) {
		int lvl;

		if (!(v[i] > 0) || !(max > 0)) {
			if (o + 1 >= outlen)
				break;
			out[o++] = ' ';
			continue;
		}
		lvl = (int)(v[i] / max * 7.0f + 0.5f);
		lvl = lvl < 0 ? 0 : lvl > 7 ? 7 : lvl;
		if (utf8) {
			if (o + 3 >= outlen)
				break;
			memcpy(out + o, blocks[lvl], 3);
			o += 3;
		} else {
			if (o + 1 >= outlen)
				break;
			out[o++] = ascii[lvl];
		}
	}
	out[o] = '\0';
	return cells;
}

/* One escaper for the screen: core's, which JSON's escaper mirrors. */
char *ui_escape(char *dst, size_t dstlen, const char *src, size_t n)
{
	return escape_display(dst, dstlen, src, n);
}

size_t fmt_cells(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Byte offset of the first `cells` characters of s. */
static size_t cells_bytes(const char *s, size_t cells)
{
	size_t i = 0;

	while (s[i] && cells) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		cells--;
	}
	return i;
}

char *fmt_fit(const char *s, size_t w, int mid, int utf8, char *out, size_t len)
{
	const char *mark = utf8 ? "\u2026" : "~";
	size_t n = fmt_cells(s), head, tail;

	if (!len)
		return out;
	if (n <= w) {
		snprintf(out, len, "%s", s);
		return out;
	}
	if (!w) {
		out[0] = '\0';
		return out;
	}
	head = mid ? (w - 1) / 2 : w - 1;
	tail = w - 1 - head;
	snprintf(out, len, "%.*s%s%s", (int)cells_bytes(s, head), s, mark,
		 s + cells_bytes(s, n - tail));
	return out;
}

char *fmt_clock(double unix_s, char *buf, size_t len)
{
	time_t sec = (time_t)unix_s;
	struct tm tm;
	int ms;

	if (!(unix_s > 0)) {
		snprintf(buf, len, "-");
		return buf;
	}
	ms = (int)((unix_s - (double)sec) * 1000 + 0.5);

	localtime_r(&sec, &tm);
	/* rounded, but never into the next second's 1000 */
	snprintf(buf, len, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ms > 999 ? 999 : ms);
	return buf;
}

/* v in human units followed by unit; "-" when v is not a count. */
static char *with_unit(double v, const char *unit, char *buf, size_t len)
{
	char n[16];

	if (!(v >= 0) || isinf(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s%s", fmt_human(v, n, sizeof(n)), unit);
	return buf;
}

char *fmt_bits(double bps, char *buf, size_t len)
{
	return with_unit(bps, "b/s", buf, len);
}

char *fmt_bytes(double bytes, char *buf, size_t len)
{
	return with_unit(bytes, "B", buf, len);
}

char *fmt_ago(double s, char *buf, size_t len)
{
	char d[16];

	if (!(s >= 0))
		snprintf(buf, len, "never");
	else
		snprintf(buf, len, "%s ago", fmt_duration(s, d, sizeof(d)));
	return buf;
}
