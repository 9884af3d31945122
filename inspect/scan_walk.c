/*
 * scan_walk.c — finding the inputs of `waldo scan` and grouping files into
 * databases.
 *
 * Files are recognised by content, never by name: the 16-byte SQLite
 * header, the WAL magic, the journal magic, a tar header, the gzip magic
 * (whose first inflated bytes are recognised the same way).  Names only
 * pair files: a database NAME takes NAME-wal, NAME-shm and NAME-journal
 * (plain or .gz) whatever their content, as `waldo inspect NAME` does; a
 * WAL named NAME-wal without a database NAME beside it is analysed alone;
 * any other WAL is a member of a series (scan_chain.c), grouped by its name
 * with the sequence number taken out.
 *
 * Directories are walked with an explicit stack, each listed in byte order
 * of names.  Symbolic links found inside a walk are not followed: a target
 * inside the tree is scanned under its own path anyway, and a target
 * outside it is reported (SCAN_SKIPPED) — name it on the command line to
 * scan it.  A directory reached twice (a bind mount loop) is entered once.
 */
#include "scan_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "files.h"
#include "scan_archive.h"
#include "report.h"
#include "scan_chain.h"
#include "../formats/dbheader.h"

#define SNIFF_BYTES SA_BLOCK
#define SNIFF_GZ_INPUT (64 * 1024)   /* compressed bytes read to sniff a .gz */

char *scan_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *scan_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	bool slash = a && dir[a - 1] != '/';
	char *p = malloc(a + slash + b + 1);
	if (!p)
		return NULL;
	memcpy(p, dir, a);
	if (slash)
		p[a] = '/';
	memcpy(p + a + slash, name, b + 1);
	return p;
}

const char *scan_esc(const char *s, char *buf, size_t n)
{
	return report_esc_into(s, strlen(s), buf, n, false);
}

static bool ends_with(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a >= b && !strcmp(s + a - b, sfx);
}

enum sniff_kind scan_sniff(const uint8_t *p, size_t n)
{
	switch (wf_sniff(p, n, NULL)) {
	case WF_EMPTY: return SK_EMPTY;
	case WF_DB: return SK_DB;
	case WF_WAL: return SK_WAL;
	case WF_JOURNAL: return SK_JOURNAL;
	case WF_SHM: return SK_SHM;
	default: break;
	}
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return SK_GZIP;
	/* A tar whose first header is damaged still says "ustar" at 257: the
	 * archive reader reports the header and skips to the next one. */
	if (sa_tar_is_header(p, n) || (n >= SA_BLOCK && !memcmp(p + 257, "ustar", 5)))
		return SK_TAR;
	return SK_UNKNOWN;
}

/* Inflate the first bytes of a gzip file and recognise them. */
static enum sniff_kind sniff_gzip(int fd)
{
	uint8_t *in = malloc(SNIFF_GZ_INPUT);
	uint8_t out[SNIFF_BYTES];
	if (!in)
		return SK_GZIP_BROKEN;
	ssize_t k = pread(fd, in, SNIFF_GZ_INPUT, 0);
	z_stream z;
	memset(&z, 0, sizeof z);
	enum sniff_kind r = SK_GZIP_BROKEN;
	if (k > 0 && inflateInit2(&z, 16 + MAX_WBITS) == Z_OK) {
		z.next_in = in;
		z.avail_in = (uInt)k;
		z.next_out = out;
		z.avail_out = sizeof out;
		int rc = inflate(&z, Z_SYNC_FLUSH);
		size_t got = sizeof out - z.avail_out;
		if (rc == Z_STREAM_END || (rc == Z_OK && got == sizeof out) ||
		    (rc == Z_BUF_ERROR && got == sizeof out)) {
			r = scan_sniff(out, got);
			if (r == SK_GZIP || r == SK_EMPTY)
				r = SK_UNKNOWN;      /* gzip in gzip, or nothing: not ours */
		} else if (rc == Z_OK && (size_t)k < SNIFF_GZ_INPUT) {
			r = SK_GZIP_BROKEN;      /* the file ends before 512 bytes inflate: truncated */
		} else if (rc == Z_OK || rc == Z_BUF_ERROR) {
			r = got ? scan_sniff(out, got) : SK_GZIP_BROKEN;
		}
		inflateEnd(&z);
	}
	free(in);
	return r;
}

