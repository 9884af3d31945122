/*
 * expect.c — expected.json: the expectations a scenario states, SQLite's
 * view of the files (measured, never assumed), writing it, and --check.
 *
 * The schema is documented in docs/corpus.md; in short:
 *
 *   case, group, seed, description, models, note
 *   files [names], file_sha256 {name: hex}
 *   page_size, auto_vacuum, wal_checksum_order
 *   db {file_size, header_pages, header_pages_trusted, journal_mode} | null
 *   inspect {must [codes], must_not [codes], exit}
 *   wal {frames_total, frames_valid, commits, last_commit_frame, page_size,
 *        partial_bytes, uncommitted_frames, stale_frames} | null
 *   shm {size, byte_order, copies_agree, mx_frame, n_page, n_backfill,
 *        n_backfill_attempted, read_marks} | null
 *   sqlite {opens, error, integrity, content_sha256, content_error, tables, mx_frame}
 *   original {...same as sqlite...}        (hand-damaged cases: before the damage)
 *   repair {content_sha256, integrity, note} (damaged cases)
 */
#include "corpus.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/bytes.h"
#include "formats/diag.h"
#include "formats/wal.h"
#include "inspect/json.h"
#include "jsonread.h"

/* ---- expectations --------------------------------------------------------- */

static bool has(const char *const *v, int n, const char *code)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], code))
			return true;
	return false;
}

void expect_must(struct gen *g, const char *code)
{
	if (wd_code_lookup(code) < 0)
		die("unknown finding code %s", code);
	if (!has(g->must, g->nmust, code)) {
		if (g->nmust == CG_MAX_CODES)
			die("too many codes");
		g->must[g->nmust++] = code;
	}
	/* A code the case must report is dropped from a group's must-not list. */
	for (int i = 0; i < g->nmust_not; i++)
		if (!strcmp(g->must_not[i], code)) {
			memmove(&g->must_not[i], &g->must_not[i + 1],
				(size_t)(g->nmust_not - i - 1) * sizeof g->must_not[0]);
			g->nmust_not--;
			break;
		}
}

void expect_must_not(struct gen *g, const char *code)
{
	if (wd_code_lookup(code) < 0)
		die("unknown finding code %s", code);
	if (has(g->must, g->nmust, code))
		return;
	if (!has(g->must_not, g->nmust_not, code)) {
		if (g->nmust_not == 2 * CG_MAX_CODES)
			die("too many codes");
		g->must_not[g->nmust_not++] = code;
	}
}

static const char *const intact_db[] = {
	"DB_NOT_SQLITE", "DB_EMPTY", "DB_PAGE_SIZE_INVALID", "DB_HEADER_INVALID", "DB_FILE_TRUNCATED",
	"BTREE_PAGE_INVALID", "OVERFLOW_CHAIN_INVALID", "FREELIST_INVALID",
	"FREELIST_COUNT_MISMATCH", "PTRMAP_INVALID", "SQLITE_INTEGRITY_FAILED", NULL,
};
static const char *const intact_dbsize[] = { "DB_SIZE_FIELD_STALE", "DB_TRAILING_BYTES", NULL };
static const char *const intact_wal[] = {
	"WAL_HEADER_INVALID", "WAL_VERSION_INVALID", "WAL_PAGE_SIZE_MISMATCH", "WAL_TORN_HEADER",
	"WAL_PARTIAL_FRAME", "WAL_CHECKSUM_MISMATCH", "WAL_FRAME_INVALID", "WAL_FOREIGN",
	"WAL_LIMIT_EXCEEDED", NULL,
};
static const char *const intact_shm[] = {
	"SHM_HEADER_INVALID", "SHM_HEADER_MISMATCH", "SHM_STALE", "SHM_BACKFILL_INVALID",
	"SHM_READMARK_INVALID", "SHM_INDEX_MISMATCH", "SHM_FOREIGN_ENDIAN", NULL,
};
static const char *const intact_other[] = {
	"DB_HOT_JOURNAL", "JOURNAL_INVALID", "CKPT_STARVED", "DB_IN_USE", "LIMIT_EXCEEDED", NULL,
};

void expect_intact(struct gen *g, int groups)
{
	const char *const *sets[] = { intact_db, intact_dbsize, intact_wal, intact_shm, intact_other };
	for (int i = 0; i < 5; i++)
		if (groups & (1 << i))
			for (const char *const *c = sets[i]; *c; c++)
				expect_must_not(g, *c);
}

