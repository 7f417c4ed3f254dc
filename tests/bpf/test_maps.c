/* The map layer against real kernel maps: every entry read once, per-CPU values summed, both read paths. */

/*
 * Each case creates its own maps (hash, LRU hash, per-CPU hash, array,
 * per-CPU array) with bpf_map_create, fills them with values the test
 * computes, and reads them back through src/core/maps.c twice: with batch
 * operations and with get_next_key (maps_set_batch(0)), as on a kernel that
 * has no batches. The expected sums are the test's own arithmetic. Without
 * permission to create maps every case is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/maps.h"

struct key {
	uint32_t id;
	uint8_t pad[40]; /* an odd size like flow_key's 44 */
};

struct val {
	uint64_t a, b;
	uint64_t c[3];
};

struct val32 {
	uint32_t bucket[5]; /* 20 bytes: per-CPU values are padded to 24 by the kernel */
};

static int make_map(enum bpf_map_type t, size_t ksz, size_t vsz, unsigned max)
{
	int fd = bpf_map_create(t, NULL, (__u32)ksz, (__u32)vsz, max, NULL);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		fprintf(stderr, "skipped: creating BPF maps refused (%s)\n", strerror(errno));
		skip();
	}
	assert_true(fd >= 0);
	return fd;
}

/* Every CPU gets its own value: cpu c of entry id holds id * 1000 + c + word. */
static void put_percpu(int fd, const void *key, size_t vsz, uint32_t id, int words64)
{
	int ncpu = maps_ncpu();
	size_t per = (vsz + 7) & ~(size_t)7;
	unsigned char *buf = calloc((size_t)ncpu, per);
	assert_non_null(buf);
	for (int c = 0; c < ncpu; c++) {
		if (words64) {
			for (size_t w = 0; w < vsz / 8; w++) {
				uint64_t v = (uint64_t)id * 1000 + (uint64_t)c + w;
				memcpy(buf + (size_t)c * per + w * 8, &v, 8);
			}
		} else {
			for (size_t w = 0; w < vsz / 4; w++) {
				uint32_t v = id * 1000 + (uint32_t)c + (uint32_t)w;
				memcpy(buf + (size_t)c * per + w * 4, &v, 4);
			}
		}
	}
	assert_int_equal(bpf_map_update_elem(fd, key, buf, BPF_ANY), 0);
	free(buf);
}

static uint64_t want_sum(uint32_t id, size_t w)
{
	int ncpu = maps_ncpu();
	uint64_t s = 0;
	for (int c = 0; c < ncpu; c++)
		s += (uint64_t)id * 1000 + (uint64_t)c + w;
	return s;
}

struct seen {
	unsigned char *hits; /* per id */
	size_t n, bad, calls, biggest;
	int percpu;
};

static int check_chunk(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct seen *s = ctx;
	const struct key *k = keys;
	const struct val *v = vals;
	s->calls++;
	if (n > s->biggest)
		s->biggest = n;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = k[i].id;
		s->hits[id]++;
		s->n++;
		if (s->percpu) {
			if (v[i].a != want_sum(id, 0) || v[i].c[2] != want_sum(id, 4))
				s->bad++;
		} else if (v[i].a != id || v[i].b != (uint64_t)id * 3 || v[i].c[2] != id + 7) {
			s->bad++;
		}
	}
	return 0;
}

/* A hash map of n entries read whole, with batches and without: each entry exactly once. */
static void read_hash(enum bpf_map_type t, unsigned max, uint32_t n, int percpu)
{
	int fd = make_map(t, sizeof(struct key), sizeof(struct val), max);
	for (uint32_t id = 0; id < n; id++) {
		struct key k = { .id = id };
		if (percpu) {
			put_percpu(fd, &k, sizeof(struct val), id, 1);
		} else {
			struct val v = { .a = id, .b = (uint64_t)id * 3, .c = { 0, 0, id + 7 } };
			assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST), 0);
		}
	}
	struct maps_desc m = { fd, sizeof(struct key), sizeof(struct val),
			       percpu ? MAPS_SUM_U64 : MAPS_PLAIN };
	for (int batch = 1; batch >= 0; batch--) {
		struct seen s = { .hits = calloc(n + 1, 1), .percpu = percpu };
		assert_non_null(s.hits);
		maps_set_batch(batch);
		long got = maps_for_each(&m, check_chunk, &s);
		maps_set_batch(1);
		assert_int_equal(got, n);
		assert_int_equal(s.n, n);
		assert_int_equal(s.bad, 0);
		for (uint32_t id = 0; id < n; id++)
			assert_int_equal(s.hits[id], 1);
		assert_true(s.biggest <= MAPS_CHUNK);
		if (n > MAPS_CHUNK)
			assert_true(s.calls >= 2);
		free(s.hits);
	}
	close(fd);
}

