/*
 * scen_damage.c — bit rot, mismatched files and wrong size fields: real
 * libsqlite3 output first, then one deliberate change by hand, the way a
 * failing disk, a careless copy or a buggy tool would make it.  The state
 * before the damage is kept (work/orig) so expected.json can say what
 * SQLite saw before, and a reference repair says what a correct repair
 * must give back.
 */
#include "scen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/bytes.h"

static void base_db(struct gen *g, unsigned ps, int av)
{
	RUN(g, SESS_CLOSE, CREATE(ps, av), COMMITS(8), BIGDOCS(2), DELETE(30));
}

static void expect_common(struct gen *g, const char *must, int exit_status)
{
	expect_must(g, must);
	g->exit_status = exit_status;
}

/* The WAL is sound in every way but the one the case is about. */
static void must_not_wal_except(struct gen *g, const char *keep)
{
	static const char *const c[] = {
		"WAL_HEADER_INVALID", "WAL_VERSION_INVALID", "WAL_PAGE_SIZE_MISMATCH",
		"WAL_TORN_HEADER", "WAL_PARTIAL_FRAME", "WAL_CHECKSUM_MISMATCH", "WAL_FOREIGN", NULL,
	};
	for (int i = 0; c[i]; i++)
		if (!keep || strcmp(keep, c[i]))
			expect_must_not(g, c[i]);
}

/* The -shm parses in this host's order and its two copies agree. */
static void must_not_shm_shape(struct gen *g)
{
	expect_must_not(g, "SHM_FOREIGN_ENDIAN");
	expect_must_not(g, "SHM_HEADER_INVALID");
	expect_must_not(g, "SHM_HEADER_MISMATCH");
	expect_must_not(g, "SHM_BACKFILL_INVALID");
}

static void edit_shm(struct gen *g, size_t off, uint32_t v)
{
	size_t n;
	uint8_t *p = file_read(g->shm, &n);
	if (n < SHMX_HDR)
		die("-shm too short");
	shm_put32(p, off, v);
	file_write(g->shm, p, n);
	free(p);
}

static uint32_t shm_mx_frame(struct gen *g)
{
	size_t n;
	uint8_t *p = file_read(g->shm, &n);
	uint32_t v = shm_get32(p, SHMX_OFF_MXFRAME);
	free(p);
	return v;
}

/* ---- bit rot ------------------------------------------------------------------- */

/* Checksum break inside the WAL: frames from the 4th (or 5th) transaction on are lost. */
static void rot_frame(struct gen *g, uint32_t txn, uint64_t off_in_frame, uint8_t mask)
{
	struct walscan before, after;
	case_walscan(g, &before);
	uint32_t k = wal_txn_first_frame(g->wal, txn);
	gen_snapshot_orig(g);
	file_flip(g->wal, wal_frame_off(before.page_size, k) + off_in_frame, mask);
	case_walscan(g, &after);
	if (after.frames_valid != k - 1 || after.commits != txn - 1)
		die("flip in frame %u: %u frames valid, %u commits", k, after.frames_valid,
		    after.commits);
	snprintf(g->note, sizeof g->note, "byte %llu of frame %u flipped (mask 0x%02x): "
		 "%u committed transactions (frames %u..%u) are past the break",
		 (unsigned long long)off_in_frame, k, mask, before.commits - after.commits, k,
		 before.last_commit);
	const char *d = gen_repair_dir(g, "cutting the WAL at the break (frame %u) keeps the %u "
				       "transactions before it; the later ones need a salvage that "
				       "cannot vouch for the damaged frame", k, txn - 1);
	char wal[CG_PATH_MAX];
	file_truncate(pathf(wal, "%s/db-wal", d), wal_frame_off(before.page_size, k));
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_OTHER);
	must_not_wal_except(g, "WAL_CHECKSUM_MISMATCH");
	must_not_shm_shape(g);
	expect_common(g, "WAL_CHECKSUM_MISMATCH", 2);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_rot_frame_data(struct gen *g)
{
	base_db(g, 2048, 0);
	RUN(g, SESS_CRASH, COMMITS(10));
	wal_make_big_endian(g->wal);
	file_remove(g->shm);
	RUN(g, SESS_CRASH, READ());
	rot_frame(g, 4, 24 + 2048 - 300, 0x10);
	expect_must_not(g, "WAL_FRAME_INVALID");
}

void b_rot_frame_header(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(10));
	/* Byte 1 of the page-number field: the page number grows by 65536. */
	rot_frame(g, 5, 1, 0x01);
}

