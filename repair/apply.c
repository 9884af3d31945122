/* apply.c — carrying out a plan; see apply.h. */
#include "apply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "undo.h"
#include "walsynth.h"
#include "../inspect/atomic.h"
#include "../inspect/cmd.h"

#define DIFF_BLOCK 512u   /* granularity of the undo regions */

/* ---- the sink: write, hash, and compare with the original ---- */

static void add_region(struct rp_sink *s, uint64_t off, uint64_t len)
{
	if (s->nreg) {
		struct undo_region *l = &s->reg[s->nreg - 1];
		if (l->off + l->len >= off) {
			if (off + len > l->off + l->len)
				l->len = off + len - l->off;
			return;
		}
	}
	if (s->nreg == s->cap) {
		uint64_t cap = s->cap ? s->cap * 2 : 64;
		struct undo_region *v = realloc(s->reg, (size_t)cap * sizeof *v);
		if (!v) {
			s->bad = true;
			errno = ENOMEM;
			return;
		}
		s->reg = v;
		s->cap = cap;
	}
	s->reg[s->nreg].off = off;
	s->reg[s->nreg].len = len;
	s->nreg++;
}

static int sink_begin(struct rp_sink *s, int fd, const uint8_t *orig, uint64_t orig_size)
{
	memset(s, 0, sizeof *s);
	s->fd = fd;
	s->orig = orig;
	s->orig_size = orig ? orig_size : 0;
	if (fd >= 0 && !(s->buf = malloc(RIO_CHUNK)))
		return -1;
	return rio_sha_begin(&s->sha);
}

static void sink_flush(struct rp_sink *s)
{
	if (s->nbuf && !s->bad && rio_write_all(s->fd, s->buf, s->nbuf)) {
		s->bad = true;
		s->eno = errno;      /* what free() and the hash may overwrite */
	}
	s->nbuf = 0;
}

void rp_sink_write(struct rp_sink *s, const void *data, size_t n)
{
	if (s->bad || !n)
		return;
	const uint8_t *p = data;
	rio_sha_update(&s->sha, p, n);
	uint64_t off = s->off;
	if (s->orig && off < s->orig_size) {
		uint64_t lim = off + n < s->orig_size ? off + n : s->orig_size;
		for (uint64_t o = off; o < lim;) {
			uint64_t e = (o / DIFF_BLOCK + 1) * DIFF_BLOCK;
			if (e > lim)
				e = lim;
			if (memcmp(p + (o - off), s->orig + o, (size_t)(e - o)))
				add_region(s, o, e - o);
			o = e;
		}
	}
	s->off += n;
	if (s->fd < 0)
		return;
	while (n && !s->bad) {
		size_t part = RIO_CHUNK - s->nbuf < n ? RIO_CHUNK - s->nbuf : n;
		memcpy(s->buf + s->nbuf, p, part);
		s->nbuf += part;
		p += part;
		n -= part;
		if (s->nbuf == RIO_CHUNK)
			sink_flush(s);
	}
}

/* Flush, record the cut-off tail, and finish the hash.  0 or -1. */
static int sink_end(struct rp_sink *s, uint8_t sha[RIO_SHA])
{
	if (s->fd >= 0)
		sink_flush(s);
	if (s->orig && s->orig_size > s->off)
		add_region(s, s->off, s->orig_size - s->off);
	int rc = rio_sha_end(&s->sha, sha);
	free(s->buf);
	s->buf = NULL;
	return rc || s->bad ? -1 : 0;
}

/* ---- staging one file ---- */

enum stage_kind { ST_KEEP = 0, ST_WRITE, ST_REMOVE, ST_PREDICT };

struct stage {
	enum rp_file f;
	enum stage_kind kind;
	const struct wf_file *orig;
	bool orig_present;
	uint32_t mode;
	uint8_t orig_sha[RIO_SHA];
	char target[4200];
	struct atomic_out a;
	bool have_tmp;
	struct rp_sink s;            /* regions kept after sink_end */
	bool new_present;
	uint64_t new_size;
	uint8_t new_sha[RIO_SHA];
	struct undo_region whole;    /* the whole original, for removed and volatile files */
};

