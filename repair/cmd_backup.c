/*
 * cmd_backup.c — `waldo backup DB OUTDIR`: a consistent copy of a live WAL
 * database, verified against the state it was taken from.
 *
 * The snapshot.  A read-only libsqlite3 connection R opens a read
 * transaction (BEGIN; a read of sqlite_schema).  From then on SQLite itself
 * keeps R's state readable: no checkpoint copies a frame past R's read mark
 * into the database file, no writer restarts the WAL over frames R may
 * need, and writers carry on appending.  Which state R has is the -shm
 * header it read when its transaction began; waldo reads the header just
 * before and just after BEGIN, and takes the state only when both reads
 * are the same bytes (every header write changes iChange, so nothing was
 * committed in between); otherwise it ends the transaction and tries again.
 * That header gives mxFrame, nPage, the salts and the running checksum at
 * mxFrame.
 *
 * raw (default).  The WAL's first mxFrame frames are copied and walked
 * (formats/wal.h): the copy must end in a valid commit frame at mxFrame
 * with the header's salts and checksum, or it is not the prefix R reads.
 * Then the database file is copied as it is.  A checkpoint may be copying
 * frames up to R's mark into it meanwhile, but every page it can touch has
 * a frame in the copied prefix, and SQLite reads those pages from the WAL:
 * the pair recovers to R's state exactly.  (If R reads the database file
 * alone — every frame was already checkpointed, SQLite's read mark 0 — a
 * writer may reuse the WAL while it is copied; the walk then fails, and the
 * backup is the database file alone, which checkpoints cannot touch while R
 * holds mark 0.)
 *
 * api.  sqlite3_backup from R itself, so the copy is R's state too.
 *
 * Verification, in both: the page hashes of R's state are computed while
 * R's transaction is still open, through the model (inspect/model.h) over
 * the live database file and the copied WAL prefix (pages the prefix holds
 * come from it; the others SQLite cannot change while R reads); the backup's
 * own effective state is then hashed through the model of the copy, and
 * the two must agree page for page (for api, page 1 apart from the fields
 * the backup API rewrites).  Unless --no-integrity, that state is also
 * materialised (inspect/materialize.h) and given to PRAGMA integrity_check.
 * Nothing is published unless all of it holds.
 *
 * Files: everything is written through rio (counted write steps, so that
 * WALDO_CRASH_AFTER reaches every one) into a private stage folder inside
 * OUTDIR, flock'ed while this backup lives, then renamed into place — WAL
 * first, the database, the manifest last — each rename followed by a
 * folder fsync, between the marker NAME.incomplete going in and going out
 * (publish(); docs/repair.md, "waldo backup").  --gzip stores NAME.gz and
 * NAME-wal.gz (what `waldo scan` pairs), each checked by inflating it
 * again.  The live files are read through descriptors opened once and
 * closed after R (ckpt_common.h: POSIX locks).  A database another process
 * holds in exclusive locking mode cannot be read by R: exit 75, naming it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ckpt_common.h"
#include "rio.h"
#include "../formats/bytes.h"
#include "../formats/shm.h"
#include "../formats/wal.h"
#include "../inspect/atomic.h"
#include "../inspect/cmd.h"
#include "../inspect/json.h"
#include "../inspect/materialize.h"
#include "../inspect/model.h"
#include "../inspect/pagehash.h"

static const char usage[] =
	"usage: waldo backup [--method raw|api] [--gzip] [--no-integrity] [--force]\n"
	"                    [--timeout MS] [--json] DB OUTDIR\n"
	"\n"
	"Copy the database DB, live, into the folder OUTDIR (created if needed) as one\n"
	"consistent committed state, write its manifest (OUTDIR/NAME.manifest) and\n"
	"verify the copy page by page against that state.  No writer is blocked.\n"
	"\n"
	"  --method raw   (default) the database file and the WAL up to the state's\n"
	"                 last commit: NAME and NAME-wal, a pair SQLite opens as that\n"
	"                 state, keeping the WAL's history for forensics\n"
	"  --method api   SQLite's online backup API: one file, NAME\n"
	"  --gzip         store NAME.gz (and NAME-wal.gz): gzip files waldo scan reads\n"
	"  --no-integrity skip PRAGMA integrity_check on the copy's state (it needs a\n"
	"                 temporary copy of that state in OUTDIR)\n"
	"  --force        replace an earlier backup of NAME in OUTDIR (and remove its\n"
	"                 -wal, -shm and -journal)\n"
	"  --timeout MS   how long to keep trying for a stable snapshot (default 5000)\n"
	"  --json         one JSON object: {path, outdir, method, gzip, snapshot, files,\n"
	"                 verification, manifest, error, status, exit}\n"
	"\n"
	"Exit status: 0 written and verified; 2 the copy failed verification (nothing\n"
	"published) or SQLite cannot read DB; 64 bad usage; 66 DB cannot be read;\n"
	"73 OUTDIR cannot be written, or holds a backup of NAME (without --force); 75 no\n"
	"stable snapshot within the timeout, or another process holds DB's exclusive\n"
	"lock (exclusive locking mode): the message names it.\n";

enum { F_WAL = 0, F_DB, F_MAN, F_N };

struct bk {
	const char *path, *outdir;
	bool api, gzip, integrity, force;
	int timeout_ms;
	char db[4096], walp[4200], shmp[4200], name[256];
	char stage[4200];
	int stagefd;                     /* the stage folder, flock'ed while this backup lives */
	char none[4300];                 /* an empty file: "no -wal", "no -shm" for model_open */
	int dbfd, walfd, shmfd;
	sqlite3 *r;
	bool wal_mode;
	/* the snapshot */
	uint8_t hdr[SHM_HDR_SIZE];
	struct shm_info sh;
	uint32_t mx, npage, page_size, nbackfill;
	unsigned tries;
	bool db_only;                    /* no WAL frames in the backup */
	char db_only_why[160];
	uint32_t ncommits;               /* commits in the copied prefix */
	struct ph_hashes snap, copy;
	bool have_snap, have_copy;
	/* staged and published files */
	char st[F_N][4400], final[F_N][4400];
	bool present[F_N];
	uint64_t size[F_N], raw_size[F_N];
	uint8_t sha[F_N][RIO_SHA];
	/* verification */
	bool hashes_ok;
	uint32_t first_bad;
	int integrity_rc;                /* 1 ok, 0 fails, -1 cannot run, -2 not run */
	char integrity_msg[512];
	bool published;
	char marker[4400];               /* OUTDIR/NAME.incomplete: a backup of NAME is being published */
	bool resume;                     /* an interrupted backup's marker was found: its files are replaced */
	char err[1024];
};

