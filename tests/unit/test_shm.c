/* The wal-index (-shm) parser, against -shm files real libsqlite3 wrote. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "formats/shm.h"
#include "formats/wal.h"

/* A db with its -wal and -shm read into memory, parsed both ways. */
struct fix {
	uint8_t *shm, *wal;
	size_t nshm, nwal;
	struct shm_info s;
	struct wal_walk w;
	struct wd_diags ds, dw;
};

static void fix_load(struct fix *f, const char *db)
{
	char path[4096];
	memset(f, 0, sizeof *f);
	snprintf(path, sizeof path, "%s-shm", db);
	f->shm = tl_read(path, &f->nshm);
	snprintf(path, sizeof path, "%s-wal", db);
	f->wal = tl_read(path, &f->nwal);
	shm_parse(f->shm, f->nshm, &f->s, &f->ds);
	wal_walk(f->wal, f->nwal, 0, &f->w, &f->dw);
}

static void fix_free(struct fix *f)
{
	free(f->shm);
	free(f->wal);
	wal_walk_free(&f->w);
	wd_diags_free(&f->ds);
	wd_diags_free(&f->dw);
}

/* Re-parse f->shm after a change (diagnostics replaced). */
static void fix_reparse(struct fix *f)
{
	wd_diags_free(&f->ds);
	memset(&f->ds, 0, sizeof f->ds);
	shm_parse(f->shm, f->nshm, &f->s, &f->ds);
}

/* shm_check_wal on the fixture; the caller frees d. */
static int fix_check(struct fix *f, struct wd_diags *d)
{
	memset(d, 0, sizeof *d);
	return shm_check_wal(f->shm, f->nshm, &f->s, &f->w, d);
}

static void put32(uint8_t *p, uint64_t off, uint32_t v) { wr_u32(p + off, v, host_is_be()); }
static uint32_t get32(const uint8_t *p, uint64_t off) { return rd_u32(p + off, host_is_be()); }

/* Recompute the checksum of header copy c, as walIndexWriteHdr does. */
static void reseal(uint8_t *shm, unsigned c)
{
	uint8_t *p = shm + c * SHM_HDR_COPY_SIZE;
	uint32_t s[2] = { 0, 0 };
	wal_checksum(host_is_be(), p, 40, s);
	put32(p, 40, s[0]);
	put32(p, 44, s[1]);
}

/* Patch a u32 field in both header copies and reseal them. */
static void patch_both(uint8_t *shm, unsigned off, uint32_t v)
{
	put32(shm, off, v);
	put32(shm, SHM_HDR_COPY_SIZE + off, v);
	reseal(shm, 0);
	reseal(shm, 1);
}

/* The newest frame <= mx holding pgno according to the WAL walk. */
static uint32_t walk_newest(const struct wal_walk *w, uint32_t pgno, uint32_t lo, uint32_t mx)
{
	for (uint32_t f = mx; f > lo; f--)
		if (w->frames[f - 1].pgno == pgno)
			return f;
	return 0;
}

static const char fill_sql[] =
	"CREATE TABLE t(a INTEGER PRIMARY KEY, b);"
	"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<60) "
	"INSERT INTO t SELECT i, randomblob(300) FROM s;"
	"UPDATE t SET b=randomblob(200) WHERE a % 7 = 0;"
	"DELETE FROM t WHERE a % 5 = 0;"
	"INSERT INTO t(b) VALUES (zeroblob(2000));";

/* Every frame up to mxFrame is in the index and lookups give the WAL's newest frame. */
static void check_index_like_reader(struct fix *f)
{
	const uint32_t mx = f->s.hdr[0].mx_frame, lo = f->s.n_backfill;
	CHECK(mx > 0);
	for (uint32_t i = 1; i <= mx; i++)
		CHECK_EQ(shm_frame_pgno(f->shm, f->nshm, &f->s, i), f->w.frames[i - 1].pgno);
	uint32_t maxpg = 0;
	for (uint32_t i = 0; i < mx; i++)
		if (f->w.frames[i].pgno > maxpg)
			maxpg = f->w.frames[i].pgno;
	for (uint32_t p = 1; p <= maxpg + 3; p++) {
		CHECK_EQ(shm_find_frame(f->shm, f->nshm, &f->s, p, lo, mx), walk_newest(&f->w, p, lo, mx));
		/* a reader with an older snapshot sees the older frame */
		CHECK_EQ(shm_find_frame(f->shm, f->nshm, &f->s, p, 0, mx / 2), walk_newest(&f->w, p, 0, mx / 2));
	}
}

