/*
 * scan.c — `waldo scan`: the worker pool, the analysis of each database,
 * the grouping of archive members, and the output.  Reference:
 * docs/scan.md.
 *
 * Work comes in units (scan_walk.c): a database's files on disk, an
 * archive, a WAL series, or a problem found while walking.  Units are
 * sorted by path, deduplicated and sharded before any work starts; N
 * workers take them in that order.  An archive is read by one worker as a
 * stream; the databases it finds become group tasks on a queue that every
 * worker serves before starting a new unit, so one large archive keeps all
 * cores busy.
 *
 * Memory.  Files on disk are mapped, never copied.  Member data that has
 * to be inflated lives in heap buffers: at most max_member bytes per file
 * (bigger members are reported as ARCHIVE_LIMIT and skipped), and all such
 * buffers together are held to the budget max_memory.  A reader that needs
 * memory the budget does not have analyses queued groups itself, waits for
 * other workers to release memory, and only then hands its own oldest
 * pending group to the queue (see reserve); when every worker is waiting,
 * one goes over the budget rather than deadlock (by at most one member).
 * Peak memory is therefore about max_memory plus, per worker, the model
 * and SQLite's work on one database, whatever the size of the archives.
 *
 * Archive members are paired by name like files in a folder.  Members of
 * one database may lie far apart in a tar, so a database stays pending
 * until its -wal and -shm arrived, the archive ended, or memory ran short
 * (then it is analysed with what has arrived, and a later sibling is
 * analysed on its own).  Members whose content is not recognised are
 * remembered (name, size, first 512 bytes) for the last MARKERS members, so
 * that a NAME-wal can still be paired with an empty or damaged NAME.
 *
 * Files that change while mapped: every mapping is registered with the
 * SIGBUS guard of inspect/files.c (wf_guard_add), so a file cut short under
 * it reads as zeros from the faulting page on instead of ending the
 * process, wherever the read happens (the model, the checks, the report).
 * The analysis goes on and the record gets SCAN_INPUT_CHANGED (an error,
 * naming the file); size, inode, mtime and ctime are compared before and
 * after the analysis too (a warning).  The guard has WF_GUARDS slots for
 * the whole process: workers take SCAN_GUARDS of them as tokens, all a
 * group needs at once, before mapping (guard_take), so that a slot is free
 * for every mapping however many workers run.
 *
 * Everything SQLite or materialize writes goes to one private temporary
 * folder, removed at the end.
 */
#include "scan.h"
#include "scan_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checks.h"
#include "files.h"
#include "json.h"
#include "materialize.h"
#include "model.h"
#include "report.h"
#include "scan_archive.h"
#include "scan_chain.h"
#include "../formats/bytes.h"

#define MARKERS 1024              /* unrecognised members remembered for pairing */
#define MARKER_HEAD SA_BLOCK
#define MEMORY_FLOOR (1ull << 30) /* default budget: at least 1 GiB ... */
#define MEMORY_MEMBERS 4          /* ... and at least 4 members */
#define GROW_START (1u << 20)     /* first buffer for an inflated file of unknown size */
#define SCAN_GUARDS 48            /* of files.c's WF_GUARDS (64) slots: mappings at once */

static const uint8_t empty_byte[1];

void (*scan_test_after_map)(const char *path);

/* ---------------------------------------------------------------- options */

void scan_opts_default(struct scan_opts *o)
{
	memset(o, 0, sizeof *o);
	o->sqlite = true;
	o->progress = -1;
	o->max_member = SCAN_MAX_MEMBER_DEFAULT;
	o->max_ratio = SCAN_MAX_RATIO_DEFAULT;
}

int scan_parse_shard(const char *s, unsigned *i, unsigned *n)
{
	char *end;
	errno = 0;
	unsigned long a = strtoul(s, &end, 10);
	if (end == s || *end != '/' || errno)
		return -1;
	const char *t = end + 1;
	unsigned long b = strtoul(t, &end, 10);
	if (end == t || *end || errno || b == 0 || b > 1000000 || a == 0 || a > b)
		return -1;
	*i = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

int scan_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && end[1] == '\0')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

uint64_t scan_shard_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---------------------------------------------------------------- context */

struct rec {
	char *path;
	char *out;                /* formatted output, ends with a newline */
	size_t len;
	bool is_db;               /* a database or a WAL series (counted in the summary) */
};

struct gfile {
	char *display;            /* printed path; names the file in findings */
	char *member;             /* name inside the archive; NULL on disk */
	uint8_t *data;            /* heap buffer or mapping */
	uint64_t size;
	uint64_t reserved;        /* budget bytes held for data */
	bool looked, present, mapped;
	bool found;               /* the file exists (even when it could not be loaded) */
	int fd;                   /* mapped: kept open to compare fstat afterwards */
	int guard;                /* mapped: SIGBUS guard slot (wf_guard_add), 0 if none */
	struct stat st;
};

struct group {
	struct unit *u;
	struct gfile f[S_N];
	const char *archive;      /* the archive's display path, or NULL */
	struct wd_diags notes;    /* findings about the files (file = the slot) */
	char *key;                /* pending: member name without its sibling suffix */
	struct group *prev, *next, *hnext, *qnext;
	bool unreadable;          /* a file could not be opened (not: absent) */
};

struct scan_ctx {
	const struct scan_opts *o;
	FILE *out, *err;
	struct unit **units;
	size_t nunits;
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* queued work, released memory, a reader done */
	pthread_cond_t pcv;       /* the progress thread */
	pthread_cond_t gcv;       /* guard tokens given back */
	unsigned guards_held;     /* guard tokens taken (at most SCAN_GUARDS) */
	size_t next_unit, next_print, units_done;
	struct group *qhead, *qtail;
	unsigned readers, nthreads, nwaiting;
	uint64_t mem_used, mem_budget, mem_peak;
	bool stop_progress, progress, progress_drawn;
	struct timespec t0;
	uint64_t bytes_read, bytes_inflated;
	size_t ndb, nstatus[3], nother, nother_status[3];
	int worst;
	bool noinput, oom;
};

