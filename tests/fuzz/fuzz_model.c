/*
 * fuzz_model.c — libFuzzer target for the inspect model and its cross-file
 * checks: a database, its -wal and its -shm packed into one input, opened
 * from memory (wf_set_from_mem, no file I/O), parsed and indexed by
 * model_open_set, judged by checks_run (without libsqlite3 and without the
 * lock probe: neither is input-driven), rendered as `waldo inspect --json`
 * renders it, then read back page by page in a few states, through the
 * salvage finder too.
 *
 * Input framing (tests/hostile/pack.py writes seeds in it):
 *
 *   offset  size  field
 *   0       1     flags: bit 0 database present, bit 1 -wal present,
 *                 bit 2 -shm present, bit 3 re-seal the WAL header and
 *                 re-chain every whole frame's checksum, bit 4 re-seal both
 *                 -shm header copies (so that mutated fields get past the
 *                 checksum tests to the checks behind them)
 *   1       4     n_db, little-endian; then n_db bytes of database
 *   ..      4     n_wal, little-endian; then n_wal bytes of WAL
 *   ..      rest  the -shm
 *
 * A length longer than what remains takes what remains.  Traps when an
 * invariant the commands rely on does not hold: a state's page from a
 * frame past that state's commit frame, a finding offset past the end of
 * its file, a commit count that is not monotonic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/bytes.h"
#include "formats/shm.h"
#include "formats/wal.h"
#include "inspect/checks.h"
#include "inspect/files.h"
#include "inspect/json.h"
#include "inspect/model.h"
#include "inspect/report.h"
#include "inspect/salvage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	F_DB = 1, F_WAL = 2, F_SHM = 4, F_RECHAIN = 8, F_SHM_SEAL = 16,
};

#define MAX_STATES 6      /* states read page by page per input */
#define MAX_PAGES 64      /* pages read per state */

static FILE *devnull;

/* Take the next length-prefixed blob. */
static const uint8_t *take(const uint8_t **p, size_t *n, size_t *len)
{
	if (*n < 4) {
		*len = 0;
		*p += *n;
		*n = 0;
		return *p;
	}
	uint64_t want = rd_le32(*p);
	*p += 4;
	*n -= 4;
	*len = want < *n ? (size_t)want : *n;
	const uint8_t *r = *p;
	*p += *len;
	*n -= *len;
	return r;
}

/* The WAL header sealed and every whole frame's checksum re-chained, in place. */
static void wal_rechain(uint8_t *p, size_t n)
{
	if (n < WAL_HDR_SIZE)
		return;
	uint32_t ps = rd_be32(p + 8);
	if (!wal_page_size_ok(ps))
		return;
	wal_header_seal(p);
	int big = rd_be32(p) & 1;
	uint32_t s[2] = { rd_be32(p + 24), rd_be32(p + 28) };
	for (uint64_t i = 1; wal_frame_offset(ps, i) + WAL_FRAME_HDR_SIZE + ps <= n; i++) {
		uint8_t *f = p + wal_frame_offset(ps, i);
		memcpy(f + 8, p + 16, 8);           /* the header's salts */
		wal_frame_checksum(big, f, ps, s);
		wr_be32(f + 16, s[0]);
		wr_be32(f + 20, s[1]);
	}
}

/* Both -shm header copies re-sealed in the byte order iVersion shows. */
static void shm_seal(uint8_t *p, size_t n)
{
	if (n < SHM_HDR_SIZE)
		return;
	int big = rd_be32(p) == SHM_VERSION;
	for (int c = 0; c < 2; c++) {
		uint8_t *h = p + c * SHM_HDR_COPY_SIZE;
		uint32_t s[2] = { 0, 0 };
		wal_checksum(big, h, 40, s);
		if (big) {
			wr_be32(h + 40, s[0]);
			wr_be32(h + 44, s[1]);
		} else {
			wr_le32(h + 40, s[0]);
			wr_le32(h + 44, s[1]);
		}
	}
}

