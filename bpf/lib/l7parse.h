/* Application-layer parsers (HTTP/1.x lines and Host, DNS question, TLS ClientHello): pure, bounded, shared by BPF and host. */
#ifndef PKTLENS_L7PARSE_H
#define PKTLENS_L7PARSE_H

/*
 * Like lib/parse.h: no helper calls, no globals, every loop has a constant
 * bound and every read is checked against end first, so the verifier takes
 * it and a host test can feed it any bytes. Inputs are at most the first
 * PL_L7_DATA bytes of a payload; offsets in the results are from b.
 */
#include "lib/parse.h"
#include "shared/l7.h"

/* Errors, also the parse-failure kinds that user space counts. */
enum pl_l7_err {
	PL_L7E_OK = 0,
	PL_L7E_TRUNC,  /* input ended inside the part we need */
	PL_L7E_BAD,    /* does not follow the grammar */
	PL_L7E_LONG,   /* a line longer than what we look at */
	PL_L7E_PTR,    /* DNS compression pointer loop, forward or out of range */
	PL_L7E_NOHELLO /* TLS record that is not a ClientHello */
};

#define PL_HTTP_METHOD_MAX 8
#define PL_HTTP_HDR_MAX 24 /* header lines looked at for Host */
#define PL_DNS_LABELS_MAX 64
#define PL_DNS_PTRS_MAX 4
#define PL_DNS_NAME_MAX 256
#define PL_TLS_EXT_MAX 32

