/*
 * scen_race.c — the WAL-reset race of SQLite 3.7.0 to 3.51.2, reproduced
 * deterministically with the real libsqlite3 (no patched SQLite).
 *
 * The race (sqlite3WalCheckpoint, walCheckpoint, walRestartLog):
 *   1. a checkpoint has copied every frame: nBackfill = mxFrame = N;
 *   2. checkpointer B takes only the CKPT lock and reads the -shm header
 *      (mxFrame N, the old salts);
 *   3. before B compares nBackfill with that header's mxFrame, writer W
 *      restarts the WAL (salt-1 + 1, mxFrame 0, nBackfill 0), commits M < N
 *      frames and ends its transaction;
 *   4. B goes on with its stale header and stores nBackfill =
 *      nBackfillAttempted = aReadMark[1] = N.  Readers now skip frames 1..N
 *      of the new generation: commits that land in frames M+1..N are
 *      invisible at once, and lost for good when the WAL is restarted again.
 *
 * How the window is held open.  Every role is a process of its own with
 * one connection, driven line by line over a pair of pipes by the
 * generator, which itself never opens the files (see session.c for why).
 * B's connection uses a shim VFS, "waldo-race": the default VFS (the
 * deterministic "waldo-det", itself SQLite's "unix") whose xOpen swaps the
 * main database file's io methods for a copy that differs in xUnfetch
 * alone.  In sqlite3WalCheckpoint, when the header walIndexReadHdr just read
 * differs from the one the connection cached, SQLite calls
 * xUnfetch(fd, 0, NULL) on the database file — the only VFS call between
 * reading the header and walCheckpoint's use of it.  So B reads once early
 * (its cached header is then stale), the writer commits and checkpoints,
 * and when the generator asks B to checkpoint, B's armed xUnfetch tells the
 * generator "blocked" and waits for "go".  Meanwhile W restarts the WAL.
 *
 * The data: table t(id, v, pad) whose rows are each alone on a page (the
 * pad fills it), so one UPDATE of a row is one frame of one page, and v =
 * 'rNNNN-vNNNNNN' names the row and the version.  The generator knows what
 * it committed; after a snapshot it asks a live connection (B's, which uses
 * the -shm like any reader) for every row it changed, and lists the updates
 * that connection no longer sees, with the frame that holds each lost
 * version, in lost-updates.txt.  tests/e2e/t1100-resetrace.sh checks that
 * `waldo inspect` names exactly those frames and pages.
 *
 * Snapshots are copies of db, -wal and -shm while both connections are
 * still open, as a backup taken at that moment would hold them.
 */
#include "scen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "formats/bytes.h"

/* ---- the shim VFS (used in B's process only) ---------------------------------- */

static sqlite3_vfs race_vfs;
static sqlite3_vfs *race_base;                 /* the VFS race_vfs copies */
static sqlite3_io_methods race_io;
static const sqlite3_io_methods *race_db_io;   /* the main database's real methods */
static int race_armed;
static FILE *actor_in, *actor_out;             /* the actor's command and reply streams */

static void actor_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void actor_reply(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(actor_out, fmt, ap);
	va_end(ap);
	fputc('\n', actor_out);
	fflush(actor_out);
}

/* One command line; NULL at end of input (the generator went away). */
static char *actor_read(char *buf, size_t n)
{
	if (!fgets(buf, (int)n, actor_in))
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/*
 * The race window.  When armed, the first xUnfetch(fd, 0, NULL) on the
 * database — the one sqlite3WalCheckpoint makes after reading a changed
 * header, before walCheckpoint runs with it — reports "blocked" and waits.
 */
static int race_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	if (race_armed && off == 0 && p == NULL) {
		char line[64];
		race_armed = 0;
		actor_reply("blocked");
		if (!actor_read(line, sizeof line) || strcmp(line, "go"))
			_exit(1);
	}
	return race_db_io->xUnfetch(f, off, p);
}

static int race_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)vfs;
	int rc = race_base->xOpen(race_base, name, f, flags, out);
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_MAIN_DB) && f->pMethods && f->pMethods->iVersion >= 3) {
		race_db_io = f->pMethods;
		race_io = *f->pMethods;
		race_io.xUnfetch = race_unfetch;
		f->pMethods = &race_io;
	}
	return rc;
}

