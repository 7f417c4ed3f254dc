/* Formatting of flow keys for lists and JSON. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "core/flowfmt.h"
#include "core/snapshot.h"

void flow_addr_str(const __u8 *addr, __u8 family, char *out, size_t len)
{
	if (!inet_ntop(family == PL_AF_INET6 ? AF_INET6 : AF_INET, addr, out, (socklen_t)len))
		snprintf(out, len, "?");
}

void flow_iface_str(__u32 ifindex, char out[16])
{
	char buf[IF_NAMESIZE];
	if (ifindex && if_indextoname(ifindex, buf))
		snprintf(out, 16, "%s", buf);
	else
		snprintf(out, 16, "if%u", ifindex);
}

void flow_key_format(const struct flow_key *k, char *out, size_t len)
{
	char l[46], r[46], ifn[16];
	flow_addr_str(k->local, k->family, l, sizeof(l));
	flow_addr_str(k->remote, k->family, r, sizeof(r));
	flow_iface_str(k->ifindex, ifn);
	const char *lb = k->family == PL_AF_INET6 ? "[" : "",
		   *rb = k->family == PL_AF_INET6 ? "]" : "";
	snprintf(out, len, "%s %s%s%s:%u <> %s%s%s:%u %s", proto_name(k->proto), lb, l, rb,
		 k->local_port, lb, r, rb, k->remote_port, ifn);
}

int flow_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct flow_key));
}
