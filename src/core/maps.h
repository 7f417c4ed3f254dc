/* The one map layer: whole-map reads (batches, else get_next_key) and per-CPU sums, for every reader. */
#ifndef PKTLENS_MAPS_H
#define PKTLENS_MAPS_H

#include <stddef.h>
#include <stdint.h>

/*
 * How the values of a per-CPU map add up: as 64-bit or 32-bit words (every
 * counter struct of include/shared is made of one or the other), or not at
 * all for a map that is not per-CPU.
 */
enum maps_sum {
	MAPS_PLAIN = 0,
	MAPS_SUM_U64,
	MAPS_SUM_U32,
};

/* One map to read: its fd, key and value sizes (one CPU's value for a per-CPU map). */
struct maps_desc {
	int fd;
	size_t ksz, vsz;
	enum maps_sum sum;
};

struct bpf_object;
/* fd of the object's map called name, -1 when there is none (or no object). */
int maps_fd(struct bpf_object *obj, const char *name);

/* Possible CPUs, as the kernel sizes per-CPU values (libbpf_num_possible_cpus), at least 1. */
int maps_ncpu(void);
/* The map's max_entries, 0 when the fd is not a map. */
size_t maps_max_entries(int fd);

/*
 * Calls fn with the entries of the whole map, a batch at a time (at most
 * MAPS_CHUNK entries each), so a table of any size is read in bounded
 * memory. Per-CPU values arrive summed. A map that changes while it is read
 * may yield a key twice or miss a new one; the next reading corrects that.
 * fn returns non-zero to stop. Returns the entries passed to fn, or -errno
 * when not even the first entry could be read.
 */
#define MAPS_CHUNK 4096
typedef int (*maps_chunk_fn)(void *ctx, const void *keys, const void *vals, size_t n);
long maps_for_each(const struct maps_desc *m, maps_chunk_fn fn, void *ctx);

/* Up to max entries into keys and vals (max * ksz and max * vsz bytes); returns the count. */
size_t maps_read_all(const struct maps_desc *m, void *keys, void *vals, size_t max);

/*
 * The whole map into arrays that grow as needed (*keys, *vals hold *cap
 * entries; realloc'd, the caller frees them); returns the count, or -ENOMEM
 * with what was read so far dropped. Readers of small maps use this.
 */
long maps_read_grow(const struct maps_desc *m, void **keys, void **vals, size_t *cap);

/* One per-CPU value (array index or hash key) summed into sum (vsz bytes); 0 or -errno. */
int maps_lookup_sum(const struct maps_desc *m, const void *key, void *sum);

/* Tests: 0 makes every read use get_next_key, as on a kernel without batch operations. */
void maps_set_batch(int on);

#endif