static void stage_free(struct stage *st)
{
	if (st->have_tmp)
		atomic_abort(&st->a);
	st->have_tmp = false;
	free(st->s.reg);
	free(st->s.buf);
	memset(&st->s, 0, sizeof st->s);
}

/* Copy the original's first `size` bytes with the patches laid over them. */
static void copy_patched(const struct wf_file *orig, const struct rp_fout *fo, uint64_t size, struct rp_sink *s)
{
	uint8_t *buf = malloc(RIO_CHUNK);
	if (!buf) {
		s->bad = true;
		return;
	}
	for (uint64_t off = 0; off < size && !s->bad;) {
		size_t part = size - off > RIO_CHUNK ? RIO_CHUNK : (size_t)(size - off);
		memcpy(buf, orig->data + off, part);
		for (int i = 0; fo && i < fo->npatch; i++) {
			const struct rp_patch *pt = &fo->patch[i];
			for (uint32_t j = 0; j < pt->len; j++)
				if (pt->off + j >= off && pt->off + j < off + part)
					buf[pt->off + j - off] = pt->b[j];
		}
		rp_sink_write(s, buf, part);
		off += part;
	}
	free(buf);
}

/*
 * Make file f's new content: a temporary file beside `target` (or only a
 * prediction, or nothing).  `copy`: a file the plan keeps is copied too
 * (-o); `diff`: regions against the original are recorded (in place).
 */