void expect_healthy(struct gen *g)
{
	for (int c = 0; c < WD__NCODES; c++)
		if (wd_code_severity((enum wd_code)c) >= WD_WARNING)
			expect_must_not(g, wd_code_name((enum wd_code)c));
	g->exit_status = 0;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

static const char *const case_files[] = { "db", "db-wal", "db-shm", "db-journal" };

void gen_snapshot_orig(struct gen *g)
{
	char src[CG_PATH_MAX], dst[CG_PATH_MAX];
	pathf(dst, "%s/orig", g->work);
	dir_remove(dst);
	dir_make(dst);
	for (int i = 0; i < 4; i++)
		file_copy_opt(pathf(src, "%s/%s", g->dir, case_files[i]),
			      pathf(dst, "%s/orig/%s", g->work, case_files[i]));
	g->have_orig = true;
}

const char *gen_repair_dir(struct gen *g, const char *fmt, ...)
{
	static char dir[CG_PATH_MAX];
	char src[CG_PATH_MAX], dst[CG_PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->repair_note, sizeof g->repair_note, fmt, ap);
	va_end(ap);
	pathf(dir, "%s/repair", g->work);
	dir_remove(dir);
	dir_make(dir);
	for (int i = 0; i < 4; i++)
		file_copy_opt(pathf(src, "%s/%s", g->dir, case_files[i]),
			      pathf(dst, "%s/%s", dir, case_files[i]));
	g->have_repair = true;
	return dir;
}

void gen_repair_impossible(struct gen *g, const char *note)
{
	snprintf(g->repair_note, sizeof g->repair_note, "%s", note);
	g->repair_impossible = true;
}

/* ---- facts read from the files --------------------------------------------- */

struct dbfacts {
	bool is_db;
	uint64_t file_size;
	uint32_t page_size;        /* 0 when invalid */
	uint32_t header_pages;
	bool header_pages_trusted;
	bool wal_mode;
	int auto_vacuum;           /* 0 none, 1 full, 2 incremental */
};

static void db_facts(const char *path, struct dbfacts *f)
{
	memset(f, 0, sizeof *f);
	size_t n;
	uint8_t *p = file_read_opt(path, &n);
	if (!p)
		return;
	f->file_size = n;
	if (n >= 100 && !memcmp(p, "SQLite format 3", 16)) {
		f->is_db = true;
		uint32_t raw = rd_be16(p + 16);
		uint32_t ps = raw == 1 ? 65536 : raw;
		f->page_size = ps >= 512 && is_pow2_u32(ps) ? ps : 0;
		f->header_pages = rd_be32(p + 28);
		/* lockBtree: trusted when non-zero and change counter == version-valid-for. */
		f->header_pages_trusted = f->header_pages && !memcmp(p + 24, p + 92, 4);
		f->wal_mode = p[18] == 2 && p[19] == 2;
		f->auto_vacuum = rd_be32(p + 52) ? (rd_be32(p + 64) ? 2 : 1) : 0;
	}
	free(p);
}

struct shmfacts {
	bool present;
	uint64_t size;
	bool has_header;
	int order;                 /* 0 unknown, 1 le, 2 be */
	bool copies_agree;
	uint32_t mx_frame, n_page, n_backfill, n_attempted, read_mark[5];
};

static void shm_facts(const char *path, struct shmfacts *f)
{
	memset(f, 0, sizeof *f);
	size_t n;
	uint8_t *p = file_read_opt(path, &n);
	if (!p)
		return;
	f->present = true;
	f->size = n;
	if (n >= SHMX_HDR) {
		f->has_header = true;
		int big = -1;
		if (rd_le32(p) == 3007000u)
			big = 0;
		else if (rd_be32(p) == 3007000u)
			big = 1;
		f->copies_agree = !memcmp(p, p + SHMX_COPY, SHMX_COPY);
		if (big >= 0) {
			f->order = big ? 2 : 1;
			f->mx_frame = rd_u32(p + SHMX_OFF_MXFRAME, big);
			f->n_page = rd_u32(p + SHMX_OFF_NPAGE, big);
			f->n_backfill = rd_u32(p + SHMX_OFF_BACKFILL, big);
			f->n_attempted = rd_u32(p + SHMX_OFF_ATTEMPTED, big);
			for (int i = 0; i < 5; i++)
				f->read_mark[i] = rd_u32(p + SHMX_OFF_READMARK + 4 * i, big);
		}
	}
	free(p);
}

static void sha256_file(const char *path, char hex[65])
{
	size_t n;
	uint8_t *p = file_read(path, &n);
	uint8_t md[32];
	unsigned len = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) || !EVP_DigestUpdate(c, p, n) ||
	    !EVP_DigestFinal_ex(c, md, &len))
		die("sha256 failed");
	EVP_MD_CTX_free(c);
	free(p);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---- a small pretty JSON writer ------------------------------------------- */

