/*
 * WAL parser, against WALs real libsqlite3 wrote (and hand-damaged copies
 * of them).  Every damaged case is cross-checked with what SQLite itself
 * reads from a copy: one row per transaction, so rows = committed
 * transactions.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test.h"
#include "testlib.h"
#include "formats/bytes.h"
#include "formats/dbheader.h"
#include "formats/wal.h"

/* "<db>-wal" (a ring of buffers, like tl_path). */
static const char *wal_of(const char *db)
{
	static char ring[8][4096];
	static unsigned k;
	char *p = ring[k++ % 8];
	snprintf(p, 4096, "%s-wal", db);
	return p;
}

/* tl_path() reuses its buffers after 16 calls (tl_query_int calls it too):
 * paths a test keeps go through here. */
static const char *keep(const char *path)
{
	static char pool[64][4096];
	static unsigned k;
	char *p = pool[k++ % 64];
	snprintf(p, 4096, "%s", path);
	return p;
}

/* A WAL-mode database with table t (checkpointed into the db file), then
 * `ntx` transactions of one row each left in the WAL. */
static void make_wal(const char *db, unsigned page_size, unsigned ntx)
{
	tl_make_db(db, page_size, true);
	tl_sql(db, "CREATE TABLE t(a)");
	size_t cap = 64 + (size_t)ntx * 64;
	char *sql = malloc(cap), *p = sql;
	for (unsigned i = 0; i < ntx; i++)
		p += snprintf(p, cap - (size_t)(p - sql), "INSERT INTO t VALUES(randomblob(1500));");
	tl_sql_keep_wal(db, sql);
	free(sql);
}

static void walk_file(const char *wal, uint32_t hint, struct wal_walk *w, struct wd_diags *d)
{
	size_t n;
	uint8_t *p = tl_read(wal, &n);
	wal_walk(p, n, hint, w, d);
	free(p);
}

/* Copy db and its WAL under a new name (so that each variant has its own pair). */
static const char *copy_pair(const char *db, const char *name)
{
	const char *dst = keep(tl_path("%s", name));
	tl_copy(db, dst);
	tl_copy(wal_of(db), wal_of(dst));
	return dst;
}

/* Reseal the header and recompute every frame checksum in the word order of
 * the magic: what a writer would have produced for these bytes. */
static void rechain(uint8_t *p, size_t n, uint32_t ps)
{
	wal_header_seal(p);
	int big = rd_be32(p) & 1;
	uint32_t s[2] = { rd_be32(p + 24), rd_be32(p + 28) };
	for (uint64_t i = 1; wal_frame_offset(ps, i) + WAL_FRAME_HDR_SIZE + ps <= n; i++) {
		uint8_t *f = p + wal_frame_offset(ps, i);
		wal_frame_checksum(big, f, ps, s);
		wr_be32(f + 16, s[0]);
		wr_be32(f + 20, s[1]);
	}
}

static void rechain_file(const char *wal, uint32_t ps)
{
	size_t n;
	uint8_t *p = tl_read(wal, &n);
	rechain(p, n, ps);
	tl_write(wal, p, n);
	free(p);
}

static const struct wd_diag *find_diag(const struct wd_diags *d, enum wd_code c)
{
	for (size_t i = 0; i < d->n; i++)
		CHECK(strlen(d->v[i].msg) < WD_MSG_MAX - 1);   /* no message cut short */
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].code == c)
			return &d->v[i];
	return NULL;
}

static long long rows(const char *db)
{
	return tl_query_int(db, "SELECT count(*) FROM t");
}

/* The walk of a healthy WAL: everything valid and committed. */
static void check_healthy(const char *db, uint32_t ps, unsigned ntx)
{
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), 0, &w, &d);
	CHECK(w.hdr.valid);
	CHECK(w.hdr.version_ok);
	CHECK_EQ(w.page_size, ps);
	CHECK_EQ(w.hdr.page_size, ps);
	CHECK_EQ(w.end, WAL_END_EOF);
	CHECK(w.nframes >= ntx);
	CHECK_EQ(w.file_size, WAL_HDR_SIZE + (uint64_t)w.nframes * (ps + WAL_FRAME_HDR_SIZE));
	CHECK_EQ(w.partial_bytes, 0);
	CHECK_EQ(w.nvalid, w.nframes);
	CHECK_EQ(w.mx_frame, w.nframes);
	CHECK_EQ(w.ntxn, ntx);
	CHECK_EQ(w.npage, tl_query_int(db, "PRAGMA page_count"));
	CHECK_EQ(rows(db), ntx);
	CHECK_EQ(w.txns[0].first, 1);
	for (uint32_t i = 1; i < w.ntxn; i++)
		CHECK_EQ(w.txns[i].first, w.txns[i - 1].last + 1);
	CHECK_EQ(w.txns[w.ntxn - 1].last, w.mx_frame);
	CHECK_EQ(w.txns[w.ntxn - 1].db_size, w.npage);
	for (uint32_t i = 0; i < w.nframes; i++)
		CHECK_EQ(w.frames[i].state, WAL_FR_COMMITTED);
	CHECK_EQ(d.n, 0);
	wal_walk_free(&w);
	wd_diags_free(&d);
}