static int stage_build(struct rp_plan *p, struct stage *st, const char *target, bool copy, bool diff,
		       bool replace, char *err, size_t errlen)
{
	const struct rp_fout *fo = &p->fout[st->f];
	snprintf(st->target, sizeof st->target, "%s", target);
	st->new_present = st->orig_present;
	st->new_size = st->orig_present ? st->orig->size : 0;
	memcpy(st->new_sha, st->orig_sha, RIO_SHA);
	enum rp_fmode mode = fo->mode;
	if (mode == RP_FM_GEN && fo->by_sqlite && copy)
		mode = RP_FM_KEEP;       /* -o: copy now, SQLite checkpoints the copy later */
	if (mode == RP_FM_KEEP) {
		if (!copy || !st->orig_present) {
			st->kind = ST_KEEP;
			return 0;
		}
	}
	if (mode == RP_FM_DELETE) {
		st->kind = ST_REMOVE;
		st->new_present = false;
		st->new_size = 0;
		memset(st->new_sha, 0, RIO_SHA);
		return 0;
	}
	const uint8_t *orig = diff && st->orig_present ? st->orig->data : NULL;
	uint64_t osize = st->orig_present ? st->orig->size : 0;
	if (mode == RP_FM_GEN && fo->by_sqlite) {
		st->kind = ST_PREDICT;
		if (sink_begin(&st->s, -1, orig, osize) || fo->gen(p, &st->s, err, errlen) ||
		    sink_end(&st->s, st->new_sha)) {
			if (!err[0])
				snprintf(err, errlen, "cannot predict the new '%s'", target);
			return -1;
		}
		st->new_present = true;
		st->new_size = st->s.off;
		return 0;
	}
	st->kind = ST_WRITE;
	if (atomic_prepare(&st->a, target, replace, err, errlen) != ATOMIC_OK)
		return -1;
	st->have_tmp = true;
	mode_t perm = st->orig_present ? (mode_t)st->mode : 0644;
	/* As root, the new file keeps the old one's owner (best effort). */
	bool own = st->orig_present && geteuid() == 0;
	if (mode == RP_FM_GEN && fo->gen_path) {
		/* A writer that creates the file itself: hash and compare what it wrote. */
		if (fo->gen_path(p, st->a.tmp, err, errlen))
			return -1;
		rio_step("write by path");
		chmod(st->a.tmp, perm);
		if (own && chown(st->a.tmp, st->orig->st.st_uid, st->orig->st.st_gid))
			own = false;   /* not fatal: the new file keeps our owner */
		struct wf_file w;
		char e2[512];
		if (wf_open(&w, st->a.tmp, e2, sizeof e2) != 0) {
			snprintf(err, errlen, "cannot read back '%.500s': %.300s", st->a.tmp, e2);
			wf_close(&w);
			return -1;
		}
		int rc = sink_begin(&st->s, -1, orig, osize);
		rp_sink_write(&st->s, w.data, (size_t)w.size);
		if (sink_end(&st->s, st->new_sha))
			rc = -1;
		wf_close(&w);
		if (rc) {
			snprintf(err, errlen, "cannot hash '%.600s'", st->a.tmp);
			return -1;
		}
	} else {
		if (atomic_open(&st->a, err, errlen) < 0)
			return -1;
		fchmod(st->a.fd, perm);
		if (own && fchown(st->a.fd, st->orig->st.st_uid, st->orig->st.st_gid))
			own = false;   /* not fatal: the new file keeps our owner */
		if (sink_begin(&st->s, st->a.fd, orig, osize)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (mode == RP_FM_GEN) {
			if (fo->gen(p, &st->s, err, errlen))
				st->s.bad = true;
		} else {
			copy_patched(st->orig, mode == RP_FM_EDIT ? fo : NULL, mode == RP_FM_EDIT ? fo->size : osize,
				     &st->s);
		}
		int e = errno;
		if (sink_end(&st->s, st->new_sha)) {
			if (st->s.eno)
				e = st->s.eno;
			if (!err[0])
				snprintf(err, errlen, "cannot write '%.600s': %s", st->a.tmp, strerror(e));
			return -1;
		}
	}
	st->new_present = true;
	st->new_size = st->s.off;
	return 0;
}

static void stage_init(struct rp_plan *p, struct stage *st, enum rp_file f)
{
	memset(st, 0, sizeof *st);
	st->f = f;
	const struct wf_file *w[RP_NFILES] = { &p->m->files.db, &p->m->files.wal, &p->m->files.shm };
	st->orig = w[f];
	st->orig_present = w[f]->present;
	st->mode = st->orig_present ? (uint32_t)(w[f]->st.st_mode & 07777) : 0644;
	if (st->orig_present)
		rio_sha256(w[f]->data, (size_t)w[f]->size, st->orig_sha);
}

static const char *what_of(const struct stage *st)
{
	if (st->kind == ST_REMOVE)
		return st->orig_present ? "removed" : "kept";
	if (st->kind == ST_WRITE || st->kind == ST_PREDICT)
		return st->orig_present ? "written" : "created";
	return "kept";
}

static void outcome_file(struct rp_outcome *o, const struct stage *st, const char *path)
{
	snprintf(o->file[st->f].path, sizeof o->file[st->f].path, "%s", path);
	o->file[st->f].what = what_of(st);
	o->file[st->f].present = st->new_present;
	o->file[st->f].size = st->new_size;
	memcpy(o->file[st->f].sha, st->new_sha, RIO_SHA);
}

/* Remove files SQLite created while verifying (an empty -wal, a -shm) that the result does not have. */
static void remove_artifacts(const char *wal, bool wal_before, const char *shm, bool shm_before)
{
	char e[4400];
	struct stat s;
	/* The result is synced already: a failure here (a folder fsync's EIO) is
	 * reported, not fatal; SQLite ignores a stale empty -wal or a -shm. */
	if (!wal_before && !stat(wal, &s) && s.st_size == 0 && rio_unlink(wal, e, sizeof e))
		fprintf(stderr, "waldo: warning: %s (tidying up after the verification)\n", e);
	if (!shm_before && !stat(shm, &s) && rio_unlink(shm, e, sizeof e))
		fprintf(stderr, "waldo: warning: %s (tidying up after the verification)\n", e);
}

static bool exists(const char *path)
{
	struct stat s;
	return lstat(path, &s) == 0;
}

/* ---- -o ---- */

static bool is_input(const struct rp_plan *p, const char *path)
{
	const struct wf_file *f[4] = { &p->m->files.db, &p->m->files.wal, &p->m->files.shm, &p->m->files.journal };
	for (int i = 0; i < 4; i++)
		if (f[i]->path && atomic_same_file(path, f[i]->path))
			return true;
	return false;
}

int rp_apply_copy(struct rp_plan *p, const char *out, bool force, struct rp_outcome *o)
{
	memset(o, 0, sizeof *o);
	char wal[4200], shm[4200], jrnl[4200];
	snprintf(wal, sizeof wal, "%s-wal", out);
	snprintf(shm, sizeof shm, "%s-shm", out);
	snprintf(jrnl, sizeof jrnl, "%s-journal", out);
	if (is_input(p, out) || is_input(p, wal)) {
		snprintf(o->msg, sizeof o->msg, "'%s' is one of the inputs (or their sibling): use --in-place "
			 "to repair the files themselves", out);
		return EXIT_CANTCREAT;
	}
	const char *stale[3] = { wal, shm, jrnl };
	for (int i = 0; i < 3 && !force; i++)
		if (exists(stale[i])) {
			snprintf(o->msg, sizeof o->msg, "'%s' exists: SQLite would pair it with the new '%s' "
				 "(use --force to remove it)", stale[i], out);
			return EXIT_CANTCREAT;
		}
	if (!force && exists(out)) {
		snprintf(o->msg, sizeof o->msg, "'%s' exists; refusing to overwrite it (use --force)", out);
		return EXIT_CANTCREAT;
	}
	struct stage st[2];
	stage_init(p, &st[0], RP_WAL);
	stage_init(p, &st[1], RP_DB);
	char err[1024] = "";
	int status = 0;
	for (int i = 0; i < 2 && !status; i++)
		if (stage_build(p, &st[i], i ? out : wal, true, false, force, err, sizeof err))
			status = EXIT_CANTCREAT;
	/* Stale siblings of OUT go first (only with --force), then the WAL, the database last:
	 * the database's name appearing is what makes the copy whole. */
	for (int i = 0; i < 3 && !status; i++)
		if (exists(stale[i]) && !(i == 0 && st[0].kind == ST_WRITE) && rio_unlink(stale[i], err, sizeof err))
			status = EXIT_CANTCREAT;
	bool published[2] = { false, false };
	for (int i = 0; i < 2 && !status; i++) {
		if (st[i].kind != ST_WRITE)
			continue;
		if (rio_commit(&st[i].a, err, sizeof err) != ATOMIC_OK)
			status = EXIT_CANTCREAT;
		else
			st[i].have_tmp = false;
		published[i] = !st[i].a.tmp[0];  /* renamed (its folder maybe not synced) */
	}
	if (status) {
		snprintf(o->msg, sizeof o->msg, "%.1000s", err);
		/* No half copy: what already has its name goes again (the WAL without its database). */
		for (int i = 0; i < 2; i++)
			if (published[i]) {
				st[i].have_tmp = false;
				rio_unlink(i ? out : wal, err, sizeof err);
			}
		for (int i = 0; i < 2; i++)
			stage_free(&st[i]);
		return status;
	}
	o->written = true;
	outcome_file(o, &st[1], out);
	outcome_file(o, &st[0], wal);
	if (st[0].kind == ST_KEEP || st[0].kind == ST_REMOVE) {
		o->file[RP_WAL].what = st[0].orig_present ? "left out" : "none";
		o->file[RP_WAL].present = false;
	}
	o->file[RP_SHM].what = "none";
	snprintf(o->file[RP_SHM].path, sizeof o->file[RP_SHM].path, "%s", shm);
	for (int i = 0; i < 2; i++)
		stage_free(&st[i]);

	bool wal_before = exists(wal);
	if (p->o->apply && p->fout[RP_DB].by_sqlite) {
		if (walsynth_apply(out, o->msg, sizeof o->msg))
			goto failed;
		o->applied = true;
		wal_before = exists(wal);
		if (!wal_before) {
			o->file[RP_WAL].what = "applied by SQLite and removed";
			o->file[RP_WAL].present = false;
		}
	}
	o->verified = true;
	rp_verify_result(p, out, &o->v);
	remove_artifacts(wal, wal_before, shm, false);
	if (o->v.ok)
		return 0;
	snprintf(o->msg, sizeof o->msg, "the repaired copy fails verification: %s", o->v.err[0] ? o->v.err
		 : !o->v.hashes_ok ? "its pages are not the expected ones" : o->v.integrity_msg);
failed:
	rio_unlink(out, err, sizeof err);
	rio_unlink(wal, err, sizeof err);
	rio_unlink(shm, err, sizeof err);
	o->restored = true;
	return EXIT_ERRORS;
}

/* ---- in place ---- */

void rp_undo_name(const char *db_path, char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	char ts[32];
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(buf, n, "%s.waldo-undo-%s", db_path, ts);
	for (int i = 2; exists(buf) && i < 1000; i++)
		snprintf(buf, n, "%s.waldo-undo-%s-%d", db_path, ts, i);
}

static int lock_tmp(void *ctx, const char *tmp)
{
	char e[256];
	return lockx_add_db(ctx, tmp, e, sizeof e);
}

/* Put the original back from the undo file (the locks are taken here). */
static bool restore_from_undo(const char *undo, const char *db, const char *shm, struct rp_outcome *o)
{
	char pids[512], err[1024];
	int rc = lockx_probe(db, pids, sizeof pids, err, sizeof err);
	if (rc) {
		snprintf(o->msg + strlen(o->msg), sizeof o->msg - strlen(o->msg),
			 "; cannot restore now (%s): run 'waldo undo %s'", rc > 0 ? pids : err, undo);
		return false;
	}
	struct lockx lk;
	lockx_init(&lk);
	if (lockx_take(&lk, db, shm, err, sizeof err)) {
		snprintf(o->msg + strlen(o->msg), sizeof o->msg - strlen(o->msg),
			 "; cannot restore now (%s): run 'waldo undo %s'", err, undo);
		return false;
	}
	struct undo_doc u;
	struct undo_result res;
	rc = undo_open(&u, undo, err, sizeof err);
	if (!rc)
		rc = undo_restore(&u, false, lock_tmp, &lk, &res, err, sizeof err);
	undo_close(&u);
	lockx_release(&lk);
	if (rc) {
		snprintf(o->msg + strlen(o->msg), sizeof o->msg - strlen(o->msg),
			 "; restoring failed (%.300s): run 'waldo undo %s'", err, undo);
		return false;
	}
	rio_unlink(undo, err, sizeof err);
	return true;
}

int rp_apply_in_place(struct rp_plan *p, struct lockx *lk, struct rp_outcome *o)
{
	memset(o, 0, sizeof *o);
	const char *db = p->m->files.db.path;
	char wal[4200], shm[4200], err[1024] = "";
	snprintf(wal, sizeof wal, "%s-wal", db);
	snprintf(shm, sizeof shm, "%s-shm", db);
	const char *target[RP_NFILES] = { db, wal, shm };
	struct stage st[RP_NFILES];
	int status = 0;
	for (int f = 0; f < RP_NFILES; f++)
		stage_init(p, &st[f], (enum rp_file)f);
	for (int f = 0; f < RP_NFILES && !status; f++)
		if (stage_build(p, &st[f], target[f], false, true, true, err, sizeof err))
			status = EXIT_CANTCREAT;

	/* The undo file: every file, in restore order (-wal, database, -shm). */
	if (!status) {
		static const enum rp_file order[RP_NFILES] = { RP_WAL, RP_DB, RP_SHM };
		struct undo_rec r[RP_NFILES];
		memset(r, 0, sizeof r);
		char note[512];
		size_t k = (size_t)snprintf(note, sizeof note, "waldo %s %s:", WALDO_VERSION,
					    p->o->command ? p->o->command : "repair --in-place");
		for (size_t i = 0; i < p->nprop; i++)
			if (p->prop[i].status == RP_ST_APPLY && k < sizeof note)
				k += (size_t)snprintf(note + k, sizeof note - k, " %s", p->prop[i].act->name);
		for (int i = 0; i < RP_NFILES; i++) {
			struct stage *s = &st[order[i]];
			struct undo_rec *u = &r[i];
			snprintf(u->name, sizeof u->name, "%s", rio_basename(target[s->f]));
			u->role = (uint8_t)s->f;
			u->flags = (uint8_t)((s->orig_present ? UNDO_ORIG_PRESENT : 0) |
					     (s->new_present ? UNDO_NEW_PRESENT : 0));
			bool vol = s->f == RP_SHM || (s->f == RP_WAL && p->fout[RP_DB].by_sqlite);
			if (vol)
				u->flags |= UNDO_VOLATILE;
			u->mode = s->mode;
			u->orig_size = s->orig_present ? s->orig->size : 0;
			memcpy(u->orig_sha, s->orig_sha, RIO_SHA);
			u->new_size = s->new_size;
			memcpy(u->new_sha, s->new_sha, RIO_SHA);
			u->orig_data = s->orig_present ? s->orig->data : NULL;
			if (s->orig_present && s->orig->size && (vol || s->kind == ST_REMOVE)) {
				s->whole.off = 0;
				s->whole.len = s->orig->size;
				u->reg = &s->whole;
				u->nreg = 1;
			} else if (s->kind == ST_WRITE || s->kind == ST_PREDICT) {
				u->reg = s->s.reg;
				u->nreg = s->s.nreg;
			}
		}
		rp_undo_name(db, o->undo, sizeof o->undo);
		if (undo_write(o->undo, note, r, RP_NFILES, err, sizeof err)) {
			status = EXIT_CANTCREAT;
			o->undo[0] = '\0';
		}
	}

	/* Publish: -shm, database, -wal. */
	static const enum rp_file commit[RP_NFILES] = { RP_SHM, RP_DB, RP_WAL };
	for (int i = 0; i < RP_NFILES && !status; i++) {
		struct stage *s = &st[commit[i]];
		bool done = false;           /* the change is made, whether or not it was synced */
		if (s->kind == ST_REMOVE && s->orig_present) {
			if (rio_unlink(s->target, err, sizeof err))
				status = EXIT_CANTCREAT;
			done = !exists(s->target);
		} else if (s->kind == ST_WRITE) {
			if (s->f == RP_DB && lockx_add_db(lk, s->a.tmp, err, sizeof err))
				status = EXIT_CANTCREAT;
			else if (rio_commit(&s->a, err, sizeof err) != ATOMIC_OK)
				status = EXIT_CANTCREAT;
			if (!s->a.tmp[0])
				s->have_tmp = false;
			done = !s->a.tmp[0];
		}
		if (done)
			o->written = true;
	}
	for (int f = 0; f < RP_NFILES; f++) {
		if (o->written)
			outcome_file(o, &st[f], target[f]);
		stage_free(&st[f]);
	}
	lockx_release(lk);
	if (status) {
		snprintf(o->msg, sizeof o->msg, "%.900s", err);
		if (o->written && o->undo[0]) {
			/* A rename, unlink or sync failed half way (a failing disk: EIO): stop
			 * there rather than write more onto it.  Every state in between reads
			 * as the original or the repaired one; the undo file goes back. */
			size_t k = strlen(o->msg);
			snprintf(o->msg + k, sizeof o->msg - k, "; stopped half way: durability of the repaired files "
				 "unknown; 'waldo undo %.600s' restores the original", o->undo);
		} else if (o->undo[0]) {
			rio_unlink(o->undo, err, sizeof err);
			o->undo[0] = '\0';
		}
		return status;
	}

	/* With the locks gone: SQLite's own checkpoint, then the verification. */
	bool wal_before = exists(wal), shm_before = exists(shm);
	if (p->o->apply && p->fout[RP_DB].by_sqlite) {
		if (walsynth_apply(db, o->msg, sizeof o->msg)) {
			o->restored = restore_from_undo(o->undo, db, shm, o);
			return EXIT_ERRORS;
		}
		o->applied = true;
		wal_before = exists(wal);
		shm_before = exists(shm);
		if (!wal_before) {
			o->file[RP_WAL].what = "applied by SQLite and removed";
			o->file[RP_WAL].present = false;
		}
	}
	o->verified = true;
	rp_verify_result(p, db, &o->v);
	/* Tidy what the read-only verification created, while nobody else has the database open. */
	char pids[256];
	if ((!wal_before || !shm_before) && lockx_probe(db, pids, sizeof pids, err, sizeof err) == 0) {
		struct lockx tl;
		lockx_init(&tl);
		if (!lockx_take(&tl, db, NULL, err, sizeof err)) {
			remove_artifacts(wal, wal_before, shm, shm_before);
			lockx_release(&tl);
		}
	}
	if (o->v.ok)
		return 0;
	snprintf(o->msg, sizeof o->msg, "the repaired database fails verification: %.600s",
		 o->v.err[0] ? o->v.err : !o->v.hashes_ok ? "its pages are not the expected ones" : o->v.integrity_msg);
	o->restored = restore_from_undo(o->undo, db, shm, o);
	return EXIT_ERRORS;
}
