/* Escaping of untrusted bytes (names, payload strings) before they reach a terminal or JSON. */
#ifndef PKTLENS_ESCAPE_H
#define PKTLENS_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/*
 * Copies exactly n bytes of src into dst as printable ASCII: control bytes
 * (NUL included: a NUL inside a name is data, not its end) and bytes >= 0x7f
 * become \xHH, backslash becomes \\. An escape is never cut in half. Always
 * NUL-terminates; returns dst.
 */
char *escape_display_bytes(char *dst, size_t dstlen, const char *src, size_t n);
/* escape_display_bytes() of the C string in src (at most n bytes, up to its NUL). */
char *escape_display(char *dst, size_t dstlen, const char *src, size_t n);
/* Writes the n bytes of s as a JSON string literal (with quotes): quotes, backslashes, control
 * bytes (NUL as \u0000) and bytes >= 0x7f as \u00XX, so that arbitrary bytes stay valid JSON. */
void json_write_bytes(FILE *f, const char *s, size_t n);
/* json_write_bytes() of a NUL-terminated string. */
void json_write_string(FILE *f, const char *s);

#endif