struct pj {
	FILE *f;
	int depth;
	bool first[16];
	bool flat[16];             /* members on one line */
};

static void pj_sep(struct pj *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		if (j->flat[j->depth]) {
			if (!j->first[j->depth])
				fputc(' ', j->f);
		} else {
			fprintf(j->f, "\n%*s", 2 * j->depth, "");
		}
		j->first[j->depth] = false;
	}
	if (key) {
		json_write_string(j->f, key, strlen(key));
		fputs(": ", j->f);
	}
}

static void pj_open(struct pj *j, const char *key, char c, bool flat)
{
	pj_sep(j, key);
	fputc(c, j->f);
	j->depth++;
	j->first[j->depth] = true;
	j->flat[j->depth] = flat || j->flat[j->depth - 1];
}

static void pj_close(struct pj *j, char c)
{
	bool empty = j->first[j->depth], flat = j->flat[j->depth];
	j->depth--;
	if (!empty && !flat)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(c, j->f);
}

static void pj_str(struct pj *j, const char *key, const char *v)
{
	pj_sep(j, key);
	if (v)
		json_write_string(j->f, v, strlen(v));
	else
		fputs("null", j->f);
}

static void pj_int(struct pj *j, const char *key, long long v)
{
	pj_sep(j, key);
	fprintf(j->f, "%lld", v);
}

static void pj_bool(struct pj *j, const char *key, bool v)
{
	pj_sep(j, key);
	fputs(v ? "true" : "false", j->f);
}

static void pj_null(struct pj *j, const char *key)
{
	pj_sep(j, key);
	fputs("null", j->f);
}

static void pj_view(struct pj *j, const char *key, const struct sqlview *v)
{
	pj_open(j, key, '{', false);
	pj_bool(j, "opens", v->opens);
	pj_str(j, "error", v->opens ? NULL : v->error);
	pj_str(j, "integrity", v->integrity_known ? v->integrity : NULL);
	pj_str(j, "content_sha256", v->content_known ? v->content_sha256 : NULL);
	pj_str(j, "content_error", v->opens && !v->content_known ? v->content_error : NULL);
	pj_open(j, "tables", '{', true);
	for (int i = 0; i < v->ntables; i++) {
		if (v->rows[i] < 0)
			pj_null(j, v->table[i]);
		else
			pj_int(j, v->table[i], v->rows[i]);
	}
	pj_close(j, '}');
	if (v->mx_frame >= 0)
		pj_int(j, "mx_frame", v->mx_frame);
	else
		pj_null(j, "mx_frame");
	pj_close(j, '}');
}

/* ---- writing a case --------------------------------------------------------- */

static void self_check(struct gen *g, const struct sqlview *v, const struct walscan *ws,
		       const struct dbfacts *db)
{
	if (g->exit_status < 0 || g->exit_status > 2)
		die("scenario did not state an exit status");
	for (int i = 0; i < g->nmust; i++) {
		if (has(g->must_not, g->nmust_not, g->must[i]))
			die("%s is both a must and a must-not", g->must[i]);
		int sev = (int)wd_code_severity((enum wd_code)wd_code_lookup(g->must[i]));
		if (sev > g->exit_status && !(g->lowered && !strcmp(g->lowered, g->must[i])))
			die("%s is a %s by default but exit is %d", g->must[i],
			    wd_severity_name((enum wd_severity)sev), g->exit_status);
	}
	if (g->want_opens >= 0 && v->opens != (g->want_opens == 1))
		die("SQLite %s the database (%s)", v->opens ? "opens" : "does not open", v->error);
	if (g->want_integrity_ok >= 0 && v->opens &&
	    (strcmp(v->integrity, "ok") == 0) != (g->want_integrity_ok == 1))
		die("integrity_check says '%s', expected %s", v->integrity,
		    g->want_integrity_ok ? "ok" : "a problem");
	/* The oracle: SQLite's recovery must find the last commit our walk found. */
	if (ws->present && v->opens && db->wal_mode && v->mx_frame >= 0 &&
	    (uint32_t)v->mx_frame != ws->last_commit)
		die("SQLite recovered mxFrame %lld but our WAL walk says %u",
		    v->mx_frame, ws->last_commit);
}

