/* Application-layer peek for the packet programs: classify the first payload bytes, send HTTP/DNS/TLS heads to user space. */
#ifndef PKTLENS_L7_BPF_H
#define PKTLENS_L7_BPF_H

#include "lib/l7parse.h"
#include "lib/maps.bpf.h"
#include "shared/l7.h"

/* Written by user space (or a benchmark) through .bss: 1 turns the payload peek off. */
volatile __u32 l7_off = 0;

/*
 * 4 MiB: at 150k events/s of small records (HTTP keep-alive) the reader may
 * be kept off a CPU for ~170 ms after its wakeup before anything is lost
 * (a loaded 2-core host keeps it waiting tens of ms).
 */
#define PL_L7_RING_BYTES (4 * 1024 * 1024)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PL_L7_RING_BYTES);
} l7_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l7_counters);
} l7_stats SEC(".maps");

/*
 * Wake the reader when the unread bytes cross a multiple of 1/16 of the ring, not per event.
 * bpf_ringbuf_submit(e, 0) wakes the reader whenever it has caught up, which
 * with a quick reader is every event: an irq_work and a self-IPI each, a VM
 * exit on a virtual machine (measured here: tc programs 7-10 us per packet
 * under HTTP keep-alive, ~0.5 us with this). The reader also drains the ring
 * at every refresh, so a trickle of events waits at most one interval.
 * avail counts this record (reserved, not yet committed): the one record that
 * carries the count over a line wakes. Every line, not only the first: avail
 * also counts what other CPUs reserved meanwhile, so two producers can both
 * find themselves past the first line and neither wake. With only that line,
 * the reader then slept until its next refresh while the ring filled (make
 * bench, wrk at 132k L7 events/s on 2 CPUs: 282k events lost); the next line,
 * 1/16 of the ring later, wakes it.
 */
#define PL_L7_WAKE_SHIFT 18 /* 256 KiB */
_Static_assert(PL_L7_RING_BYTES / 16 == 1 << PL_L7_WAKE_SHIFT, "wake every 1/16 of the ring");
static __always_inline __u64 pl_l7_wake(__u64 size)
{
	__u64 avail = bpf_ringbuf_query(&l7_events, BPF_RB_AVAIL_DATA);
	return avail >> PL_L7_WAKE_SHIFT != (avail - size) >> PL_L7_WAKE_SHIFT ? BPF_RB_FORCE_WAKEUP
									       : BPF_RB_NO_WAKEUP;
}

/*
 * The same from the unread bytes read before reserving (the sample's reading, see
 * pl_l7_sampled_out): one query per event instead of two. A query is a helper call that reads
 * the consumer's position, a cache line the reader writes after every record it takes, so in
 * place it costs tens of ns, not a few (perf, make bench's HTTP keep-alive: bpf_ringbuf_query
 * 0.57% of the machine with three a request, more than the tc ingress program's own 0.24%).
 * Two CPUs that read the same count before either reserves both test the first one's bytes,
 * and a line inside the second one's goes unseen; the next line, 1/16 of the ring later,
 * wakes the reader (two such races in a row are needed to miss two lines, and the sample
 * starts 12 lines up).
 */
static __always_inline __u64 pl_l7_wake_from(__u64 unread, __u64 size)
{
	return (unread + size) >> PL_L7_WAKE_SHIFT != unread >> PL_L7_WAKE_SHIFT
		   ? BPF_RB_FORCE_WAKEUP
		   : BPF_RB_NO_WAKEUP;
}

static __always_inline struct l7_counters *pl_l7_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&l7_stats, &zero);
}

/*
 * Payload bytes at off, from the linear part or through the helper (paged skb, XDP frags), into
 * dst, which holds cap bytes (a power of two, a constant at each call). 1 <= n <= cap, or -1.
 */
