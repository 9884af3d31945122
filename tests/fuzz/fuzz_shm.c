/*
 * fuzz_shm.c — libFuzzer target for the wal-index parser: shm_parse on the
 * input as a -shm image, page-number and hash look-ups on a few frames and
 * pages, and shm_check_wal against a small WAL walk made up from the input
 * itself (so that the comparison paths run on both agreeing and disagreeing
 * indexes).
 */
#include <stdint.h>
#include <string.h>

#include "formats/shm.h"
#include "formats/wal.h"

#define NFRAMES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shm_info s;
	struct wd_diags d = { 0 };
	shm_parse(data, size, &s, &d);
	const uint32_t mx = s.has_header ? s.hdr[0].mx_frame : 0;

	static const uint32_t frames[] = { 0, 1, 2, 4062, 4063, 8158, 8159, 0x7fffffffu, 0xffffffffu };
	uint32_t pages[8] = { 1, 2, 3, 383, 0xffffffffu };
	unsigned npages = 5;
	for (unsigned i = 0; i < sizeof frames / sizeof *frames; i++) {
		uint32_t pg = shm_frame_pgno(data, size, &s, frames[i]);
		if (pg && npages < 8)
			pages[npages++] = pg;
	}
	for (unsigned i = 0; i < npages; i++) {
		uint32_t f = shm_find_frame(data, size, &s, pages[i], s.n_backfill, mx);
		if (f && (f > mx || f <= s.n_backfill))
			__builtin_trap();          /* outside the window asked for */
		shm_find_frame(data, size, &s, pages[i], 0, 0xffffffffu);
	}

	/* A WAL walk that mostly agrees with the index: page numbers from the
	 * page array, one perturbed by the input's last byte. */
	struct wal_frame fr[NFRAMES];
	struct wal_walk w;
	memset(&w, 0, sizeof w);
	memset(fr, 0, sizeof fr);
	uint32_t n = mx < NFRAMES ? mx : NFRAMES;
	for (uint32_t i = 0; i < n; i++) {
		fr[i].pgno = shm_frame_pgno(data, size, &s, i + 1);
		fr[i].cksum1 = s.hdr[0].frame_cksum[0];
		fr[i].cksum2 = s.hdr[0].frame_cksum[1];
	}
	if (n && size)
		fr[data[size - 1] % n].pgno ^= data[size - 1];
	w.frames = n ? fr : NULL;
	w.nframes = w.nvalid = n;
	w.mx_frame = n;
	w.npage = s.hdr[0].n_page;
	w.file_size = WAL_HDR_SIZE + (uint64_t)n * (s.hdr[0].page_size + WAL_FRAME_HDR_SIZE);
	w.hdr.salt1 = s.hdr[0].salt1;
	w.hdr.salt2 = s.hdr[0].salt2;
	w.hdr.page_size = s.hdr[0].page_size;
	w.hdr.big_endian_cksum = s.hdr[0].big_end_cksum != 0;
	w.page_size = s.hdr[0].page_size;
	shm_check_wal(data, size, &s, &w, &d);

	wd_diags_free(&d);
	return 0;
}
