/*
 * pagehash.c — parallel per-page SHA-256 and the manifest; see pagehash.h
 * and docs/manifest.md.
 *
 * Hashing.  The pages of the state (1..npages) are cut into chunks of
 * HASH_CHUNK pages that the threads take in turn from an atomic counter, so
 * that a thread slowed down (a busy core, pages of the database file still
 * to fault in where another thread has pages the WAL walk already touched)
 * leaves its share to the others instead of holding up the end.  Each
 * thread owns one EVP_MD_CTX and hashes every page straight from the
 * read-only mapping of the database file or the WAL (model_page), so no
 * page is ever copied and no memory is allocated per page.  Results land
 * in per-page slots that no two threads share, so the threads need no
 * lock.  The digest algorithm is fetched once (OpenSSL 3) instead of once
 * per EVP_DigestInit_ex.
 *
 * The state hash does not re-read the pages: it is a hash over the page
 * digests (and their page numbers), so it costs 36 bytes of hashing per
 * page and keeps the work parallel.
 *
 * Manifest grammar (docs/manifest.md has the full text):
 *
 *   waldo-manifest 1                 first line, exactly
 *   KEY VALUE                        header lines: page_size, pages,
 *                                    state_hash required; others optional
 *   # comment                        anywhere after the first line
 *   PGNO HEX64                       one line per page, ascending, every
 *   PGNO missing                     page 1..pages exactly once; a run of
 *   FIRST-LAST missing               missing pages may be one range line
 */
#include "pagehash.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "../formats/bytes.h"

#define LINE_MAX_BYTES 4096        /* longest manifest line we accept */
#define STATE_BATCH 256            /* state-hash records gathered per EVP update */
#define STATE_REC (4 + PH_DIGEST)  /* page number + digest */

/* ---- states ---- */

int ph_state_parse(const char *s, struct ph_state *st)
{
	memset(st, 0, sizeof *st);
	if (!strcmp(s, "db")) {
		st->kind = PH_STATE_DB;
		return 0;
	}
	if (!strcmp(s, "effective")) {
		st->kind = PH_STATE_EFFECTIVE;
		return 0;
	}
	if (!strncmp(s, "commit=", 7) && s[7] >= '0' && s[7] <= '9') {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(s + 7, &end, 10);
		if (errno || *end || v >= UINT32_MAX)
			return -1;
		st->kind = PH_STATE_COMMIT;
		st->commit = (uint32_t)v;
		return 0;
	}
	return -1;
}

uint32_t ph_state_k(const struct ph_state *st)
{
	switch (st->kind) {
	case PH_STATE_DB:
		return 0;
	case PH_STATE_COMMIT:
		return st->commit;
	case PH_STATE_EFFECTIVE:
	default:
		return MODEL_LAST;
	}
}

int ph_state_check(const struct ph_state *st, const struct model *m, char *err, size_t errlen)
{
	if (st->kind == PH_STATE_COMMIT && st->commit > model_ncommits(m)) {
		snprintf(err, errlen, "commit %u out of range: '%s' has %u commit%s SQLite would read",
			 st->commit, m->files.db.path ? m->files.db.path : "?", model_ncommits(m),
			 model_ncommits(m) == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

const char *ph_state_name(const struct ph_state *st, char *buf, size_t n)
{
	switch (st->kind) {
	case PH_STATE_DB:
		snprintf(buf, n, "db");
		break;
	case PH_STATE_COMMIT:
		snprintf(buf, n, "commit=%u", st->commit);
		break;
	case PH_STATE_EFFECTIVE:
	default:
		snprintf(buf, n, "effective");
		break;
	}
	return buf;
}

bool ph_state_header(const struct model *m, uint32_t k, struct db_header *h)
{
	memset(h, 0, sizeof *h);
	const uint8_t *p1 = model_page(m, k, 1, NULL);
	if (!p1 || m->page_size < DBH_SIZE)
		return false;
	struct wd_diags d = { 0 };      /* the model already reported on the file's header */
	dbh_parse(p1, DBH_SIZE, h, &d);
	wd_diags_free(&d);
	return h->magic_ok;
}

int ph_threads_parse(const char *s, unsigned *n)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > PH_MAX_THREADS || s[0] == '-')
		return -1;
	*n = (unsigned)v;
	return 0;
}

unsigned ph_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > PH_MAX_THREADS ? PH_MAX_THREADS : (unsigned)n;
}