TEST(shm_header_matches_wal_walk)
{
	static const unsigned sizes[] = { 512, 4096, 65536 };
	for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		const char *db = tl_path("s%u.db", sizes[i]);
		tl_make_db(db, sizes[i], true);
		tl_sql_keep_wal(db, fill_sql);
		struct fix f;
		fix_load(&f, db);
		CHECK(f.s.has_header);
		CHECK(f.s.order_known);
		CHECK(!f.s.foreign_endian);
		CHECK_EQ(f.s.big_endian, host_is_be());
		CHECK(f.s.copies_agree);
		CHECK(f.s.hdr_ok);
		CHECK(f.s.hdr[0].cksum_ok);
		CHECK_EQ(f.s.hdr[0].version, SHM_VERSION);
		CHECK_EQ(f.s.hdr[0].is_init, 1);
		CHECK_EQ(f.s.hdr[0].page_size, sizes[i]);
		CHECK_EQ(f.s.hdr[0].page_size_raw, sizes[i] == 65536 ? 1 : sizes[i]);
		CHECK_EQ(f.s.hdr[0].page_size, f.w.hdr.page_size);
		CHECK_EQ(f.s.hdr[0].mx_frame, f.w.mx_frame);
		CHECK_EQ(f.s.hdr[0].n_page, f.w.npage);
		CHECK_EQ(f.s.hdr[0].n_page, tl_query_int(db, "PRAGMA page_count"));
		CHECK_EQ(f.s.hdr[0].salt1, f.w.hdr.salt1);
		CHECK_EQ(f.s.hdr[0].salt2, f.w.hdr.salt2);
		CHECK_MEM(f.s.hdr[0].salt, f.wal + 16, 8);
		CHECK_EQ(f.s.hdr[0].frame_cksum[0], f.w.cksum_mx[0]);
		CHECK_EQ(f.s.hdr[0].frame_cksum[1], f.w.cksum_mx[1]);
		CHECK_EQ(f.s.hdr[0].big_end_cksum, f.w.hdr.big_endian_cksum);
		CHECK_EQ(f.s.n_backfill, 0);
		CHECK_EQ(f.s.read_mark[0], 0);
		CHECK_EQ(f.s.not_used0, 0);
		CHECK_EQ(f.s.nblocks, (f.nshm + SHM_BLOCK_SIZE - 1) / SHM_BLOCK_SIZE);
		for (unsigned k = 0; k < 8; k++)
			CHECK_EQ(f.s.lock[k], 0);
		CHECK_EQ(f.ds.n, 0);
		struct wd_diags d;
		CHECK_EQ(fix_check(&f, &d), WD_OK);
		CHECK_EQ(d.n, 0);
		wd_diags_free(&d);
		check_index_like_reader(&f);
		fix_free(&f);
	}
}

TEST(shm_passive_checkpoint_sets_backfill)
{
	const char *db = tl_path("c.db");
	tl_make_db(db, 1024, true);
	tl_sql_keep_wal(db, "CREATE TABLE t(a); INSERT INTO t VALUES (zeroblob(5000));"
			    "INSERT INTO t VALUES (1); PRAGMA wal_checkpoint(PASSIVE);");
	struct fix f;
	fix_load(&f, db);
	CHECK(f.s.hdr_ok);
	CHECK(f.s.hdr[0].mx_frame > 0);
	CHECK_EQ(f.s.n_backfill, f.s.hdr[0].mx_frame);
	CHECK_EQ(f.s.n_backfill_attempted, f.s.hdr[0].mx_frame);
	CHECK_EQ(f.ds.n, 0);
	/* Everything is backfilled: a reader finds no frame at all. */
	for (uint32_t p = 1; p <= f.s.hdr[0].n_page; p++)
		CHECK_EQ(shm_find_frame(f.shm, f.nshm, &f.s, p, f.s.n_backfill, f.s.hdr[0].mx_frame), 0);
	struct wd_diags d;
	CHECK_EQ(fix_check(&f, &d), WD_OK);
	CHECK_EQ(d.n, 0);
	wd_diags_free(&d);
	fix_free(&f);
}

