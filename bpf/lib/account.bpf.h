/* Flow accounting shared by the XDP and tc programs: parse, count, update the flow, capture watched packets. */
#ifndef PKTLENS_ACCOUNT_BPF_H
#define PKTLENS_ACCOUNT_BPF_H

#include "lib/parse.h"
#include "lib/maps.bpf.h"
#include "lib/l7.bpf.h"
#include "lib/capture.bpf.h"
#include "lib/detect.bpf.h"

static __always_inline int pl_bucket(const struct pl_pkt *p)
{
	if (!p->family)
		return PL_P_NON_IP;
	switch (p->proto) {
	case PL_IPPROTO_TCP:
		return PL_P_TCP;
	case PL_IPPROTO_UDP:
		return PL_P_UDP;
	case PL_IPPROTO_ICMP:
		return PL_P_ICMP;
	case PL_IPPROTO_ICMPV6:
		return PL_P_ICMP6;
	}
	return PL_P_OTHER_IP;
}

/* Returns the flow's watch value (0: not watched) after sending its packet event. */
static __always_inline __u32 pl_emit(const struct flow_key *key, const struct pl_pkt *p, __u32 len,
				     int dir, int hook, struct pl_counters *c)
{
	__u32 *w = bpf_map_lookup_elem(&watch, key);
	if (!w)
		return 0;
	__u32 wv = *w;
	struct pkt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		c->events_lost++;
		return wv;
	}
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(&e->key, key, sizeof(*key));
	e->len = len;
	e->seq = p->seq;
	e->ack = p->ack;
	e->window = p->window;
	e->dir = dir;
	e->hook = hook;
	e->tcp_flags = p->tcp_flags;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	bpf_ringbuf_submit(e, 0);
	return wv;
}

/* Signed distance a - b in sequence space (RFC 1982 style). */
static __always_inline __s32 pl_seq_diff(__u32 a, __u32 b)
{
	return (__s32)(a - b);
}

static __always_inline void pl_track_seq(struct flow_val *v, const struct pl_pkt *p)
{
	if (p->window == 0 && !(p->tcp_flags & (PL_TCP_SYN | PL_TCP_RST)))
		v->zero_win++;
	__u32 ip_end = p->l3_off + p->ip_len;
	if (!p->ip_len || ip_end < p->payload_off)
		return; /* BIG TCP (no length in the header) or inconsistent: skip */
	__u32 plen = ip_end - p->payload_off;
	__u32 seq = p->seq, end = p->seq + plen;
	if (p->tcp_flags & (PL_TCP_SYN | PL_TCP_FIN))
		end++; /* SYN and FIN take one sequence number */
	if (end == seq || (p->tcp_flags & PL_TCP_RST))
		return; /* pure ACK: nothing to order */
	if (!v->seq_init || (p->tcp_flags & PL_TCP_SYN)) {
		v->rx_next = end;
		v->hole_lo = v->hole_hi = end;
		v->seq_init = 1;
		return;
	}
	if (seq == v->rx_next) {
		v->rx_next = end;
	} else if (pl_seq_diff(seq, v->rx_next) > 0) {
		/* a gap: this segment is ahead of missing bytes */
		v->ooo++;
		v->hole_lo = v->rx_next;
		v->hole_hi = seq;
		v->rx_next = end;
	} else if (pl_seq_diff(end, v->rx_next) > 0) {
		v->rx_next = end; /* overlaps the edge: partly new */
	} else if (pl_seq_diff(seq, v->hole_lo) >= 0 && pl_seq_diff(end, v->hole_hi) <= 0 &&
		   v->hole_lo != v->hole_hi) {
		/* late arrival into the remembered hole */
		v->ooo++;
		v->rx_retrans++;
		if (seq == v->hole_lo)
			v->hole_lo = end;
		else if (end == v->hole_hi)
			v->hole_hi = seq;
	} else {
		v->dup++;
		v->rx_retrans++;
	}
}

/*
 * Counts one packet (or a GSO/GRO aggregate of segs wire packets) of len
 * bytes. Counters in `counters` are per-CPU, so plain increments are exact;
 * flow values are shared, so they take atomics.
 * Returns the malformed kind so that tc can retry after pulling headers.
 */