static double elapsed(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void human(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

static void add_bytes(struct scan_ctx *c, uint64_t read, uint64_t inflated)
{
	pthread_mutex_lock(&c->mu);
	c->bytes_read += read;
	c->bytes_inflated += inflated;
	pthread_mutex_unlock(&c->mu);
}

/* ---------------------------------------------------------------- memory budget */

static void queue_push(struct scan_ctx *c, struct group *g);
static struct group *queue_pop(struct scan_ctx *c);
static void run_group(struct scan_ctx *c, struct group *g);
struct areader;
static void flush_pending(struct areader *r);
static void flush_oldest(struct areader *r);
static bool has_pending(const struct areader *r);

/*
 * Hold n bytes of the budget.  While the budget is short: analyse queued
 * groups, wait for other workers to release memory, and only when none can
 * (or after WAIT_MS without progress) hand r's oldest pending group to the
 * queue — which splits it from siblings that may still come, so it is the
 * last resort.  When every worker waits, go over the budget rather than
 * deadlock.
 */
#define WAIT_MS 100
static void reserve(struct scan_ctx *c, struct areader *r, uint64_t n)
{
	pthread_mutex_lock(&c->mu);
	while (c->mem_used && c->mem_used + n > c->mem_budget) {
		struct group *g = queue_pop(c);
		if (g) {
			pthread_mutex_unlock(&c->mu);
			run_group(c, g);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		bool others = c->nwaiting + 1 < c->nthreads;
		if (others) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += WAIT_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			uint64_t before = c->mem_used;
			c->nwaiting++;
			int rc = pthread_cond_timedwait(&c->cv, &c->mu, &ts);
			c->nwaiting--;
			if (rc == 0 || c->mem_used < before || !r || !has_pending(r))
				continue;
		}
		if (r && has_pending(r)) {
			pthread_mutex_unlock(&c->mu);
			flush_oldest(r);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		if (!others)
			break;                       /* nobody could release memory */
	}
	c->mem_used += n;
	if (c->mem_used > c->mem_peak)
		c->mem_peak = c->mem_used;
	pthread_mutex_unlock(&c->mu);
}

static void release(struct scan_ctx *c, uint64_t n)
{
	if (!n)
		return;
	pthread_mutex_lock(&c->mu);
	c->mem_used -= n;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* ---------------------------------------------------------------- records */

static int status_of(const struct wd_diags *d)
{
	int w = wd_worst(d);
	return w < 0 ? 0 : w;
}

static void add_record(struct scan_ctx *c, struct unit *u, const char *path, char *out, size_t len,
		       int status, bool is_db)
{
	struct rec *r = calloc(1, sizeof *r);
	char *p = strdup(path);
	pthread_mutex_lock(&c->mu);
	if (!r || !p || !out) {
		c->oom = true;
		free(r);
		free(p);
		free(out);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	r->path = p;
	r->out = out;
	r->len = len;
	r->is_db = is_db;
	if (u->nrecs == u->caprecs) {
		size_t cap = u->caprecs ? u->caprecs * 2 : 4;
		struct rec **v = realloc(u->recs, cap * sizeof *v);
		if (!v) {
			c->oom = true;
			free(r->path);
			free(r->out);
			free(r);
			pthread_mutex_unlock(&c->mu);
			return;
		}
		u->recs = v;
		u->caprecs = cap;
	}
	u->recs[u->nrecs++] = r;
	if (status < 0 || status > 2)
		status = 2;
	if (is_db) {
		c->ndb++;
		c->nstatus[status]++;
	} else {
		c->nother++;
		c->nother_status[status]++;
	}
	if (status > c->worst)
		c->worst = status;
	pthread_mutex_unlock(&c->mu);
}

/* Where a finding is: " offset N frame N page N". */
static void where(FILE *f, const struct wd_diag *g)
{
	if (g->offset != WD_NONE)
		fprintf(f, " offset %lld", (long long)g->offset);
	if (g->frame != WD_NONE)
		fprintf(f, " frame %lld", (long long)g->frame);
	if (g->page != WD_NONE)
		fprintf(f, " page %lld", (long long)g->page);
}

/* A list of findings and the path each refers to (NULL: look it up in set). */
struct dlist {
	const struct wd_diags *d;
	const char *path;
	const struct wf_set *set;
};

static const char *diag_path(const struct dlist *l, const struct wd_diag *g)
{
	if (l->set) {
		const char *p = report_path(l->set, g->file);
		return p ? p : l->path;
	}
	return l->path;
}

/*
 * The text line: STATUS PATH pages=N frames=V/T CODES, paths escaped with
 * spaces as \x20 so that the line always splits into five fields; with
 * --verbose, one indented line per finding.
 */
static void text_record(FILE *f, const struct scan_opts *o, int status, const char *path,
			const char *pages, const char *frames, const struct dlist *l, size_t nl)
{
	static const char *const names[] = { "ok", "warning", "error" };
	char esc[4096];
	fprintf(f, "%-7s %s pages=%s frames=%s ", names[status < 0 ? 0 : status > 2 ? 2 : status],
		report_esc_into(path, strlen(path), esc, sizeof esc, true), pages, frames);
	bool seen[WD__NCODES] = { false };
	int n = 0;
	for (size_t i = 0; i < nl; i++) {
		for (size_t k = 0; k < l[i].d->n; k++) {
			enum wd_code code = l[i].d->v[k].code;
			if (seen[code])
				continue;
			seen[code] = true;
			fprintf(f, "%s%s", n++ ? "," : "", wd_code_name(code));
		}
	}
	fputs(n ? "\n" : "-\n", f);
	if (!o->verbose)
		return;
	for (size_t i = 0; i < nl; i++) {
		for (size_t k = 0; k < l[i].d->n; k++) {
			const struct wd_diag *g = &l[i].d->v[k];
			const char *p = diag_path(&l[i], g);
			fprintf(f, "    %-7s %s", wd_severity_name(g->sev), wd_code_name(g->code));
			if (p)
				fprintf(f, " %s", report_esc_into(p, strlen(p), esc, sizeof esc, true));
			where(f, g);
			fprintf(f, ": %s\n", report_esc_into(g->msg, strlen(g->msg), esc, sizeof esc, false));
		}
		if (l[i].d->dropped)
			fprintf(f, "    (%zu more findings not kept)\n", l[i].d->dropped);
	}
}

/* "findings": [...] with the inspect schema, each finding naming its path. */
static void json_findings(struct jw *j, const struct dlist *l, size_t nl)
{
	size_t dropped = 0;
	jw_arr_begin(j, "findings");
	for (size_t i = 0; i < nl; i++) {
		for (size_t k = 0; k < l[i].d->n; k++) {
			const struct wd_diag *g = &l[i].d->v[k];
			jw_obj_begin(j, NULL);
			jw_str(j, "code", wd_code_name(g->code));
			jw_str(j, "severity", wd_severity_name(g->sev));
			jw_str(j, "file", g->file == WD_F_NONE ? NULL : wd_file_name(g->file));
			jw_str(j, "path", diag_path(&l[i], g));
			if (g->offset != WD_NONE) jw_int(j, "offset", g->offset); else jw_null(j, "offset");
			if (g->frame != WD_NONE) jw_int(j, "frame", g->frame); else jw_null(j, "frame");
			if (g->page != WD_NONE) jw_int(j, "page", g->page); else jw_null(j, "page");
			jw_str(j, "message", g->msg);
			jw_str(j, "action", wd_code_action(g->code));
			jw_obj_end(j);
		}
		dropped += l[i].d->dropped;
	}
	jw_arr_end(j);
	if (dropped)
		jw_uint(j, "findings_dropped", dropped);
}

static const char *status_name(int s)
{
	return s >= 2 ? "error" : s == 1 ? "warning" : "ok";
}

/* A record that is only findings: an archive problem, a member, a walk note. */
static void emit_findings(struct scan_ctx *c, struct unit *u, const char *kind, const char *path,
			  const char *archive, const char *member, const struct dlist *l, size_t nl,
			  bool is_db)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		pthread_mutex_lock(&c->mu);
		c->oom = true;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	int status = 0;
	for (size_t i = 0; i < nl; i++)
		if (status_of(l[i].d) > status)
			status = status_of(l[i].d);
	if (c->o->json) {
		struct jw j;
		jw_init(&j, f);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "path", path);
		jw_str(&j, "kind", kind);
		jw_str(&j, "archive", archive);
		jw_str(&j, "member", member);
		json_findings(&j, l, nl);
		jw_str(&j, "status", status_name(status));
		jw_obj_end(&j);
		jw_finish(&j);
	} else {
		text_record(f, c->o, status, path, "-", "-", l, nl);
	}
	fclose(f);
	add_record(c, u, path, buf, len, status, is_db);
}

/* ---------------------------------------------------------------- the database record */

/* inspect's JSON object (docs/inspect.md) with "kind", "archive" and "member". */
static void json_database(FILE *f, const char *path, const char *archive, const char *member,
			  const struct model *m, const struct check_result *r)
{
	struct jw j;
	jw_init(&j, f);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	jw_str(&j, "kind", "database");
	jw_str(&j, "archive", archive);
	jw_str(&j, "member", member);
	report_json_inspect(&j, m, r);
	jw_obj_end(&j);
	jw_finish(&j);
}

/* ---------------------------------------------------------------- analysis */

struct analysis {
	struct model *m;
	struct check_result *r;
	struct wf_set set;
	struct check_opts co;
	int rc;
	char err[256];
};

static void analysis_fn(void *arg)
{
	struct analysis *a = arg;
	a->rc = model_open_set(a->m, &a->set, a->err, sizeof a->err);
	if (!a->rc)
		checks_run(a->m, &a->co, a->r);
}

static void gfile_release(struct scan_ctx *c, struct gfile *f)
{
	if (f->mapped) {
		wf_guard_remove(f->guard);
		if (f->size)
			munmap(f->data, (size_t)f->size);
	} else if (f->data != (uint8_t *)empty_byte) {
		free(f->data);
	}
	if (f->fd >= 0)
		close(f->fd);
	release(c, f->reserved);
	free(f->display);
	free(f->member);
	memset(f, 0, sizeof *f);
	f->fd = -1;
}

static struct group *group_new(struct unit *u, const char *archive)
{
	struct group *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->u = u;
	g->archive = archive;
	for (int i = 0; i < S_N; i++)
		g->f[i].fd = -1;
	return g;
}

static void group_free(struct scan_ctx *c, struct group *g)
{
	for (int i = 0; i < S_N; i++)
		gfile_release(c, &g->f[i]);
	wd_diags_free(&g->notes);
	free(g->key);
	free(g);
}

static enum wd_file slot_file(int i)
{
	static const enum wd_file f[S_N] = { WD_F_DB, WD_F_WAL, WD_F_SHM, WD_F_JOURNAL };
	return f[i];
}

static const char *group_path(const struct group *g, const char **member)
{
	int pick = -1;
	if (g->f[S_DB].present)
		pick = S_DB;
	else if (g->f[S_WAL].present)
		pick = S_WAL;
	for (int i = 0; i < S_N && pick < 0; i++)
		if (g->f[i].found && g->f[i].display)
			pick = i;
	for (int i = 0; i < S_N && pick < 0; i++)
		if (g->f[i].looked && g->f[i].display)
			pick = i;
	*member = pick >= 0 ? g->f[pick].member : NULL;
	return pick >= 0 ? g->f[pick].display : g->u->key;
}

/* The slots of g whose mapping was cut short under a read (pages read as zeros), as bits. */
static unsigned cut_mask(const struct group *g)
{
	unsigned m = 0;
	for (int i = 0; i < S_N; i++)
		if (g->f[i].mapped && wf_guard_cut(g->f[i].guard))
			m |= 1u << i;
	return m;
}

/* SCAN_INPUT_CHANGED (error) for slot i, whose mapping was cut short under a read. */
static void report_cut(struct group *g, int i, struct wd_diags *d)
{
	char esc[512];
	struct gfile *f = &g->f[i];
	struct stat st;
	long long now = f->fd >= 0 && fstat(f->fd, &st) == 0 ? (long long)st.st_size : (long long)f->st.st_size;
	wd_add_sev(d, WD_SCAN_INPUT_CHANGED, WD_ERROR, slot_file(i), WD_NONE, WD_NONE, WD_NONE,
		   "'%s' was cut short while it was read (%lld -> %lld bytes): the pages past its new end read "
		   "as zeros", scan_esc(f->display ? f->display : g->u->key, esc, sizeof esc),
		   (long long)f->st.st_size, now);
}

/*
 * Did a mapped file change between the mapping and now?  One finding per
 * file: an error when it was cut short under a read (report_cut), else a
 * warning when fstat says it moved.  Returns the cut slots (cut_mask).
 */
static unsigned check_changed(struct group *g, struct wd_diags *d)
{
	char esc[512];
	unsigned cut = cut_mask(g);
	for (int i = 0; i < S_N; i++) {
		struct gfile *f = &g->f[i];
		struct stat st;
		if (!f->mapped || f->fd < 0)
			continue;
		uint64_t first;
		unsigned bad = wf_guard_unreadable(f->guard, &first);
		if (bad)
			wd_add_sev(d, WD_SCAN_INPUT_UNREADABLE, WD_ERROR, slot_file(i), first, WD_NONE, WD_NONE,
				   "'%s': %u page%s from byte offset %llu could not be read (I/O error: a failing "
				   "disk?) and were analysed as zeros", scan_esc(f->display ? f->display : g->u->key,
				   esc, sizeof esc), bad, bad == 1 ? "" : "s", (unsigned long long)first);
		if (cut & (1u << i))
			report_cut(g, i, d);
		else if (fstat(f->fd, &st) == 0 &&
			 (st.st_size != f->st.st_size || st.st_ino != f->st.st_ino ||
			  st.st_mtim.tv_sec != f->st.st_mtim.tv_sec || st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec ||
			  st.st_ctim.tv_sec != f->st.st_ctim.tv_sec || st.st_ctim.tv_nsec != f->st.st_ctim.tv_nsec))
			wd_add(d, WD_SCAN_INPUT_CHANGED, slot_file(i), WD_NONE, WD_NONE, WD_NONE,
			       "'%s' changed while it was read (size %lld -> %lld bytes)",
			       scan_esc(f->display ? f->display : g->u->key, esc, sizeof esc), (long long)f->st.st_size,
			       (long long)st.st_size);
	}
	return cut;
}

static void copy_diags(struct wd_diags *dst, const struct wd_diags *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct wd_diag *g = &src->v[i];
		wd_add_sev(dst, g->code, g->sev, g->file, g->offset, g->frame, g->page, "%s", g->msg);
	}
}

/*
 * Analyse one database exactly as `waldo inspect --no-locks` would (the
 * integrity check unless --no-sqlite), add the group's own findings, and
 * record the result.  Frees the group's data.
 */
static void analyse_group(struct scan_ctx *c, struct group *g)
{
	const char *member;
	const char *path = group_path(g, &member);
	if (!g->f[S_DB].present && !g->f[S_WAL].present) {
		if (g->notes.n) {
			struct dlist l = { &g->notes, path, NULL };
			emit_findings(c, g->u, "database", path, g->archive, member, &l, 1, true);
		}
		return;
	}
	struct analysis a;
	memset(&a, 0, sizeof a);
	a.co.sqlite = c->o->sqlite;
	a.co.locks = false;
	a.m = calloc(1, sizeof *a.m);
	a.r = calloc(1, sizeof *a.r);
	struct wf_mem mem[S_N];
	const struct wf_mem *pm[S_N] = { NULL };
	bool mapped = false;
	for (int i = 0; i < S_N; i++) {
		struct gfile *f = &g->f[i];
		if (!f->looked)
			continue;
		mem[i].path = f->display;
		mem[i].data = f->present ? f->data : NULL;
		mem[i].size = f->present ? f->size : 0;
		pm[i] = &mem[i];
		mapped |= f->mapped;
	}
	if (!a.m || !a.r || wf_set_from_mem(&a.set, pm[S_DB], pm[S_WAL], pm[S_SHM], pm[S_JOURNAL], a.err, sizeof a.err)) {
		free(a.m);
		free(a.r);
		pthread_mutex_lock(&c->mu);
		c->oom = true;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if (mapped && scan_test_after_map)
		scan_test_after_map(path);
	/* Mapped files are guarded (load_plain): a cut reads as zeros, reported below. */
	analysis_fn(&a);
	if (a.rc) {
		struct wd_diags extra = { 0 };
		wd_add(&extra, WD_SCAN_INPUT_UNREADABLE, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE, "%s", a.err);
		copy_diags(&extra, &g->notes);
		struct dlist l = { &extra, path, NULL };
		emit_findings(c, g->u, "database", path, g->archive, member, &l, 1, true);
		wd_diags_free(&extra);
		model_close(a.m);               /* also what an interrupted build had made */
		free(a.m);
		free(a.r);
		return;
	}
	struct model *m = a.m;
	unsigned cut = check_changed(g, &m->diags);
	copy_diags(&m->diags, &g->notes);
	char *buf = NULL;
	size_t len = 0;
	int status = 0;
	/* The report reads the mappings too: a cut during it is reported and the record made again
	 * (the zeros it read stay zeros, so the second pass sees what the finding says). */
	for (int pass = 0; pass < 2; pass++) {
		free(buf);
		buf = NULL;
		len = 0;
		FILE *f = open_memstream(&buf, &len);
		status = status_of(&m->diags);
		if (!f)
			break;
		if (c->o->json) {
			json_database(f, path, g->archive, member, m, a.r);
		} else {
			char pages[32], frames[48];
			snprintf(pages, sizeof pages, "%u", model_npages(m, MODEL_LAST));
			if (m->has_wal)
				snprintf(frames, sizeof frames, "%u/%u", m->wal.nvalid, m->wal.nframes);
			else
				snprintf(frames, sizeof frames, "-");
			struct dlist l = { &m->diags, path, &m->files };
			text_record(f, c->o, status, path, pages, frames, &l, 1);
		}
		fclose(f);
		unsigned now = cut_mask(g);
		if (now == cut)
			break;
		for (int i = 0; i < S_N; i++)
			if (now & ~cut & (1u << i))
				report_cut(g, i, &m->diags);
		cut = now;
	}
	if (buf) {
		add_record(c, g->u, path, buf, len, status, true);
	} else {
		pthread_mutex_lock(&c->mu);
		c->oom = true;
		pthread_mutex_unlock(&c->mu);
	}
	model_close(m);
	free(a.m);
	free(a.r);
}

/* ---------------------------------------------------------------- loading files on disk */

/*
 * Guard tokens: n of the SCAN_GUARDS slots for the mappings of one group,
 * taken all at once (a worker holding some while waiting for more could
 * wait for ever) and given back when the group is freed.  A worker takes
 * its tokens before it holds any of the memory budget, and archive readers,
 * which hold memory, never take tokens: nobody waits for tokens while
 * holding memory, so the two waits cannot block each other.
 */
static void guard_take(struct scan_ctx *c, unsigned n)
{
	if (!n)
		return;
	pthread_mutex_lock(&c->mu);
	while (c->guards_held + n > SCAN_GUARDS)
		pthread_cond_wait(&c->gcv, &c->mu);
	c->guards_held += n;
	pthread_mutex_unlock(&c->mu);
}

static void guard_give(struct scan_ctx *c, unsigned n)
{
	if (!n)
		return;
	pthread_mutex_lock(&c->mu);
	c->guards_held -= n;
	pthread_cond_broadcast(&c->gcv);
	pthread_mutex_unlock(&c->mu);
}

/* Map a file read-only; false with a note when it cannot be read (absent is not an error). */
static bool load_plain(struct scan_ctx *c, struct group *g, int slot, const char *path)
{
	struct gfile *f = &g->f[slot];
	char esc[512];
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return true;
		wd_add(&g->notes, WD_SCAN_INPUT_UNREADABLE, slot_file(slot), WD_NONE, WD_NONE, WD_NONE,
		       "cannot open '%s': %s", scan_esc(path, esc, sizeof esc), strerror(errno));
		g->unreadable = true;
		f->found = true;
		return false;
	}
	f->found = true;
	if (fstat(fd, &f->st) < 0 || !S_ISREG(f->st.st_mode) || (uint64_t)f->st.st_size > SIZE_MAX) {
		wd_add(&g->notes, WD_SCAN_INPUT_UNREADABLE, slot_file(slot), WD_NONE, WD_NONE, WD_NONE,
		       "'%s' is not a readable regular file", scan_esc(path, esc, sizeof esc));
		close(fd);
		g->unreadable = true;
		return false;
	}
	f->size = (uint64_t)f->st.st_size;
	if (f->size) {
		void *p = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			wd_add(&g->notes, WD_SCAN_INPUT_UNREADABLE, slot_file(slot), WD_NONE, WD_NONE, WD_NONE,
			       "cannot map '%s': %s", scan_esc(path, esc, sizeof esc), strerror(errno));
			close(fd);
			g->unreadable = true;
			return false;
		}
		f->data = p;
		/* A slot is free (guard_take); should the table be full all the same (another user of
		 * files.c in this process), the mapping goes unguarded, as files.c's own do. */
		f->guard = wf_guard_add(p, f->size, fd);
	} else {
		f->data = (uint8_t *)empty_byte;
	}
	f->fd = fd;
	f->mapped = f->size > 0;
	f->present = true;
	add_bytes(c, f->size, 0);
	return true;
}

struct reader {
	size_t (*fn)(void *arg, uint8_t *out, size_t n);
	uint64_t (*skip)(void *arg, uint64_t n);   /* NULL: the rest is left to the caller */
	void *arg;
};

static size_t stream_fn(void *arg, uint8_t *out, size_t n)
{
	return sa_stream_read(arg, out, n);
}

static size_t tar_fn(void *arg, uint8_t *out, size_t n)
{
	return sa_tar_read(arg, out, n);
}

static uint64_t tar_skip_fn(void *arg, uint64_t n)
{
	return sa_tar_skip(arg, n);
}

/*
 * Read a file of unknown length (the rest of rd, after `head`) into f,
 * holding at most max bytes; the budget grows with the buffer.  Returns 0,
 * 1 when the data passes max (f left empty), -1 out of memory.
 */
static int slurp(struct scan_ctx *c, struct areader *r, struct reader rd, const uint8_t *head,
		 size_t nhead, uint64_t hint, uint64_t max, struct gfile *f)
{
	uint64_t cap = hint > nhead ? hint : nhead;
	if (cap < GROW_START)
		cap = GROW_START;
	if (cap > max)
		cap = max;
	if (cap < nhead)
		cap = nhead;
	reserve(c, r, cap + 1);
	f->reserved = cap + 1;
	uint8_t *p = malloc((size_t)cap + 1);
	if (!p)
		return -1;
	if (nhead)
		memcpy(p, head, nhead);
	uint64_t n = nhead;
	for (;;) {
		size_t k = rd.fn(rd.arg, p + n, (size_t)(cap + 1 - n));
		n += k;
		if (n <= cap && k == 0)
			break;
		if (n > max) {
			free(p);
			return 1;
		}
		if (n == cap + 1) {
			uint64_t ncap = cap * 2 > max ? max : cap * 2;
			reserve(c, r, ncap - cap);
			f->reserved += ncap - cap;
			uint8_t *q = realloc(p, (size_t)ncap + 1);
			if (!q) {
				free(p);
				return -1;
			}
			p = q;
			cap = ncap;
		}
	}
	f->data = p;
	f->size = n;
	f->present = true;
	/* Give back what the buffer did not need. */
	if (f->reserved > n + 1) {
		uint8_t *q = n ? realloc(p, (size_t)n) : NULL;
		if (q)
			f->data = q;
		if (!n) {
			free(p);
			f->data = (uint8_t *)empty_byte;
		}
		release(c, f->reserved - n);
		f->reserved = n;
	}
	return 0;
}

/* The gzip trailer's length field: the size mod 2^32 of a one-member file. */
static uint64_t gzip_size_hint(int fd)
{
	struct stat st;
	uint8_t t[4];
	if (fstat(fd, &st) < 0 || st.st_size < 18 || pread(fd, t, 4, st.st_size - 4) != 4)
		return 0;
	return rd_le32(t);
}

static void load_gz(struct scan_ctx *c, struct group *g, int slot, const char *path)
{
	struct gfile *f = &g->f[slot];
	char esc[512];
	scan_esc(path, esc, sizeof esc);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) {
			wd_add(&g->notes, WD_SCAN_INPUT_UNREADABLE, slot_file(slot), WD_NONE, WD_NONE, WD_NONE,
			       "cannot open '%s': %s", esc, strerror(errno));
			g->unreadable = true;
			f->found = true;
		}
		return;
	}
	f->found = true;
	struct wd_diags d = { 0 };
	struct sa_stream s;
	if (sa_stream_open(&s, fd, esc, c->o->max_ratio, &d) == 0) {
		struct reader rd = { stream_fn, NULL, &s };
		int rc = slurp(c, NULL, rd, NULL, 0, gzip_size_hint(fd), c->o->max_member, f);
		if (rc == 1)
			wd_add(&d, WD_ARCHIVE_LIMIT, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
			       "'%s' inflates to more than %llu bytes (--max-member): not analysed", esc,
			       (unsigned long long)c->o->max_member);
		else if (rc < 0)
			wd_add(&d, WD_SCAN_INPUT_UNREADABLE, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
			       "out of memory reading '%s'", esc);
		if (rc) {
			release(c, f->reserved);
			f->reserved = 0;
			f->data = NULL;
			f->present = false;
		}
	}
	add_bytes(c, s.in_bytes, s.out_bytes);
	sa_stream_close(&s);
	close(fd);
	for (size_t i = 0; i < d.n; i++)
		d.v[i].file = slot_file(slot);
	copy_diags(&g->notes, &d);
	wd_diags_free(&d);
}