static __always_inline long pl_l7_load(void *ctx, int hook, __u32 off, void *dst, __u32 n,
				       const __u32 cap)
{
	_Static_assert((PL_L7_SMALL & (PL_L7_SMALL - 1)) == 0 &&
			   (PL_L7_DATA & (PL_L7_DATA - 1)) == 0,
		       "the load's length mask needs power-of-two record sizes");
	if (n < 1 || n > cap)
		return -1;
	/*
	 * The test above is for us; the verifier needs the bounds on the very register the helper
	 * gets as its length, and Debian's 6.1 loses them. For a small record clang folded the
	 * caller's "n < 5 || n > cap" into one range test on a copy ("w1 = w2; w1 += -65; if w1 <
	 * 0xffffffc4") and passed w2 on: 6.1 does not carry a bound learnt on w1 back through
	 * "+= const", nor across the 32-bit move (it clears the copy's id). The length register
	 * then had only this function's old "n > PL_L7_DATA" test, [0, 512], for a record with 64
	 * bytes of data: "invalid access to memory, mem_size=160 off=96 size=0" at
	 * bpf_xdp_load_bytes / bpf_skb_load_bytes (size is the register's minimum, and the
	 * helpers' length may not be 0; its maximum would have failed next). Arithmetic it does
	 * follow: behind the empty asm clang knows nothing of n and must keep the mask, which puts
	 * the length in [1, cap] for 6.1 (and for 6.18, which followed the copy) and, n being in
	 * [1, cap] already, changes nothing.
	 */
	barrier_var(n);
	n = ((n - 1) & (cap - 1)) + 1;
	if (hook == PL_HOOK_XDP)
		return bpf_xdp_load_bytes(ctx, off, dst, n);
	return bpf_skb_load_bytes(ctx, off, dst, n);
}

static __always_inline void pl_l7_proto_event(const struct flow_key *key, int dir,
					      const struct l7_flow *st, struct l7_counters *c)
{
	struct l7_event *e = bpf_ringbuf_reserve(&l7_events, sizeof(*e), 0);
	if (!e) {
		if (c)
			c->events_lost++;
		return;
	}
	__builtin_memset(e, 0, offsetof(struct l7_event, data));
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(&e->key, key, sizeof(*key));
	e->kind = PL_L7K_PROTO;
	e->dir = dir;
	e->proto = st->proto;
	e->flags = st->flags;
	bpf_ringbuf_submit(e, pl_l7_wake(sizeof(*e)));
	if (c)
		c->events++;
}

/*
 * Overload: with 3/4 of the ring unread (the reader is ~3 MiB, some 20k events, behind), only
 * flows in a sample send events, 1 in 4 of them, 1 in 16 past 7/8: a hash of the ports picks
 * the same flows for as long as it lasts, so that their requests and responses still pair
 * and their latencies stay whole; the others' events count as sampled (l7_stats.sampled in
 * the JSON, the status line), not as lost. Loss is left for a reader that stopped altogether.
 * Ports only: the ephemeral ports of a host's connections differ, and the multiplier spreads
 * even ones (connect() prefers them) over the top bits.
 */
#define PL_L7_SAMPLE_AT (PL_L7_RING_BYTES / 4 * 3)
#define PL_L7_SAMPLE_HARD (PL_L7_RING_BYTES / 8 * 7)
static __always_inline int pl_l7_sampled_out(const struct flow_key *key, __u64 *unread_out)
{
	__u64 unread = bpf_ringbuf_query(&l7_events, BPF_RB_AVAIL_DATA);
	*unread_out = unread;
	if (unread < PL_L7_SAMPLE_AT)
		return 0;
	__u32 h = ((__u32)key->local_port << 16 | key->remote_port) * 2654435761u;
	return (h >> 28) & (unread < PL_L7_SAMPLE_HARD ? 3 : 15);
}

/*
 * HTTP responses are held in the flow, not sent (shared/l7.h, PL_L7K_HTTP_HELD): the next
 * event of the other direction, a keep-alive client's next request, carries the held one,
 * and an exchange costs one ring record instead of two (make bench, wrk -> nginx: a record
 * and its reading cost the server ~0.75 us of CPU, ~4% of its rate). The first packet of the
 * other direction that sends no event (the client's ACK, when no request follows at once),
 * a FIN or RST either way, and a second response (pipelining) send the held one alone first.
 * Both directions can pass on two CPUs at once (veth delivers on the sender's): a taker reads
 * the fields, then swaps resp_tok to 0 only if it still holds the token it read, so one taker
 * gets each response and never a half-written one; the holder writes the fields before the
 * token (x86 keeps stores in order; the barrier keeps clang from reordering them).
 */
