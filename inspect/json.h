/*
 * json.h — a small streaming JSON writer.  Keys are NULL inside arrays.
 * Strings are escaped so that the output is valid UTF-8 JSON whatever the
 * bytes given (invalid UTF-8 and control bytes become \u00XX escapes).
 */
#ifndef WALDO_JSON_H
#define WALDO_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 32

struct jw {
	FILE *f;
	int depth;
	bool first[JW_MAX_DEPTH];
};

void jw_init(struct jw *j, FILE *f);
void jw_obj_begin(struct jw *j, const char *key);
void jw_obj_end(struct jw *j);
void jw_arr_begin(struct jw *j, const char *key);
void jw_arr_end(struct jw *j);
void jw_str(struct jw *j, const char *key, const char *v);     /* NULL v writes null */
void jw_strn(struct jw *j, const char *key, const char *v, size_t n);
void jw_int(struct jw *j, const char *key, int64_t v);
void jw_uint(struct jw *j, const char *key, uint64_t v);
void jw_double(struct jw *j, const char *key, double v);    /* null when not finite */
void jw_bool(struct jw *j, const char *key, bool v);
void jw_null(struct jw *j, const char *key);
void jw_hex(struct jw *j, const char *key, const uint8_t *p, size_t n);  /* "0a1b…" */
/* Ends the top-level value with a newline. */
void jw_finish(struct jw *j);

/* The shortest decimal form of v that reads back as the same double. */
void json_format_double(char *buf, size_t n, double v);

/* Write s as a JSON string literal (with quotes) to f. */
void json_write_string(FILE *f, const char *s, size_t n);

#endif
