/* Symbolises kernel addresses from /proc/kallsyms (text symbols only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ksyms.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t n;
	char *names; /* one block for every name */
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms__load(const char *path)
{
	FILE *f = fopen(path ? path : "/proc/kallsyms", "r");
	if (!f)
		return NULL;
	struct ksyms *k = calloc(1, sizeof(*k));
	size_t cap = 0, ncap = 0, nlen = 0;
	char line[512];
	while (k && fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256];
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if ((type != 't' && type != 'T') || !addr)
			continue;
		size_t l = strlen(name) + 1;
		if (nlen + l > ncap) {
			ncap = ncap ? ncap * 2 : 1 << 20;
			char *nn = realloc(k->names, ncap);
			if (!nn)
				break;
			k->names = nn;
		}
		if (k->n == cap) {
			cap = cap ? cap * 2 : 65536;
			struct ksym *ns = realloc(k->syms, cap * sizeof(*ns));
			if (!ns)
				break;
			k->syms = ns;
		}
		memcpy(k->names + nlen, name, l);
		/* store offsets now, pointers after the block stops moving */
		k->syms[k->n].addr = addr;
		k->syms[k->n].name = (char *)(uintptr_t)nlen;
		k->n++;
		nlen += l;
	}
	fclose(f);
	if (!k)
		return NULL;
	for (size_t i = 0; i < k->n; i++)
		k->syms[i].name = k->names + (uintptr_t)k->syms[i].name;
	qsort(k->syms, k->n, sizeof(*k->syms), cmp_ksym);
	return k;
}

void ksyms__free(struct ksyms *k)
{
	if (!k)
		return;
	free(k->syms);
	free(k->names);
	free(k);
}

void ksyms_format(const struct ksyms *k, uint64_t addr, char *out, size_t len)
{
	if (k && k->n && addr >= k->syms[0].addr) {
		size_t lo = 0, hi = k->n;
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;
			if (k->syms[mid].addr <= addr)
				lo = mid;
			else
				hi = mid;
		}
		snprintf(out, len, "%s+0x%llx", k->syms[lo].name,
			 (unsigned long long)(addr - k->syms[lo].addr));
		return;
	}
	snprintf(out, len, "0x%llx", (unsigned long long)addr);
}