/* ---- checksum ----------------------------------------------------------- */

TEST(wal_checksum_known_values_both_orders)
{
	/* words 1,2,3,4 little-endian: s0=1, s1=3, s0=1+3+3=7, s1=3+4+7=14 */
	const uint8_t le[16] = { 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0 };
	uint32_t s[2] = { 0, 0 };
	wal_checksum(0, le, 16, s);
	CHECK_EQ(s[0], 7);
	CHECK_EQ(s[1], 14);
	/* the same bytes as big-endian words: 1<<24, 2<<24, 3<<24, 4<<24 */
	s[0] = s[1] = 0;
	wal_checksum(1, le, 16, s);
	CHECK_EQ(s[0], 7u << 24);
	CHECK_EQ(s[1], 14u << 24);
	/* seeds carry: two halves equal one pass */
	uint32_t a[2] = { 5, 9 }, b[2] = { 5, 9 };
	wal_checksum(0, le, 16, a);
	wal_checksum(0, le, 8, b);
	wal_checksum(0, le + 8, 8, b);
	CHECK_EQ(a[0], b[0]);
	CHECK_EQ(a[1], b[1]);
}

TEST(wal_checksum_equals_word_by_word_reference)
{
	uint8_t buf[4096 + 8];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (int big = 0; big < 2; big++) {
		for (size_t n = 0; n <= sizeof buf; n += 8 * 37) {
			uint32_t s[2] = { 0xdeadbeef, 0x01234567 }, r[2] = { 0xdeadbeef, 0x01234567 };
			wal_checksum(big, buf + 1, n, s);   /* unaligned on purpose */
			for (size_t i = 0; i < n; i += 8) {
				r[0] += rd_u32(buf + 1 + i, big) + r[1];
				r[1] += rd_u32(buf + 1 + i + 4, big) + r[0];
			}
			CHECK_EQ(s[0], r[0]);
			CHECK_EQ(s[1], r[1]);
		}
	}
}

/* ---- healthy WALs --------------------------------------------------------- */

TEST(wal_header_fields_match_sqlite_and_shm)
{
	const char *db = keep(tl_path("f.db"));
	make_wal(db, 4096, 5);
	size_t n, ns;
	uint8_t *p = tl_read(wal_of(db), &n);
	char shm_path[4096];
	snprintf(shm_path, sizeof shm_path, "%s-shm", db);
	uint8_t *shm = tl_read(shm_path, &ns);
	CHECK(ns >= 136);

	struct wal_header h;
	struct wd_diags d = { 0 };
	CHECK_EQ(wal_parse_header(p, n, &h, &d), WD_OK);
	CHECK_EQ(d.n, 0);
	/* a writer emits WAL_MAGIC | host-is-big-endian and checksums natively */
	CHECK_EQ(h.magic, WAL_MAGIC | (uint32_t)host_is_be());
	CHECK(h.magic_ok);
	CHECK_EQ(h.big_endian_cksum, host_is_be());
	CHECK_EQ(h.version, 3007000);
	CHECK(h.version_ok);
	CHECK_EQ(h.page_size, 4096);
	CHECK(h.page_size_ok);
	CHECK_EQ(h.ckpt_seq, 0);                 /* a fresh WAL: no checkpoint yet */
	CHECK_EQ(h.salt1, rd_be32(p + 16));
	CHECK_EQ(h.salt2, rd_be32(p + 20));
	CHECK_EQ(h.cksum1, rd_be32(p + 24));
	CHECK_EQ(h.cksum2, rd_be32(p + 28));
	CHECK(h.cksum_ok);
	CHECK_EQ(h.calc_cksum1, h.cksum1);
	CHECK_EQ(h.calc_cksum2, h.cksum2);
	CHECK(h.valid);

	/* The -shm header SQLite wrote (native byte order) agrees with the walk. */
	uint32_t mx, npage, fck[2];
	uint16_t szpage;
	memcpy(&szpage, shm + 14, 2);
	memcpy(&mx, shm + 16, 4);
	memcpy(&npage, shm + 20, 4);
	memcpy(fck, shm + 24, 8);
	CHECK_EQ(shm[13], h.big_endian_cksum);
	CHECK_EQ(szpage, 4096);
	CHECK_MEM(shm + 32, p + 16, 8);          /* aSalt: the header's salt bytes */
	struct wal_walk w;
	wal_walk(p, n, 0, &w, &d);
	CHECK_EQ(w.mx_frame, mx);
	CHECK_EQ(w.npage, npage);
	CHECK_EQ(w.cksum_mx[0], fck[0]);
	CHECK_EQ(w.cksum_mx[1], fck[1]);
	CHECK_EQ(w.frames[w.mx_frame - 1].cksum1, fck[0]);
	CHECK_EQ(w.ntxn, 5);
	CHECK_EQ(d.n, 0);
	wal_walk_free(&w);
	wd_diags_free(&d);
	free(shm);
	free(p);
}

