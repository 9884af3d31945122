/*
 * diag.h — structured diagnostics, the only way formats/ reports problems.
 *
 * Parsers never print and never abort: they append a `struct wd_diag` to a
 * caller-owned `struct wd_diags` and return WD_OK / WD_WARN / WD_FATAL.
 * A diagnostic says what (a stable code from findings.def), where (file,
 * byte offset, frame, page) and a one-line message with the evidence.
 */
#ifndef WALDO_DIAG_H
#define WALDO_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum wd_code {
#define F(code, sev, repair, summary, action) WD_##code,
#include "findings.def"
#undef F
	WD__NCODES
};

enum wd_severity { WD_INFO = 0, WD_WARNING = 1, WD_ERROR = 2 };

/* Which input a diagnostic is about. */
enum wd_file { WD_F_NONE = 0, WD_F_DB, WD_F_WAL, WD_F_SHM, WD_F_JOURNAL };

/* Parser return status. */
enum wd_status { WD_OK = 0, WD_WARN = 1, WD_FATAL = 2 };

#define WD_NONE (-1)          /* "not applicable" for offset, frame, page */
#define WD_MSG_MAX 200
#define WD_DIAGS_CAP 10000    /* diagnostics kept per list; the rest are counted */

struct wd_diag {
	enum wd_code code;
	enum wd_severity sev;
	enum wd_file file;
	int64_t offset;             /* byte offset in `file`, or WD_NONE */
	int64_t frame;              /* 1-based WAL frame, or WD_NONE */
	int64_t page;               /* page number, or WD_NONE */
	char msg[WD_MSG_MAX];
};

struct wd_diags {
	struct wd_diag *v;
	size_t n, cap;
	size_t dropped;             /* diagnostics not kept (cap reached or no memory) */
};

/* Catalogue look-ups; all return static strings. */
const char *wd_code_name(enum wd_code c);
enum wd_severity wd_code_severity(enum wd_code c);
const char *wd_code_summary(enum wd_code c);
const char *wd_code_action(enum wd_code c);
const char *wd_code_repair(enum wd_code c);      /* "-" when there is none */
const char *wd_severity_name(enum wd_severity s);
const char *wd_file_name(enum wd_file f);       /* "db", "wal", "shm", "journal", "-" */
/* Returns the code named `name`, or -1. */
int wd_code_lookup(const char *name);

/*
 * Append a diagnostic with the code's default severity.  `fmt` is printf
 * style; the message is truncated to WD_MSG_MAX-1 bytes.  A NULL list
 * discards it, so every parser accepts d == NULL.
 */
void wd_add(struct wd_diags *d, enum wd_code code, enum wd_file file,
	    int64_t offset, int64_t frame, int64_t page, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* Same, with an explicit severity. */
void wd_add_sev(struct wd_diags *d, enum wd_code code, enum wd_severity sev, enum wd_file file,
		int64_t offset, int64_t frame, int64_t page, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

/* Highest severity in the list, or -1 when it is empty. */
int wd_worst(const struct wd_diags *d);
/* Number of diagnostics with the given code. */
size_t wd_count(const struct wd_diags *d, enum wd_code code);
void wd_diags_free(struct wd_diags *d);

#endif
