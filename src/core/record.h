/* Recordings of snapshots (--record) and reading them back (--replay): a versioned, zlib-compressed file. */
#ifndef PKTLENS_RECORD_H
#define PKTLENS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/snapshot.h"

/*
 * The file: a header (magic "PKTLREC\n", format version, byte order, the
 * sizes of the recorded structures, the pktlens version that wrote it),
 * then one frame per snapshot: "FRAM", compressed and plain lengths, the
 * CRC-32 of the plain bytes, then the zlib stream. A frame is written with
 * one write(), so a recording cut by a crash ends after its last whole
 * snapshot. The plain bytes are sections (tag, element size, count, the
 * elements): the snapshot's own structures, with the pointers left out.
 *
 * Why not the JSON lines: they do not carry what the panes need (every
 * flow and its key for the drill-down's socket and latency lookups, the
 * drop reasons' histories, 256 HTTP transactions, every process and
 * socket: --json cuts all of these), and reading them back would need a
 * JSON parser and a second mapping of every key, kept in step with the
 * writer. The sections are the snapshot itself, so a replay shows exactly
 * what the live run showed, and `--replay FILE --json` prints exactly the
 * JSON the live run printed.
 *
 * The structures' sizes are in the header: a recording whose layout
 * differs from this build's (another pktlens version) is refused with the
 * version that wrote it. A section added later has size 0 in an older
 * recording's header: that recording is read without it (format 1, before
 * the security model's alerts, firewall and detection were recorded,
 * replays with those empty). REC_FORMAT changes when the framing changes:
 * format 2 appended the sizes of section tags 16-31 to the header (192
 * bytes; format 1's 128 are its start). This pktlens reads formats 1 and 2
 * and writes 2; an older one refuses format 2 in one sentence.
 */
#define REC_FORMAT 2

struct recorder;

/*
 * Creates or truncates path (no symlink, the invoker's file; a new file is
 * the invoker's, mode 0600) and writes the header. NULL with one sentence
 * in err on failure.
 */
struct recorder *recorder__open(const char *path, const char *version, char *err, size_t errlen);
/* Appends one snapshot. Returns 0 or -errno (one sentence in err). */
int recorder_write(struct recorder *r, const struct snapshot *s, char *err, size_t errlen);
/* Snapshots written, and compressed bytes of the file so far. */
uint64_t recorder_frames(const struct recorder *r);
uint64_t recorder_bytes(const struct recorder *r);
void recorder__free(struct recorder *r);

struct recording;

/*
 * Reads and checks a whole recording: every frame decompressed, its
 * checksum and every section checked. NULL with one sentence in err
 * ("FILE: truncated in snapshot 12 ...") when anything is wrong.
 */
struct recording *recording__open(const char *path, char *err, size_t errlen);
/* The same over bytes in memory (copied); name is what err calls them. */
struct recording *recording__from_buffer(const void *buf, size_t len, const char *name, char *err,
					 size_t errlen);
size_t recording_count(const struct recording *r);
/* The pktlens version that wrote it. */
const char *recording_version(const struct recording *r);
/* Frame i's pktlens uptime (seconds) and wall-clock time (ns since the epoch). */
double recording_uptime(const struct recording *r, size_t i);
int64_t recording_time_ns(const struct recording *r, size_t i);
/*
 * Frame i as a new snapshot (caller owns the reference), with the flows'
 * rate and TCP histories rebuilt from the frames before it. NULL when out
 * of memory.
 */
struct snapshot *recording_snapshot(struct recording *r, size_t i);
void recording__free(struct recording *r);

#endif
