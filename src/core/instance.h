/* Which pktlens is alive: each running instance holds a lock on /run/pktlens/PID, and lists there what it owns. */
#ifndef PKTLENS_INSTANCE_H
#define PKTLENS_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_RUN_DIR "/run/pktlens"

/*
 * Creates /run/pktlens/PID (the directory must be root's own, 0700, not a
 * symlink) and holds an exclusive flock on it until instance_end() or the
 * process dies. A file there whose lock nobody holds belongs to a pktlens
 * that died. Returns 0, or -errno with one sentence in err.
 * dir overrides PL_RUN_DIR (tests); NULL for the real one.
 */
int instance_start(const char *dir, char *err, size_t errlen);
/* Unlinks this instance's file and releases the lock. Safe to call twice. */
void instance_end(void);

/*
 * Records that this instance owns the BPF program with this id (written
 * before the program is attached anywhere, so that another pktlens that
 * finds it attached always sees the claim). Claims only grow.
 */
int instance_claim_prog(uint32_t prog_id);

/*
 * The same for a program that outlives its instance where it is attached
 * (an freplace program pinned in libxdp's dispatcher): while such a
 * program exists, the file of its instance stays after a crash, as the
 * proof of whose it is (see instance_sweep_dead()).
 */
int instance_claim_xdp(uint32_t prog_id);

/* A live instance other than this one claims the program: returns its pid, else 0. */
int instance_prog_owner(uint32_t prog_id);
/* The file of a pktlens that died claims the program: returns that pid, else 0. */
int instance_dead_owner(uint32_t prog_id);
/* This process took the program off its hook: it no longer keeps its dead owner's file. */
void instance_prog_removed(uint32_t prog_id);
/* How instance_sweep_dead() asks whether a program still exists (tests replace it). */
void instance_set_prog_exists(bool (*fn)(uint32_t prog_id));
/* This instance claimed the program. */
bool instance_owns_prog(uint32_t prog_id);

/* pid had a pktlens instance file that nobody holds any more: a pktlens that died. */
bool instance_pid_dead(unsigned pid);

/*
 * Removes the files of dead instances (exact names PID only), except one
 * whose XDP claims (instance_claim_xdp) name a program that still exists
 * and that this process did not remove: it still proves whose that
 * program is, e.g. in a dispatcher of another network namespace. Call
 * after their leftovers went.
 */
void instance_sweep_dead(void);

/* "PID", the exact form of an instance file name; 0 for anything else. */
unsigned instance_name_pid(const char *name);

#endif
