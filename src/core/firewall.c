/* The firewall's rules in user space: parsing, prefixes, expiry, counter slots, the SSH peer; no kernel. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/firewall.h"

static void clear_host_bits(uint8_t *addr, unsigned bytes, unsigned plen)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned keep = plen > i * 8 ? plen - i * 8 : 0;
		if (keep >= 8)
			continue;
		addr[i] &= (uint8_t)(0xff00 >> keep);
	}
}

int fw_parse_cidr(const char *s, uint8_t *family, uint8_t addr[16], uint8_t *plen, char *err,
		  size_t errlen)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (!alen || alen >= sizeof(buf)) {
		snprintf(err, errlen, "'%s' is not an address or prefix (10.0.0.0/8, fd00::/64)",
			 s);
		return -EINVAL;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(addr, 0, 16);
	unsigned max;
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = PL_AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = PL_AF_INET6;
		max = 128;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", buf);
		return -EINVAL;
	}
	unsigned long len = max;
	if (slash) {
		char *end;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || !isdigit((unsigned char)slash[1]) ||
		    len > max) {
			snprintf(err, errlen, "'%s': the prefix length must be 0 to %u", s, max);
			return -EINVAL;
		}
	}
	*plen = (uint8_t)len;
	clear_host_bits(addr, max / 8, (unsigned)len);
	return 0;
}

static int parse_pps(const char *s, uint32_t *pps, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || !isdigit((unsigned char)*s) || (*end && strcmp(end, "/s")) ||
	    v < 1 || v > PL_FW_PPS_MAX) {
		snprintf(err, errlen, "'%s' is not a number of packets a second (1 to %u)", s,
			 PL_FW_PPS_MAX);
		return -EINVAL;
	}
	*pps = (uint32_t)v;
	return 0;
}

int fw_parse_arg(int action, const char *arg, struct fw_spec *out, char *err, size_t errlen)
{
	char buf[96];
	memset(out, 0, sizeof(*out));
	out->action = (uint8_t)action;
	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "'%.40s...' is too long for a rule", arg);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	if (action == PL_FW_DENY)
		return fw_parse_cidr(buf, &out->family, out->addr, &out->plen, err, errlen);

	/* CIDR:PPS. The rate follows the last ':' after the prefix length, the brackets of an
	 * IPv6 address, or an IPv4 address: "fd00::1:100" alone would be ambiguous. */
	char *cidr = buf, *rate = NULL;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen, "'%s' is not [IPV6]:PPS", arg);
			return -EINVAL;
		}
		*close = '\0';
		cidr = buf + 1;
		rate = close + 2;
	} else {
		char *colon = strrchr(buf, ':');
		char *slash = strchr(buf, '/');
		int v6 = colon && colon != strchr(buf, ':');
		if (!colon || (v6 && (!slash || slash > colon))) {
			snprintf(err, errlen,
				 "'%s' is not CIDR:PPS (10.0.0.0/8:100, fd00::/64:100, "
				 "[fd00::1]:100)",
				 arg);
			return -EINVAL;
		}
		*colon = '\0';
		rate = colon + 1;
	}
	if (parse_pps(rate, &out->pps, err, errlen))
		return -EINVAL;
	return fw_parse_cidr(cidr, &out->family, out->addr, &out->plen, err, errlen);
}

int fw_parse_rule(const char *text, struct fw_spec *out, char *err, size_t errlen)
{
	while (isspace((unsigned char)*text))
		text++;
	int action;
	if (!strncmp(text, "deny", 4) && isspace((unsigned char)text[4]))
		action = PL_FW_DENY;
	else if (!strncmp(text, "limit", 5) && isspace((unsigned char)text[5]))
		action = PL_FW_LIMIT;
	else {
		snprintf(err, errlen, "a rule is 'deny CIDR' or 'limit CIDR:PPS'");
		return -EINVAL;
	}
	text += action == PL_FW_DENY ? 4 : 5;
	while (isspace((unsigned char)*text))
		text++;
	char arg[96];
	size_t n = strcspn(text, " \t");
	if (!n || n >= sizeof(arg) || text[n + strspn(text + n, " \t")]) {
		snprintf(err, errlen, "a rule is 'deny CIDR' or 'limit CIDR:PPS'");
		return -EINVAL;
	}
	memcpy(arg, text, n);
	arg[n] = '\0';
	return fw_parse_arg(action, arg, out, err, errlen);
}

void fw_prefix_str(const struct fw_spec *s, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	inet_ntop(s->family == PL_AF_INET ? AF_INET : AF_INET6, s->addr, a, sizeof(a));
	snprintf(out, len, "%s/%u", a, s->plen);
}

void fw_rule_str(const struct fw_spec *s, char *out, size_t len)
{
	char p[64];
	fw_prefix_str(s, p, sizeof(p));
	if (s->action == PL_FW_LIMIT)
		snprintf(out, len, "limit %s %u/s", p, s->pps);
	else
		snprintf(out, len, "deny %s", p);
}

int fw_covers(const struct fw_spec *s, uint8_t family, const uint8_t addr[16])
{
	if (family != s->family)
		return 0;
	uint8_t a[16];
	memcpy(a, addr, 16);
	clear_host_bits(a, family == PL_AF_INET ? 4 : 16, s->plen);
	return !memcmp(a, s->addr, family == PL_AF_INET ? 4 : 16);
}

