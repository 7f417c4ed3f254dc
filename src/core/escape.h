/* Escaping of untrusted bytes (names, payload strings) before they reach a terminal or JSON. */
#ifndef PKTLENS_ESCAPE_H
#define PKTLENS_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Copies src (at most n bytes, stops at NUL) into dst as printable ASCII: control and non-ASCII
 * bytes become \xHH, backslash becomes \\. Always NUL-terminates; returns dst. */
char *escape_display(char *dst, size_t dstlen, const char *src, size_t n);
/* Writes s as a JSON string literal (with quotes), escaping quotes, backslashes, control
 * characters and bytes >= 0x7f as \u00XX so that arbitrary bytes stay valid JSON. */
void json_write_string(FILE *f, const char *s);

#endif