struct sniffed {
	enum sniff_kind kind;    /* of the content (inflated for gzip) */
	bool gz;                 /* a gzip file */
	int err;                 /* errno when it could not be read */
};

static struct sniffed sniff_path(const char *path)
{
	struct sniffed s = { SK_UNKNOWN, false, 0 };
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		s.err = errno;
		return s;
	}
	uint8_t b[SNIFF_BYTES];
	ssize_t k = pread(fd, b, sizeof b, 0);
	if (k < 0) {
		s.err = errno;
	} else {
		s.kind = scan_sniff(b, (size_t)k);
		if (s.kind == SK_GZIP) {
			s.gz = true;
			s.kind = sniff_gzip(fd);
		}
	}
	close(fd);
	return s;
}

/* ---------------------------------------------------------------- units */

static struct unit *unit_new(struct unit_list *l, enum unit_kind kind, const char *key)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct unit **v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			l->oom = true;
			return NULL;
		}
		l->v = v;
		l->cap = cap;
	}
	struct unit *u = calloc(1, sizeof *u);
	if (!u || !(u->key = strdup(key))) {
		free(u);
		l->oom = true;
		return NULL;
	}
	u->kind = kind;
	l->v[l->n++] = u;
	return u;
}

static void src_free(struct src *s)
{
	free(s->path);
	free(s->display);
	memset(s, 0, sizeof *s);
}

void scan_unit_free(struct unit *u)
{
	if (!u)
		return;
	for (int i = 0; i < S_N; i++)
		src_free(&u->slot[i]);
	for (size_t i = 0; i < u->nchain; i++)
		src_free(&u->chain[i]);
	free(u->chain);
	src_free(&u->base);
	free(u->pattern);
	free(u->msg);
	free(u->key);
	free(u->recs);
	free(u);
}