void b_rot_wal_header(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(8));
	gen_snapshot_orig(g);
	/* The checkpoint-sequence field: only the header checksum notices. */
	file_flip(g->wal, 15, 0x01);
	struct walscan w;
	case_walscan(g, &w);
	if (w.header_valid)
		die("the header still validates");
	const char *d = gen_repair_dir(g, "the frames still chain from the stored header checksum: "
				       "resealing the header and re-chaining them (wal-rechain) "
				       "gives back every transaction");
	char wal[CG_PATH_MAX];
	wal_repair_header(pathf(wal, "%s/db-wal", d));
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_OTHER);
	must_not_wal_except(g, "WAL_HEADER_INVALID");
	must_not_shm_shape(g);
	expect_common(g, "WAL_HEADER_INVALID", 2);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_rot_db_page1(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(4096, 0), COMMITS(10), BIGDOCS(2));
	gen_snapshot_orig(g);
	/* Byte 21, the maximum embedded payload fraction, must be 64. */
	file_flip(g->db, 21, 0x01);
	const char *d = gen_repair_dir(g, "byte 21 of the header must be 64 (lockBtree): setting it "
				       "back restores the database");
	char db[CG_PATH_MAX];
	file_flip(pathf(db, "%s/db", d), 21, 0x01);
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_FILE_TRUNCATED");
	expect_intact(g, INTACT_WAL | INTACT_SHM | INTACT_OTHER);
	expect_common(g, "DB_HEADER_INVALID", 2);
	g->want_opens = 0;
}

/* Leftmost leaf of a table b-tree, found by reading interior pages. */
static uint32_t leftmost_leaf(const char *db, uint32_t root)
{
	uint32_t ps = db_page_size(db), pg = root;
	uint8_t *buf = malloc(ps);
	if (!buf)
		die("out of memory");
	for (int depth = 0; depth < 20; depth++) {
		page_read(db, ps, pg, buf);
		unsigned hdr = pg == 1 ? 100 : 0;
		if (buf[hdr] == 13) {
			free(buf);
			return pg;
		}
		if (buf[hdr] != 5 || rd_be16(buf + hdr + 3) == 0)
			die("page %u is not a table b-tree page", pg);
		unsigned cell = rd_be16(buf + hdr + 12);
		if (cell + 4 > ps)
			die("bad cell pointer on page %u", pg);
		pg = rd_be32(buf + cell);
	}
	die("b-tree too deep");
}

void b_rot_btree_page(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(512, 0), COMMITS(20), BIGDOCS(2));
	uint32_t root = (uint32_t)query_copy(g->db, "SELECT rootpage FROM sqlite_schema WHERE name='items'");
	uint32_t leaf = leftmost_leaf(g->db, root);
	if (leaf == root)
		die("items fits in its root page; no leaf to damage");
	gen_snapshot_orig(g);
	uint32_t ps = db_page_size(g->db);
	/* The page-type byte: 13 (leaf table) becomes 45, which is no page type. */
	file_flip(g->db, (uint64_t)(leaf - 1) * ps, 0x20);
	snprintf(g->note, sizeof g->note, "page %u (a leaf of table items, root %u): type byte "
		 "13 flipped to 45", leaf, root);
	const char *d = gen_repair_dir(g, "page %u's parent is a table interior page whose other "
				       "children are leaves: type 13 is the only valid value; "
				       "restoring it restores the table", leaf);
	char db[CG_PATH_MAX];
	file_flip(pathf(db, "%s/db", d), (uint64_t)(leaf - 1) * ps, 0x20);
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_HEADER_INVALID");
	expect_must_not(g, "DB_FILE_TRUNCATED");
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_SHM | INTACT_OTHER);
	expect_common(g, "BTREE_PAGE_INVALID", 2);
	g->want_opens = 1;
	g->want_integrity_ok = 0;
}

void b_rot_freelist_trunk(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(1024, 0), COMMITS(20), BIGDOCS(3), DELETE(50),
	    SQL("DELETE FROM docs WHERE id % 2 = 0"));
	uint32_t trunk = db_header_u32(g->db, 32);
	if (!trunk)
		die("no freelist trunk page");
	uint32_t ps = db_page_size(g->db);
	gen_snapshot_orig(g);
	/* High byte of the trunk's leaf count: far beyond usable/4 - 2. */
	file_flip(g->db, (uint64_t)(trunk - 1) * ps + 4, 0x80);
	snprintf(g->note, sizeof g->note, "freelist trunk page %u: leaf count's high byte flipped",
		 trunk);
	const char *d = gen_repair_dir(g, "free pages hold no content: restoring the leaf count (or "
				       "VACUUM INTO a new file) keeps every row");
	char db[CG_PATH_MAX];
	file_flip(pathf(db, "%s/db", d), (uint64_t)(trunk - 1) * ps + 4, 0x80);
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_HEADER_INVALID");
	expect_must_not(g, "DB_FILE_TRUNCATED");
	expect_must_not(g, "BTREE_PAGE_INVALID");
	expect_must_not(g, "OVERFLOW_CHAIN_INVALID");
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_SHM | INTACT_OTHER);
	expect_common(g, "FREELIST_INVALID", 2);
	g->want_opens = 1;
	g->want_integrity_ok = 0;
}

