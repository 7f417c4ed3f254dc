/* Per-packet detection for the alerts, called from the flow accounting: only SYNs, resets, ICMP and first packets pay. */
#ifndef PKTLENS_DETECT_BPF_H
#define PKTLENS_DETECT_BPF_H

#include "lib/parse.h"
#include "lib/maps.bpf.h"
#include "shared/security.h"

/* Written by user space through .bss: 1 turns detection off (--alert off, benchmarks). */
volatile __u32 sec_off = 0;

/*
 * Events go without a wakeup: user space drains the ring at every refresh,
 * and a wakeup per SYN under a flood would cost more than the event.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} sec_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, PL_SEC_PORTS_MAX);
	__type(key, struct sec_port_key);
	__type(value, struct sec_port_val);
} sec_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sec_counters);
} sec_stats SEC(".maps");

/* The counters of one local port; create makes the entry when it is missing. */
static __always_inline struct sec_port_val *
pl_sec_port(const struct flow_key *key, __u16 port, __u8 proto, int create, struct sec_counters *c)
{
	struct sec_port_key k;
	__builtin_memset(&k, 0, sizeof(k));
	__builtin_memcpy(k.local, key->local, 16);
	k.port = port;
	k.family = key->family;
	k.proto = proto;
	struct sec_port_val *v = bpf_map_lookup_elem(&sec_ports, &k);
	if (v || !create)
		return v;
	struct sec_port_val zero;
	__builtin_memset(&zero, 0, sizeof(zero));
	long err = bpf_map_update_elem(&sec_ports, &k, &zero, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU made it */) {
		c->ports_full++;
		return NULL;
	}
	return bpf_map_lookup_elem(&sec_ports, &k);
}

static __always_inline void pl_sec_emit(int kind, const struct flow_key *key, __u16 local_port,
					__u16 remote_port, __u8 proto, __u8 flags,
					struct sec_counters *c)
{
	struct sec_event *e = bpf_ringbuf_reserve(&sec_events, sizeof(*e), 0);
	if (!e) {
		c->events_lost++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns(); /* the clock only for an event: see pl_account */
	__builtin_memcpy(e->local, key->local, 16);
	__builtin_memcpy(e->remote, key->remote, 16);
	e->ifindex = key->ifindex;
	e->local_port = local_port;
	e->remote_port = remote_port;
	e->family = key->family;
	e->proto = proto;
	e->kind = (__u8)kind;
	e->tcp_flags = flags;
	e->pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	c->events++;
}

/* Bytes at off of the packet, linear or not: the helpers check the bounds themselves. */
static __always_inline long pl_sec_load(void *ctx, int hook, __u32 off, void *dst, __u32 n)
{
	if (hook == PL_HOOK_XDP)
		return bpf_xdp_load_bytes(ctx, off, dst, n);
	return bpf_skb_load_bytes(ctx, off, dst, n);
}

/*
 * An ICMP "unreachable" this host sends quotes the datagram it refuses:
 * that datagram's protocol and ports (the quoted destination port is the
 * local one). Returns 0 when the quote is too short to hold them.
 */
static __always_inline int pl_sec_quoted(void *ctx, int hook, const struct pl_pkt *p, __u8 *proto,
					 __u16 *lport, __u16 *rport)
{
	__u32 off = (__u32)p->l4_off + 8; /* past the ICMP header */
	__u8 b[2];
	__u16 ports[2];
	if (p->family == PL_AF_INET) {
		if (pl_sec_load(ctx, hook, off, b, 1))
			return 0;
		if ((b[0] >> 4) != 4 || (b[0] & 0x0f) < 5)
			return 0;
		if (pl_sec_load(ctx, hook, off + 9, proto, 1))
			return 0;
		off += (__u32)(b[0] & 0x0f) * 4;
	} else {
		if (pl_sec_load(ctx, hook, off + 6, proto, 1))
			return 0;
		off += 40; /* extension headers in a quote are not followed: ports 0 then */
	}
	if (*proto != PL_IPPROTO_TCP && *proto != PL_IPPROTO_UDP) {
		*lport = *rport = 0;
		return 1;
	}
	if (pl_sec_load(ctx, hook, off, ports, 4))
		return 0;
	*rport = pl_ntohs(ports[0]);
	*lport = pl_ntohs(ports[1]);
	return 1;
}

static __always_inline void pl_sec_tcp(const struct flow_key *key, const struct pl_pkt *p, int dir,
				       struct sec_counters *c)
{
	__u8 fl = p->tcp_flags;
	struct sec_port_val *pv;