void scan_note(struct unit_list *l, const char *key, enum wd_code code, enum wd_severity sev,
	       bool noinput, const char *fmt, ...)
{
	struct unit *u = unit_new(l, U_NOTE, key);
	if (!u)
		return;
	char msg[WD_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	u->code = code;
	u->sev = sev;
	u->noinput = noinput;
	u->named = noinput;
	u->msg = strdup(msg);
	if (!u->msg)
		l->oom = true;
}

static bool src_set(struct src *s, const char *path, const char *display, bool gz, bool absent)
{
	s->path = strdup(path);
	s->display = strdup(display);
	s->gz = gz;
	s->absent = absent;
	return s->path && s->display;
}

static bool is_regular(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * The sibling base+suffix of a named file: plain if it exists, else
 * base+suffix+".gz" when that is a gzip file, else looked for and absent.
 */
static bool sibling(struct src *s, const char *base, const char *suffix)
{
	size_t a = strlen(base), b = strlen(suffix);
	char *p = malloc(a + b + 4);
	if (!p)
		return false;
	memcpy(p, base, a);
	memcpy(p + a, suffix, b + 1);
	bool ok;
	if (is_regular(p)) {
		ok = src_set(s, p, p, false, false);
	} else {
		memcpy(p + a + b, ".gz", 4);
		if (is_regular(p) && sniff_path(p).gz) {
			ok = src_set(s, p, p, true, false);
		} else {
			p[a + b] = '\0';
			ok = src_set(s, p, p, false, true);
		}
	}
	free(p);
	return ok;
}

static const char *const slot_suffix[S_N] = { "", "-wal", "-shm", "-journal" };

/*
 * A file the user named: an archive, or one file of a database whose
 * siblings are found by name, with the rules of wf_set_open (an empty or
 * unrecognised file is the database unless its name ends in -wal / -shm).
 */
static void named_file(const char *path, struct unit_list *l)
{
	struct sniffed s = sniff_path(path);
	char esc[512];
	if (s.err) {
		scan_note(l, path, WD_SCAN_INPUT_UNREADABLE, WD_ERROR, true, "cannot read '%s': %s",
			  scan_esc(path, esc, sizeof esc), strerror(s.err));
		return;
	}
	if (s.kind == SK_TAR || s.kind == SK_GZIP_BROKEN || (s.gz && (s.kind == SK_UNKNOWN || s.kind == SK_EMPTY))) {
		struct unit *u = unit_new(l, U_ARCHIVE, path);
		if (u) {
			u->named = true;
			if (!src_set(&u->slot[0], path, path, s.gz, false))
				l->oom = true;
		}
		return;
	}
	/* The name SQLite would use: without .gz for a compressed file. */
	char *logical = strdup(path);
	if (!logical) {
		l->oom = true;
		return;
	}
	if (s.gz && ends_with(logical, ".gz"))
		logical[strlen(logical) - 3] = '\0';
	int k;
	switch (s.kind) {
	case SK_WAL: k = S_WAL; break;
	case SK_SHM: k = S_SHM; break;
	case SK_JOURNAL: k = S_JOURNAL; break;
	case SK_DB: k = S_DB; break;
	default:
		k = ends_with(logical, "-wal") ? S_WAL : ends_with(logical, "-shm") ? S_SHM : S_DB;
		break;
	}
	bool have_base = k == S_DB || ends_with(logical, slot_suffix[k]);
	if (have_base && k != S_DB)
		logical[strlen(logical) - strlen(slot_suffix[k])] = '\0';
	struct unit *u = unit_new(l, U_GROUP, path);
	if (!u) {
		free(logical);
		return;
	}
	u->named = true;
	bool ok = src_set(&u->slot[k], path, path, s.gz, false);
	for (int i = 0; i < S_N && ok && have_base; i++)
		if (i != k)
			ok = sibling(&u->slot[i], logical, slot_suffix[i]);
	/* The record is keyed by the database's path when there is one. */
	if (ok && k != S_DB && u->slot[S_DB].path && !u->slot[S_DB].absent) {
		char *key = strdup(u->slot[S_DB].display);
		if (key) {
			free(u->key);
			u->key = key;
		}
	}
	if (!ok)
		l->oom = true;
	free(logical);
}

/* ---------------------------------------------------------------- directories */

struct dent {
	char *name;              /* as listed */
	char *logical;           /* without .gz for a gzip file */
	enum sniff_kind kind;
	bool gz;
	bool claimed;
};

struct devino {
	dev_t dev;
	ino_t ino;
};

struct visited {
	struct devino *v;
	size_t n, cap;           /* open addressing, cap a power of two */
};

static size_t devino_hash(dev_t d, ino_t i, size_t cap)
{
	uint64_t h = (uint64_t)d * 0x9e3779b97f4a7c15ull ^ (uint64_t)i * 0xc2b2ae3d27d4eb4full;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Insert; returns 1 when new, 0 when already there, -1 out of memory. */
static int visited_add(struct visited *s, dev_t dev, ino_t ino)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct devino *v = calloc(cap, sizeof *v);
		if (!v)
			return -1;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i].ino && !s->v[i].dev)
				continue;
			size_t h = devino_hash(s->v[i].dev, s->v[i].ino, cap);
			while (v[h].ino || v[h].dev)
				h = (h + 1) & (cap - 1);
			v[h] = s->v[i];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	size_t h = devino_hash(dev, ino, s->cap);
	while (s->v[h].ino || s->v[h].dev) {
		if (s->v[h].dev == dev && s->v[h].ino == ino)
			return 0;
		h = (h + 1) & (s->cap - 1);
	}
	s->v[h].dev = dev;
	s->v[h].ino = ino;
	s->n++;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_logical(const void *a, const void *b)
{
	const struct dent *x = *(const struct dent *const *)a, *y = *(const struct dent *const *)b;
	int c = strcmp(x->logical, y->logical);
	if (c)
		return c;
	return (int)x->gz - (int)y->gz;      /* the plain file first */
}

struct folder {
	const char *dir;
	struct dent *v;
	size_t n;
	struct dent **by_logical;
};

static struct dent *lookup(struct folder *f, const char *logical)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->by_logical[mid]->logical, logical);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n && !strcmp(f->by_logical[lo]->logical, logical) ? f->by_logical[lo] : NULL;
}