static void race_vfs_register(void)
{
	race_base = sqlite3_vfs_find(NULL);
	if (!race_base || race_base->iVersion < 1)
		die("no default VFS");
	race_vfs = *race_base;
	race_vfs.pNext = NULL;
	race_vfs.zName = "waldo-race";
	race_vfs.xOpen = race_open;
	if (sqlite3_vfs_register(&race_vfs, 0) != SQLITE_OK)
		die("cannot register the race VFS");
}

/* ---- actors: one connection in a child process, driven over pipes -------------- */

struct actor {
	pid_t pid;
	FILE *cmd, *rep;
	const char *name;
};

static void act_update(sqlite3 *h, sqlite3_stmt *up, long id, const char *v)
{
	sqlite3_bind_text(up, 1, v, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(up, 2, id);
	if (sqlite3_step(up) != SQLITE_DONE || sqlite3_changes(h) != 1)
		die("update of row %ld failed: %s", id, sqlite3_errmsg(h));
	sqlite3_reset(up);
}

static void act_query(sqlite3 *h, long id)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, "SELECT v FROM t WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
		actor_reply("err %s", sqlite3_errmsg(h));
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		actor_reply("ok %s", (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		actor_reply("ok -");
	else
		actor_reply("err %s", sqlite3_errmsg(h));
	sqlite3_finalize(st);
}

/*
 * The command loop.  Commands (one line each, one reply line each):
 *   R                 a read transaction (caches the -shm header)
 *   U id v [id v]     one write transaction updating one or two rows
 *   I first n pad     one write transaction inserting rows first..first+n-1
 *   C MODE            sqlite3_wal_checkpoint_v2 in that mode
 *   K                 a PASSIVE checkpoint with the race window armed
 *   Q id              the value of row id as this connection sees it
 *   X                 _exit without closing (files stay as they are)
 */
static void actor_loop(const char *db, bool race)
{
	sqlite3 *h = NULL;
	if (race)
		race_vfs_register();
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, race ? "waldo-race" : NULL) != SQLITE_OK)
		die("cannot open '%s': %s", db, h ? sqlite3_errmsg(h) : "?");
	sql(h, "PRAGMA wal_autocheckpoint=0; PRAGMA synchronous=OFF;");
	sqlite3_stmt *up = NULL;
	if (sqlite3_prepare_v2(h, "UPDATE t SET v = ? WHERE id = ?", -1, &up, NULL) != SQLITE_OK)
		die("prepare failed: %s", sqlite3_errmsg(h));
	char line[256], v1[64], v2[64], mode[32];
	long a, b, n, pad;
	while (actor_read(line, sizeof line)) {
		int nlog = -1, nckpt = -1;
		switch (line[0]) {
		case 'R':
			actor_reply("ok %lld", sql_int(h, "SELECT count(*) FROM t"));
			break;
		case 'U': {
			int k = sscanf(line + 1, "%ld %63s %ld %63s", &a, v1, &b, v2);
			if (k != 2 && k != 4)
				die("bad command '%s'", line);
			sql(h, "BEGIN IMMEDIATE");
			act_update(h, up, a, v1);
			if (k == 4)
				act_update(h, up, b, v2);
			sql(h, "COMMIT");
			actor_reply("ok");
			break;
		}
		case 'I':
			if (sscanf(line + 1, "%ld %ld %ld", &a, &n, &pad) != 3)
				die("bad command '%s'", line);
			sql(h, "BEGIN IMMEDIATE;"
			       "WITH RECURSIVE s(i) AS (SELECT %ld UNION ALL SELECT i+1 FROM s WHERE i<%ld)"
			       " INSERT INTO t SELECT i, printf('r%%04d-v%%06d', i, 0), zeroblob(%ld) FROM s;"
			       "COMMIT;", a, a + n - 1, pad);
			actor_reply("ok");
			break;
		case 'C':
			if (sscanf(line + 1, "%31s", mode) != 1)
				die("bad command '%s'", line);
			wl_checkpoint(h, mode);
			actor_reply("ok");
			break;
		case 'K':
			race_armed = 1;
			if (sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt) != SQLITE_OK)
				die("checkpoint failed: %s", sqlite3_errmsg(h));
			actor_reply("%s %d %d", race_armed ? "unblocked" : "ok", nlog, nckpt);
			race_armed = 0;
			break;
		case 'Q':
			if (sscanf(line + 1, "%ld", &a) != 1)
				die("bad command '%s'", line);
			act_query(h, a);
			break;
		case 'X':
			_exit(0);
		default:
			die("unknown command '%s'", line);
		}
	}
	_exit(0);
}