void expect_write(struct gen *g, const char *outdir)
{
	char names[32][64], path[CG_PATH_MAX], hex[65];
	int nfiles = dir_list(outdir, names, 32, false);
	if (nfiles < 0)
		die("cannot list '%s'", outdir);

	struct dbfacts db;
	struct walscan ws;
	struct shmfacts shm;
	struct sqlview v, orig, rep;
	db_facts(pathf(path, "%s/db", outdir), &db);
	walscan_file(pathf(path, "%s/db-wal", outdir), db.page_size, &ws);
	shm_facts(pathf(path, "%s/db-shm", outdir), &shm);
	view_dir(outdir, &v);
	self_check(g, &v, &ws, &db);
	if (g->have_orig)
		view_dir(pathf(path, "%s/orig", g->work), &orig);
	if (g->have_repair) {
		view_dir(pathf(path, "%s/repair", g->work), &rep);
		if (!rep.opens || !rep.content_known)
			die("the reference repair does not open: %s", rep.error);
	}

	FILE *f = fopen(pathf(path, "%s/expected.json", outdir), "w");
	if (!f)
		die("cannot create '%s'", path);
	struct pj j = { .f = f };
	const struct scenario *sc = g->sc;
	pj_open(&j, NULL, '{', false);
	pj_int(&j, "corpus_format", 1);
	pj_str(&j, "case", sc->name);
	pj_str(&j, "group", sc->group);
	pj_sep(&j, "seed");
	fprintf(f, "%llu", (unsigned long long)g->seed);
	pj_str(&j, "description", sc->description);
	pj_str(&j, "models", sc->models);
	if (g->note[0])
		pj_str(&j, "note", g->note);
	pj_open(&j, "files", '[', true);
	for (int i = 0; i < nfiles; i++)
		pj_str(&j, NULL, names[i]);
	pj_close(&j, ']');
	pj_open(&j, "file_sha256", '{', false);
	for (int i = 0; i < nfiles; i++) {
		sha256_file(pathf(path, "%s/%s", outdir, names[i]), hex);
		pj_str(&j, names[i], hex);
	}
	pj_close(&j, '}');

	if (db.page_size)
		pj_int(&j, "page_size", db.page_size);
	else
		pj_null(&j, "page_size");
	static const char *const av[] = { "none", "full", "incremental" };
	pj_str(&j, "auto_vacuum", db.is_db ? av[db.auto_vacuum] : NULL);
	pj_str(&j, "wal_checksum_order",
	       ws.present && ws.size >= 32 && (ws.magic & ~1u) == 0x377f0682u
		       ? (ws.big_endian ? "be" : "le") : NULL);
	if (db.is_db) {
		pj_open(&j, "db", '{', true);
		pj_int(&j, "file_size", (long long)db.file_size);
		pj_int(&j, "header_pages", db.header_pages);
		pj_bool(&j, "header_pages_trusted", db.header_pages_trusted);
		pj_str(&j, "journal_mode", db.wal_mode ? "wal" : "rollback");
		pj_close(&j, '}');
	} else {
		pj_null(&j, "db");
	}

	pj_open(&j, "inspect", '{', false);
	pj_open(&j, "must", '[', true);
	for (int i = 0; i < g->nmust; i++)
		pj_str(&j, NULL, g->must[i]);
	pj_close(&j, ']');
	pj_open(&j, "must_not", '[', true);
	for (int i = 0; i < g->nmust_not; i++)
		pj_str(&j, NULL, g->must_not[i]);
	pj_close(&j, ']');
	pj_int(&j, "exit", g->exit_status);
	pj_close(&j, '}');

	if (ws.present) {
		pj_open(&j, "wal", '{', false);
		pj_int(&j, "frames_total", ws.frames_total);
		pj_int(&j, "frames_valid", ws.frames_valid);
		pj_int(&j, "commits", ws.commits);
		pj_int(&j, "last_commit_frame", ws.last_commit);
		pj_int(&j, "page_size", ws.page_size);
		pj_int(&j, "partial_bytes", ws.partial_bytes);
		pj_int(&j, "uncommitted_frames", ws.uncommitted);
		pj_int(&j, "stale_frames", ws.stale);
		pj_bool(&j, "header_valid", ws.header_valid);
		pj_close(&j, '}');
	} else {
		pj_null(&j, "wal");
	}

	if (shm.present) {
		pj_open(&j, "shm", '{', false);
		pj_int(&j, "size", (long long)shm.size);
		if (shm.has_header && shm.order) {
			pj_str(&j, "byte_order", shm.order == 2 ? "be" : "le");
			pj_bool(&j, "copies_agree", shm.copies_agree);
			pj_int(&j, "mx_frame", shm.mx_frame);
			pj_int(&j, "n_page", shm.n_page);
			pj_int(&j, "n_backfill", shm.n_backfill);
			pj_int(&j, "n_backfill_attempted", shm.n_attempted);
			pj_open(&j, "read_marks", '[', true);
			for (int i = 0; i < 5; i++)
				pj_int(&j, NULL, shm.read_mark[i]);
			pj_close(&j, ']');
		} else {
			pj_null(&j, "byte_order");
		}
		pj_close(&j, '}');
	} else {
		pj_null(&j, "shm");
	}

	pj_view(&j, "sqlite", &v);
	if (g->have_orig)
		pj_view(&j, "original", &orig);
	if (g->have_repair || g->repair_impossible) {
		pj_open(&j, "repair", '{', false);
		pj_str(&j, "content_sha256", g->have_repair ? rep.content_sha256 : NULL);
		pj_str(&j, "integrity", g->have_repair ? rep.integrity : NULL);
		pj_str(&j, "note", g->repair_note);
		pj_close(&j, '}');
	}
	pj_close(&j, '}');
	fputc('\n', f);
	if (fclose(f))
		die("cannot write '%s'", path);
}

