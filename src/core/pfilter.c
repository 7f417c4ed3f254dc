/* tcpdump-syntax flow filters: compile once with libpcap, refuse what a flow cannot answer, run the
 * classic BPF on a synthetic header of each direction. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pfilter.h"
#include "lib/parse.h"

struct pfilter {
	struct bpf_program prog;
};

static int check_reads(const struct bpf_program *prog, char *why, size_t len);

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
	char why[96];
	if (check_reads(&f->prog, why, sizeof(why))) {
		snprintf(err, errlen,
			 "filter '%s' reads %s, which a flow does not keep (flow filters can use "
			 "hosts, nets, ports and protocols)",
			 expr, why);
		pfilter__free(f);
		return NULL;
	}
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

/*
 * Which bytes a filter may read. A flow keeps the protocol, the addresses and the ports, not the
 * packets: a filter that reads anything else (TCP flags, TTL, payload, length, MAC addresses)
 * would be judged on the zeros of the synthetic packet, so it is refused with the reason.
 */
enum byte_kind {
	B_NONE = 0,  /* not part of a flow */
	B_SHAPE = 1, /* fixed for every flow of this shape (ethertype, protocol, header length) */
	B_KEY = 2,   /* an address or a port: any value */
};

struct shape {
	unsigned char pkt[128];
	unsigned char kind[128];
	size_t len;
	int v6;
	__u8 proto;
};

static void mark(struct shape *s, size_t from, size_t n, enum byte_kind k)
{
	memset(s->kind + from, k, n);
}

static void shape_init(struct shape *s, int v6, __u8 proto)
{
	struct flow_key k = { .family = v6 ? PL_AF_INET6 : PL_AF_INET, .proto = proto };
	size_t l4;

	memset(s, 0, sizeof(*s));
	s->v6 = v6;
	s->proto = proto;
	s->len = synth(&k, 1, s->pkt);
	mark(s, 12, 2, B_SHAPE); /* ethertype */
	if (!v6) {
		mark(s, 14, 1, B_SHAPE); /* version, header length */
		mark(s, 20, 2, B_SHAPE); /* flags and fragment offset: a flow is not a fragment */
		mark(s, 23, 1, B_SHAPE); /* protocol */
		mark(s, 26, 8, B_KEY);	 /* addresses */
		l4 = 34;
	} else {
		mark(s, 14, 1, B_SHAPE); /* version */
		mark(s, 20, 1, B_SHAPE); /* next header */
		mark(s, 22, 32, B_KEY);	 /* addresses */
		l4 = 54;
	}
	if (proto == PL_IPPROTO_TCP || proto == PL_IPPROTO_UDP)
		mark(s, l4, 4, B_KEY); /* ports */
}

/* One sentence naming the byte at off of shape s, for the refusal. */
static void byte_name(const struct shape *s, size_t off, char *out, size_t len)
{
	size_t l3 = 14, l4 = s->v6 ? 54 : 34;
	const char *l4name = s->proto == PL_IPPROTO_TCP	       ? "TCP"
			     : s->proto == PL_IPPROTO_UDP      ? "UDP"
			     : s->proto == 1 || s->proto == 58 ? "ICMP"
							       : "transport";

	if (off < 12)
		snprintf(out, len, "the Ethernet addresses");
	else if (off >= s->len)
		snprintf(out, len, "the payload");
	else if (off >= l4)
		snprintf(out, len, "byte %zu of the %s header", off - l4, l4name);
	else if (off >= l3)
		snprintf(out, len, "byte %zu of the %s header", off - l3, s->v6 ? "IPv6" : "IPv4");
	else
		snprintf(out, len, "byte %zu of the frame", off);
}

struct reg {
	int known;
	__u32 v;
};

struct state {
	unsigned pc;
	struct reg a, x, m[BPF_MEMWORDS];
};

#define CHECK_MAX_STATES 20000

/* A load of sz bytes at off: refused (-1, why), or a value (known when only shape bytes). */
static int load(const struct shape *s, __u32 off, unsigned sz, struct reg *r, char *why, size_t len)
{
	int key = 0;

	for (unsigned i = 0; i < sz; i++) {
		if ((size_t)off + i >= s->len || s->kind[off + i] == B_NONE) {
			byte_name(s, (size_t)off + i, why, len);
			return -1;
		}
		key |= s->kind[off + i] == B_KEY;
	}
	r->known = !key;
	r->v = 0;
	for (unsigned i = 0; i < sz; i++)
		r->v = r->v << 8 | s->pkt[off + i];
	return 0;
}

/* Follows every path the filter can take on a flow of shape s (both ways at every test of an
 * address or a port) and checks every byte it reads. Returns 0, or -1 with what it reads. */