	if (dir == PL_DIR_RX) {
		if (fl & PL_TCP_RST) {
			c->rst_in++;
			pl_sec_emit(PL_SEC_RST_IN, key, p->dport, p->sport, PL_IPPROTO_TCP, fl, c);
		} else if ((fl & (PL_TCP_SYN | PL_TCP_ACK)) == PL_TCP_SYN) {
			c->syn_in++;
			pv = pl_sec_port(key, p->dport, PL_IPPROTO_TCP, 1, c);
			if (pv)
				pv->syn++;
			pl_sec_emit(PL_SEC_PROBE, key, p->dport, p->sport, PL_IPPROTO_TCP, fl, c);
		} else if (!(fl & PL_TCP_ACK)) {
			/* FIN, NULL, Xmas: no TCP sends these without an ACK */
			pl_sec_emit(PL_SEC_PROBE, key, p->dport, p->sport, PL_IPPROTO_TCP, fl, c);
		} else {
			/* the peer's second packet, a bare ACK: the end of a handshake, if this
			 * port received SYNs (a client's own connections have no entry) */
			pv = pl_sec_port(key, p->dport, PL_IPPROTO_TCP, 0, c);
			if (pv) {
				pv->established++;
				c->established++;
			}
		}
		return;
	}
	if (fl & PL_TCP_RST) {
		c->rst_out++;
		pv = pl_sec_port(key, p->sport, PL_IPPROTO_TCP, 0, c);
		if (pv)
			pv->rst_out++;
		pl_sec_emit(PL_SEC_CLOSED, key, p->sport, p->dport, PL_IPPROTO_TCP, fl, c);
	} else if ((fl & (PL_TCP_SYN | PL_TCP_ACK)) == (PL_TCP_SYN | PL_TCP_ACK)) {
		c->synack_out++;
		pv = pl_sec_port(key, p->sport, PL_IPPROTO_TCP, 0, c);
		if (pv)
			pv->synack++;
	}
}

/*
 * Called for every packet the accounting counted, after its flow was
 * updated (v); fresh: this packet created the flow. The first tests let the
 * common packets (TCP with ACK and neither SYN nor RST, UDP and ICMP of
 * known flows) go after a few compares.
 */
/*
 * A subprogram of its own (at most five arguments: hook, direction and the
 * flow's two flags travel in one), so that the verifier does not multiply
 * its branches with those of the capture and L7 paths of the same program:
 * inlined beside pl_capture the tc programs passed the 1M-instruction limit.
 * what: hook << 8 | dir << 4 | fresh << 1 | (the flow's rx_packets == 2).
 */
#define PL_DETECT_ARGS(hook, dir, fresh, rx2) ((hook) << 8 | (dir) << 4 | !!(fresh) << 1 | !!(rx2))
static __noinline void pl_detect(void *ctx, const struct flow_key *key, const struct pl_pkt *p,
				 __u32 what)
{
	int hook = what >> 8, dir = (what >> 4) & 0xf, fresh = (what >> 1) & 1;
	int rx2 = what & 1;
	int icmp = p->proto == PL_IPPROTO_ICMP || p->proto == PL_IPPROTO_ICMPV6;

	if (p->proto == PL_IPPROTO_TCP) {
		if (!p->has_ports)
			return;
		if ((p->tcp_flags & (PL_TCP_ACK | PL_TCP_SYN | PL_TCP_RST)) == PL_TCP_ACK &&
		    (dir != PL_DIR_RX || !rx2 || (p->tcp_flags & (PL_TCP_FIN | PL_TCP_PSH))))
			return;
	} else if (p->proto == PL_IPPROTO_UDP) {
		if (!fresh || dir != PL_DIR_RX || !p->has_ports)
			return;
	} else if (!icmp || p->frag == 2) {
		return;
	}
	__u32 zero = 0;
	struct sec_counters *c = bpf_map_lookup_elem(&sec_stats, &zero);
	if (!c)
		return;

	if (p->proto == PL_IPPROTO_TCP) {
		pl_sec_tcp(key, p, dir, c);
		return;
	}
	if (p->proto == PL_IPPROTO_UDP) {
		c->first_in++;
		struct sec_port_val *pv = pl_sec_port(key, p->dport, PL_IPPROTO_UDP, 1, c);
		if (pv)
			pv->first_in++;
		__u8 flags = 0;
		if (p->sport == 53 && p->payload_off &&
		    !pl_sec_load(ctx, hook, (__u32)p->payload_off + 2, &flags, 1) &&
		    (flags & 0x80)) {
			c->dns_answers_unasked++;
			pl_sec_emit(PL_SEC_DNS_ANSWER, key, p->dport, p->sport, PL_IPPROTO_UDP, 0,
				    c);
			return;
		}
		pl_sec_emit(PL_SEC_PROBE, key, p->dport, p->sport, PL_IPPROTO_UDP, 0, c);
		return;
	}
	/* ICMP and ICMPv6 */
	int v4 = p->proto == PL_IPPROTO_ICMP;
	if (dir == PL_DIR_RX) {
		c->icmp_in++;
		if (fresh && p->icmp_type == (v4 ? 8 : 128))
			pl_sec_emit(PL_SEC_PROBE, key, 0, 0, p->proto, 0, c);
		return;
	}
	if (p->icmp_type != (v4 ? 3 : 1))
		return;
	c->unreach_out++;
	__u8 proto = 0;
	__u16 lport = 0, rport = 0;
	if (!pl_sec_quoted(ctx, hook, p, &proto, &lport, &rport))
		return;
	if (proto == PL_IPPROTO_TCP || proto == PL_IPPROTO_UDP) {
		struct sec_port_val *pv = pl_sec_port(key, lport, proto, 0, c);
		if (pv)
			pv->unreach_out++;
	}
	pl_sec_emit(PL_SEC_CLOSED, key, lport, rport, proto, 0, c);
}

#endif
