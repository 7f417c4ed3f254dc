/* Printable flows: "udp 10.0.0.1:53 <- 10.0.0.2:4000 veth0". */
#ifndef PKTLENS_FLOWFMT_H
#define PKTLENS_FLOWFMT_H

#include <stddef.h>

#include "shared/flow.h"

void flow_addr_str(const __u8 *addr, __u8 family, char *out, size_t len);
/* Interface name in the current netns, "if7" when it is gone. */
void flow_iface_str(__u32 ifindex, char out[16]);
void flow_key_format(const struct flow_key *k, char *out, size_t len);
int flow_key_cmp(const void *a, const void *b);

#endif
