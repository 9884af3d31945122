/* materialize.c — states written out for libsqlite3; see materialize.h. */
#include "materialize.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../formats/bytes.h"
#include "atomic.h"

#define BATCH_PAGES 256   /* pages gathered per write */

static bool page_is_zero(const uint8_t *p, uint32_t n)
{
	return p[0] == 0 && !memcmp(p, p + 1, n - 1);
}

int materialize_pages(const struct model *m, uint32_t npages, materialize_get_fn get, void *ctx,
		      const char *path, uint32_t *missing, char *err, size_t errlen)
{
	*missing = 0;
	uint32_t ps = m->page_size;
	if (!ps || !npages) {
		snprintf(err, errlen, "no page size or no pages: nothing to write");
		return -1;
	}
	if (!model_size_plausible(m, npages)) {
		snprintf(err, errlen, "a state of %u pages cannot be backed by the files: refusing to write it",
			 npages);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = malloc((size_t)ps * BATCH_PAGES);
	if (!buf) {
		close(fd);
		unlink(path);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/*
	 * Pages no file holds, and pages of zeros (the hole of a sparse file,
	 * the lock-byte page), are left as holes of the output: the file
	 * reads the same, and a state whose size field claims a gigabyte of
	 * missing pages (model_size_plausible allows 1 GiB of them) costs no
	 * gigabyte of disk.  The final ftruncate gives the file its length.
	 */
	int rc = 0;
	for (uint64_t first = 1; first <= npages && !rc; first += BATCH_PAGES) {
		uint32_t n = npages - first + 1 < BATCH_PAGES ? (uint32_t)(npages - first + 1) : BATCH_PAGES;
		uint64_t run_first = first;   /* page number of buf's first page */
		uint32_t run = 0;             /* pages gathered in buf */
		for (uint32_t i = 0; i < n && !rc; i++) {
			uint32_t pgno = (uint32_t)first + i;
			const uint8_t *src = get(ctx, pgno);
			if (!src && pgno != dbh_lock_byte_page(ps))
				(*missing)++;
			if (pgno != 1 && (!src || page_is_zero(src, ps))) {
				if (run && atomic_write_all(fd, buf, (size_t)run * ps, (run_first - 1) * ps))
					rc = -1;
				run = 0;
				run_first = (uint64_t)pgno + 1;
				continue;
			}
			uint8_t *dst = buf + (size_t)run * ps;
			if (src)
				memcpy(dst, src, ps);
			else
				memset(dst, 0, ps);
			if (pgno == 1 && src && ps >= DBH_SIZE) {
				dst[18] = dst[19] = 1;                 /* rollback mode: no -wal */
				wr_be32(dst + 28, npages);
				memcpy(dst + 92, dst + 24, 4);         /* size field trusted */
			}
			run++;
		}
		if (!rc && run && atomic_write_all(fd, buf, (size_t)run * ps, (run_first - 1) * ps))
			rc = -1;
	}
	free(buf);
	if (rc || ftruncate(fd, (off_t)((uint64_t)npages * ps)) || fsync(fd)) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd)) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int materialize_state(const struct model *m, uint32_t k, const char *path, uint32_t *missing,
		      char *err, size_t errlen)
{
	struct model_state st = { m, k };
	return materialize_pages(m, model_npages(m, k), model_state_page, &st, path, missing, err, errlen);
}

int sqlite_integrity(const char *path, char *msg, size_t n)
{
	sqlite3 *db = NULL;
	msg[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(msg, n, "%s", db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_stmt *st = NULL;
	int ret = 1;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(msg, n, "%s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	size_t k = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		if (!line)
			continue;
		if (strcmp(line, "ok"))
			ret = 0;
		if (k && k + 2 < n) {
			msg[k++] = ';';
			msg[k++] = ' ';
		}
		/* One line: SQLite's rows may hold newlines. */
		for (; k + 1 < n && *line; line++)
			msg[k++] = *line == '\n' ? ' ' : *line;
		msg[k] = '\0';
	}
	if (rc != SQLITE_DONE) {
		snprintf(msg, n, "%s", sqlite3_errmsg(db));
		ret = -1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}

int tmpdir_make(char *dir, size_t n, char *err, size_t errlen)
{
	const char *base = getenv("TMPDIR");
	snprintf(dir, n, "%s/waldo-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "cannot create a temporary folder in '%s': %s",
			 base && *base ? base : "/tmp", strerror(errno));
		return -1;
	}
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(p);
	return 0;
}

void tmpdir_remove(const char *dir)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}
