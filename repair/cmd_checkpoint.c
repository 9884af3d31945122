/*
 * cmd_checkpoint.c — `waldo checkpoint`: run a WAL checkpoint through
 * libsqlite3, optionally saving first what it will overwrite so that
 * `waldo rollback` can undo it (--save-undo SET).
 *
 * The locks, in order (SQLite's -shm lock bytes: WRITE 120, CKPT 121):
 *
 *   0. Before any connection: the WAL is checked against the database
 *      (checks_lineage, read-only); another database's WAL (WAL_FOREIGN)
 *      is refused, since SQLite would copy its frames without a word.
 *   1. Connections A and B are opened (each reads once, so both have the
 *      WAL and the -shm open).  Neither checkpoints when it closes
 *      (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE): the one checkpoint this command
 *      runs is the one asked for.
 *   2. --save-undo: waldo takes CKPT itself (an open-file-description lock)
 *      and hashes the whole database file.  In WAL mode only a checkpoint
 *      writes the database file, so holding CKPT freezes it, while writers
 *      go on committing into the WAL.
 *   3. A runs BEGIN IMMEDIATE: SQLite's WRITE lock, so no commit can add
 *      frames.  With WRITE and CKPT held, the database and the WAL are both
 *      frozen: the WAL's frames are listed (model_open), and the database
 *      file's version of every page they name, plus page 1 and the pages a
 *      shrinking checkpoint cuts off, goes into the page set with the file's
 *      SHA-256 (pageset_save: temporary file, fsync, rename, folder fsync).
 *      --keep-wal copies the WAL file the same way.  Then CKPT is let go.
 *   4. B runs a PASSIVE checkpoint while A still holds WRITE.  PASSIVE needs
 *      only CKPT, so it runs now: it copies exactly the frames that were
 *      saved, and no writer can restart the WAL under it (the WAL-reset
 *      race of docs/cookbook.md needs a checkpoint without WRITE).
 *   5. FULL (if 4 left frames behind for readers), RESTART and TRUNCATE need
 *      WRITE themselves, and sqlite3_wal_checkpoint_v2 refuses to run on a
 *      connection with an open transaction.  So B asks for it while A holds
 *      it: B already has CKPT and is waiting on WRITE when its busy handler
 *      is first called, and that call ends A's transaction; B's retry comes
 *      at once.  If any other process's commit lands in between (the -shm
 *      header changed), or the wait outlasts --timeout, the handler
 *      interrupts B before it copies a frame rather than let SQLite fall
 *      back to a PASSIVE checkpoint without WRITE.
 *   6. waldo takes CKPT again and proves the undo: the page set laid over
 *      the database file as it is now must give the pre-checkpoint file,
 *      byte for byte (ckpt_predict).  Anything that slipped through the
 *      window in 5 shows up here, and the command says so (exit 2).
 *
 * Descriptors of the database and -shm are opened once and closed only
 * after the connections (see ckpt_common.h: POSIX locks).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_common.h"
#include "pageset.h"
#include "../formats/bytes.h"
#include "../formats/dbheader.h"
#include "../formats/shm.h"
#include "../inspect/checks.h"
#include "../inspect/cmd.h"
#include "../inspect/files.h"
#include "../inspect/json.h"
#include "../inspect/model.h"

static const char usage[] =
	"usage: waldo checkpoint [--mode passive|full|restart|truncate] [--save-undo SET\n"
	"                        [--keep-wal] [--force]] [--timeout MS] [--json] DB\n"
	"\n"
	"Run a checkpoint of the WAL database DB through libsqlite3 and report what it\n"
	"did: frames backfilled, WAL and database sizes before and after.\n"
	"\n"
	"  --mode MODE       passive (default), full, restart or truncate, as\n"
	"                    sqlite3_wal_checkpoint_v2; every mode first runs a\n"
	"                    passive checkpoint while waldo holds the write lock\n"
	"  --save-undo SET   before checkpointing, save the database file's version\n"
	"                    of every page the checkpoint can overwrite or cut off,\n"
	"                    page 1, the size in pages and the SHA-256 of the whole\n"
	"                    file into the page set SET (docs/pageset.md), for\n"
	"                    'waldo rollback DB SET'\n"
	"  --keep-wal        with --save-undo: also keep the WAL as it was, in\n"
	"                    SET.wal (its SHA-256 in SET.wal.sha256), so that\n"
	"                    rollback --keep-wal restores the database and WAL pair\n"
	"  --force           replace an existing SET (and SET.wal)\n"
	"  --timeout MS      how long to wait for locks (default 5000)\n"
	"  --json            one JSON object: {path, mode, before, undo_set,\n"
	"                    checkpoint, after, undo_verified, error, status, exit}\n"
	"\n"
	"Before any connection, the WAL is checked against DB (page sizes, page 1,\n"
	"lineage: as `waldo inspect`); a WAL of another database (WAL_FOREIGN) is\n"
	"refused, nothing changed.\n"
	"\n"
	"Exit status: 0 done as asked (and the page set proven to undo it); 1 the\n"
	"checkpoint could not finish (readers, or the timeout); 2 an error, a WAL\n"
	"of another database (refused), or the page set does not undo the\n"
	"checkpoint; 64 bad usage; 66 DB cannot be read;\n"
	"73 SET cannot be written (nothing checkpointed); 75 the locks could not be\n"
	"had (nothing done; the message names the processes holding them), or DB is\n"
	"on a file system other machines may share (NFS, SMB, FUSE, ...;\n"
	"WALDO_ALLOW_REMOTE=1 when nothing else uses it).\n";

static const char *const mode_names[] = { "passive", "full", "restart", "truncate" };
static const int mode_values[] = { SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_FULL, SQLITE_CHECKPOINT_RESTART,
				   SQLITE_CHECKPOINT_TRUNCATE };

struct ck_step {
	const char *mode;
	bool under_lock;             /* waldo's A held WRITE throughout */
	int rc;                      /* SQLite's result */
	int log, ckpt;               /* pnLog, pnCkpt */
	char note[160];
};