TEST(wal_healthy_page_sizes_512_4096_65536)
{
	static const unsigned sizes[] = { 512, 4096, 65536 };
	for (unsigned i = 0; i < 3; i++) {
		const char *db = keep(tl_path("p%u.db", sizes[i]));
		unsigned ntx = sizes[i] == 65536 ? 3 : 7;
		make_wal(db, sizes[i], ntx);
		check_healthy(db, sizes[i], ntx);
		size_t n;
		uint8_t *p = tl_read(wal_of(db), &n);
		CHECK_EQ(rd_be32(p + 8), sizes[i]);  /* 65536 as 0x00010000, not 1 */
		free(p);
	}
}

TEST(wal_hint_never_overrides_a_valid_header)
{
	const char *db = keep(tl_path("h.db"));
	make_wal(db, 4096, 2);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), 512, &w, &d);
	CHECK_EQ(w.page_size, 4096);
	CHECK_EQ(w.ntxn, 2);
	CHECK_EQ(d.n, 0);
	wal_walk_free(&w);
	wd_diags_free(&d);
}

/* ---- frame classifications ------------------------------------------------- */

TEST(wal_uncommitted_tail_of_a_crashed_transaction)
{
	const char *db = keep(tl_path("u.db"));
	make_wal(db, 4096, 3);
	/* A transaction big enough to spill to the WAL, never committed. */
	tl_sql_keep_wal(db, "PRAGMA cache_size=2; BEGIN;"
			    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<400)"
			    " INSERT INTO t SELECT randomblob(1500) FROM s;");
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), 0, &w, &d);
	CHECK_EQ(w.end, WAL_END_EOF);
	CHECK_EQ(w.ntxn, 3);
	CHECK(w.nvalid == w.nframes);
	CHECK(w.nframes > w.mx_frame + 10);
	for (uint32_t i = 0; i < w.nframes; i++)
		CHECK_EQ(w.frames[i].state, i < w.mx_frame ? WAL_FR_COMMITTED : WAL_FR_UNCOMMITTED);
	const struct wd_diag *g = find_diag(&d, WD_WAL_UNCOMMITTED_TAIL);
	CHECK(g);
	CHECK_EQ(g->sev, WD_INFO);
	CHECK_EQ(g->frame, w.mx_frame + 1);
	CHECK_EQ(g->offset, (int64_t)wal_frame_offset(4096, w.mx_frame + 1));
	CHECK_EQ(g->file, WD_F_WAL);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(rows(db), 3);
	uint32_t nframes = w.nframes, mx = w.mx_frame;
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* A checksum break inside that tail loses nothing committed: warning. */
	const char *db2 = copy_pair(db, "u2.db");
	tl_flip(wal_of(db2), wal_frame_offset(4096, nframes - 2) + WAL_FRAME_HDR_SIZE + 9, 0x40);
	walk_file(wal_of(db2), 0, &w, &d);
	CHECK_EQ(w.end, WAL_END_CKSUM);
	CHECK_EQ(w.nvalid, nframes - 3);
	CHECK_EQ(w.mx_frame, mx);
	CHECK_EQ(w.frames[nframes - 3].state, WAL_FR_CKSUM_BREAK);
	CHECK_EQ(w.frames[nframes - 1].state, WAL_FR_AFTER_BREAK);
	g = find_diag(&d, WD_WAL_CHECKSUM_MISMATCH);
	CHECK(g);
	CHECK_EQ(g->sev, WD_WARNING);
	CHECK_EQ(g->frame, nframes - 2);
	CHECK_EQ(wd_worst(&d), WD_WARNING);
	CHECK_EQ(rows(db2), 3);
	wal_walk_free(&w);
	wd_diags_free(&d);
}