static void actor_start(struct gen *g, struct actor *a, const char *name, const char *db, bool race)
{
	int c[2], r[2];
	if (pipe(c) || pipe(r))
		die("pipe failed");
	uint64_t s = prng_next(&g->rng);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		close(c[1]);
		close(r[0]);
		cg_in_child = 1;
		prng_seed(&g->rng, s);
		det_vfs_reseed(s);
		actor_in = fdopen(c[0], "r");
		actor_out = fdopen(r[1], "w");
		if (!actor_in || !actor_out)
			_exit(1);
		actor_loop(db, race);
	}
	close(c[0]);
	close(r[1]);
	a->pid = pid;
	a->name = name;
	a->cmd = fdopen(c[1], "w");
	a->rep = fdopen(r[0], "r");
	if (!a->cmd || !a->rep)
		die("fdopen failed");
}

/* Send one command; the reply goes to `reply` (may be NULL).  Dies when the actor died. */
static void actor_send(struct actor *a, char *reply, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void actor_send(struct actor *a, char *reply, size_t n, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vfprintf(a->cmd, fmt, ap);
	va_end(ap);
	fputc('\n', a->cmd);
	fflush(a->cmd);
	if (!fgets(buf, sizeof buf, a->rep))
		die("actor %s died", a->name);
	buf[strcspn(buf, "\n")] = '\0';
	if (reply) {
		size_t k = strlen(buf) < n - 1 ? strlen(buf) : n - 1;
		memcpy(reply, buf, k);
		reply[k] = '\0';
	}
	else if (strcmp(buf, "ok"))
		die("actor %s: unexpected reply '%s'", a->name, buf);
}

static void actor_stop(struct actor *a)
{
	int st;
	fputs("X\n", a->cmd);
	fflush(a->cmd);
	fclose(a->cmd);
	fclose(a->rep);
	while (waitpid(a->pid, &st, 0) < 0)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("actor %s failed (status %d)", a->name, st);
}

/* ---- the schedule ----------------------------------------------------------------- */

enum race_variant {
	RV_BASIC = 0,      /* N = 40 single-page commits, a restart commit of 2 frames */
	RV_BIG,            /* N = 4100 > 4062: the stale second hash block wins (512-byte pages) */
	RV_SAME,           /* M = N: the restart commit grows the database by as many frames */
};

enum race_stage {
	RS_AFTER = 0,      /* right after B */
	RS_HIDDEN,         /* more commits, all inside frames M+1..N */
	RS_CAUGHT_UP,      /* more commits, up to frame N: nBackfill = mxFrame */
	RS_WINDOW,         /* more commits, past frame N */
	RS_WRAPPED,        /* caught up, then the next commit restarts the WAL: generation 3 */
};

#define RACE_MAXROWS 128
#define RACE_VLEN 32

struct race {
	struct gen *g;
	enum race_variant variant;
	enum race_stage stage;
	bool control;                  /* the same schedule, but B is never held */
	uint32_t ps, pad, nrows;
	char dir[CG_PATH_MAX], db[CG_PATH_MAX];
	struct actor b, w;
	uint32_t version;              /* commits made so far: the version in v */
	char committed[RACE_MAXROWS + 1][RACE_VLEN]; /* last value committed per row ("" untouched) */
	uint32_t n_old, m_restart;     /* N and M */
	uint32_t nlost;
	uint32_t lost_frame[RACE_MAXROWS], lost_page[RACE_MAXROWS];
};

static const char *race_value(struct race *r, long id)
{
	static char v[RACE_VLEN];
	snprintf(v, sizeof v, "r%04ld-v%06u", id % 10000, ++r->version % 1000000);
	return v;
}

/* One single-row transaction; its value is remembered. */
static void race_update(struct race *r, long id)
{
	const char *v = race_value(r, id);
	snprintf(r->committed[id], RACE_VLEN, "%s", v);
	actor_send(&r->w, NULL, 0, "U %ld %s", id, v);
}

static void race_update2(struct race *r, long a, long b)
{
	char va[RACE_VLEN], vb[RACE_VLEN];
	snprintf(va, sizeof va, "%s", race_value(r, a));
	snprintf(vb, sizeof vb, "%s", race_value(r, b));
	snprintf(r->committed[a], RACE_VLEN, "%s", va);
	snprintf(r->committed[b], RACE_VLEN, "%s", vb);
	actor_send(&r->w, NULL, 0, "U %ld %s %ld %s", a, va, b, vb);
}

struct shmhdr {
	uint32_t mx, nb, nba, rm1, salt1;
};

static void read_shm(const char *db, struct shmhdr *s)
{
	char p[CG_PATH_MAX];
	size_t n;
	uint8_t *b = file_read(pathf(p, "%s-shm", db), &n);
	if (n < SHMX_HDR)
		die("-shm too short");
	s->mx = shm_get32(b, SHMX_OFF_MXFRAME);
	s->nb = shm_get32(b, SHMX_OFF_BACKFILL);
	s->nba = shm_get32(b, SHMX_OFF_ATTEMPTED);
	s->rm1 = shm_get32(b, SHMX_OFF_READMARK + 4);
	s->salt1 = rd_be32(b + SHMX_OFF_SALT);
	free(b);
}

/* The base database: nrows rows, each alone on a page (closed: no WAL). */
static void setup_fn(struct gen *g, sqlite3 *h, void *arg)
{
	(void)g;
	struct race *r = arg;
	db_create(h, r->ps, 0, true);
	sql(h, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL, pad BLOB NOT NULL);"
	       "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<%u)"
	       " INSERT INTO t SELECT i, printf('r%%04d-v%%06d', i, 0), zeroblob(%u) FROM s;",
	    r->nrows, r->pad);
}