TEST(shm_read_marks_after_recovery_and_read)
{
	const char *db = tl_path("r.db");
	tl_make_db(db, 1024, true);
	tl_sql_keep_wal(db, fill_sql);
	/* Throw the index away: the next opener rebuilds it from the WAL. */
	remove(tl_path("r.db-shm"));
	tl_sql_keep_wal(db, "SELECT count(*) FROM t;");
	struct fix f;
	fix_load(&f, db);
	const uint32_t mx = f.s.hdr[0].mx_frame;
	CHECK(mx > 0);
	CHECK_EQ(mx, f.w.mx_frame);
	CHECK(f.s.hdr_ok);
	CHECK_EQ(f.s.hdr[0].change, 0);          /* recovery memsets the header */
	CHECK_EQ(f.s.n_backfill, 0);
	CHECK_EQ(f.s.n_backfill_attempted, mx);  /* walIndexRecover */
	CHECK_EQ(f.s.read_mark[0], 0);
	CHECK_EQ(f.s.read_mark[1], mx);          /* recovery's mark, reused by the reader */
	for (unsigned i = 2; i < SHM_NREADER; i++)
		CHECK_EQ(f.s.read_mark[i], SHM_READMARK_NOT_USED);
	CHECK_EQ(f.ds.n, 0);
	check_index_like_reader(&f);
	fix_free(&f);
}

