/*
 * report.h — printing diagnostics for people (text) and machines (JSON),
 * and the exit status they imply.
 */
#ifndef WALDO_REPORT_H
#define WALDO_REPORT_H

#include <stdio.h>
#include "../formats/dbheader.h"
#include "../formats/diag.h"
#include "checks.h"
#include "files.h"
#include "model.h"
#include "json.h"

/* Path of the file a diagnostic is about, from the set (NULL allowed). */
const char *report_path(const struct wf_set *s, enum wd_file f);

/*
 * s made safe for a terminal or a log, for text output (JSON escapes
 * through jw_*): control characters (C0, DEL, the C1 range U+0080..U+009F),
 * bidirectional overrides, bytes that are not UTF-8 and the backslash
 * become \xHH (\\ for the backslash), so that a file name or a name read
 * from a damaged database can never move the cursor, retitle the window or
 * forge a line.  Returns s itself when nothing needs escaping, else a copy
 * in one of REPORT_ESC_SLOTS static buffers, cut with "..." at
 * REPORT_ESC_MAX bytes and valid until that many further calls (not
 * thread-safe: call it from the thread that prints).  NULL gives "(null)".
 */
#define REPORT_ESC_SLOTS 4
#define REPORT_ESC_MAX 8192
const char *report_esc(const char *s);
/*
 * The same escaping of the len bytes at s into out (outsz bytes, always
 * NUL-terminated, cut with "..." when it does not fit); escape_space also
 * escapes spaces (\x20), for names in space-separated text.  Returns out.
 */
char *report_esc_into(const char *s, size_t len, char *out, size_t outsz, bool escape_space);

/*
 * One finding per block:
 *   error WAL_CHECKSUM_MISMATCH  x.db-wal offset 4152 frame 2
 *         frame 2: checksum … 
 *         action: …
 */
void report_text(FILE *out, const struct wd_diags *d, const struct wf_set *s);
/* "findings": [ {code, severity, file, path, offset, frame, page, message, action}, … ] */
void report_json(struct jw *j, const struct wd_diags *d, const struct wf_set *s);
/* 0 nothing worse than info, 1 warnings, 2 errors; strict turns warnings into errors. */
int report_exit_status(const struct wd_diags *d, int strict);
/* "ok", "warning" or "error". */
const char *report_status_name(const struct wd_diags *d);

/* Every database header field as a JSON object named key. */
void report_json_db_header(struct jw *j, const char *key, const struct db_header *h);

/*
 * The fields of `waldo inspect --json` after "path" (docs/inspect.md): db,
 * state, wal, shm, locks, findings, status.  The caller opens and closes the
 * object, so other commands (scan) can add their own fields.
 */
void report_json_inspect(struct jw *j, const struct model *m, const struct check_result *r);

#endif
