/* Reads enum value names from BTF, so names stay right when the kernel renumbers an enum. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>

#include "core/btf_enum.h"

#define BTF_ENUM_MAX_VALUE 4096

int btf_enum_load(struct btf_enum_names *out, const char *btf_path, const char *member,
		  const char *strip_prefix)
{
	memset(out, 0, sizeof(*out));
	struct btf *btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	int ret = -ENOENT;
	size_t plen = strip_prefix ? strlen(strip_prefix) : 0;
	__u32 n = btf__type_cnt(btf);
	for (__u32 id = 1; id < n && ret == -ENOENT; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_enum(t))
			continue;
		const struct btf_enum *m = btf_enum(t);
		__u16 vlen = btf_vlen(t);
		int found = 0;
		unsigned maxv = 0;
		for (__u16 i = 0; i < vlen; i++) {
			if (!strcmp(btf__name_by_offset(btf, m[i].name_off), member))
				found = 1;
			if (m[i].val >= 0 && (unsigned)m[i].val > maxv)
				maxv = (unsigned)m[i].val;
		}
		if (!found)
			continue;
		if (maxv >= BTF_ENUM_MAX_VALUE) {
			ret = -ERANGE;
			break;
		}
		out->n = maxv + 1;
		out->names = calloc(out->n, sizeof(*out->names));
		if (!out->names) {
			ret = -ENOMEM;
			break;
		}
		for (__u16 i = 0; i < vlen; i++) {
			if (m[i].val < 0)
				continue;
			const char *name = btf__name_by_offset(btf, m[i].name_off);
			if (plen && !strncmp(name, strip_prefix, plen))
				name += plen;
			snprintf(out->names[m[i].val], sizeof(out->names[0]), "%s", name);
		}
		ret = 0;
	}
	btf__free(btf);
	return ret;
}

const char *btf_enum_name(const struct btf_enum_names *e, unsigned value)
{
	if (!e->names || value >= e->n)
		return "";
	return e->names[value];
}

void btf_enum_free(struct btf_enum_names *e)
{
	free(e->names);
	memset(e, 0, sizeof(*e));
}