/* ---- --check ---------------------------------------------------------------- */

struct why {
	char *buf;
	size_t sz;
	bool set;
};

static int bad(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct why *w, const char *fmt, ...)
{
	if (!w->set) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->buf, w->sz, fmt, ap);
		va_end(ap);
		w->set = true;
	}
	return 1;
}

static const char *jstr(const struct jv *o, const char *k)
{
	const struct jv *v = jv_get(o, k);
	return v && v->t == JV_STR ? v->s : NULL;
}

/* -2 when absent or not an integer, -1 for null. */
static long long jint(const struct jv *o, const char *k)
{
	const struct jv *v = jv_get(o, k);
	if (v && v->t == JV_NULL)
		return -1;
	return v && v->t == JV_NUM && v->is_int ? v->i : -2;
}

static bool same_str(const char *expected, const char *actual)
{
	if (!expected || !actual)
		return !expected && !actual;
	return !strcmp(expected, actual);
}

static int check_view(const struct jv *e, const struct sqlview *v, struct why *w)
{
	if (!e || e->t != JV_OBJ)
		return bad(w, "expected.json has no sqlite object");
	const struct jv *opens = jv_get(e, "opens");
	if (!opens || opens->t != JV_BOOL)
		return bad(w, "sqlite.opens missing");
	if (opens->b != v->opens)
		return bad(w, "SQLite %s the database now (%s)", v->opens ? "opens" : "does not open",
			   v->opens ? "expected not to" : v->error);
	if (!v->opens)
		return same_str(jstr(e, "error"), v->error) ? 0
			: bad(w, "SQLite's error is '%s', expected '%s'", v->error, jstr(e, "error"));
	if (!same_str(jstr(e, "integrity"), v->integrity_known ? v->integrity : NULL))
		return bad(w, "integrity_check says '%s', expected '%s'", v->integrity,
			   jstr(e, "integrity") ? jstr(e, "integrity") : "null");
	if (!same_str(jstr(e, "content_sha256"), v->content_known ? v->content_sha256 : NULL))
		return bad(w, "content hash is %s, expected %s",
			   v->content_known ? v->content_sha256 : v->content_error,
			   jstr(e, "content_sha256") ? jstr(e, "content_sha256") : "null");
	const struct jv *t = jv_get(e, "tables");
	if (!t || t->t != JV_OBJ || t->n != v->ntables)
		return bad(w, "SQLite sees %d tables, expected %d", v->ntables, t ? t->n : -1);
	for (int i = 0; i < v->ntables; i++) {
		long long want = jint(t, v->table[i]);
		if (want == -2 || want != v->rows[i])
			return bad(w, "table %s has %lld rows, expected %lld", v->table[i], v->rows[i], want);
	}
	if (jint(e, "mx_frame") != v->mx_frame)
		return bad(w, "SQLite recovers mxFrame %lld, expected %lld", v->mx_frame,
			   jint(e, "mx_frame"));
	return 0;
}