/* ---- digests ---- */

/*
 * The SHA-256 implementation, fetched once.  OpenSSL 3 would otherwise look
 * the provider up again on every EVP_DigestInit_ex with EVP_sha256().
 */
static EVP_MD *sha256_fetch(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	return EVP_MD_fetch(NULL, "SHA256", NULL);
#else
	return (EVP_MD *)EVP_sha256();
#endif
}

static void sha256_release(EVP_MD *md)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MD_free(md);
#else
	(void)md;
#endif
}

void ph_hex(const uint8_t d[PH_DIGEST], char out[2 * PH_DIGEST + 1])
{
	static const char hx[] = "0123456789abcdef";
	for (unsigned i = 0; i < PH_DIGEST; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * PH_DIGEST] = '\0';
}

/* Parse exactly 64 hex digits (either case); 0 or -1. */
static int hex_parse(const char *s, size_t n, uint8_t out[PH_DIGEST])
{
	if (n != 2 * PH_DIGEST)
		return -1;
	for (unsigned i = 0; i < 2 * PH_DIGEST; i++) {
		char c = s[i];
		unsigned v;
		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (i & 1)
			out[i / 2] = (uint8_t)(out[i / 2] | v);
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return 0;
}

/*
 * The state hash, fed incrementally: records are gathered in a buffer so
 * that a million pages make a few thousand EVP updates, not a million.
 */
struct state_hasher {
	EVP_MD_CTX *ctx;
	EVP_MD *md;
	uint8_t buf[STATE_BATCH * STATE_REC];
	size_t n;
	int bad;
};

static int sh_begin(struct state_hasher *s)
{
	memset(s, 0, sizeof *s);
	s->md = sha256_fetch();
	s->ctx = EVP_MD_CTX_new();
	if (!s->md || !s->ctx || EVP_DigestInit_ex(s->ctx, s->md, NULL) != 1)
		s->bad = 1;
	return s->bad ? -1 : 0;
}

static void sh_flush(struct state_hasher *s)
{
	if (s->n && !s->bad && EVP_DigestUpdate(s->ctx, s->buf, s->n) != 1)
		s->bad = 1;
	s->n = 0;
}

static void sh_page(struct state_hasher *s, uint32_t pgno, const uint8_t d[PH_DIGEST])
{
	if (s->n + STATE_REC > sizeof s->buf)
		sh_flush(s);
	wr_be32(s->buf + s->n, pgno);
	memcpy(s->buf + s->n + 4, d, PH_DIGEST);
	s->n += STATE_REC;
}

static int sh_end(struct state_hasher *s, uint32_t npages, uint32_t page_size, uint8_t out[PH_DIGEST])
{
	sh_flush(s);
	uint8_t tail[8];
	wr_be32(tail, npages);
	wr_be32(tail + 4, page_size);
	unsigned len = 0;
	if (!s->bad && (EVP_DigestUpdate(s->ctx, tail, sizeof tail) != 1 ||
			EVP_DigestFinal_ex(s->ctx, out, &len) != 1 || len != PH_DIGEST))
		s->bad = 1;
	EVP_MD_CTX_free(s->ctx);
	sha256_release(s->md);
	return s->bad ? -1 : 0;
}

/* ---- parallel page hashing ---- */

#define HASH_CHUNK 256u            /* pages a thread takes at a time */

/* What the threads share: the state and the next chunk to take. */
struct hash_job {
	const struct model *m;
	uint32_t k;
	struct ph_hashes *h;
	const EVP_MD *md;
	uint32_t nchunks;
	atomic_uint next;          /* next chunk to take */
	atomic_int stop;           /* a thread failed: the others stop too */
};

struct worker {
	struct hash_job *job;
	int failed;
	pthread_t tid;
	bool started;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct hash_job *job = w->job;
	struct ph_hashes *h = job->h;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx) {
		w->failed = 1;
		atomic_store(&job->stop, 1);
		return NULL;
	}
	for (;;) {
		unsigned c = atomic_fetch_add(&job->next, 1u);
		if (c >= job->nchunks || atomic_load(&job->stop))
			break;
		uint32_t first = c * HASH_CHUNK + 1;
		uint32_t last = h->nheld - first < HASH_CHUNK ? h->nheld : first + HASH_CHUNK - 1;
		for (uint64_t pg = first; pg <= last; pg++) {
			uint32_t pgno = (uint32_t)pg, frame = 0;
			const uint8_t *p = model_page(job->m, job->k, pgno, &frame);
			size_t i = (size_t)pgno - 1;
			if (!p) {
				h->missing[i] = 1;
				h->frame[i] = PH_NO_FRAME;
				memset(h->digest[i], 0, PH_DIGEST);
				continue;
			}
			unsigned len = 0;
			if (EVP_DigestInit_ex(ctx, job->md, NULL) != 1 ||
			    EVP_DigestUpdate(ctx, p, h->page_size) != 1 ||
			    EVP_DigestFinal_ex(ctx, h->digest[i], &len) != 1 || len != PH_DIGEST) {
				w->failed = 1;
				atomic_store(&job->stop, 1);
				break;
			}
			h->missing[i] = 0;
			h->frame[i] = frame;
		}
		if (w->failed)
			break;
	}
	EVP_MD_CTX_free(ctx);
	return NULL;
}

