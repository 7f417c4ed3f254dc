/* libFuzzer target: the escapers of untrusted bytes (src/core/escape.c, src/ui/format.c) and their round trips. */
#include <string.h>

#include "fuzz.h"
#include "core/escape.h"
#include "ui/format.h"

/*
 * Input: one byte that sizes the output buffer, the rest is the untrusted
 * string. What must hold for the terminal: only printable ASCII comes out,
 * always NUL-terminated inside the buffer, an escape is never cut in half,
 * and decoding the output gives back the input (all of it when the buffer
 * has room for the worst case, else a prefix).
 */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the display escaping (\\ and \xHH); returns the length or -1 on a malformed escape. */
static long undisplay(const char *s, char *out)
{
	size_t o = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] != '\\') {
			out[o++] = s[i];
			continue;
		}
		if (s[i + 1] == '\\') {
			out[o++] = '\\';
			i++;
		} else if (s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
			int v = hexval(s[i + 2]) << 4 | hexval(s[i + 3]);
			/* printable ASCII other than backslash is never escaped */
			if (v >= 0x20 && v < 0x7f && v != '\\')
				return -1;
			out[o++] = (char)v;
			i += 3;
		} else {
			return -1;
		}
	}
	return (long)o;
}

typedef char *(*display_fn)(char *, size_t, const char *, size_t);

static void check_display(const char *name, display_fn fn, const char *src, size_t n, size_t dstlen)
{
	static char dst[4 * 4097 + 32], back[4 * 4097 + 32];
	size_t want = strnlen(src, n);

	memset(dst, 0x7f, dstlen + 1);
	FUZZ_CHECK(fn(dst, dstlen, src, n) == dst, "%s return", name);
	FUZZ_CHECK(dst[dstlen] == 0x7f, "%s wrote past %zu", name, dstlen);
	if (!dstlen)
		return;
	size_t ol = strnlen(dst, dstlen);
	FUZZ_CHECK(ol < dstlen, "%s: not terminated in %zu bytes", name, dstlen);
	for (size_t i = 0; i < ol; i++)
		FUZZ_CHECK(dst[i] >= 0x20 && dst[i] < 0x7f, "%s: byte %#x at %zu", name,
			   (unsigned char)dst[i], i);
	long bl = undisplay(dst, back);
	FUZZ_CHECK(bl >= 0, "%s: output does not decode: %s", name, dst);
	FUZZ_CHECK((size_t)bl <= want && !memcmp(back, src, (size_t)bl), "%s: not a prefix", name);
	if (dstlen > 4 * want)
		FUZZ_CHECK((size_t)bl == want, "%s: %ld of %zu bytes with room for all", name, bl,
			   want);
	else if ((size_t)bl < want)
		/* it stopped because the next escape did not fit, not earlier */
		FUZZ_CHECK(ol + 4 >= dstlen, "%s: stopped at %zu of %zu", name, ol, dstlen);
}

/* Strict JSON string literal (RFC 8259 7): decodes into out, returns the length or -1. */
static long unjson(const char *s, size_t len, char *out)
{
	size_t o = 0;
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return -1;
	for (size_t i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"')
			return -1; /* control characters and bytes beyond ASCII must be escaped here */
		if (c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		if (i + 1 >= len - 1)
			return -1;
		char e = s[++i];
		if (e == '"' || e == '\\' || e == '/') {
			out[o++] = e;
		} else if (e == 'u') {
			if (i + 4 >= len - 1)
				return -1;
			int v = 0;
			for (int k = 1; k <= 4; k++) {
				char h = s[i + k];
				int d = h >= '0' && h <= '9'   ? h - '0'
					: h >= 'a' && h <= 'f' ? h - 'a' + 10
					: h >= 'A' && h <= 'F' ? h - 'A' + 10
							       : -1;
				if (d < 0)
					return -1;
				v = v << 4 | d;
			}
			/* one raw byte per \u00XX: pktlens writes bytes, not code points */
			if (v > 0xff)
				return -1;
			out[o++] = (char)v;
			i += 4;
		} else if (e == 'n' || e == 't' || e == 'r' || e == 'b' || e == 'f') {
			out[o++] = e == 'n'   ? '\n'
				   : e == 't' ? '\t'
				   : e == 'r' ? '\r'
				   : e == 'b' ? '\b'
					      : '\f';
		} else {
			return -1;
		}
	}
	return (long)o;
}

static void check_json(const char *src)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	FUZZ_CHECK(f, "open_memstream");
	json_write_string(f, src);
	FUZZ_CHECK(!fclose(f), "fclose");
	static char back[4096 * 6 + 8];
	long bl = unjson(buf, len, back);
	FUZZ_CHECK(bl >= 0, "not a JSON string: %s", buf);
	FUZZ_CHECK((size_t)bl == strlen(src) && !memcmp(back, src, (size_t)bl),
		   "JSON round trip: %s", buf);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char src[4097];
	if (size < 1 || size > 4097)
		return 0;
	size_t n = size - 1, dstlen = data[0];
	if (dstlen >= 0xf0)
		dstlen = 4 * n + 1 + (dstlen - 0xf0); /* room for the worst case */
	memcpy(src, data + 1, n);
	src[n] = '\0';
	check_display("escape_display", escape_display, src, n, dstlen);
	check_display("ui_escape", ui_escape, src, n, dstlen);
	check_json(src);
	return 0;
}
