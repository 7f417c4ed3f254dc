/* A JSON writer that owns commas and nesting (bpftool's json_writer is the model), and field tables. */
#ifndef PKTLENS_JSONW_H
#define PKTLENS_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_DEPTH 16

/*
 * Every call names its key (NULL for a value inside an array) and the
 * writer puts the comma before it when the enclosing object or array has a
 * member already. Strings go through json_write_string (escape.c), the one
 * escaping function, so untrusted bytes can be passed as they are.
 */
struct jw {
	FILE *f;
	int depth;
	uint32_t members[JW_DEPTH]; /* written so far at each open level */
	const void *ctx;	    /* for field functions: what the rows belong to */
};

void jw_init(struct jw *w, FILE *f);
void jw_obj(struct jw *w, const char *key);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *v);
/* A char array of size bytes that need not hold a NUL. */
void jw_strn(struct jw *w, const char *key, const char *v, size_t size);
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
/* Three decimals, as every rate and time of the contract; NaN and infinities print 0. */
void jw_num(struct jw *w, const char *key, double v);
void jw_bool(struct jw *w, const char *key, int v);
/*
 * Hands the stream to a writer that does not know this one yet: fn writes
 * complete members of the current object, each with its own leading comma
 * (so only after a member this writer put there).
 */
void jw_raw(struct jw *w, void (*fn)(FILE *f, const void *arg), const void *arg);

/*
 * Field tables: one line per JSON member of a row type, so that a new field
 * is one line. JF_U64(struct flow_row, rx_bytes, "rx_bytes") checks at
 * compile time that the member has the size its type says.
 */
enum jf_kind {
	JFK_STR = 1, /* char array */
	JFK_U8,
	JFK_U16,
	JFK_U32,
	JFK_U64,
	JFK_I32,
	JFK_F64,
	JFK_BOOL, /* int or uint8_t: true when not 0 */
	JFK_FN,	  /* fn writes the member (named key) itself */
};

struct jf {
	const char *key;
	unsigned char kind;
	unsigned short size; /* the member's size */
	size_t off;
	void (*fn)(struct jw *w, const char *key, const void *row);
};

// clang-format off
/* one initializer a line reads best */
#define JF_CHECK_(T, m, n) (offsetof(T, m) + 0 * sizeof(char[sizeof(((T *)0)->m) == (n) ? 1 : -1]))
#define JF_STR(T, m, key) { key, JFK_STR, sizeof(((T *)0)->m), offsetof(T, m), NULL }
#define JF_U8(T, m, key) { key, JFK_U8, 1, JF_CHECK_(T, m, 1), NULL }
#define JF_U16(T, m, key) { key, JFK_U16, 2, JF_CHECK_(T, m, 2), NULL }
#define JF_U32(T, m, key) { key, JFK_U32, 4, JF_CHECK_(T, m, 4), NULL }
#define JF_U64(T, m, key) { key, JFK_U64, 8, JF_CHECK_(T, m, 8), NULL }
#define JF_I32(T, m, key) { key, JFK_I32, 4, JF_CHECK_(T, m, 4), NULL }
#define JF_F64(T, m, key) { key, JFK_F64, 8, JF_CHECK_(T, m, 8), NULL }
#define JF_BOOL(T, m, key) { key, JFK_BOOL, sizeof(((T *)0)->m), offsetof(T, m), NULL }
#define JF_FN(key, fn) { key, JFK_FN, 0, 0, fn }
// clang-format on
#define JF_COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* The members of one row, in table order, into the current object. */
void jw_fields(struct jw *w, const struct jf *t, size_t nf, const void *row);
/* key: [ {fields of row 0}, ... ] for n rows stride bytes apart. */
void jw_rows(struct jw *w, const char *key, const struct jf *t, size_t nf, const void *rows,
	     size_t stride, size_t n);

#endif