void ph_hashes_free(struct ph_hashes *h)
{
	free(h->digest);
	free(h->frame);
	free(h->missing);
	memset(h, 0, sizeof *h);
}

const uint8_t *ph_page_digest(const struct ph_hashes *h, uint32_t pgno)
{
	if (pgno == 0 || pgno > h->nheld || h->missing[pgno - 1])
		return NULL;
	return h->digest[pgno - 1];
}

int ph_hash_state(const struct model *m, uint32_t k, unsigned nthreads, struct ph_hashes *h,
		  char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	h->page_size = m->page_size;
	h->commit = model_commit(m, k);
	h->npages = model_npages(m, k);
	if (!h->page_size && m->has_db) {
		snprintf(err, errlen, "cannot tell the page size of '%s': header and WAL both unusable",
			 m->files.db.path);
		return -1;
	}
	/*
	 * No file holds a page past the database file's whole pages or the
	 * highest page any indexed frame carries: those are missing for sure,
	 * and need no slot.
	 */
	uint64_t held = m->db_pages > m->idx_maxpg ? m->db_pages : m->idx_maxpg;
	h->nheld = held < h->npages ? (uint32_t)held : h->npages;
	if (h->nheld) {
		h->digest = malloc((size_t)h->nheld * PH_DIGEST);
		h->frame = malloc((size_t)h->nheld * sizeof *h->frame);
		h->missing = malloc(h->nheld);
		if (!h->digest || !h->frame || !h->missing) {
			snprintf(err, errlen, "out of memory hashing %u pages", h->nheld);
			return -1;
		}
	}

	EVP_MD *md = sha256_fetch();
	if (!md) {
		snprintf(err, errlen, "OpenSSL has no SHA-256");
		return -1;
	}
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > PH_MAX_THREADS)
		nthreads = PH_MAX_THREADS;
	struct hash_job job = { m, k, h, md, (uint32_t)(((uint64_t)h->nheld + HASH_CHUNK - 1) / HASH_CHUNK), 0, 0 };
	if (nthreads > job.nchunks)
		nthreads = job.nchunks ? job.nchunks : 1;
	struct worker w[PH_MAX_THREADS];
	memset(w, 0, sizeof w);
	for (unsigned t = 0; t < nthreads; t++)
		w[t].job = &job;
	/* This thread takes chunks too; a thread that cannot start leaves its
	 * chunks to the others. */
	for (unsigned t = 1; t < nthreads; t++)
		w[t].started = pthread_create(&w[t].tid, NULL, worker_run, &w[t]) == 0;
	if (h->nheld)
		worker_run(&w[0]);
	int failed = w[0].failed;
	for (unsigned t = 1; t < nthreads; t++) {
		if (w[t].started)
			pthread_join(w[t].tid, NULL);
		failed |= w[t].failed;
	}
	sha256_release(md);
	if (failed) {
		snprintf(err, errlen, "SHA-256 failed in OpenSSL");
		return -1;
	}

	struct state_hasher s;
	sh_begin(&s);
	h->nmissing = h->npages - h->nheld;
	for (uint32_t i = 0; i < h->nheld; i++) {
		if (h->missing[i])
			h->nmissing++;
		else
			sh_page(&s, i + 1, h->digest[i]);
	}
	if (sh_end(&s, h->npages, h->page_size, h->state_hash)) {
		snprintf(err, errlen, "SHA-256 failed in OpenSSL");
		return -1;
	}
	return 0;
}

/* ---- manifest writing ---- */

