/* json.c — streaming JSON writer; see json.h. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

void jw_init(struct jw *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t k;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) { k = 2; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { k = 3; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { k = 4; cp = c & 0x07; }
	else return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k;
}

void json_write_string(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f); i++;
		} else if (c == '\t') {
			fputs("\\t", f); i++;
		} else if (c == '\r') {
			fputs("\\r", f); i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c); i++;
		} else if (c < 0x80) {
			fputc((int)c, f); i++;
		} else {
			size_t k = utf8_len(s + i, n - i);
			if (k) {
				fwrite(s + i, 1, k, f);
				i += k;
			} else {
				fprintf(f, "\\u%04x", c);  /* a lone byte, shown as U+00XX */
				i++;
			}
		}
	}
	fputc('"', f);
}

static void sep(struct jw *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		json_write_string(j->f, key, strlen(key));
		fputc(':', j->f);
	}
}

static void push(struct jw *j, const char *key, int open)
{
	sep(j, key);
	fputc(open, j->f);
	if (j->depth < JW_MAX_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
}

void jw_obj_begin(struct jw *j, const char *key) { push(j, key, '{'); }
void jw_arr_begin(struct jw *j, const char *key) { push(j, key, '['); }
void jw_obj_end(struct jw *j) { if (j->depth) j->depth--; fputc('}', j->f); }
void jw_arr_end(struct jw *j) { if (j->depth) j->depth--; fputc(']', j->f); }

void jw_strn(struct jw *j, const char *key, const char *v, size_t n)
{
	sep(j, key);
	json_write_string(j->f, v, n);
}

void jw_str(struct jw *j, const char *key, const char *v)
{
	if (!v) {
		jw_null(j, key);
		return;
	}
	jw_strn(j, key, v, strlen(v));
}

void jw_int(struct jw *j, const char *key, int64_t v) { sep(j, key); fprintf(j->f, "%lld", (long long)v); }
void jw_uint(struct jw *j, const char *key, uint64_t v) { sep(j, key); fprintf(j->f, "%llu", (unsigned long long)v); }
void jw_double(struct jw *j, const char *key, double v)
{
	if (v != v || v - v != 0) {
		jw_null(j, key);
		return;
	}
	char buf[40];
	json_format_double(buf, sizeof buf, v);
	sep(j, key);
	fputs(buf, j->f);
}

void json_format_double(char *buf, size_t n, double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void jw_bool(struct jw *j, const char *key, bool v) { sep(j, key); fputs(v ? "true" : "false", j->f); }
void jw_null(struct jw *j, const char *key) { sep(j, key); fputs("null", j->f); }

void jw_hex(struct jw *j, const char *key, const uint8_t *p, size_t n)
{
	sep(j, key);
	fputc('"', j->f);
	for (size_t i = 0; i < n; i++)
		fprintf(j->f, "%02x", p[i]);
	fputc('"', j->f);
}

void jw_finish(struct jw *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
