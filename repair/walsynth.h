/*
 * walsynth.h — wal-synth: a synthetic WAL that makes SQLite itself write a
 * set of pages into a database, atomically.
 *
 * Writing pages into a database file by hand is unsafe: a crash half-way
 * leaves a mix of old and new pages, a reader's page cache keeps old ones,
 * and page 1's size field must agree with the file.  A WAL is SQLite's own
 * way of making many page writes atomic: frames become visible only with
 * the commit frame that ends them, and a checkpoint copies them into the
 * file, sizing it to the commit frame's database size.  wal-synth builds
 * exactly such a WAL from a page set (pageset.h): a valid header with the
 * set's (or fresh) salts and checkpoint sequence, one frame per page in
 * ascending page order, the last frame a commit frame carrying the
 * database size, and the checksum chain over all of it.  SQLite applies it
 * at the next open (recovery, then any checkpoint), or at once with
 * --apply (a TRUNCATE checkpoint through libsqlite3).
 *
 * Page 1 always goes in: from the set, or else the database file's page 1
 * with its size field set to the set's database size (and
 * version-valid-for to the change counter), so that SQLite trusts it.
 */
#ifndef WALDO_WALSYNTH_H
#define WALDO_WALSYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/*
 * Run the checkpoint through libsqlite3: open `db_path` read-write, PRAGMA
 * wal_checkpoint(TRUNCATE), close (SQLite then removes the -wal and -shm).
 * Returns 0, or -1 with SQLite's message (busy, or an error).
 */
int walsynth_apply(const char *db_path, char *msg, size_t n);

/* The synthetic WAL's header values, derived from the set and the old WAL. */
void walsynth_ids(const struct model *m, const struct pageset *set, uint32_t *ckpt_seq, uint32_t *salt1,
		  uint32_t *salt2);

#endif
