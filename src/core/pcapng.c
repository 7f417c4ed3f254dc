/* pcapng writer (draft-ietf-opsawg-pcapng): host byte order, nanosecond stamps, whole blocks per write(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/pcapng.h"

#define BT_SHB 0x0A0D0D0A
#define BT_IDB 0x00000001
#define BT_EPB 0x00000006
#define BYTE_ORDER_MAGIC 0x1A2B3C4D

#define OPT_END 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9
#define EPB_FLAGS 2

#define PAD4(n) (((n) + 3) & ~(size_t)3)

struct blk {
	uint8_t *buf;
	size_t cap, len;
	int full;
};

static void put(struct blk *b, const void *p, size_t n)
{
	if (b->full || b->len + n > b->cap) {
		b->full = 1;
		return;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void put32(struct blk *b, uint32_t v)
{
	put(b, &v, 4);
}

static void put16(struct blk *b, uint16_t v)
{
	put(b, &v, 2);
}

static void pad(struct blk *b)
{
	static const uint8_t zero[4];
	put(b, zero, PAD4(b->len) - b->len);
}

static void opt(struct blk *b, uint16_t code, const void *v, size_t n)
{
	if (n > 0xffff) {
		b->full = 1;
		return;
	}
	put16(b, code);
	put16(b, (uint16_t)n);
	put(b, v, n);
	pad(b);
}

static void opt_str(struct blk *b, uint16_t code, const char *s)
{
	if (s && *s)
		opt(b, code, s, strlen(s));
}

/* Starts a block: type and a length filled in by finish(). */
static void start(struct blk *b, uint8_t *buf, size_t cap, uint32_t type)
{
	*b = (struct blk){ buf, cap, 0, 0 };
	put32(b, type);
	put32(b, 0);
}

static size_t finish(struct blk *b, int options)
{
	if (options) {
		put16(b, OPT_END);
		put16(b, 0);
	}
	uint32_t total = (uint32_t)(b->len + 4);
	put32(b, total);
	if (b->full)
		return 0;
	memcpy(b->buf + 4, &total, 4);
	return b->len;
}

size_t pcapng_shb(uint8_t *buf, size_t cap, const char *appl)
{
	struct blk b;
	start(&b, buf, cap, BT_SHB);
	put32(&b, BYTE_ORDER_MAGIC);
	put16(&b, 1);		       /* major */
	put16(&b, 0);		       /* minor */
	uint64_t unknown = UINT64_MAX; /* section length: not known in advance (a stream) */
	put(&b, &unknown, 8);
	opt_str(&b, SHB_USERAPPL, appl);
	return finish(&b, appl && *appl);
}

size_t pcapng_idb(uint8_t *buf, size_t cap, uint16_t linktype, uint32_t snaplen, const char *name,
		  const char *descr)
{
	struct blk b;
	start(&b, buf, cap, BT_IDB);
	put16(&b, linktype);
	put16(&b, 0);
	put32(&b, snaplen);
	opt_str(&b, IF_NAME, name);
	opt_str(&b, IF_DESCRIPTION, descr);
	uint8_t tsresol = 9; /* 10^-9 s */
	opt(&b, IF_TSRESOL, &tsresol, 1);
	return finish(&b, 1);
}

size_t pcapng_epb(uint8_t *buf, size_t cap, uint32_t if_id, uint64_t ts_ns, const void *data,
		  uint32_t cap_len, uint32_t orig_len, uint32_t flags, const char *comment)
{
	struct blk b;
	start(&b, buf, cap, BT_EPB);
	put32(&b, if_id);
	put32(&b, (uint32_t)(ts_ns >> 32));
	put32(&b, (uint32_t)ts_ns);
	put32(&b, cap_len);
	put32(&b, orig_len);
	put(&b, data, cap_len);
	pad(&b);
	int options = 0;
	if (comment && *comment) {
		opt_str(&b, OPT_COMMENT, comment);
		options = 1;
	}
	if (flags) {
		opt(&b, EPB_FLAGS, &flags, 4);
		options = 1;
	}
	return finish(&b, options);
}

struct pcapng {
	int fd;
	int err;
	uint64_t packets;
	struct {
		uint32_t ifindex;
		int id;
	} ifs[64];
	int n_ifs;
	uint8_t *buf;
	size_t cap;
};

/* One block, one write() (again for what a short write left): a reader or a kill between two
 * blocks never sees half a block from an interrupted write of ours. */
static int write_block(struct pcapng *w, const uint8_t *p, size_t n)
{
	if (w->err)
		return w->err;
	while (n) {
		ssize_t r = write(w->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->err = r < 0 ? -errno : -EIO;
			return w->err;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

struct pcapng *pcapng__new(int fd, const char *appl, char *err, size_t errlen)
{
	struct pcapng *w = calloc(1, sizeof(*w));
	if (w)
		w->cap = PCAPNG_EPB_MAX(65536, 512);
	if (!w || !(w->buf = malloc(w->cap))) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->fd = fd;
	size_t n = pcapng_shb(w->buf, w->cap, appl);
	if (!n || write_block(w, w->buf, n)) {
		snprintf(err, errlen, "cannot write the capture file: %s",
			 strerror(w->err ? -w->err : EINVAL));
		w->fd = -1;
		pcapng__free(w);
		return NULL;
	}
	return w;
}

int pcapng_iface(struct pcapng *w, uint32_t ifindex, uint16_t linktype, uint32_t snaplen,
		 const char *name, const char *descr)
{
	for (int i = 0; i < w->n_ifs; i++)
		if (w->ifs[i].ifindex == ifindex)
			return w->ifs[i].id;
	if (w->n_ifs == (int)(sizeof(w->ifs) / sizeof(w->ifs[0])))
		return -1;
	size_t n = pcapng_idb(w->buf, w->cap, linktype, snaplen, name, descr);
	if (!n || write_block(w, w->buf, n))
		return -1;
	w->ifs[w->n_ifs].ifindex = ifindex;
	w->ifs[w->n_ifs].id = w->n_ifs;
	return w->n_ifs++;
}

int pcapng_packet(struct pcapng *w, uint32_t if_id, uint64_t ts_ns, const void *data,
		  uint32_t cap_len, uint32_t orig_len, uint32_t flags, const char *comment)
{
	size_t n =
	    pcapng_epb(w->buf, w->cap, if_id, ts_ns, data, cap_len, orig_len, flags, comment);
	if (!n)
		return w->err ? w->err : -EMSGSIZE;
	int ret = write_block(w, w->buf, n);
	if (!ret)
		w->packets++;
	return ret;
}

uint64_t pcapng_written(const struct pcapng *w)
{
	return w->packets;
}

int pcapng_error(const struct pcapng *w)
{
	return w->err;
}

void pcapng__free(struct pcapng *w)
{
	if (!w)
		return;
	if (w->fd > STDERR_FILENO)
		close(w->fd);
	free(w->buf);
	free(w);
}