/* ---- small file helpers ---- */

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/*
 * Copy `len` bytes (or up to the end of the file when len is UINT64_MAX) of
 * fd into a new file `path` (O_EXCL), fsync'ed; *copied gets the bytes.
 */
static int copy_fd(int fd, uint64_t len, const char *path, uint64_t *copied, uint8_t sha[RIO_SHA], char *err,
		   size_t errlen)
{
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		ckpt_fmt(err, errlen, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = malloc(RIO_CHUNK);
	struct rio_sha s;
	int rc = buf && !rio_sha_begin(&s) ? 0 : -1;
	if (rc)
		ckpt_fmt(err, errlen, "out of memory");
	uint64_t off = 0;
	while (!rc && off < len) {
		size_t want = len - off < RIO_CHUNK ? (size_t)(len - off) : RIO_CHUNK;
		ssize_t k = ckpt_pread_full(fd, buf, want, off);
		if (k < 0) {
			ckpt_fmt(err, errlen, "cannot read at offset %llu: %s", (unsigned long long)off, strerror(errno));
			rc = -1;
			break;
		}
		if (k > 0 && rio_write_all(out, buf, (size_t)k)) {
			ckpt_fmt(err, errlen, "cannot write '%s': %s", path, strerror(errno));
			rc = -1;
			break;
		}
		rio_sha_update(&s, buf, (size_t)k);
		off += (uint64_t)k;
		if ((size_t)k < want)
			break;
	}
	if (buf && rio_sha_end(&s, sha) && !rc) {
		ckpt_fmt(err, errlen, "SHA-256 failed");
		rc = -1;
	}
	free(buf);
	if (!rc && rio_fsync(out)) {
		ckpt_fmt(err, errlen, "cannot sync '%s': %s", path, strerror(errno));
		rc = -1;
	}
	close(out);
	*copied = off;
	return rc;
}

/* ---- the snapshot ---- */

/*
 * SQLite could not get a read lock within the timeout: another process
 * holds the database's EXCLUSIVE lock (exclusive locking mode, or a
 * rollback-mode writer), and no consistent copy can be taken live.
 */
static bool locked(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

static bool read_shm(struct bk *b, uint8_t *buf)
{
	return ckpt_pread_full(b->shmfd, buf, SHM_HDR_SIZE, 0) == SHM_HDR_SIZE;
}

/*
 * Open R's read transaction on a state whose -shm header is known (see the
 * top of this file).  Returns 0, or an exit status with b->err.
 */
static int pin(struct bk *b, uint64_t deadline)
{
	for (;;) {
		b->tries++;
		uint8_t h1[SHM_HDR_SIZE];
		bool ok1 = read_shm(b, h1);
		int rc = sqlite3_exec(b->r, "BEGIN; SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ckpt_fmt(b->err, sizeof b->err, "SQLite cannot read '%s': %s", b->db, sqlite3_errmsg(b->r));
			if (!sqlite3_get_autocommit(b->r))
				sqlite3_exec(b->r, "ROLLBACK", NULL, NULL, NULL);
			return locked(rc) ? EXIT_TEMPFAIL : EXIT_ERRORS;
		}
		bool ok2 = read_shm(b, b->hdr);
		struct wd_diags d = { 0 };
		bool parsed = ok1 && ok2 && !memcmp(h1, b->hdr, SHM_HDR_COPY_SIZE) &&
			      shm_parse(b->hdr, SHM_HDR_SIZE, &b->sh, &d) != WD_FATAL && b->sh.hdr_ok;
		wd_diags_free(&d);
		if (parsed) {
			b->mx = b->sh.hdr[0].mx_frame;
			b->npage = b->sh.hdr[0].n_page;
			b->nbackfill = b->sh.n_backfill;
			b->page_size = b->sh.hdr[0].page_size;
			return 0;
		}
		sqlite3_exec(b->r, "ROLLBACK", NULL, NULL, NULL);
		if (ckpt_now_ms() >= deadline) {
			ckpt_fmt(b->err, sizeof b->err, "no stable snapshot of '%s' within %d ms: its -shm header kept "
				 "changing", b->db, b->timeout_ms);
			return EXIT_TEMPFAIL;
		}
		if (b->tries > 3)
			ckpt_backoff(b->tries - 3);
	}
}

/*
 * Copy the WAL prefix R reads into stage path `path` and check it against
 * the snapshot header.  Returns 1 good, 0 not the prefix (try again), -1
 * error (b->err).
 */
static int copy_prefix(struct bk *b, const char *path)
{
	const struct shm_hdr *h = &b->sh.hdr[0];
	uint64_t want = wal_frame_offset(b->page_size, (uint64_t)b->mx + 1);
	uint64_t got;
	uint8_t sha[RIO_SHA];
	unlink(path);
	if (b->walfd < 0) {
		ckpt_fmt(b->err, sizeof b->err, "'%s' has no -wal but its -shm counts %u frames", b->db, b->mx);
		return -1;
	}
	if (copy_fd(b->walfd, want, path, &got, sha, b->err, sizeof b->err))
		return -1;
	if (got != want)
		return 0;
	struct wf_file f;
	char err[512];
	if (wf_open(&f, path, err, sizeof err)) {
		ckpt_fmt(b->err, sizeof b->err, "%s", err);
		wf_close(&f);
		return -1;
	}
	struct wal_walk w;
	struct wd_diags d = { 0 };
	wal_walk(f.data, f.size, b->page_size, &w, &d);
	/* The prefix R reads: valid through a commit frame at mxFrame, with the header's salts and checksum. */
	int good = w.hdr.valid && w.page_size == b->page_size && w.hdr.salt1 == h->salt1 && w.hdr.salt2 == h->salt2 &&
		   w.mx_frame == b->mx && w.npage == b->npage && w.cksum_mx[0] == h->frame_cksum[0] &&
		   w.cksum_mx[1] == h->frame_cksum[1];
	b->ncommits = w.ntxn;
	wal_walk_free(&w);
	wd_diags_free(&d);
	wf_close(&f);
	return good;
}

/* ---- hashes ---- */

/*
 * Hash the state of db with `wal` (NULL: none) and no -shm: as of the WAL's
 * last commit, or the database file alone.  live: db is the live file (its
 * own -wal and -shm are never looked at); else db is a staged copy whose
 * -wal, if any, is beside it.
 */
static int hash_model(struct bk *b, const char *db, const char *wal, bool live, struct ph_hashes *h, bool *have,
		      struct model *m, uint32_t *k)
{
	char err[1024];
	if (model_open(m, db, live ? (wal ? wal : b->none) : NULL, live ? b->none : NULL, err, sizeof err)) {
		ckpt_fmt(b->err, sizeof b->err, "%s", err);
		return -1;
	}
	*k = wal ? MODEL_LAST : 0;
	if (wal && model_commit_frame(m, MODEL_LAST) != b->mx) {
		ckpt_fmt(b->err, sizeof b->err, "the WAL copy's last commit is frame %u, the snapshot's %u",
			 model_commit_frame(m, MODEL_LAST), b->mx);
		return -1;
	}
	*have = true;
	if (ph_hash_state(m, *k, ph_default_threads(), h, err, sizeof err)) {
		ckpt_fmt(b->err, sizeof b->err, "%s", err);
		return -1;
	}
	return 0;
}

/* Page 1 with the fields sqlite3_backup rewrites (versions, change counter, size, schema cookie, version-valid-for, SQLite version) zeroed. */
static void p1_digest(const uint8_t *p, uint32_t ps, uint8_t out[RIO_SHA])
{
	uint8_t *c = malloc(ps);
	if (!c) {
		memset(out, 0xff, RIO_SHA);
		return;
	}
	memcpy(c, p, ps);
	static const struct { unsigned off, len; } z[] = { { 18, 2 }, { 24, 8 }, { 40, 4 }, { 92, 8 } };
	for (size_t i = 0; i < sizeof z / sizeof *z; i++)
		memset(c + z[i].off, 0, z[i].len);
	rio_sha256(c, ps, out);
	free(c);
}

static bool compare(struct bk *b, const struct model *ms, uint32_t ks, const struct model *mc, uint32_t kc)
{
	const struct ph_hashes *s = &b->snap, *c = &b->copy;
	b->first_bad = 0;
	if (s->page_size != c->page_size || s->npages != c->npages || s->nmissing || c->nmissing) {
		ckpt_fmt(b->err, sizeof b->err, "the copy has %u pages of %u bytes (%u missing), the snapshot %u of %u "
			 "(%u missing)", c->npages, c->page_size, c->nmissing, s->npages, s->page_size, s->nmissing);
		return false;
	}
	for (uint32_t pg = 1; pg <= s->npages; pg++) {
		const uint8_t *ds = ph_page_digest(s, pg), *dc = ph_page_digest(c, pg);
		bool same = ds && dc && !memcmp(ds, dc, PH_DIGEST);
		if (!same && pg == 1 && b->api) {
			const uint8_t *ps1 = model_page(ms, ks, 1, NULL), *pc1 = model_page(mc, kc, 1, NULL);
			uint8_t a[RIO_SHA], z[RIO_SHA];
			if (ps1 && pc1) {
				p1_digest(ps1, s->page_size, a);
				p1_digest(pc1, s->page_size, z);
				same = !memcmp(a, z, RIO_SHA) && rd_be32(pc1 + 28) == c->npages;
			}
		}
		if (!same) {
			b->first_bad = pg;
			ckpt_fmt(b->err, sizeof b->err, "page %u of the copy differs from the snapshot's", pg);
			return false;
		}
	}
	return true;
}

/* ---- gzip ---- */

/*
 * Compress src into dst (O_EXCL), a gzip file written through rio (counted
 * write steps) and fsync'ed, and inflate it back: its bytes must hash to `sha`.
 */
static int gzip_file(const char *src, const char *dst, const uint8_t sha[RIO_SHA], uint64_t *gzsize, char *err,
		     size_t errlen)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	uint8_t *buf = malloc(RIO_CHUNK), *zbuf = malloc(RIO_CHUNK);
	z_stream z;
	memset(&z, 0, sizeof z);
	/* windowBits 15 + 16: a gzip header and trailer around the deflate stream. */
	int rc = in >= 0 && out >= 0 && buf && zbuf &&
		 deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -1;
	bool zinit = !rc;
	if (rc)
		ckpt_fmt(err, errlen, "cannot create '%s': %s", dst, strerror(errno));
	for (int flush = Z_NO_FLUSH; !rc && flush != Z_FINISH;) {
		ssize_t k = read(in, buf, RIO_CHUNK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ckpt_fmt(err, errlen, "cannot read '%s': %s", src, strerror(errno));
			rc = -1;
			break;
		}
		flush = k == 0 ? Z_FINISH : Z_NO_FLUSH;
		z.next_in = buf;
		z.avail_in = (uInt)k;
		do {
			z.next_out = zbuf;
			z.avail_out = RIO_CHUNK;
			if (deflate(&z, flush) == Z_STREAM_ERROR) {
				ckpt_fmt(err, errlen, "cannot compress '%s' into '%s'", src, dst);
				rc = -1;
				break;
			}
			size_t have = RIO_CHUNK - z.avail_out;
			if (have && rio_write_all(out, zbuf, have)) {
				ckpt_fmt(err, errlen, "cannot write '%s': %s", dst, strerror(errno));
				rc = -1;
				break;
			}
		} while (z.avail_out == 0);
	}
	if (zinit)
		deflateEnd(&z);
	free(zbuf);
	if (!rc && rio_fsync(out)) {
		ckpt_fmt(err, errlen, "cannot sync '%s': %s", dst, strerror(errno));
		rc = -1;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (!rc) {
		/* Read it back as a reader will. */
		gzFile r = gzopen(dst, "rb");
		struct rio_sha s;
		rc = r && !rio_sha_begin(&s) ? 0 : -1;
		int k = 0;
		while (!rc && (k = gzread(r, buf, RIO_CHUNK)) > 0)
			rio_sha_update(&s, buf, (size_t)k);
		uint8_t d[RIO_SHA];
		if (r) {
			if (k < 0 || rio_sha_end(&s, d) || memcmp(d, sha, RIO_SHA))
				rc = -1;
			gzclose(r);
		}
		if (rc)
			ckpt_fmt(err, errlen, "'%s' does not inflate to the bytes it was made from", dst);
	}
	free(buf);
	struct stat st;
	*gzsize = !rc && !stat(dst, &st) ? (uint64_t)st.st_size : 0;
	return rc;
}

/* ---- the backup ---- */

static int open_live(struct bk *b)
{
	struct wf_set fs;
	char err[1024];
	if (wf_set_open(&fs, b->path, NULL, NULL, err, sizeof err)) {
		ckpt_fmt(b->err, sizeof b->err, "%s", err);
		return EXIT_NOINPUT;
	}
	bool present = fs.db.present;
	ckpt_fmt(b->db, sizeof b->db, "%s", fs.db.path ? fs.db.path : b->path);
	wf_set_close(&fs);       /* before any connection exists */
	if (!present) {
		ckpt_fmt(b->err, sizeof b->err, "no database file for '%s'", b->path);
		return EXIT_NOINPUT;
	}
	ckpt_fmt(b->walp, sizeof b->walp, "%s-wal", b->db);
	ckpt_fmt(b->shmp, sizeof b->shmp, "%s-shm", b->db);
	ckpt_fmt(b->name, sizeof b->name, "%s", rio_basename(b->db));
	b->dbfd = open(b->db, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (b->dbfd < 0) {
		ckpt_fmt(b->err, sizeof b->err, "cannot open '%s': %s", b->db, strerror(errno));
		return EXIT_NOINPUT;
	}
	if (sqlite3_open_v2(b->db, &b->r, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		ckpt_fmt(b->err, sizeof b->err, "SQLite cannot open '%s': %s", b->db,
			 b->r ? sqlite3_errmsg(b->r) : "out of memory");
		return EXIT_ERRORS;
	}
	sqlite3_busy_timeout(b->r, b->timeout_ms);
	sqlite3_stmt *st = NULL;
	const char *jm = NULL;
	int rc = sqlite3_prepare_v2(b->r, "PRAGMA journal_mode", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		jm = (const char *)sqlite3_column_text(st, 0);
	b->wal_mode = jm && !strcmp(jm, "wal");
	sqlite3_finalize(st);
	if (jm)
		rc = sqlite3_exec(b->r, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	if (!jm || rc != SQLITE_OK) {
		ckpt_fmt(b->err, sizeof b->err, "SQLite cannot read '%s': %s%s", b->db, sqlite3_errmsg(b->r),
			 locked(rc) ? " (another process holds its exclusive lock: a database in exclusive locking mode, "
				      "or a rollback-journal writer, cannot be backed up live)" : "");
		return locked(rc) ? EXIT_TEMPFAIL : EXIT_ERRORS;
	}
	/* After a read, a WAL database has its -wal and -shm. */
	b->walfd = open(b->walp, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	b->shmfd = open(b->shmp, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (b->wal_mode && b->shmfd < 0) {
		ckpt_fmt(b->err, sizeof b->err, "cannot open '%s': %s (a WAL database in exclusive locking mode "
			 "cannot be backed up live)", b->shmp, strerror(errno));
		return EXIT_NOINPUT;
	}
	return 0;
}

/*
 * The stage folders of backups that died (a kill, a crash, a power cut):
 * a running backup holds an flock on its own until it removes it, so a
 * folder nobody holds is garbage.  (flock, unlike a PID, also works across
 * PID namespaces sharing OUTDIR.)
 */
#define STAGE_PREFIX ".waldo-backup-"
static void remove_stale_stages(const char *outdir)
{
	DIR *d = opendir(outdir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)))
			continue;
		char p[4400];
		ckpt_fmt(p, sizeof p, "%s/%s", outdir, e->d_name);
		int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!flock(fd, LOCK_EX | LOCK_NB))
			tmpdir_remove(p);
		close(fd);
	}
	closedir(d);
}

static int prepare_out(struct bk *b)
{
	if (mkdir(b->outdir, 0777) && errno != EEXIST) {
		ckpt_fmt(b->err, sizeof b->err, "cannot create '%s': %s", b->outdir, strerror(errno));
		return EXIT_CANTCREAT;
	}
	struct stat st;
	if (stat(b->outdir, &st) || !S_ISDIR(st.st_mode)) {
		ckpt_fmt(b->err, sizeof b->err, "'%s' is not a folder", b->outdir);
		return EXIT_CANTCREAT;
	}
	const char *gz = b->gzip ? ".gz" : "";
	ckpt_fmt(b->final[F_DB], sizeof b->final[F_DB], "%s/%s%s", b->outdir, b->name, gz);
	ckpt_fmt(b->final[F_WAL], sizeof b->final[F_WAL], "%s/%s-wal%s", b->outdir, b->name, gz);
	ckpt_fmt(b->final[F_MAN], sizeof b->final[F_MAN], "%s/%s.manifest", b->outdir, b->name);
	char plain[4400];
	ckpt_fmt(plain, sizeof plain, "%s/%s", b->outdir, b->name);
	if (atomic_same_file(plain, b->db) || atomic_same_file(b->final[F_DB], b->db)) {
		ckpt_fmt(b->err, sizeof b->err, "'%s' would be the database itself or its sibling", b->final[F_DB]);
		return EXIT_CANTCREAT;
	}
	/*
	 * Every name a backup of NAME uses: an old -wal beside a new database would pair with it.  They
	 * are replaced only with --force, or when NAME.incomplete says they are what an interrupted
	 * backup left (publish() below): that backup was refused them, or was given --force.
	 */
	remove_stale_stages(b->outdir);
	ckpt_fmt(b->marker, sizeof b->marker, "%s/%s.incomplete", b->outdir, b->name);
	b->resume = exists(b->marker);
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal", ".gz", "-wal.gz", ".manifest" };
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		char p[4400];
		ckpt_fmt(p, sizeof p, "%s/%s%s", b->outdir, b->name, sfx[i]);
		if (!exists(p))
			continue;
		if (!b->force && !b->resume) {
			ckpt_fmt(b->err, sizeof b->err, "'%s' exists: OUTDIR holds a backup of %s (use --force to "
				 "replace it)", p, b->name);
			return EXIT_CANTCREAT;
		}
	}
	for (int tries = 0;; tries++) {
		ckpt_fmt(b->stage, sizeof b->stage, "%s/" STAGE_PREFIX "XXXXXX", b->outdir);
		if (!mkdtemp(b->stage)) {
			ckpt_fmt(b->err, sizeof b->err, "cannot create a folder in '%s': %s", b->outdir, strerror(errno));
			b->stage[0] = '\0';
			return EXIT_CANTCREAT;
		}
		/* Locked from now on; another backup's remove_stale_stages may have taken it in between. */
		b->stagefd = open(b->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat sst;
		if (b->stagefd >= 0 && !flock(b->stagefd, LOCK_EX | LOCK_NB) && !fstat(b->stagefd, &sst) && sst.st_nlink)
			break;
		if (b->stagefd >= 0)
			close(b->stagefd);
		b->stagefd = -1;
		if (tries == 3) {
			ckpt_fmt(b->err, sizeof b->err, "cannot lock the folder '%s': %s", b->stage, strerror(errno));
			b->stage[0] = '\0';
			return EXIT_CANTCREAT;
		}
	}
	ckpt_fmt(b->none, sizeof b->none, "%s/none", b->stage);
	int fd = open(b->none, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ckpt_fmt(b->err, sizeof b->err, "cannot create '%s': %s", b->none, strerror(errno));
		return EXIT_CANTCREAT;
	}
	close(fd);
	ckpt_fmt(b->st[F_DB], sizeof b->st[F_DB], "%s/%s", b->stage, b->name);
	ckpt_fmt(b->st[F_WAL], sizeof b->st[F_WAL], "%s/%s-wal", b->stage, b->name);
	ckpt_fmt(b->st[F_MAN], sizeof b->st[F_MAN], "%s/%s.manifest", b->stage, b->name);
	return 0;
}

/* R's state and its page hashes (R's transaction open); the copy (raw or api). */
static int take(struct bk *b, struct model *ms, uint32_t *ks)
{
	uint64_t deadline = ckpt_now_ms() + (uint64_t)b->timeout_ms;
	for (;;) {
		if (!b->wal_mode) {
			/* Rollback mode: R's read transaction holds SHARED; no writer touches the file. */
			int rc = sqlite3_exec(b->r, "BEGIN; SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
			if (rc != SQLITE_OK) {
				ckpt_fmt(b->err, sizeof b->err, "SQLite cannot read '%s': %s", b->db, sqlite3_errmsg(b->r));
				return locked(rc) ? EXIT_TEMPFAIL : EXIT_ERRORS;
			}
			b->tries = 1;
			b->db_only = true;
			ckpt_fmt(b->db_only_why, sizeof b->db_only_why, "not in WAL mode");
			break;
		}
		int st = pin(b, deadline);
		if (st)
			return st;
		b->db_only = b->mx == 0;
		if (b->db_only) {
			ckpt_fmt(b->db_only_why, sizeof b->db_only_why, "the snapshot has no WAL frames");
			break;
		}
		int rc = copy_prefix(b, b->st[F_WAL]);
		if (rc < 0)
			return EXIT_ERRORS;
		if (rc > 0)
			break;
		if (b->nbackfill >= b->mx) {
			/* Read mark 0: the database file alone is R's state. */
			b->db_only = true;
			ckpt_fmt(b->db_only_why, sizeof b->db_only_why, "every frame was checkpointed and the WAL is "
				 "being reused: the database file alone is the snapshot");
			unlink(b->st[F_WAL]);
			break;
		}
		sqlite3_exec(b->r, "ROLLBACK", NULL, NULL, NULL);
		if (ckpt_now_ms() >= deadline) {
			ckpt_fmt(b->err, sizeof b->err, "the WAL prefix of '%s' never matched its -shm header within %d ms",
				 b->db, b->timeout_ms);
			return EXIT_TEMPFAIL;
		}
	}
	b->present[F_WAL] = !b->db_only && !b->api;
	if (hash_model(b, b->db, b->db_only ? NULL : b->st[F_WAL], true, &b->snap, &b->have_snap, ms, ks))
		return EXIT_ERRORS;
	if (b->wal_mode && b->npage && b->snap.npages != b->npage) {
		ckpt_fmt(b->err, sizeof b->err, "the snapshot's state has %u pages, its -shm header says %u",
			 b->snap.npages, b->npage);
		return EXIT_ERRORS;
	}
	char err[1024];
	if (!b->api) {
		if (copy_fd(b->dbfd, UINT64_MAX, b->st[F_DB], &b->raw_size[F_DB], b->sha[F_DB], err, sizeof err)) {
			ckpt_fmt(b->err, sizeof b->err, "%s", err);
			return EXIT_CANTCREAT;
		}
		if (b->present[F_WAL]) {
			struct stat st;
			b->raw_size[F_WAL] = stat(b->st[F_WAL], &st) ? 0 : (uint64_t)st.st_size;
			if (rio_sha256_file(b->st[F_WAL], b->sha[F_WAL], &b->raw_size[F_WAL], err, sizeof err) != 1) {
				ckpt_fmt(b->err, sizeof b->err, "%s", err);
				return EXIT_CANTCREAT;
			}
		}
	} else {
		unlink(b->st[F_WAL]);
		sqlite3 *dst = NULL;
		int rc = sqlite3_open_v2(b->st[F_DB], &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
		sqlite3_backup *bk = rc == SQLITE_OK ? sqlite3_backup_init(dst, "main", b->r, "main") : NULL;
		if (bk) {
			rc = sqlite3_backup_step(bk, -1);
			int rc2 = sqlite3_backup_finish(bk);
			if (rc == SQLITE_DONE)
				rc = rc2;
		} else {
			rc = SQLITE_ERROR;
		}
		if (rc != SQLITE_OK)
			ckpt_fmt(b->err, sizeof b->err, "the backup API failed: %s", dst ? sqlite3_errmsg(dst) : "out of memory");
		if (sqlite3_close(dst) != SQLITE_OK && rc == SQLITE_OK) {
			ckpt_fmt(b->err, sizeof b->err, "cannot close '%s'", b->st[F_DB]);
			rc = SQLITE_ERROR;
		}
		if (rc != SQLITE_OK)
			return EXIT_ERRORS;
		if (rio_sha256_file(b->st[F_DB], b->sha[F_DB], &b->raw_size[F_DB], err, sizeof err) != 1) {
			ckpt_fmt(b->err, sizeof b->err, "%s", err);
			return EXIT_CANTCREAT;
		}
		int fd = open(b->st[F_DB], O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			rio_fsync(fd);
			close(fd);
		}
	}
	b->present[F_DB] = true;
	return 0;
}

/* Hash the copy's own state, compare, and check its integrity. */
static int verify(struct bk *b, const struct model *ms, uint32_t ks)
{
	struct model mc;
	uint32_t kc;
	memset(&mc, 0, sizeof mc);
	int status = 0;
	if (hash_model(b, b->st[F_DB], b->present[F_WAL] ? b->st[F_WAL] : NULL, false, &b->copy, &b->have_copy, &mc, &kc)) {
		status = EXIT_ERRORS;
		goto out;
	}
	b->hashes_ok = compare(b, ms, ks, &mc, kc);
	if (!b->hashes_ok) {
		status = EXIT_ERRORS;
		goto out;
	}
	b->integrity_rc = -2;
	if (b->integrity) {
		char path[4400], err[1024];
		uint32_t missing;
		ckpt_fmt(path, sizeof path, "%s/state.db", b->stage);
		if (materialize_state(&mc, kc, path, &missing, err, sizeof err)) {
			ckpt_fmt(b->err, sizeof b->err, "%s", err);
			status = EXIT_ERRORS;
			goto out;
		}
		b->integrity_rc = sqlite_integrity(path, b->integrity_msg, sizeof b->integrity_msg);
		unlink(path);
		if (b->integrity_rc != 1) {
			ckpt_fmt(b->err, sizeof b->err, "the copy's state fails PRAGMA integrity_check: %s", b->integrity_msg);
			status = EXIT_ERRORS;
			goto out;
		}
	}
	struct db_header hdr;
	bool have_hdr = ph_state_header(&mc, kc, &hdr);
	char err[1024];
	/* Formatted in memory, written through rio (counted write steps, like every file of the backup). */
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	if (f)
		ph_manifest_write(f, &b->copy, b->db, kc ? "effective" : "db", have_hdr ? &hdr : NULL);
	if (!f || ferror(f) | fclose(f) ||
	    ckpt_write_file(b->st[F_MAN], (const uint8_t *)text, tlen, false, err, sizeof err)) {
		ckpt_fmt(b->err, sizeof b->err, "cannot write the manifest '%s': %s", b->st[F_MAN],
			 f ? err : strerror(errno));
		free(text);
		status = EXIT_CANTCREAT;
		goto out;
	}
	free(text);
	b->present[F_MAN] = true;
	rio_sha256_file(b->st[F_MAN], b->sha[F_MAN], &b->raw_size[F_MAN], err, sizeof err);
out:
	model_close(&mc);
	return status;
}

static int publish(struct bk *b)
{
	char err[1024];
	if (b->gzip) {
		for (int f = F_WAL; f <= F_DB; f++) {
			if (!b->present[f])
				continue;
			char gz[4500];
			ckpt_fmt(gz, sizeof gz, "%s.gz", b->st[f]);
			if (gzip_file(b->st[f], gz, b->sha[f], &b->size[f], err, sizeof err)) {
				ckpt_fmt(b->err, sizeof b->err, "%s", err);
				return EXIT_CANTCREAT;
			}
			unlink(b->st[f]);
			ckpt_fmt(b->st[f], sizeof b->st[f], "%s", gz);
		}
	} else {
		b->size[F_WAL] = b->raw_size[F_WAL];
		b->size[F_DB] = b->raw_size[F_DB];
	}
	b->size[F_MAN] = b->raw_size[F_MAN];
	/*
	 * Several files cannot appear in one step, so the marker NAME.incomplete
	 * is made durable first (temporary file, fsync, rename, folder fsync),
	 * and removed last.  While it exists NAME's files in OUTDIR are an
	 * interrupted backup, which the next run replaces without --force.
	 * Each file is either absent or complete (fsync'ed before its rename),
	 * and no old file ever pairs with a new one: an earlier backup's names
	 * go first, its manifest before its database before its WAL.
	 */
	char note[4600];
	int k = snprintf(note, sizeof note, "waldo backup of %s to %s started by process %ld: the %s files here are "
			 "incomplete while this file exists; run the backup again\n", b->db, b->outdir, (long)getpid(),
			 b->name);
	if (k < 0 || (size_t)k >= sizeof note)
		k = (int)strlen(note);
	/* Written in the stage folder, then renamed into place: nothing under a temporary name in OUTDIR. */
	char stmark[4400];
	ckpt_fmt(stmark, sizeof stmark, "%s/%s.incomplete", b->stage, b->name);
	struct atomic_out am;
	if (ckpt_write_file(stmark, (const uint8_t *)note, (uint64_t)k, false, err, sizeof err) ||
	    atomic_prepare(&am, b->marker, true, err, sizeof err) != ATOMIC_OK) {
		ckpt_fmt(b->err, sizeof b->err, "%s", err);
		return EXIT_CANTCREAT;
	}
	ckpt_fmt(am.tmp, sizeof am.tmp, "%s", stmark);
	if (rio_commit(&am, err, sizeof err) != ATOMIC_OK) {
		ckpt_fmt(b->err, sizeof b->err, "%s", err);
		return EXIT_CANTCREAT;
	}
	if (b->force || b->resume) {
		static const char *const sfx[] = { ".manifest", "", ".gz", "-shm", "-journal", "-wal", "-wal.gz" };
		for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
			char p[4400];
			ckpt_fmt(p, sizeof p, "%s/%s%s", b->outdir, b->name, sfx[i]);
			if (exists(p) && rio_unlink(p, err, sizeof err)) {
				ckpt_fmt(b->err, sizeof b->err, "%s", err);
				return EXIT_CANTCREAT;
			}
		}
	}
	/* The WAL first, the database, the manifest last. */
	for (int f = 0; f < F_N; f++) {
		if (!b->present[f])
			continue;
		struct atomic_out a;
		if (atomic_prepare(&a, b->final[f], false, err, sizeof err) != ATOMIC_OK) {
			ckpt_fmt(b->err, sizeof b->err, "%s", err);
			return EXIT_CANTCREAT;
		}
		/* Straight from the stage folder (same file system): nothing is ever left in OUTDIR
		 * under a temporary name; fsync, rename without replacing, OUTDIR fsync. */
		ckpt_fmt(a.tmp, sizeof a.tmp, "%s", b->st[f]);
		if (rio_commit(&a, err, sizeof err) != ATOMIC_OK) {
			ckpt_fmt(b->err, sizeof b->err, "%s", err);
			atomic_abort(&a);
			return EXIT_CANTCREAT;
		}
	}
	if (rio_unlink(b->marker, err, sizeof err)) {
		ckpt_fmt(b->err, sizeof b->err, "%s", err);
		return EXIT_CANTCREAT;
	}
	b->published = true;
	return 0;
}

/* ---- output ---- */

static void print_text(const struct bk *b)
{
	char hex[2 * RIO_SHA + 1];
	printf("waldo backup %s -> %s (%s%s)\n", b->db, b->outdir, b->api ? "api" : "raw", b->gzip ? ", gzip" : "");
	if (b->have_snap) {
		printf("  snapshot    %u pages of %u bytes", b->snap.npages, b->snap.page_size);
		if (b->wal_mode)
			printf(", mxFrame %u (%u frames checkpointed), stable on try %u", b->mx, b->nbackfill, b->tries);
		putchar('\n');
		if (b->db_only)
			printf("              the database file alone: %s\n", b->db_only_why);
		else
			printf("              the database file and WAL frames 1..%u (%u commits)\n", b->mx, b->ncommits);
	}
	if (b->resume && b->published)
		printf("  replaced    the files of an interrupted backup of %s (%s)\n", b->name, b->marker);
	bool first = true;
	for (int f = 0; f < F_N; f++) {
		if (!b->present[f] || !b->published)
			continue;
		rio_hex(b->sha[f], hex);
		printf("  %-11s %s: %llu bytes", first ? "wrote" : "", b->final[f], (unsigned long long)b->size[f]);
		first = false;
		if (b->gzip && f != F_MAN)
			printf(" (inflated %llu bytes, sha256 %.16s...)\n", (unsigned long long)b->raw_size[f], hex);
		else
			printf(", sha256 %.16s...\n", hex);
	}
	if (b->hashes_ok) {
		ph_hex(b->copy.state_hash, hex);
		printf("  verified    %u pages %s (state_hash %.16s...); integrity_check %s\n", b->copy.npages,
		       b->api ? "match the snapshot's, page 1 but for the header fields the backup API rewrites"
			      : "identical to the snapshot's", hex,
		       b->integrity_rc == 1 ? "ok" : b->integrity_rc == -2 ? "not run" : "FAILS");
	}
}

static void print_json(const struct bk *b, int status)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", b->db[0] ? b->db : b->path);
	jw_str(&j, "outdir", b->outdir);
	jw_str(&j, "method", b->api ? "api" : "raw");
	jw_bool(&j, "gzip", b->gzip);
	if (b->have_snap) {
		jw_obj_begin(&j, "snapshot");
		jw_bool(&j, "wal_mode", b->wal_mode);
		jw_uint(&j, "mx_frame", b->mx);
		jw_uint(&j, "n_backfill", b->nbackfill);
		jw_uint(&j, "pages", b->snap.npages);
		jw_uint(&j, "page_size", b->snap.page_size);
		jw_uint(&j, "tries", b->tries);
		jw_bool(&j, "database_only", b->db_only);
		jw_uint(&j, "wal_commits", b->db_only ? 0 : b->ncommits);
		jw_hex(&j, "state_hash", b->snap.state_hash, PH_DIGEST);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "snapshot");
	}
	jw_arr_begin(&j, "files");
	for (int f = 0; f < F_N && b->published; f++) {
		if (!b->present[f])
			continue;
		static const char *const what[] = { "wal", "db", "manifest" };
		jw_obj_begin(&j, NULL);
		jw_str(&j, "file", what[f]);
		jw_str(&j, "path", b->final[f]);
		jw_uint(&j, "bytes", b->size[f]);
		jw_uint(&j, "content_bytes", b->raw_size[f]);
		jw_hex(&j, "content_sha256", b->sha[f], RIO_SHA);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	if (b->have_copy) {
		jw_obj_begin(&j, "verification");
		jw_bool(&j, "pages_identical", b->hashes_ok);
		if (b->first_bad)
			jw_uint(&j, "first_differing_page", b->first_bad);
		jw_str(&j, "integrity", b->integrity_rc == 1 ? "ok" : b->integrity_rc == -2 ? "not run"
			   : b->integrity_rc == 0 ? "failed" : "error");
		jw_hex(&j, "state_hash", b->copy.state_hash, PH_DIGEST);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "verification");
	}
	jw_str(&j, "manifest", b->published && b->present[F_MAN] ? b->final[F_MAN] : NULL);
	jw_bool(&j, "replaced_interrupted", b->resume);
	jw_str(&j, "error", b->err[0] ? b->err : NULL);
	jw_str(&j, "status", status ? "error" : "ok");
	jw_int(&j, "exit", status);
	jw_obj_end(&j);
	jw_finish(&j);
}

static int run(struct bk *b)
{
	int status = open_live(b);
	if (!status)
		status = prepare_out(b);
	struct model ms;
	uint32_t ks = 0;
	memset(&ms, 0, sizeof ms);
	bool have_ms = false;
	if (!status) {
		have_ms = true;
		status = take(b, &ms, &ks);
	}
	/* R's transaction ends only now: the snapshot hashes were read while it pinned the state. */
	if (!status)
		status = verify(b, &ms, ks);
	if (b->r && !sqlite3_get_autocommit(b->r))
		sqlite3_exec(b->r, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(b->r);
	b->r = NULL;
	if (have_ms)
		model_close(&ms);
	if (!status)
		status = publish(b);
	return status;
}

int cmd_backup(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	enum { O_METHOD = 1000, O_GZIP, O_NOINT, O_FORCE, O_TIMEOUT, O_JSON };
	static const struct option opts[] = {
		{ "method", required_argument, NULL, O_METHOD },
		{ "gzip", no_argument, NULL, O_GZIP },
		{ "no-integrity", no_argument, NULL, O_NOINT },
		{ "force", no_argument, NULL, O_FORCE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ 0, 0, 0, 0 },
	};
	struct bk *b = calloc(1, sizeof *b);
	if (!b) {
		cmd_error("out of memory");
		return EXIT_SOFTWARE;
	}
	b->dbfd = b->walfd = b->shmfd = b->stagefd = -1;
	b->integrity = true;
	b->integrity_rc = -2;
	b->timeout_ms = CKPT_DEFAULT_TIMEOUT_MS;
	bool json = false;
	int c, status = -1;
	optind = 1;
	opterr = 0;
	while (status < 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_METHOD:
			if (!strcmp(optarg, "raw") || !strcmp(optarg, "api"))
				b->api = !strcmp(optarg, "api");
			else
				status = cmd_usage_error("backup", usage, "unknown method '%s' (raw or api)", optarg);
			break;
		case O_GZIP: b->gzip = true; break;
		case O_NOINT: b->integrity = false; break;
		case O_FORCE: b->force = true; break;
		case O_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 3600000)
				status = cmd_usage_error("backup", usage, "bad --timeout '%s' (milliseconds)", optarg);
			else
				b->timeout_ms = (int)v;
			break;
		}
		case O_JSON: json = true; break;
		default:
			status = cmd_usage_error("backup", usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (status < 0 && argc - optind != 2)
		status = cmd_usage_error("backup", usage, "expected DB and OUTDIR");
	if (status >= 0) {
		free(b);
		return status;
	}
	b->path = argv[optind];
	b->outdir = argv[optind + 1];
	status = run(b);
	if (status == EXIT_TEMPFAIL) {
		/* Name who holds the locks (waldo's connection is closed by now). */
		char pids[512];
		ckpt_lock_holders(b->dbfd, b->shmfd, pids, sizeof pids);
		if (pids[0]) {
			size_t k = strlen(b->err);
			ckpt_fmt(b->err + k, sizeof b->err - k, "; in use by %s", pids);
		}
	}
	if (b->dbfd >= 0)
		close(b->dbfd);
	if (b->walfd >= 0)
		close(b->walfd);
	if (b->shmfd >= 0)
		close(b->shmfd);
	if (b->stage[0])
		tmpdir_remove(b->stage);
	if (b->stagefd >= 0)
		close(b->stagefd);
	if (json)
		print_json(b, status);
	else if (!status)
		print_text(b);
	if (b->err[0])
		cmd_error("%s", b->err);
	if (b->have_snap)
		ph_hashes_free(&b->snap);
	if (b->have_copy)
		ph_hashes_free(&b->copy);
	free(b);
	return status;
}