TEST(wal_partial_last_frame)
{
	const char *db = keep(tl_path("t.db"));
	make_wal(db, 4096, 4);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), 0, &w, &d);
	uint32_t nframes = w.nframes, last_first = w.txns[3].first;
	wal_walk_free(&w);
	wd_diags_free(&d);

	uint64_t sz = tl_size(wal_of(db));
	tl_truncate(wal_of(db), sz - 1000);
	walk_file(wal_of(db), 0, &w, &d);
	CHECK_EQ(w.nframes, nframes - 1);
	CHECK_EQ(w.partial_bytes, 4096 + 24 - 1000);
	CHECK_EQ(w.end, WAL_END_EOF);
	CHECK_EQ(w.ntxn, 3);                     /* the last commit frame was torn */
	CHECK_EQ(w.mx_frame, last_first - 1);
	const struct wd_diag *g = find_diag(&d, WD_WAL_PARTIAL_FRAME);
	CHECK(g);
	CHECK_EQ(g->sev, WD_WARNING);
	CHECK_EQ(g->frame, nframes);
	CHECK_EQ(g->offset, (int64_t)wal_frame_offset(4096, nframes));
	CHECK_EQ(!!find_diag(&d, WD_WAL_UNCOMMITTED_TAIL), w.nvalid > w.mx_frame);
	CHECK_EQ(rows(db), 3);
	wal_walk_free(&w);
	wd_diags_free(&d);
}

TEST(wal_checksum_break_at_frame_k_matches_sqlite)
{
	const char *db = keep(tl_path("c.db"));
	make_wal(db, 1024, 12);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), 0, &w, &d);
	const uint32_t nframes = w.nframes;
	wal_walk_free(&w);
	wd_diags_free(&d);
	const uint32_t ks[] = { 1, 2, nframes / 3, nframes / 2 + 1, nframes - 1, nframes };
	for (unsigned i = 0; i < sizeof ks / sizeof *ks; i++) {
		const uint32_t k = ks[i];
		char name[32];
		snprintf(name, sizeof name, "k%u.db", k);
		const char *cp = copy_pair(db, name);
		tl_flip(wal_of(cp), wal_frame_offset(1024, k) + WAL_FRAME_HDR_SIZE + 100, 0x01);
		walk_file(wal_of(cp), 0, &w, &d);
		CHECK_EQ(w.end, WAL_END_CKSUM);
		CHECK_EQ(w.nvalid, k - 1);
		CHECK(w.mx_frame <= k - 1);
		CHECK_EQ(w.frames[k - 1].state, WAL_FR_CKSUM_BREAK);
		for (uint32_t j = k; j < nframes; j++)
			CHECK_EQ(w.frames[j].state, WAL_FR_AFTER_BREAK);
		const struct wd_diag *g = find_diag(&d, WD_WAL_CHECKSUM_MISMATCH);
		CHECK(g);
		CHECK_EQ(g->frame, k);
		CHECK_EQ(g->offset, (int64_t)wal_frame_offset(1024, k));
		CHECK_EQ(g->sev, WD_ERROR);          /* commits at or after k are lost */
		CHECK_EQ(wd_count(&d, WD_WAL_CHECKSUM_MISMATCH), 1);
		/* what SQLite sees is exactly what the walk calls committed */
		CHECK_EQ(rows(cp), w.ntxn);
		wal_walk_free(&w);
		wd_diags_free(&d);
	}
}

TEST(wal_page_number_zero_ends_the_log)
{
	const char *db = keep(tl_path("z.db"));
	make_wal(db, 4096, 6);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), 0, &w, &d);
	const uint32_t nframes = w.nframes, k = w.txns[2].first + 1 <= w.txns[2].last ? w.txns[2].first + 1
										       : w.txns[2].first;
	wal_walk_free(&w);
	wd_diags_free(&d);
	static const uint8_t zero[4];
	tl_patch(wal_of(db), wal_frame_offset(4096, k), zero, 4);
	walk_file(wal_of(db), 0, &w, &d);
	CHECK_EQ(w.end, WAL_END_PGNO);
	CHECK_EQ(w.nvalid, k - 1);
	CHECK_EQ(w.ntxn, 2);
	CHECK_EQ(w.frames[k - 1].state, WAL_FR_BAD_PGNO);
	CHECK_EQ(w.frames[nframes - 1].state, WAL_FR_AFTER_BREAK);
	const struct wd_diag *g = find_diag(&d, WD_WAL_FRAME_INVALID);
	CHECK(g);
	CHECK_EQ(g->frame, k);
	CHECK_EQ(g->sev, WD_ERROR);
	CHECK(!find_diag(&d, WD_WAL_CHECKSUM_MISMATCH));  /* pgno is tested before the checksum */
	CHECK_EQ(rows(db), 2);
	wal_walk_free(&w);
	wd_diags_free(&d);
}

