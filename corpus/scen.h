/*
 * scen.h — helpers the scenario files share: a session is a list of steps
 * run by libsqlite3 in a forked child (RUN), and a few page-level tools
 * for the hand damage applied afterwards.
 */
#ifndef WALDO_CORPUS_SCEN_H
#define WALDO_CORPUS_SCEN_H

#include "corpus.h"

enum op {
	OP_END = 0,
	OP_CREATE,          /* a: page size, b: auto_vacuum; WAL mode, full workload schema */
	OP_CREATE_MINI,     /* same with only the items table and its index (65536-byte pages) */
	OP_CREATE_ROLLBACK, /* rollback-journal mode (journal_mode=DELETE) */
	OP_COMMITS,         /* a: that many random transactions */
	OP_ITEMS,           /* a: transactions of a single item insert (mini schema) */
	OP_BIGDOCS,         /* a: transactions each inserting a document with overflow pages */
	OP_DELETE,          /* a: percent of items and docs deleted, one transaction */
	OP_CKPT,            /* s: checkpoint mode */
	OP_SQL,             /* s: statements */
	OP_SNAP,            /* copy the file db+s to work/t (mid-session, connection open) */
	OP_SPILL,           /* a: pages; BEGIN, a small cache, one document that large: its
			     * overflow pages spill to the WAL once each; no COMMIT */
	OP_SPILL_REWRITE,   /* a: rows; BEGIN, a small cache, a 16-page document, a rows
			     * inserted, every item updated: leaf pages spill, change again
			     * and spill again (frames rewritten in place); no COMMIT */
	OP_READ,            /* a read transaction (makes SQLite recover the WAL) */
};

struct step {
	int op;
	long a, b;
	const char *s, *t;
};

#define CREATE(ps, av)     { OP_CREATE, (ps), (av), NULL, NULL }
#define CREATE_MINI(ps)    { OP_CREATE_MINI, (ps), 0, NULL, NULL }
#define CREATE_ROLLBACK(ps) { OP_CREATE_ROLLBACK, (ps), 0, NULL, NULL }
#define COMMITS(n)         { OP_COMMITS, (n), 0, NULL, NULL }
#define ITEMS(n)           { OP_ITEMS, (n), 0, NULL, NULL }
#define BIGDOCS(n)         { OP_BIGDOCS, (n), 0, NULL, NULL }
#define DELETE(pct)        { OP_DELETE, (pct), 0, NULL, NULL }
#define CKPT(mode)         { OP_CKPT, 0, 0, (mode), NULL }
#define SQL(text)          { OP_SQL, 0, 0, (text), NULL }
#define SNAP(suffix, name) { OP_SNAP, 0, 0, (suffix), (name) }
#define SPILL(pages)       { OP_SPILL, (pages), 0, NULL, NULL }
#define SPILL_REWRITE(rows) { OP_SPILL_REWRITE, (rows), 0, NULL, NULL }
#define READ()             { OP_READ, 0, 0, NULL, NULL }

void run_steps(struct gen *g, const char *db, enum sess_end end, const struct step *steps);
#define RUN_AT(g, db, end, ...) \
	run_steps((g), (db), (end), (const struct step[]){ __VA_ARGS__, { OP_END, 0, 0, NULL, NULL } })
#define RUN(g, end, ...) RUN_AT((g), (g)->db, (end), __VA_ARGS__)

/* A path inside the case's work folder (not shipped), in a static ring. */
const char *work_path(struct gen *g, const char *name);
/* A path inside the case folder (shipped). */
const char *case_path(struct gen *g, const char *name);

/* Page size of the database header of a file (0 when it has none). */
uint32_t db_page_size(const char *db);
uint32_t db_file_pages(const char *db);
void page_read(const char *db, uint32_t ps, uint32_t pgno, uint8_t *buf);
void page_write(const char *db, uint32_t ps, uint32_t pgno, const uint8_t *buf);
/* Header field (big-endian u32) of a database file. */
uint32_t db_header_u32(const char *db, unsigned off);
void db_header_put_u32(const char *db, unsigned off, uint32_t v);

/* Scan the case's WAL with the database's page size as the hint. */
void case_walscan(struct gen *g, struct walscan *w);
/* Frame number of the first frame of the c-th committed transaction (1-based). */
uint32_t wal_txn_first_frame(const char *wal, uint32_t c);

/* One integer from SQLite on a private copy of db (+ its -wal). */
long long query_copy(const char *db, const char *q);

/* Shared expectations: the components named are intact, the rest left open. */
void must_not_db(struct gen *g);      /* the database file is a sound database */

/* Scenario builders, by file. */
void b_healthy_many_commits(struct gen *g);
void b_healthy_be_checksums(struct gen *g);
void b_healthy_header_only(struct gen *g);
void b_healthy_no_wal(struct gen *g);
void b_healthy_checkpointed(struct gen *g);
void b_healthy_restarted(struct gen *g);
void b_healthy_vacuum_shrink(struct gen *g);
void b_crash_uncommitted_tail(struct gen *g);
void b_crash_torn_frame(struct gen *g);
void b_crash_header_only(struct gen *g);
void b_crash_rewritten_frame(struct gen *g);
void b_demo(struct gen *g);
void b_ckpt_starved(struct gen *g);

void b_rot_frame_data(struct gen *g);
void b_rot_frame_header(struct gen *g);
void b_rot_wal_header(struct gen *g);
void b_rot_db_page1(struct gen *g);
void b_rot_btree_page(struct gen *g);
void b_rot_freelist_trunk(struct gen *g);

void b_mismatch_wal_page_size(struct gen *g);
void b_mismatch_shm_salts(struct gen *g);
void b_mismatch_shm_copies(struct gen *g);
void b_mismatch_shm_more_frames(struct gen *g);
void b_mismatch_backfill(struct gen *g);
void b_mismatch_readmark(struct gen *g);
void b_mismatch_shm_foreign_endian(struct gen *g);
void b_mismatch_shm_index(struct gen *g);
void b_mismatch_wal_version(struct gen *g);

void b_size_field_smaller(struct gen *g);
void b_size_field_larger(struct gen *g);
void b_size_version_valid_for(struct gen *g);
void b_size_db_truncated(struct gen *g);
void b_size_trailing_garbage(struct gen *g);

void b_rollback_partial(struct gen *g);
void b_rollback_size_field(struct gen *g);
void b_rollback_stale_wal(struct gen *g);

void b_wrong_empty_file(struct gen *g);
void b_wrong_text_file(struct gen *g);
void b_wrong_hot_journal(struct gen *g);
void b_wrong_foreign_wal(struct gen *g);

/* scen_race.c: the WAL-reset race of SQLite 3.7.0 to 3.51.2 */
void b_race_after_ckpt(struct gen *g);
void b_race_hidden(struct gen *g);
void b_race_caught_up(struct gen *g);
void b_race_window(struct gen *g);
void b_race_wrapped(struct gen *g);
void b_race_big(struct gen *g);
void b_race_same_size(struct gen *g);
void b_race_control_window(struct gen *g);
void b_race_control_wrapped(struct gen *g);

#endif
