/*
 * jsonread.h — a small JSON reader for expected.json (a DOM of struct jv).
 * Nesting is limited to JV_MAX_DEPTH; numbers keep their integer value
 * when they have no fraction or exponent.
 */
#ifndef WALDO_CORPUS_JSONREAD_H
#define WALDO_CORPUS_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>

#define JV_MAX_DEPTH 32

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
	enum jv_type t;
	bool b;
	bool is_int;
	long long i;
	double num;
	char *s;             /* JV_STR: NUL-terminated UTF-8 */
	int n;               /* JV_ARR / JV_OBJ: number of members */
	struct jv *kid;      /* members */
	char **key;          /* JV_OBJ: member names */
};

/* Parse text[0..n); NULL on error with a message in err. */
struct jv *jv_parse(const char *text, size_t n, char *err, size_t errsz);
void jv_free(struct jv *v);
/* Member of an object, or NULL. */
const struct jv *jv_get(const struct jv *obj, const char *key);

#endif