/* ---- mismatches ---------------------------------------------------------------- */

void b_mismatch_wal_page_size(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE(4096, 0), COMMITS(5), BIGDOCS(1));
	RUN(g, SESS_CRASH, COMMITS(6));
	file_copy(g->wal, work_path(g, "old-wal"));
	file_copy(g->shm, work_path(g, "old-shm"));
	gen_snapshot_orig(g);
	/* Rebuilt with another page size (which needs rollback mode), then back to WAL. */
	RUN(g, SESS_CLOSE, SQL("PRAGMA journal_mode=DELETE; PRAGMA page_size=1024; VACUUM;"
			       " PRAGMA journal_mode=WAL;"));
	if (db_page_size(g->db) != 1024 || file_exists(g->wal))
		die("the rebuild did not take");
	file_copy(work_path(g, "old-wal"), g->wal);
	file_copy(work_path(g, "old-shm"), g->shm);
	const char *d = gen_repair_dir(g, "the rebuilt database already holds every transaction of "
				       "the old WAL: setting the -wal and -shm aside is the repair");
	char p[CG_PATH_MAX];
	file_remove(pathf(p, "%s/db-wal", d));
	file_remove(pathf(p, "%s/db-shm", d));
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_HEADER_INVALID");
	expect_must_not(g, "WAL_HEADER_INVALID");
	expect_must_not(g, "WAL_CHECKSUM_MISMATCH");
	expect_must_not(g, "WAL_PARTIAL_FRAME");
	must_not_shm_shape(g);
	expect_intact(g, INTACT_OTHER);
	expect_common(g, "WAL_PAGE_SIZE_MISMATCH", 2);
}

