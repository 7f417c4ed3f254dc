/* Escaping of untrusted bytes for the terminal and for JSON: one function for each. */
#include <string.h>

#include "core/escape.h"

static const char hexd[] = "0123456789abcdef";

char *escape_display_bytes(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t o = 0;
	if (!dstlen)
		return dst;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		char tmp[4];
		size_t k = 0;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			tmp[k++] = (char)c;
		} else if (c == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = '\\';
		} else {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hexd[c >> 4];
			tmp[k++] = hexd[c & 15];
		}
		/* never cut an escape in half: a lone backslash would be misleading */
		if (o + k >= dstlen)
			break;
		memcpy(dst + o, tmp, k);
		o += k;
	}
	dst[o] = '\0';
	return dst;
}

char *escape_display(char *dst, size_t dstlen, const char *src, size_t n)
{
	return escape_display_bytes(dst, dstlen, src, strnlen(src, n));
}

void json_write_bytes(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c < 0x20 || c >= 0x7f) {
			fprintf(f, "\\u00%c%c", hexd[c >> 4], hexd[c & 15]);
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}

void json_write_string(FILE *f, const char *s)
{
	json_write_bytes(f, s, strlen(s));
}
