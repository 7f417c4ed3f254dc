/* tcpdump-syntax flow filters: compile once with libpcap, run the classic BPF on a synthetic header. */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "core/pfilter.h"
#include "lib/parse.h"

struct pfilter {
	struct bpf_program prog;
};

struct pfilter *pfilter__new(const char *expr, char *err, size_t errlen)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 256);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	struct pfilter *f = calloc(1, sizeof(*f));
	if (!f || pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		snprintf(err, errlen, "bad filter '%s': %s", expr,
			 f ? pcap_geterr(p) : "no memory");
		free(f);
		pcap_close(p);
		return NULL;
	}
	pcap_close(p);
	return f;
}

void pfilter__free(struct pfilter *f)
{
	if (!f)
		return;
	pcap_freecode(&f->prog);
	free(f);
}

/* Builds Ethernet + IP + transport headers of one direction of the flow; returns the length. */
static size_t synth(const struct flow_key *k, int rx, unsigned char *buf)
{
	memset(buf, 0, 128);
	const __u8 *src = rx ? k->remote : k->local, *dst = rx ? k->local : k->remote;
	__u16 sport = rx ? k->remote_port : k->local_port,
	      dport = rx ? k->local_port : k->remote_port;
	struct pl_ethhdr *eth = (void *)buf;
	size_t off = sizeof(*eth);
	if (k->family == PL_AF_INET) {
		eth->proto = __builtin_bswap16(PL_ETH_P_IP);
		struct pl_iphdr *ip = (void *)(buf + off);
		ip->ver_ihl = 0x45;
		ip->ttl = 64;
		ip->protocol = k->proto;
		ip->tot_len = __builtin_bswap16(60);
		memcpy(ip->saddr, src, 4);
		memcpy(ip->daddr, dst, 4);
		off += sizeof(*ip);
	} else {
		eth->proto = __builtin_bswap16(PL_ETH_P_IPV6);
		struct pl_ipv6hdr *ip = (void *)(buf + off);
		ip->ver_tc_flow = __builtin_bswap32(6u << 28);
		ip->nexthdr = k->proto;
		ip->hop_limit = 64;
		ip->payload_len = __builtin_bswap16(40);
		memcpy(ip->saddr, src, 16);
		memcpy(ip->daddr, dst, 16);
		off += sizeof(*ip);
	}
	if (k->proto == PL_IPPROTO_TCP) {
		struct pl_tcphdr *th = (void *)(buf + off);
		th->source = __builtin_bswap16(sport);
		th->dest = __builtin_bswap16(dport);
		th->doff_res = 5 << 4;
		th->flags = PL_TCP_ACK;
		off += sizeof(*th);
	} else if (k->proto == PL_IPPROTO_UDP) {
		struct pl_udphdr *uh = (void *)(buf + off);
		uh->source = __builtin_bswap16(sport);
		uh->dest = __builtin_bswap16(dport);
		uh->len = __builtin_bswap16(8);
		off += sizeof(*uh);
	} else {
		off += 8;
	}
	return off;
}

bool pfilter_match(const struct pfilter *f, const struct flow_key *key)
{
	unsigned char buf[128];
	for (int rx = 0; rx < 2; rx++) {
		size_t len = synth(key, rx, buf);
		if (bpf_filter(f->prog.bf_insns, buf, (u_int)len, (u_int)len))
			return true;
	}
	return false;
}