struct pl_l7_held {
	__u64 ts;
	__u32 seq;
	__u16 status;
	__u8 dir;
};

static __always_inline int pl_l7_take(struct l7_flow *st, struct pl_l7_held *h)
{
	__u32 tok = *(volatile __u32 *)&st->resp_tok;
	if (!tok)
		return 0;
	h->ts = st->resp_ts;
	h->seq = st->resp_seq;
	h->status = st->resp_status;
	h->dir = st->resp_dir;
	barrier();
	return __sync_val_compare_and_swap(&st->resp_tok, tok, 0) == tok;
}

static __always_inline void pl_l7_carry(struct l7_event *e, const struct pl_l7_held *h)
{
	e->resp_status = h->status;
	e->resp_dir = h->dir;
	e->resp_seq = h->seq;
	e->resp_ts = h->ts;
}

/* Send the flow's held response alone, if it holds one. */
static __noinline void pl_l7_flush(const struct flow_key *key, struct l7_flow *st,
				   struct l7_counters *c)
{
	struct pl_l7_held h;
	__u64 unread;
	if (!c || !pl_l7_take(st, &h))
		return;
	if (pl_l7_sampled_out(key, &unread)) {
		c->sampled++;
		return;
	}
	struct l7_event *e = bpf_ringbuf_reserve(&l7_events, PL_L7_EVENT_SIZE(0), 0);
	if (!e) {
		c->events_lost++;
		return;
	}
	__builtin_memset(e, 0, offsetof(struct l7_event, data));
	e->ts_ns = h.ts;
	__builtin_memcpy(&e->key, key, sizeof(*key));
	e->seq = h.seq;
	e->kind = PL_L7K_HTTP_HELD;
	e->dir = h.dir;
	e->proto = PL_L7P_HTTP;
	pl_l7_carry(e, &h);
	bpf_ringbuf_submit(e, pl_l7_wake_from(unread, PL_L7_EVENT_SIZE(0)));
	c->events++;
}

/*
 * Hold a response: its status line (the first 13 bytes are all pl_http_parse_resp reads, as
 * user space did with the small record this replaces) is parsed here. One held already, from
 * a pipelined request, goes first.
 */
static __always_inline void pl_l7_hold(void *ctx, int hook, int dir, const struct flow_key *key,
				       const struct pl_pkt *p, struct l7_flow *st,
				       struct l7_counters *c)
{
	/*
	 * No sample here: a held response is sampled with whatever takes it (the request that
	 * would carry it, or its flush), so the ring is queried once per exchange, not twice.
	 */
	__u32 plen = p->payload_len;
	__u32 n = plen < sizeof(c->scratch_head) ? plen : sizeof(c->scratch_head);
	__u8 *b = c->scratch_head;
	if (pl_l7_load(ctx, hook, p->payload_off, b, n, sizeof(c->scratch_head)))
		return;
	struct pl_http_resp r;
	int err = pl_http_parse_resp(b, b + n, &r);
	__u16 status = err == PL_L7E_OK	     ? r.status
		       : err == PL_L7E_TRUNC ? PL_L7_RESP_TRUNC
					     : PL_L7_RESP_BAD;
	pl_l7_flush(key, st, c);
	__u64 now = bpf_ktime_get_ns();
	st->resp_ts = now;
	st->resp_seq = p->seq;
	st->resp_status = status;
	st->resp_dir = (__u8)dir;
	barrier();
	*(volatile __u32 *)&st->resp_tok = (__u32)now | 1;
}

/*
 * One event with up to cap payload bytes in a record cut after them (see
 * PL_L7_EVENT_SIZE): cap is a constant at each call, so the verifier sees
 * every access bounded by the record's size.
 */