/* A child holding a read transaction open while others write and checkpoint. */
TEST(shm_read_mark_in_use_by_open_reader)
{
	const char *db = tl_path("o.db");
	tl_make_db(db, 1024, true);
	tl_sql_keep_wal(db, fill_sql);
	struct fix f0;
	fix_load(&f0, db);
	const uint32_t mx0 = f0.s.hdr[0].mx_frame;
	fix_free(&f0);

	int ready[2], done[2];
	CHECK(pipe(ready) == 0 && pipe(done) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		sqlite3 *h;
		char c = 'r';
		if (sqlite3_open(db, &h) != SQLITE_OK ||
		    sqlite3_exec(h, "BEGIN; SELECT count(*) FROM t;", NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	/* The writer commits more, then checkpoints as far as the reader allows. */
	tl_sql_keep_wal(db, "INSERT INTO t(b) VALUES (randomblob(3000)); UPDATE t SET b=1 WHERE a=1;"
			    "PRAGMA wal_checkpoint(PASSIVE);");
	tl_copy(db, tl_path("copy.db"));
	tl_copy(tl_path("o.db-wal"), tl_path("copy.db-wal"));
	tl_copy(tl_path("o.db-shm"), tl_path("copy.db-shm"));
	CHECK_EQ(write(done[1], "x", 1), 1);
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	struct fix f;
	fix_load(&f, tl_path("copy.db"));
	const uint32_t mx = f.s.hdr[0].mx_frame;
	CHECK(mx > mx0);
	CHECK_EQ(mx, f.w.mx_frame);
	/* Slot 1 pins the reader's snapshot (recovery's mark, which it shared);
	 * the writer, unable to move slot 1, claimed slot 2 for the snapshot its
	 * UPDATE read: the state after the INSERT, one commit before mxFrame. */
	CHECK(f.w.ntxn >= 2);
	CHECK_EQ(f.s.read_mark[0], 0);
	CHECK_EQ(f.s.read_mark[1], mx0);
	CHECK_EQ(f.s.read_mark[2], f.w.txns[f.w.ntxn - 2].last);
	CHECK(f.s.read_mark[2] > mx0 && f.s.read_mark[2] < mx);
	CHECK_EQ(f.s.read_mark[3], SHM_READMARK_NOT_USED);
	CHECK_EQ(f.s.read_mark[4], SHM_READMARK_NOT_USED);
	/* The checkpoint could not pass the reader's mark. */
	CHECK_EQ(f.s.n_backfill, mx0);
	CHECK_EQ(f.s.n_backfill_attempted, mx0);
	CHECK_EQ(f.ds.n, 0);
	struct wd_diags d;
	CHECK_EQ(fix_check(&f, &d), WD_OK);
	CHECK_EQ(d.n, 0);
	wd_diags_free(&d);
	check_index_like_reader(&f);
	fix_free(&f);
}

TEST(shm_block1_used_beyond_4062_frames)
{
	const char *db = tl_path("b.db");
	tl_make_db(db, 512, true);
	tl_sql_keep_wal(db, "PRAGMA cache_size=-20000; CREATE TABLE t(a INTEGER PRIMARY KEY, b);"
			    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<4200) "
			    "INSERT INTO t SELECT i, zeroblob(400) FROM s;"
			    "UPDATE t SET b=zeroblob(401) WHERE a IN (1, 2000, 4100);");
	struct fix f;
	fix_load(&f, db);
	const uint32_t mx = f.s.hdr[0].mx_frame;
	CHECK(mx > SHM_NPAGE_ONE + 100);
	CHECK(f.nshm >= 2 * SHM_BLOCK_SIZE);
	CHECK(f.s.nblocks >= 2);
	CHECK_EQ(mx, f.w.mx_frame);
	CHECK_EQ(f.ds.n, 0);
	/* The first entry of block 1 sits at byte 32768. */
	CHECK_EQ(get32(f.shm, SHM_BLOCK_SIZE), f.w.frames[SHM_NPAGE_ONE].pgno);
	CHECK_EQ(get32(f.shm, SHM_HDR_SIZE + 4 * (SHM_NPAGE_ONE - 1)), f.w.frames[SHM_NPAGE_ONE - 1].pgno);
	check_index_like_reader(&f);
	struct wd_diags d;
	CHECK_EQ(fix_check(&f, &d), WD_OK);
	CHECK_EQ(d.n, 0);
	wd_diags_free(&d);
	fix_free(&f);
}

TEST(shm_uncommitted_tail_is_indexed_but_not_a_mismatch)
{
	const char *db = tl_path("u.db");
	tl_make_db(db, 1024, true);
	tl_sql_keep_wal(db, fill_sql);
	/* A transaction larger than the page cache spills frames, never commits. */
	tl_sql_keep_wal(db, "PRAGMA cache_size=10; BEGIN;"
			    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<200) "
			    "INSERT INTO t(b) SELECT randomblob(900) FROM s;");
	struct fix f;
	fix_load(&f, db);
	const uint32_t mx = f.s.hdr[0].mx_frame;
	CHECK(f.w.nvalid > mx + 10);
	CHECK_EQ(mx, f.w.mx_frame);
	/* the spilled frames are in the page array past mxFrame */
	for (uint32_t i = mx + 1; i <= f.w.nvalid; i++)
		CHECK_EQ(shm_frame_pgno(f.shm, f.nshm, &f.s, i), f.w.frames[i - 1].pgno);
	struct wd_diags d;
	CHECK_EQ(fix_check(&f, &d), WD_OK);
	CHECK_EQ(d.n, 0);
	wd_diags_free(&d);
	check_index_like_reader(&f);
	fix_free(&f);
}

/* Swap every native field of a -shm image to the other byte order. */
static void swap_shm(uint8_t *p, size_t n)
{
	static const unsigned u32_hdr[] = { 0, 4, 8, 16, 20, 24, 28 };
	for (unsigned c = 0; c < 2; c++) {
		uint8_t *h = p + c * SHM_HDR_COPY_SIZE;
		for (unsigned i = 0; i < sizeof u32_hdr / sizeof *u32_hdr; i++)
			wr_u32(h + u32_hdr[i], rd_u32(h + u32_hdr[i], host_is_be()), !host_is_be());
		uint8_t t = h[14];
		h[14] = h[15];
		h[15] = t;
		/* the writer checksums its own native words */
		uint32_t s[2] = { 0, 0 };
		wal_checksum(!host_is_be(), h, 40, s);
		wr_u32(h + 40, s[0], !host_is_be());
		wr_u32(h + 44, s[1], !host_is_be());
	}
	for (unsigned off = 96; off < 136; off += 4)
		if (off < 120 || off >= 128)
			wr_u32(p + off, rd_u32(p + off, host_is_be()), !host_is_be());
	for (size_t b = 0; b < n; b += SHM_BLOCK_SIZE) {
		for (size_t o = b == 0 ? SHM_HDR_SIZE : b; o < b + SHM_NPAGE * 4 && o + 4 <= n; o += 4)
			wr_u32(p + o, rd_u32(p + o, host_is_be()), !host_is_be());
		for (size_t o = b + SHM_NPAGE * 4; o < b + SHM_BLOCK_SIZE && o + 2 <= n; o += 2) {
			uint8_t t = p[o];
			p[o] = p[o + 1];
			p[o + 1] = t;
		}
	}
}

TEST(shm_foreign_endian_detected_and_decoded)
{
	const char *db = tl_path("e.db");
	tl_make_db(db, 65536, true);
	tl_sql_keep_wal(db, fill_sql);
	struct fix f;
	fix_load(&f, db);
	struct shm_info native = f.s;
	swap_shm(f.shm, f.nshm);
	fix_reparse(&f);
	CHECK(f.s.order_known);
	CHECK(f.s.foreign_endian);
	CHECK_EQ(f.s.big_endian, !host_is_be());
	CHECK(f.s.hdr_ok);
	CHECK(f.s.hdr[0].cksum_ok);
	/* the stored checksum words differ, every decoded field is the same */
	CHECK(f.s.hdr[0].cksum[0] != native.hdr[0].cksum[0]);
	for (unsigned c = 0; c < 2; c++) {
		const struct shm_hdr *a = &native.hdr[c], *b = &f.s.hdr[c];
		CHECK_EQ(a->version, b->version);
		CHECK_EQ(a->unused, b->unused);
		CHECK_EQ(a->change, b->change);
		CHECK_EQ(a->is_init, b->is_init);
		CHECK_EQ(a->big_end_cksum, b->big_end_cksum);
		CHECK_EQ(a->page_size_raw, b->page_size_raw);
		CHECK_EQ(a->page_size, b->page_size);
		CHECK_EQ(a->mx_frame, b->mx_frame);
		CHECK_EQ(a->n_page, b->n_page);
		CHECK_EQ(a->frame_cksum[0], b->frame_cksum[0]);
		CHECK_EQ(a->frame_cksum[1], b->frame_cksum[1]);
		CHECK_MEM(a->salt, b->salt, 8);
		CHECK_EQ(a->salt1, b->salt1);
		CHECK_EQ(a->salt2, b->salt2);
		CHECK(b->cksum_ok);
	}
	CHECK_EQ(f.s.hdr[0].page_size, 65536);
	CHECK_EQ(f.s.hdr[0].page_size_raw, 1);
	CHECK_EQ(f.s.n_backfill, native.n_backfill);
	CHECK_EQ(f.s.n_backfill_attempted, native.n_backfill_attempted);
	CHECK_MEM(f.s.read_mark, native.read_mark, sizeof native.read_mark);
	CHECK_EQ(f.ds.n, 1);
	CHECK_EQ(f.ds.v[0].code, WD_SHM_FOREIGN_ENDIAN);
	CHECK_EQ(f.ds.v[0].offset, 0);
	struct wd_diags d;
	CHECK_EQ(fix_check(&f, &d), WD_OK);
	CHECK_EQ(d.n, 0);
	wd_diags_free(&d);
	check_index_like_reader(&f);
	fix_free(&f);
}

TEST(shm_order_from_page_size_when_version_damaged)
{
	const char *db = tl_path("v.db");
	tl_make_db(db, 4096, true);
	tl_sql_keep_wal(db, fill_sql);
	struct fix f;
	fix_load(&f, db);
	swap_shm(f.shm, f.nshm);
	patch_both(f.shm, 0, 0x01020304);   /* iVersion, resealed in host order: not the file's */
	fix_reparse(&f);
	CHECK(!f.s.order_known);
	CHECK_EQ(f.s.big_endian, !host_is_be());   /* szPage 4096 is plausible in one order only */
	CHECK_EQ(f.s.hdr[0].page_size, 4096);
	CHECK(wd_count(&f.ds, WD_SHM_HEADER_INVALID) >= 1);
	CHECK_EQ(wd_count(&f.ds, WD_SHM_FOREIGN_ENDIAN), 0);
	fix_free(&f);
}

/* A healthy -shm with a few frames for the damage tests. */
static void load_healthy(struct fix *f)
{
	const char *db = tl_path("d.db");
	tl_make_db(db, 1024, true);
	tl_sql_keep_wal(db, fill_sql);
	fix_load(f, db);
	CHECK(f->s.hdr_ok);
	CHECK_EQ(f->ds.n, 0);
	CHECK(f->s.hdr[0].mx_frame >= 8);
}

TEST(shm_damage_copies_differ)
{
	struct fix f;
	load_healthy(&f);
	const uint32_t mx = f.s.hdr[0].mx_frame;
	put32(f.shm, SHM_HDR_COPY_SIZE + 16, mx + 2);   /* copy 1 ahead, as a torn update leaves it */
	put32(f.shm, SHM_HDR_COPY_SIZE + 8, get32(f.shm, 8) + 1);
	reseal(f.shm, 1);
	fix_reparse(&f);
	CHECK(!f.s.copies_agree);
	CHECK(!f.s.hdr_ok);
	CHECK(f.s.hdr[1].cksum_ok);
	CHECK_EQ(f.s.hdr[1].mx_frame, mx + 2);
	CHECK_EQ(f.ds.n, 1);
	CHECK_EQ(f.ds.v[0].code, WD_SHM_HEADER_MISMATCH);
	CHECK_EQ(f.ds.v[0].offset, 8);
	CHECK(strstr(f.ds.v[0].msg, "iChange, mxFrame, aCksum"));
	/* unsealed: copy 1's checksum fails too */
	put32(f.shm, SHM_HDR_COPY_SIZE + 16, mx + 3);
	fix_reparse(&f);
	CHECK(!f.s.hdr[1].cksum_ok);
	CHECK_EQ(wd_count(&f.ds, WD_SHM_HEADER_MISMATCH), 1);
	CHECK_EQ(wd_count(&f.ds, WD_SHM_HEADER_INVALID), 1);
	fix_free(&f);
}

TEST(shm_damage_bad_checksum_and_isinit)
{
	struct fix f;
	load_healthy(&f);
	f.shm[41] ^= 0x10;
	f.shm[SHM_HDR_COPY_SIZE + 41] ^= 0x10;
	fix_reparse(&f);
	CHECK(f.s.copies_agree);
	CHECK(!f.s.hdr[0].cksum_ok);
	CHECK(!f.s.hdr_ok);
	CHECK_EQ(f.ds.n, 1);
	CHECK_EQ(f.ds.v[0].code, WD_SHM_HEADER_INVALID);
	CHECK_EQ(f.ds.v[0].offset, 40);
	CHECK(strstr(f.ds.v[0].msg, "both header copies"));
	f.shm[41] ^= 0x10;
	f.shm[SHM_HDR_COPY_SIZE + 41] ^= 0x10;
	fix_reparse(&f);
	CHECK(f.s.hdr_ok);
	/* isInit 0 with a matching checksum: still refused */
	f.shm[12] = f.shm[SHM_HDR_COPY_SIZE + 12] = 0;
	reseal(f.shm, 0);
	reseal(f.shm, 1);
	put32(f.shm, 96, 1000);           /* leftovers are not judged without isInit */
	fix_reparse(&f);
	CHECK(f.s.hdr[0].cksum_ok);
	CHECK(!f.s.hdr_ok);
	CHECK_EQ(f.ds.n, 1);
	CHECK_EQ(f.ds.v[0].code, WD_SHM_HEADER_INVALID);
	CHECK_EQ(f.ds.v[0].offset, 12);
	CHECK(strstr(f.ds.v[0].msg, "isInit is 0"));
	struct wd_diags d;
	CHECK_EQ(fix_check(&f, &d), WD_OK);   /* no claim to compare */
	wd_diags_free(&d);
	fix_free(&f);
}

TEST(shm_damage_backfill_and_read_marks)
{
	struct fix f;
	load_healthy(&f);
	const uint32_t mx = f.s.hdr[0].mx_frame;
	put32(f.shm, 96, mx + 1);          /* nBackfill */
	put32(f.shm, 128, mx + 1);         /* nBackfillAttempted */
	fix_reparse(&f);
	CHECK_EQ(f.s.n_backfill, mx + 1);
	CHECK_EQ(wd_count(&f.ds, WD_SHM_BACKFILL_INVALID), 2);
	CHECK_EQ(f.ds.v[0].offset, 96);
	CHECK_EQ(f.ds.v[0].sev, WD_ERROR);
	CHECK(strstr(f.ds.v[0].msg, "WAL-reset"));
	put32(f.shm, 96, 3);
	put32(f.shm, 128, 2);              /* attempted < backfilled */
	fix_reparse(&f);
	CHECK_EQ(wd_count(&f.ds, WD_SHM_BACKFILL_INVALID), 1);
	CHECK_EQ(f.ds.v[0].offset, 128);
	put32(f.shm, 128, 3);
	fix_reparse(&f);
	CHECK_EQ(f.ds.n, 0);

	put32(f.shm, 100 + 4 * 2, mx + 5); /* aReadMark[2] past mxFrame */
	put32(f.shm, 100 + 4 * 3, SHM_READMARK_NOT_USED);
	put32(f.shm, 100 + 4 * 4, mx);
	fix_reparse(&f);
	CHECK_EQ(f.ds.n, 1);
	CHECK_EQ(f.ds.v[0].code, WD_SHM_READMARK_INVALID);
	CHECK_EQ(f.ds.v[0].offset, 108);
	put32(f.shm, 108, 1);
	put32(f.shm, 100, 7);              /* aReadMark[0] */
	fix_reparse(&f);
	CHECK_EQ(f.ds.n, 1);
	CHECK_EQ(f.ds.v[0].code, WD_SHM_READMARK_INVALID);
	CHECK_EQ(f.ds.v[0].offset, 100);
	fix_free(&f);
}

TEST(shm_damage_mxframe_beyond_wal_end)
{
	struct fix f;
	load_healthy(&f);
	const uint32_t mx = f.s.hdr[0].mx_frame;
	/* the WAL loses its last frames (copied before the writer finished) */
	uint64_t cut = wal_frame_offset(f.w.page_size, mx - 2);
	wal_walk_free(&f.w);
	wd_diags_free(&f.dw);
	memset(&f.dw, 0, sizeof f.dw);
	wal_walk(f.wal, cut, 0, &f.w, &f.dw);
	CHECK_EQ(f.w.nvalid, mx - 3);
	struct wd_diags d;
	CHECK_EQ(fix_check(&f, &d), WD_WARN);
	CHECK_EQ(wd_count(&d, WD_SHM_STALE), 1);
	CHECK_EQ(d.v[0].offset, 16);
	CHECK(strstr(d.v[0].msg, "holds only"));
	CHECK_EQ(wd_count(&d, WD_SHM_INDEX_MISMATCH), 0);
	wd_diags_free(&d);
	/* an older -shm of the same WAL: same prefix, smaller mxFrame */
	wal_walk_free(&f.w);
	wal_walk(f.wal, f.nwal, 0, &f.w, &f.dw);
	uint32_t older = f.w.txns[0].last;
	CHECK(older < mx);
	patch_both(f.shm, 16, older);
	put32(f.shm, 24, f.w.frames[older - 1].cksum1);
	put32(f.shm, 28, f.w.frames[older - 1].cksum2);
	memcpy(f.shm + 48, f.shm, 48);
	reseal(f.shm, 0);
	reseal(f.shm, 1);
	fix_reparse(&f);
	CHECK(f.s.hdr_ok);
	CHECK_EQ(fix_check(&f, &d), WD_WARN);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_SHM_STALE);
	CHECK(strstr(d.v[0].msg, "older state"));
	wd_diags_free(&d);
	fix_free(&f);
}