static bool src_from_dent(struct src *s, struct folder *f, const struct dent *e)
{
	char *p = scan_join(f->dir, e->name);
	if (!p)
		return false;
	bool ok = src_set(s, p, p, e->gz, false);
	free(p);
	return ok;
}

/* Fill the sibling slot: an unclaimed entry named base+suffix, else looked for and absent. */
static bool dir_sibling(struct src *s, struct folder *f, const char *base, const char *suffix)
{
	size_t a = strlen(base), b = strlen(suffix);
	char *name = malloc(a + b + 1);
	if (!name)
		return false;
	memcpy(name, base, a);
	memcpy(name + a, suffix, b + 1);
	struct dent *e = lookup(f, name);
	bool ok;
	if (e && !e->claimed && e->kind != SK_TAR && e->kind != SK_GZIP_BROKEN) {
		e->claimed = true;
		ok = src_from_dent(s, f, e);
	} else {
		char *p = scan_join(f->dir, name);
		ok = p && src_set(s, p, p, false, true);
		free(p);
	}
	free(name);
	return ok;
}

static void group_folder(struct folder *f, struct unit_list *l)
{
	f->by_logical = malloc((f->n ? f->n : 1) * sizeof *f->by_logical);
	if (!f->by_logical) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i < f->n; i++)
		f->by_logical[i] = &f->v[i];
	qsort(f->by_logical, f->n, sizeof *f->by_logical, cmp_logical);

	size_t ndb = 0;
	struct dent *one_db = NULL;
	/* Archives, and databases with their siblings. */
	for (size_t i = 0; i < f->n; i++) {
		struct dent *e = &f->v[i];
		char *p;
		if (e->kind == SK_TAR || e->kind == SK_GZIP_BROKEN) {
			if (!(p = scan_join(f->dir, e->name))) {
				l->oom = true;
				continue;
			}
			struct unit *u = unit_new(l, U_ARCHIVE, p);
			if (u && !src_set(&u->slot[0], p, p, e->gz, false))
				l->oom = true;
			free(p);
			e->claimed = true;
		} else if (e->kind == SK_DB && !e->claimed) {
			ndb++;
			one_db = e;
			if (!(p = scan_join(f->dir, e->name))) {
				l->oom = true;
				continue;
			}
			struct unit *u = unit_new(l, U_GROUP, p);
			free(p);
			if (!u)
				continue;
			e->claimed = true;
			bool ok = src_from_dent(&u->slot[S_DB], f, e);
			for (int k = S_WAL; k < S_N && ok; k++)
				ok = dir_sibling(&u->slot[k], f, e->logical, slot_suffix[k]);
			if (!ok)
				l->oom = true;
		}
	}
	/* WALs named NAME-wal whose NAME is not a database: analysed as inspect would. */
	for (size_t i = 0; i < f->n; i++) {
		struct dent *e = &f->v[i];
		if (e->claimed || e->kind != SK_WAL || !ends_with(e->logical, "-wal"))
			continue;
		char *base = strdup(e->logical), *p = scan_join(f->dir, e->name);
		if (!base || !p) {
			free(base);
			free(p);
			l->oom = true;
			continue;
		}
		base[strlen(base) - 4] = '\0';
		struct dent *b = lookup(f, base);
		struct unit *u = unit_new(l, U_GROUP, p);
		if (u) {
			e->claimed = true;
			bool ok = src_from_dent(&u->slot[S_WAL], f, e);
			if (ok && b && !b->claimed && b->kind != SK_TAR && b->kind != SK_GZIP_BROKEN) {
				b->claimed = true;
				ok = src_from_dent(&u->slot[S_DB], f, b);
			} else if (ok) {
				char *dp = scan_join(f->dir, base);
				ok = dp && src_set(&u->slot[S_DB], dp, dp, false, true);
				free(dp);
			}
			for (int k = S_SHM; k < S_N && ok; k++)
				ok = dir_sibling(&u->slot[k], f, base, slot_suffix[k]);
			if (!ok)
				l->oom = true;
		}
		free(base);
		free(p);
	}
	/* Every other WAL: series grouped by name without the sequence number. */
	for (size_t i = 0; i < f->n; i++) {
		struct dent *e = &f->v[i];
		if (e->claimed || e->kind != SK_WAL)
			continue;
		size_t st, len;
		bool num = chain_split_name(e->logical, &st, &len);
		char pattern[PATH_MAX];
		if (num)
			snprintf(pattern, sizeof pattern, "%.*s*%s", (int)st, e->logical, e->logical + st + len);
		else
			snprintf(pattern, sizeof pattern, "%s", e->logical);
		char *p = scan_join(f->dir, pattern);
		struct unit *u = p ? unit_new(l, U_CHAIN, p) : NULL;
		if (!u) {
			free(p);
			l->oom = true;
			continue;
		}
		u->pattern = p;
		/* Collect every unclaimed WAL of the same series (names in order). */
		for (size_t j = i; j < f->n; j++) {
			struct dent *m = &f->v[j];
			if (m->claimed || m->kind != SK_WAL)
				continue;
			size_t st2, len2;
			bool num2 = chain_split_name(m->logical, &st2, &len2);
			if (num != num2)
				continue;
			if (num ? (st2 != st || strncmp(m->logical, e->logical, st) ||
				   strcmp(m->logical + st2 + len2, e->logical + st + len))
				: strcmp(m->logical, e->logical))
				continue;
			struct src *v = realloc(u->chain, (u->nchain + 1) * sizeof *v);
			if (!v) {
				l->oom = true;
				break;
			}
			u->chain = v;
			memset(&v[u->nchain], 0, sizeof *v);
			if (!src_from_dent(&v[u->nchain], f, m)) {
				l->oom = true;
				break;
			}
			u->nchain++;
			m->claimed = true;
		}
		if (ndb == 1 && !src_from_dent(&u->base, f, one_db))
			l->oom = true;
	}
	free(f->by_logical);
	f->by_logical = NULL;
}