static void check_offsets(const struct model *m)
{
	for (size_t i = 0; i < m->diags.n; i++) {
		const struct wd_diag *g = &m->diags.v[i];
		const struct wf_file *f = g->file == WD_F_DB ? &m->files.db : g->file == WD_F_WAL ? &m->files.wal
					: g->file == WD_F_SHM ? &m->files.shm : NULL;
		if (f && f->present && g->offset != WD_NONE && (g->offset < 0 || (uint64_t)g->offset > f->size))
			__builtin_trap();
	}
}

static void read_states(const struct model *m)
{
	uint32_t nc = model_ncommits(m);
	if (model_commit(m, MODEL_LAST) > nc)
		__builtin_trap();
	uint32_t prev_frame = 0;
	for (uint32_t k = 0; k <= nc; k++) {
		uint32_t cf = model_commit_frame(m, k);
		if (k && cf <= prev_frame)
			__builtin_trap();     /* commit frames ascend */
		prev_frame = cf;
		/* the first few and the last states */
		if (k >= MAX_STATES / 2 && k + MAX_STATES / 2 <= nc)
			continue;
		uint32_t np = model_npages(m, k);
		if (!model_size_plausible(m, np))
			continue;
		for (uint32_t pg = 1; pg <= np && pg <= MAX_PAGES; pg++) {
			uint32_t fr = 0;
			const uint8_t *p = model_page(m, k, pg, &fr);
			if (fr > cf || (fr && !p))
				__builtin_trap();
			if (p)
				(void)p[m->page_size - 1];  /* the whole page is readable */
		}
	}
}

static void read_salvage(const struct model *m)
{
	struct salvage s;
	char err[256];
	if (salvage_find(m, &s, err, sizeof err) == 0) {
		uint32_t n = salvage_ncommits(&s);
		for (uint32_t k = s.base + 1; k <= n && k <= s.base + 3; k++) {
			uint32_t np = salvage_npages(&s, k);
			if (!model_size_plausible(m, np))
				continue;
			for (uint32_t pg = 1; pg <= np && pg <= 16; pg++) {
				uint32_t fr;
				const uint8_t *p = salvage_page(&s, k, pg, &fr);
				if (p)
					(void)p[m->page_size - 1];
			}
		}
	}
	salvage_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	uint8_t flags = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1, ndb, nwal;
	const uint8_t *db = take(&p, &n, &ndb);
	const uint8_t *wal = take(&p, &n, &nwal);
	const uint8_t *shm = p;
	size_t nshm = n;

	/* Private copies: the fixups write, and the model must not see past them. */
	uint8_t *cdb = malloc(ndb + 1), *cwal = malloc(nwal + 1), *cshm = malloc(nshm + 1);
	if (!cdb || !cwal || !cshm)
		goto out;
	memcpy(cdb, db, ndb);
	memcpy(cwal, wal, nwal);
	memcpy(cshm, shm, nshm);
	if (flags & F_RECHAIN)
		wal_rechain(cwal, nwal);
	if (flags & F_SHM_SEAL)
		shm_seal(cshm, nshm);

	struct wf_mem mdb = { "fuzz.db", cdb, ndb }, mwal = { "fuzz.db-wal", cwal, nwal },
		      mshm = { "fuzz.db-shm", cshm, nshm };
	struct wf_set set;
	char err[256];
	if (wf_set_from_mem(&set, (flags & F_DB) ? &mdb : NULL, (flags & F_WAL) ? &mwal : NULL,
			    (flags & F_SHM) ? &mshm : NULL, NULL, err, sizeof err))
		goto out;
	if (!(flags & (F_DB | F_WAL))) {
		wf_set_close(&set);
		goto out;
	}
	struct model m;
	if (model_open_set(&m, &set, err, sizeof err) == 0) {
		struct check_opts o = { .sqlite = false, .locks = false };
		struct check_result r;
		memset(&r, 0, sizeof r);
		checks_run(&m, &o, &r);
		check_offsets(&m);
		if (devnull) {
			struct jw j;
			jw_init(&j, devnull);
			jw_obj_begin(&j, NULL);
			jw_str(&j, "path", "fuzz.db");
			report_json_inspect(&j, &m, &r);
			jw_obj_end(&j);
			jw_finish(&j);
			report_text(devnull, &m.diags, &m.files);
		}
		read_states(&m);
		read_salvage(&m);
	}
	model_close(&m);
out:
	free(cdb);
	free(cwal);
	free(cshm);
	return 0;
}
