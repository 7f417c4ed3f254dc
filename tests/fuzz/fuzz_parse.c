/* libFuzzer target: the packet parser (bpf/lib/parse.h) on any byte sequence, with its offsets checked against the wire. */
#include <string.h>
#include <linux/types.h>

#include "fuzz.h"
#include "lib/parse.h"

/*
 * libFuzzer hands over a heap copy of exactly size bytes, so a read past
 * data_end is a heap overflow that ASan reports. The checks below read the
 * fields back from the frame itself (RFC layouts), independently of the
 * parser's own structs.
 */
static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return be16(p) << 16 | be16(p + 2);
}

static const uint8_t zero[16];

static void check_transport(const uint8_t *b, size_t len, const struct pl_pkt *p, int ret)
{
	if (!p->has_ports) {
		/* an IP packet parsed without error with TCP/UDP in it must have its ports read */
		if (ret == PL_M_NONE && p->family && p->frag != 2)
			FUZZ_CHECK(p->proto != PL_IPPROTO_TCP && p->proto != PL_IPPROTO_UDP,
				   "proto %u ok without ports", p->proto);
		FUZZ_CHECK(p->payload_off == 0, "payload_off %u without ports", p->payload_off);
		return;
	}
	FUZZ_CHECK(p->family, "ports without IP");
	FUZZ_CHECK(p->frag != 2, "ports in a later fragment");
	FUZZ_CHECK(p->l4_off >= p->l3_off + 20, "l4_off %u l3_off %u", p->l4_off, p->l3_off);
	FUZZ_CHECK(p->l4_off + 8u <= len, "l4_off %u len %zu", p->l4_off, len);
	FUZZ_CHECK(p->payload_off >= p->l4_off + 8u && p->payload_off <= len,
		   "payload_off %u l4_off %u len %zu", p->payload_off, p->l4_off, len);
	const uint8_t *l4 = b + p->l4_off;
	FUZZ_CHECK(p->sport == be16(l4) && p->dport == be16(l4 + 2), "ports %u %u", p->sport,
		   p->dport);
	if (p->proto == PL_IPPROTO_TCP) {
		FUZZ_CHECK(p->l4_off + 20u <= len, "tcp header past the frame");
		FUZZ_CHECK(p->payload_off == p->l4_off + (l4[12] >> 4) * 4u, "tcp doff");
		FUZZ_CHECK(p->seq == be32(l4 + 4) && p->ack == be32(l4 + 8), "seq/ack");
		FUZZ_CHECK(p->tcp_flags == l4[13] && p->window == be16(l4 + 14), "flags/window");
	} else {
		FUZZ_CHECK(p->proto == PL_IPPROTO_UDP, "ports for proto %u", p->proto);
		FUZZ_CHECK(p->payload_off == p->l4_off + 8u, "udp payload_off");
	}
	/* the transport header lies inside the IP packet, not in Ethernet padding after it */
	if (p->family == PL_AF_INET && be16(b + p->l3_off + 2))
		FUZZ_CHECK(p->payload_off <= p->l3_off + be16(b + p->l3_off + 2),
			   "payload_off %u beyond IPv4 total length", p->payload_off);
	if (p->family == PL_AF_INET6 && be16(b + p->l3_off + 4))
		FUZZ_CHECK(p->payload_off <= p->l3_off + 40u + be16(b + p->l3_off + 4),
			   "payload_off %u beyond IPv6 payload length", p->payload_off);
}

