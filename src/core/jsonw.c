/* The JSON writer: commas and nesting in one place, typed members, rows written from field tables. */
#include <inttypes.h>
#include <string.h>

#include "core/escape.h"
#include "core/jsonw.h"

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

/* The comma and the key of the next member. */
static void member(struct jw *w, const char *key)
{
	if (w->members[w->depth]++)
		fputc(',', w->f);
	if (key) {
		/* keys are this program's literals: no escaping needed */
		fputc('"', w->f);
		fputs(key, w->f);
		fputs("\":", w->f);
	}
}

static void open_(struct jw *w, const char *key, char c)
{
	member(w, key);
	fputc(c, w->f);
	if (w->depth < JW_DEPTH - 1)
		w->depth++;
	w->members[w->depth] = 0;
}

static void close_(struct jw *w, char c)
{
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj(struct jw *w, const char *key)
{
	open_(w, key, '{');
}

void jw_obj_end(struct jw *w)
{
	close_(w, '}');
}

void jw_arr(struct jw *w, const char *key)
{
	open_(w, key, '[');
}

void jw_arr_end(struct jw *w)
{
	close_(w, ']');
}

void jw_str(struct jw *w, const char *key, const char *v)
{
	member(w, key);
	json_write_string(w->f, v ? v : "");
}

void jw_strn(struct jw *w, const char *key, const char *v, size_t size)
{
	char buf[512];
	size_t n = strnlen(v, size < sizeof(buf) ? size : sizeof(buf) - 1);
	memcpy(buf, v, n);
	buf[n] = '\0';
	jw_str(w, key, buf);
}

void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	member(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

void jw_i64(struct jw *w, const char *key, int64_t v)
{
	member(w, key);
	fprintf(w->f, "%" PRId64, v);
}

void jw_num(struct jw *w, const char *key, double v)
{
	/* JSON has no NaN or infinity */
	if (v != v || v > 1e300 || v < -1e300)
		v = 0;
	member(w, key);
	fprintf(w->f, "%.3f", v);
}

void jw_bool(struct jw *w, const char *key, int v)
{
	member(w, key);
	fputs(v ? "true" : "false", w->f);
}

void jw_raw(struct jw *w, void (*fn)(FILE *f, const void *arg), const void *arg)
{
	fn(w->f, arg);
	w->members[w->depth]++;
}

void jw_fields(struct jw *w, const struct jf *t, size_t nf, const void *row)
{
	const unsigned char *base = row;
	for (size_t i = 0; i < nf; i++) {
		const struct jf *f = &t[i];
		const void *p = base + f->off;
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
		int32_t i32;
		double d;
		switch (f->kind) {
		case JFK_STR:
			jw_strn(w, f->key, p, f->size);
			break;
		case JFK_U8:
			memcpy(&u8, p, 1);
			jw_u64(w, f->key, u8);
			break;
		case JFK_U16:
			memcpy(&u16, p, 2);
			jw_u64(w, f->key, u16);
			break;
		case JFK_U32:
			memcpy(&u32, p, 4);
			jw_u64(w, f->key, u32);
			break;
		case JFK_U64:
			memcpy(&u64, p, 8);
			jw_u64(w, f->key, u64);
			break;
		case JFK_I32:
			memcpy(&i32, p, 4);
			jw_i64(w, f->key, i32);
			break;
		case JFK_F64:
			memcpy(&d, p, 8);
			jw_num(w, f->key, d);
			break;
		case JFK_BOOL:
			u64 = 0;
			memcpy(&u64, p, f->size <= 8 ? f->size : 8);
			jw_bool(w, f->key, u64 != 0);
			break;
		case JFK_FN:
			f->fn(w, f->key, row);
			break;
		}
	}
}

void jw_rows(struct jw *w, const char *key, const struct jf *t, size_t nf, const void *rows,
	     size_t stride, size_t n)
{
	jw_arr(w, key);
	for (size_t i = 0; i < n; i++) {
		jw_obj(w, NULL);
		jw_fields(w, t, nf, (const unsigned char *)rows + i * stride);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}