TEST(wal_stale_frames_after_restart)
{
	const char *db = keep(tl_path("s.db"));
	make_wal(db, 4096, 10);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), 0, &w, &d);
	const uint32_t old_frames = w.nframes, old_salt1 = w.hdr.salt1, old_salt2 = w.hdr.salt2;
	const uint32_t old_seq = w.hdr.ckpt_seq;
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* Backfill everything with no reader left, so the next writer restarts
	 * the WAL from frame 1 with new salts over the old frames. */
	tl_sql_keep_wal(db, "PRAGMA wal_checkpoint(RESTART); INSERT INTO t VALUES(randomblob(1500));");
	CHECK_EQ(tl_size(wal_of(db)), WAL_HDR_SIZE + (uint64_t)old_frames * (4096 + 24));
	walk_file(wal_of(db), 0, &w, &d);
	CHECK_EQ(w.hdr.salt1, old_salt1 + 1);     /* walRestartHdr: salt-1 + 1 */
	CHECK(w.hdr.salt2 != old_salt2);
	CHECK_EQ(w.hdr.ckpt_seq, old_seq + 1);
	CHECK_EQ(w.nframes, old_frames);
	CHECK_EQ(w.end, WAL_END_SALT);
	CHECK_EQ(w.ntxn, 1);
	CHECK_EQ(w.mx_frame, w.nvalid);
	CHECK(w.nvalid < old_frames);
	for (uint32_t i = w.nvalid; i < w.nframes; i++) {
		CHECK_EQ(w.frames[i].state, WAL_FR_STALE);
		CHECK_EQ(w.frames[i].salt1, old_salt1);
	}
	const struct wd_diag *g = find_diag(&d, WD_WAL_STALE_FRAMES);
	CHECK(g);
	CHECK_EQ(g->sev, WD_INFO);
	CHECK_EQ(g->frame, w.nvalid + 1);
	CHECK(strstr(g->msg, "frames from frame"));
	CHECK_EQ(wd_worst(&d), WD_INFO);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(rows(db), 11);                   /* 10 checkpointed + 1 in the WAL */
	wal_walk_free(&w);
	wd_diags_free(&d);
}

/* ---- damaged headers ------------------------------------------------------- */

/* SQLite ignores the WAL: no frame valid, no transaction, 0 rows seen. */
static void check_ignored(const char *db, uint32_t hint, uint32_t expect_frames, int64_t expect_off)
{
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), hint, &w, &d);
	CHECK(!w.hdr.valid);
	CHECK_EQ(w.end, WAL_END_NO_HEADER);
	CHECK_EQ(w.nvalid, 0);
	CHECK_EQ(w.mx_frame, 0);
	CHECK_EQ(w.ntxn, 0);
	CHECK_EQ(w.nframes, expect_frames);
	for (uint32_t i = 0; i < w.nframes; i++)
		CHECK_EQ(w.frames[i].state, WAL_FR_AFTER_BREAK);
	const struct wd_diag *g = find_diag(&d, WD_WAL_HEADER_INVALID);
	CHECK(g);
	CHECK_EQ(g->sev, WD_ERROR);
	CHECK_EQ(g->offset, expect_off);
	CHECK_EQ(rows(db), 0);
	wal_walk_free(&w);
	wd_diags_free(&d);
}

TEST(wal_header_checksum_bad)
{
	const char *db = keep(tl_path("b.db"));
	make_wal(db, 4096, 3);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(db), 0, &w, &d);
	const uint32_t nframes = w.nframes;
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* the stored checksum itself damaged: nothing chains */
	const char *a = copy_pair(db, "a.db");
	tl_flip(wal_of(a), 25, 0x10);
	check_ignored(a, 0, nframes, 24);
	walk_file(wal_of(a), 0, &w, &d);
	CHECK(!w.hdr.cksum_ok);
	CHECK(w.hdr.magic_ok && w.hdr.page_size_ok);
	CHECK(!strstr(find_diag(&d, WD_WAL_HEADER_INVALID)->msg, "chain from the stored"));
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* a header field damaged after sealing: the frames still chain from the
	 * stored checksum, and the finding says so */
	const char *b = copy_pair(db, "b2.db");
	tl_flip(wal_of(b), 13, 0x01);
	check_ignored(b, 0, nframes, 24);
	walk_file(wal_of(b), 0, &w, &d);
	char want[128];
	snprintf(want, sizeof want, "all %u frames (3 commits); frames 1-%u chain from the stored", nframes, nframes);
	CHECK(strstr(find_diag(&d, WD_WAL_HEADER_INVALID)->msg, want));
	wal_walk_free(&w);
	wd_diags_free(&d);
}