void b_mismatch_shm_salts(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(8), SNAP("-shm", "shm-gen1"), CKPT("RESTART"), COMMITS(3));
	file_copy(work_path(g, "shm-gen1"), g->shm);
	struct walscan w;
	case_walscan(g, &w);
	size_t n;
	uint8_t *shm = file_read(g->shm, &n);
	uint32_t salt1 = rd_be32(shm + SHMX_OFF_SALT);
	free(shm);
	if (salt1 == w.salt1)
		die("the -shm salts match the WAL");
	gen_repair_dir(g, "SQLite rebuilds the -shm from the WAL: the content is "
		       "what SQLite sees without it");
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_OTHER);
	must_not_shm_shape(g);
	expect_must_not(g, "SHM_READMARK_INVALID");
	expect_common(g, "SHM_STALE", 1);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_mismatch_shm_copies(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(6), SNAP("-shm", "shm-a"), COMMITS(1));
	/* walIndexWriteHdr writes copy 1, then copy 0: the crash fell between. */
	size_t na, nb;
	uint8_t *a = file_read(work_path(g, "shm-a"), &na);
	uint8_t *b = file_read(g->shm, &nb);
	if (na < SHMX_HDR || nb < SHMX_HDR || !memcmp(a, b, SHMX_COPY))
		die("no new -shm header to tear");
	memcpy(b, a, SHMX_COPY);
	file_write(g->shm, b, nb);
	free(a);
	free(b);
	gen_repair_dir(g, "SQLite runs recovery on a torn -shm header: the content "
		       "is what SQLite sees without the -shm");
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_OTHER);
	expect_must_not(g, "SHM_FOREIGN_ENDIAN");
	expect_must_not(g, "SHM_BACKFILL_INVALID");
	expect_must_not(g, "SHM_READMARK_INVALID");
	expect_common(g, "SHM_HEADER_MISMATCH", 1);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_mismatch_shm_more_frames(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(5), SNAP("-wal", "wal-early"), COMMITS(5));
	file_copy(work_path(g, "wal-early"), g->wal);
	struct walscan w;
	case_walscan(g, &w);
	if (shm_mx_frame(g) <= w.frames_total)
		die("the -shm does not claim more frames");
	snprintf(g->note, sizeof g->note, "the -shm says mxFrame %u; the WAL holds %u frames",
		 shm_mx_frame(g), w.frames_total);
	gen_repair_dir(g, "SQLite rebuilds the -shm from the WAL: the content is "
		       "what SQLite sees without it; the later transactions were never "
		       "in this copy of the WAL");
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_OTHER);
	must_not_shm_shape(g);
	expect_common(g, "SHM_STALE", 1);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_mismatch_backfill(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(8));
	uint32_t mx = shm_mx_frame(g);
	edit_shm(g, SHMX_OFF_BACKFILL, mx + 7);
	snprintf(g->note, sizeof g->note, "nBackfill set to %u, mxFrame is %u", mx + 7, mx);
	gen_repair_dir(g, "resetting the -shm (SQLite rebuilds it) loses nothing: "
		       "the WAL holds every transaction");
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_OTHER);
	expect_must_not(g, "SHM_FOREIGN_ENDIAN");
	expect_must_not(g, "SHM_HEADER_INVALID");
	expect_must_not(g, "SHM_HEADER_MISMATCH");
	expect_common(g, "SHM_BACKFILL_INVALID", 2);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_mismatch_readmark(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(8));
	uint32_t mx = shm_mx_frame(g);
	edit_shm(g, SHMX_OFF_READMARK + 3 * 4, mx + 25);
	snprintf(g->note, sizeof g->note, "aReadMark[3] set to %u, mxFrame is %u", mx + 25, mx);
	gen_repair_dir(g, "a stale read mark changes nothing SQLite reads");
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_OTHER);
	must_not_shm_shape(g);
	expect_common(g, "SHM_READMARK_INVALID", 1);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_mismatch_shm_foreign_endian(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(8));
	size_t n;
	uint8_t *p = file_read(g->shm, &n);
	shm_swap_endian(p, n);
	file_write(g->shm, p, n);
	free(p);
	gen_repair_dir(g, "SQLite rebuilds a -shm it cannot read: the content is "
		       "what SQLite sees without it");
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_OTHER);
	expect_must_not(g, "SHM_HEADER_INVALID");
	expect_must_not(g, "SHM_HEADER_MISMATCH");
	expect_must_not(g, "SHM_BACKFILL_INVALID");
	expect_must_not(g, "SHM_READMARK_INVALID");
	expect_common(g, "SHM_FOREIGN_ENDIAN", 1);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_mismatch_shm_index(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(8));
	size_t n;
	uint8_t *p = file_read(g->shm, &n);
	/* aPgno[1], the page number the index records for frame 2. */
	size_t off = SHMX_HDR + 4;
	uint32_t was = shm_get32(p, off);
	shm_put32(p, off, was ^ 0x40);
	file_write(g->shm, p, n);
	free(p);
	snprintf(g->note, sizeof g->note, "the index entry for frame 2 says page %u, the frame "
		 "holds page %u", was ^ 0x40, was);
	gen_repair_dir(g, "rebuilding the index from the WAL (SQLite does it when "
		       "the -shm is reset) loses nothing");
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_OTHER);
	must_not_shm_shape(g);
	expect_must_not(g, "SHM_STALE");
	expect_must_not(g, "SHM_READMARK_INVALID");
	expect_common(g, "SHM_INDEX_MISMATCH", 1);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_mismatch_wal_version(struct gen *g)
{
	base_db(g, 4096, 0);
	RUN(g, SESS_CRASH, COMMITS(6));
	gen_snapshot_orig(g);
	wal_patch_header(g->wal, 4, 3007001);
	const char *d = gen_repair_dir(g, "setting the version back to 3007000 (and re-chaining) "
				       "gives back every transaction");
	char wal[CG_PATH_MAX];
	wal_patch_header(pathf(wal, "%s/db-wal", d), 4, 3007000);
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_OTHER);
	must_not_wal_except(g, "WAL_VERSION_INVALID");
	expect_must_not(g, "WAL_FRAME_INVALID");
	expect_must_not(g, "SHM_FOREIGN_ENDIAN");
	expect_must_not(g, "SHM_HEADER_INVALID");
	expect_must_not(g, "SHM_HEADER_MISMATCH");
	expect_common(g, "WAL_VERSION_INVALID", 2);
	g->want_opens = 0;
}

/* ---- size fields --------------------------------------------------------------- */

static void size_base(struct gen *g, unsigned ps)
{
	RUN(g, SESS_CLOSE, CREATE(ps, 0), COMMITS(20), BIGDOCS(4));
}

