/* Names of kernel enum values taken from the running kernel's BTF (TCP states, drop reasons). */
#ifndef PKTLENS_BTF_ENUM_H
#define PKTLENS_BTF_ENUM_H

#include <stddef.h>

struct btf_enum_names {
	char (*names)[40]; /* names[value], "" where the kernel has no such value */
	size_t n;
};

/*
 * Finds the enum that has a member called `member` (e.g. "TCP_ESTABLISHED")
 * in the BTF at btf_path (NULL: the running kernel's) and records every
 * member's name without `strip_prefix`. Returns 0 or a negative errno.
 */
int btf_enum_load(struct btf_enum_names *out, const char *btf_path, const char *member,
		  const char *strip_prefix);
const char *btf_enum_name(const struct btf_enum_names *e, unsigned value);
void btf_enum_free(struct btf_enum_names *e);

#endif
