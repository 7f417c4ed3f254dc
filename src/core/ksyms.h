/* Kernel text addresses to "function+0xoff" through /proc/kallsyms, loaded once and searched by bisection. */
#ifndef PKTLENS_KSYMS_H
#define PKTLENS_KSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ksyms;

/* NULL when the file cannot be read; path NULL = /proc/kallsyms. */
struct ksyms *ksyms__load(const char *path);
void ksyms__free(struct ksyms *k);
/* Writes "func+0xoff", or the bare address when unknown (or addresses hidden by kptr_restrict). */
void ksyms_format(const struct ksyms *k, uint64_t addr, char *out, size_t len);

#endif