/*
 * RV_SAME needs the restart commit to write exactly as many frames as the
 * old generation: learn that number from the same commit on a copy.
 */
static void dry_fn(struct gen *g, sqlite3 *h, void *arg)
{
	(void)g;
	struct race *r = arg;
	int nlog = 0, nckpt = 0;
	sql(h, "BEGIN IMMEDIATE;"
	       "WITH RECURSIVE s(i) AS (SELECT %u UNION ALL SELECT i+1 FROM s WHERE i<%u)"
	       " INSERT INTO t SELECT i, printf('r%%04d-v%%06d', i, 0), zeroblob(%u) FROM s;"
	       "COMMIT;", r->nrows + 1, r->nrows + 8, r->pad);
	if (sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt) != SQLITE_OK)
		die("dry checkpoint failed");
	/* Tell the parent through a file: the session ran in a child. */
	char p[CG_PATH_MAX];
	char num[32];
	snprintf(num, sizeof num, "%d", nlog);
	file_write(pathf(p, "%s/dry-frames", r->dir), num, strlen(num));
}

static uint32_t dry_run_frames(struct gen *g, struct race *r)
{
	char dry[CG_PATH_MAX], p[CG_PATH_MAX];
	file_copy(r->db, pathf(dry, "%s/dry.db", r->dir));
	sess_run(g, dry, SESS_CRASH, dry_fn, r);
	size_t n;
	char *t = (char *)file_read(pathf(p, "%s/dry-frames", r->dir), &n);
	char num[32];
	snprintf(num, sizeof num, "%.*s", (int)(n < 31 ? n : 31), t);
	free(t);
	long v = strtol(num, NULL, 10);
	if (v < 3)
		die("the dry run wrote %ld frames", v);
	return (uint32_t)v;
}

/*
 * The old generation: N single-page commits, checkpointed completely by
 * the writer (nBackfill = mxFrame = N).  RV_BIG makes its last two commits
 * touch rows 1 and 2, so that their pages sit in the second hash block the
 * restart leaves stale.
 */
