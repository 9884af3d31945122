/*
 * verify.c — the expected state of a plan and the check of a result; see
 * verify.h.
 *
 * The expectation is computed from the original files and the plan's
 * intent (struct rp_expect), not from the files the repair wrote: the
 * original database file with the WAL's frames 1..upto_frame over it, the
 * page set's pages over that, and page 1's planned patches.  A repair that
 * wrote anything else — a wrong chain that hides a commit, a cut one frame
 * too early, a patch at the wrong offset — shows up as pages that differ.
 */
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../formats/dbheader.h"
#include "../inspect/materialize.h"
#include "../inspect/pagehash.h"

static void apply_patches(uint8_t *page, uint32_t ps, const struct rp_patch *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i].off + v[i].len <= ps)
			memcpy(page + v[i].off, v[i].b, v[i].len);
}

int rp_expect_digests(const struct rp_plan *p, uint8_t (**dig)[RIO_SHA], uint8_t **missing,
		      char *err, size_t errlen)
{
	const struct model *m = p->m;
	const struct rp_expect *e = &p->exp;
	uint32_t ps = m->page_size, n = e->npages;
	*dig = NULL;
	*missing = NULL;
	if (!ps || (!model_size_plausible(m, n) && !(e->overlay_set && p->have_set))) {
		snprintf(err, errlen, "the expected state (%u pages) cannot be backed by the files", n);
		return -1;
	}
	*dig = malloc((size_t)(n ? n : 1) * RIO_SHA);
	*missing = calloc(n ? n : 1, 1);
	uint8_t *buf = malloc(ps), *zero = calloc(1, ps);
	int rc = 0;
	if (!*dig || !*missing || !buf || !zero) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (uint32_t pg = 1; pg <= n && !rc; pg++) {
		uint8_t *d = (*dig)[pg - 1];
		int64_t i = e->overlay_set && p->have_set ? pageset_find(&p->set, pg) : -1;
		if (i >= 0) {
			memcpy(d, p->set.digest[i], RIO_SHA);
			continue;
		}
		uint32_t f = e->upto_frame ? model_find_frame(m, pg, 0, e->upto_frame) : 0;
		const uint8_t *src = f ? model_frame_page(m, f) : model_db_page(m, pg);
		if (src && pg == 1 && (e->np1_any || (!f && e->np1_db))) {
			memcpy(buf, src, ps);
			apply_patches(buf, ps, e->p1_any, e->np1_any);
			if (!f)
				apply_patches(buf, ps, e->p1_db, e->np1_db);
			src = buf;
		}
		if (!src && e->zero_missing)
			src = zero;
		if (!src) {
			(*missing)[pg - 1] = 1;
			memset(d, 0, RIO_SHA);
			continue;
		}
		if (rio_sha256(src, ps, d)) {
			snprintf(err, errlen, "SHA-256 failed");
			rc = -1;
		}
	}
	free(buf);
	free(zero);
	if (rc) {
		free(*dig);
		free(*missing);
		*dig = NULL;
		*missing = NULL;
	}
	return rc;
}

bool rp_verify_result(const struct rp_plan *p, const char *db_path, struct rp_verify *v)
{
	memset(v, 0, sizeof *v);
	v->integrity = -2;
	uint8_t (*dig)[RIO_SHA] = NULL, *missing = NULL;
	if (rp_expect_digests(p, &dig, &missing, v->err, sizeof v->err))
		return false;
	v->npages_expected = p->exp.npages;
	struct model rm;
	char err[512];
	if (model_open(&rm, db_path, NULL, NULL, err, sizeof err)) {
		snprintf(v->err, sizeof v->err, "cannot read the result: %.400s", err);
		model_close(&rm);
		free(dig);
		free(missing);
		return false;
	}
	struct ph_hashes h;
	if (ph_hash_state(&rm, MODEL_LAST, 2, &h, err, sizeof err)) {
		snprintf(v->err, sizeof v->err, "cannot hash the result: %.400s", err);
	} else {
		v->hashed = true;
		v->npages_found = h.npages;
		uint32_t lockpg = dbh_lock_byte_page(p->m->page_size);
		uint32_t n = h.npages > v->npages_expected ? h.npages : v->npages_expected;
		for (uint32_t pg = 1; pg <= n; pg++) {
			if (pg == lockpg)
				continue;
			const uint8_t *got = pg <= h.npages ? ph_page_digest(&h, pg) : NULL;
			bool want_missing = pg > v->npages_expected || missing[pg - 1];
			bool same = want_missing ? !got : got && !memcmp(got, dig[pg - 1], RIO_SHA);
			if (!same) {
				if (!v->nbad)
					v->first_bad = pg;
				v->nbad++;
			}
		}
		v->hashes_ok = v->nbad == 0 && h.npages == v->npages_expected;
	}
	ph_hashes_free(&h);
	model_close(&rm);
	free(dig);
	free(missing);
	v->integrity = sqlite_integrity(db_path, v->integrity_msg, sizeof v->integrity_msg);
	v->ok = v->hashes_ok && v->integrity == 1;
	return v->ok;
}
