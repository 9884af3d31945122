/*
 * fuzz_btree.c — libFuzzer target for formats/btree.c and the page
 * accounting built on it.
 *
 * The input is read three ways: as one page at several page sizes (512,
 * 1024, 4096, 65536; zero-padded or cut), as page 1 and as page 2 (the
 * header moves to offset 100 on page 1), through bt_parse_page, every
 * cell, every record, the value decoders, the trunk decoder and the
 * pointer-map reader; then as a small database image of 512-byte pages
 * through bt_walk_tree, sc_read_schema and sc_account_pages, with the
 * freelist and auto-vacuum fields taken from the input's own header bytes.
 * Traps when an invariant the callers rely on does not hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/btree.h"
#include "formats/bytes.h"
#include "formats/dbheader.h"
#include "inspect/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IMG_PAGE 512
#define IMG_MAX_PAGES 64

static uint8_t page[65536];

static void one_page(uint32_t ps, uint32_t usable, uint32_t pgno)
{
	struct bt_page pg;
	struct wd_diags d = { 0 };
	bt_parse_page(page, ps, usable, pgno, &pg, &d);
	if (pg.type_ok) {
		if (pg.content_start > 65536 || pg.cellptr_off > 112)
			__builtin_trap();
		unsigned n = pg.ncell < 4096 ? pg.ncell : 4096;
		for (unsigned i = 0; i < n; i++) {
			(void)bt_cell_ptr(page, &pg, i);   /* the raw pointer: any value */
			struct bt_cell c;
			/* Diagnostics for a few cells only: thousands would time the allocator. */
			if (bt_parse_cell(page, &pg, i, &c, i < 16 ? &d : NULL) != WD_OK || !c.has_payload)
				continue;
			/* A cell that parses lies inside the usable area. */
			if ((uint64_t)c.offset + c.size > usable || c.payload_off + c.local_size > usable)
				__builtin_trap();
			struct bt_value v[32];
			unsigned ncol;
			const uint8_t *rec = page + c.payload_off;
			if (bt_parse_record(rec, c.local_size, v, 32, &ncol) == WD_FATAL)
				continue;
			for (unsigned k = 0; k < ncol && k < 32; k++) {
				if (v[k].offset + v[k].len > c.local_size)
					continue;
				int64_t x;
				if (!bt_value_int(rec + v[k].offset, v[k].serial_type, &x) && v[k].serial_type == 7)
					(void)bt_value_float(rec + v[k].offset);
			}
		}
	}
	struct bt_trunk t;
	bt_parse_trunk(page, usable, pgno, &t, &d);
	if (t.nleaf_ok > usable / 4 - 2)
		__builtin_trap();
	uint32_t sum = 0;
	for (uint32_t i = 0; i < t.nleaf_ok; i++)
		sum += rd_be32(page + 8 + 4 * i);
	(void)sum;
	uint32_t mp = bt_ptrmap_pageno(usable, ps, pgno + 1);
	for (uint32_t p = pgno + 1; p <= pgno + usable / 5 + 1; p++) {
		uint8_t ty;
		uint32_t parent;
		bt_ptrmap_entry(page, usable, pgno, p, &ty, &parent);
	}
	(void)mp;
	wd_diags_free(&d);
}

struct img {
	const uint8_t *p;
	uint32_t npages;
};

static const uint8_t *img_get(void *ctx, uint32_t pgno)
{
	const struct img *m = ctx;
	return pgno && pgno <= m->npages ? m->p + (size_t)(pgno - 1) * IMG_PAGE : NULL;
}

static void image(const uint8_t *data, size_t size)
{
	static uint8_t buf[IMG_PAGE * IMG_MAX_PAGES];
	size_t n = size < sizeof buf ? size : sizeof buf;
	uint32_t npages = (uint32_t)((n + IMG_PAGE - 1) / IMG_PAGE);
	if (npages < 1)
		return;
	memset(buf, 0, (size_t)npages * IMG_PAGE);
	memcpy(buf, data, n);
	struct img m = { buf, npages };
	struct db_header h;
	struct wd_diags d = { 0 };
	dbh_parse(buf, IMG_PAGE, &h, &d);
	/* Whatever the header says, drive the freelist and pointer-map code. */
	h.freelist_trunk = rd_be32(buf + 32);
	h.freelist_count = rd_be32(buf + 36);
	h.largest_root = rd_be32(buf + 52);
	h.auto_vacuum = h.largest_root != 0;
	uint32_t usable = IMG_PAGE - (buf[20] & 31);
	struct sc_source src = { img_get, &m, IMG_PAGE, usable, npages, buf[56] % 4 };
	struct sc_schema s;
	struct sc_account a;
	sc_read_schema(&src, &s, &d);
	sc_account_pages(&src, &h, &s, &a, &d);
	if (a.role && a.nbtree + a.nfree_trunk + a.nfree_leaf + a.nptrmap + a.nlockbyte + a.nunused != npages)
		__builtin_trap();
	sc_account_free(&a);
	sc_schema_free(&s);
	struct bt_walk_ops ops = { img_get, NULL, &m, IMG_PAGE, usable, npages, NULL };
	if (npages >= 2)
		bt_walk_tree(&ops, 2, NULL, &d);
	wd_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t sizes[] = { 512, 1024, 4096, 65536 };
	uint8_t reserved = size > 20 ? data[20] & 31 : 0;
	for (unsigned z = 0; z < sizeof sizes / sizeof *sizes; z++) {
		uint32_t ps = sizes[z];
		size_t n = size < ps ? size : ps;
		memset(page, 0, ps);
		memcpy(page, data, n);
		one_page(ps, ps - reserved, 1);
		one_page(ps, ps - reserved, 2);
	}
	image(data, size);
	return 0;
}
