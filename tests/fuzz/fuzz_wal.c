/*
 * fuzz_wal.c — libFuzzer target for the WAL parser: wal_parse_header and
 * wal_walk on the input as it is, once more with a page-size hint (the path
 * a damaged header takes), and once on a copy whose header and frame
 * checksums were recomputed, so that mutated frame headers reach the
 * classification past the checksum test instead of stopping at frame 1.
 * Traps when the walk's invariants do not hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/bytes.h"
#include "formats/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct wal_walk *w)
{
	if (w->nvalid > w->nframes || w->mx_frame > w->nvalid || w->ntxn > w->mx_frame)
		__builtin_trap();
	if (w->nframes && !w->frames)
		__builtin_trap();
	uint32_t next = 1;
	for (uint32_t i = 0; i < w->ntxn; i++) {
		if (w->txns[i].first != next || w->txns[i].last < w->txns[i].first ||
		    w->txns[i].db_size == 0)
			__builtin_trap();
		next = w->txns[i].last + 1;
	}
	if (w->ntxn && w->txns[w->ntxn - 1].last != w->mx_frame)
		__builtin_trap();
	for (uint32_t i = 0; i < w->nframes; i++) {
		uint8_t st = w->frames[i].state;
		if ((i < w->mx_frame) != (st == WAL_FR_COMMITTED) || st > WAL_FR_AFTER_BREAK)
			__builtin_trap();
	}
	if (w->page_size && w->file_size >= WAL_HDR_SIZE &&
	    WAL_HDR_SIZE + (uint64_t)w->nframes * (w->page_size + WAL_FRAME_HDR_SIZE) + w->partial_bytes !=
		    w->file_size)
		__builtin_trap();
}

static void walk(const uint8_t *p, size_t n, uint32_t hint)
{
	struct wal_walk w;
	struct wd_diags d = { 0 };
	wal_walk(p, n, hint, &w, &d);
	check(&w);
	wal_walk_free(&w);
	wd_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wal_header h;
	struct wd_diags d = { 0 };
	wal_parse_header(data, size, &h, &d);
	wd_diags_free(&d);

	walk(data, size, 0);
	walk(data, size, 512);

	/* Rechained copy: the header's page size when usable, else 512. */
	if (size < WAL_HDR_SIZE)
		return 0;
	uint8_t *p = malloc(size);
	if (!p)
		return 0;
	memcpy(p, data, size);
	uint32_t ps = rd_be32(p + 8);
	if (!wal_page_size_ok(ps))
		ps = 512;
	wal_header_seal(p);
	int big = rd_be32(p) & 1;
	uint32_t s[2] = { rd_be32(p + 24), rd_be32(p + 28) };
	for (uint64_t i = 1; wal_frame_offset(ps, i) + WAL_FRAME_HDR_SIZE + ps <= size; i++) {
		uint8_t *f = p + wal_frame_offset(ps, i);
		wal_frame_checksum(big, f, ps, s);
		wr_be32(f + 16, s[0]);
		wr_be32(f + 20, s[1]);
	}
	walk(p, size, 0);
	free(p);
	return 0;
}