static void test_hash_batches(void **state)
{
	(void)state;
	read_hash(BPF_MAP_TYPE_HASH, 16384, 10000, 0); /* three batches */
	read_hash(BPF_MAP_TYPE_HASH, 64, 0, 0);	       /* empty */
	read_hash(BPF_MAP_TYPE_HASH, 64, 1, 0);
}

static void test_lru_hash(void **state)
{
	(void)state;
	read_hash(BPF_MAP_TYPE_LRU_HASH, 8192, 5000, 0);
}

static void test_percpu_hash_sums(void **state)
{
	(void)state;
	read_hash(BPF_MAP_TYPE_PERCPU_HASH, 8192, 5000, 1);
}

/* Arrays: every index is an entry; per-CPU 32-bit words are summed inside a padded value. */
static void test_percpu_array_u32(void **state)
{
	(void)state;
	int fd = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct val32), 3);
	for (uint32_t id = 0; id < 3; id++)
		put_percpu(fd, &id, sizeof(struct val32), id + 1, 0);
	struct maps_desc m = { fd, 4, sizeof(struct val32), MAPS_SUM_U32 };
	for (uint32_t id = 0; id < 3; id++) {
		struct val32 v;
		memset(&v, 0xee, sizeof(v));
		assert_int_equal(maps_lookup_sum(&m, &id, &v), 0);
		for (size_t w = 0; w < 5; w++)
			assert_int_equal(v.bucket[w], (uint32_t)want_sum(id + 1, w));
	}
	for (int batch = 1; batch >= 0; batch--) {
		uint32_t keys[8];
		struct val32 vals[8];
		maps_set_batch(batch);
		size_t n = maps_read_all(&m, keys, vals, 8);
		maps_set_batch(1);
		assert_int_equal(n, 3);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(vals[i].bucket[4], (uint32_t)want_sum(keys[i] + 1, 4));
	}
	uint32_t bad = 3;
	struct val32 v;
	assert_int_equal(maps_lookup_sum(&m, &bad, &v), -ENOENT);
	close(fd);
}

/* Growing arrays and a bounded read: max cuts the read, the grown arrays hold all. */
static void test_read_grow_and_max(void **state)
{
	(void)state;
	int fd = make_map(BPF_MAP_TYPE_HASH, sizeof(struct key), sizeof(struct val), 8192);
	for (uint32_t id = 0; id < 5000; id++) {
		struct key k = { .id = id };
		struct val v = { .a = id };
		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST), 0);
	}
	struct maps_desc m = { fd, sizeof(struct key), sizeof(struct val), MAPS_PLAIN };
	for (int batch = 1; batch >= 0; batch--) {
		void *keys = NULL, *vals = NULL;
		size_t cap = 0;
		maps_set_batch(batch);
		long n = maps_read_grow(&m, &keys, &vals, &cap);
		assert_int_equal(n, 5000);
		assert_true(cap >= 5000);
		uint64_t sum = 0;
		for (long i = 0; i < n; i++) {
			const struct key *k = (const struct key *)keys + i;
			const struct val *v = (const struct val *)vals + i;
			assert_int_equal(v->a, k->id);
			sum += k->id;
		}
		assert_int_equal(sum, 4999ULL * 5000 / 2);
		struct key few_k[10];
		struct val few_v[10];
		assert_int_equal(maps_read_all(&m, few_k, few_v, 10), 10);
		maps_set_batch(1);
		free(keys);
		free(vals);
	}
	assert_int_equal(maps_max_entries(fd), 8192);
	close(fd);
	struct maps_desc gone = { -1, 4, 8, MAPS_PLAIN };
	assert_true(maps_for_each(&gone, check_chunk, NULL) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_batches),	  cmocka_unit_test(test_lru_hash),
		cmocka_unit_test(test_percpu_hash_sums),  cmocka_unit_test(test_percpu_array_u32),
		cmocka_unit_test(test_read_grow_and_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