static void free_folder(struct folder *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].logical);
	}
	free(f->v);
	memset(f, 0, sizeof *f);
}

/* Is `real` the directory `root` or inside it? */
static bool inside(const char *real, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return true;
	return !strncmp(real, root, n) && (real[n] == '\0' || real[n] == '/');
}

static void walk_tree(const char *root, const struct walk_opts *o, struct unit_list *l)
{
	char esc[512], esc2[512], esc3[512];
	char *root_real = realpath(root, NULL);
	if (!root_real) {
		scan_note(l, root, WD_SCAN_INPUT_UNREADABLE, WD_ERROR, true, "cannot resolve '%s': %s",
			  scan_esc(root, esc, sizeof esc), strerror(errno));
		return;
	}
	struct visited seen = { 0 };
	char **stack = NULL;
	size_t nstack = 0, capstack = 0;
	char *first = strdup(root);
	if (!first) {
		l->oom = true;
		free(root_real);
		return;
	}
	stack = malloc(sizeof *stack);
	if (!stack) {
		free(first);
		free(root_real);
		l->oom = true;
		return;
	}
	stack[nstack++] = first;
	capstack = 1;
	bool is_root = true;
	for (; nstack; is_root = false) {
		char *dir = stack[--nstack];
		struct stat dst;
		DIR *d = NULL;
		if (stat(dir, &dst) == 0) {
			int r = visited_add(&seen, dst.st_dev, dst.st_ino);
			if (r < 0)
				l->oom = true;
			if (r <= 0) {
				if (r == 0)
					scan_note(l, dir, WD_SCAN_SKIPPED, WD_INFO, false,
						  "'%s' was already walked (a bind mount or loop): not entered again",
						  scan_esc(dir, esc, sizeof esc));
				free(dir);
				continue;
			}
			d = opendir(dir);
		}
		if (!d) {
			scan_note(l, dir, WD_SCAN_INPUT_UNREADABLE, WD_ERROR, is_root, "cannot list '%s': %s",
				  scan_esc(dir, esc, sizeof esc), strerror(errno));
			free(dir);
			continue;
		}
		char **names = NULL;
		size_t nn = 0, capn = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (nn == capn) {
				size_t cap = capn ? capn * 2 : 32;
				char **v = realloc(names, cap * sizeof *v);
				if (!v)
					break;
				names = v;
				capn = cap;
			}
			if (!(names[nn] = strdup(de->d_name)))
				break;
			nn++;
		}
		closedir(d);
		if (nn)
			qsort(names, nn, sizeof *names, cmp_str);
		struct folder f = { .dir = dir };
		f.v = calloc(nn ? nn : 1, sizeof *f.v);
		char **subdirs = calloc(nn ? nn : 1, sizeof *subdirs);
		size_t nsub = 0;
		if (!f.v || !subdirs) {
			l->oom = true;
			nn = 0;
		}
		for (size_t i = 0; i < nn; i++) {
			char *p = scan_join(dir, names[i]);
			struct stat st;
			if (!p) {
				l->oom = true;
				continue;
			}
			if (lstat(p, &st) < 0) {
				free(p);
				continue;                /* vanished since the listing */
			}
			if (S_ISLNK(st.st_mode)) {
				char *real = realpath(p, NULL);
				if (real && !inside(real, root_real)) {
					scan_note(l, p, WD_SCAN_SKIPPED, WD_INFO, false,
						  "symbolic link '%s' leads out of '%s' (to '%s'): not followed",
						  scan_esc(p, esc, sizeof esc), scan_esc(root, esc2, sizeof esc2),
						  scan_esc(real, esc3, sizeof esc3));
				}
				/* inside the tree: its target is scanned under its own path */
				free(real);
				free(p);
				continue;
			}
			if (S_ISDIR(st.st_mode)) {
				if (o->recursive)
					subdirs[nsub++] = p;
				else
					free(p);
				continue;
			}
			if (!S_ISREG(st.st_mode)) {
				free(p);
				continue;
			}
			struct sniffed s = sniff_path(p);
			if (s.err) {
				scan_note(l, p, WD_SCAN_INPUT_UNREADABLE, WD_ERROR, false, "cannot read '%s': %s",
					  scan_esc(p, esc, sizeof esc), strerror(s.err));
				free(p);
				continue;
			}
			free(p);
			if (s.gz && (s.kind == SK_UNKNOWN || s.kind == SK_EMPTY))
				continue;                /* a compressed file that is no database */
			struct dent *e = &f.v[f.n];
			e->name = names[i];
			names[i] = NULL;
			e->logical = strdup(e->name);
			if (!e->logical) {
				free(e->name);
				l->oom = true;
				continue;
			}
			if (s.gz && ends_with(e->logical, ".gz"))
				e->logical[strlen(e->logical) - 3] = '\0';
			e->kind = s.kind;
			e->gz = s.gz;
			f.n++;
		}
		group_folder(&f, l);
		free_folder(&f);
		for (size_t i = 0; i < nn; i++)
			free(names[i]);
		free(names);
		/* Subdirectories in reverse so that they come off the stack in order. */
		if (nstack + nsub > capstack) {
			size_t cap = (nstack + nsub) * 2;
			char **v = realloc(stack, cap * sizeof *v);
			if (!v) {
				l->oom = true;
				for (size_t i = 0; i < nsub; i++)
					free(subdirs[i]);
				nsub = 0;
			} else {
				stack = v;
				capstack = cap;
			}
		}
		for (size_t i = nsub; i > 0; i--)
			stack[nstack++] = subdirs[i - 1];
		free(subdirs);
		free(dir);
	}
	free(stack);
	free(seen.v);
	free(root_real);
}

void scan_walk_input(const char *path, const struct walk_opts *o, struct unit_list *l)
{
	struct stat st;
	char esc[512];
	if (stat(path, &st) < 0) {
		scan_note(l, path, WD_SCAN_INPUT_UNREADABLE, WD_ERROR, true, "cannot read '%s': %s",
			  scan_esc(path, esc, sizeof esc), strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode))
		walk_tree(path, o, l);
	else if (S_ISREG(st.st_mode))
		named_file(path, l);
	else
		scan_note(l, path, WD_SCAN_INPUT_UNREADABLE, WD_ERROR, true,
			  "'%s' is not a regular file or a directory", scan_esc(path, esc, sizeof esc));
}