static __always_inline int pl_account(void *ctx, const void *data, const void *data_end,
				      __u32 ifindex, __u32 len, __u32 segs, int dir, int hook,
				      int final)
{
	struct pl_counters *c = pl_counters_get();
	if (!c)
		return PL_M_NONE;

	struct pl_pkt p;
	__builtin_memset(&p, 0, sizeof(p));
	/* a GSO aggregate (segs > 1, tc only) may be BIG TCP: its skb length bounds it */
	int m = pl_parse_gso(data, data_end, segs > 1 ? len : 0, &p);
	if (m != PL_M_NONE) {
		if (!final)
			return m;
		if (m > 0 && m < PL_M_MAX)
			c->malformed[m] += segs;
		return m;
	}

	int b = pl_bucket(&p);
	if (p.frag == 2 && b != PL_P_NON_IP)
		b = PL_P_OTHER_IP;
	c->packets[b] += segs;
	c->bytes[b] += len;
	if (!p.family)
		return PL_M_NONE;
	c->ip_packets[dir & 1] += segs;
	c->ip_bytes[dir & 1] += len;

	struct flow_key key;
	__builtin_memset(&key, 0, sizeof(key));
	key.ifindex = ifindex;
	key.family = p.family;
	key.proto = p.proto;
	if (dir == PL_DIR_RX) {
		__builtin_memcpy(key.local, p.daddr, 16);
		__builtin_memcpy(key.remote, p.saddr, 16);
		key.local_port = p.dport;
		key.remote_port = p.sport;
	} else {
		__builtin_memcpy(key.local, p.saddr, 16);
		__builtin_memcpy(key.remote, p.daddr, 16);
		key.local_port = p.sport;
		key.remote_port = p.dport;
	}

	/*
	 * The flow's first/last-seen times take the coarse clock (CLOCK_MONOTONIC as of the last
	 * tick, at most one tick behind): in BPF_PROG_TEST_RUN the precise one cost ~1/4 of the
	 * whole program here (a TSC read under a hypervisor, pvclock). Tick resolution is plenty
	 * for idle times and the dirty-flow carry (CARRY_NS, 10 ms, is over a tick at HZ >= 100);
	 * events (packet, L7, alerts) read the precise clock when they are sent.
	 */
	__u64 now = bpf_ktime_get_coarse_ns();
	int created = 0;
	struct flow_val *v = bpf_map_lookup_elem(&flows, &key);
	if (!v) {
		struct flow_val nv;
		__builtin_memset(&nv, 0, sizeof(nv));
		nv.first_seen_ns = now;
		long err = bpf_map_update_elem(&flows, &key, &nv, BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: another CPU inserted it first */) {
			c->flow_table_full++;
			return PL_M_NONE;
		}
		created = !err;
		v = bpf_map_lookup_elem(&flows, &key);
		if (!v) {
			c->flow_table_full++;
			return PL_M_NONE;
		}
	}
	if (dir == PL_DIR_RX) {
		__sync_fetch_and_add(&v->rx_packets, segs);
		__sync_fetch_and_add(&v->rx_bytes, len);
	} else {
		__sync_fetch_and_add(&v->tx_packets, segs);
		__sync_fetch_and_add(&v->tx_bytes, len);
	}
	/* A racing store of a timestamp is harmless: any of the racing values is right. */
	v->last_seen_ns = now;
	if (p.tcp_flags && (v->tcp_flags | p.tcp_flags) != v->tcp_flags)
		__sync_fetch_and_or(&v->tcp_flags, p.tcp_flags);

	if (dir == PL_DIR_RX && p.proto == PL_IPPROTO_TCP && p.has_ports)
		pl_track_seq(v, &p);
	/*
	 * First packet of the flow in this refresh interval: queue its key, after
	 * the counters above, so that user space reads it. Two CPUs may both queue
	 * it (harmless). The creation is counted after the key is queued: a
	 * reader that sees the count finds the key (x86 keeps stores in order).
	 */
	__u32 epoch = flow_epoch;
	if (v->epoch != epoch) {
		v->epoch = epoch;
		struct flow_dirty d;
		__builtin_memcpy(&d.key, &key, sizeof(key));
		d.epoch = epoch;
		if (bpf_ringbuf_output(&flow_dirty, &d, sizeof(d), BPF_RB_NO_WAKEUP))
			c->dirty_lost++;
	}
	c->flows_created += created;
	if (!sec_off)
		pl_detect(ctx, &key, &p, PL_DETECT_ARGS(hook, dir, created, v->rx_packets == 2));
	if (watch_count) {
		__u32 w = pl_emit(&key, &p, len, dir, hook, c);
		/* the TUI writes this flow to a file; with -w every packet is captured already */
		if ((w & PL_WATCH_CAPTURE) && !capture_all)
			pl_capture(ctx, hook << 4 | dir, key.ifindex, len, 1);
	}
	if (p.has_ports)
		pl_l7_packet(ctx, hook << 4 | dir, &key, &p, v);
	return PL_M_NONE;
}

#endif