static void old_generation(struct race *r)
{
	for (uint32_t i = 1; i <= r->n_old; i++) {
		long id = 61 + (long)(i % 40);
		if (r->variant == RV_BIG && i > r->n_old - 2)
			id = (long)(i - (r->n_old - 2));
		race_update(r, id);
	}
	actor_send(&r->w, NULL, 0, "C FULL");
	struct shmhdr s;
	read_shm(r->db, &s);
	if (s.mx != r->n_old || s.nb != r->n_old)
		die("the old generation: mxFrame %u, nBackfill %u, expected %u", s.mx, s.nb, r->n_old);
}

/* Steps 2-4: B reads the header and is held; W restarts the WAL and commits M frames. */
static void the_race(struct race *r)
{
	char rep[128];
	struct shmhdr before, after;
	read_shm(r->db, &before);
	actor_send(&r->b, rep, sizeof rep, "K");
	if (strcmp(rep, "blocked"))
		die("checkpointer B did not reach the window (reply '%s')", rep);
	if (r->control) {
		/* The control: B's checkpoint runs to its end before the writer
		 * starts; nBackfill = mxFrame already, so it has nothing to do. */
		actor_send(&r->b, rep, sizeof rep, "go");
		if (strncmp(rep, "ok ", 3))
			die("checkpointer B: '%s'", rep);
	}
	if (r->variant == RV_SAME) {
		actor_send(&r->w, NULL, 0, "I %u 8 %u", r->nrows + 1, r->pad);
		for (uint32_t id = r->nrows + 1; id <= r->nrows + 8; id++)
			snprintf(r->committed[id], RACE_VLEN, "r%04u-v%06u", id, 0);
	} else {
		race_update2(r, 1, 2);
	}
	if (!r->control) {
		actor_send(&r->b, rep, sizeof rep, "go");
		if (strncmp(rep, "ok ", 3))
			die("checkpointer B: '%s'", rep);
	}
	read_shm(r->db, &after);
	if (after.salt1 != before.salt1 + 1)
		die("the writer did not restart the WAL (salt-1 %08x -> %08x)", before.salt1, after.salt1);
	r->m_restart = after.mx;
	if (r->control) {
		if (after.nb != 0)
			die("control: nBackfill %u after the restart", after.nb);
	} else if (after.nb != r->n_old || after.nba != r->n_old || after.rm1 != r->n_old) {
		die("the race did not happen: nBackfill %u, nBackfillAttempted %u, aReadMark[1] %u, "
		    "mxFrame %u (N = %u)", after.nb, after.nba, after.rm1, after.mx, r->n_old);
	}
	if (r->variant == RV_SAME ? after.mx != r->n_old : after.mx != 2)
		die("the restart commit wrote %u frames", after.mx);
}

static void copy_case_files(struct race *r)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char src[CG_PATH_MAX];
	for (int i = 0; i < 3; i++)
		file_copy(pathf(src, "%s%s", r->db, sfx[i]), i == 0 ? r->g->db : i == 1 ? r->g->wal : r->g->shm);
}

/* Last frame of the case's WAL whose page holds `v`; 0 if none. */
static uint32_t frame_holding(const uint8_t *wal, size_t n, uint32_t ps, const char *v, uint32_t *pgno)
{
	uint32_t found = 0;
	size_t len = strlen(v);
	for (uint32_t f = 1; wal_frame_off(ps, f) + 24 + ps <= n; f++) {
		const uint8_t *fr = wal + wal_frame_off(ps, f);
		if (memmem(fr + 24, ps, v, len)) {
			found = f;
			*pgno = rd_be32(fr);
		}
	}
	return found;
}

/*
 * Ask the live connection B for every row the writer changed; list the
 * updates it does not see with the frame (in the case's WAL) that holds
 * the lost version.
 */
