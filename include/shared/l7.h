/* Data contract between the application-layer programs (tc/XDP payload peek, libssl uprobes) and user space. */
#ifndef PKTLENS_SHARED_L7_H
#define PKTLENS_SHARED_L7_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#include "shared/flow.h"

/* Payload bytes copied per event: enough for a request line and Host, a DNS question, an SNI. */
#define PL_L7_DATA 512

/* What an event carries. */
enum pl_l7_kind {
	PL_L7K_NONE = 0,
	PL_L7K_HTTP_REQ,   /* payload starts with an HTTP/1.x method */
	PL_L7K_HTTP_RESP,  /* payload starts with "HTTP/1." */
	PL_L7K_HTTP_CONT,  /* next segment after a request whose headers did not end in it */
	PL_L7K_DNS,	   /* UDP to or from port 53; TCP with its 2-byte length prefix */
	PL_L7K_TLS_HELLO,  /* TLS handshake record carrying a ClientHello */
	PL_L7K_PROTO,	   /* a flow's protocol was decided or changed (no data) */
	PL_L7K_SSL,	   /* plaintext from SSL_read/SSL_write (dir: RX read, TX write) */
	PL_L7K_TLS_ANSWER, /* first TLS handshake or alert record against a ClientHello */
	PL_L7K_HTTP_HELD,  /* no data: only a held HTTP response (resp_*) that no event carried */
};

/*
 * HTTP responses do not travel in events of their own: the packet programs parse the status
 * line and hold it in the flow (struct l7_flow), and the next event of the flow's other
 * direction (the client's next request) carries it in resp_*; one that nothing carries goes
 * alone as PL_L7K_HTTP_HELD. resp_status is the status code (100-599), one of these when the
 * status line was cut or malformed, or 0: the event carries no response.
 */
#define PL_L7_RESP_TRUNC 1
#define PL_L7_RESP_BAD 2

/* Protocol of a flow, by content. */
enum pl_l7_proto {
	PL_L7P_UNKNOWN = 0,
	PL_L7P_HTTP,
	PL_L7P_TLS,
	PL_L7P_DNS,
	PL_L7P_SSH,
	PL_L7P_OTHER,
};

/* Flow flags. */
#define PL_L7F_PORT80_NOT_HTTP 0x01 /* port 80 on either side, content is not HTTP */

struct l7_event {
	__u64 ts_ns;	     /* bpf_ktime_get_ns() */
	struct flow_key key; /* SSL events: zero (the socket is not known), conn names the stream */
	__u32 tgid;	     /* SSL events: process; packet events: 0 */
	__u64 conn;	     /* SSL events: the SSL * pointer */
	__u32 seq;	     /* TCP sequence number of the segment (retransmissions repeat it) */
	__u32 payload_len;   /* bytes of payload in the packet / of the SSL call */
	__u16 len;	     /* bytes valid in data (<= PL_L7_DATA) */
	__u8 kind;	     /* enum pl_l7_kind */
	__u8 dir;	     /* enum pl_dir */
	__u8 proto;	     /* enum pl_l7_proto (PL_L7K_PROTO) */
	__u8 flags;	     /* PL_L7F_* (PL_L7K_PROTO) */
	__u16 resp_status;   /* a carried HTTP response (see PL_L7K_HTTP_HELD): its status, or 0 */
	__u8 resp_dir;	     /* its direction */
	__u8 pad[3];
	__u32 resp_seq; /* its TCP sequence number */
	__u64 resp_ts;	/* bpf_ktime_get_ns() when it passed */
	char comm[16];
	__u8 data[PL_L7_DATA];
};
_Static_assert(sizeof(struct l7_event) ==
		   8 + 44 + 4 + 8 + 4 + 4 + 2 + 4 + 2 + 1 + 3 + 4 + 8 + 16 + PL_L7_DATA,
	       "l7_event layout");

/*
 * Records of the l7_events ring from the packet programs are struct l7_event
 * cut after PL_L7_SMALL or PL_L7_DATA bytes of data (the record's size says
 * which; len never exceeds it): payloads that short travel in small records,
 * PL_L7K_HTTP_HELD in records cut before any data (PL_L7_EVENT_SIZE(0)). SSL
 * events are whole structs.
 */
#define PL_L7_SMALL 64
#define PL_L7_EVENT_SIZE(cap) (__builtin_offsetof(struct l7_event, data) + (cap))
_Static_assert(PL_L7_EVENT_SIZE(PL_L7_SMALL) % 8 == 0, "small l7 record keeps 8-byte alignment");

/* Global counters (per-CPU array, one entry). */
struct l7_counters {
	__u64 events;	   /* events submitted */
	__u64 events_lost; /* ring buffer full */
	__u64 ssl_calls;   /* SSL_read/SSL_write returns seen */
	__u64 ssl_lost;	   /* plaintext not readable from the process */
	/* BPF's per-CPU scratch (payload head, a response's status line): keeps the tc stack small */
	__u8 scratch_head[16];
	/* events not sent: the ring was 3/4 unread and the flow outside the sample */
	__u64 sampled;
};
_Static_assert(sizeof(struct l7_counters) == 56, "l7_counters layout");

#endif
