/* -f on captured packets: compiled by libpcap for Ethernet and for raw IP, run on each frame. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/capfilter.h"

struct capfilter {
	pcap_t *eth, *raw;
	struct bpf_program f_eth, f_raw;
	int have_raw;
};

struct capfilter *capfilter__new(const char *expr, unsigned snaplen, char *err, size_t errlen)
{
	struct capfilter *f = calloc(1, sizeof(*f));
	if (!f || !(f->eth = pcap_open_dead(DLT_EN10MB, (int)snaplen)) ||
	    !(f->raw = pcap_open_dead(DLT_RAW, (int)snaplen))) {
		snprintf(err, errlen, "out of memory");
		capfilter__free(f);
		return NULL;
	}
	if (pcap_compile(f->eth, &f->f_eth, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		snprintf(err, errlen, "filter '%s' is not valid: %s", expr, pcap_geterr(f->eth));
		pcap_close(f->eth);
		f->eth = NULL;
		capfilter__free(f);
		return NULL;
	}
	/* "ether host" means nothing without a link header: such interfaces then match nothing */
	f->have_raw = !pcap_compile(f->raw, &f->f_raw, expr, 1, PCAP_NETMASK_UNKNOWN);
	return f;
}

int capfilter_match(const struct capfilter *f, int raw, const uint8_t *data, uint32_t cap_len,
		    uint32_t len)
{
	struct pcap_pkthdr h = { .caplen = cap_len, .len = len };
	if (raw)
		return f->have_raw && pcap_offline_filter(&f->f_raw, &h, data) != 0;
	return pcap_offline_filter(&f->f_eth, &h, data) != 0;
}

void capfilter__free(struct capfilter *f)
{
	if (!f)
		return;
	if (f->eth) {
		pcap_freecode(&f->f_eth);
		pcap_close(f->eth);
	}
	if (f->raw) {
		if (f->have_raw)
			pcap_freecode(&f->f_raw);
		pcap_close(f->raw);
	}
	free(f);
}
