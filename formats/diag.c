/*
 * diag.c — the findings catalogue (generated from findings.def) and the
 * caller-owned diagnostic list.
 */
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct catalogue_row {
	const char *name;
	enum wd_severity sev;
	const char *repair;
	const char *summary;
	const char *action;
};

static const struct catalogue_row catalogue[WD__NCODES] = {
#define F(code, sev, repair, summary, action) { #code, WD_##sev, repair, summary, action },
#include "findings.def"
#undef F
};

static const struct catalogue_row *row(enum wd_code c)
{
	static const struct catalogue_row bad = { "UNKNOWN", WD_ERROR, "-", "unknown finding", "-" };
	return (unsigned)c < WD__NCODES ? &catalogue[c] : &bad;
}

const char *wd_code_name(enum wd_code c) { return row(c)->name; }
enum wd_severity wd_code_severity(enum wd_code c) { return row(c)->sev; }
const char *wd_code_summary(enum wd_code c) { return row(c)->summary; }
const char *wd_code_action(enum wd_code c) { return row(c)->action; }
const char *wd_code_repair(enum wd_code c) { return row(c)->repair; }

const char *wd_severity_name(enum wd_severity s)
{
	switch (s) {
	case WD_INFO: return "info";
	case WD_WARNING: return "warning";
	case WD_ERROR: return "error";
	}
	return "error";
}

const char *wd_file_name(enum wd_file f)
{
	switch (f) {
	case WD_F_DB: return "db";
	case WD_F_WAL: return "wal";
	case WD_F_SHM: return "shm";
	case WD_F_JOURNAL: return "journal";
	case WD_F_NONE: break;
	}
	return "-";
}

int wd_code_lookup(const char *name)
{
	for (int i = 0; i < WD__NCODES; i++)
		if (!strcmp(catalogue[i].name, name))
			return i;
	return -1;
}

__attribute__((format(printf, 8, 0)))
static void vadd(struct wd_diags *d, enum wd_code code, enum wd_severity sev, enum wd_file file,
		 int64_t offset, int64_t frame, int64_t page, const char *fmt, va_list ap)
{
	if (!d)
		return;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		if (ncap > WD_DIAGS_CAP)
			ncap = WD_DIAGS_CAP;
		struct wd_diag *nv = ncap > d->cap ? realloc(d->v, ncap * sizeof *nv) : NULL;
		if (!nv) {
			d->dropped++;
			return;
		}
		d->v = nv;
		d->cap = ncap;
	}
	struct wd_diag *g = &d->v[d->n++];
	g->code = code;
	g->sev = sev;
	g->file = file;
	g->offset = offset;
	g->frame = frame;
	g->page = page;
	vsnprintf(g->msg, sizeof g->msg, fmt, ap);
}

void wd_add(struct wd_diags *d, enum wd_code code, enum wd_file file,
	    int64_t offset, int64_t frame, int64_t page, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd(d, code, wd_code_severity(code), file, offset, frame, page, fmt, ap);
	va_end(ap);
}

void wd_add_sev(struct wd_diags *d, enum wd_code code, enum wd_severity sev, enum wd_file file,
		int64_t offset, int64_t frame, int64_t page, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd(d, code, sev, file, offset, frame, page, fmt, ap);
	va_end(ap);
}

int wd_worst(const struct wd_diags *d)
{
	int w = -1;
	for (size_t i = 0; i < d->n; i++)
		if ((int)d->v[i].sev > w)
			w = (int)d->v[i].sev;
	return w;
}

size_t wd_count(const struct wd_diags *d, enum wd_code code)
{
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++)
		k += d->v[i].code == code;
	return k;
}

void wd_diags_free(struct wd_diags *d)
{
	free(d->v);
	d->v = NULL;
	d->n = d->cap = d->dropped = 0;
}