static __always_inline int pl_l7_upper(__u8 c)
{
	return c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* First bytes of a TCP payload: which event it deserves. p has n (<= 8) valid bytes. */
static __always_inline int pl_l7_classify_tcp(const __u8 *p, __u32 n, __u8 *proto)
{
	*proto = PL_L7P_UNKNOWN;
	if (n < 4)
		return PL_L7K_NONE;
	__u32 w = (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
	switch (w) {
	case 0x47455420: /* "GET " */
	case 0x504f5354: /* "POST" */
	case 0x50555420: /* "PUT " */
	case 0x48454144: /* "HEAD" */
	case 0x44454c45: /* "DELE" */
	case 0x50415443: /* "PATC" */
	case 0x4f505449: /* "OPTI" */
	case 0x434f4e4e: /* "CONN" */
	case 0x54524143: /* "TRAC" */
		*proto = PL_L7P_HTTP;
		return PL_L7K_HTTP_REQ;
	case 0x48545450: /* "HTTP" */
		if (n >= 7 && p[4] == '/' && p[5] == '1' && p[6] == '.') {
			*proto = PL_L7P_HTTP;
			return PL_L7K_HTTP_RESP;
		}
		return PL_L7K_NONE;
	case 0x5353482d: /* "SSH-" */
		*proto = PL_L7P_SSH;
		return PL_L7K_NONE;
	}
	/* TLS handshake record, version 3.x, of a ClientHello (type 1 after the 5-byte header) */
	if (p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04 && n >= 6) {
		*proto = PL_L7P_TLS;
		return p[5] == 0x01 ? PL_L7K_TLS_HELLO : PL_L7K_NONE;
	}
	if (p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 0x03 && p[2] <= 0x04)
		*proto = PL_L7P_TLS; /* other TLS records: mid-connection */
	return PL_L7K_NONE;
}

/* Length of the line at off (without CR LF), bounded by max; *complete is 1 when CR LF ended it. */
static __always_inline __u32 pl_l7_line(const __u8 *b, const __u8 *end, __u32 off, __u32 max,
					int *complete)
{
	*complete = 0;
	for (__u32 i = 0; i < max; i++) {
		const __u8 *c = b + off + i;
		if (c + 1 > end)
			return i;
		if (*c == '\n') {
			*complete = 1;
			return (i && c[-1] == '\r') ? i - 1 : i;
		}
	}
	return max;
}

struct pl_http_req {
	__u16 method_off, method_len;
	__u16 path_off, path_len;
	__u16 host_off, host_len; /* host_len 0: no Host header seen */
	__u8 version;		  /* 0 or 1 (HTTP/1.x), 9 for HTTP/0.9-like lines without version */
	__u8 line_complete;	  /* the request line ended inside the input */
	__u8 headers_complete;	  /* the blank line after the headers was seen */
	__u8 path_truncated;	  /* the request line ran past the input */
};

/* Request line "METHOD SP target SP HTTP/1.x CRLF", then headers until Host or a blank line. */
static __always_inline int pl_http_parse_req(const __u8 *b, const __u8 *end, struct pl_http_req *r)
{
	__u32 len = (__u32)(end - b);
	if (len > PL_L7_DATA)
		len = PL_L7_DATA;
	end = b + len;
	__builtin_memset(r, 0, sizeof(*r));
	__u32 i = 0;
	for (i = 0; i < PL_HTTP_METHOD_MAX + 1; i++) {
		if (b + i + 1 > end)
			return PL_L7E_TRUNC;
		__u8 c = b[i];
		if (c == ' ')
			break;
		if (c < 'A' || c > 'Z')
			return PL_L7E_BAD;
	}
	if (i == 0 || i > PL_HTTP_METHOD_MAX)
		return PL_L7E_BAD;
	r->method_len = (__u16)i;
	__u32 off = i + 1;
	r->path_off = (__u16)off;
	int complete;
	__u32 ll = pl_l7_line(b, end, off, PL_L7_DATA, &complete);
	r->line_complete = (__u8)complete;
	/* the target runs to the last space of the line; without one the line has no version */
	__u32 sp = ll;
	for (__u32 k = 0; k < PL_L7_DATA; k++) {
		if (k >= ll)
			break;
		const __u8 *c = b + off + ll - 1 - k;
		if (c < b || c + 1 > end)
			break;
		if (*c == ' ') {
			sp = ll - 1 - k;
			break;
		}
	}
	if (!complete) {
		/* keep what we have of the target: a long line is still a request */
		r->path_len = (__u16)(sp < ll ? sp : ll);
		r->path_truncated = 1;
		return off + ll >= len ? (len >= PL_L7_DATA ? PL_L7E_LONG : PL_L7E_TRUNC)
				       : PL_L7E_BAD;
	}
	if (sp == ll) {
		r->path_len = (__u16)ll;
		r->version = 9;
	} else {
		r->path_len = (__u16)sp;
		const __u8 *v = b + off + sp + 1;
		if (v + 8 > end || v[0] != 'H' || v[1] != 'T' || v[2] != 'T' || v[3] != 'P' ||
		    v[4] != '/' || v[5] != '1' || v[6] != '.')
			return PL_L7E_BAD;
		r->version = v[7] == '1' ? 1 : 0;
	}
	if (!r->path_len)
		return PL_L7E_BAD;
	/* headers: CR LF after the request line */
	const __u8 *nl = b + off + ll;
	if (nl + 1 <= end && *nl == '\r')
		nl++;
	off = (__u32)(nl - b) + 1;
	for (int h = 0; h < PL_HTTP_HDR_MAX; h++) {
		if (off >= len)
			return PL_L7E_OK;
		ll = pl_l7_line(b, end, off, PL_L7_DATA, &complete);
		if (!complete)
			return PL_L7E_OK; /* header cut off: Host may follow in the next segment */
		if (ll == 0) {
			r->headers_complete = 1;
			return PL_L7E_OK;
		}
		const __u8 *c = b + off;
		if (!r->host_len && ll > 5 && c + 5 <= end && pl_l7_upper(c[0]) == 'H' &&
		    pl_l7_upper(c[1]) == 'O' && pl_l7_upper(c[2]) == 'S' &&
		    pl_l7_upper(c[3]) == 'T' && c[4] == ':') {
			__u32 s = 5;
			for (int k = 0; k < 8; k++) {
				if (s < ll && c + s + 1 <= end && (c[s] == ' ' || c[s] == '\t'))
					s++;
			}
			__u32 e = ll;
			for (int k = 0; k < 8; k++) {
				if (e > s && c + e <= end && (c[e - 1] == ' ' || c[e - 1] == '\t'))
					e--;
			}
			r->host_off = (__u16)(off + s);
			r->host_len = (__u16)(e - s);
		}
		/* next line: past LF */
		const __u8 *n2 = b + off + ll;
		if (n2 + 1 <= end && *n2 == '\r')
			n2++;
		off = (__u32)(n2 - b) + 1;
	}
	return PL_L7E_OK;
}

struct pl_http_resp {
	__u16 status;
	__u8 version;
	__u8 pad;
};

/* Status line "HTTP/1.x SP 3DIGIT SP reason CRLF". */
static __always_inline int pl_http_parse_resp(const __u8 *b, const __u8 *end,
					      struct pl_http_resp *r)
{
	__builtin_memset(r, 0, sizeof(*r));
	if (b + 12 > end)
		return PL_L7E_TRUNC;
	if (b[0] != 'H' || b[1] != 'T' || b[2] != 'T' || b[3] != 'P' || b[4] != '/' ||
	    b[5] != '1' || b[6] != '.' || b[8] != ' ')
		return PL_L7E_BAD;
	if (b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' || b[11] < '0' || b[11] > '9')
		return PL_L7E_BAD;
	if (b + 13 <= end && b[12] != ' ' && b[12] != '\r' && b[12] != '\n')
		return PL_L7E_BAD;
	r->version = b[7] == '1' ? 1 : 0;
	r->status = (__u16)((b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0'));
	return PL_L7E_OK;
}

struct pl_dns {
	__u16 id;
	__u8 qr; /* 1: response */
	__u8 opcode;
	__u8 rcode;
	__u8 tc;
	__u16 qdcount, ancount;
	__u16 qtype, qclass;
	__u16 name_len; /* bytes in name (dotted, labels as they came, not NUL-terminated) */
	char name[PL_DNS_NAME_MAX];
};

/* Header and the first question. Compression pointers must point backwards, at most a few hops. */
static __always_inline int pl_dns_parse(const __u8 *b, const __u8 *end, struct pl_dns *d)
{
	__builtin_memset(d, 0, sizeof(*d));
	if (b + 12 > end)
		return PL_L7E_TRUNC;
	d->id = (__u16)(b[0] << 8 | b[1]);
	d->qr = b[2] >> 7;
	d->opcode = (b[2] >> 3) & 0xf;
	d->tc = (b[2] >> 1) & 1;
	d->rcode = b[3] & 0xf;
	d->qdcount = (__u16)(b[4] << 8 | b[5]);
	d->ancount = (__u16)(b[6] << 8 | b[7]);
	if (d->qdcount == 0)
		return d->qr ? PL_L7E_OK : PL_L7E_BAD;
	__u32 off = 12, after = 0, ptrs = 0, o = 0;
	for (int l = 0; l < PL_DNS_LABELS_MAX; l++) {
		if (b + off + 1 > end)
			return PL_L7E_TRUNC;
		__u8 c = b[off];
		if ((c & 0xc0) == 0xc0) {
			if (b + off + 2 > end)
				return PL_L7E_TRUNC;
			__u32 to = (__u32)(c & 0x3f) << 8 | b[off + 1];
			if (!after)
				after = off + 2;
			if (to >= off || to < 12 || ++ptrs > PL_DNS_PTRS_MAX)
				return PL_L7E_PTR;
			/* backward pointers can still cycle: the last step must not be one */
			if (l == PL_DNS_LABELS_MAX - 1)
				return PL_L7E_PTR;
			off = to;
			continue;
		}
		if (c & 0xc0)
			return PL_L7E_BAD;
		if (c == 0) {
			if (!after)
				after = off + 1;
			break;
		}
		if (b + off + 1 + c > end)
			return PL_L7E_TRUNC;
		if (o + c + 1 >= PL_DNS_NAME_MAX)
			return PL_L7E_BAD;
		if (o)
			d->name[o++] = '.';
		for (__u32 k = 0; k < 63; k++) {
			if (k >= c || o >= PL_DNS_NAME_MAX)
				break;
			d->name[o++] = (char)b[off + 1 + k];
		}
		off += 1 + c;
		if (l == PL_DNS_LABELS_MAX - 1)
			return PL_L7E_BAD;
	}
	if (!after)
		return PL_L7E_BAD;
	d->name_len = (__u16)o;
	if (b + after + 4 > end)
		return PL_L7E_TRUNC;
	d->qtype = (__u16)(b[after] << 8 | b[after + 1]);
	d->qclass = (__u16)(b[after + 2] << 8 | b[after + 3]);
	return PL_L7E_OK;
}

struct pl_tls_hello {
	__u16 record_version;
	__u16 client_version;
	__u16 max_version; /* highest of supported_versions, else client_version */
	__u16 sni_off, sni_len;
	__u16 alpn_off, alpn_len; /* first protocol offered */
};

static __always_inline __u16 pl_be16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/* A TLS record with a ClientHello: versions, server_name, first ALPN protocol. */
static __always_inline int pl_tls_parse_hello(const __u8 *b, const __u8 *end,
					      struct pl_tls_hello *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	if (b + 9 > end)
		return PL_L7E_TRUNC;
	if (b[0] != 0x16 || b[1] != 0x03)
		return PL_L7E_BAD;
	if (b[5] != 0x01)
		return PL_L7E_NOHELLO;
	t->record_version = pl_be16(b + 1);
	/* 5 record + 4 handshake header, then version(2) random(32) */
	__u32 off = 9;
	if (b + off + 35 > end)
		return PL_L7E_TRUNC;
	t->client_version = t->max_version = pl_be16(b + off);
	off += 34;
	off += 1 + b[off]; /* session id */
	if (b + off + 2 > end)
		return PL_L7E_TRUNC;
	off += 2 + pl_be16(b + off); /* cipher suites */
	if (b + off + 1 > end)
		return PL_L7E_TRUNC;
	off += 1 + b[off]; /* compression methods */
	if (b + off + 2 > end)
		return PL_L7E_TRUNC;
	__u32 ext_end = off + 2 + pl_be16(b + off);
	off += 2;
	for (int e = 0; e < PL_TLS_EXT_MAX; e++) {
		if (off + 4 > ext_end)
			return PL_L7E_OK;
		if (b + off + 4 > end)
			return t->sni_len ? PL_L7E_OK : PL_L7E_TRUNC;
		__u16 type = pl_be16(b + off);
		__u32 elen = pl_be16(b + off + 2);
		__u32 body = off + 4;
		/* an extension that runs past the declared block is a decode_error (RFC 8446 4.1.2) */
		if (body + elen > ext_end)
			return PL_L7E_BAD;
		if (type == 0 && b + body + 5 <= end) {
			/* server_name_list: len(2) type(1) len(2) name */
			__u32 nl = pl_be16(b + body + 3);
			if (b[body + 2] != 0 || nl + 5 > elen)
				return PL_L7E_BAD;
			if (b + body + 5 + nl > end)
				return PL_L7E_TRUNC;
			t->sni_off = (__u16)(body + 5);
			t->sni_len = (__u16)nl;
		} else if (type == 16 && b + body + 3 <= end) {
			/* ALPN: list len(2), then len(1) proto */
			__u32 pl = b[body + 2];
			if (pl + 3 <= elen && b + body + 3 + pl <= end) {
				t->alpn_off = (__u16)(body + 3);
				t->alpn_len = (__u16)pl;
			}
		} else if (type == 43 && b + body + 1 <= end) {
			/* supported_versions: len(1), then 2-byte versions; GREASE (0x?a?a) skipped */
			__u32 vl = b[body];
			for (__u32 k = 0; k < 16; k++) {
				if (2 * k + 2 > vl || b + body + 3 + 2 * k > end)
					break;
				__u16 v = pl_be16(b + body + 1 + 2 * k);
				if ((v & 0x0f0f) != 0x0a0a && v > t->max_version)
					t->max_version = v;
			}
		}
		off = body + elen;
	}
	return PL_L7E_OK;
}

#endif