static void run_disk_group(struct scan_ctx *c, struct unit *u)
{
	struct group *g = group_new(u, NULL);
	if (!g) {
		pthread_mutex_lock(&c->mu);
		c->oom = true;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	unsigned tokens = 0;
	for (int i = 0; i < S_N; i++)
		tokens += u->slot[i].path && !u->slot[i].absent && !u->slot[i].gz;
	guard_take(c, tokens);
	for (int i = 0; i < S_N; i++) {
		struct src *s = &u->slot[i];
		if (!s->path)
			continue;
		g->f[i].looked = true;
		g->f[i].display = strdup(s->display);
		if (s->absent)
			continue;
		if (s->gz)
			load_gz(c, g, i, s->path);
		else
			load_plain(c, g, i, s->path);
	}
	if (g->unreadable && u->named && !g->f[S_DB].present && !g->f[S_WAL].present) {
		pthread_mutex_lock(&c->mu);
		c->noinput = true;
		pthread_mutex_unlock(&c->mu);
	}
	analyse_group(c, g);
	group_free(c, g);
	guard_give(c, tokens);
}

/* ---------------------------------------------------------------- WAL series */

struct cmember {
	char *display;            /* printed path */
	char *name;               /* file name within its folder */
	char *dir;                /* folder (archives: member folder; disk: unused) */
	struct wal_header hdr;
	bool has_header;
	uint32_t nframes, nvalid, ntxn;
	uint64_t size;
	struct wd_diags diags;
};

static void cmember_free(struct cmember *m)
{
	free(m->display);
	free(m->name);
	free(m->dir);
	wd_diags_free(&m->diags);
}

struct walk_arg {
	const uint8_t *p;
	uint64_t n;
	uint32_t hint;
	struct cmember *m;
};

static void walk_fn(void *arg)
{
	struct walk_arg *a = arg;
	struct wal_walk w;
	memset(&w, 0, sizeof w);
	wal_walk(a->p, a->n, a->hint, &w, &a->m->diags);
	a->m->hdr = w.hdr;
	a->m->has_header = a->n >= WAL_HDR_SIZE;
	a->m->nframes = w.nframes;
	a->m->nvalid = w.nvalid;
	a->m->ntxn = w.ntxn;
	a->m->size = a->n;
	wal_walk_free(&w);
}

/* Walk one series member's bytes into m (a mapping is guarded: a cut reads as zeros). */
static void cmember_walk(struct cmember *m, const uint8_t *p, uint64_t n, uint32_t hint)
{
	struct walk_arg a = { p, n, hint, m };
	walk_fn(&a);
}

/* Check a series and record it: one line / object for all its files. */
static void emit_chain(struct scan_ctx *c, struct unit *u, const char *pattern, const char *archive,
		       struct cmember *v, size_t n, const char *base, uint32_t base_ps)
{
	struct chain_member *cm = calloc(n ? n : 1, sizeof *cm);
	struct dlist *l = calloc(n ? n : 1, sizeof *l);
	if (!cm || !l) {
		free(cm);
		free(l);
		pthread_mutex_lock(&c->mu);
		c->oom = true;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	bool hex = false;
	for (size_t i = 0; i < n; i++) {
		size_t st, len;
		if (chain_split_name(v[i].name, &st, &len) && chain_run_is_hex(v[i].name + st, len))
			hex = true;
	}
	for (size_t i = 0; i < n; i++) {
		size_t st, len;
		cm[i].path = v[i].display;
		cm[i].name = v[i].name;
		cm[i].number = chain_split_name(v[i].name, &st, &len)
			       ? chain_parse_number(v[i].name + st, len, hex) : 0;
		cm[i].hdr = v[i].hdr;
		cm[i].has_header = v[i].has_header;
		cm[i].diags = &v[i].diags;
		cm[i].user = i;
	}
	chain_check(cm, n, base_ps, base);
	uint64_t fv = 0, ft = 0;
	int status = 0;
	uint32_t ps = 0;
	for (size_t i = 0; i < n; i++) {
		struct cmember *m = &v[cm[i].user];
		l[i].d = &m->diags;
		l[i].path = m->display;
		fv += m->nvalid;
		ft += m->nframes;
		if (status_of(&m->diags) > status)
			status = status_of(&m->diags);
		if (!ps && m->hdr.page_size_ok)
			ps = m->hdr.page_size;
	}
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (f) {
		if (c->o->json) {
			struct jw j;
			jw_init(&j, f);
			jw_obj_begin(&j, NULL);
			jw_str(&j, "path", pattern);
			jw_str(&j, "kind", "wal-chain");
			jw_str(&j, "archive", archive);
			jw_null(&j, "member");
			jw_str(&j, "base", base);
			jw_uint(&j, "page_size", ps);
			jw_arr_begin(&j, "members");
			for (size_t i = 0; i < n; i++) {
				struct cmember *m = &v[cm[i].user];
				jw_obj_begin(&j, NULL);
				jw_str(&j, "path", m->display);
				jw_uint(&j, "number", cm[i].number);
				jw_uint(&j, "file_size", m->size);
				jw_uint(&j, "page_size", m->hdr.page_size);
				jw_uint(&j, "checkpoint_seq", m->hdr.ckpt_seq);
				jw_uint(&j, "salt1", m->hdr.salt1);
				jw_uint(&j, "salt2", m->hdr.salt2);
				jw_bool(&j, "header_valid", m->has_header && m->hdr.valid);
				jw_uint(&j, "frames_total", m->nframes);
				jw_uint(&j, "frames_valid", m->nvalid);
				jw_uint(&j, "commits", m->ntxn);
				jw_obj_end(&j);
			}
			jw_arr_end(&j);
			json_findings(&j, l, n);
			jw_str(&j, "status", status_name(status));
			jw_obj_end(&j);
			jw_finish(&j);
		} else {
			char frames[64];
			snprintf(frames, sizeof frames, "%llu/%llu", (unsigned long long)fv, (unsigned long long)ft);
			text_record(f, c->o, status, pattern, "-", frames, l, n);
		}
		fclose(f);
		add_record(c, u, pattern, buf, blen, status, true);
	}
	free(cm);
	free(l);
}

static uint32_t page_size_of_header(const uint8_t *p, size_t n)
{
	if (n < DBH_SIZE)
		return 0;
	struct db_header h;
	struct wd_diags d = { 0 };
	dbh_parse(p, DBH_SIZE, &h, &d);
	wd_diags_free(&d);
	return h.magic_ok && h.page_size_ok ? h.page_size : 0;
}

static void run_disk_chain(struct scan_ctx *c, struct unit *u)
{
	uint32_t base_ps = 0;
	if (u->base.path) {
		int fd = open(u->base.path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		uint8_t h[DBH_SIZE];
		if (fd >= 0) {
			ssize_t k = pread(fd, h, sizeof h, 0);
			if (k == (ssize_t)sizeof h)
				base_ps = page_size_of_header(h, sizeof h);
			close(fd);
		}
	}
	struct cmember *v = calloc(u->nchain ? u->nchain : 1, sizeof *v);
	if (!v) {
		pthread_mutex_lock(&c->mu);
		c->oom = true;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	for (size_t i = 0; i < u->nchain; i++) {
		struct cmember *m = &v[i];
		const char *slash = strrchr(u->chain[i].display, '/');
		m->display = strdup(u->chain[i].display);
		m->name = strdup(slash ? slash + 1 : u->chain[i].display);
		if (m->name && u->chain[i].gz && strlen(m->name) > 3 && !strcmp(m->name + strlen(m->name) - 3, ".gz"))
			m->name[strlen(m->name) - 3] = '\0';
		struct group *g = group_new(u, NULL);
		if (!g || !m->display || !m->name) {
			if (g)
				group_free(c, g);
			pthread_mutex_lock(&c->mu);
			c->oom = true;
			pthread_mutex_unlock(&c->mu);
			continue;
		}
		g->f[S_WAL].display = strdup(u->chain[i].display);   /* names it in check_changed */
		const unsigned tokens = !u->chain[i].gz;
		guard_take(c, tokens);
		if (u->chain[i].gz)
			load_gz(c, g, S_WAL, u->chain[i].path);
		else
			load_plain(c, g, S_WAL, u->chain[i].path);
		for (size_t k = 0; k < g->notes.n; k++)
			g->notes.v[k].file = WD_F_WAL;
		copy_diags(&m->diags, &g->notes);
		if (g->f[S_WAL].present) {
			if (g->f[S_WAL].mapped && scan_test_after_map)
				scan_test_after_map(m->display);
			cmember_walk(m, g->f[S_WAL].data, g->f[S_WAL].size, base_ps);
			struct wd_diags ch = { 0 };
			check_changed(g, &ch);
			copy_diags(&m->diags, &ch);
			wd_diags_free(&ch);
		}
		group_free(c, g);
		guard_give(c, tokens);
	}
	emit_chain(c, u, u->pattern, NULL, v, u->nchain, u->base.path ? u->base.display : NULL, base_ps);
	for (size_t i = 0; i < u->nchain; i++)
		cmember_free(&v[i]);
	free(v);
}

/* ---------------------------------------------------------------- archives */

struct marker {
	char *name;
	uint8_t head[MARKER_HEAD];
	size_t nhead;
};

struct dbdir {
	char *dir;
	char *display;
	uint32_t page_size;
};

struct areader {
	struct scan_ctx *c;
	struct unit *u;
	const char *apath;        /* the archive's display path */
	char aesc[512];           /* escaped, for messages */
	bool single;              /* a gzip file holding one file, not a tar */
	struct wd_diags adiags;   /* archive-level findings */
	struct group *phead, *ptail;
	struct group **bucket;
	size_t nbucket, npend;
	struct marker ring[MARKERS];
	size_t ringpos;
	struct cmember *cands;
	size_t ncands, capcands;
	struct dbdir *dbs;
	size_t ndbs, capdbs;
};

static bool has_pending(const struct areader *r)
{
	return r->phead != NULL;
}

static size_t key_hash(const char *s, size_t n)
{
	return (size_t)scan_shard_hash(s) & (n - 1);
}

static struct group *pending_find(struct areader *r, const char *key)
{
	if (!r->nbucket)
		return NULL;
	for (struct group *g = r->bucket[key_hash(key, r->nbucket)]; g; g = g->hnext)
		if (!strcmp(g->key, key))
			return g;
	return NULL;
}

static void pending_remove(struct areader *r, struct group *g)
{
	struct group **pp = &r->bucket[key_hash(g->key, r->nbucket)];
	while (*pp && *pp != g)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = g->hnext;
	if (g->prev)
		g->prev->next = g->next;
	else
		r->phead = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		r->ptail = g->prev;
	g->prev = g->next = g->hnext = NULL;
	r->npend--;
}

static struct group *pending_add(struct areader *r, const char *key)
{
	if (r->npend + 1 > r->nbucket) {
		size_t n = r->nbucket ? r->nbucket * 2 : 64;
		struct group **b = calloc(n, sizeof *b);
		if (!b)
			return NULL;
		for (struct group *g = r->phead; g; g = g->next) {
			size_t h = key_hash(g->key, n);
			g->hnext = b[h];
			b[h] = g;
		}
		free(r->bucket);
		r->bucket = b;
		r->nbucket = n;
	}
	struct group *g = group_new(r->u, r->apath);
	if (!g || !(g->key = strdup(key))) {
		free(g);
		return NULL;
	}
	size_t h = key_hash(key, r->nbucket);
	g->hnext = r->bucket[h];
	r->bucket[h] = g;
	g->prev = r->ptail;
	if (r->ptail)
		r->ptail->next = g;
	else
		r->phead = g;
	r->ptail = g;
	r->npend++;
	return g;
}

/* Hand a group to the workers (or drop it when it holds no database). */
static void dispatch(struct areader *r, struct group *g)
{
	struct scan_ctx *c = r->c;
	pending_remove(r, g);
	if (!g->f[S_DB].present && !g->f[S_WAL].present && !g->notes.n) {
		group_free(c, g);
		return;
	}
	pthread_mutex_lock(&c->mu);
	g->u->outstanding++;
	queue_push(c, g);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void flush_pending(struct areader *r)
{
	while (r->phead)
		dispatch(r, r->phead);
}

static void flush_oldest(struct areader *r)
{
	if (r->phead)
		dispatch(r, r->phead);
}

static char *member_display(const struct areader *r, const char *name)
{
	if (r->single)
		return strdup(r->apath);
	size_t a = strlen(r->apath), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (p) {
		memcpy(p, r->apath, a);
		p[a] = ':';
		memcpy(p + a + 1, name, b + 1);
	}
	return p;
}

static void oom(struct scan_ctx *c)
{
	pthread_mutex_lock(&c->mu);
	c->oom = true;
	pthread_mutex_unlock(&c->mu);
}

/* A record for one member that is no database: a link, an unsafe name, … */
static void member_note(struct areader *r, const char *name, enum wd_code code, enum wd_severity sev,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void member_note(struct areader *r, const char *name, enum wd_code code, enum wd_severity sev,
			const char *fmt, ...)
{
	char msg[WD_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char *disp = member_display(r, name);
	if (!disp) {
		oom(r->c);
		return;
	}
	struct wd_diags d = { 0 };
	wd_add_sev(&d, code, sev, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE, "%s", msg);
	struct dlist l = { &d, disp, NULL };
	emit_findings(r->c, r->u, "entry", disp, r->apath, name, &l, 1, false);
	wd_diags_free(&d);
	free(disp);
}

static void remember_marker(struct areader *r, const char *name, const uint8_t *head, size_t nhead)
{
	struct marker *m = &r->ring[r->ringpos++ % MARKERS];
	free(m->name);
	m->name = strdup(name);
	m->nhead = nhead < MARKER_HEAD ? nhead : MARKER_HEAD;
	memcpy(m->head, head, m->nhead);
}

static const struct marker *find_marker(const struct areader *r, const char *name)
{
	for (size_t i = 0; i < MARKERS; i++)
		if (r->ring[i].name && !strcmp(r->ring[i].name, name))
			return &r->ring[i];
	return NULL;
}

/* A database slot filled from the first bytes of an unrecognised member (all we kept). */
static bool fill_db_from_head(struct areader *r, struct group *g, const char *name, const uint8_t *head,
			      size_t nhead)
{
	struct gfile *f = &g->f[S_DB];
	f->looked = f->found = true;
	f->display = member_display(r, name);
	f->member = strdup(name);
	f->data = nhead ? malloc(nhead) : (uint8_t *)empty_byte;
	if (!f->display || !f->member || !f->data)
		return false;
	if (nhead)
		memcpy(f->data, head, nhead);
	f->size = nhead;
	f->present = true;
	return true;
}

static const char *base_of(const char *name)
{
	const char *s = strrchr(name, '/');
	return s ? s + 1 : name;
}

static char *dir_of(const char *name)
{
	const char *s = strrchr(name, '/');
	size_t n = s ? (size_t)(s - name + 1) : 0;
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, name, n);
		d[n] = '\0';
	}
	return d;
}

static bool name_ends(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a > b && !strcmp(s + a - b, sfx);
}

/*
 * One regular member (or the one file of a gzip): its first bytes are in
 * head; the rest comes from rd.  size is UINT64_MAX when unknown; avail is
 * how many of its bytes the archive holds when the reader knows it is fewer
 * (a plain tar too short for the size field), else size.
 */
static void on_file(struct areader *r, const char *name, uint64_t size, uint64_t avail, struct reader rd,
		    const uint8_t *head, size_t nhead, bool truncated_head)
{
	struct scan_ctx *c = r->c;
	char esc[512];
	enum sniff_kind kind = scan_sniff(head, nhead);
	bool unsafe = !r->single && sa_name_unsafe(name);
	int slot = -1;
	size_t cut = 0;
	if (name_ends(name, "-wal")) {
		slot = S_WAL;
		cut = 4;
	} else if (name_ends(name, "-shm")) {
		slot = S_SHM;
		cut = 4;
	} else if (name_ends(name, "-journal")) {
		slot = S_JOURNAL;
		cut = 8;
	} else if (kind == SK_DB) {
		slot = S_DB;
	}
	bool chain = slot < 0 && kind == SK_WAL;
	if (slot < 0 && !chain) {
		/* Not a database file: remembered by name in case its -wal follows. */
		struct group *g = pending_find(r, name);
		if (g && !g->f[S_DB].looked) {
			if (!fill_db_from_head(r, g, name, head, nhead))
				oom(c);
		} else {
			remember_marker(r, name, head, nhead);
		}
		if (unsafe)
			member_note(r, name, WD_ARCHIVE_UNSAFE_NAME, WD_WARNING,
				    "member name '%s' is absolute or climbs out with '..': never extracted",
				    scan_esc(name, esc, sizeof esc));
		return;
	}
	struct gfile f;
	memset(&f, 0, sizeof f);
	f.fd = -1;
	struct wd_diags d = { 0 };
	bool over = false;
	uint64_t declared = size;
	uint64_t have = size < avail ? size : avail;
	if (size != UINT64_MAX && have > c->o->max_member) {
		/* Skipped here rather than by the reader, so that a member whose
		 * size passes the end of a compressed stream is reported as cut
		 * short (what it is), not as over the cap. */
		uint64_t got = nhead;
		if (rd.skip && !truncated_head)
			got += rd.skip(rd.arg, have - nhead);
		if (got < size && got <= c->o->max_member)
			wd_add(&d, WD_ARCHIVE_CORRUPT, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
			       "member '%s' declares %llu bytes, the archive holds %llu: not analysed",
			       scan_esc(name, esc, sizeof esc), (unsigned long long)size, (unsigned long long)got);
		else
			over = true;
	} else if (size != UINT64_MAX) {
		size = have;
		reserve(c, r, size);
		f.reserved = size;
		f.data = size ? malloc((size_t)size) : (uint8_t *)empty_byte;
		if (!f.data) {
			oom(c);
			release(c, f.reserved);
			return;
		}
		if (nhead)
			memcpy(f.data, head, nhead);
		uint64_t got = nhead;
		while (got < size && !truncated_head) {
			size_t want = size - got > (1u << 30) ? (1u << 30) : (size_t)(size - got);
			size_t k = rd.fn(rd.arg, f.data + got, want);
			got += k;
			if (k < want)
				break;
		}
		if (have < declared && got == have)
			wd_add(&d, WD_ARCHIVE_CORRUPT, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
			       "member '%s' declares %llu bytes, the archive holds %llu: analysed as it is",
			       scan_esc(name, esc, sizeof esc), (unsigned long long)declared, (unsigned long long)got);
		else if (got < declared)
			wd_add(&d, WD_ARCHIVE_CORRUPT, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
			       "member '%s' is cut short: %llu of %llu bytes in the archive",
			       scan_esc(name, esc, sizeof esc), (unsigned long long)got, (unsigned long long)declared);
		f.size = got;
		f.present = true;
	} else {
		int rc = slurp(c, r, rd, head, nhead, 0, c->o->max_member, &f);
		if (rc < 0) {
			oom(c);
			release(c, f.reserved);
			return;
		}
		if (rc == 1) {
			release(c, f.reserved);
			f.reserved = 0;
			over = true;
		}
	}
	if (over)
		wd_add(&d, WD_ARCHIVE_LIMIT, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
		       "member '%s' is larger than the per-member cap of %llu bytes (--max-member): not analysed",
		       scan_esc(name, esc, sizeof esc), (unsigned long long)c->o->max_member);
	if (unsafe)
		wd_add(&d, WD_ARCHIVE_UNSAFE_NAME, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
		       "member name '%s' is absolute or climbs out with '..': analysed in memory, never extracted",
		       scan_esc(name, esc, sizeof esc));
	f.display = member_display(r, name);
	f.member = strdup(name);
	f.looked = f.found = true;
	if (!f.display || !f.member) {
		oom(c);
		gfile_release(c, &f);
		wd_diags_free(&d);
		return;
	}
	if (chain) {
		if (r->ncands == r->capcands) {
			size_t cap = r->capcands ? r->capcands * 2 : 16;
			struct cmember *v = realloc(r->cands, cap * sizeof *v);
			if (!v) {
				oom(c);
				gfile_release(c, &f);
				wd_diags_free(&d);
				return;
			}
			r->cands = v;
			r->capcands = cap;
		}
		struct cmember *m = &r->cands[r->ncands];
		memset(m, 0, sizeof *m);
		m->display = f.display;
		f.display = NULL;
		m->name = strdup(base_of(name));
		m->dir = dir_of(name);
		for (size_t i = 0; i < d.n; i++)
			d.v[i].file = WD_F_WAL;
		copy_diags(&m->diags, &d);
		if (f.present)
			cmember_walk(m, f.data, f.size, 0);
		r->ncands++;
		gfile_release(c, &f);
		wd_diags_free(&d);
		return;
	}
	if (slot == S_DB) {
		if (r->ndbs == r->capdbs) {
			size_t cap = r->capdbs ? r->capdbs * 2 : 16;
			struct dbdir *v = realloc(r->dbs, cap * sizeof *v);
			if (v) {
				r->dbs = v;
				r->capdbs = cap;
			}
		}
		if (r->ndbs < r->capdbs) {
			struct dbdir *b = &r->dbs[r->ndbs++];
			b->dir = dir_of(name);
			b->display = strdup(f.display);
			b->page_size = page_size_of_header(head, nhead);
		}
	}
	/* Into the pending group of its base name. */
	size_t klen = strlen(name) - cut;
	char *key = malloc(klen + 1);
	if (!key) {
		oom(c);
		gfile_release(c, &f);
		wd_diags_free(&d);
		return;
	}
	memcpy(key, name, klen);
	key[klen] = '\0';
	struct group *g = pending_find(r, key);
	if (g && (g->f[slot].present || (slot == S_DB && g->f[S_DB].looked))) {
		dispatch(r, g);          /* a second copy of the same name: the first is complete */
		g = NULL;
	}
	if (!g) {
		g = pending_add(r, key);
		if (g && slot != S_DB) {
			const struct marker *mk = find_marker(r, key);
			if (mk && !fill_db_from_head(r, g, key, mk->head, mk->nhead))
				oom(c);
		}
	}
	free(key);
	if (!g) {
		oom(c);
		gfile_release(c, &f);
		wd_diags_free(&d);
		return;
	}
	for (size_t i = 0; i < d.n; i++)
		d.v[i].file = slot_file(slot);
	copy_diags(&g->notes, &d);
	wd_diags_free(&d);
	if (!f.present)
		f.size = 0;
	gfile_release(c, &g->f[slot]);
	g->f[slot] = f;
	if (g->f[S_DB].present && g->f[S_WAL].present && g->f[S_SHM].present)
		dispatch(r, g);
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cmember *x = a, *y = b;
	int k = strcmp(x->dir, y->dir);
	return k ? k : strcmp(x->name, y->name);
}

/* Same series: same folder, same name once the sequence number is taken out. */
static bool same_series(const struct cmember *a, const struct cmember *b)
{
	if (strcmp(a->dir, b->dir))
		return false;
	size_t sa, la, sb, lb;
	bool na = chain_split_name(a->name, &sa, &la), nb = chain_split_name(b->name, &sb, &lb);
	if (na != nb)
		return false;
	if (!na)
		return !strcmp(a->name, b->name);
	return sa == sb && !strncmp(a->name, b->name, sa) && !strcmp(a->name + sa + la, b->name + sb + lb);
}

static void finish_chains(struct areader *r)
{
	if (!r->ncands)
		return;
	qsort(r->cands, r->ncands, sizeof *r->cands, cmp_cand);
	for (size_t i = 0; i < r->ncands;) {
		size_t j = i + 1;
		while (j < r->ncands && same_series(&r->cands[i], &r->cands[j]))
			j++;
		const struct cmember *a = &r->cands[i];
		char pat[4096];
		size_t st, len;
		if (chain_split_name(a->name, &st, &len))
			snprintf(pat, sizeof pat, "%s:%s%.*s*%s", r->apath, a->dir, (int)st, a->name, a->name + st + len);
		else
			snprintf(pat, sizeof pat, "%s:%s%s", r->apath, a->dir, a->name);
		/* The base: the one database in the same folder, if there is exactly one. */
		const struct dbdir *base = NULL;
		size_t nbase = 0;
		for (size_t k = 0; k < r->ndbs; k++)
			if (r->dbs[k].dir && !strcmp(r->dbs[k].dir, a->dir)) {
				base = &r->dbs[k];
				nbase++;
			}
		if (nbase != 1)
			base = NULL;
		emit_chain(r->c, r->u, pat, r->apath, &r->cands[i], j - i, base ? base->display : NULL,
			   base ? base->page_size : 0);
		i = j;
	}
}

static void areader_free(struct areader *r)
{
	for (size_t i = 0; i < MARKERS; i++)
		free(r->ring[i].name);
	for (size_t i = 0; i < r->ncands; i++)
		cmember_free(&r->cands[i]);
	free(r->cands);
	for (size_t i = 0; i < r->ndbs; i++) {
		free(r->dbs[i].dir);
		free(r->dbs[i].display);
	}
	free(r->dbs);
	free(r->bucket);
	wd_diags_free(&r->adiags);
}

static void on_entry(struct areader *r, struct sa_tar *t, const struct sa_entry *e)
{
	char esc[512], esc2[512];
	const char *name = e->name;
	if (e->name_cut) {
		member_note(r, name, WD_ARCHIVE_LIMIT, WD_WARNING,
			    "member name longer than %u bytes (cut here): not analysed", SA_NAME_MAX);
		return;
	}
	switch (e->type) {
	case SA_DIR:
	case SA_SPECIAL:
		return;
	case SA_UNSUPPORTED:
		member_note(r, name, WD_ARCHIVE_UNSUPPORTED, WD_WARNING,
			    "'%s' is a %s member: not read", scan_esc(name, esc, sizeof esc),
			    e->typeflag == 'S' ? "GNU sparse" : "multi-volume continuation");
		return;
	case SA_SYMLINK:
	case SA_HARDLINK: {
		bool unsafe = sa_name_unsafe(name) || (e->type == SA_SYMLINK ? e->link[0] == '/' : 0) ||
			      sa_name_unsafe(e->link);
		member_note(r, name, unsafe ? WD_ARCHIVE_UNSAFE_NAME : WD_ARCHIVE_LINK,
			    unsafe ? WD_WARNING : WD_INFO, "%s link '%s' -> '%s': %snot followed",
			    e->type == SA_SYMLINK ? "symbolic" : "hard", scan_esc(name, esc, sizeof esc),
			    scan_esc(e->link, esc2, sizeof esc2), unsafe ? "points out of the archive; " : "");
		return;
	}
	case SA_FILE:
		break;
	}
	uint8_t head[SA_BLOCK];
	uint64_t have = e->size < e->avail ? e->size : e->avail;
	size_t want = have < SA_BLOCK ? (size_t)have : SA_BLOCK;
	size_t nh = sa_tar_read(t, head, want);
	struct reader rd = { tar_fn, tar_skip_fn, t };
	on_file(r, name, e->size, e->avail, rd, head, nh, nh < want);
}

static void run_archive(struct scan_ctx *c, struct unit *u)
{
	struct areader *r = calloc(1, sizeof *r);
	if (!r) {
		oom(c);
		return;
	}
	r->c = c;
	r->u = u;
	r->apath = u->slot[0].display;
	scan_esc(r->apath, r->aesc, sizeof r->aesc);
	int fd = open(u->slot[0].path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st0, st1;
	if (fd < 0 || fstat(fd, &st0) < 0) {
		wd_add(&r->adiags, WD_SCAN_INPUT_UNREADABLE, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
		       "cannot open '%s': %s", r->aesc, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (u->named) {
			pthread_mutex_lock(&c->mu);
			c->noinput = true;
			pthread_mutex_unlock(&c->mu);
		}
		struct dlist l = { &r->adiags, r->apath, NULL };
		emit_findings(c, u, "archive", r->apath, r->apath, NULL, &l, 1, false);
		areader_free(r);
		free(r);
		return;
	}
	struct sa_stream s;
	if (sa_stream_open(&s, fd, r->aesc, c->o->max_ratio, &r->adiags) == 0) {
		uint8_t head[SA_BLOCK];
		size_t nh = sa_stream_read(&s, head, sizeof head);
		if (scan_sniff(head, nh) == SK_TAR) {
			struct sa_tar *t = malloc(sizeof *t);
			if (t) {
				sa_tar_init(t, &s, r->aesc, &r->adiags);
				t->pb_block = head;
				t->has_pb = true;
				struct sa_entry e;
				while (sa_tar_next(t, &e) == 1)
					on_entry(r, t, &e);
				sa_tar_drain(t);
				free(t);
			} else {
				oom(c);
			}
		} else if (nh) {
			/* A gzip file holding one file: named as the file without .gz. */
			r->single = true;
			const char *b = base_of(r->apath);
			char *name = strdup(b);
			if (name) {
				if (name_ends(name, ".gz"))
					name[strlen(name) - 3] = '\0';
				struct reader rd = { stream_fn, NULL, &s };
				on_file(r, name, UINT64_MAX, UINT64_MAX, rd, head, nh, false);
				free(name);
			}
			sa_stream_skip(&s, UINT64_MAX);
		}
	}
	flush_pending(r);
	finish_chains(r);
	if (fstat(fd, &st1) == 0 &&
	    (st1.st_size != st0.st_size || st1.st_mtim.tv_sec != st0.st_mtim.tv_sec ||
	     st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec || st1.st_ino != st0.st_ino))
		wd_add(&r->adiags, WD_SCAN_INPUT_CHANGED, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
		       "'%s' changed while it was read (size %lld -> %lld bytes)", r->aesc,
		       (long long)st0.st_size, (long long)st1.st_size);
	add_bytes(c, s.in_bytes, s.gzip ? s.out_bytes : 0);
	sa_stream_close(&s);
	close(fd);
	if (r->adiags.n) {
		struct dlist l = { &r->adiags, r->apath, NULL };
		emit_findings(c, u, "archive", r->apath, r->apath, NULL, &l, 1, false);
	}
	areader_free(r);
	free(r);
}

/* ---------------------------------------------------------------- the pool */

static void queue_push(struct scan_ctx *c, struct group *g)
{
	g->qnext = NULL;
	if (c->qtail)
		c->qtail->qnext = g;
	else
		c->qhead = g;
	c->qtail = g;
}

static struct group *queue_pop(struct scan_ctx *c)
{
	struct group *g = c->qhead;
	if (g) {
		c->qhead = g->qnext;
		if (!c->qhead)
			c->qtail = NULL;
	}
	return g;
}

static void print_unit(struct scan_ctx *c, struct unit *u)
{
	if (c->progress_drawn) {
		fputs("\r\033[K", c->err);
		c->progress_drawn = false;
	}
	for (size_t i = 0; i < u->nrecs; i++) {
		fwrite(u->recs[i]->out, 1, u->recs[i]->len, c->out);
		free(u->recs[i]->out);
		free(u->recs[i]->path);
		free(u->recs[i]);
	}
	u->nrecs = 0;
	fflush(c->out);
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = *(const struct rec *const *)a, *y = *(const struct rec *const *)b;
	return strcmp(x->path, y->path);
}

/* Called with the lock held: one task of u is over. */
static void task_done(struct scan_ctx *c, struct unit *u)
{
	if (--u->outstanding)
		return;
	u->done = true;
	c->units_done++;
	if (c->o->unordered) {
		print_unit(c, u);
		return;
	}
	if (u->nrecs > 1)
		qsort(u->recs, u->nrecs, sizeof *u->recs, cmp_rec);
	while (c->next_print < c->nunits && c->units[c->next_print]->done)
		print_unit(c, c->units[c->next_print++]);
}

static void run_group(struct scan_ctx *c, struct group *g)
{
	struct unit *u = g->u;
	analyse_group(c, g);
	group_free(c, g);
	pthread_mutex_lock(&c->mu);
	task_done(c, u);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void run_note(struct scan_ctx *c, struct unit *u)
{
	struct wd_diags d = { 0 };
	wd_add_sev(&d, u->code, u->sev, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE, "%s", u->msg ? u->msg : "");
	struct dlist l = { &d, u->key, NULL };
	emit_findings(c, u, "entry", u->key, NULL, NULL, &l, 1, false);
	wd_diags_free(&d);
	if (u->noinput) {
		pthread_mutex_lock(&c->mu);
		c->noinput = true;
		pthread_mutex_unlock(&c->mu);
	}
}

static void *worker(void *arg)
{
	struct scan_ctx *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct group *g = queue_pop(c);
		if (g) {
			pthread_mutex_unlock(&c->mu);
			run_group(c, g);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		if (c->next_unit < c->nunits) {
			struct unit *u = c->units[c->next_unit++];
			u->outstanding = 1;
			bool reader = u->kind == U_ARCHIVE;
			if (reader)
				c->readers++;
			pthread_mutex_unlock(&c->mu);
			switch (u->kind) {
			case U_GROUP: run_disk_group(c, u); break;
			case U_ARCHIVE: run_archive(c, u); break;
			case U_CHAIN: run_disk_chain(c, u); break;
			case U_NOTE: run_note(c, u); break;
			}
			pthread_mutex_lock(&c->mu);
			if (reader)
				c->readers--;
			task_done(c, u);
			pthread_cond_broadcast(&c->cv);
			continue;
		}
		if (!c->readers)
			break;
		c->nwaiting++;
		pthread_cond_wait(&c->cv, &c->mu);
		c->nwaiting--;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ---------------------------------------------------------------- progress and summary */

static void draw_progress(struct scan_ctx *c)
{
	char rd[32], rate[32];
	double t = elapsed(&c->t0);
	human(c->bytes_read, rd, sizeof rd);
	human(t > 0 ? (uint64_t)((double)c->bytes_read / t) : 0, rate, sizeof rate);
	unsigned pct = c->nunits ? (unsigned)(c->units_done * 100 / c->nunits) : 100;
	int bar = (int)(pct / 5);
	fprintf(c->err, "\r\033[K[%.*s%*s] %3u%% %zu/%zu inputs, %zu databases, %s, %s/s", bar,
		"####################", 20 - bar, "", pct, c->units_done, c->nunits, c->ndb, rd, rate);
	fflush(c->err);
	c->progress_drawn = true;
}

static void *progress_thread(void *arg)
{
	struct scan_ctx *c = arg;
	pthread_mutex_lock(&c->mu);
	draw_progress(c);
	while (!c->stop_progress) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->pcv, &c->mu, &ts);
		if (!c->stop_progress)
			draw_progress(c);
	}
	if (c->progress_drawn) {
		fputs("\r\033[K", c->err);
		c->progress_drawn = false;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void summary(struct scan_ctx *c)
{
	char rd[32], inf[32], rate[32], peak[32];
	double t = elapsed(&c->t0);
	human(c->bytes_read, rd, sizeof rd);
	human(c->bytes_inflated, inf, sizeof inf);
	human(t > 0 ? (uint64_t)((double)c->bytes_read / t) : 0, rate, sizeof rate);
	human(c->mem_peak, peak, sizeof peak);
	fprintf(c->err, "scan: %zu database%s: %zu ok, %zu warning, %zu error", c->ndb, c->ndb == 1 ? "" : "s",
		c->nstatus[0], c->nstatus[1], c->nstatus[2]);
	if (c->nother)
		fprintf(c->err, "; %zu other finding%s (%zu warning, %zu error)", c->nother,
			c->nother == 1 ? "" : "s", c->nother_status[1], c->nother_status[2]);
	fprintf(c->err, "; %s read", rd);
	if (c->bytes_inflated)
		fprintf(c->err, " (%s inflated)", inf);
	fprintf(c->err, " in %.2f s, %s/s; member memory peak %s\n", t, rate, peak);
}

/* ---------------------------------------------------------------- the run */

static int cmp_unit(const void *a, const void *b)
{
	const struct unit *x = *(const struct unit *const *)a, *y = *(const struct unit *const *)b;
	int k = strcmp(x->key, y->key);
	if (k)
		return k;
	return x < y ? -1 : x > y;   /* stable enough: keep the first of two equal keys below */
}

static int read_files_from(const struct scan_opts *o, const struct walk_opts *wo, struct unit_list *l, FILE *err)
{
	FILE *f = strcmp(o->files_from, "-") ? fopen(o->files_from, "re") : stdin;
	if (!f) {
		fprintf(err, "waldo: cannot open '%s': %s\n", o->files_from, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getdelim(&line, &cap, o->null_sep ? '\0' : '\n', f)) > 0) {
		if (!o->null_sep && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[0])
			scan_walk_input(line, wo, l);
	}
	bool bad = ferror(f);
	free(line);
	if (f != stdin)
		fclose(f);
	if (bad) {
		fprintf(err, "waldo: error reading '%s'\n", o->files_from);
		return -1;
	}
	return 0;
}

int scan_run(const struct scan_opts *oin, int npaths, char *const *paths, FILE *out, FILE *err)
{
	struct scan_opts o = *oin;
	if (!o.jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.jobs = n > 0 ? (unsigned)n : 1;
	}
	if (!o.max_member)
		o.max_member = SCAN_MAX_MEMBER_DEFAULT;
	if (!o.max_memory) {
		o.max_memory = o.max_member * MEMORY_MEMBERS;
		if (o.max_memory < MEMORY_FLOOR)
			o.max_memory = MEMORY_FLOOR;
	}
	struct scan_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return 70;
	c->o = &o;
	c->out = out;
	c->err = err;
	c->mem_budget = o.max_memory;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);

	struct unit_list l = { 0 };
	struct walk_opts wo = { .recursive = o.recursive };
	for (int i = 0; i < npaths; i++)
		scan_walk_input(paths[i], &wo, &l);
	int status = 0;
	if (o.files_from && read_files_from(&o, &wo, &l, err))
		status = 66;

	/* Sorted by path; two inputs naming the same database count once. */
	if (l.n > 1)
		qsort(l.v, l.n, sizeof *l.v, cmp_unit);
	size_t k = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct unit *u = l.v[i];
		bool dup = k && !strcmp(l.v[k - 1]->key, u->key);
		bool mine = !o.shard_n || scan_shard_hash(u->key) % o.shard_n == o.shard_i - 1;
		if (dup || !mine) {
			if (dup && u->named)
				l.v[k - 1]->named = true;
			scan_unit_free(u);
			continue;
		}
		l.v[k++] = u;
	}
	l.n = k;
	c->units = l.v;
	c->nunits = l.n;

	/* SQLite's files and materialised states go to one private folder. */
	char tmp[4096], terr[256];
	char *old_tmpdir = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	bool have_tmp = tmpdir_make(tmp, sizeof tmp, terr, sizeof terr) == 0;
	if (have_tmp)
		setenv("TMPDIR", tmp, 1);

	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->pcv, NULL);
	pthread_cond_init(&c->gcv, NULL);
	c->progress = !o.quiet && (o.progress == 1 || (o.progress == -1 && isatty(fileno(err))));
	pthread_t pt;
	bool have_pt = c->progress && pthread_create(&pt, NULL, progress_thread, c) == 0;
	c->nthreads = o.jobs;
	if (c->nthreads > c->nunits)
		c->nthreads = c->nunits ? (unsigned)c->nunits : 1;
	pthread_t *th = calloc(c->nthreads, sizeof *th);
	unsigned started = 0;
	for (unsigned i = 0; th && i < c->nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, c) == 0)
			started++;
	if (!started) {
		c->nthreads = 1;
		worker(c);
	} else {
		pthread_mutex_lock(&c->mu);
		c->nthreads = started;
		pthread_mutex_unlock(&c->mu);
		for (unsigned i = 0; i < started; i++)
			pthread_join(th[i], NULL);
	}
	free(th);
	if (have_pt) {
		pthread_mutex_lock(&c->mu);
		c->stop_progress = true;
		pthread_cond_signal(&c->pcv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(pt, NULL);
	}
	/* Whatever has not been printed (a unit whose record list was never completed). */
	while (c->next_print < c->nunits)
		print_unit(c, c->units[c->next_print++]);
	if (have_tmp) {
		tmpdir_remove(tmp);
		if (old_tmpdir)
			setenv("TMPDIR", old_tmpdir, 1);
		else
			unsetenv("TMPDIR");
	}
	free(old_tmpdir);
	if (!o.quiet)
		summary(c);
	if (!status)
		status = c->worst;
	if (c->noinput)
		status = 66;
	if (c->oom || l.oom) {
		fprintf(err, "waldo: out of memory: the scan is incomplete\n");
		status = 70;
	}
	for (size_t i = 0; i < c->nunits; i++)
		scan_unit_free(c->units[i]);
	free(c->units);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->pcv);
	pthread_cond_destroy(&c->gcv);
	free(c);
	return status;
}