TEST(wal_bad_magic)
{
	const char *db = keep(tl_path("m.db"));
	make_wal(db, 4096, 2);
	uint32_t nframes = (uint32_t)((tl_size(wal_of(db)) - 32) / (4096 + 24));
	uint8_t magic[4];
	wr_be32(magic, 0x377f0684);
	tl_patch(wal_of(db), 0, magic, 4);
	check_ignored(db, 0, nframes, 0);
	/* resealed, only the magic is wrong: still ignored */
	rechain_file(wal_of(db), 4096);
	check_ignored(db, 0, nframes, 0);
}

TEST(wal_bad_page_size_uses_hint)
{
	const char *db = keep(tl_path("ps.db"));
	make_wal(db, 4096, 3);
	uint32_t nframes = (uint32_t)((tl_size(wal_of(db)) - 32) / (4096 + 24));
	static const uint32_t bad[] = { 0, 1, 3, 511, 3000, 131072, 0xffffffff };
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		uint8_t v[4];
		wr_be32(v, bad[i]);
		tl_patch(wal_of(db), 8, v, 4);
		struct wal_walk w;
		struct wd_diags d = { 0 };
		/* no usable page size at all: no frames, nothing divided by it */
		walk_file(wal_of(db), 0, &w, &d);
		CHECK(!w.hdr.page_size_ok);
		CHECK_EQ(w.page_size, 0);
		CHECK_EQ(w.nframes, 0);
		CHECK(w.frames == NULL);
		CHECK_EQ(wd_count(&d, WD_WAL_HEADER_INVALID), 1);
		wal_walk_free(&w);
		wd_diags_free(&d);
		/* a bad hint is ignored too */
		walk_file(wal_of(db), 1000, &w, &d);
		CHECK_EQ(w.nframes, 0);
		wal_walk_free(&w);
		wd_diags_free(&d);
		/* the database's page size delimits the frames; none is valid */
		check_ignored(db, 4096, nframes, 8);
	}
}

