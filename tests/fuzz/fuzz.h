/* Shared helpers of the libFuzzer targets: invariant checks that abort with a message. */
#ifndef PKTLENS_FUZZ_H
#define PKTLENS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * An invariant that does not hold is a finding like a crash: abort() makes
 * libFuzzer save the input as a crash-* artifact and stop, and the smoke run
 * in `make test` fails on it.
 */
#define FUZZ_CHECK(cond, ...)                                                                \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, \
				#cond);                                                      \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* A string field of a fixed-size array must end inside it. */
#define FUZZ_CHECK_STR(arr) FUZZ_CHECK(memchr((arr), 0, sizeof(arr)) != NULL, "%s", #arr)

/* Reads input as a sequence of fields; past the end every read yields zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);
	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* Takes up to want bytes; returns how many were available. */
static inline size_t fuzz_take(struct fuzz_in *in, const uint8_t **out, size_t want)
{
	size_t n = want < in->n ? want : in->n;
	*out = in->p;
	in->p += n;
	in->n -= n;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