int fw_ssh_parse(const char *value, uint8_t *family, uint8_t addr[16])
{
	char a[INET6_ADDRSTRLEN + 1];
	size_t n = strcspn(value, " ");
	if (!n || n >= sizeof(a))
		return -EINVAL;
	memcpy(a, value, n);
	a[n] = '\0';
	/* a zone (fe80::1%eth0) is not part of the address */
	char *pct = strchr(a, '%');
	if (pct)
		*pct = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, a, addr) == 1) {
		*family = PL_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, a, addr) != 1)
		return -EINVAL;
	/* an IPv4 client of a dual-stack sshd shows as ::ffff:a.b.c.d */
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (!memcmp(addr, mapped, 12)) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = PL_AF_INET;
		return 0;
	}
	*family = PL_AF_INET6;
	return 0;
}

/* SSH_CONNECTION=... in /proc/PID/environ; 0 found. */
static int environ_ssh(int pid, uint8_t *family, uint8_t addr[16])
{
	char path[64], buf[65536];
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
		if (!strncmp(buf + i, "SSH_CONNECTION=", 15))
			return fw_ssh_parse(buf + i + 15, family, addr);
	return -ENOENT;
}

static int parent_of(int pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int ppid = -1;
	if (fgets(line, sizeof(line), f)) {
		/* the command name may hold spaces and parentheses: the fields follow the last ')' */
		char *p = strrchr(line, ')');
		if (p && sscanf(p + 1, " %*c %d", &ppid) != 1)
			ppid = -1;
	}
	fclose(f);
	return ppid;
}

int fw_ssh_peer(uint8_t *family, uint8_t addr[16])
{
	const char *v = getenv("SSH_CONNECTION");
	if (v)
		return fw_ssh_parse(v, family, addr) ? -ENOENT : 0;
	int pid = getppid();
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		if (!environ_ssh(pid, family, addr))
			return 0;
		pid = parent_of(pid);
	}
	return -ENOENT;
}

void fw_table_init(struct fw_table *t)
{
	memset(t, 0, sizeof(*t));
	t->next_id = 1;
	t->next_gen = 1;
}

static int same_prefix(const struct fw_spec *a, const struct fw_spec *b)
{
	return a->family == b->family && a->plen == b->plen && !memcmp(a->addr, b->addr, 16);
}

int fw_table_add(struct fw_table *t, const struct fw_spec *s, double now, double ttl, int from_cli,
		 int *replaced)
{
	*replaced = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct fw_entry *r = &t->rules[i];
		if (!same_prefix(&r->spec, s))
			continue;
		r->spec = *s;
		r->gen = t->next_gen++;
		r->added = now;
		r->expires = ttl > 0 ? now + ttl : 0;
		r->from_cli = from_cli;
		*replaced = 1;
		return (int)i;
	}
	if (t->n == PL_FW_RULES_MAX)
		return -ENOSPC;
	uint32_t slot = 0;
	while (slot < PL_FW_RULES_MAX && t->slot_used[slot])
		slot++;
	if (slot == PL_FW_RULES_MAX)
		return -ENOSPC;
	t->slot_used[slot] = 1;
	struct fw_entry *r = &t->rules[t->n];
	memset(r, 0, sizeof(*r));
	r->id = t->next_id++;
	r->spec = *s;
	r->slot = slot;
	r->gen = t->next_gen++;
	r->added = now;
	r->expires = ttl > 0 ? now + ttl : 0;
	r->from_cli = from_cli;
	return (int)t->n++;
}

void fw_table_remove(struct fw_table *t, size_t i)
{
	if (i >= t->n)
		return;
	struct fw_entry *r = &t->rules[i];
	t->removed.passed_packets += r->c.passed_packets;
	t->removed.passed_bytes += r->c.passed_bytes;
	t->removed.dropped_packets += r->c.dropped_packets;
	t->removed.dropped_bytes += r->c.dropped_bytes;
	t->slot_used[r->slot] = 0;
	memmove(r, r + 1, (t->n - i - 1) * sizeof(*r));
	t->n--;
}

int fw_table_find(const struct fw_table *t, uint32_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->rules[i].id == id)
			return (int)i;
	return -1;
}

int fw_table_expired(const struct fw_table *t, double now)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->rules[i].expires > 0 && now >= t->rules[i].expires)
			return (int)i;
	return -1;
}

void fw_table_counters(struct fw_table *t, const struct fw_stats *slots)
{
	for (size_t i = 0; i < t->n; i++)
		t->rules[i].c = slots[t->rules[i].slot];
}

void fw_table_totals(const struct fw_table *t, struct fw_stats *sum)
{
	*sum = t->removed;
	for (size_t i = 0; i < t->n; i++) {
		sum->passed_packets += t->rules[i].c.passed_packets;
		sum->passed_bytes += t->rules[i].c.passed_bytes;
		sum->dropped_packets += t->rules[i].c.dropped_packets;
		sum->dropped_bytes += t->rules[i].c.dropped_bytes;
	}
}

void fw_table_kernel(const struct fw_table *t, size_t i, uint64_t start_ns, struct fw_key *k,
		     struct fw_rule *v)
{
	const struct fw_entry *r = &t->rules[i];
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->prefixlen = 8u + r->spec.plen;
	k->family = r->spec.family;
	memcpy(k->addr, r->spec.addr, 16);
	v->slot = r->slot;
	v->gen = r->gen;
	v->action = r->spec.action;
	if (r->spec.action == PL_FW_LIMIT && r->spec.pps) {
		/* rounded up, so that the rate never exceeds pps; a bucket of one second */
		uint64_t interval = (1000000000ull + r->spec.pps - 1) / r->spec.pps;
		v->interval_ns = interval;
		v->tolerance_ns = interval * (r->spec.pps - 1);
	}
	if (r->expires > 0)
		v->expires_ns = start_ns + (uint64_t)(r->expires * 1e9);
}