TEST(wal_version_not_3007000_is_cantopen)
{
	const char *db = keep(tl_path("v.db"));
	make_wal(db, 4096, 3);
	uint8_t v[4];
	wr_be32(v, 3007001);
	tl_patch(wal_of(db), 4, v, 4);
	rechain_file(wal_of(db), 4096);          /* header checksum good again */
	struct wal_walk w;
	struct wd_diags d = { 0 };
	size_t n;
	uint8_t *p = tl_read(wal_of(db), &n);
	struct wal_header hd;
	CHECK_EQ(wal_parse_header(p, n, &hd, &d), WD_FATAL);
	CHECK(hd.cksum_ok);
	CHECK_EQ(wd_count(&d, WD_WAL_VERSION_INVALID), 1);
	free(p);
	wd_diags_free(&d);
	walk_file(wal_of(db), 0, &w, &d);
	CHECK(w.hdr.cksum_ok);
	CHECK(w.hdr.valid);
	CHECK(!w.hdr.version_ok);
	CHECK_EQ(w.ntxn, 3);                      /* the frames themselves are fine */
	const struct wd_diag *g = find_diag(&d, WD_WAL_VERSION_INVALID);
	CHECK(g);
	CHECK_EQ(g->sev, WD_ERROR);
	CHECK_EQ(g->offset, 4);
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* SQLite: recovery fails with SQLITE_CANTOPEN on a copy (no -shm) */
	mkdir(tl_path("open"), 0700);
	const char *cp = keep(tl_path("open/v.db"));
	tl_copy(db, cp);
	tl_copy(wal_of(db), wal_of(cp));
	sqlite3 *h = NULL;
	CHECK_EQ(sqlite3_open(cp, &h), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	CHECK_EQ(rc & 0xff, SQLITE_CANTOPEN);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* ---- big-endian checksum words ---------------------------------------------- */

TEST(wal_big_endian_checksums_read_by_waldo_and_sqlite)
{
	const char *db = keep(tl_path("le.db"));
	make_wal(db, 4096, 6);
	size_t n;
	uint8_t *p = tl_read(wal_of(db), &n);
	const uint32_t old1 = rd_be32(p + wal_frame_offset(4096, 1) + 16);
	wr_be32(p, 0x377f0683);
	rechain(p, n, 4096);
	CHECK(rd_be32(p + wal_frame_offset(4096, 1) + 16) != old1);
	const char *be = keep(tl_path("be.db"));
	tl_copy(db, be);
	tl_write(wal_of(be), p, n);
	free(p);

	struct wal_walk w;
	struct wd_diags d = { 0 };
	walk_file(wal_of(be), 0, &w, &d);
	CHECK(w.hdr.big_endian_cksum);
	CHECK(w.hdr.valid);
	CHECK_EQ(w.end, WAL_END_EOF);
	CHECK_EQ(w.nvalid, w.nframes);
	CHECK_EQ(w.ntxn, 6);
	CHECK_EQ(d.n, 0);
	CHECK_EQ(rows(be), 6);                    /* SQLite accepts the other word order */
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* and a flip in a big-endian WAL breaks the chain where SQLite stops */
	tl_flip(wal_of(be), wal_frame_offset(4096, 4) + 30, 0x80);
	walk_file(wal_of(be), 0, &w, &d);
	CHECK_EQ(w.end, WAL_END_CKSUM);
	CHECK_EQ(w.nvalid, 3);
	CHECK_EQ(rows(be), w.ntxn);
	wal_walk_free(&w);
	wd_diags_free(&d);
}

/* ---- frame headers SQLite never writes --------------------------------------- */

TEST(wal_odd_frame_headers_reported_without_ending_the_log)
{
	const char *db = keep(tl_path("o.db"));
	make_wal(db, 4096, 4);
	size_t n;
	uint8_t *p = tl_read(wal_of(db), &n);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	wal_walk(p, n, 0, &w, &d);
	const uint32_t mx = w.mx_frame, nframes = w.nframes;
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* the last commit frame claims 0xffffffff pages */
	uint8_t *q = malloc(n);
	memcpy(q, p, n);
	wr_be32(q + wal_frame_offset(4096, mx) + 4, 0xffffffff);
	rechain(q, n, 4096);
	wal_walk(q, n, 0, &w, &d);
	CHECK_EQ(w.end, WAL_END_EOF);
	CHECK_EQ(w.nvalid, nframes);
	CHECK_EQ(w.npage, 0xffffffff);
	CHECK_EQ(wd_count(&d, WD_WAL_FRAME_INVALID), 1);
	CHECK_EQ(find_diag(&d, WD_WAL_FRAME_INVALID)->frame, mx);
	CHECK_EQ(find_diag(&d, WD_WAL_FRAME_INVALID)->sev, WD_ERROR);
	CHECK(strstr(find_diag(&d, WD_WAL_FRAME_INVALID)->msg, "0xffffffff"));
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* frames 1 and 2 write the lock-byte page (also past the db size) */
	memcpy(q, p, n);
	const uint32_t lock = dbh_lock_byte_page(4096);
	wr_be32(q + wal_frame_offset(4096, 1), lock);
	wr_be32(q + wal_frame_offset(4096, 2), lock);
	rechain(q, n, 4096);
	wal_walk(q, n, 0, &w, &d);
	CHECK_EQ(w.end, WAL_END_EOF);
	CHECK_EQ(w.ntxn, 4);
	CHECK_EQ(wd_count(&d, WD_WAL_FRAME_INVALID), 2);
	CHECK_EQ(d.v[0].frame, 1);
	CHECK_EQ(d.v[0].page, lock);
	CHECK_EQ(d.v[0].sev, WD_ERROR);
	CHECK(strstr(d.v[0].msg, "lock-byte page"));
	CHECK(strstr(d.v[0].msg, "2 such frames"));
	CHECK_EQ(d.v[1].sev, WD_WARNING);
	CHECK(strstr(d.v[1].msg, "past its transaction's database size"));
	wal_walk_free(&w);
	wd_diags_free(&d);
	free(q);
	free(p);
}

/* ---- short files ------------------------------------------------------------ */

TEST(wal_empty_torn_and_header_only)
{
	const char *db = keep(tl_path("e.db"));
	make_wal(db, 4096, 1);
	size_t n;
	uint8_t *p = tl_read(wal_of(db), &n);
	struct wal_walk w;
	struct wd_diags d = { 0 };

	CHECK_EQ(wal_walk(p, 0, 0, &w, &d), WD_OK);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_WAL_EMPTY);
	CHECK_EQ(w.end, WAL_END_NO_HEADER);
	CHECK_EQ(w.nframes, 0);
	wal_walk_free(&w);
	wd_diags_free(&d);

	CHECK_EQ(wal_walk(p, 20, 0, &w, &d), WD_FATAL);
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_WAL_TORN_HEADER);
	CHECK_EQ(d.v[0].sev, WD_WARNING);
	wal_walk_free(&w);
	wd_diags_free(&d);

	CHECK_EQ(wal_walk(p, 32, 0, &w, &d), WD_OK);
	CHECK(w.hdr.valid);
	CHECK_EQ(w.nframes, 0);
	CHECK_EQ(w.end, WAL_END_NO_HEADER);      /* SQLite does not read a 32-byte WAL */
	CHECK_EQ(d.n, 1);
	CHECK_EQ(d.v[0].code, WD_WAL_EMPTY);
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* less than one frame after the header: a partial frame, no frames */
	CHECK_EQ(wal_walk(p, 32 + 100, 0, &w, &d), WD_WARN);
	CHECK_EQ(w.nframes, 0);
	CHECK_EQ(w.end, WAL_END_EOF);
	CHECK_EQ(w.partial_bytes, 100);
	CHECK_EQ(wd_count(&d, WD_WAL_PARTIAL_FRAME), 1);
	CHECK_EQ(d.v[0].frame, 1);
	wal_walk_free(&w);
	wd_diags_free(&d);

	/* a header-only WAL with a bad version: SQLite never looks (info) */
	wr_be32(p + 4, 1);
	wal_header_seal(p);
	CHECK_EQ(wal_walk(p, 32, 0, &w, &d), WD_FATAL);
	CHECK_EQ(find_diag(&d, WD_WAL_VERSION_INVALID)->sev, WD_INFO);
	CHECK_EQ(wd_worst(&d), WD_INFO);
	wal_walk_free(&w);
	wd_diags_free(&d);

	CHECK_EQ(wal_parse_header(p, 0, &w.hdr, &d), WD_OK);
	CHECK_EQ(d.v[0].code, WD_WAL_EMPTY);
	wd_diags_free(&d);
	free(p);
}