static void check(const uint8_t *b, size_t len, const struct pl_pkt *p, int ret)
{
	FUZZ_CHECK(ret >= 0 && ret < PL_M_MAX, "ret %d", ret);
	if (len < 14) {
		FUZZ_CHECK(ret == PL_M_ETH_TRUNC, "short frame ret %d", ret);
		return;
	}
	if (ret == PL_M_ETH_TRUNC || ret == PL_M_VLAN_TRUNC) {
		FUZZ_CHECK(!p->family, "family after a truncated link header");
		return;
	}
	FUZZ_CHECK(p->vlan_depth <= 2, "vlan_depth %u", p->vlan_depth);
	FUZZ_CHECK(p->l3_off == 14 + 4 * p->vlan_depth, "l3_off %u depth %u", p->l3_off,
		   p->vlan_depth);
	FUZZ_CHECK(p->l3_off <= len, "l3_off %u len %zu", p->l3_off, len);
	FUZZ_CHECK(p->eth_proto == be16(b + p->l3_off - 2), "eth_proto %#x", p->eth_proto);
	for (int i = 0; i < p->vlan_depth; i++)
		FUZZ_CHECK(p->vlan[i] == be16(b + 14 + 4 * i), "vlan[%d]", i);
	FUZZ_CHECK(p->frag <= 2, "frag %u", p->frag);
	FUZZ_CHECK(p->l4_off <= len && p->payload_off <= len, "offsets %u %u len %zu", p->l4_off,
		   p->payload_off, len);
	const uint8_t *ip = b + p->l3_off;
	switch (p->family) {
	case 0:
		FUZZ_CHECK(!p->has_ports && !p->proto, "transport without IP");
		if (ret == PL_M_NONE)
			FUZZ_CHECK(p->eth_proto != PL_ETH_P_IP && p->eth_proto != PL_ETH_P_IPV6,
				   "IP EtherType %#x parsed as not IP", p->eth_proto);
		break;
	case PL_AF_INET:
		FUZZ_CHECK(p->eth_proto == PL_ETH_P_IP, "IPv4 under %#x", p->eth_proto);
		FUZZ_CHECK(p->l3_off + 20u <= len && ip[0] >> 4 == 4 && (ip[0] & 15) >= 5,
			   "IPv4 header");
		FUZZ_CHECK(!memcmp(p->saddr, ip + 12, 4) && !memcmp(p->saddr + 4, zero, 12) &&
			       !memcmp(p->daddr, ip + 16, 4) && !memcmp(p->daddr + 4, zero, 12),
			   "IPv4 addresses");
		FUZZ_CHECK(p->proto == ip[9], "IPv4 protocol %u", p->proto);
		FUZZ_CHECK(p->ip_len == be16(ip + 2), "ip_len %u", p->ip_len);
		if (p->l4_off)
			FUZZ_CHECK(p->l4_off == p->l3_off + (ip[0] & 15) * 4u,
				   "l4_off %u after IHL", p->l4_off);
		break;
	case PL_AF_INET6:
		FUZZ_CHECK(p->eth_proto == PL_ETH_P_IPV6, "IPv6 under %#x", p->eth_proto);
		FUZZ_CHECK(p->l3_off + 40u <= len && ip[0] >> 4 == 6, "IPv6 header");
		FUZZ_CHECK(!memcmp(p->saddr, ip + 8, 16) && !memcmp(p->daddr, ip + 24, 16),
			   "IPv6 addresses");
		FUZZ_CHECK(p->ip_len == be16(ip + 4) + 40u, "ip_len %u", p->ip_len);
		if (p->l4_off)
			FUZZ_CHECK(p->l4_off >= p->l3_off + 40u, "l4_off %u inside the IPv6 header",
				   p->l4_off);
		break;
	default:
		FUZZ_CHECK(0, "family %u", p->family);
	}
	check_transport(b, len, p, ret);
	if ((p->proto == PL_IPPROTO_ICMP || p->proto == PL_IPPROTO_ICMPV6) && p->family &&
	    p->sport) {
		FUZZ_CHECK(p->l4_off + 8u <= len && p->sport == p->dport &&
			       p->sport == be16(b + p->l4_off + 4),
			   "ICMP echo id");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl_pkt p, again;

	memset(&p, 0, sizeof(p));
	int ret = pl_parse(data, data + size, &p);
	check(data, size, &p, ret);
	memset(&again, 0, sizeof(again));
	FUZZ_CHECK(pl_parse(data, data + size, &again) == ret && !memcmp(&p, &again, sizeof(p)),
		   "a second parse differs");
	return 0;
}