static int check_wal(const char *casedir, const struct jv *e, struct why *w)
{
	char path[CG_PATH_MAX];
	size_t n;
	uint8_t *p = file_read_opt(pathf(path, "%s/db-wal", casedir), &n);
	if (!e || e->t == JV_NULL) {
		free(p);
		return p ? bad(w, "db-wal exists but wal is null") : 0;
	}
	if (!p)
		return bad(w, "db-wal is missing");
	struct dbfacts db;
	db_facts(pathf(path, "%s/db", casedir), &db);
	struct wal_walk ww;
	struct wd_diags d = { 0 };
	memset(&ww, 0, sizeof ww);
	wal_walk(p, n, db.page_size, &ww, &d);
	long long got[4] = { ww.nframes, ww.nvalid, ww.ntxn, ww.mx_frame };
	static const char *const keys[4] = { "frames_total", "frames_valid", "commits",
					     "last_commit_frame" };
	int rc = 0;
	for (int i = 0; i < 4 && !rc; i++)
		if (jint(e, keys[i]) != got[i])
			rc = bad(w, "wal_walk: %s = %lld, expected %lld", keys[i], got[i],
				 jint(e, keys[i]));
	wal_walk_free(&ww);
	wd_diags_free(&d);
	free(p);
	return rc;
}

static int check_codes(const struct jv *insp, struct why *w)
{
	if (!insp || insp->t != JV_OBJ)
		return bad(w, "inspect object missing");
	static const char *const lists[2] = { "must", "must_not" };
	for (int k = 0; k < 2; k++) {
		const struct jv *a = jv_get(insp, lists[k]);
		if (!a || a->t != JV_ARR)
			return bad(w, "inspect.%s missing", lists[k]);
		for (int i = 0; i < a->n; i++)
			if (a->kid[i].t != JV_STR || wd_code_lookup(a->kid[i].s) < 0)
				return bad(w, "inspect.%s lists an unknown code", lists[k]);
	}
	long long ex = jint(insp, "exit");
	if (ex < 0 || ex > 2)
		return bad(w, "inspect.exit is not 0, 1 or 2");
	return 0;
}

int expect_check(const char *casedir, const char *name, char *whybuf, size_t whysz)
{
	struct why w = { whybuf, whysz, false };
	char path[CG_PATH_MAX], err[200], hex[65];
	size_t n;
	char *text = (char *)file_read_opt(pathf(path, "%s/expected.json", casedir), &n);
	if (!text)
		return bad(&w, "expected.json is missing");
	struct jv *e = jv_parse(text, n, err, sizeof err);
	free(text);
	if (!e)
		return bad(&w, "expected.json: %s", err);
	if (!same_str(jstr(e, "case"), name)) {
		bad(&w, "expected.json names case '%s'", jstr(e, "case") ? jstr(e, "case") : "?");
		goto out;
	}

	/* Files: every listed one is there with its hash, and nothing else is. */
	const struct jv *files = jv_get(e, "files"), *sums = jv_get(e, "file_sha256");
	if (!files || files->t != JV_ARR || !sums || sums->t != JV_OBJ) {
		bad(&w, "files or file_sha256 missing");
		goto out;
	}
	for (int i = 0; i < files->n && !w.set; i++) {
		const char *f = files->kid[i].t == JV_STR ? files->kid[i].s : "?";
		if (!file_exists(pathf(path, "%s/%s", casedir, f))) {
			bad(&w, "%s is missing", f);
			break;
		}
		sha256_file(path, hex);
		if (!same_str(jstr(sums, f), hex))
			bad(&w, "%s has changed (sha256 %.12s…)", f, hex);
	}
	char names[32][64];
	int nn = dir_list(casedir, names, 32, false);
	for (int i = 0; i < nn && !w.set; i++) {
		bool listed = !strcmp(names[i], "expected.json");
		for (int k = 0; k < files->n && !listed; k++)
			listed = files->kid[k].t == JV_STR && !strcmp(files->kid[k].s, names[i]);
		if (!listed)
			bad(&w, "%s is not listed in expected.json", names[i]);
	}
	if (w.set)
		goto out;

	if (check_codes(jv_get(e, "inspect"), &w))
		goto out;
	struct sqlview v;
	view_dir(casedir, &v);
	if (check_view(jv_get(e, "sqlite"), &v, &w))
		goto out;
	check_wal(casedir, jv_get(e, "wal"), &w);
out:
	jv_free(e);
	return w.set;
}