TEST(wal_names)
{
	CHECK_STR(wal_frame_state_name(WAL_FR_COMMITTED), "committed");
	CHECK_STR(wal_frame_state_name(WAL_FR_UNCOMMITTED), "uncommitted");
	CHECK_STR(wal_frame_state_name(WAL_FR_CKSUM_BREAK), "checksum-break");
	CHECK_STR(wal_frame_state_name(WAL_FR_BAD_PGNO), "bad-pgno");
	CHECK_STR(wal_frame_state_name(WAL_FR_STALE), "stale");
	CHECK_STR(wal_frame_state_name(WAL_FR_AFTER_BREAK), "after-break");
	CHECK_STR(wal_end_name(WAL_END_EOF), "eof");
	CHECK_STR(wal_end_name(WAL_END_NO_HEADER), "no-header");
	CHECK_STR(wal_end_name(WAL_END_SALT), "salt");
	CHECK_STR(wal_end_name(WAL_END_PGNO), "pgno");
	CHECK_STR(wal_end_name(WAL_END_CKSUM), "checksum");
	CHECK_STR(wal_end_name(WAL_END_LIMIT), "limit");
	CHECK(wal_page_size_ok(512) && wal_page_size_ok(65536));
	CHECK(!wal_page_size_ok(256) && !wal_page_size_ok(131072) && !wal_page_size_ok(1) &&
	      !wal_page_size_ok(0) && !wal_page_size_ok(3000));
}

/* Every single-bit flip in the header and the first frame headers, and every
 * length: no crash, and a walk never claims more valid frames than before. */
TEST(wal_flip_and_truncate_sweep)
{
	const char *db = keep(tl_path("sw.db"));
	make_wal(db, 512, 3);
	size_t n;
	uint8_t *p = tl_read(wal_of(db), &n);
	struct wal_walk w;
	struct wd_diags d = { 0 };
	wal_walk(p, n, 0, &w, &d);
	const uint32_t nvalid = w.nvalid;
	wal_walk_free(&w);
	wd_diags_free(&d);
	const size_t span = (size_t)wal_frame_offset(512, 3) + 24;
	for (size_t off = 0; off < span && off < n; off++) {
		if (off >= 32 && (off - 32) % 536 >= 24)
			continue;                 /* page data: covered by the break tests */
		for (int bit = 0; bit < 8; bit++) {
			p[off] ^= (uint8_t)(1 << bit);
			wal_walk(p, n, bit & 1 ? 512 : 0, &w, &d);
			CHECK(w.nvalid <= nvalid);   /* every header and frame-header byte is checked */
			wal_walk_free(&w);
			wd_diags_free(&d);
			p[off] ^= (uint8_t)(1 << bit);
		}
	}
	for (size_t len = 0; len <= n; len += len < 600 ? 1 : 97) {
		wal_walk(p, len, 512, &w, &d);
		CHECK(w.nframes <= (len > 32 ? (len - 32) / 536 : 0));
		wal_walk_free(&w);
		wd_diags_free(&d);
	}
	free(p);
}