static int check_shape(const struct bpf_program *prog, const struct shape *s, char *why, size_t len)
{
	struct state *stack = calloc(CHECK_MAX_STATES, sizeof(*stack));
	size_t n = 1, steps = 0;
	int ret = 0;

	if (!stack) {
		snprintf(why, len, "no memory to check the filter");
		return -1;
	}
	stack[0].a = stack[0].x = (struct reg){ 1, 0 };
	while (n && !ret) {
		struct state st = stack[--n];

		for (;;) {
			const struct bpf_insn *in;
			struct reg v = { 1, 0 };
			int taken;

			if (st.pc >= prog->bf_len || ++steps > 50 * CHECK_MAX_STATES) {
				snprintf(why, len, "it is too involved to check what it reads");
				ret = -1;
				break;
			}
			in = &prog->bf_insns[st.pc++];
			switch (BPF_CLASS(in->code)) {
			case BPF_LD:
			case BPF_LDX:
				if (BPF_MODE(in->code) == BPF_LEN) {
					snprintf(why, len, "the packet length");
					ret = -1;
				} else if (BPF_MODE(in->code) == BPF_IMM) {
					v.v = in->k;
				} else if (BPF_MODE(in->code) == BPF_MEM) {
					v = st.m[in->k % BPF_MEMWORDS];
				} else if (BPF_MODE(in->code) == BPF_MSH) {
					ret = load(s, in->k, 1, &v, why, len);
					v.v = (v.v & 0xf) * 4;
				} else {
					unsigned sz = BPF_SIZE(in->code) == BPF_W   ? 4
						      : BPF_SIZE(in->code) == BPF_H ? 2
										    : 1;
					__u32 off = in->k;

					if (BPF_MODE(in->code) == BPF_IND) {
						if (!st.x.known) {
							snprintf(why, len,
								 "bytes at an offset it computes");
							ret = -1;
							break;
						}
						off += st.x.v;
					}
					ret = load(s, off, sz, &v, why, len);
				}
				if (BPF_CLASS(in->code) == BPF_LD)
					st.a = v;
				else
					st.x = v;
				break;
			case BPF_ST:
				st.m[in->k % BPF_MEMWORDS] = st.a;
				break;
			case BPF_STX:
				st.m[in->k % BPF_MEMWORDS] = st.x;
				break;
			case BPF_ALU: {
				struct reg o =
				    BPF_SRC(in->code) == BPF_X ? st.x : (struct reg){ 1, in->k };

				if (BPF_OP(in->code) == BPF_NEG) {
					st.a.v = -st.a.v;
				} else if (!st.a.known || !o.known) {
					st.a.known = 0;
				} else {
					switch (BPF_OP(in->code)) {
					case BPF_ADD:
						st.a.v += o.v;
						break;
					case BPF_SUB:
						st.a.v -= o.v;
						break;
					case BPF_MUL:
						st.a.v *= o.v;
						break;
					case BPF_DIV:
						st.a.v = o.v ? st.a.v / o.v : 0;
						break;
					case BPF_MOD:
						st.a.v = o.v ? st.a.v % o.v : 0;
						break;
					case BPF_OR:
						st.a.v |= o.v;
						break;
					case BPF_AND:
						st.a.v &= o.v;
						break;
					case BPF_XOR:
						st.a.v ^= o.v;
						break;
					case BPF_LSH:
						st.a.v = o.v < 32 ? st.a.v << o.v : 0;
						break;
					case BPF_RSH:
						st.a.v = o.v < 32 ? st.a.v >> o.v : 0;
						break;
					default:
						st.a.known = 0;
						break;
					}
				}
				break;
			}
			case BPF_JMP: {
				struct reg o =
				    BPF_SRC(in->code) == BPF_X ? st.x : (struct reg){ 1, in->k };

				if (BPF_OP(in->code) == BPF_JA) {
					st.pc += in->k;
					break;
				}
				if (!st.a.known || !o.known) {
					/* an address or a port: both ways are flows */
					if (n == CHECK_MAX_STATES) {
						snprintf(
						    why, len,
						    "it is too involved to check what it reads");
						ret = -1;
						break;
					}
					stack[n] = st;
					stack[n++].pc += in->jf;
					st.pc += in->jt;
					break;
				}
				switch (BPF_OP(in->code)) {
				case BPF_JEQ:
					taken = st.a.v == o.v;
					break;
				case BPF_JGT:
					taken = st.a.v > o.v;
					break;
				case BPF_JGE:
					taken = st.a.v >= o.v;
					break;
				default:
					taken = !!(st.a.v & o.v);
					break; /* BPF_JSET */
				}
				st.pc += taken ? in->jt : in->jf;
				break;
			}
			case BPF_RET:
				goto path_done;
			case BPF_MISC:
				if (BPF_MISCOP(in->code) == BPF_TAX)
					st.x = st.a;
				else
					st.a = st.x;
				break;
			default:
				snprintf(why, len, "an instruction pktlens does not know (0x%x)",
					 in->code);
				ret = -1;
			}
			if (ret)
				break;
		}
	path_done:;
	}
	free(stack);
	return ret;
}

/* Every shape of flow: IPv4 and IPv6, each with TCP, UDP, ICMP and another protocol. */
static int check_reads(const struct bpf_program *prog, char *why, size_t len)
{
	static const __u8 protos[2][4] = { { PL_IPPROTO_TCP, PL_IPPROTO_UDP, 1, 47 },
					   { PL_IPPROTO_TCP, PL_IPPROTO_UDP, 58, 47 } };
	struct shape s;

	for (int v6 = 0; v6 < 2; v6++)
		for (int i = 0; i < 4; i++) {
			shape_init(&s, v6, protos[v6][i]);
			if (check_shape(prog, &s, why, len))
				return -1;
		}
	return 0;
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