TEST(shm_damage_salts_page_size_and_frame_cksum)
{
	struct fix f;
	load_healthy(&f);
	struct wd_diags d;
	/* salts of another generation; the index is not compared then */
	uint8_t salt[8];
	memcpy(salt, f.shm + 32, 8);
	f.shm[35] ^= 1;
	f.shm[48 + 35] ^= 1;
	reseal(f.shm, 0);
	reseal(f.shm, 1);
	fix_reparse(&f);
	CHECK(f.s.hdr_ok);
	CHECK_EQ(fix_check(&f, &d), WD_WARN);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_SHM_STALE);
	CHECK_EQ(d.v[0].offset, 32);
	wd_diags_free(&d);
	memcpy(f.shm + 32, salt, 8);
	memcpy(f.shm + 48 + 32, salt, 8);
	/* page size, checksum flag and frame checksum */
	f.shm[14] = f.shm[48 + 14] = 0;
	f.shm[15] = f.shm[48 + 15] = 0x08;   /* 2048 little-endian; 8 big-endian */
	if (host_is_be()) {
		f.shm[14] = f.shm[48 + 14] = 0x08;
		f.shm[15] = f.shm[48 + 15] = 0;
	}
	f.shm[13] ^= 1;
	f.shm[48 + 13] ^= 1;
	put32(f.shm, 24, get32(f.shm, 24) + 1);
	put32(f.shm, 48 + 24, get32(f.shm, 24));
	reseal(f.shm, 0);
	reseal(f.shm, 1);
	fix_reparse(&f);
	CHECK(f.s.hdr_ok);
	CHECK_EQ(f.s.hdr[0].page_size, 2048);
	CHECK_EQ(fix_check(&f, &d), WD_WARN);
	CHECK_EQ(wd_count(&d, WD_SHM_STALE), 3);
	CHECK_EQ(d.v[0].offset, 14);
	CHECK_EQ(d.v[1].offset, 13);
	CHECK_EQ(d.v[2].offset, 24);
	CHECK_EQ(d.v[2].frame, f.s.hdr[0].mx_frame);
	wd_diags_free(&d);
	fix_free(&f);
}