struct ck {
	/* inputs */
	const char *path;
	int mode;                    /* index into mode_names */
	const char *set;
	bool keep_wal, force;
	int timeout_ms;
	/* files */
	char db[4096], walp[4200], shmp[4200];
	int dbfd, shmfd;
	sqlite3 *a, *b;
	/* before */
	bool had_wal;
	uint64_t wal_before, db_before;
	uint32_t page_size;
	struct shm_info shm;         /* -shm header under the write lock */
	bool shm_ok;
	/* the undo set */
	bool saved;
	uint32_t set_n, set_frames, set_cut, db_pages;
	bool set_p1_extra;           /* page 1 is in the set only because it always is */
	uint64_t set_bytes;
	uint8_t file_sha[RIO_SHA];
	bool have_ids;
	uint32_t ckpt_seq, salt1, salt2;
	bool wal_kept;
	uint64_t wal_kept_size;
	uint8_t wal_kept_sha[RIO_SHA];
	/* the checkpoint */
	struct ck_step step[2];
	int nstep;
	bool complete;
	bool reset;                  /* TRUNCATE/RESTART succeeded */
	/* after */
	bool wal_after_present;
	uint64_t wal_after, db_after;
	int undo_verified;           /* 1, 0, -1 not checked */
	char undo_note[256];
	char err[1024];
};

/* ---- the busy handler that hands WRITE from A to B (step 5) ---- */

struct handoff {
	sqlite3 *a, *b;
	int shmfd;
	bool released;
	uint8_t hdr[SHM_HDR_COPY_SIZE];   /* -shm header copy when A let go */
	uint64_t start;
	int timeout_ms;
	bool lost, timed_out;
};

static bool read_shm_hdr(int fd, uint8_t *buf)
{
	ssize_t k;
	do
		k = pread(fd, buf, SHM_HDR_COPY_SIZE, 0);
	while (k < 0 && errno == EINTR);
	return k == SHM_HDR_COPY_SIZE;
}

static int handoff_busy(void *ctx, int count)
{
	struct handoff *h = ctx;
	if (!h->released) {
		/* B holds CKPT and waits on WRITE: let go of WRITE now, B retries at once. */
		if (!read_shm_hdr(h->shmfd, h->hdr))
			memset(h->hdr, 0, sizeof h->hdr);
		sqlite3_exec(h->a, "ROLLBACK", NULL, NULL, NULL);
		h->released = true;
		return 1;
	}
	uint8_t now[SHM_HDR_COPY_SIZE];
	if (read_shm_hdr(h->shmfd, now) && memcmp(now, h->hdr, sizeof now)) {
		/* Another writer committed after A let go: its frames are not in the page set. */
		h->lost = true;
		sqlite3_interrupt(h->b);
		return 0;
	}
	if (ckpt_now_ms() - h->start >= (uint64_t)h->timeout_ms) {
		/* Returning 0 alone would make SQLite fall back to PASSIVE without WRITE. */
		h->timed_out = true;
		sqlite3_interrupt(h->b);
		return 0;
	}
	ckpt_backoff((unsigned)count);
	return 1;
}

/* ---- opening ---- */