/* A header value on one line: backslash, control bytes and DEL escaped. */
static void put_value(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('\n', f);
}

static void put_missing_run(FILE *f, uint32_t first, uint32_t last)
{
	if (first == last)
		fprintf(f, "%u missing\n", first);
	else
		fprintf(f, "%u-%u missing\n", first, last);
}

void ph_manifest_write(FILE *f, const struct ph_hashes *h, const char *source, const char *state,
		       const struct db_header *hdr)
{
	char hex[2 * PH_DIGEST + 1];
	fprintf(f, "%s %d\n", PH_MANIFEST_MAGIC, PH_MANIFEST_VERSION);
	fputs("source ", f);
	put_value(f, source);
	fputs("state ", f);
	put_value(f, state);
	fprintf(f, "page_size %u\npages %u\nmissing %u\n", h->page_size, h->npages, h->nmissing);
	ph_hex(h->state_hash, hex);
	fprintf(f, "state_hash %s\n", hex);
	if (hdr) {
		if (hdr->text_encoding >= 1 && hdr->text_encoding <= 3)
			fprintf(f, "text_encoding %s\n", dbh_encoding_name(hdr->text_encoding));
		else
			fprintf(f, "text_encoding %u\n", hdr->text_encoding);
		fprintf(f, "reserved_bytes %u\n", hdr->reserved_bytes);
		fprintf(f, "journal_mode %s\n", hdr->wal_mode ? "wal" : "rollback");
		fprintf(f, "auto_vacuum %s\n",
			hdr->auto_vacuum ? (hdr->incremental_vacuum ? "incremental" : "full") : "none");
		fprintf(f, "header_db_size %u\n", hdr->db_size);
		fprintf(f, "change_counter %u\n", hdr->change_counter);
		fprintf(f, "schema_cookie %u\n", hdr->schema_cookie);
		fprintf(f, "schema_format %u\n", hdr->schema_format);
		fprintf(f, "freelist_pages %u\n", hdr->freelist_count);
		fprintf(f, "user_version %u\n", hdr->user_version);
		fprintf(f, "application_id %u\n", hdr->application_id);
	}
	uint32_t run = 0;            /* first page of the current missing run, 0 if none */
	for (uint32_t p = 1; p <= h->nheld; p++) {
		if (h->missing[p - 1]) {
			if (!run)
				run = p;
			continue;
		}
		if (run) {
			put_missing_run(f, run, p - 1);
			run = 0;
		}
		ph_hex(h->digest[p - 1], hex);
		fprintf(f, "%u %s\n", p, hex);
	}
	if (h->npages > h->nheld) {
		if (!run)
			run = h->nheld + 1;
		put_missing_run(f, run, h->npages);
	} else if (run) {
		put_missing_run(f, run, h->nheld);
	}
}

int ph_manifest_save(const char *path, const struct ph_hashes *h, const char *source,
		     const char *state, const struct db_header *hdr, char *err, size_t errlen)
{
	struct atomic_out a;
	if (atomic_prepare(&a, path, true, err, errlen) != ATOMIC_OK)
		return -1;
	int fd = atomic_open(&a, err, errlen);
	if (fd < 0)
		return -1;
	/* stdio writes through a duplicate, so that atomic_commit still owns fd. */
	int fd2 = dup(fd);
	FILE *f = fd2 >= 0 ? fdopen(fd2, "w") : NULL;
	if (!f) {
		snprintf(err, errlen, "cannot write '%s': %s", a.tmp, strerror(errno));
		if (fd2 >= 0)
			close(fd2);
		atomic_abort(&a);
		return -1;
	}
	ph_manifest_write(f, h, source, state, hdr);
	int bad = fflush(f) != 0 || ferror(f);
	int saved = errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		saved = errno;
	}
	if (bad) {
		snprintf(err, errlen, "cannot write '%s': %s", a.tmp, strerror(saved));
		atomic_abort(&a);
		return -1;
	}
	if (atomic_commit(&a, err, errlen) != ATOMIC_OK) {
		atomic_abort(&a);
		return -1;
	}
	return 0;
}

/* ---- manifest reading ---- */

void ph_manifest_free(struct ph_manifest *mf)
{
	free(mf->pgno);
	free(mf->digest);
	free(mf->state_name);
	free(mf->source);
	memset(mf, 0, sizeof *mf);
}

