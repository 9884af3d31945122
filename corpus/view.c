/*
 * view.c — what SQLite sees in a case's files.
 *
 * The files are copied to a private folder first: opening a WAL-mode
 * database makes SQLite recover the WAL into a new -shm, and closing the
 * last connection checkpoints the WAL into the database and deletes it.
 * The copy holds the database, its -wal and its -journal (a hot journal is
 * part of what SQLite sees: it rolls it back), never the -shm, so SQLite
 * rebuilds the wal-index from the WAL itself as it does after every crash.
 */
#include "corpus.h"

#include <stdio.h>
#include <string.h>

static void first_line(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
	dst[strcspn(dst, "\n")] = '\0';
}

static void view_open(const char *db, struct sqlview *v)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		first_line(v->error, sizeof v->error, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return;
	}
	/* Reading the schema is what every statement does first. */
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		first_line(v->error, sizeof v->error, sqlite3_errmsg(h));
		sqlite3_finalize(st);
		sqlite3_close(h);
		return;
	}
	sqlite3_finalize(st);
	v->opens = true;

	if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		/* The first problem, without the "*** in database main ***" line
		 * SQLite puts before it. */
		const char *t = (const char *)sqlite3_column_text(st, 0);
		static const char banner[] = "*** in database main ***\n";
		if (t && !strncmp(t, banner, sizeof banner - 1))
			t += sizeof banner - 1;
		first_line(v->integrity, sizeof v->integrity, t);
	} else {
		char tmp[240];
		first_line(tmp, sizeof tmp, sqlite3_errmsg(h));
		snprintf(v->integrity, sizeof v->integrity, "error: %s", tmp);
	}
	v->integrity_known = true;
	sqlite3_finalize(st);
	st = NULL;

	char msg[256];
	if (content_hash(h, v->content_sha256, msg, sizeof msg) == 0)
		v->content_known = true;
	else
		first_line(v->content_error, sizeof v->content_error, msg);

	if (sqlite3_prepare_v2(h, "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW && v->ntables < CG_MAX_TABLES) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			if (!name || strlen(name) >= sizeof v->table[0])
				continue;
			int i = v->ntables++;
			snprintf(v->table[i], sizeof v->table[i], "%s", name);
			char *q = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name);
			sqlite3_stmt *cnt = NULL;
			v->rows[i] = -1;
			if (sqlite3_prepare_v2(h, q, -1, &cnt, NULL) == SQLITE_OK &&
			    sqlite3_step(cnt) == SQLITE_ROW)
				v->rows[i] = sqlite3_column_int64(cnt, 0);
			sqlite3_finalize(cnt);
			sqlite3_free(q);
		}
	}
	sqlite3_finalize(st);

	/* A passive checkpoint reports the WAL's size as recovery found it:
	 * SQLite's own mxFrame, the oracle for our WAL walk.  Last, because it
	 * writes the (copied) database. */
	int nlog = -1, nckpt = -1;
	if (sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt) == SQLITE_OK)
		v->mx_frame = nlog;
	sqlite3_close(h);
}

void view_dir(const char *dir, struct sqlview *v)
{
	static unsigned k;
	char copy[CG_PATH_MAX], src[CG_PATH_MAX], dst[CG_PATH_MAX];
	memset(v, 0, sizeof *v);
	v->mx_frame = -1;
	pathf(copy, "%s/view-%u", tmp_root(), k++);
	dir_make(copy);
	static const char *const names[] = { "db", "db-wal", "db-journal" };
	for (int i = 0; i < 3; i++)
		file_copy_opt(pathf(src, "%s/%s", dir, names[i]), pathf(dst, "%s/%s", copy, names[i]));
	if (!file_exists(pathf(dst, "%s/db", copy)))
		snprintf(v->error, sizeof v->error, "no database file");
	else
		view_open(dst, v);
	dir_remove(copy);
}
