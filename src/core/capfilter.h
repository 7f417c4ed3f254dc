/* -f on captured packets: libpcap's own filter on each frame, as tcpdump -w applies it. */
#ifndef PKTLENS_CAPFILTER_H
#define PKTLENS_CAPFILTER_H

#include <stdint.h>
#include <stddef.h>

struct capfilter;
/* NULL with one sentence in err when the expression does not compile for Ethernet frames. */
struct capfilter *capfilter__new(const char *expr, unsigned snaplen, char *err, size_t errlen);
/* raw: the frame starts at the IP header (an interface without a link header). */
int capfilter_match(const struct capfilter *f, int raw, const uint8_t *data, uint32_t cap_len,
		    uint32_t len);
void capfilter__free(struct capfilter *f);

#endif