/* Open a connection that has read once.  0; 1 when SQLite found the database locked; -1 (c->err set). */
static int open_conn(struct ck *c, sqlite3 **db)
{
	if (sqlite3_open_v2(c->db, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		ckpt_fmt(c->err, sizeof c->err, "cannot open '%s' with SQLite: %s", c->db,
			 *db ? sqlite3_errmsg(*db) : "out of memory");
		return -1;
	}
	sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_busy_timeout(*db, c->timeout_ms);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(*db, "PRAGMA journal_mode", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	const char *jm = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	bool wal = jm && !strcmp(jm, "wal");
	/* Locked: another process keeps SQLite's EXCLUSIVE lock (exclusive locking mode, or a rollback-mode writer). */
	bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
	if (!jm)
		ckpt_fmt(c->err, sizeof c->err, "SQLite cannot read '%s': %s", c->db, sqlite3_errmsg(*db));
	else if (!wal)
		ckpt_fmt(c->err, sizeof c->err, "'%s' is not in WAL mode (journal_mode %s): nothing to checkpoint",
			 c->db, jm);
	sqlite3_finalize(st);
	if (!wal)
		return busy ? 1 : -1;
	/* One read, so that the pager has the WAL and the -shm open. */
	if ((rc = sqlite3_exec(*db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL)) != SQLITE_OK) {
		ckpt_fmt(c->err, sizeof c->err, "SQLite cannot read '%s': %s", c->db, sqlite3_errmsg(*db));
		return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? 1 : -1;
	}
	return 0;
}

static uint64_t fd_size(int fd)
{
	struct stat st;
	return fd >= 0 && !fstat(fd, &st) ? (uint64_t)st.st_size : 0;
}

static bool path_size(const char *p, uint64_t *size)
{
	struct stat st;
	if (stat(p, &st))
		return false;
	*size = (uint64_t)st.st_size;
	return true;
}

/* ---- which pages the checkpoint can change ---- */

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

/*
 * The pages to save, ascending: every page a frame the checkpoint may copy
 * names (the committed frames of the WAL walk, and those the -shm's index
 * counts as committed, should it count more), page 1, and the pages past
 * the size the last commit gives, which a complete checkpoint cuts off;
 * only pages the file holds now (a page past its end cannot be saved, and
 * rollback's smaller size removes it again), never the lock-byte page.
 */
static int collect_pages(struct ck *c, const struct model *m, uint32_t **out, uint32_t *n)
{
	const uint32_t lockpg = dbh_lock_byte_page(m->page_size);
	const uint32_t dbp = c->db_pages;
	uint32_t cover = model_commit_frame(m, MODEL_LAST), cover_shm = 0;
	uint32_t target = cover ? model_npages(m, MODEL_LAST) : 0;
	const struct shm_hdr *sh = &m->shm.hdr[0];
	if (m->has_shm && m->shm.hdr_ok && m->has_wal && m->wal.hdr.valid && sh->salt1 == m->wal.hdr.salt1 &&
	    sh->salt2 == m->wal.hdr.salt2 && sh->mx_frame <= m->wal.nframes) {
		cover_shm = sh->mx_frame;
		if (sh->mx_frame && sh->n_page && (!target || sh->n_page < target))
			target = sh->n_page;
	}
	uint32_t nfr = cover > cover_shm ? cover : cover_shm;
	uint64_t ncut = target && target < dbp ? dbp - target : 0;
	uint64_t cap = 2 * (uint64_t)nfr + ncut + 1;
	if (cap > (uint64_t)SIZE_MAX / sizeof(uint32_t) || !(*out = malloc((size_t)cap * sizeof(uint32_t)))) {
		ckpt_fmt(c->err, sizeof c->err, "out of memory listing %llu pages", (unsigned long long)cap);
		return -1;
	}
	uint32_t *v = *out, k = 0;
	bool p1_framed = false;
	v[k++] = 1;
	for (uint32_t f = 1; f <= nfr; f++) {
		uint32_t pg = m->wal.frames[f - 1].pgno;
		if (pg && pg <= dbp && pg != lockpg)
			v[k++] = pg;
		p1_framed |= pg == 1;
		if (f <= cover_shm) {
			pg = shm_frame_pgno(m->files.shm.data, m->files.shm.size, &m->shm, f);
			if (pg && pg <= dbp && pg != lockpg)
				v[k++] = pg;
			p1_framed |= pg == 1;
		}
	}
	for (uint64_t pg = (uint64_t)target + 1; ncut && pg <= dbp; pg++)
		if (pg != lockpg)
			v[k++] = (uint32_t)pg;
	qsort(v, k, sizeof *v, cmp_u32);
	uint32_t u = 0;
	for (uint32_t i = 0; i < k; i++)
		if (!u || v[i] != v[u - 1])
			v[u++] = v[i];
	*n = u;
	c->set_cut = 0;
	for (uint32_t i = 0; i < u; i++)
		c->set_cut += ncut && v[i] > target;
	c->set_p1_extra = !p1_framed;
	c->set_frames = u - c->set_cut - (p1_framed ? 0 : 1);
	return 0;
}

static const uint8_t *db_page_cb(void *ctx, uint32_t pgno)
{
	return model_db_page(ctx, pgno);
}

/*
 * Steps 2 and 3: under CKPT, hash the file; under WRITE too, list and save
 * the pages (and the WAL).  Returns 0, or an exit status with c->err.
 */
static int save_undo(struct ck *c, struct model *m)
{
	uint64_t fsize;
	if (ckpt_sha_fd(c->dbfd, c->db, c->file_sha, &fsize, c->err, sizeof c->err))
		return EXIT_NOINPUT;
	if (sqlite3_exec(c->a, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		ckpt_fmt(c->err, sizeof c->err, "cannot take the write lock of '%s': %s", c->db, sqlite3_errmsg(c->a));
		return EXIT_TEMPFAIL;
	}
	if (model_open(m, c->db, NULL, NULL, c->err, sizeof c->err))
		return EXIT_NOINPUT;
	if (!m->db_ok || !m->page_size) {
		ckpt_fmt(c->err, sizeof c->err, "'%s' has no usable database header", c->db);
		return EXIT_ERRORS;
	}
	c->page_size = m->page_size;
	if (m->files.db.size != fsize) {
		ckpt_fmt(c->err, sizeof c->err, "'%s' changed size while it was hashed (%llu, now %llu bytes)", c->db,
			 (unsigned long long)fsize, (unsigned long long)m->files.db.size);
		return EXIT_ERRORS;
	}
	if (fsize % m->page_size || fsize / m->page_size == 0 || fsize / m->page_size > UINT32_MAX) {
		ckpt_fmt(c->err, sizeof c->err, "'%s' is %llu bytes, not a whole number (1 or more) of %u-byte pages: "
			 "a page set cannot give back its exact length (waldo repair can fix the size first)", c->db,
			 (unsigned long long)fsize, m->page_size);
		return EXIT_ERRORS;
	}
	c->db_pages = (uint32_t)(fsize / m->page_size);
	uint32_t *pg = NULL, n = 0;
	if (collect_pages(c, m, &pg, &n))
		return EXIT_SOFTWARE;
	struct pageset_info in;
	memset(&in, 0, sizeof in);
	in.page_size = m->page_size;
	in.db_pages = c->db_pages;
	in.flags = PAGESET_F_FILE_HASH;
	in.file_size = fsize;
	memcpy(in.file_sha256, c->file_sha, RIO_SHA);
	if (m->has_wal && m->wal.hdr.valid) {
		/* The checkpointed WAL's own identity: rollback recognises that WAL, and its
		 * synthetic WAL (which uses these values) by it. */
		in.flags |= PAGESET_F_WAL_IDS;
		in.ckpt_seq = c->ckpt_seq = m->wal.hdr.ckpt_seq;
		in.salt1 = c->salt1 = m->wal.hdr.salt1;
		in.salt2 = c->salt2 = m->wal.hdr.salt2;
		c->have_ids = true;
	}
	if (c->keep_wal && m->files.wal.present) {
		int rc = ckpt_walcopy_write(c->set, m->files.wal.data, m->files.wal.size, c->force, c->wal_kept_sha,
					    c->err, sizeof c->err);
		if (rc) {
			if (rc > 0)
				ckpt_fmt(c->err, sizeof c->err, "'%s.wal' exists; refusing to overwrite it (use --force)",
					 c->set);
			free(pg);
			return EXIT_CANTCREAT;
		}
		c->wal_kept = true;
		c->wal_kept_size = m->files.wal.size;
	}
	if (pageset_save(c->set, &in, pg, n, db_page_cb, m, c->force, c->err, sizeof c->err)) {
		free(pg);
		return EXIT_CANTCREAT;
	}
	free(pg);
	c->saved = true;
	c->set_n = n;
	path_size(c->set, &c->set_bytes);
	return 0;
}

/* ---- the checkpoint (steps 4 and 5) ---- */

static void run_step(struct ck *c, sqlite3 *db, int mode_idx, bool under_lock)
{
	struct ck_step *s = &c->step[c->nstep++];
	s->mode = mode_names[mode_idx];
	s->under_lock = under_lock;
	s->log = s->ckpt = -1;
	uint64_t start = ckpt_now_ms();
	for (unsigned attempt = 0;; attempt++) {
		s->rc = sqlite3_wal_checkpoint_v2(db, NULL, mode_values[mode_idx], &s->log, &s->ckpt);
		/* Another checkpointer holds CKPT: SQLite returns BUSY at once, without a busy handler. */
		if (s->rc != SQLITE_BUSY || s->log >= 0 || ckpt_now_ms() - start >= (uint64_t)c->timeout_ms)
			break;
		ckpt_backoff(attempt);
	}
	if (s->rc != SQLITE_OK && s->rc != SQLITE_BUSY)
		ckpt_fmt(s->note, sizeof s->note, "%s", sqlite3_errmsg(db));
}

static int checkpoint(struct ck *c)
{
	/* Step 4: PASSIVE on B while A holds WRITE. */
	if (sqlite3_get_autocommit(c->a) &&
	    sqlite3_exec(c->a, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		ckpt_fmt(c->err, sizeof c->err, "cannot take the write lock of '%s': %s", c->db, sqlite3_errmsg(c->a));
		return EXIT_TEMPFAIL;
	}
	run_step(c, c->b, 0, true);
	struct ck_step *s1 = &c->step[0];
	bool all = s1->rc == SQLITE_OK && s1->log >= 0 && s1->ckpt == s1->log;
	bool more = c->mode >= 2 || (c->mode == 1 && !all && s1->rc != SQLITE_ERROR);
	/* A failed write or sync (SQLITE_IOERR, SQLITE_FULL): stop, never go on
	 * with a second checkpoint over a disk that just failed. */
	bool failed = s1->rc != SQLITE_OK && (s1->rc & 0xff) != SQLITE_BUSY;
	if (!more || failed) {
		sqlite3_exec(c->a, "ROLLBACK", NULL, NULL, NULL);
		c->complete = s1->rc == SQLITE_OK && all;
		return 0;
	}
	/* Step 5: B asks for WRITE; its busy handler ends A's transaction. */
	struct handoff h = { .a = c->a, .b = c->b, .shmfd = c->shmfd, .start = ckpt_now_ms(),
			     .timeout_ms = c->timeout_ms };
	sqlite3_busy_handler(c->b, handoff_busy, &h);
	run_step(c, c->b, c->mode, false);
	sqlite3_busy_timeout(c->b, c->timeout_ms);
	if (!h.released)
		sqlite3_exec(c->a, "ROLLBACK", NULL, NULL, NULL);
	struct ck_step *s2 = &c->step[1];
	if (h.lost)
		ckpt_fmt(s2->note, sizeof s2->note, "stopped: another process committed when waldo let go of the "
			 "write lock, and its frames are not in the page set");
	else if (h.timed_out)
		ckpt_fmt(s2->note, sizeof s2->note, "stopped after %d ms waiting for locks (--timeout)", c->timeout_ms);
	else if (s2->rc == SQLITE_BUSY)
		ckpt_fmt(s2->note, sizeof s2->note, "readers still use the WAL");
	c->complete = s2->rc == SQLITE_OK;
	c->reset = c->complete && c->mode >= 2;
	return 0;
}

/* Step 6: does the set, laid over the file as it is now, give the pre-checkpoint file? */
static void prove_undo(struct ck *c)
{
	int rc = ckpt_ofd_lock(c->shmfd, CKPT_SHM_CKPT_BYTE, true, c->timeout_ms);
	if (rc == 1 || rc == -1) {
		c->undo_verified = -1;
		ckpt_fmt(c->undo_note, sizeof c->undo_note, "not checked: %s", rc == 1 ?
			 "another checkpoint held the checkpoint lock" : strerror(errno));
		return;
	}
	struct pageset s;
	char err[512];
	c->undo_verified = 0;
	if (pageset_open(&s, c->set, err, sizeof err)) {
		ckpt_fmt(c->undo_note, sizeof c->undo_note, "%.250s", err);
	} else {
		struct ckpt_pred pr;
		if (ckpt_predict(c->dbfd, fd_size(c->dbfd), &s, &pr, err, sizeof err)) {
			ckpt_fmt(c->undo_note, sizeof c->undo_note, "%.250s", err);
		} else {
			c->undo_verified = pr.matches;
			if (!pr.matches)
				ckpt_fmt(c->undo_note, sizeof c->undo_note, "the page set laid over the database file does "
					 "not give the pre-checkpoint file: pages outside the set changed");
			ckpt_pred_free(&pr);
		}
	}
	pageset_close(&s);
	if (!rc)
		ckpt_ofd_lock(c->shmfd, CKPT_SHM_CKPT_BYTE, false, 0);
}

/* ---- output ---- */

static const char *rc_name(int rc)
{
	return rc == SQLITE_OK ? "ok" : rc == SQLITE_BUSY ? "busy" : rc == SQLITE_INTERRUPT ? "stopped" : "error";
}

static void print_text(const struct ck *c)
{
	char hex[2 * RIO_SHA + 1];
	printf("waldo checkpoint %s (%s)\n", c->db, mode_names[c->mode]);
	if (c->shm_ok)
		printf("  before      WAL %llu bytes, mxFrame %u, %u frames backfilled; database %llu bytes\n",
		       (unsigned long long)c->wal_before, c->shm.hdr[0].mx_frame, c->shm.n_backfill,
		       (unsigned long long)c->db_before);
	if (c->saved) {
		printf("  undo set    %s: %u pages of %u bytes in %llu bytes: %u named by the WAL's frames", c->set,
		       c->set_n, c->page_size, (unsigned long long)c->set_bytes, c->set_frames);
		if (c->set_p1_extra)
			printf(", page 1");
		if (c->set_cut)
			printf(", %u the checkpoint cuts off", c->set_cut);
		putchar('\n');
		rio_hex(c->file_sha, hex);
		printf("              pre-checkpoint file: %u pages, %llu bytes, sha256 %s\n", c->db_pages,
		       (unsigned long long)c->db_pages * c->page_size, hex);
	}
	if (c->wal_kept) {
		rio_hex(c->wal_kept_sha, hex);
		printf("  kept WAL    %s.wal: %llu bytes, sha256 %s\n", c->set, (unsigned long long)c->wal_kept_size, hex);
	}
	for (int i = 0; i < c->nstep; i++) {
		const struct ck_step *s = &c->step[i];
		printf("  %-11s %s%s: %s", i ? "" : "checkpoint", s->mode, s->under_lock ? " (under waldo's write lock)"
		       : "", rc_name(s->rc));
		if (s->log >= 0)
			printf(", %d frames in the WAL, %d backfilled", s->log, s->ckpt);
		if (s->note[0])
			printf(" (%s)", s->note);
		putchar('\n');
	}
	if (c->nstep)
		printf("  after       WAL %s%llu bytes; database %llu bytes\n", c->wal_after_present ? "" : "removed, ",
		       (unsigned long long)c->wal_after, (unsigned long long)c->db_after);
	if (c->saved) {
		if (c->undo_verified == 1)
			printf("  undo        verified: the page set turns the database file back into the "
			       "pre-checkpoint file (waldo rollback %s %s)\n", c->db, c->set);
		else
			printf("  undo        %s: %s\n", c->undo_verified ? "NOT CHECKED" : "FAILED", c->undo_note);
	}
}

static void print_json(const struct ck *c, int status)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", c->db[0] ? c->db : c->path);
	jw_str(&j, "mode", mode_names[c->mode]);
	if (c->shm_ok) {
		jw_obj_begin(&j, "before");
		jw_uint(&j, "wal_bytes", c->wal_before);
		jw_uint(&j, "mx_frame", c->shm.hdr[0].mx_frame);
		jw_uint(&j, "backfilled", c->shm.n_backfill);
		jw_uint(&j, "db_bytes", c->db_before);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "before");
	}
	if (c->saved) {
		jw_obj_begin(&j, "undo_set");
		jw_str(&j, "path", c->set);
		jw_uint(&j, "pages", c->set_n);
		jw_uint(&j, "pages_from_wal_frames", c->set_frames);
		jw_uint(&j, "pages_cut_off", c->set_cut);
		jw_uint(&j, "bytes", c->set_bytes);
		jw_uint(&j, "page_size", c->page_size);
		jw_uint(&j, "db_pages", c->db_pages);
		jw_uint(&j, "file_size", (uint64_t)c->db_pages * c->page_size);
		jw_hex(&j, "file_sha256", c->file_sha, RIO_SHA);
		if (c->have_ids) {
			jw_obj_begin(&j, "wal_ids");
			jw_uint(&j, "ckpt_seq", c->ckpt_seq);
			jw_uint(&j, "salt1", c->salt1);
			jw_uint(&j, "salt2", c->salt2);
			jw_obj_end(&j);
		} else {
			jw_null(&j, "wal_ids");
		}
		if (c->wal_kept) {
			char p[4200];
			ckpt_fmt(p, sizeof p, "%s.wal", c->set);
			jw_obj_begin(&j, "kept_wal");
			jw_str(&j, "path", p);
			jw_uint(&j, "bytes", c->wal_kept_size);
			jw_hex(&j, "sha256", c->wal_kept_sha, RIO_SHA);
			jw_obj_end(&j);
		} else {
			jw_null(&j, "kept_wal");
		}
		jw_obj_end(&j);
	} else {
		jw_null(&j, "undo_set");
	}
	jw_obj_begin(&j, "checkpoint");
	jw_arr_begin(&j, "steps");
	for (int i = 0; i < c->nstep; i++) {
		const struct ck_step *s = &c->step[i];
		jw_obj_begin(&j, NULL);
		jw_str(&j, "mode", s->mode);
		jw_bool(&j, "under_waldo_write_lock", s->under_lock);
		jw_str(&j, "result", rc_name(s->rc));
		if (s->log >= 0) {
			jw_int(&j, "log_frames", s->log);
			jw_int(&j, "checkpointed_frames", s->ckpt);
		} else {
			jw_null(&j, "log_frames");
			jw_null(&j, "checkpointed_frames");
		}
		jw_str(&j, "note", s->note[0] ? s->note : NULL);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_bool(&j, "complete", c->complete);
	jw_obj_end(&j);
	if (c->nstep) {
		jw_obj_begin(&j, "after");
		jw_uint(&j, "wal_bytes", c->wal_after);
		jw_bool(&j, "wal_present", c->wal_after_present);
		jw_uint(&j, "db_bytes", c->db_after);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "after");
	}
	if (c->saved && c->undo_verified >= 0)
		jw_bool(&j, "undo_verified", c->undo_verified == 1);
	else
		jw_null(&j, "undo_verified");
	jw_str(&j, "error", c->err[0] ? c->err : c->undo_verified == 0 ? c->undo_note : NULL);
	jw_str(&j, "status", status == 0 ? "ok" : status == 1 ? "incomplete" : "error");
	jw_int(&j, "exit", status);
	jw_obj_end(&j);
	jw_finish(&j);
}

/* ---- the command ---- */

/*
 * Step 0, before any connection exists: SQLite copies the frames of any WAL
 * whose header and checksums hold, another database's of the same page
 * size included (nothing in the WAL names its database).  waldo's pairing
 * and lineage rules (checks_lineage) look for evidence that the WAL is not
 * this database's; WAL_FOREIGN refuses with exit 2, nothing opened for
 * writing.  Takes fs over.  Returns 0 or an exit status with c->err.
 */
static int refuse_foreign(struct ck *c, struct wf_set *fs)
{
	if (!fs->wal.present) {
		wf_set_close(fs);
		return 0;
	}
	struct model m;
	char err[512];
	if (model_open_set(&m, fs, err, sizeof err)) {
		model_close(&m);
		ckpt_fmt(c->err, sizeof c->err, "%s", err);
		return EXIT_SOFTWARE;
	}
	checks_lineage(&m);
	int status = 0;
	for (size_t i = 0; i < m.diags.n && !status; i++) {
		const struct wd_diag *g = &m.diags.v[i];
		if (g->code != WD_WAL_FOREIGN)
			continue;
		ckpt_fmt(c->err, sizeof c->err, "refusing to checkpoint: '%s' is probably not the WAL of '%s' "
			 "(WAL_FOREIGN: %s): its frames are not this database's pages. Nothing was changed; "
			 "`waldo inspect` shows the evidence",
			 m.files.wal.path, m.files.db.path, g->msg);
		status = EXIT_ERRORS;
	}
	model_close(&m);
	return status;
}

static int run(struct ck *c)
{
	struct wf_set fs;
	char err[1024];
	if (wf_set_open(&fs, c->path, NULL, NULL, err, sizeof err)) {
		ckpt_fmt(c->err, sizeof c->err, "%s", err);
		return EXIT_NOINPUT;
	}
	if (!fs.db.present) {
		ckpt_fmt(c->err, sizeof c->err, "no database file for '%s'", c->path);
		wf_set_close(&fs);
		return EXIT_NOINPUT;
	}
	ckpt_fmt(c->db, sizeof c->db, "%s", fs.db.path);
	const char *shared = locks_fs_shared(fs.db.fd);
	if (shared && !locks_remote_allowed()) {
		ckpt_fmt(c->err, sizeof c->err, "'%s' is on a %s file system: processes on other machines may use it "
			 "without this machine seeing them, and SQLite's WAL mode needs them all on one machine; "
			 "refusing to checkpoint it (set WALDO_ALLOW_REMOTE=1 when nothing else uses it)", c->db, shared);
		wf_set_close(&fs);
		return EXIT_TEMPFAIL;
	}
	int fc = refuse_foreign(c, &fs);   /* closes fs: before any connection exists */
	if (fc)
		return fc;
	if (c->set) {
		/* Pre-flight: the set's folder must take a file before SQLite touches anything. */
		char dir[ATOMIC_PATH_MAX];
		rio_dirname(c->set, dir, sizeof dir);
		if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS)) {
			ckpt_fmt(c->err, sizeof c->err, "cannot write into the folder '%s': %s", dir, strerror(errno));
			return EXIT_CANTCREAT;
		}
	}
	ckpt_fmt(c->walp, sizeof c->walp, "%s-wal", c->db);
	ckpt_fmt(c->shmp, sizeof c->shmp, "%s-shm", c->db);
	c->dbfd = open(c->db, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (c->dbfd < 0) {
		ckpt_fmt(c->err, sizeof c->err, "cannot open '%s': %s", c->db, strerror(errno));
		return EXIT_NOINPUT;
	}
	int oc = open_conn(c, &c->a);
	if (!oc)
		oc = open_conn(c, &c->b);
	if (oc)
		return oc > 0 ? EXIT_TEMPFAIL : EXIT_ERRORS;
	c->shmfd = open(c->shmp, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (c->shmfd < 0) {
		ckpt_fmt(c->err, sizeof c->err, "cannot open '%s' for writing: %s", c->shmp, strerror(errno));
		return EXIT_NOINPUT;
	}
	struct model m;
	memset(&m, 0, sizeof m);
	bool have_model = false;
	int status = 0;
	if (c->set) {
		int rc = ckpt_ofd_lock(c->shmfd, CKPT_SHM_CKPT_BYTE, true, c->timeout_ms);
		if (rc == 1 || rc == -1) {
			ckpt_fmt(c->err, sizeof c->err, "cannot take the checkpoint lock of '%s': %s", c->shmp,
				 rc == 1 ? "another checkpoint is running (--timeout)" : strerror(errno));
			return rc == 1 ? EXIT_TEMPFAIL : EXIT_ERRORS;
		}
		have_model = true;
		status = save_undo(c, &m);
		if (!rc)
			ckpt_ofd_lock(c->shmfd, CKPT_SHM_CKPT_BYTE, false, 0);
	} else if (sqlite3_exec(c->a, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		ckpt_fmt(c->err, sizeof c->err, "cannot take the write lock of '%s': %s", c->db, sqlite3_errmsg(c->a));
		status = EXIT_TEMPFAIL;
	}
	if (!status) {
		/* The state before, read while A holds WRITE. */
		uint8_t hdr[SHM_HDR_SIZE];
		ssize_t k = pread(c->shmfd, hdr, sizeof hdr, 0);
		struct wd_diags d = { 0 };
		c->shm_ok = k == (ssize_t)sizeof hdr && shm_parse(hdr, sizeof hdr, &c->shm, &d) != WD_FATAL &&
			    c->shm.hdr_ok;
		wd_diags_free(&d);
		c->had_wal = path_size(c->walp, &c->wal_before);
		c->db_before = fd_size(c->dbfd);
		status = checkpoint(c);
	} else if (!sqlite3_get_autocommit(c->a)) {
		sqlite3_exec(c->a, "ROLLBACK", NULL, NULL, NULL);
	}
	if (c->nstep) {
		c->wal_after_present = path_size(c->walp, &c->wal_after);
		c->db_after = fd_size(c->dbfd);
		if (c->saved)
			prove_undo(c);
		if (!status)
			status = !c->complete ? EXIT_WARNINGS : EXIT_OK;
		for (int i = 0; i < c->nstep; i++)
			if (c->step[i].rc != SQLITE_OK && c->step[i].rc != SQLITE_BUSY &&
			    c->step[i].rc != SQLITE_INTERRUPT) {
				status = EXIT_ERRORS;
				if (!c->err[0])      /* stderr too, not only the report's line */
					ckpt_fmt(c->err, sizeof c->err, "%s checkpoint of '%s' failed: %s", c->step[i].mode,
						 c->db, sqlite3_errstr(c->step[i].rc));
			}
		if (c->saved && c->undo_verified == 0)
			status = EXIT_ERRORS;
		else if (c->saved && c->undo_verified < 0 && status == EXIT_OK)
			status = EXIT_WARNINGS;
	}
	/* Connections first, then every descriptor of the files (ckpt_common.h). */
	sqlite3_close(c->b);
	sqlite3_close(c->a);
	c->a = c->b = NULL;
	if (have_model)
		model_close(&m);
	return status;
}

int cmd_checkpoint(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	enum { O_MODE = 1000, O_SAVE, O_KEEP, O_FORCE, O_TIMEOUT, O_JSON };
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, O_MODE },
		{ "save-undo", required_argument, NULL, O_SAVE },
		{ "keep-wal", no_argument, NULL, O_KEEP },
		{ "force", no_argument, NULL, O_FORCE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ 0, 0, 0, 0 },
	};
	struct ck c;
	memset(&c, 0, sizeof c);
	c.dbfd = c.shmfd = -1;
	c.undo_verified = -1;
	c.timeout_ms = CKPT_DEFAULT_TIMEOUT_MS;
	bool json = false;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case O_MODE: {
			int k = -1;
			for (int i = 0; i < 4; i++)
				if (!strcmp(optarg, mode_names[i]))
					k = i;
			if (k < 0)
				return cmd_usage_error("checkpoint", usage, "unknown mode '%s'", optarg);
			c.mode = k;
			break;
		}
		case O_SAVE: c.set = optarg; break;
		case O_KEEP: c.keep_wal = true; break;
		case O_FORCE: c.force = true; break;
		case O_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 3600000)
				return cmd_usage_error("checkpoint", usage, "bad --timeout '%s' (milliseconds)", optarg);
			c.timeout_ms = (int)v;
			break;
		}
		case O_JSON: json = true; break;
		default:
			return cmd_usage_error("checkpoint", usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("checkpoint", usage, "expected one DB path");
	if (c.keep_wal && !c.set)
		return cmd_usage_error("checkpoint", usage, "--keep-wal needs --save-undo");
	c.path = argv[optind];
	int status = run(&c);
	/* run() closed the connections on its normal path; an early return may leave them. */
	sqlite3_close(c.b);
	sqlite3_close(c.a);
	if (status == EXIT_TEMPFAIL) {
		/* Name who holds the locks (waldo's own are gone by now). */
		char pids[512];
		ckpt_lock_holders(c.dbfd, c.shmfd, pids, sizeof pids);
		if (pids[0]) {
			size_t k = strlen(c.err);
			ckpt_fmt(c.err + k, sizeof c.err - k, "; in use by %s", pids);
		}
	}
	if (c.dbfd >= 0)
		close(c.dbfd);
	if (c.shmfd >= 0)
		close(c.shmfd);
	if (json)
		print_json(&c, status);
	else if (c.nstep || c.saved)
		print_text(&c);
	if (c.err[0] && !json)
		cmd_error("%s", c.err);
	return status;
}
