/* Escaping of untrusted bytes for the terminal and for JSON. */
#include "core/escape.h"

static const char hexd[] = "0123456789abcdef";

char *escape_display(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t o = 0;
	if (!dstlen)
		return dst;
	for (size_t i = 0; i < n && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else if (c == '\\') {
			if (o + 2 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hexd[c >> 4];
			dst[o++] = hexd[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}

void json_write_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
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