const uint8_t *ph_manifest_digest(const struct ph_manifest *mf, uint32_t pgno)
{
	uint32_t lo = 0, hi = mf->nent;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (mf->pgno[mid] < pgno)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < mf->nent && mf->pgno[lo] == pgno ? mf->digest[lo] : NULL;
}

int ph_manifest_state_hash(const struct ph_manifest *mf, uint8_t out[PH_DIGEST])
{
	struct state_hasher s;
	sh_begin(&s);
	for (uint32_t i = 0; i < mf->nent; i++)
		sh_page(&s, mf->pgno[i], mf->digest[i]);
	return sh_end(&s, mf->npages, mf->page_size, out);
}

/* Decimal u32 of exactly the n bytes at s, no sign, no leading zero; 0 or -1. */
static int u32_parse(const char *s, size_t n, uint32_t *v)
{
	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

struct mreader {
	const char *path;
	unsigned line;
	char *err;
	size_t errlen;
	uint32_t cap;
	bool have_ps, have_pages, have_hash, in_pages;
	uint32_t next;               /* next page number a page line must start at */
};

__attribute__((format(printf, 2, 3)))
static int bad(struct mreader *r, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(r->err, r->errlen, "%s:%u: ", r->path, r->line);
	if (k < 0 || (size_t)k >= r->errlen)
		return -2;
	va_start(ap, fmt);
	vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -2;
}

static int add_entry(struct mreader *r, struct ph_manifest *mf, uint32_t pgno, const uint8_t d[PH_DIGEST])
{
	if (mf->nent == r->cap) {
		uint32_t ncap = r->cap ? r->cap * 2 : 1024;
		if (ncap < r->cap)
			return bad(r, "too many pages");
		uint32_t *np = realloc(mf->pgno, (size_t)ncap * sizeof *np);
		if (np)
			mf->pgno = np;
		uint8_t (*nd)[PH_DIGEST] = realloc(mf->digest, (size_t)ncap * PH_DIGEST);
		if (nd)
			mf->digest = nd;
		if (!np || !nd) {
			snprintf(r->err, r->errlen, "out of memory reading '%s'", r->path);
			return -1;
		}
		r->cap = ncap;
	}
	mf->pgno[mf->nent] = pgno;
	memcpy(mf->digest[mf->nent], d, PH_DIGEST);
	mf->nent++;
	return 0;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* One header line "key value"; returns 0 or a bad() status. */
static int header_line(struct mreader *r, struct ph_manifest *mf, char *s)
{
	char *sp = strchr(s, ' ');
	if (!sp || sp == s)
		return bad(r, "expected 'KEY VALUE'");
	*sp = '\0';
	const char *key = s, *val = sp + 1;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')))
			return bad(r, "bad key '%s'", key);
	if (!strcmp(key, "page_size")) {
		if (r->have_ps)
			return bad(r, "page_size given twice");
		if (u32_parse(val, strlen(val), &mf->page_size) ||
		    (mf->page_size && (mf->page_size < 512 || mf->page_size > 65536 || !is_pow2_u32(mf->page_size))))
			return bad(r, "page_size '%s' is not a power of two in 512..65536", val);
		r->have_ps = true;
	} else if (!strcmp(key, "pages")) {
		if (r->have_pages)
			return bad(r, "pages given twice");
		if (u32_parse(val, strlen(val), &mf->npages))
			return bad(r, "pages '%s' is not a page count", val);
		r->have_pages = true;
	} else if (!strcmp(key, "state_hash")) {
		if (r->have_hash)
			return bad(r, "state_hash given twice");
		if (hex_parse(val, strlen(val), mf->state_hash))
			return bad(r, "state_hash is not 64 hex digits");
		r->have_hash = true;
	} else if (!strcmp(key, "state") || !strcmp(key, "source")) {
		char **dst = !strcmp(key, "state") ? &mf->state_name : &mf->source;
		if (*dst)
			return bad(r, "%s given twice", key);
		if (!(*dst = dup_str(val))) {
			snprintf(r->err, r->errlen, "out of memory reading '%s'", r->path);
			return -1;
		}
	}
	/* Other keys are informational (header fields); readers of version 1 skip them. */
	return 0;
}

/* One page line; returns 0 or a bad() status. */
static int page_line(struct mreader *r, struct ph_manifest *mf, char *s)
{
	if (!r->have_ps || !r->have_pages || !r->have_hash)
		return bad(r, "page line before the page_size, pages and state_hash lines");
	r->in_pages = true;
	char *sp = strchr(s, ' ');
	if (!sp)
		return bad(r, "expected 'PGNO SHA256' or 'PGNO missing'");
	const char *val = sp + 1;
	const char *dash = memchr(s, '-', (size_t)(sp - s));
	uint32_t first, last;
	if (dash) {
		if (u32_parse(s, (size_t)(dash - s), &first) || u32_parse(dash + 1, (size_t)(sp - dash - 1), &last))
			return bad(r, "bad page range");
		if (last <= first)
			return bad(r, "page range %u-%u is not ascending", first, last);
		if (strcmp(val, "missing"))
			return bad(r, "a page range can only be 'missing'");
	} else {
		if (u32_parse(s, (size_t)(sp - s), &first))
			return bad(r, "bad page number");
		last = first;
	}
	if (first == 0 || r->next == 0)
		return bad(r, "page %u out of range", first);
	if (first != r->next)
		return bad(r, first < r->next ? "page %u listed again or out of order" : "page %u expected, found %u",
			   first < r->next ? first : r->next, first);
	if (last > mf->npages)
		return bad(r, "page %u beyond the %u pages of the manifest", last, mf->npages);
	r->next = last == UINT32_MAX ? 0 : last + 1;
	if (!strcmp(val, "missing")) {
		mf->nmissing += last - first + 1;
		return 0;
	}
	uint8_t d[PH_DIGEST];
	if (hex_parse(val, strlen(val), d))
		return bad(r, "page %u: expected 64 hex digits or 'missing'", first);
	return add_entry(r, mf, first, d);
}

int ph_manifest_read(const char *path, struct ph_manifest *mf, char *err, size_t errlen)
{
	memset(mf, 0, sizeof *mf);
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	struct mreader r = { .path = path, .err = err, .errlen = errlen, .next = 1 };
	char buf[LINE_MAX_BYTES + 2];
	int rc = 0;
	bool got_first = false;
	while (!rc && fgets(buf, sizeof buf, f)) {
		r.line++;
		size_t n = strlen(buf);
		if (n == 0 || buf[n - 1] != '\n') {
			rc = bad(&r, feof(f) ? "last line has no newline" : "line too long (over %d bytes)", LINE_MAX_BYTES);
			break;
		}
		buf[--n] = '\0';
		if (memchr(buf, '\0', n) || memchr(buf, '\r', n)) {
			rc = bad(&r, "NUL or CR byte in line");
			break;
		}
		if (!got_first) {
			char want[32];
			snprintf(want, sizeof want, "%s %d", PH_MANIFEST_MAGIC, PH_MANIFEST_VERSION);
			if (strcmp(buf, want))
				rc = !strncmp(buf, PH_MANIFEST_MAGIC " ", sizeof PH_MANIFEST_MAGIC)
					? bad(&r, "unsupported manifest version '%s'", buf + sizeof PH_MANIFEST_MAGIC)
					: bad(&r, "not a waldo manifest (first line must be '%s')", want);
			got_first = true;
			continue;
		}
		if (buf[0] == '#' || buf[0] == '\0')
			continue;
		if (buf[0] >= '0' && buf[0] <= '9')
			rc = page_line(&r, mf, buf);
		else if (r.in_pages)
			rc = bad(&r, "header line after the page lines");
		else
			rc = header_line(&r, mf, buf);
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		rc = -1;
	}
	fclose(f);
	if (rc)
		return rc;
	r.line++;
	if (!got_first)
		return bad(&r, "empty file: not a waldo manifest");
	if (!r.have_ps || !r.have_pages || !r.have_hash)
		return bad(&r, "missing %s line", !r.have_ps ? "page_size" : !r.have_pages ? "pages" : "state_hash");
	if (mf->npages && !mf->page_size)
		return bad(&r, "page_size 0 with %u pages", mf->npages);
	if (mf->npages && (r.next == 0 ? UINT32_MAX : r.next - 1) != mf->npages)
		return bad(&r, "pages %u..%u not listed", r.next, mf->npages);
	uint8_t calc[PH_DIGEST];
	if (ph_manifest_state_hash(mf, calc)) {
		snprintf(err, errlen, "SHA-256 failed in OpenSSL");
		return -1;
	}
	if (memcmp(calc, mf->state_hash, PH_DIGEST))
		return bad(&r, "state_hash does not match the page lines (the manifest was edited or damaged)");
	return 0;
}
