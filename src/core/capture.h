/* Packet capture to pcapng: -w (every packet -f selects) and single flows (the TUI's w key). */
#ifndef PKTLENS_CAPTURE_H
#define PKTLENS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "shared/flow.h"

struct engine;
struct snapshot;
struct capture;

/*
 * Reads the engine's capture ring (the engine was made with opts.capture). path: -w FILE,
 * "-" for standard output, NULL for none (flows only). filter: -f, applied to each packet as
 * tcpdump would. Opens the file at once (call before privileges are dropped).
 */
struct capture *capture__new(struct engine *e, const char *path, const char *filter,
			     unsigned snaplen, char *err, size_t errlen);
/* The ring's fd for epoll; capture_poll() takes what is there. */
int capture_fd(const struct capture *c);
void capture_poll(struct capture *c);
/*
 * Writes the packets that arrived before the engine's reading s (made after them), each with
 * its owner as the processes model found it in that reading; all != 0 writes everything
 * (exit). Returns 0, or -errno of -w's file (EPIPE: its reader went away).
 */
int capture_flush(struct capture *c, const struct snapshot *s, int all);
/*
 * The TUI's key: starts writing the flow into a new file in the current directory, or stops
 * when it is being written. One sentence in msg either way ("writing ... to FILE", "wrote N
 * packets ... to FILE"); returns 0, or -errno with the reason in msg.
 */
int capture_flow_toggle(struct capture *c, const struct flow_key *key, char *msg, size_t msglen);
/* "N packets written to FILE, M lost" (-w), for the end of the run; "" without -w. */
void capture_summary(struct capture *c, char *buf, size_t len);
void capture__free(struct capture *c);

/* The comment of a packet: "pid=N comm=NAME [cgroup=PATH]", names escaped; "" without pid. */
void capture_comment(char *buf, size_t len, uint32_t pid, const char *comm, const char *cgroup);
/* The flow key of a captured frame as the packet programs make it (dir: enum pl_dir);
 * 0, or -1 when it carries no IP flow. */
int capture_frame_key(const uint8_t *data, uint32_t len, uint32_t ifindex, int dir,
		      struct flow_key *key);

#endif