TEST(shm_damage_short_files)
{
	struct fix f;
	load_healthy(&f);
	static const size_t sizes[] = { 0, 3, 135 };
	for (unsigned i = 0; i < 3; i++) {
		struct shm_info s;
		struct wd_diags d = { 0 };
		CHECK_EQ(shm_parse(f.shm, sizes[i], &s, &d), WD_FATAL);
		CHECK(!s.has_header);
		CHECK_EQ(s.size, sizes[i]);
		CHECK_EQ(s.nblocks, sizes[i] ? 1 : 0);
		CHECK_EQ(d.n, 1);
		CHECK_EQ(d.v[0].code, WD_SHM_TRUNCATED);
		CHECK_EQ(d.v[0].sev, WD_INFO);
		CHECK_EQ(d.v[0].offset, (int64_t)sizes[i]);
		CHECK_EQ(strstr(d.v[0].msg, "SQLite itself leaves") != NULL, sizes[i] != 135);
		CHECK_EQ(shm_frame_pgno(f.shm, sizes[i], &s, 1), 0);
		CHECK_EQ(shm_find_frame(f.shm, sizes[i], &s, 1, 0, 10), 0);
		struct wd_diags d2 = { 0 };
		CHECK_EQ(shm_check_wal(f.shm, sizes[i], &s, &f.w, &d2), WD_OK);
		CHECK_EQ(d2.n, 0);
		wd_diags_free(&d);
	}
	/* header present, index cut short: lookups stop at the end of the file */
	struct shm_info s;
	struct wd_diags d = { 0 };
	CHECK_EQ(shm_parse(f.shm, 200, &s, &d), WD_OK);
	CHECK_EQ(shm_frame_pgno(f.shm, 200, &s, 16), f.w.frames[15].pgno);   /* byte 196..199 */
	CHECK_EQ(shm_frame_pgno(f.shm, 200, &s, 17), 0);
	CHECK_EQ(shm_find_frame(f.shm, 200, &s, f.w.frames[0].pgno, 0, 1), 0);
	CHECK_EQ(shm_check_wal(f.shm, 200, &s, &f.w, &d), WD_WARN);
	CHECK_EQ(wd_count(&d, WD_SHM_INDEX_MISMATCH), 2);
	wd_diags_free(&d);
	fix_free(&f);
}