static __always_inline void pl_l7_emit(void *ctx, int hook, int dir, const struct flow_key *key,
				       const struct pl_pkt *p, int kind, __u8 proto,
				       struct l7_flow *st, struct l7_counters *c, const __u32 cap)
{
	struct pl_l7_held h;
	__u64 unread;
	if (pl_l7_sampled_out(key, &unread)) {
		c->sampled++;
		/* the response it would have carried goes unsent with it */
		if (st->resp_dir != dir && pl_l7_take(st, &h))
			c->sampled++;
		return;
	}
	__u32 plen = p->payload_len;
	struct l7_event *e = bpf_ringbuf_reserve(&l7_events, PL_L7_EVENT_SIZE(cap), 0);
	if (!e) {
		c->events_lost++;
		return;
	}
	__u32 n = plen < cap ? plen : cap;
	/* keep the n >= 5 test: clang drops it (plen >= 5 above), the verifier lost that bound */
	asm volatile("" : "+r"(n));
	if (n < 5 || n > cap || pl_l7_load(ctx, hook, p->payload_off, e->data, n, cap)) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	/* the packet programs read the precise clock only for events: see pl_account */
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(&e->key, key, sizeof(*key));
	e->tgid = 0;
	e->conn = 0;
	e->seq = p->seq;
	e->payload_len = plen;
	e->len = (__u16)n;
	e->kind = (__u8)kind;
	e->dir = (__u8)dir;
	e->proto = proto;
	e->flags = 0;
	e->resp_status = 0;
	e->resp_dir = 0;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	e->resp_seq = 0;
	e->resp_ts = 0;
	__builtin_memset(e->comm, 0, sizeof(e->comm));
	if (kind == PL_L7K_TLS_HELLO)
		st->hello |= 1 << dir;
	/* A request whose headers do not end in this segment: the next one of this side follows. */
	if (kind == PL_L7K_HTTP_REQ) {
		__u32 t = (n - 4) & (cap - 1);
		asm volatile("" : "+r"(t)); /* 6.1's verifier needs the bound on t itself */
		if (t > cap - 4)
			t = 0;
		int ended = n == plen && e->data[t] == '\r' && e->data[t + 1] == '\n' &&
			    e->data[t + 2] == '\r' && e->data[t + 3] == '\n';
		st->cont[dir & 1] = !ended;
	}
	/* the response this event answers rides along (counted as an event of its own) */
	if (st->resp_dir != dir && pl_l7_take(st, &h)) {
		pl_l7_carry(e, &h);
		c->events++;
	}
	bpf_ringbuf_submit(e, pl_l7_wake_from(unread, PL_L7_EVENT_SIZE(cap)));
	c->events++;
}

/*
 * Called by pl_account for every TCP/UDP packet, with the flow's value (its
 * L7 state is v->l7). Costs an 8-byte load and a few compares per payload;
 * only payloads that start like HTTP, a TLS ClientHello or DNS (port 53) copy
 * up to PL_L7_DATA bytes into an event. A packet that sends none may send
 * the flow's held HTTP response (pl_l7_hold).
 * A subprogram, not inlined: tc inlines pl_account twice and the stack would
 * not hold a third copy of this. hook_dir is hook << 4 | dir (five arguments
 * at most).
 */