static void count_lost(struct race *r)
{
	char rep[128], line[160];
	size_t n;
	uint8_t *wal = file_read(r->g->wal, &n);
	FILE *f = fopen(case_path(r->g, "lost-updates.txt"), "w");
	if (!f)
		die("cannot write lost-updates.txt");
	fprintf(f, "# waldo corpus: committed updates a live connection no longer sees after the WAL-reset race\n"
		   "# row value frame page (frame: the WAL frame of this case holding the lost version)\n");
	r->nlost = 0;
	for (uint32_t id = 1; id <= RACE_MAXROWS; id++) {
		if (!r->committed[id][0])
			continue;
		actor_send(&r->b, rep, sizeof rep, "Q %u", id);
		if (!strncmp(rep, "ok ", 3) && !strcmp(rep + 3, r->committed[id]))
			continue;
		uint32_t pgno = 0, fr = frame_holding(wal, n, r->ps, r->committed[id], &pgno);
		if (!fr)
			die("row %u: the lost version %s is in no frame", id, r->committed[id]);
		snprintf(line, sizeof line, "%u %s %u %u\n", id, r->committed[id], fr, pgno);
		fputs(line, f);
		r->lost_frame[r->nlost] = fr;
		r->lost_page[r->nlost] = pgno;
		r->nlost++;
	}
	free(wal);
	if (fclose(f))
		die("cannot write lost-updates.txt");
}

/*
 * The reference repair.  While the lost versions are frames of the current
 * generation, SQLite itself shows them again once it rebuilds the -shm (no
 * process may have the database open): the repair is the files without the
 * -shm.  After the WAL wrapped, they are frames of the previous generation
 * that SQLite never reads again: the repair writes each lost version into
 * the database file, which is what `waldo extract --race` produces.
 */
static void race_repair(struct race *r)
{
	char p[CG_PATH_MAX];
	if (r->stage != RS_WRAPPED) {
		const char *d = gen_repair_dir(r->g, "SQLite rebuilds the -shm from the WAL when no process has the "
					       "database open: every committed frame is visible again");
		file_remove(pathf(p, "%s/db-shm", d));
		return;
	}
	const char *d = gen_repair_dir(r->g, "the %u lost versions are frames of the previous WAL generation, which "
				       "SQLite never reads again: written into the database file (what `waldo extract "
				       "--race` gives)", r->nlost);
	file_remove(pathf(p, "%s/db-shm", d));
	size_t n;
	uint8_t *wal = file_read(r->g->wal, &n);
	pathf(p, "%s/db", d);
	for (uint32_t i = 0; i < r->nlost; i++)
		page_write(p, r->ps, r->lost_page[i], wal + wal_frame_off(r->ps, r->lost_frame[i]) + 24);
	free(wal);
}

/* Run the schedule up to `stage`, copy the files, count what is lost. */
static void race_run(struct gen *g, enum race_variant variant, enum race_stage stage, bool control)
{
	struct race *r = calloc(1, sizeof *r);
	if (!r)
		die("out of memory");
	r->g = g;
	r->variant = variant;
	r->stage = stage;
	r->control = control;
	r->ps = variant == RV_BIG ? 512 : 1024;
	r->pad = variant == RV_BIG ? 300 : 600;
	r->nrows = 100;
	r->n_old = variant == RV_BIG ? 4100 : 40;
	pathf(r->dir, "%s/live", g->work);
	dir_make(r->dir);
	pathf(r->db, "%s/db", r->dir);

	sess_run(g, r->db, SESS_CLOSE, setup_fn, r);
	if (variant == RV_SAME)
		r->n_old = dry_run_frames(g, r);
	/* B first: it opens the WAL and caches the (empty) header. */
	char rep[64];
	actor_start(g, &r->b, "B", r->db, true);
	actor_send(&r->b, rep, sizeof rep, "R");
	if (strncmp(rep, "ok ", 3))
		die("checkpointer B cannot read: '%s'", rep);
	actor_start(g, &r->w, "W", r->db, false);
	old_generation(r);
	the_race(r);

	if (stage == RS_HIDDEN) {
		for (long id = 3; id <= 22; id++)
			race_update(r, id);
	} else if (stage == RS_CAUGHT_UP || stage == RS_WRAPPED) {
		/* Single-page commits up to frame N: mxFrame reaches nBackfill. */
		for (long id = 3; id <= 40; id++)
			race_update(r, id);
	} else if (stage == RS_WINDOW) {
		/* A two-page commit jumps over frame N (at N the writer would
		 * restart the WAL instead: nBackfill = mxFrame). */
		for (long id = 3; id <= 39; id++)
			race_update(r, id);
		race_update2(r, 40, 41);
		for (long id = 42; id <= 52; id++)
			race_update(r, id);
	}
	if (stage == RS_WRAPPED) {
		/* In the race nBackfill = mxFrame already and this copies nothing;
		 * in the control it completes the checkpoint.  Either way the next
		 * commit restarts the WAL. */
		actor_send(&r->w, NULL, 0, "C FULL");
		race_update(r, 55);
		struct shmhdr s;
		read_shm(r->db, &s);
		if (s.mx != 1)
			die("the third generation has %u frames", s.mx);
	}
	copy_case_files(r);
	count_lost(r);
	if (!control)
		race_repair(r);
	actor_stop(&r->b);
	actor_stop(&r->w);
	struct shmhdr s;
	read_shm(g->db, &s);
	snprintf(g->note, sizeof g->note,
		 "%s: N = %u frames checkpointed, restart commit of M = %u frames; -shm now mxFrame %u, "
		 "nBackfill %u, nBackfillAttempted %u, aReadMark[1] %u; %u lost updates (lost-updates.txt)",
		 control ? "control run, B never held" : "B held in the race window", r->n_old,
		 r->m_restart, s.mx, s.nb, s.nba, s.rm1, r->nlost);
	if (control && r->nlost)
		die("the control run lost %u updates", r->nlost);
	free(r);
}