TEST(shm_damage_hash_slots_terminate)
{
	struct fix f;
	load_healthy(&f);
	const uint32_t mx = f.s.hdr[0].mx_frame;
	/* one page-array entry wrong */
	uint32_t old = get32(f.shm, SHM_HDR_SIZE + 4 * 2);
	put32(f.shm, SHM_HDR_SIZE + 4 * 2, old + 1000);
	struct wd_diags d;
	CHECK_EQ(fix_check(&f, &d), WD_WARN);
	CHECK_EQ(wd_count(&d, WD_SHM_INDEX_MISMATCH), 2);   /* array, and frame 3's lookup */
	CHECK_EQ(d.v[0].frame, 3);
	CHECK_EQ(d.v[0].offset, SHM_HDR_SIZE + 8);
	CHECK(strstr(d.v[0].msg, "1 of"));
	wd_diags_free(&d);
	put32(f.shm, SHM_HDR_SIZE + 4 * 2, old);
	CHECK_EQ(fix_check(&f, &d), WD_OK);
	wd_diags_free(&d);

	/* every slot non-zero: a cycle with no empty slot */
	uint8_t *slots = f.shm + SHM_NPAGE * 4;
	for (unsigned i = 0; i < SHM_NSLOT; i++) {
		uint16_t v = (uint16_t)(i % 4000 + 1);
		memcpy(slots + 2 * i, &v, 2);
	}
	for (uint32_t p = 1; p < 50; p++) {
		uint32_t r = shm_find_frame(f.shm, f.nshm, &f.s, p, 0, mx);
		CHECK(r <= mx);
		if (r)
			CHECK_EQ(shm_frame_pgno(f.shm, f.nshm, &f.s, r), p);
	}
	CHECK_EQ(shm_find_frame(f.shm, f.nshm, &f.s, 0x7fffffff, 0, 0xffffffffu), 0);
	/* slot values past the array (up to 0xffff) are skipped and counted */
	memset(slots, 0xff, SHM_NSLOT * 2);
	CHECK_EQ(shm_find_frame(f.shm, f.nshm, &f.s, f.w.frames[0].pgno, 0, mx), 0);
	CHECK_EQ(fix_check(&f, &d), WD_WARN);
	CHECK_EQ(wd_count(&d, WD_SHM_INDEX_MISMATCH), 2);
	CHECK(strstr(d.v[1].msg, "8192 hash slots"));
	wd_diags_free(&d);
	fix_free(&f);
}

TEST(shm_page_size_codec_and_lock_names)
{
	CHECK_EQ(shm_decode_page_size(1), 65536);
	CHECK_EQ(shm_encode_page_size(65536), 1);
	for (uint32_t sz = 512; sz <= 65536; sz *= 2)
		CHECK_EQ(shm_decode_page_size(shm_encode_page_size(sz)), sz);
	CHECK_EQ(shm_decode_page_size(0), 0);
	CHECK_EQ(shm_decode_page_size(256), 0);
	CHECK_EQ(shm_decode_page_size(4097), 0);
	CHECK_STR(shm_lock_name(0), "WRITE");
	CHECK_STR(shm_lock_name(1), "CKPT");
	CHECK_STR(shm_lock_name(2), "RECOVER");
	CHECK_STR(shm_lock_name(3), "READ0");
	CHECK_STR(shm_lock_name(7), "READ4");
	CHECK_STR(shm_lock_name(8), "?");
}
