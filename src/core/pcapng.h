/* pcapng writer: section header, interface and enhanced packet blocks, each written whole with one write(). */
#ifndef PKTLENS_PCAPNG_H
#define PKTLENS_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#define PCAPNG_LINKTYPE_ETHERNET 1
#define PCAPNG_LINKTYPE_RAW 101

/* epb_flags: direction in bits 0-1 */
#define PCAPNG_DIR_IN 0x1
#define PCAPNG_DIR_OUT 0x2

/*
 * Block encoders: build one block into buf (cap bytes) and return its length, or 0 when it does
 * not fit. Strings go in as given (the caller escapes untrusted bytes); lengths are padded to 4.
 */
size_t pcapng_shb(uint8_t *buf, size_t cap, const char *appl);
size_t pcapng_idb(uint8_t *buf, size_t cap, uint16_t linktype, uint32_t snaplen, const char *name,
		  const char *descr);
/* ts_ns: nanoseconds since the epoch (the IDBs say if_tsresol 9). */
size_t pcapng_epb(uint8_t *buf, size_t cap, uint32_t if_id, uint64_t ts_ns, const void *data,
		  uint32_t cap_len, uint32_t orig_len, uint32_t flags, const char *comment);
/* The largest EPB of a cap_len packet with a comment of comment_len bytes. */
#define PCAPNG_EPB_MAX(cap_len, comment_len) \
	(32 + (cap_len) + 3 + 4 + (comment_len) + 3 + 8 + 4 + 8)

struct pcapng;
/* A writer on fd (which it owns and closes, unless it is stdout); writes the section header. */
struct pcapng *pcapng__new(int fd, const char *appl, char *err, size_t errlen);
/* Interface id of ifindex in this file, writing its IDB the first time (-1 on a write error). */
int pcapng_iface(struct pcapng *w, uint32_t ifindex, uint16_t linktype, uint32_t snaplen,
		 const char *name, const char *descr);
/* One packet; 0, or -errno of the write (EPIPE: the reader went away). After an error every
 * later call fails the same way. */
int pcapng_packet(struct pcapng *w, uint32_t if_id, uint64_t ts_ns, const void *data,
		  uint32_t cap_len, uint32_t orig_len, uint32_t flags, const char *comment);
uint64_t pcapng_written(const struct pcapng *w); /* packets */
int pcapng_error(const struct pcapng *w);	 /* 0 or the first write's -errno */
void pcapng__free(struct pcapng *w);

#endif