static void must_not_size_common(struct gen *g)
{
	expect_must_not(g, "DB_NOT_SQLITE");
	expect_must_not(g, "DB_PAGE_SIZE_INVALID");
	expect_must_not(g, "DB_HEADER_INVALID");
	expect_intact(g, INTACT_WAL | INTACT_SHM | INTACT_OTHER);
}

static void repair_size_field(struct gen *g, uint32_t pages)
{
	const char *d = gen_repair_dir(g, "every page is in the file: writing %u (the file's page "
				       "count) into the size field (header-size) restores the "
				       "database", pages);
	char db[CG_PATH_MAX];
	pathf(db, "%s/db", d);
	db_header_put_u32(db, 28, pages);
	db_header_put_u32(db, 92, db_header_u32(db, 24));
}

void b_size_field_smaller(struct gen *g)
{
	size_base(g, 4096);
	uint32_t n = db_file_pages(g->db);
	gen_snapshot_orig(g);
	db_header_put_u32(g->db, 28, n - 2);
	snprintf(g->note, sizeof g->note, "the file has %u pages, the trusted size field says %u", n,
		 n - 2);
	repair_size_field(g, n);
	must_not_size_common(g);
	expect_must_not(g, "DB_FILE_TRUNCATED");
	/* The pages past the size field are in use: cutting them as trailing
	 * bytes would destroy rows. */
	expect_must_not(g, "DB_TRAILING_BYTES");
	expect_common(g, "DB_SIZE_FIELD_STALE", 2);
	g->want_opens = 1;
	g->want_integrity_ok = 0;
}

void b_size_field_larger(struct gen *g)
{
	size_base(g, 4096);
	uint32_t n = db_file_pages(g->db);
	gen_snapshot_orig(g);
	db_header_put_u32(g->db, 28, n + 3);
	snprintf(g->note, sizeof g->note, "the file has %u pages, every one the b-trees use; the "
		 "trusted size field says %u", n, n + 3);
	repair_size_field(g, n);
	must_not_size_common(g);
	expect_must_not(g, "DB_FILE_TRUNCATED");
	expect_common(g, "DB_SIZE_FIELD_STALE", 2);
	g->want_opens = 0;
}

void b_size_version_valid_for(struct gen *g)
{
	size_base(g, 4096);
	uint32_t n = db_file_pages(g->db);
	gen_snapshot_orig(g);
	/* A legacy writer: bumps the change counter, knows nothing of offsets 28 and 92. */
	db_header_put_u32(g->db, 24, db_header_u32(g->db, 24) + 1);
	db_header_put_u32(g->db, 28, n - 3);
	snprintf(g->note, sizeof g->note, "change counter %u, version-valid-for %u: the size field "
		 "(%u) is not trusted; the file has %u pages", db_header_u32(g->db, 24),
		 db_header_u32(g->db, 92), n - 3, n);
	repair_size_field(g, n);
	must_not_size_common(g);
	must_not_db(g);
	expect_must_not(g, "DB_TRAILING_BYTES");
	expect_common(g, "DB_SIZE_FIELD_STALE", 1);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_size_db_truncated(struct gen *g)
{
	size_base(g, 4096);
	uint32_t ps = db_page_size(g->db), n = db_file_pages(g->db);
	gen_snapshot_orig(g);
	file_truncate(g->db, (uint64_t)(n - 3) * ps);
	snprintf(g->note, sizeof g->note, "pages %u..%u cut off; the size field still says %u",
		 n - 2, n, n);
	gen_repair_impossible(g, "the last three pages are gone: only a backup brings them back; "
			      "rows on the surviving pages can be salvaged");
	must_not_size_common(g);
	expect_common(g, "DB_FILE_TRUNCATED", 2);
	g->want_opens = 0;
}

void b_size_trailing_garbage(struct gen *g)
{
	RUN(g, SESS_CLOSE, CREATE_MINI(65536), ITEMS(4));
	uint64_t size = file_size(g->db);
	gen_snapshot_orig(g);
	uint8_t junk[1000];
	prng_bytes(&g->rng, junk, sizeof junk);
	file_append(g->db, junk, sizeof junk);
	const char *d = gen_repair_dir(g, "cutting the file back to %llu bytes (the size field's "
				       "pages) loses nothing", (unsigned long long)size);
	char db[CG_PATH_MAX];
	file_truncate(pathf(db, "%s/db", d), size);
	must_not_size_common(g);
	must_not_db(g);
	expect_must_not(g, "DB_SIZE_FIELD_STALE");
	expect_common(g, "DB_TRAILING_BYTES", 1);
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}