static __noinline void pl_l7_packet(void *ctx, int hook_dir, const struct flow_key *key,
				    const struct pl_pkt *p, struct flow_val *v)
{
	int hook = hook_dir >> 4, dir = hook_dir & 1;
	if (l7_off || !p->has_ports || p->frag)
		return;
	if (p->proto != PL_IPPROTO_TCP && p->proto != PL_IPPROTO_UDP)
		return;
	struct l7_flow *st = &v->l7;
	struct l7_counters *c = pl_l7_stats();
	if (!c)
		return;
	/* the parser's payload length: UDP's own length, so DNS never reads past the datagram */
	__u32 plen = p->payload_len;
	/* a TLS alert refusing a ClientHello is 7 bytes: 5 (a record header) are worth a look */
	if (plen < 5)
		goto no_event;
	/* scratch in the per-CPU map value, not on the stack: pl_account is inlined twice in tc */
	__u8 *head = c->scratch_head;
	/*
	 * 8 bytes, or the 5 of a record header from a shorter payload: two
	 * constants, because 6.1's verifier loses a min() bound that clang
	 * computes in a copy of the register (bounds are not shared through
	 * 32-bit moves there), and would see a load of up to PL_L7_DATA here.
	 */
	__u32 hn = plen < 8 ? 5 : 8;
	__builtin_memset(head, 0, 8);
	if (pl_l7_load(ctx, hook, p->payload_off, head, hn, sizeof(c->scratch_head)))
		goto no_event;

	__u8 proto = PL_L7P_UNKNOWN;
	int kind = PL_L7K_NONE;
	int dns = key->local_port == 53 || key->remote_port == 53;
	if (p->proto == PL_IPPROTO_TCP) {
		kind = pl_l7_classify_tcp(head, hn, &proto);
		/* DNS over TCP (length-prefixed): user space skips the prefix and other segments */
		if (kind == PL_L7K_NONE && proto == PL_L7P_UNKNOWN && dns) {
			kind = PL_L7K_DNS;
			proto = PL_L7P_DNS;
		}
	} else if (dns) {
		/* short ones too: user space counts a cut header as a parse failure */
		kind = PL_L7K_DNS;
		proto = PL_L7P_DNS;
	}

	if (kind == PL_L7K_NONE && st->cont[dir & 1]) {
		kind = PL_L7K_HTTP_CONT;
		st->cont[dir & 1] = 0;
	}
	/*
	 * The first TLS record coming back against a ClientHello (ServerHello, or
	 * an alert refusing it) proves that a TLS endpoint read the hello: only
	 * then does user space count it. A forged segment gets no such answer.
	 */
	if (kind == PL_L7K_NONE && proto == PL_L7P_TLS && (st->hello >> (dir ^ 1)) & 1 &&
	    (head[0] == 0x16 || head[0] == 0x15)) {
		kind = PL_L7K_TLS_ANSWER;
		st->hello &= ~(1 << (dir ^ 1));
	}
	int http80 = key->local_port == 80 || key->remote_port == 80;
	if (!st->proto) {
		/* the flow's first payload (two CPUs at once may both send the event: harmless) */
		st->proto = proto ? proto : PL_L7P_OTHER;
		if (http80 && st->proto != PL_L7P_HTTP)
			st->flags |= PL_L7F_PORT80_NOT_HTTP;
		pl_l7_proto_event(key, dir, st, c);
	} else if (proto && proto != st->proto &&
		   (st->proto == PL_L7P_OTHER || st->proto == PL_L7P_UNKNOWN) &&
		   (proto != PL_L7P_HTTP || kind == PL_L7K_HTTP_REQ)) {
		/* HTTP only on a request: a server answering garbage with a 400 is not an HTTP flow */
		/* first seen mid-stream, recognised later */
		st->proto = proto;
		if (proto == PL_L7P_HTTP)
			st->flags &= ~PL_L7F_PORT80_NOT_HTTP;
		pl_l7_proto_event(key, dir, st, c);
	}
	if (kind == PL_L7K_NONE)
		goto no_event;
	if (kind == PL_L7K_HTTP_RESP) {
		pl_l7_hold(ctx, hook, dir, key, p, st, c);
		return;
	}
	if (plen <= PL_L7_SMALL)
		pl_l7_emit(ctx, hook, dir, key, p, kind, proto, st, c, PL_L7_SMALL);
	else
		pl_l7_emit(ctx, hook, dir, key, p, kind, proto, st, c, PL_L7_DATA);
	return;
no_event:
	/* the client's ACK of a held response, or the end of the connection, sends it alone */
	if (st->resp_tok && (st->resp_dir != dir || (p->tcp_flags & (PL_TCP_FIN | PL_TCP_RST))))
		pl_l7_flush(key, st, c);
}

#endif