/* ---- scenarios ---------------------------------------------------------------------- */

static void race_expect(struct gen *g)
{
	expect_must(g, "WAL_RESET_RACE");
	must_not_db(g);
	expect_intact(g, INTACT_DBSIZE | INTACT_WAL | INTACT_OTHER);
	expect_must_not(g, "SHM_HEADER_INVALID");
	expect_must_not(g, "SHM_HEADER_MISMATCH");
	expect_must_not(g, "SHM_STALE");
	expect_must_not(g, "SHM_INDEX_MISMATCH");
	expect_must_not(g, "SHM_FOREIGN_ENDIAN");
	g->exit_status = 2;
	g->want_opens = 1;
	g->want_integrity_ok = 1;
}

void b_race_after_ckpt(struct gen *g)
{
	race_run(g, RV_BASIC, RS_AFTER, false);
	race_expect(g);
	expect_must(g, "SHM_BACKFILL_INVALID");
	expect_must(g, "SHM_READMARK_INVALID");
}

void b_race_hidden(struct gen *g)
{
	race_run(g, RV_BASIC, RS_HIDDEN, false);
	race_expect(g);
	expect_must(g, "SHM_BACKFILL_INVALID");
}

void b_race_caught_up(struct gen *g)
{
	race_run(g, RV_BASIC, RS_CAUGHT_UP, false);
	race_expect(g);
	expect_must(g, "SHM_BACKFILL_INVALID");
	expect_must_not(g, "SHM_READMARK_INVALID");
}

void b_race_window(struct gen *g)
{
	race_run(g, RV_BASIC, RS_WINDOW, false);
	race_expect(g);
	expect_must(g, "SHM_BACKFILL_INVALID");
	expect_must_not(g, "SHM_READMARK_INVALID");
}

void b_race_wrapped(struct gen *g)
{
	race_run(g, RV_BASIC, RS_WRAPPED, false);
	race_expect(g);
	expect_must(g, "WAL_STALE_FRAMES");
	expect_must_not(g, "SHM_BACKFILL_INVALID");
	expect_must_not(g, "SHM_READMARK_INVALID");
}

void b_race_big(struct gen *g)
{
	race_run(g, RV_BIG, RS_AFTER, false);
	race_expect(g);
	expect_must(g, "SHM_BACKFILL_INVALID");
}

void b_race_same_size(struct gen *g)
{
	race_run(g, RV_SAME, RS_AFTER, false);
	race_expect(g);
}

void b_race_control_window(struct gen *g)
{
	race_run(g, RV_BASIC, RS_WINDOW, true);
	expect_healthy(g);
}

void b_race_control_wrapped(struct gen *g)
{
	race_run(g, RV_BASIC, RS_WRAPPED, true);
	expect_healthy(g);
	expect_must(g, "WAL_STALE_FRAMES");
}
