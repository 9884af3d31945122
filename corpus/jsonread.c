/*
 * jsonread.c — recursive-descent JSON reader (RFC 8259) for expected.json.
 * Recursion is bounded by JV_MAX_DEPTH, strings decode \uXXXX (with
 * surrogate pairs) to UTF-8, and every read is checked against the end.
 */
#include "jsonread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rd {
	const char *p, *end;
	char *err;
	size_t errsz;
	bool failed;
};

static void fail(struct rd *r, const char *what)
{
	if (!r->failed)
		snprintf(r->err, r->errsz, "%s", what);
	r->failed = true;
}

static void ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool lit(struct rd *r, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n))
		return false;
	r->p += n;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex4(struct rd *r, unsigned *out)
{
	if (r->end - r->p < 4)
		return false;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(r->p[i]);
		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
	}
	r->p += 4;
	*out = v;
	return true;
}

static size_t put_utf8(char *o, unsigned c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static char *string(struct rd *r)
{
	/* Caller saw the opening quote.  Output is never longer than input. */
	const char *start = r->p;
	size_t cap = (size_t)(r->end - start) + 1;
	char *o = malloc(cap);
	size_t k = 0;
	if (!o) {
		fail(r, "out of memory");
		return NULL;
	}
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		if (c < 0x20) {
			fail(r, "control character in string");
			break;
		}
		if (c != '\\') {
			o[k++] = (char)c;
			continue;
		}
		if (r->p >= r->end) {
			fail(r, "unterminated escape");
			break;
		}
		char e = *r->p++;
		unsigned u, lo;
		switch (e) {
		case '"': o[k++] = '"'; break;
		case '\\': o[k++] = '\\'; break;
		case '/': o[k++] = '/'; break;
		case 'b': o[k++] = '\b'; break;
		case 'f': o[k++] = '\f'; break;
		case 'n': o[k++] = '\n'; break;
		case 'r': o[k++] = '\r'; break;
		case 't': o[k++] = '\t'; break;
		case 'u':
			if (!hex4(r, &u)) {
				fail(r, "bad \\u escape");
				break;
			}
			if (u >= 0xd800 && u < 0xdc00 && lit(r, "\\u") && hex4(r, &lo) &&
			    lo >= 0xdc00 && lo < 0xe000)
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			/* "\uXXXX" is 6 input bytes; its UTF-8 is at most 4. */
			k += put_utf8(o + k, u);
			break;
		default:
			fail(r, "bad escape");
		}
		if (r->failed)
			break;
	}
	if (!r->failed && r->p >= r->end)
		fail(r, "unterminated string");
	if (r->failed) {
		free(o);
		return NULL;
	}
	r->p++;
	o[k] = '\0';
	return o;
}

static void value(struct rd *r, struct jv *v, int depth);

static void add_member(struct rd *r, struct jv *v, char *key)
{
	if (v->n % 8 == 0) {
		struct jv *nk = realloc(v->kid, (size_t)(v->n + 8) * sizeof *nk);
		if (!nk) {
			free(key);
			fail(r, "out of memory");
			return;
		}
		v->kid = nk;
		if (v->t == JV_OBJ) {
			char **nkey = realloc(v->key, (size_t)(v->n + 8) * sizeof *nkey);
			if (!nkey) {
				free(key);
				fail(r, "out of memory");
				return;
			}
			v->key = nkey;
		}
	}
	memset(&v->kid[v->n], 0, sizeof v->kid[0]);
	if (v->t == JV_OBJ)
		v->key[v->n] = key;
	v->n++;
}

static void container(struct rd *r, struct jv *v, int depth, char close)
{
	ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return;
	}
	for (;;) {
		char *key = NULL;
		ws(r);
		if (v->t == JV_OBJ) {
			if (r->p >= r->end || *r->p != '"') {
				fail(r, "expected a member name");
				return;
			}
			r->p++;
			if (!(key = string(r)))
				return;
			ws(r);
			if (r->p >= r->end || *r->p != ':') {
				free(key);
				fail(r, "expected ':'");
				return;
			}
			r->p++;
		}
		add_member(r, v, key);
		if (r->failed)
			return;
		value(r, &v->kid[v->n - 1], depth + 1);
		if (r->failed)
			return;
		ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return;
		}
		fail(r, "expected ',' or a closing bracket");
		return;
	}
}

static void number(struct rd *r, struct jv *v)
{
	const char *s = r->p;
	bool frac = false;
	if (r->p < r->end && *r->p == '-')
		r->p++;
	while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
				 *r->p == 'E' || *r->p == '+' || *r->p == '-')) {
		if (*r->p == '.' || *r->p == 'e' || *r->p == 'E')
			frac = true;
		r->p++;
	}
	char buf[64];
	size_t n = (size_t)(r->p - s);
	if (n == 0 || n >= sizeof buf) {
		fail(r, "bad number");
		return;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *endp;
	v->t = JV_NUM;
	v->num = strtod(buf, &endp);
	if (*endp) {
		fail(r, "bad number");
		return;
	}
	if (!frac) {
		v->is_int = true;
		v->i = strtoll(buf, NULL, 10);
	}
}

static void value(struct rd *r, struct jv *v, int depth)
{
	if (depth > JV_MAX_DEPTH) {
		fail(r, "nesting too deep");
		return;
	}
	ws(r);
	if (r->p >= r->end) {
		fail(r, "unexpected end");
		return;
	}
	char c = *r->p;
	if (c == '{' || c == '[') {
		r->p++;
		v->t = c == '{' ? JV_OBJ : JV_ARR;
		container(r, v, depth, c == '{' ? '}' : ']');
	} else if (c == '"') {
		r->p++;
		v->t = JV_STR;
		v->s = string(r);
	} else if (lit(r, "null")) {
		v->t = JV_NULL;
	} else if (lit(r, "true")) {
		v->t = JV_BOOL;
		v->b = true;
	} else if (lit(r, "false")) {
		v->t = JV_BOOL;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		number(r, v);
	} else {
		fail(r, "unexpected character");
	}
}

static void jv_clear(struct jv *v)
{
	for (int i = 0; i < v->n; i++) {
		jv_clear(&v->kid[i]);
		if (v->key)
			free(v->key[i]);
	}
	free(v->kid);
	free(v->key);
	free(v->s);
}

void jv_free(struct jv *v)
{
	if (!v)
		return;
	jv_clear(v);
	free(v);
}

struct jv *jv_parse(const char *text, size_t n, char *err, size_t errsz)
{
	struct rd r = { text, text + n, err, errsz, false };
	struct jv *v = calloc(1, sizeof *v);
	if (!v) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	value(&r, v, 0);
	ws(&r);
	if (!r.failed && r.p != r.end)
		fail(&r, "trailing characters");
	if (r.failed) {
		jv_free(v);
		return NULL;
	}
	return v;
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
	if (!obj || obj->t != JV_OBJ)
		return NULL;
	for (int i = 0; i < obj->n; i++)
		if (!strcmp(obj->key[i], key))
			return &obj->kid[i];
	return NULL;
}
